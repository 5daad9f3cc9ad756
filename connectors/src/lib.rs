//! Welfare Hub connectors: they turn what fund systems offer into canonical summary rows.
//!
//! [`simulator`] stands in for the fund systems themselves: it generates realistic, deterministic funds
//! and monthly reports on the real tambon codes, for the demo, tests and benchmarks.

pub mod simulator;
