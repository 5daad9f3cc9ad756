//! From rows of cells (CSV records or sheet rows, pushed one at a time) to mapped records.
//!
//! The header is looked for in the first rows (or where configured); it also tells the layout apart
//! when none is configured: two or more column names Welfare Hub knows make a `long` header, months
//! across the row (with the first cell empty or labelled `เดือน`) a `wide` one. Below a `long` header
//! every row is mapped as it arrives, so only the rows above the header are ever held; a `wide` report
//! (one fund, a few measures) is held whole, up to [`WIDE_MAX_ROWS`].

use calamine::Data;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use welfare_model::{FundId, Period};

use super::FileLayout;
use crate::mapping::{
    FieldMapping, HeaderDefaults, HeaderMap, RawRecord, RawValue, RecordMapper, Target,
};
use crate::pipeline::PullBuilder;
use crate::source::{ConnectorError, Pull, UnrecognisedColumn};

/// How many non-blank rows from the top are searched for the header when `header_row` is not set.
pub const HEADER_SEARCH_ROWS: usize = 20;

/// The most rows a `wide` report may have (it holds one fund's measures, a dozen or two).
pub const WIDE_MAX_ROWS: usize = 1000;

/// One row of a CSV file or a sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct GridRow {
    /// The CSV line where the row starts, or the sheet's row number (both 1-based).
    pub number: u64,
    pub cells: Vec<RawValue>,
}

impl GridRow {
    fn is_blank(&self) -> bool {
        self.cells.iter().all(blank)
    }

    fn label(&self) -> String {
        self.cells.first().map(header_text).unwrap_or_default()
    }
}

/// Where the rows come from, for locations.
#[derive(Debug, Clone)]
pub enum Place {
    Csv {
        name: String,
        /// The configured delimiter, to recognise a file written with another one.
        delimiter: u8,
    },
    Xlsx {
        name: String,
        sheet: String,
        /// The sheet column (0-based) of the rows' first cell.
        first_col: u32,
        /// Merged ranges: (last row, 1-based; `A5:C6`).
        merged: Vec<(u64, String)>,
    },
}

impl Place {
    /// `report.csv`, `report.xlsx sheet สรุป`.
    pub fn describe(&self) -> String {
        match self {
            Place::Csv { name, .. } => name.clone(),
            Place::Xlsx { name, sheet, .. } => format!("{name} sheet {sheet}"),
        }
    }

    /// A long row: `report.csv line 12`, `report.xlsx sheet สรุป row 7`.
    pub fn row_location(&self, number: u64) -> String {
        match self {
            Place::Csv { name, .. } => format!("{name} line {number}"),
            Place::Xlsx { name, sheet, .. } => format!("{name} sheet {sheet} row {number}"),
        }
    }

    /// One value: `report.csv line 12 column 4`, `report.xlsx sheet สรุป cell D7`.
    pub fn cell_location(&self, number: u64, c: usize) -> String {
        match self {
            Place::Csv { name, .. } => format!("{name} line {number} column {}", c + 1),
            Place::Xlsx {
                name,
                sheet,
                first_col,
                ..
            } => format!(
                "{name} sheet {sheet} cell {}{number}",
                column_letters(first_col + c as u32)
            ),
        }
    }

    /// A wide month: `report.csv column 3`, `report.xlsx sheet สรุป column C`.
    fn column_location(&self, c: usize) -> String {
        match self {
            Place::Csv { name, .. } => format!("{name} column {}", c + 1),
            Place::Xlsx {
                name,
                sheet,
                first_col,
                ..
            } => format!(
                "{name} sheet {sheet} column {}",
                column_letters(first_col + c as u32)
            ),
        }
    }

    fn refuse(&self, message: impl std::fmt::Display) -> ConnectorError {
        ConnectorError::Content(format!("{}: {message}", self.describe()))
    }

    fn refuse_at(&self, number: u64, message: impl std::fmt::Display) -> ConnectorError {
        ConnectorError::Content(format!("{} {message}", self.row_location(number)))
    }
}

