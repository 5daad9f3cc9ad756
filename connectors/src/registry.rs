//! A fund registry file: the spreadsheet a provincial network keeps of its funds, one line per fund,
//! read as a whole and checked as a whole.
//!
//! The file is read like a report ([`crate::file`]: CSV in UTF-8 or Windows-874, or XLSX, a title
//! allowed above the header), with Thai or English headings (`รหัสกองทุน`, `ชื่อกองทุน`, `รหัสตำบล`,
//! `ประเภทกองทุน`, `เทศบาล`, `วันที่จัดตั้ง`, `วันที่ยุติ`) and Buddhist-era dates. Every problem is
//! collected, each naming its line (or cell) and column, so a clerk fixes the file in one pass; a file
//! with any problem yields no fund at all. Checks that need the store (codes against the geography,
//! what is already registered) are the hub's.

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use welfare_model::fund::{Fund, FundKind, check_fund};
use welfare_model::thai::ascii_digits;
use welfare_model::{AreaCode, FundId, NetworkId};

use crate::file::grid::{GridRow, Place, quoted};
use crate::file::{DEFAULT_MAX_BYTES, RowSink, TableFile};
use crate::mapping::{RawValue, fold_name, parse_date};
use crate::source::ConnectorError;

/// What a registry column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistryField {
    FundId,
    NameTh,
    NameEn,
    Tambon,
    Province,
    Kind,
    Municipality,
    RegisteredOn,
    ClosedOn,
    Network,
}

/// Each field with its canonical name and the headings registries write over it.
const HEADINGS: &[(RegistryField, &str, &[&str])] = &[
    (
        RegistryField::FundId,
        "fund_id",
        &["รหัสกองทุน", "รหัส", "fund id", "fund code", "id", "code"],
    ),
    (
        RegistryField::NameTh,
        "name_th",
        &[
            "ชื่อกองทุน",
            "ชื่อ",
            "ชื่อกองทุน (ไทย)",
            "ชื่อภาษาไทย",
            "name",
            "fund name",
            "thai name",
        ],
    ),
    (
        RegistryField::NameEn,
        "name_en",
        &[
            "ชื่อภาษาอังกฤษ",
            "ชื่อกองทุน (อังกฤษ)",
            "ชื่ออังกฤษ",
            "english name",
            "name (english)",
            "fund name (english)",
        ],
    ),
    (
        RegistryField::Tambon,
        "tambon",
        &[
            "รหัสตำบล",
            "รหัสพื้นที่",
            "tambon",
            "tambon code",
            "subdistrict code",
            "subdistrict",
            "area code",
            "area",
        ],
    ),
    (
        RegistryField::Province,
        "province",
        &["รหัสจังหวัด", "province code", "province"],
    ),
    (
        RegistryField::Kind,
        "kind",
        &["ประเภทกองทุน", "ประเภท", "fund kind", "fund type", "type"],
    ),
    (
        RegistryField::Municipality,
        "municipality",
        &["เทศบาล", "ชื่อเทศบาล", "municipality"],
    ),
    (
        RegistryField::RegisteredOn,
        "registered_on",
        &[
            "วันที่จัดตั้ง",
            "วันจัดตั้ง",
            "วันที่ก่อตั้ง",
            "วันที่ตั้ง",
            "registered",
            "registered on",
            "founded",
            "established",
            "date registered",
        ],
    ),
    (
        RegistryField::ClosedOn,
        "closed_on",
        &[
            "วันที่ยุติ",
            "วันยุติ",
            "วันที่ปิด",
            "closed",
            "closed on",
            "date closed",
        ],
    ),
    (
        RegistryField::Network,
        "network",
        &["เครือข่าย", "network", "networks"],
    ),
];

/// Headings of columns a registry carries for people, not for the hub: a line number, remarks.
/// They are read past and reported as such, never silently.
const NOT_FOR_THE_HUB: &[&str] = &[
    "ลำดับ",
    "ลำดับที่",
    "ที่",
    "no",
    "no.",
    "หมายเหตุ",
    "remarks",
    "note",
    "notes",
];

