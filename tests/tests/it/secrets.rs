//! No secret, path or SQL to anyone without a right to it: what the connectors API shows anonymous
//! callers and token holders, credentials masked in configuration and run errors, and paged
//! listings.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use welfare_connectors::Secret;
use welfare_hub::api::AppState;
use welfare_hub::ingest::ConnectorEntry;
use welfare_hub::store::{RunCounts, RunEnd, RunStatus};
use welfare_tests::{TestBackend, TestDb};

use crate::analytics::{Reply, send_with};

const TOKEN: &str = "operator-token-2569";
const API_KEY: &str = "K3Y-S3CR3T-77";

fn entry(id: &str, source: serde_json::Value) -> ConnectorEntry {
    ConnectorEntry {
        id: id.into(),
        name: Some(format!("แหล่งข้อมูล {id}")),
        enabled: true,
        schedule: Some("0 0 2 * * *".into()),
        timeout_secs: 30,
        max_attempts: 1,
        provinces: Vec::new(),
        source: serde_json::from_value(source).unwrap(),
    }
}

fn entries() -> Vec<ConnectorEntry> {
    let mut all = vec![
        entry(
            "api-50",
            serde_json::json!({
                "kind": "http_json",
                "url": format!("https://funds.example.org/v1/summaries?Api_Key={API_KEY}&province=50"),
            }),
        ),
        entry(
            "db-50",
            serde_json::json!({
                "kind": "sql",
                "url": "postgres://reader@127.0.0.1:5432/funds",
                "query": "SELECT org_code AS fund_id, rpt_period AS period, mem_total AS members_total FROM tbl_private_ledger",
            }),
        ),
    ];
    for i in 1..=5 {
        all.push(entry(
            &format!("file-{i}"),
            serde_json::json!({"kind": "file", "location": format!("/srv/welfare/private/รายงาน-{i}.csv")}),
        ));
    }
    all
}

async fn hub() -> anyhow::Result<(TestDb, AppState)> {
    let db = TestDb::new(TestBackend::Sqlite).await?;
    let entries = entries();
    let records: Vec<_> = entries.iter().map(|e| e.record()).collect();
    db.store.sync_connectors(&records).await?;
    let state = AppState {
        connectors: welfare_hub::live::ConnectorSet::from_entries(entries)
            .map_err(anyhow::Error::msg)?,
        token: Some(Secret::new(TOKEN)),
        ..AppState::read_only(db.store.clone())
    };
    Ok((db, state))
}

async fn get(state: &AppState, uri: &str, token: Option<&str>) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("authorization", b)])
        .unwrap_or_default();
    send_with(state, "GET", uri, &headers, None).await
}

/// A nightly run of `api-50` that failed with `error`, as the run history records it.
async fn failed_run(db: &TestDb, error: &str) -> anyhow::Result<i64> {
    let run = db.store.start_run(Some("api-50"), "nightly").await?;
    db.store
        .finish_run_with(
            run,
            RunEnd {
                status: RunStatus::Failed,
                counts: RunCounts::default(),
                error: Some(error),
                refused: false,
                unrecognised: &[],
            },
        )
        .await?;
    Ok(run)
}

/// Nothing a caller without the token must not see.
fn assert_nothing_private(text: &str) {
    for private in [
        API_KEY,
        "/srv/welfare",
        "tbl_private_ledger",
        "127.0.0.1",
        // The port as part of an address: a timestamp's microseconds may hold these digits.
        ":5432",
        "postgres://",
        "SELECT",
    ] {
        assert!(!text.contains(private), "{private:?} shown: {text}");
    }
}

