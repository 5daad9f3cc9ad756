//! The real `welfare-hub` binary: `demo` serving on port 0, `serve`, `geography import`, and `pull`
//! without the analytics snapshot.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use welfare_tests::{browser_required, geography_dir, hub_binary, repo_dir};

/// The API token the hub under test is started with.
pub(crate) const TOKEN: &str = "test-token-2568";

pub(crate) fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Starts the binary with `args` and reads its standard output until it announces its URL; returns the
/// child, the URL and the lines printed before it.
pub(crate) async fn start(args: &[&str]) -> anyhow::Result<(Child, String, Vec<String>)> {
    let mut child = Command::new(hub_binary()?)
        .args(args)
        .env("WELFARE_HUB_LOG", "warn")
        .env("WELFARE_HUB_TOKEN", TOKEN)
        // No WELFARE_HUB_WEB: the binary serves the page embedded in it.
        .env_remove("WELFARE_HUB_WEB")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut before = Vec::new();
    let url = tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("Welfare Hub listening on ") {
                return Ok(url.to_string());
            }
            before.push(line);
        }
        bail!("the hub exited before serving; it printed {before:?}")
    })
    .await
    .context("the hub did not announce its URL in time")??;
    Ok((child, url, before))
}

/// Sends SIGTERM and expects a clean exit.
pub(crate) async fn stop(mut child: Child) -> anyhow::Result<()> {
    let pid = child.id().context("running")?;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .context("the hub did not stop within 20 s of SIGTERM")??;
    assert!(exit.success(), "exit after SIGTERM: {exit}");
    Ok(())
}

