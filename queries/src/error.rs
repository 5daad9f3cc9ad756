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
    #[error("query engine: {0}")]
    Engine(#[from] DataFusionError),
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
}

impl QueryError {
    /// True when the fault is the request's (answer 400), not the hub's.
    pub fn is_client_error(&self) -> bool {
        match self {
            QueryError::Invalid(_)
            | QueryError::Policy(_)
            | QueryError::Timeout(_)
            | QueryError::ResourcesExhausted(_) => true,
            QueryError::Engine(e) => matches!(
                e.find_root(),
                DataFusionError::Plan(_)
                    | DataFusionError::SQL(..)
                    | DataFusionError::SchemaError(..)
                    | DataFusionError::NotImplemented(_)
            ),
            QueryError::Data(_) | QueryError::Arrow(_) => false,
        }
    }

    /// Sorts an engine error: running out of the memory pool is the request's limit, not a fault.
    pub fn from_engine(e: DataFusionError) -> Self {
        match e.find_root() {
            DataFusionError::ResourcesExhausted(m) => QueryError::ResourcesExhausted(m.clone()),
            _ => QueryError::Engine(e),
        }
    }
}
