//! Ingestion semantics with a scripted connector: validation and quarantine, idempotent re-runs,
//! revisions, and runs that fail or time out storing nothing. (Fault tests against real sources are in
//! `faults.rs`.)

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use welfare_connectors::batch::to_batch;
use welfare_connectors::{
    Connector, ConnectorError, Cursor, Pull, Rejected, SourcedBatch, UnrecognisedColumn,
};
use welfare_hub::ingest::{ConnectorEntry, Ingestor, ValidationRules};
use welfare_hub::store::RunStatus;
use welfare_model::fund::Fund;
use welfare_model::{AreaCode, FundId, FundKind, Money, Period, Summary};
use welfare_tests::{TestBackend, TestDb};

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

/// Connector c1's quarantine entries as (location, reason), sorted.
async fn quarantined(db: &TestDb) -> anyhow::Result<Vec<(String, String)>> {
    let mut q: Vec<(String, String)> = db
        .store
        .quarantine_rows(Some("c1"), 10)
        .await?
        .into_iter()
        .map(|q| (q.location, q.reason))
        .collect();
    q.sort();
    Ok(q)
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
        provinces: Vec::new(),
        source: serde_json::from_value(
            serde_json::json!({"kind": "file", "location": "unused.csv"}),
        )
        .unwrap(),
    }
}

async fn setup(backend: TestBackend) -> anyhow::Result<(TestDb, Ingestor)> {
    let db = TestDb::with_geography(backend).await?;
    let fund = Fund {
        id: FundId::parse("F500101")?,
        name_th: "กองทุนสวัสดิการชุมชนตำบลศรีภูมิ".into(),
        name_en: None,
        kind: FundKind::CommunityWelfare,
        area: AreaCode::parse("500101")?,
        municipality: None,
        registered_on: None,
        closed_on: None,
    };
    db.store.upsert_funds(&[fund], "test").await?;
    db.store.sync_connectors(&[entry("c1", 5).record()]).await?;
    let ingestor = Ingestor::new(db.store.clone(), ValidationRules::default()).await?;
    Ok((db, ingestor))
}

on_both_backends!(good_rows_land_bad_rows_are_quarantined_and_reruns_change_nothing);
async fn good_rows_land_bad_rows_are_quarantined_and_reruns_change_nothing(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
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
        reasons[0]
            .starts_with("test line 4: unknown fund id \"F999999\": not registered in the hub"),
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
    // The same bad rows again are the same quarantine entries, seen again by the second run.
    let again = db.store.quarantine_rows(Some("c1"), 10).await?;
    assert_eq!(second.counts.rejected, 4);
    assert_eq!(
        again
            .iter()
            .map(|q| (q.id, q.run_id, q.last_seen_run))
            .collect::<Vec<_>>(),
        q.iter()
            .map(|r| (r.id, Some(first.run_id), Some(second.run_id)))
            .collect::<Vec<_>>()
    );
    Ok(())
}

on_both_backends!(a_revised_month_keeps_the_old_revision);
async fn a_revised_month_keeps_the_old_revision(backend: TestBackend) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
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

