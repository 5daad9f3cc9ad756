//! Funds: one welfare organisation registered to one tambon.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::area::{AreaCode, Level};
use crate::thai::quoted;

/// A fund's identifier as its network assigns it: 1–64 ASCII letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FundId(String);

/// Why a text is not a fund id. The message quotes the text verbatim (a byte-order mark or a quote
/// included): ids are never rewritten, so the operator must see exactly what the source holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.what, .text, .problem))]
pub struct FundIdError {
    /// What the text was to be: `fund id`, `network id`.
    pub what: &'static str,
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

fn describe(what: &str, text: &str, problem: &FundIdProblem) -> String {
    let id = quoted(text);
    match problem {
        FundIdProblem::Empty => format!("no {what}"),
        FundIdProblem::TooLong => format!("{what} {id} is longer than 64 characters"),
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
                "{what} {id} {place} an invisible character U+{:04X}{name}; ids are never rewritten, fix the cell",
                u32::from(*character)
            )
        }
        FundIdProblem::InnerSpace => {
            format!("{what} {id} has a space inside; a {what} is 1–64 {ALLOWED}")
        }
        FundIdProblem::Character(c) => {
            format!("{what} {id} has '{c}', not one of the {ALLOWED} a {what} is made of")
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
        parse_code(text, "fund id").map(FundId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An identifier as an operator writes it (a fund's, a network's): spaces and tabs around it are
/// dropped; anything else, a byte-order mark or a zero-width space included, is refused, never
/// removed.
fn parse_code(text: &str, what: &'static str) -> Result<String, FundIdError> {
    {
        let fail = |problem| FundIdError {
            what,
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
        Ok(t.to_string())
    }
}

/// A network's identifier (`songkhla-1baht`): 1–64 ASCII letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NetworkId(String);

impl NetworkId {
    pub fn parse(text: &str) -> Result<Self, FundIdError> {
        parse_code(text, "network id").map(NetworkId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A named set of funds across the area hierarchy (DHIS2's group sets): a provincial network, the
/// Songkhla 1-baht network, a regional federation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Network {
    pub id: NetworkId,
    pub name_th: String,
    pub name_en: Option<String>,
    /// Its funds, by id.
    pub funds: Vec<FundId>,
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
    /// A village fund or savings group whose profits feed welfare (กองทุนหมู่บ้าน, กลุ่มออมทรัพย์).
    OtherCommunityFund,
    /// กองทุนผู้สูงอายุ: an elderly fund.
    ElderlyFund,
    /// กองทุนสวัสดิการระดับจังหวัด: welfare groups linked as one fund of a province (Lampang's 21
    /// groups), registered to the province rather than to a tambon.
    ProvincialFund,
}

/// Each kind with its canonical name and the Thai and English labels registries write.
const KIND_LABELS: &[(FundKind, &str, &[&str])] = &[
    (
        FundKind::CommunityWelfare,
        "community_welfare",
        &[
            "กองทุนสวัสดิการชุมชน",
            "สวัสดิการชุมชน",
            "กองทุนสวัสดิการ",
            "community welfare fund",
            "community welfare",
            "welfare fund",
        ],
    ),
    (
        FundKind::OneBahtSavings,
        "one_baht_savings",
        &[
            "กลุ่มสัจจะวันละบาท",
            "สัจจะวันละบาท",
            "กลุ่มสัจจะออมทรัพย์วันละบาท",
            "1-baht-a-day savings group",
            "one baht savings group",
            "one baht a day savings group",
            "1 baht savings group",
            "one baht savings",
        ],
    ),
    (
        FundKind::OtherCommunityFund,
        "other_community_fund",
        &[
            "กองทุนหมู่บ้าน",
            "กลุ่มออมทรัพย์",
            "กลุ่มออมทรัพย์เพื่อการผลิต",
            "กองทุนหมู่บ้านหรือกลุ่มออมทรัพย์",
            "village fund",
            "savings group",
            "village fund or savings group",
            "other community fund",
        ],
    ),
    (
        FundKind::ElderlyFund,
        "elderly_fund",
        &[
            "กองทุนผู้สูงอายุ",
            "กองทุนสวัสดิการผู้สูงอายุ",
            "ผู้สูงอายุ",
            "elderly fund",
            "elderly",
        ],
    ),
    (
        FundKind::ProvincialFund,
        "provincial_fund",
        &[
            "กองทุนระดับจังหวัด",
            "กองทุนสวัสดิการชุมชนระดับจังหวัด",
            "กองทุนสวัสดิการระดับจังหวัด",
            "ระดับจังหวัด",
            "provincial fund",
            "provincial-level fund",
            "provincial level fund",
        ],
    ),
];

/// A label as compared: lower case, spaces, `-` and `_` dropped.
pub(crate) fn fold_label(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl FundKind {
    pub const ALL: [FundKind; 5] = [
        FundKind::CommunityWelfare,
        FundKind::OneBahtSavings,
        FundKind::OtherCommunityFund,
        FundKind::ElderlyFund,
        FundKind::ProvincialFund,
    ];

    fn labels(self) -> (&'static str, &'static [&'static str]) {
        let (_, name, labels) = KIND_LABELS
            .iter()
            .find(|(k, _, _)| *k == self)
            .expect("every kind has labels");
        (name, labels)
    }

    pub fn as_str(self) -> &'static str {
        self.labels().0
    }

    /// The Thai name, as a registry writes it.
    pub fn label_th(self) -> &'static str {
        self.labels().1[0]
    }

    /// The English name, as a registry writes it (`Elderly fund`).
    pub fn label_en(self) -> String {
        let label = self
            .labels()
            .1
            .iter()
            .find(|l| l.is_ascii())
            .copied()
            .unwrap_or(self.as_str());
        let mut chars = label.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_uppercase().chain(chars).collect()
        })
    }

    /// Whether the fund's members count toward coverage: members of welfare funds do; savings
    /// groups, village funds and elderly funds are shown beside them.
    pub fn counts_in_coverage(self) -> bool {
        matches!(self, FundKind::CommunityWelfare | FundKind::ProvincialFund)
    }

    /// The level of the area a fund of this kind is registered to.
    pub fn registered_to(self) -> Level {
        match self {
            FundKind::ProvincialFund => Level::Province,
            _ => Level::Subdistrict,
        }
    }

    /// A kind as a registry or a request writes it: its canonical name, or a Thai or English label
    /// (`กลุ่มสัจจะวันละบาท`, `Elderly fund`), in any case and spacing.
    pub fn from_label(text: &str) -> Result<FundKind, String> {
        let folded = fold_label(text);
        KIND_LABELS
            .iter()
            .find(|(_, name, labels)| {
                fold_label(name) == folded || labels.iter().any(|l| fold_label(l) == folded)
            })
            .map(|(k, _, _)| *k)
            .ok_or_else(|| {
                format!(
                    "{} is not a fund kind: expected one of {}",
                    quoted(text.trim()),
                    KIND_LABELS
                        .iter()
                        .map(|(_, name, labels)| format!("{name} ({})", labels[0]))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

impl FromStr for FundKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FundKind::from_label(s)
    }
}

/// A fund as registered: where it is, since when and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fund {
    pub id: FundId,
    pub name_th: String,
    pub name_en: Option<String>,
    pub kind: FundKind,
    /// The tambon the fund is registered to (a municipal fund names its tambon too); for a
    /// provincial-level fund, its province.
    pub area: AreaCode,
    /// The municipality (เทศบาล) of a municipal fund.
    pub municipality: Option<String>,
    pub registered_on: Option<NaiveDate>,
    /// The day the fund closed: it stops counting from that month, and is never deleted.
    pub closed_on: Option<NaiveDate>,
}

/// Why a fund's registration does not hold together.
pub fn check_fund(fund: &Fund) -> Result<(), String> {
    let wanted = fund.kind.registered_to();
    if fund.area.level() != wanted {
        return Err(match wanted {
            Level::Province => format!(
                "a provincial-level fund is registered to a province (2 digits), not to {} {}",
                fund.area.level().as_str(),
                fund.area
            ),
            _ => format!(
                "a {} is registered to a tambon (6 digits), not to {} {}; only a provincial_fund is registered to a province",
                fund.kind.as_str(),
                fund.area.level().as_str(),
                fund.area
            ),
        });
    }
    if fund.name_th.trim().is_empty() {
        return Err("the fund has no Thai name".into());
    }
    if let (Some(opened), Some(closed)) = (fund.registered_on, fund.closed_on)
        && closed < opened
    {
        return Err(format!(
            "closed on {closed}, before it was registered on {opened}"
        ));
    }
    Ok(())
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
    fn kinds_read_from_thai_and_english_labels() {
        for (text, kind) in [
            ("community_welfare", FundKind::CommunityWelfare),
            ("กองทุนสวัสดิการชุมชน", FundKind::CommunityWelfare),
            (" Community Welfare Fund ", FundKind::CommunityWelfare),
            ("กลุ่มสัจจะวันละบาท", FundKind::OneBahtSavings),
            ("1-Baht-a-day savings group", FundKind::OneBahtSavings),
            ("กองทุนหมู่บ้าน", FundKind::OtherCommunityFund),
            ("Savings group", FundKind::OtherCommunityFund),
            ("กองทุนผู้สูงอายุ", FundKind::ElderlyFund),
            ("elderly_fund", FundKind::ElderlyFund),
            ("กองทุนระดับจังหวัด", FundKind::ProvincialFund),
            ("Provincial-level fund", FundKind::ProvincialFund),
        ] {
            assert_eq!(FundKind::from_label(text), Ok(kind), "{text}");
        }
        for kind in FundKind::ALL {
            assert_eq!(FundKind::from_label(kind.as_str()), Ok(kind));
            assert_eq!(FundKind::from_label(kind.label_th()), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        let e = FundKind::from_label("ธนาคารหมู่บ้าน").unwrap_err();
        assert!(e.starts_with("\"ธนาคารหมู่บ้าน\" is not a fund kind: expected one of community_welfare (กองทุนสวัสดิการชุมชน)"), "{e}");
        assert!(FundKind::CommunityWelfare.counts_in_coverage());
        assert!(FundKind::ProvincialFund.counts_in_coverage());
        assert!(!FundKind::OneBahtSavings.counts_in_coverage());
        assert!(!FundKind::ElderlyFund.counts_in_coverage());
    }

    #[test]
    fn a_fund_is_registered_to_the_level_its_kind_needs() {
        let fund = |kind, area: &str| Fund {
            id: FundId::parse("F1").unwrap(),
            name_th: "กองทุน".into(),
            name_en: None,
            kind,
            area: AreaCode::parse(area).unwrap(),
            municipality: None,
            registered_on: None,
            closed_on: None,
        };
        assert_eq!(
            check_fund(&fund(FundKind::CommunityWelfare, "500101")),
            Ok(())
        );
        assert_eq!(check_fund(&fund(FundKind::ProvincialFund, "52")), Ok(()));
        assert!(
            check_fund(&fund(FundKind::ProvincialFund, "520101"))
                .unwrap_err()
                .starts_with("a provincial-level fund is registered to a province")
        );
        assert!(
            check_fund(&fund(FundKind::ElderlyFund, "52"))
                .unwrap_err()
                .contains("only a provincial_fund is registered to a province")
        );
        let mut closed = fund(FundKind::CommunityWelfare, "500101");
        closed.registered_on = NaiveDate::from_ymd_opt(2020, 5, 1);
        closed.closed_on = NaiveDate::from_ymd_opt(2019, 1, 1);
        assert_eq!(
            check_fund(&closed).unwrap_err(),
            "closed on 2019-01-01, before it was registered on 2020-05-01"
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
