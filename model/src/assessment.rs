//! Governance assessments (design section 4): a fund's dated result on the national standard form for
//! welfare funds (morality and good governance), with a score per dimension and an overall level.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::fund::{FundId, fold_label};
use crate::thai::{quoted, read_number};

/// The overall level of an assessment, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GovernanceLevel {
    /// ดีมาก
    Excellent,
    /// ดี
    Good,
    /// พอใช้
    Fair,
    /// ต้องปรับปรุง
    Improve,
}

/// Each level with its canonical name, its Thai label first, then the other labels forms write.
const LEVEL_LABELS: &[(GovernanceLevel, &str, &[&str])] = &[
    (
        GovernanceLevel::Excellent,
        "excellent",
        &["ดีมาก", "ดีเยี่ยม", "ระดับดีมาก", "very good"],
    ),
    (GovernanceLevel::Good, "good", &["ดี", "ระดับดี"]),
    (
        GovernanceLevel::Fair,
        "fair",
        &["พอใช้", "ระดับพอใช้", "ปานกลาง", "satisfactory"],
    ),
    (
        GovernanceLevel::Improve,
        "improve",
        &[
            "ต้องปรับปรุง",
            "ควรปรับปรุง",
            "ปรับปรุง",
            "ระดับต้องปรับปรุง",
            "needs improvement",
            "to improve",
        ],
    ),
];

impl GovernanceLevel {
    pub const ALL: [GovernanceLevel; 4] = [
        GovernanceLevel::Excellent,
        GovernanceLevel::Good,
        GovernanceLevel::Fair,
        GovernanceLevel::Improve,
    ];

    fn labels(self) -> (&'static str, &'static [&'static str]) {
        let (_, name, labels) = LEVEL_LABELS
            .iter()
            .find(|(l, _, _)| *l == self)
            .expect("every level has labels");
        (name, labels)
    }

    /// `excellent`, `good`, `fair`, `improve`.
    pub fn as_str(self) -> &'static str {
        self.labels().0
    }

