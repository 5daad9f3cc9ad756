//! The ingestion acceptance corpus (`tests/corpus/`, made by `tests/src/corpus.rs`): every file through
//! a real `file` connector into a real store, each with the outcome the rules give it: stored field by
//! field, quarantined rows with where and why, or the whole file refused. Then the whole corpus again,
//! by cursor and regardless of it: nothing may change.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use welfare_hub::ingest::{ConnectorEntry, Ingestor, RunResult, ValidationRules};
use welfare_hub::store::{RunStatus, Store};
use welfare_model::fund::Fund;
use welfare_model::summary::{MEASURES, MeasureValue};
use welfare_model::{AreaCode, FundId, FundKind, Period};
use welfare_tests::corpus::{self, Case, Manifest, Outcome};
use welfare_tests::{TestBackend, TestDb, run_postgres_half};

fn manifest() -> anyhow::Result<Manifest> {
    let text = std::fs::read_to_string(corpus::corpus_dir().join("cases.json"))?;
    Ok(serde_json::from_str(&text)?)
}

#[test]
fn the_committed_corpus_is_what_its_script_makes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let made = corpus::write(dir.path())?;
    assert_eq!(
        made,
        manifest()?,
        "tests/corpus/cases.json is stale: run `cargo run --bin make-corpus`"
    );
    let committed = corpus::corpus_dir().join("files");
    let mut names: Vec<String> = std::fs::read_dir(&committed)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<anyhow::Result<_>>()?;
    names.sort();
    let mut expected: Vec<String> = made.cases.iter().map(|c| c.file.clone()).collect();
    expected.sort();
    assert_eq!(names, expected, "tests/corpus/files holds other files");
    for name in &names {
        let a = std::fs::read(committed.join(name))?;
        let b = std::fs::read(dir.path().join("files").join(name))?;
        assert!(
            a == b,
            "tests/corpus/files/{name} is not what the script makes"
        );
    }
    // The corpus covers every kind of outcome, widely.
    let count = |o: Outcome| made.cases.iter().filter(|c| c.outcome == o).count();
    assert!(made.cases.len() >= 80, "{} files", made.cases.len());
    assert!(
        count(Outcome::Stored) >= 25
            && count(Outcome::Refused) >= 25
            && count(Outcome::Partial) >= 12
    );
    Ok(())
}

fn entry(id: &str, case: &Case) -> anyhow::Result<ConnectorEntry> {
    let location = corpus::corpus_dir().join("files").join(&case.file);
    let mut source = serde_json::Map::new();
    source.insert("kind".into(), json!("file"));
    source.insert("location".into(), json!(location.display().to_string()));
    source.extend(case.config.clone());
    Ok(ConnectorEntry {
        id: id.into(),
        name: Some(case.file.clone()),
        enabled: true,
        schedule: None,
        timeout_secs: 120,
        max_attempts: 1,
        provinces: Vec::new(),
        source: serde_json::from_value(Value::Object(source))?,
    })
}

/// A stored summary as the corpus writes rows: counts as numbers, money as exact strings, every
/// measure (null when unreported).
fn stored_row(s: &welfare_model::Summary) -> BTreeMap<String, Value> {
    let mut row = BTreeMap::new();
    row.insert("fund_id".into(), json!(s.fund_id.as_str()));
    row.insert("period".into(), json!(s.period.to_string()));
    for (i, m) in MEASURES.iter().enumerate() {
        let v = match s.measure(i) {
            MeasureValue::Count(v) => v.map_or(Value::Null, |v| json!(v)),
            MeasureValue::Money(v) => v.map_or(Value::Null, |v| json!(v.to_string())),
        };
        row.insert(m.name.to_string(), v);
    }
    row
}

