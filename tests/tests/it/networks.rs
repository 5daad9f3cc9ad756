//! Networks through the API: made by an admin across two provinces, refused to an editor beyond its
//! provinces, audited, and `network=` on the indicators adding up exactly to the network's funds at
//! every level, after the snapshot is rebuilt. Networks from a file (`networks import`): made and
//! changed exactly, audited, a re-import writing nothing, bad files refused naming line and column,
//! on SQLite always and on PostgreSQL under `WELFARE_TEST_POSTGRES=1`; the command line against the
//! real binary.

use std::collections::BTreeMap;
use std::path::Path;

use axum::http::StatusCode;
use rust_xlsxwriter::Workbook;
use welfare_connectors::networks::read_networks;
use welfare_connectors::registry::read_registry;
use welfare_hub::networks::{self, NetworkPlan, NetworkRefusal};
use welfare_hub::registry;
use welfare_hub::store::Actor;
use welfare_model::{FundId, Money, Network, NetworkId, Period, Summary};
use welfare_tests::{TestBackend, TestDb, hub_binary};

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

/// Three funds in Phayao (56) and two in Songkhla (90).
const FUNDS: &str = "รหัสกองทุน,ชื่อกองทุน,รหัสตำบล\n\
    F-560101,กองทุนสวัสดิการชุมชนเวียง,560101\n\
    F-560102,กองทุนสวัสดิการชุมชนแม่ต๋ำ,560102\n\
    F-560104,กองทุนสวัสดิการชุมชนแม่นาเรือ,560104\n\
    F-900101,กองทุนสวัสดิการชุมชนบ่อยาง,900101\n\
    F-900102,กองทุนสวัสดิการชุมชนเขารูปช้าง,900102\n";

/// Two networks as a federation's clerk keeps them: a title, Thai headings, a line-number column,
/// the fund's name beside its id, each network named on its first line only. `north-south` spans
/// Phayao and Songkhla; `phayao-welfare` lies in Phayao.
const NETWORKS: &str = "เครือข่ายกองทุนสวัสดิการชุมชน ปี 2569\n\
    ลำดับ,รหัสเครือข่าย,ชื่อเครือข่าย,ชื่อเครือข่ายภาษาอังกฤษ,รหัสกองทุน,ชื่อกองทุน\n\
    1,north-south,เครือข่ายเหนือจรดใต้,North-south network,F-560101,กองทุนสวัสดิการชุมชนเวียง\n\
    2,north-south,,,F-900101,กองทุนสวัสดิการชุมชนบ่อยาง\n\
    3,north-south,,,F-900102,กองทุนสวัสดิการชุมชนเขารูปช้าง\n\
    4,phayao-welfare,เครือข่ายสวัสดิการชุมชนจังหวัดพะเยา,,F-560101,กองทุนสวัสดิการชุมชนเวียง\n\
    5,phayao-welfare,,,F-560102,กองทุนสวัสดิการชุมชนแม่ต๋ำ\n";

/// A store with the geography and the five funds registered (as `funds import` does), and a network
/// the files never name.
async fn registered(backend: TestBackend, dir: &Path) -> anyhow::Result<TestDb> {
    let db = TestDb::with_geography(backend).await?;
    let path = dir.join("funds.csv");
    std::fs::write(&path, FUNDS)?;
    let plan = registry::plan_import(&db.store, &read_registry(&path)?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    registry::apply(&db.store, &plan, &Actor::command_line(), "funds.import").await?;
    assert_eq!(plan.created, 5);
    db.store
        .save_network(
            None,
            &Network {
                id: NetworkId::parse("songkhla-1baht")?,
                name_th: "เครือข่ายสัจจะวันละบาทสงขลา".into(),
                name_en: None,
                funds: vec![FundId::parse("F-900102")?],
            },
            Some("90".into()),
            &Actor::command_line(),
            "network.create",
        )
        .await?;
    Ok(db)
}

/// Reads, plans and (unless refused) writes a network file, as `networks import` does.
async fn import(db: &TestDb, path: &Path) -> Result<NetworkPlan, String> {
    let file = read_networks(path).map_err(|e| e.to_string())?;
    let plan = match networks::plan_import(&db.store, &file).await {
        Ok(plan) => plan,
        Err(NetworkRefusal::Invalid(e)) => return Err(e.to_string()),
        Err(e) => panic!("store error: {e}"),
    };
    networks::apply(&db.store, &plan, &Actor::command_line(), "networks.import")
        .await
        .expect("written");
    Ok(plan)
}

fn tally(plan: &NetworkPlan) -> [usize; 4] {
    [plan.created, plan.updated, plan.unchanged, plan.memberships]
}

/// Every network as stored: id, Thai name, English name, funds.
async fn stored(db: &TestDb) -> Vec<(String, String, Option<String>, Vec<String>)> {
    db.store
        .networks()
        .await
        .unwrap()
        .into_iter()
        .map(|n| {
            let mut funds: Vec<String> = n.funds.iter().map(|f| f.to_string()).collect();
            funds.sort();
            (n.id.to_string(), n.name_th, n.name_en, funds)
        })
        .collect()
}

async fn audit_rows(db: &TestDb) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit")
        .fetch_one(db.store.pool())
        .await?)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The networks of [`NETWORKS`] as an analyst's workbook: English headings under a title, in
