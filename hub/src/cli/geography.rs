//! `welfare-hub geography import DIR`: check a geography bundle and load it.

use std::path::PathBuf;

use welfare_hub::config::Config;
use welfare_hub::geography;
use welfare_model::Level;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check a geography bundle and load it (one transaction; nothing changes if it has a problem).
    Import {
        /// The bundle directory (province.csv, amphoe.csv, tambon.csv, …, geojson/).
        dir: PathBuf,
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

pub async fn run(mut config: Config, command: Command) -> anyhow::Result<()> {
    let Command::Import { dir, database_url } = command;
    if let Some(url) = database_url {
        config.database_url = url;
    }
    let store = super::open_store(&config.database_url).await?;
    let (bundle, report) = geography::import(&store, &dir, "command line").await?;
    println!(
        "Geography {}: {} provinces, {} districts, {} tambons, population {} ({}); written: {} areas, {} population rows, {} boundaries{}",
        dir.display(),
        bundle.count(Level::Province),
        bundle.count(Level::District),
        bundle.count(Level::Subdistrict),
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
    Ok(())
}
