//! Money: Thai baht as exact decimals with two places (satang). Never floats.
//!
//! In Rust a [`Money`] wraps a `rust_decimal::Decimal`; in Arrow it is `Decimal128(18, 2)`; in the store it
//! is an integer count of satang (1/100 baht), which every SQL back end holds exactly.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use arrow_schema::DataType;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::thai::{NumberError, NumberProblem, quoted, read_number};

/// Arrow precision and scale of money: `Decimal128(18, 2)`.
pub const MONEY_PRECISION: u8 = 18;
pub const MONEY_SCALE: i8 = 2;

/// The largest amount `Decimal128(18, 2)` holds, in satang.
const MAX_SATANG: i64 = 999_999_999_999_999_999;

/// An exact amount of Thai baht with at most two decimal places.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Money(Decimal);

/// Why a value is not an amount of baht; the message quotes the value as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Text that is not a plain decimal (exponent, letter O, European separators, formula, ...).
    #[error(transparent)]
    Written(#[from] NumberError),
    #[error("{} has more than two decimal places; baht amounts are exact to the satang", quoted(.0))]
    TooPrecise(String),
    #[error("{} is too large for Decimal128(18, 2)", quoted(.0))]
    TooLarge(String),
}

/// Unit words a clerk writes before or after an amount.
const BAHT_UNITS: [&str; 4] = ["บาท", "฿", "THB", "baht"];

/// How far a spreadsheet float may sit from a satang value (or a count from a whole number) and still
/// be that value: binary floats cannot hold 0.10 exactly, and sums of them drift (`0.1 + 0.2`), but by
/// far less than this.
pub const FLOAT_NOISE: f64 = 1e-6;

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// The Arrow type of money columns.
    pub fn arrow_type() -> DataType {
        DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE)
    }

    /// An amount from a decimal; refuses more than two decimal places instead of rounding silently.
    pub fn from_decimal(value: Decimal) -> Result<Self, MoneyError> {
        let normal = value.normalize();
        if normal.scale() > MONEY_SCALE as u32 {
            return Err(MoneyError::TooPrecise(value.to_string()));
        }
        let money = Money(normal);
        money.checked_satang()?;
        Ok(money)
    }

    /// An amount of whole satang (1/100 baht).
    pub fn from_satang(satang: i64) -> Self {
        Money(Decimal::new(satang, MONEY_SCALE as u32))
    }

    /// Whole baht.
    pub fn from_baht(baht: i64) -> Self {
        Money(Decimal::from(baht))
    }

    /// The amount in satang; exact because [`Money`] never holds more than two places.
    pub fn satang(self) -> i64 {
        self.checked_satang()
            .expect("Money is built within Decimal128(18, 2)")
    }

    fn checked_satang(self) -> Result<i64, MoneyError> {
        let mut scaled = self.0;
        scaled.rescale(MONEY_SCALE as u32);
        let mantissa = scaled.mantissa();
        if mantissa.abs() > i128::from(MAX_SATANG) {
            return Err(MoneyError::TooLarge(self.0.to_string()));
        }
        Ok(mantissa as i64)
    }

    /// The Arrow `Decimal128(18, 2)` raw value (satang).
    pub fn to_i128(self) -> i128 {
        i128::from(self.satang())
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// Reads an amount as a clerk writes it: `1,234.50`, `฿1,234.50`, `1,234.50 บาท`, Thai digits, a
    /// leading minus or accounting parentheses for negatives, at most two decimals in the text (`1.000`
    /// is refused: it may be a European thousand). Everything else [`read_number`] refuses is refused.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let number = read_number(text, &BAHT_UNITS)?;
        if number.fraction.len() > MONEY_SCALE as usize {
            return Err(MoneyError::TooPrecise(text.to_string()));
        }
        let too_large = || MoneyError::TooLarge(text.to_string());
        let mut value = Decimal::from_str_exact(&format!(
            "{}.{}",
            number.integer,
            if number.fraction.is_empty() {
                "0"
            } else {
                &number.fraction
            }
        ))
        .map_err(|_| too_large())?;
        if number.negative && !value.is_zero() {
            value = -value;
        }
        Money::from_decimal(value).map_err(|_| too_large())
    }

    /// An amount a spreadsheet stored as a binary float: the satang value within float noise of it
    /// (`1234.5000000001` is 1234.50), refused when it has a real third decimal (`1.005`) or is not
    /// finite.
    pub fn from_f64(value: f64) -> Result<Self, MoneyError> {
        let text = value.to_string();
        if !value.is_finite() {
            return Err(MoneyError::Written(NumberError {
                text,
                problem: NumberProblem::NotFinite,
            }));
        }
        let satang = (value * 100.0).round();
        // Far from zero a float's own spacing exceeds the noise allowance; allow a few steps of it.
        let allowance = FLOAT_NOISE.max(value.abs() * 4.0 * f64::EPSILON);
        if (value - satang / 100.0).abs() > allowance {
            return Err(MoneyError::TooPrecise(text));
        }
        if satang.abs() > MAX_SATANG as f64 {
            return Err(MoneyError::TooLarge(text));
        }
        Ok(Money::from_satang(satang as i64))
    }
}

