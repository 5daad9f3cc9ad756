//! Periods: calendar months, `YYYY-MM` (Gregorian) inside the system.
//!
//! Fund reports write months in many ways: `2025-10`, `10/2568`, `ต.ค. ๒๕๖๘`, `ตุลาคม 2568`, `Oct 2025`,
//! `15/10/2568`. [`Period::parse`] reads all of them; [`fmt::Display`] always writes `YYYY-MM`.
//!
//! Years: four digits from 2400 on are Buddhist era (2568 → 2025), below are Common Era. Two-digit years
//! are Buddhist era, as Thai documents abbreviate them (`ต.ค. 68` → October 2568 → 2025), unless marked
//! `ค.ศ.`/`AD`/`CE`. An era mark that contradicts the year (`พ.ศ. 2025`, `ค.ศ. 2568`) is refused, never
//! guessed around.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, FixedOffset, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::thai::{BUDDHIST_ERA_OFFSET, ascii_digits, quoted};

/// The earliest and latest Gregorian years the hub accepts; anything outside is a typo or a wrong era.
pub const FIRST_YEAR: i32 = 1950;
pub const LAST_YEAR: i32 = 2200;

/// One calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    month: u32,
}

/// Why a text is not a period; the message quotes the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error(
        "{} is not a month: expected e.g. 2025-10, 10/2568, ต.ค. 2568 or ตุลาคม 2568",
        quoted(.0)
    )]
    Unrecognised(String),
    #[error("{}: month {month} is not between 1 and 12", quoted(.text))]
    BadMonth { text: String, month: u32 },
    #[error(
        "{}: year {year} (CE) is outside {FIRST_YEAR}–{LAST_YEAR}; is the era (พ.ศ./ค.ศ.) right?",
        quoted(.text)
    )]
    YearOutOfRange { text: String, year: i32 },
    #[error("{}: year {year} contradicts its era mark ({era})", quoted(.text))]
    EraMismatch {
        text: String,
        year: i32,
        era: &'static str,
    },
    #[error("{}: two era marks that contradict each other (พ.ศ. and ค.ศ.)", quoted(.0))]
    TwoEras(String),
}

/// Full Thai month names, January first (then the dotted abbreviations written without dots, then
/// English).
pub const THAI_MONTHS: [&str; 12] = [
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
];
const THAI_ABBREVIATIONS: [&str; 12] = [
    "มค",
    "กพ",
    "มีค",
    "เมย",
    "พค",
    "มิย",
    "กค",
    "สค",
    "กย",
    "ตค",
    "พย",
    "ธค",
];
/// English month names, lower case, January first.
pub const ENGLISH_MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Era {
    Buddhist,
    Common,
}

