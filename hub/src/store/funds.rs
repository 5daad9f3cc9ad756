//! Funds: the registry operators own, and the reference data ingestion checks a fund's rows against.

use std::collections::{HashMap, HashSet};

use sqlx::Row;
use sqlx::any::AnyRow;
use welfare_model::fund::Fund;
use welfare_model::{AreaCode, FundId, Network};

use super::audit::{Actor, Change, audit_changes, audit_in};
use super::networks::write_members;
use super::rows::{SqlValue, insert_rows, set_excluded, trusted};
use super::{Store, StoreError, now_text};

const FUND_COLUMNS: &[&str] = &[
    "id",
    "name_th",
    "name_en",
    "kind",
    "area_code",
    "municipality",
    "registered_on",
    "closed_on",
    "created_at",
    "updated_at",
];

/// What ingestion checks a fund's rows against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundReference {
    pub fund_id: String,
    /// The tambon (or, for a provincial-level fund, the province) the fund is registered to.
    pub tambon: String,
    /// The area's registered population, if the geography has it.
    pub population: Option<i64>,
    pub registered_on: Option<String>,
    /// The day it closed (ISO): it reports no month from then on.
    pub closed_on: Option<String>,
}

/// The registry's size and latest change: a different one means funds were registered, changed or
/// closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryFingerprint {
    pub funds: i64,
    pub changed_at: Option<String>,
}

/// One fund's registration as a change makes it: what it was (none for a new fund) and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct FundChange {
    pub before: Option<Fund>,
    pub after: Fund,
}

fn fund_values(f: &Fund, now: &str) -> Vec<SqlValue> {
    vec![
        SqlValue::text(f.id.as_str()),
        SqlValue::text(&f.name_th),
        SqlValue::opt_text(f.name_en.clone()),
        SqlValue::text(f.kind.as_str()),
        SqlValue::text(f.area.as_str()),
        SqlValue::opt_text(f.municipality.clone()),
        SqlValue::opt_text(f.registered_on.map(|d| d.to_string())),
        SqlValue::opt_text(f.closed_on.map(|d| d.to_string())),
        SqlValue::text(now),
        SqlValue::text(now),
    ]
}

/// A fund as the registry holds it, in [`FUND_COLUMNS`] order.
fn decode_fund(r: &AnyRow) -> Result<Fund, StoreError> {
    let corrupt =
        |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{what}: {e}"));
    let id: String = r.try_get(0)?;
    let day = |i: usize, what: &str| -> Result<Option<chrono::NaiveDate>, StoreError> {
        r.try_get::<Option<String>, _>(i)?
            .map(|d| {
                d.parse()
                    .map_err(|e| corrupt(&format!("fund {id} {what}"), &e))
            })
            .transpose()
    };
    let kind: String = r.try_get(3)?;
    let area: String = r.try_get(4)?;
    Ok(Fund {
        id: FundId::parse(&id).map_err(|e| corrupt("fund id", &e))?,
        name_th: r.try_get(1)?,
        name_en: r.try_get(2)?,
        kind: kind.parse().map_err(|e: String| corrupt("fund kind", &e))?,
        area: AreaCode::parse(&area).map_err(|e| corrupt("fund area", &e))?,
        municipality: r.try_get(5)?,
        registered_on: day(6, "registered_on")?,
        closed_on: day(7, "closed_on")?,
    })
}

/// The registry's columns as a `SELECT` list (without the times).
fn select_funds() -> String {
    format!("SELECT {} FROM funds", FUND_COLUMNS[..8].join(", "))
}

