//! Area codes (DOPA / TIS-1099 geocodes), levels and regions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A level of the area hierarchy: `country` > `region` > `province` > `district` > `subdistrict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Country,
    Region,
    Province,
    /// Amphoe (อำเภอ), or a Bangkok khet.
    District,
    /// Tambon (ตำบล), or a Bangkok khwaeng.
    Subdistrict,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Country,
        Level::Region,
        Level::Province,
        Level::District,
        Level::Subdistrict,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Country => "country",
            Level::Region => "region",
            Level::Province => "province",
            Level::District => "district",
            Level::Subdistrict => "subdistrict",
        }
    }

    /// The number of digits of a DOPA code at this level, for the levels that have one.
    pub fn code_len(self) -> Option<usize> {
        match self {
            Level::Province => Some(2),
            Level::District => Some(4),
            Level::Subdistrict => Some(6),
            Level::Country | Level::Region => None,
        }
    }

    /// The level directly above this one.
    pub fn parent(self) -> Option<Level> {
        match self {
            Level::Country => None,
            Level::Region => Some(Level::Country),
            Level::Province => Some(Level::Region),
            Level::District => Some(Level::Province),
            Level::Subdistrict => Some(Level::District),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = AreaCodeError;

    /// Accepts the level names and the Thai administrative words users type (`tambon`, `amphoe`, `changwat`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "country" | "national" => Ok(Level::Country),
            "region" => Ok(Level::Region),
            "province" | "changwat" => Ok(Level::Province),
            "district" | "amphoe" => Ok(Level::District),
            "subdistrict" | "tambon" => Ok(Level::Subdistrict),
            _ => Err(AreaCodeError::UnknownLevel(s.to_string())),
        }
    }
}

/// Problems with an area code, level or region.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaCodeError {
    #[error(
        "area code {0:?} is not 2, 4 or 6 ASCII digits (province NN, amphoe NNNN, tambon NNNNNN)"
    )]
    Malformed(String),
    #[error("area code {0:?} has a province part 00, which does not exist")]
    ZeroProvince(String),
    #[error(
        "unknown level {0:?}: expected country, region, province, district (amphoe) or subdistrict (tambon)"
    )]
    UnknownLevel(String),
    #[error(
        "unknown area {0:?}: expected TH, a region (bangkok, central, north, northeast, south) or a DOPA code"
    )]
    UnknownRef(String),
}

/// A DOPA geocode: province `NN`, amphoe `NNNN` or tambon `NNNNNN`. Always a string: leading digits are
/// the parent's code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AreaCode(String);

impl AreaCode {
    /// Validates a code. Thai digits are accepted and stored as ASCII.
    pub fn parse(text: &str) -> Result<Self, AreaCodeError> {
        let trimmed = text.trim();
        let ascii = crate::thai::ascii_digits(trimmed);
        let ok_len = matches!(ascii.len(), 2 | 4 | 6);
        if !ok_len || !ascii.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AreaCodeError::Malformed(text.to_string()));
        }
        if &ascii[..2] == "00" {
            return Err(AreaCodeError::ZeroProvince(text.to_string()));
        }
        Ok(AreaCode(ascii))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> Level {
        match self.0.len() {
            2 => Level::Province,
            4 => Level::District,
            _ => Level::Subdistrict,
        }
    }

    /// The parent DOPA code (tambon → amphoe → province); a province has none (its parent is a region).
    pub fn parent(&self) -> Option<AreaCode> {
        match self.0.len() {
            2 => None,
            n => Some(AreaCode(self.0[..n - 2].to_string())),
        }
    }

    /// The code of this area's ancestor (or itself) at `level`, if the level has DOPA codes and is not
    /// below this area's own level.
    pub fn at_level(&self, level: Level) -> Option<AreaCode> {
        let len = level.code_len()?;
        (len <= self.0.len()).then(|| AreaCode(self.0[..len].to_string()))
    }

    pub fn province(&self) -> AreaCode {
        AreaCode(self.0[..2].to_string())
    }

    pub fn region(&self) -> Region {
        Region::of_province(&self.0[..2])
    }

    /// True when `self` lies within `other` (or is it).
    pub fn is_within(&self, other: &AreaCode) -> bool {
        self.0.starts_with(&other.0)
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AreaCode {
    type Err = AreaCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AreaCode::parse(s)
    }
}

impl Serialize for AreaCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AreaCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        AreaCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The five statistical regions (the National Statistical Office's grouping), derived from a province
/// code's first digit: 1 Bangkok and central, 2 east, 3–4 northeast, 5–6 north, 7 west, 8–9 south. East
/// and west count as central; Bangkok (province 10) is its own region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Bangkok,
    Central,
    North,
    Northeast,
    South,
}

impl Region {
    pub const ALL: [Region; 5] = [
        Region::Bangkok,
        Region::Central,
        Region::North,
        Region::Northeast,
        Region::South,
    ];

