//! Welfare Hub's simulator of fund systems, for the demo, the tests and the benchmarks. [`demo_data`]
//! is its data: a seeded model of funds and ten years of monthly summaries (documented in
//! `docs/demo-data.md`).
//!
//! - [`reports`]: report files as a fund clerk makes them (CSV, XLSX), read by the `file` kind.
//! - [`api`]: fund APIs on loopback, with faults on demand, read by the `http_json` kind.
//! - [`bookkeeping`]: a fund's bookkeeping database (MariaDB, PostgreSQL, SQLite), read by the `sql`
//!   kind.
//! - [`servers`]: throwaway databases on the test servers.

pub mod api;
pub mod bookkeeping;
pub mod demo_data;
pub mod reports;
mod rng;
pub mod servers;

pub use demo_data::{DemoConfig, DemoData, FundPlan, TambonInfo};
