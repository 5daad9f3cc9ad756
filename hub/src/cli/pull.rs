//! `welfare-hub pull`: pulling connectors now, with a progress bar (also the demo's first load).

use std::fmt::Write as _;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use welfare_hub::app::Pipeline;
use welfare_hub::config::Config;
use welfare_hub::ingest::RunResult;
use welfare_hub::scheduler::Scheduler;
use welfare_hub::store::{RunCounts, RunStatus};
use welfare_model::thai::quoted;

#[derive(Debug, clap::Args)]
pub struct Args {
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
}

pub async fn run(mut config: Config, args: Args) -> anyhow::Result<()> {
    if let Some(url) = args.database_url {
        config.database_url = url;
    }
    let store = super::open_store(&config.database_url).await?;
    // Only the store and the connectors: pulling needs no analytics snapshot and no map geometry.
    let hub = Pipeline::open(&config, store, Vec::new()).await?;
    let ids: Vec<String> = if args.all {
        hub.live
            .set
            .all()
            .iter()
            .filter(|l| l.entry.enabled)
            .map(|l| l.entry.id.clone())
            .collect()
    } else {
        for id in &args.connector {
            if !hub.scheduler.knows(id) {
                bail!("no connector {id} in the configuration");
            }
        }
        args.connector
    };
    if ids.is_empty() {
        bail!("nothing to pull: name --connector ID or --all (and configure [[connectors]])");
    }
    if args.full {
        // The cursor is forgotten before the run; if the run fails, the next one reads the
        // whole source again too, which stores nothing twice.
        for id in &ids {
            hub.store.clear_cursor(id).await?;
        }
    }
    let trigger = if args.full { "manual (full)" } else { "manual" };
    let failed = pull_all(&hub.scheduler, &ids, trigger, Detail::EveryConnector).await;
    if failed > 0 {
        bail!(
            "{failed} of {} connectors failed or had their source refused; see their runs",
            ids.len()
        );
    }
    Ok(())
}

/// How much `pull_all` prints per connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// A line for every connector (what it stored, quarantined, could not map, or why it failed).
    EveryConnector,
    /// Totals, and the failed connectors (the demo's thousands of connectors).
    FailuresOnly,
}

/// The lines of one connector's summary: its last attempt's counts, unrecognised columns with their
/// headings, or the refusal or failure with its reason.
fn connector_summary(id: &str, result: Option<&RunResult>) -> String {
    let mut out = String::new();
    match result {
        None => {
            let _ = write!(out, "{id}: not run");
        }
        Some(r) if r.status == RunStatus::Succeeded => {
            let c = r.counts;
            let _ = write!(
                out,
                "{id}: {} new, {} revised, {} unchanged, {} quarantined",
                c.accepted, c.revised, c.unchanged, c.rejected
            );
            if !r.unrecognised.is_empty() {
                let _ = write!(out, "; {} unrecognised columns:", r.unrecognised.len());
                for column in &r.unrecognised {
                    let _ = write!(
                        out,
                        "\n  unrecognised column {} at {}",
                        quoted(&column.heading),
                        column.location
                    );
                }
            }
        }
        Some(r) => {
            let what = if r.refused { "refused" } else { "failed" };
            let _ = write!(
                out,
                "{id}: {what}: {} (run {})",
                r.error.as_deref().unwrap_or("no reason recorded"),
                r.run_id
            );
        }
    }
    out
}

/// Runs each connector of `ids` once (with retries), `scheduler.concurrency` at a time, and prints a
/// summary. Returns how many ended failed (a refused source is a failed run).
pub async fn pull_all(
    scheduler: &Scheduler,
    ids: &[String],
    trigger: &str,
    detail: Detail,
) -> usize {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(ids.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} connectors  {elapsed_precise}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut total = RunCounts::default();
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut failed = Vec::new();
    let mut refused = 0;
    let mut runs = scheduler.run_many(ids, trigger);
    while let Some(joined) = runs.join_next().await {
        let (id, results) = match joined {
            Ok(done) => done,
            Err(e) => {
                failed.push(format!("a pull task ended abnormally: {e}"));
                continue;
            }
        };
        let last = results.last();
        match last {
            Some(r) if r.status == RunStatus::Succeeded => {
                total.accepted += r.counts.accepted;
                total.revised += r.counts.revised;
                total.unchanged += r.counts.unchanged;
                total.rejected += r.counts.rejected;
            }
            Some(r) => {
                refused += usize::from(r.refused);
                failed.push(connector_summary(&id, last));
            }
            None => failed.push(connector_summary(&id, None)),
        }
        if detail == Detail::EveryConnector {
            lines.push((id.clone(), connector_summary(&id, last)));
        }
        bar.inc(1);
        bar.set_message(format!("{} failed", failed.len()));
    }
    bar.finish_and_clear();
    lines.sort();
    for (_, line) in &lines {
        println!("{line}");
    }
    println!(
        "Pulled {} connectors: {} new rows, {} revised, {} unchanged, {} quarantined; {} failed ({} refused)",
        ids.len(),
        total.accepted,
        total.revised,
        total.unchanged,
        total.rejected,
        failed.len(),
        refused
    );
    if detail == Detail::FailuresOnly {
        failed.sort();
        for line in failed.iter().take(20) {
            println!("  {line}");
        }
        if failed.len() > 20 {
            println!("  … and {} more", failed.len() - 20);
        }
    }
    failed.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use welfare_connectors::UnrecognisedColumn;

    fn result(status: RunStatus) -> RunResult {
        RunResult {
            run_id: 7,
            connector_id: "c1".into(),
            status,
            counts: RunCounts {
                accepted: 5,
                rejected: 2,
                unchanged: 1,
                revised: 3,
            },
            error: None,
            transient: false,
            duration: std::time::Duration::ZERO,
            refused: false,
            unrecognised: Vec::new(),
        }
    }

    #[test]
    fn a_summary_names_counts_unrecognised_columns_and_refusals() {
        let mut ok = result(RunStatus::Succeeded);
        assert_eq!(
            connector_summary("c1", Some(&ok)),
            "c1: 5 new, 3 revised, 1 unchanged, 2 quarantined"
        );
        ok.unrecognised = vec![UnrecognisedColumn {
            location: "report.csv line 1 column 7".into(),
            heading: "หมายเหตุ".into(),
        }];
        assert_eq!(
            connector_summary("c1", Some(&ok)),
            "c1: 5 new, 3 revised, 1 unchanged, 2 quarantined; 1 unrecognised columns:\n  unrecognised column \"หมายเหตุ\" at report.csv line 1 column 7"
        );
        let mut refused = result(RunStatus::Failed);
        refused.refused = true;
        refused.error = Some("source content: report.csv: no data rows".into());
        assert_eq!(
            connector_summary("c1", Some(&refused)),
            "c1: refused: source content: report.csv: no data rows (run 7)"
        );
        refused.refused = false;
        assert!(connector_summary("c1", Some(&refused)).starts_with("c1: failed: source content"));
        assert_eq!(connector_summary("c2", None), "c2: not run");
    }
}
