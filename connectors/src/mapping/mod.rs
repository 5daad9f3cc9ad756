//! From a source's own fields to canonical summaries: one piece of code for every kind.
//!
//! A kind reads its source into [`RawRecord`]s (field names as the source writes them, values as it
//! stores them). [`FieldMapping`] says which field each name feeds: the configured `fields`, then the
//! configured `ignore`, then canonical names, then the key words of the heading (`headings.rs`:
//! Thai and English, extra words, `/`-joined variants, any order), and
//! [`FieldMapping::map_header`] refuses a header that cannot be read safely (a heading meaning two
//! fields, two columns for one field, a required field missing). [`RecordMapper`] parses values the
//! way fund clerks write them (`values.rs`): Thai digits, thousands separators, `฿`/`บาท`, accounting
//! dashes and parentheses, Buddhist-era years and Thai month names. A value that cannot be read
//! rejects its row, naming the field and the value. The pull pipeline ([`crate::pipeline`]) drives
//! both for every kind.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use welfare_model::period::common_era_year;
use welfare_model::summary::{MEASURES, MeasureValue};
use welfare_model::thai::{ascii_digits, quoted};
use welfare_model::{FundId, Period, Summary};

use crate::source::{ConnectorError, Rejected};

mod headings;
mod values;

pub use values::{parse_count, parse_date, parse_money, parse_tambon, parse_timestamp};
use values::{parse_fund_id, parse_month, parse_period};

/// A value as the source holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Empty,
    Text(String),
    Int(i64),
    /// Spreadsheets store every number as a float.
    Float(f64),
    Decimal(Decimal),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    Bool(bool),
}

impl RawValue {
    fn to_json(&self) -> serde_json::Value {
        match self {
            RawValue::Empty => serde_json::Value::Null,
            RawValue::Text(t) => t.clone().into(),
            RawValue::Int(i) => (*i).into(),
            RawValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            RawValue::Decimal(d) => d.to_string().into(),
            RawValue::Date(d) => d.to_string().into(),
            RawValue::DateTime(d) => d.to_string().into(),
            RawValue::Bool(b) => (*b).into(),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, RawValue::Empty) || matches!(self, RawValue::Text(t) if t.trim().is_empty())
    }
}

impl From<&str> for RawValue {
    fn from(s: &str) -> Self {
        RawValue::Text(s.to_string())
    }
}

/// The canonical field a source field feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    FundId,
    Period,
    /// A year column, with `Month` (for sources that split the period).
    Year,
    Month,
    /// A measure: the index in [`MEASURES`].
    Measure(usize),
    ReportedAt,
    /// The 6-digit DOPA code of the fund's tambon, checked by the hub against the registry.
    Tambon,
}

impl Target {
    /// The canonical name (`members_total`, `period`, …).
    pub fn name(self) -> &'static str {
        match self {
            Target::FundId => "fund_id",
            Target::Period => "period",
            Target::Year => "year",
            Target::Month => "month",
            Target::Measure(i) => MEASURES[i].name,
            Target::ReportedAt => "reported_at",
            Target::Tambon => "tambon",
        }
    }

    /// The target whose canonical name folds (see [`fold_name`]) to `folded`: `Members_Total`.
    fn by_folded_name(folded: &str) -> Option<Target> {
        [
            "fund_id",
            "period",
            "year",
            "month",
            "reported_at",
            "tambon",
        ]
        .into_iter()
        .chain(MEASURES.iter().map(|m| m.name))
        .find(|name| fold_name(name) == folded)
        .and_then(Target::by_name)
    }

    /// The target called `name` canonically.
    pub fn by_name(name: &str) -> Option<Target> {
        match name {
            "fund_id" => Some(Target::FundId),
            "period" => Some(Target::Period),
            "year" => Some(Target::Year),
            "month" => Some(Target::Month),
            "reported_at" => Some(Target::ReportedAt),
            "tambon" => Some(Target::Tambon),
            other => Summary::measure_index(other).map(Target::Measure),
        }
    }
}

