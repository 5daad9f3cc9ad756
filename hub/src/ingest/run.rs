//! One run of one connector: pull, validate, then store rows, quarantine and cursor in one
//! transaction. A run that fails or times out at any point stores nothing and keeps the old cursor, so
//! running it again neither loses nor doubles a row. A run is always finished: a refused source, a
//! panic in the connector or in validation, a timeout, or a caller that drops the run all end it
//! `failed` with the reason.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use serde::Serialize;
use welfare_connectors::batch::from_batch;
use welfare_connectors::{Connector, ConnectorError, Cursor, Pull, UnrecognisedColumn};
use welfare_model::{FundId, Period, Summary};

use super::ConnectorEntry;
use super::validate::{
    DeclaredTambon, Delivered, Reference, Refusal, ValidationRules, check_row, check_series,
    earliest_months, months_before, served_by, split_duplicates,
};
use crate::store::{
    Accepted, QuarantineRow, RegistryFingerprint, RunCounts, RunEnd, RunStatus, Store, StoreError,
};

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
    /// The connector refused the source's content as a whole (`error` says why); nothing stored.
    pub refused: bool,
    /// The source's columns that feed no field (also on the run record).
    pub unrecognised: Vec<UnrecognisedColumn>,
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
    #[error("the run panicked ({0}); nothing of this run was stored")]
    Panicked(String),
}

impl RunError {
    fn is_transient(&self) -> bool {
        match self {
            RunError::Connector(e) => e.is_transient(),
            RunError::Store(e) => e.is_transient(),
            RunError::Batch(_) | RunError::Panicked(_) => false,
            RunError::TimedOut(_) => true,
        }
    }

    fn is_refusal(&self) -> bool {
        matches!(self, RunError::Connector(ConnectorError::Content(_)))
    }
}

/// What a panic said, when it said it as text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string())
}

/// Finishes a run as failed if it is dropped before [`Unfinished::done`]: a caller that stops
/// waiting (a cancelled task, a shutdown) must not leave the run `running`.
struct Unfinished {
    store: Store,
    run_id: i64,
    done: bool,
}

impl Unfinished {
    fn done(mut self) {
        self.done = true;
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.store.clone();
        let run_id = self.run_id;
        runtime.spawn(async move {
            let error =
                "abandoned: the run was stopped before it finished; nothing of it was stored";
            if let Err(e) = store
                .finish_run(run_id, RunStatus::Failed, RunCounts::default(), Some(error))
                .await
            {
                tracing::error!(run_id, error = %e, "an abandoned run could not be marked failed");
            }
        });
    }
}

/// What a successful pull-and-store did.
struct Stored {
    counts: RunCounts,
    unrecognised: Vec<UnrecognisedColumn>,
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
    /// The registry's fingerprint when `reference` was loaded.
    registry_seen: std::sync::Mutex<Option<RegistryFingerprint>>,
    /// Signalled after every commit that stored or revised rows (the analytics snapshot listens).
    changed: Arc<ChangeSignal>,
}

