//! `welfare-hub funds import FILE`: check a fund registry and write it.

use std::path::PathBuf;

use anyhow::bail;
use welfare_connectors::registry::read_registry;
use welfare_hub::config::Config;
use welfare_hub::registry;
use welfare_hub::store::Actor;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check a fund registry (CSV or XLSX, Thai or English headings) as a whole and write it in one
    /// transaction: nothing changes if any line has a problem, and a re-import writes nothing.
    Import {
        /// The registry file: one line per fund (รหัสกองทุน, ชื่อกองทุน, รหัสตำบล, ประเภทกองทุน,
        /// เทศบาล, วันที่จัดตั้ง, วันที่ยุติ).
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
        tokio::task::spawn_blocking(move || read_registry(&file)).await?
    };
    let registry = match read {
        Ok(registry) => registry,
        Err(e) => bail!("{} is refused, nothing was written:\n{e}", file.display()),
    };
    let store = super::open_store(&config.database_url).await?;
    let plan = match registry::plan_import(&store, &registry).await {
        Ok(plan) => plan,
        Err(registry::RegistryRefusal::Invalid(e)) => {
            bail!("{} is refused, nothing was written:\n{e}", file.display())
        }
        Err(e) => return Err(e.into()),
    };
    for column in &registry.not_read {
        println!("not read (for people, not the hub): column {column}");
    }
    if !dry_run {
        registry::apply(&store, &plan, &Actor::command_line(), "funds.import").await?;
    }
    let networks = match plan.network_changes.len() {
        0 => String::new(),
        n => format!("; the funds of {n} networks changed"),
    };
    println!(
        "{} {}: {} funds: {} created, {} updated, {} unchanged, {} closed{networks}",
        if dry_run { "Would import" } else { "Imported" },
        file.display(),
        registry.lines.len(),
        plan.created,
        plan.updated,
        plan.unchanged,
        plan.closed
    );
    Ok(())
}
