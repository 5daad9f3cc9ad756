//! One storage suite, run on SQLite always and on PostgreSQL whenever `WELFARE_TEST_POSTGRES=1`.

use chrono::{TimeZone, Utc};
use welfare_connectors::UnrecognisedColumn;
use welfare_hub::store::{
    Accepted, QuarantineRow, RAW_LIMIT, REASON_LIMIT, RunCounts, RunEnd, RunStatus, Store,
};
use welfare_model::fund::Fund;
use welfare_model::{AreaCode, AreaRef, FundId, FundKind, Level, Money, Period, Summary};
use welfare_tests::{TestBackend, TestDb, bundle, run_postgres_half};

fn fund(id: &str, tambon: &str) -> Fund {
    Fund {
        id: FundId::parse(id).unwrap(),
        name_th: format!("กองทุนสวัสดิการชุมชน {id}"),
        name_en: Some(format!("Fund {id}")),
        kind: FundKind::CommunityWelfare,
        area: AreaCode::parse(tambon).unwrap(),
        municipality: None,
        registered_on: None,
        closed_on: None,
    }
}

fn summary(id: &str, period: &str, members: i64, balance: &str) -> Summary {
    let mut s = Summary::new(FundId::parse(id).unwrap(), Period::parse(period).unwrap());
    s.members_total = Some(members);
    s.contrib_members = Some(Money::parse("3041.67").unwrap());
    s.grant_state = Some(Money::ZERO);
    s.fund_balance = Some(Money::parse(balance).unwrap());
    s.reported_at = Some(Utc.with_ymd_and_hms(2025, 11, 10, 3, 4, 5).unwrap());
    s.source = Some("test".into());
    s
}