/// Headings fund clerks and bookkeeping programs use, in Thai and English, for each canonical field.
/// Recognition does not look them up (it reads key words, see `headings.rs`); they are headings it
/// must read back, tested so, and the first of each is what report writers (the simulator) put
/// over the field ([`canonical_heading`]).
pub const ALIASES: &[(&str, &[&str])] = &[
    (
        "fund_id",
        &[
            "รหัสกองทุน",
            "รหัส",
            "fund",
            "fundcode",
            "fund code",
            "id กองทุน",
            "org_code",
        ],
    ),
    (
        "period",
        &[
            "เดือน",
            "งวด",
            "เดือนปี",
            "งวดเดือน",
            "month of report",
            "report month",
            "yearmonth",
            "ym",
        ],
    ),
    ("year", &["ปี", "ปีพศ", "พศ", "yr"]),
    (
        "tambon",
        &[
            "รหัสตำบล",
            "ตำบล (รหัส)",
            "tambon",
            "tambon code",
            "subdistrict code",
            "geocode",
        ],
    ),
    ("month", &["เดือนที่", "mon", "mm"]),
    (
        "reported_at",
        &[
            "วันที่รายงาน",
            "วันที่ส่งรายงาน",
            "reported",
            "report date",
            "submitted_at",
            "updated_at",
        ],
    ),
    (
        "members_total",
        &[
            "จำนวนสมาชิก",
            "สมาชิกทั้งหมด",
            "สมาชิกรวม",
            "สมาชิก",
            "members",
            "total members",
            "member_count",
        ],
    ),
    (
        "members_children",
        &["สมาชิกเด็ก", "สมาชิกอายุ 0-14 ปี", "เด็ก", "children"],
    ),
    (
        "members_working",
        &["สมาชิกวัยทำงาน", "สมาชิกอายุ 15-59 ปี", "วัยทำงาน", "working age"],
    ),
    (
        "members_elderly",
        &["สมาชิกผู้สูงอายุ", "สมาชิกอายุ 60 ปีขึ้นไป", "ผู้สูงอายุ", "elderly"],
    ),
    (
        "members_joined",
        &["สมาชิกเข้าใหม่", "สมาชิกใหม่", "joined", "new members"],
    ),
    (
        "members_left",
        &[
            "สมาชิกออก",
            "สมาชิกลาออก",
            "ลาออก/เสียชีวิต",
            "left",
            "members out",
        ],
    ),
    (
        "contrib_members",
        &[
            "เงินสมทบสมาชิก",
            "เงินออมสมาชิก",
            "เงินสัจจะ",
            "เงินสมทบจากสมาชิก",
            "contributions",
            "member contributions",
        ],
    ),
    (
        "grant_state",
        &[
            "เงินสมทบจากรัฐ",
            "เงินสมทบจาก พอช",
            "เงินสมทบ พอช",
            "เงินอุดหนุนจากรัฐ",
            "state grant",
            "codi",
        ],
    ),
    (
        "grant_local",
        &[
            "เงินสมทบจาก อปท",
            "เงินสมทบท้องถิ่น",
            "เงินสมทบจากท้องถิ่น",
            "local grant",
            "local government",
        ],
    ),
    (
        "income_other",
        &["รายได้อื่น", "เงินบริจาค", "other income", "donations"],
    ),
    ("benefits_birth", &["สวัสดิการเกิด", "คลอดบุตร", "birth"]),
    (
        "benefits_sickness",
        &["สวัสดิการเจ็บป่วย", "เจ็บป่วย", "นอนโรงพยาบาล", "sickness"],
    ),
    (
        "benefits_death",
        &["สวัสดิการเสียชีวิต", "เสียชีวิต", "ฌาปนกิจ", "death"],
    ),
    (
        "benefits_elderly",
        &["สวัสดิการผู้สูงอายุ", "บำนาญ", "elderly benefits", "pension"],
    ),
    (
        "benefits_education",
        &["สวัสดิการการศึกษา", "ทุนการศึกษา", "การศึกษา", "education"],
    ),
    (
        "benefits_occupation",
        &["สวัสดิการอาชีพ", "ส่งเสริมอาชีพ", "อาชีพ", "occupation"],
    ),
    (
        "benefits_disability",
        &["สวัสดิการผู้พิการ", "ผู้พิการ", "คนพิการ", "disability"],
    ),
    ("benefits_disaster", &["สวัสดิการภัยพิบัติ", "ภัยพิบัติ", "disaster"]),
    (
        "benefits_other",
        &["สวัสดิการอื่น", "สวัสดิการอื่นๆ", "other benefits"],
    ),
    (
        "beneficiaries",
        &[
            "ผู้ได้รับสวัสดิการ",
            "จำนวนผู้รับสวัสดิการ",
            "ผู้รับสวัสดิการ",
            "recipients",
        ],
    ),
    (
        "services_noncash",
        &[
            "สวัสดิการที่ไม่เป็นตัวเงิน",
            "บริการไม่เป็นตัวเงิน",
            "non-cash services",
            "noncash",
        ],
    ),
    (
        "admin_costs",
        &[
            "ค่าบริหารจัดการ",
            "ค่าใช้จ่ายบริหาร",
            "ค่าบริหาร",
            "admin",
            "administration",
        ],
    ),
    (
        "fund_balance",
        &[
            "ยอดเงินกองทุน",
            "เงินกองทุนคงเหลือ",
            "ยอดคงเหลือ",
            "เงินกองทุน",
            "balance",
            "fund balance",
        ],
    ),
];

/// Folds a field name for comparing configured names with headings: lower case, Thai digits to
/// ASCII, without spaces, `_`, `.`, `-`, a byte-order mark or the unit words `(บาท)`/`(คน)`/`(ราย)`.
pub fn fold_name(name: &str) -> String {
    let ascii = ascii_digits(name).to_lowercase();
    let trimmed = ascii
        .trim_start_matches('\u{feff}')
        .replace("(บาท)", "")
        .replace("(คน)", "")
        .replace("(ราย)", "");
    trimmed
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '.' | '-' | '\u{feff}'))
        .collect()
}

