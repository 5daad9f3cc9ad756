//! Connectors managed live: the set a running hub pulls — the configuration file's connectors beside
//! those made over the API or the command line and kept in the store — changed without a restart.
//!
//! - [`ConnectorSet`]: the connectors built and ready to run, shared by the runner, the scheduler and
//!   the API.
//! - [`LiveConnectors`]: making, changing and removing a connector: checked, stored with its audit
//!   entry in one transaction, then built and scheduled (or unscheduled).
//! - [`check`]: what a pull of a definition would map, storing nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use welfare_connectors::batch::from_batch;
use welfare_connectors::{
    Connector, ConnectorError, Cursor, Pull, Rejected, UnrecognisedColumn, redact,
};

use crate::ingest::{ConnectorEntry, validate_entries};
use crate::scheduler::Scheduler;
use crate::store::{Actor, ConnectorRecord, Origin, Store, StoreError};

/// A connector as a running hub holds it: its definition, where that comes from, and the source.
#[derive(Debug)]
pub struct Live {
    pub entry: ConnectorEntry,
    pub origin: Origin,
    pub connector: Arc<dyn Connector>,
}

/// The connectors a hub runs, by id. Cheap to clone; all clones hold the same set.
#[derive(Debug, Clone, Default)]
pub struct ConnectorSet {
    inner: Arc<RwLock<BTreeMap<String, Arc<Live>>>>,
}

impl ConnectorSet {
    /// A set of connectors already built.
    pub fn new(items: impl IntoIterator<Item = Live>) -> Self {
        let set = ConnectorSet::default();
        for live in items {
            set.put(live);
        }
        set
    }

    /// A set built from configured entries (tests and tools): an entry that cannot be built is an
    /// error naming it.
    pub fn from_entries(entries: Vec<ConnectorEntry>) -> Result<Self, String> {
        validate_entries(&entries)?;
        let mut items = Vec::with_capacity(entries.len());
        for entry in entries {
            let connector = entry
                .build()
                .map_err(|e| format!("connector {}: {e}", entry.id))?;
            items.push(Live {
                entry,
                origin: Origin::Configuration,
                connector,
            });
        }
        Ok(ConnectorSet::new(items))
    }

    pub fn get(&self, id: &str) -> Option<Arc<Live>> {
        self.inner
            .read()
            .expect("connector set lock")
            .get(id)
            .cloned()
    }

    /// Every connector, by id.
    pub fn all(&self) -> Vec<Arc<Live>> {
        self.inner
            .read()
            .expect("connector set lock")
            .values()
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.inner.read().expect("connector set lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, id: &str) -> bool {
        self.inner
            .read()
            .expect("connector set lock")
            .contains_key(id)
    }

    fn put(&self, live: Live) {
        self.inner
            .write()
            .expect("connector set lock")
            .insert(live.entry.id.clone(), Arc::new(live));
    }

    fn take(&self, id: &str) -> Option<Arc<Live>> {
        self.inner.write().expect("connector set lock").remove(id)
    }
}

/// A stored connector that cannot be built here (a secret's variable is not set in this process, a
/// mapping this version refuses): it stays listed, and each run fails with the reason, so an operator
/// sees it the same night instead of a hub that does not start.
#[derive(Debug)]
struct Unbuildable {
    kind: &'static str,
    reason: String,
}

#[async_trait]
impl Connector for Unbuildable {
    fn kind(&self) -> &'static str {
        self.kind
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        Err(ConnectorError::Config(self.reason.clone()))
    }

    async fn pull(&self, _since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        Err(ConnectorError::Config(self.reason.clone()))
    }
}

/// Builds a stored connector, or one whose runs fail with the reason it cannot be built.
pub fn build_stored(entry: ConnectorEntry) -> Live {
    let connector = entry.build().unwrap_or_else(|e| {
        tracing::warn!(connector = %entry.id, error = %e, "a stored connector cannot be built; its runs fail until it is fixed");
        Arc::new(Unbuildable {
            kind: entry.source.kind(),
            reason: e.to_string(),
        })
    });
    Live {
        entry,
        origin: Origin::Api,
        connector,
    }
}

/// Why a change to the connectors was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeRefused {
    /// The definition is wrong (the message says where), or the source cannot be built from it.
    #[error("{0}")]
    Invalid(String),
    /// The id is taken, or the connector belongs to the configuration file.
    #[error("{0}")]
    Conflict(String),
    #[error("no connector {0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Making, changing and removing connectors on a running hub (or, from the command line, on its
/// store): each change is checked, stored with its audit entry, then built and (re)scheduled.
#[derive(Debug, Clone)]
pub struct LiveConnectors {
    pub store: Store,
    pub set: ConnectorSet,
    /// Runs connectors; `None` for a hub (or a command) that does not schedule.
    pub scheduler: Option<Scheduler>,
}