async fn suite(backend: TestBackend) -> anyhow::Result<()> {
    let db = TestDb::new(backend).await?;
    let store = &db.store;

    // Migrations are idempotent: opening the same database again changes nothing.
    Store::open(&db.url).await?.close().await;

    // Geography: the whole Thailand bundle, then the same bundle again.
    let first = store.import_geography(bundle(), "test").await?;
    assert_eq!(first.areas_written, 77 + 928 + 7436);
    assert_eq!(first.population_written, 37_186);
    assert_eq!(first.boundaries_written, 77 + 928 + 7425);
    let counts = store.count_areas().await?;
    assert_eq!(counts["province"], 77);
    assert_eq!(counts["district"], 928);
    assert_eq!(counts["subdistrict"], 7436);
    let provinces = store.list_areas(Level::Province, None).await?;
    assert_eq!(provinces.len(), 77);
    assert_eq!(
        provinces.iter().map(|a| a.population).sum::<i64>(),
        66_171_439
    );
    let bangkok = &provinces[0];
    assert_eq!(
        (
            bangkok.code.as_str(),
            bangkok.name_th.as_str(),
            bangkok.name_en.as_str()
        ),
        ("10", "กรุงเทพมหานคร", "Bangkok")
    );
    let audit_before = store.audit_actions().await?;
    let again = store.import_geography(bundle(), "test").await?;
    assert!(!again.changed(), "re-import wrote {again:?}");
    assert_eq!(again.areas_unchanged, 77 + 928 + 7436);
    assert_eq!(store.audit_actions().await?, audit_before);

    // Areas within a province, a district and a region.
    let chiang_mai = store
        .list_areas(Level::District, Some(&"50".parse::<AreaRef>()?))
        .await?;
    assert_eq!(chiang_mai.len(), 25);
    assert!(chiang_mai.iter().all(|a| a.code.starts_with("50")));
    let mueang = store
        .list_areas(Level::Subdistrict, Some(&"5001".parse::<AreaRef>()?))
        .await?;
    assert_eq!(mueang.len(), 16);
    let north = store
        .list_areas(Level::Province, Some(&"north".parse::<AreaRef>()?))
        .await?;
    assert_eq!(north.len(), 17);

    // Funds, counted up the hierarchy by their tambon code.
    store
        .upsert_funds(
            &[
                fund("F500101", "500101"),
                fund("F500102", "500102"),
                fund("F100101", "100101"),
            ],
            "test",
        )
        .await?;
    assert_eq!(store.count_funds().await?, 3);
    let provinces = store.list_areas(Level::Province, None).await?;
    let funds_of = |code: &str| provinces.iter().find(|a| a.code == code).unwrap().funds;
    assert_eq!((funds_of("50"), funds_of("10"), funds_of("11")), (2, 1, 0));
    assert_eq!(provinces.iter().map(|a| a.funds).sum::<i64>(), 3);

    // Summaries: insert, identical re-delivery, a revised past month.
    let run = store.start_run(Some("c1"), "test").await?;
    let rows = vec![
        summary("F500101", "2025-09", 100, "1000.00"),
        summary("F500101", "2025-10", 110, "1200.01"),
        summary("F500102", "2025-10", 50, "9999999999999999.99"),
    ];
    let outcome = store.upsert_summaries(Some(run), &rows).await?;
    assert_eq!(
        (outcome.inserted, outcome.revised, outcome.unchanged),
        (3, 0, 0)
    );
    let outcome = store.upsert_summaries(Some(run), &rows).await?;
    assert_eq!(
        (outcome.inserted, outcome.revised, outcome.unchanged),
        (0, 0, 3)
    );
    let mut revised = summary("F500101", "2025-09", 101, "1000.00");
    revised.source = Some("test, corrected".into());
    revised.reported_at = Some(Utc.with_ymd_and_hms(2025, 11, 20, 9, 0, 0).unwrap());
    let outcome = store
        .upsert_summaries(Some(run), &[revised.clone()])
        .await?;
    assert_eq!(
        (outcome.inserted, outcome.revised, outcome.unchanged),
        (0, 1, 0)
    );
    let (revision, current) = store
        .summary(&revised.fund_id, revised.period)
        .await?
        .expect("stored");
    assert_eq!(revision, 2);
    assert_eq!(current, revised);
    let history = store
        .summary_revisions(&revised.fund_id, revised.period)
        .await?;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].0, 1);
    assert_eq!(history[0].1, rows[0], "the old revision is kept as it was");
    assert_eq!(store.count_summaries().await?, 3);

    // The analytics snapshot reads the same rows on every back end: the current revision, with the
    // first sending's time (a correction does not make a report late), money exact.
    let tables = store.analytics_rows(15).await?;
    assert_eq!((tables.summaries.len(), tables.funds.len()), (3, 3));
    let read = |id: &str, period: &str| {
        tables
            .summaries
            .iter()
            .find(|r| r.summary.fund_id.as_str() == id && r.summary.period.to_string() == period)
            .unwrap()
            .clone()
    };
    let corrected = read("F500101", "2025-09");
    assert_eq!(
        (corrected.revision, corrected.summary.members_total),
        (2, Some(101))
    );
    assert_eq!(corrected.summary.reported_at, revised.reported_at);
    assert_eq!(corrected.first_reported_at, rows[0].reported_at);
    assert_eq!(
        read("F500102", "2025-10").summary.fund_balance,
        Some(Money::parse("9999999999999999.99").unwrap())
    );
    assert!(
        tables
            .population
            .iter()
            .any(|(code, year, _)| code == "500101" && *year == 2021)
    );
    let built = tables.build()?;
    assert_eq!(built.summary_rows, 3);
    assert_eq!(built.population_years, Some((2017, 2021)));

    // Money is exact to the satang at the top of Decimal128(18, 2); "not reported" is not zero.
    let (_, big) = store
        .summary(&rows[2].fund_id, rows[2].period)
        .await?
        .unwrap();
    assert_eq!(big.fund_balance.unwrap().to_string(), "9999999999999999.99");
    assert_eq!(big.contrib_members.unwrap().to_string(), "3041.67");
    assert_eq!(big.grant_state, Some(Money::ZERO));
    assert_eq!(big.grant_local, None);
    assert_eq!(big.members_elderly, None);

    // A delivery with one bad row stores none of it.
    let bad = vec![
        summary("F500102", "2025-11", 55, "10.00"),
        summary("NO-SUCH-FUND", "2025-11", 1, "1.00"),
    ];
    assert!(store.upsert_summaries(Some(run), &bad).await.is_err());
    assert_eq!(store.count_summaries().await?, 3);
    // So does one that names the same month twice.
    let twice = vec![
        summary("F500102", "2025-11", 55, "10.00"),
        summary("F500102", "2025-11", 56, "10.00"),
    ];
    let err = store.upsert_summaries(Some(run), &twice).await.unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
    assert_eq!(store.count_summaries().await?, 3);

    // Runs, quarantine and audit.
    let raw = serde_json::json!({"members_total": -3});
    let mut tx = store.begin().await?;
    tx.quarantine(
        Some(run),
        Some("c1"),
        &[QuarantineRow {
            location: "report.xlsx sheet สรุป cell B7".into(),
            reason: "members_total is negative".into(),
            raw: Some(raw.clone()),
            ..QuarantineRow::default()
        }],
    )
    .await?;
    tx.commit().await?;
    store
        .finish_run(
            run,
            RunStatus::Succeeded,
            RunCounts {
                accepted: 4,
                rejected: 1,
                unchanged: 3,
                revised: 1,
            },
            None,
        )
        .await?;
    let runs = store.runs(Some("c1"), 10).await?;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(runs[0].counts.revised, 1);
    assert!(runs[0].finished_at.is_some());
    assert!(store.runs(Some("other"), 10).await?.is_empty());
    let quarantined = store.quarantine_rows(Some("c1"), 10).await?;
    assert_eq!(quarantined.len(), 1);
    assert_eq!(
        (
            quarantined[0].location.as_str(),
            quarantined[0].reason.as_str()
        ),
        ("report.xlsx sheet สรุป cell B7", "members_total is negative")
    );
    assert_eq!(quarantined[0].raw, Some(raw));
    assert_eq!(quarantined[0].run_id, Some(run));
    assert!(store.quarantine_rows(Some("other"), 10).await?.is_empty());
    let actions = store.audit_actions().await?;
    assert_eq!(actions, ["geography.import", "funds.upsert"]);

    quarantine_lifecycle(store).await?;
    run_records(store).await?;
    db.cleanup().await
}

