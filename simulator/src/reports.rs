//! Report files as a fund clerk makes them: CSV and XLSX with Thai column names, months written
//! `ต.ค. 2568`, Buddhist-era dates, thousands separators, optionally Thai digits and `฿`/`บาท`, saved as
//! UTF-8 with a byte-order mark or as Windows-874 (what Thai Excel saves). The `file` connector reads
//! them; the demo and the tests write them.
//!
//! Two layouts: [`Layout::Long`] (one row per fund-month, many funds) and [`Layout::Wide`] (one fund;
//! measures down the first column, months across). A measure that was not reported is an empty cell;
//! zero is written as zero.
//!
//! [`write_csv`] and [`write_xlsx`] write summaries in one call. To write something no clerk should
//! (a bad row for a test), build a [`Table`], change its cells, and write it with [`csv_bytes`] or
//! [`xlsx_bytes`].

use std::path::Path;

use chrono::{DateTime, Datelike, Timelike, Utc};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};
use welfare_model::summary::{MEASURES, MeasureValue};
use welfare_model::{Money, Period, Summary};

use welfare_connectors::mapping::{bangkok, canonical_heading};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("{0:?} cannot be written in Windows-874")]
    Unencodable(String),
    #[error("a wide report holds one fund; these rows hold {0}")]
    NotOneFund(String),
}

/// How the rows are laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// One row per fund-month; any number of funds.
    #[default]
    Long,
    /// One fund: the first column names the measures, each further column is a month.
    Wide,
}

/// One cell of a report, before it is written in a format's way.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Count(i64),
    Money(Money),
    Month(Period),
    Time(DateTime<Utc>),
}

impl Cell {
    fn text(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

/// A report's cells: the rows above the header (a title, the fund), the header, the data rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub top: Vec<Vec<Cell>>,
    pub header: Vec<Cell>,
    pub rows: Vec<Vec<Cell>>,
}

/// The column name a clerk writes for a canonical field: its first Thai alias.
pub fn thai_name(canonical: &str) -> &'static str {
    canonical_heading(canonical).unwrap_or_else(|| panic!("no alias for {canonical}"))
}

const REPORTED_AT: &str = "reported_at";

/// The measures some row reports, in schema order. A sheet has the columns its clerk fills: a money
/// column left empty would be refused (an empty amount cannot be told from a forgotten zero), so a
/// measure nobody reported gets no column at all. A template nobody has filled in yet (no figures at
/// all) keeps every column.
fn reported_measures(rows: &[Summary]) -> Vec<usize> {
    let reported: Vec<usize> = (0..MEASURES.len())
        .filter(|i| {
            rows.iter().any(|s| match s.measure(*i) {
                MeasureValue::Count(v) => v.is_some(),
                MeasureValue::Money(v) => v.is_some(),
            })
        })
        .collect();
    if reported.is_empty() {
        (0..MEASURES.len()).collect()
    } else {
        reported
    }
}

fn measure_cell(value: MeasureValue) -> Cell {
    match value {
        MeasureValue::Count(Some(n)) => Cell::Count(n),
        MeasureValue::Money(Some(m)) => Cell::Money(m),
        MeasureValue::Count(None) | MeasureValue::Money(None) => Cell::Empty,
    }
}

fn time_cell(t: Option<DateTime<Utc>>) -> Cell {
    t.map_or(Cell::Empty, Cell::Time)
}

impl Table {
    /// The rows in `layout`, with an optional title line (followed by a blank line) above.
    pub fn build(
        rows: &[Summary],
        layout: Layout,
        title: Option<&str>,
    ) -> Result<Table, ReportError> {
        let mut table = match layout {
            Layout::Long => Table::long(rows),
            Layout::Wide => Table::wide(rows)?,
        };
        if let Some(title) = title {
            table.top.splice(0..0, [vec![Cell::text(title)], vec![]]);
        }
        Ok(table)
    }

    /// One row per summary: fund, month, each measure some row reports, when it was reported.
    pub fn long(rows: &[Summary]) -> Table {
        let measures = reported_measures(rows);
        let mut header = vec![
            Cell::text(thai_name("fund_id")),
            Cell::text(thai_name("period")),
        ];
        header.extend(
            measures
                .iter()
                .map(|i| Cell::text(thai_name(MEASURES[*i].name))),
        );
        header.push(Cell::text(thai_name(REPORTED_AT)));
        let rows = rows
            .iter()
            .map(|s| {
                let mut row = vec![Cell::Text(s.fund_id.to_string()), Cell::Month(s.period)];
                row.extend(measures.iter().map(|i| measure_cell(s.measure(*i))));
                row.push(time_cell(s.reported_at));
                row
            })
            .collect();
        Table {
            top: Vec::new(),
            header,
            rows,
        }
    }

