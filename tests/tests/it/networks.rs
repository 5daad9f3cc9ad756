//! Networks through the API: made by an admin across two provinces, refused to an editor beyond its
//! provinces, audited, and `network=` on the indicators adding up exactly to the network's funds at
//! every level, after the snapshot is rebuilt.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use welfare_model::{FundId, Money, Period, Summary};

use crate::access::call;
use crate::analytics::{TOKEN, hub};

#[tokio::test]
async fn a_network_across_two_provinces_adds_up_to_its_funds_at_every_level() -> anyhow::Result<()>
{
    let (db, analytics, state) = hub().await?;
    // A second province: a Songkhla fund with its March report.
    let made = call(
        &state,
        "POST",
        "/api/v1/funds",
        Some(TOKEN),
        Some(serde_json::json!({"id": "F900101", "name_th": "กองทุนสวัสดิการชุมชนบ่อยาง", "area": "900101", "registered_on": "2020-01-01"})),
    )
    .await;
    assert_eq!(
        made.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&made.body)
    );
    let mut s = Summary::new(FundId::parse("F900101")?, Period::parse("2025-03")?);
    s.members_total = Some(70);
    s.contrib_members = Some(Money::parse("2100")?);
    s.fund_balance = Some(Money::from_baht(5_000));
    s.reported_at = Some("2025-04-02T03:00:00Z".parse()?);
    let mut tx = db.store.begin().await?;
    tx.upsert_summaries(None, &[s]).await?;
    tx.commit().await?;

    let editor = call(
        &state,
        "POST",
        "/api/v1/tokens",
        Some(TOKEN),
        Some(serde_json::json!({"name": "cm-editor", "role": "province-editor", "provinces": ["50"]})),
    )
    .await
    .json()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let network = serde_json::json!({
        "id": "north-south", "name_th": "เครือข่ายเหนือจรดใต้", "funds": ["F500101", "F900101"]
    });
    // Without a token 401; an editor of Chiang Mai may not take in a Songkhla fund.
    let anonymous = call(
        &state,
        "POST",
        "/api/v1/networks",
        None,
        Some(network.clone()),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let beyond = call(
        &state,
        "POST",
        "/api/v1/networks",
        Some(&editor),
        Some(network.clone()),
    )
    .await;
    assert_eq!(beyond.status, StatusCode::FORBIDDEN);
    let unknown = call(
        &state,
        "POST",
        "/api/v1/networks",
        Some(TOKEN),
        Some(serde_json::json!({"id": "x", "name_th": "ก", "funds": ["F-NONE"]})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let created = call(
        &state,
        "POST",
        "/api/v1/networks",
        Some(TOKEN),
        Some(network),
    )
    .await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(
        created.json()["funds"],
        serde_json::json!(["F500101", "F900101"])
    );
    let listed = call(&state, "GET", "/api/v1/networks", None, None)
        .await
        .json();
    assert_eq!(
        listed,
        serde_json::json!([{"id": "north-south", "name_th": "เครือข่ายเหนือจรดใต้", "name_en": null, "funds": 2}])
    );
    // The editor may not change it either (a member lies outside its provinces).
    let change = call(
        &state,
        "PATCH",
        "/api/v1/networks/north-south",
        Some(&editor),
        Some(serde_json::json!({"funds": ["F500101"]})),
    )
    .await;
    assert_eq!(change.status, StatusCode::FORBIDDEN);
    let trail = call(
        &state,
        "GET",
        "/api/v1/audit?subject=network:north-south",
        Some(TOKEN),
        None,
    )
    .await
    .json();
    assert_eq!(trail["entries"][0]["action"], "network.create");
    assert_eq!(
        trail["entries"][0]["after"]["funds"],
        serde_json::json!(["F500101", "F900101"])
    );

    // Before the rebuild the snapshot does not know the network; after it, every level adds up.
    let early = call(
        &state,
        "GET",
        "/api/v1/indicators?level=all&period=2025-03&network=north-south",
        None,
        None,
    )
    .await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    assert!(
        analytics.is_stale(),
        "the registry change marks the snapshot stale"
    );
    analytics.rebuild().await?;
    let rows = call(
        &state,
        "GET",
        "/api/v1/indicators?level=all&period=2025-03&network=north-south",
        None,
        None,
    )
    .await;
    assert_eq!(
        rows.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&rows.body)
    );
    let body = rows.json();
    assert_eq!(body["network"], "north-south");
    let funds = call(
        &state,
        "GET",
        "/api/v1/funds?period=2025-03&network=north-south",
        Some(TOKEN),
        None,
    )
    .await
    .json();
    let members: BTreeMap<String, i64> = funds["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["tambon_code"].as_str().unwrap().to_string(),
                f["members"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        members,
        BTreeMap::from([("500101".to_string(), 120), ("900101".to_string(), 70)])
    );
    let mut seen = 0;
    for row in body["rows"].as_array().unwrap() {
        let code = row["code"].as_str().unwrap();
        let region = |t: &str| {
            welfare_model::AreaCode::parse(t)
                .unwrap()
                .region()
                .code()
                .to_string()
        };
        let expected: i64 = members
            .iter()
            .filter(|(t, _)| code == "TH" || t.starts_with(code) || region(t) == code)
            .map(|(_, m)| m)
            .sum();
        assert_eq!(row["members"].as_i64().unwrap_or(0), expected, "{code}");
        if expected > 0 {
            seen += 1;
        }
    }
    // 2 tambons, 2 districts, 2 provinces, 2 regions and the country hold the network's members.
    assert_eq!(seen, 9);
    let th = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "TH")
        .unwrap();
    assert_eq!(
        (th["funds"].as_i64(), th["members"].as_i64()),
        (Some(2), Some(190))
    );
    // Without the network the country holds every fund.
    let all = call(
        &state,
        "GET",
        "/api/v1/indicators?level=country&period=2025-03",
        None,
        None,
    )
    .await
    .json();
    assert_eq!(all["rows"][0]["members"].as_i64(), Some(220));
    let bad = call(&state, "GET", "/api/v1/indicators?network=nope", None, None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("network: no network has id nope")
    );
    db.cleanup().await
}