/// Quarantine entries are bounded, seen again rather than doubled, resolved by a later run that
/// accepts their fund-month (or, unread, their location), and open again when seen once more.
async fn quarantine_lifecycle(store: &Store) -> anyhow::Result<()> {
    let thai_reason = format!(
        "members_total \"{}\" is not a whole number",
        "ก".repeat(2_000)
    );
    let big_raw = serde_json::json!({ "จำนวนสมาชิก": "\"x".repeat(5_000) });
    let rows = vec![
        QuarantineRow {
            location: "r.csv line 2".into(),
            reason: "unknown fund id \"K9'; DROP TABLE funds;--\"".into(),
            raw: Some(serde_json::json!({ "fund_id": "K9'; DROP TABLE funds;--" })),
            fund_id: Some("K9".into()),
            period: Some("2025-10".into()),
        },
        QuarantineRow {
            location: "r.csv line 3".into(),
            reason: thai_reason.clone(),
            raw: Some(big_raw),
            fund_id: None,
            period: None,
        },
    ];
    let put = |run: i64| {
        let rows = rows.clone();
        async move {
            let mut tx = store.begin().await?;
            tx.quarantine(Some(run), Some("c2"), &rows).await?;
            tx.commit().await?;
            anyhow::Ok(())
        }
    };
    let first = store.start_run(Some("c2"), "test").await?;
    put(first).await?;
    let open = store.quarantine_entries(Some("c2"), false, 10).await?;
    assert_eq!(open.len(), 2);
    let (sql_id, cut) = (&open[1], &open[0]);
    assert_eq!(
        sql_id.reason,
        "unknown fund id \"K9'; DROP TABLE funds;--\""
    );
    assert_eq!(
        (sql_id.fund_id.as_deref(), sql_id.period.as_deref()),
        (Some("K9"), Some("2025-10"))
    );
    assert!(cut.reason.len() <= REASON_LIMIT, "{}", cut.reason.len());
    assert!(
        cut.reason.starts_with("members_total \"กกก"),
        "{}",
        cut.reason
    );
    assert!(
        cut.reason
            .ends_with(&format!(" … [cut: {} bytes in all]", thai_reason.len())),
        "{}",
        cut.reason
    );
    let Some(serde_json::Value::String(excerpt)) = &cut.raw else {
        panic!("a cut raw row is kept as a string: {:?}", cut.raw);
    };
    assert!(serde_json::to_string(excerpt)?.len() <= RAW_LIMIT);
    assert!(excerpt.starts_with("{\"จำนวนสมาชิก\":\"\\\"x"), "{excerpt}");
    assert!(excerpt.ends_with("bytes in all]"), "{excerpt}");

    // The same rows again: no new entry; the entry remembers it was seen again.
    let second = store.start_run(Some("c2"), "test").await?;
    put(second).await?;
    let again = store.quarantine_entries(Some("c2"), false, 10).await?;
    assert_eq!(
        again
            .iter()
            .map(|q| (q.id, q.run_id, q.last_seen_run))
            .collect::<Vec<_>>(),
        open.iter()
            .map(|q| (q.id, Some(first), Some(second)))
            .collect::<Vec<_>>()
    );

    // A later run accepts K9's October and a row at line 3 of the same connector.
    let third = store.start_run(Some("c2"), "test").await?;
    let accepted = Accepted {
        fund_months: [("K9".to_string(), "2025-10".to_string())].into(),
        locations: ["r.csv line 3".to_string()].into(),
    };
    let mut tx = store.begin().await?;
    // Another connector's accepted line 3 does not answer c2's entry.
    assert_eq!(
        tx.resolve_quarantine(
            third,
            "c3",
            &Accepted {
                fund_months: Default::default(),
                locations: accepted.locations.clone(),
            }
        )
        .await?,
        0
    );
    assert_eq!(tx.resolve_quarantine(third, "c2", &accepted).await?, 2);
    tx.commit().await?;
    assert!(
        store
            .quarantine_entries(Some("c2"), false, 10)
            .await?
            .is_empty()
    );
    let all = store.quarantine_entries(Some("c2"), true, 10).await?;
    assert_eq!(
        all.iter().map(|q| q.resolved_by_run).collect::<Vec<_>>(),
        [Some(third), Some(third)]
    );
    assert!(all.iter().all(|q| q.resolved_at.is_some()));

    // Delivered bad once more: open again, still one entry each.
    let fourth = store.start_run(Some("c2"), "test").await?;
    put(fourth).await?;
    let reopened = store.quarantine_entries(Some("c2"), false, 10).await?;
    assert_eq!(reopened.len(), 2);
    assert!(
        reopened
            .iter()
            .all(|q| q.resolved_at.is_none() && q.last_seen_run == Some(fourth))
    );
    Ok(())
}

