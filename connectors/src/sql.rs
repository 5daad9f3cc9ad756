//! `sql`: a fund system's own database — MySQL/MariaDB, PostgreSQL or SQLite — read with one
//! configured read-only query.
//!
//! ```toml
//! [[connectors]]
//! id = "songkhla-bookkeeping"
//! kind = "sql"
//! url = "mariadb://welfare_ro@10.0.0.5:3306/fundapp"   # never a password here
//! password_env = "SONGKHLA_DB_PASSWORD"                 # the variable that holds it
//! query = """
//!   SELECT org_code, rpt_year, rpt_month, mem_total, balance_end, updated_at
//!   FROM tbl_monthly_report WHERE updated_at > :cursor ORDER BY updated_at"""
//! cursor_column = "updated_at"
//! fields = { year = "rpt_year", month = "rpt_month", members_total = "mem_total" }
//! ```
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `url` | — | `mysql://` or `mariadb://`, `postgres://`, `sqlite://PATH`; a URL with a password is refused |
//! | `password_env` | none | environment variable holding the password, read when the connector is built |
//! | `query` | — | one `SELECT` (or `WITH … SELECT`); `:cursor` marks where the cursor is bound |
//! | `cursor_column` | none | result column whose largest value becomes the next cursor |
//! | `initial_cursor` | none | value bound to `:cursor` before the first cursor exists |
//! | `fund_id` | none | the fund of a one-fund database, used when rows carry no fund id |
//! | `fields` | `{}` | canonical field → result column (otherwise recognised from the column's name) |
//! | `ignore` | `[]` | result columns that feed nothing on purpose (others are reported as unrecognised) |
//! | `timeout_secs` | 60 | connecting, querying and reading all rows must finish within this |
//! | `max_rows` | none | a pull returning more rows fails instead of filling memory |
//!
//! **Read only.** The query must be a single `SELECT`/`WITH … SELECT` (no `INTO`, no locking reads, no
//! data-modifying sub-statements), and it runs inside a read-only transaction (MySQL/MariaDB
//! `START TRANSACTION READ ONLY`; PostgreSQL the same, with `default_transaction_read_only` and a
//! `statement_timeout`) or, on SQLite, on a file opened read-only. Still give the connector a database
//! user that can only read.
//!
//! **Cursor.** With `cursor_column`, the query filters with `:cursor` (`WHERE updated_at > :cursor`) and
//! a pull returns the largest value of that column as the next cursor, written the way the same
//! database compares it when bound back (`2025-11-10 09:30:00`, `1234`); no rows keeps the cursor. The
//! same query text works on all three back ends: MySQL/MariaDB compares the bound text with the
//! column's type, PostgreSQL's inferred parameter type decides how the text is bound (timestamp,
//! date, integer, numeric or text), SQLite binds integers as integers and anything else as text.
//! Before the first cursor, `initial_cursor` is bound when set (`"2025-01-01 00:00:00"`, `"0"`);
//! when it is not, the connector binds a value below every value of the cursor column's type (a very
//! early date, the smallest integer, empty text; on SQLite negative infinity, which sorts below
//! numbers and text alike), so the first pull reads everything. Without `cursor_column` the cursor is
//! a digest of the whole result: an unchanged result is an empty pull.
//!
//! **Values.** Each column is read by its database type (integers, exact `DECIMAL`/`NUMERIC`, floats,
//! text, dates, date-times; `TIMESTAMP`/`TIMESTAMPTZ` as Bangkok wall-clock time; a MySQL zero date
//! as empty), then everything else — names, Thai digits, Buddhist-era years — goes through
//! [`crate::mapping`] and [`crate::pipeline`]. A row that cannot be read is rejected, never the
//! pull. A result without a fund id column (unless `fund_id` is configured), a period (or year and
//! month) or `members_total`, a column name meaning two fields, or two columns for one field is a
//! configuration error of the query; columns feeding nothing are reported as unrecognised. Repeats
//! of one fund and month are passed on: the hub judges them.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use futures_core::stream::BoxStream;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::error::UnexpectedNullError;
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlRow};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{
    AssertSqlSafe, Column, ConnectOptions, Connection, Either, Executor, MySql, MySqlConnection,
    PgConnection, Postgres, Row, SqlSafeStr, SqlStr, Sqlite, SqliteConnection, Statement, TypeInfo,
    ValueRef,
};
use welfare_model::FundId;

use crate::mapping::{
    FieldMapping, HeaderDefaults, RawRecord, RawValue, RecordMapper, Target, bangkok,
};
use crate::pipeline::{ContentDigest, PullBuilder};
use crate::source::{
    Connector, ConnectorError, Cursor, Pull, Rejected, Secret, UnrecognisedColumn,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// The database URL (`mysql://`/`mariadb://`, `postgres://`, `sqlite://`) without a password.
    pub url: String,
    /// The environment variable holding the database password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// One read-only `SELECT`; `:cursor` is replaced by the bound cursor.
    pub query: String,
    /// The result column whose largest value becomes the next cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_column: Option<String>,
    /// Bound to `:cursor` before there is a cursor; unset reads from the lowest value of the column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_cursor: Option<String>,
    /// The fund of a one-fund database, for rows without a fund id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_id: Option<String>,
    /// Source field names for canonical fields (`members_total = "mem_total"`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Result columns that feed nothing on purpose (`ignore = ["org_name"]`): not reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// Connecting, querying and reading must finish within this many seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// A pull that returns more rows than this fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<usize>,
}

fn default_timeout_secs() -> u64 {
    60
}

impl SqlConfig {
    /// A configuration with the defaults for everything but the URL and the query.
    pub fn new(url: impl Into<String>, query: impl Into<String>) -> Self {
        SqlConfig {
            url: url.into(),
            password_env: None,
            query: query.into(),
            cursor_column: None,
            initial_cursor: None,
            fund_id: None,
            fields: BTreeMap::new(),
            ignore: Vec::new(),
            timeout_secs: default_timeout_secs(),
            max_rows: None,
        }
    }

    /// Checks the configuration and reads the password from the environment; connects nowhere.
    pub fn build(&self, source: String) -> Result<SqlConnector, ConnectorError> {
        let password = self
            .password_env
            .as_deref()
            .map(Secret::from_env)
            .transpose()?;
        SqlConnector::new(self.clone(), source, password)
    }
}

/// The database family a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    MySql,
    Postgres,
    Sqlite,
}