/// The heading a report writer (the simulator) puts over a canonical field: its first name in
/// [`ALIASES`], which the recognition reads back as that field.
pub fn canonical_heading(field: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(name, _)| *name == field)
        .and_then(|(_, names)| names.first())
        .copied()
}

/// How a source's field names map to canonical fields.
#[derive(Debug, Clone, Default)]
pub struct FieldMapping {
    /// Folded source name → target, from the configuration (`canonical = "source name"`).
    explicit: HashMap<String, Target>,
    /// Folded names the configuration says to ignore (`ignore = ["หมายเหตุ"]`).
    ignored: HashSet<String>,
}

/// What each heading of a source feeds (see [`FieldMapping::map_header`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMap {
    /// `targets[i]` is the field heading `i` feeds; `None` for empty, ignored or unrecognised
    /// headings, and for a column the configuration overrode with another for the same field.
    pub targets: Vec<Option<Target>>,
    /// Indices of non-empty headings that feed nothing and are not ignored: report them.
    pub unrecognised: Vec<usize>,
}

/// What the configuration supplies instead of a column, for [`FieldMapping::map_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeaderDefaults {
    /// A `fund_id` is configured: no fund id column is needed.
    pub fund_id: bool,
    /// A `period` is configured: no month column is needed.
    pub period: bool,
    /// A `members_total` column is required (every file and query; not JSON records, where a
    /// missing key is the record's fault and rejects that record alone).
    pub members_total_required: bool,
}

impl HeaderDefaults {
    /// Nothing required: for sources whose records are keyed one by one (JSON), where a record
    /// missing a field is rejected by itself.
    pub const PER_RECORD: HeaderDefaults = HeaderDefaults {
        fund_id: true,
        period: true,
        members_total_required: false,
    };
}

/// Why a header cannot be read. Headings are quoted as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// One heading could mean several fields.
    #[error(
        "the heading \"{heading}\" could mean {}; name the field it feeds in `fields` ({} = \"{heading}\") or list it in `ignore`",
        .fields.join(" or "),
        .fields[0]
    )]
    Ambiguous {
        heading: String,
        /// Canonical names, at least two.
        fields: Vec<String>,
    },
    /// Two or more columns mean one field.
    #[error(
        "{} all mean {field}; name the one to read in `fields` ({field} = \"…\") or list the others in `ignore`",
        quoted_and(.headings.iter().map(|(_, h)| h.as_str()))
    )]
    TwoColumns {
        field: String,
        /// (index, heading) of every column for the field.
        headings: Vec<(usize, String)>,
    },
    /// Required fields have no column.
    #[error(
        "no column for {}; the headings are {}",
        .missing.join(", "),
        quoted_list(.seen.iter().map(String::as_str))
    )]
    Missing {
        /// Canonical names (`fund_id`, `period (or year and month)`, `members_total`).
        missing: Vec<String>,
        /// The non-empty headings, as written.
        seen: Vec<String>,
    },
}

/// `"a", "b", "c"`, at most 40 of them (a file may have a thousand columns).
fn quoted_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    const SHOWN: usize = 40;
    let items: Vec<&str> = items.collect();
    if items.is_empty() {
        return "none".into();
    }
    let mut shown: Vec<String> = items.iter().take(SHOWN).map(|h| quoted(h)).collect();
    if items.len() > SHOWN {
        shown.push(format!("and {} more", items.len() - SHOWN));
    }
    shown.join(", ")
}

/// `"a" and "b"`, `"a", "b" and "c"`: the columns of one field.
fn quoted_and<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let shown: Vec<String> = items.map(quoted).collect();
    match shown.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => shown.join(""),
    }
}

impl FieldMapping {
    /// A mapping from configuration: keys are canonical names, values the source's names. Unknown
    /// canonical names are a configuration error.
    pub fn new(fields: &BTreeMap<String, String>) -> Result<Self, ConnectorError> {
        let mut explicit = HashMap::new();
        for (canonical, source) in fields {
            let target = Target::by_name(canonical).ok_or_else(|| {
                ConnectorError::Config(format!(
                    "field mapping names {canonical:?}, which is not a canonical field (fund_id, period, year, month, reported_at, tambon, or a measure such as members_total)"
                ))
            })?;
            explicit.insert(fold_name(source), target);
        }
        Ok(FieldMapping {
            explicit,
            ignored: HashSet::new(),
        })
    }

    /// Adds headings the configuration says to ignore (`ignore = [...]`), compared folded. A
    /// heading named in `fields` is read even when also ignored.
    pub fn with_ignored(mut self, headings: &[String]) -> Self {
        self.ignored.extend(headings.iter().map(|h| fold_name(h)));
        self
    }

    /// True when the configuration names this heading in `fields`.
    pub fn is_explicit(&self, heading: &str) -> bool {
        self.explicit.contains_key(&fold_name(heading))
    }

