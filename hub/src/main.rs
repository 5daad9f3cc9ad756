//! The `welfare-hub` command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use welfare_hub::app::Hub;
use welfare_hub::config::{Config, LogFormat};
use welfare_hub::store::{Backend, Store, redact_url};
use welfare_hub::{demo, geography, pull, server};
use welfare_model::Period;
use welfare_simulator::DemoConfig;

#[derive(Debug, Parser)]
#[command(
    name = "welfare-hub",
    version,
    about = "Welfare Hub: federates Thailand's community welfare funds"
)]
struct Cli {
    /// Configuration file (TOML); default: welfare-hub.toml in the working directory, if present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and pages.
    Serve {
        /// Address to listen on (HOST:PORT; port 0 picks a free one).
        #[arg(long, value_name = "HOST:PORT")]
        bind: Option<SocketAddr>,
        /// sqlite://PATH or postgres://USER@HOST:PORT/DB.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Fresh demo: import the geography, generate funds and ten years of reports, then serve.
    Demo {
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
    },
    /// Pull connectors now, once each (with retries for transient failures), showing progress.
    Pull {
        /// Every enabled connector.
        #[arg(long, conflicts_with = "connector")]
        all: bool,
        /// A connector id (repeatable).
        #[arg(long, value_name = "ID")]
        connector: Vec<String>,
        /// Re-read each source whole, regardless of its saved cursor (after fixing a registry
        /// problem, say); unchanged rows stay unchanged.
        #[arg(long)]
        full: bool,
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Rows put aside by ingestion, with where they were and why.
    Quarantine {
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// Reference geography.
    Geography {
        #[command(subcommand)]
        command: GeographyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum QuarantineCommand {
    /// Open entries, newest first: location and reason (with --all, resolved ones too).
    List {
        /// Only this connector's entries.
        #[arg(long, value_name = "ID")]
        connector: Option<String>,
        /// Include entries resolved by a later run.
        #[arg(long)]
        all: bool,
        /// At most this many entries.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum GeographyCommand {
    /// Check a geography bundle and load it (one transaction; nothing changes if it has a problem).
    Import {
        /// The bundle directory (province.csv, amphoe.csv, tambon.csv, …, geojson/).
        dir: PathBuf,
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn open_store(url: &str) -> anyhow::Result<Store> {
    tracing::info!(database = %redact_url(url), "opening store");
    Store::open(url)
        .await
        .with_context(|| format!("cannot open the store at {}", redact_url(url)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    init_logging(&config);
    match cli.command {
        Command::Serve { bind, database_url } => {
            if let Some(bind) = bind {
                config.bind = bind;
            }
            if let Some(url) = database_url {
                config.database_url = url;
            }
            let store = open_store(&config.database_url).await?;
            let hub = Hub::open(&config, store, Vec::new()).await?;
            let (listener, _) = server::bind(config.bind)
                .await
                .with_context(|| format!("cannot listen on {}", config.bind))?;
            server::serve(listener, hub.state()).await?;
        }
        Command::Pull {
            all,
            connector,
            full,
            database_url,
        } => {
            if let Some(url) = database_url {
                config.database_url = url;
            }
            let store = open_store(&config.database_url).await?;
            let hub = Hub::open(&config, store, Vec::new()).await?;
            let ids: Vec<String> = if all {
                hub.entries
                    .iter()
                    .filter(|e| e.enabled)
                    .map(|e| e.id.clone())
                    .collect()
            } else {
                for id in &connector {
                    if !hub.scheduler.knows(id) {
                        bail!("no connector {id} in the configuration");
                    }
                }
                connector
            };
            if ids.is_empty() {
                bail!(
                    "nothing to pull: name --connector ID or --all (and configure [[connectors]])"
                );
            }
            if full {
                // The cursor is forgotten before the run; if the run fails, the next one reads the
                // whole source again too, which stores nothing twice.
                for id in &ids {
                    hub.store.clear_cursor(id).await?;
                }
            }
            let trigger = if full { "manual (full)" } else { "manual" };
            let failed = pull::pull_all(&hub, &ids, trigger, pull::Detail::EveryConnector).await;
            if failed > 0 {
                bail!(
                    "{failed} of {} connectors failed or had their source refused; see their runs",
                    ids.len()
                );
            }
        }
        Command::Quarantine {
            command:
                QuarantineCommand::List {
                    connector,
                    all,
                    limit,
                    database_url,
                },
        } => {
            if let Some(url) = database_url {
                config.database_url = url;
            }
            let store = open_store(&config.database_url).await?;
            let entries = store
                .quarantine_entries(connector.as_deref(), all, limit)
                .await?;
            for q in &entries {
                println!("{}", quarantine_line(q));
            }
            let what = if all {
                "quarantine entries"
            } else {
                "open quarantine entries"
            };
            match &connector {
                Some(id) => println!("{} {what} of connector {id}", entries.len()),
                None => println!("{} {what}", entries.len()),
            }
        }
        Command::Demo {
            bind,
            database_url,
            geography: geography_dir,
            seed,
            last_period,
            months,
            no_serve,
        } => {
            if let Some(months) = months {
                config.demo.months = months;
                config.validate()?;
            }
            if let Some(bind) = bind {
                config.bind = bind;
            }
            if let Some(dir) = geography_dir {
                config.geography_dir = dir;
            }
            let fresh_default = database_url.is_none();
            let url = database_url.unwrap_or_else(|| config.demo.database_url.clone());
            if fresh_default {
                remove_sqlite_file(&url)?;
            }
            let store = open_store(&url).await?;
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
            let last_period = match last_period {
                Some(text) => Period::parse(&text)?,
                None => Period::latest_due(
                    chrono::Local::now().date_naive(),
                    config.reports.deadline_day,
                ),
            };
            let demo_config = DemoConfig {
                seed: seed.unwrap_or(config.demo.seed),
                last_period,
                months: config.demo.months,
                deadline_day: config.reports.deadline_day,
            };
            let started = std::time::Instant::now();
            let sources_dir = demo_sources_dir(&url);
            let sources = demo::prepare(&store, &bundle, demo_config, &sources_dir).await?;
            let hub = Hub::open(&config, store.clone(), sources.entries.clone()).await?;
            let ids: Vec<String> = sources.entries.iter().map(|e| e.id.clone()).collect();
            let failed = pull::pull_all(&hub, &ids, "demo", pull::Detail::FailuresOnly).await;
            hub.analytics.rebuild().await?;
            let report = demo::report(&store, &sources, started).await?;
            println!(
                "Demo loaded in {:.1} s: {} funds through {} connectors ({} failed), monthly summaries {}–{}; at {}: {} funds reporting, {} members, fund balance {} baht",
                report.elapsed.as_secs_f64(),
                report.funds,
                report.connectors,
                failed,
                report.first_period,
                report.last_period,
                report.last_period,
                report.totals.funds_reporting,
                report.totals.members,
                report.totals.fund_balance,
            );
            if !no_serve {
                let (listener, _) = server::bind(config.bind)
                    .await
                    .with_context(|| format!("cannot listen on {}", config.bind))?;
                server::serve(listener, hub.state()).await?;
            }
            drop(sources);
        }
        Command::Geography {
            command: GeographyCommand::Import { dir, database_url },
        } => {
            if let Some(url) = database_url {
                config.database_url = url;
            }
            let store = open_store(&config.database_url).await?;
            let (bundle, report) = geography::import(&store, &dir, "cli").await?;
            println!(
                "Geography {}: {} provinces, {} districts, {} tambons, population {} ({}); written: {} areas, {} population rows, {} boundaries{}",
                dir.display(),
                bundle.count(welfare_model::Level::Province),
                bundle.count(welfare_model::Level::District),
                bundle.count(welfare_model::Level::Subdistrict),
                bundle.national_population(),
                bundle.population_year,
                report.areas_written,
                report.population_written,
                report.boundaries_written,
                if report.changed() {
                    ""
                } else {
                    " (already up to date)"
                },
            );
        }
    }
    Ok(())
}

/// One quarantine entry as `quarantine list` prints it: connector, location, reason, and how it was
/// resolved.
fn quarantine_line(q: &welfare_hub::store::Quarantined) -> String {
    let mut line = format!(
        "{} | {} | {}",
        q.connector_id.as_deref().unwrap_or("-"),
        q.location,
        q.reason
    );
    if let (Some(at), Some(run)) = (&q.resolved_at, q.resolved_by_run) {
        line.push_str(&format!(" | resolved {at} by run {run}"));
    }
    line
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
