//! Benchmark: the hub's own indicator SQL in DataFusion (`welfare-queries`) against the same SQL
//! text in DuckDB over the same data exported to Parquet, on the national demo data and on ten times
//! as much (issue 4, "Done when"; `docs/benchmarks.md` explains it and keeps the results).
//!
//! Run with `cargo bench --workspace --bench analytics` (release build). It:
//! 1. generates twenty years of the demo model (seed 2568, 240 months ending 2026-10) on the real
//!    tambons and builds the snapshot tables with `TablesBuilder`, as the hub does from its store;
//! 2. builds the ×10 tables from the national Arrow tables (each fund cloned ten times as
//!    `{fund_id}~{k}`);
//! 3. exports every table of each scale to Parquet under `<target dir>/analytics-bench/{national,x10}/`;
//! 4. times three statements built by `welfare_queries::sql::area_indicators` (one warm-up, then N
//!    runs of plan + execute + collect), and the API-level call behind statement 1;
//! 5. runs `benches/duckdb_bench.py` (DuckDB from PyPI, installed into a virtual environment under
//!    `<target dir>/analytics-bench/venv` when the system Python lacks it) on the same statements and
//!    Parquet files, once over Parquet views and once over DuckDB in-memory tables;
//! 6. prints the times and the DataFusion/DuckDB ratio, checks both engines return the same rows, and
//!    prints the peak resident memory.
//!
//! Environment: `WELFARE_HUB_GEOGRAPHY` (default `../shared/data/thailand` beside the repository),
//! `BENCH_MONTHS` (240), `BENCH_REPS` (20), `BENCH_REPS_X10` (5), `BENCH_X10=0` to skip the ×10 scale,
//! `BENCH_DUCKDB=0` to skip DuckDB, `BENCH_PYTHON` (a Python with `duckdb` to use as is),
//! `BENCH_EXPLAIN=1` to print DataFusion's `EXPLAIN ANALYZE` of statement 1 at national scale.

mod common;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value as Json;
use welfare_geo::Bundle;
use welfare_model::{Level, Period};
use welfare_queries::datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, RecordBatch, StringBuilder,
};
use welfare_queries::datafusion::arrow::compute::{cast, concat_batches};
use welfare_queries::datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type};
use welfare_queries::datafusion::parquet::arrow::ArrowWriter;
use welfare_queries::datafusion::parquet::basic::Compression;
use welfare_queries::datafusion::parquet::file::properties::WriterProperties;
use welfare_queries::{
    AreaRow, FundRow, IndicatorQuery, Policy, Range, RiskThresholds, Rollup, SandboxLimits,
    Snapshot, SummaryRow, Tables, TablesBuilder, indicators, sql,
};
use welfare_simulator::{DemoConfig, DemoData};

/// Parquet row groups of DuckDB's own default size, so both of its threads get work.
const ROW_GROUP_ROWS: usize = 122_880;
/// The policy of statements 1 and 2, and of statement 3.
const CODI: &str = "codi-1-1";
const ACT: &str = "act-1-1-1";
/// The target for province coverage of one month at national scale.
const TARGET_MS: f64 = 50.0;
/// DataFusion within this factor of DuckDB.
const TARGET_RATIO: f64 = 1.5;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median and minimum of some run times, in milliseconds.
#[derive(Debug, Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
}

impl Stats {
    fn of(mut times: Vec<f64>) -> Stats {
        times.sort_by(f64::total_cmp);
        let n = times.len();
        let median = if n % 2 == 1 {
            times[n / 2]
        } else {
            (times[n / 2 - 1] + times[n / 2]) / 2.0
        };
        Stats {
            median,
            min: times[0],
        }
    }
}

/// One measured statement.
#[derive(Debug, Clone)]
struct Statement {
    name: &'static str,
    label: &'static str,
    sql: String,
}

