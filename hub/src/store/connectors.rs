//! Connectors as the store knows them: their definition, where it comes from (the configuration
//! file, or the API), the provinces they serve, and their cursor.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::audit::{Actor, Change, audit_changes};
use super::rows::{SqlValue, bind_all, insert_rows, placeholders, trusted};
use super::{Store, StoreError, StoreTx, now_text};

/// Where a connector is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The configuration file (or the demo): the file rules it; the API only reads it.
    Configuration,
    /// Made over the API or the command line and kept in the store, which rules it.
    Api,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Configuration => "configuration",
            Origin::Api => "api",
        }
    }

    fn parse(text: &str) -> Result<Origin, StoreError> {
        match text {
            "configuration" => Ok(Origin::Configuration),
            "api" => Ok(Origin::Api),
            other => Err(StoreError::Corrupt(format!(
                "connector origin {other:?} is neither configuration nor api"
            ))),
        }
    }
}

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
    pub origin: Origin,
    pub name: Option<String>,
    pub timeout_secs: u64,
    pub max_attempts: u32,
    /// The provinces it serves (none: national).
    pub provinces: Vec<String>,
}

impl ConnectorRecord {
    /// What the audit keeps of a definition: everything but the cursor, credentials in URLs masked.
    fn audited(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(fields) = &mut value {
            fields.remove("cursor");
        }
        welfare_connectors::redact::redact_json(&mut value);
        value
    }

    /// The province the audit files a change of this connector under (its first), so an editor of
    /// that province reads it.
    fn audit_province(&self) -> Option<String> {
        self.provinces.first().cloned()
    }
}

/// The condition that a connector (its id in `column`) lies in the provinces bound from `$first`
/// on (`n` of them): it names at least one province and every one it names is among them. A national
/// connector lies in no editor's scope.
pub(crate) fn in_provinces(column: &str, first: usize, n: usize) -> String {
    let list: Vec<String> = (first..first + n).map(|i| format!("${i}")).collect();
    format!(
        "(EXISTS (SELECT 1 FROM connector_provinces cp WHERE cp.connector_id = {column}) \
         AND NOT EXISTS (SELECT 1 FROM connector_provinces cp WHERE cp.connector_id = {column} \
         AND cp.province NOT IN ({})))",
        list.join(", ")
    )
}

const RECORD_SELECT: &str = "SELECT c.id, c.kind, c.config, c.schedule, c.enabled, c.cursor, \
    c.origin, c.name, c.timeout_secs, c.max_attempts FROM connectors c";

fn decode(r: &sqlx::any::AnyRow) -> Result<ConnectorRecord, StoreError> {
    let config: String = r.try_get(2)?;
    let origin: String = r.try_get(6)?;
    Ok(ConnectorRecord {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        config: serde_json::from_str(&config)
            .map_err(|e| StoreError::Corrupt(format!("connector config: {e}")))?,
        schedule: r.try_get(3)?,
        enabled: r.try_get::<i64, _>(4)? != 0,
        cursor: r.try_get(5)?,
        origin: Origin::parse(&origin)?,
        name: r.try_get(7)?,
        timeout_secs: u64::try_from(r.try_get::<i64, _>(8)?).unwrap_or(600),
        max_attempts: u32::try_from(r.try_get::<i64, _>(9)?).unwrap_or(1),
        provinces: Vec::new(),
    })
}

