//! Benchmark: one nightly pull of ~6,000 simulated funds on loopback, each through its own
//! `http_json` connector, into a fresh SQLite store, as `welfare-hub demo` and the nightly schedule do.
//!
//! Run with `cargo bench --bench pull` (release build). Reports the wall time, the time of each fund
//! run (pull + validate + commit), the simulator's share of it (the same requests timed alone), and
//! the process's peak resident memory. Environment: `WELFARE_HUB_GEOGRAPHY` (default
//! `../shared/data/thailand`), `BENCH_MONTHS` (default 120), `BENCH_CONCURRENCY` (default 8).

mod common;
use std::sync::Arc;
use std::time::{Duration, Instant};

use welfare_connectors::SourceConfig;
use welfare_geo::Bundle;
use welfare_hub::app::Hub;
use welfare_hub::config::Config;
use welfare_hub::ingest::ConnectorEntry;
use welfare_hub::store::{RunStatus, Store};
use welfare_model::Period;
use welfare_simulator::api::{FundApi, fund_config, start};
use welfare_simulator::{DemoConfig, DemoData};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let geography = common::geography_dir();
    let months: u32 = std::env::var("BENCH_MONTHS")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(120);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(8);

    let dir = tempfile::tempdir()?;
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?;
    let bundle = Bundle::load(&geography)?;
    store.import_geography(&bundle, "bench").await?;
    let tambons = welfare_hub::demo::tambons(&bundle);
    let config = DemoConfig {
        months,
        ..DemoConfig::ten_years(Period::new(2026, 10)?)
    };
    let data = Arc::new(DemoData::plan(&tambons, config));
    store.upsert_funds(&data.fund_list(), "bench").await?;
    let (addr, _api) = start(FundApi::from_demo(data.clone())).await?;
    let entries: Vec<ConnectorEntry> = data
        .funds
        .iter()
        .map(|f| ConnectorEntry {
            id: format!("api-{}", f.fund.id),
            name: None,
            enabled: true,
            schedule: None,
            timeout_secs: 600,
            max_attempts: 1,
            provinces: Vec::new(),
            source: SourceConfig::HttpJson(fund_config(addr, f.fund.id.as_str())),
        })
        .collect();
    let mut hub_config = Config::default();
    hub_config.scheduler.concurrency = concurrency;
    let hub = Hub::open(&hub_config, store.clone(), entries.clone()).await?;
    let rss_before = common::peak_rss_mb("self");

    // The nightly pull.
    let started = Instant::now();
    let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
    let mut tasks = hub.scheduler.run_many(&ids, "bench");
    let mut durations = Vec::with_capacity(entries.len());
    let mut rows = 0;
    let mut failed = 0;
    while let Some(joined) = tasks.join_next().await {
        let (_, results) = joined?;
        for r in results {
            durations.push(r.duration);
            rows += r.counts.accepted;
            failed += usize::from(r.status == RunStatus::Failed);
        }
    }
    let wall = started.elapsed();
    durations.sort();

    // The simulator alone: the same requests, timed without the hub's work.
    let client = reqwest::Client::new();
    let sample: Vec<&ConnectorEntry> = entries
        .iter()
        .step_by(entries.len().div_ceil(500).max(1))
        .collect();
    let mut fetch = Vec::new();
    for e in &sample {
        let SourceConfig::HttpJson(c) = &e.source else {
            continue;
        };
        let t = Instant::now();
        let body = client
            .get(format!("{}?page=1&per_page=200", c.url))
            .send()
            .await?
            .bytes()
            .await?;
        std::hint::black_box(body);
        fetch.push(t.elapsed());
    }
    fetch.sort();
    let fetch_mean = fetch.iter().sum::<Duration>().as_secs_f64() * 1000.0 / fetch.len() as f64;
    let run_mean =
        durations.iter().sum::<Duration>().as_secs_f64() * 1000.0 / durations.len() as f64;

    println!(
        "pull benchmark: {} funds, {} months each, concurrency {concurrency}, SQLite store",
        entries.len(),
        months
    );
    println!("  rows stored          {rows}");
    println!("  failed runs          {failed}");
    println!(
        "  wall time            {:.1} s ({:.2} ms per fund)",
        wall.as_secs_f64(),
        wall.as_secs_f64() * 1000.0 / entries.len() as f64
    );
    println!(
        "  run time per fund    mean {run_mean:.2} ms, p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        percentile(&durations, 0.5),
        percentile(&durations, 0.95),
        percentile(&durations, 1.0)
    );
    println!(
        "  simulator fetch      mean {fetch_mean:.2} ms (of {} sampled funds, fetched alone)",
        fetch.len()
    );
    println!(
        "  hub overhead         ~{:.2} ms per fund run (run time − simulator fetch)",
        run_mean - fetch_mean
    );
    println!(
        "  peak RSS             {:.0} MB (after setup {:.0} MB; simulator in the same process)",
        common::peak_rss_mb("self"),
        rss_before
    );
    Ok(())
}