/// The most problems listed; the count of the rest is given.
pub const MAX_PROBLEMS: usize = 100;

/// The most funds one registry file holds (Thailand has about 6,000).
pub const MAX_FUNDS: usize = 50_000;

/// How many non-blank rows from the top are searched for the header (registry, assessment and
/// network files alike).
pub(crate) const HEADER_SEARCH_ROWS: usize = 20;

/// The fields of a table file: each with its canonical name and the headings written over it (the
/// first one Thai, as messages quote it).
pub(crate) type Headings<F> = [(F, &'static str, &'static [&'static str])];

/// A field's canonical name in its table.
pub(crate) fn field_name<F: PartialEq>(table: &Headings<F>, field: F) -> &'static str {
    table
        .iter()
        .find(|(f, _, _)| *f == field)
        .map(|(_, n, _)| *n)
        .expect("every field has a name")
}

/// The first (Thai) heading of a field.
pub(crate) fn field_heading<F: PartialEq>(table: &Headings<F>, field: F) -> &'static str {
    table
        .iter()
        .find(|(f, _, _)| *f == field)
        .map(|(_, _, h)| h[0])
        .expect("every field has headings")
}

/// The field a heading names, if any: its name or one of its headings, in any case and spacing.
pub(crate) fn field_of_heading<F: Copy>(table: &Headings<F>, heading: &str) -> Option<F> {
    let folded = fold_name(heading);
    if folded.is_empty() {
        return None;
    }
    table
        .iter()
        .find(|(_, name, headings)| {
            fold_name(name) == folded || headings.iter().any(|h| fold_name(h) == folded)
        })
        .map(|(f, _, _)| *f)
}

impl RegistryField {
    pub fn name(self) -> &'static str {
        field_name(HEADINGS, self)
    }

    /// The field a heading names, if any.
    pub fn of_heading(heading: &str) -> Option<RegistryField> {
        field_of_heading(HEADINGS, heading)
    }
}

/// One fund as its line registers it, with where each value was read.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryLine {
    /// `funds.csv line 7`, `funds.xlsx sheet กองทุน row 7`.
    pub location: String,
    /// Where the area code was read, for the hub's check against the geography.
    pub area_location: String,
    pub fund: Fund,
    /// The networks the line says the fund belongs to, exactly (when the file has the column),
    /// and where they were read.
    pub networks: Option<(String, Vec<NetworkId>)>,
}

/// A registry file read and checked on its own.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Registry {
    pub lines: Vec<RegistryLine>,
    /// The fields the file has a column for: a field without one is left as registered.
    pub columns: Vec<RegistryField>,
    /// Columns read past: line numbers and remarks (`ลำดับ`, `หมายเหตุ`), with where they are.
    pub not_read: Vec<String>,
}

/// Why a registry file yields no fund: every problem found, each with its place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", describe(.problems, *.more))]
pub struct RegistryError {
    pub problems: Vec<String>,
    /// Problems beyond the [`MAX_PROBLEMS`] listed.
    pub more: usize,
}

fn describe(problems: &[String], more: usize) -> String {
    let mut text = problems.join("\n");
    if more > 0 {
        text.push_str(&format!("\n… and {more} more problems"));
    }
    text
}

impl RegistryError {
    pub fn one(problem: impl Into<String>) -> Self {
        RegistryError {
            problems: vec![problem.into()],
            more: 0,
        }
    }
}

/// Collects problems up to [`MAX_PROBLEMS`].
#[derive(Debug, Default)]
pub struct Problems {
    listed: Vec<String>,
    more: usize,
}

