//! Cursor values: their class by column type, how they order and render like the databases, and
//! what is bound for `:cursor`.

use super::*;

/// The broad kind of a column type, for choosing and checking cursor values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Number,
    Temporal,
    Text,
    Other,
}

pub(super) fn class_of(type_name: &str) -> Class {
    let upper = type_name.to_ascii_uppercase();
    let base = upper.split([' ', '(']).next().unwrap_or_default();
    match base {
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "INTEGER" | "INT2" | "INT4"
        | "INT8" | "BOOLEAN" | "BOOL" | "YEAR" | "DECIMAL" | "NUMERIC" | "FLOAT" | "FLOAT4"
        | "FLOAT8" | "DOUBLE" | "REAL" | "MONEY" => Class::Number,
        "DATE" | "DATETIME" | "TIMESTAMP" | "TIMESTAMPTZ" => Class::Temporal,
        "CHAR" | "VARCHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET"
        | "NAME" | "BPCHAR" => Class::Text,
        _ => Class::Other,
    }
}

/// A value to bind to `:cursor`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bind {
    Text(String),
    Int(i64),
    I32(i32),
    I16(i16),
    Float(f64),
    F32(f32),
    Decimal(Decimal),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    Instant(DateTime<Utc>),
}

/// The lowest date-time worth binding: below any real record on every back end.
pub(super) fn earliest() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid date")
}

/// A date-time as a cursor writes it (`2025-11-10 09:30:00`, `…T09:30:00.5`), or a date alone.
pub(super) fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
}

/// A value as text: the cursor (which the same database compares correctly when bound back) and
/// the key columns of a location. `None` for NULL.
pub(super) fn render(value: &RawValue) -> Option<String> {
    Some(match value {
        RawValue::Empty => return None,
        RawValue::Text(t) => t.clone(),
        RawValue::Int(i) => i.to_string(),
        RawValue::Float(f) => f.to_string(),
        RawValue::Decimal(d) => d.to_string(),
        RawValue::Date(d) => d.format("%Y-%m-%d").to_string(),
        RawValue::DateTime(d) if d.and_utc().timestamp_subsec_micros() == 0 => {
            d.format("%Y-%m-%d %H:%M:%S").to_string()
        }
        RawValue::DateTime(d) => d.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        RawValue::Bool(b) => u8::from(*b).to_string(),
    })
}

/// Orders cursor values the way the databases do: numbers, then dates, then text.
pub(super) fn cursor_cmp(a: &RawValue, b: &RawValue) -> Ordering {
    pub(super) fn rank(v: &RawValue) -> u8 {
        match v {
            RawValue::Empty => 0,
            RawValue::Int(_) | RawValue::Float(_) | RawValue::Decimal(_) | RawValue::Bool(_) => 1,
            RawValue::Date(_) | RawValue::DateTime(_) => 2,
            RawValue::Text(_) => 3,
        }
    }
    pub(super) fn number(v: &RawValue) -> Decimal {
        match v {
            RawValue::Int(i) => Decimal::from(*i),
            RawValue::Decimal(d) => *d,
            RawValue::Bool(b) => Decimal::from(u8::from(*b)),
            RawValue::Float(f) => Decimal::from_f64_retain(*f).unwrap_or(if *f > 0.0 {
                Decimal::MAX
            } else {
                Decimal::MIN
            }),
            _ => Decimal::ZERO,
        }
    }
    pub(super) fn moment(v: &RawValue) -> NaiveDateTime {
        match v {
            RawValue::DateTime(d) => *d,
            RawValue::Date(d) => d.and_hms_opt(0, 0, 0).expect("midnight"),
            _ => earliest(),
        }
    }
    match (a, b) {
        (RawValue::Text(x), RawValue::Text(y)) => x.cmp(y),
        (RawValue::Int(x), RawValue::Int(y)) => x.cmp(y),
        _ => match rank(a).cmp(&rank(b)) {
            Ordering::Equal if rank(a) == 1 => number(a).cmp(&number(b)),
            Ordering::Equal if rank(a) == 2 => moment(a).cmp(&moment(b)),
            other => other,
        },
    }
}