fn expected_row(row: &serde_json::Map<String, Value>) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = MEASURES
        .iter()
        .map(|m| (m.name.to_string(), Value::Null))
        .collect();
    out.extend(row.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// The current rows a connector stored, keyed by (fund, month).
async fn rows_of(
    store: &Store,
    connector: &str,
) -> anyhow::Result<BTreeMap<(String, String), BTreeMap<String, Value>>> {
    let keys: Vec<(String, String)> =
        sqlx::query_as("SELECT fund_id, period FROM summaries WHERE source = $1")
            .bind(format!("connector:{connector}"))
            .fetch_all(store.pool())
            .await?;
    let mut out = BTreeMap::new();
    for (fund, period) in keys {
        let (_, s) = store
            .summary(&FundId::parse(&fund)?, Period::parse(&period)?)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{fund} {period} vanished"))?;
        out.insert((fund, period), stored_row(&s));
    }
    Ok(out)
}

fn contains_words(text: &str, words: &[String]) -> bool {
    let lower = text.to_lowercase();
    words.iter().all(|w| lower.contains(&w.to_lowercase()))
}

/// What is wrong with one file's run, if anything.
async fn problems(
    store: &Store,
    id: &str,
    case: &Case,
    run: &RunResult,
) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let stored = rows_of(store, id).await?;
    match case.outcome {
        Outcome::Refused => {
            if run.status != RunStatus::Failed {
                out.push(format!("should be refused, run {:?}", run.status));
            }
            let message = run.error.clone().unwrap_or_default();
            if !contains_words(&message, &case.refusal) {
                out.push(format!(
                    "refusal {message:?} lacks some of {:?}",
                    case.refusal
                ));
            }
            if !stored.is_empty() {
                out.push(format!("refused, yet {} rows stored", stored.len()));
            }
        }
        Outcome::Stored | Outcome::Partial => {
            if run.status != RunStatus::Succeeded {
                out.push(format!("run {:?}: {:?}", run.status, run.error));
            }
            let expected: BTreeMap<(String, String), BTreeMap<String, Value>> = case
                .stored
                .iter()
                .map(|r| {
                    let key = (
                        r["fund_id"].as_str().unwrap_or_default().to_string(),
                        r["period"].as_str().unwrap_or_default().to_string(),
                    );
                    (key, expected_row(r))
                })
                .collect();
            for (key, want) in &expected {
                match stored.get(key) {
                    None => out.push(format!("{key:?} not stored")),
                    Some(got) if got != want => {
                        let diff: Vec<String> = want
                            .iter()
                            .filter(|(k, v)| got.get(*k) != Some(v))
                            .map(|(k, v)| format!("{k}: want {v}, got {}", got[k]))
                            .collect();
                        out.push(format!("{key:?} stored wrong: {}", diff.join("; ")));
                    }
                    Some(_) => {}
                }
            }
            for key in stored.keys().filter(|k| !expected.contains_key(*k)) {
                out.push(format!("{key:?} stored but should not be"));
            }
        }
    }
    // Quarantine: exactly the expected rows of this run, each where and why.
    let quarantined: Vec<_> = store
        .quarantine_rows(Some(id), 10_000)
        .await?
        .into_iter()
        .filter(|q| q.run_id == Some(run.run_id))
        .collect();
    let mut unmatched: Vec<_> = quarantined.iter().collect();
    for want in &case.quarantined {
        match unmatched
            .iter()
            .position(|q| q.location == want.location && contains_words(&q.reason, &want.reason))
        {
            Some(i) => {
                unmatched.remove(i);
            }
            None => out.push(format!(
                "no quarantine at {} with {:?} (have: {})",
                want.location,
                want.reason,
                quarantined
                    .iter()
                    .map(|q| format!("{}: {}", q.location, q.reason))
                    .collect::<Vec<_>>()
                    .join(" | ")
            )),
        }
    }
    for q in unmatched {
        out.push(format!(
            "unexpected quarantine {}: {}",
            q.location, q.reason
        ));
    }
    // Every column accounted for: unrecognised headings reported on the run.
    let mut reported: Vec<String> = run
        .unrecognised
        .iter()
        .map(|c| c.heading.trim().to_string())
        .collect();
    reported.sort();
    reported.dedup();
    let mut wanted = case.unrecognised.clone();
    wanted.sort();
    if case.outcome != Outcome::Refused && reported != wanted {
        out.push(format!(
            "unrecognised columns {reported:?}, want {wanted:?}"
        ));
    }
    Ok(out)
}