on_both_backends!(failed_and_timed_out_runs_store_nothing_and_keep_the_cursor);
async fn failed_and_timed_out_runs_store_nothing_and_keep_the_cursor(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
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

on_both_backends!(duplicates_and_inconsistent_flows_are_quarantined);
async fn duplicates_and_inconsistent_flows_are_quarantined(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
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
    let mut duplicates: Vec<&String> = reasons
        .iter()
        .filter(|r| r.starts_with("duplicate: fund F500101 month 2025-12 is delivered twice"))
        .collect();
    duplicates.sort();
    assert_eq!(duplicates.len(), 2, "{reasons:?}");
    assert!(
        duplicates[0].contains("(the other copy: test line 4)"),
        "{duplicates:?}"
    );
    assert!(
        duplicates[1].contains("(the other copy: test line 5)"),
        "{duplicates:?}"
    );
    Ok(())
}

/// A month with every income, benefit and cost line reported, its balance following from `previous`.
fn booked(period: &str, members: i64, previous_balance: &str) -> Summary {
    let mut s = row("F500101", period, members);
    s.members_joined = Some(2);
    s.members_left = Some(1);
    s.contrib_members = Some(Money::parse("3000.00").unwrap());
    s.grant_state = Some(Money::parse("3000.00").unwrap());
    s.grant_local = Some(Money::parse("1500.00").unwrap());
    s.income_other = Some(Money::parse("12.34").unwrap());
    for b in [
        &mut s.benefits_birth,
        &mut s.benefits_sickness,
        &mut s.benefits_death,
        &mut s.benefits_elderly,
        &mut s.benefits_education,
        &mut s.benefits_occupation,
        &mut s.benefits_disability,
        &mut s.benefits_disaster,
        &mut s.benefits_other,
    ] {
        *b = Some(Money::parse("500.00").unwrap());
    }
    s.admin_costs = Some(Money::parse("200.00").unwrap());
    // income 7512.34 − benefits 4500.00 − admin 200.00 = +2812.34 a month
    s.fund_balance =
        Some(Money::parse(previous_balance).unwrap() + Money::parse("2812.34").unwrap());
    s
}

async fn count(db: &TestDb, sql: &'static str) -> anyhow::Result<i64> {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(db.store.pool()).await?;
    Ok(n)
}

/// Rows, revisions and quarantine entries stored.
async fn totals(db: &TestDb) -> anyhow::Result<(i64, i64, i64)> {
    Ok((
        count(db, "SELECT COUNT(*) FROM summaries").await?,
        count(db, "SELECT COUNT(*) FROM summary_revisions").await?,
        count(db, "SELECT COUNT(*) FROM quarantine").await?,
    ))
}

on_both_backends!(continuity_blames_the_later_month_only_and_reruns_change_nothing);
async fn continuity_blames_the_later_month_only_and_reruns_change_nothing(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
    let e = entry("c1", 5);
    // Stored September: 100 members, 10,000.00 baht.
    let mut september = booked("2025-09", 100, "0.00");
    september.fund_balance = Some(Money::parse("10000.00")?);
    let october = booked("2025-10", 101, "10000.00");
    // November's balance is one satang off; December follows from the true November.
    let mut november = booked("2025-11", 102, "12812.34");
    let true_november = november.fund_balance.unwrap();
    november.fund_balance = Some(true_november + Money::from_satang(1));
    let december = booked("2025-12", 103, &true_november.to_string());
    // January's members do not follow from December's joiners and leavers.
    let january = booked("2026-01", 105, &december.fund_balance.unwrap().to_string());
    let connector = Scripted::default();
    let delivery = [october, november, december, january];
    connector.pulls.lock().unwrap().extend([
        Ok(pull(std::slice::from_ref(&september), vec![], "a")),
        Ok(pull(&delivery, vec![], "b")),
        Ok(pull(&delivery, vec![], "b")),
    ]);
    ingestor.run(&e, &connector, "test").await?;
    let r = ingestor.run(&e, &connector, "test").await?;
    assert_eq!(
        (r.counts.accepted, r.counts.rejected),
        (2, 2),
        "{:?}",
        r.error
    );
    let q = quarantined(&db).await?;
    assert_eq!(
        q,
        [
            (
                "test line 3".to_string(),
                "fund_balance 15624.69 is not last month's 12812.34 + income 7512.34 − benefits 4500.00 − admin_costs 200.00 = 15624.68 (off by 0.01 baht, against 2025-10)".to_string()
            ),
            (
                "test line 5".to_string(),
                "members_total 105 is not last month's 103 + joined 2 − left 1 = 104 (members = previous + joined − left, against 2025-12)".to_string()
            ),
        ]
    );
    for (period, want) in [
        ("2025-09", true),
        ("2025-10", true),
        ("2025-11", false),
        ("2025-12", true),
        ("2026-01", false),
    ] {
        let got = db
            .store
            .summary(&FundId::parse("F500101")?, Period::parse(period)?)
            .await?;
        assert_eq!(got.is_some(), want, "{period}");
    }

    // The same delivery again: nothing new, no revision, no second quarantine entry.
    let before = totals(&db).await?;
    assert_eq!(before, (3, 0, 2));
    let again = ingestor.run(&e, &connector, "test").await?;
    assert_eq!(
        (
            again.counts.accepted,
            again.counts.revised,
            again.counts.unchanged,
            again.counts.rejected
        ),
        (0, 0, 2, 2)
    );
    assert_eq!(totals(&db).await?, before);
    Ok(())
}

on_both_backends!(identical_copies_are_stored_once);
async fn identical_copies_are_stored_once(backend: TestBackend) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
    let connector = Scripted::default();
    let copy = row("F500101", "2025-10", 120);
    connector.pulls.lock().unwrap().push_back(Ok(pull(
        &[copy.clone(), row("F500101", "2025-11", 121), copy],
        vec![],
        "a",
    )));
    let r = ingestor.run(&entry("c1", 5), &connector, "test").await?;
    assert_eq!(
        (r.counts.accepted, r.counts.rejected),
        (2, 0),
        "{:?}",
        r.error
    );
    assert_eq!(totals(&db).await?, (2, 0, 0));
    Ok(())
}

