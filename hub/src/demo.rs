//! `welfare-hub demo`: a fresh store with the real geography, generated funds, and their reports
//! loaded the way real ones are: through connectors, from simulated fund systems.
//!
//! The simulated systems, started inside the demo process:
//! - Songkhla's funds (province 90) send monthly spreadsheets: one XLSX per district (many funds,
//!   long layout) and, for one district, a Windows-874 CSV, read by `file` connectors;
//! - Chiang Mai's funds (province 50) keep their books in a small bookkeeping application's database
//!   (SQLite here, the same schema as its MariaDB), read by one `sql` connector;
//! - every other fund has its own REST API (one simulated server for all), read by one `http_json`
//!   connector per fund, as the nightly schedule will.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use welfare_connectors::SourceConfig;
use welfare_connectors::file::FileConfig;
use welfare_geo::Bundle;
use welfare_model::{Level, Period, Summary};
use welfare_simulator::api::{ApiHandle, FundApi};
use welfare_simulator::bookkeeping::{self, Bookkeeping};
use welfare_simulator::reports::{self, CsvEncoding, CsvStyle, XlsxStyle};
use welfare_simulator::{DemoConfig, DemoData, TambonInfo};

use crate::ingest::ConnectorEntry;
use crate::store::{Store, StoreError};

/// Province whose funds report in spreadsheets.
const FILE_PROVINCE: &str = "90";
/// Province whose funds keep a bookkeeping database.
const SQL_PROVINCE: &str = "50";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the simulated sources in {}: {message}", dir.display())]
    Sources { dir: PathBuf, message: String },
}

/// The simulated fund systems of a demo and the connectors that read them. Dropping it stops the
/// simulated API.
#[derive(Debug)]
pub struct DemoSources {
    pub data: Arc<DemoData>,
    pub entries: Vec<ConnectorEntry>,
    /// Keeps the simulated fund API serving for the nightly runs.
    pub api: ApiHandle,
    pub dir: PathBuf,
}

/// What the demo loaded.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub funds: usize,
    pub connectors: usize,
    pub first_period: Period,
    pub last_period: Period,
    /// The country's figures at `last_period`, as `/api/v1/indicators?level=country` gives them.
    pub totals: DemoTotals,
    pub elapsed: Duration,
}

/// The national figures the demo prints: the indicators' own, by the one rule for members at a
/// month (funds that reported that month; see docs/indicators.md).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoTotals {
    pub funds_reporting: i64,
    pub members: i64,
    pub population: i64,
    pub coverage: Option<rust_decimal::Decimal>,
}

/// A demo connector serving `province` (its funds all lie there).
fn entry(id: String, province: String, source: SourceConfig) -> ConnectorEntry {
    ConnectorEntry {
        id,
        name: None,
        enabled: true,
        schedule: None,
        timeout_secs: 600,
        max_attempts: 4,
        provinces: vec![province],
        source,
    }
}

/// The tambons of a bundle as the demo generator needs them.
pub fn tambons(bundle: &Bundle) -> Vec<TambonInfo> {
    bundle
        .areas
        .iter()
        .filter(|a| a.level == Level::Subdistrict)
        .map(|a| TambonInfo {
            code: a.code.clone(),
            name_th: a.name_th.clone(),
            name_en: a.name_en.clone(),
            population: a.population.total,
        })
        .collect()
}

