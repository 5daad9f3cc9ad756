//! A governance-assessment file: the results of the national standard form for welfare funds
//! (morality and good governance), one line per fund and assessment, read as a whole and checked as
//! a whole.
//!
//! The file is read like a fund registry ([`crate::registry`]: CSV in UTF-8 or Windows-874, or XLSX,
//! a title allowed above the header) with Thai or English headings: `รหัสกองทุน` (fund_id),
//! `วันที่ประเมิน` (assessed_on, Buddhist-era dates welcome), `แบบประเมิน` (form_version), `ระดับ`
//! (overall_level: ดีมาก, ดี, พอใช้, ต้องปรับปรุง or their English names), `ผู้ประเมิน` (assessor); every
//! other column is a dimension of the form (ธรรมาภิบาล, คุณธรรม, การบริหารจัดการ, การมีส่วนร่วม…) whose
//! cells are scores 0–100 (an empty cell: no score for that dimension). Line numbers, remarks and the
//! fund's name are read past. Every problem is collected, each naming its line (or cell) and column;
//! a file with any problem yields no assessment at all. Whether each fund is registered is the hub's
//! check.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use welfare_model::FundId;
use welfare_model::assessment::{
    Assessment, GovernanceLevel, Score, check_assessed_on, check_name,
};

use crate::file::RowSink;
use crate::file::grid::{GridRow, Place, quoted};
use crate::mapping::{RawValue, fold_name, parse_date};
use crate::registry::{
    HEADER_SEARCH_ROWS, Problems, RegistryError, cell_text, field_heading, field_name,
    field_of_heading, read_table,
};
use crate::source::ConnectorError;

/// What a column of an assessment file holds, besides scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssessmentField {
    FundId,
    AssessedOn,
    FormVersion,
    OverallLevel,
    Assessor,
}

/// Each field with its canonical name and the headings files write over it.
const HEADINGS: &[(AssessmentField, &str, &[&str])] = &[
    (
        AssessmentField::FundId,
        "fund_id",
        &["รหัสกองทุน", "รหัส", "fund id", "fund code", "id"],
    ),
    (
        AssessmentField::AssessedOn,
        "assessed_on",
        &[
            "วันที่ประเมิน",
            "วันประเมิน",
            "assessed on",
            "assessed",
            "assessment date",
            "date assessed",
        ],
    ),
    (
        AssessmentField::FormVersion,
        "form_version",
        &[
            "แบบประเมิน",
            "ฉบับแบบประเมิน",
            "รุ่นแบบประเมิน",
            "form version",
            "form",
        ],
    ),
    (
        AssessmentField::OverallLevel,
        "overall_level",
        &[
            "ระดับ",
            "ผลการประเมิน",
            "ระดับผลการประเมิน",
            "overall level",
            "level",
        ],
    ),
    (
        AssessmentField::Assessor,
        "assessor",
        &["ผู้ประเมิน", "assessor", "assessed by"],
    ),
];

/// Headings of columns kept for people, not for the hub: a line number, remarks, the fund's name.
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
    "ชื่อกองทุน",
    "ชื่อ",
    "name",
    "name_th",
    "fund name",
];

/// The most assessments one file holds.
pub const MAX_ASSESSMENTS: usize = 200_000;

impl AssessmentField {
    pub fn name(self) -> &'static str {
        field_name(HEADINGS, self)
    }

    fn heading_th(self) -> &'static str {
        field_heading(HEADINGS, self)
    }

    /// The field a heading names, if any.
    pub fn of_heading(heading: &str) -> Option<AssessmentField> {
        field_of_heading(HEADINGS, heading)
    }
}

/// One assessment as its line gives it, with where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentLine {
    /// `assessments.csv line 7`.
    pub location: String,
    /// Where the fund id was read, for the hub's check that the fund is registered.
    pub fund_location: String,
    pub assessment: Assessment,
}

/// An assessment file read and checked on its own.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssessmentFile {
    pub lines: Vec<AssessmentLine>,
    /// The dimensions the file scores, in column order.
    pub dimensions: Vec<String>,
    /// Whether the file has an assessor column (without one, a re-import keeps the assessor).
    pub has_assessor: bool,
    /// Columns read past (line numbers, remarks, the fund's name), with where they are.
    pub not_read: Vec<String>,
}

/// Reads an assessment file whole. `today` (Bangkok) bounds the dates: none may be in the future.
pub fn read_assessments(path: &Path, today: NaiveDate) -> Result<AssessmentFile, RegistryError> {
    read_table(path, "governance-assessment", |place| {
        Reader::new(place, today)
    })?
    .finish()
}