impl Dialect {
    /// The dialect of `url` by its scheme; the error quotes only the scheme, never the URL.
    pub fn of_url(url: &str) -> Result<Dialect, ConnectorError> {
        let scheme = url
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        match scheme.as_str() {
            "mysql" | "mariadb" => Ok(Dialect::MySql),
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            "sqlite" => Ok(Dialect::Sqlite),
            _ => Err(ConnectorError::Config(format!(
                "url: scheme {scheme:?} is not mysql://, mariadb://, postgres:// or sqlite://"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::MySql => "MySQL/MariaDB",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Sqlite => "SQLite",
        }
    }

    /// The bind placeholder `:cursor` becomes.
    fn placeholder(self) -> &'static str {
        match self {
            Dialect::MySql | Dialect::Sqlite => "?",
            // One numbered parameter serves every use of :cursor.
            Dialect::Postgres => "$1",
        }
    }
}

/// Connect options for a URL (no password inside) and an optional password. MySQL URLs may say
/// `mariadb://`; the driver wants `mysql://`. Public so that the simulator's bookkeeping database
/// connects the way the connector does.
pub fn mysql_options(
    url: &str,
    password: Option<&Secret>,
) -> Result<MySqlConnectOptions, sqlx::Error> {
    let url = match url.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => format!("mysql:{rest}"),
        _ => url.to_string(),
    };
    let options = MySqlConnectOptions::from_str(&url)?
        // Naive times are Bangkok wall-clock time everywhere in the hub, TIMESTAMP columns included.
        .timezone(Some("+07:00".to_string()))
        // Keep `||` meaning what it means in the fund's own application.
        .pipes_as_concat(false);
    Ok(match password {
        Some(p) => options.password(p.expose()),
        None => options,
    })
}

/// PostgreSQL connect options for a URL (no password inside) and an optional password. Public so that
/// the simulator's bookkeeping database connects the way the connector does.
pub fn pg_options(url: &str, password: Option<&Secret>) -> Result<PgConnectOptions, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("welfare-hub");
    Ok(match password {
        Some(p) => options.password(p.expose()),
        None => options,
    })
}

/// Refuses a URL with a password in it (user info or a `password` parameter); the message never
/// repeats the URL.
fn refuse_url_password(url: &str, dialect: Dialect) -> Result<(), ConnectorError> {
    if dialect == Dialect::Sqlite {
        return Ok(());
    }
    let parsed = url::Url::parse(url)
        .map_err(|e| ConnectorError::Config(format!("url is not a valid URL: {e}")))?;
    let in_query = parsed
        .query_pairs()
        .any(|(k, _)| k.to_ascii_lowercase().contains("password"));
    if parsed.password().is_some() || in_query {
        return Err(ConnectorError::Config(
            "url carries a password: remove it and name an environment variable that holds it \
             with `password_env`"
                .into(),
        ));
    }
    Ok(())
}

/// The configured query after the read-only guard, with `:cursor` replaced by the placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GuardedQuery {
    sql: String,
    cursor_uses: usize,
}

/// What the guard sees of a query: words (with their parenthesis depth) and structure, never the
/// inside of literals or comments.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String, i32),
    Open,
    Close,
    /// A `;` and where it starts in the rewritten text.
    Semicolon(usize),
    Other,
}

/// The index after the closing `quote` of the literal or quoted name opening at `start`; a doubled
/// quote stays inside, as does a backslash-escaped one where the dialect has backslash escapes.
fn skip_quoted(
    chars: &[char],
    start: usize,
    quote: char,
    backslash: bool,
) -> Result<usize, String> {
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if backslash && c == '\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return Ok(i + 1);
        }
        i += 1;
    }
    Err(format!("unterminated {quote}…{quote}"))
}

