//! Geography bundles: a bad bundle is refused with the file, the line or feature and the problem, and
//! leaves the store exactly as it was.

use std::path::Path;

use sqlx::Row;
use welfare_hub::geography;
use welfare_tests::{TestBackend, TestDb, bundle, geography_dir};

/// A copy of the Thailand bundle in a temporary directory, to be damaged by a test.
fn copy_bundle() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = geography_dir();
    std::fs::create_dir(dir.path().join("geojson")).unwrap();
    for file in [
        "province.csv",
        "amphoe.csv",
        "tambon.csv",
        "tambon_population_by_year.csv",
        "geojson/province.geojson",
        "geojson/amphoe.geojson",
        "geojson/tambon.geojson",
    ] {
        std::fs::copy(src.join(file), dir.path().join(file)).unwrap();
    }
    dir
}

/// Replaces line `n` (1-based, header is line 1) of a CSV file using `edit`.
fn edit_line(path: &Path, n: usize, edit: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == n { edit(l) } else { l.to_string() })
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn refusal(dir: &Path) -> String {
    welfare_geo::Bundle::load(dir)
        .expect_err("the damaged bundle must be refused")
        .to_string()
}

#[test]
fn the_thailand_bundle_loads_whole() {
    let b = bundle();
    assert_eq!(b.count(welfare_model::Level::Province), 77);
    assert_eq!(b.count(welfare_model::Level::District), 928);
    assert_eq!(b.count(welfare_model::Level::Subdistrict), 7436);
    assert_eq!(b.national_population(), 66_171_439);
    assert_eq!(b.population_year, 2021);
    assert_eq!(b.population_by_year.len(), 37_186);
    assert_eq!(b.boundaries.len(), 77 + 928 + 7425);
    let by_code = b.by_code();
    let carved = by_code[&welfare_model::AreaCode::parse("100910").unwrap()];
    assert_eq!(carved.geom_code.as_str(), "100905");
    assert_eq!(
        carved.geom_relation.as_deref(),
        Some("carved_out_of_polygon")
    );
}

#[test]
fn a_wrong_parent_names_file_and_line() {
    let dir = copy_bundle();
    // Line 3 is tambon 100102; give it a district of another province.
    edit_line(&dir.path().join("tambon.csv"), 3, |l| {
        l.replacen(",1001,10,", ",1101,10,", 1)
    });
    let message = refusal(dir.path());
    assert!(message.contains("tambon.csv line 3:"), "{message}");
    assert!(message.contains("amphoe_code 1101"), "{message}");
}

#[test]
fn duplicates_bad_codes_and_sums_are_all_listed() {
    let dir = copy_bundle();
    let tambon = dir.path().join("tambon.csv");
    // Line 4 (100103) becomes a second 100102; line 5 gets a 5-digit code.
    edit_line(&tambon, 4, |l| l.replacen("100103,", "100102,", 2));
    edit_line(&tambon, 5, |l| l.replacen("100104,", "10014,", 1));
    // Bangkok's population no longer adds up.
    edit_line(&dir.path().join("province.csv"), 2, |l| {
        l.replacen(",5527994,", ",5527995,", 1)
    });
    let message = refusal(dir.path());
    assert!(
        message.contains("tambon.csv line 4: duplicate code 100102 (first at tambon.csv line 3)"),
        "{message}"
    );
    assert!(message.contains("tambon.csv line 5: code"), "{message}");
    assert!(message.contains("\"10014\""), "{message}");
    assert!(
        message.contains("province.csv line 2: population of 10 (5527995 total"),
        "{message}"
    );
}

#[test]
fn a_missing_polygon_and_a_missing_column_are_named() {
    let dir = copy_bundle();
    let layer = dir.path().join("geojson/tambon.geojson");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&layer).unwrap()).unwrap();
    json["features"][0]["geometry"] = serde_json::Value::Null;
    std::fs::write(&layer, json.to_string()).unwrap();
    let message = refusal(dir.path());
    assert!(
        message.contains("geojson/tambon.geojson feature 0 (code 100101): has no geometry"),
        "{message}"
    );
    assert!(
        message.contains("no polygon 100101 for tambon 100101"),
        "{message}"
    );

    let dir = copy_bundle();
    edit_line(&dir.path().join("amphoe.csv"), 1, |l| {
        l.replace("name_en", "english")
    });
    let message = refusal(dir.path());
    assert!(
        message.contains("amphoe.csv line 1: header lacks column(s) name_en"),
        "{message}"
    );
}

/// Everything the store holds of geography, as one comparable value.
async fn fingerprint(db: &TestDb) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for sql in [
        "SELECT COUNT(*), CAST(SUM(pop_total) AS BIGINT) FROM areas",
        "SELECT COUNT(*), CAST(SUM(pop_total) AS BIGINT) FROM area_population",
        "SELECT COUNT(*), CAST(SUM(LENGTH(geometry)) AS BIGINT) FROM boundaries",
        "SELECT COUNT(*), COUNT(*) FROM audit",
    ] {
        let row = sqlx::query(sql).fetch_one(db.store.pool()).await?;
        out.push(format!(
            "{} {}",
            row.try_get::<i64, _>(0)?,
            row.try_get::<i64, _>(1)?
        ));
    }
    let names = sqlx::query("SELECT name_en FROM areas ORDER BY code")
        .fetch_all(db.store.pool())
        .await?;
    for r in names {
        out.push(r.try_get(0)?);
    }
    Ok(out)
}

#[tokio::test]
async fn a_refused_bundle_leaves_the_store_as_it_was() -> anyhow::Result<()> {
    let db = TestDb::new(TestBackend::Sqlite).await?;
    let (_, report) = geography::import(&db.store, &geography_dir(), "test").await?;
    assert!(report.changed());
    let before = fingerprint(&db).await?;

    let dir = copy_bundle();
    // A valid change (a new English name) followed by a broken line: nothing of it may land.
    edit_line(&dir.path().join("tambon.csv"), 2, |l| {
        l.replacen("Phra Borom Maha Ratchawang", "Grand Palace", 1)
    });
    edit_line(&dir.path().join("tambon.csv"), 7000, |l| {
        let mut fields: Vec<&str> = l.split(',').collect();
        fields[8] = "-5";
        fields.join(",")
    });
    let err = geography::import(&db.store, dir.path(), "test")
        .await
        .expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains("tambon.csv line 7000: pop_total \"-5\""),
        "{message}"
    );
    assert_eq!(fingerprint(&db).await?, before);

    // Mended, the same bundle imports, and only the renamed tambon is written.
    edit_line(&dir.path().join("tambon.csv"), 7000, |_| {
        std::fs::read_to_string(geography_dir().join("tambon.csv"))
            .unwrap()
            .lines()
            .nth(6999)
            .unwrap()
            .to_string()
    });
    let (_, report) = geography::import(&db.store, dir.path(), "test").await?;
    assert_eq!(report.areas_written, 1);
    assert_eq!(report.population_written + report.boundaries_written, 0);
    assert_ne!(fingerprint(&db).await?, before);
    db.cleanup().await
}