on_both_backends!(a_later_run_that_accepts_the_fund_month_resolves_its_quarantine);
async fn a_later_run_that_accepts_the_fund_month_resolves_its_quarantine(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
    let e = entry("c1", 5);
    let newcomer = row("F500102", "2025-10", 40);
    let unreadable = Rejected {
        location: "test line 3".into(),
        reason: "members_total (จำนวนสมาชิก) = \"สี่สิบ\": not a whole number".into(),
        raw: serde_json::json!({"จำนวนสมาชิก": "สี่สิบ"}),
    };
    let connector = Scripted::default();
    connector.pulls.lock().unwrap().extend([
        Ok(pull(std::slice::from_ref(&newcomer), vec![unreadable], "a")),
        // The clerk fixed line 3; the registry now knows F500102.
        Ok(pull(
            &[newcomer, row("F500101", "2025-10", 41)],
            vec![],
            "b",
        )),
    ]);
    let first = ingestor.run(&e, &connector, "test").await?;
    assert_eq!(first.counts.rejected, 2);
    let open = db.store.quarantine_entries(Some("c1"), false, 10).await?;
    assert_eq!(open.len(), 2);
    assert!(open.iter().all(|q| q.resolved_at.is_none()));

    db.store
        .upsert_funds(
            &[Fund {
                id: FundId::parse("F500102")?,
                name_th: "กองทุนสวัสดิการชุมชนตำบลช้างม่อย".into(),
                name_en: None,
                kind: FundKind::CommunityWelfare,
                area: AreaCode::parse("500102")?,
                municipality: None,
                registered_on: None,
                closed_on: None,
            }],
            "test",
        )
        .await?;
    ingestor.refresh_reference().await?;
    let second = ingestor.run(&e, &connector, "test").await?;
    assert_eq!((second.counts.accepted, second.counts.rejected), (2, 0));
    assert!(
        db.store
            .quarantine_entries(Some("c1"), false, 10)
            .await?
            .is_empty()
    );
    let all = db.store.quarantine_entries(Some("c1"), true, 10).await?;
    let mut resolved: Vec<(String, Option<i64>, bool)> = all
        .into_iter()
        .map(|q| (q.location, q.resolved_by_run, q.resolved_at.is_some()))
        .collect();
    resolved.sort();
    assert_eq!(
        resolved,
        [
            ("test line 2".to_string(), Some(second.run_id), true),
            ("test line 3".to_string(), Some(second.run_id), true),
        ]
    );
    Ok(())
}