    /// The field one heading feeds: the configured mapping first, then ignored headings (none),
    /// then canonical names, then key words. `Err` lists the fields an ambiguous heading could mean.
    pub fn recognise(&self, heading: &str) -> Result<Option<Target>, Vec<&'static str>> {
        let folded = fold_name(heading);
        if let Some(t) = self.explicit.get(&folded) {
            return Ok(Some(*t));
        }
        if self.ignored.contains(&folded) {
            return Ok(None);
        }
        if let Some(t) = Target::by_folded_name(&folded) {
            return Ok(Some(t));
        }
        headings::recognise(heading)
    }

    /// The target of a source field, `None` when it feeds nothing or is ambiguous (use
    /// [`FieldMapping::map_header`] to refuse ambiguous headings).
    pub fn resolve(&self, source_name: &str) -> Option<Target> {
        self.recognise(source_name).ok().flatten()
    }

    /// Resolves a whole header at once, without its checks (see [`FieldMapping::map_header`]).
    pub fn resolve_header<S: AsRef<str>>(&self, names: &[S]) -> Vec<Option<Target>> {
        names.iter().map(|n| self.resolve(n.as_ref())).collect()
    }

    /// Resolves every heading of a source (a file's header, a wide layout's row labels, a query's
    /// columns) and refuses what cannot be read safely: a heading meaning two fields (naming both),
    /// two columns for one field (naming both headings, unless the configuration names one in
    /// `fields`; the other then feeds nothing), and a required field without a column — `fund_id`
    /// and `period` (or year and month) unless configured, `members_total` when asked — naming the
    /// missing fields and the headings seen.
    ///
    /// With a year column, a `เดือน` column holds only the month (`ปี | เดือน | …`): it feeds `month`.
    pub fn map_header(
        &self,
        headings: &[String],
        defaults: HeaderDefaults,
    ) -> Result<HeaderMap, HeaderError> {
        let mut targets = Vec::with_capacity(headings.len());
        let mut unrecognised = Vec::new();
        for (i, heading) in headings.iter().enumerate() {
            if fold_name(heading).is_empty() {
                targets.push(None);
                continue;
            }
            let target = self
                .recognise(heading)
                .map_err(|fields| HeaderError::Ambiguous {
                    heading: heading.trim().to_string(),
                    fields: fields.iter().map(|f| f.to_string()).collect(),
                })?;
            if target.is_none() && !self.ignored.contains(&fold_name(heading)) {
                unrecognised.push(i);
            }
            targets.push(target);
        }
        let has = |targets: &[Option<Target>], t: Target| targets.contains(&Some(t));
        if has(&targets, Target::Year)
            && has(&targets, Target::Period)
            && !has(&targets, Target::Month)
        {
            for t in &mut targets {
                if *t == Some(Target::Period) {
                    *t = Some(Target::Month);
                }
            }
        }
        self.one_column_per_field(headings, &mut targets)?;
        let mut missing = Vec::new();
        if !defaults.fund_id && !has(&targets, Target::FundId) {
            missing.push("fund_id".to_string());
        }
        let has_period = has(&targets, Target::Period)
            || (has(&targets, Target::Year) && has(&targets, Target::Month));
        if !defaults.period && !has_period {
            missing.push("period (or year and month)".to_string());
        }
        let members_total = Target::by_name("members_total");
        if defaults.members_total_required && !targets.contains(&members_total) {
            missing.push("members_total".to_string());
        }
        if !missing.is_empty() {
            return Err(HeaderError::Missing {
                missing,
                seen: headings
                    .iter()
                    .filter(|h| !fold_name(h).is_empty())
                    .map(|h| h.trim().to_string())
                    .collect(),
            });
        }
        Ok(HeaderMap {
            targets,
            unrecognised,
        })
    }

    /// Refuses two columns for one field unless the configuration names exactly one of them.
    fn one_column_per_field(
        &self,
        headings: &[String],
        targets: &mut [Option<Target>],
    ) -> Result<(), HeaderError> {
        let mut by_target: BTreeMap<usize, (Target, Vec<usize>)> = BTreeMap::new();
        for (i, t) in targets.iter().enumerate() {
            if let Some(t) = t {
                // Keyed by first position so the error names the first doubled field.
                let first = targets.iter().position(|x| x == &Some(*t)).unwrap_or(i);
                by_target.entry(first).or_insert((*t, Vec::new())).1.push(i);
            }
        }
        for (target, positions) in by_target.into_values() {
            if positions.len() < 2 {
                continue;
            }
            let explicit: Vec<usize> = positions
                .iter()
                .copied()
                .filter(|i| self.is_explicit(&headings[*i]))
                .collect();
            if let [keep] = explicit.as_slice() {
                for i in positions {
                    if i != *keep {
                        targets[i] = None;
                    }
                }
            } else {
                return Err(HeaderError::TwoColumns {
                    field: target.name().to_string(),
                    headings: positions
                        .iter()
                        .map(|i| (*i, headings[*i].trim().to_string()))
                        .collect(),
                });
            }
        }
        Ok(())
    }
}

/// One row as read from a source, before mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub location: String,
    /// (source field name, target if it maps to one, value).
    pub fields: Vec<(String, Option<Target>, RawValue)>,
}

impl RawRecord {
    pub fn raw_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.fields
                .iter()
                .map(|(name, _, v)| (name.clone(), v.to_json()))
                .collect(),
        )
    }
}

