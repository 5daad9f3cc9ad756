//! Scheduling: each connector runs on its cron schedule (Bangkok time, default nightly 02:00 with a
//! per-connector jitter), at most `concurrency` at once, with retries for transient failures, a
//! catch-up run at start when a scheduled run was missed, and manual triggers.
//!
//! The scheduler asks a [`Runner`] to run a connector once and only looks at whether the run
//! succeeded and, if not, whether the failure is transient. Time comes from tokio's clock through
//! [`Clock`], so tests can pause it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, watch};
use tokio::task::{AbortHandle, JoinHandle, JoinSet};
use welfare_connectors::mapping::bangkok;

use crate::ingest::{ConnectorEntry, Ingestor, RunResult};
use crate::live::ConnectorSet;
use crate::store::{RunCounts, RunStatus, StoreError, parse_timestamp};

/// Scheduler settings from configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// Runs at once, over all connectors.
    pub concurrency: usize,
    /// The schedule of connectors that name none (Bangkok time).
    pub default_schedule: String,
    /// Each connector starts up to this many seconds after its scheduled time (a fixed offset per
    /// connector), so thousands of nightly pulls do not start in the same second.
    pub jitter_secs: u64,
    /// First retry delay; doubled each attempt up to `retry_cap_secs`, each jittered to 50–100%.
    pub retry_base_secs: f64,
    pub retry_cap_secs: f64,
    /// Run a connector at start when its last scheduled run was missed (the hub was down).
    pub catch_up: bool,
    /// How often a serving hub looks in the store for connectors another process (the command
    /// line) made, changed or removed.
    pub reconcile_secs: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            concurrency: 8,
            default_schedule: "0 2 * * *".into(),
            jitter_secs: 900,
            retry_base_secs: 30.0,
            retry_cap_secs: 900.0,
            catch_up: true,
            reconcile_secs: 30,
        }
    }
}

/// Parses a cron expression: the familiar 5 fields (`0 2 * * *`) or 6 with seconds.
pub fn parse_schedule(text: &str) -> Result<cron::Schedule, String> {
    let fields = text.split_whitespace().count();
    let full = match fields {
        5 => format!("0 {text}"),
        6 | 7 => text.to_string(),
        _ => {
            return Err(format!(
                "schedule {text:?} is not a cron expression of 5 fields (minute hour day month weekday) or 6 with seconds"
            ));
        }
    };
    cron::Schedule::from_str(&full).map_err(|e| format!("schedule {text:?}: {e}"))
}

/// A deterministic number in [0, 1) for a key, to spread and jitter without shared random state.
fn unit_hash(key: &str, salt: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV alone barely moves the high bits for keys that differ in their last character: mix them.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Wall-clock time that advances with tokio's clock (pausable in tests).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall: DateTime<Utc>,
    instant: tokio::time::Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::starting_at(Utc::now())
    }
}

