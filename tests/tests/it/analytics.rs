//! The analytics API through the router, over a real SQLite store holding the real geography:
//! formats, figures, errors, user SQL, and the snapshot swap.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use rust_decimal::Decimal;
use tower::ServiceExt;
use welfare_hub::analytics::{Analytics, AnalyticsConfig};
use welfare_hub::api::{AppState, router};
use welfare_model::fund::Fund;
use welfare_model::{AreaCode, FundId, FundKind, Money, Period, Summary};
use welfare_queries::{Eligibility, Policy};
use welfare_tests::TestDb;

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// The hub's configured (admin) token in router tests of the analytics: fund-level answers and SQL
/// need one.
pub(crate) const TOKEN: &str = "analytics-test-token-2569";

/// A JSON request through the router, with the state's configured token when it has one.
pub(crate) async fn send(state: &AppState, method: &str, uri: &str, body: Option<&str>) -> Reply {
    let bearer = state
        .token
        .as_ref()
        .map(|t| format!("Bearer {}", t.expose()));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(b) = bearer.as_deref() {
        headers.push(("authorization", b));
    }
    send_with(state, method, uri, &headers, body).await
}

/// A request through the router with these headers.
pub(crate) async fn send_with(
    state: &AppState,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    reply(state.clone(), request).await
}

/// Any request through the router, and what it answered.
pub(crate) async fn reply(state: AppState, request: Request<Body>) -> Reply {
    let response = router(state).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}

pub(crate) async fn get(state: &AppState, uri: &str) -> Reply {
    send(state, "GET", uri, None).await
}

fn fund(id: &str, tambon: &str, registered: Option<&str>) -> Fund {
    Fund {
        id: FundId::parse(id).unwrap(),
        name_th: format!("กองทุนสวัสดิการชุมชน {id}"),
        name_en: None,
        kind: FundKind::CommunityWelfare,
        area: AreaCode::parse(tambon).unwrap(),
        municipality: id.ends_with('M').then(|| "เทศบาลนครเชียงใหม่".to_string()),
        registered_on: registered.map(|d| d.parse().unwrap()),
        closed_on: None,
    }
}

fn summary(id: &str, period: &str, members: i64, contrib: &str, grant: Option<&str>) -> Summary {
    let mut s = Summary::new(FundId::parse(id).unwrap(), Period::parse(period).unwrap());
    s.members_total = Some(members);
    s.contrib_members = Some(Money::parse(contrib).unwrap());
    s.grant_state = grant.map(|g| Money::parse(g).unwrap());
    s.fund_balance = Some(Money::from_baht(10_000));
    s.reported_at = Some("2025-04-02T03:00:00Z".parse().unwrap());
    s
}

async fn store_summaries(db: &TestDb, rows: &[Summary]) -> anyhow::Result<()> {
    let mut tx = db.store.begin().await?;
    tx.upsert_summaries(None, rows).await?;
    tx.commit().await?;
    Ok(())
}

/// A policy that pays every fund from its first report: the fixture has only three months.
fn open_policy() -> Policy {
    Policy {
        name: "open".into(),
        title_th: "ทุกกองทุน".into(),
        title_en: "Every fund".into(),
        eligibility: Eligibility {
            min_months_registered: 0,
            min_reports_last_12: 0,
        },
        ..Policy::defaults().remove(0)
    }
}

pub(crate) async fn hub() -> anyhow::Result<(TestDb, Arc<Analytics>, AppState)> {
    let db = TestDb::sqlite_with_geography().await?;
    db.store
        .upsert_funds(
            &[
                fund("F500101", "500101", Some("2020-01-01")),
                fund("F500101M", "500101", None),
                fund("F100101", "100101", Some("2019-05-01")),
            ],
            "test",
        )
        .await?;
    store_summaries(
        &db,
        &[
            summary("F500101", "2025-01", 100, "3000", Some("2000")),
            summary("F500101", "2025-02", 110, "3300", Some("2000")),
            summary("F500101", "2025-03", 120, "3600", Some("2000")),
            summary("F500101M", "2025-03", 30, "900", None),
        ],
    )
    .await?;
    let mut policies = Policy::defaults();
    policies.push(open_policy());
    let config = AnalyticsConfig {
        policies,
        default_policy: "open".into(),
        rebuild_delay_ms: 10,
        ..AnalyticsConfig::default()
    };
    let analytics = Analytics::open(
        db.store.clone(),
        config,
        15,
        Arc::new(welfare_hub::ingest::ChangeSignal::default()),
    )
    .await?;
    let mut state = AppState::read_only(db.store.clone());
    state.analytics = Some(analytics.clone());
    state.token = Some(welfare_connectors::Secret::new(TOKEN));
    Ok((db, analytics, state))
}