    /// One fund's months side by side (in period order); the fund id in a row above the header.
    pub fn wide(rows: &[Summary]) -> Result<Table, ReportError> {
        let Some(first) = rows.first() else {
            return Ok(Table {
                top: Vec::new(),
                header: vec![Cell::text("รายการ")],
                rows: Vec::new(),
            });
        };
        if let Some(other) = rows.iter().find(|s| s.fund_id != first.fund_id) {
            return Err(ReportError::NotOneFund(format!(
                "{} and {}",
                first.fund_id, other.fund_id
            )));
        }
        let mut months: Vec<&Summary> = rows.iter().collect();
        months.sort_by_key(|s| s.period);
        let mut header = vec![Cell::text("รายการ")];
        header.extend(months.iter().map(|s| Cell::Month(s.period)));
        let mut body: Vec<Vec<Cell>> = reported_measures(rows)
            .into_iter()
            .map(|i| {
                let mut row = vec![Cell::text(thai_name(MEASURES[i].name))];
                row.extend(months.iter().map(|s| measure_cell(s.measure(i))));
                row
            })
            .collect();
        let mut reported = vec![Cell::text(thai_name(REPORTED_AT))];
        reported.extend(months.iter().map(|s| time_cell(s.reported_at)));
        body.push(reported);
        Ok(Table {
            top: vec![vec![
                Cell::text(thai_name("fund_id")),
                Cell::Text(first.fund_id.to_string()),
            ]],
            header,
            rows: body,
        })
    }

    /// Every line in writing order: top, header, rows.
    fn lines(&self) -> impl Iterator<Item = &Vec<Cell>> {
        self.top
            .iter()
            .chain(std::iter::once(&self.header))
            .chain(&self.rows)
    }
}

/// The text encoding of a CSV report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CsvEncoding {
    /// UTF-8 with a byte-order mark: what Excel needs to open Thai CSV correctly.
    #[default]
    Utf8Bom,
    Utf8,
    /// Windows-874 (TIS-620 plus a few marks): what Thai Excel saves as "CSV".
    Windows874,
}

/// Thai (๐–๙) or ASCII digits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Digits {
    #[default]
    Ascii,
    Thai,
}

/// How amounts carry their currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BahtMark {
    /// `1,234.50`
    #[default]
    None,
    /// `฿1,234.50`
    Sign,
    /// `1,234.50 บาท`
    Word,
}

/// How to write a CSV report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvStyle {
    pub layout: Layout,
    /// A title line above the header (clerks' exports often have one).
    pub title: Option<String>,
    pub encoding: CsvEncoding,
    pub digits: Digits,
    pub baht: BahtMark,
    pub delimiter: u8,
}

impl Default for CsvStyle {
    fn default() -> Self {
        CsvStyle {
            layout: Layout::Long,
            title: None,
            encoding: CsvEncoding::Utf8Bom,
            digits: Digits::Ascii,
            baht: BahtMark::None,
            delimiter: b',',
        }
    }
}

/// How to write an XLSX report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlsxStyle {
    pub layout: Layout,
    /// The title in cell A1, with a blank row under it; `None` puts the header in row 1.
    pub title: Option<String>,
    pub sheet: String,
    /// Months as date cells (the first of the month) instead of text such as `ต.ค. 2568`.
    pub months_as_dates: bool,
}

/// The title clerks put above a monthly summary.
pub const DEFAULT_TITLE: &str = "รายงานสรุปรายเดือน กองทุนสวัสดิการชุมชน";
/// The sheet name of the reports the simulator writes.
pub const DEFAULT_SHEET: &str = "สรุปรายเดือน";

impl XlsxStyle {
    /// Many funds, one row per fund-month, a title above the header, sheet `สรุปรายเดือน`.
    pub fn long() -> Self {
        XlsxStyle {
            layout: Layout::Long,
            title: Some(DEFAULT_TITLE.to_string()),
            sheet: DEFAULT_SHEET.to_string(),
            months_as_dates: false,
        }
    }