/// A run record keeps the unrecognised columns and whether the source was refused; a cursor can be
/// forgotten for a full re-read.
async fn run_records(store: &Store) -> anyhow::Result<()> {
    let record = welfare_hub::store::ConnectorRecord {
        id: "c4".into(),
        kind: "file".into(),
        config: serde_json::json!({}),
        schedule: None,
        enabled: true,
        cursor: None,
        origin: welfare_hub::store::Origin::Configuration,
        name: None,
        timeout_secs: 60,
        max_attempts: 1,
        provinces: Vec::new(),
    };
    store.sync_connectors(&[record]).await?;
    let mut tx = store.begin().await?;
    tx.save_cursor("c4", "sha256:abc").await?;
    tx.commit().await?;
    assert!(store.clear_cursor("c4").await?);
    assert_eq!(store.connector_cursor("c4").await?, None);
    assert!(!store.clear_cursor("no-such-connector").await?);

    let columns = vec![UnrecognisedColumn {
        location: "report.csv line 1 column 7".into(),
        heading: "หมายเหตุ (บาท)".into(),
    }];
    let run = store.start_run(Some("c4"), "test").await?;
    store
        .finish_run_with(
            run,
            RunEnd {
                status: RunStatus::Succeeded,
                counts: RunCounts::default(),
                error: None,
                refused: false,
                unrecognised: &columns,
            },
        )
        .await?;
    let refused = store.start_run(Some("c4"), "test").await?;
    store
        .finish_run_with(
            refused,
            RunEnd {
                status: RunStatus::Failed,
                counts: RunCounts::default(),
                error: Some("source content: report.csv: no data rows"),
                refused: true,
                unrecognised: &[],
            },
        )
        .await?;
    let runs = store.runs(Some("c4"), 10).await?;
    assert_eq!(
        runs.iter()
            .map(|r| (r.id, r.refused, r.unrecognised.clone()))
            .collect::<Vec<_>>(),
        [(refused, true, vec![]), (run, false, columns.clone())]
    );
    assert_eq!(store.run(run).await?.map(|r| r.unrecognised), Some(columns));
    Ok(())
}