/// What a header column feeds.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    Field(AssessmentField),
    Dimension(String),
    /// For people: read past.
    NotRead,
    /// No heading: must stay empty.
    Blank,
}

struct Header {
    number: u64,
    columns: Vec<Column>,
    names: Vec<String>,
}

/// Reads rows pushed one at a time.
struct Reader {
    place: Place,
    today: NaiveDate,
    searched: usize,
    header: Option<Header>,
    lines: Vec<AssessmentLine>,
    /// (fund, day, form) → where it was first given in the file.
    seen: HashMap<(FundId, NaiveDate, String), String>,
    problems: Problems,
    stopped: Option<String>,
}

impl Reader {
    fn new(place: Place, today: NaiveDate) -> Self {
        Reader {
            place,
            today,
            searched: 0,
            header: None,
            lines: Vec::new(),
            seen: HashMap::new(),
            problems: Problems::default(),
            stopped: None,
        }
    }

    fn required() -> String {
        [
            AssessmentField::FundId,
            AssessmentField::AssessedOn,
            AssessmentField::FormVersion,
            AssessmentField::OverallLevel,
        ]
        .iter()
        .map(|f| format!("{} ({})", f.name(), f.heading_th()))
        .collect::<Vec<_>>()
        .join(", ")
    }

    fn finish(mut self) -> Result<AssessmentFile, RegistryError> {
        if let Some(stopped) = self.stopped.take() {
            return Err(RegistryError::one(stopped));
        }
        let Some(header) = &self.header else {
            return Err(RegistryError::one(format!(
                "{}: no header found: an assessment file needs a row naming its columns, at least {}",
                self.place.describe(),
                Reader::required()
            )));
        };
        if self.lines.is_empty() && self.problems.is_empty() {
            return Err(RegistryError::one(format!(
                "{} is the header, and no assessment follows it",
                self.place.row_location(header.number)
            )));
        }
        let mut dimensions = Vec::new();
        let mut not_read = Vec::new();
        for (c, (column, name)) in header.columns.iter().zip(&header.names).enumerate() {
            match column {
                Column::Dimension(d) => dimensions.push(d.clone()),
                Column::NotRead => not_read.push(format!(
                    "{} ({})",
                    quoted(name),
                    self.place.cell_location(header.number, c)
                )),
                _ => {}
            }
        }
        let has_assessor = header
            .columns
            .contains(&Column::Field(AssessmentField::Assessor));
        let lines = std::mem::take(&mut self.lines);
        self.problems.result(AssessmentFile {
            lines,
            dimensions,
            has_assessor,
            not_read,
        })
    }

