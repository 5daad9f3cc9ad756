//! Welfare Hub: the service and command line. It wires the connectors, the store, the analytics and
//! the geometry together and is the only crate that decides I/O policy.

pub mod access;
pub mod analytics;
pub mod answers;
pub mod api;
pub mod app;
pub mod assessments;
pub mod config;
pub mod demo;
pub mod geography;
pub mod ingest;
pub mod live;
pub mod logging;
pub mod maps;
pub mod networks;
pub mod registry;
pub mod scheduler;
pub mod server;
pub mod store;

pub use config::Config;
pub use store::{Store, StoreError};