#[tokio::test]
async fn storage_on_sqlite() -> anyhow::Result<()> {
    suite(TestBackend::Sqlite).await
}

#[tokio::test]
async fn storage_on_postgres() -> anyhow::Result<()> {
    if !run_postgres_half("storage_on_postgres") {
        return Ok(());
    }
    suite(TestBackend::Postgres).await
}

#[tokio::test]
async fn sqlite_store_is_a_wal_file_created_on_first_run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("nested/dir/hub.db");
    let store = Store::open(&format!("sqlite://{}", path.display())).await?;
    assert!(path.exists());
    use sqlx::Row;
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    assert_eq!(mode, "wal");
    store.close().await;
    Ok(())
}

/// Every table of the store with its columns in order, read from the database's own catalog (the
/// migrations' bookkeeping table left out).
async fn table_columns(
    db: &TestDb,
) -> anyhow::Result<std::collections::BTreeMap<String, Vec<String>>> {
    use sqlx::Row;
    let sql = match db.backend() {
        TestBackend::Sqlite => {
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
             ORDER BY m.name, p.cid"
        }
        TestBackend::Postgres => {
            "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
             ORDER BY table_name, ordinal_position"
        }
    };
    let mut tables = std::collections::BTreeMap::<String, Vec<String>>::new();
    for row in sqlx::query(sql).fetch_all(db.store.pool()).await? {
        tables
            .entry(row.try_get(0)?)
            .or_default()
            .push(row.try_get(1)?);
    }
    Ok(tables)
}

/// `summaries` (and `summary_revisions`) hold exactly the model's measures, in its order, between
/// the key and the provenance columns: counts by name, money as `<name>_satang`.
async fn summaries_hold_the_model_measures(backend: TestBackend) -> anyhow::Result<()> {
    use welfare_model::summary::{FieldUnit, MEASURES};
    let db = TestDb::new(backend).await?;
    let tables = table_columns(&db).await?;
    let measures: Vec<String> = MEASURES
        .iter()
        .map(|m| match m.unit {
            FieldUnit::Baht => format!("{}_satang", m.name),
            FieldUnit::People | FieldUnit::Count => m.name.to_string(),
        })
        .collect();
    let expected = |after: &[&str]| -> Vec<String> {
        ["fund_id", "period", "revision"]
            .into_iter()
            .map(String::from)
            .chain(measures.iter().cloned())
            .chain(after.iter().map(|c| c.to_string()))
            .collect()
    };
    let provenance = ["reported_at", "source", "run_id", "recorded_at"];
    assert_eq!(tables["summaries"], expected(&provenance), "{backend:?}");
    let superseded = [&provenance[..], &["superseded_at", "superseded_by_run"]].concat();
    assert_eq!(
        tables["summary_revisions"],
        expected(&superseded),
        "{backend:?}"
    );
    db.cleanup().await
}

#[tokio::test]
async fn summaries_hold_the_model_measures_on_sqlite() -> anyhow::Result<()> {
    summaries_hold_the_model_measures(TestBackend::Sqlite).await
}