/// What the configuration says about reading rows.
#[derive(Debug)]
pub struct Settings {
    pub source: String,
    pub layout: FileLayout,
    pub header_row: Option<u32>,
    pub fund_id: Option<FundId>,
    pub period: Option<Period>,
    /// The configured `fields` and `ignore`.
    pub mapping: FieldMapping,
}

/// Reads pushed rows into a pull.
pub struct Rows<'a> {
    settings: &'a Settings,
    place: Place,
    stage: Stage,
    pull: PullBuilder,
}

enum Stage {
    /// Looking for the header: the non-blank rows so far.
    Searching(Vec<GridRow>),
    Long(Long),
    Wide(Wide),
}

struct Long {
    header: u64,
    names: Vec<String>,
    targets: Vec<Option<Target>>,
    /// Whether a rejected value is located by its cell (XLSX) or by its line (CSV, where the
    /// reason names the column).
    by_cell: bool,
    /// Up to the last named column.
    width: usize,
    data_rows: usize,
}

struct Wide {
    above: Vec<GridRow>,
    header: GridRow,
    rows: Vec<GridRow>,
}

impl<'a> Rows<'a> {
    pub fn new(settings: &'a Settings, place: Place) -> Self {
        let mut mapper = RecordMapper::new(settings.source.clone());
        mapper.money_required = true;
        mapper.fund_id = settings.fund_id.clone();
        mapper.period = settings.period;
        Rows {
            settings,
            place,
            stage: Stage::Searching(Vec::new()),
            pull: PullBuilder::new(mapper),
        }
    }

    /// Takes the next row of the file. Blank rows (and rows of empty cells) are skipped.
    pub fn push(&mut self, row: GridRow) -> Result<(), ConnectorError> {
        if row.is_blank() {
            return Ok(());
        }
        match &mut self.stage {
            Stage::Searching(_) => self.search(row),
            Stage::Long(_) => self.long_row(row),
            Stage::Wide(wide) => {
                if wide.rows.len() >= WIDE_MAX_ROWS {
                    return Err(self.place.refuse_at(
                        row.number,
                        format!(
                            "a wide report (months across) has at most {WIDE_MAX_ROWS} rows; is it a long one?"
                        ),
                    ));
                }
                check_width(
                    &self.place,
                    named_width(&wide.header),
                    wide.header.number,
                    &row,
                )?;
                wide.rows.push(row);
                Ok(())
            }
        }
    }

    fn search(&mut self, row: GridRow) -> Result<(), ConnectorError> {
        if let Some(wanted) = self.settings.header_row
            && row.number > u64::from(wanted)
        {
            return Err(self.no_header());
        }
        self.other_delimiter(&row)?;
        if let Some(layout) = self.header_layout(&row) {
            let Stage::Searching(above) =
                std::mem::replace(&mut self.stage, Stage::Searching(Vec::new()))
            else {
                unreachable!("searching")
            };
            return self.start(layout, above, row);
        }
        let searched = match &self.stage {
            Stage::Searching(above) => above.len() + 1,
            _ => unreachable!("searching"),
        };
        if self.settings.header_row.is_none() && searched >= HEADER_SEARCH_ROWS {
            return Err(self.no_header());
        }
        if let Stage::Searching(above) = &mut self.stage {
            above.push(row);
        }
        Ok(())
    }

    /// The pull, once every row is pushed.
    pub fn finish(mut self) -> Result<Pull, ConnectorError> {
        match std::mem::replace(&mut self.stage, Stage::Searching(Vec::new())) {
            Stage::Searching(above) if above.is_empty() => Err(match &self.place {
                Place::Csv { .. } => self.place.refuse("empty file: it holds no text"),
                Place::Xlsx { .. } => self.place.refuse("the sheet is empty"),
            }),
            Stage::Searching(_) => Err(self.no_header()),
            Stage::Long(long) if long.data_rows == 0 => Err(self
                .place
                .refuse_at(long.header, "is the header, and no data rows follow it")),
            Stage::Long(_) => self.pull.finish(None),
            Stage::Wide(wide) => {
                self.wide_records(&wide)?;
                self.pull.finish(None)
            }
        }
    }

