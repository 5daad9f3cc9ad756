//! Benchmark: bounded memory of `welfare-hub pull` on inputs a hostile or careless source can send,
//! and the speed of a large sound file.
//!
//! Run with `cargo bench --workspace --bench ingest` (release). Each case is one `welfare-hub pull
//! --connector ID` of the real binary against a fresh SQLite store holding the Thailand geography and
//! one fund per tambon, measured by `/usr/bin/time` (peak resident memory, wall time):
//!
//! - a 200 MB CSV (over the default 100 MB limit: refused before it is read);
//! - a CSV of a million columns (refused at its 1,001st);
//! - an XLSX whose one sheet inflates to 400 MiB (refused from the zip directory);
//! - a large sound CSV (one fund per tambon, ten years of months): rows per second.
//!
//! Target: every refused input under 300 MB peak RSS. Environment: `WELFARE_HUB_GEOGRAPHY` (default
//! `../shared/data/thailand`), `BENCH_MONTHS` (months of the sound file, default 120).

mod common;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;

use welfare_geo::Bundle;
use welfare_hub::store::Store;
use welfare_model::fund::Fund;
use welfare_model::{AreaCode, FundId, FundKind};

const MB: u64 = 1_000_000;

/// One tambon's fund: id and the tambon's registered population.
struct Registered {
    id: String,
    population: i64,
}

fn tambons(geography: &Path) -> anyhow::Result<Vec<(String, i64)>> {
    let mut reader = csv::Reader::from_path(geography.join("tambon.csv"))?;
    let headers = reader.headers()?.clone();
    let code = headers.iter().position(|h| h == "code").expect("code");
    let pop = headers
        .iter()
        .position(|h| h == "pop_total")
        .expect("pop_total");
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record?;
        let population: i64 = record[pop].parse().unwrap_or(0);
        if population >= 200 {
            out.push((record[code].to_string(), population));
        }
    }
    Ok(out)
}

const HEADER: &str = "รหัสกองทุน,เดือน,จำนวนสมาชิก,สมาชิกเข้าใหม่,สมาชิกลาออก/เสียชีวิต,เงินสมทบสมาชิก,เงินสมทบจากรัฐ,สวัสดิการเจ็บป่วย,ยอดเงินกองทุนคงเหลือ\n";

/// Months `months` of every fund, each consistent with the month before (members and balance add
/// up), until `limit` bytes when given. Returns the rows written.
fn write_sound_csv(
    path: &Path,
    funds: &[Registered],
    months: u32,
    limit: Option<u64>,
) -> anyhow::Result<u64> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    out.write_all(HEADER.as_bytes())?;
    let mut written = HEADER.len() as u64;
    let mut rows = 0;
    'all: for round in 0.. {
        for f in funds {
            let mut members = (f.population / 20).max(1);
            let mut balance: i64 = 10_000_000;
            for m in 0..months {
                let (year, month) = (2016 + (m / 12) as i32, m % 12 + 1);
                let joined = i64::from(m % 3 == 0);
                if m > 0 {
                    members += joined;
                }
                let contrib = members * 3_000;
                let sickness = (m as i64 % 7) * 2_500;
                if m > 0 {
                    balance += 2 * contrib - sickness;
                }
                let line = format!(
                    "{}{},{year}-{month:02},{members},{joined},0,{}.{:02},{}.{:02},{}.{:02},{}.{:02}\n",
                    f.id,
                    if round == 0 {
                        String::new()
                    } else {
                        format!("R{round}")
                    },
                    contrib / 100,
                    contrib % 100,
                    contrib / 100,
                    contrib % 100,
                    sickness / 100,
                    sickness % 100,
                    balance / 100,
                    balance % 100,
                );
                out.write_all(line.as_bytes())?;
                written += line.len() as u64;
                rows += 1;
                if limit.is_some_and(|l| written >= l) {
                    break 'all;
                }
            }
        }
        if limit.is_none() {
            break;
        }
    }
    out.flush()?;
    Ok(rows)
}

