//! Connectors as the store knows them (their configuration and cursor), interrupted runs, and the
//! reference data ingestion validates against.

use serde::Serialize;
use sqlx::Row;

use super::rows::{SqlValue, insert_rows};
use super::{Store, StoreError, StoreTx, now_text};

/// A connector's stored state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorRecord {
    pub id: String,
    pub kind: String,
    /// The source configuration as JSON (names of secret variables, never their values).
    pub config: serde_json::Value,
    pub schedule: Option<String>,
    pub enabled: bool,
    pub cursor: Option<String>,
}

/// A rejected row on its way to quarantine.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineRow {
    pub location: String,
    pub reason: String,
    pub raw: Option<serde_json::Value>,
}

/// A quarantined row as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quarantined {
    pub id: i64,
    pub run_id: Option<i64>,
    pub connector_id: Option<String>,
    pub location: String,
    pub reason: String,
    pub raw: Option<serde_json::Value>,
    pub created_at: String,
}

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
    /// Records the configured connectors (configuration, schedule, enabled) without touching their
    /// cursors; connectors no longer configured are disabled, not deleted (their runs stay).
    pub async fn sync_connectors(&self, connectors: &[ConnectorRecord]) -> Result<(), StoreError> {
        let now = now_text();
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE connectors SET enabled = 0, updated_at = $1 WHERE enabled = 1")
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        let rows: Vec<Vec<SqlValue>> = connectors
            .iter()
            .map(|c| {
                vec![
                    SqlValue::text(&c.id),
                    SqlValue::text(&c.kind),
                    SqlValue::text(c.config.to_string()),
                    SqlValue::opt_text(c.schedule.clone()),
                    SqlValue::int(i64::from(c.enabled)),
                    SqlValue::text(&now),
                    SqlValue::text(&now),
                ]
            })
            .collect();
        insert_rows(
            &mut tx,
            self.backend,
            "connectors",
            &["id", "kind", "config", "schedule", "enabled", "created_at", "updated_at"],
            &rows,
            "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, config = excluded.config, \
             schedule = excluded.schedule, enabled = excluded.enabled, updated_at = excluded.updated_at",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every stored connector, by id.
    pub async fn connectors(&self) -> Result<Vec<ConnectorRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, config, schedule, enabled, cursor FROM connectors ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let config: String = r.try_get(2)?;
                Ok(ConnectorRecord {
                    id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    config: serde_json::from_str(&config)
                        .map_err(|e| StoreError::Corrupt(format!("connector config: {e}")))?,
                    schedule: r.try_get(3)?,
                    enabled: r.try_get::<i64, _>(4)? != 0,
                    cursor: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// The saved cursor of a connector.
    pub async fn connector_cursor(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT cursor FROM connectors WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?.flatten())
    }

    /// Marks runs left `running` by a hub that stopped (killed, crashed) as failed. Their data was
    /// never committed: a run writes everything in one transaction at its end.
    pub async fn fail_interrupted_runs(&self) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE runs SET status = 'failed', finished_at = $1, \
             error = 'interrupted: the hub stopped before the run finished; nothing of it was stored' \
             WHERE status = 'running'",
        )
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// When the connector's last successful run started.
    pub async fn last_success(&self, connector_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT MAX(started_at) FROM runs WHERE connector_id = $1 AND status = 'succeeded'",
        )
        .bind(connector_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
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

    /// Members at the end of `period` as stored for a fund, if it reported them.
    pub async fn members_at(&self, fund_id: &str, period: &str) -> Result<Option<i64>, StoreError> {
        let row =
            sqlx::query("SELECT members_total FROM summaries WHERE fund_id = $1 AND period = $2")
                .bind(fund_id)
                .bind(period)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?.flatten())
    }

    /// Quarantined rows, newest first.
    pub async fn quarantine_rows(
        &self,
        connector_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Quarantined>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, run_id, connector_id, location, reason, raw, created_at FROM quarantine \
             WHERE ($1 IS NULL OR connector_id = $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(connector_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let raw: Option<String> = r.try_get(5)?;
                Ok(Quarantined {
                    id: r.try_get(0)?,
                    run_id: r.try_get(1)?,
                    connector_id: r.try_get(2)?,
                    location: r.try_get(3)?,
                    reason: r.try_get(4)?,
                    raw: raw.and_then(|t| serde_json::from_str(&t).ok()),
                    created_at: r.try_get(6)?,
                })
            })
            .collect()
    }
}

impl StoreTx {
    /// Puts rejected rows aside, in this transaction.
    pub async fn quarantine(
        &mut self,
        run_id: Option<i64>,
        connector_id: Option<&str>,
        rows: &[QuarantineRow],
    ) -> Result<u64, StoreError> {
        let now = now_text();
        let values: Vec<Vec<SqlValue>> = rows
            .iter()
            .map(|q| {
                vec![
                    SqlValue::Int(run_id),
                    SqlValue::opt_text(connector_id),
                    SqlValue::text(&q.location),
                    SqlValue::text(&q.reason),
                    SqlValue::opt_text(q.raw.as_ref().map(|v| v.to_string())),
                    SqlValue::text(&now),
                ]
            })
            .collect();
        insert_rows(
            &mut self.tx,
            self.backend,
            "quarantine",
            &[
                "run_id",
                "connector_id",
                "location",
                "reason",
                "raw",
                "created_at",
            ],
            &values,
            "",
        )
        .await
    }

    /// Saves a connector's cursor in this transaction, so it moves only with the data it covers.
    pub async fn save_cursor(
        &mut self,
        connector_id: &str,
        cursor: &str,
    ) -> Result<(), StoreError> {
        let result =
            sqlx::query("UPDATE connectors SET cursor = $1, updated_at = $2 WHERE id = $3")
                .bind(cursor)
                .bind(now_text())
                .bind(connector_id)
                .execute(&mut *self.tx)
                .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::Invalid(format!(
                "connector {connector_id} is not registered in the store"
            )));
        }
        Ok(())
    }
}
