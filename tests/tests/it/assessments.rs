//! Governance assessments: a file in Thai headings with Buddhist-era dates imported for registered
//! funds; a re-import writes nothing; bad files are refused naming line and column with the store
//! unchanged; the API records one for an editor within its provinces (audited) and refuses one
//! beyond; the area indicator, worked by hand on a small fixture, is what `/api/v1/indicators` says
//! at every level and for a network. On SQLite always and on PostgreSQL under
//! `WELFARE_TEST_POSTGRES=1`; the command line against the real binary.

use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{Datelike, NaiveDate};
use welfare_connectors::assessments::read_assessments;
use welfare_connectors::registry::read_registry;
use welfare_hub::analytics::{Analytics, AnalyticsConfig};
use welfare_hub::api::AppState;
use welfare_hub::assessments::{self, AssessmentPlan, AssessmentRefusal};
use welfare_hub::registry;
use welfare_hub::store::Actor;
use welfare_tests::{TestBackend, TestDb, hub_binary};

use crate::access::call;

const ADMIN: &str = "assessments-admin-secret-2569";

/// Three welfare funds in district 5601 (two in tambon 560101, one in 560102), a 1-baht savings
/// group in 560104 (not a welfare fund: never counted) and a welfare fund in Songkhla (900101).
const FUNDS: &str = "ทะเบียนกองทุน\n\
    รหัสกองทุน,ชื่อกองทุน,รหัสตำบล,ประเภทกองทุน,วันที่จัดตั้ง\n\
    F-560101-01,กองทุนสวัสดิการชุมชนเวียง,560101,,01/01/2553\n\
    F-560101-02,กองทุนสวัสดิการชุมชนเทศบาลเมืองพะเยา,560101,,01/01/2553\n\
    F-560102-01,กองทุนสวัสดิการชุมชนแม่ต๋ำ,560102,,01/01/2553\n\
    F-560104-S,กลุ่มสัจจะวันละบาทแม่นาเรือ,560104,กลุ่มสัจจะวันละบาท,01/01/2553\n\
    F-900101-01,กองทุนสวัสดิการชุมชนบ่อยาง,900101,,01/01/2553\n";

/// The results as a network's clerk keeps them: a title, Thai headings, a line-number column, the
/// fund's name beside its id, Buddhist-era dates (one in Thai digits), Thai levels and four
/// dimensions. F-560101-01 was assessed twice: `improve` in June 2024, `excellent` in March 2025.
const RESULTS: &str = "ผลการประเมินมาตรฐานกองทุนสวัสดิการชุมชน ด้านคุณธรรมและธรรมาภิบาล\n\
    ลำดับ,รหัสกองทุน,ชื่อกองทุน,วันที่ประเมิน,แบบประเมิน,ธรรมาภิบาล,คุณธรรม,การบริหารจัดการ,การมีส่วนร่วม,ระดับ,ผู้ประเมิน\n\
    1,F-560101-01,กองทุนสวัสดิการชุมชนเวียง,10/06/2567,2564,40,45,38,50,ต้องปรับปรุง,ขบวนองค์กรชุมชนจังหวัดพะเยา\n\
    2,F-560101-01,กองทุนสวัสดิการชุมชนเวียง,๑๕/๐๓/๒๕๖๘,2566,92,95,88.5,90,ดีมาก,ขบวนองค์กรชุมชนจังหวัดพะเยา\n\
    3,F-560102-01,กองทุนสวัสดิการชุมชนแม่ต๋ำ,20/01/2568,2566,65,70,60,,พอใช้,\n\
    4,F-560104-S,กลุ่มสัจจะวันละบาทแม่นาเรือ,20/01/2568,2566,80,80,80,80,ดี,\n\
    5,F-900101-01,กองทุนสวัสดิการชุมชนบ่อยาง,01/02/2568,2566,80,82,75,81,ดี,\n";

fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&welfare_model::bangkok())
        .date_naive()
}

async fn count(db: &TestDb, table: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(db.store.pool())
            .await?,
    )
}

