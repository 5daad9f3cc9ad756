//! `file`: a CSV or XLSX report from a path or an http(s) URL.
//!
//! The report is what a fund clerk makes: Thai or English column names (resolved by
//! [`crate::mapping`]), often a title above the header, Buddhist-era months and dates, Thai digits,
//! amounts with `฿` or `บาท`, saved by Thai Excel as UTF-8 (with or without a byte-order mark) or as
//! Windows-874. Two layouts, told apart by the header unless configured:
//!
//! - `long`: a header row, then one row per fund-month, for one fund or many;
//! - `wide`: one fund; the first column names the measures, each further column of the header row is
//!   a month (`ต.ค. 2568`); the fund comes from a `รหัสกองทุน` row (above the header or among the
//!   measures) or from the configuration.
//!
//! A file whose structure cannot be trusted is refused whole, naming the line, byte or cell (see
//! [`text`], [`csv`], [`xlsx`] and [`grid`]): nothing of it is stored. In a sound file a bad value
//! rejects its own row (or, in `wide`, its own month) with the reason and where it is
//! (`report.csv line 12`, `report.xlsx sheet สรุป cell D7`) and never blocks the others. Rows (or
//! months) with no figures at all are templates waiting to be filled in and are skipped. Every
//! other row is delivered, a fund-month written twice included: the hub judges repeats.
//!
//! Memory stays bounded: a file over `max_bytes` is refused before it is read (a URL is downloaded
//! to a temporary file, counting), CSV is decoded and split as a stream, and a workbook's zip is
//! checked before it is inflated. The cursor is the SHA-256 of the file's bytes, computed as a
//! stream: an unchanged file yields nothing.

mod csv;
mod grid;
#[cfg(test)]
mod structure_tests;
mod text;
mod xlsx;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use url::Url;
use welfare_model::{FundId, Period};

use self::csv::{CsvError, CsvReader};
use self::grid::{GridRow, Place, Rows, Settings, text_value};
use self::xlsx::{Container, Refusal, Workbook};
use crate::mapping::FieldMapping;
use crate::pipeline::ContentDigest;
use crate::source::{Connector, ConnectorError, Cursor, Pull};

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
    /// A byte-order mark decides; else the first non-ASCII character: UTF-8 if it is valid UTF-8,
    /// else Windows-874. The rest of the file must be of the same encoding.
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
    /// Told by the header: known column names make it `long`, months across it `wide`.
    #[default]
    Auto,
    /// One row per fund-month.
    Long,
    /// One fund: measures down the first column, months across the header.
    Wide,
}

fn default_timeout_secs() -> u64 {
    60
}

/// 100 MB: far above any fund's monthly report, far below what would strain the hub.
pub const DEFAULT_MAX_BYTES: u64 = 100_000_000;