fn money(v: &serde_json::Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("money is a string: {v}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn indicators_by_district_with_states_and_exact_money() -> anyhow::Result<()> {
    let (db, _analytics, state) = hub().await?;
    let areas = get(&state, "/api/v1/areas?level=subdistrict&within=5001")
        .await
        .json();
    let population = areas["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "500101")
        .unwrap()["population"]
        .as_i64()
        .unwrap();
    let r = get(
        &state,
        "/api/v1/indicators?level=subdistrict&within=5001&period=2025-03",
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(body["policy"], "open");
    assert_eq!(body["population_year"], 2021);
    assert!(r.headers.contains_key("x-snapshot-version"));
    let rows = body["rows"].as_array().unwrap();
    let si_phum = rows.iter().find(|r| r["code"] == "500101").unwrap();
    assert_eq!(si_phum["state"], "value");
    assert_eq!(si_phum["members"], 150);
    assert_eq!(si_phum["population"], population);
    assert_eq!(si_phum["funds"], 2);
    // 150 people of the tambon's population, to two decimals.
    let expected = (Decimal::from(150 * 100) / Decimal::from(population)).round_dp(2);
    assert_eq!(si_phum["coverage"].to_string(), expected.to_string());
    // Due: 120 × 365 / 12 = 3,650.00 and 30 × 365 / 12 = 912.50; received 2,000.
    assert_eq!(money(&si_phum["due"]), "4562.50".parse()?);
    assert_eq!(money(&si_phum["received"]), "2000".parse()?);
    assert_eq!(money(&si_phum["shortfall"]), "2562.50".parse()?);
    let others: Vec<_> = rows.iter().filter(|r| r["code"] != "500101").collect();
    assert!(!others.is_empty());
    assert!(
        others
            .iter()
            .all(|r| r["state"] == "no_fund" && r["members"].is_null() && r["coverage"].is_null())
    );
    // Bangkok's fund has not reported: "no report", not zero.
    let bangkok = get(&state, "/api/v1/indicators?level=province&period=2025-03")
        .await
        .json();
    let bkk = bangkok["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "10")
        .unwrap()
        .clone();
    assert_eq!(
        (bkk["state"].as_str(), bkk["members"].is_null()),
        (Some("no_report"), true)
    );
    assert_eq!(bangkok["count"], 77);
    // A three-month range: flows summed, stocks last.
    let q1 = get(
        &state,
        "/api/v1/indicators?level=country&from=2025-01&to=2025-03",
    )
    .await
    .json();
    let th = &q1["rows"][0];
    assert_eq!(
        (th["code"].as_str(), th["members"].as_i64()),
        (Some("TH"), Some(150))
    );
    assert_eq!(
        (th["expected_reports"].as_i64(), th["reports"].as_i64()),
        (Some(3 + 1 + 3), Some(4))
    );
    // 3 months: 120 × 365 × 3 / 12 = 10,950; 30 × 365 × 3 / 12 = 2,737.50; received 6,000.
    assert_eq!(money(&th["shortfall"]), "7687.50".parse()?);
    db.cleanup().await
}

#[tokio::test]
async fn formats_for_excel_and_arrow() -> anyhow::Result<()> {
    let (db, _analytics, state) = hub().await?;
    let csv = get(
        &state,
        "/api/v1/indicators?level=province&period=2025-03&format=csv",
    )
    .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    assert!(csv.body.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM first");
    let text = String::from_utf8(csv.body.clone())?;
    assert!(text.lines().next().unwrap().ends_with("funds_high_risk"));
    assert!(text.contains("เชียงใหม่"));
    assert_eq!(text.lines().count(), 1 + 77);
    let arrow = get(&state, "/api/v1/funds?period=2025-03&format=arrow").await;
    assert_eq!(arrow.content_type, "application/vnd.apache.arrow.stream");
    let reader = welfare_queries::datafusion::arrow::ipc::reader::StreamReader::try_new(
        std::io::Cursor::new(arrow.body),
        None,
    )?;
    let batches: Vec<_> = reader.collect::<Result<_, _>>()?;
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
    let schema = batches[0].schema();
    assert_eq!(
        schema.field_with_name("fund_balance")?.data_type(),
        &welfare_queries::datafusion::arrow::datatypes::DataType::Decimal128(18, 2)
    );
    let bad = get(&state, "/api/v1/indicators?format=xml").await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["message"].as_str().unwrap().contains("format"));
    db.cleanup().await
}

#[tokio::test]
async fn funds_policies_matching_timeseries() -> anyhow::Result<()> {
    let (db, _analytics, state) = hub().await?;
    let funds = get(&state, "/api/v1/funds?period=2025-03").await.json();
    assert_eq!(funds["count"], 3);
    // The Bangkok fund never reported: high risk, with the reason.
    let high = get(&state, "/api/v1/funds?period=2025-03&risk=high")
        .await
        .json();
    let ids: Vec<&str> = high["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fund_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"F100101"), "{high}");
    let one = get(&state, "/api/v1/funds/F500101?period=2025-03").await;
    assert_eq!(one.status, 200);
    let one = one.json();
    assert_eq!(one["history"].as_array().unwrap().len(), 3);
    assert_eq!(one["latest"]["members_total"], 120);
    assert_eq!(one["fund"]["contributions_12m"], "9900.00");
    assert_eq!(
        get(&state, "/api/v1/funds/NOPE?period=2025-03")
            .await
            .status,
        404
    );
    let bad = get(&state, "/api/v1/funds?risk=severe").await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["message"].as_str().unwrap().contains("severe"));

    let policies = get(&state, "/api/v1/policies").await.json();
    let names: Vec<&str> = policies["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["codi-1-1", "act-1-1-1", "open"]);
    assert_eq!(policies["policies"][1]["local_per_member_year"], "365.00");

    let side = get(
        &state,
        "/api/v1/matching?policy=open,codi-1-1&level=country&period=2025-03",
    )
    .await
    .json();
    let row = &side["rows"][0];
    assert_eq!(row["open.shortfall"], "2562.50");
    // Under today's rule neither fund qualifies yet (too few reports).
    assert_eq!(row["codi-1-1.shortfall"], "0.00");
    assert_eq!(row["codi-1-1.eligible_funds"], 0);
    let unknown = get(&state, "/api/v1/matching?policy=nope").await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.json()["message"].as_str().unwrap().contains("nope"));

    let ts = get(
        &state,
        "/api/v1/timeseries?area=50&indicator=members,contributions&from=2025-01&to=2025-04",
    )
    .await
    .json();
    let rows = ts["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        (rows[0]["members"].as_i64(), rows[2]["members"].as_i64()),
        (Some(100), Some(150))
    );
    assert_eq!(rows[2]["contributions"], "4500.00");
    assert!(
        rows[3]["members"].is_null(),
        "April has no report: {}",
        rows[3]
    );
    db.cleanup().await
}

#[tokio::test]
async fn parameters_are_checked() -> anyhow::Result<()> {
    let (db, _analytics, state) = hub().await?;
    for (uri, word) in [
        ("/api/v1/indicators?level=galaxy", "level"),
        ("/api/v1/indicators?within=99", "99"),
        ("/api/v1/indicators?period=2025-13", "period"),
        ("/api/v1/indicators?from=2025-05&to=2025-01", "after"),
        ("/api/v1/indicators?period=2025-01&from=2025-01", "either"),
        ("/api/v1/indicators?level=province&within=5001", "holds no"),
        ("/api/v1/indicators?colour=red", "colour"),
        ("/api/v1/timeseries?indicator=happiness", "happiness"),
    ] {
        let r = get(&state, uri).await;
        assert_eq!(r.status, 400, "{uri}");
        let body = r.json();
        assert!(
            body["message"].as_str().unwrap().contains(word),
            "{uri}: {body}"
        );
    }
    // Thai forms of a month work as everywhere else.
    let encoded: String = "มี.ค. 2568".bytes().map(|b| format!("%{b:02X}")).collect();
    let thai = get(
        &state,
        &format!("/api/v1/indicators?level=country&period={encoded}"),
    )
    .await;
    assert_eq!(thai.json()["to"], "2025-03");
    db.cleanup().await
}

#[tokio::test]
async fn user_sql_is_one_select_within_limits() -> anyhow::Result<()> {
    let (db, _analytics, state) = hub().await?;
    let ok = send(
        &state,
        "POST",
        "/api/v1/query",
        Some(r#"{"sql": "SELECT fund_id, SUM(contrib_members) AS contributions FROM summaries GROUP BY fund_id ORDER BY fund_id"}"#),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let body = ok.json();
    assert_eq!(body["truncated"], false);
    assert_eq!(body["rows"][0]["fund_id"], "F500101");
    assert_eq!(body["rows"][0]["contributions"], "9900.00");
    for sql in [
        "DELETE FROM summaries",
        "DROP TABLE funds",
        "SELECT 1; SELECT 2",
        "CREATE TABLE x AS SELECT 1",
        "SELECT nothing FROM nowhere",
    ] {
        let r = send(
            &state,
            "POST",
            "/api/v1/query",
            Some(&serde_json::json!({ "sql": sql }).to_string()),
        )
        .await;
        assert_eq!(r.status, 400, "{sql}");
        assert_eq!(r.json()["error"], "invalid_query", "{sql}");
    }
    let r = send(&state, "POST", "/api/v1/query", Some("not json")).await;
    assert_eq!(r.status, 400);
    let csv = send(
        &state,
        "POST",
        "/api/v1/query?format=csv",
        Some(r#"{"sql": "SELECT name_th FROM areas WHERE code = '50'"}"#),
    )
    .await;
    assert_eq!(String::from_utf8(csv.body)?, "\u{feff}name_th\nเชียงใหม่\n");
    db.cleanup().await
}

#[tokio::test]
async fn snapshot_swaps_whole_after_ingestion() -> anyhow::Result<()> {
    let (db, analytics, state) = hub().await?;
    let old = analytics.current();
    store_summaries(&db, &[summary("F100101", "2025-03", 40, "1200", None)]).await?;
    // The refresher folds the change signal into one rebuild.
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = analytics.spawn_refresher(shutdown);
    analytics.mark_changed();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while analytics.current().version == old.version {
        assert!(tokio::time::Instant::now() < deadline, "no rebuild");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    task.await?;
    let new = analytics.current();
    assert!(new.version > old.version);
    let body = get(&state, "/api/v1/indicators?level=country&period=2025-03")
        .await
        .json();
    assert_eq!(body["snapshot"].as_u64(), Some(new.version));
    assert_eq!(body["rows"][0]["members"], 190);
    // A query holding the old snapshot still sees the old tables.
    let (_, batches, _) = old
        .user_query("SELECT COUNT(*) AS n FROM summaries")
        .await?;
    let rows = welfare_queries::output::batches_to_json_rows(&batches)?;
    assert_eq!(rows[0]["n"], 4);
    let (_, batches, _) = new
        .user_query("SELECT COUNT(*) AS n FROM summaries")
        .await?;
    assert_eq!(
        welfare_queries::output::batches_to_json_rows(&batches)?[0]["n"],
        5
    );
    db.cleanup().await
}

#[tokio::test]
async fn table_answers_are_cached_per_snapshot_revalidated_and_compressed() -> anyhow::Result<()> {
    use std::io::Read as _;
    let (db, analytics, state) = hub().await?;
    let version = analytics.current().version;
    let uri = "/api/v1/indicators?level=district&within=50&period=2025-03";
    let first = send(&state, "GET", uri, None).await;
    assert_eq!(first.status, StatusCode::OK);
    let etag = first.headers["etag"].to_str()?.to_string();
    assert!(etag.starts_with(&format!("W/\"{version}-")), "{etag}");
    assert!(first.headers["cache-control"].to_str()?.contains("max-age"));
    assert_eq!(first.headers["vary"], "accept-encoding");
    assert_eq!(first.headers["x-snapshot-version"], version.to_string());
    assert_eq!(first.json()["count"], 25, "Chiang Mai's districts");
    assert_eq!(analytics.answers.len(), 1);

    // Asked again: the same bytes from the cache; with the validator: 304 and no body.
    let again = send(&state, "GET", uri, None).await;
    assert_eq!(again.body, first.body);
    assert_eq!(analytics.answers.len(), 1);
    let held = send_with(&state, "GET", uri, &[("if-none-match", &etag)], None).await;
    assert_eq!(held.status, StatusCode::NOT_MODIFIED);
    assert!(held.body.is_empty());
    assert_eq!(held.headers["etag"].to_str()?, etag);

    // Compressed forms decode to the same bytes.
    let gz = send_with(&state, "GET", uri, &[("accept-encoding", "gzip")], None).await;
    assert_eq!(gz.headers["content-encoding"], "gzip");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..]).read_to_end(&mut unzipped)?;
    assert_eq!(unzipped, first.body);
    let br = send_with(&state, "GET", uri, &[("accept-encoding", "br, gzip")], None).await;
    assert_eq!(br.headers["content-encoding"], "br");
    let mut unbrotli = Vec::new();
    brotli::Decompressor::new(&br.body[..], 4096).read_to_end(&mut unbrotli)?;
    assert_eq!(unbrotli, first.body);
    assert_eq!(
        br.headers["etag"].to_str()?,
        etag,
        "one validator for every coding"
    );

    // The key is the normalised request: parameter order and the default level do not matter;
    // another format or area does.
    let etag_of = |r: &Reply| r.headers["etag"].to_str().unwrap().to_string();
    let a = send(&state, "GET", "/api/v1/indicators?period=2025-03", None).await;
    let b = send(
        &state,
        "GET",
        "/api/v1/indicators?period=2025-03&level=province",
        None,
    )
    .await;
    let c = send(
        &state,
        "GET",
        "/api/v1/indicators?level=province&period=2025-03",
        None,
    )
    .await;
    assert_eq!(etag_of(&b), etag_of(&c));
    assert_eq!(b.body, c.body);
    assert_ne!(etag_of(&a), etag, "another area");
    let csv = send(&state, "GET", &format!("{uri}&format=csv"), None).await;
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    assert!(
        csv.headers["content-disposition"]
            .to_str()?
            .contains("indicators.csv")
    );
    assert_ne!(etag_of(&csv), etag);

    // Every analytics table is cached and revalidates.
    for uri in [
        "/api/v1/matching?policy=codi-1-1,act-1-1-1&level=province&period=2025-03",
        "/api/v1/timeseries?area=50&from=2025-01&to=2025-03",
        "/api/v1/funds?within=50&period=2025-03",
        "/api/v1/funds/F500101?period=2025-03",
    ] {
        let r = send(&state, "GET", uri, None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        let tag = etag_of(&r);
        let bearer = format!("Bearer {TOKEN}");
        let held = send_with(
            &state,
            "GET",
            uri,
            &[("if-none-match", &tag), ("authorization", &bearer)],
            None,
        )
        .await;
        assert_eq!(held.status, StatusCode::NOT_MODIFIED, "{uri}");
    }
    // A refusal is not cached as an answer.
    let missing = send(&state, "GET", "/api/v1/funds/F999999?period=2025-03", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.headers.get("etag").is_none());

    // A new snapshot: the old validator no longer holds and the answer has the new figures.
    store_summaries(&db, &[summary("F500101M", "2025-02", 20, "600", None)]).await?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = analytics.spawn_refresher(shutdown);
    analytics.mark_changed();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while analytics.current().version == version {
        assert!(tokio::time::Instant::now() < deadline, "no rebuild");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    task.await?;
    let fresh = send_with(&state, "GET", uri, &[("if-none-match", &etag)], None).await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert_ne!(etag_of(&fresh), etag);
    assert_eq!(
        fresh.json()["snapshot"].as_u64(),
        Some(analytics.current().version)
    );
    db.cleanup().await
}