impl Problems {
    pub fn push(&mut self, problem: String) {
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push(problem);
        } else {
            self.more += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// `Ok(value)` when nothing was found wrong.
    pub fn result<T>(self, value: T) -> Result<T, RegistryError> {
        if self.listed.is_empty() {
            Ok(value)
        } else {
            Err(RegistryError {
                problems: self.listed,
                more: self.more,
            })
        }
    }
}

/// Reads a registry file whole (at most [`DEFAULT_MAX_BYTES`]).
pub fn read_registry(path: &Path) -> Result<Registry, RegistryError> {
    read_table(path, "registry", Reader::new)?.finish()
}

/// Reads a local table file (CSV or XLSX, at most [`DEFAULT_MAX_BYTES`]) whole into the sink `make`
/// builds: a registry's, an assessment file's (`what` names it in messages).
pub(crate) fn read_table<S: RowSink>(
    path: &Path,
    what: &str,
    make: impl FnOnce(Place) -> S,
) -> Result<S, RegistryError> {
    let refuse = |e: ConnectorError| RegistryError::one(e.to_string());
    let metadata = std::fs::metadata(path)
        .map_err(|e| RegistryError::one(format!("{}: {e}", path.display())))?;
    if metadata.is_dir() {
        return Err(RegistryError::one(format!(
            "{} is a directory, not a {what} file",
            path.display()
        )));
    }
    if metadata.len() > DEFAULT_MAX_BYTES {
        return Err(RegistryError::one(format!(
            "{} is {} bytes, over the limit of {DEFAULT_MAX_BYTES} bytes for a {what}",
            path.display(),
            metadata.len()
        )));
    }
    let table = TableFile::local(path, DEFAULT_MAX_BYTES).map_err(RegistryError::one)?;
    table.read(path, make).map_err(refuse)
}

/// Reads rows pushed one at a time.
struct Reader {
    place: Place,
    /// Non-blank rows above the header while it is looked for.
    searched: usize,
    header: Option<Header>,
    lines: Vec<RegistryLine>,
    /// Fund id → where it was first registered in the file.
    seen: HashMap<FundId, String>,
    problems: Problems,
    /// A structural refusal (too many funds): stops reading.
    stopped: Option<String>,
}

struct Header {
    number: u64,
    /// Per column: the field it feeds, if any.
    fields: Vec<Option<RegistryField>>,
    names: Vec<String>,
}

impl Reader {
    fn new(place: Place) -> Self {
        Reader {
            place,
            searched: 0,
            header: None,
            lines: Vec::new(),
            seen: HashMap::new(),
            problems: Problems::default(),
            stopped: None,
        }
    }

    fn finish(mut self) -> Result<Registry, RegistryError> {
        if let Some(stopped) = self.stopped.take() {
            return Err(RegistryError::one(stopped));
        }
        let Some(header) = &self.header else {
            return Err(RegistryError::one(format!(
                "{}: no header found: a registry needs a row naming its columns, at least {} ({}), {} ({}) and {} ({}) or {} ({})",
                self.place.describe(),
                RegistryField::FundId.name(),
                HEADINGS[0].2[0],
                RegistryField::NameTh.name(),
                HEADINGS[1].2[0],
                RegistryField::Tambon.name(),
                HEADINGS[3].2[0],
                RegistryField::Province.name(),
                HEADINGS[4].2[0],
            )));
        };
        if self.lines.is_empty() && self.problems.is_empty() {
            return Err(RegistryError::one(format!(
                "{} is the header, and no fund follows it",
                self.place.row_location(header.number)
            )));
        }
        let not_read = header
            .fields
            .iter()
            .zip(&header.names)
            .enumerate()
            .filter(|(_, (f, n))| f.is_none() && !n.is_empty())
            .map(|(c, (_, n))| {
                format!(
                    "{} ({})",
                    quoted(n),
                    self.place.cell_location(header.number, c)
                )
            })
            .collect();
        let lines = std::mem::take(&mut self.lines);
        let columns = header.fields.iter().flatten().copied().collect();
        self.problems.result(Registry {
            lines,
            columns,
            not_read,
        })
    }

