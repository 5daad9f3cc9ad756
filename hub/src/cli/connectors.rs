//! `welfare-hub connectors add|list|check|remove`: connectors kept in the store, beside those of the
//! configuration file, changed without a restart (a serving hub picks the store's changes up within
//! `scheduler.reconcile_secs`, 30 s by default). Each change is audited as the command line's.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Deserialize;
use welfare_hub::config::Config;
use welfare_hub::ingest::ConnectorEntry;
use welfare_hub::live::{CheckReport, ConnectorSet, LiveConnectors, check};
use welfare_hub::store::{Actor, ConnectorRecord, Origin};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Every connector the store knows: id, kind, where it is defined, provinces, enabled, last run.
    List {
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Adds the connectors of a TOML file (`[[connectors]]` tables as in welfare-hub.toml, or one
    /// bare table; `-` reads standard input), each checked, built and stored with its audit entry.
    Add {
        file: PathBuf,
        /// Replace connectors made earlier with the same ids (their cursors are kept).
        #[arg(long)]
        replace: bool,
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Pulls a connector's source once and shows what it would map, storing nothing: a stored or
    /// configured connector by id, or the first connector of a TOML file.
    Check {
        /// A connector's id.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        id: Option<String>,
        /// A TOML file with the connector to check (before adding it).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Removes a connector made over the API or with `connectors add`: it is never run again; its
    /// runs, quarantine and stored rows stay. A configuration file's connector is removed there.
    Remove {
        id: String,
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

/// The connectors of a TOML file: `[[connectors]]` tables, or one bare table (`-`: standard input).
fn read_entries(file: &PathBuf) -> anyhow::Result<Vec<ConnectorEntry>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Many {
        connectors: Vec<ConnectorEntry>,
    }
    let text = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", file.display()))?;
    // Read as the shape the file has, so that a mistake is reported against that shape.
    let entries = if table.contains_key("connectors") {
        toml::from_str::<Many>(&text).map(|m| m.connectors)
    } else {
        toml::from_str::<ConnectorEntry>(&text).map(|e| vec![e])
    };
    entries.with_context(|| file.display().to_string())
}

pub async fn run(mut config: Config, command: Command) -> anyhow::Result<()> {
    let url = match &command {
        Command::List { database_url }
        | Command::Add { database_url, .. }
        | Command::Check { database_url, .. }
        | Command::Remove { database_url, .. } => database_url.clone(),
    };
    if let Some(url) = url {
        config.database_url = url;
    }
    let store = super::open_store(&config.database_url).await?;
    let live = LiveConnectors {
        store: store.clone(),
        set: ConnectorSet::default(),
        scheduler: None,
    };
    let actor = Actor::command_line();
    match command {
        Command::List { .. } => {
            let last = store.last_runs().await?;
            let open = store.open_quarantine_counts().await?;
            let records = store.connectors().await?;
            for r in &records {
                let run = last.get(&r.id).map_or("never run".to_string(), |run| {
                    format!(
                        "last run {} {}",
                        run.status.as_str(),
                        run.finished_at.as_deref().unwrap_or(&run.started_at)
                    )
                });
                println!(
                    "{} | {} | {} | {} | {} | {run} | {} open quarantine",
                    r.id,
                    r.kind,
                    origin_words(r.origin),
                    provinces_words(&r.provinces),
                    if r.enabled { "enabled" } else { "disabled" },
                    open.get(&r.id).copied().unwrap_or(0)
                );
            }
            println!("{} connectors", records.len());
        }
        Command::Add { file, replace, .. } => {
            let entries = read_entries(&file)?;
            for entry in entries {
                let id = entry.id.clone();
                let record = if replace && store.connector_record(&id).await?.is_some() {
                    live.replace(entry, &actor).await
                } else {
                    live.create(entry, &actor).await
                }
                .with_context(|| format!("connector {id} was not added"))?;
                println!(
                    "Added connector {} ({}, {}); a serving hub schedules it within scheduler.reconcile_secs",
                    record.id,
                    record.kind,
                    provinces_words(&record.provinces)
                );
            }
        }
        Command::Check { id, file, .. } => {
            let entry = match (id, file) {
                (_, Some(file)) => read_entries(&file)?
                    .into_iter()
                    .next()
                    .context("the file holds no connector")?,
                (Some(id), None) => match config.connectors.iter().find(|e| e.id == id) {
                    Some(e) => e.clone(),
                    None => {
                        let record = store
                            .connector_record(&id)
                            .await?
                            .with_context(|| format!("no connector {id}"))?;
                        ConnectorEntry::from_record(&record).map_err(anyhow::Error::msg)?
                    }
                },
                (None, None) => bail!("name a connector's id, or --file FILE"),
            };
            let report = check(&entry).await;
            print!("{}", check_text(&report));
            if !report.ok {
                bail!("connector {} could not read its source", report.connector);
            }
        }
        Command::Remove { id, .. } => {
            let removed: ConnectorRecord = live
                .remove(&id, &actor)
                .await
                .with_context(|| format!("connector {id} was not removed"))?;
            println!(
                "Removed connector {} ({}); its runs, quarantine and rows stay",
                removed.id, removed.kind
            );
        }
    }
    Ok(())
}

fn origin_words(origin: Origin) -> &'static str {
    match origin {
        Origin::Configuration => "configuration file",
        Origin::Api => "api",
    }
}

fn provinces_words(provinces: &[String]) -> String {
    if provinces.is_empty() {
        "national".to_string()
    } else {
        format!("provinces {}", provinces.join(", "))
    }
}

/// What `connectors check` prints.
fn check_text(r: &CheckReport) -> String {
    let mut text = format!("Connector {} ({})\n", r.connector, r.kind);
    if let Some(e) = &r.error {
        text.push_str(&format!("  cannot read the source: {e}\n"));
        return text;
    }
    text.push_str(&format!(
        "  {} rows read, {} unreadable\n  fields: {}\n",
        r.rows,
        r.rejected,
        r.fields.join(", ")
    ));
    for c in &r.unrecognised {
        text.push_str(&format!(
            "  column feeds no field: {} ({})\n",
            c.heading, c.location
        ));
    }
    for rejected in &r.first_rejected {
        text.push_str(&format!(
            "  unreadable: {}: {}\n",
            rejected.location, rejected.reason
        ));
    }
    for row in &r.first_rows {
        text.push_str(&format!("  row: {row}\n"));
    }
    text
}