/// Reads, plans and (unless refused) writes an assessment file, as `assessments import` does.
async fn import(db: &TestDb, path: &Path) -> Result<AssessmentPlan, String> {
    let file = read_assessments(path, today()).map_err(|e| e.to_string())?;
    let plan = match assessments::plan_import(&db.store, &file).await {
        Ok(plan) => plan,
        Err(AssessmentRefusal::Invalid(e)) => return Err(e.to_string()),
        Err(e) => panic!("store error: {e}"),
    };
    assessments::apply(
        &db.store,
        &plan,
        &Actor::command_line(),
        "assessments.import",
    )
    .await
    .expect("written");
    Ok(plan)
}

/// A store with the geography and the five funds registered, as `funds import` does.
async fn registered(backend: TestBackend, dir: &Path) -> anyhow::Result<TestDb> {
    let db = TestDb::with_geography(backend).await?;
    let path = dir.join("funds.csv");
    std::fs::write(&path, FUNDS)?;
    let funds = read_registry(&path)?;
    let plan = registry::plan_import(&db.store, &funds)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    registry::apply(&db.store, &plan, &Actor::command_line(), "funds.import").await?;
    assert_eq!(plan.created, 5);
    Ok(db)
}

on_both_backends!(a_file_in_thai_imports_once_and_bad_files_change_nothing);
async fn a_file_in_thai_imports_once_and_bad_files_change_nothing(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = registered(backend, dir.path()).await?;
    let results = dir.path().join("ผลการประเมิน.csv");
    std::fs::write(&results, RESULTS)?;
    let audit_before = count(&db, "audit").await?;
    let plan = import(&db, &results).await.map_err(anyhow::Error::msg)?;
    assert_eq!((plan.created, plan.updated, plan.unchanged), (5, 0, 0));
    assert_eq!(count(&db, "assessments").await?, 5);
    assert_eq!(count(&db, "audit").await?, audit_before + 5);

    let stored = db.store.fund_assessments("F-560101-01").await?;
    assert_eq!(stored.len(), 2);
    let latest = &stored[1];
    assert_eq!(
        latest.assessed_on,
        NaiveDate::from_ymd_opt(2025, 3, 15).unwrap()
    );
    assert_eq!(latest.form_version, "2566");
    assert_eq!(latest.overall_level.as_str(), "excellent");
    assert_eq!(
        serde_json::to_value(&latest.scores)?,
        serde_json::json!({"ธรรมาภิบาล": 92, "คุณธรรม": 95, "การบริหารจัดการ": "88.5", "การมีส่วนร่วม": 90})
    );
    assert_eq!(latest.assessor.as_deref(), Some("ขบวนองค์กรชุมชนจังหวัดพะเยา"));
    assert_eq!(stored[0].overall_level.as_str(), "improve");
    // An empty cell is no score for that dimension.
    let mae_tam = db.store.fund_assessments("F-560102-01").await?;
    assert_eq!(mae_tam[0].scores.len(), 3);
    assert_eq!(mae_tam[0].assessor, None);

    // A re-import writes nothing: no row, no audit entry.
    let audit_after = count(&db, "audit").await?;
    let again = import(&db, &results).await.map_err(anyhow::Error::msg)?;
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 5));
    assert!(again.changes.is_empty());
    assert_eq!(count(&db, "audit").await?, audit_after);

    // A changed level is an update, audited with the values before and after.
    let changed = dir.path().join("changed.csv");
    std::fs::write(
        &changed,
        "รหัสกองทุน,วันที่ประเมิน,แบบประเมิน,ระดับ,ธรรมาภิบาล\nF-560102-01,20/01/2568,2566,ดี,75\n",
    )?;
    let update = import(&db, &changed).await.map_err(anyhow::Error::msg)?;
    assert_eq!(
        (update.created, update.updated, update.unchanged),
        (0, 1, 0)
    );
    let entry: (String, String, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT actor, action, before_value, after_value FROM audit ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(db.store.pool())
    .await?;
    assert_eq!(entry.0, "command line");
    assert_eq!(entry.1, "assessments.import");
    let before: serde_json::Value = serde_json::from_str(&entry.2.unwrap())?;
    let after: serde_json::Value = serde_json::from_str(&entry.3.unwrap())?;
    assert_eq!(before["overall_level"], "fair");
    assert_eq!(after["overall_level"], "good");
    assert_eq!(after["scores"], serde_json::json!({"ธรรมาภิบาล": 75}));

    // Bad files: every problem named with its line and column, and nothing written.
    let rows = count(&db, "assessments").await?;
    let audit = count(&db, "audit").await?;
    let future = today() + chrono::Duration::days(40);
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "รหัสกองทุน,วันที่ประเมิน,แบบประเมิน,ระดับ,ธรรมาภิบาล\n\
             F-560101-02,01/05/2568,2566,ดีเยี่ยมมาก,80\n\
             F-560101-02,{:02}/{:02}/{},2566,ดี,80\n\
             F-560101-02,02/05/2568,2566,ดี,180\n",
            future.day(),
            future.month(),
            future.year() + 543
        ),
    )?;
    let e = import(&db, &bad).await.unwrap_err();
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 3, "{e}");
    assert!(
        lines[0]
            .starts_with("bad.csv line 2 column 4 (ระดับ): \"ดีเยี่ยมมาก\" is not a governance level"),
        "{e}"
    );
    assert_eq!(
        lines[1],
        format!(
            "bad.csv line 3 column 2 (วันที่ประเมิน): assessed on {future}, which is in the future (today is {})",
            today()
        )
    );
    assert_eq!(
        lines[2],
        "bad.csv line 4 column 5 (ธรรมาภิบาล): score 180 is outside 0–100"
    );
    let unknown = dir.path().join("unknown.csv");
    std::fs::write(
        &unknown,
        "รหัสกองทุน,วันที่ประเมิน,แบบประเมิน,ระดับ\nF-560101-02,01/05/2568,2566,ดี\nF-999999-01,01/05/2568,2566,ดี\n",
    )?;
    assert_eq!(
        import(&db, &unknown).await.unwrap_err(),
        "unknown.csv line 3 column 1 (รหัสกองทุน): fund F-999999-01 is not registered: register it first (welfare-hub funds import)"
    );
    assert_eq!(count(&db, "assessments").await?, rows);
    assert_eq!(count(&db, "audit").await?, audit);
    assert!(db.store.fund_assessments("F-560101-02").await?.is_empty());
    db.cleanup().await
}