    /// One fund, measures down and months across, a title above.
    pub fn wide() -> Self {
        XlsxStyle {
            layout: Layout::Wide,
            ..XlsxStyle::long()
        }
    }
}

impl Default for XlsxStyle {
    fn default() -> Self {
        XlsxStyle::long()
    }
}

/// Thai month abbreviations as documents write them (`ต.ค.`), January first.
pub const THAI_MONTH_ABBREVIATIONS: [&str; 12] = [
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
];

/// A month as Thai documents write it: `ต.ค. 2568`.
pub fn thai_month(period: Period) -> String {
    format!(
        "{} {}",
        THAI_MONTH_ABBREVIATIONS[period.month() as usize - 1],
        period.year_be()
    )
}

/// ASCII digits as Thai digits (the inverse of `welfare_model::thai::ascii_digits`).
pub fn thai_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0x0E50 + (c as u32 - '0' as u32)).unwrap_or(c),
            other => other,
        })
        .collect()
}

/// `1234567` → `1,234,567`; a leading minus is kept.
fn group_thousands(integer: &str) -> String {
    let (sign, digits) = match integer.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", integer),
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

fn money_text(m: Money, baht: BahtMark) -> String {
    // Display always gives two decimals, so the split is exact text work, never arithmetic.
    let plain = m.to_string();
    let (integer, fraction) = plain.split_once('.').unwrap_or((&plain, "00"));
    let amount = format!("{}.{fraction}", group_thousands(integer));
    match baht {
        BahtMark::None => amount,
        BahtMark::Sign => format!("฿{amount}"),
        BahtMark::Word => format!("{amount} บาท"),
    }
}

/// Bangkok wall-clock time with a Buddhist-era year, as a clerk types it: `10/10/2568 09:30`.
fn thai_time(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&bangkok());
    let mut text = format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        local.day(),
        local.month(),
        local.year() + welfare_model::thai::BUDDHIST_ERA_OFFSET,
        local.hour(),
        local.minute()
    );
    if local.second() != 0 {
        text.push_str(&format!(":{:02}", local.second()));
    }
    text
}

fn csv_cell(cell: &Cell, style: &CsvStyle) -> String {
    let text = match cell {
        Cell::Empty => return String::new(),
        // Text is written as the clerk typed it: digits are not converted.
        Cell::Text(t) => return t.clone(),
        Cell::Count(n) => group_thousands(&n.to_string()),
        Cell::Money(m) => money_text(*m, style.baht),
        Cell::Month(p) => thai_month(*p),
        Cell::Time(t) => thai_time(*t),
    };
    match style.digits {
        Digits::Ascii => text,
        Digits::Thai => thai_digits(&text),
    }
}

/// A table as CSV bytes in `style` (its layout and title are the table's business, not used here).
pub fn csv_bytes(table: &Table, style: &CsvStyle) -> Result<Vec<u8>, ReportError> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(style.delimiter)
        .flexible(true)
        .from_writer(Vec::new());
    for line in table.lines() {
        let mut cells: Vec<String> = line.iter().map(|c| csv_cell(c, style)).collect();
        // A blank row comes out as Excel saves it: a row of empty fields (`,,,,`).
        if cells.is_empty() {
            cells = vec![String::new(); table.header.len().max(2)];
        }
        writer.write_record(&cells)?;
    }
    let utf8 = writer
        .into_inner()
        .map_err(|e| ReportError::Io(e.into_error()))?;
    let text = String::from_utf8(utf8).expect("csv writes the UTF-8 it is given");
    Ok(match style.encoding {
        CsvEncoding::Utf8 => text.into_bytes(),
        CsvEncoding::Utf8Bom => {
            let mut bytes = "\u{feff}".as_bytes().to_vec();
            bytes.extend_from_slice(text.as_bytes());
            bytes
        }
        CsvEncoding::Windows874 => {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_874.encode(&text);
            if unmappable {
                // encoding_rs would write &#NNNN; instead: refuse rather than write a wrong report.
                let bad: String = text
                    .chars()
                    .filter(|c| {
                        let mut buf = [0; 4];
                        encoding_rs::WINDOWS_874.encode(c.encode_utf8(&mut buf)).2
                    })
                    .collect();
                return Err(ReportError::Unencodable(bad));
            }
            bytes.into_owned()
        }
    })
}

