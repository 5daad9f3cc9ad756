//! `file`: a CSV or XLSX report from a path or an http(s) URL.
//!
//! The report is what a fund clerk makes: Thai or English column names (resolved by
//! [`crate::mapping`]), often a title above the header, Buddhist-era months and dates, Thai digits,
//! amounts with `฿` or `บาท`, saved by Thai Excel as UTF-8 (with or without a byte-order mark) or as
//! Windows-874. Two layouts:
//!
//! - `long` (the default): a header row, then one row per fund-month, for one fund or many;
//! - `wide`: one fund; the first column names the measures, each further column of the header row is
//!   a month (`ต.ค. 2568`); the fund comes from a `รหัสกองทุน` row (above the header or among the
//!   measures) or from the configuration.
//!
//! Every value is parsed by the shared mapping, so a bad value rejects its own row (or, in `wide`, its
//! own month) with the reason and where it is (`report.csv line 12`, `report.xlsx sheet สรุป cell D7`)
//! and never blocks the others. Rows (or months) with no figures at all are templates waiting to be
//! filled in and are skipped, not stored as all-unreported summaries.
//!
//! The cursor is the SHA-256 of the file's bytes: an unchanged file yields nothing; a changed file is
//! read whole, and the hub's upsert tells changed rows from unchanged ones.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use calamine::{Data, Reader, Xlsx};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;
use welfare_model::{FundId, Period};

use crate::batch::to_batch;
use crate::mapping::{FieldMapping, RawRecord, RawValue, RecordMapper, Target, fold_name};
use crate::source::{Connector, ConnectorError, Cursor, Pull, Rejected, SourcedBatch};

/// How many rows from the top are searched for the header when `header_row` is not set.
const HEADER_SEARCH_ROWS: usize = 20;

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Csv,
    Xlsx,
}

/// The text encoding of a CSV file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextEncoding {
    /// A byte-order mark decides; else valid UTF-8 is UTF-8; else Windows-874.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "utf-8", alias = "utf8")]
    Utf8,
    /// Windows-874, a superset of TIS-620: what Thai Excel saves as "CSV".
    #[serde(rename = "windows-874", alias = "tis-620", alias = "cp874")]
    Windows874,
}

/// How rows are laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileLayout {
    /// One row per fund-month.
    #[default]
    Long,
    /// One fund: measures down the first column, months across the header.
    Wide,
}

fn default_timeout_secs() -> u64 {
    60
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// A local path or an http(s) URL.
    pub location: String,
    /// `csv` or `xlsx`; by default from the extension, else from the content (XLSX starts `PK`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<FileFormat>,
    /// The XLSX sheet to read; by default the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The text encoding of a CSV file.
    #[serde(default)]
    pub encoding: TextEncoding,
    #[serde(default)]
    pub layout: FileLayout,
    /// The fund of a one-fund file whose rows do not name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_id: Option<FundId>,
    /// The month of a one-month file whose rows do not name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// The header's row (1-based: the CSV line or the sheet row); by default the first of the top 20
    /// rows with two recognised column names (`long`) or a month (`wide`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u32>,
    /// The CSV delimiter; `,` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// Source field names for canonical fields (`members_total = "สมาชิกทั้งหมด"`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// How long a download from a URL may take.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl FileConfig {
    /// A configuration with every default, reading `location`.
    pub fn new(location: impl Into<String>) -> Self {
        FileConfig {
            location: location.into(),
            format: None,
            sheet: None,
            encoding: TextEncoding::Auto,
            layout: FileLayout::Long,
            fund_id: None,
            period: None,
            header_row: None,
            delimiter: None,
            fields: BTreeMap::new(),
            timeout_secs: default_timeout_secs(),
        }
    }

    pub fn build(&self, source: String) -> Result<FileConnector, ConnectorError> {
        let config_error = |message: String| {
            ConnectorError::Config(format!("file {}: {message}", shown_text(&self.location)))
        };
        let location = Location::parse(self.location.trim()).map_err(config_error)?;
        let name = location.file_name();
        let format = match self.format {
            Some(f) => Some(f),
            None => format_by_extension(&name).map_err(config_error)?,
        };
        if format == Some(FileFormat::Csv) && self.sheet.is_some() {
            return Err(config_error(
                "`sheet` is for XLSX files, this is CSV".into(),
            ));
        }
        if self.sheet.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(config_error("`sheet` is empty".into()));
        }
        if self.header_row == Some(0) {
            return Err(config_error("`header_row` counts from 1".into()));
        }
        if self.timeout_secs == 0 {
            return Err(config_error("`timeout_secs` must be at least 1".into()));
        }
        let delimiter = match self.delimiter.unwrap_or(',') {
            c if c.is_ascii() && !matches!(c, '"' | '\n' | '\r') => c as u8,
            c => {
                return Err(config_error(format!(
                    "delimiter {c:?} must be one ASCII character other than a quote or a line break"
                )));
            }
        };
        if let Some((canonical, _)) = self.fields.iter().find(|(_, s)| s.trim().is_empty()) {
            return Err(config_error(format!(
                "`fields.{canonical}` names no column"
            )));
        }
        let mapping = FieldMapping::new(&self.fields)?;
        let explicit = self.fields.values().map(|s| fold_name(s)).collect();
        let client = match &location {
            Location::Url(_) => Some(http_client(self.timeout_secs).map_err(config_error)?),
            Location::Path(_) => None,
        };
        Ok(FileConnector {
            inner: Arc::new(Inner {
                config: self.clone(),
                source,
                location,
                name,
                format,
                delimiter,
                mapping,
                explicit,
                client,
            }),
        })
    }
}

fn http_client(timeout_secs: u64) -> Result<reqwest::Client, String> {
    // reqwest is built without a TLS provider so it shares sqlx's ring; one must be installed before a
    // client is built (a second install is refused harmlessly).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout_secs))
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))
}

#[derive(Debug, Clone)]
enum Location {
    Path(PathBuf),
    Url(Url),
}

impl Location {
    fn parse(text: &str) -> Result<Location, String> {
        if text.is_empty() {
            return Err("`location` is empty".into());
        }
        if !text.contains("://") {
            return Ok(Location::Path(PathBuf::from(text)));
        }
        let url = Url::parse(text).map_err(|e| format!("not a valid URL: {e}"))?;
        match url.scheme() {
            "http" | "https" => Ok(Location::Url(url)),
            "file" => url
                .to_file_path()
                .map(Location::Path)
                .map_err(|()| "not a local file URL".into()),
            other => Err(format!(
                "scheme {other:?} is not supported (a path, http or https)"
            )),
        }
    }

    /// The name rows are located by: the file name, or the URL's last path segment.
    fn file_name(&self) -> String {
        match self {
            Location::Path(p) => p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            Location::Url(u) => u
                .path_segments()
                .and_then(|mut s| s.rfind(|seg| !seg.is_empty()))
                .map(percent_decode)
                .or_else(|| u.host_str().map(str::to_string))
                .unwrap_or_else(|| u.to_string()),
        }
    }

    /// How the location is shown in errors: a URL without credentials, query or fragment.
    fn shown(&self) -> String {
        match self {
            Location::Path(p) => p.display().to_string(),
            Location::Url(u) => redacted(u),
        }
    }
}

/// Quotes a name for a message. Not `{:?}`, which escapes Thai vowel and tone marks.
fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

