//! Configuration: defaults that just work, a TOML file, environment overrides, then command-line flags.
//!
//! Precedence, lowest first: built-in defaults < `welfare-hub.toml` (or `--config FILE`) < environment
//! (`WELFARE_HUB_BIND`, `DATABASE_URL`, `WELFARE_HUB_GEOGRAPHY`, `WELFARE_HUB_WEB`, `WELFARE_HUB_LOG_FORMAT`,
//! `WELFARE_HUB_LOG`) < flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analytics::AnalyticsConfig;
use crate::ingest::{ConnectorEntry, ValidationRules};
use crate::scheduler::SchedulerConfig;

/// The file read when no `--config` is given, if it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "welfare-hub.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub bind: SocketAddr,
    /// `sqlite://PATH` (the default, a file created on first run) or `postgres://…`.
    pub database_url: String,
    /// The geography bundle directory.
    pub geography_dir: PathBuf,
    pub log: LogConfig,
    pub reports: ReportsConfig,
    pub demo: DemoSettings,
    pub api: ApiConfig,
    pub scheduler: SchedulerConfig,
    pub validation: ValidationRules,
    /// Indicators: policies, risk thresholds, limits on user SQL.
    pub analytics: AnalyticsConfig,
    /// The fund systems to pull, one `[[connectors]]` table each.
    pub connectors: Vec<ConnectorEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// The environment variable holding the bearer token that every changing request must carry.
    /// Without it set, changes over the API are refused.
    pub token_env: String,
    /// A directory to serve the map page from instead of the page built into the binary (for page
    /// development: `npm run build` in `web/` writes `web/dist`). A relative path is taken from the
    /// working directory.
    pub web_dir: Option<PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            token_env: "WELFARE_HUB_TOKEN".into(),
            web_dir: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` for people at a terminal, `json` for log collectors.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `welfare_hub=debug,info`; `RUST_LOG` wins when set.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// A month's report is due on this day of the following month.
    pub deadline_day: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoSettings {
    /// Where `welfare-hub demo` keeps its store when no `--database-url` is given; recreated each run.
    pub database_url: String,
    pub seed: u64,
    /// Months of reports the demo generates.
    pub months: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://data/welfare-hub.db".into(),
            geography_dir: PathBuf::from("../shared/data/thailand"),
            log: LogConfig::default(),
            reports: ReportsConfig::default(),
            demo: DemoSettings::default(),
            api: ApiConfig::default(),
            scheduler: SchedulerConfig::default(),
            validation: ValidationRules::default(),
            analytics: AnalyticsConfig::default(),
            connectors: Vec::new(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig { deadline_day: 15 }
    }
}

impl Default for DemoSettings {
    fn default() -> Self {
        DemoSettings {
            database_url: "sqlite://data/demo.db".into(),
            seed: 2568,
            months: 120,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("configuration file {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("environment variable {name}={value:?}: {problem}")]
    Env {
        name: &'static str,
        value: String,
        problem: String,
    },
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads `file` (which must exist), or `welfare-hub.toml` if present, then applies the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let default_file = Path::new(DEFAULT_CONFIG_FILE);
        let path = match file {
            Some(p) => Some(p),
            None => default_file.exists().then_some(default_file),
        };
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Config::from_toml(&text).map_err(|source| ConfigError::Parse {
                    path: path.to_path_buf(),
                    source: Box::new(source),
                })?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    pub fn from_toml(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies environment overrides read through `var` (a function, so tests need not touch the
    /// process environment).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("WELFARE_HUB_BIND") {
            self.bind = v
                .parse()
                .map_err(|e: std::net::AddrParseError| ConfigError::Env {
                    name: "WELFARE_HUB_BIND",
                    value: v.clone(),
                    problem: e.to_string(),
                })?;
        }
        if let Some(v) = var("DATABASE_URL").filter(|v| !v.is_empty()) {
            self.database_url = v;
        }
        if let Some(v) = var("WELFARE_HUB_GEOGRAPHY").filter(|v| !v.is_empty()) {
            self.geography_dir = PathBuf::from(v);
        }
        if let Some(v) = var("WELFARE_HUB_WEB").filter(|v| !v.is_empty()) {
            self.api.web_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = var("WELFARE_HUB_LOG_FORMAT") {
            self.log.format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::Env {
                        name: "WELFARE_HUB_LOG_FORMAT",
                        value: v,
                        problem: "expected text or json".into(),
                    });
                }
            };
        }
        if let Some(v) = var("WELFARE_HUB_LOG").filter(|v| !v.is_empty()) {
            self.log.level = v;
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=28).contains(&self.reports.deadline_day) {
            return Err(ConfigError::Invalid(format!(
                "reports.deadline_day = {} must be a day from 1 to 28",
                self.reports.deadline_day
            )));
        }
        crate::ingest::validate_entries(&self.connectors).map_err(ConfigError::Invalid)?;
        self.analytics.validate().map_err(ConfigError::Invalid)?;
        crate::scheduler::parse_schedule(&self.scheduler.default_schedule)
            .map_err(|e| ConfigError::Invalid(format!("scheduler.default_schedule: {e}")))?;
        for c in &self.connectors {
            if let Some(s) = &c.schedule {
                crate::scheduler::parse_schedule(s)
                    .map_err(|e| ConfigError::Invalid(format!("connector {}: {e}", c.id)))?;
            }
        }
        if !(1..=600).contains(&self.demo.months) {
            return Err(ConfigError::Invalid(format!(
                "demo.months = {} must be from 1 to 600",
                self.demo.months
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let mut c = Config::from_toml(
            "bind = \"0.0.0.0:9000\"\n[log]\nformat = \"json\"\n[reports]\ndeadline_day = 10\n",
        )
        .unwrap();
        assert_eq!(c.bind.port(), 9000);
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.database_url, Config::default().database_url);
        c.apply_env(|name| match name {
            "DATABASE_URL" => Some("postgres://u@h/db".into()),
            "WELFARE_HUB_BIND" => Some("127.0.0.1:0".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.database_url, "postgres://u@h/db");
        assert_eq!(c.bind.port(), 0);
        assert_eq!(c.reports.deadline_day, 10);
    }

    #[test]
    fn connectors_are_tables_with_a_kind() {
        let c = Config::from_toml(
            r#"
[[connectors]]
id = "songkhla-reports"
kind = "file"
location = "reports/songkhla.xlsx"
schedule = "30 1 * * *"

[connectors.fields]
members_total = "สมาชิกทั้งหมด"

[[connectors]]
id = "f100101"
kind = "http_json"
url = "http://127.0.0.1:9000/funds/F100101/summaries"
"#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.connectors.len(), 2);
        assert_eq!(c.connectors[0].source.kind(), "file");
        assert_eq!(c.connectors[0].timeout_secs, 600);
        assert_eq!(c.connectors[1].source.kind(), "http_json");
        let err = Config::from_toml("[[connectors]]\nid = \"x\"\nkind = \"ftp\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ftp"), "{err}");
        let mut twice = c.clone();
        twice.connectors.push(c.connectors[0].clone());
        assert!(twice.validate().unwrap_err().to_string().contains("twice"));
        let mut bad = c;
        bad.connectors[0].schedule = Some("every night".into());
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("songkhla-reports")
        );
    }

    #[test]
    fn policies_and_risk_thresholds_are_data() {
        let c = Config::from_toml(
            r#"
[analytics]
default_policy = "draft"

[[analytics.policies]]
name = "draft"
title_th = "ร่าง"
title_en = "Draft"
contribution_per_member_year = 730
state_ratio = 0.5
local_ratio = "0.25"
cap_per_member_year = "300.50"
eligibility = { min_months_registered = 6, min_reports_last_12 = 8 }

[analytics.risk.admin_share]
direction = "above"
watch = 15
high = 25.5
"#,
        )
        .unwrap();
        c.validate().unwrap();
        let p = &c.analytics.policies()[0];
        assert_eq!(p.state_per_member_year().unwrap().to_string(), "300.50");
        assert_eq!(p.local_per_member_year().unwrap().to_string(), "182.50");
        assert_eq!(p.eligibility.min_reports_last_12, 8);
        assert_eq!(
            c.analytics.risk.admin_share.high,
            Some("25.5".parse().unwrap())
        );
        // Untouched ratios keep their defaults.
        assert_eq!(
            c.analytics.risk.reserve_months,
            welfare_queries::RiskThresholds::default().reserve_months
        );
        let bad = Config::from_toml("[analytics]\ndefault_policy = \"nope\"\n").unwrap();
        assert!(bad.validate().unwrap_err().to_string().contains("nope"));
    }

    #[test]
    fn user_query_limits_are_configured_under_analytics() {
        let c = Config::from_toml(
            "[analytics]\nquery_max_sql_bytes = 4096\nquery_max_depth = 20\nquery_max_answer_mb = 8\nquery_max_value_mb = 2\nquery_concurrency = 1\nquery_queue_wait_ms = 250\n",
        )
        .unwrap();
        c.validate().unwrap();
        let limits = c.analytics.limits();
        assert_eq!(limits.max_statement_bytes, 4096);
        assert_eq!(limits.max_depth, 20);
        assert_eq!(limits.max_answer_bytes, 8 * 1024 * 1024);
        assert_eq!(limits.max_value_bytes, 2 * 1024 * 1024);
        assert_eq!(limits.concurrent, 1);
        assert_eq!(limits.queue_wait, std::time::Duration::from_millis(250));
        // Untouched keys keep the sandbox's defaults.
        assert_eq!(
            limits.max_rows,
            welfare_queries::SandboxLimits::default().max_rows
        );
        let zero = Config::from_toml("[analytics]\nquery_concurrency = 0\n").unwrap();
        assert_eq!(
            zero.validate().unwrap_err().to_string(),
            "configuration: analytics: query limits must be above 0"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let err = Config::from_toml("bnd = \"x\"").unwrap_err().to_string();
        assert!(err.contains("bnd"), "{err}");
        let err = Config::default()
            .apply_env(|n| (n == "WELFARE_HUB_BIND").then(|| "nowhere".to_string()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("WELFARE_HUB_BIND") && err.contains("nowhere"),
            "{err}"
        );
        let mut c = Config::default();
        c.reports.deadline_day = 31;
        assert!(c.validate().is_err());
    }
}
