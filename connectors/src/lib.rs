//! Welfare Hub connectors: they turn what fund systems offer into canonical summary rows.
//!
//! - [`source`]: the [`Connector`] trait every kind implements, and what a pull returns.
//! - [`mapping`]: one way to read fields and values from any source (Thai and English names, Thai
//!   digits, Buddhist-era dates, baht amounts).
//! - [`batch`]: canonical summaries as Arrow batches.
//! - [`pipeline`]: the pull pipeline every kind shares (mapping, batching, the content digest).
//! - [`redact`]: credentials masked in any text the hub shows or keeps.
//! - [`config`]: the configuration of a source, tagged by kind, which builds its connector.
//! - one module per kind: [`file`], [`http_json`], [`sql`].
//! - `compliance` (cargo feature `compliance`): the compliance test every kind passes, run by the
//!   integration tests on every kind against the simulator (crate `welfare-simulator`).

pub mod assessments;
pub mod batch;
#[cfg(feature = "compliance")]
pub mod compliance;
pub mod config;
pub mod file;
pub mod http_json;
pub mod mapping;
pub mod networks;
pub mod pipeline;
pub mod redact;
pub mod registry;
pub mod source;
pub mod sql;

pub use config::SourceConfig;
pub use source::{
    Connector, ConnectorError, Cursor, Pull, Rejected, Secret, SourcedBatch, UnrecognisedColumn,
};
