//! The fund registry: a file of 100 funds of every kind, in Thai headings (CSV) and English ones
//! (XLSX), imported into a store holding only the geography; re-imports write nothing; bad files are
//! refused naming line and column with the store unchanged. On SQLite always and on PostgreSQL under
//! `WELFARE_TEST_POSTGRES=1`; the command line against the real binary.

use std::collections::HashMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use welfare_connectors::registry::read_registry;
use welfare_hub::registry::{self, RegistryPlan, RegistryRefusal};
use welfare_hub::store::Actor;
use welfare_model::fund::Fund;
use welfare_model::{AreaCode, FundId, FundKind, Level};
use welfare_tests::{TestBackend, TestDb, bundle, hub_binary};

/// The first `n` tambons of a province, in bundle order.
fn tambons(province: &str, n: usize) -> Vec<&'static welfare_geo::bundle::Area> {
    bundle()
        .areas
        .iter()
        .filter(|a| a.level == Level::Subdistrict && a.code.as_str().starts_with(province))
        .take(n)
        .collect()
}

/// 100 funds in Phayao (56), Lampang (52) and Songkhla (90): every kind in turn, a municipal fund
/// every seventh, a closed fund every tenth, and Lampang's provincial-level fund.
fn registry_funds() -> Vec<Fund> {
    let kinds = [
        FundKind::CommunityWelfare,
        FundKind::OneBahtSavings,
        FundKind::OtherCommunityFund,
        FundKind::ElderlyFund,
    ];
    let mut areas = tambons("56", 40);
    areas.extend(tambons("52", 30));
    areas.extend(tambons("90", 29));
    let mut funds: Vec<Fund> = areas
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let registered = NaiveDate::from_ymd_opt(2007, 1, 1).unwrap()
                + chrono::Duration::days(37 * i as i64);
            Fund {
                id: FundId::parse(&format!("F-{}-{:02}", t.code, i % 3)).unwrap(),
                name_th: format!("กองทุนสวัสดิการชุมชนตำบล{}", t.name_th),
                name_en: (i % 2 == 0).then(|| format!("{} community welfare fund", t.name_en)),
                kind: kinds[i % kinds.len()],
                area: t.code.clone(),
                municipality: (i % 7 == 3).then(|| format!("เทศบาลตำบล{}", t.name_th)),
                registered_on: (i % 9 != 5).then_some(registered),
                closed_on: (i % 10 == 4)
                    .then(|| NaiveDate::from_ymd_opt(2024 + (i % 3) as i32, 9, 30).unwrap()),
            }
        })
        .collect();
    funds.push(Fund {
        id: FundId::parse("LP-52").unwrap(),
        name_th: "กองทุนสวัสดิการชุมชนระดับจังหวัดลำปาง (21 กลุ่ม)".into(),
        name_en: Some("Lampang provincial welfare fund".into()),
        kind: FundKind::ProvincialFund,
        area: AreaCode::parse("52").unwrap(),
        municipality: None,
        registered_on: NaiveDate::from_ymd_opt(2012, 6, 1),
        closed_on: None,
    });
    assert_eq!(funds.len(), 100);
    funds
}