impl From<csv::Error> for ReportError {
    fn from(e: csv::Error) -> Self {
        ReportError::Io(std::io::Error::other(e))
    }
}

/// Writes `rows` as a CSV report at `path`.
pub fn write_csv(path: &Path, rows: &[Summary], style: &CsvStyle) -> Result<(), ReportError> {
    let table = Table::build(rows, style.layout, style.title.as_deref())?;
    std::fs::write(path, csv_bytes(&table, style)?)?;
    Ok(())
}

fn excel_datetime(t: DateTime<Utc>) -> Result<ExcelDateTime, XlsxError> {
    // Excel has no time zones: a clerk's sheet holds Bangkok wall-clock time.
    let local = t.with_timezone(&bangkok());
    ExcelDateTime::from_ymd(local.year() as u16, local.month() as u8, local.day() as u8)?.and_hms(
        local.hour() as u16,
        local.minute() as u8,
        local.second(),
    )
}

/// A table as XLSX bytes: one sheet named `style.sheet`, numbers as numbers with thousands
/// separators, times as Excel dates (layout and title are the table's business, not used here).
pub fn xlsx_bytes(table: &Table, style: &XlsxStyle) -> Result<Vec<u8>, ReportError> {
    xlsx_workbook(&[(style.sheet.as_str(), table)], style.months_as_dates)
}

/// A workbook of several sheets (name, table), in order: clerks keep notes or last year beside the
/// summary.
pub fn xlsx_workbook(
    sheets: &[(&str, &Table)],
    months_as_dates: bool,
) -> Result<Vec<u8>, ReportError> {
    let mut workbook = Workbook::new();
    for (name, table) in sheets {
        write_sheet(&mut workbook, name, table, months_as_dates)?;
    }
    Ok(workbook.save_to_buffer()?)
}

fn write_sheet(
    workbook: &mut Workbook,
    name: &str,
    table: &Table,
    months_as_dates: bool,
) -> Result<(), ReportError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name(name)?;
    let bold = Format::new().set_bold();
    let count = Format::new().set_num_format("#,##0");
    let money = Format::new().set_num_format("#,##0.00");
    let time = Format::new().set_num_format("dd/mm/yyyy hh:mm");
    let month = Format::new().set_num_format("mmm yyyy");
    let header_row = table.top.len();
    let mut widest = 0;
    for (r, line) in table.lines().enumerate() {
        let r = u32::try_from(r).expect("a report fits a sheet");
        widest = widest.max(line.len());
        for (c, cell) in line.iter().enumerate() {
            let c = u16::try_from(c).expect("a report fits a sheet");
            let is_label = r as usize == header_row || ((r as usize) < header_row && c == 0);
            match cell {
                Cell::Empty => {}
                Cell::Text(t) if is_label => {
                    sheet.write_string_with_format(r, c, t, &bold)?;
                }
                Cell::Text(t) => {
                    sheet.write_string(r, c, t)?;
                }
                // Counts and amounts are doubles in XLSX: exact for any count below 2^53 and any
                // amount below 2^53 satang, which `mapping::parse_money` reads back to the satang.
                Cell::Count(n) => {
                    sheet.write_number_with_format(r, c, *n as f64, &count)?;
                }
                Cell::Money(m) => {
                    let value: f64 = m.to_string().parse().expect("money text is a number");
                    sheet.write_number_with_format(r, c, value, &money)?;
                }
                Cell::Month(p) if months_as_dates => {
                    let date = ExcelDateTime::from_ymd(p.year() as u16, p.month() as u8, 1)?;
                    sheet.write_datetime_with_format(r, c, &date, &month)?;
                }
                Cell::Month(p) => {
                    sheet.write_string(r, c, thai_month(*p))?;
                }
                Cell::Time(t) => {
                    sheet.write_datetime_with_format(r, c, excel_datetime(*t)?, &time)?;
                }
            }
        }
    }
    for c in 0..widest {
        sheet.set_column_width(u16::try_from(c).expect("a report fits a sheet"), 16)?;
    }
    Ok(())
}

