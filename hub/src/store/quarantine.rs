//! Quarantine: rejected rows put aside with where they were and why, until a later run accepts them.

use std::collections::HashSet;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use welfare_connectors::redact::redact;

use super::connectors::in_provinces;
use super::rows::{SqlValue, bind_all, insert_rows, trusted};
use super::{Store, StoreError, StoreTx, now_text};

/// The longest reason a quarantine entry keeps, in bytes: a reason names a field and a value, and a
/// hostile cell must not make every listing megabytes long.
pub const REASON_LIMIT: usize = 1024;
/// The longest excerpt of the raw row a quarantine entry keeps, in bytes (as JSON text).
pub const RAW_LIMIT: usize = 4096;

/// A rejected row on its way to quarantine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuarantineRow {
    pub location: String,
    pub reason: String,
    pub raw: Option<serde_json::Value>,
    /// The fund and month (`YYYY-MM`) the row was for, when they could be read: a later run that
    /// accepts that fund-month resolves the entry.
    pub fund_id: Option<String>,
    pub period: Option<String>,
}

/// A quarantined row as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Quarantined {
    pub id: i64,
    /// The run that first put the row aside.
    pub run_id: Option<i64>,
    pub connector_id: Option<String>,
    pub location: String,
    pub reason: String,
    pub raw: Option<serde_json::Value>,
    pub created_at: String,
    pub fund_id: Option<String>,
    pub period: Option<String>,
    /// The latest run that delivered the same row again (connector, location, reason and raw equal).
    pub last_seen_run: Option<i64>,
    /// When a later run accepted the fund-month (or, for a row whose fund-month could not be read, a
    /// row at the same location of the same connector), and which run.
    pub resolved_at: Option<String>,
    pub resolved_by_run: Option<i64>,
}

