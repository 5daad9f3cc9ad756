//! Welfare Hub analytics (design sections 3–5): given Arrow tables of areas, population, funds,
//! summaries and policies, answer indicator questions with DataFusion SQL at every level.
//!
//! The crate does not know where the tables come from: the hub fills a [`TablesBuilder`] from its
//! store, tests fill one by hand.

pub mod error;
pub mod governance;
pub mod guard;
pub mod indicators;
pub mod labels;
pub mod maps;
pub mod output;
pub mod policy;
pub mod snapshot;
pub mod sql;
pub mod tables;
pub mod user_sql;

pub use datafusion;
pub use error::QueryError;
pub use indicators::{
    AreaIndicators, AreaState, FlagCounts, FullCoverage, FundRisk, IndicatorQuery, Matching,
    RiskFlag, RiskThresholds, Threshold,
};
pub use output::{ColumnType, Output, Value};
pub use policy::{DEFAULT_POLICY, Eligibility, Policy};
pub use snapshot::{SandboxLimits, Snapshot, SnapshotCell};
pub use sql::{Range, Rollup};
pub use tables::{AreaRow, FundRow, SummaryRow, Tables, TablesBuilder};
pub use user_sql::{AnswerFormat, UserAnswer};

#[cfg(test)]
mod fixture_tests;

#[cfg(test)]
mod registry_tests;
#[cfg(test)]
mod rollup_tests;
