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

mod cursor;
mod decode;
mod dialect;
mod guard;

use self::cursor::*;
use self::decode::*;
use self::dialect::refuse_url_password;
pub use self::dialect::{Dialect, mysql_options, pg_options};
use self::guard::*;

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

    /// The MySQL/MariaDB session: the server stops a slow query too (MariaDB's setting, then
    /// MySQL's name for it; a server with neither still has our timeout), in a read-only
    /// transaction; `:cursor` is bound as the cursor column's class, a bound instant as Bangkok
    /// wall-clock time (MySQL/MariaDB compare it so), once per use.
    async fn run_mysql(
        &self,
        conn: &mut MySqlConnection,
        mode: Mode<'_>,
    ) -> Result<Table, ConnectorError> {
        let millis = self.config.timeout_secs.saturating_mul(1000);
        let session = [
            Step::FirstThatWorks(vec![
                format!(
                    "SET SESSION max_statement_time = {}",
                    self.config.timeout_secs
                ),
                format!("SET SESSION max_execution_time = {millis}"),
            ]),
            Step::Run("START TRANSACTION READ ONLY".into()),
        ];
        let binds = |columns: &[ColumnInfo], _: Option<String>, mode: Mode<'_>| {
            self.binds_by_class(columns, mode, |cursor, class| {
                Ok(match self.mysql_bind(cursor, class)? {
                    Bind::Instant(v) => Bind::DateTime(v.with_timezone(&bangkok()).naive_local()),
                    other => other,
                })
            })
        };
        self.run_on::<MySql>(conn, mode, &session, binds, bind_cursor, mysql_value)
            .await
    }

    /// The PostgreSQL session: a read-only transaction whose statements the server stops at the
    /// time limit; `:cursor` (`$1`) is bound once, as the type the server infers for it.
    async fn run_pg(
        &self,
        conn: &mut PgConnection,
        mode: Mode<'_>,
    ) -> Result<Table, ConnectorError> {
        let millis = self.config.timeout_secs.saturating_mul(1000);
        let session = [
            Step::Run("START TRANSACTION READ ONLY".into()),
            Step::Run(format!("SET LOCAL statement_timeout = {millis}")),
        ];
        let binds = |columns: &[ColumnInfo], param_type: Option<String>, mode: Mode<'_>| {
            self.cursor_index(columns)?;
            let Mode::Pull(cursor) = mode else {
                return Ok(None);
            };
            match param_type {
                Some(param_type) => Ok(Some(vec![self.pg_bind(cursor, &param_type)?])),
                None => Ok(Some(Vec::new())),
            }
        };
        self.run_on::<Postgres>(conn, mode, &session, binds, bind_cursor, pg_value)
            .await
    }

    /// The SQLite session: the file is opened read-only, so nothing to set; `:cursor` is bound as
    /// an integer, a float or text (SQLite compares dates as text), once per use.
    async fn run_sqlite(
        &self,
        conn: &mut SqliteConnection,
        mode: Mode<'_>,
    ) -> Result<Table, ConnectorError> {
        let binds = |columns: &[ColumnInfo], _: Option<String>, mode: Mode<'_>| {
            self.binds_by_class(columns, mode, |cursor, class| {
                self.sqlite_bind(cursor, class)
            })
        };
        self.run_on::<Sqlite>(conn, mode, &[], binds, bind_sqlite_cursor, sqlite_value)
            .await
    }

    /// The binds of a back end that types `:cursor` by the cursor column's class (MySQL/MariaDB,
    /// SQLite): the column checked, then one value per use of `:cursor`; `None` for a check.
    fn binds_by_class(
        &self,
        columns: &[ColumnInfo],
        mode: Mode<'_>,
        bind: impl FnOnce(Option<&str>, Class) -> Result<Bind, ConnectorError>,
    ) -> Result<Option<Vec<Bind>>, ConnectorError> {
        let class = self.cursor_class(columns)?;
        let Mode::Pull(cursor) = mode else {
            return Ok(None);
        };
        if self.query.cursor_uses == 0 {
            return Ok(Some(Vec::new()));
        }
        Ok(Some(vec![bind(cursor, class)?; self.query.cursor_uses]))
    }

    /// One run on an open connection, the same on every back end: the session's statements, the
    /// query prepared (its columns checked, the cursor's binds worked out by `binds`, which answers
    /// `None` for a check), then run with the cursor bound and every row decoded.
    async fn run_on<DB>(
        &self,
        conn: &mut DB::Connection,
        mode: Mode<'_>,
        session: &[Step],
        binds: impl FnOnce(
            &[ColumnInfo],
            Option<String>,
            Mode<'_>,
        ) -> Result<Option<Vec<Bind>>, ConnectorError>,
        bind: for<'q> fn(QueryOf<'q, DB>, Bind) -> QueryOf<'q, DB>,
        decode: fn(&DB::Row, usize) -> Cell,
    ) -> Result<Table, ConnectorError>
    where
        DB: sqlx::Database,
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    {
        let fail = |e| self.classify(e);
        for step in session {
            match step {
                Step::Run(sql) => {
                    sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                        .execute(&mut *conn)
                        .await
                        .map_err(fail)?;
                }
                Step::FirstThatWorks(choices) => {
                    for sql in choices {
                        if sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                            .execute(&mut *conn)
                            .await
                            .is_ok()
                        {
                            break;
                        }
                    }
                }
            }
        }
        let statement = (&mut *conn).prepare(self.sql()).await.map_err(fail)?;
        let columns = columns_of(statement.columns());
        // The type the server gives `:cursor`, where it says (PostgreSQL prepares without types).
        let param_type = match statement.parameters() {
            Some(Either::Left(types)) => types.first().map(|t| t.name().to_string()),
            _ => None,
        };
        let Some(values) = binds(&columns, param_type, mode)? else {
            return Ok(Table {
                columns,
                rows: Vec::new(),
            });
        };
        let mut query = sqlx::query::<DB>(self.sql());
        for value in values {
            query = bind(query, value);
        }
        let rows = collect_rows(query.fetch(&mut *conn), decode, self.config.max_rows)
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
fn bind_cursor<DB>(query: QueryOf<'_, DB>, bind: Bind) -> QueryOf<'_, DB>
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

/// Binds a cursor value to a SQLite query: integers and floats as they are, anything else as text.
fn bind_sqlite_cursor(query: QueryOf<'_, Sqlite>, bind: Bind) -> QueryOf<'_, Sqlite> {
    match bind {
        Bind::Int(v) => query.bind(v),
        Bind::Float(v) => query.bind(v),
        other => query.bind(render_bind(&other)),
    }
}

/// A query of back end `DB` with its arguments.
type QueryOf<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>;

/// A statement that readies a session before the query.
#[derive(Debug)]
enum Step {
    /// Must succeed.
    Run(String),
    /// The first of these the server accepts (servers name one setting differently).
    FirstThatWorks(Vec<String>),
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
