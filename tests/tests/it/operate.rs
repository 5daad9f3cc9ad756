//! Running the hub for real through the API alone, against the real binary on a fresh store that
//! holds only the geography: an admin makes a province editor's token; the editor registers a fund,
//! adds and checks a `file` connector, runs it and sees its rows in the indicators, and is refused
//! what lies in another province; every change is in the audit. Then the operator's page, in
//! headless chromium at phone size, shows that editor its province's connectors only, a failed run's
//! error and the quarantine's reasons.

use std::time::Duration;

use anyhow::Context;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use welfare_tests::{TestBackend, TestDb};

use crate::e2e::{TOKEN, http, page_script_in_chromium, start, stop};

/// A call to the hub under test: the status and the JSON body (`null` when it has none).
struct Api {
    client: reqwest::Client,
    base: String,
}

/// `welfare-hub serve` with `config` on `database_url`, on a free port.
async fn serve(config: &str, database_url: &str) -> anyhow::Result<(tokio::process::Child, Api)> {
    let (child, base, _) = start(&[
        "serve",
        "--config",
        config,
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        database_url,
    ])
    .await?;
    let api = Api {
        client: http(),
        base,
    };
    Ok((child, api))
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// A call that must answer `wanted`; its body.
    async fn expect(
        &self,
        wanted: StatusCode,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let shown = format!("{method} {path}");
        let (status, body) = self.call(method, path, token, body).await?;
        assert_eq!(status, wanted, "{shown}: {body}");
        Ok(body)
    }

    /// Waits until the connector's newest run has finished; returns it.
    async fn finished_run(&self, token: &str, connector: &str) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let runs = self
                .expect(
                    StatusCode::OK,
                    Method::GET,
                    &format!("/api/v1/connectors/{connector}/runs"),
                    Some(token),
                    None,
                )
                .await?;
            if let Some(run) = runs["runs"].get(0)
                && run["status"] != "running"
            {
                return Ok(run.clone());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "connector {connector}'s run did not finish: {runs}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A month's report of a Phayao fund as a clerk's spreadsheet gives it, with a row of a Songkhla
/// fund (outside the connector's provinces) and one of a fund nobody registered.
const PHAYAO_REPORT: &str = "\
รหัสกองทุน,เดือน,สมาชิกทั้งหมด,เงินสมทบสมาชิก,ยอดเงินกองทุน
F-560101-01,2026-08,120,3600.00,50000.00
F-560101-01,2026-09,125,3750.00,53750.00
F-560101-01,2026-10,130,3900.00,57650.00
F-900101-01,2026-10,80,2400.00,10000.00
F-569999-99,2026-10,40,1200.00,3000.00
";

on_both_backends!(an_editor_runs_its_province_through_the_api_alone);
async fn an_editor_runs_its_province_through_the_api_alone(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let db = TestDb::with_geography(backend).await?;
    let dir = tempfile::tempdir()?;
    // Nightly runs would start by themselves at 02:00 Bangkok: schedule them away, so the runs the
    // test sees are its own; rebuild the snapshot soon after a change.
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        "[scheduler]\ndefault_schedule = \"0 0 1 1 *\"\n[analytics]\nrebuild_delay_ms = 200\n",
    )?;
    let config = config.display().to_string();
    let (child, api) = serve(&config, &db.url).await?;
    let report = dir.path().join("phayao-2569.csv");
    std::fs::write(&report, PHAYAO_REPORT)?;
    let report = report.display().to_string();
    let broken = dir.path().join("phayao-broken.csv");
    std::fs::write(&broken, "this is a letter, not a report\n")?;
    let broken = broken.display().to_string();
    let connector = |id: &str, location: &str| json!({"id": id, "kind": "file", "location": location, "name": "รายงานกองทุนพะเยา"});

    // Without a token, every write answers 401.
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "x", "role": "admin"})),
        ),
        (
            Method::POST,
            "/api/v1/funds",
            Some(json!({"id": "F-560101-01", "name_th": "x", "area": "560101"})),
        ),
        (
            Method::POST,
            "/api/v1/connectors",
            Some(connector("phayao-sheet", &report)),
        ),
        (
            Method::POST,
            "/api/v1/connectors/check",
            Some(connector("phayao-sheet", &report)),
        ),
        (
            Method::POST,
            "/api/v1/networks",
            Some(json!({"id": "n", "name_th": "x", "funds": []})),
        ),
    ] {
        let body = api
            .expect(StatusCode::UNAUTHORIZED, method, path, None, body)
            .await?;
        assert_eq!(body["error"], "unauthorized");
    }

    // The admin makes a province editor's token for Phayao (56), and sets Songkhla's (90) things up.
    let made = api
        .expect(
            StatusCode::CREATED,
            Method::POST,
            "/api/v1/tokens",
            Some(TOKEN),
            Some(json!({"name": "phayao-network", "role": "province-editor", "provinces": ["56"]})),
        )
        .await?;
    let editor = made["secret"].as_str().context("secret")?.to_string();
    let me = api
        .expect(
            StatusCode::OK,
            Method::GET,
            "/api/v1/me",
            Some(&editor),
            None,
        )
        .await?;
    assert_eq!(
        me,
        json!({"name": "phayao-network", "role": "province-editor", "provinces": ["56"], "fund": null})
    );
    api.expect(
        StatusCode::CREATED,
        Method::POST,
        "/api/v1/funds",
        Some(TOKEN),
        Some(json!({"id": "F-900101-01", "name_th": "กองทุนสวัสดิการชุมชนบ่อยาง", "area": "900101"})),
    )
    .await?;
    let songkhla =
        json!({"id": "songkhla-sheet", "kind": "file", "location": report, "provinces": ["90"]});
    api.expect(
        StatusCode::CREATED,
        Method::POST,
        "/api/v1/connectors",
        Some(TOKEN),
        Some(songkhla),
    )
    .await?;
    api.expect(
        StatusCode::CREATED,
        Method::POST,
        "/api/v1/networks",
        Some(TOKEN),
        Some(json!({"id": "songkhla-1baht", "name_th": "เครือข่ายสัจจะวันละบาทสงขลา", "funds": ["F-900101-01"]})),
    )
    .await?;

    // The editor registers a fund in Phayao, and may not in Songkhla.
    api.expect(
        StatusCode::CREATED,
        Method::POST,
        "/api/v1/funds",
        Some(&editor),
        Some(json!({"id": "F-560101-01", "name_th": "กองทุนสวัสดิการชุมชนตำบลเวียง", "area": "560101"})),
    )
    .await?;

    // It checks a connector before adding it: what a pull would map, and nothing stored.
    let checked = api
        .expect(
            StatusCode::OK,
            Method::POST,
            "/api/v1/connectors/check",
            Some(&editor),
            Some(connector("phayao-sheet", &report)),
        )
        .await?;
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(checked["rows"], 5);
    assert_eq!(
        checked["fields"],
        json!([
            "fund_id",
            "period",
            "members_total",
            "contrib_members",
            "fund_balance"
        ])
    );
    assert_eq!(
        checked["funds"],
        json!(["F-560101-01", "F-569999-99", "F-900101-01"])
    );
    assert_eq!(checked["first_rows"][2]["members_total"], 130);
    assert_eq!(checked["first_rows"][2]["fund_balance"], "57650.00");
    // Adding it: the editor's one province is the connector's.
    let added = api
        .expect(
            StatusCode::CREATED,
            Method::POST,
            "/api/v1/connectors",
            Some(&editor),
            Some(connector("phayao-sheet", &report)),
        )
        .await?;
    assert_eq!(added["origin"], "api");
    assert_eq!(added["provinces"], json!(["56"]));
    assert_eq!(added["enabled"], true);
    assert!(added["next_run"].is_string(), "scheduled at once: {added}");
    api.expect(
        StatusCode::CONFLICT,
        Method::POST,
        "/api/v1/connectors",
        Some(&editor),
        Some(connector("phayao-sheet", &report)),
    )
    .await?;
    let stored = api
        .expect(
            StatusCode::OK,
            Method::POST,
            "/api/v1/connectors/phayao-sheet/check",
            Some(&editor),
            None,
        )
        .await?;
    assert_eq!(stored["rows"], 5);
    // A second connector, whose file is not a report: its run fails.
    api.expect(
        StatusCode::CREATED,
        Method::POST,
        "/api/v1/connectors",
        Some(&editor),
        Some(json!({"id": "phayao-old-sheet", "kind": "file", "location": broken, "max_attempts": 1})),
    )
    .await?;
    // A source on the hub's machine that is not a report is an admin's to define.
    let refused = api
        .expect(
            StatusCode::FORBIDDEN,
            Method::POST,
            "/api/v1/connectors",
            Some(&editor),
            Some(json!({"id": "peek", "kind": "file", "location": "/etc/passwd"})),
        )
        .await?;
    assert!(
        refused["message"].as_str().unwrap().contains(".csv"),
        "{refused}"
    );

    // Nothing is stored by a check: the indicators know no member in Phayao yet.
    let members_in_phayao = |rows: &Value| {
        rows["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["code"] == "56"))
            .map(|r| r["members"].clone())
    };
    let before = api
        .expect(
            StatusCode::OK,
            Method::GET,
            "/api/v1/indicators?level=province&period=2026-10",
            None,
            None,
        )
        .await?;
    assert!(
        members_in_phayao(&before).is_none_or(|m| m.is_null() || m == 0),
        "{:?}",
        members_in_phayao(&before)
    );

    // A run is triggered; its rows are stored and the others quarantined with their reasons.
    let started = api
        .expect(
            StatusCode::ACCEPTED,
            Method::POST,
            "/api/v1/connectors/phayao-sheet/run",
            Some(&editor),
            None,
        )
        .await?;
    assert_eq!(started["status"], "started");
    let run = api.finished_run(&editor, "phayao-sheet").await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["accepted"], 3, "{run}");
    assert_eq!(run["counts"]["rejected"], 2, "{run}");
    let quarantine = api
        .expect(
            StatusCode::OK,
            Method::GET,
            "/api/v1/quarantine?connector=phayao-sheet",
            Some(&editor),
            None,
        )
        .await?;
    let reasons: Vec<&str> = quarantine["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{quarantine}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("outside the provinces of connector phayao-sheet")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("unknown fund id")),
        "{reasons:?}"
    );
    api.expect(
        StatusCode::ACCEPTED,
        Method::POST,
        "/api/v1/connectors/phayao-old-sheet/run",
        Some(&editor),
        None,
    )
    .await?;
    let failed = api.finished_run(&editor, "phayao-old-sheet").await?;
    assert_eq!(failed["status"], "failed", "{failed}");
    let failed_error = failed["error"].as_str().context("error")?.to_string();

    // After the snapshot refresh, the province's row holds the fund's members.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let after = api
            .expect(
                StatusCode::OK,
                Method::GET,
                "/api/v1/indicators?level=province&period=2026-10",
                None,
                None,
            )
            .await?;
        if members_in_phayao(&after) == Some(json!(130)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Phayao's members did not reach 130 after the refresh: {:?}",
            members_in_phayao(&after)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The editor changes its connector (disables it): rescheduled at once, audited.
    let changed = api
        .expect(
            StatusCode::OK,
            Method::PATCH,
            "/api/v1/connectors/phayao-sheet",
            Some(&editor),
            Some(json!({"enabled": false, "schedule": "30 3 * * *"})),
        )
        .await?;
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["schedule"], "30 3 * * *");
    assert!(changed["next_run"].is_null(), "{changed}");
    api.expect(
        StatusCode::CONFLICT,
        Method::POST,
        "/api/v1/connectors/phayao-sheet/run",
        Some(&editor),
        None,
    )
    .await?;
    // It may not move its connector to Songkhla.
    api.expect(
        StatusCode::FORBIDDEN,
        Method::PATCH,
        "/api/v1/connectors/phayao-sheet",
        Some(&editor),
        Some(json!({"provinces": ["90"]})),
    )
    .await?;
    api.expect(
        StatusCode::OK,
        Method::PATCH,
        "/api/v1/connectors/phayao-sheet",
        Some(&editor),
        Some(json!({"enabled": true})),
    )
    .await?;

    // What lies in Songkhla is refused: a fund, a connector, a network, quarantine.
    for (method, path, body) in [
        (Method::GET, "/api/v1/funds/F-900101-01", None),
        (
            Method::PATCH,
            "/api/v1/funds/F-900101-01",
            Some(json!({"name_th": "x"})),
        ),
        (Method::GET, "/api/v1/funds?within=90", None),
        (Method::GET, "/api/v1/connectors/songkhla-sheet", None),
        (Method::GET, "/api/v1/connectors/songkhla-sheet/runs", None),
        (Method::POST, "/api/v1/connectors/songkhla-sheet/run", None),
        (
            Method::POST,
            "/api/v1/connectors/songkhla-sheet/check",
            None,
        ),
        (
            Method::PATCH,
            "/api/v1/connectors/songkhla-sheet",
            Some(json!({"enabled": false})),
        ),
        (Method::DELETE, "/api/v1/connectors/songkhla-sheet", None),
        (
            Method::GET,
            "/api/v1/quarantine?connector=songkhla-sheet",
            None,
        ),
        (Method::GET, "/api/v1/networks/songkhla-1baht", None),
        (
            Method::PATCH,
            "/api/v1/networks/songkhla-1baht",
            Some(json!({"name_th": "x"})),
        ),
    ] {
        let body = api
            .expect(StatusCode::FORBIDDEN, method, path, Some(&editor), body)
            .await?;
        assert_eq!(body["error"], "forbidden");
    }
    // The editor's listings hold its province's connectors only.
    let listed = api
        .expect(
            StatusCode::OK,
            Method::GET,
            "/api/v1/connectors",
            Some(&editor),
            None,
        )
        .await?;
    let ids: Vec<&str> = listed["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["phayao-old-sheet", "phayao-sheet"]);
    let all = api
        .expect(
            StatusCode::OK,
            Method::GET,
            "/api/v1/connectors",
            Some(TOKEN),
            None,
        )
        .await?;
    assert_eq!(all["count"], 3);

    // Every change is in the audit, with the token's name and role and the values before and after.
    let audit = api
        .expect(
            StatusCode::OK,
            Method::GET,
            "/api/v1/audit?actor=phayao-network",
            Some(TOKEN),
            None,
        )
        .await?;
    let entries = audit["entries"]
        .as_array()
        .or_else(|| audit.as_array())
        .context("audit entries")?;
    let of = |action: &str, subject: &str| {
        entries
            .iter()
            .filter(|e| e["action"] == action && e["subject"] == subject)
            .collect::<Vec<_>>()
    };
    for e in entries {
        assert_eq!(e["actor"], "phayao-network", "{e}");
        assert_eq!(e["actor_role"], "province-editor", "{e}");
    }
    let registered = of("fund.register", "fund:F-560101-01");
    assert_eq!(registered.len(), 1, "{audit}");
    assert!(registered[0]["before"].is_null());
    assert_eq!(registered[0]["after"]["area"], "560101");
    let created = of("connector.create", "connector:phayao-sheet");
    assert_eq!(created.len(), 1, "{audit}");
    assert!(created[0]["before"].is_null());
    assert_eq!(created[0]["after"]["location"].as_str(), None);
    assert_eq!(created[0]["after"]["config"]["location"], report);
    assert_eq!(created[0]["after"]["provinces"], json!(["56"]));
    let updates = of("connector.update", "connector:phayao-sheet");
    assert_eq!(updates.len(), 2, "{audit}");
    assert_eq!(updates[0]["before"]["enabled"], true);
    assert_eq!(updates[0]["after"]["enabled"], false);
    assert_eq!(updates[0]["after"]["schedule"], "30 3 * * *");
    let runs = of("connector.run", "connector:phayao-sheet");
    assert_eq!(runs.len(), 1, "{audit}");
    assert_eq!(runs[0]["after"]["trigger"], "manual");
    // The editor reads its province's audit, and none of Songkhla's.
    let own = api
        .expect(
            StatusCode::OK,
            Method::GET,
            "/api/v1/audit",
            Some(&editor),
            None,
        )
        .await?;
    let own = own["entries"]
        .as_array()
        .or_else(|| own.as_array())
        .unwrap()
        .clone();
    assert!(!own.is_empty());
    assert!(own.iter().all(|e| e["province"] == "56"), "{own:?}");

    // The operator's page, at phone size, with the editor's token.
    if backend == TestBackend::Sqlite {
        operator_page_in_chromium(
            &api,
            &editor,
            json!({
                "provinces": ["56"],
                "connectors": ["phayao-old-sheet", "phayao-sheet"],
                "hidden_connectors": ["songkhla-sheet"],
                "failed": {"id": "phayao-old-sheet", "error_contains": failed_error.chars().take(40).collect::<String>()},
                "quarantine": {"id": "phayao-sheet", "reasons_contain": ["outside the provinces", "unknown fund id"]},
            }),
        )
        .await?;
    }

    // Removing a connector unschedules it; its runs stay.
    api.expect(
        StatusCode::OK,
        Method::DELETE,
        "/api/v1/connectors/phayao-old-sheet",
        Some(&editor),
        None,
    )
    .await?;
    api.expect(
        StatusCode::NOT_FOUND,
        Method::GET,
        "/api/v1/connectors/phayao-old-sheet",
        Some(&editor),
        None,
    )
    .await?;
    api.expect(
        StatusCode::NOT_FOUND,
        Method::POST,
        "/api/v1/connectors/phayao-old-sheet/run",
        Some(&editor),
        None,
    )
    .await?;
    assert_eq!(
        db.store.runs(Some("phayao-old-sheet"), 10).await?.len(),
        1,
        "the removed connector's run stays"
    );

    stop(child).await?;
    db.cleanup().await
}

/// `web/e2e/operator.e2e.mjs` in headless chromium at phone size: it signs in with `token` and
/// checks the page against `expect`.
async fn operator_page_in_chromium(api: &Api, token: &str, expect: Value) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let expect_file = dir.path().join("expect.json");
    std::fs::write(&expect_file, expect.to_string())?;
    let screenshot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("operator-page.png");
    let (expect_file, screenshot) = (
        expect_file.display().to_string(),
        screenshot.display().to_string(),
    );
    let out = page_script_in_chromium(
        &api.client,
        &api.base,
        "/operator",
        "e2e/operator.e2e.mjs",
        &[&api.base, token, &expect_file, &screenshot],
        "the operator page",
    )
    .await?;
    if let Some(out) = out {
        assert!(out.contains("ok "), "{out}");
    }
    Ok(())
}
