//! `sql`: a fund system's own database.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::source::{Connector, ConnectorError, Cursor, Pull};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// The database URL (mysql://, postgres://, sqlite://) without a password.
    pub url: String,
    /// Source field names for canonical fields (`members_total = "สมาชิกทั้งหมด"`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl SqlConfig {
    pub fn build(&self, source: String) -> Result<SqlConnector, ConnectorError> {
        Ok(SqlConnector {
            config: self.clone(),
            source,
        })
    }
}

#[derive(Debug)]
pub struct SqlConnector {
    config: SqlConfig,
    source: String,
}

#[async_trait]
impl Connector for SqlConnector {
    fn kind(&self) -> &'static str {
        "sql"
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        Err(ConnectorError::Config(format!(
            "{}: the sql kind is not built yet ({})",
            self.source, self.config.url
        )))
    }

    async fn pull(&self, _since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        self.check().await.map(|()| Pull::default())
    }
}
