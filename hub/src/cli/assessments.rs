//! `welfare-hub assessments import FILE`: check governance assessments and write them.

use std::path::PathBuf;

use anyhow::bail;
use welfare_connectors::assessments::read_assessments;
use welfare_hub::assessments;
use welfare_hub::config::Config;
use welfare_hub::store::Actor;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check governance assessments (CSV or XLSX, Thai or English headings) as a whole and write them
    /// in one transaction: nothing changes if any line has a problem, and a re-import writes nothing.
    Import {
        /// The assessment file: one line per fund and assessment (รหัสกองทุน, วันที่ประเมิน,
        /// แบบประเมิน, ระดับ, then one column of scores per dimension: ธรรมาภิบาล, คุณธรรม, …).
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
    let today = chrono::Utc::now()
        .with_timezone(&welfare_model::bangkok())
        .date_naive();
    let read = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || read_assessments(&file, today)).await?
    };
    let read = match read {
        Ok(read) => read,
        Err(e) => bail!("{} is refused, nothing was written:\n{e}", file.display()),
    };
    let store = super::open_store(&config.database_url).await?;
    let plan = match assessments::plan_import(&store, &read).await {
        Ok(plan) => plan,
        Err(assessments::AssessmentRefusal::Invalid(e)) => {
            bail!("{} is refused, nothing was written:\n{e}", file.display())
        }
        Err(e) => return Err(e.into()),
    };
    for column in &read.not_read {
        println!("not read (for people, not the hub): column {column}");
    }
    if !dry_run {
        assessments::apply(&store, &plan, &Actor::command_line(), "assessments.import").await?;
    }
    println!(
        "{} {}: {} assessments ({} dimensions): {} created, {} updated, {} unchanged",
        if dry_run { "Would import" } else { "Imported" },
        file.display(),
        read.lines.len(),
        read.dimensions.len(),
        plan.created,
        plan.updated,
        plan.unchanged
    );
    Ok(())
}