impl Store {
    /// Records the configuration's connectors (definition, schedule, enabled, provinces) without
    /// touching their cursors. Configured connectors no longer configured are disabled, not deleted
    /// (their runs stay); connectors made over the API are left as they are. A configured id that a
    /// connector made over the API already holds is refused, naming it.
    pub async fn sync_connectors(&self, connectors: &[ConnectorRecord]) -> Result<(), StoreError> {
        let now = now_text();
        let mut tx = self.write_tx().await?;
        let api: Vec<String> = sqlx::query(
            "SELECT id FROM connectors WHERE origin = 'api' AND removed_at IS NULL ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        if let Some(taken) = connectors.iter().find(|c| api.binary_search(&c.id).is_ok()) {
            return Err(StoreError::Invalid(format!(
                "connector {} is configured in the file and was also made over the API; \
                 rename one (welfare-hub connectors remove {} drops the API's)",
                taken.id, taken.id
            )));
        }
        sqlx::query(
            "UPDATE connectors SET enabled = 0, updated_at = $1 \
             WHERE enabled = 1 AND origin = 'configuration'",
        )
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let rows: Vec<Vec<SqlValue>> = connectors
            .iter()
            .map(|c| definition_values(c, Origin::Configuration, &now))
            .collect();
        insert_rows(
            &mut tx,
            self.backend,
            "connectors",
            &DEFINITION_COLUMNS,
            &rows,
            UPSERT_DEFINITION,
        )
        .await?;
        // The listed connectors' provinces are replaced; a connector that left the file keeps its
        // own, so its runs and quarantine stay in the scope they were made in.
        for chunk in connectors.chunks(500) {
            let ids: Vec<SqlValue> = chunk.iter().map(|c| SqlValue::text(&c.id)).collect();
            let sql = format!(
                "DELETE FROM connector_provinces WHERE connector_id IN {}",
                placeholders(self.backend, 1, ids.len())
            );
            bind_all(sqlx::query(trusted(&sql)), &ids)
                .execute(&mut *tx)
                .await?;
        }
        write_provinces(&mut tx, self.backend, connectors).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every connector in the store that is not removed, by id, with its provinces.
    pub async fn connectors(&self) -> Result<Vec<ConnectorRecord>, StoreError> {
        self.connectors_page(None, None, None, i64::MAX).await
    }

    /// One connector that is not removed.
    pub async fn connector_record(&self, id: &str) -> Result<Option<ConnectorRecord>, StoreError> {
        Ok(self
            .connectors_page(None, Some(id), None, 1)
            .await?
            .into_iter()
            .next())
    }

    /// A page of the connectors that are not removed, by id: only `only`, or those after `after`,
    /// at most `limit`; within `provinces` (an editor's scope: see [`in_provinces`]) when given.
    pub async fn connectors_page(
        &self,
        provinces: Option<&[String]>,
        only: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ConnectorRecord>, StoreError> {
        let mut conditions = vec!["c.removed_at IS NULL".to_string()];
        let mut binds: Vec<SqlValue> = Vec::new();
        if let Some(id) = only {
            binds.push(SqlValue::text(id));
            conditions.push(format!("c.id = ${}", binds.len()));
        }
        if let Some(after) = after {
            binds.push(SqlValue::text(after));
            conditions.push(format!("c.id > ${}", binds.len()));
        }
        match provinces {
            None => {}
            // A scope of no province holds nothing.
            Some([]) => return Ok(Vec::new()),
            Some(provinces) => {
                conditions.push(in_provinces("c.id", binds.len() + 1, provinces.len()));
                binds.extend(provinces.iter().map(SqlValue::text));
            }
        }
        self.records(&conditions, &binds, limit).await
    }

    /// The connectors meeting `conditions` (on `c`), by id, at most `limit`, each with its
    /// provinces (read for those connectors only).
    async fn records(
        &self,
        conditions: &[String],
        binds: &[SqlValue],
        limit: i64,
    ) -> Result<Vec<ConnectorRecord>, StoreError> {
        let sql = format!(
            "{RECORD_SELECT} WHERE {} ORDER BY c.id LIMIT {}",
            conditions.join(" AND "),
            limit.clamp(0, i64::MAX)
        );
        let rows = bind_all(sqlx::query(trusted(&sql)), binds)
            .fetch_all(&self.pool)
            .await?;
        let mut records: Vec<ConnectorRecord> =
            rows.iter().map(decode).collect::<Result<_, _>>()?;
        let mut provinces: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in records.chunks(500) {
            let ids: Vec<SqlValue> = chunk.iter().map(|c| SqlValue::text(&c.id)).collect();
            let sql = format!(
                "SELECT connector_id, province FROM connector_provinces WHERE connector_id IN {} \
                 ORDER BY connector_id, province",
                placeholders(self.backend, 1, ids.len())
            );
            for r in bind_all(sqlx::query(trusted(&sql)), &ids)
                .fetch_all(&self.pool)
                .await?
            {
                provinces
                    .entry(r.try_get(0)?)
                    .or_default()
                    .push(r.try_get(1)?);
            }
        }
        for record in &mut records {
            record.provinces = provinces.remove(&record.id).unwrap_or_default();
        }
        Ok(records)
    }

    /// Saves a connector made or changed over the API or the command line, with its audit entry, in
    /// one transaction; returns what it was before (none for a new one). A new connector (`before`
    /// none, or one that was removed) starts without a cursor; a change keeps it.
    pub async fn save_connector(
        &self,
        record: &ConnectorRecord,
        actor: &Actor,
        action: &str,
    ) -> Result<Option<ConnectorRecord>, StoreError> {
        let now = now_text();
        let before = self.connector_record(&record.id).await?;
        let mut tx = self.write_tx().await?;
        if let Some(b) = &before
            && b.origin == Origin::Configuration
        {
            return Err(StoreError::Invalid(format!(
                "connector {} is defined in the configuration file; change it there",
                record.id
            )));
        }
        insert_rows(
            &mut tx,
            self.backend,
            "connectors",
            &DEFINITION_COLUMNS,
            &[definition_values(record, Origin::Api, &now)],
            UPSERT_DEFINITION,
        )
        .await?;
        let restarted = if before.is_none() {
            ", cursor = NULL"
        } else {
            ""
        };
        sqlx::query(trusted(&format!(
            "UPDATE connectors SET origin = 'api', removed_at = NULL{restarted} WHERE id = $1"
        )))
        .bind(&record.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM connector_provinces WHERE connector_id = $1")
            .bind(&record.id)
            .execute(&mut *tx)
            .await?;
        write_provinces(&mut tx, self.backend, std::slice::from_ref(record)).await?;
        audit_changes(
            &mut tx,
            self.backend,
            actor,
            action,
            &[Change {
                subject: format!("connector:{}", record.id),
                province: record.audit_province(),
                before: before.as_ref().map(ConnectorRecord::audited),
                after: Some(record.audited()),
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(before)
    }

    /// Removes a connector made over the API: it is never built again, its runs, quarantine and
    /// rows stay. Returns what it was, or none when there is no such connector.
    pub async fn remove_connector(
        &self,
        id: &str,
        actor: &Actor,
    ) -> Result<Option<ConnectorRecord>, StoreError> {
        let Some(before) = self.connector_record(id).await? else {
            return Ok(None);
        };
        if before.origin == Origin::Configuration {
            return Err(StoreError::Invalid(format!(
                "connector {id} is defined in the configuration file; remove it there"
            )));
        }
        let mut tx = self.write_tx().await?;
        let now = now_text();
        sqlx::query(
            "UPDATE connectors SET removed_at = $1, enabled = 0, updated_at = $1 WHERE id = $2",
        )
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit_changes(
            &mut tx,
            self.backend,
            actor,
            "connector.remove",
            &[Change {
                subject: format!("connector:{id}"),
                province: before.audit_province(),
                before: Some(before.audited()),
                after: None,
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(before))
    }

    /// The connectors made over the API that are not removed: what a running hub builds beside its
    /// configuration's, and compares with what it runs to pick up changes made by another process.
    pub async fn api_connectors(&self) -> Result<Vec<ConnectorRecord>, StoreError> {
        let conditions = [
            "c.removed_at IS NULL".to_string(),
            "c.origin = 'api'".to_string(),
        ];
        self.records(&conditions, &[], i64::MAX).await
    }

    /// How many open quarantine entries each connector has.
    pub async fn open_quarantine_counts(&self) -> Result<HashMap<String, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT connector_id, COUNT(*) FROM quarantine \
             WHERE resolved_at IS NULL AND connector_id IS NOT NULL GROUP BY connector_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
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

/// The columns a definition writes (never the cursor).
const DEFINITION_COLUMNS: [&str; 11] = [
    "id",
    "kind",
    "config",
    "schedule",
    "enabled",
    "origin",
    "name",
    "timeout_secs",
    "max_attempts",
    "created_at",
    "updated_at",
];

const UPSERT_DEFINITION: &str = "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, \
    config = excluded.config, schedule = excluded.schedule, enabled = excluded.enabled, \
    origin = excluded.origin, name = excluded.name, timeout_secs = excluded.timeout_secs, \
    max_attempts = excluded.max_attempts, updated_at = excluded.updated_at";

fn definition_values(c: &ConnectorRecord, origin: Origin, now: &str) -> Vec<SqlValue> {
    vec![
        SqlValue::text(&c.id),
        SqlValue::text(&c.kind),
        SqlValue::text(c.config.to_string()),
        SqlValue::opt_text(c.schedule.clone()),
        SqlValue::int(i64::from(c.enabled)),
        SqlValue::text(origin.as_str()),
        SqlValue::opt_text(c.name.clone()),
        SqlValue::int(i64::try_from(c.timeout_secs).unwrap_or(i64::MAX)),
        SqlValue::int(i64::from(c.max_attempts)),
        SqlValue::text(now),
        SqlValue::text(now),
    ]
}

async fn write_provinces(
    conn: &mut AnyConnection,
    backend: super::Backend,
    connectors: &[ConnectorRecord],
) -> Result<(), StoreError> {
    let rows: Vec<Vec<SqlValue>> = connectors
        .iter()
        .flat_map(|c| {
            c.provinces
                .iter()
                .map(|p| vec![SqlValue::text(&c.id), SqlValue::text(p)])
        })
        .collect();
    insert_rows(
        conn,
        backend,
        "connector_provinces",
        &["connector_id", "province"],
        &rows,
        "",
    )
    .await?;
    Ok(())
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
