//! Faults against real sources: the fund-API simulator on loopback serving 500s, hanging, and a hub
//! process killed in the middle of a run.

use std::process::Stdio;
use std::time::Duration;

use sqlx::Row;
use welfare_connectors::SourceConfig;
use welfare_hub::app::Hub;
use welfare_hub::config::Config;
use welfare_hub::ingest::ConnectorEntry;
use welfare_hub::store::RunStatus;
use welfare_model::fund::Fund;
use welfare_model::{AreaCode, FundId, FundKind, Money, Period, Summary};
use welfare_simulator::api::{Fault, FaultKind, FundApi, fund_config, start};
use welfare_tests::{TestDb, hub_binary};

/// Twelve months of a small fund, 2025.
fn months(fund: &FundId) -> Vec<Summary> {
    (0..12)
        .map(|m| {
            let mut s = Summary::new(fund.clone(), Period::new(2025, 1).unwrap().add_months(m));
            s.members_total = Some(100 + i64::from(m));
            s.contrib_members = Some(Money::parse("3041.67").unwrap());
            s.fund_balance = Some(Money::from_baht(10_000 + 500 * i64::from(m)));
            s
        })
        .collect()
}

/// Eight funds in eight tambons of Chiang Mai, with twelve months each.
fn funds_and_rows() -> (Vec<Fund>, Vec<Summary>) {
    let funds: Vec<Fund> = (1..=8)
        .map(|i| Fund {
            id: FundId::parse(&format!("F50010{i}")).unwrap(),
            name_th: format!("กองทุนสวัสดิการชุมชน {i}"),
            name_en: None,
            kind: FundKind::CommunityWelfare,
            area: AreaCode::parse(&format!("50010{i}")).unwrap(),
            municipality: None,
            registered_on: None,
            closed_on: None,
        })
        .collect();
    let rows = funds.iter().flat_map(|f| months(&f.id)).collect();
    (funds, rows)
}

fn entry(fund: &str, addr: std::net::SocketAddr, request_timeout_secs: u64) -> ConnectorEntry {
    let mut source = fund_config(addr, fund);
    source.request_timeout_secs = request_timeout_secs;
    ConnectorEntry {
        id: format!("api-{fund}"),
        name: None,
        enabled: true,
        schedule: None,
        timeout_secs: 120,
        max_attempts: 2,
        provinces: Vec::new(),
        source: SourceConfig::HttpJson(source),
    }
}

async fn count_rows(db: &TestDb, fund: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query("SELECT COUNT(*) FROM summaries WHERE fund_id = $1")
            .bind(fund)
            .fetch_one(db.store.pool())
            .await?
            .try_get(0)?,
    )
}

#[tokio::test]
async fn failing_and_hanging_sources_do_not_hold_up_the_others() -> anyhow::Result<()> {
    let db = TestDb::sqlite_with_geography().await?;
    let (funds, rows) = funds_and_rows();
    db.store.upsert_funds(&funds, "test").await?;
    let api = FundApi::from_rows(&rows);
    api.inject(Fault::always(FaultKind::ServerError).for_fund("F500101"));
    api.inject(Fault::always(FaultKind::Hang).for_fund("F500102"));
    let (addr, _server) = start(api.clone()).await?;
    let entries: Vec<ConnectorEntry> = funds
        .iter()
        .map(|f| {
            entry(
                f.id.as_str(),
                addr,
                if f.id.as_str() == "F500102" { 20 } else { 10 },
            )
        })
        .collect();
    let mut config = Config::default();
    config.scheduler.concurrency = 2;
    config.scheduler.retry_base_secs = 0.2;
    config.scheduler.retry_cap_secs = 0.5;
    let hub = Hub::open(&config, db.store.clone(), entries).await?;

    let hanging = hub.scheduler.trigger("api-F500102", "test")?;
    let failing = hub.scheduler.trigger("api-F500101", "test")?;
    let good: Vec<_> = (3..=8)
        .map(|i| {
            hub.scheduler
                .trigger(&format!("api-F50010{i}"), "test")
                .unwrap()
        })
        .collect();
    for run in good {
        let results = run.await?;
        assert_eq!(results.len(), 1);
        assert_eq!(
            results[0].status,
            RunStatus::Succeeded,
            "{:?}",
            results[0].error
        );
        assert_eq!(results[0].counts.accepted, 12);
    }
    // Every good source finished while the hanging one still holds its slot.
    assert!(
        hub.scheduler.is_running("api-F500102"),
        "the good runs did not wait for the hang"
    );

    let failing = failing.await?;
    assert_eq!(
        failing.len(),
        2,
        "a 500 is transient: retried once, then given up"
    );
    assert!(
        failing
            .iter()
            .all(|r| r.status == RunStatus::Failed && r.transient)
    );
    assert!(
        failing[0].error.as_deref().unwrap().contains("500"),
        "{:?}",
        failing[0].error
    );
    let hanging = hanging.await?;
    assert_eq!(hanging.len(), 2);
    assert!(
        hanging[0].error.as_deref().unwrap().contains("timed out"),
        "{:?}",
        hanging[0].error
    );

    assert_eq!(count_rows(&db, "F500101").await?, 0);
    assert_eq!(count_rows(&db, "F500102").await?, 0);
    assert_eq!(count_rows(&db, "F500105").await?, 12);
    Ok(())
}