/// `10/11/2568`, sometimes in Thai digits.
fn be_date(d: NaiveDate, thai_digits: bool) -> String {
    let text = format!("{:02}/{:02}/{}", d.day(), d.month(), d.year() + 543);
    if !thai_digits {
        return text;
    }
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(n) => char::from_u32(0x0E50 + n).unwrap(),
            None => c,
        })
        .collect()
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The registry as a network's clerk keeps it: a title, Thai headings, a line-number column, Thai
/// kind labels and Buddhist-era dates.
fn thai_csv(funds: &[Fund]) -> String {
    let mut out = String::from("ทะเบียนกองทุนสวัสดิการชุมชน ปี 2569\n");
    out.push_str(
        "ลำดับ,รหัสกองทุน,ชื่อกองทุน,ชื่อภาษาอังกฤษ,รหัสตำบล,รหัสจังหวัด,ประเภทกองทุน,เทศบาล,วันที่จัดตั้ง,วันที่ยุติ\n",
    );
    for (i, f) in funds.iter().enumerate() {
        let (tambon, province) = match f.area.level() {
            Level::Province => (String::new(), f.area.to_string()),
            _ if i % 4 == 0 => (f.area.to_string(), f.area.province().to_string()),
            _ => (f.area.to_string(), String::new()),
        };
        let cells = [
            (i + 1).to_string(),
            f.id.to_string(),
            f.name_th.clone(),
            f.name_en.clone().unwrap_or_default(),
            tambon,
            province,
            f.kind.label_th().to_string(),
            f.municipality.clone().unwrap_or_default(),
            f.registered_on
                .map(|d| be_date(d, i % 5 == 0))
                .unwrap_or_default(),
            f.closed_on.map(|d| be_date(d, false)).unwrap_or_default(),
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

/// The same registry as an analyst's workbook: English headings, kinds by name, dates as date
/// cells, tambon codes typed as numbers.
fn english_xlsx(funds: &[Fund], path: &Path) -> anyhow::Result<()> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Funds")?;
    let date = Format::new().set_num_format("dd/mm/yyyy");
    sheet.write_string(0, 0, "Fund registry, December 2026")?;
    for (c, h) in [
        "Fund ID",
        "Fund name",
        "English name",
        "Tambon code",
        "Province code",
        "Fund kind",
        "Municipality",
        "Registered on",
        "Closed on",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(2, c as u16, *h)?;
    }
    for (i, f) in funds.iter().enumerate() {
        let r = 3 + i as u32;
        sheet.write_string(r, 0, f.id.as_str())?;
        sheet.write_string(r, 1, &f.name_th)?;
        if let Some(en) = &f.name_en {
            sheet.write_string(r, 2, en)?;
        }
        match f.area.level() {
            Level::Province => {
                sheet.write_string(r, 4, f.area.as_str())?;
            }
            _ => {
                sheet.write_number(r, 3, f.area.as_str().parse::<f64>()?)?;
            }
        }
        sheet.write_string(r, 5, f.kind.as_str())?;
        if let Some(m) = &f.municipality {
            sheet.write_string(r, 6, m)?;
        }
        for (c, day) in [(7, f.registered_on), (8, f.closed_on)] {
            if let Some(d) = day {
                let when =
                    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                sheet.write_datetime_with_format(r, c, &when, &date)?;
            }
        }
    }
    workbook.save(path)?;
    Ok(())
}

/// Reads, plans and (unless refused) writes a registry file, as `funds import` does.
async fn import(db: &TestDb, path: &Path) -> Result<RegistryPlan, String> {
    let registry = read_registry(path).map_err(|e| e.to_string())?;
    let plan = match registry::plan_import(&db.store, &registry).await {
        Ok(plan) => plan,
        Err(RegistryRefusal::Invalid(e)) => return Err(e.to_string()),
        Err(e) => panic!("store error: {e}"),
    };
    registry::apply(&db.store, &plan, &Actor::command_line(), "funds.import")
        .await
        .expect("written");
    Ok(plan)
}

fn tally(plan: &RegistryPlan) -> [usize; 4] {
    [plan.created, plan.updated, plan.unchanged, plan.closed]
}

async fn audit_rows(db: &TestDb) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit")
        .fetch_one(db.store.pool())
        .await?)
}

