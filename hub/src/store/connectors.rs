//! Connectors as the store knows them: their configuration, schedule, enabled flag and cursor.

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

    /// Forgets a connector's cursor, so its next pull re-reads the whole source (`pull --full`).
    /// Returns false when the connector is not in the store.
    pub async fn clear_cursor(&self, connector_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let result =
            sqlx::query("UPDATE connectors SET cursor = NULL, updated_at = $1 WHERE id = $2")
                .bind(now_text())
                .bind(connector_id)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(result.rows_affected() > 0)
    }
}

impl StoreTx {
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