#[tokio::test]
async fn summaries_hold_the_model_measures_on_postgres() -> anyhow::Result<()> {
    if !run_postgres_half("summaries_hold_the_model_measures_on_postgres") {
        return Ok(());
    }
    summaries_hold_the_model_measures(TestBackend::Postgres).await
}

/// The two back ends' migrations end in the same tables with the same columns in the same order.
#[tokio::test]
async fn sqlite_and_postgres_migrations_define_the_same_tables_and_columns() -> anyhow::Result<()> {
    if !run_postgres_half("sqlite_and_postgres_migrations_define_the_same_tables_and_columns") {
        return Ok(());
    }
    let sqlite = TestDb::new(TestBackend::Sqlite).await?;
    let postgres = TestDb::new(TestBackend::Postgres).await?;
    let (a, b) = (
        table_columns(&sqlite).await?,
        table_columns(&postgres).await?,
    );
    assert!(
        a.contains_key("summaries") && a.contains_key("audit"),
        "{a:?}"
    );
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    for (table, columns) in &a {
        assert_eq!(
            columns, &b[table],
            "{table}: the same columns in the same order"
        );
    }
    sqlite.cleanup().await?;
    postgres.cleanup().await
}

/// A connector of the configuration file, as `sync_connectors` records it.
fn configured(id: &str, provinces: &[&str]) -> welfare_hub::store::ConnectorRecord {
    welfare_hub::store::ConnectorRecord {
        id: id.into(),
        kind: "file".into(),
        config: serde_json::json!({"kind": "file", "location": format!("/srv/{id}.csv")}),
        schedule: None,
        enabled: true,
        cursor: None,
        origin: welfare_hub::store::Origin::Configuration,
        name: None,
        timeout_secs: 600,
        max_attempts: 4,
        provinces: provinces.iter().map(|p| p.to_string()).collect(),
    }
}

