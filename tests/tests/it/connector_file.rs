//! The `file` connector against the simulator's report files (CSV, XLSX, over HTTP), with the
//! compliance test on every way a clerk saves a report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::get;
use welfare_connectors::batch::from_batch;
use welfare_connectors::compliance::{self, Fixture, sample_rows};
use welfare_connectors::config::SourceConfig;
use welfare_connectors::file::*;
use welfare_connectors::{Connector, ConnectorError, Pull};
use welfare_model::{FundId, Money, Period, Summary};
use welfare_simulator::reports::{
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
    let workbook = reports::xlsx_bytes(&Table::long(&sample_rows()), &XlsxStyle::long()).unwrap();
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