#[tokio::test]
async fn anonymous_callers_see_ids_kinds_and_statuses_only() -> anyhow::Result<()> {
    let (db, state) = hub().await?;
    failed_run(
        &db,
        &format!(
            "source unreachable: https://funds.example.org/v1/summaries?Api_Key={API_KEY}&province=50: connection refused"
        ),
    )
    .await?;

    let listing = get(&state, "/api/v1/connectors", None).await;
    assert_eq!(listing.status, StatusCode::OK);
    assert_nothing_private(&String::from_utf8_lossy(&listing.body));
    let body = listing.json();
    assert_eq!(body["count"], 7);
    for c in body["connectors"].as_array().unwrap() {
        let keys: BTreeSet<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["id", "kind", "enabled", "schedule", "last_run"]),
            "{c}"
        );
    }
    let api = &body["connectors"][0];
    assert_eq!(api["id"], "api-50");
    assert_eq!(api["kind"], "http_json");
    assert_eq!(api["last_run"]["status"], "failed");
    assert!(api["last_run"].get("error").is_none());

    let one = get(&state, "/api/v1/connectors/db-50", None).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_nothing_private(&String::from_utf8_lossy(&one.body));
    assert!(one.json().get("recent_runs").is_none());

    // Runs and quarantine entries need the token; a wrong token is refused, never read as anonymous.
    for uri in [
        "/api/v1/connectors/api-50/runs",
        "/api/v1/quarantine",
        "/api/v1/quarantine?connector=api-50",
    ] {
        let refused = get(&state, uri, None).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(refused.json()["error"], "unauthorized");
        assert_eq!(refused.headers["www-authenticate"], "Bearer");
    }
    let wrong = get(&state, "/api/v1/connectors", Some("guess")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_nothing_private(&String::from_utf8_lossy(&wrong.body));
    db.cleanup().await
}

#[tokio::test]
async fn token_holders_see_configuration_with_credentials_masked() -> anyhow::Result<()> {
    let (db, state) = hub().await?;
    let secret_url =
        format!("https://funds.example.org/v1/summaries?Api_Key={API_KEY}&province=50");
    let run = failed_run(&db, &format!("source unreachable: {secret_url}: refused")).await?;
    // Masked as it was stored.
    let stored = db.store.runs(Some("api-50"), 1).await?;
    assert_eq!(
        stored[0].error.as_deref(),
        Some(
            "source unreachable: https://funds.example.org/v1/summaries?Api_Key=***&province=50: refused"
        )
    );
    // A run recorded before masking existed is masked as it is shown.
    sqlx::query("UPDATE runs SET error = $1 WHERE id = $2")
        .bind(format!("HTTP 500 from {secret_url}"))
        .bind(run)
        .execute(db.store.pool())
        .await?;

    for uri in [
        "/api/v1/connectors",
        "/api/v1/connectors/api-50",
        "/api/v1/connectors/api-50/runs",
    ] {
        let answer = get(&state, uri, Some(TOKEN)).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        let text = String::from_utf8_lossy(&answer.body);
        assert!(!text.contains(API_KEY), "{uri}: {text}");
        assert!(text.contains("Api_Key=***&province=50"), "{uri}: {text}");
    }
    let listing = get(&state, "/api/v1/connectors", Some(TOKEN)).await.json();
    assert_eq!(
        listing["connectors"][0]["config"]["url"],
        "https://funds.example.org/v1/summaries?Api_Key=***&province=50"
    );
    assert!(
        listing["connectors"][1]["config"]["query"]
            .as_str()
            .unwrap()
            .contains("tbl_private_ledger"),
        "the token holder sees the query"
    );
    let one = get(&state, "/api/v1/connectors/api-50", Some(TOKEN))
        .await
        .json();
    assert_eq!(
        one["recent_runs"][0]["error"],
        "HTTP 500 from https://funds.example.org/v1/summaries?Api_Key=***&province=50"
    );
    db.cleanup().await
}