/// `text` cut to at most `limit` bytes at a character boundary, saying it was cut and how long it was.
pub fn bounded(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let marker = format!(" … [cut: {} bytes in all]", text.len());
    let mut end = limit.saturating_sub(marker.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{marker}", &text[..end])
}

/// The raw row as stored: its JSON text when it fits [`RAW_LIMIT`], else a JSON string holding the
/// cut text (escaping can lengthen it, so the cut shrinks until the stored text fits).
fn raw_text(raw: &serde_json::Value) -> String {
    let full = raw.to_string();
    if full.len() <= RAW_LIMIT {
        return full;
    }
    let mut budget = RAW_LIMIT;
    loop {
        let stored = serde_json::Value::String(bounded(&full, budget)).to_string();
        if stored.len() <= RAW_LIMIT || budget < 64 {
            return stored;
        }
        budget -= stored.len() - RAW_LIMIT;
    }
}

/// What makes two quarantine entries the same: connector, location, reason and raw excerpt.
fn digest(connector_id: Option<&str>, location: &str, reason: &str, raw: Option<&str>) -> String {
    let mut h = Sha256::new();
    for part in [
        connector_id.unwrap_or(""),
        location,
        reason,
        raw.unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The accepted rows of a run, for resolving quarantine entries.
#[derive(Debug, Clone, Default)]
pub struct Accepted {
    /// (fund id, `YYYY-MM`) of every accepted row, stored, revised or unchanged.
    pub fund_months: HashSet<(String, String)>,
    /// Where each accepted row was in the source.
    pub locations: HashSet<String>,
}

impl Store {
    /// Quarantined rows, newest first, resolved ones included.
    pub async fn quarantine_rows(
        &self,
        connector_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Quarantined>, StoreError> {
        self.quarantine_entries(connector_id, true, limit).await
    }

    /// Quarantined rows of one connector or of all, newest first; only open ones unless
    /// `include_resolved`.
    pub async fn quarantine_entries(
        &self,
        connector_id: Option<&str>,
        include_resolved: bool,
        limit: i64,
    ) -> Result<Vec<Quarantined>, StoreError> {
        self.quarantine_page(connector_id, None, include_resolved, limit, None)
            .await
    }

    /// One page of quarantine entries, newest first: those with an id below `before` (the last id of
    /// the previous page), at most `limit`; of the connectors within `provinces` (an editor's scope)
    /// when given.
    pub async fn quarantine_page(
        &self,
        connector_id: Option<&str>,
        provinces: Option<&[String]>,
        include_resolved: bool,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<Quarantined>, StoreError> {
        let mut binds = vec![
            SqlValue::opt_text(connector_id),
            SqlValue::int(i64::from(include_resolved)),
            SqlValue::int(before.unwrap_or(i64::MAX)),
            SqlValue::int(limit),
        ];
        let scope = match provinces {
            None => String::new(),
            Some([]) => return Ok(Vec::new()),
            Some(provinces) => {
                binds.extend(provinces.iter().map(SqlValue::text));
                format!(
                    " AND {}",
                    in_provinces("quarantine.connector_id", 5, provinces.len())
                )
            }
        };
        let sql = format!(
            "SELECT id, run_id, connector_id, location, reason, raw, created_at, fund_id, period, \
             last_seen_run, resolved_at, resolved_by_run FROM quarantine \
             WHERE ($1 IS NULL OR connector_id = $1) AND ($2 = 1 OR resolved_at IS NULL) \
             AND id < $3{scope} ORDER BY id DESC LIMIT $4"
        );
        let rows = bind_all(sqlx::query(trusted(&sql)), &binds)
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
                    fund_id: r.try_get(7)?,
                    period: r.try_get(8)?,
                    last_seen_run: r.try_get(9)?,
                    resolved_at: r.try_get(10)?,
                    resolved_by_run: r.try_get(11)?,
                })
            })
            .collect()
    }
}

impl StoreTx {
    /// Puts rejected rows aside, in this transaction. Reasons and raw excerpts are bounded
    /// ([`REASON_LIMIT`], [`RAW_LIMIT`]). A row already in quarantine (same connector, location,
    /// reason and raw) is not added again: its `last_seen_run` moves to this run, and it is open again
    /// if it had been resolved. Returns the entries written or seen again.
    pub async fn quarantine(
        &mut self,
        run_id: Option<i64>,
        connector_id: Option<&str>,
        rows: &[QuarantineRow],
    ) -> Result<u64, StoreError> {
        let now = now_text();
        let mut seen = HashSet::new();
        let mut values: Vec<Vec<SqlValue>> = Vec::with_capacity(rows.len());
        for q in rows {
            // Reasons and locations may quote a source's URL: never with its credentials.
            let reason = redact(&q.reason);
            let reason = bounded(&reason, REASON_LIMIT);
            let location = redact(&q.location);
            let raw = q.raw.as_ref().map(raw_text);
            let digest = digest(connector_id, &location, &reason, raw.as_deref());
            // One statement may not touch the same conflicting row twice (PostgreSQL refuses it).
            if !seen.insert(digest.clone()) {
                continue;
            }
            values.push(vec![
                SqlValue::Int(run_id),
                SqlValue::opt_text(connector_id),
                SqlValue::text(location.as_ref()),
                SqlValue::text(reason),
                SqlValue::opt_text(raw),
                SqlValue::text(&now),
                SqlValue::text(digest),
                SqlValue::opt_text(q.fund_id.clone()),
                SqlValue::opt_text(q.period.clone()),
                SqlValue::Int(run_id),
            ]);
        }
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
                "digest",
                "fund_id",
                "period",
                "last_seen_run",
            ],
            &values,
            "ON CONFLICT (digest) DO UPDATE SET last_seen_run = excluded.last_seen_run, \
             resolved_at = NULL, resolved_by_run = NULL",
        )
        .await
    }

    /// Marks resolved, by `run_id`, the open quarantine entries this run's accepted rows answer: an
    /// entry of any connector for an accepted fund-month, and an entry of `connector_id` whose
    /// fund-month could not be read, at the location of an accepted row. Returns how many.
    pub async fn resolve_quarantine(
        &mut self,
        run_id: i64,
        connector_id: &str,
        accepted: &Accepted,
    ) -> Result<u64, StoreError> {
        if accepted.fund_months.is_empty() && accepted.locations.is_empty() {
            return Ok(0);
        }
        // Open entries are few; the accepted rows of a run can be many: match them here.
        let open = sqlx::query(
            "SELECT id, fund_id, period, connector_id, location FROM quarantine \
             WHERE resolved_at IS NULL AND (fund_id IS NOT NULL OR connector_id = $1)",
        )
        .bind(connector_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut ids = Vec::new();
        for r in &open {
            let fund: Option<String> = r.try_get(1)?;
            let period: Option<String> = r.try_get(2)?;
            let answered = match (fund, period) {
                (Some(f), Some(p)) => accepted.fund_months.contains(&(f, p)),
                _ => {
                    r.try_get::<Option<String>, _>(3)?.as_deref() == Some(connector_id)
                        && accepted.locations.contains(&r.try_get::<String, _>(4)?)
                }
            };
            if answered {
                ids.push(r.try_get::<i64, _>(0)?);
            }
        }
        let now = now_text();
        let mut resolved = 0;
        for chunk in ids.chunks(1000) {
            let ids: Vec<String> = (3..3 + chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "UPDATE quarantine SET resolved_at = $1, resolved_by_run = $2 WHERE id IN ({})",
                ids.join(", ")
            );
            let mut query = sqlx::query(trusted(&sql)).bind(now.as_str()).bind(run_id);
            for id in chunk {
                query = query.bind(*id);
            }
            resolved += query.execute(&mut *self.tx).await?.rows_affected();
        }
        Ok(resolved)
    }
}