/// Checks that `query` is one read-only SELECT and rewrites `:cursor` for the dialect. This is the
/// first line; the read-only transaction is the one that holds.
fn guard_query(query: &str, dialect: Dialect) -> Result<GuardedQuery, String> {
    let chars: Vec<char> = query.chars().collect();
    let n = chars.len();
    let is_ident =
        |c: char| c.is_alphanumeric() || c == '_' || (c == '$' && dialect != Dialect::Sqlite);
    let mut out = String::with_capacity(query.len() + 8);
    let mut tokens = Vec::new();
    let mut cursor_uses = 0;
    let mut depth: i32 = 0;
    let mut i = 0;
    while i < n {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let mut end = i + 1;
        match c {
            '\'' => {
                let backslash = match dialect {
                    Dialect::MySql => true,
                    // PostgreSQL escapes only in E'…' strings.
                    Dialect::Postgres => {
                        matches!(prev, Some('e' | 'E'))
                            && !i.checked_sub(2).is_some_and(|p| is_ident(chars[p]))
                    }
                    Dialect::Sqlite => false,
                };
                end = skip_quoted(&chars, i, '\'', backslash)?;
                tokens.push(Token::Other);
            }
            // A string in MySQL, a quoted name elsewhere: either way not SQL to look into.
            '"' => {
                end = skip_quoted(&chars, i, '"', dialect == Dialect::MySql)?;
                tokens.push(Token::Other);
            }
            '`' if dialect != Dialect::Postgres => {
                end = skip_quoted(&chars, i, '`', false)?;
                tokens.push(Token::Other);
            }
            '[' if dialect == Dialect::Sqlite => {
                end = chars[i..]
                    .iter()
                    .position(|&c| c == ']')
                    .map(|p| i + p + 1)
                    .ok_or("unterminated […]")?;
                tokens.push(Token::Other);
            }
            // MySQL reads `--` as a comment only before a space.
            '-' if next == Some('-')
                && (dialect != Dialect::MySql
                    || chars
                        .get(i + 2)
                        .is_none_or(|c| c.is_whitespace() || c.is_control())) =>
            {
                end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(n, |p| i + p);
            }
            '#' if dialect == Dialect::MySql => {
                end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(n, |p| i + p);
            }
            '/' if next == Some('*') => {
                let after = chars.get(i + 2).copied();
                let executable =
                    after == Some('!') || (after == Some('M') && chars.get(i + 3) == Some(&'!'));
                if dialect == Dialect::MySql && executable {
                    return Err("MySQL executable comments (/*! … */) are not allowed".into());
                }
                // PostgreSQL nests block comments.
                let mut level = 0;
                let mut j = i;
                loop {
                    if j + 1 >= n {
                        return Err("unterminated /* comment".into());
                    }
                    if chars[j] == '/' && chars[j + 1] == '*' {
                        level += if dialect == Dialect::Postgres || level == 0 {
                            1
                        } else {
                            0
                        };
                        j += 2;
                    } else if chars[j] == '*' && chars[j + 1] == '/' {
                        level -= 1;
                        j += 2;
                        if level == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                end = j;
            }
            '$' if dialect == Dialect::Postgres && next.is_some_and(|c| c.is_ascii_digit()) => {
                return Err("numbered parameters ($1) are not allowed: write :cursor".into());
            }
            '$' if dialect == Dialect::Postgres && !prev.is_some_and(is_ident) => {
                // A dollar-quoted string: $$…$$ or $tag$…$tag$.
                let tag_end = chars[i + 1..]
                    .iter()
                    .position(|&c| !(c.is_alphanumeric() || c == '_'))
                    .map(|p| i + 1 + p);
                match tag_end {
                    Some(t) if chars[t] == '$' => {
                        let tag: String = chars[i..=t].iter().collect();
                        let body: String = chars[t + 1..].iter().collect();
                        let close = body.find(&tag).ok_or("unterminated $$ string")?;
                        end = t + 1 + body[..close].chars().count() + tag.chars().count();
                    }
                    _ => {}
                }
                tokens.push(Token::Other);
            }
            '?' if dialect != Dialect::Postgres => {
                return Err("`?` parameters are not allowed: write :cursor".into());
            }
            ':' if prev != Some(':')
                && chars[i + 1..].starts_with(&['c', 'u', 'r', 's', 'o', 'r'])
                && !chars.get(i + 7).copied().is_some_and(is_ident) =>
            {
                out.push_str(dialect.placeholder());
                cursor_uses += 1;
                tokens.push(Token::Other);
                i += 7;
                continue;
            }
            ':' | '@' | '$'
                if dialect == Dialect::Sqlite
                    && next.is_some_and(|c| c.is_alphabetic() || c == '_') =>
            {
                return Err(format!(
                    "named parameters ({c}name) are not allowed: write :cursor"
                ));
            }
            '(' => {
                depth += 1;
                tokens.push(Token::Open);
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced parentheses".into());
                }
                tokens.push(Token::Close);
            }
            ';' => tokens.push(Token::Semicolon(out.len())),
            c if c.is_alphabetic() || c == '_' => {
                end = chars[i..]
                    .iter()
                    .position(|&c| !is_ident(c))
                    .map_or(n, |p| i + p);
                let word: String = chars[i..end].iter().collect();
                tokens.push(Token::Word(word.to_lowercase(), depth));
            }
            c if c.is_ascii_digit() => {
                end = chars[i..]
                    .iter()
                    .position(|&c| !(c.is_alphanumeric() || c == '.'))
                    .map_or(n, |p| i + p);
                tokens.push(Token::Other);
            }
            c if c.is_whitespace() => {}
            _ => tokens.push(Token::Other),
        }
        out.extend(&chars[i..end]);
        i = end;
    }
    if depth != 0 {
        return Err("unbalanced parentheses".into());
    }

    // One statement: a `;` may only end it.
    if let Some(first) = tokens.iter().position(|t| matches!(t, Token::Semicolon(_))) {
        if tokens[first..]
            .iter()
            .any(|t| !matches!(t, Token::Semicolon(_)))
        {
            return Err("only one statement is allowed (found `;` followed by more)".into());
        }
        if let Token::Semicolon(at) = tokens[first] {
            out.truncate(at);
        }
        tokens.truncate(first);
    }

    let upper = |w: &str| w.to_uppercase();
    let (lead, lead_depth) = match tokens.iter().find(|t| **t != Token::Open) {
        Some(Token::Word(w, d)) => (w.clone(), *d),
        Some(_) => return Err("the query must start with SELECT or WITH".into()),
        None => return Err("the query is empty".into()),
    };
    if lead != "select" && lead != "with" {
        return Err(format!(
            "the query must be one read-only SELECT (or WITH … SELECT) statement; it starts with {}",
            upper(&lead)
        ));
    }
    const VERBS: &[&str] = &[
        "select", "insert", "update", "delete", "merge", "replace", "values", "table",
    ];
    if lead == "with" {
        let verb = tokens
            .iter()
            .skip_while(|t| **t == Token::Open)
            .skip(1)
            .find_map(|t| match t {
                Token::Word(w, d) if *d == lead_depth && VERBS.contains(&w.as_str()) => Some(w),
                _ => None,
            });
        match verb {
            Some(v) if v == "select" => {}
            Some(v) => {
                return Err(format!(
                    "the statement after WITH is {}, not SELECT",
                    upper(v)
                ));
            }
            None => return Err("WITH without a SELECT".into()),
        }
    }
    for (k, t) in tokens.iter().enumerate() {
        let Token::Word(w, _) = t else { continue };
        let next_word = match tokens.get(k + 1) {
            Some(Token::Word(n, _)) => n.as_str(),
            _ => "",
        };
        if w == "into" {
            return Err("SELECT … INTO writes (a file, a variable or a table): not allowed".into());
        }
        if (w == "for" && matches!(next_word, "update" | "share" | "no" | "key"))
            || (w == "lock" && next_word == "in")
        {
            return Err(
                "locking reads (FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE) are not allowed".into(),
            );
        }
        // `(DELETE …` is a data-modifying sub-statement; `(INSERT(…)` is MySQL's string function.
        let opened = k > 0 && tokens[k - 1] == Token::Open;
        let called = tokens.get(k + 1) == Some(&Token::Open);
        if opened && !called && matches!(w.as_str(), "insert" | "update" | "delete" | "merge") {
            return Err(format!(
                "a data-modifying {} inside the query is not allowed",
                upper(w)
            ));
        }
    }
    Ok(GuardedQuery {
        sql: out.trim_end().to_string(),
        cursor_uses,
    })
}

/// Reads a fund system's database with the configured query.
#[derive(Debug)]
pub struct SqlConnector {
    config: SqlConfig,
    source: String,
    dialect: Dialect,
    /// Printed as `Secret(***)`.
    password: Option<Secret>,
    query: GuardedQuery,
    mapping: FieldMapping,
    mapper: RecordMapper,
}

/// How a query is run: only prepared (checked), or run with the value bound to `:cursor` (`None`
/// when there is no cursor yet and no `initial_cursor`).
#[derive(Debug, Clone, Copy)]
enum Mode<'a> {
    Check,
    Pull(Option<&'a str>),
}

/// A result column: its name and its database type's name.
#[derive(Debug, Clone)]
struct ColumnInfo {
    name: String,
    type_name: String,
}

/// One value as read, or why it could not be read.
type Cell = Result<RawValue, String>;

/// What a query returned.
#[derive(Debug, Default)]
struct Table {
    columns: Vec<ColumnInfo>,
    rows: Vec<Vec<Cell>>,
}

/// The broad kind of a column type, for choosing and checking cursor values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Number,
    Temporal,
    Text,
    Other,
}

