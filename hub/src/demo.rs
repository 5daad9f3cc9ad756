//! `welfare-hub demo`: a fresh store with the real geography and generated funds and reports.

use std::time::{Duration, Instant};

use welfare_connectors::simulator::{DemoConfig, DemoData, TambonInfo};
use welfare_geo::Bundle;
use welfare_model::{Level, Period};

use crate::store::{RunCounts, RunStatus, StockTotals, Store, StoreError};

/// What the demo loaded.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub funds: usize,
    pub summaries: u64,
    pub first_period: Period,
    pub last_period: Period,
    pub totals: StockTotals,
    pub elapsed: Duration,
}

/// Funds per generated batch: bounds memory (a fund's ten years is ~120 rows).
const FUNDS_PER_BATCH: usize = 250;

/// Generates the demo funds and reports for `bundle`'s tambons and loads them as one run, in one
/// transaction.
pub async fn load(
    store: &Store,
    bundle: &Bundle,
    config: DemoConfig,
) -> Result<DemoReport, StoreError> {
    let started = Instant::now();
    let tambons: Vec<TambonInfo> = bundle
        .areas
        .iter()
        .filter(|a| a.level == Level::Subdistrict)
        .map(|a| TambonInfo {
            code: a.code.clone(),
            name_th: a.name_th.clone(),
            name_en: a.name_en.clone(),
            population: a.population.total,
        })
        .collect();
    let data = std::sync::Arc::new(DemoData::plan(&tambons, config));
    store.upsert_funds(&data.fund_list(), "demo").await?;

    let run_id = store.start_run(None, "demo").await?;
    let mut counts = RunCounts::default();
    let result: Result<(), StoreError> = async {
        let mut tx = store.begin().await?;
        for start in (0..data.funds.len()).step_by(FUNDS_PER_BATCH) {
            let end = (start + FUNDS_PER_BATCH).min(data.funds.len());
            let batch_data = data.clone();
            let rows = tokio::task::spawn_blocking(move || {
                (start..end)
                    .flat_map(|i| batch_data.summaries(i))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| StoreError::Invalid(format!("demo generator failed: {e}")))?;
            let outcome = tx.upsert_summaries(Some(run_id), &rows).await?;
            counts.accepted += outcome.inserted + outcome.revised;
            counts.unchanged += outcome.unchanged;
            counts.revised += outcome.revised;
        }
        tx.commit().await
    }
    .await;
    match &result {
        Ok(()) => {
            store
                .finish_run(run_id, RunStatus::Succeeded, counts, None)
                .await?;
        }
        Err(e) => {
            store
                .finish_run(
                    run_id,
                    RunStatus::Failed,
                    RunCounts::default(),
                    Some(&e.to_string()),
                )
                .await?;
        }
    }
    result?;
    let totals = store.stock_totals(config.last_period).await?;
    Ok(DemoReport {
        funds: data.funds.len(),
        summaries: counts.accepted,
        first_period: config.first_period(),
        last_period: config.last_period,
        totals,
        elapsed: started.elapsed(),
    })
}
