//! One run of one connector: pull, validate, then store rows, quarantine and cursor in one
//! transaction. A run that fails or times out at any point stores nothing and keeps the old cursor, so
//! running it again neither loses nor doubles a row.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use welfare_connectors::batch::from_batch;
use welfare_connectors::{Connector, ConnectorError, Cursor};
use welfare_model::{Period, Summary};

use super::ConnectorEntry;
use super::validate::{Reference, ValidationRules, check};
use crate::store::{QuarantineRow, RunCounts, RunStatus, Store, StoreError};

/// How a run ended.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub run_id: i64,
    pub connector_id: String,
    pub status: RunStatus,
    pub counts: RunCounts,
    pub error: Option<String>,
    /// Whether trying again may help (only meaningful for failed runs).
    pub transient: bool,
    #[serde(skip)]
    pub duration: Duration,
}

/// Why a run failed, before it is written to the run history.
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("the connector delivered rows that are not canonical: {0}")]
    Batch(String),
    #[error("timed out after {0} s; nothing of this run was stored")]
    TimedOut(u64),
}

impl RunError {
    fn is_transient(&self) -> bool {
        match self {
            RunError::Connector(e) => e.is_transient(),
            RunError::Store(e) => e.is_transient(),
            RunError::Batch(_) => false,
            RunError::TimedOut(_) => true,
        }
    }
}

/// Raised after every commit that stored or revised figures: a counter (so a listener can tell
/// whether it has seen the latest change) and a wake-up.
#[derive(Debug, Default)]
pub struct ChangeSignal {
    generation: std::sync::atomic::AtomicU64,
    notify: tokio::sync::Notify,
}

impl ChangeSignal {
    pub fn raise(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// How many changes so far.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits for the next raise (or one that came while nobody waited).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }
}

/// Runs connectors against one store, sharing the reference data rows are validated against.
#[derive(Debug)]
pub struct Ingestor {
    store: Store,
    rules: ValidationRules,
    reference: RwLock<Arc<Reference>>,
    /// Signalled after every commit that stored or revised rows (the analytics snapshot listens).
    changed: Arc<ChangeSignal>,
}

impl Ingestor {
    pub async fn new(store: Store, rules: ValidationRules) -> Result<Self, StoreError> {
        let reference = Reference::new(store.fund_references().await?);
        Ok(Ingestor {
            store,
            rules,
            reference: RwLock::new(Arc::new(reference)),
            changed: Arc::new(ChangeSignal::default()),
        })
    }