impl Store {
    /// Registers funds or updates their registration in bulk, in one transaction (the demo's and
    /// benchmarks' loader). Returns the rows written.
    pub async fn upsert_funds(&self, funds: &[Fund], actor: &str) -> Result<u64, StoreError> {
        let now = now_text();
        let rows: Vec<Vec<SqlValue>> = funds.iter().map(|f| fund_values(f, &now)).collect();
        let mut tx = self.write_tx().await?;
        let written = write_funds(&mut tx, self.backend, &rows).await?;
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

    /// Writes registry changes in one transaction, each audited with its values before and after:
    /// all of them or, on any error, none.
    pub async fn register_funds(
        &self,
        changes: &[FundChange],
        network_changes: &[(Network, Network)],
        actor: &Actor,
        action: &str,
    ) -> Result<(), StoreError> {
        if changes.is_empty() && network_changes.is_empty() {
            return Ok(());
        }
        let now = now_text();
        let rows: Vec<Vec<SqlValue>> = changes
            .iter()
            .map(|c| fund_values(&c.after, &now))
            .collect();
        let mut tx = self.write_tx().await?;
        write_funds(&mut tx, self.backend, &rows).await?;
        let entries: Vec<Change> = changes
            .iter()
            .map(|c| Change {
                subject: format!("fund:{}", c.after.id),
                province: Some(c.after.area.province().to_string()),
                before: c.before.as_ref().map(|b| serde_json::json!(b)),
                after: Some(serde_json::json!(c.after)),
            })
            .collect();
        audit_changes(&mut tx, self.backend, actor, action, &entries).await?;
        for (before, after) in network_changes {
            write_members(&mut tx, after).await?;
            audit_changes(
                &mut tx,
                self.backend,
                actor,
                action,
                &[Change {
                    subject: format!("network:{}", after.id),
                    province: None,
                    before: Some(serde_json::json!(before)),
                    after: Some(serde_json::json!(after)),
                }],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// What tells whether the registry changed: its size and latest change.
    pub async fn registry_fingerprint(&self) -> Result<RegistryFingerprint, StoreError> {
        let row = sqlx::query("SELECT COUNT(*), MAX(updated_at) FROM funds")
            .fetch_one(&self.pool)
            .await?;
        Ok(RegistryFingerprint {
            funds: row.try_get(0)?,
            changed_at: row.try_get(1)?,
        })
    }

    /// Number of registered funds.
    pub async fn count_funds(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM funds")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// One fund's registration.
    pub async fn fund_registration(&self, id: &str) -> Result<Option<Fund>, StoreError> {
        let select = format!("{} WHERE id = $1", select_funds());
        sqlx::query(trusted(&select))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(decode_fund)
            .transpose()
    }

    /// Every registration, by fund id.
    pub async fn fund_registrations(&self) -> Result<HashMap<FundId, Fund>, StoreError> {
        let rows = sqlx::query(trusted(&select_funds()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| decode_fund(r).map(|f| (f.id.clone(), f)))
            .collect()
    }

    /// A page of the registry, by id: the funds whose area lies within `within` (a DOPA code
    /// prefix; none for all), after the id `after`.
    pub async fn funds_page(
        &self,
        within: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Fund>, StoreError> {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        if let Some(within) = within {
            binds.push(within);
            conditions.push(format!(
                "substr(area_code, 1, {}) = ${}",
                within.len(),
                binds.len()
            ));
        }
        if let Some(after) = after {
            binds.push(after);
            conditions.push(format!("id > ${}", binds.len()));
        }
        let select = format!(
            "{}{}{} ORDER BY id LIMIT {}",
            select_funds(),
            if conditions.is_empty() { "" } else { " WHERE " },
            conditions.join(" AND "),
            limit.min(10_000)
        );
        let mut query = sqlx::query(trusted(&select));
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(decode_fund).collect()
    }

    /// Every area code of the geography (provinces, districts, tambons).
    pub async fn area_codes(&self) -> Result<HashSet<String>, StoreError> {
        let rows = sqlx::query("SELECT code FROM areas")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Every fund with its area's population, for validation.
    pub async fn fund_references(&self) -> Result<Vec<FundReference>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.id, f.area_code, a.pop_total, f.registered_on, f.closed_on FROM funds f \
             LEFT JOIN areas a ON a.code = f.area_code",
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
                    closed_on: r.try_get(4)?,
                })
            })
            .collect()
    }
}

/// Inserts registrations or updates them (everything but the id and when it was first made).
async fn write_funds(
    tx: &mut sqlx::AnyConnection,
    backend: super::Backend,
    rows: &[Vec<SqlValue>],
) -> Result<u64, StoreError> {
    insert_rows(
        tx,
        backend,
        "funds",
        FUND_COLUMNS,
        rows,
        &format!(
            "ON CONFLICT (id) DO UPDATE SET {}",
            set_excluded(
                &FUND_COLUMNS
                    .iter()
                    .copied()
                    .filter(|c| !matches!(*c, "id" | "created_at"))
                    .collect::<Vec<_>>()
            )
        ),
    )
    .await
}
