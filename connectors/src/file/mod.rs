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
pub(crate) mod grid;
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
                table: TableFile {
                    name,
                    format,
                    encoding: self.encoding,
                    delimiter,
                    sheet: self.sheet.clone(),
                    max_bytes: self.max_bytes,
                },
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
    /// How the fetched file is read.
    table: TableFile,
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
                let name = self.table.name.clone();
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
            return Err(too_big(&self.table.name, length, self.config.max_bytes));
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
                return Err(too_big(
                    &self.table.name,
                    format!("more than {limit}"),
                    limit,
                ));
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
        self.table
            .read(path, |place| Rows::new(&self.settings, place))?
            .finish()
    }
}

/// How a CSV or XLSX table file is read, whatever its rows then become: a report's summaries, a
/// fund registry's lines.
#[derive(Debug, Clone)]
pub(crate) struct TableFile {
    /// The file name, for row locations and messages.
    pub name: String,
    /// From the configuration or the extension; `None` means sniff the content.
    pub format: Option<FileFormat>,
    pub encoding: TextEncoding,
    pub delimiter: u8,
    /// The XLSX sheet; by default the first.
    pub sheet: Option<String>,
    /// The most a workbook may inflate to.
    pub max_bytes: u64,
}

impl TableFile {
    /// A local file read with every default: format by extension or content, encoding sniffed,
    /// comma-separated, the first sheet.
    pub(crate) fn local(path: &Path, max_bytes: u64) -> Result<TableFile, String> {
        let name = Location::Path(path.to_path_buf()).file_name();
        Ok(TableFile {
            format: format_by_extension(&name)?,
            name,
            encoding: TextEncoding::Auto,
            delimiter: b',',
            sheet: None,
            max_bytes,
        })
    }

    /// Reads the whole file, row by row, into the sink `make` builds for where the rows are, or
    /// refuses it.
    pub(crate) fn read<S: RowSink>(
        &self,
        path: &Path,
        make: impl FnOnce(Place) -> S,
    ) -> Result<S, ConnectorError> {
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
            (FileFormat::Csv, _) => self.read_csv(file, make),
            (FileFormat::Xlsx, Container::Zip) => self.read_xlsx(file, make),
            (FileFormat::Xlsx, _) => Err(refuse(format!(
                "{} is not an XLSX workbook (not a zip file): is it a CSV? set format = \"csv\"",
                self.name
            ))),
        }
    }

    fn read_csv<S: RowSink>(
        &self,
        file: File,
        make: impl FnOnce(Place) -> S,
    ) -> Result<S, ConnectorError> {
        let decoded = text::Decoder::new(file, self.encoding);
        let mut records =
            CsvReader::new(BufReader::with_capacity(64 * 1024, decoded), self.delimiter);
        let place = Place::Csv {
            name: self.name.clone(),
            delimiter: self.delimiter,
        };
        let mut rows = make(place);
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
        Ok(rows)
    }

    fn read_xlsx<S: RowSink>(
        &self,
        file: File,
        make: impl FnOnce(Place) -> S,
    ) -> Result<S, ConnectorError> {
        xlsx::check_zip(&file, self.max_bytes, &self.name).map_err(ConnectorError::Content)?;
        let mut book =
            Workbook::open(file, self.sheet.as_deref(), &self.name).map_err(|r| match r {
                Refusal::Content(m) => ConnectorError::Content(m),
                Refusal::Config(m) => ConnectorError::Config(m),
            })?;
        let described = format!("{} sheet {}", self.name, book.sheet);
        let merged = book.merged(&described).map_err(ConnectorError::Content)?;
        let book_sheet = book.sheet.clone();
        let mut rows: Option<S> = None;
        let mut make = Some(make);
        let mut failed = None;
        book.rows(&described, |first_col, row| {
            let reader = rows.get_or_insert_with(|| {
                (make.take().expect("made once"))(Place::Xlsx {
                    name: self.name.clone(),
                    sheet: book_sheet.clone(),
                    first_col,
                    merged: merged.clone(),
                })
            });
            reader.push(row).map_err(|e| {
                let text = e.to_string();
                failed = Some(e);
                text
            })
        })
        .map_err(|m| failed.take().unwrap_or(ConnectorError::Content(m)))?;
        match rows {
            Some(rows) => Ok(rows),
            None => Err(ConnectorError::Content(format!(
                "{described}: the sheet is empty"
            ))),
        }
    }
}

/// What takes a table's rows, one at a time, as they are read.
pub(crate) trait RowSink {
    fn push(&mut self, row: GridRow) -> Result<(), ConnectorError>;
}

impl RowSink for Rows<'_> {
    fn push(&mut self, row: GridRow) -> Result<(), ConnectorError> {
        Rows::push(self, row)
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
    use super::grid::column_letters;
    use super::*;
    use crate::config::SourceConfig;

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
                matches!(
                    bad.build("connector:test".into()),
                    Err(ConnectorError::Config(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27 * 26), "AAA");
    }
}