    /// The layout `row` is the header of, if it is one.
    fn header_layout(&self, row: &GridRow) -> Option<FileLayout> {
        if let Some(wanted) = self.settings.header_row {
            return (row.number == u64::from(wanted)).then(|| match self.settings.layout {
                FileLayout::Wide => FileLayout::Wide,
                FileLayout::Long => FileLayout::Long,
                FileLayout::Auto if self.is_wide_header(row, 1) => FileLayout::Wide,
                FileLayout::Auto => FileLayout::Long,
            });
        }
        match self.settings.layout {
            FileLayout::Long => self.is_long_header(row).then_some(FileLayout::Long),
            FileLayout::Wide => self.is_wide_header(row, 1).then_some(FileLayout::Wide),
            // Without configuration a wide header needs two months (or a month row labelled เดือน):
            // one month after a fund id is a long data row.
            FileLayout::Auto if self.is_long_header(row) => Some(FileLayout::Long),
            FileLayout::Auto => self.is_wide_header(row, 2).then_some(FileLayout::Wide),
        }
    }

    fn is_long_header(&self, row: &GridRow) -> bool {
        row.cells
            .iter()
            .filter(|c| self.settings.mapping.resolve(&header_text(c)).is_some())
            .count()
            >= 2
    }

    /// Months after the first cell (at least `months` of them, or one when the first cell is `เดือน`);
    /// not a labelled row such as `รหัสกองทุน | 202510`, whose value could pass for a month.
    fn is_wide_header(&self, row: &GridRow, months: usize) -> bool {
        let found = row.cells.iter().skip(1).filter(|c| is_month(c)).count();
        match self.settings.mapping.resolve(&row.label()) {
            Some(Target::Period) => found >= 1,
            Some(_) => false,
            None => found >= months,
        }
    }

