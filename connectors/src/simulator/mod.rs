//! A simulator of fund systems. [`demo_data`] is its data: a seeded model of funds and ten years of
//! monthly summaries (documented in `docs/demo-data.md`).

pub mod demo_data;
mod rng;

pub use demo_data::{DemoConfig, DemoData, FundPlan, TambonInfo};