/// Writes `rows` as an XLSX report at `path`.
pub fn write_xlsx(path: &Path, rows: &[Summary], style: &XlsxStyle) -> Result<(), ReportError> {
    let table = Table::build(rows, style.layout, style.title.as_deref())?;
    std::fs::write(path, xlsx_bytes(&table, style)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use calamine::{Data, Reader, Xlsx};
    use chrono::TimeZone;
    use welfare_model::FundId;

    use super::*;
    use welfare_connectors::mapping::{FieldMapping, Target};

    fn row(fund: &str, period: &str) -> Summary {
        let mut s = Summary::new(FundId::parse(fund).unwrap(), Period::parse(period).unwrap());
        s.members_total = Some(1_234_567);
        s.grant_state = Some(Money::parse("1234567.89").unwrap());
        s.grant_local = Some(Money::ZERO);
        s.benefits_death = Some(Money::parse("-1000.50").unwrap());
        s.reported_at = Some(Utc.with_ymd_and_hms(2025, 11, 10, 2, 30, 0).unwrap());
        s
    }

    fn column(table: &Table, canonical: &str) -> usize {
        table
            .header
            .iter()
            .position(|c| *c == Cell::text(thai_name(canonical)))
            .unwrap()
    }

    #[test]
    fn headers_are_names_the_mapping_reads_back() {
        let mapping = FieldMapping::default();
        let table = Table::long(&[]);
        let names: Vec<&str> = table
            .header
            .iter()
            .map(|c| match c {
                Cell::Text(t) => t.as_str(),
                other => panic!("header cell {other:?}"),
            })
            .collect();
        assert_eq!(names[..3], ["รหัสกองทุน", "เดือน", "จำนวนสมาชิก"]);
        assert!(names.contains(&"เงินสมทบจากรัฐ") && names.contains(&"ยอดเงินกองทุน"));
        let mut expected = vec!["fund_id", "period"];
        expected.extend(MEASURES.iter().map(|m| m.name));
        expected.push("reported_at");
        for (name, canonical) in names.iter().zip(expected) {
            assert_eq!(
                mapping.resolve(name),
                Target::by_name(canonical),
                "{name} reads back as {canonical}"
            );
        }
    }

    #[test]
    fn csv_as_a_clerk_writes_it() {
        let mut a = row("F100101", "2025-10");
        a.members_children = None;
        let rows = [a];
        let style = CsvStyle {
            title: Some("รายงาน".into()),
            ..CsvStyle::default()
        };
        let bytes = csv_bytes(
            &Table::build(&rows, Layout::Long, style.title.as_deref()).unwrap(),
            &style,
        )
        .unwrap();
        assert!(bytes.starts_with("\u{feff}".as_bytes()), "UTF-8 with BOM");
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "รายงาน");
        assert!(
            lines[1].len() >= 3 && lines[1].chars().all(|c| c == ','),
            "a blank row under the title, as Excel saves it: {}",
            lines[1]
        );
        assert!(lines[2].starts_with("รหัสกองทุน,เดือน,จำนวนสมาชิก,"));
        // Fields with thousands separators are quoted: read them back with csv.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(lines[3].as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        let table = Table::long(&rows);
        assert_eq!(&record[0], "F100101");
        assert_eq!(&record[1], "ต.ค. 2568");
        assert_eq!(&record[column(&table, "members_total")], "1,234,567");
        assert!(
            !table
                .header
                .contains(&Cell::text(thai_name("members_children"))),
            "a measure no row reports gets no column (an empty money cell would be refused)"
        );
        assert_eq!(&record[column(&table, "grant_state")], "1,234,567.89");
        assert_eq!(
            &record[column(&table, "grant_local")],
            "0.00",
            "zero is zero"
        );
        assert_eq!(&record[column(&table, "benefits_death")], "-1,000.50");
        assert_eq!(&record[column(&table, "reported_at")], "10/11/2568 09:30");
    }

    #[test]
    fn thai_digits_baht_and_windows_874() {
        let rows = [row("F100101", "2025-10")];
        let style = CsvStyle {
            encoding: CsvEncoding::Windows874,
            digits: Digits::Thai,
            baht: BahtMark::Word,
            ..CsvStyle::default()
        };
        let bytes = csv_bytes(&Table::long(&rows), &style).unwrap();
        assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8");
        let (text, _, bad) = encoding_rs::WINDOWS_874.decode(&bytes);
        assert!(!bad);
        let table = Table::long(&rows);
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[1], "ต.ค. ๒๕๖๘");
        assert_eq!(&record[column(&table, "members_total")], "๑,๒๓๔,๕๖๗");
        assert_eq!(&record[column(&table, "grant_state")], "๑,๒๓๔,๕๖๗.๘๙ บาท");
        assert_eq!(&record[column(&table, "reported_at")], "๑๐/๑๑/๒๕๖๘ ๐๙:๓๐");
        let sign = CsvStyle {
            baht: BahtMark::Sign,
            encoding: CsvEncoding::Utf8,
            ..CsvStyle::default()
        };
        let text = String::from_utf8(csv_bytes(&table, &sign).unwrap()).unwrap();
        assert!(text.contains("\"฿1,234,567.89\""), "{text}");
        assert!(!text.starts_with('\u{feff}'));
        let mut odd = Table::long(&[]);
        odd.rows.push(vec![Cell::text("F1"), Cell::text("😀")]);
        assert!(matches!(
            csv_bytes(&odd, &style),
            Err(ReportError::Unencodable(c)) if c == "😀"
        ));
    }

    #[test]
    fn xlsx_long_and_wide() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = row("F100101", "2025-09");
        b.members_total = Some(0);
        b.grant_state = None;
        let rows = [row("F100101", "2025-10"), b];
        let path = dir.path().join("long.xlsx");
        write_xlsx(&path, &rows, &XlsxStyle::long()).unwrap();
        let mut book: Xlsx<_> = calamine::open_workbook(&path).unwrap();
        assert_eq!(book.sheet_names(), ["สรุปรายเดือน"]);
        let range = book.worksheet_range("สรุปรายเดือน").unwrap();
        assert_eq!(
            range.get_value((0, 0)),
            Some(&Data::String(DEFAULT_TITLE.into()))
        );
        assert_eq!(
            range.get_value((2, 0)),
            Some(&Data::String("รหัสกองทุน".into()))
        );
        assert_eq!(
            range.get_value((3, 1)),
            Some(&Data::String("ต.ค. 2568".into()))
        );
        assert_eq!(range.get_value((3, 2)), Some(&Data::Float(1_234_567.0)));
        assert_eq!(
            range.get_value((4, 2)),
            Some(&Data::Float(0.0)),
            "zero is zero"
        );
        let grant = column(&Table::long(&rows), "grant_state") as u32;
        assert_eq!(
            range.get_value((3, grant)),
            Some(&Data::Float(1_234_567.89))
        );
        assert!(
            matches!(range.get_value((4, grant)), None | Some(Data::Empty)),
            "unreported is an empty cell"
        );

        let path = dir.path().join("wide.xlsx");
        write_xlsx(&path, &rows, &XlsxStyle::wide()).unwrap();
        let mut book: Xlsx<_> = calamine::open_workbook(&path).unwrap();
        let range = book.worksheet_range("สรุปรายเดือน").unwrap();
        assert_eq!(
            range.get_value((2, 1)),
            Some(&Data::String("F100101".into()))
        );
        assert_eq!(
            range.get_value((3, 0)),
            Some(&Data::String("รายการ".into()))
        );
        // Months in period order across the header.
        assert_eq!(
            range.get_value((3, 1)),
            Some(&Data::String("ก.ย. 2568".into()))
        );
        assert_eq!(
            range.get_value((3, 2)),
            Some(&Data::String("ต.ค. 2568".into()))
        );
        assert_eq!(
            range.get_value((4, 0)),
            Some(&Data::String("จำนวนสมาชิก".into()))
        );
        assert_eq!(range.get_value((4, 1)), Some(&Data::Float(0.0)));
        assert_eq!(range.get_value((4, 2)), Some(&Data::Float(1_234_567.0)));

        let mixed = [row("F1", "2025-10"), row("F2", "2025-10")];
        assert!(matches!(
            write_xlsx(&path, &mixed, &XlsxStyle::wide()),
            Err(ReportError::NotOneFund(_))
        ));
    }

    #[test]
    fn number_text() {
        assert_eq!(group_thousands("0"), "0");
        assert_eq!(group_thousands("999"), "999");
        assert_eq!(group_thousands("1000"), "1,000");
        assert_eq!(group_thousands("-1234567"), "-1,234,567");
        assert_eq!(thai_digits("10/2568"), "๑๐/๒๕๖๘");
        assert_eq!(thai_month(Period::new(2026, 1).unwrap()), "ม.ค. 2569");
    }
}
