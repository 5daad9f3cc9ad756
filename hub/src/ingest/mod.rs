//! Ingestion: running a connector, validating what it delivers, and committing rows, quarantine and
//! cursor together.
//!
//! - [`ConnectorEntry`]: a connector as configured (the hub's keys beside the source's).
//! - [`validate`]: the checks every row passes before it is stored.
//! - [`run`]: one run of one connector, all or nothing.

pub mod run;
pub mod validate;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use welfare_connectors::{Connector, ConnectorError, SourceConfig};

use crate::store::ConnectorRecord;
pub use crate::store::Origin;

pub use run::{ChangeSignal, Ingestor, RunResult};
pub use validate::{Reference, ValidationRules};

fn default_true() -> bool {
    true
}

fn default_timeout() -> u64 {
    600
}

fn default_attempts() -> u32 {
    4
}

/// One `[[connectors]]` table of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorEntry {
    /// Letters, digits, `-` and `_`; names the connector in the API, runs and provenance.
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// A cron expression in Bangkok time, 5 fields (`0 2 * * *`) or 6 with seconds; default: the
    /// scheduler's nightly schedule.
    #[serde(default)]
    pub schedule: Option<String>,
    /// A run (pull and commit) taking longer is abandoned and commits nothing.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Attempts of one scheduled run when failures are transient.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The provinces (2-digit codes) whose funds this connector reports: a run stores rows only of
    /// funds registered in them (others are quarantined), and a province editor manages the
    /// connectors whose provinces are all its own. Empty: a national connector, an admin's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provinces: Vec<String>,
    #[serde(flatten)]
    pub source: SourceConfig,
}

impl ConnectorEntry {
    /// Checks the hub's own keys; the source's keys are checked when the connector is built.
    pub fn validate(&self) -> Result<(), String> {
        let ok_id = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !ok_id {
            return Err(format!(
                "connector id {:?} must be 1–64 letters, digits, '-', '_' or '.'",
                self.id
            ));
        }
        if self.timeout_secs == 0 {
            return Err(format!(
                "connector {}: timeout_secs must be above 0",
                self.id
            ));
        }
        if self.max_attempts == 0 {
            return Err(format!(
                "connector {}: max_attempts must be at least 1",
                self.id
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for p in &self.provinces {
            crate::access::province_code(p).map_err(|e| format!("connector {}: {e}", self.id))?;
            if !seen.insert(p) {
                return Err(format!(
                    "connector {}: province {p} is named twice",
                    self.id
                ));
            }
        }
        if let Some(s) = &self.schedule {
            crate::scheduler::parse_schedule(s)
                .map_err(|m| format!("connector {}: {m}", self.id))?;
        }
        Ok(())
    }

    /// The record the store keeps of this connector, as the configuration defines it (a connector
    /// made over the API is the same record with `origin` [`Origin::Api`]).
    pub fn record(&self) -> ConnectorRecord {
        ConnectorRecord {
            id: self.id.clone(),
            kind: self.source.kind().to_string(),
            config: serde_json::to_value(&self.source).unwrap_or(serde_json::Value::Null),
            schedule: self.schedule.clone(),
            enabled: self.enabled,
            cursor: None,
            origin: Origin::Configuration,
            name: self.name.clone(),
            timeout_secs: self.timeout_secs,
            max_attempts: self.max_attempts,
            provinces: self.provinces.clone(),
        }
    }

    /// The definition a stored record holds (the inverse of [`ConnectorEntry::record`]).
    pub fn from_record(record: &ConnectorRecord) -> Result<ConnectorEntry, String> {
        let source: SourceConfig = serde_json::from_value(record.config.clone())
            .map_err(|e| format!("connector {}: stored configuration: {e}", record.id))?;
        Ok(ConnectorEntry {
            id: record.id.clone(),
            name: record.name.clone(),
            enabled: record.enabled,
            schedule: record.schedule.clone(),
            timeout_secs: record.timeout_secs,
            max_attempts: record.max_attempts,
            provinces: record.provinces.clone(),
            source,
        })
    }

    /// Whether a run may store a row of a fund registered to `area` (a tambon or a province code).
    pub fn serves(&self, area: &str) -> bool {
        self.provinces.is_empty() || self.provinces.iter().any(|p| area.starts_with(p.as_str()))
    }

    /// Builds the connector this entry configures.
    pub fn build(&self) -> Result<Arc<dyn Connector>, ConnectorError> {
        self.source.build(&self.id)
    }
}

/// Checks a list of entries: each valid, ids unique.
pub fn validate_entries(entries: &[ConnectorEntry]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for e in entries {
        e.validate()?;
        if !seen.insert(e.id.as_str()) {
            return Err(format!("connector id {:?} is configured twice", e.id));
        }
    }
    Ok(())
}