/// another order, with a remarks column.
fn english_xlsx(path: &Path) -> anyhow::Result<()> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Networks")?;
    sheet.write_string(0, 0, "Networks, December 2026")?;
    for (c, h) in [
        "Fund ID",
        "Network ID",
        "Network name",
        "name_en",
        "Remarks",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(2, c as u16, *h)?;
    }
    let rows = [
        ["F-900102", "north-south", "", "", ""],
        [
            "F-560101",
            "north-south",
            "เครือข่ายเหนือจรดใต้",
            "North-south network",
            "",
        ],
        ["F-560101", "phayao-welfare", "", "", ""],
        [
            "F-560102",
            "phayao-welfare",
            "เครือข่ายสวัสดิการชุมชนจังหวัดพะเยา",
            "",
            "",
        ],
        ["F-900101", "north-south", "", "", "across provinces"],
    ];
    for (i, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            if !value.is_empty() {
                sheet.write_string(3 + i as u32, c as u16, *value)?;
            }
        }
    }
    workbook.save(path)?;
    Ok(())
}

on_both_backends!(a_network_file_makes_and_changes_networks_exactly_and_once);
async fn a_network_file_makes_and_changes_networks_exactly_and_once(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = registered(backend, dir.path()).await?;
    let untouched = (
        "songkhla-1baht".to_string(),
        "เครือข่ายสัจจะวันละบาทสงขลา".to_string(),
        None,
        strings(&["F-900102"]),
    );
    let path = dir.path().join("เครือข่าย.csv");
    std::fs::write(&path, NETWORKS)?;
    let audited = audit_rows(&db).await?;

    let plan = import(&db, &path).await.map_err(anyhow::Error::msg)?;
    assert_eq!(tally(&plan), [2, 0, 0, 5]);
    let made = vec![
        (
            "north-south".to_string(),
            "เครือข่ายเหนือจรดใต้".to_string(),
            Some("North-south network".to_string()),
            strings(&["F-560101", "F-900101", "F-900102"]),
        ),
        (
            "phayao-welfare".to_string(),
            "เครือข่ายสวัสดิการชุมชนจังหวัดพะเยา".to_string(),
            None,
            strings(&["F-560101", "F-560102"]),
        ),
        untouched.clone(),
    ];
    assert_eq!(stored(&db).await, made);
    let mut memberships = db.store.network_memberships().await?;
    memberships.sort();
    assert_eq!(memberships.len(), 6, "5 from the file, 1 untouched");
    // One audit row per network made: nothing before, the network after, scoped to its province
    // when all its funds lie in one.
    assert_eq!(audit_rows(&db).await?, audited + 2);
    let trail = db.store.audit_of("network:north-south").await?;
    assert_eq!(trail.len(), 1);
    assert_eq!(
        (trail[0].action.as_str(), trail[0].actor.as_str()),
        ("networks.import", "command line")
    );
    assert_eq!(trail[0].before, None);
    assert_eq!(
        trail[0].after,
        Some(serde_json::json!({
            "id": "north-south", "name_th": "เครือข่ายเหนือจรดใต้", "name_en": "North-south network",
            "funds": ["F-560101", "F-900101", "F-900102"],
        }))
    );
    assert_eq!(trail[0].province, None, "it spans two provinces");
    let phayao = db.store.audit_of("network:phayao-welfare").await?;
    assert_eq!(phayao[0].province.as_deref(), Some("56"));

    // The same file again, then the same networks from an English workbook: nothing is written.
    let audited = audit_rows(&db).await?;
    let again = import(&db, &path).await.map_err(anyhow::Error::msg)?;
    assert_eq!(tally(&again), [0, 0, 2, 5]);
    assert!(again.changes.is_empty());
    let xlsx = dir.path().join("networks.xlsx");
    english_xlsx(&xlsx)?;
    let (csv_read, xlsx_read) = (read_networks(&path)?, read_networks(&xlsx)?);
    let networks_of = |f: &welfare_connectors::networks::NetworkFile| {
        let mut n: Vec<Network> = f.networks.iter().map(|e| e.network.clone()).collect();
        n.sort_by(|a, b| a.id.cmp(&b.id));
        n
    };
    assert_eq!(networks_of(&xlsx_read), networks_of(&csv_read));
    assert_eq!(
        xlsx_read.networks[0].fund_locations[&FundId::parse("F-900102")?],
        "networks.xlsx sheet Networks cell A4 (Fund ID)"
    );
    let english = import(&db, &xlsx).await.map_err(anyhow::Error::msg)?;
    assert_eq!(tally(&english), [0, 0, 2, 5]);
    assert_eq!(stored(&db).await, made);
    assert_eq!(
        audit_rows(&db).await?,
        audited,
        "a re-import writes no audit row"
    );

    // A fund dropped from north-south, phayao-welfare renamed: exactly those two are written, each
    // audited with before and after.
    let changed = NETWORKS
        .replace("3,north-south,,,F-900102,กองทุนสวัสดิการชุมชนเขารูปช้าง\n", "")
        .replace("เครือข่ายสวัสดิการชุมชนจังหวัดพะเยา", "เครือข่ายสวัสดิการชุมชนพะเยา");
    std::fs::write(&path, &changed)?;
    let plan = import(&db, &path).await.map_err(anyhow::Error::msg)?;
    assert_eq!(tally(&plan), [0, 2, 0, 4]);
    assert_eq!(audit_rows(&db).await?, audited + 2);
    let trail = db.store.audit_of("network:north-south").await?;
    assert_eq!(trail.len(), 2);
    assert_eq!(
        trail[1].before.as_ref().unwrap()["funds"],
        serde_json::json!(["F-560101", "F-900101", "F-900102"])
    );
    assert_eq!(
        trail[1].after.as_ref().unwrap()["funds"],
        serde_json::json!(["F-560101", "F-900101"])
    );
    assert_eq!(
        trail[1].after.as_ref().unwrap()["name_th"],
        "เครือข่ายเหนือจรดใต้"
    );
    let phayao = db.store.audit_of("network:phayao-welfare").await?;
    assert_eq!(phayao.len(), 2);
    assert_eq!(
        phayao[1].before.as_ref().unwrap()["name_th"],
        "เครือข่ายสวัสดิการชุมชนจังหวัดพะเยา"
    );
    assert_eq!(
        phayao[1].after.as_ref().unwrap()["name_th"],
        "เครือข่ายสวัสดิการชุมชนพะเยา"
    );
    assert_eq!(
        phayao[1].after.as_ref().unwrap()["funds"],
        phayao[1].before.as_ref().unwrap()["funds"]
    );
    assert_eq!(
        db.store.audit_of("network:songkhla-1baht").await?.len(),
        1,
        "a network absent from the file is not written"
    );
    assert_eq!(
        stored(&db).await,
        vec![
            (
                "north-south".to_string(),
                "เครือข่ายเหนือจรดใต้".to_string(),
                Some("North-south network".to_string()),
                strings(&["F-560101", "F-900101"]),
            ),
            (
                "phayao-welfare".to_string(),
                "เครือข่ายสวัสดิการชุมชนพะเยา".to_string(),
                None,
                strings(&["F-560101", "F-560102"]),
            ),
            untouched.clone(),
        ]
    );

    // Without a fund column a file sets names only: the members and English names stay.
    std::fs::write(
        &path,
        "network_id,name_th\nnorth-south,เครือข่ายเหนือใต้\nphayao-welfare,เครือข่ายสวัสดิการชุมชนพะเยา\n",
    )?;
    let plan = import(&db, &path).await.map_err(anyhow::Error::msg)?;
    assert_eq!(tally(&plan), [0, 1, 1, 0]);
    let now = stored(&db).await;
    assert_eq!(now[0].1, "เครือข่ายเหนือใต้");
    assert_eq!(now[0].2.as_deref(), Some("North-south network"));
    assert_eq!(now[0].3, strings(&["F-560101", "F-900101"]));
    assert_eq!(now[1].3, strings(&["F-560101", "F-560102"]));
    db.cleanup().await
}

