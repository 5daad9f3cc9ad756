//! The analytics snapshot inside the hub: built from the store at start, rebuilt after committed
//! ingestion (changes arriving close together are folded into one rebuild), swapped in atomically.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use welfare_queries::{Policy, QueryError, RiskThresholds, SandboxLimits, Snapshot, SnapshotCell};

use crate::answers::{Admission, AnswerCache};
use crate::ingest::ChangeSignal;
use crate::store::{Store, StoreError};

/// `[analytics]` configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// Matching-grant policies, `[[analytics.policies]]`; empty means the two built-in ones
    /// (`codi-1-1`, `act-1-1-1`).
    pub policies: Vec<Policy>,
    /// The policy used when a request names none.
    pub default_policy: String,
    /// Thresholds of the risk flags, `[analytics.risk.<ratio>]`.
    pub risk: RiskThresholds,
    /// `POST /api/v1/query`: time limit per query.
    pub query_time_limit_secs: u64,
    /// `POST /api/v1/query`: memory all user queries together may hold.
    pub query_memory_mb: usize,
    /// `POST /api/v1/query`: rows returned at most (the answer says when it was cut).
    pub query_max_rows: usize,
    /// `POST /api/v1/query`: bytes of SQL text at most.
    pub query_max_sql_bytes: usize,
    /// `POST /api/v1/query`: levels of nesting (expressions, subqueries, UNION chains) at most.
    pub query_max_depth: usize,
    /// `POST /api/v1/query`: bytes of one encoded answer at most.
    pub query_max_answer_mb: usize,
    /// `POST /api/v1/query`: bytes one call of a growing function (`repeat`, `lpad`, …) may make.
    pub query_max_value_mb: usize,
    /// `POST /api/v1/query`: queries that run at once.
    pub query_concurrency: usize,
    /// `POST /api/v1/query`: how long a query waits for a free slot before a 503.
    pub query_queue_wait_ms: u64,
    /// After a committed ingestion, wait this long for more before rebuilding.
    pub rebuild_delay_ms: u64,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        let limits = SandboxLimits::default();
        AnalyticsConfig {
            policies: Vec::new(),
            default_policy: welfare_queries::DEFAULT_POLICY.into(),
            risk: RiskThresholds::default(),
            query_time_limit_secs: limits.time_limit.as_secs(),
            query_memory_mb: limits.memory_bytes / (1024 * 1024),
            query_max_rows: limits.max_rows,
            query_max_sql_bytes: limits.max_statement_bytes,
            query_max_depth: limits.max_depth,
            query_max_answer_mb: limits.max_answer_bytes / (1024 * 1024),
            query_max_value_mb: limits.max_value_bytes / (1024 * 1024),
            query_concurrency: limits.concurrent,
            query_queue_wait_ms: limits.queue_wait.as_millis() as u64,
            rebuild_delay_ms: 2000,
        }
    }
}