/// Plans the demo funds on `bundle`'s tambons, registers them, and sets up their simulated systems in
/// `dir` (created if needed) and on a loopback port.
pub async fn prepare(
    store: &Store,
    bundle: &Bundle,
    config: DemoConfig,
    dir: &Path,
) -> Result<DemoSources, DemoError> {
    let sources_error = |message: String| DemoError::Sources {
        dir: dir.to_path_buf(),
        message,
    };
    let data = Arc::new(DemoData::plan(&tambons(bundle), config));
    store.upsert_funds(&data.fund_list(), "demo").await?;
    std::fs::create_dir_all(dir).map_err(|e| sources_error(e.to_string()))?;

    let province_of = |i: usize| data.funds[i].fund.area.as_str()[..2].to_string();
    let mut entries = Vec::new();

    // Spreadsheets, one per district of the file province.
    let mut by_district: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for i in (0..data.funds.len()).filter(|&i| province_of(i) == FILE_PROVINCE) {
        by_district
            .entry(data.funds[i].fund.area.as_str()[..4].to_string())
            .or_default()
            .push(i);
    }
    for (n, (district, funds)) in by_district.iter().enumerate() {
        let rows: Vec<Summary> = funds.iter().flat_map(|&i| data.summaries(i)).collect();
        // One district sends CSV as Thai Excel saves it; the others XLSX.
        let path = if n == 0 {
            let path = dir.join(format!("reports-{district}.csv"));
            let style = CsvStyle {
                encoding: CsvEncoding::Windows874,
                ..CsvStyle::default()
            };
            reports::write_csv(&path, &rows, &style).map_err(|e| sources_error(e.to_string()))?;
            path
        } else {
            let path = dir.join(format!("reports-{district}.xlsx"));
            reports::write_xlsx(&path, &rows, &XlsxStyle::long())
                .map_err(|e| sources_error(e.to_string()))?;
            path
        };
        let location = path.canonicalize().unwrap_or(path).display().to_string();
        entries.push(entry(
            format!("reports-{district}"),
            FILE_PROVINCE.to_string(),
            SourceConfig::File(FileConfig::new(location)),
        ));
    }

    // The bookkeeping application's database.
    let db_path = dir.join("bookkeeping.db");
    let _ = std::fs::remove_file(&db_path);
    let db_url = format!("sqlite://{}", db_path.display());
    let mut books = Bookkeeping::connect(&format!("{db_url}?mode=rwc"), None)
        .await
        .map_err(|e| sources_error(format!("bookkeeping database: {e}")))?;
    books
        .create_schema()
        .await
        .map_err(|e| sources_error(format!("bookkeeping schema: {e}")))?;
    for i in (0..data.funds.len()).filter(|&i| province_of(i) == SQL_PROVINCE) {
        books
            .upsert(&data.summaries(i))
            .await
            .map_err(|e| sources_error(format!("bookkeeping rows: {e}")))?;
    }
    books
        .close()
        .await
        .map_err(|e| sources_error(format!("bookkeeping database: {e}")))?;
    entries.push(entry(
        "bookkeeping-50".into(),
        SQL_PROVINCE.to_string(),
        SourceConfig::Sql(bookkeeping::connector_config(&db_url)),
    ));

    // Every other fund's own API.
    let (addr, api) = welfare_simulator::api::start(FundApi::from_demo(data.clone()))
        .await
        .map_err(|e| sources_error(format!("fund API simulator: {e}")))?;
    for (i, plan) in data.funds.iter().enumerate() {
        let province = province_of(i);
        if province == FILE_PROVINCE || province == SQL_PROVINCE {
            continue;
        }
        let id = plan.fund.id.as_str();
        entries.push(entry(
            format!("api-{id}"),
            province,
            SourceConfig::HttpJson(welfare_simulator::api::fund_config(addr, id)),
        ));
    }
    Ok(DemoSources {
        data,
        entries,
        api,
        dir: dir.to_path_buf(),
    })
}

/// Reports the national totals of a loaded demo from its analytics snapshot: the country's row of
/// the indicators, so the printed line and the API say the same.
pub async fn report(
    analytics: &crate::analytics::Analytics,
    sources: &DemoSources,
    started: Instant,
) -> Result<DemoReport, crate::analytics::AnalyticsError> {
    let config = sources.data.config;
    let country = analytics.country(config.last_period).await?;
    Ok(DemoReport {
        funds: sources.data.funds.len(),
        connectors: sources.entries.len(),
        first_period: config.first_period(),
        last_period: config.last_period,
        totals: DemoTotals {
            funds_reporting: country.funds_reported,
            members: country.members.unwrap_or(0),
            population: country.population,
            coverage: country.coverage,
        },
        elapsed: started.elapsed(),
    })
}