    fn search(&mut self, row: GridRow) {
        let names: Vec<String> = row.cells.iter().map(cell_text).collect();
        let fields: Vec<Option<AssessmentField>> = names
            .iter()
            .map(|n| AssessmentField::of_heading(n))
            .collect();
        if fields.iter().flatten().count() < 2 {
            self.searched += 1;
            if self.searched >= HEADER_SEARCH_ROWS {
                self.stopped = Some(format!(
                    "{}: no header in the first {HEADER_SEARCH_ROWS} rows: an assessment file needs a row naming its columns ({})",
                    self.place.describe(),
                    Reader::required()
                ));
            }
            return;
        }
        let at = |c: usize| self.place.cell_location(row.number, c);
        let mut first: HashMap<AssessmentField, usize> = HashMap::new();
        let mut dimensions: HashMap<String, usize> = HashMap::new();
        let mut columns = Vec::with_capacity(names.len());
        for (c, (field, name)) in fields.iter().zip(&names).enumerate() {
            let column = match field {
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
                    Column::Field(*f)
                }
                None if name.is_empty() => Column::Blank,
                None if NOT_FOR_THE_HUB
                    .iter()
                    .any(|h| fold_name(h) == fold_name(name)) =>
                {
                    Column::NotRead
                }
                None => match check_name("dimension", name) {
                    Ok(dimension) => {
                        if let Some(before) = dimensions.insert(fold_name(&dimension), c) {
                            self.problems.push(format!(
                                "{}: dimension {} is scored twice: also in {} ({})",
                                at(c),
                                quoted(name),
                                quoted(&names[before]),
                                at(before)
                            ));
                        }
                        Column::Dimension(dimension)
                    }
                    Err(e) => {
                        self.problems.push(format!("{}: {e}", at(c)));
                        Column::Blank
                    }
                },
            };
            columns.push(column);
        }
        for wanted in [
            AssessmentField::FundId,
            AssessmentField::AssessedOn,
            AssessmentField::FormVersion,
            AssessmentField::OverallLevel,
        ] {
            if !first.contains_key(&wanted) {
                self.problems.push(format!(
                    "{}: the header has no column for {} ({})",
                    self.place.row_location(row.number),
                    wanted.name(),
                    wanted.heading_th()
                ));
            }
        }
        self.header = Some(Header {
            number: row.number,
            columns,
            names,
        });
    }

    fn line(&mut self, row: GridRow) {
        let header = self.header.as_ref().expect("a header");
        let location = self.place.row_location(row.number);
        if self.lines.len() >= MAX_ASSESSMENTS {
            self.stopped = Some(format!(
                "{location}: an assessment file holds at most {MAX_ASSESSMENTS} assessments"
            ));
            return;
        }
        let place = &self.place;
        let at = |c: usize| {
            let name = header.names.get(c).map(String::as_str).unwrap_or_default();
            if name.is_empty() {
                place.cell_location(row.number, c)
            } else {
                format!("{} ({name})", place.cell_location(row.number, c))
            }
        };
        let mut problems = Vec::new();
        let mut fields: HashMap<AssessmentField, (usize, &RawValue)> = HashMap::new();
        let mut scores = BTreeMap::new();
        for (c, value) in row.cells.iter().enumerate() {
            let text = cell_text(value);
            match header.columns.get(c) {
                Some(Column::Field(f)) => {
                    fields.insert(*f, (c, value));
                }
                Some(Column::Dimension(d)) if !text.is_empty() => match Score::parse(&text) {
                    Ok(score) => {
                        scores.insert(d.clone(), score);
                    }
                    Err(e) => problems.push(format!("{}: {e}", at(c))),
                },
                Some(Column::NotRead | Column::Dimension(_)) => {}
                Some(Column::Blank) | None if text.is_empty() => {}
                Some(Column::Blank) | None => problems.push(format!(
                    "{}: a value in a column the header does not name",
                    at(c)
                )),
            }
        }
        let cell = |f: AssessmentField| fields.get(&f).copied();
        let text = |f: AssessmentField| cell(f).map(|(_, v)| cell_text(v)).unwrap_or_default();
        let missing = |f: AssessmentField, problems: &mut Vec<String>| {
            let place = match cell(f) {
                Some((c, _)) => at(c),
                None => location.clone(),
            };
            problems.push(format!("{place}: no {}", f.name()));
        };
        let fund = match cell(AssessmentField::FundId) {
            Some((c, v)) => match FundId::parse(&cell_text(v)) {
                Ok(id) => Some((at(c), id)),
                Err(e) => {
                    problems.push(format!("{}: {e}", at(c)));
                    None
                }
            },
            None => None,
        };
        let assessed_on = match cell(AssessmentField::AssessedOn) {
            Some((c, v)) => match parse_date(v) {
                Ok(Some(day)) => match check_assessed_on(day, self.today) {
                    Ok(()) => Some(day),
                    Err(e) => {
                        problems.push(format!("{}: {e}", at(c)));
                        None
                    }
                },
                Ok(None) => {
                    missing(AssessmentField::AssessedOn, &mut problems);
                    None
                }
                Err(e) => {
                    problems.push(format!("{}: {e}", at(c)));
                    None
                }
            },
            None => None,
        };
        let form_version = match cell(AssessmentField::FormVersion) {
            Some((c, v)) => match check_name("form version", &cell_text(v)) {
                Ok(form) => Some(form),
                Err(e) => {
                    problems.push(format!("{}: {e}", at(c)));
                    None
                }
            },
            None => None,
        };
        let level = match cell(AssessmentField::OverallLevel) {
            Some((_, v)) if cell_text(v).is_empty() => {
                missing(AssessmentField::OverallLevel, &mut problems);
                None
            }
            Some((c, v)) => match GovernanceLevel::from_label(&cell_text(v)) {
                Ok(level) => Some(level),
                Err(e) => {
                    problems.push(format!("{}: {e}", at(c)));
                    None
                }
            },
            None => None,
        };
        let assessor = Some(text(AssessmentField::Assessor)).filter(|t| !t.is_empty());
        if let (
            Some((fund_location, fund_id)),
            Some(assessed_on),
            Some(form_version),
            Some(level),
            true,
        ) = (fund, assessed_on, form_version, level, problems.is_empty())
        {
            let assessment = Assessment {
                fund_id,
                assessed_on,
                form_version,
                overall_level: level,
                scores,
                assessor,
            };
            if let Some(before) = self.seen.get(&assessment.key()) {
                problems.push(format!(
                    "{location}: fund {} was assessed on {} with form {} already on {before}",
                    assessment.fund_id, assessment.assessed_on, assessment.form_version
                ));
            } else {
                self.seen.insert(assessment.key(), location.clone());
                self.lines.push(AssessmentLine {
                    location,
                    fund_location,
                    assessment,
                });
            }
        }
        for p in problems {
            self.problems.push(p);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    fn read(text: &str) -> Result<AssessmentFile, RegistryError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("assessments.csv");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        read_assessments(&path, today())
    }

    #[test]
    fn thai_headings_be_dates_levels_and_dimensions_are_read() {
        let file = read(
            "ผลการประเมินมาตรฐานกองทุนสวัสดิการชุมชน ปี 2568\n\
             ลำดับ,รหัสกองทุน,ชื่อกองทุน,วันที่ประเมิน,แบบประเมิน,ธรรมาภิบาล,คุณธรรม,การบริหารจัดการ,ระดับ\n\
             1,F-560101,กองทุนเวียง,15/03/2568,2566,85,๙๐,72.5,ดีมาก\n\
             2,F-560102,กองทุนแม่ต๋ำ,2568-06-30,2566,60,,55,ต้องปรับปรุง\n",
        )
        .unwrap();
        assert_eq!(file.dimensions, ["ธรรมาภิบาล", "คุณธรรม", "การบริหารจัดการ"]);
        assert!(!file.has_assessor);
        assert_eq!(file.not_read.len(), 2);
        let a = &file.lines[0];
        assert_eq!(a.location, "assessments.csv line 3");
        assert_eq!(
            a.fund_location,
            "assessments.csv line 3 column 2 (รหัสกองทุน)"
        );
        assert_eq!(
            a.assessment.assessed_on,
            NaiveDate::from_ymd_opt(2025, 3, 15).unwrap()
        );
        assert_eq!(a.assessment.overall_level, GovernanceLevel::Excellent);
        assert_eq!(a.assessment.scores["คุณธรรม"].to_string(), "90");
        assert_eq!(a.assessment.scores["การบริหารจัดการ"].to_string(), "72.5");
        let b = &file.lines[1].assessment;
        assert_eq!(b.overall_level, GovernanceLevel::Improve);
        assert_eq!(b.scores.len(), 2, "an empty cell is no score");
    }

    #[test]
    fn every_problem_names_its_line_and_column() {
        let e = read(
            "fund_id,assessed_on,form_version,overall_level,governance\n\
             F-1,01/01/2570,2566,good,80\n\
             F-2,01/01/2568,2566,เยี่ยม,80\n\
             F-3,01/01/2568,2566,good,120\n\
             F-4,31/02/2568,,fair,ดี\n\
             F-5,01/01/2568,2566,good,80\n\
             F-5,01/01/2568,2566,fair,70\n",
        )
        .unwrap_err();
        assert_eq!(
            e.problems,
            vec![
                "assessments.csv line 2 column 2 (assessed_on): assessed on 2027-01-01, which is in the future (today is 2026-12-07)",
                "assessments.csv line 3 column 4 (overall_level): \"เยี่ยม\" is not a governance level: expected one of excellent (ดีมาก), good (ดี), fair (พอใช้), improve (ต้องปรับปรุง)",
                "assessments.csv line 4 column 5 (governance): score 120 is outside 0–100",
                "assessments.csv line 5 column 5 (governance): \"ดี\" is not a number",
                "assessments.csv line 5 column 2 (assessed_on): \"31/02/2568\" is not a day of the calendar",
                "assessments.csv line 5 column 3 (form_version): no form version",
                "assessments.csv line 7: fund F-5 was assessed on 2025-01-01 with form 2566 already on assessments.csv line 6",
            ]
        );
    }

    #[test]
    fn a_header_names_the_required_columns() {
        let e = read("รหัสกองทุน,วันที่ประเมิน,ธรรมาภิบาล\nF-1,01/01/2568,80\n").unwrap_err();
        assert_eq!(
            e.problems,
            vec![
                "assessments.csv line 1: the header has no column for form_version (แบบประเมิน)",
                "assessments.csv line 1: the header has no column for overall_level (ระดับ)",
            ]
        );
        assert!(
            read("title only\n").unwrap_err().problems[0]
                .starts_with("assessments.csv: no header found")
        );
    }
}
