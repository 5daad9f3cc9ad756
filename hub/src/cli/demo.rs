//! `welfare-hub demo`: a fresh store with the geography, simulated funds and years of reports
//! pulled through their connectors, then (unless `--no-serve`) served.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use welfare_hub::app::Hub;
use welfare_hub::config::Config;
use welfare_hub::store::{Backend, redact_url};
use welfare_hub::{demo, geography};
use welfare_model::Period;
use welfare_simulator::DemoConfig;

use super::pull::{Detail, pull_all};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_name = "HOST:PORT")]
    bind: Option<SocketAddr>,
    /// Store for the demo (default: a fresh SQLite file, data/demo.db). Must hold no funds yet.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Geography bundle directory.
    #[arg(long, value_name = "DIR")]
    geography: Option<PathBuf>,
    /// Random seed of the generated data.
    #[arg(long)]
    seed: Option<u64>,
    /// Last month with reports (default: the latest month whose reports are due today).
    #[arg(long, value_name = "YYYY-MM")]
    last_period: Option<String>,
    /// Months of reports to generate, ending at the last period (default 120: ten years).
    #[arg(long)]
    months: Option<u32>,
    /// Load the demo and exit instead of serving.
    #[arg(long)]
    no_serve: bool,
}

pub async fn run(mut config: Config, args: Args) -> anyhow::Result<()> {
    if let Some(months) = args.months {
        config.demo.months = months;
        config.validate()?;
    }
    if let Some(bind) = args.bind {
        config.bind = bind;
    }
    if let Some(dir) = args.geography {
        config.geography_dir = dir;
    }
    let fresh_default = args.database_url.is_none();
    let url = args
        .database_url
        .unwrap_or_else(|| config.demo.database_url.clone());
    if fresh_default {
        remove_sqlite_file(&url)?;
    }
    let store = super::open_store(&url).await?;
    if store.count_funds().await? > 0 {
        bail!(
            "the store at {} already holds funds; the demo needs an empty store (or omit --database-url for a fresh SQLite file)",
            redact_url(&url)
        );
    }
    let (bundle, imported) = geography::import(&store, &config.geography_dir, "demo")
        .await
        .with_context(|| format!("geography bundle {}", config.geography_dir.display()))?;
    tracing::info!(?imported, "geography imported");
    let last_period = match args.last_period {
        Some(text) => Period::parse(&text)?,
        None => Period::latest_due(
            chrono::Local::now().date_naive(),
            config.reports.deadline_day,
        ),
    };
    let demo_config = DemoConfig {
        seed: args.seed.unwrap_or(config.demo.seed),
        last_period,
        months: config.demo.months,
        deadline_day: config.reports.deadline_day,
    };
    let started = std::time::Instant::now();
    let sources_dir = demo_sources_dir(&url);
    let sources = demo::prepare(&store, &bundle, demo_config, &sources_dir).await?;
    let hub = Hub::open(&config, store.clone(), sources.entries.clone()).await?;
    let ids: Vec<String> = sources.entries.iter().map(|e| e.id.clone()).collect();
    let failed = pull_all(&hub.scheduler, &ids, "demo", Detail::FailuresOnly).await;
    hub.analytics.rebuild().await?;
    let report = demo::report(&hub.analytics, &sources, started).await?;
    println!(
        "Demo loaded in {:.1} s: {} funds through {} connectors ({} failed), monthly summaries {}–{}; at {}: {} funds reporting, {} members of {} people, coverage {} %",
        report.elapsed.as_secs_f64(),
        report.funds,
        report.connectors,
        failed,
        report.first_period,
        report.last_period,
        report.last_period,
        report.totals.funds_reporting,
        report.totals.members,
        report.totals.population,
        report
            .totals
            .coverage
            .map_or("-".to_string(), |c| c.normalize().to_string()),
    );
    if !args.no_serve {
        super::serve::listen(&config, &hub).await?;
    }
    drop(sources);
    Ok(())
}

/// Where the demo writes its simulated sources: beside a SQLite store, else under `data/`.
fn demo_sources_dir(url: &str) -> PathBuf {
    match Backend::of_url(url) {
        Ok(Backend::Sqlite) => {
            let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
            let path = path.split('?').next().unwrap_or(path);
            PathBuf::from(format!("{path}.sources"))
        }
        _ => PathBuf::from("data/demo.sources"),
    }
}

/// The demo's default store is recreated on every run.
fn remove_sqlite_file(url: &str) -> anyhow::Result<()> {
    if Backend::of_url(url)? != Backend::Sqlite {
        return Ok(());
    }
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove the old demo store {file}"));
            }
        }
    }
    Ok(())
}