fn write_wide_csv(path: &Path, columns: usize) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    out.write_all("รหัสกองทุน,เดือน,จำนวนสมาชิก".as_bytes())?;
    for i in 3..columns {
        write!(out, ",c{i}")?;
    }
    out.write_all(b"\n")?;
    for _ in 0..3 {
        out.write_all(b"F1,2025-10,1")?;
        for _ in 3..columns {
            out.write_all(b",1")?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// A workbook whose one sheet is an inline string of `inflated` bytes: a few hundred KB on disk.
fn write_zip_bomb(path: &Path, inflated: u64) -> anyhow::Result<()> {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .large_file(true);
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    for (name, body) in parts {
        zip.start_file(name, options)?;
        zip.write_all(body.as_bytes())?;
    }
    zip.start_file("xl/worksheets/sheet1.xml", options)?;
    zip.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>"#)?;
    let chunk = vec![b'A'; 1 << 20];
    let mut left = inflated;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        zip.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    zip.write_all(b"</t></is></c></row></sheetData></worksheet>")?;
    zip.finish()?;
    Ok(())
}

/// The file a case reads.
fn file_of(id: &str) -> String {
    if id == "bomb" {
        "bomb.xlsx".into()
    } else {
        format!("{id}.csv")
    }
}

/// Peak RSS (MB), wall time (s), exit code and the last lines of one `pull`.
fn pull(
    bin: &Path,
    config: &Path,
    database: &str,
    id: &str,
) -> anyhow::Result<(f64, f64, i32, String)> {
    let report = tempfile::NamedTempFile::new()?;
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M %e")
        .arg("-o")
        .arg(report.path())
        .arg(bin)
        .arg("--config")
        .arg(config)
        .args(["pull", "--connector", id, "--database-url", database])
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .output()?;
    let measured = std::fs::read_to_string(report.path())?;
    let last = measured.lines().last().unwrap_or_default().to_string();
    let mut parts = last.split_whitespace();
    let kb: f64 = parts
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let secs: f64 = parts
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The per-connector summary line (`ID: …`) and the closing line.
    let tail: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{id}:")) || l.starts_with("Pulled"))
        .collect();
    let tail = tail.join("\n      ");
    Ok((kb / 1024.0, secs, output.status.code().unwrap_or(-1), tail))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let geography = common::geography_dir();
    let months: u32 = std::env::var("BENCH_MONTHS")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(120);
    let bin = Path::new(env!("CARGO_BIN_EXE_welfare-hub"));
    let dir = tempfile::tempdir()?;
    let database = format!("sqlite://{}", dir.path().join("bench.db").display());

    let store = Store::open(&database).await?;
    store
        .import_geography(&Bundle::load(&geography)?, "bench")
        .await?;
    let registered: Vec<Registered> = tambons(Path::new(&geography))?
        .into_iter()
        .map(|(code, population)| Registered {
            id: format!("F{code}"),
            population,
        })
        .collect();
    let funds: Vec<Fund> = registered
        .iter()
        .map(|r| {
            Ok(Fund {
                id: FundId::parse(&r.id)?,
                name_th: format!("กองทุนสวัสดิการชุมชน {}", r.id),
                name_en: None,
                kind: FundKind::CommunityWelfare,
                area: AreaCode::parse(&r.id[1..])?,
                municipality: None,
                registered_on: None,
                closed_on: None,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    store.upsert_funds(&funds, "bench").await?;
    store.close().await;

    let files = dir.path();
    let sound_rows = write_sound_csv(&files.join("sound.csv"), &registered, months, None)?;
    write_sound_csv(&files.join("big.csv"), &registered, months, Some(200 * MB))?;
    write_wide_csv(&files.join("wide.csv"), 1_000_000)?;
    write_zip_bomb(&files.join("bomb.xlsx"), 400 << 20)?;
    let size = |name: &str| {
        std::fs::metadata(files.join(name))
            .map(|m| m.len())
            .unwrap_or(0)
    };

    let mut config = String::new();
    for id in ["sound", "big", "wide", "bomb"] {
        config.push_str(&format!(
            "[[connectors]]\nid = \"{id}\"\nkind = \"file\"\nlocation = \"{}\"\ntimeout_secs = 3600\n\n",
            files.join(file_of(id)).display()
        ));
    }
    let config_path = files.join("welfare-hub.toml");
    std::fs::write(&config_path, config)?;

    println!("welfare-hub pull, release, 2 cores; peak RSS and wall time by /usr/bin/time");
    println!(
        "{:<44} {:>10} {:>12} {:>9} {:>6}",
        "input", "file MB", "peak RSS MB", "wall s", "exit"
    );
    for (id, label) in [
        ("big", "200 MB CSV (default limit 100 MB)"),
        ("wide", "CSV of 1,000,000 columns"),
        ("bomb", "XLSX inflating to 400 MiB"),
        ("sound", "sound CSV (one fund per tambon)"),
    ] {
        let file = file_of(id);
        let (rss, secs, code, tail) = pull(bin, &config_path, &database, id)?;
        println!(
            "{label:<44} {:>10.1} {rss:>12.0} {secs:>9.2} {code:>6}",
            size(&file) as f64 / MB as f64
        );
        println!("      {tail}");
        if id == "sound" {
            println!(
                "      {sound_rows} rows: {:.0} rows/s (pull, validation and commit)",
                sound_rows as f64 / secs
            );
        }
    }
    println!(
        "(this benchmark process, which wrote the files: peak RSS {:.0} MB)",
        common::peak_rss_mb("self")
    );
    Ok(())
}
