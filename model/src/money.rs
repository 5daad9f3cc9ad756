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

use crate::thai::ascii_digits;

/// Arrow precision and scale of money: `Decimal128(18, 2)`.
pub const MONEY_PRECISION: u8 = 18;
pub const MONEY_SCALE: i8 = 2;

/// The largest amount `Decimal128(18, 2)` holds, in satang.
const MAX_SATANG: i64 = 999_999_999_999_999_999;

/// An exact amount of Thai baht with at most two decimal places.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Money(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not an amount of baht")]
    NotANumber(String),
    #[error("{0:?} has more than two decimal places; baht amounts are exact to the satang")]
    TooPrecise(String),
    #[error("{0:?} is too large for Decimal128(18, 2)")]
    TooLarge(String),
}

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
    /// leading minus or accounting parentheses for negatives. Empty text is not an amount.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let ascii = ascii_digits(text);
        let mut body = ascii.trim();
        for unit in ["บาท", "฿", "thb", "THB", "baht", "Baht"] {
            body = body.trim_start_matches(unit).trim_end_matches(unit).trim();
        }
        let (negative, body) = match body.strip_prefix('(').and_then(|b| b.strip_suffix(')')) {
            Some(inner) => (true, inner.trim()),
            None => (false, body),
        };
        let body = body.trim_start_matches('฿').trim();
        let cleaned: String = body.chars().filter(|c| *c != ',' && *c != ' ').collect();
        let valid = !cleaned.is_empty()
            && cleaned
                .trim_start_matches(['-', '+'])
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
            && cleaned.matches('.').count() <= 1;
        if !valid {
            return Err(MoneyError::NotANumber(text.to_string()));
        }
        let value =
            Decimal::from_str(&cleaned).map_err(|_| MoneyError::NotANumber(text.to_string()))?;
        let value = if negative { -value } else { value };
        Money::from_decimal(value).map_err(|e| match e {
            MoneyError::TooPrecise(_) => MoneyError::TooPrecise(text.to_string()),
            MoneyError::TooLarge(_) => MoneyError::TooLarge(text.to_string()),
            other => other,
        })
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
            ("฿1,234.50", 123_450),
            ("฿ 1,234.5", 123_450),
            ("1,234.50 บาท", 123_450),
            ("๑,๒๓๔.๕๐ บาท", 123_450),
            ("-20", -2_000),
            ("(20.00)", -2_000),
            ("0", 0),
            ("1 000 000", 100_000_000),
            ("9999999999999999.99", 999_999_999_999_999_999),
        ] {
            assert_eq!(Money::parse(text).unwrap().satang(), satang, "{text}");
        }
        assert!(matches!(
            Money::parse("1.005"),
            Err(MoneyError::TooPrecise(_))
        ));
        assert!(matches!(
            Money::parse("abc"),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(Money::parse(""), Err(MoneyError::NotANumber(_))));
        assert!(matches!(
            Money::parse("1.2.3"),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            Money::parse("10000000000000000"),
            Err(MoneyError::TooLarge(_))
        ));
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
