//! The connector seam: what every kind of fund-system source does, and what it hands the hub.
//!
//! A connector knows one source (a spreadsheet, a REST API, a database). It checks the source and
//! pulls what changed since a cursor, returning canonical summary rows as Arrow batches (the schema of
//! [`welfare_model::summary_schema`]) and every row it could not read, with the reason and where the
//! row was. It knows nothing of the store: the hub validates, stores and saves the cursor together.

use std::fmt;

use arrow_array::RecordBatch;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Where a pull left off, opaque to the hub and meaningful to the kind that made it (a content digest,
/// a timestamp, a server's next-page token…). The hub stores it with the data of the pull that made it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A row the connector could not turn into a canonical summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    /// Where the row is: `report.csv line 12`, `report.xlsx sheet สรุป row 7`, `page 3 record F1/2025-10`.
    pub location: String,
    /// What is wrong with it, naming the field.
    pub reason: String,
    /// The row as read, for the people who will fix it.
    pub raw: serde_json::Value,
}

/// Canonical rows and where each came from (`locations[i]` is row `i` of `rows`).
#[derive(Debug, Clone)]
pub struct SourcedBatch {
    pub rows: RecordBatch,
    pub locations: Vec<String>,
    /// The tambon each row declares (a 6-digit DOPA code, as the source wrote it once its digits are
    /// read), for the hub to compare with the fund's registered tambon. Empty when the source has no
    /// tambon column; else `tambons[i]` belongs to row `i` (`None`: the row left it blank).
    pub tambons: Vec<Option<String>>,
}

/// A column (or field) of the source that feeds no canonical field and is not ignored by the
/// configuration: reported on the run so an operator sees it the same night.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnrecognisedColumn {
    /// Where the heading is: `report.csv line 3 column 7`, `report.xlsx sheet สรุป cell G3`.
    pub location: String,
    /// The heading as written.
    pub heading: String,
}

/// The result of one pull.
#[derive(Debug, Clone, Default)]
pub struct Pull {
    pub batches: Vec<SourcedBatch>,
    pub rejected: Vec<Rejected>,
    /// Columns that feed nothing (see [`UnrecognisedColumn`]).
    pub unrecognised: Vec<UnrecognisedColumn>,
    /// The cursor to save once these rows are committed; `None` keeps the previous one.
    pub cursor: Option<Cursor>,
}

impl Pull {
    pub fn row_count(&self) -> usize {
        self.batches.iter().map(|b| b.rows.num_rows()).sum()
    }
}

/// Why a check or a pull failed. [`ConnectorError::is_transient`] is all a retry loop asks.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The source could not be reached (connection refused, DNS, reset): worth retrying.
    #[error("source unreachable: {0}")]
    Unreachable(String),
    /// The source did not answer in time: worth retrying.
    #[error("source timed out: {0}")]
    Timeout(String),
    /// The source answered with an HTTP status.
    #[error("source answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    /// The source refused our credentials: retrying will not help until someone fixes them.
    #[error("source refused the credentials: {0}")]
    Auth(String),
    /// The configuration or the field mapping is wrong: permanent.
    #[error("configuration: {0}")]
    Config(String),
    /// The source's content cannot be read as a whole (not a spreadsheet, a broken JSON page, a query
    /// that fails): the message says where.
    #[error("source content: {0}")]
    Content(String),
    /// The source changed under us while paging (rows shifted between pages): worth retrying.
    #[error("source changed while it was read: {0}")]
    Inconsistent(String),
}

impl ConnectorError {
    /// True when the same pull may succeed if tried again later: unreachable, timed out, throttled
    /// (429), a server error (5xx), or a source that shifted while paging. Credentials, mapping and
    /// content errors are permanent.
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectorError::Unreachable(_)
            | ConnectorError::Timeout(_)
            | ConnectorError::Inconsistent(_) => true,
            ConnectorError::Http { status, .. } => *status == 429 || *status >= 500,
            ConnectorError::Auth(_) | ConnectorError::Config(_) | ConnectorError::Content(_) => {
                false
            }
        }
    }
}

/// A source of fund summaries. Implementations are cheap to keep and safe to share across tasks.
#[async_trait]
pub trait Connector: Send + Sync + fmt::Debug {
    /// The kind, as written in configuration (`file`, `http_json`, `sql`).
    fn kind(&self) -> &'static str;

    /// Checks that the source can be reached and read, without pulling rows.
    async fn check(&self) -> Result<(), ConnectorError>;

    /// Pulls the rows that are new or changed since `since` (everything when `None`).
    async fn pull(&self, since: Option<&Cursor>) -> Result<Pull, ConnectorError>;
}

/// A password or token read from the environment. It never prints: `Debug` and `Display` show
/// `***`, and it is never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Reads the environment variable `name`; the error names the variable, never a value.
    pub fn from_env(name: &str) -> Result<Self, ConnectorError> {
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(Secret(v)),
            _ => Err(ConnectorError::Config(format!(
                "environment variable {name} (named in the configuration) is not set"
            ))),
        }
    }

    /// The value, for the one place that sends it to the source.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_or_permanent() {
        assert!(ConnectorError::Unreachable("x".into()).is_transient());
        assert!(ConnectorError::Timeout("x".into()).is_transient());
        assert!(
            ConnectorError::Http {
                status: 503,
                message: String::new()
            }
            .is_transient()
        );
        assert!(
            ConnectorError::Http {
                status: 429,
                message: String::new()
            }
            .is_transient()
        );
        assert!(
            !ConnectorError::Http {
                status: 404,
                message: String::new()
            }
            .is_transient()
        );
        assert!(!ConnectorError::Auth("401".into()).is_transient());
        assert!(!ConnectorError::Config("x".into()).is_transient());
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "hunter2");
    }
}