on_both_backends!(a_declared_tambon_other_than_the_registered_one_is_quarantined);
async fn a_declared_tambon_other_than_the_registered_one_is_quarantined(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
    let rows = [
        row("F500101", "2025-09", 100),
        row("F500101", "2025-10", 100),
        row("F500101", "2025-11", 100),
    ];
    let mut delivery = pull(&rows, vec![], "a");
    delivery.batches[0].tambons = vec![Some("500101".into()), Some("500102".into()), None];
    let connector = Scripted::default();
    connector.pulls.lock().unwrap().push_back(Ok(delivery));
    let r = ingestor.run(&entry("c1", 5), &connector, "test").await?;
    assert_eq!((r.counts.accepted, r.counts.rejected), (1, 2));
    let q = quarantined(&db).await?;
    assert_eq!(
        q,
        [
            (
                "test line 3".to_string(),
                "tambon \"500102\" declared in the row is not fund F500101's registered tambon 500101: codes are compared exactly, never padded or guessed".to_string()
            ),
            (
                "test line 4".to_string(),
                "the tambon column is blank; it must be fund F500101's registered tambon 500101".to_string()
            ),
        ]
    );
    Ok(())
}

on_both_backends!(unrecognised_columns_are_kept_on_the_run_record);
async fn unrecognised_columns_are_kept_on_the_run_record(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
    let mut delivery = pull(&[row("F500101", "2025-10", 100)], vec![], "a");
    delivery.unrecognised = vec![UnrecognisedColumn {
        location: "test line 1 column 5".into(),
        heading: "ยอดเงินฝากธนาคาร".into(),
    }];
    let connector = Scripted::default();
    connector.pulls.lock().unwrap().push_back(Ok(delivery));
    let r = ingestor.run(&entry("c1", 5), &connector, "test").await?;
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(r.unrecognised[0].heading, "ยอดเงินฝากธนาคาร");
    let run = db.store.run(r.run_id).await?.unwrap();
    assert_eq!(
        run.unrecognised,
        [UnrecognisedColumn {
            location: "test line 1 column 5".into(),
            heading: "ยอดเงินฝากธนาคาร".into(),
        }]
    );
    assert!(!run.refused);
    Ok(())
}

/// A connector that panics while pulling, as a bug in a reader would.
#[derive(Debug)]
struct Panicking;