async fn totals(store: &Store) -> anyhow::Result<(i64, i64, i64)> {
    let count = |sql: &'static str| async move {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(store.pool()).await?;
        anyhow::Ok(n)
    };
    Ok((
        count("SELECT COUNT(*) FROM summaries").await?,
        count("SELECT COUNT(*) FROM summary_revisions").await?,
        count("SELECT COUNT(*) FROM quarantine").await?,
    ))
}

#[tokio::test]
async fn every_corpus_file_has_its_outcome_and_reruns_change_nothing() -> anyhow::Result<()> {
    corpus_on(TestBackend::Sqlite).await
}

#[tokio::test]
async fn every_corpus_file_has_its_outcome_on_postgres_too() -> anyhow::Result<()> {
    if !run_postgres_half("every_corpus_file_has_its_outcome_on_postgres_too") {
        return Ok(());
    }
    corpus_on(TestBackend::Postgres).await
}

/// Loads the whole corpus into one store on `backend`, checks every file's outcome, then re-runs
/// everything by cursor and regardless of it.
async fn corpus_on(backend: TestBackend) -> anyhow::Result<()> {
    let manifest = manifest()?;
    let db = TestDb::with_geography(backend).await?;
    let funds: Vec<Fund> = manifest
        .funds
        .iter()
        .map(|f| {
            Ok(Fund {
                id: FundId::parse(&f.id)?,
                name_th: format!("กองทุนสวัสดิการชุมชน {}", f.id),
                name_en: None,
                kind: FundKind::CommunityWelfare,
                area: AreaCode::parse(&f.tambon)?,
                municipality: None,
                registered_on: None,
                closed_on: None,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    db.store.upsert_funds(&funds, "corpus").await?;
    let entries: Vec<(ConnectorEntry, &Case)> = manifest
        .cases
        .iter()
        .enumerate()
        .map(|(i, case)| Ok((entry(&format!("corpus-{i:03}"), case)?, case)))
        .collect::<anyhow::Result<_>>()?;
    let records: Vec<_> = entries.iter().map(|(e, _)| e.record()).collect();
    db.store.sync_connectors(&records).await?;
    let ingestor = Ingestor::new(db.store.clone(), ValidationRules::default()).await?;

    let mut failures = Vec::new();
    for (entry, case) in &entries {
        let connector = match entry.build() {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: the connector does not build: {e}", case.file));
                continue;
            }
        };
        let run = ingestor.run(entry, connector.as_ref(), "corpus").await?;
        for p in problems(&db.store, &entry.id, case, &run).await? {
            failures.push(format!("{} ({}): {p}", case.file, case.rules));
        }
    }
    let after_first = totals(&db.store).await?;
    assert_eq!(after_first.1, 0, "loading the corpus created revisions");

    // Again by cursor, then regardless of it (`pull --full`): nothing changes, nothing doubles.
    for full in [false, true] {
        if full {
            sqlx::query("UPDATE connectors SET cursor = NULL")
                .execute(db.store.pool())
                .await?;
        }
        for (entry, case) in &entries {
            let Ok(connector) = entry.build() else {
                continue;
            };
            let run = ingestor.run(entry, connector.as_ref(), "corpus").await?;
            if run.counts.accepted + run.counts.revised > 0 {
                failures.push(format!(
                    "{}: re-run (full: {full}) stored {} new and {} revised rows",
                    case.file, run.counts.accepted, run.counts.revised
                ));
            }
        }
        assert_eq!(
            totals(&db.store).await?,
            after_first,
            "re-running the corpus (full: {full}) changed summaries, revisions or quarantine"
        );
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    db.cleanup().await
}
