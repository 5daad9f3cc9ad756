//! Ingestion semantics with a scripted connector: validation and quarantine, idempotent re-runs,
//! revisions, and runs that fail or time out storing nothing. (Fault tests against real sources are in
//! `faults.rs`.)

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use welfare_connectors::batch::to_batch;
use welfare_connectors::{Connector, ConnectorError, Cursor, Pull, Rejected, SourcedBatch};
use welfare_hub::ingest::{ConnectorEntry, Ingestor, ValidationRules};
use welfare_hub::store::RunStatus;
use welfare_model::fund::Fund;
use welfare_model::{AreaCode, FundId, FundKind, Money, Period, Summary};
use welfare_tests::TestDb;

/// Hands out prepared pulls in order (each after `delay`), and records the cursors it was asked from.
#[derive(Debug, Default)]
struct Scripted {
    pulls: Mutex<VecDeque<Result<Pull, ConnectorError>>>,
    asked: Mutex<Vec<Option<String>>>,
    delay: Duration,
}

#[async_trait]
impl Connector for Scripted {
    fn kind(&self) -> &'static str {
        "scripted"
    }
    async fn check(&self) -> Result<(), ConnectorError> {
        Ok(())
    }
    async fn pull(&self, since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        self.asked.lock().unwrap().push(since.map(|c| c.0.clone()));
        tokio::time::sleep(self.delay).await;
        self.pulls
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Ok(Pull::default()))
    }
}

fn pull(rows: &[Summary], rejected: Vec<Rejected>, cursor: &str) -> Pull {
    Pull {
        batches: vec![SourcedBatch {
            rows: to_batch(rows).unwrap(),
            locations: (0..rows.len())
                .map(|i| format!("test line {}", i + 2))
                .collect(),
            tambons: Vec::new(),
        }],
        rejected,
        unrecognised: Vec::new(),
        cursor: Some(Cursor(cursor.into())),
    }
}

fn row(fund: &str, period: &str, members: i64) -> Summary {
    let mut s = Summary::new(FundId::parse(fund).unwrap(), Period::parse(period).unwrap());
    s.members_total = Some(members);
    s.contrib_members = Some(Money::parse("1000.50").unwrap());
    s.source = Some("connector:c1".into());
    s
}

fn entry(id: &str, timeout_secs: u64) -> ConnectorEntry {
    ConnectorEntry {
        id: id.into(),
        name: None,
        enabled: true,
        schedule: None,
        timeout_secs,
        max_attempts: 1,
        source: serde_json::from_value(
            serde_json::json!({"kind": "file", "location": "unused.csv"}),
        )
        .unwrap(),
    }
}

async fn setup() -> anyhow::Result<(TestDb, Ingestor)> {
    let db = TestDb::sqlite_with_geography().await?;
    let fund = Fund {
        id: FundId::parse("F500101")?,
        name_th: "กองทุนสวัสดิการชุมชนตำบลศรีภูมิ".into(),
        name_en: None,
        kind: FundKind::CommunityWelfare,
        tambon: AreaCode::parse("500101")?,
        municipality: None,
        registered_on: None,
    };
    db.store.upsert_funds(&[fund], "test").await?;
    db.store.sync_connectors(&[entry("c1", 5).record()]).await?;
    let ingestor = Ingestor::new(db.store.clone(), ValidationRules::default()).await?;
    Ok((db, ingestor))
}

#[tokio::test]
async fn good_rows_land_bad_rows_are_quarantined_and_reruns_change_nothing() -> anyhow::Result<()> {
    let (db, ingestor) = setup().await?;
    // Sri Phum (500101) has 12,326 people registered.
    let mut negative = row("F500101", "2025-07", 10);
    negative.members_joined = Some(-1);
    let delivery = vec![
        row("F500101", "2025-09", 100),
        row("F500101", "2025-10", 110),
        row("F999999", "2025-10", 5),
        negative,
        row("F500101", "2025-08", 50_000),
    ];
    let from_source = Rejected {
        location: "test line 9".into(),
        reason: "members_total (จำนวนสมาชิก) = \"many\": not a whole number".into(),
        raw: serde_json::json!({"จำนวนสมาชิก": "many"}),
    };
    let connector = Scripted::default();
    connector.pulls.lock().unwrap().extend([
        Ok(pull(&delivery, vec![from_source.clone()], "c-1")),
        Ok(pull(&delivery, vec![from_source], "c-2")),
    ]);
    let e = entry("c1", 5);

    let first = ingestor.run(&e, &connector, "test").await?;
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.error);
    assert_eq!(
        (
            first.counts.accepted,
            first.counts.rejected,
            first.counts.unchanged,
            first.counts.revised
        ),
        (2, 4, 0, 0)
    );
    assert_eq!(db.store.count_summaries().await?, 2);
    assert_eq!(
        db.store.connector_cursor("c1").await?.as_deref(),
        Some("c-1")
    );
    let q = db.store.quarantine_rows(Some("c1"), 10).await?;
    let mut reasons: Vec<String> = q
        .iter()
        .map(|r| format!("{}: {}", r.location, r.reason))
        .collect();
    reasons.sort();
    assert_eq!(reasons.len(), 4);
    assert!(
        reasons[0].starts_with("test line 4: unknown fund F999999"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("test line 5: members_joined is negative (-1)"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].starts_with(
            "test line 6: members_total 50000 is more than 1.5 × the population of tambon 500101 (12326)"
        ),
        "{reasons:?}"
    );
    assert!(
        reasons[3].starts_with("test line 9: members_total (จำนวนสมาชิก)"),
        "{reasons:?}"
    );
    assert!(q.iter().all(|r| r.run_id == Some(first.run_id)));

    // The same delivery again: nothing new, nothing doubled; the cursor moves on.
    let second = ingestor.run(&e, &connector, "test").await?;
    assert_eq!(
        (
            second.counts.accepted,
            second.counts.unchanged,
            second.counts.revised
        ),
        (0, 2, 0)
    );
    assert_eq!(db.store.count_summaries().await?, 2);
    assert_eq!(
        connector.asked.lock().unwrap().clone(),
        [None, Some("c-1".to_string())]
    );
    assert_eq!(
        db.store.connector_cursor("c1").await?.as_deref(),
        Some("c-2")
    );
    Ok(())
}