impl Ingestor {
    pub async fn new(store: Store, rules: ValidationRules) -> Result<Self, StoreError> {
        let seen = store.registry_fingerprint().await?;
        let reference = Reference::new(store.fund_references().await?);
        Ok(Ingestor {
            store,
            rules,
            reference: RwLock::new(Arc::new(reference)),
            registry_seen: std::sync::Mutex::new(Some(seen)),
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
        let seen = self.store.registry_fingerprint().await?;
        let reference = Arc::new(Reference::new(self.store.fund_references().await?));
        *self.reference.write().expect("reference lock") = reference;
        *self.registry_seen.lock().expect("registry lock") = Some(seen);
        Ok(())
    }

    /// Reloads the registered funds when the registry changed since they were loaded (a fund
    /// registered, changed or closed over the API or by `funds import` in another process), so a
    /// run validates against the registry as it is now.
    async fn refresh_if_registry_changed(&self) -> Result<(), StoreError> {
        let now = self.store.registry_fingerprint().await?;
        let seen = self.registry_seen.lock().expect("registry lock").clone();
        if seen.as_ref() != Some(&now) {
            self.refresh_reference().await?;
        }
        Ok(())
    }

    fn reference(&self) -> Arc<Reference> {
        self.reference.read().expect("reference lock").clone()
    }

    /// Runs `connector` once. The result is also in the run history; only a store that cannot even
    /// record the run's start (or end) is an `Err`.
    pub async fn run(
        &self,
        entry: &ConnectorEntry,
        connector: &dyn Connector,
        trigger: &str,
    ) -> Result<RunResult, StoreError> {
        let started = Instant::now();
        let run_id = self.store.start_run(Some(&entry.id), trigger).await?;
        let unfinished = Unfinished {
            store: self.store.clone(),
            run_id,
            done: false,
        };
        let limit = Duration::from_secs(entry.timeout_secs);
        // A panic anywhere in the pull or the validation fails this run, not the hub's task.
        let work = AssertUnwindSafe(self.pull_and_store(entry, connector, run_id)).catch_unwind();
        let outcome = match tokio::time::timeout(limit, work).await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => Err(RunError::Panicked(panic_message(panic.as_ref()))),
            Err(_) => Err(RunError::TimedOut(entry.timeout_secs)),
        };
        let (status, stored, error, transient, refused) = match outcome {
            Ok(stored) => (RunStatus::Succeeded, stored, None, false, false),
            Err(e) => (
                RunStatus::Failed,
                Stored {
                    counts: RunCounts::default(),
                    unrecognised: Vec::new(),
                },
                // A source's error may quote its URL: never with its credentials.
                Some(welfare_connectors::redact::redact(&e.to_string()).into_owned()),
                e.is_transient(),
                e.is_refusal(),
            ),
        };
        let counts = stored.counts;
        self.store
            .finish_run_with(
                run_id,
                RunEnd {
                    status,
                    counts,
                    error: error.as_deref(),
                    refused,
                    unrecognised: &stored.unrecognised,
                },
            )
            .await?;
        unfinished.done();
        match &error {
            None => tracing::info!(
                connector = %entry.id, run_id, new = counts.accepted, revised = counts.revised,
                unchanged = counts.unchanged, rejected = counts.rejected,
                unrecognised = stored.unrecognised.len(),
                ms = started.elapsed().as_millis() as u64, "run succeeded"
            ),
            Some(e) => tracing::warn!(
                connector = %entry.id, run_id, transient, refused, error = %e, "run failed"
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
            refused,
            unrecognised: stored.unrecognised,
        })
    }

    async fn pull_and_store(
        &self,
        entry: &ConnectorEntry,
        connector: &dyn Connector,
        run_id: i64,
    ) -> Result<Stored, RunError> {
        self.refresh_if_registry_changed().await?;
        let since = self.store.connector_cursor(&entry.id).await?.map(Cursor);
        let pull = connector.pull(since.as_ref()).await?;
        let row_count = pull.row_count();
        let Pull {
            batches,
            rejected,
            unrecognised,
            cursor,
        } = pull;

        // Each batch is dropped as soon as its rows are read, so a large delivery is not held twice.
        let mut rows: Vec<Delivered> = Vec::with_capacity(row_count);
        for batch in batches {
            let summaries = from_batch(&batch.rows).map_err(|e| RunError::Batch(e.to_string()))?;
            let n = summaries.len();
            if batch.locations.len() != n || !(batch.tambons.is_empty() || batch.tambons.len() == n)
            {
                return Err(RunError::Batch(format!(
                    "a batch of {n} rows came with {} locations and {} tambons",
                    batch.locations.len(),
                    batch.tambons.len()
                )));
            }
            let mut tambons = batch.tambons.into_iter();
            for (summary, location) in summaries.into_iter().zip(batch.locations) {
                let tambon = match tambons.next() {
                    None => DeclaredTambon::NoColumn,
                    Some(None) => DeclaredTambon::Blank,
                    Some(Some(code)) => DeclaredTambon::Code(code),
                };
                rows.push(Delivered {
                    summary,
                    location,
                    tambon,
                });
            }
        }
        let mut quarantine: Vec<QuarantineRow> = rejected
            .into_iter()
            .map(|r| QuarantineRow {
                location: r.location,
                reason: r.reason,
                raw: Some(r.raw),
                fund_id: None,
                period: None,
            })
            .collect();
        let (accepted, refused) = self.validate(entry, rows).await?;
        quarantine.extend(refused.into_iter().map(quarantine_row));
        let mut answered = Accepted::default();
        let mut valid = Vec::with_capacity(accepted.len());
        for row in accepted {
            answered.fund_months.insert((
                row.summary.fund_id.to_string(),
                row.summary.period.to_string(),
            ));
            answered.locations.insert(row.location);
            valid.push(row.summary);
        }
        if !unrecognised.is_empty() {
            tracing::warn!(
                connector = %entry.id,
                columns = ?unrecognised.iter().map(|c| c.heading.as_str()).collect::<Vec<_>>(),
                "columns feed no field"
            );
        }

        let mut tx = self.store.begin().await?;
        let outcome = tx.upsert_summaries(Some(run_id), &valid).await?;
        tx.resolve_quarantine(run_id, &entry.id, &answered).await?;
        tx.quarantine(Some(run_id), Some(&entry.id), &quarantine)
            .await?;
        if let Some(cursor) = &cursor {
            tx.save_cursor(&entry.id, &cursor.0).await?;
        }
        tx.commit().await?;
        if outcome.inserted + outcome.revised > 0 {
            self.changed.raise();
        }
        Ok(Stored {
            counts: RunCounts {
                accepted: outcome.inserted,
                rejected: quarantine.len() as u64,
                unchanged: outcome.unchanged,
                revised: outcome.revised,
            },
            unrecognised,
        })
    }

    /// Splits delivered rows into those accepted and those refused with reasons (see
    /// [`super::validate`] for the stages).
    async fn validate(
        &self,
        entry: &ConnectorEntry,
        rows: Vec<Delivered>,
    ) -> Result<(Vec<Delivered>, Vec<Refusal>), StoreError> {
        let reference = self.reference();
        // The current month in Bangkok is the latest a fund can report (a month still in progress).
        let today = chrono::Utc::now().with_timezone(&welfare_connectors::mapping::bangkok());
        let latest = Period::of_date(today.date_naive());
        let earliest = earliest_months(&rows);

        let (unique, mut refused) = split_duplicates(rows);
        let mut passed = Vec::with_capacity(unique.len());
        for row in unique {
            let checked = check_row(&row.summary, &row.tambon, &reference, &self.rules, latest)
                .and_then(|()| served_by(&row.summary, &reference, entry));
            match checked {
                Ok(()) => passed.push(row),
                Err(reason) => refused.push(Refusal { row, reason }),
            }
        }
        let mut stored_before: HashMap<FundId, Summary> = HashMap::new();
        for (fund, period) in months_before(&earliest, &passed) {
            if let Some((_, s)) = self.store.summary(&fund, period).await? {
                stored_before.insert(fund, s);
            }
        }
        let (accepted, broken) = check_series(passed, &stored_before);
        refused.extend(broken);
        Ok((accepted, refused))
    }
}

/// A refused row as quarantine keeps it: where, why, the row as read, and its fund-month.
fn quarantine_row(refusal: Refusal) -> QuarantineRow {
    let Refusal { row, reason } = refusal;
    let mut raw = serde_json::to_value(&row.summary).unwrap_or(serde_json::Value::Null);
    if let (serde_json::Value::Object(fields), DeclaredTambon::Code(code)) = (&mut raw, &row.tambon)
    {
        fields.insert("tambon".into(), serde_json::Value::String(code.clone()));
    }
    QuarantineRow {
        fund_id: Some(row.summary.fund_id.to_string()),
        period: Some(row.summary.period.to_string()),
        location: row.location,
        reason,
        raw: Some(raw),
    }
}
