//! The ingestion acceptance corpus: report files as fund clerks send them, each with the outcome the
//! rules of trustworthy ingestion give it (stored field by field, quarantined rows with where and why,
//! or the whole file refused with the words an operator needs).
//!
//! Everything here is deterministic: [`generate`] makes the same bytes every time, `make-corpus` writes
//! them to `tests/corpus/` (committed), and a test regenerates them and compares byte for byte, so the
//! committed files are always what this script makes. Funds are registered in real tambons of the
//! geography bundle; every file has its own funds, so loading the whole corpus into one store changes
//! nothing any other file stored.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Formula, Workbook};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use welfare_model::period::{ENGLISH_MONTHS, THAI_MONTHS};
use welfare_simulator::reports::THAI_MONTH_ABBREVIATIONS;

/// Where the corpus lives in the repository.
pub fn corpus_dir() -> PathBuf {
    crate::repo_dir().join("tests/corpus")
}

/// The expected outcomes of every file, as written to `cases.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub about: String,
    /// The funds the corpus needs registered (id and DOPA tambon code).
    pub funds: Vec<RegisteredFund>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredFund {
    pub id: String,
    pub tambon: String,
}

/// What happens to a file as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every row stored; nothing quarantined.
    Stored,
    /// Some rows stored, the others quarantined with reason and location.
    Partial,
    /// The whole file refused: nothing stored, the run failed with a message.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The file, under `files/`.
    pub file: String,
    /// The rules of the issue the file exercises.
    pub rules: String,
    /// `file` connector settings beyond `location` (layout, delimiter, ignore, max_bytes…).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub config: Map<String, Value>,
    pub outcome: Outcome,
    /// Words the refusal message must contain (case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refusal: Vec<String>,
    /// Every row the store must hold from this file: `fund_id`, `period`, and each measure the file
    /// gives (counts as numbers, money as exact strings). Measures not listed must be unreported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stored: Vec<Map<String, Value>>,
    /// Every quarantined row of the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantined: Vec<ExpectedQuarantine>,
    /// Headings the run must report as unrecognised (exactly these).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrecognised: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedQuarantine {
    /// Exactly where, as the hub reports it (`x.csv line 5`, `x.xlsx sheet รายงาน cell D7`).
    pub location: String,
    /// Words the reason must contain (case-insensitive).
    pub reason: Vec<String>,
}

/// Writes the corpus to `dir` (`files/…` and `cases.json`), replacing what is there.
pub fn write(dir: &Path) -> anyhow::Result<Manifest> {
    let (manifest, files) = generate()?;
    let files_dir = dir.join("files");
    if files_dir.exists() {
        std::fs::remove_dir_all(&files_dir)?;
    }
    std::fs::create_dir_all(&files_dir)?;
    for (name, bytes) in &files {
        std::fs::write(files_dir.join(name), bytes)?;
    }
    let mut text = serde_json::to_string_pretty(&manifest)?;
    text.push('\n');
    std::fs::write(dir.join("cases.json"), text)?;
    Ok(manifest)
}

/// Real tambons (DOPA codes) with at least 2,000 people registered, one per file.
const TAMBONS: &[&str] = &[
    "101803", "104001", "110504", "130114", "140206", "140815", "150104", "160110", "160612",
    "170605", "190202", "191105", "200610", "210501", "220607", "240112", "240904", "260107",
    "270601", "300404", "301016", "301702", "302504", "310401", "311008", "312102", "320510",
    "321205", "330315", "330811", "331703", "340416", "341122", "342208", "350403", "360301",
    "361201", "370601", "390103", "400114", "400906", "401705", "410204", "411107", "420109",
    "421203", "431702", "440620", "450106", "450703", "451303", "460301", "461104", "470404",
    "471221", "480506", "490202", "500405", "501202", "501910", "510606", "520708", "530405",
    "540309", "550505", "560108", "570112", "570905", "580408", "600507", "601301", "620107",
    "621102", "640107", "640802", "650605", "660501", "670206", "670803", "700505", "710204",
    "711007", "720506", "730121", "730605", "750207", "760601", "770704", "800801", "801604",
    "810509", "830301", "841002", "850106", "860601", "900605", "901511", "920301", "930114",
];

/// Phra Borom Maha Ratchawang, Bangkok: 3,230 people registered (for the "absurd members" rule).
const SMALL_TAMBON: &str = "100101";

const COUNTS: &[&str] = &[
    "members_total",
    "members_children",
    "members_working",
    "members_elderly",
    "members_joined",
    "members_left",
    "beneficiaries",
    "services_noncash",
];

const INCOME: &[&str] = &[
    "contrib_members",
    "grant_state",
    "grant_local",
    "income_other",
];

const BENEFITS: &[&str] = &[
    "benefits_birth",
    "benefits_sickness",
    "benefits_death",
    "benefits_elderly",
    "benefits_education",
    "benefits_occupation",
    "benefits_disability",
    "benefits_disaster",
    "benefits_other",
];

/// Every measure, in schema order.
const ALL: &[&str] = &[
    "members_total",
    "members_children",
    "members_working",
    "members_elderly",
    "members_joined",
    "members_left",
    "contrib_members",
    "grant_state",
    "grant_local",
    "income_other",
    "benefits_birth",
    "benefits_sickness",
    "benefits_death",
    "benefits_elderly",
    "benefits_education",
    "benefits_occupation",
    "benefits_disability",
    "benefits_disaster",
    "benefits_other",
    "beneficiaries",
    "services_noncash",
    "admin_costs",
    "fund_balance",
];

/// What most clerks' sheets carry.
const BASIC: &[&str] = &[
    "members_total",
    "members_elderly",
    "members_joined",
    "members_left",
    "contrib_members",
    "grant_state",
    "grant_local",
    "income_other",
    "benefits_sickness",
    "benefits_death",
    "admin_costs",
    "fund_balance",
];

/// The headings Thai clerks write, one per field.
fn thai_heading(field: &str) -> &'static str {
    match field {
        "fund_id" => "รหัสกองทุน",
        "period" => "เดือน",
        "tambon" => "รหัสตำบล",
        "members_total" => "จำนวนสมาชิก",
        "members_children" => "สมาชิกเด็ก",
        "members_working" => "สมาชิกวัยทำงาน",
        "members_elderly" => "สมาชิกผู้สูงอายุ",
        "members_joined" => "สมาชิกเข้าใหม่",
        "members_left" => "สมาชิกลาออก/เสียชีวิต",
        "contrib_members" => "เงินสมทบสมาชิก",
        "grant_state" => "เงินสมทบจากรัฐ",
        "grant_local" => "เงินสมทบจาก อปท.",
        "income_other" => "รายได้อื่น",
        "benefits_birth" => "สวัสดิการเกิด",
        "benefits_sickness" => "สวัสดิการเจ็บป่วย",
        "benefits_death" => "สวัสดิการเสียชีวิต",
        "benefits_elderly" => "สวัสดิการผู้สูงอายุ",
        "benefits_education" => "สวัสดิการการศึกษา",
        "benefits_occupation" => "สวัสดิการอาชีพ",
        "benefits_disability" => "สวัสดิการผู้พิการ",
        "benefits_disaster" => "สวัสดิการภัยพิบัติ",
        "benefits_other" => "สวัสดิการอื่น",
        "beneficiaries" => "ผู้ได้รับสวัสดิการ",
        "services_noncash" => "สวัสดิการที่ไม่เป็นตัวเงิน",
        "admin_costs" => "ค่าบริหารจัดการ",
        "fund_balance" => "ยอดเงินกองทุนคงเหลือ",
        other => panic!("no Thai heading for {other}"),
    }
}

/// Headings with the extra words clerks add (units, คงเหลือ, ทั้งหมด, spacing), one per field.
fn decorated_heading(field: &str) -> &'static str {
    match field {
        "fund_id" => "รหัส กองทุน",
        "period" => "งวดเดือน",
        "members_total" => "จำนวนสมาชิกทั้งหมด (คน)",
        "members_elderly" => "สมาชิกผู้สูงอายุ (คน)",
        "members_joined" => "สมาชิกเข้าใหม่ (คน)",
        "members_left" => "สมาชิก ลาออก / เสียชีวิต (คน)",
        "contrib_members" => "เงินสมทบสมาชิก (บาท)",
        "grant_state" => "เงินสมทบจากรัฐ (บาท)",
        "grant_local" => "เงินสมทบจาก อปท. (บาท)",
        "income_other" => "รายได้อื่น (บาท)",
        "benefits_sickness" => "สวัสดิการเจ็บป่วย (บาท)",
        "benefits_death" => "สวัสดิการเสียชีวิต (บาท)",
        "admin_costs" => "ค่าบริหารจัดการ (บาท)",
        "fund_balance" => "ยอดเงินกองทุนคงเหลือทั้งหมด (บาท)",
        other => thai_heading(other),
    }
}