fn class_of(type_name: &str) -> Class {
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
enum Bind {
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
fn earliest() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid date")
}

/// A date-time as a cursor writes it (`2025-11-10 09:30:00`, `…T09:30:00.5`), or a date alone.
fn parse_naive(text: &str) -> Option<NaiveDateTime> {
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
fn render(value: &RawValue) -> Option<String> {
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
fn cursor_cmp(a: &RawValue, b: &RawValue) -> Ordering {
    fn rank(v: &RawValue) -> u8 {
        match v {
            RawValue::Empty => 0,
            RawValue::Int(_) | RawValue::Float(_) | RawValue::Decimal(_) | RawValue::Bool(_) => 1,
            RawValue::Date(_) | RawValue::DateTime(_) => 2,
            RawValue::Text(_) => 3,
        }
    }
    fn number(v: &RawValue) -> Decimal {
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
    fn moment(v: &RawValue) -> NaiveDateTime {
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

/// Reads rows from a result stream, converting each value, up to `cap` rows.
async fn collect_rows<R: Row>(
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
enum CollectError {
    Database(sqlx::Error),
    TooMany,
}

fn columns_of<C: Column>(columns: &[C]) -> Vec<ColumnInfo> {
    columns
        .iter()
        .map(|c| ColumnInfo {
            name: c.name().to_string(),
            type_name: c.type_info().name().to_string(),
        })
        .collect()
}

/// A decode that tells "not readable" from a MySQL zero date (`0000-00-00`, an empty date to a PHP
/// application).
fn decoded<T>(result: Result<T, sqlx::Error>, wrap: fn(T) -> RawValue) -> Cell {
    match result {
        Ok(v) => Ok(wrap(v)),
        Err(sqlx::Error::ColumnDecode { source, .. }) if source.is::<UnexpectedNullError>() => {
            Ok(RawValue::Empty)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A float read as single precision, by its shortest decimal form (0.1f32 is 0.1, not 0.10000000149).
fn widen(f: f32) -> RawValue {
    RawValue::Float(f.to_string().parse().unwrap_or(f64::from(f)))
}

fn text_of_bytes(bytes: Vec<u8>) -> Cell {
    String::from_utf8(bytes)
        .map(RawValue::Text)
        .map_err(|_| "binary data that is not UTF-8 text".to_string())
}

fn unreadable(type_name: &str) -> Cell {
    Err(format!(
        "values of type {type_name} are not read; cast the column in the query (e.g. CAST(x AS CHAR))"
    ))
}

/// The per-back-end conversion: a MySQL/MariaDB value by its column type.
fn mysql_value(row: &MySqlRow, i: usize) -> Cell {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(RawValue::Empty);
    }
    let type_name = raw.type_info().name().to_string();
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
fn pg_value(row: &PgRow, i: usize) -> Cell {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(RawValue::Empty);
    }
    let type_name = raw.type_info().name().to_string();
    let e = |e: sqlx::Error| e.to_string();
    match type_name.as_str() {
        "BOOL" => row
            .try_get_unchecked::<bool, _>(i)
            .map(RawValue::Bool)
            .map_err(e),
        "INT2" | "INT4" | "INT8" => row
            .try_get_unchecked::<i64, _>(i)
            .map(RawValue::Int)
            .map_err(e),
        "NUMERIC" => row
            .try_get_unchecked::<Decimal, _>(i)
            .map(RawValue::Decimal)
            .map_err(e),
        "MONEY" => row
            .try_get_unchecked::<sqlx::postgres::types::PgMoney, _>(i)
            .map(|m| RawValue::Decimal(m.to_decimal(2)))
            .map_err(e),
        "FLOAT4" => row.try_get_unchecked::<f32, _>(i).map(widen).map_err(e),
        "FLOAT8" => row
            .try_get_unchecked::<f64, _>(i)
            .map(RawValue::Float)
            .map_err(e),
        "TEXT" | "VARCHAR" | "CHAR" | "BPCHAR" | "NAME" | "UNKNOWN" | "CITEXT" => row
            .try_get_unchecked::<String, _>(i)
            .map(RawValue::Text)
            .map_err(e),
        "DATE" => row
            .try_get_unchecked::<NaiveDate, _>(i)
            .map(RawValue::Date)
            .map_err(e),
        "TIMESTAMP" => row
            .try_get_unchecked::<NaiveDateTime, _>(i)
            .map(RawValue::DateTime)
            .map_err(e),
        // An instant, as Bangkok wall-clock time like every naive time in the hub.
        "TIMESTAMPTZ" => row
            .try_get_unchecked::<DateTime<Utc>, _>(i)
            .map(|t| RawValue::DateTime(t.with_timezone(&bangkok()).naive_local()))
            .map_err(e),
        other => unreadable(other),
    }
}

/// The per-back-end conversion: a SQLite value by what it holds (SQLite types values, not
/// columns; a DECIMAL column holds REAL or INTEGER, dates are text).
fn sqlite_value(row: &SqliteRow, i: usize) -> Cell {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(RawValue::Empty);
    }
    let type_name = raw.type_info().name().to_string();
    let e = |e: sqlx::Error| e.to_string();
    match type_name.as_str() {
        "INTEGER" | "BOOLEAN" => row
            .try_get_unchecked::<i64, _>(i)
            .map(RawValue::Int)
            .map_err(e),
        "REAL" => row
            .try_get_unchecked::<f64, _>(i)
            .map(RawValue::Float)
            .map_err(e),
        "BLOB" => row
            .try_get_unchecked::<Vec<u8>, _>(i)
            .map_err(e)
            .and_then(text_of_bytes),
        _ => row
            .try_get_unchecked::<String, _>(i)
            .map(RawValue::Text)
            .map_err(e),
    }
}

impl SqlConnector {
    /// A connector for `config` with the password given (rather than read from `password_env`):
    /// what [`SqlConfig::build`] does once it has read the variable. Checks the configuration the
    /// same way; connects to nothing yet.
    pub fn new(
        config: SqlConfig,
        source: String,
        password: Option<Secret>,
    ) -> Result<Self, ConnectorError> {
        let dialect = Dialect::of_url(&config.url)?;
        refuse_url_password(&config.url, dialect)?;
        if password.is_some() && dialect == Dialect::Sqlite {
            return Err(ConnectorError::Config(
                "password_env: SQLite databases have no password".into(),
            ));
        }
        // Check the URL now, so a typo fails at start-up, not at night.
        let parsed = match dialect {
            Dialect::MySql => mysql_options(&config.url, None).map(|_| ()),
            Dialect::Postgres => pg_options(&config.url, None).map(|_| ()),
            Dialect::Sqlite => SqliteConnectOptions::from_str(&config.url).map(|_| ()),
        };
        parsed.map_err(|e| ConnectorError::Config(format!("url: {e}")))?;
        let query = guard_query(&config.query, dialect)
            .map_err(|e| ConnectorError::Config(format!("query: {e}")))?;
        match (&config.cursor_column, query.cursor_uses) {
            (Some(column), 0) => {
                return Err(ConnectorError::Config(format!(
                    "cursor_column = {column:?}, but the query does not use :cursor, so every pull \
                     would read everything: filter with e.g. `WHERE {column} > :cursor`"
                )));
            }
            (None, uses) if uses > 0 => {
                return Err(ConnectorError::Config(
                    "the query uses :cursor, but no cursor_column names the result column whose \
                     largest value becomes the next cursor"
                        .into(),
                ));
            }
            _ => {}
        }
        if config.initial_cursor.is_some() && config.cursor_column.is_none() {
            return Err(ConnectorError::Config(
                "initial_cursor is set without cursor_column".into(),
            ));
        }
        if config.timeout_secs == 0 {
            return Err(ConnectorError::Config(
                "timeout_secs must be at least 1".into(),
            ));
        }
        if config.max_rows == Some(0) {
            return Err(ConnectorError::Config("max_rows must be at least 1".into()));
        }
        let mapping = FieldMapping::new(&config.fields)?.with_ignored(&config.ignore);
        let mut mapper = RecordMapper::new(source.clone());
        mapper.fund_id = config
            .fund_id
            .as_deref()
            .map(FundId::parse)
            .transpose()
            .map_err(|e| ConnectorError::Config(format!("fund_id: {e}")))?;
        Ok(SqlConnector {
            config,
            source,
            dialect,
            password,
            query,
            mapping,
            mapper,
        })
    }

    fn sql(&self) -> SqlStr {
        // The configured query, checked by guard_query and run read-only; the cursor is bound.
        AssertSqlSafe(self.query.sql.clone()).into_sql_str()
    }

    /// What a database error means to a retry loop, with the database's own message. The URL holds
    /// no password, so naming it is safe.
    fn classify(&self, err: sqlx::Error) -> ConnectorError {
        let at = format!("{} ({})", self.config.url, self.dialect.name());
        match err {
            sqlx::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                ConnectorError::Timeout(format!("{at}: {e}"))
            }
            sqlx::Error::Io(e) => ConnectorError::Unreachable(format!("{at}: {e}")),
            sqlx::Error::WorkerCrashed => {
                ConnectorError::Unreachable(format!("{at}: the SQLite worker stopped"))
            }
            sqlx::Error::PoolTimedOut => ConnectorError::Timeout(format!("{at}: no connection")),
            sqlx::Error::Tls(e) => ConnectorError::Config(format!("{at}: TLS: {e}")),
            sqlx::Error::Configuration(e) => ConnectorError::Config(format!("{at}: {e}")),
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                let number = db
                    .try_downcast_ref::<MySqlDatabaseError>()
                    .map_or(0, MySqlDatabaseError::number);
                let text = match number {
                    0 => format!("{at}: {} [{code}]", db.message()),
                    n => format!("{at}: {} [{n} {code}]", db.message()),
                };
                self.classify_database(&code, number, text)
            }
            other => ConnectorError::Content(format!("{at}: {other}")),
        }
    }

    fn classify_database(&self, code: &str, number: u16, text: String) -> ConnectorError {
        use ConnectorError::*;
        let query_fails = || Config(format!("the query fails: {text}"));
        match self.dialect {
            Dialect::MySql => match number {
                // Access denied (password, database, table, command).
                1044 | 1045 | 1142 | 1143 | 1227 | 1370 | 1698 => Auth(text),
                // Too many connections, shutting down, lost connection, host blocked.
                1040 | 1053 | 1129 | 1203 | 2002 | 2003 | 2006 | 2013 => Unreachable(text),
                // Lock wait, max_execution_time (MySQL), max_statement_time (MariaDB), killed.
                1205 | 1317 | 1969 | 3024 => Timeout(text),
                1213 => Inconsistent(text),
                // A write refused by the read-only transaction.
                1792 => query_fails(),
                1049 => Config(text),
                _ if code.starts_with("42") => query_fails(),
                _ => Content(text),
            },
            Dialect::Postgres => match code {
                "28P01" | "28000" | "42501" => Auth(text),
                "57014" => Timeout(text),
                "40001" | "40P01" => Inconsistent(text),
                "25006" => query_fails(),
                "3D000" => Config(text),
                c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") => {
                    Unreachable(text)
                }
                c if c.starts_with("42") => query_fails(),
                _ => Content(text),
            },
            // Extended result codes carry the primary code in the low byte.
            Dialect::Sqlite => match code.parse::<i32>().map_or(0, |c| c & 0xff) {
                // Cannot open (no such file: a share not mounted?), I/O error.
                14 | 10 => Unreachable(text),
                // Busy, locked.
                5 | 6 => Timeout(text),
                23 => Auth(text),
                // Read-only (the query tried to write), SQL error (syntax, no such column).
                8 | 1 => query_fails(),
                _ => Content(text),
            },
        }
    }

    fn collect_error(&self, e: CollectError) -> ConnectorError {
        match e {
            CollectError::Database(e) => self.classify(e),
            CollectError::TooMany => ConnectorError::Content(format!(
                "the query returned more than max_rows ({}) rows: narrow it (a cursor) or raise max_rows",
                self.config.max_rows.unwrap_or_default()
            )),
        }
    }

    /// The index of the cursor column among `columns`, or a configuration error naming them.
    fn cursor_index(&self, columns: &[ColumnInfo]) -> Result<Option<usize>, ConnectorError> {
        let Some(wanted) = &self.config.cursor_column else {
            return Ok(None);
        };
        columns
            .iter()
            .position(|c| c.name == *wanted)
            .or_else(|| {
                columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(wanted))
            })
            .map(Some)
            .ok_or_else(|| {
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                ConnectorError::Config(format!(
                    "cursor_column {wanted:?} is not a column of the query's result ({})",
                    names.join(", ")
                ))
            })
    }

    /// The class of the cursor column, once the statement's columns are known.
    fn cursor_class(&self, columns: &[ColumnInfo]) -> Result<Class, ConnectorError> {
        Ok(self
            .cursor_index(columns)?
            .map_or(Class::Other, |i| class_of(&columns[i].type_name)))
    }

    /// For MySQL/MariaDB and SQLite, which compare by the column's type: refuses a cursor that
    /// cannot be a value of the column (a date bound against an id column compares as a number,
    /// silently skipping rows).
    fn checked_cursor(&self, cursor: &str, class: Class) -> Result<(), ConnectorError> {
        let column = self.config.cursor_column.as_deref().unwrap_or_default();
        let ok = match class {
            Class::Number => Decimal::from_str(cursor.trim()).is_ok(),
            Class::Temporal => parse_naive(cursor).is_some(),
            Class::Text | Class::Other => true,
        };
        if ok {
            Ok(())
        } else {
            Err(ConnectorError::Config(format!(
                "cursor {cursor:?} is not a value of cursor column {column:?} ({}); set initial_cursor \
                 to one (or leave it unset)",
                if class == Class::Number {
                    "a number"
                } else {
                    "a date"
                }
            )))
        }
    }

    /// What MySQL/MariaDB binds: the cursor as text (the server converts it to the column's type),
    /// or below every value of the column's type.
    fn mysql_bind(&self, cursor: Option<&str>, class: Class) -> Result<Bind, ConnectorError> {
        if let Some(c) = cursor {
            self.checked_cursor(c, class)?;
            return Ok(Bind::Text(c.to_string()));
        }
        match class {
            Class::Number => Ok(Bind::Int(i64::MIN)),
            Class::Temporal => Ok(Bind::Text("0001-01-01 00:00:00".into())),
            Class::Text => Ok(Bind::Text(String::new())),
            Class::Other => Err(self.no_lowest_value()),
        }
    }

    fn no_lowest_value(&self) -> ConnectorError {
        ConnectorError::Config(format!(
            "cannot tell the lowest value of cursor column {:?}: set initial_cursor",
            self.config.cursor_column.as_deref().unwrap_or_default()
        ))
    }

    /// What SQLite binds: integers as integers, other cursors as text; with no cursor, negative
    /// infinity, which sorts below every number and (by SQLite's rules) every text.
    fn sqlite_bind(&self, cursor: Option<&str>, class: Class) -> Result<Bind, ConnectorError> {
        let Some(c) = cursor else {
            return Ok(Bind::Float(f64::NEG_INFINITY));
        };
        self.checked_cursor(c, class)?;
        Ok(c.trim()
            .parse::<i64>()
            .map_or_else(|_| Bind::Text(c.to_string()), Bind::Int))
    }

    /// What PostgreSQL binds: the cursor read as the type PostgreSQL inferred for `:cursor`, or the
    /// lowest value of that type.
    fn pg_bind(&self, cursor: Option<&str>, param_type: &str) -> Result<Bind, ConnectorError> {
        let Some(c) = cursor else {
            return Ok(match param_type {
                "TIMESTAMP" => Bind::DateTime(earliest()),
                "TIMESTAMPTZ" => Bind::Instant(Utc.from_utc_datetime(&earliest())),
                "DATE" => Bind::Date(earliest().date()),
                "INT2" => Bind::I16(i16::MIN),
                "INT4" => Bind::I32(i32::MIN),
                "INT8" => Bind::Int(i64::MIN),
                "NUMERIC" => Bind::Decimal(Decimal::MIN),
                "FLOAT4" => Bind::F32(f32::NEG_INFINITY),
                "FLOAT8" => Bind::Float(f64::NEG_INFINITY),
                "TEXT" | "VARCHAR" | "CHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => {
                    Bind::Text(String::new())
                }
                _ => return Err(self.no_lowest_value()),
            });
        };
        let t = c.trim();
        let bind = match param_type {
            "TIMESTAMP" => parse_naive(t).map(Bind::DateTime),
            "TIMESTAMPTZ" => DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|d| Bind::Instant(d.with_timezone(&Utc)))
                .or_else(|| {
                    parse_naive(t)
                        .and_then(|n| bangkok().from_local_datetime(&n).single())
                        .map(|d| Bind::Instant(d.with_timezone(&Utc)))
                }),
            "DATE" => parse_naive(t).map(|d| Bind::Date(d.date())),
            "INT2" => t.parse().ok().map(Bind::I16),
            "INT4" => t.parse().ok().map(Bind::I32),
            "INT8" => t.parse().ok().map(Bind::Int),
            "NUMERIC" => Decimal::from_str(t).ok().map(Bind::Decimal),
            "FLOAT4" => t.parse().ok().map(Bind::F32),
            "FLOAT8" => t.parse().ok().map(Bind::Float),
            "TEXT" | "VARCHAR" | "CHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => {
                Some(Bind::Text(c.to_string()))
            }
            other => {
                return Err(ConnectorError::Config(format!(
                    "PostgreSQL gives :cursor the type {other}, which the connector does not bind: \
                     compare it with a date, number or text column, or write CAST(:cursor AS TEXT)"
                )));
            }
        };
        bind.ok_or_else(|| {
            ConnectorError::Config(format!(
                "cursor {c:?} cannot be read as {param_type}, the type PostgreSQL gives :cursor"
            ))
        })
    }

    async fn timed<T>(
        &self,
        work: impl Future<Output = Result<T, ConnectorError>>,
    ) -> Result<T, ConnectorError> {
        let secs = self.config.timeout_secs;
        tokio::time::timeout(Duration::from_secs(secs), work)
            .await
            .unwrap_or_else(|_| {
                Err(ConnectorError::Timeout(format!(
                    "{} ({}): no answer within {secs} s",
                    self.config.url,
                    self.dialect.name()
                )))
            })
    }

    async fn run(&self, mode: Mode<'_>) -> Result<Table, ConnectorError> {
        match self.dialect {
            Dialect::MySql => {
                let options = mysql_options(&self.config.url, self.password.as_ref())
                    .map_err(|e| self.classify(e))?;
                let mut conn = options.connect().await.map_err(|e| self.classify(e))?;
                let result = self.run_mysql(&mut conn, mode).await;
                // Closing ends the read-only transaction; nothing was written to commit.
                let _ = conn.close().await;
                result
            }
            Dialect::Postgres => {
                let options = pg_options(&self.config.url, self.password.as_ref())
                    .map_err(|e| self.classify(e))?
                    .options([("default_transaction_read_only", "on")]);
                let mut conn = options.connect().await.map_err(|e| self.classify(e))?;
                let result = self.run_pg(&mut conn, mode).await;
                let _ = conn.close().await;
                result
            }
            Dialect::Sqlite => {
                let options = SqliteConnectOptions::from_str(&self.config.url)
                    .map_err(|e| self.classify(e))?
                    .read_only(true)
                    .create_if_missing(false);
                let mut conn = options.connect().await.map_err(|e| self.classify(e))?;
                let result = self.run_sqlite(&mut conn, mode).await;
                let _ = conn.close().await;
                result
            }
        }
    }

    async fn run_mysql(
        &self,
        conn: &mut MySqlConnection,
        mode: Mode<'_>,
    ) -> Result<Table, ConnectorError> {
        let fail = |e| self.classify(e);
        // Let the server stop a slow query too (MariaDB, then MySQL's name for it); a server
        // with neither still has our timeout.
        let millis = self.config.timeout_secs.saturating_mul(1000);
        for limit in [
            format!(
                "SET SESSION max_statement_time = {}",
                self.config.timeout_secs
            ),
            format!("SET SESSION max_execution_time = {millis}"),
        ] {
            if sqlx::raw_sql(AssertSqlSafe(limit))
                .execute(&mut *conn)
                .await
                .is_ok()
            {
                break;
            }
        }
        sqlx::raw_sql("START TRANSACTION READ ONLY")
            .execute(&mut *conn)
            .await
            .map_err(fail)?;
        let statement = (&mut *conn).prepare(self.sql()).await.map_err(fail)?;
        let columns = columns_of(statement.columns());
        let class = self.cursor_class(&columns)?;
        let Mode::Pull(cursor) = mode else {
            return Ok(Table {
                columns,
                rows: Vec::new(),
            });
        };
        let mut query = sqlx::query::<MySql>(self.sql());
        if self.query.cursor_uses > 0 {
            let bind = self.mysql_bind(cursor, class)?;
            // MySQL/MariaDB compare a bound instant as wall-clock time: bind it in Bangkok time.
            let bind = match bind {
                Bind::Instant(v) => Bind::DateTime(v.with_timezone(&bangkok()).naive_local()),
                other => other,
            };
            for _ in 0..self.query.cursor_uses {
                query = bind_cursor(query, bind.clone());
            }
        }
        let rows = collect_rows(query.fetch(&mut *conn), mysql_value, self.config.max_rows)
            .await
            .map_err(|e| self.collect_error(e))?;
        Ok(Table { columns, rows })
    }

    async fn run_pg(
        &self,
        conn: &mut PgConnection,
        mode: Mode<'_>,
    ) -> Result<Table, ConnectorError> {
        let fail = |e| self.classify(e);
        sqlx::raw_sql("START TRANSACTION READ ONLY")
            .execute(&mut *conn)
            .await
            .map_err(fail)?;
        // The server stops the query too, not only our side of the connection.
        let millis = self.config.timeout_secs.saturating_mul(1000);
        sqlx::raw_sql(AssertSqlSafe(format!(
            "SET LOCAL statement_timeout = {millis}"
        )))
        .execute(&mut *conn)
        .await
        .map_err(fail)?;
        // Prepared without parameter types, so the server infers :cursor's type from the query.
        let statement = (&mut *conn).prepare(self.sql()).await.map_err(fail)?;
        let columns = columns_of(statement.columns());
        self.cursor_index(&columns)?;
        let param_type = match statement.parameters() {
            Some(Either::Left(types)) => types.first().map(|t| t.name().to_string()),
            _ => None,
        };
        let Mode::Pull(cursor) = mode else {
            return Ok(Table {
                columns,
                rows: Vec::new(),
            });
        };
        let mut query = sqlx::query::<Postgres>(self.sql());
        if let Some(param_type) = param_type {
            query = bind_cursor(query, self.pg_bind(cursor, &param_type)?);
        }
        let rows = collect_rows(query.fetch(&mut *conn), pg_value, self.config.max_rows)
            .await
            .map_err(|e| self.collect_error(e))?;
        Ok(Table { columns, rows })
    }

    async fn run_sqlite(
        &self,
        conn: &mut SqliteConnection,
        mode: Mode<'_>,
    ) -> Result<Table, ConnectorError> {
        let statement = (&mut *conn)
            .prepare(self.sql())
            .await
            .map_err(|e| self.classify(e))?;
        let columns = columns_of(statement.columns());
        let class = self.cursor_class(&columns)?;
        let Mode::Pull(cursor) = mode else {
            return Ok(Table {
                columns,
                rows: Vec::new(),
            });
        };
        let mut query = sqlx::query::<Sqlite>(self.sql());
        if self.query.cursor_uses > 0 {
            let bind = self.sqlite_bind(cursor, class)?;
            for _ in 0..self.query.cursor_uses {
                query = match bind.clone() {
                    Bind::Int(v) => query.bind(v),
                    Bind::Float(v) => query.bind(v),
                    other => query.bind(render_bind(&other)),
                };
            }
        }
        let rows = collect_rows(query.fetch(&mut *conn), sqlite_value, self.config.max_rows)
            .await
            .map_err(|e| self.collect_error(e))?;
        Ok(Table { columns, rows })
    }

    /// The target of each result column, refusing what [`FieldMapping::map_header`] refuses (the
    /// query is the configuration: a configuration error). The cursor column is the source's
    /// bookkeeping, ignored unless `fields` names it (`updated_at` would otherwise read as
    /// `reported_at`). Columns feeding nothing are reported.
    fn header(
        &self,
        columns: &[ColumnInfo],
        cursor: Option<usize>,
        pull: &mut PullBuilder,
    ) -> Result<Vec<Option<Target>>, ConnectorError> {
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let ignored: Vec<String> = cursor.map(|i| names[i].clone()).into_iter().collect();
        let defaults = HeaderDefaults {
            fund_id: self.config.fund_id.is_some(),
            period: false,
            members_total_required: true,
        };
        let map = self
            .mapping
            .clone()
            .with_ignored(&ignored)
            .map_header(&names, defaults)
            .map_err(|e| ConnectorError::Config(format!("the query's result columns: {e}")))?;
        for i in map.unrecognised {
            pull.unrecognised(UnrecognisedColumn {
                location: format!("query column {} ({})", i + 1, names[i]),
                heading: names[i].clone(),
            });
        }
        Ok(map.targets)
    }

    /// Rows → summaries, rejections and the next cursor.
    fn to_pull(&self, table: Table, since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        let cursor_at = self.cursor_index(&table.columns)?;
        let mut pull = PullBuilder::new(self.mapper.clone());
        let targets = self.header(&table.columns, cursor_at, &mut pull)?;
        let next_cursor = match cursor_at {
            Some(at) => table
                .rows
                .iter()
                .filter_map(|row| row[at].as_ref().ok())
                .filter(|v| **v != RawValue::Empty)
                .max_by(|a, b| cursor_cmp(a, b))
                .and_then(render)
                .map(Cursor)
                .or_else(|| since.cloned()),
            None => {
                let digest = digest(&table);
                if since.is_some_and(|c| c.0 == digest) {
                    return Ok(Pull {
                        cursor: Some(Cursor(digest)),
                        ..Pull::default()
                    });
                }
                Some(Cursor(digest))
            }
        };

        for (n, cells) in table.rows.into_iter().enumerate() {
            let location = location(n + 1, &table.columns, &targets, &cells);
            let mut problem = None;
            let mut fields = Vec::with_capacity(cells.len());
            for (index, ((column, target), cell)) in
                table.columns.iter().zip(&targets).zip(cells).enumerate()
            {
                let value = match cell {
                    Ok(v) => v,
                    // An unreadable column matters only when it feeds a field or the cursor.
                    Err(e) => {
                        let used = target.is_some() || cursor_at == Some(index);
                        if used && problem.is_none() {
                            problem = Some(format!("{} ({}): {e}", column.name, column.type_name));
                        }
                        RawValue::Empty
                    }
                };
                fields.push((column.name.clone(), *target, value));
            }
            let record = RawRecord { location, fields };
            match problem {
                Some(reason) => pull.reject(Rejected {
                    reason,
                    raw: record.raw_json(),
                    location: record.location,
                }),
                None => pull.push(&record, &[])?,
            }
        }
        tracing::debug!(source = %self.source, rows = pull.row_count(), "sql pull");
        pull.finish(next_cursor)
    }
}

/// Binds a cursor value to a MySQL/MariaDB or PostgreSQL query, which take every kind natively
/// (SQLite binds integers, floats and text: see `run_sqlite`).
fn bind_cursor<'q, DB>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    bind: Bind,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> i32: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> i16: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> f64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> f32: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Decimal: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> NaiveDate: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> NaiveDateTime: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    match bind {
        Bind::Text(v) => query.bind(v),
        Bind::Int(v) => query.bind(v),
        Bind::I32(v) => query.bind(v),
        Bind::I16(v) => query.bind(v),
        Bind::Float(v) => query.bind(v),
        Bind::F32(v) => query.bind(v),
        Bind::Decimal(v) => query.bind(v),
        Bind::Date(v) => query.bind(v),
        Bind::DateTime(v) => query.bind(v),
        Bind::Instant(v) => query.bind(v),
    }
}