    fn search(&mut self, row: GridRow) {
        let names: Vec<String> = row.cells.iter().map(cell_text).collect();
        let fields: Vec<Option<RegistryField>> =
            names.iter().map(|n| RegistryField::of_heading(n)).collect();
        if fields.iter().flatten().count() < 2 {
            self.searched += 1;
            if self.searched >= HEADER_SEARCH_ROWS {
                self.stopped = Some(format!(
                    "{}: no header in the first {HEADER_SEARCH_ROWS} rows: a registry needs a row naming its columns (รหัสกองทุน, ชื่อกองทุน, รหัสตำบล...)",
                    self.place.describe()
                ));
            }
            return;
        }
        let at = |c: usize| self.place.cell_location(row.number, c);
        // Every column is accounted for: a field once, a remark column read past, nothing else.
        let mut first: HashMap<RegistryField, usize> = HashMap::new();
        for (c, (field, name)) in fields.iter().zip(&names).enumerate() {
            match field {
                Some(f) => {
                    if let Some(before) = first.insert(*f, c) {
                        self.problems.push(format!(
                            "{}: column {} is {}, like {} ({}): which one holds it cannot be known",
                            at(c),
                            quoted(name),
                            f.name(),
                            quoted(&names[before]),
                            at(before)
                        ));
                    }
                }
                None if name.is_empty() => {}
                None if NOT_FOR_THE_HUB
                    .iter()
                    .any(|h| fold_name(h) == fold_name(name)) => {}
                None => self.problems.push(format!(
                    "{}: column {} is not a registry column: expected {}; remove it or rename it",
                    at(c),
                    quoted(name),
                    HEADINGS
                        .iter()
                        .map(|(_, n, h)| format!("{n} ({})", h[0]))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        for (wanted, name) in [
            (RegistryField::FundId, "the fund id (รหัสกองทุน)"),
            (RegistryField::NameTh, "the fund's name (ชื่อกองทุน)"),
        ] {
            if !first.contains_key(&wanted) {
                self.problems.push(format!(
                    "{}: the header has no column for {name}",
                    self.place.row_location(row.number)
                ));
            }
        }
        if !first.contains_key(&RegistryField::Tambon)
            && !first.contains_key(&RegistryField::Province)
        {
            self.problems.push(format!(
                "{}: the header has no column for the tambon (รหัสตำบล) or, for a provincial-level fund, the province (รหัสจังหวัด)",
                self.place.row_location(row.number)
            ));
        }
        self.header = Some(Header {
            number: row.number,
            fields,
            names,
        });
    }

    fn line(&mut self, row: GridRow) {
        let header = self.header.as_ref().expect("a header");
        let location = self.place.row_location(row.number);
        if self.lines.len() >= MAX_FUNDS {
            self.stopped = Some(format!(
                "{location}: a registry file holds at most {MAX_FUNDS} funds"
            ));
            return;
        }
        if row.cells.len() > header.fields.len()
            && row.cells[header.fields.len()..]
                .iter()
                .any(|c| !cell_text(c).is_empty())
        {
            let c = header.fields.len()
                + row.cells[header.fields.len()..]
                    .iter()
                    .position(|c| !cell_text(c).is_empty())
                    .unwrap_or(0);
            self.problems.push(format!(
                "{}: a value in a column the header does not name",
                self.place.cell_location(row.number, c)
            ));
            return;
        }
        let mut values: HashMap<RegistryField, (usize, &RawValue)> = HashMap::new();
        for (c, field) in header.fields.iter().enumerate() {
            if let (Some(f), Some(v)) = (field, row.cells.get(c)) {
                values.entry(*f).or_insert((c, v));
            }
        }
        let mut problems = Vec::new();
        let place = &self.place;
        let cell = |f: RegistryField| values.get(&f).copied();
        let at = |c: usize| {
            format!(
                "{} ({})",
                place.cell_location(row.number, c),
                header.names[c]
            )
        };
        let text = |f: RegistryField| cell(f).map(|(_, v)| cell_text(v)).unwrap_or_default();
        let id = match cell(RegistryField::FundId) {
            Some((c, v)) => match FundId::parse(&cell_text(v)) {
                Ok(id) => Some((c, id)),
                Err(e) => {
                    problems.push(format!("{}: {e}", at(c)));
                    None
                }
            },
            None => None,
        };
        let name_th = text(RegistryField::NameTh);
        if name_th.is_empty()
            && let Some((c, _)) = cell(RegistryField::NameTh)
        {
            problems.push(format!("{}: the fund has no name", at(c)));
        }
        let kind = match cell(RegistryField::Kind) {
            Some((_, v)) if cell_text(v).is_empty() => FundKind::CommunityWelfare,
            Some((c, v)) => FundKind::from_label(&cell_text(v)).unwrap_or_else(|e| {
                problems.push(format!("{}: {e}", at(c)));
                FundKind::CommunityWelfare
            }),
            None => FundKind::CommunityWelfare,
        };
        let area = area_of(kind, &cell, &at, &mut problems);
        let mut date = |f: RegistryField| -> Option<NaiveDate> {
            let (c, v) = cell(f)?;
            parse_date(v).unwrap_or_else(|e| {
                problems.push(format!("{}: {e}", at(c)));
                None
            })
        };
        let registered_on = date(RegistryField::RegisteredOn);
        let closed_on = date(RegistryField::ClosedOn);
        // Network ids hold no spaces, commas or semicolons: any of them separates two.
        let networks = cell(RegistryField::Network).map(|(c, v)| {
            let ids = cell_text(v)
                .split(|ch: char| ch == ',' || ch == ';' || ch == '|' || ch.is_whitespace())
                .filter(|t| !t.is_empty())
                .filter_map(|t| match NetworkId::parse(t) {
                    Ok(id) => Some(id),
                    Err(e) => {
                        problems.push(format!("{}: {e}", at(c)));
                        None
                    }
                })
                .collect::<Vec<_>>();
            (at(c), ids)
        });
        let optional = |f: RegistryField| Some(text(f)).filter(|t| !t.is_empty());
        if let (Some((c, id)), Some((area_at, area)), true) = (id, area, problems.is_empty()) {
            let fund = Fund {
                id,
                name_th,
                name_en: optional(RegistryField::NameEn),
                kind,
                area,
                municipality: optional(RegistryField::Municipality),
                registered_on,
                closed_on,
            };
            if let Err(e) = check_fund(&fund) {
                problems.push(format!("{location}: {e}"));
            } else if let Some(before) = self.seen.get(&fund.id) {
                problems.push(format!(
                    "{}: fund id {} is registered again: it is already on {before}",
                    at(c),
                    fund.id
                ));
            } else {
                self.seen.insert(fund.id.clone(), location.clone());
                self.lines.push(RegistryLine {
                    location,
                    area_location: area_at,
                    fund,
                    networks,
                });
            }
        }
        for p in problems {
            self.problems.push(p);
        }
    }
}

/// The area a line registers its fund to: a tambon, or a province for a provincial-level fund; when
/// both columns are filled they must agree. Returns where it was read and the code.
fn area_of<'v>(
    kind: FundKind,
    cell: &impl Fn(RegistryField) -> Option<(usize, &'v RawValue)>,
    at: &impl Fn(usize) -> String,
    problems: &mut Vec<String>,
) -> Option<(String, AreaCode)> {
    let before = problems.len();
    let mut code = |f: RegistryField,
                    digits: usize,
                    what: &str|
     -> Option<(usize, Option<AreaCode>)> {
        let (c, v) = cell(f)?;
        let text = ascii_digits(cell_text(v).trim());
        if text.is_empty() {
            return Some((c, None));
        }
        if text.len() != digits || !text.bytes().all(|b| b.is_ascii_digit()) {
            problems.push(format!(
                "{}: {} is not a {what} code: expected exactly {digits} digits, never padded or guessed",
                at(c),
                quoted(&cell_text(v))
            ));
            return None;
        }
        match AreaCode::parse(&text) {
            Ok(code) => Some((c, Some(code))),
            Err(e) => {
                problems.push(format!("{}: {e}", at(c)));
                None
            }
        }
    };
    let tambon = code(RegistryField::Tambon, 6, "tambon");
    let province = code(RegistryField::Province, 2, "province");
    if problems.len() > before {
        return None;
    }
    let (tambon_at, tambon) = tambon.map_or((None, None), |(c, t)| (Some(c), t));
    let (province_at, province) = province.map_or((None, None), |(c, p)| (Some(c), p));
    if kind == FundKind::ProvincialFund {
        return match (tambon, province) {
            (Some(t), _) => {
                problems.push(format!(
                    "{}: a provincial-level fund is registered to a province (รหัสจังหวัด), not to tambon {t}",
                    at(tambon_at.expect("read from a column"))
                ));
                None
            }
            (None, Some(p)) => Some((at(province_at.expect("read from a column")), p)),
            (None, None) => {
                if let Some(c) = province_at.or(tambon_at) {
                    problems.push(format!("{}: no province code", at(c)));
                }
                None
            }
        };
    }
    match (tambon, province) {
        (Some(t), Some(p)) if t.province() != p => {
            problems.push(format!(
                "{}: tambon {t} is not in province {p} ({})",
                at(tambon_at.expect("read from a column")),
                at(province_at.expect("read from a column"))
            ));
            None
        }
        (Some(t), _) => Some((at(tambon_at.expect("read from a column")), t)),
        (None, Some(p)) => {
            problems.push(format!(
                "{}: a {} is registered to a tambon (รหัสตำบล), not to province {p}; only a provincial_fund is registered to a province",
                at(province_at.expect("read from a column")),
                kind.as_str()
            ));
            None
        }
        (None, None) => {
            if let Some(c) = tambon_at.or(province_at) {
                problems.push(format!("{}: no tambon code", at(c)));
            }
            None
        }
    }
}

impl RowSink for Reader {
    fn push(&mut self, row: GridRow) -> Result<(), ConnectorError> {
        if self.stopped.is_some() || row.cells.iter().all(|c| cell_text(c).is_empty()) {
            return Ok(());
        }
        match self.header {
            None => self.search(row),
            Some(_) => self.line(row),
        }
        match &self.stopped {
            Some(reason) => Err(ConnectorError::Content(reason.clone())),
            None => Ok(()),
        }
    }
}

/// A cell as text: numbers as written whole (a code typed as a number), dates as ISO days.
pub(crate) fn cell_text(value: &RawValue) -> String {
    match value {
        RawValue::Empty => String::new(),
        RawValue::Text(t) => t.trim().to_string(),
        RawValue::Int(i) => i.to_string(),
        RawValue::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        RawValue::Float(f) => f.to_string(),
        RawValue::Decimal(d) => d.to_string(),
        RawValue::Date(d) => d.to_string(),
        RawValue::DateTime(d) => d.to_string(),
        RawValue::Bool(b) => b.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read(text: &str) -> Result<Registry, RegistryError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("funds.csv");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        read_registry(&path)
    }

    #[test]
    fn thai_headings_be_dates_and_kinds_are_read() {
        let registry = read(
            "ทะเบียนกองทุน จังหวัดพะเยา\n\
             ลำดับ,รหัสกองทุน,ชื่อกองทุน,รหัสตำบล,ประเภทกองทุน,เทศบาล,วันที่จัดตั้ง,วันที่ยุติ\n\
             1,F-560101,กองทุนสวัสดิการชุมชนเวียง,560101,,เทศบาลเมืองพะเยา,15/03/2553,\n\
             2,F-560102,กลุ่มสัจจะวันละบาทแม่ต๋ำ,๕๖๐๑๐๒,กลุ่มสัจจะวันละบาท,,2554-01-10,30/09/2568\n",
        )
        .unwrap();
        assert_eq!(registry.lines.len(), 2);
        let a = &registry.lines[0];
        assert_eq!(a.location, "funds.csv line 3");
        assert_eq!(a.area_location, "funds.csv line 3 column 4 (รหัสตำบล)");
        assert_eq!(a.fund.id.as_str(), "F-560101");
        assert_eq!(a.fund.kind, FundKind::CommunityWelfare);
        assert_eq!(a.fund.area.as_str(), "560101");
        assert_eq!(a.fund.municipality.as_deref(), Some("เทศบาลเมืองพะเยา"));
        assert_eq!(a.fund.registered_on, NaiveDate::from_ymd_opt(2010, 3, 15));
        let b = &registry.lines[1].fund;
        assert_eq!(b.kind, FundKind::OneBahtSavings);
        assert_eq!(b.area.as_str(), "560102");
        assert_eq!(b.registered_on, NaiveDate::from_ymd_opt(2011, 1, 10));
        assert_eq!(b.closed_on, NaiveDate::from_ymd_opt(2025, 9, 30));
        assert_eq!(
            registry.not_read,
            vec!["\"ลำดับ\" (funds.csv line 2 column 1)".to_string()]
        );
    }

    #[test]
    fn a_provincial_level_fund_names_its_province() {
        let registry = read(
            "fund_id,name_th,tambon,province,kind\n\
             LP-52,กองทุนสวัสดิการระดับจังหวัดลำปาง,,52,Provincial fund\n\
             F-520101,กองทุนเวียงเหนือ,520101,52,\n",
        )
        .unwrap();
        assert_eq!(registry.lines[0].fund.area.as_str(), "52");
        assert_eq!(registry.lines[0].fund.kind, FundKind::ProvincialFund);
        assert_eq!(registry.lines[1].fund.area.as_str(), "520101");
        let e = read(
            "fund_id,name_th,tambon,province,kind\n\
             LP-52,กองทุน,520101,,provincial_fund\n\
             F-1,กองทุน,520101,50,\n\
             F-2,กองทุน,,52,\n",
        )
        .unwrap_err();
        assert_eq!(
            e.problems,
            vec![
                "funds.csv line 2 column 3 (tambon): a provincial-level fund is registered to a province (รหัสจังหวัด), not to tambon 520101",
                "funds.csv line 3 column 3 (tambon): tambon 520101 is not in province 50 (funds.csv line 3 column 4 (province))",
                "funds.csv line 4 column 4 (province): a community_welfare is registered to a tambon (รหัสตำบล), not to province 52; only a provincial_fund is registered to a province",
            ]
        );
    }

    #[test]
    fn every_problem_is_named_with_its_line_and_column() {
        let e = read(
            "fund_id,name_th,tambon,kind,registered_on,closed_on\n\
             F-1,กองทุนหนึ่ง,50010,,10/11/2568,\n\
             F-2,กองทุนสอง,500102,ธนาคารหมู่บ้าน,31/02/2568,\n\
             F-1,กองทุนซ้ำ,500103,,,\n\
             F 3,กองทุนสาม,500104,,01/01/2560,01/01/2559\n\
             F-4,,500105,,,\n",
        )
        .unwrap_err();
        assert_eq!(e.problems.len(), 5, "{:#?}", e.problems);
        assert_eq!(
            e.problems[0],
            "funds.csv line 2 column 3 (tambon): \"50010\" is not a tambon code: expected exactly 6 digits, never padded or guessed"
        );
        assert!(
            e.problems[1].starts_with(
                "funds.csv line 3 column 4 (kind): \"ธนาคารหมู่บ้าน\" is not a fund kind"
            ),
            "{}",
            e.problems[1]
        );
        assert_eq!(
            e.problems[2],
            "funds.csv line 3 column 5 (registered_on): \"31/02/2568\" is not a day of the calendar"
        );
        // F-1 on line 2 had a bad tambon, so it is not "already registered": line 4 stands alone.
        assert!(
            e.problems[3].starts_with(
                "funds.csv line 5 column 1 (fund_id): fund id \"F 3\" has a space inside"
            ),
            "{}",
            e.problems[3]
        );
        assert_eq!(
            e.problems[4],
            "funds.csv line 6 column 2 (name_th): the fund has no name"
        );
    }

    #[test]
    fn duplicate_ids_and_dates_out_of_order_are_refused() {
        let e = read(
            "fund_id,name_th,tambon,registered_on,closed_on\n\
             F-1,กองทุนหนึ่ง,500101,,\n\
             F-1,กองทุนซ้ำ,500103,,\n\
             F-3,กองทุนสาม,500104,01/01/2560,01/01/2559\n",
        )
        .unwrap_err();
        assert_eq!(
            e.problems,
            vec![
                "funds.csv line 3 column 1 (fund_id): fund id F-1 is registered again: it is already on funds.csv line 2",
                "funds.csv line 4: closed on 2016-01-01, before it was registered on 2017-01-01",
            ]
        );
    }

    #[test]
    fn unknown_and_repeated_columns_and_missing_ones_are_refused() {
        let e = read("fund_id,ชื่อกองทุน,name,อำเภอ\nF-1,ก,ข,เมือง\n").unwrap_err();
        assert_eq!(e.problems.len(), 3, "{:#?}", e.problems);
        assert_eq!(
            e.problems[0],
            "funds.csv line 1 column 3: column \"name\" is name_th, like \"ชื่อกองทุน\" (funds.csv line 1 column 2): which one holds it cannot be known"
        );
        assert!(e.problems[1].starts_with("funds.csv line 1 column 4: column \"อำเภอ\" is not a registry column: expected fund_id (รหัสกองทุน), name_th (ชื่อกองทุน)"), "{}", e.problems[1]);
        assert_eq!(
            e.problems[2],
            "funds.csv line 1: the header has no column for the tambon (รหัสตำบล) or, for a provincial-level fund, the province (รหัสจังหวัด)"
        );
        let networks = read(
            "fund_id,name_th,tambon,เครือข่าย\nF-1,ก,500101,\"songkhla-1baht; north,fed\"\nF-2,ข,500102,\n",
        )
        .unwrap();
        let (at, ids) = networks.lines[0].networks.clone().unwrap();
        assert_eq!(at, "funds.csv line 2 column 4 (เครือข่าย)");
        assert_eq!(
            ids.iter().map(NetworkId::as_str).collect::<Vec<_>>(),
            ["songkhla-1baht", "north", "fed"]
        );
        assert_eq!(
            networks.lines[1].networks.as_ref().unwrap().1,
            Vec::<NetworkId>::new()
        );
        let e = read("fund_id,name_th,tambon,เครือข่าย\nF-1,ก,500101,เครือข่ายสงขลา\n").unwrap_err();
        assert!(
            e.problems[0].starts_with(
                "funds.csv line 2 column 4 (เครือข่าย): network id \"เครือข่ายสงขลา\" has 'เ'"
            ),
            "{:?}",
            e.problems
        );
        assert!(
            read("title only\n").unwrap_err().problems[0].starts_with("funds.csv: no header found")
        );
        assert_eq!(
            read("fund_id,name_th,tambon\n").unwrap_err().problems,
            vec!["funds.csv line 1 is the header, and no fund follows it"]
        );
    }

    #[test]
    fn problems_beyond_the_limit_are_counted() {
        let mut text = String::from("fund_id,name_th,tambon\n");
        for i in 0..150 {
            text.push_str(&format!("F-{i},กองทุน,5001\n"));
        }
        let e = read(&text).unwrap_err();
        assert_eq!(e.problems.len(), MAX_PROBLEMS);
        assert_eq!(e.more, 50);
        assert!(e.to_string().ends_with("… and 50 more problems"));
    }
}
