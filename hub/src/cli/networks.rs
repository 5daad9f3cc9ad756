//! `welfare-hub networks import FILE`: check a file of networks and write it.

use std::path::PathBuf;

use anyhow::bail;
use welfare_connectors::networks::read_networks;
use welfare_hub::config::Config;
use welfare_hub::networks;
use welfare_hub::store::Actor;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check a file of networks (CSV or XLSX, Thai or English headings) as a whole and write it in
    /// one transaction: nothing changes if any line has a problem, and a re-import writes nothing.
    Import {
        /// The network file: one line per network and fund (รหัสเครือข่าย, ชื่อเครือข่าย,
        /// ชื่อเครือข่ายภาษาอังกฤษ, รหัสกองทุน); with a fund column, each network's funds become
        /// exactly those listed.
        file: PathBuf,
        /// Check and show what would change, writing nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

pub async fn run(mut config: Config, command: Command) -> anyhow::Result<()> {
    let Command::Import {
        file,
        dry_run,
        database_url,
    } = command;
    if let Some(url) = database_url {
        config.database_url = url;
    }
    let read = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || read_networks(&file)).await?
    };
    let read = match read {
        Ok(read) => read,
        Err(e) => bail!("{} is refused, nothing was written:\n{e}", file.display()),
    };
    let store = super::open_store(&config.database_url).await?;
    let plan = match networks::plan_import(&store, &read).await {
        Ok(plan) => plan,
        Err(networks::NetworkRefusal::Invalid(e)) => {
            bail!("{} is refused, nothing was written:\n{e}", file.display())
        }
        Err(e) => return Err(e.into()),
    };
    for column in &read.not_read {
        println!("not read (for people, not the hub): column {column}");
    }
    if !dry_run {
        networks::apply(&store, &plan, &Actor::command_line(), "networks.import").await?;
    }
    println!(
        "{} {}: {} networks: {} created, {} updated, {} unchanged; {} memberships",
        if dry_run { "Would import" } else { "Imported" },
        file.display(),
        read.networks.len(),
        plan.created,
        plan.updated,
        plan.unchanged,
        plan.memberships
    );
    Ok(())
}