impl Period {
    /// A period from a Gregorian year and month (1–12).
    pub fn new(year: i32, month: u32) -> Result<Self, PeriodError> {
        let text = format!("{year:04}-{month:02}");
        if !(1..=12).contains(&month) {
            return Err(PeriodError::BadMonth { text, month });
        }
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(PeriodError::YearOutOfRange { text, year });
        }
        Ok(Period { year, month })
    }

    /// Reads a month as people write it: CE or Buddhist-era years, Thai or ASCII digits, Thai or English
    /// month names and abbreviations, with or without a day. Two-digit years are Buddhist era (`ต.ค. 68` is
    /// October 2568 = 2025), as Thai documents write them, unless marked `ค.ศ.`/`AD`.
    pub fn parse(text: &str) -> Result<Self, PeriodError> {
        let unrecognised = || PeriodError::Unrecognised(text.to_string());
        let normal = ascii_digits(text).to_lowercase();

        // Split into digit groups and the letters between them (dots, dashes, slashes, commas and spaces
        // are separators; Thai abbreviations such as ต.ค. lose their dots here).
        let mut numbers: Vec<&str> = Vec::new();
        let mut letters = String::new();
        let mut start = None;
        for (i, c) in normal.char_indices() {
            if c.is_ascii_digit() {
                start.get_or_insert(i);
                continue;
            }
            if let Some(s) = start.take() {
                numbers.push(&normal[s..i]);
            }
            if !(c.is_whitespace() || matches!(c, '.' | '-' | '/' | ',' | '_')) {
                letters.push(c);
            }
        }
        if let Some(s) = start {
            numbers.push(&normal[s..]);
        }

        let mut era = None;
        // Marks may sit before or after the month (`ต.ค. พ.ศ. 2568`, `พ.ศ. 2568 ต.ค.`), more than one.
        while let Some((rest, e)) = strip_era(&letters) {
            if era.is_some_and(|seen| seen != e) {
                return Err(PeriodError::TwoEras(text.to_string()));
            }
            letters = rest;
            era = Some(e);
        }
        // An era mark speaks for the four-digit year whatever else the text holds (`ค.ศ. 2568`).
        for year in numbers.iter().filter(|n| n.len() == 4) {
            let written = parse_number(year, text)? as i32;
            let contradicted = match era {
                Some(Era::Buddhist) if written < 2400 => Some("พ.ศ."),
                Some(Era::Common) if written >= 2400 => Some("ค.ศ."),
                _ => None,
            };
            if let Some(era) = contradicted {
                return Err(PeriodError::EraMismatch {
                    text: text.to_string(),
                    year: written,
                    era,
                });
            }
        }
        if let Some(rest) = letters.strip_prefix("เดือน") {
            letters = rest.to_string();
        }

        let (year_text, month) = if letters.is_empty() {
            // Numeric forms: YYYYMM, YYYY-MM, MM/YYYY, YYYY-MM-DD, DD/MM/YYYY.
            match numbers.as_slice() {
                [one] if one.len() == 6 => (&one[..4], parse_number(&one[4..], text)?),
                [a, b] if a.len() == 4 => (*a, parse_number(b, text)?),
                [a, b] if b.len() == 4 || b.len() == 2 => (*b, parse_number(a, text)?),
                [a, b, _] if a.len() == 4 => (*a, parse_number(b, text)?),
                [_, b, c] if c.len() == 4 || c.len() == 2 => (*c, parse_number(b, text)?),
                _ => return Err(unrecognised()),
            }
        } else {
            let month = month_by_name(&letters).ok_or_else(unrecognised)?;
            match numbers.as_slice() {
                [year] | [_, year] => (*year, month),
                _ => return Err(unrecognised()),
            }
        };

        let written = parse_number(year_text, text)? as i32;
        let year = match (year_text.len(), era) {
            (2, Some(Era::Common)) => 2000 + written,
            (2, _) => 2500 + written - BUDDHIST_ERA_OFFSET,
            (4, _) => common_era_year(written),
            _ => return Err(unrecognised()),
        };
        if !(1..=12).contains(&month) {
            return Err(PeriodError::BadMonth {
                text: text.to_string(),
                month,
            });
        }
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(PeriodError::YearOutOfRange {
                text: text.to_string(),
                year,
            });
        }
        Ok(Period { year, month })
    }

    /// The month that contains `date`.
    pub fn of_date(date: NaiveDate) -> Self {
        Period {
            year: date.year(),
            month: date.month(),
        }
    }

    /// Gregorian year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Month, 1–12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// Buddhist-era year (พ.ศ.).
    pub fn year_be(self) -> i32 {
        self.year + BUDDHIST_ERA_OFFSET
    }

    /// Months since year 0: a dense integer for arithmetic and for Arrow.
    pub fn index(self) -> i32 {
        self.year * 12 + self.month as i32 - 1
    }

    /// The inverse of [`Period::index`].
    pub fn from_index(index: i32) -> Result<Self, PeriodError> {
        Period::new(index.div_euclid(12), index.rem_euclid(12) as u32 + 1)
    }

    /// This period moved by `months` (negative moves back).
    pub fn add_months(self, months: i32) -> Self {
        let index = self.index() + months;
        Period {
            year: index.div_euclid(12),
            month: index.rem_euclid(12) as u32 + 1,
        }
    }

    pub fn next(self) -> Self {
        self.add_months(1)
    }

    pub fn prev(self) -> Self {
        self.add_months(-1)
    }

    /// Months from `self` to `later` (negative when `later` is earlier).
    pub fn months_until(self, later: Period) -> i32 {
        later.index() - self.index()
    }

    /// Every period from `self` to `last`, inclusive.
    pub fn through(self, last: Period) -> impl Iterator<Item = Period> {
        (self.index()..=last.index()).map(|i| Period {
            year: i.div_euclid(12),
            month: i.rem_euclid(12) as u32 + 1,
        })
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid period has a first day")
    }

    pub fn last_day(self) -> NaiveDate {
        self.next()
            .first_day()
            .pred_opt()
            .expect("dates before a first day exist")
    }

    /// The Thai government fiscal year, in Buddhist era: October–September, named by the year it ends
    /// (October 2025 – September 2026 is FY2569).
    pub fn fiscal_year_be(self) -> i32 {
        let ending = if self.month >= 10 {
            self.year + 1
        } else {
            self.year
        };
        ending + BUDDHIST_ERA_OFFSET
    }

    /// The day a report for this period is due: `deadline_day` of the following month (clamped to the
    /// month's length).
    pub fn report_due(self, deadline_day: u32) -> NaiveDate {
        let next = self.next();
        let day = deadline_day.clamp(1, next.last_day().day());
        NaiveDate::from_ymd_opt(next.year, next.month, day).expect("day clamped to the month")
    }

    /// The latest period whose report is due on or before `today` (deadline `deadline_day` of the
    /// following month).
    pub fn latest_due(today: NaiveDate, deadline_day: u32) -> Self {
        let mut period = Period::of_date(today).prev();
        while period.report_due(deadline_day) > today {
            period = period.prev();
        }
        period
    }
}