/// The hub over a store with the five funds and the results imported, with an analytics snapshot.
async fn hub(
    backend: TestBackend,
    dir: &Path,
) -> anyhow::Result<(TestDb, Arc<Analytics>, AppState)> {
    let db = registered(backend, dir).await?;
    let results = dir.join("results.csv");
    std::fs::write(&results, RESULTS)?;
    import(&db, &results).await.map_err(anyhow::Error::msg)?;
    let analytics = Analytics::open(
        db.store.clone(),
        AnalyticsConfig {
            rebuild_delay_ms: 10,
            ..AnalyticsConfig::default()
        },
        15,
        Arc::new(welfare_hub::ingest::ChangeSignal::default()),
    )
    .await?;
    let mut state = AppState::read_only(db.store.clone());
    state.analytics = Some(analytics.clone());
    state.token = Some(welfare_connectors::Secret::new(ADMIN));
    Ok((db, analytics, state))
}

/// The governance columns of an indicators row.
fn governance(row: &serde_json::Value) -> (i64, Option<f64>, [i64; 4]) {
    let i = |n: &str| row[n].as_i64().unwrap_or_else(|| panic!("{n} in {row}"));
    (
        i("funds_assessed"),
        row["assessed_share"].as_f64(),
        [
            i("governance_excellent"),
            i("governance_good"),
            i("governance_fair"),
            i("governance_improve"),
        ],
    )
}