impl AnalyticsConfig {
    /// The policies in force: the configured ones, or the built-in pair.
    pub fn policies(&self) -> Vec<Policy> {
        if self.policies.is_empty() {
            Policy::defaults()
        } else {
            self.policies.clone()
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        let policies = self.policies();
        for (i, p) in policies.iter().enumerate() {
            p.validate()
                .map_err(|e| format!("analytics.policies: {e}"))?;
            if policies[..i].iter().any(|q| q.name == p.name) {
                return Err(format!("analytics.policies: {} is named twice", p.name));
            }
        }
        if !policies.iter().any(|p| p.name == self.default_policy) {
            return Err(format!(
                "analytics.default_policy = {:?} names no policy",
                self.default_policy
            ));
        }
        if [
            self.query_time_limit_secs as usize,
            self.query_max_rows,
            self.query_memory_mb,
            self.query_max_sql_bytes,
            self.query_max_depth,
            self.query_max_answer_mb,
            self.query_max_value_mb,
            self.query_concurrency,
        ]
        .contains(&0)
        {
            return Err("analytics: query limits must be above 0".into());
        }
        Ok(())
    }

    pub fn limits(&self) -> SandboxLimits {
        SandboxLimits {
            memory_bytes: self.query_memory_mb * 1024 * 1024,
            time_limit: Duration::from_secs(self.query_time_limit_secs),
            max_rows: self.query_max_rows,
            max_statement_bytes: self.query_max_sql_bytes,
            max_depth: self.query_max_depth,
            max_answer_bytes: self.query_max_answer_mb * 1024 * 1024,
            max_value_bytes: self.query_max_value_mb * 1024 * 1024,
            concurrent: self.query_concurrency,
            queue_wait: Duration::from_millis(self.query_queue_wait_ms),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Query(#[from] QueryError),
}

/// The hub's snapshot service.
#[derive(Debug)]
pub struct Analytics {
    cell: SnapshotCell,
    store: Store,
    pub config: AnalyticsConfig,
    deadline_day: u32,
    last_version: AtomicU64,
    /// The change generation the current snapshot has seen.
    built_generation: AtomicU64,
    changed: Arc<ChangeSignal>,
    rebuilding: Mutex<()>,
    /// Answers of the analytics tables (`/indicators`, `/matching`, `/timeseries`, `/funds`) by
    /// normalised request, for the current snapshot.
    pub answers: AnswerCache<String>,
}

/// Bytes of table answers kept (a country-wide fund list is a few MB; most answers are KB). With the
/// maps' cache this is what a crowd asking ever-new answers adds to the hub's memory, on top of the
/// snapshot and the geometry (the 1.5 GB ceiling of the crowd benchmark is the budget).
const ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// Table answers computed at once (each a DataFusion plan over the snapshot); more wait briefly,
/// then 503 with `Retry-After`.
const COMPUTING: usize = 2;
const COMPUTE_QUEUE: usize = 32;
const COMPUTE_WAIT: Duration = Duration::from_secs(2);

impl Analytics {
    /// Builds the first snapshot from the store. `changed` is signalled by the ingestor after every
    /// commit that stored something.
    pub async fn open(
        store: Store,
        config: AnalyticsConfig,
        deadline_day: u32,
        changed: Arc<ChangeSignal>,
    ) -> Result<Arc<Analytics>, AnalyticsError> {
        let generation = changed.generation();
        let first = build(&store, &config, deadline_day, 0).await?;
        let version = first.version;
        Ok(Arc::new(Analytics {
            cell: SnapshotCell::new(first),
            store,
            config,
            deadline_day,
            last_version: AtomicU64::new(version),
            built_generation: AtomicU64::new(generation),
            changed,
            rebuilding: Mutex::new(()),
            answers: AnswerCache::new(
                ANSWER_BYTES,
                Admission::new(COMPUTING, COMPUTE_QUEUE, COMPUTE_WAIT),
            ),
        }))
    }

    /// The country's indicators at `period` under the default policy: the row
    /// `/api/v1/indicators?level=country&period=` answers (the demo prints it).
    pub async fn country(
        &self,
        period: welfare_model::Period,
    ) -> Result<welfare_queries::AreaIndicators, AnalyticsError> {
        let query = welfare_queries::IndicatorQuery {
            rollup: welfare_queries::Rollup::Level(welfare_model::Level::Country),
            within: None,
            network: None,
            range: welfare_queries::Range::month(period),
            policy: self.config.default_policy.clone(),
        };
        let rows = welfare_queries::indicators::area_indicators(
            &self.current(),
            &query,
            &self.config.risk,
        )
        .await?;
        rows.into_iter().next().ok_or_else(|| {
            AnalyticsError::Query(QueryError::Data("no country row in the indicators".into()))
        })
    }

    /// The snapshot to answer with; keep the `Arc` for the whole request.
    pub fn current(&self) -> Arc<Snapshot> {
        self.cell.current()
    }

    /// Rebuilds from the store and publishes; returns the new version. One rebuild at a time.
    pub async fn rebuild(&self) -> Result<u64, AnalyticsError> {
        let _one = self.rebuilding.lock().await;
        let started = Instant::now();
        let previous = self.last_version.load(Ordering::SeqCst);
        // Read before the store: a change committed while we read is seen again next time.
        let generation = self.changed.generation();
        let next = build(&self.store, &self.config, self.deadline_day, previous).await?;
        let rows = next.tables.summary_rows;
        let version = self.cell.publish(next);
        self.last_version.store(version, Ordering::SeqCst);
        self.built_generation.store(generation, Ordering::SeqCst);
        tracing::info!(
            version,
            summaries = rows,
            ms = started.elapsed().as_millis() as u64,
            "analytics snapshot published"
        );
        Ok(version)
    }

    /// Reports are due on this day of the following month.
    pub fn deadline_day(&self) -> u32 {
        self.deadline_day
    }

    /// Tells the service the store changed (the ingestor does this after each commit).
    pub fn mark_changed(&self) {
        self.changed.raise();
    }

    /// True when the store changed since the current snapshot was read.
    pub fn is_stale(&self) -> bool {
        self.changed.generation() > self.built_generation.load(Ordering::SeqCst)
    }

    /// Rebuilds after changes until `shutdown` turns true. Changes arriving during the delay or
    /// during a rebuild fold into the next single rebuild.
    pub fn spawn_refresher(
        self: &Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let delay = Duration::from_millis(this.config.rebuild_delay_ms);
            loop {
                tokio::select! {
                    () = this.changed.notified() => {}
                    _ = shutdown.changed() => return,
                }
                tokio::time::sleep(delay).await;
                if !this.is_stale() {
                    continue;
                }
                if let Err(e) = this.rebuild().await {
                    // The old snapshot stays in service; the next change tries again.
                    tracing::error!(error = %e, "analytics snapshot rebuild failed; serving the previous one");
                }
            }
        })
    }
}

/// Versions only grow, across restarts too (they start from the clock), so a cached answer tagged
/// with one version is never mistaken for another's.
async fn build(
    store: &Store,
    config: &AnalyticsConfig,
    deadline_day: u32,
    previous: u64,
) -> Result<Snapshot, AnalyticsError> {
    let started = Instant::now();
    let mut rows = store.analytics_rows(deadline_day).await?;
    let read_ms = started.elapsed().as_millis() as u64;
    rows.policies = config.policies();
    let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let version = now.max(previous + 1);
    let limits = config.limits();
    // Building Arrow arrays from hundreds of thousands of rows is CPU work: keep it off the
    // threads that answer requests.
    let snapshot = tokio::task::spawn_blocking(move || {
        rows.build()
            .and_then(|tables| Snapshot::new(version, tables, limits))
    })
    .await
    .map_err(|e| QueryError::Data(format!("snapshot build stopped: {e}")))??;
    tracing::debug!(
        read_ms,
        arrow_ms = started.elapsed().as_millis() as u64 - read_ms,
        "analytics snapshot built"
    );
    Ok(snapshot)
}