fn default_max_bytes() -> u64 {
    DEFAULT_MAX_BYTES
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
    /// rows with two recognised column names (`long`) or months across it (`wide`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u32>,
    /// The CSV delimiter; `,` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// Source field names for canonical fields (`members_total = "สมาชิกทั้งหมด"`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Headings to leave unread without reporting them (`ignore = ["หมายเหตุ"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// The largest file read, in bytes (and the most a workbook may inflate to): larger ones are
    /// refused before they are read.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
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
            layout: FileLayout::Auto,
            fund_id: None,
            period: None,
            header_row: None,
            delimiter: None,
            fields: BTreeMap::new(),
            ignore: Vec::new(),
            max_bytes: DEFAULT_MAX_BYTES,
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
        if self.max_bytes == 0 {
            return Err(config_error("`max_bytes` must be at least 1".into()));
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
        if self.ignore.iter().any(|s| s.trim().is_empty()) {
            return Err(config_error("`ignore` lists an empty heading".into()));
        }
        let mapping = FieldMapping::new(&self.fields)?.with_ignored(&self.ignore);
        let client = match &location {
            Location::Url(_) => Some(http_client(self.timeout_secs).map_err(config_error)?),
            Location::Path(_) => None,
        };
        let settings = Settings {
            source,
            layout: self.layout,
            header_row: self.header_row,
            fund_id: self.fund_id.clone(),
            period: self.period,
            mapping,
        };
        Ok(FileConnector {
            inner: Arc::new(Inner {
                config: self.clone(),
                location,
                name,
                format,
                delimiter,
                settings,
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
        // An old `.xls` is refused when read, with the reason (old, or password-protected); some
        // systems also save CSV text under that name.
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
    location: Location,
    /// The file name, for row locations and messages.
    name: String,
    /// From the configuration or the extension; `None` means sniff the content.
    format: Option<FileFormat>,
    delimiter: u8,
    settings: Settings,
    client: Option<reqwest::Client>,
}

/// The file to read, on disk: the configured path, or a download in a temporary file.
struct Fetched {
    path: PathBuf,
    /// Removed when the read is done.
    _download: Option<tempfile::NamedTempFile>,
    /// The SHA-256 of the bytes ([`ContentDigest`]): the cursor.
    digest: String,
}

/// Runs blocking work (file reads, XLSX parsing) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ConnectorError> + Send + 'static,
) -> Result<T, ConnectorError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ConnectorError::Content(format!("reading the file failed: {e}")))?
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

/// A local file's error as the kind of failure it is.
fn file_error(path: &Path, e: &std::io::Error) -> ConnectorError {
    let message = format!("{}: {e}", path.display());
    match e.kind() {
        // A missing file may be a share not mounted yet or a report not yet uploaded: worth retrying.
        std::io::ErrorKind::NotFound => ConnectorError::Unreachable(message),
        std::io::ErrorKind::PermissionDenied => ConnectorError::Auth(message),
        std::io::ErrorKind::IsADirectory => ConnectorError::Config(message),
        _ => ConnectorError::Unreachable(message),
    }
}

/// A file over `max_bytes`, refused before it is read.
fn too_big(name: &str, size: impl std::fmt::Display, limit: u64) -> ConnectorError {
    ConnectorError::Content(format!(
        "{name} is {size} bytes, over the limit of {limit} bytes (max_bytes): refused before \
         reading; raise max_bytes if the report is genuinely that large"
    ))
}

impl Inner {
    /// The file on disk and its digest, from a path or over HTTP, within the size limit.
    async fn fetch(&self) -> Result<Fetched, ConnectorError> {
        match (&self.location, &self.client) {
            (Location::Path(path), _) => {
                let path = path.clone();
                let limit = self.config.max_bytes;
                let name = self.name.clone();
                blocking(move || {
                    let metadata = std::fs::metadata(&path).map_err(|e| file_error(&path, &e))?;
                    if metadata.is_dir() {
                        return Err(ConnectorError::Config(format!(
                            "{} is a directory, not a report file",
                            path.display()
                        )));
                    }
                    if metadata.len() > limit {
                        return Err(too_big(&name, metadata.len(), limit));
                    }
                    let mut file = File::open(&path).map_err(|e| file_error(&path, &e))?;
                    let mut digest = ContentDigest::new();
                    let mut chunk = vec![0u8; 64 * 1024];
                    loop {
                        let n = file.read(&mut chunk).map_err(|e| file_error(&path, &e))?;
                        if n == 0 {
                            break;
                        }
                        digest.update(&chunk[..n]);
                    }
                    Ok(Fetched {
                        path,
                        _download: None,
                        digest: digest.finish(),
                    })
                })
                .await
            }
            (Location::Url(url), Some(client)) => self.download(client, url).await,
            (Location::Url(_), None) => unreachable!("a URL location is built with a client"),
        }
    }

    /// Streams the body into a temporary file, refusing it once it passes the limit.
    async fn download(
        &self,
        client: &reqwest::Client,
        url: &Url,
    ) -> Result<Fetched, ConnectorError> {
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
        let mut response = client.get(url.clone()).send().await.map_err(transport)?;
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
        if let Some(length) = response.content_length()
            && length > self.config.max_bytes
        {
            return Err(too_big(&self.name, length, self.config.max_bytes));
        }
        let local = |e: std::io::Error| {
            ConnectorError::Unreachable(format!("{shown}: cannot store the download: {e}"))
        };
        let mut download = tempfile::NamedTempFile::new().map_err(local)?;
        let mut digest = ContentDigest::new();
        let mut received = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            received += chunk.len() as u64;
            if received > self.config.max_bytes {
                let limit = self.config.max_bytes;
                return Err(too_big(&self.name, format!("more than {limit}"), limit));
            }
            digest.update(&chunk);
            download.write_all(&chunk).map_err(local)?;
        }
        download.flush().map_err(local)?;
        Ok(Fetched {
            path: download.path().to_path_buf(),
            _download: Some(download),
            digest: digest.finish(),
        })
    }

    /// Reads the whole file into a pull (without a cursor), or refuses it.
    fn read(&self, path: &Path) -> Result<Pull, ConnectorError> {
        let mut file = File::open(path).map_err(|e| file_error(path, &e))?;
        let size = file.metadata().map_err(|e| file_error(path, &e))?.len();
        if size == 0 {
            return Err(ConnectorError::Content(format!(
                "{}: empty file (0 bytes)",
                self.name
            )));
        }
        let container = xlsx::sniff(&mut file).map_err(|e| file_error(path, &e))?;
        let refuse = |m: String| ConnectorError::Content(m);
        if container == Container::Ole {
            return Err(refuse(
                xlsx::ole_refusal(&mut file, &self.name).map_err(|e| file_error(path, &e))?,
            ));
        }
        let format = self.format.unwrap_or(match container {
            Container::Zip => FileFormat::Xlsx,
            _ => FileFormat::Csv,
        });
        match (format, container) {
            (FileFormat::Csv, Container::Zip) => Err(refuse(format!(
                "{} is an XLSX workbook, not CSV: set format = \"xlsx\"",
                self.name
            ))),
            (FileFormat::Csv, _) => self.read_csv(file),
            (FileFormat::Xlsx, Container::Zip) => self.read_xlsx(file),
            (FileFormat::Xlsx, _) => Err(refuse(format!(
                "{} is not an XLSX workbook (not a zip file): is it a CSV? set format = \"csv\"",
                self.name
            ))),
        }
    }

    fn read_csv(&self, file: File) -> Result<Pull, ConnectorError> {
        let decoded = text::Decoder::new(file, self.config.encoding);
        let mut records =
            CsvReader::new(BufReader::with_capacity(64 * 1024, decoded), self.delimiter);
        let place = Place::Csv {
            name: self.name.clone(),
            delimiter: self.delimiter,
        };
        let mut rows = Rows::new(&self.settings, place);
        let refuse = |e: CsvError| {
            ConnectorError::Content(match e {
                CsvError::Text(_) | CsvError::Io(_) => format!("{}: {e}", self.name),
                _ => format!("{} {e}", self.name),
            })
        };
        while let Some(record) = records.next_record().map_err(refuse)? {
            if record.is_blank_line() {
                continue;
            }
            rows.push(GridRow {
                number: record.line,
                cells: record.fields.into_iter().map(text_value).collect(),
            })?;
        }
        rows.finish()
    }

    fn read_xlsx(&self, file: File) -> Result<Pull, ConnectorError> {
        xlsx::check_zip(&file, self.config.max_bytes, &self.name)
            .map_err(ConnectorError::Content)?;
        let mut book = Workbook::open(file, self.config.sheet.as_deref(), &self.name).map_err(
            |r| match r {
                Refusal::Content(m) => ConnectorError::Content(m),
                Refusal::Config(m) => ConnectorError::Config(m),
            },
        )?;
        let described = format!("{} sheet {}", self.name, book.sheet);
        let merged = book.merged(&described).map_err(ConnectorError::Content)?;
        let book_sheet = book.sheet.clone();
        let mut rows: Option<Rows<'_>> = None;
        let mut failed = None;
        book.rows(&described, |first_col, row| {
            let reader = rows.get_or_insert_with(|| {
                Rows::new(
                    &self.settings,
                    Place::Xlsx {
                        name: self.name.clone(),
                        sheet: book_sheet.clone(),
                        first_col,
                        merged: merged.clone(),
                    },
                )
            });
            reader.push(row).map_err(|e| {
                let text = e.to_string();
                failed = Some(e);
                text
            })
        })
        .map_err(|m| failed.take().unwrap_or(ConnectorError::Content(m)))?;
        match rows {
            Some(rows) => rows.finish(),
            None => Err(ConnectorError::Content(format!(
                "{described}: the sheet is empty"
            ))),
        }
    }
}

#[async_trait]
impl Connector for FileConnector {
    fn kind(&self) -> &'static str {
        "file"
    }

    /// Reads the whole file, as a pull would, and keeps nothing.
    async fn check(&self) -> Result<(), ConnectorError> {
        let fetched = self.inner.fetch().await?;
        let inner = self.inner.clone();
        blocking(move || inner.read(&fetched.path).map(|_| ())).await
    }

    async fn pull(&self, since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        let fetched = self.inner.fetch().await?;
        if since.is_some_and(|c| c.0 == fetched.digest) {
            return Ok(Pull {
                cursor: since.cloned(),
                ..Pull::default()
            });
        }
        let inner = self.inner.clone();
        blocking(move || {
            let mut pull = inner.read(&fetched.path)?;
            pull.cursor = Some(Cursor(fetched.digest.clone()));
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

    use super::grid::column_letters;
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

    /// `bad` asking for template rows instead of bad ones.
    const TEMPLATE_ROWS: usize = usize::MAX;

    /// Bad rows for fixtures: a member count of "มาก" (many), then a month 13/2568.
    fn add_bad_rows(table: &mut Table, n: usize) {
        if n == TEMPLATE_ROWS {
            let mut row = vec![Cell::Empty; table.header.len()];
            row[0] = Cell::Text("F777001".into());
            row[1] = Cell::Month(Period::new(2025, 10).unwrap());
            table.rows.push(row);
            return;
        }
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

        /// A report whose rows are not filled in yet (fund and month, no figures): a header with
        /// no rows at all is refused ("no data rows").
        async fn empty(&mut self) -> SourceConfig {
            let name = self.next_name();
            self.write(&self.dir.path().join(&name), &[], TEMPLATE_ROWS);
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
            matches!(&err, ConnectorError::Content(m) if m.contains("wide.csv") && m.contains("no column for fund_id")),
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
            ConnectorError::Content(m) if m.contains("title.csv: no column for fund_id")
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

        // Without a fund id anywhere the file cannot be keyed: refused whole, not 2 rejections.
        let unnamed = FileConfig {
            fund_id: None,
            ..config
        };
        let err = unnamed.build(source()).unwrap().check().await.unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Content(m) if m.contains("one-fund.csv: no column for fund_id")),
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
        // Both copies are delivered: the hub keeps identical ones once and quarantines differing ones.
        let members: Vec<Option<i64>> = rows_of(&p).iter().map(|s| s.members_total).collect();
        assert_eq!(
            members,
            [Some(10), Some(11)],
            "November is an unfilled template"
        );
        assert_eq!(locations_of(&p), ["dup.csv line 2", "dup.csv line 3"]);
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
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
        // An empty file is refused: a fund that has not reported yet sends no file.
        let empty = write_file(dir.path(), "empty.csv", "");
        let connector = empty.build(source()).unwrap();
        assert!(matches!(
            connector.check().await.unwrap_err(),
            ConnectorError::Content(m) if m == "empty.csv: empty file (0 bytes)"
        ));
    }

    #[tokio::test]
    async fn files_that_are_no_report() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = write_file(dir.path(), "scan.pdf", b"%PDF-1.4\n\x00\x01binary");
        let err = pull(&pdf).await.unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Content(m) if m.contains("scan.pdf") && m.contains("a NUL byte at byte 9")),
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
        let named = write_file(
            dir.path(),
            "report.xls",
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
        );
        assert!(matches!(
            pull(&named).await.unwrap_err(),
            ConnectorError::Content(m) if m == "report.xls is an old Excel .xls file: save the report as .xlsx or CSV"
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
