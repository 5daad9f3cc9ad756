//! Assembling a running hub from configuration: the pipeline that pulls (the store, the connectors,
//! the ingestor, the scheduler) and, for serving, the analytics snapshot, the maps and the API state.

use std::sync::Arc;

use welfare_connectors::Secret;

use crate::analytics::{Analytics, AnalyticsError};
use crate::api::AppState;
use crate::config::Config;
use crate::ingest::{ConnectorEntry, Ingestor, validate_entries};
use crate::live::{ConnectorSet, Live, LiveConnectors, build_stored};
use crate::scheduler::{Clock, IngestRunner, Scheduler};
use crate::store::{Origin, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("connector {id}: {message}")]
    Connector { id: String, message: String },
    #[error("configuration: {0}")]
    Config(String),
    #[error("analytics snapshot: {0}")]
    Analytics(#[from] AnalyticsError),
}

/// What pulling needs and nothing more: the store, the connectors, the ingestor and the scheduler.
/// `welfare-hub pull` opens only this; it builds no analytics snapshot and no map geometry.
#[derive(Debug)]
pub struct Pipeline {
    pub store: Store,
    pub ingestor: Arc<Ingestor>,
    pub scheduler: Scheduler,
    /// The connectors: the configuration's beside those made over the API, changed live.
    pub live: LiveConnectors,
}

impl Pipeline {
    /// Builds every configured connector (plus `extra`, e.g. the demo's) and every connector made
    /// over the API and kept in the store, records the configured ones in the store, marks runs a
    /// previous process left unfinished as failed, and prepares the scheduler. A configured connector
    /// that cannot be built (a missing secret, a bad mapping) stops start-up with its id and reason; a
    /// stored one is listed and its runs fail with the reason.
    pub async fn open(
        config: &Config,
        store: Store,
        extra: Vec<ConnectorEntry>,
    ) -> Result<Pipeline, HubError> {
        let mut entries = config.connectors.clone();
        entries.extend(extra);
        validate_entries(&entries).map_err(HubError::Config)?;
        let mut connectors = Vec::with_capacity(entries.len());
        for e in &entries {
            let connector = e.build().map_err(|err| HubError::Connector {
                id: e.id.clone(),
                message: err.to_string(),
            })?;
            connectors.push(Live {
                entry: e.clone(),
                origin: Origin::Configuration,
                connector,
            });
        }
        store
            .sync_connectors(
                &entries
                    .iter()
                    .map(ConnectorEntry::record)
                    .collect::<Vec<_>>(),
            )
            .await
            .map_err(|e| match e {
                StoreError::Invalid(m) => HubError::Config(m),
                other => HubError::Store(other),
            })?;
        for record in store.api_connectors().await? {
            match ConnectorEntry::from_record(&record) {
                Ok(entry) => {
                    entries.push(entry.clone());
                    connectors.push(build_stored(entry));
                }
                Err(e) => {
                    tracing::warn!(connector = %record.id, error = %e, "a stored connector cannot be read; it is not run");
                }
            }
        }
        let interrupted = store.fail_interrupted_runs().await?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "runs left unfinished by the last process were marked failed; nothing of them was stored"
            );
        }
        let ingestor = Arc::new(Ingestor::new(store.clone(), config.validation.clone()).await?);
        let set = ConnectorSet::new(connectors);
        let runner = Arc::new(IngestRunner::new(ingestor.clone(), set.clone()));
        let scheduler =
            Scheduler::new(runner, &entries, config.scheduler.clone(), Clock::default())
                .map_err(HubError::Config)?;
        Ok(Pipeline {
            live: LiveConnectors {
                store: store.clone(),
                set,
                scheduler: Some(scheduler.clone()),
            },
            store,
            ingestor,
            scheduler,
        })
    }
}

/// A hub ready to pull and serve: the pipeline, the analytics snapshot (built here, from the
/// store), the maps (whose geometry is built on first use or when serving starts) and the token.
#[derive(Debug)]
pub struct Hub {
    pub store: Store,
    pub ingestor: Arc<Ingestor>,
    pub scheduler: Scheduler,
    pub live: LiveConnectors,
    pub token: Option<Secret>,
    pub analytics: Arc<Analytics>,
    pub maps: Arc<crate::maps::Maps>,
    /// Where the map page is read from; `None` serves the page built into the binary.
    pub web_dir: Option<std::path::PathBuf>,
}

impl Hub {
    /// Opens the pipeline (`Pipeline::open`), then builds the analytics snapshot from the store.
    pub async fn open(
        config: &Config,
        store: Store,
        extra: Vec<ConnectorEntry>,
    ) -> Result<Hub, HubError> {
        let Pipeline {
            store,
            ingestor,
            scheduler,
            live,
        } = Pipeline::open(config, store, extra).await?;
        let analytics = Analytics::open(
            store.clone(),
            config.analytics.clone(),
            config.reports.deadline_day,
            ingestor.changes(),
        )
        .await?;
        let token = match std::env::var(&config.api.token_env) {
            Ok(t) if !t.is_empty() => Some(Secret::new(t)),
            _ => {
                tracing::warn!(variable = %config.api.token_env, "no API token: changes over the API are refused");
                None
            }
        };
        let maps = Arc::new(crate::maps::Maps::new(
            store.clone(),
            config.analytics.risk.clone(),
        ));
        Ok(Hub {
            maps,
            web_dir: config.api.web_dir.clone(),
            store,
            ingestor,
            scheduler,
            live,
            token,
            analytics,
        })
    }

    pub fn state(&self) -> AppState {
        AppState {
            store: self.store.clone(),
            scheduler: Some(self.scheduler.clone()),
            connectors: self.live.set.clone(),
            token: self.token.clone(),
            analytics: Some(self.analytics.clone()),
            maps: Some(self.maps.clone()),
            web_dir: self.web_dir.clone(),
        }
    }
}
