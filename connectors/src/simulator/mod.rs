//! A simulator of fund systems. [`demo_data`] is its data: a seeded model of funds and ten years of
//! monthly summaries (documented in `docs/demo-data.md`).

pub mod api;
pub mod bookkeeping;
pub mod demo_data;
pub mod reports;
mod rng;

pub use demo_data::{DemoConfig, DemoData, FundPlan, TambonInfo};