/// A record read: its summary and the tambon it declares (`None` when it has no tambon field or
/// left it blank).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub summary: Summary,
    pub tambon: Option<String>,
}

/// Turns raw records into summaries, with the defaults a source's configuration gives.
#[derive(Debug, Clone)]
pub struct RecordMapper {
    /// The fund of a one-fund source, used when a record has no fund id.
    pub fund_id: Option<FundId>,
    /// The period of a one-month source, used when a record has no period.
    pub period: Option<Period>,
    /// Stamped on every summary as provenance (`connector:<id>`).
    pub source: String,
    /// Refuse an empty amount where the source has the money column (spreadsheets: an empty cell
    /// there cannot be told from a forgotten zero). Databases and APIs say "not reported" with an
    /// explicit NULL, so they leave this off.
    pub money_required: bool,
}

/// The hub's time zone for dates written without one (defined with the periods in `welfare-model`).
pub use welfare_model::bangkok;

impl RecordMapper {
    pub fn new(source: impl Into<String>) -> Self {
        RecordMapper {
            fund_id: None,
            period: None,
            source: source.into(),
            money_required: false,
        }
    }

    /// The summary a record describes, or why it cannot be read.
    pub fn map(&self, record: &RawRecord) -> Result<Summary, Rejected> {
        self.map_record(record)
            .map(|m| m.summary)
            .map_err(|boxed| boxed.0)
    }

    /// Like [`RecordMapper::map`], and a rejection also gives the index in `record.fields` of the
    /// value that could not be read (`None` when the record as a whole is wrong, e.g. no fund id), so
    /// a spreadsheet source can point at the cell.
    pub fn map_locating(
        &self,
        record: &RawRecord,
    ) -> Result<Summary, Box<(Rejected, Option<usize>)>> {
        self.map_record(record).map(|m| m.summary)
    }

    /// The summary a record describes and the tambon it declares; a rejection gives the index in
    /// `record.fields` of the failing value (`None` when the record as a whole is wrong).
    pub fn map_record(&self, record: &RawRecord) -> Result<Mapped, Box<(Rejected, Option<usize>)>> {
        let mut culprit = None;
        self.try_map(record, &mut culprit).map_err(|reason| {
            let rejected = Rejected {
                location: record.location.clone(),
                reason,
                raw: record.raw_json(),
            };
            Box::new((rejected, culprit))
        })
    }