/// English headings as an analyst's export writes them (spacing and case vary).
fn english_heading(field: &str) -> String {
    match field {
        "fund_id" => "Fund Code".into(),
        "period" => "Report Month".into(),
        "members_total" => "Total Members".into(),
        "members_elderly" => "Elderly".into(),
        "members_joined" => "New Members".into(),
        "members_left" => "Members Left".into(),
        "contrib_members" => "Member Contributions".into(),
        "grant_state" => "State Grant".into(),
        "grant_local" => "Local Grant".into(),
        "income_other" => "Other Income".into(),
        "benefits_sickness" => "Sickness".into(),
        "benefits_death" => "Death".into(),
        "admin_costs" => "Administration".into(),
        "fund_balance" => "FUND BALANCE".into(),
        other => other.to_string(),
    }
}

/// A fund's month as the generator models it: counts in people, money in satang.
#[derive(Debug, Clone)]
struct Month {
    fund: String,
    year: i32,
    month: u32,
    values: BTreeMap<&'static str, i64>,
}

impl Month {
    fn period(&self) -> String {
        format!("{}-{:02}", self.year, self.month)
    }

    fn get(&self, field: &str) -> i64 {
        self.values[field]
    }

    fn set(&mut self, field: &'static str, value: i64) {
        self.values.insert(field, value);
    }
}

/// A small deterministic generator (64-bit LCG).
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n.max(1)) as i64
    }
}

/// `months` consecutive months of one fund, from `start`, that satisfy every continuity rule: members =
/// previous + joined − left, balance = previous + income − benefits − admin. Only `fields` are given;
/// measures a file does not carry are zero in the model, so the arithmetic holds either way.
fn series(
    fund: &str,
    start: (i32, u32),
    months: usize,
    seed: u64,
    fields: &[&'static str],
) -> Vec<Month> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5151);
    let has = |f: &str| fields.contains(&f);
    let mut out: Vec<Month> = Vec::new();
    let (mut year, mut month) = start;
    for i in 0..months {
        let previous = out.last();
        let mut m = Month {
            fund: fund.to_string(),
            year,
            month,
            values: BTreeMap::new(),
        };
        let joined = if has("members_joined") {
            rng.below(12)
        } else {
            0
        };
        let before = previous.map_or(150 + rng.below(400), |p| p.get("members_total"));
        let left = if has("members_left") {
            rng.below(6).min(before + joined)
        } else {
            0
        };
        let members = if i == 0 {
            before
        } else {
            before + joined - left
        };
        m.set("members_total", members);
        m.set("members_joined", joined);
        m.set("members_left", left);
        let elderly = members * 3 / 10;
        let children = members / 5;
        m.set("members_elderly", elderly);
        m.set(
            "members_children",
            if has("members_children") { children } else { 0 },
        );
        m.set(
            "members_working",
            if has("members_working") {
                members - elderly - children
            } else {
                0
            },
        );
        m.set(
            "beneficiaries",
            if has("beneficiaries") {
                rng.below(20)
            } else {
                0
            },
        );
        m.set(
            "services_noncash",
            if has("services_noncash") {
                rng.below(8)
            } else {
                0
            },
        );
        // Money, in satang: 30 baht a member a month, matched by the state and half by the tambon.
        let contrib = members * 3_000;
        m.set(
            "contrib_members",
            if has("contrib_members") { contrib } else { 0 },
        );
        m.set("grant_state", if has("grant_state") { contrib } else { 0 });
        m.set(
            "grant_local",
            if has("grant_local") { contrib / 2 } else { 0 },
        );
        m.set(
            "income_other",
            if has("income_other") {
                rng.below(50_000)
            } else {
                0
            },
        );
        for b in BENEFITS {
            let v = if has(b) { rng.below(400) * 25 } else { 0 };
            m.set(b, v);
        }
        m.set(
            "admin_costs",
            if has("admin_costs") {
                rng.below(30_000)
            } else {
                0
            },
        );
        let income: i64 = INCOME.iter().map(|f| m.get(f)).sum();
        let paid: i64 = BENEFITS.iter().map(|f| m.get(f)).sum::<i64>() + m.get("admin_costs");
        let balance = match previous {
            None => 5_000_000 + rng.below(10_000_000),
            Some(p) => p.get("fund_balance") + income - paid,
        };
        m.set("fund_balance", balance);
        out.push(m);
        (year, month) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
    }
    out
}

fn is_money(field: &str) -> bool {
    !COUNTS.contains(&field)
}

/// `123456` satang → `1234.56`.
fn baht(satang: i64) -> String {
    let sign = if satang < 0 { "-" } else { "" };
    let s = satang.abs();
    format!("{sign}{}.{:02}", s / 100, s % 100)
}

fn thousands(whole: &str) -> String {
    let (sign, digits) = whole.strip_prefix('-').map_or(("", whole), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

fn baht_thousands(satang: i64) -> String {
    let text = baht(satang);
    let (whole, fraction) = text.split_once('.').expect("two decimals");
    format!("{}.{fraction}", thousands(whole))
}

fn thai_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x0E50 + d).expect("Thai digit"),
            None => c,
        })
        .collect()
}

/// How a file writes its values.
#[derive(Debug, Clone, Copy)]
struct Style {
    period: PeriodStyle,
    money: MoneyStyle,
    count: CountStyle,
}

#[derive(Debug, Clone, Copy)]
enum PeriodStyle {
    Iso,
    /// `ต.ค. 2568`
    ThaiShort,
    /// `ตุลาคม 2568`
    ThaiLong,
    /// `10/2568`
    SlashBe,
    /// `2568-10`
    DashBe,
    /// `ตุลาคม พ.ศ. 2568`
    ThaiLabelled,
    /// `October 2025`
    English,
}

#[derive(Debug, Clone, Copy)]
enum MoneyStyle {
    Plain,
    Thousands,
    BahtSign,
    BahtWord,
    ThaiDigits,
    /// 0, 1 or 2 decimals, as few as the value needs.
    FewestDecimals,
    /// `-` for zero, else plain.
    DashForZero,
}

#[derive(Debug, Clone, Copy)]
enum CountStyle {
    Plain,
    Thousands,
    ThaiDigits,
}

const PLAIN: Style = Style {
    period: PeriodStyle::Iso,
    money: MoneyStyle::Plain,
    count: CountStyle::Plain,
};

const THAI: Style = Style {
    period: PeriodStyle::ThaiShort,
    money: MoneyStyle::Plain,
    count: CountStyle::Plain,
};

impl Style {
    fn period(&self, m: &Month) -> String {
        let be = m.year + 543;
        let i = (m.month - 1) as usize;
        match self.period {
            PeriodStyle::Iso => m.period(),
            PeriodStyle::ThaiShort => format!("{} {be}", THAI_MONTH_ABBREVIATIONS[i]),
            PeriodStyle::ThaiLong => format!("{} {be}", THAI_MONTHS[i]),
            PeriodStyle::SlashBe => format!("{}/{be}", m.month),
            PeriodStyle::DashBe => format!("{be}-{:02}", m.month),
            PeriodStyle::ThaiLabelled => format!("{} พ.ศ. {be}", THAI_MONTHS[i]),
            PeriodStyle::English => {
                let name = ENGLISH_MONTHS[i];
                format!("{}{} {}", name[..1].to_uppercase(), &name[1..], m.year)
            }
        }
    }

    fn value(&self, field: &str, v: i64) -> String {
        if is_money(field) {
            match self.money {
                MoneyStyle::Plain => baht(v),
                MoneyStyle::Thousands => baht_thousands(v),
                MoneyStyle::BahtSign => format!("฿{}", baht_thousands(v)),
                MoneyStyle::BahtWord => format!("{} บาท", baht_thousands(v)),
                MoneyStyle::ThaiDigits => thai_digits(&baht(v)),
                MoneyStyle::FewestDecimals => {
                    let text = baht(v);
                    if v % 100 == 0 {
                        text[..text.len() - 3].to_string()
                    } else if v % 10 == 0 {
                        text[..text.len() - 1].to_string()
                    } else {
                        text
                    }
                }
                MoneyStyle::DashForZero if v == 0 => "-".into(),
                MoneyStyle::DashForZero => baht(v),
            }
        } else {
            match self.count {
                CountStyle::Plain => v.to_string(),
                CountStyle::Thousands => thousands(&v.to_string()),
                CountStyle::ThaiDigits => thai_digits(&v.to_string()),
            }
        }
    }
}