#[tokio::test]
async fn a_revised_month_keeps_the_old_revision() -> anyhow::Result<()> {
    let (db, ingestor) = setup().await?;
    let connector = Scripted::default();
    let mut revised = row("F500101", "2025-09", 100);
    revised.contrib_members = Some(Money::parse("1200.00")?);
    connector.pulls.lock().unwrap().extend([
        Ok(pull(&[row("F500101", "2025-09", 100)], vec![], "a")),
        Ok(pull(&[revised.clone()], vec![], "b")),
    ]);
    let e = entry("c1", 5);
    ingestor.run(&e, &connector, "test").await?;
    let r = ingestor.run(&e, &connector, "test").await?;
    assert_eq!(r.counts.revised, 1);
    let (revision, current) = db
        .store
        .summary(&revised.fund_id, revised.period)
        .await?
        .unwrap();
    assert_eq!(
        (revision, current.contrib_members),
        (2, revised.contrib_members)
    );
    let old = db
        .store
        .summary_revisions(&revised.fund_id, revised.period)
        .await?;
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].1.contrib_members, Some(Money::parse("1000.50")?));
    Ok(())
}

#[tokio::test]
async fn failed_and_timed_out_runs_store_nothing_and_keep_the_cursor() -> anyhow::Result<()> {
    let (db, ingestor) = setup().await?;
    let e = entry("c1", 1);
    let connector = Scripted::default();
    connector.pulls.lock().unwrap().extend([
        Ok(pull(&[row("F500101", "2025-09", 100)], vec![], "a")),
        Err(ConnectorError::Http {
            status: 503,
            message: "Service Unavailable".into(),
        }),
    ]);
    ingestor.run(&e, &connector, "test").await?;
    let failed = ingestor.run(&e, &connector, "test").await?;
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(failed.transient);
    assert!(failed.error.as_deref().unwrap().contains("503"));
    assert_eq!(db.store.connector_cursor("c1").await?.as_deref(), Some("a"));

    let slow = Scripted {
        delay: Duration::from_secs(3),
        ..Scripted::default()
    };
    slow.pulls.lock().unwrap().push_back(Ok(pull(
        &[row("F500101", "2025-10", 105)],
        vec![],
        "late",
    )));
    let timed_out = ingestor.run(&e, &slow, "test").await?;
    assert_eq!(timed_out.status, RunStatus::Failed);
    assert!(
        timed_out
            .error
            .as_deref()
            .unwrap()
            .contains("timed out after 1 s"),
        "{:?}",
        timed_out.error
    );
    assert_eq!(db.store.count_summaries().await?, 1);
    assert_eq!(db.store.connector_cursor("c1").await?.as_deref(), Some("a"));
    let runs = db.store.runs(Some("c1"), 10).await?;
    assert_eq!(
        runs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [RunStatus::Failed, RunStatus::Failed, RunStatus::Succeeded]
    );

    // A commit that fails (here: the connector is unknown to the store, so its cursor cannot be saved)
    // takes the rows down with it.
    let stranger = entry("not-registered", 5);
    let connector = Scripted::default();
    connector.pulls.lock().unwrap().push_back(Ok(pull(
        &[row("F500101", "2025-11", 111)],
        vec![],
        "x",
    )));
    let r = ingestor.run(&stranger, &connector, "test").await?;
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(db.store.count_summaries().await?, 1);
    Ok(())
}

#[tokio::test]
async fn duplicates_and_inconsistent_flows_are_quarantined() -> anyhow::Result<()> {
    let (db, ingestor) = setup().await?;
    let e = entry("c1", 5);
    let mut flows = row("F500101", "2025-10", 110);
    flows.members_joined = Some(15);
    flows.members_left = Some(2);
    let mut wrong = row("F500101", "2025-11", 200);
    wrong.members_joined = Some(1);
    wrong.members_left = Some(1);
    let connector = Scripted::default();
    connector.pulls.lock().unwrap().extend([
        Ok(pull(&[row("F500101", "2025-09", 97)], vec![], "a")),
        Ok(pull(
            &[
                flows,
                wrong,
                row("F500101", "2025-12", 1),
                row("F500101", "2025-12", 2),
            ],
            vec![],
            "b",
        )),
    ]);
    ingestor.run(&e, &connector, "test").await?;
    let r = ingestor.run(&e, &connector, "test").await?;
    assert_eq!(
        (r.counts.accepted, r.counts.rejected),
        (1, 3),
        "{:?}",
        r.error
    );
    let reasons: Vec<String> = db
        .store
        .quarantine_rows(Some("c1"), 10)
        .await?
        .into_iter()
        .map(|q| q.reason)
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("last month's 110 + joined 1 − left 1 = 110")),
        "{reasons:?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("delivered 2 times"))
            .count(),
        2
    );
    Ok(())
}