/// A bind value as text, for SQLite's text comparisons.
fn render_bind(bind: &Bind) -> String {
    match bind {
        Bind::Text(t) => t.clone(),
        Bind::Int(v) => v.to_string(),
        Bind::I32(v) => v.to_string(),
        Bind::I16(v) => v.to_string(),
        Bind::Float(v) => v.to_string(),
        Bind::F32(v) => v.to_string(),
        Bind::Decimal(v) => v.to_string(),
        Bind::Date(v) => v.format("%Y-%m-%d").to_string(),
        Bind::DateTime(v) => v.format("%Y-%m-%d %H:%M:%S").to_string(),
        Bind::Instant(v) => v.to_rfc3339(),
    }
}

/// `query row 7 (org_code=F100101, rpt_year=2568, rpt_month=13)`: the row number and its key
/// columns (those feeding fund id, period, year or month).
fn location(
    row: usize,
    columns: &[ColumnInfo],
    targets: &[Option<Target>],
    cells: &[Cell],
) -> String {
    let keys: Vec<String> = columns
        .iter()
        .zip(targets)
        .zip(cells)
        .filter(|((_, t), _)| {
            matches!(
                t,
                Some(Target::FundId | Target::Period | Target::Year | Target::Month)
            )
        })
        .map(|((c, _), cell)| {
            let value = match cell {
                Ok(v) => render(v).unwrap_or_else(|| "NULL".into()),
                Err(_) => "?".into(),
            };
            format!("{}={value}", c.name)
        })
        .collect();
    if keys.is_empty() {
        format!("query row {row}")
    } else {
        format!("query row {row} ({})", keys.join(", "))
    }
}