/// The stored row a month must become (only `fields` reported).
fn expected(m: &Month, fields: &[&str]) -> Map<String, Value> {
    let mut row = Map::new();
    row.insert("fund_id".into(), json!(m.fund));
    row.insert("period".into(), json!(m.period()));
    for f in ALL.iter().filter(|f| fields.contains(f)) {
        let v = m.get(f);
        row.insert(
            f.to_string(),
            if is_money(f) {
                json!(baht(v))
            } else {
                json!(v)
            },
        );
    }
    row
}

fn expected_all(months: &[Month], fields: &[&str]) -> Vec<Map<String, Value>> {
    months.iter().map(|m| expected(m, fields)).collect()
}

/// A sheet of text cells: headings and rows.
#[derive(Debug, Clone, Default)]
struct Table {
    above: Vec<Vec<String>>,
    headings: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A long table: fund, month, then `fields`, headed by `heading`.
    fn long(
        months: &[Month],
        fields: &[&str],
        heading: &dyn Fn(&str) -> String,
        style: Style,
    ) -> Table {
        let mut headings = vec![heading("fund_id"), heading("period")];
        headings.extend(fields.iter().map(|f| heading(f)));
        let rows = months
            .iter()
            .map(|m| {
                let mut row = vec![m.fund.clone(), style.period(m)];
                row.extend(fields.iter().map(|f| style.value(f, m.get(f))));
                row
            })
            .collect();
        Table {
            above: Vec::new(),
            headings,
            rows,
        }
    }

    /// The 1-based line of data row `i` in the CSV written with `csv` (no multi-line cells above it).
    fn line_of(&self, i: usize) -> usize {
        self.above.len() + 2 + i
    }

    fn column(&self, heading: &str) -> usize {
        self.headings
            .iter()
            .position(|h| h == heading)
            .unwrap_or_else(|| panic!("no column {heading}"))
    }

    fn set(&mut self, row: usize, heading: &str, value: &str) {
        let c = self.column(heading);
        self.rows[row][c] = value.to_string();
    }

    fn push_column(&mut self, heading: &str, values: &[&str]) {
        self.headings.push(heading.to_string());
        for (row, v) in self.rows.iter_mut().zip(values.iter().cycle()) {
            row.push(v.to_string());
        }
    }
}

/// CSV text, quoting what needs it.
fn csv(table: &Table, delimiter: char, eol: &str, final_newline: bool) -> String {
    let field = |f: &str| {
        if f.contains(delimiter) || f.contains('"') || f.contains('\n') || f.contains('\r') {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.to_string()
        }
    };
    let lines: Vec<String> = table
        .above
        .iter()
        .chain(std::iter::once(&table.headings))
        .chain(&table.rows)
        .map(|r| {
            r.iter()
                .map(|f| field(f))
                .collect::<Vec<_>>()
                .join(&delimiter.to_string())
        })
        .collect();
    let mut text = lines.join(eol);
    if final_newline {
        text.push_str(eol);
    }
    text
}

fn utf8(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

fn utf8_bom(text: &str) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    out.extend_from_slice(text.as_bytes());
    out
}

fn windows_874(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_874.encode(text);
    assert!(!unmappable, "text not in Windows-874: {text}");
    bytes.into_owned()
}

/// A cell of a generated workbook.
#[derive(Debug, Clone)]
enum Cell {
    Text(String),
    Number(f64),
    /// A date cell (year, month, day).
    Date(i32, u32, u32),
    /// A formula and the value Excel cached for it (a number, or an error such as `#DIV/0!`).
    Formula(String, String),
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

/// A real workbook written by rust_xlsxwriter: one sheet per entry, with merged ranges.
fn xlsx(
    sheets: &[(&str, Vec<Vec<Cell>>)],
    merges: &[(u32, u16, u32, u16)],
) -> anyhow::Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(2026, 11, 5)?.and_hms(9, 0, 0)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for (s, (name, rows)) in sheets.iter().enumerate() {
        let sheet = workbook.add_worksheet();
        sheet.set_name(*name)?;
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match cell {
                    Cell::Text(t) => {
                        sheet.write_string(r, c, t)?;
                    }
                    Cell::Number(n) => {
                        sheet.write_number(r, c, *n)?;
                    }
                    Cell::Date(y, m, d) => {
                        let when = ExcelDateTime::from_ymd(*y as u16, *m as u8, *d as u8)?;
                        sheet.write_datetime_with_format(r, c, &when, &date)?;
                    }
                    Cell::Formula(f, cached) => {
                        sheet.write_formula(r, c, Formula::new(f).set_result(cached))?;
                    }
                }
            }
        }
        if s == 0 {
            for (r1, c1, r2, c2) in merges {
                sheet.merge_range(*r1, *c1, *r2, *c2, "", &Format::new())?;
            }
        }
    }
    Ok(workbook.save_to_buffer()?)
}

/// Month `m` of a long sheet as cells: numbers as numbers, the month as text in `style`.
fn xlsx_rows(months: &[Month], fields: &[&str], style: Style) -> Vec<Vec<Cell>> {
    let mut rows = vec![{
        let mut h = vec![text(thai_heading("fund_id")), text(thai_heading("period"))];
        h.extend(fields.iter().map(|f| text(thai_heading(f))));
        h
    }];
    for m in months {
        let mut row = vec![text(&m.fund), text(&style.period(m))];
        row.extend(fields.iter().map(|f| {
            let v = m.get(f);
            Cell::Number(if is_money(f) {
                v as f64 / 100.0
            } else {
                v as f64
            })
        }));
        rows.push(row);
    }
    rows
}

/// `0` → `A`.
fn column_letter(c: usize) -> char {
    char::from(b'A' + c as u8)
}

fn q(location: String, reason: &[&str]) -> ExpectedQuarantine {
    ExpectedQuarantine {
        location,
        reason: reason.iter().map(|w| w.to_string()).collect(),
    }
}

fn words(ws: &[&str]) -> Vec<String> {
    ws.iter().map(|w| w.to_string()).collect()
}

/// Builds the corpus: files and their cases.
#[derive(Debug, Default)]
struct Corpus {
    files: Vec<CorpusFile>,
    cases: Vec<Case>,
    funds: Vec<RegisteredFund>,
    next: usize,
}

impl Corpus {
    /// A fresh fund in a tambon of its own: (fund id, tambon).
    fn fund(&mut self) -> (String, String) {
        let tambon = TAMBONS[self.next % TAMBONS.len()].to_string();
        let suffix = self.next / TAMBONS.len();
        self.next += 1;
        let id = if suffix == 0 {
            format!("K{tambon}")
        } else {
            format!("K{tambon}{}", char::from(b'A' + suffix as u8))
        };
        self.register(&id, &tambon);
        (id, tambon)
    }

    fn register(&mut self, id: &str, tambon: &str) {
        self.funds.push(RegisteredFund {
            id: id.into(),
            tambon: tambon.into(),
        });
    }

    fn seed(&self) -> u64 {
        self.files.len() as u64 + 1
    }

    fn add(&mut self, file: &str, bytes: Vec<u8>, case: Case) {
        assert!(
            !self.files.iter().any(|(f, _)| f == file),
            "{file} is in the corpus twice"
        );
        self.files.push((file.to_string(), bytes));
        self.cases.push(Case {
            file: file.to_string(),
            ..case
        });
    }

    fn stored(&mut self, file: &str, rules: &str, bytes: Vec<u8>, stored: Vec<Map<String, Value>>) {
        self.add(file, bytes, case(rules, Outcome::Stored, stored));
    }

    fn refused(&mut self, file: &str, rules: &str, bytes: Vec<u8>, refusal: &[&str]) {
        self.refused_with(file, rules, bytes, refusal, Map::new());
    }

    fn refused_with(
        &mut self,
        file: &str,
        rules: &str,
        bytes: Vec<u8>,
        refusal: &[&str],
        config: Map<String, Value>,
    ) {
        let mut c = case(rules, Outcome::Refused, Vec::new());
        c.refusal = words(refusal);
        c.config = config;
        self.add(file, bytes, c);
    }
}