    /// The Thai name, as the form writes it.
    pub fn label_th(self) -> &'static str {
        self.labels().1[0]
    }

    /// A level as a file or a request writes it: its canonical name, or a Thai or English label
    /// (`ดีมาก`, `Needs improvement`), in any case and spacing.
    pub fn from_label(text: &str) -> Result<GovernanceLevel, String> {
        let folded = fold_label(text);
        LEVEL_LABELS
            .iter()
            .find(|(_, name, labels)| {
                fold_label(name) == folded || labels.iter().any(|l| fold_label(l) == folded)
            })
            .map(|(l, _, _)| *l)
            .ok_or_else(|| {
                format!(
                    "{} is not a governance level: expected one of {}",
                    quoted(text.trim()),
                    LEVEL_LABELS
                        .iter()
                        .map(|(_, name, labels)| format!("{name} ({})", labels[0]))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

impl fmt::Display for GovernanceLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GovernanceLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GovernanceLevel::from_label(s)
    }
}

/// The highest score of a dimension.
pub const MAX_SCORE: u32 = 100;

/// The most decimals a score keeps.
pub const SCORE_DECIMALS: u32 = 2;

/// A dimension's score: 0–100, whole or with up to two decimals. In JSON a whole score is a number
/// (`80`), any other a decimal string (`"82.5"`), so no score passes through binary floating point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(Decimal);

impl Score {
    /// A score from a number, refused outside 0–100 or with more than two decimals.
    pub fn new(value: Decimal) -> Result<Score, String> {
        if value.is_sign_negative() && !value.is_zero() || value > Decimal::from(MAX_SCORE) {
            return Err(format!("score {value} is outside 0–{MAX_SCORE}"));
        }
        let value = value.normalize();
        if value.scale() > SCORE_DECIMALS {
            return Err(format!(
                "score {value} has more than {SCORE_DECIMALS} decimals"
            ));
        }
        Ok(Score(value))
    }

    /// A score as a cell or a field writes it: Thai or ASCII digits, a decimal point, `%` or
    /// `คะแนน` around it.
    pub fn parse(text: &str) -> Result<Score, String> {
        let n = read_number(text, &["%", "คะแนน"]).map_err(|e| e.to_string())?;
        let digits = if n.fraction.is_empty() {
            n.integer.clone()
        } else {
            format!("{}.{}", n.integer, n.fraction)
        };
        let value = Decimal::from_str(&digits)
            .map_err(|_| format!("{} is not a number", quoted(text.trim())))?;
        if n.negative && !value.is_zero() {
            return Err(format!(
                "score {} is outside 0–{MAX_SCORE}",
                quoted(text.trim())
            ));
        }
        Score::new(value)
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract().is_zero() {
            s.serialize_u64(u64::try_from(self.0.trunc().mantissa()).unwrap_or(0))
        } else {
            s.serialize_str(&self.0.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for Score {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Score;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a score 0–100: a number, or a decimal as a string (\"82.5\")")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Score, E> {
                Score::new(Decimal::from(v)).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Score, E> {
                Score::new(Decimal::from(v)).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Score, E> {
                // The shortest text that reads back as this float: what the sender wrote.
                Score::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Score, E> {
                Score::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The longest form version and dimension name.
pub const MAX_NAME_CHARS: usize = 100;

/// A form version or a dimension name: trimmed, not empty, at most [`MAX_NAME_CHARS`] characters.
pub fn check_name(what: &str, text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("no {what}"));
    }
    if t.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "{what} {} is longer than {MAX_NAME_CHARS} characters",
            quoted(t)
        ));
    }
    Ok(t.to_string())
}

/// Refuses an assessment dated after `today`.
pub fn check_assessed_on(day: NaiveDate, today: NaiveDate) -> Result<(), String> {
    if day > today {
        Err(format!(
            "assessed on {day}, which is in the future (today is {today})"
        ))
    } else {
        Ok(())
    }
}

/// One fund's result on one version of the form on one day. (fund, day, form version) is its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub fund_id: FundId,
    pub assessed_on: NaiveDate,
    /// The form's version as the assessors name it (`2566`, `มาตรฐาน 2564`).
    pub form_version: String,
    pub overall_level: GovernanceLevel,
    /// Score per dimension (ธรรมาภิบาล, คุณธรรม, การบริหารจัดการ, การมีส่วนร่วม, …).
    pub scores: BTreeMap<String, Score>,
    pub assessor: Option<String>,
}

impl Assessment {
    /// (fund, day, form version): what makes two assessments the same one.
    pub fn key(&self) -> (FundId, NaiveDate, String) {
        (
            self.fund_id.clone(),
            self.assessed_on,
            self.form_version.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_in_thai_or_english_in_any_case_and_spacing() {
        for (text, level) in [
            ("excellent", GovernanceLevel::Excellent),
            ("ดีมาก", GovernanceLevel::Excellent),
            (" ดี มาก ", GovernanceLevel::Excellent),
            ("Very Good", GovernanceLevel::Excellent),
            ("ดี", GovernanceLevel::Good),
            ("GOOD", GovernanceLevel::Good),
            ("พอใช้", GovernanceLevel::Fair),
            ("Fair", GovernanceLevel::Fair),
            ("ต้องปรับปรุง", GovernanceLevel::Improve),
            ("needs_improvement", GovernanceLevel::Improve),
            ("Needs-Improvement", GovernanceLevel::Improve),
            ("improve", GovernanceLevel::Improve),
        ] {
            assert_eq!(GovernanceLevel::from_label(text), Ok(level), "{text}");
        }
        let e = GovernanceLevel::from_label("เยี่ยม").unwrap_err();
        assert!(
            e.starts_with("\"เยี่ยม\" is not a governance level: expected one of excellent (ดีมาก), good (ดี), fair (พอใช้), improve (ต้องปรับปรุง)"),
            "{e}"
        );
        for level in GovernanceLevel::ALL {
            assert_eq!(level.as_str().parse::<GovernanceLevel>(), Ok(level));
            assert_eq!(GovernanceLevel::from_label(level.label_th()), Ok(level));
            assert_eq!(
                serde_json::to_value(level).unwrap(),
                serde_json::json!(level.as_str())
            );
        }
        assert!(GovernanceLevel::Excellent < GovernanceLevel::Improve);
    }

    #[test]
    fn scores_are_0_to_100_with_at_most_two_decimals() {
        assert_eq!(Score::parse("85").unwrap().value(), Decimal::from(85));
        assert_eq!(Score::parse("๘๒.๕").unwrap().to_string(), "82.5");
        assert_eq!(Score::parse(" 90 % ").unwrap().to_string(), "90");
        assert_eq!(Score::parse("100.00").unwrap().to_string(), "100");
        assert_eq!(Score::parse("0").unwrap().to_string(), "0");
        assert!(Score::parse("100.5").unwrap_err().contains("outside 0–100"));
        assert!(Score::parse("-1").unwrap_err().contains("outside 0–100"));
        assert!(Score::parse("82.125").unwrap_err().contains("decimals"));
        assert!(Score::parse("ดี").unwrap_err().contains("is not a number"));
        assert!(Score::parse("").is_err());
    }

    #[test]
    fn scores_are_json_numbers_when_whole_and_strings_otherwise() {
        let scores: BTreeMap<String, Score> = [
            ("ธรรมาภิบาล".to_string(), Score::parse("80").unwrap()),
            ("คุณธรรม".to_string(), Score::parse("72.5").unwrap()),
        ]
        .into();
        let json = serde_json::to_value(&scores).unwrap();
        assert_eq!(json, serde_json::json!({"ธรรมาภิบาล": 80, "คุณธรรม": "72.5"}));
        let back: BTreeMap<String, Score> = serde_json::from_value(json).unwrap();
        assert_eq!(back, scores);
        let floats: BTreeMap<String, Score> =
            serde_json::from_str(r#"{"a": 72.5, "b": "60", "c": 0}"#).unwrap();
        assert_eq!(floats["a"].to_string(), "72.5");
        assert_eq!(floats["b"].to_string(), "60");
        assert!(serde_json::from_str::<Score>("101").is_err());
        assert!(serde_json::from_str::<Score>("\"x\"").is_err());
    }

    #[test]
    fn names_and_days_are_checked() {
        assert_eq!(check_name("form version", " 2566 ").unwrap(), "2566");
        assert_eq!(
            check_name("form version", "  ").unwrap_err(),
            "no form version"
        );
        assert!(check_name("dimension", &"ก".repeat(101)).is_err());
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert!(check_assessed_on(today, today).is_ok());
        assert_eq!(
            check_assessed_on(today.succ_opt().unwrap(), today).unwrap_err(),
            "assessed on 2026-12-08, which is in the future (today is 2026-12-07)"
        );
    }
}
