//! The command line's definitions (clap), logging, and one module per command. Only `serve` and
//! `demo` build the analytics snapshot and the map geometry; the other commands open the store (and,
//! for `pull`, the connectors) only.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use welfare_hub::config::Config;
use welfare_hub::store::{Store, redact_url};

mod assessments;
mod connectors;
mod demo;
mod funds;
mod geography;
mod networks;
mod pull;
mod quarantine;
mod serve;
mod token;

#[derive(Debug, Parser)]
#[command(
    name = "welfare-hub",
    version,
    about = "Welfare Hub: federates Thailand's community welfare funds"
)]
pub struct Cli {
    /// Configuration file (TOML); default: welfare-hub.toml in the working directory, if present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and pages.
    Serve(serve::Args),
    /// Fresh demo: import the geography, generate funds and ten years of reports, then serve.
    Demo(demo::Args),
    /// Pull connectors now, once each (with retries for transient failures), showing progress.
    Pull(pull::Args),
    /// Connectors kept in the store: add, list, check, remove (no restart).
    Connectors {
        #[command(subcommand)]
        command: connectors::Command,
    },
    /// Rows put aside by ingestion, with where they were and why.
    Quarantine {
        #[command(subcommand)]
        command: quarantine::Command,
    },
    /// The fund registry.
    Funds {
        #[command(subcommand)]
        command: funds::Command,
    },
    /// Networks: named sets of funds across the area hierarchy.
    Networks {
        #[command(subcommand)]
        command: networks::Command,
    },
    /// Governance assessments of funds (the national standard form).
    Assessments {
        #[command(subcommand)]
        command: assessments::Command,
    },
    /// Reference geography.
    Geography {
        #[command(subcommand)]
        command: geography::Command,
    },
    /// API tokens: roles and scopes for people and systems.
    Token {
        #[command(subcommand)]
        command: token::Command,
    },
    /// Print the OpenAPI 3.1 document of the HTTP API (what `GET /api/v1/openapi.json` serves).
    Openapi,
}

/// Loads the configuration, starts logging and runs the command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Openapi = cli.command {
        // Needs no configuration, store or log: a client generator can run it anywhere.
        println!(
            "{}",
            serde_json::to_string_pretty(&welfare_hub::api::openapi_document())?
        );
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config);
    match cli.command {
        Command::Serve(args) => serve::run(config, args).await,
        Command::Demo(args) => demo::run(config, args).await,
        Command::Pull(args) => pull::run(config, args).await,
        Command::Connectors { command } => connectors::run(config, command).await,
        Command::Quarantine { command } => quarantine::run(config, command).await,
        Command::Funds { command } => funds::run(config, command).await,
        Command::Networks { command } => networks::run(config, command).await,
        Command::Assessments { command } => assessments::run(config, command).await,
        Command::Geography { command } => geography::run(config, command).await,
        Command::Token { command } => token::run(config, command).await,
        Command::Openapi => Ok(()),
    }
}

fn init_logging(config: &Config) {
    welfare_hub::logging::init(config);
}

/// Opens the store at `url`, naming it (without its password) when it cannot be opened.
async fn open_store(url: &str) -> anyhow::Result<Store> {
    tracing::info!(database = %redact_url(url), "opening store");
    Store::open(url)
        .await
        .with_context(|| format!("cannot open the store at {}", redact_url(url)))
}