/// What one engine answered for one statement.
#[derive(Debug, Clone, Default)]
struct Answer {
    rows: usize,
    /// Sums of the `population` and `members` columns, as text (DuckDB sums are unbounded).
    population: Option<String>,
    members: Option<String>,
    stats: Option<Stats>,
    error: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Data

/// The national snapshot tables: the demo model over `months` months, built with `TablesBuilder`
/// from the generator (no store).
fn national_tables(bundle: &Bundle, months: u32) -> anyhow::Result<(Tables, DemoData)> {
    let config = DemoConfig {
        months,
        ..DemoConfig::ten_years(Period::new(2026, 10)?)
    };
    let data = DemoData::plan(&welfare_hub::demo::tambons(bundle), config);

    // Summaries generated on every core: each worker takes a contiguous share of the funds.
    let workers = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
        .max(1);
    let share = data.funds.len().div_ceil(workers);
    let parts: Vec<Vec<SummaryRow>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let data = &data;
                scope.spawn(move || {
                    let funds =
                        (w * share).min(data.funds.len())..((w + 1) * share).min(data.funds.len());
                    funds
                        .flat_map(|i| data.summaries(i))
                        .map(|summary| SummaryRow {
                            revision: 1,
                            first_reported_at: summary.reported_at,
                            first_recorded_at: summary.reported_at,
                            summary,
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a generator thread"))
            .collect()
    });

    // Everything in one builder, as the hub does: it derives fund keys, each report's next month,
    // and counts a fund from its registration month or its first report when that came earlier.
    let mut b = TablesBuilder::new(config.deadline_day);
    b.summaries = parts.into_iter().flatten().collect();
    for a in &bundle.areas {
        b.areas.push(AreaRow {
            code: a.code.as_str().to_string(),
            parent_code: a.parent.as_ref().map(|p| p.as_str().to_string()),
            name_th: a.name_th.clone(),
            name_en: a.name_en.clone(),
        });
    }
    for p in bundle.population_by_year.iter().filter(|p| p.current) {
        if let Some(total) = p.total {
            b.population
                .push((p.code.as_str().to_string(), p.year, total));
        }
    }
    for plan in &data.funds {
        let f = &plan.fund;
        b.funds.push(FundRow {
            fund_id: f.id.as_str().to_string(),
            name_th: f.name_th.clone(),
            name_en: f.name_en.clone(),
            kind: f.kind.as_str().to_string(),
            area_code: f.area.as_str().to_string(),
            municipality: f.municipality.clone(),
            registered: f.registered_on.map(Period::of_date),
            closed: None,
        });
    }
    b.policies = Policy::defaults();
    Ok((b.build()?, data))
}

/// `fund_id` values with `~{k}` appended.
fn suffixed(column: &ArrayRef, k: usize) -> ArrayRef {
    let ids = column.as_string::<i32>();
    let suffix = format!("~{k}");
    let mut out =
        StringBuilder::with_capacity(ids.len(), ids.value_data().len() + ids.len() * suffix.len());
    let mut id = String::new();
    for v in ids {
        match v {
            Some(v) => {
                id.clear();
                id.push_str(v);
                id.push_str(&suffix);
                out.append_value(&id);
            }
            None => out.append_null(),
        }
    }
    Arc::new(out.finish())
}

/// Copy `k` of a `funds` or `summaries` batch: ids suffixed, integer keys moved past the copies
/// before it (`fund_key + k * funds`).
fn with_fund_ids(batch: &RecordBatch, k: usize, funds: usize) -> anyhow::Result<RecordBatch> {
    let index = batch.schema().index_of("fund_id")?;
    let key = batch.schema().index_of("fund_key")?;
    let mut columns = batch.columns().to_vec();
    columns[index] = suffixed(&columns[index], k);
    let offset = i32::try_from(k * funds)?;
    let keys: Int32Array = columns[key]
        .as_primitive::<Int32Type>()
        .unary(|v| v + offset);
    columns[key] = Arc::new(keys);
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// Ten copies of every fund and its summaries (`{fund_id}~{k}`), on the Arrow arrays: every column
/// but `fund_id` and `fund_key` shares the national buffers. Areas, population and policies are the same.
fn times_ten(national: &Tables) -> anyhow::Result<Tables> {
    let mut summaries = Vec::with_capacity(national.summaries.len() * 10);
    let mut funds = Vec::with_capacity(10);
    for k in 0..10 {
        let n = national.funds.num_rows();
        funds.push(with_fund_ids(&national.funds, k, n)?);
        for b in &national.summaries {
            summaries.push(with_fund_ids(b, k, n)?);
        }
    }
    let mut tables = national.clone();
    tables.funds = concat_batches(&national.funds.schema(), &funds)?;
    tables.summaries = summaries;
    tables.summary_rows = national.summary_rows * 10;
    Ok(tables)
}

/// Writes each table to `{dir}/{table}.parquet` (Snappy); returns the bytes written.
fn export_parquet(tables: &Tables, dir: &Path) -> anyhow::Result<u64> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let all: [(&str, &[RecordBatch]); 5] = [
        ("areas", std::slice::from_ref(&tables.areas)),
        ("population", std::slice::from_ref(&tables.population)),
        ("funds", std::slice::from_ref(&tables.funds)),
        ("summaries", &tables.summaries),
        ("policies", std::slice::from_ref(&tables.policies)),
    ];
    let mut bytes = 0;
    for (name, batches) in all {
        let path = dir.join(format!("{name}.parquet"));
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut writer = ArrowWriter::try_new(file, batches[0].schema(), Some(props.clone()))?;
        for b in batches {
            writer.write(b)?;
        }
        writer.close()?;
        bytes += std::fs::metadata(&path)?.len();
    }
    Ok(bytes)
}

// ---------------------------------------------------------------------------------------------
// DataFusion

/// The sum of an integer column over all batches, when the answer has it.
fn column_sum(batches: &[RecordBatch], name: &str) -> anyhow::Result<Option<String>> {
    let Some(first) = batches.first() else {
        return Ok(None);
    };
    if first.schema().index_of(name).is_err() {
        return Ok(None);
    }
    let mut total: i128 = 0;
    for b in batches {
        let column = cast(b.column_by_name(name).expect("checked"), &DataType::Int64)?;
        total += column
            .as_primitive::<Int64Type>()
            .iter()
            .flatten()
            .map(i128::from)
            .sum::<i128>();
    }
    Ok(Some(total.to_string()))
}

async fn time_datafusion(snapshot: &Snapshot, text: &str, reps: usize) -> anyhow::Result<Answer> {
    let warm = snapshot.sql(text).await?;
    let mut answer = Answer {
        rows: warm.iter().map(RecordBatch::num_rows).sum(),
        population: column_sum(&warm, "population")?,
        members: column_sum(&warm, "members")?,
        ..Answer::default()
    };
    drop(warm);
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        let out = snapshot.sql(text).await?;
        times.push(ms(t.elapsed()));
        std::hint::black_box(out);
    }
    answer.stats = Some(Stats::of(times));
    Ok(answer)
}

/// The API-level call behind statement 1: its SQL, the per-fund risk query and the Rust finish.
async fn time_api_call(
    snapshot: &Snapshot,
    last: Period,
    reps: usize,
) -> anyhow::Result<(usize, Stats)> {
    let query = IndicatorQuery {
        rollup: Rollup::Level(Level::Province),
        within: None,
        network: None,
        range: Range::month(last),
        policy: CODI.into(),
    };
    let thresholds = RiskThresholds::default();
    let rows = indicators::area_indicators(snapshot, &query, &thresholds)
        .await?
        .len();
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        let out = indicators::area_indicators(snapshot, &query, &thresholds).await?;
        times.push(ms(t.elapsed()));
        std::hint::black_box(out);
    }
    Ok((rows, Stats::of(times)))
}

// ---------------------------------------------------------------------------------------------
// DuckDB

fn imports_duckdb(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import duckdb"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run_quiet(command: &mut Command) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("{command:?} could not start: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A Python that can `import duckdb`: `BENCH_PYTHON`, the system `python3`, or a virtual
/// environment under `out/venv` into which `duckdb` (and `pyarrow`, to fetch answers as Arrow) is
/// installed on first use.
fn find_python(out: &Path) -> Result<PathBuf, String> {
    if let Ok(python) = std::env::var("BENCH_PYTHON") {
        let python = PathBuf::from(python);
        return if imports_duckdb(&python) {
            Ok(python)
        } else {
            Err(format!(
                "BENCH_PYTHON={} cannot import duckdb",
                python.display()
            ))
        };
    }
    let system = PathBuf::from("python3");
    if imports_duckdb(&system) {
        return Ok(system);
    }
    let venv = out.join("venv");
    let python = venv.join("bin").join("python");
    if imports_duckdb(&python) {
        return Ok(python);
    }
    println!(
        "  installing duckdb and pyarrow into {} (the system python3 lacks duckdb)…",
        venv.display()
    );
    if !python.exists() {
        run_quiet(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run_quiet(Command::new(&python).args(["-m", "pip", "install", "--quiet", "duckdb"]))?;
    if let Err(e) =
        run_quiet(Command::new(&python).args(["-m", "pip", "install", "--quiet", "pyarrow"]))
    {
        println!("  pyarrow could not be installed, DuckDB answers are fetched as tuples: {e}");
    }
    if imports_duckdb(&python) {
        Ok(python)
    } else {
        Err(format!("{} still cannot import duckdb", python.display()))
    }
}

/// The DuckDB answers of one run of `duckdb_bench.py` (`mode` = `views` or `tables`).
#[derive(Debug, Clone)]
struct DuckRun {
    mode: &'static str,
    version: String,
    threads: String,
    fetch: String,
    load_ms: f64,
    peak_rss_mb: f64,
    answers: Vec<Answer>,
}

fn run_duckdb(
    python: &Path,
    parquet: &Path,
    statements: &Path,
    reps: usize,
    threads: usize,
    mode: &'static str,
) -> anyhow::Result<DuckRun> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/duckdb_bench.py");
    let out = Command::new(python)
        .arg(script)
        .arg(parquet)
        .arg(statements)
        .arg(reps.to_string())
        .args(["--threads", &threads.to_string(), "--mode", mode])
        .stderr(Stdio::inherit())
        .output()
        .context("running duckdb_bench.py")?;
    if !out.status.success() {
        bail!("duckdb_bench.py failed ({})", out.status);
    }
    let doc: Json = serde_json::from_slice(&out.stdout).context("duckdb_bench.py output")?;
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    };
    let answers = doc["statements"]
        .as_array()
        .context("no statements in the DuckDB output")?
        .iter()
        .map(|s| Answer {
            rows: s["rows"].as_u64().unwrap_or(0) as usize,
            population: s["sums"].get("population").map(text),
            members: s["sums"].get("members").map(text),
            stats: s["median_ms"].as_f64().map(|median| Stats {
                median,
                min: s["min_ms"].as_f64().unwrap_or(f64::NAN),
            }),
            error: s.get("error").map(text),
        })
        .collect();
    Ok(DuckRun {
        mode,
        version: text(&doc["duckdb_version"]),
        threads: text(&doc["threads"]),
        fetch: text(&doc["fetch"]),
        load_ms: doc["load_ms"].as_f64().unwrap_or(f64::NAN),
        peak_rss_mb: doc["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
        answers,
    })
}

// ---------------------------------------------------------------------------------------------
// One scale

/// The measured figures of one scale.
#[derive(Debug)]
struct ScaleResult {
    scale: &'static str,
    datafusion: Vec<Answer>,
    api_call: (usize, Stats),
    risk_sql: Stats,
    duck_views: Option<DuckRun>,
    duck_tables: Option<DuckRun>,
    /// This process's peak resident memory when the scale's DataFusion runs were done.
    peak_rss_mb: f64,
}

fn statements(tables: &Tables) -> anyhow::Result<(Period, Vec<Statement>)> {
    let last = tables.latest_period.context("no summaries")?;
    let year = tables
        .population_years
        .map_or(last.year(), |(lo, hi)| last.year().clamp(lo, hi));
    let twelve = Range {
        from: last.add_months(-11),
        to: last,
    };
    let province = Rollup::Level(Level::Province);
    Ok((
        last,
        vec![
            Statement {
                name: "coverage_province_month",
                label: "1 province coverage, 1 month",
                sql: sql::area_indicators(province, None, Range::month(last), year, CODI, None),
            },
            Statement {
                name: "rollup_all_levels_12m",
                label: "2 five-level rollup, 12 months",
                sql: sql::area_indicators(Rollup::All, None, twelve, year, CODI, None),
            },
            Statement {
                name: "shortfall_province_12m_act",
                label: "3 province shortfall, 12 m, act-1-1-1",
                sql: sql::area_indicators(province, None, twelve, year, ACT, None),
            },
        ],
    ))
}

/// Prints DataFusion's `EXPLAIN ANALYZE` of a statement: where its time goes, operator by operator.
async fn explain_analyze(snapshot: &Snapshot, statement: &Statement) -> anyhow::Result<()> {
    let batches = snapshot
        .sql(&format!("EXPLAIN ANALYZE {}", statement.sql))
        .await?;
    println!("\n  EXPLAIN ANALYZE {} (DataFusion):", statement.label);
    for b in &batches {
        let plans = cast(b.column(b.num_columns() - 1), &DataType::Utf8)?;
        for plan in plans.as_string::<i32>().iter().flatten() {
            println!("{plan}");
        }
    }
    Ok(())
}

async fn run_scale(
    scale: &'static str,
    tables: Tables,
    out: &Path,
    reps: usize,
    python: Option<&Path>,
    explain: bool,
) -> anyhow::Result<ScaleResult> {
    let dir = out.join(scale);
    let (last, statements) = statements(&tables)?;
    println!(
        "\n[{scale}] {} funds, {} summary rows in {} batches, months to {last}",
        tables.funds.num_rows(),
        tables.summary_rows,
        tables.summaries.len()
    );
    let t = Instant::now();
    let bytes = export_parquet(&tables, &dir)?;
    println!(
        "  Parquet export: {:.1} MB in {:.1} s → {}",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        dir.display()
    );

    let snapshot = Snapshot::new(1, tables, SandboxLimits::default())?;
    let partitions = snapshot
        .context()
        .state()
        .config()
        .options()
        .execution
        .target_partitions;
    let mut datafusion = Vec::new();
    for s in &statements {
        let a = time_datafusion(&snapshot, &s.sql, reps).await?;
        let st = a.stats.expect("timed");
        println!(
            "  DataFusion {:<40} {:>6} rows  median {:>9.1} ms  min {:>9.1} ms",
            s.label, a.rows, st.median, st.min
        );
        datafusion.push(a);
    }
    let api_call = time_api_call(&snapshot, last, reps).await?;
    println!(
        "  DataFusion {:<40} {:>6} rows  median {:>9.1} ms  min {:>9.1} ms",
        "1 API call (indicators::area_indicators)", api_call.0, api_call.1.median, api_call.1.min
    );
    let risk = time_datafusion(&snapshot, &sql::fund_risk(None, None, last, None), reps).await?;
    let risk_sql = risk.stats.expect("timed");
    println!(
        "  DataFusion {:<40} {:>6} rows  median {:>9.1} ms  min {:>9.1} ms",
        "  of which: per-fund risk SQL", risk.rows, risk_sql.median, risk_sql.min
    );
    if explain {
        explain_analyze(&snapshot, &statements[0]).await?;
    }
    drop(snapshot);
    let peak_rss_mb = common::peak_rss_mb("self");

    let (mut duck_views, mut duck_tables) = (None, None);
    if let Some(python) = python {
        let file = dir.join("statements.json");
        let list: Vec<Json> = statements
            .iter()
            .map(|s| serde_json::json!({"name": s.name, "sql": s.sql}))
            .collect();
        std::fs::write(&file, serde_json::to_vec_pretty(&list)?)?;
        for (mode, slot) in [("views", &mut duck_views), ("tables", &mut duck_tables)] {
            match run_duckdb(python, &dir, &file, reps, partitions, mode) {
                Ok(run) => {
                    for (s, a) in statements.iter().zip(&run.answers) {
                        match (&a.stats, &a.error) {
                            (Some(st), _) => println!(
                                "  DuckDB/{mode:<6} {:<36} {:>6} rows  median {:>9.1} ms  min {:>9.1} ms",
                                s.label, a.rows, st.median, st.min
                            ),
                            (None, e) => println!(
                                "  DuckDB/{mode:<6} {:<36} FAILED: {}",
                                s.label,
                                e.as_deref().unwrap_or("no answer")
                            ),
                        }
                    }
                    *slot = Some(run);
                }
                Err(e) => println!("  DuckDB ({mode}) did not run: {e:#}"),
            }
        }
    }
    Ok(ScaleResult {
        scale,
        datafusion,
        api_call,
        risk_sql,
        duck_views,
        duck_tables,
        peak_rss_mb,
    })
}

/// Compares row counts and the `population`/`members` sums of both engines; returns the problems.
fn check(result: &ScaleResult, statements: &[Statement]) -> Vec<String> {
    let mut problems = Vec::new();
    for run in [&result.duck_views, &result.duck_tables]
        .into_iter()
        .flatten()
    {
        for ((s, df), duck) in statements.iter().zip(&result.datafusion).zip(&run.answers) {
            if duck.error.is_some() {
                continue;
            }
            if df.rows != duck.rows {
                problems.push(format!(
                    "{} {}: DataFusion {} rows, DuckDB ({}) {} rows",
                    result.scale, s.name, df.rows, run.mode, duck.rows
                ));
            }
            for (column, a, b) in [
                ("population", &df.population, &duck.population),
                ("members", &df.members, &duck.members),
            ] {
                if a != b {
                    problems.push(format!(
                        "{} {}: SUM({column}) DataFusion {a:?}, DuckDB ({}) {b:?}",
                        result.scale, s.name, run.mode
                    ));
                }
            }
        }
    }
    problems
}

fn cell(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.1}"))
}

fn ratio(df: Option<f64>, duck: Option<f64>) -> String {
    match (df, duck) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "—".into(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let geography = common::geography_dir();
    let months: u32 = env_or("BENCH_MONTHS", 240);
    let reps: usize = env_or("BENCH_REPS", 20usize).max(1);
    let reps_x10: usize = env_or("BENCH_REPS_X10", 5usize).max(1);
    let with_x10 = env_or("BENCH_X10", 1u8) != 0;
    let with_duckdb = env_or("BENCH_DUCKDB", 1u8) != 0;
    let explain = env_or("BENCH_EXPLAIN", 0u8) != 0;
    // Inside the target directory that built this benchmark (`CARGO_TARGET_DIR` or `target/`).
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("analytics-bench");
    std::fs::create_dir_all(&out)?;

    println!("analytics benchmark: the hub's indicator SQL, DataFusion vs DuckDB");
    let python = if with_duckdb {
        match find_python(&out) {
            Ok(p) => Some(p),
            Err(e) => {
                println!(
                    "  !! DuckDB is unavailable, only DataFusion figures follow: {e}\n     \
                     (set BENCH_PYTHON to a Python with `duckdb`, or BENCH_DUCKDB=0)"
                );
                None
            }
        }
    } else {
        None
    };

    let t = Instant::now();
    let bundle = Bundle::load(&geography)
        .with_context(|| format!("loading the geography bundle at {geography}"))?;
    let (national, data) = national_tables(&bundle, months)?;
    drop(bundle);
    println!(
        "  demo data: {} funds, {} summary rows over {} months, generated and built in {:.1} s",
        data.funds.len(),
        national.summary_rows,
        months,
        t.elapsed().as_secs_f64()
    );
    drop(data);
    let (_, statement_list) = statements(&national)?;

    let mut results = Vec::new();
    let x10 = if with_x10 {
        Some(national.clone())
    } else {
        None
    };
    results.push(run_scale("national", national, &out, reps, python.as_deref(), explain).await?);
    if let Some(national) = x10 {
        let t = Instant::now();
        let tables = times_ten(&national)?;
        drop(national);
        println!(
            "\n  ×10 tables built from the national Arrow tables in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        results.push(run_scale("x10", tables, &out, reps_x10, python.as_deref(), false).await?);
    }

    // The table.
    let mut table = String::new();
    let _ = writeln!(
        table,
        "\n| query | scale | rows | DataFusion median ms (min) | DuckDB Parquet views median ms (min) | DF/DuckDB | DuckDB in-memory tables median ms (min) | DF/DuckDB in-memory |"
    );
    let _ = writeln!(table, "|---|---|---:|---:|---:|---:|---:|---:|");
    let mut problems = Vec::new();
    let mut versions = Vec::new();
    for r in &results {
        problems.extend(check(r, &statement_list));
        for (i, (s, df)) in statement_list.iter().zip(&r.datafusion).enumerate() {
            let duck = |run: &Option<DuckRun>| {
                run.as_ref()
                    .and_then(|run| run.answers.get(i))
                    .and_then(|a| a.stats)
            };
            let (views, mem) = (duck(&r.duck_views), duck(&r.duck_tables));
            let df_stats = df.stats.expect("timed");
            let _ = writeln!(
                table,
                "| {} | {} | {} | {:.1} ({:.1}) | {} ({}) | {} | {} ({}) | {} |",
                s.label,
                r.scale,
                df.rows,
                df_stats.median,
                df_stats.min,
                cell(views.map(|s| s.median)),
                cell(views.map(|s| s.min)),
                ratio(Some(df_stats.median), views.map(|s| s.median)),
                cell(mem.map(|s| s.median)),
                cell(mem.map(|s| s.min)),
                ratio(Some(df_stats.median), mem.map(|s| s.median)),
            );
        }
        let _ = writeln!(
            table,
            "| 1 API call (SQL + risk SQL + Rust) | {} | {} | {:.1} ({:.1}) | — | — | — | — |",
            r.scale, r.api_call.0, r.api_call.1.median, r.api_call.1.min
        );
        let _ = writeln!(
            table,
            "| … of which per-fund risk SQL | {} | — | {:.1} ({:.1}) | — | — | — | — |",
            r.scale, r.risk_sql.median, r.risk_sql.min
        );
        for run in [&r.duck_views, &r.duck_tables].into_iter().flatten() {
            versions.push((r.scale, run.clone()));
        }
    }
    print!("{table}");

    if let Some(national) = results.first() {
        let stmt1 = national.datafusion[0].stats.expect("timed").median;
        let api = national.api_call.1.median;
        println!(
            "\ntarget: province coverage, one month, national, under {TARGET_MS} ms: SQL {stmt1:.1} ms {}, API call {api:.1} ms {}",
            if stmt1 < TARGET_MS {
                "(met)"
            } else {
                "(MISSED)"
            },
            if api < TARGET_MS { "(met)" } else { "(MISSED)" },
        );
    }
    for r in &results {
        if let Some(views) = &r.duck_views {
            let worst = r
                .datafusion
                .iter()
                .zip(&views.answers)
                .filter_map(|(df, d)| Some(df.stats?.median / d.stats?.median))
                .fold(f64::NAN, f64::max);
            println!(
                "target: DataFusion within {TARGET_RATIO}x of DuckDB (Parquet views), {}: worst ratio {worst:.2} {}",
                r.scale,
                if worst <= TARGET_RATIO {
                    "(met)"
                } else {
                    "(MISSED)"
                }
            );
        }
    }
    for (scale, run) in &versions {
        println!(
            "DuckDB {} ({scale}, {}): {} threads, answers fetched as {}, views/tables set up in {:.0} ms, peak RSS {:.0} MB",
            run.version, run.mode, run.threads, run.fetch, run.load_ms, run.peak_rss_mb
        );
    }
    let at_scale: Vec<String> = results
        .iter()
        .map(|r| format!("{:.0} MB after {}", r.peak_rss_mb, r.scale))
        .collect();
    println!(
        "DataFusion: {} target partitions; peak RSS of this process (data generation, tables, \
         snapshot, queries) {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        at_scale.join(", ")
    );
    if problems.is_empty() {
        if !versions.is_empty() {
            println!(
                "check: both engines return the same row counts and SUM(population), SUM(members)"
            );
        }
    } else {
        println!("\n!!!!!!!! MISMATCH between DataFusion and DuckDB !!!!!!!!");
        for p in &problems {
            println!("!! {p}");
        }
    }
    Ok(())
}