    /// The region of a province code (`NN`); any longer code works too, by its first two digits.
    pub fn of_province(code: &str) -> Region {
        match code.as_bytes() {
            [b'1', b'0', ..] => Region::Bangkok,
            [b'1' | b'2' | b'7', ..] => Region::Central,
            [b'3' | b'4', ..] => Region::Northeast,
            [b'5' | b'6', ..] => Region::North,
            _ => Region::South,
        }
    }

    /// The region's code in the API (`bangkok`, `central`, `north`, `northeast`, `south`).
    pub fn code(self) -> &'static str {
        match self {
            Region::Bangkok => "bangkok",
            Region::Central => "central",
            Region::North => "north",
            Region::Northeast => "northeast",
            Region::South => "south",
        }
    }

    pub fn name_th(self) -> &'static str {
        match self {
            Region::Bangkok => "กรุงเทพมหานคร",
            Region::Central => "ภาคกลาง",
            Region::North => "ภาคเหนือ",
            Region::Northeast => "ภาคตะวันออกเฉียงเหนือ",
            Region::South => "ภาคใต้",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Region::Bangkok => "Bangkok",
            Region::Central => "Central",
            Region::North => "North",
            Region::Northeast => "Northeast",
            Region::South => "South",
        }
    }
}

impl FromStr for Region {
    type Err = AreaCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| AreaCodeError::UnknownRef(s.to_string()))
    }
}

/// Any area a user can name: the country (`TH`), a region, or a DOPA code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AreaRef {
    Country,
    Region(Region),
    Code(AreaCode),
}

impl AreaRef {
    /// The code used in the API: `TH`, a region code, or the DOPA code.
    pub const COUNTRY_CODE: &'static str = "TH";

    pub fn level(&self) -> Level {
        match self {
            AreaRef::Country => Level::Country,
            AreaRef::Region(_) => Level::Region,
            AreaRef::Code(code) => code.level(),
        }
    }

    /// True when an area with DOPA code `code` lies within this one.
    pub fn contains(&self, code: &AreaCode) -> bool {
        match self {
            AreaRef::Country => true,
            AreaRef::Region(region) => code.region() == *region,
            AreaRef::Code(outer) => code.is_within(outer),
        }
    }
}

impl fmt::Display for AreaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AreaRef::Country => f.write_str(Self::COUNTRY_CODE),
            AreaRef::Region(region) => f.write_str(region.code()),
            AreaRef::Code(code) => code.fmt(f),
        }
    }
}

impl FromStr for AreaRef {
    type Err = AreaCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case(Self::COUNTRY_CODE) {
            return Ok(AreaRef::Country);
        }
        if let Ok(region) = t.parse::<Region>() {
            return Ok(AreaRef::Region(region));
        }
        if t.chars()
            .any(|c| c.is_ascii_digit() || ('\u{0E50}'..='\u{0E59}').contains(&c))
        {
            return AreaCode::parse(t).map(AreaRef::Code);
        }
        Err(AreaCodeError::UnknownRef(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_validate_and_derive_parents() {
        let t = AreaCode::parse("100101").unwrap();
        assert_eq!(t.level(), Level::Subdistrict);
        assert_eq!(t.parent().unwrap().as_str(), "1001");
        assert_eq!(t.parent().unwrap().parent().unwrap().as_str(), "10");
        assert_eq!(t.parent().unwrap().parent().unwrap().parent(), None);
        assert_eq!(t.at_level(Level::Province).unwrap().as_str(), "10");
        assert_eq!(t.at_level(Level::Subdistrict).unwrap(), t);
        assert_eq!(
            AreaCode::parse("10").unwrap().at_level(Level::District),
            None
        );
        assert_eq!(AreaCode::parse("๕๐").unwrap().as_str(), "50");
        for bad in ["1", "123", "1234567", "10a1", "", "００", "001234"] {
            assert!(AreaCode::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn regions_follow_the_first_digit() {
        assert_eq!(Region::of_province("10"), Region::Bangkok);
        assert_eq!(Region::of_province("11"), Region::Central);
        assert_eq!(Region::of_province("20"), Region::Central);
        assert_eq!(Region::of_province("76"), Region::Central);
        assert_eq!(Region::of_province("30"), Region::Northeast);
        assert_eq!(Region::of_province("49"), Region::Northeast);
        assert_eq!(Region::of_province("50"), Region::North);
        assert_eq!(Region::of_province("67"), Region::North);
        assert_eq!(Region::of_province("90"), Region::South);
        assert_eq!(AreaCode::parse("900101").unwrap().region(), Region::South);
    }

    #[test]
    fn area_refs_parse() {
        assert_eq!("TH".parse::<AreaRef>().unwrap(), AreaRef::Country);
        assert_eq!(
            "North".parse::<AreaRef>().unwrap(),
            AreaRef::Region(Region::North)
        );
        let r: AreaRef = "5001".parse().unwrap();
        assert!(r.contains(&AreaCode::parse("500101").unwrap()));
        assert!(!r.contains(&AreaCode::parse("500201").unwrap()));
        assert!("Mars".parse::<AreaRef>().is_err());
        assert!("501".parse::<AreaRef>().is_err());
        assert_eq!("tambon".parse::<Level>().unwrap(), Level::Subdistrict);
    }
}