impl LiveConnectors {
    /// Makes a connector: its id must be free (in this hub and in the store).
    pub async fn create(
        &self,
        entry: ConnectorEntry,
        actor: &Actor,
    ) -> Result<ConnectorRecord, ChangeRefused> {
        if self.set.contains(&entry.id) || self.store.connector_record(&entry.id).await?.is_some() {
            return Err(ChangeRefused::Conflict(format!(
                "connector id {} is taken; choose another, or change that connector",
                entry.id
            )));
        }
        self.save(entry, actor, "connector.create").await
    }

    /// Replaces the definition of a connector made over the API (the same id).
    pub async fn replace(
        &self,
        entry: ConnectorEntry,
        actor: &Actor,
    ) -> Result<ConnectorRecord, ChangeRefused> {
        match self.store.connector_record(&entry.id).await? {
            None => Err(ChangeRefused::NotFound(entry.id)),
            Some(r) if r.origin == Origin::Configuration => Err(from_file(&entry.id)),
            Some(_) => self.save(entry, actor, "connector.update").await,
        }
    }

    async fn save(
        &self,
        entry: ConnectorEntry,
        actor: &Actor,
        action: &str,
    ) -> Result<ConnectorRecord, ChangeRefused> {
        entry.validate().map_err(ChangeRefused::Invalid)?;
        let connector = entry
            .build()
            .map_err(|e| ChangeRefused::Invalid(format!("connector {}: {e}", entry.id)))?;
        let mut record = entry.record();
        record.origin = Origin::Api;
        self.store
            .save_connector(&record, actor, action)
            .await
            .map_err(|e| match e {
                StoreError::Invalid(m) => ChangeRefused::Conflict(m),
                other => ChangeRefused::Store(other),
            })?;
        if let Some(scheduler) = &self.scheduler {
            scheduler
                .upsert(&entry)
                .map_err(|m| ChangeRefused::Invalid(format!("connector {}: {m}", entry.id)))?;
        }
        self.set.put(Live {
            entry,
            origin: Origin::Api,
            connector,
        });
        Ok(record)
    }

    /// Removes a connector made over the API: it is unscheduled now; a run in progress finishes.
    pub async fn remove(&self, id: &str, actor: &Actor) -> Result<ConnectorRecord, ChangeRefused> {
        let removed = self
            .store
            .remove_connector(id, actor)
            .await
            .map_err(|e| match e {
                StoreError::Invalid(_) => from_file(id),
                other => ChangeRefused::Store(other),
            })?
            .ok_or_else(|| ChangeRefused::NotFound(id.to_string()))?;
        self.set.take(id);
        if let Some(scheduler) = &self.scheduler {
            scheduler.remove(id);
        }
        Ok(removed)
    }

    /// Brings the running set in line with the store's connectors made over the API: those another
    /// process (the command line) made, changed or removed since. Returns how many changed.
    pub async fn reconcile(&self) -> Result<usize, StoreError> {
        let stored = self.store.api_connectors().await?;
        let mut changed = 0;
        let mut present = BTreeSet::new();
        for record in stored {
            present.insert(record.id.clone());
            let entry = match ConnectorEntry::from_record(&record) {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(connector = %record.id, error = %e, "a stored connector cannot be read");
                    continue;
                }
            };
            let same = self.set.get(&entry.id).is_some_and(|l| l.entry == entry);
            if same {
                continue;
            }
            if let Some(scheduler) = &self.scheduler
                && let Err(e) = scheduler.upsert(&entry)
            {
                tracing::warn!(connector = %entry.id, error = %e, "a stored connector cannot be scheduled");
                continue;
            }
            self.set.put(build_stored(entry));
            changed += 1;
        }
        for live in self.set.all() {
            if live.origin == Origin::Api && !present.contains(&live.entry.id) {
                self.set.take(&live.entry.id);
                if let Some(scheduler) = &self.scheduler {
                    scheduler.remove(&live.entry.id);
                }
                changed += 1;
            }
        }
        if changed > 0 {
            tracing::info!(
                changed,
                "connectors changed in the store by another process were picked up"
            );
        }
        Ok(changed)
    }

    /// Picks up the store's changes every `every` until `shutdown` turns true.
    pub fn spawn_reconciler(
        &self,
        every: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = shutdown.wait_for(|stop| *stop) => break,
                }
                if let Err(e) = this.reconcile().await {
                    tracing::warn!(error = %e, "the stored connectors could not be read");
                }
            }
        })
    }
}

fn from_file(id: &str) -> ChangeRefused {
    ChangeRefused::Conflict(format!(
        "connector {id} is defined in the configuration file: change or remove it there"
    ))
}

