//! Pulling many connectors now, with a progress bar: `welfare-hub pull` and the demo's first load.

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinSet;

use crate::app::Hub;
use crate::ingest::RunResult;
use crate::store::{RunCounts, RunStatus};

/// Starts each connector of `ids` once (with retries) on the hub's scheduler, which keeps to its
/// concurrency limit; each task ends with the connector's id and its attempts.
pub fn run_many(hub: &Hub, ids: &[String], trigger: &str) -> JoinSet<(String, Vec<RunResult>)> {
    let mut tasks = JoinSet::new();
    for id in ids {
        let scheduler = hub.scheduler.clone();
        let id = id.clone();
        let trigger = trigger.to_string();
        tasks.spawn(async move {
            let results = scheduler.run_with_retries(&id, &trigger).await;
            (id, results)
        });
    }
    tasks
}

/// Runs each connector of `ids` once (with retries), `scheduler.concurrency` at a time, and prints a
/// summary. Returns how many ended failed.
pub async fn pull_all(hub: &Hub, ids: &[String], trigger: &str) -> usize {
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
    let mut failed = Vec::new();
    let mut runs = run_many(hub, ids, trigger);
    while let Some(joined) = runs.join_next().await {
        let Ok((id, results)) = joined else { continue };
        match results.last() {
            Some(r) if r.status == RunStatus::Succeeded => {
                total.accepted += r.counts.accepted;
                total.revised += r.counts.revised;
                total.unchanged += r.counts.unchanged;
                total.rejected += r.counts.rejected;
            }
            Some(r) => failed.push((id, r.error.clone().unwrap_or_default())),
            None => failed.push((id, "not run".into())),
        }
        bar.inc(1);
        bar.set_message(format!("{} failed", failed.len()));
    }
    bar.finish_and_clear();
    println!(
        "Pulled {} connectors: {} new rows, {} revised, {} unchanged, {} quarantined; {} failed",
        ids.len(),
        total.accepted,
        total.revised,
        total.unchanged,
        total.rejected,
        failed.len()
    );
    for (id, error) in failed.iter().take(20) {
        println!("  failed: {id}: {error}");
    }
    if failed.len() > 20 {
        println!("  … and {} more", failed.len() - 20);
    }
    failed.len()
}