    fn try_map(&self, record: &RawRecord, culprit: &mut Option<usize>) -> Result<Mapped, String> {
        let mut fund_id = None;
        let mut period = None;
        let mut year = None;
        let mut month = None;
        let mut reported_at = None;
        let mut tambon = None;
        let mut measures: Vec<(usize, MeasureValue)> = Vec::new();
        for (index, (name, target, value)) in record.fields.iter().enumerate() {
            let Some(target) = target else { continue };
            *culprit = Some(index);
            let context =
                |e: String| format!("{} ({name}) = {}: {e}", target.name(), value.to_json());
            match target {
                Target::FundId => fund_id = parse_fund_id(value).map_err(context)?,
                Target::Period => period = parse_period(value).map_err(context)?,
                Target::Year => year = parse_count(value).map_err(context)?,
                Target::Month => month = parse_month(value).map_err(context)?,
                Target::ReportedAt => reported_at = parse_timestamp(value).map_err(context)?,
                Target::Tambon => tambon = parse_tambon(value).map_err(context)?,
                Target::Measure(i) => {
                    let parsed = if MEASURES[*i].unit.is_money() {
                        let amount = parse_money(value).map_err(context)?;
                        if amount.is_none() && self.money_required {
                            return Err(context(
                                "no amount, though the report has this column: write 0 (or -) \
                                 when nothing was received or paid"
                                    .into(),
                            ));
                        }
                        MeasureValue::Money(amount)
                    } else {
                        MeasureValue::Count(parse_count(value).map_err(context)?)
                    };
                    measures.push((*i, parsed));
                }
            }
        }
        *culprit = None;
        let fund_id = fund_id
            .or_else(|| self.fund_id.clone())
            .ok_or("no fund id (fund_id / รหัสกองทุน) and none configured")?;
        let period = match (period, year, month) {
            (Some(p), _, _) => p,
            (None, Some(y), Some(m)) => {
                let y = i32::try_from(y).map_err(|_| format!("year/month: {y} is not a year"))?;
                Period::new(common_era_year(y), m).map_err(|e| format!("year/month: {e}"))?
            }
            (None, Some(_), None) => return Err("a year but no month".into()),
            (None, None, Some(_)) => return Err("a month but no year".into()),
            (None, None, None) => self
                .period
                .ok_or("no period (period / เดือน) and none configured")?,
        };
        let mut s = Summary::new(fund_id, period);
        for (i, v) in measures {
            s.set_measure(i, v)?;
        }
        s.reported_at = reported_at;
        s.source = Some(self.source.clone());
        Ok(Mapped { summary: s, tambon })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use welfare_model::Money;

    fn record(fields: &[(&str, RawValue)]) -> RawRecord {
        let mapping = FieldMapping::new(&BTreeMap::from([(
            "fund_balance".to_string(),
            "เงินคงเหลือปลายเดือน".to_string(),
        )]))
        .unwrap();
        RawRecord {
            location: "test line 2".into(),
            fields: fields
                .iter()
                .map(|(n, v)| (n.to_string(), mapping.resolve(n), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn thai_headers_and_values() {
        let mapper = RecordMapper::new("connector:test");
        let s = mapper
            .map(&record(&[
                ("รหัสกองทุน", "F100101".into()),
                ("เดือน", "ต.ค. ๒๕๖๘".into()),
                ("จำนวนสมาชิก (คน)", "๑,๒๓๔".into()),
                ("เงินสมทบจากรัฐ (บาท)", "฿12,345.50".into()),
                ("เงินสมทบจาก อปท.", "-".into()),
                ("เงินคงเหลือปลายเดือน", RawValue::Float(100_000.1)),
                ("สวัสดิการเสียชีวิต", "(1,000.00)".into()),
                ("หมายเหตุ", "ignored".into()),
                ("วันที่รายงาน", "10/11/2568".into()),
            ]))
            .unwrap();
        assert_eq!(s.fund_id.as_str(), "F100101");
        assert_eq!(s.period.to_string(), "2025-10");
        assert_eq!(s.members_total, Some(1234));
        assert_eq!(s.grant_state.unwrap().to_string(), "12345.50");
        assert_eq!(s.grant_local, Some(Money::ZERO));
        assert_eq!(s.fund_balance.unwrap().to_string(), "100000.10");
        assert_eq!(s.benefits_death.unwrap().to_string(), "-1000.00");
        assert_eq!(s.benefits_birth, None, "absent is not zero");
        assert_eq!(
            s.reported_at.unwrap().to_rfc3339(),
            "2025-11-09T17:00:00+00:00",
            "midnight Bangkok"
        );
        assert_eq!(s.source.as_deref(), Some("connector:test"));
    }

    #[test]
    fn english_and_split_periods() {
        let mut mapper = RecordMapper::new("x");
        mapper.fund_id = Some(FundId::parse("F1").unwrap());
        let s = mapper
            .map(&record(&[
                ("Year", "2568".into()),
                ("month", RawValue::Int(10)),
                ("Members", RawValue::Int(7)),
                ("fund_balance", RawValue::Decimal(Decimal::new(12_345, 2))),
            ]))
            .unwrap();
        assert_eq!(
            (s.fund_id.as_str(), s.period.to_string()),
            ("F1", "2025-10".into())
        );
        assert_eq!(s.fund_balance.unwrap().to_string(), "123.45");
    }

    #[test]
    fn bad_values_name_field_and_location() {
        let mapper = RecordMapper::new("x");
        let r = mapper
            .map(&record(&[
                ("fund_id", "F1".into()),
                ("period", "2025-10".into()),
                ("members_total", "many".into()),
            ]))
            .unwrap_err();
        assert_eq!(r.location, "test line 2");
        assert!(
            r.reason.contains("members_total") && r.reason.contains("many"),
            "{}",
            r.reason
        );
        assert_eq!(r.raw["members_total"], "many");
        let r = mapper
            .map(&record(&[
                ("fund_id", "F1".into()),
                ("period", "13/2568".into()),
            ]))
            .unwrap_err();
        assert!(r.reason.contains("period"), "{}", r.reason);
        let r = mapper
            .map(&record(&[("period", "2025-10".into())]))
            .unwrap_err();
        assert!(r.reason.contains("no fund id"), "{}", r.reason);
        let r = mapper
            .map(&record(&[
                ("fund_id", "F1".into()),
                ("period", "2025-10".into()),
                ("fund_balance", RawValue::Float(1.005)),
            ]))
            .unwrap_err();
        assert!(r.reason.contains("two decimal"), "{}", r.reason);
    }

    #[test]
    fn an_empty_amount_under_a_money_column_is_refused_where_sheets_require_it() {
        let fields = [
            ("fund_id", "F1".into()),
            ("period", "2025-10".into()),
            ("members_total", RawValue::Int(10)),
            ("grant_local", RawValue::Empty),
        ];
        let mut mapper = RecordMapper::new("x");
        let s = mapper.map(&record(&fields)).unwrap();
        assert_eq!(s.grant_local, None, "a database's NULL is 'not reported'");
        mapper.money_required = true;
        let (r, field) = *mapper.map_locating(&record(&fields)).unwrap_err();
        assert_eq!(field, Some(3), "{}", r.reason);
        assert!(
            r.reason.contains("grant_local") && r.reason.contains("no amount"),
            "{}",
            r.reason
        );
        let mut zero = fields.clone();
        zero[3].1 = "-".into();
        assert_eq!(
            mapper.map(&record(&zero)).unwrap().grant_local,
            Some(Money::ZERO)
        );
    }

    #[test]
    fn spreadsheet_forms_and_the_failing_field() {
        let mapper = RecordMapper::new("x");
        let s = mapper
            .map(&record(&[
                ("รหัสกองทุน", "F๕๐๐๑๐๑".into()),
                ("งวด", RawValue::Float(256_810.0)),
            ]))
            .unwrap();
        assert_eq!(
            (s.fund_id.as_str(), s.period.to_string()),
            ("F500101", "2025-10".into())
        );
        let (r, field) = *mapper
            .map_locating(&record(&[
                ("fund_id", "F1".into()),
                ("period", "2025-10".into()),
                ("members_total", "many".into()),
                ("fund_balance", "1.00".into()),
            ]))
            .unwrap_err();
        assert_eq!(field, Some(2), "{}", r.reason);
        let (_, field) = *mapper
            .map_locating(&record(&[("period", "2025-10".into())]))
            .unwrap_err();
        assert_eq!(field, None, "a missing fund id is no one cell's fault");
    }

    #[test]
    fn configured_names_must_be_canonical() {
        let err = FieldMapping::new(&BTreeMap::from([("members".to_string(), "x".to_string())]))
            .unwrap_err();
        assert!(err.to_string().contains("\"members\""), "{err}");
        let m = FieldMapping::default();
        assert_eq!(m.resolve("จำนวนสมาชิก"), Target::by_name("members_total"));
        assert_eq!(m.resolve("Fund Balance"), Target::by_name("fund_balance"));
        assert_eq!(m.resolve("\u{feff}รหัสกองทุน"), Some(Target::FundId));
        assert_eq!(m.resolve("grant_state"), Target::by_name("grant_state"));
        assert_eq!(m.resolve("comment"), None);
    }

    fn headings(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    const STRICT: HeaderDefaults = HeaderDefaults {
        fund_id: false,
        period: false,
        members_total_required: true,
    };

    #[test]
    fn every_alias_and_canonical_name_reads_back_as_its_field() {
        let m = FieldMapping::default();
        for (canonical, names) in ALIASES {
            let want = Target::by_name(canonical);
            assert!(want.is_some(), "{canonical}");
            assert_eq!(m.resolve(canonical), want, "{canonical}");
            assert_eq!(m.resolve(&canonical.to_uppercase()), want, "{canonical}");
            for name in *names {
                assert_eq!(m.resolve(name), want, "{name} is {canonical}");
            }
        }
        for measure in MEASURES {
            assert_eq!(
                m.resolve(measure.name),
                Target::by_name(measure.name),
                "{}",
                measure.name
            );
        }
        assert_eq!(canonical_heading("members_total"), Some("จำนวนสมาชิก"));
        assert_eq!(canonical_heading("nothing"), None);
    }

    #[test]
    fn a_header_maps_and_reports_what_feeds_nothing() {
        let m = FieldMapping::default().with_ignored(&["ผู้บันทึก".to_string()]);
        let map = m
            .map_header(
                &headings(&[
                    "\u{feff}รหัสกองทุน",
                    "เดือน",
                    "จำนวนสมาชิก (คน)",
                    "สมาชิกลาออก/เสียชีวิต",
                    "ยอดเงินกองทุนคงเหลือ",
                    "หมายเหตุ",
                    "",
                    " ผู้บันทึก ",
                    "รหัสตำบล",
                ]),
                STRICT,
            )
            .unwrap();
        let names: Vec<Option<&str>> = map.targets.iter().map(|t| t.map(Target::name)).collect();
        assert_eq!(
            names,
            [
                Some("fund_id"),
                Some("period"),
                Some("members_total"),
                Some("members_left"),
                Some("fund_balance"),
                None,
                None,
                None,
                Some("tambon"),
            ]
        );
        assert_eq!(
            map.unrecognised,
            [5],
            "only หมายเหตุ: blank and ignored are not reported"
        );
    }

    #[test]
    fn a_year_column_makes_the_month_column_a_month() {
        let map = FieldMapping::default()
            .map_header(&headings(&["รหัสกองทุน", "ปี", "เดือน", "สมาชิก"]), STRICT)
            .unwrap();
        assert_eq!(map.targets[1..3], [Some(Target::Year), Some(Target::Month)]);
    }

    #[test]
    fn an_ambiguous_heading_names_both_fields() {
        let err = FieldMapping::default()
            .map_header(
                &headings(&["รหัสกองทุน", "เดือน", "สมาชิก", "เงินสมทบรัฐ/ท้องถิ่น"]),
                STRICT,
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the heading \"เงินสมทบรัฐ/ท้องถิ่น\" could mean grant_state or grant_local; name the field \
             it feeds in `fields` (grant_state = \"เงินสมทบรัฐ/ท้องถิ่น\") or list it in `ignore`"
        );
        // Ignoring it, or naming it, settles it.
        let ignored = FieldMapping::default()
            .with_ignored(&["เงินสมทบรัฐ/ท้องถิ่น".to_string()])
            .map_header(
                &headings(&["รหัสกองทุน", "เดือน", "สมาชิก", "เงินสมทบรัฐ/ท้องถิ่น"]),
                STRICT,
            )
            .unwrap();
        assert_eq!((ignored.targets[3], ignored.unrecognised.len()), (None, 0));
        let named = FieldMapping::new(&BTreeMap::from([(
            "grant_state".to_string(),
            "เงินสมทบรัฐ/ท้องถิ่น".to_string(),
        )]))
        .unwrap()
        .map_header(
            &headings(&["รหัสกองทุน", "เดือน", "สมาชิก", "เงินสมทบรัฐ/ท้องถิ่น"]),
            STRICT,
        )
        .unwrap();
        assert_eq!(named.targets[3], Target::by_name("grant_state"));
    }

    #[test]
    fn two_columns_for_one_field_name_both_unless_one_is_configured() {
        let names = headings(&["รหัสกองทุน", "เดือน", "จำนวนสมาชิก", "สมาชิกทั้งหมด"]);
        let err = FieldMapping::default()
            .map_header(&names, STRICT)
            .unwrap_err();
        assert_eq!(
            err,
            HeaderError::TwoColumns {
                field: "members_total".into(),
                headings: vec![(2, "จำนวนสมาชิก".into()), (3, "สมาชิกทั้งหมด".into())],
            }
        );
        assert_eq!(
            err.to_string(),
            "\"จำนวนสมาชิก\" and \"สมาชิกทั้งหมด\" all mean members_total; name the one to read in \
             `fields` (members_total = \"…\") or list the others in `ignore`"
        );
        let chosen = FieldMapping::new(&BTreeMap::from([(
            "members_total".to_string(),
            "สมาชิกทั้งหมด".to_string(),
        )]))
        .unwrap()
        .map_header(&names, STRICT)
        .unwrap();
        assert_eq!(
            (chosen.targets[2], chosen.targets[3]),
            (None, Target::by_name("members_total"))
        );
        assert!(
            chosen.unrecognised.is_empty(),
            "the configuration chose: not unknown"
        );
    }

    #[test]
    fn missing_required_fields_name_the_fields_and_the_headings() {
        let names = headings(&["ลำดับ", "จำนวนสมาชิก", "หมายเหตุ"]);
        let err = FieldMapping::default()
            .map_header(&names, STRICT)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no column for fund_id, period (or year and month); the headings are \"ลำดับ\", \"จำนวนสมาชิก\", \"หมายเหตุ\""
        );
        let err = FieldMapping::default()
            .map_header(&headings(&["รหัสกองทุน", "เดือน", "เงินกองทุน"]), STRICT)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no column for members_total; the headings are \"รหัสกองทุน\", \"เดือน\", \
             \"เงินกองทุน\""
        );
        let configured = HeaderDefaults {
            fund_id: true,
            period: true,
            members_total_required: true,
        };
        assert!(
            FieldMapping::default()
                .map_header(&names, configured)
                .is_ok()
        );
        let err = FieldMapping::default()
            .map_header(&headings(&["รหัสกองทุน", "ปี", "สมาชิก"]), STRICT)
            .unwrap_err();
        assert!(
            matches!(&err, HeaderError::Missing { missing, .. } if missing == &["period (or year and month)"]),
            "{err}"
        );
        assert!(
            FieldMapping::default()
                .map_header(&headings(&["x"]), HeaderDefaults::PER_RECORD)
                .is_ok()
        );
    }

    #[test]
    fn tambon_codes_are_six_digits_never_padded() {
        let ok = |v: RawValue| parse_tambon(&v).unwrap();
        assert_eq!(ok("500101".into()), Some("500101".into()));
        assert_eq!(ok(" ๕๐๐๑๐๑ ".into()), Some("500101".into()));
        assert_eq!(ok(RawValue::Float(500_101.0)), Some("500101".into()));
        assert_eq!(ok(RawValue::Int(900_101)), Some("900101".into()));
        assert_eq!(ok(RawValue::Empty), None);
        assert_eq!(ok("  ".into()), None);
        let err = |v: RawValue| parse_tambon(&v).unwrap_err();
        let expected = "is not a tambon code: expected exactly six digits (DOPA code, e.g. 500101)";
        for (value, shown) in [
            (RawValue::from("50101"), "\"50101\""),
            ("5001011".into(), "\"5001011\""),
            ("50-0101".into(), "\"50-0101\""),
            (RawValue::Int(50_101), "50101"),
            (RawValue::Float(50_101.0), "50101"),
        ] {
            assert_eq!(err(value), format!("{shown} {expected}"));
        }
        assert_eq!(
            err(RawValue::Float(500_101.5)),
            "500101.5 is not a tambon code"
        );
    }

    #[test]
    fn map_record_gives_the_tambon() {
        let mapper = RecordMapper::new("x");
        let r = RawRecord {
            location: "l".into(),
            fields: vec![
                ("รหัสกองทุน".into(), Some(Target::FundId), "F1".into()),
                ("เดือน".into(), Some(Target::Period), "2025-10".into()),
                (
                    "รหัสตำบล".into(),
                    Some(Target::Tambon),
                    RawValue::Float(500_101.0),
                ),
            ],
        };
        let m = mapper.map_record(&r).unwrap();
        assert_eq!(
            (m.summary.fund_id.as_str(), m.tambon.as_deref()),
            ("F1", Some("500101"))
        );
        assert_eq!(
            mapper.map(&r).unwrap(),
            m.summary,
            "old callers see the same summary"
        );
    }
}