on_both_backends!(bad_network_files_are_refused_naming_line_and_column_and_change_nothing);
async fn bad_network_files_are_refused_naming_line_and_column_and_change_nothing(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = registered(backend, dir.path()).await?;
    let path = dir.path().join("networks.csv");
    std::fs::write(&path, NETWORKS)?;
    import(&db, &path).await.map_err(anyhow::Error::msg)?;
    let before = stored(&db).await;
    let audited = audit_rows(&db).await?;
    // Line numbers of the file: the title is line 1, the header line 2, the first network line 3.
    for (text, wanted) in [
        (
            NETWORKS.replace("5,phayao-welfare,,,F-560102", "5,phayao-welfare,,,F-560199"),
            vec![
                "networks.csv line 7 column 5 (รหัสกองทุน): fund F-560199 is not registered: register it first (welfare-hub funds import)",
            ],
        ),
        (
            NETWORKS.replace("4,phayao-welfare,", "4,phayao welfare,"),
            vec![
                "networks.csv line 6 column 2 (รหัสเครือข่าย): network id \"phayao welfare\" has a space inside",
            ],
        ),
        (
            NETWORKS.replace("2,north-south,,", "2,north-south,เครือข่ายเหนือ-ใต้,"),
            vec![
                "networks.csv line 4 column 3 (ชื่อเครือข่าย): network north-south is named \"เครือข่ายเหนือ-ใต้\" here but \"เครือข่ายเหนือจรดใต้\" on networks.csv line 3 column 3 (ชื่อเครือข่าย): give one name",
            ],
        ),
        (
            NETWORKS.replace(",ชื่อกองทุน\n", ",อำเภอ\n"),
            vec![
                "networks.csv line 2 column 6: column \"อำเภอ\" is not a network column: expected network_id (รหัสเครือข่าย), name_th (ชื่อเครือข่าย), name_en (ชื่อเครือข่ายภาษาอังกฤษ), fund_id (รหัสกองทุน); remove it or rename it",
            ],
        ),
    ] {
        std::fs::write(&path, &text)?;
        let refused = import(&db, &path).await.expect_err("refused");
        let problems: Vec<&str> = refused.lines().collect();
        assert_eq!(problems.len(), wanted.len(), "{refused}");
        for (got, want) in problems.iter().zip(&wanted) {
            assert!(got.starts_with(want), "{got}\nwanted: {want}");
        }
        assert_eq!(stored(&db).await, before, "{refused}");
        assert_eq!(audit_rows(&db).await?, audited, "{refused}");
    }
    db.cleanup().await
}