/// The row of `code` in an anonymous indicators answer.
async fn indicator_row(state: &AppState, query: &str, code: &str) -> serde_json::Value {
    let answer = call(
        state,
        "GET",
        &format!("/api/v1/indicators?{query}"),
        None,
        None,
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{query}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == code)
        .unwrap_or_else(|| panic!("{query}: no row {code}"))
        .clone()
}

on_both_backends!(editors_record_assessments_in_their_provinces_and_indicators_count_them);
async fn editors_record_assessments_in_their_provinces_and_indicators_count_them(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (db, analytics, state) = hub(backend, dir.path()).await?;

    // By hand, at 2025-03: district 5601 has 3 welfare funds; F-560101-01 is `excellent` (its
    // June 2024 `improve` is superseded), F-560102-01 `fair`, F-560101-02 not assessed: 2 of 3,
    // 66.67%. The savings group's assessment counts nowhere. Songkhla's fund is `good`.
    let march = "period=2025-03";
    let cases = [
        (
            "level=subdistrict&within=5601",
            "560101",
            (1, Some(50.0), [1, 0, 0, 0]),
        ),
        (
            "level=subdistrict&within=5601",
            "560102",
            (1, Some(100.0), [0, 0, 1, 0]),
        ),
        (
            "level=subdistrict&within=5601",
            "560104",
            (0, None, [0, 0, 0, 0]),
        ),
        (
            "level=district&within=56",
            "5601",
            (2, Some(66.67), [1, 0, 1, 0]),
        ),
        ("level=province", "56", (2, Some(66.67), [1, 0, 1, 0])),
        ("level=province", "90", (1, Some(100.0), [0, 1, 0, 0])),
        ("level=region", "north", (2, Some(66.67), [1, 0, 1, 0])),
        ("level=country", "TH", (3, Some(75.0), [1, 1, 1, 0])),
    ];
    for (query, code, wanted) in cases {
        let row = indicator_row(&state, &format!("{query}&{march}"), code).await;
        assert_eq!(governance(&row), wanted, "{query} {code}");
    }
    // In July 2024 only F-560101-01 was assessed, as `improve`: 1 of 3.
    let july = indicator_row(&state, "level=province&period=2024-07", "56").await;
    assert_eq!(governance(&july), (1, Some(33.33), [0, 0, 0, 1]));
    // Existing figures are untouched: the funds are counted as before.
    assert_eq!(
        indicator_row(&state, &format!("level=district&within=56&{march}"), "5601").await["funds"],
        3
    );
    // The CSV carries the same columns.
    let csv = call(
        &state,
        "GET",
        &format!("/api/v1/indicators?level=district&within=56&{march}&format=csv"),
        None,
        None,
    )
    .await;
    let text = String::from_utf8(csv.body)?;
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines
        .find(|l| l.starts_with("5601,"))
        .unwrap()
        .split(',')
        .collect();
    let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        [
            cell("funds_assessed"),
            cell("assessed_share"),
            cell("governance_excellent"),
            cell("governance_fair")
        ],
        ["2", "66.67", "1", "1"]
    );

    // A fund's figures show its latest assessment by the month.
    let fund = call(
        &state,
        "GET",
        "/api/v1/funds/F-560101-01?period=2025-03",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(
        fund.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&fund.body)
    );
    assert_eq!(
        fund.json()["assessment"],
        serde_json::json!({"overall_level": "excellent", "assessed_on": "2025-03-15", "form_version": "2566"})
    );
    let earlier = call(
        &state,
        "GET",
        "/api/v1/funds/F-560101-01?period=2024-07",
        Some(ADMIN),
        None,
    )
    .await
    .json();
    assert_eq!(earlier["assessment"]["overall_level"], "improve");

    // An editor of Phayao (56) records an assessment of a fund of 56, not of one of 90.
    let make_token = |body: serde_json::Value| {
        let state = state.clone();
        async move {
            let made = call(&state, "POST", "/api/v1/tokens", Some(ADMIN), Some(body)).await;
            assert_eq!(made.status, StatusCode::CREATED);
            made.json()["secret"].as_str().unwrap().to_string()
        }
    };
    let editor = make_token(
        serde_json::json!({"name": "phayao-editor", "role": "province-editor", "provinces": ["56"]}),
    )
    .await;
    let viewer = make_token(serde_json::json!({"name": "analyst", "role": "viewer"})).await;
    let body = serde_json::json!({
        "assessed_on": "2025-06-30", "form_version": "2566", "overall_level": "ดี",
        "scores": {"ธรรมาภิบาล": 78, "คุณธรรม": "81.5"}, "assessor": "ทีมประเมินจังหวัด",
    });
    let uri = "/api/v1/funds/F-560101-02/assessments";
    assert_eq!(
        call(&state, "POST", uri, None, Some(body.clone()))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&state, "POST", uri, Some(&viewer), Some(body.clone()))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let audit = count(&db, "audit").await?;
    let outside = call(
        &state,
        "POST",
        "/api/v1/funds/F-900101-01/assessments",
        Some(&editor),
        Some(body.clone()),
    )
    .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN);
    assert_eq!(outside.json()["error"], "forbidden");
    assert_eq!(db.store.fund_assessments("F-900101-01").await?.len(), 1);
    assert_eq!(count(&db, "audit").await?, audit);
    assert!(!analytics.is_stale());
    let made = call(&state, "POST", uri, Some(&editor), Some(body.clone())).await;
    assert_eq!(
        made.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&made.body)
    );
    assert_eq!(
        made.json(),
        serde_json::json!({
            "fund_id": "F-560101-02", "assessed_on": "2025-06-30", "form_version": "2566",
            "overall_level": "good", "scores": {"ธรรมาภิบาล": 78, "คุณธรรม": "81.5"},
            "assessor": "ทีมประเมินจังหวัด",
        })
    );
    assert!(
        analytics.is_stale(),
        "an assessment marks the snapshot stale"
    );
    let again = call(&state, "POST", uri, Some(&editor), Some(body.clone())).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let trail = call(
        &state,
        "GET",
        "/api/v1/audit?subject=assessment:F-560101-02:2025-06-30:2566",
        Some(ADMIN),
        None,
    )
    .await
    .json();
    let entries = trail["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{trail}");
    assert_eq!(entries[0]["actor"], "phayao-editor");
    assert_eq!(entries[0]["actor_role"], "province-editor");
    assert_eq!(entries[0]["action"], "assessment.record");
    assert_eq!(entries[0]["province"], "56");
    assert_eq!(entries[0]["before"], serde_json::Value::Null);
    assert_eq!(entries[0]["after"]["overall_level"], "good");
    assert_eq!(entries[0]["after"]["scores"]["คุณธรรม"], "81.5");

    // Bad bodies are refused naming the field.
    for (change, field) in [
        (
            serde_json::json!({"overall_level": "เยี่ยม"}),
            "overall_level: ",
        ),
        (
            serde_json::json!({"assessed_on": "2999-01-01"}),
            "assessed_on: ",
        ),
        (
            serde_json::json!({"assessed_on": "30/06/2568"}),
            "assessed_on: ",
        ),
        (serde_json::json!({"form_version": " "}), "form_version: "),
        (
            serde_json::json!({"scores": {"ธรรมาภิบาล": 120}}),
            "scores.ธรรมาภิบาล: ",
        ),
    ] {
        let mut wrong = body.clone();
        for (k, v) in change.as_object().unwrap() {
            wrong[k] = v.clone();
        }
        let refused = call(
            &state,
            "POST",
            "/api/v1/funds/F-560102-01/assessments",
            Some(&editor),
            Some(wrong),
        )
        .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{change}");
        let message = refused.json()["message"].as_str().unwrap().to_string();
        assert!(message.starts_with(field), "{change}: {message}");
    }
    let nobody = call(
        &state,
        "POST",
        "/api/v1/funds/F-NONE/assessments",
        Some(ADMIN),
        Some(body.clone()),
    )
    .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);

    // Reading: a viewer any fund's, an editor its provinces' only, anonymous none.
    let listed = call(&state, "GET", uri, Some(&viewer), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json()["assessments"][0]["overall_level"], "good");
    let history = call(
        &state,
        "GET",
        "/api/v1/funds/F-560101-01/assessments",
        Some(&editor),
        None,
    )
    .await
    .json();
    let levels: Vec<&str> = history["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["overall_level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["improve", "excellent"]);
    assert_eq!(
        call(
            &state,
            "GET",
            "/api/v1/funds/F-900101-01/assessments",
            Some(&editor),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&state, "GET", uri, None, None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // After the rebuild: dated 30 June, it does not count in March, and does in June (3 of 3).
    analytics.rebuild().await?;
    let row = indicator_row(&state, "level=district&within=56&period=2025-03", "5601").await;
    assert_eq!(governance(&row), (2, Some(66.67), [1, 0, 1, 0]));
    let row = indicator_row(&state, "level=district&within=56&period=2025-06", "5601").await;
    assert_eq!(governance(&row), (3, Some(100.0), [1, 1, 1, 0]));

    // A network of two funds of tambon 560101: one assessed (excellent) in March, 50%.
    let network = call(
        &state,
        "POST",
        "/api/v1/networks",
        Some(ADMIN),
        Some(serde_json::json!({
            "id": "wiang", "name_th": "เครือข่ายเวียง", "funds": ["F-560101-01", "F-560101-02"]
        })),
    )
    .await;
    assert_eq!(network.status, StatusCode::CREATED);
    analytics.rebuild().await?;
    for (query, code) in [
        ("level=subdistrict&within=5601", "560101"),
        ("level=district&within=56", "5601"),
        ("level=province", "56"),
        ("level=country", "TH"),
    ] {
        let row = indicator_row(&state, &format!("{query}&network=wiang&{march}"), code).await;
        assert_eq!(
            governance(&row),
            (1, Some(50.0), [1, 0, 0, 0]),
            "network {query} {code}"
        );
    }
    db.cleanup().await
}

#[tokio::test]
async fn the_import_command_writes_once_and_refuses_a_bad_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = registered(TestBackend::Sqlite, dir.path()).await?;
    let path = dir.path().join("results.csv");
    std::fs::write(&path, RESULTS)?;
    let run = |file: &Path, extra: &[&str]| {
        let mut command = tokio::process::Command::new(hub_binary().expect("binary"));
        command
            .args(["assessments", "import"])
            .arg(file)
            .args(["--database-url", &db.url])
            .args(extra)
            .env("WELFARE_HUB_LOG", "warn");
        command
    };
    let shown = path.display().to_string();
    for (extra, wanted) in [
        (
            &["--dry-run"][..],
            format!(
                "Would import {shown}: 5 assessments (4 dimensions): 5 created, 0 updated, 0 unchanged"
            ),
        ),
        (
            &[][..],
            format!(
                "Imported {shown}: 5 assessments (4 dimensions): 5 created, 0 updated, 0 unchanged"
            ),
        ),
        (
            &[][..],
            format!(
                "Imported {shown}: 5 assessments (4 dimensions): 0 created, 0 updated, 5 unchanged"
            ),
        ),
    ] {
        let out = run(&path, extra).output().await?;
        let stdout = String::from_utf8(out.stdout)?;
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.lines().last(), Some(wanted.as_str()), "{stdout}");
    }
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "รหัสกองทุน,วันที่ประเมิน,แบบประเมิน,ระดับ\nF-560101-02,01/05/2568,2566,เยี่ยม\n",
    )?;
    let out = run(&bad, &[]).output().await?;
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr)?;
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(
        stderr.contains("bad.csv line 2 column 4 (ระดับ): \"เยี่ยม\" is not a governance level"),
        "{stderr}"
    );
    assert_eq!(count(&db, "assessments").await?, 5);
    db.cleanup().await
}