#[async_trait]
impl Connector for Panicking {
    fn kind(&self) -> &'static str {
        "panicking"
    }
    async fn check(&self) -> Result<(), ConnectorError> {
        Ok(())
    }
    async fn pull(&self, _since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        // As a reader on a blocking thread would: its panic comes back through the join.
        tokio::task::spawn_blocking(|| -> Pull { panic!("row 7 has no cells") })
            .await
            .map_err(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

on_both_backends!(a_panic_or_a_refused_source_fails_the_run_and_never_leaves_it_running);
async fn a_panic_or_a_refused_source_fails_the_run_and_never_leaves_it_running(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
    let e = entry("c1", 5);
    let r = ingestor.run(&e, &Panicking, "test").await?;
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(
        r.error.as_deref(),
        Some("the run panicked (row 7 has no cells); nothing of this run was stored")
    );
    assert!(!r.transient && !r.refused);

    let refusing = Scripted::default();
    refusing
        .pulls
        .lock()
        .unwrap()
        .push_back(Err(ConnectorError::Content(
            "report.csv: a header and no data rows".into(),
        )));
    let refused = ingestor.run(&e, &refusing, "test").await?;
    assert_eq!(refused.status, RunStatus::Failed);
    assert!(refused.refused);

    let runs = db.store.runs(Some("c1"), 10).await?;
    assert_eq!(
        runs.iter()
            .map(|r| (r.status, r.refused, r.error.clone().unwrap_or_default()))
            .collect::<Vec<_>>(),
        [
            (
                RunStatus::Failed,
                true,
                "source content: report.csv: a header and no data rows".to_string()
            ),
            (
                RunStatus::Failed,
                false,
                "the run panicked (row 7 has no cells); nothing of this run was stored".to_string()
            ),
        ]
    );
    assert!(runs.iter().all(|r| r.finished_at.is_some()));
    assert_eq!(db.store.count_summaries().await?, 0);
    Ok(())
}

on_both_backends!(a_run_whose_caller_stops_waiting_is_finished_as_failed);
async fn a_run_whose_caller_stops_waiting_is_finished_as_failed(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
    let slow = Scripted {
        delay: Duration::from_secs(30),
        ..Scripted::default()
    };
    let e = entry("c1", 60);
    let abandoned =
        tokio::time::timeout(Duration::from_millis(300), ingestor.run(&e, &slow, "test")).await;
    assert!(abandoned.is_err(), "the run was still pulling");
    // The guard finishes the run on a task of its own.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let runs = db.store.runs(Some("c1"), 10).await?;
        if runs[0].status != RunStatus::Running {
            assert_eq!(runs[0].status, RunStatus::Failed);
            assert!(
                runs[0].error.as_deref().unwrap().starts_with("abandoned:"),
                "{:?}",
                runs[0].error
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run stayed running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Runs the real binary; returns whether it succeeded and its standard output.
async fn hub(args: &[&str]) -> anyhow::Result<(bool, String, String)> {
    let output = tokio::process::Command::new(welfare_tests::hub_binary()?)
        .args(args)
        .env("WELFARE_HUB_LOG", "warn")
        .output()
        .await?;
    Ok((
        output.status.success(),
        String::from_utf8(output.stdout)?,
        String::from_utf8(output.stderr)?,
    ))
}

#[tokio::test]
async fn the_pull_command_summarises_each_connector_and_fails_on_a_refused_file()
-> anyhow::Result<()> {
    let (db, _) = setup(TestBackend::Sqlite).await?;
    let dir = tempfile::tempdir()?;
    let report = dir.path().join("report.csv");
    let empty = dir.path().join("empty.csv");
    std::fs::write(
        &report,
        "fund_id,period,members_total,หมายเหตุประจำเดือน\n\
         F500101,2025-09,100,ok\n\
         F500101,2025-10,101,ok\n\
         F999999,2025-10,5,ok\n",
    )?;
    std::fs::write(&empty, "")?;
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"{}\"\n\n[[connectors]]\nid = \"good\"\nkind = \"file\"\nlocation = \"{}\"\n\n[[connectors]]\nid = \"empty\"\nkind = \"file\"\nlocation = \"{}\"\n",
            db.url,
            report.display(),
            empty.display()
        ),
    )?;
    let config = config.display().to_string();

    let (ok, out, err) = hub(&["pull", "--connector", "good", "--config", &config]).await?;
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("good: 2 new, 0 revised, 0 unchanged, 1 quarantined; 1 unrecognised columns:\n  unrecognised column \"หมายเหตุประจำเดือน\" at "),
        "{out}"
    );

    // Again: unchanged by cursor; then regardless of it, the rows are read again and stay unchanged.
    let (ok, out, _) = hub(&["pull", "--connector", "good", "--config", &config]).await?;
    assert!(ok);
    assert!(
        out.contains("good: 0 new, 0 revised, 0 unchanged, 0 quarantined"),
        "{out}"
    );
    let (ok, out, _) = hub(&["pull", "--connector", "good", "--full", "--config", &config]).await?;
    assert!(ok);
    assert!(
        out.contains("good: 0 new, 0 revised, 2 unchanged, 1 quarantined"),
        "{out}"
    );
    assert_eq!(totals(&db).await?, (2, 0, 1));

    let (ok, out, err) = hub(&["pull", "--all", "--config", &config]).await?;
    assert!(!ok, "a refused file makes the command fail: {out}");
    assert!(out.contains("empty: refused: source content: "), "{out}");
    assert!(
        err.contains("1 of 2 connectors failed or had their source refused"),
        "{err}"
    );
    let runs = db.store.runs(Some("empty"), 10).await?;
    assert_eq!((runs[0].status, runs[0].refused), (RunStatus::Failed, true));

    let (ok, out, _) = hub(&[
        "quarantine",
        "list",
        "--connector",
        "good",
        "--config",
        &config,
    ])
    .await?;
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("good | "), "{out}");
    assert!(
        lines[0].contains("| unknown fund id \"F999999\": not registered in the hub"),
        "{out}"
    );
    assert_eq!(lines[1], "1 open quarantine entries of connector good");
    Ok(())
}

/// `GET uri` through the router with the operator's token, with connector `c1` configured.
async fn get(db: &TestDb, uri: &str) -> anyhow::Result<serde_json::Value> {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let state = welfare_hub::api::AppState {
        connectors: welfare_hub::live::ConnectorSet::from_entries(vec![entry("c1", 5)])
            .map_err(anyhow::Error::msg)?,
        token: Some(welfare_connectors::Secret::new("operator-token")),
        ..welfare_hub::api::AppState::read_only(db.store.clone())
    };
    let response = welfare_hub::api::router(state)
        .oneshot(
            axum::http::Request::get(uri)
                .header("authorization", "Bearer operator-token")
                .body(axum::body::Body::empty())?,
        )
        .await?;
    assert_eq!(response.status(), axum::http::StatusCode::OK, "{uri}");
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&bytes)?)
}