#[tokio::test]
async fn networks_import_on_the_command_line_prints_what_it_did() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = registered(TestBackend::Sqlite, dir.path()).await?;
    let path = dir.path().join("networks.csv");
    std::fs::write(&path, NETWORKS)?;
    let run = |file: &Path, extra: &[&str]| {
        let mut command = tokio::process::Command::new(hub_binary().expect("binary"));
        command
            .args(["networks", "import"])
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
                "Would import {shown}: 2 networks: 2 created, 0 updated, 0 unchanged; 5 memberships"
            ),
        ),
        (
            &[][..],
            format!(
                "Imported {shown}: 2 networks: 2 created, 0 updated, 0 unchanged; 5 memberships"
            ),
        ),
        (
            &[][..],
            format!(
                "Imported {shown}: 2 networks: 0 created, 0 updated, 2 unchanged; 5 memberships"
            ),
        ),
    ] {
        let output = run(&path, extra).output().await?;
        let out = String::from_utf8(output.stdout)?;
        assert_eq!(
            output.status.code(),
            Some(0),
            "{out}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "not read (for people, not the hub): column \"ลำดับ\" (networks.csv line 2 column 1)"
                    .to_string(),
                "not read (for people, not the hub): column \"ชื่อกองทุน\" (networks.csv line 2 column 6)"
                    .to_string(),
                wanted
            ]
        );
    }
    assert_eq!(db.store.network_memberships().await?.len(), 6);
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "รหัสเครือข่าย,ชื่อเครือข่าย,รหัสกองทุน\nnorth-south,เครือข่ายเหนือจรดใต้,F-560101\nnorth-south,,F-999999\nnew-one,ใหม่,F 1\n",
    )?;
    let output = run(&bad, &[]).output().await?;
    let err = String::from_utf8(output.stderr)?;
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{} is refused, nothing was written",
            bad.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("bad.csv line 4 column 3 (รหัสกองทุน): fund id \"F 1\" has a space inside"),
        "{err}"
    );
    // The reader's problems come first: the store's checks (F-999999) run on a file that reads.
    assert!(!err.contains("F-999999"), "{err}");
    std::fs::write(
        &bad,
        "รหัสเครือข่าย,ชื่อเครือข่าย,รหัสกองทุน\nnorth-south,เครือข่ายเหนือจรดใต้,F-560101\nnorth-south,,F-999999\n",
    )?;
    let output = run(&bad, &[]).output().await?;
    let err = String::from_utf8(output.stderr)?;
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bad.csv line 3 column 3 (รหัสกองทุน): fund F-999999 is not registered"),
        "{err}"
    );
    assert_eq!(db.store.network_memberships().await?.len(), 6);
    assert_eq!(
        db.store
            .network("north-south")
            .await?
            .map(|n| n.funds.len()),
        Some(3)
    );
    db.cleanup().await
}
