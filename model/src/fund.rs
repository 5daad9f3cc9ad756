//! Funds: one welfare organisation registered to one tambon.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::area::AreaCode;
use crate::thai::quoted;

/// A fund's identifier as its network assigns it: 1–64 ASCII letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FundId(String);

/// Why a text is not a fund id. The message quotes the text verbatim (a byte-order mark or a quote
/// included): ids are never rewritten, so the operator must see exactly what the source holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.text, .problem))]
pub struct FundIdError {
    pub text: String,
    pub problem: FundIdProblem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundIdProblem {
    Empty,
    TooLong,
    /// An invisible character (byte-order mark, zero-width space, no-break space...) at a character
    /// position of the text as written (0-based).
    Invisible {
        character: char,
        position: usize,
    },
    InnerSpace,
    Character(char),
}

const ALLOWED: &str = "ASCII letters, digits, '-', '_' or '.'";

fn describe(text: &str, problem: &FundIdProblem) -> String {
    let id = quoted(text);
    match problem {
        FundIdProblem::Empty => "no fund id".to_string(),
        FundIdProblem::TooLong => format!("fund id {id} is longer than 64 characters"),
        FundIdProblem::Invisible {
            character,
            position,
        } => {
            let name = match character {
                '\u{feff}' => " (byte-order mark)",
                '\u{200b}' => " (zero-width space)",
                '\u{a0}' => " (no-break space)",
                _ => "",
            };
            let place = if *position == 0 {
                "starts with".to_string()
            } else {
                format!("has at character {}", position + 1)
            };
            format!(
                "fund id {id} {place} an invisible character U+{:04X}{name}; ids are never rewritten, fix the cell",
                u32::from(*character)
            )
        }
        FundIdProblem::InnerSpace => {
            format!("fund id {id} has a space inside; a fund id is 1–64 {ALLOWED}")
        }
        FundIdProblem::Character(c) => {
            format!("fund id {id} has '{c}', not one of the {ALLOWED} a fund id is made of")
        }
    }
}

/// Characters that show as nothing (or as a plain space) but make two ids that look alike differ.
fn is_invisible(c: char) -> bool {
    (c.is_whitespace() && c != ' ')
        || c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{ad}')
}

/// The padding clerks type around a value; nothing else is ever removed from an id.
const PADDING: [char; 2] = [' ', '\t'];

impl FundId {
    /// A fund id as a cell or a field holds it. Spaces and tabs around it are dropped; anything else,
    /// a byte-order mark or a zero-width space included, is refused, never removed.
    pub fn parse(text: &str) -> Result<Self, FundIdError> {
        let fail = |problem| FundIdError {
            text: text.to_string(),
            problem,
        };
        let t = text.trim_matches(PADDING);
        if t.is_empty() {
            return Err(fail(FundIdProblem::Empty));
        }
        if let Some((position, character)) = t
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            let padding = text.chars().take_while(|c| PADDING.contains(c)).count();
            return Err(fail(if is_invisible(character) {
                FundIdProblem::Invisible {
                    character,
                    position: padding + position,
                }
            } else if character == ' ' {
                FundIdProblem::InnerSpace
            } else {
                FundIdProblem::Character(character)
            }));
        }
        if t.len() > 64 {
            return Err(fail(FundIdProblem::TooLong));
        }
        Ok(FundId(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FundId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for FundId {
    type Err = FundIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FundId::parse(s)
    }
}

impl Serialize for FundId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FundId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        FundId::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// What kind of organisation a fund is (design section 4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FundKind {
    /// กองทุนสวัสดิการชุมชน: the community welfare fund of a tambon or municipality.
    #[default]
    CommunityWelfare,
    /// กลุ่มสัจจะวันละบาท: a 1-baht-a-day savings group.
    OneBahtSavings,
    /// Another community fund whose profits feed welfare (a village fund, a savings group).
    OtherCommunityFund,
}

impl FundKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FundKind::CommunityWelfare => "community_welfare",
            FundKind::OneBahtSavings => "one_baht_savings",
            FundKind::OtherCommunityFund => "other_community_fund",
        }
    }
}

impl FromStr for FundKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "community_welfare" => Ok(FundKind::CommunityWelfare),
            "one_baht_savings" => Ok(FundKind::OneBahtSavings),
            "other_community_fund" => Ok(FundKind::OtherCommunityFund),
            other => Err(format!(
                "unknown fund kind {other:?}: expected community_welfare, one_baht_savings or other_community_fund"
            )),
        }
    }
}

/// A fund as registered: where it is and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fund {
    pub id: FundId,
    pub name_th: String,
    pub name_en: Option<String>,
    pub kind: FundKind,
    /// The tambon the fund is registered to (a municipal fund names its tambon too).
    pub tambon: AreaCode,
    /// The municipality (เทศบาล) of a municipal fund.
    pub municipality: Option<String>,
    pub registered_on: Option<NaiveDate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fund_ids_validate() {
        assert_eq!(
            FundId::parse(" F-100101.1\t").unwrap().as_str(),
            "F-100101.1"
        );
        assert_eq!(FundId::parse(&"x".repeat(64)).unwrap().as_str().len(), 64);
        assert_eq!(
            "one_baht_savings".parse::<FundKind>().unwrap(),
            FundKind::OneBahtSavings
        );
    }

    #[test]
    fn refused_ids_are_quoted_verbatim() {
        let never = "ids are never rewritten, fix the cell";
        let made_of = "not one of the ASCII letters, digits, '-', '_' or '.' a fund id is made of";
        for (text, message) in [
            ("", "no fund id".to_string()),
            ("   ", "no fund id".to_string()),
            (
                "\u{feff}F1",
                format!("fund id \"\u{feff}F1\" starts with an invisible character U+FEFF (byte-order mark); {never}"),
            ),
            (
                "F1\u{200b}",
                format!("fund id \"F1\u{200b}\" has at character 3 an invisible character U+200B (zero-width space); {never}"),
            ),
            (
                " \u{a0}F1",
                format!("fund id \" \u{a0}F1\" has at character 2 an invisible character U+00A0 (no-break space); {never}"),
            ),
            (
                "F 1",
                "fund id \"F 1\" has a space inside; a fund id is 1–64 ASCII letters, digits, '-', '_' or '.'".to_string(),
            ),
            (
                "F1'; DROP TABLE funds;--",
                format!("fund id \"F1'; DROP TABLE funds;--\" has ''', {made_of}"),
            ),
            ("กองทุน", format!("fund id \"กองทุน\" has 'ก', {made_of}")),
        ] {
            assert_eq!(FundId::parse(text).unwrap_err().to_string(), message, "{text}");
        }
        assert_eq!(
            FundId::parse(&"x".repeat(65)).unwrap_err().problem,
            FundIdProblem::TooLong
        );
    }
}