on_both_backends!(connectors_of_the_file_and_of_the_api_live_side_by_side);
async fn connectors_of_the_file_and_of_the_api_live_side_by_side(
    backend: TestBackend,
) -> anyhow::Result<()> {
    use welfare_hub::store::{Actor, Origin, QuarantineRow};
    let db = TestDb::new(backend).await?;
    let store = &db.store;
    let editor = Actor {
        name: "phayao-network".into(),
        role: "province-editor".into(),
    };
    store
        .sync_connectors(&[configured("file-56", &["56"]), configured("file-all", &[])])
        .await?;
    let mut made = configured("api-56", &["56"]);
    made.origin = Origin::Api;
    made.name = Some("รายงานพะเยา".into());
    assert_eq!(
        store
            .save_connector(&made, &editor, "connector.create")
            .await?,
        None
    );
    let mut wide = configured("api-56-57", &["56", "57"]);
    wide.origin = Origin::Api;
    store
        .save_connector(&wide, &editor, "connector.create")
        .await?;

    // Serving with a file that no longer names file-56 disables it, and leaves the API's alone.
    store
        .sync_connectors(&[configured("file-all", &[])])
        .await?;
    let all = store.connectors().await?;
    let state: Vec<(&str, &str, bool, Vec<String>)> = all
        .iter()
        .map(|c| {
            (
                c.id.as_str(),
                c.origin.as_str(),
                c.enabled,
                c.provinces.clone(),
            )
        })
        .collect();
    assert_eq!(
        state,
        [
            ("api-56", "api", true, vec!["56".to_string()]),
            ("api-56-57", "api", true, vec!["56".into(), "57".into()]),
            ("file-56", "configuration", false, vec!["56".into()]),
            ("file-all", "configuration", true, vec![]),
        ]
    );
    assert_eq!(
        store
            .connector_record("api-56")
            .await?
            .unwrap()
            .name
            .as_deref(),
        Some("รายงานพะเยา")
    );
    // A file naming an id the API holds is refused, naming it; nothing changes.
    let clash = store
        .sync_connectors(&[configured("api-56", &["56"])])
        .await
        .unwrap_err()
        .to_string();
    assert!(clash.contains("api-56"), "{clash}");
    assert_eq!(store.connectors().await?, all);
    // The API may not change or remove a file's connector.
    let mut taken = configured("file-all", &[]);
    taken.origin = Origin::Api;
    assert!(
        store
            .save_connector(&taken, &editor, "connector.update")
            .await
            .is_err()
    );
    assert!(store.remove_connector("file-all", &editor).await.is_err());

    // An editor's scope is a predicate of the read: connectors whose provinces are all its own.
    let ids = |records: Vec<welfare_hub::store::ConnectorRecord>| {
        records.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };
    let p56 = vec!["56".to_string()];
    let p56_57 = vec!["56".to_string(), "57".to_string()];
    assert_eq!(
        ids(store.connectors_page(Some(&p56), None, None, 100).await?),
        ["api-56", "file-56"]
    );
    assert_eq!(
        ids(store
            .connectors_page(Some(&p56_57), None, None, 100)
            .await?),
        ["api-56", "api-56-57", "file-56"]
    );
    assert!(
        store
            .connectors_page(Some(&[]), None, None, 100)
            .await?
            .is_empty()
    );
    assert_eq!(
        ids(store
            .connectors_page(None, None, Some("api-56-57"), 1)
            .await?),
        ["file-56"]
    );

    // Quarantine is read within the same scope.
    let row = |location: &str| QuarantineRow {
        location: location.into(),
        reason: "members_total is not reported; every row must give it".into(),
        raw: None,
        fund_id: None,
        period: None,
    };
    let mut tx = store.begin().await?;
    tx.quarantine(None, Some("api-56"), &[row("a.csv line 2")])
        .await?;
    tx.quarantine(None, Some("api-56-57"), &[row("b.csv line 2")])
        .await?;
    tx.quarantine(None, Some("file-all"), &[row("c.csv line 2")])
        .await?;
    tx.commit().await?;
    async fn seen(store: &Store, provinces: Option<&[String]>) -> anyhow::Result<Vec<String>> {
        let rows = store
            .quarantine_page(None, provinces, false, 100, None)
            .await?;
        Ok(rows
            .into_iter()
            .map(|q| q.connector_id.unwrap_or_default())
            .collect())
    }
    assert_eq!(seen(store, Some(&p56)).await?, ["api-56"]);
    assert_eq!(seen(store, Some(&p56_57)).await?, ["api-56-57", "api-56"]);
    assert_eq!(
        seen(store, None).await?,
        ["file-all", "api-56-57", "api-56"]
    );
    assert_eq!(
        store.open_quarantine_counts().await?.get("api-56"),
        Some(&1)
    );

    // Removed: gone from the listings, audited, and a new connector of that id starts afresh.
    let mut tx = store.begin().await?;
    tx.save_cursor("api-56", "sha256:abc").await?;
    tx.commit().await?;
    let removed = store.remove_connector("api-56", &editor).await?.unwrap();
    assert_eq!(removed.cursor.as_deref(), Some("sha256:abc"));
    assert!(store.connector_record("api-56").await?.is_none());
    assert!(store.remove_connector("api-56", &editor).await?.is_none());
    store
        .save_connector(&made, &editor, "connector.create")
        .await?;
    assert_eq!(store.connector_cursor("api-56").await?, None);
    let audit = store.audit_of("connector:api-56").await?;
    let trail: Vec<(&str, bool, bool)> = audit
        .iter()
        .map(|e| (e.action.as_str(), e.before.is_some(), e.after.is_some()))
        .collect();
    assert_eq!(
        trail,
        [
            ("connector.create", false, true),
            ("connector.remove", true, false),
            ("connector.create", false, true),
        ]
    );
    assert!(audit.iter().all(|e| e.actor == "phayao-network"
        && e.actor_role.as_deref() == Some("province-editor")
        && e.province.as_deref() == Some("56")));
    assert!(audit[0].after.as_ref().unwrap().get("cursor").is_none());
    db.cleanup().await
}