#[tokio::test]
async fn demo_serves_provinces_that_add_up() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let geography = geography_dir().display().to_string();
    // Nightly runs would start by themselves if the test ran at 02:00 Bangkok: schedule them away,
    // so the runs the test counts are the demo's and its own.
    let config = dir.path().join("hub.toml");
    std::fs::write(&config, "[scheduler]\ndefault_schedule = \"0 0 1 1 *\"\n")?;
    let config = config.display().to_string();
    // Every simulated fund, three years of reports: the whole country's shape at a third of the
    // default ten years, so the debug binary loads it in well under a minute beside other tests.
    let (child, base, printed) = start(&[
        "demo",
        "--months",
        "36",
        "--config",
        &config,
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &url,
        "--geography",
        &geography,
    ])
    .await?;
    // "Demo loaded in 12.3 s: 6181 funds, …"
    let summary = printed
        .iter()
        .find(|l| l.starts_with("Demo loaded"))
        .context("demo summary line")?;
    let funds: i64 = summary
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .context("fund count")?
        .parse()?;
    assert!((5_500..=6_800).contains(&funds), "{summary}");
    // "Pulled 5909 connectors: 212345 new rows, …": every row the connectors brought is stored once.
    let pulled: i64 = printed
        .iter()
        .find_map(|l| l.strip_prefix("Pulled "))
        .and_then(|rest| rest.split(": ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .context("pulled rows")?
        .parse()?;
    // 36 months of ~6,000 funds, less the months some funds miss.
    assert!(
        (150_000..=230_000).contains(&pulled),
        "{pulled} rows pulled"
    );

    let client = http();
    // The printed totals are the API's: "…; at 2026-10: 5801 funds reporting, 5618152 members of
    // 66171439 people, coverage 8.49 %".
    let (period, printed_totals) = summary
        .rsplit_once("; at ")
        .and_then(|(_, rest)| rest.split_once(": "))
        .context("the demo's totals")?;
    let numbers: Vec<&str> = printed_totals
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|t| !t.is_empty())
        .collect();
    let country: serde_json::Value = client
        .get(format!(
            "{base}/api/v1/indicators?level=country&period={period}"
        ))
        .send()
        .await?
        .json()
        .await?;
    let row = &country["rows"][0];
    assert_eq!(
        numbers,
        [
            row["funds_reported"].to_string(),
            row["members"].to_string(),
            row["population"].to_string(),
            row["coverage"].to_string(),
        ],
        "the demo printed {summary}; the API says {row}"
    );
    let health: serde_json::Value = client
        .get(format!("{base}/healthz"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(health["status"], "ok");
    let ready = client.get(format!("{base}/readyz")).send().await?;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = client
        .get(format!("{base}/api/v1/areas?level=province"))
        .send()
        .await?
        .json()
        .await?;
    let areas = body["areas"].as_array().context("areas")?;
    assert_eq!(areas.len(), 77);
    let population: i64 = areas
        .iter()
        .map(|a| a["population"].as_i64().unwrap())
        .sum();
    assert_eq!(population, 66_171_439);
    let fund_total: i64 = areas.iter().map(|a| a["funds"].as_i64().unwrap()).sum();
    assert_eq!(fund_total, funds);
    // Every province has funds; Bangkok, urban, has relatively few.
    assert!(areas.iter().all(|a| a["funds"].as_i64().unwrap() > 0));

    // Analytics over the demo: the snapshot agrees with the store's own totals, levels add up, and
    // money is exact.
    let between = |after: &str, before: &str| -> anyhow::Result<String> {
        let rest = summary.split(after).nth(1).context("summary text")?;
        Ok(rest
            .split(before)
            .next()
            .context("summary text")?
            .to_string())
    };
    let (first, last) = {
        let months = between("monthly summaries ", ";")?;
        let (a, b) = months.split_once('–').context("month range")?;
        (a.to_string(), b.to_string())
    };
    let members: i64 = between("funds reporting, ", " members")?.parse()?;
    let reporting: i64 = between(&format!("at {last}: "), " funds reporting")?.parse()?;
    let whole: serde_json::Value = client
        .get(format!(
            "{base}/api/v1/indicators?level=country&from={first}&to={last}"
        ))
        .send()
        .await?
        .json()
        .await?;
    // Over the whole range each fund counts at its last report inside it: every fund that ever
    // reported, so at least the month's funds and members (which the printed line holds, above).
    let th = &whole["rows"][0];
    assert!(th["members"].as_i64().unwrap() >= members, "{th}");
    assert_eq!(th["funds_reported"].as_i64(), Some(funds), "{th}");
    assert!(reporting <= funds);
    assert_eq!(th["population"].as_i64(), Some(66_171_439));
    let month: serde_json::Value = client
        .get(format!(
            "{base}/api/v1/indicators?level=province&period={last}"
        ))
        .send()
        .await?
        .json()
        .await?;
    let provinces = month["rows"].as_array().context("rows")?;
    assert_eq!(provinces.len(), 77);
    let country: serde_json::Value = client
        .get(format!(
            "{base}/api/v1/indicators?level=country&period={last}"
        ))
        .send()
        .await?
        .json()
        .await?;
    let th = &country["rows"][0];
    let sum_i = |name: &str| {
        provinces
            .iter()
            .map(|p| p[name].as_i64().unwrap_or(0))
            .sum::<i64>()
    };
    let sum_money = |name: &str| {
        provinces
            .iter()
            .map(|p| {
                p[name]
                    .as_str()
                    .unwrap()
                    .parse::<rust_decimal::Decimal>()
                    .unwrap()
            })
            .sum::<rust_decimal::Decimal>()
    };
    for name in [
        "members",
        "funds",
        "reports",
        "funds_low_risk",
        "funds_watch",
        "funds_high_risk",
    ] {
        assert_eq!(Some(sum_i(name)), th[name].as_i64(), "{name}");
    }
    for name in ["due", "received", "shortfall", "universal_budget"] {
        let national: rust_decimal::Decimal = th[name].as_str().context("money")?.parse()?;
        assert_eq!(sum_money(name), national, "{name}");
    }
    assert!(th["coverage"].as_f64().unwrap() > 5.0, "{th}");
    assert_eq!(
        sum_i("funds_low_risk") + sum_i("funds_watch") + sum_i("funds_high_risk"),
        th["funds"].as_i64().unwrap()
    );
    println!(
        "demo at {last}: coverage {}% ({} of {}), matching shortfall {} baht under {}, risk low/watch/high {}/{}/{}",
        th["coverage"],
        th["members"],
        th["population"],
        th["shortfall"],
        country["policy"],
        th["funds_low_risk"],
        th["funds_watch"],
        th["funds_high_risk"]
    );
    let count: serde_json::Value = client
        .post(format!("{base}/api/v1/query"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"sql": "SELECT COUNT(*) AS n FROM summaries"}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(count["rows"][0]["n"].as_i64(), Some(pulled), "{count}");

    // The demo loaded through connectors, and their runs are in the API.
    assert!(summary.contains("(0 failed)"), "{summary}");
    // The listing comes in pages; with the token, in full.
    let mut list: Vec<serde_json::Value> = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: serde_json::Value = client
            .get(format!(
                "{base}/api/v1/connectors?limit=1000&cursor={cursor}"
            ))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json()
            .await?;
        let items = page["connectors"].as_array().context("connectors")?;
        assert!(items.len() <= 1000);
        list.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert!(list.len() > 5_000, "{}", list.len());
    let ids: std::collections::BTreeSet<&str> =
        list.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(
        ids.len(),
        list.len(),
        "a connector listed twice across pages"
    );
    // Anonymous callers see a first page of ids, kinds and statuses only.
    let public: serde_json::Value = client
        .get(format!("{base}/api/v1/connectors"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(public["count"], 100);
    assert!(public["connectors"][0].get("config").is_none(), "{public}");
    assert_eq!(public["connectors"][0]["last_run"]["status"], "succeeded");
    let kinds: std::collections::BTreeSet<&str> =
        list.iter().filter_map(|c| c["kind"].as_str()).collect();
    assert_eq!(kinds, ["file", "http_json", "sql"].into_iter().collect());
    for c in &list {
        assert_eq!(c["last_run"]["status"], "succeeded", "{c}");
        assert_eq!(c["last_run"]["trigger"], "demo");
    }
    let accepted: i64 = list
        .iter()
        .map(|c| c["last_run"]["counts"]["accepted"].as_i64().unwrap())
        .sum();
    assert_eq!(accepted, pulled);
    let id = list[0]["id"].as_str().unwrap().to_string();
    let runs: serde_json::Value = client
        .get(format!("{base}/api/v1/connectors/{id}/runs"))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(runs["count"], 1);

    // Changing something needs the token.
    let refused = client
        .post(format!("{base}/api/v1/connectors/{id}/run"))
        .send()
        .await?;
    assert_eq!(refused.status(), 401);
    let started = client
        .post(format!("{base}/api/v1/connectors/{id}/run"))
        .bearer_auth(TOKEN)
        .send()
        .await?;
    assert_eq!(started.status(), 202);
    // The manual run finds nothing new.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let runs: serde_json::Value = client
            .get(format!("{base}/api/v1/connectors/{id}/runs"))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json()
            .await?;
        if runs["count"] == 2 && runs["runs"][0]["status"] != "running" {
            assert_eq!(runs["runs"][0]["status"], "succeeded", "{runs}");
            assert_eq!(runs["runs"][0]["trigger"], "manual");
            assert_eq!(runs["runs"][0]["counts"]["accepted"], 0);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the manual run did not finish: {runs}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    map_payloads_fit_their_budgets(&client, &base).await?;
    country_map_classes_show_differences(&client, &base).await?;
    map_page_in_chromium(&client, &base).await?;
    stop(child).await
}

/// The demo's maps, gzipped as a browser gets them: the whole country by tambon at the lowest zoom
/// within 1.5 MB, the provinces within 150 KB.
async fn map_payloads_fit_their_budgets(
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<()> {
    for (uri, budget, features) in [
        ("subdistrict.geojson?zoom=4", 1_500_000, 7_425),
        ("province.geojson?zoom=4", 150_000, 77),
        ("province.geojson", 150_000, 77),
    ] {
        let url = format!("{base}/api/v1/maps/{uri}");
        let gz = client
            .get(&url)
            .header("accept-encoding", "gzip")
            .send()
            .await?;
        assert_eq!(gz.status(), 200, "{url}");
        assert_eq!(gz.headers()["content-encoding"], "gzip");
        let gz = gz.bytes().await?.len();
        let plain: serde_json::Value = client.get(&url).send().await?.json().await?;
        let count = plain["features"].as_array().context("features")?.len();
        assert!(count >= features - 10, "{url}: {count} features");
        eprintln!("map {uri}: {count} features, {gz} bytes gzipped (budget {budget})");
        assert!(gz <= budget, "{url}: {gz} bytes gzipped, over {budget}");
    }
    Ok(())
}

/// The demo's country map is coloured by classes of its provinces' values (at least four, with
/// their bounds in the answer's legend); the fixed classes toward 100% are one parameter away.
async fn country_map_classes_show_differences(
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<()> {
    use std::collections::BTreeSet;
    for indicator in ["coverage", "shortfall_per_resident", "reporting_rate"] {
        let map: serde_json::Value = client
            .get(format!(
                "{base}/api/v1/maps/province.geojson?indicator={indicator}"
            ))
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(map["classes"], "quantile");
        let legend = &map["legend"];
        assert_eq!(legend["scheme"], "quantile");
        let bounds = legend["classes"].as_array().context("legend classes")?;
        let used: BTreeSet<i64> = map["features"]
            .as_array()
            .context("features")?
            .iter()
            .filter_map(|f| f["properties"]["class"].as_i64())
            .collect();
        eprintln!(
            "country map of {indicator}: {} classes, {} used: {}",
            bounds.len(),
            used.len(),
            bounds
                .iter()
                .map(|c| c["label_en"].as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" | ")
        );
        assert!(bounds.len() >= 4, "{indicator}: {legend}");
        assert!(used.len() >= 4, "{indicator}: classes used {used:?}");
        // Each feature's class is the legend's class whose bounds hold its value.
        for f in map["features"].as_array().unwrap() {
            let p = &f["properties"];
            let (Some(value), Some(class)) = (p["value"].as_f64(), p["class"].as_u64()) else {
                continue;
            };
            let c = &bounds[class as usize];
            assert!(value >= c["min"].as_f64().unwrap(), "{p} in {c}");
            if let Some(max) = c["max"].as_f64() {
                assert!(value < max, "{p} in {c}");
            }
        }
    }
    let fixed: serde_json::Value = client
        .get(format!("{base}/api/v1/maps/province.geojson?classes=fixed"))
        .send()
        .await?
        .json()
        .await?;
    let legend: serde_json::Value = client
        .get(format!("{base}/api/v1/legend?indicator=coverage"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(fixed["legend"], legend);
    let within: serde_json::Value = client
        .get(format!("{base}/api/v1/maps/district.geojson?within=50"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        within["classes"], "fixed",
        "within a province, fixed by default"
    );
    Ok(())
}

/// The map page in headless chromium (`web/e2e/map.e2e.mjs` with playwright-core): it renders the
/// country by province, drills into Chiang Mai's districts, opens a popup whose coverage equals the
/// indicators API's, and saves a screenshot.
async fn map_page_in_chromium(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let screenshot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("map-page.png");
    let _ = std::fs::remove_file(&screenshot);
    let shot = screenshot.display().to_string();
    if page_script_in_chromium(
        client,
        base,
        "/",
        "e2e/map.e2e.mjs",
        &[base, &shot],
        "the map page",
    )
    .await?
    .is_none()
    {
        return Ok(());
    }
    let size = std::fs::metadata(&screenshot)
        .with_context(|| format!("the screenshot {}", screenshot.display()))?
        .len();
    assert!(size > 20_000, "a screenshot of {size} bytes is not a map");
    eprintln!(
        "map page screenshot: {} ({size} bytes)",
        screenshot.display()
    );
    Ok(())
}

/// Runs a page's end-to-end script of `web/` (playwright-core driving headless chromium) with
/// `args`, after checking the hub serves the page at `page`: its output, or `None` when the browser
/// or the page is missing and the browser test is not required (reported as skipped). A failing
/// script fails the test.
pub(crate) async fn page_script_in_chromium(
    client: &reqwest::Client,
    base: &str,
    page: &str,
    script: &str,
    args: &[&str],
    what: &str,
) -> anyhow::Result<Option<String>> {
    let web = repo_dir().join("web");
    let answer = client.get(format!("{base}{page}")).send().await?;
    let built = answer.status() == 200;
    let html = answer.text().await?;
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let installed = web.join("node_modules/playwright-core").is_dir()
        && std::path::Path::new(&chromium).exists();
    let runnable = built && installed;
    if !runnable && !browser_required() {
        welfare_tests::skipped(
            &format!("{what}'s browser test"),
            "the page is not built or chromium/playwright-core is missing (WELFARE_TEST_BROWSER=1 \
             makes this a failure)",
        );
        return Ok(None);
    }
    assert!(built, "the hub does not serve {what} at {page}: {html}");
    assert!(html.contains("<html"), "{html}");
    let output = Command::new("node")
        .arg(web.join(script))
        .args(args)
        .env("CHROMIUM", &chromium)
        .current_dir(&web)
        .output()
        .await
        .context("running node (Node.js is needed for the browser test)")?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}{stderr}");
    assert!(
        output.status.success(),
        "{what}'s browser test failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    Ok(Some(stdout))
}

#[tokio::test]
async fn serve_reads_config_and_environment_and_stops_on_sigterm() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("hub.toml");
    let db = dir.path().join("store/hub.db");
    std::fs::write(
        &config,
        format!(
            "bind = \"127.0.0.1:1\"\ndatabase_url = \"sqlite://{}\"\n[log]\nformat = \"json\"\n",
            db.display()
        ),
    )?;
    let config_arg = config.display().to_string();
    // The flag beats the file's bind address.
    let (child, base, _) =
        start(&["serve", "--config", &config_arg, "--bind", "127.0.0.1:0"]).await?;
    assert!(db.exists(), "the SQLite file is created on first run");
    let client = http();
    let ready = client.get(format!("{base}/readyz")).send().await?;
    assert_eq!(ready.status(), 503, "no geography yet");
    let body: serde_json::Value = ready.json().await?;
    assert_eq!(body["error"], "not_ready");
    stop(child).await
}

#[tokio::test]
async fn geography_import_is_checked_and_idempotent() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("geo.db").display());
    let run = |args: Vec<String>| {
        let binary = hub_binary();
        async move {
            let output = Command::new(binary?)
                .args(&args)
                .env("WELFARE_HUB_LOG", "warn")
                .output()
                .await?;
            anyhow::Ok((
                output.status.success(),
                String::from_utf8(output.stdout)?,
                String::from_utf8(output.stderr)?,
            ))
        }
    };
    let import = |dir: String| {
        vec![
            "geography".to_string(),
            "import".into(),
            dir,
            "--database-url".into(),
            url.clone(),
        ]
    };
    let (ok, out, err) = run(import(geography_dir().display().to_string())).await?;
    assert!(ok, "{err}");
    assert!(
        out.contains("77 provinces, 928 districts, 7436 tambons, population 66171439"),
        "{out}"
    );
    assert!(!out.contains("already up to date"), "{out}");
    let (ok, out, _) = run(import(geography_dir().display().to_string())).await?;
    assert!(ok);
    assert!(
        out.contains("written: 0 areas, 0 population rows, 0 boundaries (already up to date)"),
        "{out}"
    );

    let missing = dir.path().join("no-such-bundle").display().to_string();
    let (ok, _, err) = run(import(missing)).await?;
    assert!(!ok);
    assert!(err.contains("province.csv"), "{err}");
    // Audited once (the unchanged re-import writes nothing), as an admin's change.
    let store = welfare_hub::Store::open(&url).await?;
    let audit = store.audit_of("geography").await?;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, "geography.import");
    assert_eq!(audit[0].actor, "command line");
    assert_eq!(audit[0].actor_role.as_deref(), Some("admin"));
    assert_eq!(
        audit[0].after.as_ref().unwrap()["report"]["areas_written"],
        7436 + 928 + 77
    );
    store.close().await;
    Ok(())
}

#[tokio::test]
async fn pull_stores_a_three_row_file_without_building_the_snapshot() -> anyhow::Result<()> {
    use welfare_model::fund::Fund;
    use welfare_model::{AreaCode, FundId, FundKind};
    // A store that already holds the whole geography and a registered fund.
    let db = welfare_tests::TestDb::sqlite_with_geography().await?;
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
    let dir = tempfile::tempdir()?;
    let report = dir.path().join("report.csv");
    std::fs::write(
        &report,
        "fund_id,period,members_total\nF500101,2025-08,100\nF500101,2025-09,101\nF500101,2025-10,103\n",
    )?;
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"{}\"\n\n[[connectors]]\nid = \"three\"\nkind = \"file\"\nlocation = \"{}\"\n",
            db.url,
            report.display()
        ),
    )?;
    let output = Command::new(hub_binary()?)
        .args(["pull", "--connector", "three", "--config"])
        .arg(&config)
        // Info logs: the run's own line, and the snapshot's if one were built.
        .env("WELFARE_HUB_LOG", "info")
        .env("WELFARE_HUB_LOG_FORMAT", "text")
        .output()
        .await?;
    let out = String::from_utf8(output.stdout)?;
    let err = String::from_utf8(output.stderr)?;
    assert_eq!(output.status.code(), Some(0), "{out}\n{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "three: 3 new, 0 revised, 0 unchanged, 0 quarantined",
            "Pulled 1 connectors: 3 new rows, 0 revised, 0 unchanged, 0 quarantined; 0 failed (0 refused)",
        ],
        "{err}"
    );
    assert!(err.contains("run succeeded"), "{err}");
    assert!(
        !err.contains("analytics snapshot"),
        "pull built the analytics snapshot: {err}"
    );
    assert!(
        !err.contains("map geometry"),
        "pull built map geometry: {err}"
    );
    let members: Vec<(String, i64)> = sqlx::query_as(
        "SELECT period, members_total FROM summaries WHERE fund_id = 'F500101' ORDER BY period",
    )
    .fetch_all(db.store.pool())
    .await?;
    assert_eq!(
        members,
        [
            ("2025-08".to_string(), 100),
            ("2025-09".to_string(), 101),
            ("2025-10".to_string(), 103),
        ]
    );
    let runs = db.store.runs(Some("three"), 10).await?;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, welfare_hub::store::RunStatus::Succeeded);
    assert_eq!(runs[0].trigger, "manual");
    Ok(())
}
