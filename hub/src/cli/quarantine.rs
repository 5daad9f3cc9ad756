//! `welfare-hub quarantine list`: the rows ingestion put aside, with where they were and why.

use welfare_hub::config::Config;
use welfare_hub::store::Quarantined;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
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

pub async fn run(mut config: Config, command: Command) -> anyhow::Result<()> {
    let Command::List {
        connector,
        all,
        limit,
        database_url,
    } = command;
    if let Some(url) = database_url {
        config.database_url = url;
    }
    let store = super::open_store(&config.database_url).await?;
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
    Ok(())
}

/// One quarantine entry as `quarantine list` prints it: connector, location, reason, and how it was
/// resolved.
fn quarantine_line(q: &Quarantined) -> String {
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
