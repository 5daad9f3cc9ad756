//! Values as fund clerks and bookkeeping programs write them: counts, baht amounts, fund ids, months
//! and timestamps. Each parser takes a [`RawValue`] and answers the value, `None` for "not reported",
//! or why it cannot be read.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use welfare_model::thai::{BUDDHIST_ERA_OFFSET, ascii_digits};
use welfare_model::{FundId, Money, Period};

use super::{RawValue, bangkok};

fn text_of(value: &RawValue) -> Option<String> {
    match value {
        RawValue::Text(t) => Some(ascii_digits(t.trim())),
        _ => None,
    }
}

/// A whole number: `1,234`, `๑๒๓`, `1 234`, a spreadsheet float with no fraction. A lone dash (the
/// accounting way of writing zero) is 0; an empty cell is "not reported".
pub fn parse_count(value: &RawValue) -> Result<Option<i64>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    match value {
        RawValue::Int(i) => Ok(Some(*i)),
        RawValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(*f as i64)),
        RawValue::Float(f) => Err(format!("{f} is not a whole number")),
        RawValue::Decimal(d) if d.fract().is_zero() => {
            i64::try_from(*d).map(Some).map_err(|e| e.to_string())
        }
        RawValue::Text(_) => {
            let t = text_of(value).unwrap_or_default();
            if is_dash(&t) {
                return Ok(Some(0));
            }
            let (negative, body) = strip_parentheses(&t);
            let cleaned: String = body
                .chars()
                .filter(|c| *c != ',' && !c.is_whitespace())
                .collect();
            let cleaned = cleaned
                .trim_end_matches("คน")
                .trim_end_matches("ราย")
                .trim_end_matches(".00");
            cleaned
                .parse::<i64>()
                .map(|n| Some(if negative { -n } else { n }))
                .map_err(|_| "not a whole number".to_string())
        }
        other => Err(format!("{other:?} is not a number")),
    }
}

fn is_dash(t: &str) -> bool {
    matches!(t, "-" | "–" | "—")
}

fn strip_parentheses(t: &str) -> (bool, &str) {
    match t.strip_prefix('(').and_then(|b| b.strip_suffix(')')) {
        Some(inner) => (true, inner.trim()),
        None => (false, t),
    }
}

/// An amount of baht, exact: text through [`Money::parse`]; a spreadsheet float only when it is a
/// whole number of satang (within float noise); a dash is zero.
pub fn parse_money(value: &RawValue) -> Result<Option<Money>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    match value {
        RawValue::Int(i) => Ok(Some(Money::from_baht(*i))),
        RawValue::Decimal(d) => Money::from_decimal(*d).map(Some).map_err(|e| e.to_string()),
        RawValue::Float(f) => {
            let satang = (f * 100.0).round();
            if (f * 100.0 - satang).abs() > 1e-6 * f.abs().max(1.0) {
                return Err(format!("{f} has more than two decimal places"));
            }
            let d = Decimal::from_f64(satang).ok_or_else(|| format!("{f} is out of range"))?
                / Decimal::from(100);
            Money::from_decimal(d).map(Some).map_err(|e| e.to_string())
        }
        RawValue::Text(t) => {
            if is_dash(t.trim()) {
                return Ok(Some(Money::ZERO));
            }
            Money::parse(t).map(Some).map_err(|e| e.to_string())
        }
        other => Err(format!("{other:?} is not an amount")),
    }
}

pub(super) fn parse_fund_id(value: &RawValue) -> Result<Option<FundId>, String> {
    let text = match value {
        RawValue::Empty => return Ok(None),
        RawValue::Text(t) if t.trim().is_empty() => return Ok(None),
        // Thai documents write codes in Thai digits too (๕๐๐๑๐๑).
        RawValue::Text(t) => ascii_digits(t.trim()),
        RawValue::Int(i) => i.to_string(),
        RawValue::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        other => return Err(format!("{other:?} is not a fund id")),
    };
    FundId::parse(&text).map(Some).map_err(|e| e.to_string())
}

