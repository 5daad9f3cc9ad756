//! `http_json`: a fund system's REST API.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::source::{Connector, ConnectorError, Cursor, Pull};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpJsonConfig {
    /// The endpoint that lists summaries.
    pub url: String,
    /// Source field names for canonical fields (`members_total = "สมาชิกทั้งหมด"`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl HttpJsonConfig {
    pub fn build(&self, source: String) -> Result<HttpJsonConnector, ConnectorError> {
        Ok(HttpJsonConnector {
            config: self.clone(),
            source,
        })
    }
}

#[derive(Debug)]
pub struct HttpJsonConnector {
    config: HttpJsonConfig,
    source: String,
}

#[async_trait]
impl Connector for HttpJsonConnector {
    fn kind(&self) -> &'static str {
        "http_json"
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        Err(ConnectorError::Config(format!(
            "{}: the http_json kind is not built yet ({})",
            self.source, self.config.url
        )))
    }

    async fn pull(&self, _since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        self.check().await.map(|()| Pull::default())
    }
}