impl fmt::Display for Money {
    /// Always two decimal places: `1234.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v = self.0;
        v.rescale(MONEY_SCALE as u32);
        write!(f, "{v}")
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

/// Money travels in JSON as a string (`"1234.50"`) so no client turns it into a float.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Integer(i64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) => Money::parse(&t).map_err(serde::de::Error::custom),
            Raw::Integer(i) => Ok(Money::from_baht(i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_clerks_write() {
        for (text, satang) in [
            ("1234.50", 123_450),
            ("1,234.50", 123_450),
            ("1,234,567.50", 123_456_750),
            ("฿1,234.50", 123_450),
            ("฿ 1,234.5", 123_450),
            ("1,234.50 บาท", 123_450),
            ("บาท 12", 1_200),
            ("๑,๒๓๔.๕๐ บาท", 123_450),
            ("  12.00  ", 1_200),
            ("-20", -2_000),
            ("(20.00)", -2_000),
            ("(฿1,000)", -100_000),
            ("-0", 0),
            ("0", 0),
            ("1 000 000", 100_000_000),
            ("9999999999999999.99", 999_999_999_999_999_999),
        ] {
            assert_eq!(Money::parse(text).unwrap().satang(), satang, "{text}");
        }
        assert!(!Money::parse("-0").unwrap().is_negative());
    }

    #[test]
    fn refuses_what_could_be_misread() {
        for (text, words) in [
            ("1.005", "\"1.005\" has more than two decimal places"),
            ("1.000", "\"1.000\" has more than two decimal places"),
            ("abc", "\"abc\" is not a number"),
            ("", "\"\" is empty"),
            ("1.2.3", "\"1.2.3\" uses European separators"),
            ("1.234,50", "\"1.234,50\" uses European separators"),
            ("1 234,50", "\"1 234,50\" uses European separators"),
            (
                "12,34.5",
                "\"12,34.5\" has a thousands separator in the wrong place",
            ),
            ("1e309", "\"1e309\" is written with an exponent"),
            ("NaN", "\"NaN\" is not a finite number"),
            ("inf", "\"inf\" is not a finite number"),
            ("1O0", "\"1O0\" has the letter O"),
            ("=SUM(A1:A3)", "\"=SUM(A1:A3)\" is formula text"),
            ("#VALUE!", "\"#VALUE!\" is a spreadsheet error cell"),
            ("10000000000000000", "\"10000000000000000\" is too large"),
        ] {
            let err = Money::parse(text).unwrap_err().to_string();
            assert!(err.starts_with(words), "{text}: {err}");
        }
    }

    #[test]
    fn spreadsheet_floats_within_noise_are_satang() {
        for (value, satang) in [
            (1234.5000000001, 123_450),
            (0.1 + 0.2, 30),
            (1234.4999999999, 123_450),
            (-12.5, -1_250),
            (1_234_567_890_123.45, 123_456_789_012_345),
            (0.0, 0),
        ] {
            assert_eq!(Money::from_f64(value).unwrap().satang(), satang, "{value}");
        }
        for (value, words) in [
            (1.005, "\"1.005\" has more than two decimal places"),
            (0.001, "\"0.001\" has more than two decimal places"),
            (f64::NAN, "\"NaN\" is not a finite number"),
            (f64::INFINITY, "\"inf\" is not a finite number"),
            (1e300, "is too large"),
        ] {
            let err = Money::from_f64(value).unwrap_err().to_string();
            assert!(err.contains(words), "{value}: {err}");
        }
    }

    #[test]
    fn exact_arithmetic_and_display() {
        let a = Money::parse("0.10").unwrap();
        let total: Money = std::iter::repeat_n(a, 3).sum();
        assert_eq!(total, Money::parse("0.30").unwrap());
        assert_eq!(total.to_string(), "0.30");
        assert_eq!(Money::from_satang(123_456).to_string(), "1234.56");
        assert_eq!(Money::from_baht(365).to_i128(), 36_500);
        assert_eq!(
            serde_json::to_string(&Money::from_satang(5)).unwrap(),
            "\"0.05\""
        );
        let back: Money = serde_json::from_str("\"1,000.25\"").unwrap();
        assert_eq!(back.satang(), 100_025);
        assert_eq!(Money::arrow_type(), DataType::Decimal128(18, 2));
    }
}
