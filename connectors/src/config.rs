//! The configuration of a source, tagged by `kind`; each variant builds the connector it configures.
//!
//! In the hub's TOML a connector is one `[[connectors]]` table: the hub's own keys (`id`, `schedule`,
//! `timeout_secs`, …) beside the source's keys, which are these.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::file::FileConfig;
use crate::http_json::HttpJsonConfig;
use crate::source::{Connector, ConnectorError};
use crate::sql::SqlConfig;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceConfig {
    /// A CSV or XLSX report, from a path or an http(s) URL.
    File(FileConfig),
    /// A fund system's REST API returning JSON.
    HttpJson(HttpJsonConfig),
    /// A fund system's own database (MySQL/MariaDB, PostgreSQL, SQLite), read with one query.
    Sql(SqlConfig),
}

impl SourceConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::File(_) => "file",
            SourceConfig::HttpJson(_) => "http_json",
            SourceConfig::Sql(_) => "sql",
        }
    }

    /// Builds the connector; `id` names it in provenance (`connector:<id>`). Secrets named in the
    /// configuration are read from the environment here.
    pub fn build(&self, id: &str) -> Result<Arc<dyn Connector>, ConnectorError> {
        let source = format!("connector:{id}");
        Ok(match self {
            SourceConfig::File(c) => Arc::new(c.build(source)?),
            SourceConfig::HttpJson(c) => Arc::new(c.build(source)?),
            SourceConfig::Sql(c) => Arc::new(c.build(source)?),
        })
    }
}
