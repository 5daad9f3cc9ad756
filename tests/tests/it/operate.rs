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
use welfare_tests::{TestBackend, TestDb, browser_required, repo_dir};

use crate::e2e::{TOKEN, http, start, stop};

/// A call to the hub under test: the status and the JSON body (`null` when it has none).
struct Api {
    client: reqwest::Client,
    base: String,
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
    let (child, base, _) = start(&[
        "serve",
        "--config",
        &config,
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &db.url,
    ])
    .await?;
    let api = Api {
        client: http(),
        base,
    };
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
    let web = repo_dir().join("web");
    let page = api
        .client
        .get(format!("{}/operator", api.base))
        .send()
        .await?;
    let built = page.status() == 200;
    let html = page.text().await?;
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let installed = web.join("node_modules/playwright-core").is_dir()
        && std::path::Path::new(&chromium).exists();
    let runnable = built && installed;
    if !runnable && !browser_required() {
        welfare_tests::skipped(
            "the operator page's browser test",
            "the page is not built or chromium/playwright-core is missing (WELFARE_TEST_BROWSER=1 \
             makes this a failure)",
        );
        return Ok(());
    }
    assert!(built, "the hub does not serve the operator page: {html}");
    let dir = tempfile::tempdir()?;
    let expect_file = dir.path().join("expect.json");
    std::fs::write(&expect_file, expect.to_string())?;
    let screenshot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("operator-page.png");
    let output = tokio::process::Command::new("node")
        .arg(web.join("e2e/operator.e2e.mjs"))
        .arg(&api.base)
        .arg(token)
        .arg(&expect_file)
        .arg(&screenshot)
        .env("CHROMIUM", &chromium)
        .current_dir(&web)
        .output()
        .await
        .context("running node (Node.js is needed for the browser test)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}{stderr}");
    assert!(
        output.status.success(),
        "the operator page's browser test failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("ok "), "{stdout}");
    Ok(())
}

/// `welfare-hub connectors …` against the store of a serving hub: what the command line adds, the
/// hub schedules and runs without a restart; what it removes, the hub drops; and serving with a
/// configuration file of its own never disables the connectors made elsewhere.
#[tokio::test]
async fn connectors_added_at_the_command_line_run_on_a_serving_hub_without_a_restart()
-> anyhow::Result<()> {
    use welfare_model::fund::Fund;
    use welfare_model::{AreaCode, FundId, FundKind};
    let db = TestDb::sqlite_with_geography().await?;
    db.store
        .upsert_funds(
            &[Fund {
                id: FundId::parse("F-560101-01")?,
                name_th: "กองทุนสวัสดิการชุมชนตำบลเวียง".into(),
                name_en: None,
                kind: FundKind::default(),
                area: AreaCode::parse("560101")?,
                municipality: None,
                registered_on: None,
                closed_on: None,
            }],
            "test",
        )
        .await?;
    let dir = tempfile::tempdir()?;
    let report = dir.path().join("phayao-2569.csv");
    std::fs::write(&report, PHAYAO_REPORT)?;
    let report = report.display().to_string();
    // No catch-up run at start: the runs the test sees are its own.
    let settings =
        "[scheduler]\ndefault_schedule = \"0 0 1 1 *\"\nreconcile_secs = 1\ncatch_up = false\n";
    let with_toml = dir.path().join("hub.toml");
    std::fs::write(
        &with_toml,
        format!(
            "{settings}\n[[connectors]]\nid = \"toml-sheet\"\nkind = \"file\"\nlocation = \"{report}\"\n"
        ),
    )?;
    let cli = |args: &[&str]| {
        let mut command =
            tokio::process::Command::new(welfare_tests::hub_binary().expect("binary"));
        command
            .arg("connectors")
            .args(args)
            .args(["--database-url", &db.url])
            .env("WELFARE_HUB_LOG", "warn");
        async move {
            let out = command.output().await.expect("the binary runs");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).to_string(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        }
    };
    let config = with_toml.display().to_string();
    let (child, base, _) = start(&[
        "serve",
        "--config",
        &config,
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &db.url,
    ])
    .await?;
    let api = Api {
        client: http(),
        base,
    };

    // Added at the command line, from a TOML table as in the configuration file.
    let added = dir.path().join("cli.toml");
    std::fs::write(
        &added,
        format!(
            "[[connectors]]\nid = \"cli-sheet\"\nkind = \"file\"\nlocation = \"{report}\"\nprovinces = [\"56\"]\n"
        ),
    )?;
    let (ok, out, err) = cli(&["add", &added.display().to_string()]).await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("Added connector cli-sheet (file, provinces 56)"),
        "{out}"
    );
    let (ok, _, err) = cli(&["add", &added.display().to_string()]).await;
    assert!(!ok && err.contains("taken"), "{err}");
    // The serving hub schedules it within its reconcile period, and runs it on request.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, view) = api
            .call(
                Method::GET,
                "/api/v1/connectors/cli-sheet",
                Some(TOKEN),
                None,
            )
            .await?;
        if status == StatusCode::OK && view["next_run"].is_string() {
            assert_eq!(view["origin"], "api");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the serving hub did not pick up cli-sheet: {view}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    api.expect(
        StatusCode::ACCEPTED,
        Method::POST,
        "/api/v1/connectors/cli-sheet/run",
        Some(TOKEN),
        None,
    )
    .await?;
    let run = api.finished_run(TOKEN, "cli-sheet").await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["accepted"], 3, "{run}");
    assert_eq!(run["counts"]["rejected"], 2, "{run}");