on_both_backends!(a_registry_imports_in_thai_or_english_and_a_reimport_writes_nothing);
async fn a_registry_imports_in_thai_or_english_and_a_reimport_writes_nothing(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let db = TestDb::with_geography(backend).await?;
    let dir = tempfile::tempdir()?;
    let funds = registry_funds();
    let csv = dir.path().join("ทะเบียนกองทุน.csv");
    std::fs::write(&csv, thai_csv(&funds))?;

    let plan = import(&db, &csv).await.map_err(anyhow::Error::msg)?;
    assert_eq!(tally(&plan), [100, 0, 0, 0]);
    let stored = db.store.fund_registrations().await?;
    let wanted: HashMap<FundId, Fund> = funds.iter().map(|f| (f.id.clone(), f.clone())).collect();
    assert_eq!(stored, wanted, "every field of every fund as registered");
    assert_eq!(db.store.count_funds().await?, 100);
    let lampang = &stored[&FundId::parse("LP-52")?];
    assert_eq!(lampang.kind, FundKind::ProvincialFund);
    assert_eq!(lampang.area.as_str(), "52");
    for kind in FundKind::ALL {
        assert!(stored.values().any(|f| f.kind == kind), "{kind:?}");
    }
    assert!(stored.values().filter(|f| f.municipality.is_some()).count() >= 10);
    assert!(stored.values().filter(|f| f.closed_on.is_some()).count() >= 9);

    // Each creation is audited with nothing before and the registration after.
    let first = &funds[0];
    let trail = db.store.audit_of(&format!("fund:{}", first.id)).await?;
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].actor, "command line");
    assert_eq!(trail[0].actor_role.as_deref(), Some("admin"));
    assert_eq!(trail[0].action, "funds.import");
    assert_eq!(trail[0].before, None);
    assert_eq!(trail[0].after, Some(serde_json::json!(first)));
    let audited = audit_rows(&db).await?;

    // The same file again, then the same funds under English headings in a workbook: nothing changes.
    let again = import(&db, &csv).await.map_err(anyhow::Error::msg)?;
    assert_eq!(tally(&again), [0, 0, 100, 0]);
    assert!(again.changes.is_empty());
    let xlsx = dir.path().join("registry.xlsx");
    english_xlsx(&funds, &xlsx)?;
    let english = import(&db, &xlsx).await.map_err(anyhow::Error::msg)?;
    assert_eq!(tally(&english), [0, 0, 100, 0]);
    assert_eq!(db.store.fund_registrations().await?, wanted);
    assert_eq!(
        audit_rows(&db).await?,
        audited,
        "a re-import writes no audit row"
    );

    // Three open funds close, two are renamed: exactly those are written and audited.
    let mut changed = funds.clone();
    let open: Vec<usize> = (0..changed.len())
        .filter(|&i| changed[i].closed_on.is_none())
        .take(3)
        .collect();
    for &i in &open {
        changed[i].closed_on = NaiveDate::from_ymd_opt(2026, 6, 30);
    }
    changed[50].name_th.push_str(" (ใหม่)");
    changed[60].name_en = Some("Renamed fund".into());
    std::fs::write(&csv, thai_csv(&changed))?;
    let plan = import(&db, &csv).await.map_err(anyhow::Error::msg)?;
    assert_eq!(tally(&plan), [0, 2, 95, 3]);
    assert_eq!(audit_rows(&db).await?, audited + 5);
    let closed = &changed[open[0]];
    let trail = db.store.audit_of(&format!("fund:{}", closed.id)).await?;
    assert_eq!(trail.len(), 2);
    assert_eq!(
        trail[1].before.as_ref().unwrap()["closed_on"],
        serde_json::Value::Null
    );
    assert_eq!(trail[1].after.as_ref().unwrap()["closed_on"], "2026-06-30");
    assert_eq!(
        db.store
            .fund_registration(closed.id.as_str())
            .await?
            .as_ref(),
        Some(closed)
    );
    db.cleanup().await
}

on_both_backends!(a_file_without_a_column_leaves_that_field_as_registered);
async fn a_file_without_a_column_leaves_that_field_as_registered(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let db = TestDb::with_geography(backend).await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("funds.csv");
    std::fs::write(
        &path,
        "fund_id,name_th,tambon,kind,closed_on\nF-560101,กองทุนเวียง,560101,elderly_fund,30/09/2568\n",
    )?;
    assert_eq!(tally(&import(&db, &path).await.unwrap()), [1, 0, 0, 0]);
    // A short list of ids and names, as a network often sends: the kind and closing stay.
    std::fs::write(
        &path,
        "รหัสกองทุน,ชื่อกองทุน,รหัสตำบล\nF-560101,กองทุนเวียงใหม่,560101\n",
    )?;
    assert_eq!(tally(&import(&db, &path).await.unwrap()), [0, 1, 0, 0]);
    let fund = db.store.fund_registration("F-560101").await?.unwrap();
    assert_eq!(fund.name_th, "กองทุนเวียงใหม่");
    assert_eq!(fund.kind, FundKind::ElderlyFund);
    assert_eq!(fund.closed_on, NaiveDate::from_ymd_opt(2025, 9, 30));
    db.cleanup().await
}