impl Clock {
    /// A clock that reads `wall` now.
    pub fn starting_at(wall: DateTime<Utc>) -> Self {
        Clock {
            wall,
            instant: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now() - self.instant;
        self.wall + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }

    fn instant_at(&self, t: DateTime<Utc>) -> tokio::time::Instant {
        let offset = (t - self.wall).to_std().unwrap_or_default();
        self.instant + offset
    }
}

/// When the retry after failed attempt `attempt` (1-based) should start.
pub fn retry_delay(config: &SchedulerConfig, key: &str, attempt: u32) -> Duration {
    let exp = config.retry_base_secs * 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
    let capped = exp.min(config.retry_cap_secs);
    let jitter = 0.5 + 0.5 * unit_hash(key, u64::from(attempt));
    Duration::from_secs_f64(capped * jitter)
}

/// Runs a connector once. The real one is [`IngestRunner`]; tests give their own.
#[async_trait]
pub trait Runner: Send + Sync + 'static {
    async fn run(&self, connector_id: &str, trigger: &str) -> Result<RunResult, StoreError>;
    /// When the connector's last successful run started.
    async fn last_success(&self, connector_id: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// The real runner: the hub's live connectors, run by an [`Ingestor`].
#[derive(Debug)]
pub struct IngestRunner {
    pub ingestor: Arc<Ingestor>,
    connectors: ConnectorSet,
}

impl IngestRunner {
    pub fn new(ingestor: Arc<Ingestor>, connectors: ConnectorSet) -> Self {
        IngestRunner {
            ingestor,
            connectors,
        }
    }
}

#[async_trait]
impl Runner for IngestRunner {
    async fn run(&self, connector_id: &str, trigger: &str) -> Result<RunResult, StoreError> {
        let live = self
            .connectors
            .get(connector_id)
            .ok_or_else(|| StoreError::Invalid(format!("no connector {connector_id}")))?;
        self.ingestor
            .run(&live.entry, live.connector.as_ref(), trigger)
            .await
    }

    async fn last_success(&self, connector_id: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.ingestor
            .store()
            .last_success(connector_id)
            .await?
            .map(|t| parse_timestamp(&t))
            .transpose()
    }
}

/// Why a manual trigger was not started.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TriggerError {
    #[error("no connector {0}")]
    Unknown(String),
    #[error("connector {0} is already running")]
    AlreadyRunning(String),
}

#[derive(Debug, Clone)]
struct Scheduled {
    id: String,
    schedule: cron::Schedule,
    max_attempts: u32,
    enabled: bool,
}

struct Inner {
    runner: Arc<dyn Runner>,
    config: SchedulerConfig,
    clock: Clock,
    permits: Semaphore,
    /// The connectors scheduled; changed live ([`Scheduler::upsert`], [`Scheduler::remove`]).
    connectors: RwLock<BTreeMap<String, Scheduled>>,
    running: Mutex<HashSet<String>>,
    /// Once started: the shutdown signal, and each enabled connector's schedule loop.
    started: Mutex<Option<watch::Receiver<bool>>>,
    loops: Mutex<HashMap<String, AbortHandle>>,
}

/// The scheduler. Cheap to clone; all clones drive the same connectors.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("connectors", &self.connectors().len())
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Scheduler {
    /// A scheduler for `entries`; schedules are checked here.
    pub fn new(
        runner: Arc<dyn Runner>,
        entries: &[ConnectorEntry],
        config: SchedulerConfig,
        clock: Clock,
    ) -> Result<Self, String> {
        let scheduler = Scheduler {
            inner: Arc::new(Inner {
                runner,
                permits: Semaphore::new(config.concurrency.max(1)),
                config,
                clock,
                connectors: RwLock::new(BTreeMap::new()),
                running: Mutex::new(HashSet::new()),
                started: Mutex::new(None),
                loops: Mutex::new(HashMap::new()),
            }),
        };
        for e in entries {
            let scheduled = scheduler.scheduled(e)?;
            scheduler.write().insert(e.id.clone(), scheduled);
        }
        Ok(scheduler)
    }

    fn scheduled(&self, e: &ConnectorEntry) -> Result<Scheduled, String> {
        let schedule = match &e.schedule {
            Some(s) => parse_schedule(s).map_err(|m| format!("connector {}: {m}", e.id))?,
            None => parse_schedule(&self.inner.config.default_schedule)?,
        };
        Ok(Scheduled {
            id: e.id.clone(),
            schedule,
            max_attempts: e.max_attempts,
            enabled: e.enabled,
        })
    }

    fn connectors(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Scheduled>> {
        self.inner.connectors.read().expect("scheduler lock")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Scheduled>> {
        self.inner.connectors.write().expect("scheduler lock")
    }

    fn get(&self, id: &str) -> Option<Scheduled> {
        self.connectors().get(id).cloned()
    }

    /// Schedules a new connector, or a connector's new definition, now: its schedule loop (if the
    /// scheduler is running) restarts with the new schedule, without a catch-up run. A run in
    /// progress finishes.
    pub fn upsert(&self, entry: &ConnectorEntry) -> Result<(), String> {
        let scheduled = self.scheduled(entry)?;
        self.write().insert(entry.id.clone(), scheduled.clone());
        self.stop_loop(&entry.id);
        let shutdown = self.inner.started.lock().expect("lock").clone();
        if let Some(shutdown) = shutdown
            && scheduled.enabled
        {
            let handle = self.spawn_loop(scheduled, shutdown, false);
            self.inner
                .loops
                .lock()
                .expect("lock")
                .insert(entry.id.clone(), handle.abort_handle());
        }
        Ok(())
    }

    /// Unschedules a connector now; a run in progress finishes.
    pub fn remove(&self, id: &str) {
        self.write().remove(id);
        self.stop_loop(id);
    }

    fn stop_loop(&self, id: &str) {
        if let Some(handle) = self.inner.loops.lock().expect("lock").remove(id) {
            handle.abort();
        }
    }

    /// How often a serving hub picks up connectors changed in the store by another process.
    pub fn reconcile_every(&self) -> Duration {
        Duration::from_secs(self.inner.config.reconcile_secs.max(1))
    }

    /// The fixed start offset of a connector within the jitter window.
    fn offset(&self, id: &str) -> chrono::Duration {
        let secs = (unit_hash(id, 0) * self.inner.config.jitter_secs as f64) as i64;
        chrono::Duration::seconds(secs)
    }

    /// The next scheduled start of a connector after `after`, jitter included.
    pub fn next_run_after(&self, id: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let c = self.get(id)?;
        let offset = self.offset(id);
        let local = (after - offset).with_timezone(&bangkok());
        c.schedule
            .after(&local)
            .next()
            .map(|t| t.with_timezone(&Utc) + offset)
    }

    /// The next scheduled start of a connector from now.
    pub fn next_run(&self, id: &str) -> Option<DateTime<Utc>> {
        self.next_run_after(id, self.inner.clock.now())
    }

    /// The latest scheduled start at or before `at`.
    fn previous_run(&self, c: &Scheduled, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let offset = self.offset(&c.id);
        let local = (at - offset).with_timezone(&bangkok());
        c.schedule
            .after(&local)
            .next_back()
            .map(|t| t.with_timezone(&Utc) + offset)
    }

    pub fn is_running(&self, id: &str) -> bool {
        self.inner.running.lock().expect("lock").contains(id)
    }

    pub fn knows(&self, id: &str) -> bool {
        self.connectors().contains_key(id)
    }

    /// Runs a connector now (with retries) in the background, unless it is already running.
    pub fn trigger(
        &self,
        id: &str,
        trigger: &str,
    ) -> Result<JoinHandle<Vec<RunResult>>, TriggerError> {
        if !self.knows(id) {
            return Err(TriggerError::Unknown(id.to_string()));
        }
        if !self
            .inner
            .running
            .lock()
            .expect("lock")
            .insert(id.to_string())
        {
            return Err(TriggerError::AlreadyRunning(id.to_string()));
        }
        let this = self.clone();
        let id = id.to_string();
        let trigger = trigger.to_string();
        Ok(tokio::spawn(async move {
            let results = this.run_with_retries(&id, &trigger).await;
            this.inner.running.lock().expect("lock").remove(&id);
            results
        }))
    }

    /// Starts each connector of `ids` once (with retries), keeping to the concurrency limit; each
    /// task ends with the connector's id and its attempts (`welfare-hub pull`, the demo's first load).
    pub fn run_many(&self, ids: &[String], trigger: &str) -> JoinSet<(String, Vec<RunResult>)> {
        let mut tasks = JoinSet::new();
        for id in ids {
            let scheduler = self.clone();
            let id = id.clone();
            let trigger = trigger.to_string();
            tasks.spawn(async move {
                let results = scheduler.run_with_retries(&id, &trigger).await;
                (id, results)
            });
        }
        tasks
    }

    /// Runs a connector until it succeeds, fails permanently or uses its attempts, waiting a capped,
    /// jittered, growing delay between attempts. Each attempt is a run in the history.
    pub async fn run_with_retries(&self, id: &str, trigger: &str) -> Vec<RunResult> {
        let Some(c) = self.get(id) else {
            return Vec::new();
        };
        let mut results = Vec::new();
        for attempt in 1..=c.max_attempts {
            let label = if attempt == 1 {
                trigger.to_string()
            } else {
                format!("{trigger} (retry {}/{})", attempt - 1, c.max_attempts - 1)
            };
            let result = {
                let _permit = self.inner.permits.acquire().await.expect("never closed");
                self.inner.runner.run(id, &label).await
            };
            let result = match result {
                Ok(r) => r,
                Err(e) => {
                    // The store itself failed: a transient failure of the run.
                    tracing::warn!(connector = id, error = %e, "run could not be recorded");
                    RunResult {
                        run_id: 0,
                        connector_id: id.to_string(),
                        status: RunStatus::Failed,
                        counts: RunCounts::default(),
                        error: Some(e.to_string()),
                        transient: e.is_transient(),
                        duration: Duration::ZERO,
                        refused: false,
                        unrecognised: Vec::new(),
                    }
                }
            };
            let retry =
                result.status == RunStatus::Failed && result.transient && attempt < c.max_attempts;
            results.push(result);
            if !retry {
                break;
            }
            let delay = retry_delay(&self.inner.config, id, attempt);
            tracing::info!(
                connector = id,
                attempt,
                delay_s = delay.as_secs_f64(),
                "retrying after a transient failure"
            );
            tokio::time::sleep(delay).await;
        }
        results
    }

    /// Starts one task per enabled connector that runs it on its schedule (after a catch-up run if
    /// one was missed), until `shutdown` turns true. Connectors scheduled later ([`Scheduler::upsert`])
    /// get their task then.
    pub fn start(&self, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        *self.inner.started.lock().expect("lock") = Some(shutdown.clone());
        let enabled: Vec<Scheduled> = self
            .connectors()
            .values()
            .filter(|c| c.enabled)
            .cloned()
            .collect();
        enabled
            .into_iter()
            .map(|c| {
                let id = c.id.clone();
                let handle = self.spawn_loop(c, shutdown.clone(), true);
                self.inner
                    .loops
                    .lock()
                    .expect("lock")
                    .insert(id, handle.abort_handle());
                handle
            })
            .collect()
    }

    /// A connector's schedule loop. Each run is a task of its own, so that stopping the loop (the
    /// connector changed or was removed) never cuts a run short.
    fn spawn_loop(
        &self,
        c: Scheduled,
        mut shutdown: watch::Receiver<bool>,
        catch_up: bool,
    ) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            if catch_up && this.inner.config.catch_up && this.missed(&c).await {
                this.detached_run(&c.id, "catch-up").await;
            }
            loop {
                let now = this.inner.clock.now();
                let Some(next) = this.next_run_after(&c.id, now) else {
                    break;
                };
                let at = this.inner.clock.instant_at(next);
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    _ = shutdown.wait_for(|stop| *stop) => break,
                }
                this.detached_run(&c.id, "schedule").await;
            }
        })
    }

    /// A scheduled run in a task of its own, awaited.
    async fn detached_run(&self, id: &str, trigger: &'static str) {
        let this = self.clone();
        let id = id.to_string();
        let _ = tokio::spawn(async move { this.scheduled_run(&id, trigger).await }).await;
    }

    async fn scheduled_run(&self, id: &str, trigger: &str) {
        if !self
            .inner
            .running
            .lock()
            .expect("lock")
            .insert(id.to_string())
        {
            tracing::info!(
                connector = id,
                "still running from an earlier trigger; this start is skipped"
            );
            return;
        }
        self.run_with_retries(id, trigger).await;
        self.inner.running.lock().expect("lock").remove(id);
    }

    /// True when the latest scheduled start before now came after the last successful run.
    async fn missed(&self, c: &Scheduled) -> bool {
        let Some(previous) = self.previous_run(c, self.inner.clock.now()) else {
            return false;
        };
        match self.inner.runner.last_success(&c.id).await {
            Ok(Some(last)) => last < previous,
            Ok(None) => true,
            Err(e) => {
                tracing::warn!(connector = %c.id, error = %e, "cannot read the run history; no catch-up");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::sync::atomic::{AtomicU32, Ordering};
    use welfare_connectors::SourceConfig;

    fn entry(id: &str, schedule: Option<&str>, attempts: u32) -> ConnectorEntry {
        let source: SourceConfig = serde_json::from_value(serde_json::json!({
            "kind": "file", "location": "/nowhere.csv"
        }))
        .unwrap();
        ConnectorEntry {
            id: id.into(),
            name: None,
            enabled: true,
            schedule: schedule.map(String::from),
            timeout_secs: 60,
            max_attempts: attempts,
            provinces: Vec::new(),
            source,
        }
    }

    /// A runner whose runs fail transiently `fail_first` times, then succeed; it records when (in
    /// scheduler time) each run started.
    struct Scripted {
        clock: Clock,
        fail_first: u32,
        permanent: bool,
        calls: AtomicU32,
        starts: Mutex<Vec<(String, String, DateTime<Utc>)>>,
        last_success: Option<DateTime<Utc>>,
        takes: Duration,
    }

    impl Scripted {
        fn new(clock: Clock) -> Self {
            Scripted {
                clock,
                fail_first: 0,
                permanent: false,
                calls: AtomicU32::new(0),
                starts: Mutex::new(Vec::new()),
                last_success: None,
                takes: Duration::ZERO,
            }
        }
    }

    #[async_trait]
    impl Runner for Scripted {
        async fn run(&self, id: &str, trigger: &str) -> Result<RunResult, StoreError> {
            self.starts.lock().unwrap().push((
                id.to_string(),
                trigger.to_string(),
                self.clock.now(),
            ));
            tokio::time::sleep(self.takes).await;
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let failed = n < self.fail_first;
            Ok(RunResult {
                run_id: i64::from(n),
                connector_id: id.into(),
                status: if failed {
                    RunStatus::Failed
                } else {
                    RunStatus::Succeeded
                },
                counts: RunCounts::default(),
                error: failed.then(|| "HTTP 503".into()),
                transient: failed && !self.permanent,
                duration: self.takes,
                refused: false,
                unrecognised: Vec::new(),
            })
        }

        async fn last_success(&self, _: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
            Ok(self.last_success)
        }
    }

    fn config() -> SchedulerConfig {
        SchedulerConfig {
            jitter_secs: 0,
            ..SchedulerConfig::default()
        }
    }

    #[test]
    fn five_field_cron_gains_seconds() {
        assert!(parse_schedule("0 2 * * *").is_ok());
        assert!(parse_schedule("30 0 2 * * *").is_ok());
        assert!(parse_schedule("2am").unwrap_err().contains("5 fields"));
        assert!(parse_schedule("0 25 * * *").is_err());
    }

    #[test]
    fn delays_grow_capped_and_jittered() {
        let c = SchedulerConfig::default();
        let d: Vec<f64> = (1..=8)
            .map(|a| retry_delay(&c, "x", a).as_secs_f64())
            .collect();
        for (i, d) in d.iter().enumerate() {
            let full = (30.0 * 2f64.powi(i as i32)).min(900.0);
            assert!(
                *d >= full * 0.5 && *d <= full,
                "attempt {}: {d} not in [{}, {full}]",
                i + 1,
                full * 0.5
            );
        }
        assert!(d[7] <= 900.0);
        assert_ne!(
            retry_delay(&c, "a", 1),
            retry_delay(&c, "b", 1),
            "jitter differs by connector"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_with_backoff() {
        // 01:00 Bangkok on 2026-11-22.
        let clock = Clock::starting_at(Utc.with_ymd_and_hms(2026, 11, 21, 18, 0, 0).unwrap());
        let mut runner = Scripted::new(clock);
        runner.fail_first = 2;
        let runner = Arc::new(runner);
        let s = Scheduler::new(runner.clone(), &[entry("a", None, 4)], config(), clock).unwrap();
        let results = s.run_with_retries("a", "manual").await;
        assert_eq!(results.len(), 3);
        assert_eq!(results[2].status, RunStatus::Succeeded);
        let starts = runner.starts.lock().unwrap().clone();
        let gap1 = (starts[1].2 - starts[0].2).num_milliseconds() as f64 / 1000.0;
        let gap2 = (starts[2].2 - starts[1].2).num_milliseconds() as f64 / 1000.0;
        assert!((15.0..=30.0).contains(&gap1), "{gap1}");
        assert!((30.0..=60.0).contains(&gap2), "{gap2}");
        assert_eq!(starts[1].1, "manual (retry 1/3)");
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failures_and_spent_attempts_stop() {
        let clock = Clock::default();
        let mut runner = Scripted::new(clock);
        runner.fail_first = 10;
        runner.permanent = true;
        let s = Scheduler::new(Arc::new(runner), &[entry("a", None, 4)], config(), clock).unwrap();
        assert_eq!(
            s.run_with_retries("a", "manual").await.len(),
            1,
            "a 401 is not retried"
        );

        let mut runner = Scripted::new(clock);
        runner.fail_first = 10;
        let s = Scheduler::new(Arc::new(runner), &[entry("a", None, 3)], config(), clock).unwrap();
        let results = s.run_with_retries("a", "manual").await;
        assert_eq!(results.len(), 3, "attempts are capped");
        assert!(results.iter().all(|r| r.status == RunStatus::Failed));
    }

    #[tokio::test(start_paused = true)]
    async fn nightly_at_two_bangkok_with_catch_up_after_a_missed_night() {
        // Started at 09:00 Bangkok on 22 Nov; the last success was on the 20th, so last night's 02:00
        // run was missed and runs at once; then 02:00 on the 23rd.
        let clock = Clock::starting_at(Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap());
        let mut runner = Scripted::new(clock);
        runner.last_success = Some(Utc.with_ymd_and_hms(2026, 11, 19, 19, 0, 0).unwrap());
        let runner = Arc::new(runner);
        let s = Scheduler::new(runner.clone(), &[entry("a", None, 1)], config(), clock).unwrap();
        let (stop, shutdown) = watch::channel(false);
        let tasks = s.start(shutdown);
        tokio::time::sleep(Duration::from_secs(2 * 86_400)).await;
        stop.send(true).unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let starts = runner.starts.lock().unwrap().clone();
        let local: Vec<(String, String)> = starts
            .iter()
            .map(|(_, trigger, t)| {
                (
                    trigger.clone(),
                    t.with_timezone(&bangkok()).format("%d %H:%M").to_string(),
                )
            })
            .collect();
        assert_eq!(
            local,
            [
                ("catch-up".to_string(), "22 09:00".to_string()),
                ("schedule".to_string(), "23 02:00".to_string()),
                ("schedule".to_string(), "24 02:00".to_string()),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_catch_up_when_last_night_ran_and_jitter_spreads_starts() {
        let clock = Clock::starting_at(Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap());
        let mut runner = Scripted::new(clock);
        runner.last_success = Some(Utc.with_ymd_and_hms(2026, 11, 21, 19, 20, 0).unwrap());
        let runner = Arc::new(runner);
        let entries: Vec<_> = (0..20).map(|i| entry(&format!("c{i}"), None, 1)).collect();
        let config = SchedulerConfig {
            jitter_secs: 900,
            ..SchedulerConfig::default()
        };
        let s = Scheduler::new(runner.clone(), &entries, config, clock).unwrap();
        let (stop, shutdown) = watch::channel(false);
        let tasks = s.start(shutdown);
        tokio::time::sleep(Duration::from_secs(20 * 3600)).await;
        stop.send(true).unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let starts = runner.starts.lock().unwrap().clone();
        assert_eq!(starts.len(), 20, "one scheduled run each, no catch-up");
        let minutes: HashSet<String> = starts
            .iter()
            .map(|(_, _, t)| {
                let local = t.with_timezone(&bangkok());
                assert_eq!(local.format("%d %H").to_string(), "23 02");
                local.format("%M").to_string()
            })
            .collect();
        assert!(
            minutes.len() > 5,
            "starts spread over the jitter window: {minutes:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn connectors_added_changed_and_removed_while_running_take_effect_at_once() {
        // 09:00 Bangkok on 22 Nov; "a" ran successfully just now, so nothing is caught up.
        let clock = Clock::starting_at(Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap());
        let mut runner = Scripted::new(clock);
        runner.last_success = Some(clock.now());
        let runner = Arc::new(runner);
        let s = Scheduler::new(runner.clone(), &[entry("a", None, 1)], config(), clock).unwrap();
        let (stop, shutdown) = watch::channel(false);
        let tasks = s.start(shutdown);
        // Added while running: scheduled at once, with no run at once.
        s.upsert(&entry("b", Some("0 10 * * *"), 1)).unwrap();
        assert!(s.knows("b"));
        assert!(s.next_run("b").is_some());
        // Added, then removed before its time: never runs, and cannot be triggered.
        s.upsert(&entry("c", Some("30 9 * * *"), 1)).unwrap();
        s.remove("c");
        assert!(!s.knows("c"));
        assert_eq!(
            s.trigger("c", "manual").unwrap_err(),
            TriggerError::Unknown("c".into())
        );
        // A bad schedule is refused and changes nothing.
        assert!(s.upsert(&entry("b", Some("every hour"), 1)).is_err());
        tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
        // At 11:00: "b" moves to noon, "a" is disabled (no 02:00 run tomorrow).
        s.upsert(&entry("b", Some("0 12 * * *"), 1)).unwrap();
        let mut a = entry("a", None, 1);
        a.enabled = false;
        s.upsert(&a).unwrap();
        tokio::time::sleep(Duration::from_secs(22 * 3600)).await;
        stop.send(true).unwrap();
        for t in tasks {
            let _ = t.await;
        }
        let local: Vec<(String, String)> = runner
            .starts
            .lock()
            .unwrap()
            .iter()
            .map(|(id, trigger, t)| {
                (
                    format!("{id} {trigger}"),
                    t.with_timezone(&bangkok()).format("%d %H:%M").to_string(),
                )
            })
            .collect();
        assert_eq!(
            local,
            [
                ("b schedule".to_string(), "22 10:00".to_string()),
                ("b schedule".to_string(), "22 12:00".to_string()),
            ],
            "b at its first time, then at its new one; c never; a not once disabled"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_limited_and_manual_triggers_do_not_overlap() {
        let clock = Clock::default();
        let mut runner = Scripted::new(clock);
        runner.takes = Duration::from_secs(10);
        let runner = Arc::new(runner);
        let entries: Vec<_> = (0..6).map(|i| entry(&format!("c{i}"), None, 1)).collect();
        let config = SchedulerConfig {
            concurrency: 2,
            ..config()
        };
        let s = Scheduler::new(runner.clone(), &entries, config, clock).unwrap();
        let started = tokio::time::Instant::now();
        let handles: Vec<_> = (0..6)
            .map(|i| s.trigger(&format!("c{i}"), "manual").unwrap())
            .collect();
        assert_eq!(
            s.trigger("c0", "manual").unwrap_err(),
            TriggerError::AlreadyRunning("c0".into())
        );
        assert_eq!(
            s.trigger("zz", "manual").unwrap_err(),
            TriggerError::Unknown("zz".into())
        );
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(30),
            "6 runs of 10 s, 2 at a time"
        );
        assert!(!s.is_running("c0"));
    }
}
