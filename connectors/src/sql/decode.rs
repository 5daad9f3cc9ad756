//! Result rows read into cells: the per-back-end value decoders and the helpers they share.

use super::*;

/// Reads rows from a result stream, converting each value, up to `cap` rows.
pub(super) async fn collect_rows<R: Row>(
    mut stream: BoxStream<'_, Result<R, sqlx::Error>>,
    convert: fn(&R, usize) -> Cell,
    cap: Option<usize>,
) -> Result<Vec<Vec<Cell>>, CollectError> {
    let mut rows = Vec::new();
    while let Some(row) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        let row = row.map_err(CollectError::Database)?;
        if cap.is_some_and(|cap| rows.len() >= cap) {
            return Err(CollectError::TooMany);
        }
        rows.push((0..row.len()).map(|i| convert(&row, i)).collect());
    }
    Ok(rows)
}

#[derive(Debug)]
pub(super) enum CollectError {
    Database(sqlx::Error),
    TooMany,
}

pub(super) fn columns_of<C: Column>(columns: &[C]) -> Vec<ColumnInfo> {
    columns
        .iter()
        .map(|c| ColumnInfo {
            name: c.name().to_string(),
            type_name: c.type_info().name().to_string(),
        })
        .collect()
}

/// The type of value `i` of `row` as its back end names it, or `None` for SQL NULL (the step every
/// back end's decoder starts with).
pub(super) fn value_type<R: Row>(row: &R, i: usize) -> Result<Option<String>, String>
where
    usize: sqlx::ColumnIndex<R>,
{
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(None);
    }
    Ok(Some(raw.type_info().name().to_string()))
}

/// A decode that tells "not readable" from a MySQL zero date (`0000-00-00`, an empty date to a PHP
/// application).
pub(super) fn decoded<T>(result: Result<T, sqlx::Error>, wrap: fn(T) -> RawValue) -> Cell {
    match result {
        Ok(v) => Ok(wrap(v)),
        Err(sqlx::Error::ColumnDecode { source, .. }) if source.is::<UnexpectedNullError>() => {
            Ok(RawValue::Empty)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A float read as single precision, by its shortest decimal form (0.1f32 is 0.1, not 0.10000000149).
pub(super) fn widen(f: f32) -> RawValue {
    RawValue::Float(f.to_string().parse().unwrap_or(f64::from(f)))
}

pub(super) fn text_of_bytes(bytes: Vec<u8>) -> Cell {
    String::from_utf8(bytes)
        .map(RawValue::Text)
        .map_err(|_| "binary data that is not UTF-8 text".to_string())
}

pub(super) fn unreadable(type_name: &str) -> Cell {
    Err(format!(
        "values of type {type_name} are not read; cast the column in the query (e.g. CAST(x AS CHAR))"
    ))
}

/// The per-back-end conversion: a MySQL/MariaDB value by its column type.
pub(super) fn mysql_value(row: &MySqlRow, i: usize) -> Cell {
    let Some(type_name) = value_type(row, i)? else {
        return Ok(RawValue::Empty);
    };
    match type_name.as_str() {
        "BOOLEAN" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
            decoded(row.try_get_unchecked::<i64, _>(i), RawValue::Int)
        }
        t if t.ends_with("UNSIGNED") => match row.try_get_unchecked::<u64, _>(i) {
            Ok(v) => {
                Ok(i64::try_from(v).map_or(RawValue::Decimal(Decimal::from(v)), RawValue::Int))
            }
            Err(e) => Err(e.to_string()),
        },
        "DECIMAL" => decoded(row.try_get_unchecked::<Decimal, _>(i), RawValue::Decimal),
        "FLOAT" => decoded(row.try_get_unchecked::<f32, _>(i), widen),
        "DOUBLE" => decoded(row.try_get_unchecked::<f64, _>(i), RawValue::Float),
        "DATE" => decoded(row.try_get_unchecked::<NaiveDate, _>(i), RawValue::Date),
        "DATETIME" | "TIMESTAMP" => decoded(
            row.try_get_unchecked::<NaiveDateTime, _>(i),
            RawValue::DateTime,
        ),
        "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET"
        | "JSON" => decoded(row.try_get_unchecked::<String, _>(i), RawValue::Text),
        "TIME" => decoded(row.try_get_unchecked::<chrono::NaiveTime, _>(i), |t| {
            RawValue::Text(t.to_string())
        }),
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => row
            .try_get_unchecked::<Vec<u8>, _>(i)
            .map_err(|e| e.to_string())
            .and_then(text_of_bytes),
        other => unreadable(other),
    }
}

/// The per-back-end conversion: a PostgreSQL value by its type.
pub(super) fn pg_value(row: &PgRow, i: usize) -> Cell {
    let Some(type_name) = value_type(row, i)? else {
        return Ok(RawValue::Empty);
    };
    match type_name.as_str() {
        "BOOL" => decoded(row.try_get_unchecked::<bool, _>(i), RawValue::Bool),
        "INT2" | "INT4" | "INT8" => decoded(row.try_get_unchecked::<i64, _>(i), RawValue::Int),
        "NUMERIC" => decoded(row.try_get_unchecked::<Decimal, _>(i), RawValue::Decimal),
        "MONEY" => decoded(
            row.try_get_unchecked::<sqlx::postgres::types::PgMoney, _>(i),
            |m| RawValue::Decimal(m.to_decimal(2)),
        ),
        "FLOAT4" => decoded(row.try_get_unchecked::<f32, _>(i), widen),
        "FLOAT8" => decoded(row.try_get_unchecked::<f64, _>(i), RawValue::Float),
        "TEXT" | "VARCHAR" | "CHAR" | "BPCHAR" | "NAME" | "UNKNOWN" | "CITEXT" => {
            decoded(row.try_get_unchecked::<String, _>(i), RawValue::Text)
        }
        "DATE" => decoded(row.try_get_unchecked::<NaiveDate, _>(i), RawValue::Date),
        "TIMESTAMP" => decoded(
            row.try_get_unchecked::<NaiveDateTime, _>(i),
            RawValue::DateTime,
        ),
        // An instant, as Bangkok wall-clock time like every naive time in the hub.
        "TIMESTAMPTZ" => decoded(row.try_get_unchecked::<DateTime<Utc>, _>(i), |t| {
            RawValue::DateTime(t.with_timezone(&bangkok()).naive_local())
        }),
        other => unreadable(other),
    }
}

/// The per-back-end conversion: a SQLite value by what it holds (SQLite types values, not
/// columns; a DECIMAL column holds REAL or INTEGER, dates are text).
pub(super) fn sqlite_value(row: &SqliteRow, i: usize) -> Cell {
    let Some(type_name) = value_type(row, i)? else {
        return Ok(RawValue::Empty);
    };
    match type_name.as_str() {
        "INTEGER" | "BOOLEAN" => decoded(row.try_get_unchecked::<i64, _>(i), RawValue::Int),
        "REAL" => decoded(row.try_get_unchecked::<f64, _>(i), RawValue::Float),
        "BLOB" => row
            .try_get_unchecked::<Vec<u8>, _>(i)
            .map_err(|e| e.to_string())
            .and_then(text_of_bytes),
        _ => decoded(row.try_get_unchecked::<String, _>(i), RawValue::Text),
    }
}