on_both_backends!(bad_registries_are_refused_naming_line_and_column_and_change_nothing);
async fn bad_registries_are_refused_naming_line_and_column_and_change_nothing(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let db = TestDb::with_geography(backend).await?;
    let dir = tempfile::tempdir()?;
    let funds = registry_funds();
    let path = dir.path().join("funds.csv");
    std::fs::write(&path, thai_csv(&funds[..60]))?;
    import(&db, &path).await.map_err(anyhow::Error::msg)?;
    let before = db.store.fund_registrations().await?;
    let audited = audit_rows(&db).await?;

    let good = thai_csv(&funds);
    let lines: Vec<&str> = good.lines().collect();
    // Line numbers of the file: the title is line 1, the header line 2, fund i on line i + 3.
    let with = |i: usize, from: &str, to: &str| {
        let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        assert!(l[i + 2].contains(from), "{} has no {from}", l[i + 2]);
        l[i + 2] = l[i + 2].replacen(from, to, 1);
        l.join("\n") + "\n"
    };
    let tambon_70 = funds[70].area.to_string();
    let id_10 = funds[10].id.to_string();
    let id_80 = funds[80].id.to_string();
    let registered_91 = be_date(funds[91].registered_on.unwrap(), false);
    for (text, wanted) in [
        (
            // Well formed, but no such tambon.
            with(70, &format!(",{tambon_70},"), ",909999,"),
            "funds.csv line 73 column 5 (รหัสตำบล): tambon 909999 is not in the geography: check the code (DOPA), never padded or guessed".to_string(),
        ),
        (
            with(
                70,
                &format!(",{tambon_70},"),
                &format!(",{},", &tambon_70[1..]),
            ),
            format!(
                "funds.csv line 73 column 5 (รหัสตำบล): \"{}\" is not a tambon code: expected exactly 6 digits, never padded or guessed",
                &tambon_70[1..]
            ),
        ),
        (
            with(80, &id_80, &id_10),
            format!(
                "funds.csv line 83 column 2 (รหัสกองทุน): fund id {id_10} is registered again: it is already on funds.csv line 13"
            ),
        ),
        (
            with(91, &registered_91, "31/02/2560"),
            "funds.csv line 94 column 9 (วันที่จัดตั้ง): \"31/02/2560\" is not a day of the calendar"
                .to_string(),
        ),
        (
            with(94, "กองทุนหมู่บ้าน", "ธนาคารโค"),
            "funds.csv line 97 column 7 (ประเภทกองทุน): \"ธนาคารโค\" is not a fund kind".to_string(),
        ),
    ] {
        std::fs::write(&path, &text)?;
        let refused = import(&db, &path).await.expect_err("refused");
        assert!(refused.starts_with(&wanted), "{refused}\nwanted: {wanted}");
        assert_eq!(db.store.fund_registrations().await?, before, "{wanted}");
        assert_eq!(audit_rows(&db).await?, audited, "{wanted}");
    }
    db.cleanup().await
}

#[tokio::test]
async fn funds_import_on_the_command_line_prints_what_it_did() -> anyhow::Result<()> {
    let db = TestDb::sqlite_with_geography().await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("funds.csv");
    let funds = registry_funds();
    std::fs::write(&path, thai_csv(&funds))?;
    let run = |extra: &[&str]| {
        let mut command = tokio::process::Command::new(hub_binary().expect("binary"));
        command
            .args(["funds", "import"])
            .arg(&path)
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
                "Would import {shown}: 100 funds: 100 created, 0 updated, 0 unchanged, 0 closed"
            ),
        ),
        (
            &[][..],
            format!("Imported {shown}: 100 funds: 100 created, 0 updated, 0 unchanged, 0 closed"),
        ),
        (
            &[][..],
            format!("Imported {shown}: 100 funds: 0 created, 0 updated, 100 unchanged, 0 closed"),
        ),
    ] {
        let output = run(extra).output().await?;
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
                "not read (for people, not the hub): column \"ลำดับ\" (funds.csv line 2 column 1)"
                    .to_string(),
                wanted
            ]
        );
    }
    let mut bad = thai_csv(&funds);
    bad = bad.replacen(&format!(",{},", funds[3].area), ",569999,", 1);
    std::fs::write(&path, bad)?;
    let output = run(&[]).output().await?;
    let err = String::from_utf8(output.stderr)?;
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{shown} is refused, nothing was written")),
        "{err}"
    );
    assert!(
        err.contains("funds.csv line 6 column 5 (รหัสตำบล): tambon 569999 is not in the geography"),
        "{err}"
    );
    assert_eq!(db.store.count_funds().await?, 100);
    db.cleanup().await
}