#[tokio::test]
async fn a_hub_killed_mid_run_commits_nothing_and_the_rerun_neither_loses_nor_doubles()
-> anyhow::Result<()> {
    let db = TestDb::sqlite_with_geography().await?;
    let (funds, rows) = funds_and_rows();
    db.store.upsert_funds(&funds, "test").await?;
    let api = FundApi::from_rows(&rows);
    // Fund 3's answer trickles in for minutes: the hub is killed while it reads it.
    api.inject(
        Fault::always(FaultKind::SlowBody {
            chunk_bytes: 64,
            delay: Duration::from_millis(200),
        })
        .for_fund("F500103"),
    );
    let (addr, _server) = start(api.clone()).await?;

    let dir = tempfile::tempdir()?;
    let config_path = dir.path().join("hub.toml");
    let mut toml = format!("database_url = \"{}\"\n", db.url);
    for f in &funds {
        toml.push_str(&format!(
            "\n[[connectors]]\nid = \"api-{id}\"\nkind = \"http_json\"\nurl = \"http://{addr}/funds/{id}/summaries\"\nsince_param = \"updated_since\"\ncursor_field = \"updated_at\"\n[connectors.pagination]\nkind = \"page\"\nparam = \"page\"\nsize_param = \"per_page\"\nsize = 5\n[connectors.fields]\n",
            id = f.id
        ));
        for (canonical, source) in welfare_simulator::api::fields() {
            toml.push_str(&format!("{canonical} = \"{source}\"\n"));
        }
    }
    std::fs::write(&config_path, toml)?;
    let config_arg = config_path.display().to_string();

    let mut child = tokio::process::Command::new(hub_binary()?)
        .args(["pull", "--all", "--config", &config_arg])
        .env("WELFARE_HUB_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    // Wait until the other funds are stored and fund 3's run is under way, then kill the hub.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let running: i64 = sqlx::query(
            "SELECT COUNT(*) FROM runs WHERE connector_id = 'api-F500103' AND status = 'running'",
        )
        .fetch_one(db.store.pool())
        .await?
        .try_get(0)?;
        let others: i64 = sqlx::query("SELECT COUNT(*) FROM summaries WHERE fund_id <> 'F500103'")
            .fetch_one(db.store.pool())
            .await?
            .try_get(0)?;
        if running == 1 && others == 7 * 12 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pull did not get going"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.start_kill()?;
    child.wait().await?;
    assert_eq!(
        count_rows(&db, "F500103").await?,
        0,
        "nothing of the killed run is stored"
    );

    // Again, with the source healthy: fund 3 complete, nothing doubled, the dead run marked failed.
    api.clear_faults();
    let status = tokio::process::Command::new(hub_binary()?)
        .args(["pull", "--all", "--config", &config_arg])
        .env("WELFARE_HUB_LOG", "warn")
        .stdout(Stdio::null())
        .status()
        .await?;
    assert!(status.success());
    let stored = count_rows(&db, "F500103").await?;
    if stored != 12 {
        // Seen once under a loaded CI machine: say what the runs and the quarantine hold.
        let runs = db.store.runs(Some("api-F500103"), 10).await?;
        let quarantined = db.store.quarantine_rows(Some("api-F500103"), 100).await?;
        let cursor = db.store.connector_cursor("api-F500103").await?;
        panic!(
            "fund 3 has {stored} rows after the rerun, not 12; cursor {cursor:?}; runs {runs:#?}; quarantine {quarantined:#?}"
        );
    }
    assert_eq!(db.store.count_summaries().await?, 8 * 12);
    let runs = db.store.runs(Some("api-F500103"), 10).await?;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(runs[1].status, RunStatus::Failed);
    assert!(
        runs[1].error.as_deref().unwrap().contains("interrupted"),
        "{:?}",
        runs[1].error
    );
    let other = db.store.runs(Some("api-F500105"), 10).await?;
    assert_eq!(
        (other[0].counts.accepted, other[0].counts.unchanged),
        (0, 0),
        "cursor: nothing new"
    );
    assert_eq!(other[1].counts.accepted, 12);
    Ok(())
}
