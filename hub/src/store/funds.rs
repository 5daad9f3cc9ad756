//! Funds: the registry, and the reference data ingestion checks a fund's rows against.

use sqlx::Row;
use welfare_model::fund::Fund;

use super::audit::audit_in;
use super::rows::{SqlValue, insert_rows, set_excluded};
use super::{Store, StoreError, now_text};

const FUND_COLUMNS: &[&str] = &[
    "id",
    "name_th",
    "name_en",
    "kind",
    "tambon_code",
    "municipality",
    "registered_on",
    "created_at",
    "updated_at",
];

/// What ingestion checks a fund's rows against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundReference {
    pub fund_id: String,
    pub tambon: String,
    /// The tambon's registered population, if the geography has it.
    pub population: Option<i64>,
    pub registered_on: Option<String>,
}

impl Store {
    /// Registers funds or updates their registration, in one transaction. Returns the rows written.
    pub async fn upsert_funds(&self, funds: &[Fund], actor: &str) -> Result<u64, StoreError> {
        let now = now_text();
        let rows: Vec<Vec<SqlValue>> = funds
            .iter()
            .map(|f| {
                vec![
                    SqlValue::text(f.id.as_str()),
                    SqlValue::text(&f.name_th),
                    SqlValue::opt_text(f.name_en.clone()),
                    SqlValue::text(f.kind.as_str()),
                    SqlValue::text(f.tambon.as_str()),
                    SqlValue::opt_text(f.municipality.clone()),
                    SqlValue::opt_text(f.registered_on.map(|d| d.to_string())),
                    SqlValue::text(&now),
                    SqlValue::text(&now),
                ]
            })
            .collect();
        let mut tx = self.write_tx().await?;
        let written = insert_rows(
            &mut tx,
            self.backend,
            "funds",
            FUND_COLUMNS,
            &rows,
            &format!(
                "ON CONFLICT (id) DO UPDATE SET {}",
                // A re-registration updates everything but the id and when it was first made.
                set_excluded(
                    &FUND_COLUMNS
                        .iter()
                        .copied()
                        .filter(|c| !matches!(*c, "id" | "created_at"))
                        .collect::<Vec<_>>()
                )
            ),
        )
        .await?;
        audit_in(
            &mut tx,
            actor,
            "funds.upsert",
            None,
            &serde_json::json!({ "funds": funds.len() }),
        )
        .await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Number of registered funds.
    pub async fn count_funds(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM funds")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Every fund with its tambon's population, for validation.
    pub async fn fund_references(&self) -> Result<Vec<FundReference>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.id, f.tambon_code, a.pop_total, f.registered_on FROM funds f \
             LEFT JOIN areas a ON a.code = f.tambon_code",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(FundReference {
                    fund_id: r.try_get(0)?,
                    tambon: r.try_get(1)?,
                    population: r.try_get(2)?,
                    registered_on: r.try_get(3)?,
                })
            })
            .collect()
    }
}