/// A four-digit year as written, in the Common Era: from 2400 on it can only be Buddhist era (CE 2400
/// is centuries away), so 2568 is 2025; below, it stays (2025 is 2025).
pub fn common_era_year(written: i32) -> i32 {
    if written >= 2400 {
        written - BUDDHIST_ERA_OFFSET
    } else {
        written
    }
}

/// The hub's time zone: Asia/Bangkok, UTC+7 all year (no daylight saving). Dates written without a
/// zone, report deadlines and "today" are all Bangkok time.
pub fn bangkok() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("valid offset")
}

fn parse_number(digits: &str, text: &str) -> Result<u32, PeriodError> {
    digits
        .parse()
        .map_err(|_| PeriodError::Unrecognised(text.to_string()))
}

/// The letters without one era mark at their start or end, and the era it marks. A mark that is part
/// of a month name ("december" ends in "ce") is not one.
fn strip_era(letters: &str) -> Option<(String, Era)> {
    if is_month_name(letters) {
        return None;
    }
    [
        ("พศ", Era::Buddhist),
        ("คศ", Era::Common),
        ("be", Era::Buddhist),
        ("ad", Era::Common),
        ("ce", Era::Common),
    ]
    .into_iter()
    .find_map(|(mark, era)| {
        letters
            .strip_suffix(mark)
            .or_else(|| letters.strip_prefix(mark))
            .map(|rest| (rest.to_string(), era))
    })
}

fn is_month_name(letters: &str) -> bool {
    month_by_name(letters).is_some()
}