pub(super) fn parse_period(value: &RawValue) -> Result<Option<Period>, String> {
    match value {
        RawValue::Empty => Ok(None),
        RawValue::Text(t) if t.trim().is_empty() => Ok(None),
        RawValue::Text(t) => Period::parse(t).map(Some).map_err(|e| e.to_string()),
        RawValue::Int(i) => Period::parse(&i.to_string())
            .map(Some)
            .map_err(|e| e.to_string()),
        // A spreadsheet holds a typed 202510 (or 256810) as a float.
        RawValue::Float(f) if f.fract() == 0.0 && f.abs() < 1e9 => {
            Period::parse(&format!("{}", *f as i64))
                .map(Some)
                .map_err(|e| e.to_string())
        }
        RawValue::Date(d) => Ok(Some(date_period(*d)?)),
        RawValue::DateTime(d) => Ok(Some(date_period(d.date())?)),
        other => Err(format!("{other:?} is not a month")),
    }
}

/// A date typed into a spreadsheet by a Thai clerk may carry a Buddhist-era year (2568-10-01).
fn date_period(d: NaiveDate) -> Result<Period, String> {
    use chrono::Datelike;
    let year = if d.year() >= 2400 {
        d.year() - BUDDHIST_ERA_OFFSET
    } else {
        d.year()
    };
    Period::new(year, d.month()).map_err(|e| e.to_string())
}

pub(super) fn parse_month(value: &RawValue) -> Result<Option<u32>, String> {
    match parse_count(value) {
        Ok(Some(m)) if (1..=12).contains(&m) => Ok(Some(m as u32)),
        Ok(Some(m)) => Err(format!("month {m} is not 1–12")),
        Ok(None) => Ok(None),
        // A month name: read it with a dummy year.
        Err(_) => match value {
            RawValue::Text(t) => Period::parse(&format!("{t} 2000"))
                .map(|p| Some(p.month()))
                .map_err(|_| "not a month".into()),
            _ => Err("not a month".into()),
        },
    }
}

/// A time of reporting: RFC 3339, or a date / date-time without zone (Bangkok time), with CE or BE
/// years (`2025-11-10`, `10/11/2568`, `2568-11-10 09:30`).
pub fn parse_timestamp(value: &RawValue) -> Result<Option<DateTime<Utc>>, String> {
    let local = |naive: NaiveDateTime| {
        bangkok()
            .from_local_datetime(&naive)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| "ambiguous local time".to_string())
    };
    let be_fix = |naive: NaiveDateTime| {
        use chrono::Datelike;
        if naive.year() >= 2400 {
            naive
                .with_year(naive.year() - BUDDHIST_ERA_OFFSET)
                .ok_or_else(|| "invalid date".to_string())
        } else {
            Ok(naive)
        }
    };
    match value {
        RawValue::Empty => Ok(None),
        RawValue::Date(d) => local(be_fix(d.and_hms_opt(0, 0, 0).expect("midnight"))?).map(Some),
        RawValue::DateTime(d) => local(be_fix(*d)?).map(Some),
        RawValue::Text(t) => {
            let t = ascii_digits(t.trim());
            if t.is_empty() {
                return Ok(None);
            }
            if let Ok(d) = DateTime::parse_from_rfc3339(&t) {
                return Ok(Some(d.with_timezone(&Utc)));
            }
            for format in [
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M:%S",
                "%d/%m/%Y %H:%M",
                "%d/%m/%Y %H:%M:%S",
            ] {
                if let Ok(n) = NaiveDateTime::parse_from_str(&t, format) {
                    return local(be_fix(n)?).map(Some);
                }
            }
            for format in ["%Y-%m-%d", "%d/%m/%Y"] {
                if let Ok(d) = NaiveDate::parse_from_str(&t, format) {
                    return local(be_fix(d.and_hms_opt(0, 0, 0).expect("midnight"))?).map(Some);
                }
            }
            Err("not a date or time".into())
        }
        other => Err(format!("{other:?} is not a date")),
    }
}