    let (ok, out, err) = cli(&["list"]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("cli-sheet | file | api | provinces 56 | enabled | last run succeeded"),
        "{out}"
    );
    assert!(
        out.contains("toml-sheet | file | configuration file | national | enabled | never run"),
        "{out}"
    );
    assert!(out.contains("2 open quarantine"), "{out}");
    assert!(out.trim_end().ends_with("2 connectors"), "{out}");
    let (ok, out, err) = cli(&["check", "cli-sheet"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("5 rows read, 0 unreadable"), "{out}");
    assert!(
        out.contains("fields: fund_id, period, members_total, contrib_members, fund_balance"),
        "{out}"
    );
    let missing = dir.path().join("missing.toml");
    std::fs::write(
        &missing,
        "id = \"nowhere\"\nkind = \"file\"\nlocation = \"/nowhere/report.csv\"\n",
    )?;
    let (ok, out, _) = cli(&["check", "--file", &missing.display().to_string()]).await;
    assert!(!ok);
    assert!(out.contains("cannot read the source"), "{out}");
    let (ok, _, err) = cli(&["remove", "toml-sheet"]).await;
    assert!(!ok && err.contains("configuration file"), "{err}");

    // Removed at the command line: the hub drops it.
    let (ok, out, err) = cli(&["remove", "cli-sheet"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("Removed connector cli-sheet"), "{out}");
    api.expect(
        StatusCode::NOT_FOUND,
        Method::POST,
        "/api/v1/connectors/cli-sheet/run",
        Some(TOKEN),
        None,
    )
    .await?;
    let audit = db.store.audit_of("connector:cli-sheet").await?;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["connector.create", "connector.run", "connector.remove"]
    );
    assert_eq!(audit[0].actor, "command line");
    assert_eq!(audit[1].actor, "api token");
    stop(child).await?;

    // Served again with a configuration file that names no connector: the API's connector stays
    // enabled; the file's is disabled, not deleted.
    std::fs::write(&added, added_again(&report))?;
    let (ok, _, err) = cli(&["add", &added.display().to_string()]).await;
    assert!(ok, "{err}");
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, settings)?;
    let config = bare.display().to_string();
    let (child, base, _) = start(&[
        "serve",
        "--config",
        &config,
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &db.url,
    ])
    .await?;
    let api = Api {
        client: http(),
        base,
    };
    let listed = api
        .expect(
            StatusCode::OK,
            Method::GET,
            "/api/v1/connectors",
            Some(TOKEN),
            None,
        )
        .await?;
    let by_id = |id: &str| {
        listed["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} is not listed: {listed}"))
    };
    assert_eq!(by_id("cli-sheet-2")["enabled"], true);
    assert_eq!(by_id("cli-sheet-2")["origin"], "api");
    assert!(by_id("cli-sheet-2")["next_run"].is_string());
    assert_eq!(by_id("toml-sheet")["enabled"], false);
    assert_eq!(by_id("toml-sheet")["origin"], "configuration");
    stop(child).await?;
    db.cleanup().await
}

fn added_again(report: &str) -> String {
    format!(
        "id = \"cli-sheet-2\"\nkind = \"file\"\nlocation = \"{report}\"\nprovinces = [\"56\"]\n"
    )
}
