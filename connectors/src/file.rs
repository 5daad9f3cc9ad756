//! `file`: a CSV or XLSX report from a path or an http(s) URL.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::source::{Connector, ConnectorError, Cursor, Pull};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// A local path or an http(s) URL.
    pub location: String,
    /// Source field names for canonical fields (`members_total = "สมาชิกทั้งหมด"`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl FileConfig {
    pub fn build(&self, source: String) -> Result<FileConnector, ConnectorError> {
        Ok(FileConnector {
            config: self.clone(),
            source,
        })
    }
}

#[derive(Debug)]
pub struct FileConnector {
    config: FileConfig,
    source: String,
}

#[async_trait]
impl Connector for FileConnector {
    fn kind(&self) -> &'static str {
        "file"
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        Err(ConnectorError::Config(format!(
            "{}: the file kind is not built yet ({})",
            self.source, self.config.location
        )))
    }

    async fn pull(&self, _since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        self.check().await.map(|()| Pull::default())
    }
}
