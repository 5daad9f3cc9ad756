//! Runs: every pull of a connector (or a demo load), how it ended and what it counted.

use serde::Serialize;
use sqlx::Row;
use welfare_connectors::UnrecognisedColumn;

use super::rows::trusted;
use super::{Store, StoreError, now_text};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "running" => Ok(RunStatus::Running),
            "succeeded" => Ok(RunStatus::Succeeded),
            "failed" => Ok(RunStatus::Failed),
            other => Err(StoreError::Corrupt(format!("run status {other:?}"))),
        }
    }
}

/// Row counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RunCounts {
    pub accepted: u64,
    pub rejected: u64,
    pub unchanged: u64,
    pub revised: u64,
}

/// One ingestion run as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Run {
    pub id: i64,
    pub connector_id: Option<String>,
    pub trigger: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub counts: RunCounts,
    pub error: Option<String>,
    /// The connector refused the source's content as a whole (the error says why); nothing stored.
    pub refused: bool,
    /// The source's columns that feed no field and are not ignored by configuration: each its
    /// `location` and `heading`.
    #[schema(value_type = Vec<Object>)]
    pub unrecognised: Vec<UnrecognisedColumn>,
}

/// How a run ended, as [`Store::finish_run_with`] records it.
#[derive(Debug, Clone, Copy)]
pub struct RunEnd<'a> {
    pub status: RunStatus,
    pub counts: RunCounts,
    pub error: Option<&'a str>,
    pub refused: bool,
    pub unrecognised: &'a [UnrecognisedColumn],
}

impl Store {
    /// Records the start of a run and returns its id.
    pub async fn start_run(
        &self,
        connector_id: Option<&str>,
        trigger: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO runs (connector_id, trigger, status, started_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(connector_id)
        .bind(trigger)
        .bind(RunStatus::Running.as_str())
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.try_get(0)?)
    }

    /// Records how a run ended (no unrecognised columns, not refused).
    pub async fn finish_run(
        &self,
        run_id: i64,
        status: RunStatus,
        counts: RunCounts,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.finish_run_with(
            run_id,
            RunEnd {
                status,
                counts,
                error,
                refused: false,
                unrecognised: &[],
            },
        )
        .await
    }

    /// Records how a run ended.
    pub async fn finish_run_with(&self, run_id: i64, end: RunEnd<'_>) -> Result<(), StoreError> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let unrecognised = (!end.unrecognised.is_empty())
            .then(|| serde_json::to_string(end.unrecognised))
            .transpose()
            .map_err(|e| StoreError::Invalid(format!("unrecognised columns: {e}")))?;
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE runs SET status = $1, finished_at = $2, rows_accepted = $3, rows_rejected = $4, \
             rows_unchanged = $5, rows_revised = $6, error = $7, refused = $8, unrecognised = $9 \
             WHERE id = $10",
        )
        .bind(end.status.as_str())
        .bind(now_text())
        .bind(n(end.counts.accepted))
        .bind(n(end.counts.rejected))
        .bind(n(end.counts.unchanged))
        .bind(n(end.counts.revised))
        // A source's error may quote its URL: credentials never reach the run history.
        .bind(end.error.map(|e| welfare_connectors::redact::redact(e).into_owned()))
        .bind(i64::from(end.refused))
        .bind(unrecognised)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One run by id.
    pub async fn run(&self, run_id: i64) -> Result<Option<Run>, StoreError> {
        let sql = format!("{RUN_SELECT} WHERE id = $1");
        let row = sqlx::query(trusted(&sql))
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(run_of).transpose()
    }

    /// Runs, newest first, of one connector or of all.
    pub async fn runs(
        &self,
        connector_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Run>, StoreError> {
        self.runs_page(connector_id, limit, None).await
    }

    /// One page of runs, newest first: those with an id below `before` (the last id of the previous
    /// page), at most `limit`.
    pub async fn runs_page(
        &self,
        connector_id: Option<&str>,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<Run>, StoreError> {
        let sql = format!(
            "{RUN_SELECT} WHERE ($1 IS NULL OR connector_id = $1) AND id < $2 ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(trusted(&sql))
            .bind(connector_id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(run_of).collect()
    }

    /// The latest run of every connector.
    pub async fn last_runs(&self) -> Result<std::collections::HashMap<String, Run>, StoreError> {
        let sql = format!(
            "{RUN_SELECT} WHERE id IN (SELECT MAX(id) FROM runs WHERE connector_id IS NOT NULL GROUP BY connector_id)"
        );
        let rows = sqlx::query(trusted(&sql)).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let run = run_of(r)?;
                Ok((run.connector_id.clone().unwrap_or_default(), run))
            })
            .collect()
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
}

/// The columns [`run_of`] reads, in its order.
const RUN_SELECT: &str = "SELECT id, connector_id, trigger, status, started_at, finished_at, \
    rows_accepted, rows_rejected, rows_unchanged, rows_revised, error, refused, unrecognised FROM runs";

fn run_of(r: &sqlx::any::AnyRow) -> Result<Run, StoreError> {
    let n = |i: usize| -> Result<u64, StoreError> { Ok(r.try_get::<i64, _>(i)?.max(0) as u64) };
    Ok(Run {
        id: r.try_get(0)?,
        connector_id: r.try_get(1)?,
        trigger: r.try_get(2)?,
        status: RunStatus::parse(&r.try_get::<String, _>(3)?)?,
        started_at: r.try_get(4)?,
        finished_at: r.try_get(5)?,
        counts: RunCounts {
            accepted: n(6)?,
            rejected: n(7)?,
            unchanged: n(8)?,
            revised: n(9)?,
        },
        error: r.try_get(10)?,
        refused: r.try_get::<i64, _>(11)? != 0,
        unrecognised: match r.try_get::<Option<String>, _>(12)? {
            None => Vec::new(),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                StoreError::Corrupt(format!(
                    "run {} unrecognised columns: {e}",
                    r.try_get::<i64, _>(0).unwrap_or(0)
                ))
            })?,
        },
    })
}