on_both_backends!(the_api_shows_unrecognised_columns_and_open_or_all_quarantine_entries);
async fn the_api_shows_unrecognised_columns_and_open_or_all_quarantine_entries(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let (db, ingestor) = setup(backend).await?;
    let e = entry("c1", 5);
    let mut first = pull(&[row("F500101", "2025-10", 20_000)], vec![], "a");
    first.unrecognised = vec![UnrecognisedColumn {
        location: "test line 1 column 4".into(),
        heading: "หมายเหตุ".into(),
    }];
    let connector = Scripted::default();
    connector.pulls.lock().unwrap().extend([
        Ok(first),
        Ok(pull(&[row("F500101", "2025-10", 200)], vec![], "b")),
    ]);
    let bad = ingestor.run(&e, &connector, "test").await?;
    let open = get(&db, "/api/v1/quarantine?connector=c1").await?;
    assert_eq!(open["count"], 1);
    assert_eq!(open["rows"][0]["location"], "test line 2");
    assert_eq!(open["rows"][0]["fund_id"], "F500101");
    assert_eq!(open["rows"][0]["period"], "2025-10");
    assert_eq!(open["rows"][0]["resolved_at"], serde_json::Value::Null);

    let good = ingestor.run(&e, &connector, "test").await?;
    assert_eq!(
        get(&db, "/api/v1/quarantine?connector=c1").await?["count"],
        0
    );
    let all = get(&db, "/api/v1/quarantine?connector=c1&all=true").await?;
    assert_eq!(all["count"], 1);
    assert_eq!(all["rows"][0]["run_id"], bad.run_id);
    assert_eq!(all["rows"][0]["resolved_by_run"], good.run_id);

    let runs = get(&db, "/api/v1/connectors/c1/runs").await?;
    assert_eq!(runs["runs"][1]["id"], bad.run_id);
    assert_eq!(
        runs["runs"][1]["unrecognised"],
        serde_json::json!([{"location": "test line 1 column 4", "heading": "หมายเหตุ"}])
    );
    assert_eq!(runs["runs"][1]["refused"], false);
    assert_eq!(runs["runs"][0]["unrecognised"], serde_json::json!([]));
    Ok(())
}