    /// A CSV row of one field that another delimiter would split into known column names.
    fn other_delimiter(&self, row: &GridRow) -> Result<(), ConnectorError> {
        let Place::Csv { delimiter, .. } = &self.place else {
            return Ok(());
        };
        let [RawValue::Text(only)] = row.cells.as_slice() else {
            return Ok(());
        };
        for (found, called) in [
            (b',', "\",\" (comma)"),
            (b';', "\";\" (semicolon)"),
            (b'\t', "a tab"),
            (b'|', "\"|\" (vertical bar)"),
        ] {
            if found == *delimiter {
                continue;
            }
            let known = only
                .split(char::from(found))
                .filter(|name| self.settings.mapping.resolve(name).is_some())
                .count();
            if known >= 2 {
                return Err(self.place.refuse_at(
                    row.number,
                    format!(
                        "the fields are separated by {called}, but the configured delimiter is {}; \
                         set delimiter = \"{}\"",
                        shown_delimiter(*delimiter),
                        char::from(found).escape_default()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn no_header(&self) -> ConnectorError {
        if let Some(wanted) = self.settings.header_row {
            return self
                .place
                .refuse(format!("header_row {wanted} is empty or past the end"));
        }
        match self.settings.layout {
            FileLayout::Wide => self.place.refuse(format!(
                "no header row: none of the first {HEADER_SEARCH_ROWS} rows has a month \
                 (such as ต.ค. 2568) after its first cell; set `header_row` or layout = \"long\""
            )),
            _ => self.place.refuse(format!(
                "no header row: none of the first {HEADER_SEARCH_ROWS} rows has two column \
                 names Welfare Hub knows (such as รหัสกองทุน, เดือน, จำนวนสมาชิก), nor months \
                 across it; set `header_row`, map columns in `fields`, or set `layout`"
            )),
        }
    }

    fn start(
        &mut self,
        layout: FileLayout,
        above: Vec<GridRow>,
        header: GridRow,
    ) -> Result<(), ConnectorError> {
        if let Place::Xlsx { merged, .. } = &self.place
            && let Some((_, range)) = merged.iter().find(|(last, _)| *last > header.number)
        {
            return Err(ConnectorError::Content(format!(
                "{} cells {range}: merged cells below the header (row {}) hide which row a value \
                 belongs to; unmerge them and fill in every cell",
                self.place.describe(),
                header.number
            )));
        }
        if layout == FileLayout::Wide {
            self.stage = Stage::Wide(Wide {
                above,
                header,
                rows: Vec::new(),
            });
            return Ok(());
        }
        let names: Vec<String> = header.cells.iter().map(header_text).collect();
        let defaults = HeaderDefaults {
            fund_id: self.settings.fund_id.is_some(),
            period: self.settings.period.is_some(),
            members_total_required: true,
        };
        let map = self.header_map(&names, defaults)?;
        self.report_unrecognised(&names, &map, |c| (header.number, c));
        self.stage = Stage::Long(Long {
            header: header.number,
            width: named_width(&header),
            names,
            targets: map.targets,
            by_cell: matches!(self.place, Place::Xlsx { .. }),
            data_rows: 0,
        });
        for row in above.into_iter().filter(|r| r.number > header.number) {
            self.long_row(row)?;
        }
        Ok(())
    }

    /// The header's targets through the shared mapping, which refuses an ambiguous heading, two
    /// columns for one field and a missing required field.
    fn header_map(
        &self,
        names: &[String],
        defaults: HeaderDefaults,
    ) -> Result<HeaderMap, ConnectorError> {
        self.settings
            .mapping
            .map_header(names, defaults)
            .map_err(|e| self.place.refuse(e))
    }

    /// Reports the headings that feed nothing; `at(i)` is where heading `i` is (row number, column).
    fn report_unrecognised(
        &mut self,
        names: &[String],
        map: &HeaderMap,
        at: impl Fn(usize) -> (u64, usize),
    ) {
        for &i in &map.unrecognised {
            let (number, c) = at(i);
            self.pull.unrecognised(UnrecognisedColumn {
                location: self.place.cell_location(number, c),
                heading: names[i].clone(),
            });
        }
    }

    fn long_row(&mut self, row: GridRow) -> Result<(), ConnectorError> {
        let Stage::Long(long) = &mut self.stage else {
            unreachable!("called in the long stage")
        };
        check_width(&self.place, long.width, long.header, &row)?;
        long.data_rows += 1;
        let mut fields = Vec::new();
        let mut cells = Vec::new();
        for (c, (name, target)) in long.names.iter().zip(&long.targets).enumerate() {
            if name.is_empty() {
                continue;
            }
            let value = row.cells.get(c).cloned().unwrap_or(RawValue::Empty);
            fields.push((name.clone(), *target, value));
            if long.by_cell {
                cells.push(self.place.cell_location(row.number, c));
            }
        }
        if !has_figures(&fields) {
            return Ok(());
        }
        let record = RawRecord {
            location: self.place.row_location(row.number),
            fields,
        };
        self.pull.push(&record, &cells)
    }

    /// Pushes the months of a wide report as records, and reports its labels that feed nothing.
    fn wide_records(&mut self, wide: &Wide) -> Result<(), ConnectorError> {
        // `รหัสกองทุน | F100101` above the header names the file's fund.
        let mut fund_fields = Vec::new();
        for row in &wide.above {
            let name = row.label();
            if self.settings.mapping.resolve(&name) == Some(Target::FundId)
                && let Some(c) = row.cells.iter().skip(1).position(|v| !blank(v))
            {
                let value = row.cells[c + 1].clone();
                let at = self.place.cell_location(row.number, c + 1);
                fund_fields.push(((name, Some(Target::FundId), value), at));
            }
        }
        let measure_rows: Vec<&GridRow> =
            wide.rows.iter().filter(|r| !r.label().is_empty()).collect();
        if measure_rows.is_empty() {
            return Err(self.place.refuse_at(
                wide.header.number,
                "is the header, and no data rows follow it",
            ));
        }
        let labels: Vec<String> = measure_rows.iter().map(|r| r.label()).collect();
        let defaults = HeaderDefaults {
            fund_id: self.settings.fund_id.is_some() || !fund_fields.is_empty(),
            // The header row is the months.
            period: true,
            members_total_required: false,
        };
        let map = self.header_map(&labels, defaults)?;
        self.report_unrecognised(&labels, &map, |i| (measure_rows[i].number, 0));
        let targets = map.targets;
        for (c, month) in wide.header.cells.iter().enumerate().skip(1) {
            if blank(month) {
                continue;
            }
            // A month's values are on many rows: a bad one is located by its cell.
            let mut fields = vec![("เดือน".to_string(), Some(Target::Period), month.clone())];
            let mut cells = vec![self.place.cell_location(wide.header.number, c)];
            for (field, at) in &fund_fields {
                fields.push(field.clone());
                cells.push(at.clone());
            }
            for ((row, name), target) in measure_rows.iter().zip(&labels).zip(&targets) {
                let value = row.cells.get(c).cloned().unwrap_or(RawValue::Empty);
                fields.push((name.clone(), *target, value));
                cells.push(self.place.cell_location(row.number, c));
            }
            if !has_figures(&fields) {
                continue;
            }
            let record = RawRecord {
                location: self.place.column_location(c),
                fields,
            };
            self.pull.push(&record, &cells)?;
        }
        Ok(())
    }
}

/// Up to the last non-empty cell: trailing empty cells are layout, not fields.
fn named_width(row: &GridRow) -> usize {
    row.cells
        .iter()
        .rposition(|c| !blank(c))
        .map_or(0, |i| i + 1)
}

/// A CSV record must have as many fields as the header; empty cells past the header's last named
/// column are fine (Excel writes them), values there are not.
fn check_width(
    place: &Place,
    header_width: usize,
    header: u64,
    row: &GridRow,
) -> Result<(), ConnectorError> {
    let Place::Csv { delimiter, .. } = place else {
        return Ok(());
    };
    let fields = row.cells.len();
    if fields < header_width {
        return Err(place.refuse_at(
            row.number,
            format!(
                "has {fields} fields, but the header (line {header}) has {header_width}: a field \
                 is missing"
            ),
        ));
    }
    if named_width(row) > header_width {
        let hint = if *delimiter == b',' {
            "; an unquoted comma in a number such as 1,234.50 splits it in two: quote it \
             (\"1,234.50\") or write it without the separator"
        } else {
            ""
        };
        return Err(place.refuse_at(
            row.number,
            format!(
                "has {} fields, but the header (line {header}) has {header_width}{hint}",
                named_width(row)
            ),
        ));
    }
    Ok(())
}

fn shown_delimiter(delimiter: u8) -> String {
    match delimiter {
        b'\t' => "a tab".into(),
        d => format!("\"{}\"", char::from(d)),
    }
}

/// True when some measure has a value: fund and month alone are an unfilled template.
fn has_figures(fields: &[(String, Option<Target>, RawValue)]) -> bool {
    fields
        .iter()
        .any(|(_, target, value)| matches!(target, Some(Target::Measure(_))) && !blank(value))
}

/// An empty cell, or one of spaces only.
fn blank(value: &RawValue) -> bool {
    match value {
        RawValue::Empty => true,
        RawValue::Text(t) => t.trim().is_empty(),
        _ => false,
    }
}

/// A CSV field as a value: blank is empty.
pub fn text_value(text: String) -> RawValue {
    if text.trim().is_empty() {
        RawValue::Empty
    } else {
        RawValue::Text(text)
    }
}

/// A spreadsheet cell as the mapping reads values.
pub fn cell_value(cell: &Data) -> RawValue {
    match cell {
        Data::Empty => RawValue::Empty,
        Data::String(s) => text_value(s.clone()),
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

/// Quotes a name for a message. Not `{:?}`, which escapes Thai vowel and tone marks.
pub fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

/// `0` → `A`, `25` → `Z`, `26` → `AA`.
pub fn column_letters(mut col: u32) -> String {
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
