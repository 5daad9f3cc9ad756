//! Funds: one welfare organisation registered to one tambon.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::area::AreaCode;

/// A fund's identifier as its network assigns it: 1–64 ASCII letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FundId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fund id {0:?} is not 1–64 ASCII letters, digits, '-', '_' or '.'")]
pub struct FundIdError(pub String);

impl FundId {
    pub fn parse(text: &str) -> Result<Self, FundIdError> {
        let t = text.trim();
        let ok = (1..=64).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(FundId(t.to_string()))
        } else {
            Err(FundIdError(text.to_string()))
        }
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
            FundId::parse(" F-100101.1 ").unwrap().as_str(),
            "F-100101.1"
        );
        assert!(FundId::parse("").is_err());
        assert!(FundId::parse("กองทุน").is_err());
        assert!(FundId::parse("a b").is_err());
        assert!(FundId::parse(&"x".repeat(65)).is_err());
        assert_eq!(
            "one_baht_savings".parse::<FundKind>().unwrap(),
            FundKind::OneBahtSavings
        );
    }
}
