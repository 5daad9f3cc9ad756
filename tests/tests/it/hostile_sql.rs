//! `POST /api/v1/query` as a hostile user sends it: statements built to overflow the stack, to take
//! gigabytes while planning, to answer a gigabyte, or to take every core; through the router and
//! against the real binary, which must answer each in JSON and stay alive and healthy.

use std::time::Duration;

use axum::http::StatusCode;
use welfare_tests::TestDb;

use crate::analytics::{Reply, get, hub, send};

/// `SELECT 1+1+…+1` with 1,000 terms: about 2 KB.
fn deep_sum() -> String {
    format!("SELECT 1{}", "+1".repeat(999))
}

/// `SELECT 1 UNION ALL SELECT 1 …` with `n` more selects.
fn union(n: usize) -> String {
    format!("SELECT 1{}", " UNION ALL SELECT 1".repeat(n))
}

const REPEAT: &str = "SELECT length(repeat('x', 1000000000))";

/// Each row about 1 KB, a million of them: about 1 GB if nothing cut it.
const HUGE: &str = "SELECT value, repeat('x', 1000) AS filler FROM generate_series(1, 1000000)";

/// Runs for as long as it is let: a 10¹⁰-row cross join.
const HEAVY: &str = "SELECT SUM(a.value * b.value) AS s FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b";

fn body(sql: &str) -> String {
    serde_json::json!({ "sql": sql }).to_string()
}