#[tokio::test]
async fn listings_come_in_pages_that_cover_everything_once() -> anyhow::Result<()> {
    let (db, state) = hub().await?;
    for token in [None, Some(TOKEN)] {
        let mut seen = Vec::new();
        let mut uri = "/api/v1/connectors?limit=2".to_string();
        let mut pages = 0;
        loop {
            let page = get(&state, &uri, token).await;
            assert_eq!(page.status, StatusCode::OK, "{uri}");
            let body = page.json();
            pages += 1;
            for c in body["connectors"].as_array().unwrap() {
                seen.push(c["id"].as_str().unwrap().to_string());
            }
            match body["next_cursor"].as_str() {
                Some(next) => uri = format!("/api/v1/connectors?limit=2&cursor={next}"),
                None => break,
            }
        }
        assert_eq!(pages, 4);
        let mut want: Vec<String> = entries().into_iter().map(|e| e.id).collect();
        want.sort();
        assert_eq!(seen, want);
    }

    for i in 0..3 {
        let run = db.store.start_run(Some("file-1"), &format!("t{i}")).await?;
        db.store
            .finish_run(run, RunStatus::Succeeded, RunCounts::default(), None)
            .await?;
    }
    let first = get(
        &state,
        "/api/v1/connectors/file-1/runs?limit=2",
        Some(TOKEN),
    )
    .await
    .json();
    assert_eq!(first["count"], 2);
    assert_eq!(first["runs"][0]["trigger"], "t2");
    let next = first["next_cursor"].as_str().unwrap();
    let second = get(
        &state,
        &format!("/api/v1/connectors/file-1/runs?limit=2&cursor={next}"),
        Some(TOKEN),
    )
    .await
    .json();
    assert_eq!(second["count"], 1);
    assert_eq!(second["runs"][0]["trigger"], "t0");
    assert_eq!(second["next_cursor"], serde_json::Value::Null);

    for (uri, word) in [
        ("/api/v1/connectors?limit=0", "limit"),
        ("/api/v1/connectors?limit=1001", "limit"),
        ("/api/v1/connectors/file-1/runs?cursor=abc", "cursor"),
        ("/api/v1/quarantine?cursor=-x", "cursor"),
        ("/api/v1/connectors?page=2", "page"),
    ] {
        let refused = get(&state, uri, Some(TOKEN)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{uri}");
        let message = refused.json()["message"].as_str().unwrap().to_string();
        assert!(message.contains(word), "{uri}: {message}");
    }
    db.cleanup().await
}

/// The real binary, with a connector whose URL carries a key in its query: the key is in no answer
/// and no log line, the run's error says where it failed with the key masked, and the hub answers
/// `/healthz` after it all.
#[tokio::test]
async fn the_binary_never_shows_or_logs_a_query_credential() -> anyhow::Result<()> {
    use anyhow::Context as _;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

    let dir = tempfile::tempdir()?;
    let config = dir.path().join("hub.toml");
    // Port 1 on loopback refuses connections: the run fails at once, quoting the URL.
    std::fs::write(
        &config,
        format!(
            "database_url = \"sqlite://{}\"\n\
             [[connectors]]\nid = \"api-50\"\nkind = \"http_json\"\n\
             url = \"http://127.0.0.1:1/v1/summaries?province=50&access_token={API_KEY}\"\n\
             schedule = \"0 0 1 1 *\"\nmax_attempts = 1\n",
            dir.path().join("hub.db").display()
        ),
    )?;
    let mut child = tokio::process::Command::new(welfare_tests::hub_binary()?)
        .args([
            "serve",
            "--config",
            &config.display().to_string(),
            "--bind",
            "127.0.0.1:0",
        ])
        .env("WELFARE_HUB_LOG", "info")
        .env("WELFARE_HUB_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut stderr = child.stderr.take().context("stderr")?;
    let log = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let base = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("Welfare Hub listening on ") {
                return anyhow::Ok(url.to_string());
            }
        }
        anyhow::bail!("the hub exited before serving")
    })
    .await??;
    let client = crate::e2e::http();
    let started = client
        .post(format!("{base}/api/v1/connectors/api-50/run"))
        .bearer_auth(TOKEN)
        .send()
        .await?;
    // 409: the hub already started it (a connector that never ran runs at start).
    assert!(
        [202, 409].contains(&started.status().as_u16()),
        "{}",
        started.status()
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let run = loop {
        let runs: serde_json::Value = client
            .get(format!("{base}/api/v1/connectors/api-50/runs"))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json()
            .await?;
        if runs["count"].as_u64() >= Some(1) && runs["runs"][0]["status"] != "running" {
            break runs["runs"][0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "{runs}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(run["status"], "failed");
    let error = run["error"].as_str().unwrap();
    assert!(error.contains("127.0.0.1:1"), "{error}");
    assert!(error.contains("access_token=***"), "{error}");
    assert!(!error.contains(API_KEY), "{error}");
    for (uri, token) in [
        ("/api/v1/connectors", None),
        ("/api/v1/connectors", Some(TOKEN)),
        ("/api/v1/connectors/api-50", Some(TOKEN)),
    ] {
        let mut request = client.get(format!("{base}{uri}"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let text = request.send().await?.text().await?;
        assert!(!text.contains(API_KEY), "{uri}: {text}");
    }
    let health = client.get(format!("{base}/healthz")).send().await?;
    assert_eq!(health.status(), 200);
    crate::e2e::stop(child).await?;
    let log = log.await?;
    assert!(!log.contains(API_KEY), "the log shows the key:\n{log}");
    assert!(
        log.contains("access_token=***"),
        "the failed run is not in the log:\n{log}"
    );
    Ok(())
}