    /// The signal raised after each commit that changed stored figures.
    pub fn changes(&self) -> Arc<ChangeSignal> {
        self.changed.clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Reloads the registered funds (after funds are added).
    pub async fn refresh_reference(&self) -> Result<(), StoreError> {
        let reference = Arc::new(Reference::new(self.store.fund_references().await?));
        *self.reference.write().expect("reference lock") = reference;
        Ok(())
    }

    fn reference(&self) -> Arc<Reference> {
        self.reference.read().expect("reference lock").clone()
    }

    /// Runs `connector` once. The result is also in the run history; only a store that cannot even
    /// record the run's start is an `Err`.
    pub async fn run(
        &self,
        entry: &ConnectorEntry,
        connector: &dyn Connector,
        trigger: &str,
    ) -> Result<RunResult, StoreError> {
        let started = Instant::now();
        let run_id = self.store.start_run(Some(&entry.id), trigger).await?;
        let limit = Duration::from_secs(entry.timeout_secs);
        let outcome = match tokio::time::timeout(
            limit,
            self.pull_and_store(entry, connector, run_id),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(RunError::TimedOut(entry.timeout_secs)),
        };
        let (status, counts, error, transient) = match outcome {
            Ok(counts) => (RunStatus::Succeeded, counts, None, false),
            Err(e) => (
                RunStatus::Failed,
                RunCounts::default(),
                Some(e.to_string()),
                e.is_transient(),
            ),
        };
        self.store
            .finish_run(run_id, status, counts, error.as_deref())
            .await?;
        match &error {
            None => tracing::info!(
                connector = %entry.id, run_id, new = counts.accepted, revised = counts.revised,
                unchanged = counts.unchanged, rejected = counts.rejected,
                ms = started.elapsed().as_millis() as u64, "run succeeded"
            ),
            Some(e) => tracing::warn!(
                connector = %entry.id, run_id, transient, error = %e, "run failed"
            ),
        }
        Ok(RunResult {
            run_id,
            connector_id: entry.id.clone(),
            status,
            counts,
            error,
            transient,
            duration: started.elapsed(),
        })
    }

    async fn pull_and_store(
        &self,
        entry: &ConnectorEntry,
        connector: &dyn Connector,
        run_id: i64,
    ) -> Result<RunCounts, RunError> {
        let since = self.store.connector_cursor(&entry.id).await?.map(Cursor);
        let pull = connector.pull(since.as_ref()).await?;

        let mut rows: Vec<(Summary, String)> = Vec::with_capacity(pull.row_count());
        for batch in &pull.batches {
            let summaries = from_batch(&batch.rows).map_err(|e| RunError::Batch(e.to_string()))?;
            rows.extend(summaries.into_iter().zip(batch.locations.iter().cloned()));
        }
        let mut quarantine: Vec<QuarantineRow> = pull
            .rejected
            .iter()
            .map(|r| QuarantineRow {
                location: r.location.clone(),
                reason: r.reason.clone(),
                raw: Some(r.raw.clone()),
            })
            .collect();
        let (valid, invalid) = self.validate(rows).await?;
        quarantine.extend(invalid);

        let mut tx = self.store.begin().await?;
        let outcome = tx.upsert_summaries(Some(run_id), &valid).await?;
        tx.quarantine(Some(run_id), Some(&entry.id), &quarantine)
            .await?;
        if let Some(cursor) = &pull.cursor {
            tx.save_cursor(&entry.id, &cursor.0).await?;
        }
        tx.commit().await?;
        if outcome.inserted + outcome.revised > 0 {
            self.changed.raise();
        }
        Ok(RunCounts {
            accepted: outcome.inserted,
            rejected: quarantine.len() as u64,
            unchanged: outcome.unchanged,
            revised: outcome.revised,
        })
    }

    /// Splits delivered rows into valid summaries and quarantine rows with reasons.
    async fn validate(
        &self,
        mut rows: Vec<(Summary, String)>,
    ) -> Result<(Vec<Summary>, Vec<QuarantineRow>), StoreError> {
        let reference = self.reference();
        // The current month in Bangkok is the latest a fund can report (a month still in progress).
        let today = chrono::Utc::now().with_timezone(&welfare_connectors::mapping::bangkok());
        let latest = Period::of_date(today.date_naive());
        rows.sort_by(|a, b| (&a.0.fund_id, a.0.period).cmp(&(&b.0.fund_id, b.0.period)));

        // A (fund, month) delivered twice in one run: which copy is right cannot be known.
        let mut seen: HashMap<(String, Period), usize> = HashMap::new();
        for (s, _) in &rows {
            *seen.entry((s.fund_id.to_string(), s.period)).or_default() += 1;
        }
        let delivered: HashMap<(String, Period), Option<i64>> = rows
            .iter()
            .map(|(s, _)| ((s.fund_id.to_string(), s.period), s.members_total))
            .collect();

        let mut valid = Vec::with_capacity(rows.len());
        let mut invalid = Vec::new();
        for (s, location) in rows {
            let key = (s.fund_id.to_string(), s.period);
            let reject = |reason: String, s: &Summary| QuarantineRow {
                location: location.clone(),
                reason,
                raw: serde_json::to_value(s).ok(),
            };
            if seen[&key] > 1 {
                invalid.push(reject(
                    format!(
                        "fund {} period {} was delivered {} times in one run",
                        s.fund_id, s.period, seen[&key]
                    ),
                    &s,
                ));
                continue;
            }
            let needs_previous =
                s.members_total.is_some() && s.members_joined.is_some() && s.members_left.is_some();
            let previous = if !needs_previous {
                None
            } else if let Some(members) = delivered.get(&(key.0.clone(), s.period.prev())) {
                *members
            } else {
                self.store
                    .members_at(s.fund_id.as_str(), &s.period.prev().to_string())
                    .await?
            };
            match check(&s, &reference, &self.rules, previous, latest) {
                Ok(()) => valid.push(s),
                Err(reason) => invalid.push(reject(reason, &s)),
            }
        }
        Ok((valid, invalid))
    }
}