on_both_backends!(the_network_column_sets_each_funds_networks_exactly);
async fn the_network_column_sets_each_funds_networks_exactly(
    backend: TestBackend,
) -> anyhow::Result<()> {
    use welfare_model::{Network, NetworkId};
    let db = TestDb::with_geography(backend).await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("funds.csv");
    for id in ["songkhla-1baht", "south-federation"] {
        db.store
            .save_network(
                None,
                &Network {
                    id: NetworkId::parse(id)?,
                    name_th: format!("เครือข่าย {id}"),
                    name_en: None,
                    funds: Vec::new(),
                },
                None,
                &Actor::command_line(),
                "network.create",
            )
            .await?;
    }
    let members = |db: &TestDb| {
        let store = db.store.clone();
        async move {
            let mut out = Vec::new();
            for n in store.networks().await.unwrap() {
                out.push((
                    n.id.to_string(),
                    n.funds.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
                ));
            }
            out
        }
    };
    std::fs::write(
        &path,
        "รหัสกองทุน,ชื่อกองทุน,รหัสตำบล,เครือข่าย\n\
         F-900101,กองทุนบ่อยาง,900101,\"songkhla-1baht, south-federation\"\n\
         F-900102,กองทุนเขารูปช้าง,900102,songkhla-1baht\n\
         F-900103,กองทุนพะวง,900103,\n",
    )?;
    let plan = import(&db, &path).await.map_err(anyhow::Error::msg)?;
    assert_eq!(tally(&plan), [3, 0, 0, 0]);
    assert_eq!(plan.network_changes.len(), 2);
    assert_eq!(
        members(&db).await,
        [
            (
                "songkhla-1baht".to_string(),
                vec!["F-900101".to_string(), "F-900102".to_string()]
            ),
            ("south-federation".to_string(), vec!["F-900101".to_string()]),
        ]
    );
    // The same file again writes nothing; a fund moved between networks is an update.
    let again = import(&db, &path).await.map_err(anyhow::Error::msg)?;
    assert_eq!(
        (tally(&again), again.network_changes.len()),
        ([0, 0, 3, 0], 0)
    );
    std::fs::write(
        &path,
        "รหัสกองทุน,ชื่อกองทุน,รหัสตำบล,เครือข่าย\nF-900101,กองทุนบ่อยาง,900101,south-federation\n",
    )?;
    let moved = import(&db, &path).await.map_err(anyhow::Error::msg)?;
    assert_eq!(
        (tally(&moved), moved.network_changes.len()),
        ([0, 1, 0, 0], 1)
    );
    assert_eq!(
        members(&db).await,
        [
            ("songkhla-1baht".to_string(), vec!["F-900102".to_string()]),
            ("south-federation".to_string(), vec!["F-900101".to_string()]),
        ]
    );
    let trail = db.store.audit_of("network:songkhla-1baht").await?;
    assert_eq!(
        trail.last().unwrap().before.as_ref().unwrap()["funds"],
        serde_json::json!(["F-900101", "F-900102"])
    );
    assert_eq!(
        trail.last().unwrap().after.as_ref().unwrap()["funds"],
        serde_json::json!(["F-900102"])
    );
    // A network that does not exist refuses the file, naming the cell; nothing changes.
    std::fs::write(
        &path,
        "รหัสกองทุน,ชื่อกองทุน,รหัสตำบล,เครือข่าย\nF-900102,กองทุนเขารูปช้าง,900102,north-federation\n",
    )?;
    let refused = import(&db, &path).await.expect_err("refused");
    assert_eq!(
        refused,
        "funds.csv line 2 column 4 (เครือข่าย): network north-federation does not exist: make it first (POST /api/v1/networks)"
    );
    assert_eq!(members(&db).await[0].1, ["F-900102"]);
    db.cleanup().await
}