fn month_by_name(letters: &str) -> Option<u32> {
    let position = THAI_MONTHS
        .iter()
        .position(|m| *m == letters)
        .or_else(|| THAI_ABBREVIATIONS.iter().position(|m| *m == letters))
        .or_else(|| ENGLISH_MONTHS.iter().position(|m| *m == letters))
        .or_else(|| {
            // English abbreviations: "oct", "sept".
            (letters.len() >= 3)
                .then(|| ENGLISH_MONTHS.iter().position(|m| m.starts_with(letters)))
                .flatten()
        })?;
    Some(position as u32 + 1)
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Period {
    type Err = PeriodError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::parse(s)
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Period::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> String {
        Period::parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .to_string()
    }

    #[test]
    fn thai_and_buddhist_era_forms() {
        for text in [
            "2025-10",
            "2025-10-31",
            "202510",
            "10/2025",
            "10/2568",
            "2568-10",
            "ต.ค. ๒๕๖๘",
            "ต.ค.๒๕๖๘",
            "ต.ค. 68",
            "ตค 2568",
            "ตุลาคม 2568",
            "ตุลาคม พ.ศ. 2568",
            "เดือนตุลาคม ๒๕๖๘",
            "๑๕/๑๐/๒๕๖๘",
            "15/10/2568",
            "Oct 2025",
            "October 2025",
            "oct-68",
            "๑๐/๒๕๖๘",
            "  2025/10 ",
            "ต.ค. 2025 ค.ศ.",
        ] {
            assert_eq!(p(text), "2025-10", "{text}");
        }
        assert_eq!(p("ม.ค. 2569"), "2026-01");
        assert_eq!(p("มี.ค. 2569"), "2026-03");
        assert_eq!(p("มีนาคม 2569"), "2026-03");
        assert_eq!(p("พ.ย. 2568"), "2025-11");
        assert_eq!(p("พฤศจิกายน ๒๕๖๘"), "2025-11");
        assert_eq!(p("ธันวาคม 2567"), "2024-12");
        assert_eq!(p("December 2024"), "2024-12");
        assert_eq!(p("Sept 2024"), "2024-09");
        assert_eq!(p("กุมภาพันธ์ 2567"), "2024-02");
        assert_eq!(p("มิ.ย. 2560"), "2017-06");
        assert_eq!(p("พ.ค. 2560"), "2017-05");
    }

    #[test]
    fn bad_periods_say_why() {
        assert!(matches!(
            Period::parse("13/2568"),
            Err(PeriodError::BadMonth { month: 13, .. })
        ));
        assert!(matches!(
            Period::parse("2025-00"),
            Err(PeriodError::BadMonth { .. })
        ));
        assert!(matches!(
            Period::parse("พ.ศ. 2025 ต.ค."),
            Err(PeriodError::EraMismatch { year: 2025, .. })
        ));
        assert!(matches!(
            Period::parse("1800-01"),
            Err(PeriodError::YearOutOfRange { .. })
        ));
        for text in [
            "",
            "hello",
            "ตุลา",
            "10",
            "2025",
            "Octo 2025 extra",
            "2025-10-01-02",
        ] {
            let err = Period::parse(text).unwrap_err();
            assert!(err.to_string().starts_with(&quoted(text)), "{err}");
        }
    }

    #[test]
    fn era_marks_must_agree_with_the_year() {
        for (text, message) in [
            (
                "ต.ค. พ.ศ. 2025",
                "\"ต.ค. พ.ศ. 2025\": year 2025 contradicts its era mark (พ.ศ.)",
            ),
            (
                "October 2568 ค.ศ.",
                "\"October 2568 ค.ศ.\": year 2568 contradicts its era mark (ค.ศ.)",
            ),
            (
                "ค.ศ. 2568",
                "\"ค.ศ. 2568\": year 2568 contradicts its era mark (ค.ศ.)",
            ),
            (
                "BE 2025",
                "\"BE 2025\": year 2025 contradicts its era mark (พ.ศ.)",
            ),
            (
                "CE 2568",
                "\"CE 2568\": year 2568 contradicts its era mark (ค.ศ.)",
            ),
            (
                "10/2568 AD",
                "\"10/2568 AD\": year 2568 contradicts its era mark (ค.ศ.)",
            ),
            (
                "กุมภาพันธ์ พ.ศ. 2024",
                "\"กุมภาพันธ์ พ.ศ. 2024\": year 2024 contradicts its era mark (พ.ศ.)",
            ),
            (
                "ต.ค. พ.ศ. 2568 ค.ศ.",
                "\"ต.ค. พ.ศ. 2568 ค.ศ.\": two era marks that contradict each other (พ.ศ. and ค.ศ.)",
            ),
            ("2568-13", "\"2568-13\": month 13 is not between 1 and 12"),
            ("0/2568", "\"0/2568\": month 0 is not between 1 and 12"),
        ] {
            assert_eq!(Period::parse(text).unwrap_err().to_string(), message);
        }
        for (text, period) in [
            ("ต.ค. พ.ศ. 2568", "2025-10"),
            ("ค.ศ. 2025 ต.ค.", "2025-10"),
            ("October 2025 AD", "2025-10"),
            ("10/2568 BE", "2025-10"),
            ("December CE 2024", "2024-12"),
            ("ต.ค. ค.ศ. 25", "2025-10"),
            ("ธ.ค. 67", "2024-12"),
            ("10/68", "2025-10"),
        ] {
            assert_eq!(p(text), period, "{text}");
        }
    }

    #[test]
    fn arithmetic_and_fiscal_year() {
        let oct = Period::new(2025, 10).unwrap();
        assert_eq!(oct.year_be(), 2568);
        assert_eq!(oct.fiscal_year_be(), 2569);
        assert_eq!(Period::new(2026, 9).unwrap().fiscal_year_be(), 2569);
        assert_eq!(Period::new(2026, 10).unwrap().fiscal_year_be(), 2570);
        assert_eq!(oct.add_months(3).to_string(), "2026-01");
        assert_eq!(oct.add_months(-10).to_string(), "2024-12");
        assert_eq!(oct.months_until(Period::new(2026, 10).unwrap()), 12);
        assert_eq!(Period::from_index(oct.index()).unwrap(), oct);
        assert_eq!(oct.through(oct.add_months(2)).count(), 3);
        assert_eq!(
            oct.report_due(15),
            NaiveDate::from_ymd_opt(2025, 11, 15).unwrap()
        );
        assert_eq!(
            Period::new(2026, 1).unwrap().report_due(31),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
        assert_eq!(
            oct.last_day(),
            NaiveDate::from_ymd_opt(2025, 10, 31).unwrap()
        );
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(Period::latest_due(today, 15).to_string(), "2026-10");
        let today = NaiveDate::from_ymd_opt(2026, 11, 10).unwrap();
        assert_eq!(Period::latest_due(today, 15).to_string(), "2026-09");
        assert!(Period::new(2025, 9).unwrap() < oct);
    }

    #[test]
    fn serde_uses_the_canonical_form() {
        let oct = Period::new(2025, 10).unwrap();
        assert_eq!(serde_json::to_string(&oct).unwrap(), "\"2025-10\"");
        let back: Period = serde_json::from_str("\"ต.ค. 2568\"").unwrap();
        assert_eq!(back, oct);
    }
}