/// A configured location for a message: a URL redacted, a path as written.
fn shown_text(location: &str) -> String {
    match Url::parse(location.trim()) {
        Ok(url) if url.scheme().len() > 1 => redacted(&url),
        _ => location.to_string(),
    }
}

fn redacted(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// `%E0%B8%AA` → `ส`: URL file names of Thai reports are percent-encoded.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn format_by_extension(name: &str) -> Result<Option<FileFormat>, String> {
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "csv" | "txt" => Ok(Some(FileFormat::Csv)),
        "xlsx" | "xlsm" => Ok(Some(FileFormat::Xlsx)),
        "xls" => Err("old Excel .xls files are not read: save the report as .xlsx or CSV".into()),
        _ => Ok(None),
    }
}

#[derive(Debug)]
pub struct FileConnector {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: FileConfig,
    source: String,
    location: Location,
    /// The file name, for row locations.
    name: String,
    /// From the configuration or the extension; `None` means sniff the content.
    format: Option<FileFormat>,
    delimiter: u8,
    mapping: FieldMapping,
    /// Folded column names the configuration maps explicitly: they win over alias matches.
    explicit: HashSet<String>,
    client: Option<reqwest::Client>,
}

/// Runs blocking work (file reads, XLSX parsing) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ConnectorError> + Send + 'static,
) -> Result<T, ConnectorError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ConnectorError::Content(format!("reading the file failed: {e}")))?
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The causes of an error, outermost first, in one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Inner {
    /// The file's bytes, from disk or over HTTP.
    async fn fetch(&self) -> Result<Vec<u8>, ConnectorError> {
        match (&self.location, &self.client) {
            (Location::Path(path), _) => {
                let path = path.clone();
                blocking(move || {
                    std::fs::read(&path).map_err(|e| {
                        let message = format!("{}: {e}", path.display());
                        match e.kind() {
                            // A missing file may be a share not mounted yet or a report not yet
                            // uploaded: worth retrying.
                            std::io::ErrorKind::NotFound => ConnectorError::Unreachable(message),
                            std::io::ErrorKind::PermissionDenied => ConnectorError::Auth(message),
                            std::io::ErrorKind::IsADirectory => ConnectorError::Config(message),
                            _ => ConnectorError::Unreachable(message),
                        }
                    })
                })
                .await
            }
            (Location::Url(url), Some(client)) => self.download(client, url).await,
            (Location::Url(_), None) => unreachable!("a URL location is built with a client"),
        }
    }

    async fn download(
        &self,
        client: &reqwest::Client,
        url: &Url,
    ) -> Result<Vec<u8>, ConnectorError> {
        let shown = redacted(url);
        let transport = |e: reqwest::Error| {
            let e = e.without_url();
            if e.is_timeout() {
                ConnectorError::Timeout(format!(
                    "{shown}: no answer within {}s",
                    self.config.timeout_secs
                ))
            } else if e.is_builder() {
                ConnectorError::Config(format!("{shown}: {}", error_chain(&e)))
            } else {
                ConnectorError::Unreachable(format!("{shown}: {}", error_chain(&e)))
            }
        };
        let response = client.get(url.clone()).send().await.map_err(transport)?;
        let status = response.status();
        if matches!(status.as_u16(), 401 | 403) {
            return Err(ConnectorError::Auth(format!("{shown} answered {status}")));
        }
        if !status.is_success() {
            return Err(ConnectorError::Http {
                status: status.as_u16(),
                message: shown,
            });
        }
        let body = response.bytes().await.map_err(transport)?;
        Ok(body.to_vec())
    }

    /// The file's rows as cells, from CSV or the configured sheet.
    fn grid(&self, bytes: &[u8]) -> Result<Grid, ConnectorError> {
        const ZIP: &[u8] = b"PK\x03\x04";
        const OLE: &[u8] = b"\xD0\xCF\x11\xE0";
        let format = match self.format {
            Some(f) => f,
            None if bytes.starts_with(ZIP) => FileFormat::Xlsx,
            None if bytes.starts_with(OLE) => {
                return Err(ConnectorError::Content(format!(
                    "{} is an old Excel .xls file: save the report as .xlsx or CSV",
                    self.location.shown()
                )));
            }
            None => FileFormat::Csv,
        };
        match format {
            FileFormat::Csv if bytes.starts_with(ZIP) => Err(ConnectorError::Content(format!(
                "{} is an XLSX workbook, not CSV: set format = \"xlsx\"",
                self.location.shown()
            ))),
            FileFormat::Csv => self.csv_grid(bytes),
            FileFormat::Xlsx => self.xlsx_grid(bytes),
        }
    }

    fn decode(&self, bytes: &[u8]) -> Result<String, ConnectorError> {
        let windows_874 = |b: &[u8]| {
            encoding_rs::WINDOWS_874
                .decode_without_bom_handling(b)
                .0
                .into_owned()
        };
        match self.config.encoding {
            TextEncoding::Auto => {
                if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
                    Ok(encoding
                        .decode_without_bom_handling(&bytes[bom..])
                        .0
                        .into_owned())
                } else if let Ok(text) = std::str::from_utf8(bytes) {
                    Ok(text.to_string())
                } else {
                    Ok(windows_874(bytes))
                }
            }
            TextEncoding::Utf8 => {
                let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                std::str::from_utf8(body).map(str::to_string).map_err(|e| {
                    ConnectorError::Content(format!(
                        "{} is not UTF-8 (byte {}); is it encoding = \"windows-874\"?",
                        self.location.shown(),
                        e.valid_up_to()
                    ))
                })
            }
            TextEncoding::Windows874 => Ok(windows_874(bytes)),
        }
    }

    fn csv_grid(&self, bytes: &[u8]) -> Result<Grid, ConnectorError> {
        let text = self.decode(bytes)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .from_reader(text.as_bytes());
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record
                .map_err(|e| ConnectorError::Content(format!("{}: {e}", self.location.shown())))?;
            let line = record.position().map_or(0, |p| {
                // csv positions a record where its reader started, before the blank lines it
                // skipped: count them so the line is where the row really is.
                let rest = text.as_bytes().get(p.byte() as usize..).unwrap_or_default();
                let blank = rest
                    .iter()
                    .take_while(|b| matches!(b, b'\n' | b'\r'))
                    .filter(|b| **b == b'\n')
                    .count();
                p.line() + blank as u64
            });
            rows.push(GridRow {
                number: line,
                cells: record.iter().map(text_value).collect(),
            });
        }
        Ok(Grid {
            place: Place::Csv {
                name: self.name.clone(),
            },
            rows,
        })
    }

    fn xlsx_grid(&self, bytes: &[u8]) -> Result<Grid, ConnectorError> {
        let shown = self.location.shown();
        let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| {
            ConnectorError::Content(format!("{shown} is not a readable XLSX workbook: {e}"))
        })?;
        let names = workbook.sheet_names();
        let sheet = match &self.config.sheet {
            Some(wanted) => names
                .iter()
                .find(|n| *n == wanted)
                .or_else(|| names.iter().find(|n| n.trim() == wanted.trim()))
                .or_else(|| {
                    names
                        .iter()
                        .find(|n| n.trim().eq_ignore_ascii_case(wanted.trim()))
                })
                .cloned()
                .ok_or_else(|| {
                    ConnectorError::Config(format!(
                        "{shown} has no sheet {}; its sheets are {}",
                        quoted(wanted),
                        names
                            .iter()
                            .map(|n| quoted(n))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
            None => names.first().cloned().ok_or_else(|| {
                ConnectorError::Content(format!("{shown} is a workbook without sheets"))
            })?,
        };
        let range = workbook.worksheet_range(&sheet).map_err(|e| {
            ConnectorError::Content(format!("{shown} sheet {sheet}: cannot be read: {e}"))
        })?;
        // The range starts at the first used cell; keep absolute positions for cell names.
        let (first_row, first_col) = range.start().unwrap_or((0, 0));
        let rows = range
            .rows()
            .enumerate()
            .map(|(i, cells)| GridRow {
                number: u64::from(first_row) + i as u64 + 1,
                cells: cells.iter().map(cell_value).collect(),
            })
            .collect();
        Ok(Grid {
            place: Place::Xlsx {
                name: self.name.clone(),
                sheet,
                first_col,
            },
            rows,
        })
    }

    /// The header row's index in `grid`, `None` when the file holds nothing at all.
    fn find_header(&self, grid: &Grid) -> Result<Option<usize>, ConnectorError> {
        if grid
            .rows
            .iter()
            .all(|r| r.cells.iter().all(|c| *c == RawValue::Empty))
        {
            return Ok(None);
        }
        if let Some(wanted) = self.config.header_row {
            return grid
                .rows
                .iter()
                .position(|r| r.number == u64::from(wanted))
                .map(Some)
                .ok_or_else(|| {
                    ConnectorError::Content(format!(
                        "{}: header_row {wanted} is empty or past the end",
                        grid.place.describe()
                    ))
                });
        }
        let found =
            grid.rows
                .iter()
                .take(HEADER_SEARCH_ROWS)
                .position(|row| match self.config.layout {
                    FileLayout::Long => {
                        row.cells
                            .iter()
                            .filter(|c| self.mapping.resolve(&header_text(c)).is_some())
                            .count()
                            >= 2
                    }
                    // Not a labelled row such as `รหัสกองทุน | 202510`, whose value could pass for a month.
                    FileLayout::Wide => {
                        let label = row.cells.first().map(header_text).unwrap_or_default();
                        self.mapping.resolve(&label).is_none()
                            && row.cells.iter().skip(1).any(is_month)
                    }
                });
        match (found, self.config.layout) {
            (Some(i), _) => Ok(Some(i)),
            (None, FileLayout::Long) => Err(ConnectorError::Content(format!(
                "{}: no header row: none of the first {HEADER_SEARCH_ROWS} rows has two column \
                 names Welfare Hub knows (such as รหัสกองทุน, เดือน, จำนวนสมาชิก); set `header_row`, \
                 map columns in `fields`, or set layout = \"wide\"",
                grid.place.describe()
            ))),
            (None, FileLayout::Wide) => Err(ConnectorError::Content(format!(
                "{}: no header row: none of the first {HEADER_SEARCH_ROWS} rows has a month \
                 (such as ต.ค. 2568) after its first cell; set `header_row` or layout = \"long\"",
                grid.place.describe()
            ))),
        }
    }

    /// Targets for a list of names (header cells or, in `wide`, measure labels). Two names for one
    /// target are ambiguous unless the configuration names one of them explicitly.
    fn targets(
        &self,
        grid: &Grid,
        names: &[String],
    ) -> Result<Vec<Option<Target>>, ConnectorError> {
        let mut targets = self.mapping.resolve_header(names);
        let mut by_target: HashMap<Target, Vec<usize>> = HashMap::new();
        for (i, t) in targets.iter().enumerate() {
            if let Some(t) = t {
                by_target.entry(*t).or_default().push(i);
            }
        }
        for (target, positions) in by_target {
            if positions.len() < 2 {
                continue;
            }
            let explicit: Vec<usize> = positions
                .iter()
                .copied()
                .filter(|i| self.explicit.contains(&fold_name(&names[*i])))
                .collect();
            if let [keep] = explicit.as_slice() {
                for i in positions {
                    if i != *keep {
                        targets[i] = None;
                    }
                }
            } else {
                let listed: Vec<String> = positions.iter().map(|i| quoted(&names[*i])).collect();
                return Err(ConnectorError::Content(format!(
                    "{}: {} all mean {}; name the one to read in `fields` ({} = \"…\")",
                    grid.place.describe(),
                    listed.join(" and "),
                    target.name(),
                    target.name()
                )));
            }
        }
        Ok(targets)
    }

    /// Checks that rows can be keyed: a fund and a month from the file or the configuration.
    fn require_key(&self, grid: &Grid, targets: &[Option<Target>]) -> Result<(), ConnectorError> {
        let has = |t: Target| targets.contains(&Some(t));
        if !has(Target::FundId) && self.config.fund_id.is_none() {
            return Err(ConnectorError::Config(format!(
                "{}: no fund id column (รหัสกองทุน / fund_id) and no `fund_id` configured",
                grid.place.describe()
            )));
        }
        let has_period = has(Target::Period)
            || (has(Target::Year) && has(Target::Month))
            || self.config.period.is_some();
        if !has_period {
            return Err(ConnectorError::Config(format!(
                "{}: no month column (เดือน / period, or ปี and เดือนที่) and no `period` configured",
                grid.place.describe()
            )));
        }
        Ok(())
    }

    /// The header of a `long` file and its targets.
    fn long_header(
        &self,
        grid: &Grid,
        header: usize,
    ) -> Result<(Vec<String>, Vec<Option<Target>>), ConnectorError> {
        let names: Vec<String> = grid.rows[header].cells.iter().map(header_text).collect();
        let mut targets = self.targets(grid, &names)?;
        // `ปี | เดือน | …`: with a year column, the month column holds only the month (ตุลาคม, 10).
        let has = |t: Target| targets.contains(&Some(t));
        if has(Target::Year) && has(Target::Period) && !has(Target::Month) {
            for t in &mut targets {
                if *t == Some(Target::Period) {
                    *t = Some(Target::Month);
                }
            }
        }
        self.require_key(grid, &targets)?;
        Ok((names, targets))
    }

    fn long_records(&self, grid: &Grid, header: usize) -> Result<Vec<Located>, ConnectorError> {
        let (names, targets) = self.long_header(grid, header)?;
        let mut out = Vec::new();
        for (r, row) in grid.rows.iter().enumerate().skip(header + 1) {
            let fields: Vec<(String, Option<Target>, RawValue)> = names
                .iter()
                .zip(&targets)
                .enumerate()
                .filter(|(_, (name, _))| !name.is_empty())
                .map(|(c, (name, target))| {
                    let value = row.cells.get(c).cloned().unwrap_or(RawValue::Empty);
                    (name.clone(), *target, value)
                })
                .collect();
            if !has_figures(&fields) {
                continue;
            }
            let cells: Vec<String> = names
                .iter()
                .enumerate()
                .filter(|(_, name)| !name.is_empty())
                .map(|(c, _)| grid.field_location(r, c))
                .collect();
            out.push(Located {
                record: RawRecord {
                    location: grid.row_location(r),
                    fields,
                },
                cells,
            });
        }
        Ok(out)
    }

    fn wide_records(&self, grid: &Grid, header: usize) -> Result<Vec<Located>, ConnectorError> {
        let label = |r: usize| {
            grid.rows[r]
                .cells
                .first()
                .map(header_text)
                .unwrap_or_default()
        };
        // `รหัสกองทุน | F100101` above the header names the file's fund.
        let mut fund_fields = Vec::new();
        for r in 0..header {
            let name = label(r);
            if self.mapping.resolve(&name) == Some(Target::FundId)
                && let Some(c) = grid.rows[r]
                    .cells
                    .iter()
                    .skip(1)
                    .position(|v| *v != RawValue::Empty)
            {
                let value = grid.rows[r].cells[c + 1].clone();
                fund_fields.push((
                    (name, Some(Target::FundId), value),
                    grid.cell_location(r, c + 1),
                ));
            }
        }
        let measure_rows: Vec<usize> = (header + 1..grid.rows.len())
            .filter(|r| !label(*r).is_empty())
            .collect();
        let labels: Vec<String> = measure_rows.iter().map(|r| label(*r)).collect();
        let targets = self.targets(grid, &labels)?;
        let mut key_targets = targets.clone();
        key_targets.push(Some(Target::Period));
        key_targets.extend(fund_fields.iter().map(|((_, t, _), _)| *t));
        self.require_key(grid, &key_targets)?;

        let mut out = Vec::new();
        for (c, month) in grid.rows[header].cells.iter().enumerate().skip(1) {
            if *month == RawValue::Empty {
                continue;
            }
            let mut fields = vec![("เดือน".to_string(), Some(Target::Period), month.clone())];
            let mut cells = vec![grid.cell_location(header, c)];
            for (field, location) in &fund_fields {
                fields.push(field.clone());
                cells.push(location.clone());
            }
            for ((r, name), target) in measure_rows.iter().zip(&labels).zip(&targets) {
                let value = grid.rows[*r]
                    .cells
                    .get(c)
                    .cloned()
                    .unwrap_or(RawValue::Empty);
                fields.push((name.clone(), *target, value));
                cells.push(grid.cell_location(*r, c));
            }
            if !has_figures(&fields) {
                continue;
            }
            out.push(Located {
                record: RawRecord {
                    location: grid.column_location(c),
                    fields,
                },
                cells,
            });
        }
        Ok(out)
    }

    /// Reads the whole file into a pull (without a cursor).
    fn read(&self, bytes: &[u8]) -> Result<Pull, ConnectorError> {
        let grid = self.grid(bytes)?;
        let Some(header) = self.find_header(&grid)? else {
            return Ok(Pull::default());
        };
        let records = match self.config.layout {
            FileLayout::Long => self.long_records(&grid, header)?,
            FileLayout::Wide => self.wide_records(&grid, header)?,
        };
        let mut mapper = RecordMapper::new(self.source.clone());
        mapper.fund_id = self.config.fund_id.clone();
        mapper.period = self.config.period;
        let mut rows = Vec::new();
        let mut locations = Vec::new();
        let mut rejected = Vec::new();
        let mut first_seen: HashMap<(FundId, Period), String> = HashMap::new();
        for Located { record, cells } in records {
            match mapper.map_locating(&record) {
                Ok(summary) => {
                    let key = (summary.fund_id.clone(), summary.period);
                    if let Some(first) = first_seen.get(&key) {
                        // The hub refuses a delivery with one key twice: reject the repeat here so
                        // the rest of the file still loads.
                        rejected.push(Rejected {
                            location: record.location.clone(),
                            reason: format!(
                                "fund {} month {} appears twice; the first is at {first}",
                                key.0, key.1
                            ),
                            raw: record.raw_json(),
                        });
                        continue;
                    }
                    first_seen.insert(key, record.location.clone());
                    locations.push(record.location);
                    rows.push(summary);
                }
                Err(boxed) => {
                    let (mut rejection, culprit) = *boxed;
                    if let Some(cell) = culprit.and_then(|i| cells.get(i)) {
                        rejection.location = cell.clone();
                    }
                    rejected.push(rejection);
                }
            }
        }
        let batches = if rows.is_empty() {
            Vec::new()
        } else {
            let batch = to_batch(&rows)
                .map_err(|e| ConnectorError::Content(format!("{}: {e}", self.location.shown())))?;
            vec![SourcedBatch {
                rows: batch,
                locations,
                tambons: Vec::new(),
            }]
        };
        Ok(Pull {
            batches,
            rejected,
            unrecognised: Vec::new(),
            cursor: None,
        })
    }

    /// Reads up to the header and checks that rows could be keyed.
    fn check_bytes(&self, bytes: &[u8]) -> Result<(), ConnectorError> {
        let grid = self.grid(bytes)?;
        let Some(header) = self.find_header(&grid)? else {
            return Ok(());
        };
        match self.config.layout {
            FileLayout::Long => self.long_header(&grid, header).map(|_| ()),
            FileLayout::Wide => self.wide_records(&grid, header).map(|_| ()),
        }
    }
}

/// A record and where each of its fields is (`cells[i]` is field `i`'s location).
struct Located {
    record: RawRecord,
    cells: Vec<String>,
}

/// True when some measure has a value: fund and month alone are an unfilled template.
fn has_figures(fields: &[(String, Option<Target>, RawValue)]) -> bool {
    fields
        .iter()
        .any(|(_, target, value)| matches!(target, Some(Target::Measure(_))) && !is_blank(value))
}

fn is_blank(value: &RawValue) -> bool {
    match value {
        RawValue::Empty => true,
        RawValue::Text(t) => t.trim().is_empty(),
        _ => false,
    }
}

fn text_value(text: &str) -> RawValue {
    if text.trim().is_empty() {
        RawValue::Empty
    } else {
        RawValue::Text(text.to_string())
    }
}

/// A spreadsheet cell as the mapping reads values.
fn cell_value(cell: &Data) -> RawValue {
    match cell {
        Data::Empty => RawValue::Empty,
        Data::String(s) => text_value(s),
        Data::Int(i) => RawValue::Int(*i),
        Data::Float(f) => RawValue::Float(*f),
        Data::Bool(b) => RawValue::Bool(*b),
        Data::DateTime(dt) if dt.is_datetime() => match dt.as_datetime() {
            Some(t) if t.time() == NaiveTime::MIN => RawValue::Date(t.date()),
            Some(t) => RawValue::DateTime(t),
            None => RawValue::Float(dt.as_f64()),
        },
        // A duration is no date: leave the number for the mapping to judge.
        Data::DateTime(dt) => RawValue::Float(dt.as_f64()),
        Data::DateTimeIso(s) => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .map(RawValue::DateTime)
            .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d").map(RawValue::Date))
            .unwrap_or_else(|_| RawValue::Text(s.clone())),
        Data::DurationIso(s) => RawValue::Text(s.clone()),
        // `#DIV/0!` and friends: the mapping rejects the row showing the error.
        Data::Error(e) => RawValue::Text(e.to_string()),
    }
}

/// A header or label cell as a name.
fn header_text(cell: &RawValue) -> String {
    match cell {
        RawValue::Empty => String::new(),
        RawValue::Text(t) => t.trim().to_string(),
        RawValue::Int(i) => i.to_string(),
        RawValue::Float(f) => f.to_string(),
        RawValue::Decimal(d) => d.to_string(),
        RawValue::Date(d) => d.to_string(),
        RawValue::DateTime(d) => d.to_string(),
        RawValue::Bool(b) => b.to_string(),
    }
}

/// A wide header cell naming a month.
fn is_month(cell: &RawValue) -> bool {
    match cell {
        RawValue::Date(_) | RawValue::DateTime(_) => true,
        RawValue::Text(t) => Period::parse(t).is_ok(),
        _ => false,
    }
}

/// The rows of a CSV file or a sheet, as cells.
#[derive(Debug)]
struct Grid {
    place: Place,
    rows: Vec<GridRow>,
}

#[derive(Debug)]
struct GridRow {
    /// The CSV line where the row starts, or the sheet's row number (both 1-based).
    number: u64,
    cells: Vec<RawValue>,
}

#[derive(Debug)]
enum Place {
    Csv {
        name: String,
    },
    Xlsx {
        name: String,
        sheet: String,
        /// The sheet column (0-based) of the grid's first column.
        first_col: u32,
    },
}

/// `0` → `A`, `25` → `Z`, `26` → `AA`.
fn column_letters(mut col: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(char::from(b'A' + (col % 26) as u8));
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    letters.iter().rev().collect()
}

impl Place {
    fn describe(&self) -> String {
        match self {
            Place::Csv { name } => name.clone(),
            Place::Xlsx { name, sheet, .. } => format!("{name} sheet {sheet}"),
        }
    }
}

impl Grid {
    /// A long row: `report.csv line 12`, `report.xlsx sheet สรุป row 7`.
    fn row_location(&self, r: usize) -> String {
        let number = self.rows[r].number;
        match &self.place {
            Place::Csv { name } => format!("{name} line {number}"),
            Place::Xlsx { name, sheet, .. } => format!("{name} sheet {sheet} row {number}"),
        }
    }

    /// One value: `report.csv line 12 column 4`, `report.xlsx sheet สรุป cell D7`.
    fn cell_location(&self, r: usize, c: usize) -> String {
        let number = self.rows[r].number;
        match &self.place {
            Place::Csv { name } => format!("{name} line {number} column {}", c + 1),
            Place::Xlsx {
                name,
                sheet,
                first_col,
            } => format!(
                "{name} sheet {sheet} cell {}{number}",
                column_letters(first_col + c as u32)
            ),
        }
    }

    /// A value of a long row: in CSV the line is the location (the reason names the column).
    fn field_location(&self, r: usize, c: usize) -> String {
        match &self.place {
            Place::Csv { .. } => self.row_location(r),
            Place::Xlsx { .. } => self.cell_location(r, c),
        }
    }

    /// A wide month: `report.csv column 3`, `report.xlsx sheet สรุป column C`.
    fn column_location(&self, c: usize) -> String {
        match &self.place {
            Place::Csv { name } => format!("{name} column {}", c + 1),
            Place::Xlsx {
                name,
                sheet,
                first_col,
            } => format!(
                "{name} sheet {sheet} column {}",
                column_letters(first_col + c as u32)
            ),
        }
    }
}

#[async_trait]
impl Connector for FileConnector {
    fn kind(&self) -> &'static str {
        "file"
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        let bytes = self.inner.fetch().await?;
        let inner = self.inner.clone();
        blocking(move || inner.check_bytes(&bytes)).await
    }

    async fn pull(&self, since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        let bytes = self.inner.fetch().await?;
        let inner = self.inner.clone();
        let since = since.cloned();
        blocking(move || {
            let digest = sha256_hex(&bytes);
            if since.as_ref().is_some_and(|c| c.0 == digest) {
                return Ok(Pull {
                    cursor: since,
                    ..Pull::default()
                });
            }
            let mut pull = inner.read(&bytes)?;
            pull.cursor = Some(Cursor(digest));
            Ok(pull)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use axum::Router;
    use axum::extract::{Path as UrlPath, State};
    use axum::http::StatusCode;
    use axum::routing::get;
    use welfare_model::{Money, Summary};

    use super::*;
    use crate::batch::from_batch;
    use crate::compliance::{self, Fixture, sample_rows};
    use crate::config::SourceConfig;
    use crate::simulator::reports::{
        self, BahtMark, Cell, CsvEncoding, CsvStyle, Digits, Layout, Table, XlsxStyle,
    };

    /// The source the compliance rows carry, so they compare equal.
    fn source() -> String {
        format!("connector:{}", compliance::ID)
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        CsvBom,
        CsvWindows874,
        Xlsx,
        /// An XLSX served over HTTP under a name without extension: the connector sniffs it.
        HttpXlsx,
    }

    /// Writes reports into a temporary directory (served over HTTP for [`Kind::HttpXlsx`]).
    struct FileFixture {
        kind: Kind,
        dir: tempfile::TempDir,
        base_url: Option<String>,
        current: Option<(PathBuf, Vec<Summary>, usize)>,
        made: usize,
    }

    const TITLE: &str = "รายงานสรุปรายเดือน กองทุนสวัสดิการชุมชน เครือข่ายจังหวัด";

    /// Bad rows for fixtures: a member count of "มาก" (many), then a month 13/2568.
    fn add_bad_rows(table: &mut Table, n: usize) {
        for i in 0..n {
            let mut row = vec![Cell::Empty; table.header.len()];
            row[0] = Cell::Text(format!("F77700{i}"));
            row[1] = Cell::Month(Period::new(2025, 10).unwrap());
            row[2] = Cell::Count(5);
            if i % 2 == 0 {
                row[2] = Cell::Text("มาก".into());
            } else {
                row[1] = Cell::Text("13/2568".into());
            }
            table.rows.push(row);
        }
    }

    impl FileFixture {
        async fn new(kind: Kind) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let base_url = match kind {
                Kind::HttpXlsx => Some(serve(dir.path().to_path_buf()).await),
                _ => None,
            };
            FileFixture {
                kind,
                dir,
                base_url,
                current: None,
                made: 0,
            }
        }

        fn write(&self, path: &Path, rows: &[Summary], bad: usize) {
            let mut table = Table::build(rows, Layout::Long, Some(TITLE)).unwrap();
            add_bad_rows(&mut table, bad);
            let bytes = match self.kind {
                Kind::CsvBom => reports::csv_bytes(&table, &CsvStyle::default()),
                Kind::CsvWindows874 => reports::csv_bytes(
                    &table,
                    &CsvStyle {
                        encoding: CsvEncoding::Windows874,
                        digits: Digits::Thai,
                        baht: BahtMark::Word,
                        ..CsvStyle::default()
                    },
                ),
                Kind::Xlsx | Kind::HttpXlsx => reports::xlsx_bytes(&table, &XlsxStyle::long()),
            }
            .unwrap();
            std::fs::write(path, bytes).unwrap();
        }

        fn next_name(&mut self) -> String {
            self.made += 1;
            let n = self.made;
            match self.kind {
                Kind::CsvBom | Kind::CsvWindows874 => format!("รายงาน-{n}.csv"),
                Kind::Xlsx => format!("report-{n}.xlsx"),
                Kind::HttpXlsx => format!("latest-{n}"),
            }
        }

        fn config(&self, name: &str) -> SourceConfig {
            let location = match &self.base_url {
                Some(base) => format!("{base}{name}"),
                None => self.dir.path().join(name).display().to_string(),
            };
            SourceConfig::File(FileConfig::new(location))
        }
    }

    #[async_trait]
    impl Fixture for FileFixture {
        async fn source(&mut self, good: &[Summary], bad: usize) -> SourceConfig {
            let name = self.next_name();
            let path = self.dir.path().join(&name);
            self.write(&path, good, bad);
            self.current = Some((path, good.to_vec(), bad));
            self.config(&name)
        }

        async fn append(&mut self, rows: &[Summary]) {
            // A clerk adds the new months to the same file and saves it again.
            let (path, mut all, bad) = self.current.take().expect("a source was made");
            all.extend_from_slice(rows);
            self.write(&path, &all, bad);
            self.current = Some((path, all, bad));
        }

        async fn empty(&mut self) -> SourceConfig {
            let name = self.next_name();
            self.write(&self.dir.path().join(&name), &[], 0);
            self.config(&name)
        }

        async fn unreachable(&mut self) -> SourceConfig {
            match self.kind {
                Kind::HttpXlsx => {
                    let port = free_port();
                    SourceConfig::File(FileConfig::new(format!(
                        "http://127.0.0.1:{port}/reports/latest"
                    )))
                }
                _ => self.config("not-uploaded-yet.csv"),
            }
        }
    }

    /// A port nothing listens on (bound, then released).
    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// Serves `dir` at `/reports/NAME`, plus endpoints that refuse, fail or stall; returns the
    /// reports' base URL.
    async fn serve(dir: PathBuf) -> String {
        async fn report(
            State(dir): State<PathBuf>,
            UrlPath(name): UrlPath<String>,
        ) -> Result<Vec<u8>, StatusCode> {
            tokio::fs::read(dir.join(name))
                .await
                .map_err(|_| StatusCode::NOT_FOUND)
        }
        let app = Router::new()
            .route("/reports/{name}", get(report))
            .route("/forbidden.csv", get(|| async { StatusCode::FORBIDDEN }))
            .route("/login.csv", get(|| async { StatusCode::UNAUTHORIZED }))
            .route(
                "/busy.csv",
                get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
            )
            .route(
                "/slow.csv",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            )
            .with_state(dir);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/reports/")
    }

    async fn pull(config: &FileConfig) -> Result<Pull, ConnectorError> {
        config.build(source())?.pull(None).await
    }

    fn rows_of(pull: &Pull) -> Vec<Summary> {
        pull.batches
            .iter()
            .flat_map(|b| from_batch(&b.rows).unwrap())
            .collect()
    }

    fn locations_of(pull: &Pull) -> Vec<String> {
        pull.batches
            .iter()
            .flat_map(|b| b.locations.clone())
            .collect()
    }

    fn write_file(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> FileConfig {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        FileConfig::new(path.display().to_string())
    }

    fn money(text: &str) -> Option<Money> {
        Some(Money::parse(text).unwrap())
    }

    #[tokio::test]
    async fn compliance_csv_utf8_with_bom() {
        compliance::check(&mut FileFixture::new(Kind::CsvBom).await).await;
    }

    #[tokio::test]
    async fn compliance_csv_windows_874_thai_digits() {
        compliance::check(&mut FileFixture::new(Kind::CsvWindows874).await).await;
    }

    #[tokio::test]
    async fn compliance_xlsx_long() {
        compliance::check(&mut FileFixture::new(Kind::Xlsx).await).await;
    }

    #[tokio::test]
    async fn compliance_xlsx_over_http() {
        compliance::check(&mut FileFixture::new(Kind::HttpXlsx).await).await;
    }

    #[tokio::test]
    async fn bad_rows_say_where_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = Table::build(&sample_rows(), Layout::Long, Some(TITLE)).unwrap();
        add_bad_rows(&mut table, 2);
        let csv = write_file(
            dir.path(),
            "report.csv",
            reports::csv_bytes(&table, &CsvStyle::default()).unwrap(),
        );
        let p = pull(&csv).await.unwrap();
        assert_eq!(p.row_count(), 9);
        // Title (line 1), blank (2), header (3), nine good rows (4–12), the bad ones.
        assert_eq!(locations_of(&p)[0], "report.csv line 4");
        assert_eq!(p.rejected[0].location, "report.csv line 13");
        assert!(
            p.rejected[0].reason.contains("members_total") && p.rejected[0].reason.contains("มาก"),
            "{}",
            p.rejected[0].reason
        );
        assert_eq!(p.rejected[0].raw["จำนวนสมาชิก"], "มาก");
        assert_eq!(p.rejected[1].location, "report.csv line 14");
        assert!(
            p.rejected[1].reason.contains("13/2568"),
            "{}",
            p.rejected[1].reason
        );

        // In a workbook the value's cell is named: members are column C, data starts in row 4.
        let mut table = Table::build(&sample_rows(), Layout::Long, Some(TITLE)).unwrap();
        table.rows[1][2] = Cell::Text("มาก".into());
        table.rows[2][0] = Cell::Empty;
        let xlsx = write_file(
            dir.path(),
            "report.xlsx",
            reports::xlsx_bytes(&table, &XlsxStyle::long()).unwrap(),
        );
        let p = pull(&xlsx).await.unwrap();
        assert_eq!(p.row_count(), 7);
        assert_eq!(
            p.rejected[0].location,
            "report.xlsx sheet สรุปรายเดือน cell C5"
        );
        // No fund id is the row's problem, not one cell's.
        assert_eq!(p.rejected[1].location, "report.xlsx sheet สรุปรายเดือน row 6");
        assert!(
            p.rejected[1].reason.contains("no fund id"),
            "{}",
            p.rejected[1].reason
        );
        assert_eq!(locations_of(&p)[0], "report.xlsx sheet สรุปรายเดือน row 4");
    }

    #[tokio::test]
    async fn wide_layout() {
        let dir = tempfile::tempdir().unwrap();
        let fund: Vec<Summary> = sample_rows()
            .into_iter()
            .filter(|s| s.fund_id.as_str() == "F500101")
            .collect();
        // XLSX, months as date cells, the fund in a row above the header.
        let style = XlsxStyle {
            months_as_dates: true,
            ..XlsxStyle::wide()
        };
        let path = dir.path().join("กองทุน.xlsx");
        reports::write_xlsx(&path, &fund, &style).unwrap();
        let config = FileConfig {
            layout: FileLayout::Wide,
            ..FileConfig::new(path.display().to_string())
        };
        let p = pull(&config).await.unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(rows_of(&p), fund);
        assert_eq!(
            locations_of(&p),
            ["B", "C", "D"].map(|c| format!("กองทุน.xlsx sheet สรุปรายเดือน column {c}"))
        );

        // CSV without the fund row: the fund comes from the configuration; a bad value rejects
        // only its month, located by line and column.
        let mut table = Table::wide(&fund).unwrap();
        table.top.clear();
        table.rows[0][2] = Cell::Text("มาก".into());
        let config = FileConfig {
            layout: FileLayout::Wide,
            fund_id: Some(FundId::parse("F500101").unwrap()),
            ..write_file(
                dir.path(),
                "wide.csv",
                reports::csv_bytes(&table, &CsvStyle::default()).unwrap(),
            )
        };
        let p = pull(&config).await.unwrap();
        let got = rows_of(&p);
        assert_eq!(got, [fund[0].clone(), fund[2].clone()]);
        assert_eq!(p.rejected.len(), 1);
        assert_eq!(p.rejected[0].location, "wide.csv line 2 column 3");
        assert!(p.rejected[0].reason.contains("members_total"));
        let unnamed = FileConfig {
            fund_id: None,
            ..config
        };
        let err = pull(&unnamed).await.unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Config(m) if m.contains("wide.csv") && m.contains("fund")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn named_sheet_and_missing_sheet() {
        let dir = tempfile::tempdir().unwrap();
        let notes = Table {
            top: Vec::new(),
            header: vec![Cell::Text("บันทึก".into())],
            rows: vec![vec![Cell::Text("ส่งรายงานภายในวันที่ 10".into())]],
        };
        let data = Table::long(&sample_rows());
        let bytes = reports::xlsx_workbook(&[("หมายเหตุ", &notes), ("สรุป", &data)], false).unwrap();
        let base = write_file(dir.path(), "book.xlsx", bytes);
        let named = FileConfig {
            sheet: Some("สรุป".into()),
            ..base.clone()
        };
        let p = pull(&named).await.unwrap();
        assert_eq!(rows_of(&p), sample_rows());
        assert_eq!(locations_of(&p)[0], "book.xlsx sheet สรุป row 2");

        // By default the first sheet, which holds no report.
        let err = pull(&base).await.unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Content(m) if m.contains("book.xlsx sheet หมายเหตุ") && m.contains("no header")),
            "{err}"
        );
        let missing = FileConfig {
            sheet: Some("ปี 2567".into()),
            ..base
        };
        let connector = missing.build(source()).unwrap();
        let err = connector.check().await.unwrap_err();
        assert!(!err.is_transient());
        assert!(
            matches!(&err, ConnectorError::Config(m) if m.contains("\"ปี 2567\"") && m.contains("\"หมายเหตุ\", \"สรุป\"")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn header_found_below_a_title_or_where_configured() {
        let dir = tempfile::tempdir().unwrap();
        let text = "รายงานกองทุนสวัสดิการชุมชน ตำบลบ้านใหม่\n\
                    ประจำปีงบประมาณ 2569,,\n\
                    \n\
                    รหัสกองทุน,เดือน,จำนวนสมาชิก,ยอดเงินกองทุน\n\
                    F100101,ต.ค. 2568,120,\"5,000.00\"\n";
        let config = write_file(dir.path(), "title.csv", text);
        let p = pull(&config).await.unwrap();
        let got = rows_of(&p);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].members_total, Some(120));
        assert_eq!(got[0].fund_balance, money("5000"));
        assert_eq!(locations_of(&p), ["title.csv line 5"]);
        let at = FileConfig {
            header_row: Some(4),
            ..config.clone()
        };
        assert_eq!(rows_of(&pull(&at).await.unwrap()), got);
        let wrong = FileConfig {
            header_row: Some(1),
            ..config.clone()
        };
        assert!(matches!(
            pull(&wrong).await.unwrap_err(),
            ConnectorError::Config(m) if m.contains("no fund id column")
        ));
        let past = FileConfig {
            header_row: Some(40),
            ..config
        };
        assert!(matches!(
            pull(&past).await.unwrap_err(),
            ConnectorError::Content(m) if m.contains("header_row 40")
        ));
    }

    #[tokio::test]
    async fn thai_digits_baht_and_one_fund_from_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let text = "เดือน,จำนวนสมาชิก (คน),เงินสมทบจากรัฐ (บาท),ยอดเงินกองทุน\n\
                    ต.ค. ๒๕๖๘,\"๑,๒๓๔\",฿500.00,\"๑๒,๓๔๕.๖๗ บาท\"\n\
                    ๑๑/๒๕๖๘,\"1,240 คน\",-,\"12,900.00 บาท\"\n";
        let config = FileConfig {
            fund_id: Some(FundId::parse("F100101").unwrap()),
            ..write_file(dir.path(), "one-fund.csv", text)
        };
        let got = rows_of(&pull(&config).await.unwrap());
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|s| s.fund_id.as_str() == "F100101"));
        assert_eq!(
            (got[0].period.to_string(), got[1].period.to_string()),
            ("2025-10".into(), "2025-11".into())
        );
        assert_eq!(
            (got[0].members_total, got[1].members_total),
            (Some(1234), Some(1240))
        );
        assert_eq!(
            (got[0].grant_state, got[1].grant_state),
            (money("500"), Some(Money::ZERO))
        );
        assert_eq!(got[0].fund_balance, money("12345.67"));
        assert_eq!(got[0].source.as_deref(), Some(source().as_str()));

        // Without a fund id anywhere the file cannot be keyed: a permanent error, not 2 rejections.
        let unnamed = FileConfig {
            fund_id: None,
            ..config
        };
        let err = unnamed.build(source()).unwrap().check().await.unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Config(m) if m.contains("one-fund.csv")),
            "{err}"
        );

        // One month for many funds: the period from the configuration.
        let text = "รหัสกองทุน,สมาชิก\nF1,10\nF2,20\n";
        let config = FileConfig {
            period: Some(Period::parse("ต.ค. 2568").unwrap()),
            ..write_file(dir.path(), "one-month.csv", text)
        };
        let got = rows_of(&pull(&config).await.unwrap());
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|s| s.period.to_string() == "2025-10"));
    }

    #[tokio::test]
    async fn configured_field_names_win() {
        let dir = tempfile::tempdir().unwrap();
        let text = "รหัส,งวด,คนในกองทุน,สมาชิก\nF1,10/2568,100,7\n";
        let base = write_file(dir.path(), "own-names.csv", text);
        // Unconfigured, สมาชิก is the member count and คนในกองทุน is unknown.
        let got = rows_of(&pull(&base).await.unwrap());
        assert_eq!(
            (got[0].members_total, got[0].members_joined),
            (Some(7), None)
        );
        let mapped = FileConfig {
            fields: BTreeMap::from([
                ("members_total".to_string(), "คนในกองทุน".to_string()),
                ("members_joined".to_string(), "สมาชิก".to_string()),
            ]),
            ..base
        };
        let got = rows_of(&pull(&mapped).await.unwrap());
        assert_eq!(
            (got[0].members_total, got[0].members_joined),
            (Some(100), Some(7))
        );

        // Two columns meaning one field: ambiguous until one is configured.
        let text = "รหัสกองทุน,เดือน,สมาชิก,จำนวนสมาชิก\nF1,10/2568,90,100\n";
        let both = write_file(dir.path(), "both.csv", text);
        let err = pull(&both).await.unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Content(m) if m.contains("members_total") && m.contains("\"สมาชิก\"")),
            "{err}"
        );
        let chosen = FileConfig {
            fields: BTreeMap::from([("members_total".to_string(), "จำนวนสมาชิก".to_string())]),
            ..both
        };
        assert_eq!(
            rows_of(&pull(&chosen).await.unwrap())[0].members_total,
            Some(100)
        );

        let bad = FileConfig {
            fields: BTreeMap::from([("members".to_string(), "x".to_string())]),
            ..chosen
        };
        assert!(matches!(
            bad.build(source()),
            Err(ConnectorError::Config(_))
        ));
    }

    #[tokio::test]
    async fn year_and_month_columns_and_a_delimiter() {
        let dir = tempfile::tempdir().unwrap();
        let text = "รหัสกองทุน;ปี;เดือน;สมาชิก\nF1;2568;ตุลาคม;10\nF1;๒๕๖๘;๑๑;12\n";
        let config = FileConfig {
            delimiter: Some(';'),
            ..write_file(dir.path(), "split.csv", text)
        };
        let got = rows_of(&pull(&config).await.unwrap());
        let periods: Vec<String> = got.iter().map(|s| s.period.to_string()).collect();
        assert_eq!(periods, ["2025-10", "2025-11"]);
        assert_eq!(got[1].members_total, Some(12));
    }

    #[tokio::test]
    async fn repeated_rows_and_unfilled_templates() {
        let dir = tempfile::tempdir().unwrap();
        let text = "รหัสกองทุน,เดือน,สมาชิก,ยอดเงินกองทุน\n\
                    F1,10/2568,10,100\n\
                    F1,ต.ค. 2568,11,100\n\
                    F1,11/2568,,\n";
        let p = pull(&write_file(dir.path(), "dup.csv", text))
            .await
            .unwrap();
        assert_eq!(
            rows_of(&p)[0].members_total,
            Some(10),
            "the first one counts"
        );
        assert_eq!(p.row_count(), 1, "November is an unfilled template");
        assert_eq!(p.rejected.len(), 1);
        assert_eq!(p.rejected[0].location, "dup.csv line 3");
        assert!(
            p.rejected[0].reason.contains("dup.csv line 2"),
            "{}",
            p.rejected[0].reason
        );
    }

    #[tokio::test]
    async fn encodings() {
        let dir = tempfile::tempdir().unwrap();
        let text = "รหัสกองทุน,เดือน,สมาชิก\nF1,ต.ค. 2568,10\n";
        let (tis, _, _) = encoding_rs::WINDOWS_874.encode(text);
        let auto = write_file(dir.path(), "tis.csv", &tis);
        assert_eq!(
            rows_of(&pull(&auto).await.unwrap())[0].members_total,
            Some(10)
        );
        let declared = FileConfig {
            encoding: TextEncoding::Windows874,
            ..auto.clone()
        };
        assert_eq!(pull(&declared).await.unwrap().row_count(), 1);
        let wrong = FileConfig {
            encoding: TextEncoding::Utf8,
            ..auto
        };
        assert!(matches!(
            pull(&wrong).await.unwrap_err(),
            ConnectorError::Content(m) if m.contains("tis.csv") && m.contains("windows-874")
        ));
        // UTF-8 without a BOM, and an empty file (a fund that has not reported yet).
        let plain = write_file(dir.path(), "plain.csv", text);
        assert_eq!(pull(&plain).await.unwrap().row_count(), 1);
        let empty = write_file(dir.path(), "empty.csv", "");
        let connector = empty.build(source()).unwrap();
        connector.check().await.unwrap();
        let p = connector.pull(None).await.unwrap();
        assert_eq!((p.row_count(), p.rejected.len()), (0, 0));
        assert!(p.cursor.is_some());
    }

    #[tokio::test]
    async fn files_that_are_no_report() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = write_file(dir.path(), "scan.pdf", b"%PDF-1.4\n\x00\x01binary");
        let err = pull(&pdf).await.unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Content(m) if m.contains("scan.pdf") && m.contains("no header")),
            "{err}"
        );
        assert!(!err.is_transient());
        let fake = write_file(dir.path(), "fake.xlsx", "รหัสกองทุน,เดือน\n");
        assert!(matches!(
            pull(&fake).await.unwrap_err(),
            ConnectorError::Content(m) if m.contains("fake.xlsx") && m.contains("XLSX")
        ));
        let old = write_file(
            dir.path(),
            "old-report",
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
        );
        assert!(matches!(
            pull(&old).await.unwrap_err(),
            ConnectorError::Content(m) if m.contains(".xls")
        ));
        assert!(matches!(
            FileConfig::new("report.xls").build(source()),
            Err(ConnectorError::Config(_))
        ));
        let workbook =
            reports::xlsx_bytes(&Table::long(&sample_rows()), &XlsxStyle::long()).unwrap();
        let misnamed = write_file(dir.path(), "export.csv", workbook);
        assert!(matches!(
            pull(&misnamed).await.unwrap_err(),
            ConnectorError::Content(m) if m.contains("format = \"xlsx\"")
        ));
        let directory = FileConfig::new(dir.path().display().to_string());
        assert!(pull(&directory).await.is_err());
    }

    #[tokio::test]
    async fn http_answers() {
        let dir = tempfile::tempdir().unwrap();
        let base = serve(dir.path().to_path_buf()).await;
        let root = base.trim_end_matches("reports/");
        let at = |path: &str| FileConfig::new(format!("{root}{path}"));
        assert!(matches!(
            pull(&at("forbidden.csv")).await.unwrap_err(),
            ConnectorError::Auth(m) if m.contains("403")
        ));
        assert!(matches!(
            pull(&at("login.csv")).await.unwrap_err(),
            ConnectorError::Auth(_)
        ));
        let missing = pull(&at("reports/nothing.csv")).await.unwrap_err();
        assert!(
            matches!(&missing, ConnectorError::Http { status: 404, .. }) && !missing.is_transient(),
            "{missing}"
        );
        let busy = pull(&at("busy.csv")).await.unwrap_err();
        assert!(
            matches!(&busy, ConnectorError::Http { status: 503, .. }) && busy.is_transient(),
            "{busy}"
        );
        let slow = FileConfig {
            timeout_secs: 1,
            ..at("slow.csv")
        };
        let err = slow.build(source()).unwrap().check().await.unwrap_err();
        assert!(matches!(err, ConnectorError::Timeout(_)), "{err}");
        // Credentials and tokens in a URL never reach a message.
        let secret = FileConfig::new(format!(
            "http://clerk:hunter2@127.0.0.1:{}/r.csv?token=abc",
            free_port()
        ));
        let err = pull(&secret).await.unwrap_err();
        assert!(err.is_transient(), "{err}");
        let text = err.to_string();
        assert!(!text.contains("hunter2") && !text.contains("abc"), "{text}");

        // A Thai file name, percent-encoded in the URL, names the rows.
        let mut rows = sample_rows();
        rows.truncate(1);
        reports::write_csv(&dir.path().join("สรุป.csv"), &rows, &CsvStyle::default()).unwrap();
        let config = FileConfig::new(format!("{base}%E0%B8%AA%E0%B8%A3%E0%B8%B8%E0%B8%9B.csv"));
        let p = pull(&config).await.unwrap();
        assert_eq!(rows_of(&p), rows);
        assert_eq!(locations_of(&p), ["สรุป.csv line 2"]);
    }

    #[test]
    fn configuration() {
        let config: SourceConfig = serde_json::from_value(serde_json::json!({
            "kind": "file",
            "location": "https://example.org/สรุป.xlsx",
            "sheet": "สรุป",
            "encoding": "tis-620",
            "layout": "wide",
            "period": "ต.ค. 2568",
            "fund_id": "F100101",
            "delimiter": ";",
            "fields": {"members_total": "คนในกองทุน"}
        }))
        .unwrap();
        let SourceConfig::File(file) = &config else {
            panic!("{config:?}")
        };
        assert_eq!(file.encoding, TextEncoding::Windows874);
        assert_eq!(file.layout, FileLayout::Wide);
        assert_eq!(file.period.unwrap().to_string(), "2025-10");
        assert_eq!(file.delimiter, Some(';'));
        assert_eq!(
            (file.timeout_secs, file.format, file.header_row),
            (60, None, None)
        );
        assert_eq!(config.build("x").unwrap().kind(), "file");
        let err = serde_json::from_value::<SourceConfig>(
            serde_json::json!({"kind": "file", "location": "a.csv", "shee": "x"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("shee"), "{err}");
        for bad in [
            FileConfig::new(""),
            FileConfig::new("ftp://example.org/a.csv"),
            FileConfig {
                sheet: Some("x".into()),
                ..FileConfig::new("a.csv")
            },
            FileConfig {
                header_row: Some(0),
                ..FileConfig::new("a.csv")
            },
            FileConfig {
                delimiter: Some('ก'),
                ..FileConfig::new("a.csv")
            },
            FileConfig {
                timeout_secs: 0,
                ..FileConfig::new("a.csv")
            },
        ] {
            assert!(
                matches!(bad.build(source()), Err(ConnectorError::Config(_))),
                "{bad:?}"
            );
        }
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27 * 26), "AAA");
    }
}
