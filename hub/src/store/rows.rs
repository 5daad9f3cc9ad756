//! The one piece of code that writes many rows: multi-row `INSERT … VALUES` statements, chunked under
//! the back end's parameter limit, with an optional `ON CONFLICT` clause.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};

use super::{Backend, StoreError};

/// A value bound to a statement. The store only ever stores integers and text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SqlValue {
    Int(Option<i64>),
    Text(Option<String>),
}

impl SqlValue {
    pub(crate) fn text(s: impl Into<String>) -> SqlValue {
        SqlValue::Text(Some(s.into()))
    }

    pub(crate) fn opt_text<S: Into<String>>(s: Option<S>) -> SqlValue {
        SqlValue::Text(s.map(Into::into))
    }

    pub(crate) fn int(i: i64) -> SqlValue {
        SqlValue::Int(Some(i))
    }
}

/// Marks a statement assembled in this module's code as safe: every dynamic statement of the store is
/// built from constant table and column names and `$n` placeholders, never from input; values are bound.
pub(crate) fn trusted(sql: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql.to_string())
}

/// Binds `values` in order to `query`.
pub(crate) fn bind_all<'q>(
    mut query: Query<'q, Any, AnyArguments>,
    values: &'q [SqlValue],
) -> Query<'q, Any, AnyArguments> {
    for v in values {
        query = match v {
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Text(t) => query.bind(t.as_deref()),
        };
    }
    query
}

/// `n` placeholders for the parameters numbered from `first`, in parentheses: `($3, $4)` on
/// PostgreSQL, `(?, ?)` on SQLite, whose lookup of numbered parameters is linear in their count and so
/// quadratic over a bulk statement; its anonymous `?` take the next value in order.
pub(crate) fn placeholders(backend: Backend, first: usize, n: usize) -> String {
    let list: Vec<String> = match backend {
        Backend::Sqlite => vec!["?".to_string(); n],
        Backend::Postgres => (first..first + n).map(|i| format!("${i}")).collect(),
    };
    format!("({})", list.join(", "))
}

/// Inserts `rows` (each with one value per column) into `table`; `on_conflict` is appended to every
/// statement (for example `ON CONFLICT (code) DO UPDATE SET …`). Returns the rows written.
pub(crate) async fn insert_rows(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    columns: &[&str],
    rows: &[Vec<SqlValue>],
    on_conflict: &str,
) -> Result<u64, StoreError> {
    let width = columns.len();
    if let Some(bad) = rows.iter().find(|r| r.len() != width) {
        return Err(StoreError::Invalid(format!(
            "row of {} values for {} columns of {table}",
            bad.len(),
            width
        )));
    }
    let per_statement = (backend.max_params() / width).clamp(1, 1000);
    let mut written = 0;
    for chunk in rows.chunks(per_statement) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&placeholders(backend, i * width + 1, width));
        }
        if !on_conflict.is_empty() {
            sql.push(' ');
            sql.push_str(on_conflict);
        }
        let values: Vec<SqlValue> = chunk.iter().flatten().cloned().collect();
        let result = bind_all(sqlx::query(trusted(&sql)), &values)
            .execute(&mut *conn)
            .await?;
        written += result.rows_affected();
    }
    Ok(written)
}

/// `SET a = excluded.a, b = excluded.b` for an upsert of `columns`.
pub(crate) fn set_excluded(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_lists() {
        assert_eq!(placeholders(Backend::Postgres, 1, 3), "($1, $2, $3)");
        assert_eq!(placeholders(Backend::Postgres, 4, 2), "($4, $5)");
        assert_eq!(placeholders(Backend::Sqlite, 4, 2), "(?, ?)");
        assert_eq!(set_excluded(&["a", "b"]), "a = excluded.a, b = excluded.b");
    }
}
