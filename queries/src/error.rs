//! Errors of the analytics layer.

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request cannot be answered as asked (a bad parameter, SQL that is not one SELECT); the
    /// message says what and where.
    #[error("{0}")]
    Invalid(String),
    /// A policy that makes no sense.
    #[error("{0}")]
    Policy(String),
    /// Something the snapshot was built from breaks an expectation.
    #[error("snapshot data: {0}")]
    Data(String),
    /// A query ran past its time limit.
    #[error("the query took longer than {0} ms and was stopped")]
    Timeout(u64),
    /// A query needed more memory than it may use.
    #[error("the query needed more than its memory limit: {0}")]
    ResourcesExhausted(String),
    /// The statement is longer than user SQL may be.
    #[error("SQL: the statement is {bytes} bytes; at most {limit} are accepted")]
    TooLong { bytes: usize, limit: usize },
    /// The statement nests deeper than user SQL may (expressions, subqueries, set operations).
    #[error("SQL: {what} nest deeper than {limit} levels; write the statement flatter")]
    TooDeep { what: &'static str, limit: usize },
    /// Every user-query slot stayed taken for the whole wait: try again later.
    #[error(
        "{running} user queries are running and none finished within {waited_ms} ms; try again in {retry_after_secs} s"
    )]
    Busy {
        running: usize,
        waited_ms: u64,
        retry_after_secs: u64,
    },
    /// The encoded answer would pass the byte cap.
    #[error(
        "the {format} answer is larger than the {limit} byte cap; select fewer rows or columns (LIMIT) or use format=json, which is cut at the cap"
    )]
    AnswerTooLarge { format: &'static str, limit: usize },
    #[error("query engine: {0}")]
    Engine(#[from] DataFusionError),
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
    #[error("writing the spreadsheet: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("writing Parquet: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
}

impl QueryError {
    /// True when the fault is the request's (answer 400), not the hub's.
    pub fn is_client_error(&self) -> bool {
        match self {
            QueryError::Invalid(_)
            | QueryError::Policy(_)
            | QueryError::Timeout(_)
            | QueryError::ResourcesExhausted(_)
            | QueryError::TooLong { .. }
            | QueryError::TooDeep { .. }
            | QueryError::AnswerTooLarge { .. } => true,
            QueryError::Engine(e) => matches!(
                e.find_root(),
                DataFusionError::Plan(_)
                    | DataFusionError::SQL(..)
                    | DataFusionError::SchemaError(..)
                    | DataFusionError::NotImplemented(_)
            ),
            QueryError::Data(_)
            | QueryError::Arrow(_)
            | QueryError::Xlsx(_)
            | QueryError::Parquet(_)
            | QueryError::Busy { .. } => false,
        }
    }

    /// Sorts an engine error: running out of the memory pool, or a limit that the sandbox's own
    /// checks raised inside the engine (a time limit, a value cap), is the request's limit, not a fault.
    pub fn from_engine(e: DataFusionError) -> Self {
        let limit = match e.find_root() {
            DataFusionError::ResourcesExhausted(m) => {
                Some(QueryError::ResourcesExhausted(m.clone()))
            }
            DataFusionError::External(inner) => match inner.downcast_ref::<QueryError>() {
                Some(QueryError::Timeout(ms)) => Some(QueryError::Timeout(*ms)),
                Some(QueryError::ResourcesExhausted(m)) => {
                    Some(QueryError::ResourcesExhausted(m.clone()))
                }
                _ => None,
            },
            _ => None,
        };
        limit.unwrap_or(QueryError::Engine(e))
    }
}

/// Input echoed in an error message is cut to this many characters.
pub const ECHO_CHARS: usize = 200;

/// `text` cut to [`ECHO_CHARS`] characters (with "…" when cut), so an error never repeats a long
/// request back.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(ECHO_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_character() {
        assert_eq!(clip("สวัสดี"), "สวัสดี");
        let long = "ก".repeat(ECHO_CHARS + 50);
        let cut = clip(&long);
        assert_eq!(cut.chars().count(), ECHO_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn limits_raised_inside_the_engine_come_back_as_limits() {
        let inner = DataFusionError::External(Box::new(QueryError::Timeout(250)));
        let e = QueryError::from_engine(DataFusionError::Context("x".into(), Box::new(inner)));
        assert!(matches!(e, QueryError::Timeout(250)), "{e:?}");
        let e = QueryError::from_engine(DataFusionError::ResourcesExhausted("pool".into()));
        assert_eq!(
            e.to_string(),
            "the query needed more than its memory limit: pool"
        );
        let e = QueryError::from_engine(DataFusionError::Plan("no column".into()));
        assert!(matches!(e, QueryError::Engine(_)) && e.is_client_error());
    }
}