/// What a province editor may not define: a source on the hub's own machine other than a report
/// file (a `file` connector reads `.csv`, `.tsv` or `.xlsx` paths or http(s) URLs; a `sql` connector
/// reads a database server, not a SQLite file). Admins, who run the machine, may.
pub fn editor_may_define(entry: &ConnectorEntry) -> Result<(), String> {
    let source = serde_json::to_value(&entry.source).unwrap_or_default();
    let text = |key: &str| source[key].as_str().unwrap_or_default().to_lowercase();
    match entry.source.kind() {
        "file" => {
            let location = text("location");
            let remote = location.starts_with("http://") || location.starts_with("https://");
            let report = [".csv", ".tsv", ".xlsx"]
                .iter()
                .any(|ext| location.ends_with(ext));
            if remote || report {
                Ok(())
            } else {
                Err(format!(
                    "connector {}: a province editor's file connector reads a .csv, .tsv or .xlsx \
                     report or an http(s) URL, not {}",
                    entry.id,
                    redact::redact(&location)
                ))
            }
        }
        "sql" if text("url").starts_with("sqlite") => Err(format!(
            "connector {}: a province editor's sql connector reads a database server, not a \
             SQLite file on the hub's machine",
            entry.id
        )),
        _ => Ok(()),
    }
}

/// What a pull of a connector would map, storing nothing: the canonical fields its rows fill, the
/// source's columns that feed nothing, the rows it could not read and the first rows it could.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckReport {
    pub connector: String,
    pub kind: &'static str,
    /// Whether the source was reached and read as a whole.
    pub ok: bool,
    /// Why not (credentials in URLs masked).
    pub error: Option<String>,
    /// Rows read as canonical summaries.
    pub rows: usize,
    /// The canonical fields at least one row gives.
    pub fields: Vec<String>,
    /// The source's columns that feed no field.
    #[schema(value_type = Vec<Object>)]
    pub unrecognised: Vec<UnrecognisedColumn>,
    /// Rows that could not be read, and the first ten of them with where and why.
    pub rejected: usize,
    #[schema(value_type = Vec<Object>)]
    pub first_rejected: Vec<Rejected>,
    /// The first ten rows as they would be validated and stored, each with where it was.
    #[schema(value_type = Vec<Object>)]
    pub first_rows: Vec<serde_json::Value>,
    /// The funds the rows name (distinct, at most 100).
    pub funds: Vec<String>,
}

/// How many rows and problems a check shows.
const CHECK_SHOWS: usize = 10;

/// Builds a connector from `entry` and pulls its whole source once (within the entry's timeout, at
/// most two minutes), storing nothing.
pub async fn check(entry: &ConnectorEntry) -> CheckReport {
    let mut report = CheckReport {
        connector: entry.id.clone(),
        kind: entry.source.kind(),
        ok: false,
        error: None,
        rows: 0,
        fields: Vec::new(),
        unrecognised: Vec::new(),
        rejected: 0,
        first_rejected: Vec::new(),
        first_rows: Vec::new(),
        funds: Vec::new(),
    };
    let masked = |e: String| redact::redact(&e).into_owned();
    let connector = match entry.build() {
        Ok(c) => c,
        Err(e) => {
            report.error = Some(masked(e.to_string()));
            return report;
        }
    };
    let limit = Duration::from_secs(entry.timeout_secs.min(120));
    let pull = match tokio::time::timeout(limit, connector.pull(None)).await {
        Ok(Ok(pull)) => pull,
        Ok(Err(e)) => {
            report.error = Some(masked(e.to_string()));
            return report;
        }
        Err(_) => {
            report.error = Some(format!(
                "the source was not read within {} s",
                limit.as_secs()
            ));
            return report;
        }
    };
    report.ok = true;
    report.rows = pull.row_count();
    report.rejected = pull.rejected.len();
    report.first_rejected = pull.rejected.into_iter().take(CHECK_SHOWS).collect();
    report.unrecognised = pull.unrecognised;
    let mut fields = BTreeSet::new();
    let mut funds = BTreeSet::new();
    for batch in &pull.batches {
        let schema = batch.rows.schema();
        for (i, field) in schema.fields().iter().enumerate() {
            let column = batch.rows.column(i);
            if column.null_count() < column.len()
                && !matches!(field.name().as_str(), "reported_at" | "source")
            {
                fields.insert(field.name().clone());
            }
        }
        let Ok(summaries) = from_batch(&batch.rows) else {
            continue;
        };
        for (summary, location) in summaries.iter().zip(&batch.locations) {
            if funds.len() < 100 {
                funds.insert(summary.fund_id.to_string());
            }
            if report.first_rows.len() < CHECK_SHOWS {
                let mut row = serde_json::to_value(summary).unwrap_or_default();
                row["location"] = serde_json::Value::String(location.clone());
                report.first_rows.push(row);
            }
        }
    }
    // Canonical order: the schema's.
    report.fields = welfare_connectors::batch::schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|name| fields.contains(name))
        .collect();
    report.funds = funds.into_iter().collect();
    report
}