fn error_of(r: &Reply) -> (String, String) {
    let j = r.json();
    let fields = j.as_object().map(|o| o.len());
    assert_eq!(fields, Some(2), "only error and message: {j}");
    (
        j["error"].as_str().unwrap_or_default().to_string(),
        j["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn statements_built_to_crash_the_hub_are_refused_before_they_run() -> anyhow::Result<()> {
    let (db, _analytics, state) = hub().await?;
    let cases: [(String, u16, &str, &str); 6] = [
        (
            deep_sum(),
            400,
            "query_too_deep",
            "SQL: expressions nest deeper than 100 levels; write the statement flatter",
        ),
        (
            union(1_000),
            400,
            "query_too_deep",
            "SQL: UNION, INTERSECT or EXCEPT operations nest deeper than 100 levels; write the statement flatter",
        ),
        (
            format!("SELECT {}1{}", "(".repeat(300), ")".repeat(300)),
            400,
            "query_too_deep",
            "SQL: parentheses, subqueries or function calls nest deeper than 100 levels; write the statement flatter",
        ),
        (
            union(3_500),
            400,
            "query_too_long",
            "SQL: the statement is 66508 bytes; at most 65536 are accepted",
        ),
        (
            REPEAT.into(),
            400,
            "query_memory",
            "the query needed more than its memory limit: repeat(…) would make about 1000000000 bytes over 1 rows; one function's answer may hold at most 16777216 bytes",
        ),
        (
            "SELECT replace(repeat('a', 100000), 'a', repeat('b', 100000))".into(),
            400,
            "query_memory",
            "the query needed more than its memory limit: replace(…) would make about 10000200001 bytes over 1 rows; one function's answer may hold at most 16777216 bytes",
        ),
    ];
    for (sql, status, error, message) in cases {
        let r = send(&state, "POST", "/api/v1/query", Some(&body(&sql))).await;
        assert_eq!(r.status.as_u16(), status, "{}", &sql[..40.min(sql.len())]);
        assert_eq!(error_of(&r), (error.to_string(), message.to_string()));
        assert_eq!(get(&state, "/healthz").await.status, StatusCode::OK);
    }
    // A syntax error in a long statement repeats at most 200 characters of it.
    let long_word = "x".repeat(20_000);
    let r = send(
        &state,
        "POST",
        "/api/v1/query",
        Some(&body(&format!("SELECT 1 {long_word} {long_word}"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let (error, message) = error_of(&r);
    assert_eq!(error, "invalid_query");
    assert!(message.starts_with("SQL: "), "{message}");
    assert!(message.chars().count() <= 210, "{message}");
    db.cleanup().await
}

#[tokio::test]
async fn a_gigabyte_answer_is_cut_at_the_byte_cap() -> anyhow::Result<()> {
    let (db, _analytics, state) = hub().await?;
    let cap = 64 * 1024 * 1024;
    let r = send(&state, "POST", "/api/v1/query", Some(&body(HUGE))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.len() <= cap + 200, "{} bytes", r.body.len());
    assert_eq!(r.headers["x-rows-truncated"], "true");
    let j = r.json();
    assert_eq!(j["truncated"], true);
    assert_eq!(j["max_bytes"], cap);
    let count = j["count"].as_u64().unwrap_or_default();
    assert_eq!(j["rows"].as_array().map(Vec::len), Some(count as usize));
    // About 1,030 bytes a row: the cap holds some 65,000 of them, not the 100,000 of the row cap.
    assert!((50_000..70_000).contains(&count), "{count} rows");
    assert_eq!(j["rows"][0]["value"], 1);
    assert_eq!(j["rows"][0]["filler"], "x".repeat(1000));

    let csv = send(
        &state,
        "POST",
        "/api/v1/query?format=csv",
        Some(&body(HUGE)),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.len() <= cap, "{} bytes", csv.body.len());
    assert_eq!(csv.headers["x-rows-truncated"], "true");
    assert_eq!(get(&state, "/healthz").await.status, StatusCode::OK);
    db.cleanup().await
}

#[tokio::test]
async fn three_heavy_queries_at_once_leave_the_hub_answering() -> anyhow::Result<()> {
    let (db, _analytics, state) = hub().await?;
    let heavy: Vec<_> = (0..3)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(
                async move { send(&state, "POST", "/api/v1/query", Some(&body(HEAVY))).await },
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // While all three run: the hub answers its health check, and a fourth query is told to come back.
    assert_eq!(get(&state, "/healthz").await.status, StatusCode::OK);
    let fourth = send(&state, "POST", "/api/v1/query", Some(&body("SELECT 1"))).await;
    assert_eq!(fourth.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(fourth.headers["retry-after"], "2");
    assert_eq!(
        error_of(&fourth),
        (
            "busy".into(),
            "3 user queries are running and none finished within 2000 ms; try again in 2 s".into()
        )
    );
    assert_eq!(get(&state, "/healthz").await.status, StatusCode::OK);
    for h in heavy {
        let r = h.await?;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            error_of(&r),
            (
                "query_timeout".into(),
                "the query took longer than 10000 ms and was stopped".into()
            )
        );
    }
    let after = send(
        &state,
        "POST",
        "/api/v1/query",
        Some(&body("SELECT 1 AS one")),
    )
    .await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.json()["rows"][0]["one"], 1);
    db.cleanup().await
}

/// The real binary, sent every break in turn: each is answered, and after each the process is alive
/// and `/healthz` answers.
#[tokio::test]
async fn the_binary_survives_every_break() -> anyhow::Result<()> {
    let db = TestDb::sqlite_with_geography().await?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("hub.toml");
    // Short limits keep the test short on a debug build: heavy queries stop after 3 s, answers are
    // cut at 8 MB.
    std::fs::write(
        &config,
        "[analytics]\nquery_time_limit_secs = 3\nquery_max_answer_mb = 8\n",
    )?;
    let config = config.display().to_string();
    let (mut child, base, _) = crate::e2e::start(&[
        "serve",
        "--config",
        &config,
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &db.url,
    ])
    .await?;
    let client = crate::e2e::http();
    let query = |sql: String| {
        let client = client.clone();
        let url = format!("{base}/api/v1/query");
        async move {
            let r = client
                .post(url)
                .bearer_auth(crate::e2e::TOKEN)
                .header("content-type", "application/json")
                .body(body(&sql))
                .send()
                .await?;
            let status = r.status().as_u16();
            let text = r.text().await?;
            anyhow::Ok((status, text))
        }
    };
    let error = |text: &str| -> String {
        serde_json::from_str::<serde_json::Value>(text).map_or_else(
            |e| format!("not JSON ({e}): {}", &text[..text.len().min(200)]),
            |j| j["error"].as_str().unwrap_or_default().to_string(),
        )
    };
    let mut healthy = async |after: &str| -> anyhow::Result<()> {
        let health = client.get(format!("{base}/healthz")).send().await?;
        assert_eq!(health.status(), 200, "/healthz after {after}");
        assert!(child.try_wait()?.is_none(), "the hub exited after {after}");
        Ok(())
    };

    let (status, text) = query(deep_sum()).await?;
    assert_eq!((status, error(&text)), (400, "query_too_deep".into()));
    healthy("the deep expression").await?;

    // 20,000 UNION ALL is 380 KB: refused by the body limit or the statement limit. The body limit
    // answers 413 from the declared length and closes the connection before the body is read, so a
    // client still writing may see the connection closed instead of the answer: also a refusal.
    match query(union(20_000)).await {
        Ok((status, text)) => assert!(
            [(413, "too_large"), (400, "query_too_long")]
                .contains(&(status, error(&text).as_str())),
            "{status} {text}"
        ),
        Err(e) => {
            let chain = format!("{e:#}");
            assert!(
                chain.contains("Broken pipe") || chain.contains("Connection reset"),
                "{chain}"
            );
        }
    }
    let (status, text) = query(union(3_000)).await?;
    assert_eq!((status, error(&text)), (400, "query_too_deep".into()));
    healthy("the wide UNION").await?;

    let (status, text) = query(REPEAT.into()).await?;
    assert_eq!((status, error(&text)), (400, "query_memory".into()));
    healthy("repeat of 10⁹").await?;

    let (status, text) = query(HUGE.into()).await?;
    assert_eq!(status, 200);
    assert!(text.len() <= 8 * 1024 * 1024 + 200, "{} bytes", text.len());
    let j: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(j["truncated"], true);
    assert_eq!(j["max_bytes"], 8 * 1024 * 1024);
    healthy("the huge answer").await?;

    let heavy: Vec<_> = (0..3).map(|_| tokio::spawn(query(HEAVY.into()))).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    healthy("three heavy queries started").await?;
    for h in heavy {
        let (status, text) = h.await??;
        assert_eq!((status, error(&text)), (400, "query_timeout".into()));
    }
    healthy("three heavy queries").await?;

    crate::e2e::stop(child).await?;
    db.cleanup().await
}