/// A digest of a whole result (names, types and values), for sources without a cursor column.
fn digest(table: &Table) -> String {
    let mut digest = ContentDigest::new();
    for c in &table.columns {
        digest.update(format!("{}\u{1f}{}\u{1e}", c.name, c.type_name).as_bytes());
    }
    for row in &table.rows {
        for cell in row {
            digest.update(format!("{cell:?}\u{1f}").as_bytes());
        }
        digest.update("\u{1e}".as_bytes());
    }
    digest.finish()
}

#[async_trait]
impl Connector for SqlConnector {
    fn kind(&self) -> &'static str {
        "sql"
    }

    /// Connects, opens the read-only transaction and prepares the query (which checks its syntax,
    /// tables and columns, and the cursor column), without running it.
    async fn check(&self) -> Result<(), ConnectorError> {
        self.timed(self.run(Mode::Check)).await.map(|_| ())
    }

    async fn pull(&self, since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        let cursor = match &self.config.cursor_column {
            Some(_) => since
                .map(|c| c.0.as_str())
                .or(self.config.initial_cursor.as_deref()),
            None => None,
        };
        let table = self.timed(self.run(Mode::Pull(cursor))).await?;
        self.to_pull(table, since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded(query: &str, dialect: Dialect) -> Result<String, String> {
        guard_query(query, dialect).map(|g| g.sql)
    }

    #[test]
    fn the_guard_refuses_what_is_not_one_select() {
        for dialect in [Dialect::MySql, Dialect::Postgres, Dialect::Sqlite] {
            let refused =
                |q: &str| guarded(q, dialect).expect_err(&format!("{dialect:?} refuses {q}"));
            assert!(refused("DELETE FROM tbl_monthly_report").contains("starts with DELETE"));
            assert!(refused("SELECT 1; DROP TABLE x").contains("one statement"));
            assert!(refused("select 1 ; ; update t set a = 1").contains("one statement"));
            assert!(refused("SELECT * INTO t2 FROM t").contains("INTO"));
            assert!(refused("SELECT * FROM t FOR UPDATE").contains("locking"));
            assert!(refused("WITH x AS (SELECT 1) DELETE FROM t").contains("DELETE, not SELECT"));
            assert!(
                refused("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d")
                    .contains("data-modifying DELETE")
            );
            assert!(refused("").contains("empty"));
            assert!(refused("SELECT (1").contains("unbalanced"));
            assert!(refused("SELECT 'open").contains("unterminated"));
            // What is inside literals and comments is not SQL.
            assert_eq!(
                guarded(
                    "SELECT 'a; DROP TABLE x' AS s /* ; delete */ -- ; into\n",
                    dialect
                )
                .unwrap(),
                "SELECT 'a; DROP TABLE x' AS s /* ; delete */ -- ; into"
            );
            // A trailing semicolon is dropped; MySQL's INSERT() string function is fine.
            assert_eq!(guarded("SELECT 1;", dialect).unwrap(), "SELECT 1");
            guarded(
                "SELECT REPLACE(a, 'x', 'y'), (SELECT MAX(b) FROM t) FROM u",
                dialect,
            )
            .unwrap();
        }
        let mysql = |q: &str| guarded(q, Dialect::MySql);
        assert!(mysql("SELECT 1 /*! ; DROP TABLE x */").is_err());
        assert!(mysql("SELECT 1 # ; DROP TABLE x").is_ok());
        assert!(mysql("SELECT 'it\\'s; fine' AS s").is_ok());
        assert!(
            mysql("SELECT * FROM t WHERE a = ?")
                .unwrap_err()
                .contains(":cursor")
        );
        assert!(mysql("SELECT INSERT('abc', 1, 1, 'x')").is_ok());
        let pg = |q: &str| guarded(q, Dialect::Postgres);
        assert!(pg("SELECT $1").unwrap_err().contains(":cursor"));
        assert!(pg("SELECT $$ ; delete $$ AS s").is_ok());
        assert!(pg("SELECT /* /* nested */ ; */ 1").is_ok());
        assert!(guarded("SELECT * FROM t WHERE a = :name", Dialect::Sqlite).is_err());
    }

    #[test]
    fn cursor_placeholders_per_back_end() {
        let q =
            "SELECT a::text, ':cursor' AS s FROM t WHERE u > :cursor OR v >= :cursor -- :cursor";
        let pg = guard_query(q, Dialect::Postgres).unwrap();
        assert_eq!(
            pg.sql,
            "SELECT a::text, ':cursor' AS s FROM t WHERE u > $1 OR v >= $1 -- :cursor"
        );
        assert_eq!(pg.cursor_uses, 2);
        let my = guard_query(
            "SELECT * FROM t WHERE u > :cursor AND :cursors = 1",
            Dialect::MySql,
        )
        .unwrap();
        assert_eq!(my.sql, "SELECT * FROM t WHERE u > ? AND :cursors = 1");
        assert_eq!(my.cursor_uses, 1);
    }

    #[test]
    fn cursor_values_order_and_render_like_the_databases() {
        let t = |s: &str| RawValue::DateTime(parse_naive(s).unwrap());
        assert_eq!(
            render(&t("2025-11-10 09:30:00")).unwrap(),
            "2025-11-10 09:30:00"
        );
        assert_eq!(
            render(&t("2025-11-10T09:30:00.25")).unwrap(),
            "2025-11-10 09:30:00.250000"
        );
        assert_eq!(
            cursor_cmp(&t("2025-11-10 09:30:00"), &t("2025-11-09 23:00:00")),
            Ordering::Greater
        );
        assert_eq!(
            cursor_cmp(&RawValue::Int(10), &RawValue::Decimal(Decimal::new(95, 1))),
            Ordering::Greater
        );
        assert_eq!(
            cursor_cmp(&RawValue::Int(10), &RawValue::Int(9)),
            Ordering::Greater
        );
        assert_eq!(cursor_cmp(&RawValue::Int(10), &"1".into()), Ordering::Less);
    }

    /// The file is opened read-only: even a query that got past the guard cannot write.
    #[tokio::test]
    async fn sqlite_the_read_only_file() {
        use sqlx::Connection;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fund.db");
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        let mut db = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::raw_sql("CREATE TABLE t_log (n INTEGER)")
            .execute(&mut db)
            .await
            .unwrap();
        let config = SqlConfig::new(&url, "SELECT COUNT(*) AS n FROM t_log");
        let c = config.build("connector:t".into()).unwrap();
        c.check().await.unwrap();
        let write = SqlConnector {
            query: GuardedQuery {
                sql: "INSERT INTO t_log VALUES (1) RETURNING n".into(),
                cursor_uses: 0,
            },
            ..c
        };
        let err = write.pull(None).await.unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Config(m) if m.contains("readonly")),
            "{err}"
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t_log")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
}