fn case(rules: &str, outcome: Outcome, stored: Vec<Map<String, Value>>) -> Case {
    Case {
        file: String::new(),
        rules: rules.into(),
        config: Map::new(),
        outcome,
        refusal: Vec::new(),
        stored,
        quarantined: Vec::new(),
        unrecognised: Vec::new(),
    }
}

fn config(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn thai(f: &str) -> String {
    thai_heading(f).to_string()
}

/// A file of the corpus: its name and bytes.
pub type CorpusFile = (String, Vec<u8>);

/// The whole corpus, in memory.
pub fn generate() -> anyhow::Result<(Manifest, Vec<CorpusFile>)> {
    let mut c = Corpus::default();
    accepted(&mut c)?;
    tolerated_xlsx(&mut c)?;
    refused_structure(&mut c)?;
    refused_xlsx(&mut c)?;
    quarantined_rows(&mut c)?;
    let manifest = Manifest {
        about:
            "Generated by `cargo run --bin make-corpus` (tests/src/corpus.rs): do not edit by hand."
                .into(),
        funds: c.funds,
        cases: c.cases,
    };
    Ok((manifest, c.files))
}

/// One way of writing a sound file: name, rules, value style, encoding, line end, final newline.
type Way = (
    &'static str,
    &'static str,
    Style,
    fn(&str) -> Vec<u8>,
    &'static str,
    bool,
);

/// Sound files, written every way clerks write them: every row stored.
fn accepted(c: &mut Corpus) -> anyhow::Result<()> {
    let start = (2025, 10);
    // One fund, three months, BASIC measures, Thai headings: each file written one way clerks write.
    let ways: [Way; 17] = [
        (
            "good_thai_utf8.csv",
            "Thai headings, UTF-8 without BOM",
            THAI,
            utf8,
            "\n",
            true,
        ),
        (
            "good_thai_utf8_bom.csv",
            "UTF-8 with BOM",
            THAI,
            utf8_bom,
            "\n",
            true,
        ),
        (
            "good_thai_windows874.csv",
            "Windows-874 (Thai Excel's CSV)",
            THAI,
            windows_874,
            "\r\n",
            true,
        ),
        (
            "good_thai_tis620.csv",
            "TIS-620 bytes (Thai letters only, no Windows-874 extras)",
            PLAIN,
            windows_874,
            "\n",
            true,
        ),
        ("good_crlf.csv", "CRLF line ends", THAI, utf8, "\r\n", true),
        (
            "good_no_final_newline.csv",
            "no final newline",
            THAI,
            utf8,
            "\n",
            false,
        ),
        (
            "good_period_thai_long.csv",
            "months as ตุลาคม 2568",
            Style {
                period: PeriodStyle::ThaiLong,
                ..PLAIN
            },
            utf8,
            "\n",
            true,
        ),
        (
            "good_period_slash_be.csv",
            "months as 10/2568",
            Style {
                period: PeriodStyle::SlashBe,
                ..PLAIN
            },
            utf8,
            "\n",
            true,
        ),
        (
            "good_period_dash_be.csv",
            "months as 2568-10",
            Style {
                period: PeriodStyle::DashBe,
                ..PLAIN
            },
            utf8,
            "\n",
            true,
        ),
        (
            "good_period_era_agrees.csv",
            "an era label that agrees with the year (ตุลาคม พ.ศ. 2568)",
            Style {
                period: PeriodStyle::ThaiLabelled,
                ..PLAIN
            },
            utf8,
            "\n",
            true,
        ),
        (
            "good_period_english.csv",
            "months as October 2025",
            Style {
                period: PeriodStyle::English,
                ..PLAIN
            },
            utf8,
            "\n",
            true,
        ),
        (
            "good_thai_digits.csv",
            "Thai digits in counts and money",
            Style {
                money: MoneyStyle::ThaiDigits,
                count: CountStyle::ThaiDigits,
                ..THAI
            },
            utf8,
            "\n",
            true,
        ),
        (
            "good_thousands.csv",
            "thousands separators (quoted)",
            Style {
                money: MoneyStyle::Thousands,
                count: CountStyle::Thousands,
                ..THAI
            },
            utf8,
            "\n",
            true,
        ),
        (
            "good_baht_sign.csv",
            "฿ before amounts",
            Style {
                money: MoneyStyle::BahtSign,
                ..THAI
            },
            utf8,
            "\n",
            true,
        ),
        (
            "good_baht_word.csv",
            "บาท after amounts",
            Style {
                money: MoneyStyle::BahtWord,
                ..THAI
            },
            utf8,
            "\n",
            true,
        ),
        (
            "good_fewest_decimals.csv",
            "0, 1 or 2 decimals",
            Style {
                money: MoneyStyle::FewestDecimals,
                ..THAI
            },
            utf8,
            "\n",
            true,
        ),
        (
            "good_dash_for_zero.csv",
            "an accounting dash for zero",
            Style {
                money: MoneyStyle::DashForZero,
                ..THAI
            },
            utf8,
            "\n",
            true,
        ),
    ];
    for (file, rules, style, encode, eol, final_newline) in ways {
        let (fund, _) = c.fund();
        let months = series(&fund, start, 3, c.seed(), BASIC);
        let table = Table::long(&months, BASIC, &thai, style);
        c.stored(
            file,
            rules,
            encode(&csv(&table, ',', eol, final_newline)),
            expected_all(&months, BASIC),
        );
    }

    // Every measure, Windows-874, with Thai digits and ฿: the whole summary survives.
    let (fund, _) = c.fund();
    let months = series(&fund, (2025, 4), 6, c.seed(), ALL);
    let table = Table::long(
        &months,
        ALL,
        &thai,
        Style {
            money: MoneyStyle::BahtSign,
            count: CountStyle::ThaiDigits,
            period: PeriodStyle::ThaiShort,
        },
    );
    c.stored(
        "good_every_measure_windows874.csv",
        "every measure, Windows-874, Thai digits, ฿",
        windows_874(&csv(&table, ',', "\r\n", true)),
        expected_all(&months, ALL),
    );

    // Headings with extra words, units, spacing and a `/`-joined leavers heading.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let table = Table::long(&months, BASIC, &|f| decorated_heading(f).to_string(), THAI);
    c.stored(
        "good_decorated_headings.csv",
        "headings with (บาท)/(คน), ทั้งหมด, คงเหลือ, spaces, สมาชิก ลาออก / เสียชีวิต",
        utf8(&csv(&table, ',', "\n", true)),
        expected_all(&months, BASIC),
    );

    // English headings, varied case and spacing.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let table = Table::long(&months, BASIC, &english_heading, PLAIN);
    c.stored(
        "good_english_headings.csv",
        "English headings, spacing and case",
        utf8(&csv(&table, ',', "\n", true)),
        expected_all(&months, BASIC),
    );

    // Canonical English names.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), ALL);
    let table = Table::long(&months, ALL, &|f| f.to_string(), PLAIN);
    c.stored(
        "good_canonical_names.csv",
        "the canonical field names",
        utf8(&csv(&table, ',', "\n", true)),
        expected_all(&months, ALL),
    );

    // Title rows above the header, blank lines and rows of empty cells between the rows.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut table = Table::long(&months, BASIC, &thai, THAI);
    table.above = vec![
        vec!["รายงานสรุปประจำเดือน กองทุนสวัสดิการชุมชน".into()],
        vec!["ปีงบประมาณ 2569".into()],
        vec![],
    ];
    let width = table.headings.len();
    table.rows.insert(1, vec![String::new(); width]);
    table.rows.insert(3, Vec::new());
    c.stored(
        "good_title_rows_blank_lines.csv",
        "title rows above the header; blank lines and rows of empty cells",
        utf8(&csv(&table, ',', "\n", true)),
        expected_all(&months, BASIC),
    );

    // Spaces around names and values.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut table = Table::long(&months, BASIC, &thai, THAI);
    table.headings = table.headings.iter().map(|h| format!("  {h} ")).collect();
    for row in &mut table.rows {
        for v in row.iter_mut() {
            *v = format!(" {v}  ");
        }
    }
    c.stored(
        "good_spaces_around.csv",
        "spaces around names and values",
        utf8(&csv(&table, ',', "\n", true)),
        expected_all(&months, BASIC),
    );

    // Any column order.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut fields: Vec<&str> = BASIC.to_vec();
    fields.reverse();
    let table = Table::long(&months, &fields, &thai, THAI);
    let mut shuffled = Table {
        headings: Vec::new(),
        rows: vec![Vec::new(); table.rows.len()],
        above: Vec::new(),
    };
    let order: Vec<usize> = (0..table.headings.len()).rev().collect();
    for i in order {
        shuffled.headings.push(table.headings[i].clone());
        for (r, row) in table.rows.iter().enumerate() {
            shuffled.rows[r].push(row[i].clone());
        }
    }
    c.stored(
        "good_column_order.csv",
        "any column order (month and fund last)",
        utf8(&csv(&shuffled, ',', "\n", true)),
        expected_all(&months, BASIC),
    );

    // Unknown columns: stored, and reported as unrecognised.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut table = Table::long(&months, BASIC, &thai, THAI);
    table.push_column("หมายเหตุ", &["ส่งช้า", "", "ตรวจแล้ว"]);
    table.push_column("ผู้บันทึก", &["นางสมศรี"]);
    let mut k = case(
        "unknown columns are reported, not fatal",
        Outcome::Stored,
        expected_all(&months, BASIC),
    );
    k.unrecognised = words(&["หมายเหตุ", "ผู้บันทึก"]);
    c.add(
        "good_unknown_columns.csv",
        utf8(&csv(&table, ',', "\n", true)),
        k,
    );

    // The same, with the note column ignored by configuration: nothing to report.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut table = Table::long(&months, BASIC, &thai, THAI);
    table.push_column("หมายเหตุ", &["ส่งช้า", "", "ตรวจแล้ว"]);
    let mut k = case(
        "a column ignored by configuration is neither stored nor reported",
        Outcome::Stored,
        expected_all(&months, BASIC),
    );
    k.config = config(&[("ignore", json!(["หมายเหตุ"]))]);
    c.add(
        "good_ignored_column.csv",
        utf8(&csv(&table, ',', "\n", true)),
        k,
    );

    // Quoted fields with commas, quotes and newlines (in a note column).
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut table = Table::long(
        &months,
        BASIC,
        &thai,
        Style {
            money: MoneyStyle::Thousands,
            ..THAI
        },
    );
    table.push_column(
        "หมายเหตุ",
        &["จ่าย, ค่ารถ \"ฉุกเฉิน\"", "บรรทัดแรก\nบรรทัดที่สอง", ""],
    );
    let mut k = case(
        "quoted fields with commas, quotes and newlines",
        Outcome::Stored,
        expected_all(&months, BASIC),
    );
    k.unrecognised = words(&["หมายเหตุ"]);
    c.add(
        "good_quoted_fields.csv",
        utf8(&csv(&table, ',', "\r\n", true)),
        k,
    );

    // Several funds, many months, in one file.
    let (a, _) = c.fund();
    let (b, _) = c.fund();
    let mut months = series(&a, (2024, 10), 12, c.seed(), BASIC);
    months.extend(series(&b, (2024, 10), 12, c.seed() + 100, BASIC));
    let table = Table::long(&months, BASIC, &thai, THAI);
    c.stored(
        "good_two_funds_a_year.csv",
        "two funds, twelve months each",
        utf8(&csv(&table, ',', "\n", true)),
        expected_all(&months, BASIC),
    );

    // Year and month in two columns.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut table = Table::long(&months, BASIC, &thai, THAI);
    table.headings[1] = "เดือน".into();
    table.headings.insert(1, "ปี".into());
    for (row, m) in table.rows.iter_mut().zip(&months) {
        row[1] = THAI_MONTHS[(m.month - 1) as usize].to_string();
        row.insert(1, (m.year + 543).to_string());
    }
    c.stored(
        "good_year_and_month_columns.csv",
        "the year (พ.ศ.) and the month in two columns",
        utf8(&csv(&table, ',', "\n", true)),
        expected_all(&months, BASIC),
    );

    // A tambon column that matches the registration, in ASCII and in Thai digits.
    for (file, digits) in [
        ("good_tambon_column.csv", false),
        ("good_tambon_thai_digits.csv", true),
    ] {
        let (fund, tambon) = c.fund();
        let months = series(&fund, start, 3, c.seed(), BASIC);
        let mut table = Table::long(&months, BASIC, &thai, THAI);
        let code = if digits {
            thai_digits(&tambon)
        } else {
            tambon.clone()
        };
        table.push_column(thai_heading("tambon"), &[code.as_str()]);
        c.stored(
            file,
            "a tambon column equal to the fund's registered tambon",
            utf8(&csv(&table, ',', "\n", true)),
            expected_all(&months, BASIC),
        );
    }

    // Other delimiters, when configured.
    for (file, delimiter) in [
        ("good_semicolon_configured.csv", ';'),
        ("good_tab_configured.tsv", '\t'),
    ] {
        let (fund, _) = c.fund();
        let months = series(&fund, start, 3, c.seed(), BASIC);
        let table = Table::long(
            &months,
            BASIC,
            &thai,
            Style {
                money: MoneyStyle::Thousands,
                ..THAI
            },
        );
        let mut k = case(
            "a configured delimiter",
            Outcome::Stored,
            expected_all(&months, BASIC),
        );
        k.config = config(&[
            ("delimiter", json!(delimiter.to_string())),
            ("format", json!("csv")),
        ]);
        c.add(file, utf8(&csv(&table, delimiter, "\n", true)), k);
    }

    // Wide layout: one fund, months across, measures down; detected without configuration.
    for (file, label, encode) in [
        ("good_wide.csv", "", utf8 as fn(&str) -> Vec<u8>),
        ("good_wide_month_label.csv", "เดือน", utf8),
        ("good_wide_windows874.csv", "รายการ", windows_874),
    ] {
        let (fund, _) = c.fund();
        let months = series(&fund, (2025, 7), 4, c.seed(), BASIC);
        let mut table = Table {
            above: vec![vec![thai("fund_id"), fund.clone()]],
            headings: std::iter::once(label.to_string())
                .chain(months.iter().map(|m| THAI.period(m)))
                .collect(),
            rows: Vec::new(),
        };
        for f in BASIC {
            let mut row = vec![thai(f)];
            row.extend(months.iter().map(|m| THAI.value(f, m.get(f))));
            table.rows.push(row);
        }
        c.stored(
            file,
            "the wide layout (months across), detected without configuration",
            encode(&csv(&table, ',', "\n", true)),
            expected_all(&months, BASIC),
        );
    }
    Ok(())
}

/// Sound workbooks: numbers as numbers or text, date cells, formulas, float noise, numeric tambons.
fn tolerated_xlsx(c: &mut Corpus) -> anyhow::Result<()> {
    let start = (2025, 10);
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    c.stored(
        "good_workbook.xlsx",
        "XLSX with numbers as numbers",
        xlsx(&[("รายงาน", xlsx_rows(&months, BASIC, THAI))], &[])?,
        expected_all(&months, BASIC),
    );

    // Numbers stored as text.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut rows = xlsx_rows(&months, BASIC, THAI);
    for (row, m) in rows.iter_mut().skip(1).zip(&months) {
        for (cell, f) in row.iter_mut().skip(2).zip(BASIC) {
            *cell = text(
                &Style {
                    money: MoneyStyle::Thousands,
                    ..THAI
                }
                .value(f, m.get(f)),
            );
        }
    }
    c.stored(
        "good_numbers_as_text.xlsx",
        "XLSX numbers stored as text",
        xlsx(&[("Sheet1", rows)], &[])?,
        expected_all(&months, BASIC),
    );

    // The month as a real date cell.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut rows = xlsx_rows(&months, BASIC, THAI);
    for (row, m) in rows.iter_mut().skip(1).zip(&months) {
        row[1] = Cell::Date(m.year, m.month, 1);
    }
    c.stored(
        "good_date_cells.xlsx",
        "XLSX months as real date cells",
        xlsx(&[("Sheet1", rows)], &[])?,
        expected_all(&months, BASIC),
    );

    // Tambon codes typed as numbers.
    let (fund, tambon) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut rows = xlsx_rows(&months, BASIC, THAI);
    rows[0].push(text(thai_heading("tambon")));
    for row in rows.iter_mut().skip(1) {
        row.push(Cell::Number(tambon.parse::<f64>()?));
    }
    c.stored(
        "good_numeric_tambon.xlsx",
        "XLSX tambon codes as whole numbers",
        xlsx(&[("Sheet1", rows)], &[])?,
        expected_all(&months, BASIC),
    );

    // Formulas read by their cached values; float noise below 10⁻⁶ rounds to the satang.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut rows = xlsx_rows(&months, BASIC, THAI);
    let balance = 2 + BASIC
        .iter()
        .position(|f| *f == "fund_balance")
        .expect("balance");
    let contrib = 2 + BASIC
        .iter()
        .position(|f| *f == "contrib_members")
        .expect("contrib");
    for (r, (row, m)) in rows.iter_mut().skip(1).zip(&months).enumerate() {
        let v = m.get("contrib_members") as f64 / 100.0;
        row[contrib] = Cell::Formula(format!("{v}/2+{v}/2"), v.to_string());
        let b = m.get("fund_balance") as f64 / 100.0;
        // What 0.1 + 0.2 does to a sum in a spreadsheet.
        row[balance] = Cell::Number(b + 3e-9 * if r % 2 == 0 { 1.0 } else { -1.0 });
    }
    c.stored(
        "good_formulas_and_float_noise.xlsx",
        "XLSX formulas by cached value; float noise below 10⁻⁶",
        xlsx(&[("Sheet1", rows)], &[])?,
        expected_all(&months, BASIC),
    );

    // Title rows above the header, on a sheet that is not the first one configured.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 3, c.seed(), BASIC);
    let mut rows = vec![vec![text("รายงานกองทุนสวัสดิการชุมชน")], vec![]];
    rows.extend(xlsx_rows(&months, BASIC, THAI));
    let mut k = case(
        "XLSX title rows; the configured sheet",
        Outcome::Stored,
        expected_all(&months, BASIC),
    );
    k.config = config(&[("sheet", json!("สรุป"))]);
    let other = vec![vec![text("คำอธิบาย")], vec![text("แบบฟอร์มนี้ใช้ส่งรายงาน")]];
    c.add(
        "good_title_rows_sheet.xlsx",
        xlsx(&[("คำอธิบาย", other), ("สรุป", rows)], &[])?,
        k,
    );

    // Wide workbook, with the month row labelled เดือน and months as date cells.
    let (fund, _) = c.fund();
    let months = series(&fund, (2025, 7), 4, c.seed(), BASIC);
    let mut rows = vec![vec![text(thai_heading("fund_id")), text(&fund)]];
    rows.push(
        std::iter::once(text("เดือน"))
            .chain(months.iter().map(|m| Cell::Date(m.year, m.month, 1)))
            .collect(),
    );
    for f in BASIC {
        let mut row = vec![text(thai_heading(f))];
        row.extend(months.iter().map(|m| {
            let v = m.get(f);
            Cell::Number(if is_money(f) {
                v as f64 / 100.0
            } else {
                v as f64
            })
        }));
        rows.push(row);
    }
    c.stored(
        "good_wide_workbook.xlsx",
        "XLSX wide layout, month row labelled เดือน, detected",
        xlsx(&[("Sheet1", rows)], &[])?,
        expected_all(&months, BASIC),
    );
    Ok(())
}

/// Files whose structure cannot be trusted: refused whole, nothing stored.
fn refused_structure(c: &mut Corpus) -> anyhow::Result<()> {
    let start = (2025, 10);
    let good = |c: &mut Corpus| {
        let (fund, _) = c.fund();
        let months = series(&fund, start, 3, c.seed(), BASIC);
        Table::long(&months, BASIC, &thai, THAI)
    };
    c.refused("bad_empty.csv", "empty: 0 bytes", Vec::new(), &["empty"]);
    c.refused(
        "bad_bom_only.csv",
        "empty: only a BOM",
        b"\xEF\xBB\xBF".to_vec(),
        &["empty"],
    );
    c.refused(
        "bad_whitespace_only.csv",
        "empty: only whitespace",
        b"  \r\n\n\t \n".to_vec(),
        &["empty"],
    );
    let mut header_only = good(c);
    header_only.rows.clear();
    c.refused(
        "bad_header_only.csv",
        "a header and no data rows",
        utf8(&csv(&header_only, ',', "\n", true)),
        &["no data rows"],
    );

    // Bytes that are neither UTF-8 nor Windows-874 (0xDB–0xDE and 0xFC–0xFF are unassigned in both).
    let mut bytes = utf8(&csv(&good(c), ',', "\n", true));
    let at = bytes.len() - 10;
    bytes.splice(at..at, [0xFC, 0xFD]);
    c.refused(
        "bad_not_utf8_nor_windows874.csv",
        "bytes neither UTF-8 nor Windows-874",
        bytes,
        &["UTF-8", "Windows-874", "byte"],
    );

    // UTF-8 headings over Windows-874 rows: a file pasted together from two machines.
    let table = good(c);
    let head = Table {
        rows: Vec::new(),
        ..table.clone()
    };
    let mut bytes = utf8(&csv(&head, ',', "\n", true));
    let body = Table {
        rows: table.rows.clone(),
        ..Table::default()
    };
    bytes.extend(windows_874(
        csv(&body, ',', "\n", true).trim_start_matches('\n'),
    ));
    c.refused(
        "bad_mixed_encodings.csv",
        "UTF-8 and Windows-874 mixed in one file",
        bytes,
        &["UTF-8", "Windows-874"],
    );

    let mut bytes = utf8(&csv(&good(c), ',', "\n", true));
    let at = bytes.len() / 2;
    bytes.insert(at, 0);
    c.refused("bad_nul_byte.csv", "a NUL byte", bytes, &["NUL"]);

    // A multi-byte character cut at the end (a transfer that stopped short).
    let mut table = good(c);
    table.push_column("หมายเหตุ", &["ส่งแล้ว"]);
    let mut bytes = utf8(&csv(&table, ',', "\n", false));
    bytes.truncate(bytes.len() - 2);
    c.refused(
        "bad_cut_character.csv",
        "a multi-byte character cut at the end",
        bytes,
        &["UTF-8", "byte"],
    );

    let mut table = good(c);
    table.rows[1][1] = "\"ต.ค. 2568".into();
    let text = csv(&table, ',', "\n", true).replace("\"\"\"ต.ค. 2568\"", "\"ต.ค. 2568");
    let line = table.line_of(1);
    c.refused(
        "bad_unterminated_quote.csv",
        "an unterminated quote",
        utf8(&text),
        &["quote", &format!("line {line}")],
    );

    let mut table = good(c);
    table.rows[2].push("999".into());
    let line = table.line_of(2);
    c.refused(
        "bad_more_fields.csv",
        "a record with more fields than the header",
        utf8(&csv(&table, ',', "\n", true)),
        &[&format!("line {line}")],
    );

    let mut table = good(c);
    table.rows[1].truncate(5);
    let line = table.line_of(1);
    c.refused(
        "bad_fewer_fields.csv",
        "a record with fewer fields than the header",
        utf8(&csv(&table, ',', "\n", true)),
        &[&format!("line {line}")],
    );

    let table = good(c);
    let mut text = csv(&table, ',', "\n", true);
    // An amount with a thousands separator that nobody quoted.
    let balance = table.rows[0].last().expect("balance").clone();
    let unquoted = baht_thousands((balance.parse::<f64>()? * 100.0).round() as i64);
    text = text.replacen(&balance, &unquoted, 1);
    let line = table.line_of(0);
    c.refused(
        "bad_unquoted_thousands.csv",
        "an unquoted 1,234.50 splits a record",
        utf8(&text),
        &[&format!("line {line}")],
    );

    let table = good(c);
    c.refused(
        "bad_semicolon_delimiter.csv",
        "a delimiter other than the configured one",
        utf8(&csv(&table, ';', "\n", true)),
        &["delimiter", ";"],
    );
    let table = good(c);
    c.refused(
        "bad_tab_delimiter.csv",
        "a tab-delimited file read as comma-delimited",
        utf8(&csv(&table, '\t', "\n", true)),
        &["delimiter", "tab"],
    );

    let mut table = good(c);
    for i in 0..990 {
        table.push_column(&format!("ช่อง{i}"), &[""]);
    }
    c.refused(
        "bad_too_many_columns.csv",
        "more than 1,000 columns",
        utf8(&csv(&table, ',', "\n", true)),
        &["columns", "1000"],
    );

    let (fund, _) = c.fund();
    let months = series(&fund, (2024, 1), 24, c.seed(), BASIC);
    let bytes = utf8(&csv(
        &Table::long(&months, BASIC, &thai, THAI),
        ',',
        "\n",
        true,
    ));
    assert!(bytes.len() > 2_000, "the file must be over its limit");
    c.refused_with(
        "bad_over_size_limit.csv",
        "a file over the size limit, refused before it is read",
        bytes,
        &["limit", "1000"],
        config(&[("max_bytes", json!(1000))]),
    );

    // Required columns missing, and two columns for one field.
    for (file, missing) in [
        ("bad_no_members_total.csv", "members_total"),
        ("bad_no_fund_id.csv", "fund_id"),
        ("bad_no_period.csv", "period"),
    ] {
        let (fund, _) = c.fund();
        let months = series(&fund, start, 3, c.seed(), BASIC);
        let mut table = Table::long(&months, BASIC, &thai, THAI);
        let col = table.column(thai_heading(missing));
        table.headings.remove(col);
        for r in &mut table.rows {
            r.remove(col);
        }
        c.refused(
            file,
            "a required field's column is missing: refused naming the field and the headings seen",
            utf8(&csv(&table, ',', "\n", true)),
            &[missing, thai_heading("contrib_members")],
        );
    }
    let mut table = good(c);
    let members: Vec<String> = table.rows.iter().map(|r| r[2].clone()).collect();
    table.headings.push("สมาชิกทั้งหมด".into());
    for (r, m) in table.rows.iter_mut().zip(members) {
        r.push(m);
    }
    c.refused(
        "bad_two_member_columns.csv",
        "two columns for one field: refused naming both",
        utf8(&csv(&table, ',', "\n", true)),
        &["จำนวนสมาชิก", "สมาชิกทั้งหมด"],
    );
    Ok(())
}

/// Workbooks that cannot be trusted.
fn refused_xlsx(c: &mut Corpus) -> anyhow::Result<()> {
    let start = (2025, 10);
    let good = |c: &mut Corpus| -> anyhow::Result<Vec<u8>> {
        let (fund, _) = c.fund();
        let months = series(&fund, start, 3, c.seed(), BASIC);
        xlsx(&[("Sheet1", xlsx_rows(&months, BASIC, THAI))], &[])
    };
    c.refused(
        "bad_not_a_zip.xlsx",
        "XLSX: not a zip",
        utf8("รหัสกองทุน,เดือน\nK1,2025-10\n"),
        &["xlsx"],
    );
    let mut bytes = good(c)?;
    bytes.truncate(bytes.len() / 2);
    c.refused("bad_truncated.xlsx", "XLSX: truncated", bytes, &["xlsx"]);

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    zip.start_file("readme.txt", options)?;
    zip.write_all("ไม่ใช่สมุดงาน".as_bytes())?;
    let bytes = zip.finish()?.into_inner();
    c.refused(
        "bad_zip_not_workbook.xlsx",
        "XLSX: a zip that is not a workbook",
        bytes,
        &["workbook"],
    );

    // What Excel saves with a password: an OLE container holding the encrypted package.
    let mut ole = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new()))?;
    ole.create_stream("EncryptionInfo")?
        .write_all(&[4, 0, 4, 0, 0x40, 0, 0, 0])?;
    ole.create_stream("EncryptedPackage")?
        .write_all(&vec![0x5A; 8192])?;
    ole.flush()?;
    let bytes = ole.into_inner().into_inner();
    c.refused(
        "bad_encrypted.xlsx",
        "XLSX: encrypted (password-protected)",
        bytes,
        &["password"],
    );

    let mut ole = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new()))?;
    ole.create_stream("Workbook")?
        .write_all(&vec![0x09; 8192])?;
    ole.flush()?;
    let bytes = ole.into_inner().into_inner();
    c.refused(
        "bad_old_excel_renamed.xlsx",
        "an old Excel .xls workbook renamed .xlsx",
        bytes,
        &[".xls"],
    );

    // A workbook that inflates past the limit while its own size is far below it.
    let (fund, _) = c.fund();
    let months = series(&fund, (2000, 1), 300, c.seed(), BASIC);
    let mut rows = xlsx_rows(&months, BASIC, THAI);
    for row in rows.iter_mut().skip(1) {
        row.push(text(&"ก".repeat(200)));
    }
    rows[0].push(text("หมายเหตุ"));
    let bytes = xlsx(&[("Sheet1", rows)], &[])?;
    let limit = bytes.len() as u64 * 2;
    c.refused_with(
        "bad_inflates_over_limit.xlsx",
        "XLSX: inflated size over the limit, read from the zip directory",
        bytes,
        &["limit"],
        config(&[("max_bytes", json!(limit))]),
    );

    let (fund, _) = c.fund();
    let months = series(&fund, start, 4, c.seed(), BASIC);
    let rows = xlsx_rows(&months, BASIC, THAI);
    c.refused(
        "bad_merged_cells.xlsx",
        "XLSX: merged cells in the data area",
        xlsx(&[("Sheet1", rows)], &[(2, 2, 3, 2)])?,
        &["merged", "C3"],
    );

    c.refused(
        "bad_empty_sheet.xlsx",
        "XLSX: an empty first sheet",
        xlsx(&[("Sheet1", Vec::new())], &[])?,
        &["empty"],
    );
    Ok(())
}

