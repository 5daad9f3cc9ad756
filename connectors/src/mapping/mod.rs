//! From a source's own fields to canonical summaries: one piece of code for every kind.
//!
//! A kind reads its source into [`RawRecord`]s (field names as the source writes them, values as it
//! stores them) and hands them to a [`RecordMapper`]. The mapper resolves names through the configured
//! field mapping, then through built-in Thai and English aliases, and parses values the way fund clerks
//! write them: Thai digits, thousands separators, `฿`/`บาท`, accounting dashes and parentheses,
//! Buddhist-era years and Thai month names. A value that cannot be read rejects its row, naming the
//! field and the value.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use welfare_model::summary::{MEASURES, MeasureValue};
use welfare_model::thai::{BUDDHIST_ERA_OFFSET, ascii_digits};
use welfare_model::{FundId, Period, Summary};

use crate::source::{ConnectorError, Rejected};

mod values;

pub use values::{parse_count, parse_money, parse_timestamp};
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
        }
    }

    /// The target called `name` canonically.
    pub fn by_name(name: &str) -> Option<Target> {
        match name {
            "fund_id" => Some(Target::FundId),
            "period" => Some(Target::Period),
            "year" => Some(Target::Year),
            "month" => Some(Target::Month),
            "reported_at" => Some(Target::ReportedAt),
            other => Summary::measure_index(other).map(Target::Measure),
        }
    }
}

/// Names fund clerks and bookkeeping programs use, in Thai and English, for each canonical field.
/// Matching ignores case, spaces, underscores, dots and hyphens. Public so report writers (the
/// simulator) head their columns with the names readers expect.
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

/// Folds a field name for matching: lower case, Thai digits to ASCII, without spaces, `_`, `.`, `-`,
/// a byte-order mark or the unit words `(บาท)`/`(คน)`.
pub fn fold_name(name: &str) -> String {
    let ascii = ascii_digits(name).to_lowercase();
    let trimmed = ascii
        .trim_start_matches('\u{feff}')
        .replace("(บาท)", "")
        .replace("(คน)", "")
        .replace("(ราย)", "");
    trimmed
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '.' | '-'))
        .collect()
}

/// How a source's field names map to canonical fields.
#[derive(Debug, Clone, Default)]
pub struct FieldMapping {
    /// Folded source name → target, from the configuration (`canonical = "source name"`).
    explicit: HashMap<String, Target>,
}

impl FieldMapping {
    /// A mapping from configuration: keys are canonical names, values the source's names. Unknown
    /// canonical names are a configuration error.
    pub fn new(fields: &BTreeMap<String, String>) -> Result<Self, ConnectorError> {
        let mut explicit = HashMap::new();
        for (canonical, source) in fields {
            let target = Target::by_name(canonical).ok_or_else(|| {
                ConnectorError::Config(format!(
                    "field mapping names {canonical:?}, which is not a canonical field (fund_id, period, year, month, reported_at, or a measure such as members_total)"
                ))
            })?;
            explicit.insert(fold_name(source), target);
        }
        Ok(FieldMapping { explicit })
    }

    /// The target of a source field: the configured mapping first, then canonical names and aliases.
    pub fn resolve(&self, source_name: &str) -> Option<Target> {
        let folded = fold_name(source_name);
        if let Some(t) = self.explicit.get(&folded) {
            return Some(*t);
        }
        if let Some(t) = Target::by_name(&source_name.trim().to_lowercase()) {
            return Some(t);
        }
        ALIASES.iter().find_map(|(canonical, aliases)| {
            (fold_name(canonical) == folded || aliases.iter().any(|a| fold_name(a) == folded))
                .then(|| Target::by_name(canonical))
                .flatten()
        })
    }

    /// Resolves a whole header at once.
    pub fn resolve_header<S: AsRef<str>>(&self, names: &[S]) -> Vec<Option<Target>> {
        names.iter().map(|n| self.resolve(n.as_ref())).collect()
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

/// Turns raw records into summaries, with the defaults a source's configuration gives.
#[derive(Debug, Clone)]
pub struct RecordMapper {
    /// The fund of a one-fund source, used when a record has no fund id.
    pub fund_id: Option<FundId>,
    /// The period of a one-month source, used when a record has no period.
    pub period: Option<Period>,
    /// Stamped on every summary as provenance (`connector:<id>`).
    pub source: String,
}

/// The hub's time zone for dates written without one (defined with the periods in `welfare-model`).
pub use welfare_model::bangkok;

impl RecordMapper {
    pub fn new(source: impl Into<String>) -> Self {
        RecordMapper {
            fund_id: None,
            period: None,
            source: source.into(),
        }
    }

    /// The summary a record describes, or why it cannot be read.
    pub fn map(&self, record: &RawRecord) -> Result<Summary, Rejected> {
        self.map_locating(record).map_err(|boxed| boxed.0)
    }

    /// Like [`RecordMapper::map`], and a rejection also gives the index in `record.fields` of the
    /// value that could not be read (`None` when the record as a whole is wrong, e.g. no fund id), so
    /// a spreadsheet source can point at the cell.
    pub fn map_locating(
        &self,
        record: &RawRecord,
    ) -> Result<Summary, Box<(Rejected, Option<usize>)>> {
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

    fn try_map(&self, record: &RawRecord, culprit: &mut Option<usize>) -> Result<Summary, String> {
        let mut fund_id = None;
        let mut period = None;
        let mut year = None;
        let mut month = None;
        let mut reported_at = None;
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
                Target::Measure(i) => {
                    let parsed = if MEASURES[*i].unit.is_money() {
                        MeasureValue::Money(parse_money(value).map_err(context)?)
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
                let y = if y >= 2400 {
                    y - i64::from(BUDDHIST_ERA_OFFSET)
                } else {
                    y
                };
                Period::new(y as i32, m).map_err(|e| format!("year/month: {e}"))?
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
        Ok(s)
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
}