/// Files with some rows that break a row rule: those rows quarantined with reason and location, the
/// others stored.
fn quarantined_rows(c: &mut Corpus) -> anyhow::Result<()> {
    let start = (2025, 7);
    // One fund, six good months; the test then spoils some rows.
    let partial_n = |c: &mut Corpus, fields: &[&'static str], n: usize| {
        let (fund, tambon) = c.fund();
        let months = series(&fund, start, n, c.seed(), fields);
        let table = Table::long(&months, fields, &thai, THAI);
        (months, table, tambon)
    };
    let partial = |c: &mut Corpus, fields: &[&'static str]| {
        let (fund, tambon) = c.fund();
        let months = series(&fund, start, 6, c.seed(), fields);
        let table = Table::long(&months, fields, &thai, THAI);
        (months, table, tambon)
    };
    let add = |c: &mut Corpus,
               file: &str,
               rules: &str,
               table: &Table,
               months: &[Month],
               bad: &[(usize, &[&str])],
               fields: &[&str]| {
        let stored = months
            .iter()
            .enumerate()
            .filter(|(i, _)| !bad.iter().any(|(b, _)| b == i))
            .map(|(_, m)| expected(m, fields))
            .collect();
        let mut k = case(rules, Outcome::Partial, stored);
        k.quarantined = bad
            .iter()
            .map(|(i, reason)| q(format!("{file} line {}", table.line_of(*i)), reason))
            .collect();
        c.add(file, utf8(&csv(table, ',', "\n", true)), k);
    };

    let (months, mut table, _) = partial(c, BASIC);
    table.rows[2][0] = "K999999".into();
    table.rows[4][0] = String::new();
    add(
        c,
        "partial_unregistered_fund.csv",
        "fund id unregistered or empty",
        &table,
        &months,
        &[(2, &["K999999"]), (4, &["fund"])],
        BASIC,
    );

    let (months, mut table, _) = partial(c, BASIC);
    let bom = format!("\u{feff}{}", months[1].fund);
    let sql = "K1'; DROP TABLE summaries;--".to_string();
    table.rows[1][0] = bom.clone();
    table.rows[3][0] = sql.clone();
    add(
        c,
        "partial_fund_id_bom_and_sql.csv",
        "fund ids never rewritten: a BOM-prefixed and an SQL-looking id kept verbatim in the reason",
        &table,
        &months,
        &[(1, &[bom.as_str()]), (3, &[sql.as_str()])],
        BASIC,
    );

    let (months, mut table, tambon) = partial(c, BASIC);
    let other =
        TAMBONS[(TAMBONS.iter().position(|t| *t == tambon).expect("tambon") + 1) % TAMBONS.len()];
    let short = &tambon[1..];
    let long = format!("{tambon}1");
    let values: Vec<String> = (0..6)
        .map(|i| match i {
            1 => other.to_string(),
            3 => short.to_string(),
            5 => long.clone(),
            _ => tambon.clone(),
        })
        .collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    table.push_column(thai_heading("tambon"), &refs);
    add(
        c,
        "partial_tambon.csv",
        "a tambon column must be the fund's registered 6-digit tambon: never padded or guessed",
        &table,
        &months,
        &[
            (1, &[other, tambon.as_str()]),
            (3, &[short]),
            (5, &[long.as_str()]),
        ],
        BASIC,
    );

    // Months that cannot be read or cannot be right. Each breaks its own row, so continuity with
    // neighbours is not checked across it.
    let fields: &[&'static str] = &["members_total", "members_elderly", "contrib_members"];
    let (months, mut table, _) = partial_n(c, fields, 8);
    table.rows[0][1] = "เดือนที่แล้ว".into();
    table.rows[1][1] = "13/2568".into();
    table.rows[2][1] = "ก.ย. ค.ศ. 2568".into();
    table.rows[3][1] = "ต.ค. พ.ศ. 2025".into();
    let mut early = months[4].clone();
    early.year = 1999;
    table.rows[4][1] = early.period();
    table.rows[5][1] = "2099-01".into();
    add(
        c,
        "partial_periods.csv",
        "months: unparseable, outside 1–12, era label contradicting the year, before the earliest, in the future",
        &table,
        &months,
        &[
            (0, &["เดือนที่แล้ว"]),
            (1, &["13"]),
            (2, &["ค.ศ."]),
            (3, &["พ.ศ."]),
            (4, &["1999"]),
            (5, &["2099"]),
        ],
        fields,
    );

    let fields: &[&'static str] = &["members_total", "members_elderly", "contrib_members"];
    let (months, mut table, _) = partial(c, fields);
    table.set(0, thai_heading("members_total"), "12.5");
    table.set(1, thai_heading("members_total"), "-3");
    table.set(2, thai_heading("members_total"), "1O0");
    table.set(3, thai_heading("members_total"), "");
    table.set(4, thai_heading("members_elderly"), "1e3");
    add(
        c,
        "partial_counts.csv",
        "counts: whole, non-negative, present; members_total on every row",
        &table,
        &months,
        &[
            (0, &["members_total", "12.5"]),
            (1, &["members_total", "-3"]),
            (2, &["members_total", "1O0"]),
            (3, &["members_total"]),
            (4, &["members_elderly", "1e3"]),
        ],
        fields,
    );

    let fields: &[&'static str] = &["members_total", "members_elderly", "contrib_members"];
    let (months, mut table, _) = partial(c, fields);
    let over = (months[2].get("members_total") + 1).to_string();
    table.set(2, thai_heading("members_elderly"), &over);
    add(
        c,
        "partial_elderly_over_total.csv",
        "members_elderly ≤ members_total",
        &table,
        &months,
        &[(2, &["members_elderly"])],
        fields,
    );

    // Members absurdly above the tambon's population (3,230 people).
    let id = "K100101";
    c.register(id, SMALL_TAMBON);
    let fields: &[&'static str] = &["members_total", "contrib_members"];
    let mut months = series(id, start, 3, c.seed(), fields);
    months[1].set("members_total", 6_000);
    months[1].set("contrib_members", 6_000 * 3_000);
    let table = Table::long(&months, fields, &thai, THAI);
    add(
        c,
        "partial_members_over_population.csv",
        "members not absurdly above the tambon's population",
        &table,
        &months,
        &[(1, &["members_total", "6000", "population"])],
        fields,
    );

    let fields: &[&'static str] = &[
        "members_total",
        "contrib_members",
        "grant_state",
        "grant_local",
        "income_other",
        "benefits_death",
        "admin_costs",
    ];
    let (months, mut table, _) = partial_n(c, fields, 8);
    let bad: [(usize, &str, &str); 6] = [
        (0, "contrib_members", "NaN"),
        (1, "grant_state", "Infinity"),
        (2, "grant_local", "1e309"),
        (3, "income_other", "1O0.00"),
        (4, "benefits_death", "1.234,50"),
        (5, "admin_costs", "=SUM(C2:C4)"),
    ];
    for (row, field, value) in bad {
        table.set(row, thai_heading(field), value);
    }
    let reasons: Vec<(usize, Vec<&str>)> = bad.iter().map(|(r, f, v)| (*r, vec![*f, *v])).collect();
    let reasons: Vec<(usize, &[&str])> = reasons.iter().map(|(r, w)| (*r, w.as_slice())).collect();
    add(
        c,
        "partial_money_refused_forms.csv",
        "money: NaN, Infinity, 1e309, letter O, European separators, formula text",
        &table,
        &months,
        &reasons,
        fields,
    );

    let fields: &[&'static str] = &[
        "members_total",
        "contrib_members",
        "grant_state",
        "benefits_sickness",
        "fund_balance",
    ];
    let (months, mut table, _) = partial(c, fields);
    table.set(1, thai_heading("contrib_members"), "100.005");
    table.set(3, thai_heading("benefits_sickness"), "-500.00");
    table.set(4, thai_heading("grant_state"), "");
    add(
        c,
        "partial_money_decimals_negative_missing.csv",
        "money: more than 2 decimals, a negative flow, a missing value where the column exists",
        &table,
        &months,
        &[
            (1, &["contrib_members", "100.005"]),
            (3, &["benefits_sickness"]),
            (4, &["grant_state"]),
        ],
        fields,
    );

    // The same fund-month twice: differing copies are all quarantined; identical copies store once.
    let (months, mut table, _) = partial(c, BASIC);
    let mut copy = table.rows[2].clone();
    let members = table.column(thai_heading("members_total"));
    copy[members] = (months[2].get("members_total") + 7).to_string();
    table.rows.push(copy);
    let same = table.rows[4].clone();
    table.rows.push(same);
    add(
        c,
        "partial_duplicate_months.csv",
        "the same fund-month twice with different values: every copy quarantined; identical copies stored once",
        &table,
        &months,
        &[(2, &["twice"]), (6, &["twice"])],
        BASIC,
    );

    // Continuity between consecutive months that passed the row checks: blame month t only.
    let (months, mut table, _) = partial(c, ALL);
    let members = months[3].get("members_total") + 2;
    table.set(3, thai_heading("members_total"), &members.to_string());
    let workers = months[3].get("members_working") + 2;
    table.set(3, thai_heading("members_working"), &workers.to_string());
    // Months 4 and 5 follow from the true month 3, so only month 3 is wrong against both neighbours.
    add(
        c,
        "partial_members_continuity.csv",
        "members = previous + joined − left, blaming month t, never its neighbours",
        &table,
        &months,
        &[(3, &["members_total"])],
        ALL,
    );

    let (months, mut table, _) = partial(c, ALL);
    let balance = months[2].get("fund_balance") + 1;
    table.set(2, thai_heading("fund_balance"), &baht(balance));
    add(
        c,
        "partial_balance_continuity.csv",
        "fund balance = previous + all income − all benefits − admin, exact to the satang",
        &table,
        &months,
        &[(2, &["fund_balance"])],
        ALL,
    );

    let fields: &[&'static str] = &[
        "members_total",
        "members_joined",
        "members_left",
        "contrib_members",
    ];
    let (mut months, _, _) = partial(c, fields);
    // Month 3: more leavers than there were members; members_total still adds up.
    let previous = months[2].get("members_total");
    let joined = months[3].get("members_joined");
    months[3].set("members_left", previous + joined + 5);
    months[3].set("members_total", 0);
    let table = Table::long(&months, fields, &thai, THAI);
    let stored_months: Vec<Month> = months.iter().take(3).cloned().collect();
    let mut k = case(
        "leavers ≤ previous + joined",
        Outcome::Partial,
        expected_all(&stored_months, fields),
    );
    k.quarantined = vec![q(
        format!("partial_leavers_exceed.csv line {}", table.line_of(3)),
        &["left"],
    )];
    // Months 4 and 5 follow a month that was refused: they are not compared with it, and stand.
    for m in months.iter().skip(4) {
        k.stored.push(expected(m, fields));
    }
    c.add(
        "partial_leavers_exceed.csv",
        utf8(&csv(&table, ',', "\n", true)),
        k,
    );

    // Workbook cells: error cells and formula text in money, located by cell.
    let (fund, _) = c.fund();
    let months = series(&fund, start, 4, c.seed(), BASIC);
    let mut rows = xlsx_rows(&months, BASIC, THAI);
    let contrib = 2 + BASIC
        .iter()
        .position(|f| *f == "contrib_members")
        .expect("contrib");
    let admin = 2 + BASIC
        .iter()
        .position(|f| *f == "admin_costs")
        .expect("admin");
    rows[2][contrib] = Cell::Formula("1/0".into(), "#DIV/0!".into());
    rows[4][admin] = text("=SUM(B2:B3)");
    let file = "partial_workbook_cells.xlsx";
    let stored = [0usize, 2]
        .iter()
        .map(|i| expected(&months[*i], BASIC))
        .collect();
    let mut k = case(
        "XLSX error cells and formula text refused, located by cell",
        Outcome::Partial,
        stored,
    );
    k.quarantined = vec![
        q(
            format!("{file} sheet Sheet1 cell {}3", column_letter(contrib)),
            &["contrib_members"],
        ),
        q(
            format!("{file} sheet Sheet1 cell {}5", column_letter(admin)),
            &["admin_costs", "=SUM(B2:B3)"],
        ),
    ];
    c.add(file, xlsx(&[("Sheet1", rows)], &[])?, k);
    Ok(())
}
