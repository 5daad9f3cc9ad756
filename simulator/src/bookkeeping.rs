//! A fund's own bookkeeping database, simulated: the tables of a small PHP bookkeeping application
//! that a fund's clerk fills in each month, in MariaDB (and, the same DDL adapted, PostgreSQL and
//! SQLite, so the demo runs on a machine without MariaDB).
//!
//! - `tbl_org`: one row per fund (`org_code`, `org_name`).
//! - `tbl_monthly_report`: one row per fund and month, keyed by `(org_code, rpt_year, rpt_month)`
//!   with the year in the Buddhist era (2568), counts in `INT`, money in `DECIMAL(14,2)` under the
//!   names such applications use (`money_sajja` for members' savings, `money_codi` for the CODI
//!   grant, `pay_death` …), the number of welfare recipients as the text typed into the form
//!   (`benefit_person VARCHAR`), the date the fund sent the report (`submit_date`) and the
//!   application's `created_at`/`updated_at`.
//!
//! [`Bookkeeping::upsert`] writes canonical summaries the way the application saves its form: a new
//! month is inserted, a saved month is updated, and either sets `updated_at`. [`connector_config`] is
//! the `sql` connector configuration that reads it incrementally by `updated_at`.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{Duration, NaiveDateTime, Timelike, Utc};
use rust_decimal::Decimal;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{
    AssertSqlSafe, ConnectOptions, Connection, MySqlConnection, PgConnection, SqliteConnection,
};
use welfare_model::Summary;
use welfare_model::summary::{MEASURES, MeasureValue};

use welfare_connectors::mapping::bangkok;
use welfare_connectors::source::Secret;
use welfare_connectors::sql::{Dialect, SqlConfig, mysql_options, pg_options};

/// The report table's measure columns: the application's name and the canonical field it holds.
pub const REPORT_COLUMNS: &[(&str, &str)] = &[
    ("mem_total", "members_total"),
    ("mem_child", "members_children"),
    ("mem_work", "members_working"),
    ("mem_old", "members_elderly"),
    ("mem_new", "members_joined"),
    ("mem_out", "members_left"),
    ("money_sajja", "contrib_members"),
    ("money_codi", "grant_state"),
    ("money_local", "grant_local"),
    ("money_other", "income_other"),
    ("pay_birth", "benefits_birth"),
    ("pay_sick", "benefits_sickness"),
    ("pay_death", "benefits_death"),
    ("pay_old", "benefits_elderly"),
    ("pay_study", "benefits_education"),
    ("pay_job", "benefits_occupation"),
    ("pay_disabled", "benefits_disability"),
    ("pay_disaster", "benefits_disaster"),
    ("pay_other", "benefits_other"),
    ("benefit_person", "beneficiaries"),
    ("service_count", "services_noncash"),
    ("pay_admin", "admin_costs"),
    ("balance_end", "fund_balance"),
];

/// The column that keeps the recipients count as typed on the form ("12", "๑๒ ราย").
const FORM_TEXT_COLUMN: &str = "benefit_person";

/// How a column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Count,
    Money,
    FormText,
}

fn kind_of(column: &str, canonical: &str) -> Kind {
    let money = Summary::measure_index(canonical).is_some_and(|i| MEASURES[i].unit.is_money());
    if column == FORM_TEXT_COLUMN {
        Kind::FormText
    } else if money {
        Kind::Money
    } else {
        Kind::Count
    }
}

fn sql_type(kind: Kind, dialect: Dialect) -> &'static str {
    match (kind, dialect) {
        (Kind::Count, _) => "INT",
        (Kind::Money, Dialect::Postgres) => "NUMERIC(14,2)",
        (Kind::Money, _) => "DECIMAL(14,2)",
        (Kind::FormText, _) => "VARCHAR(20)",
    }
}

/// The schema's statements for a dialect: the application's DDL (MariaDB), adapted.
pub fn schema(dialect: Dialect) -> Vec<String> {
    let (id, small, stamp, table_options) = match dialect {
        Dialect::MySql => (
            "id INT NOT NULL AUTO_INCREMENT PRIMARY KEY",
            "TINYINT",
            "DATETIME",
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        ),
        Dialect::Postgres => ("id SERIAL PRIMARY KEY", "SMALLINT", "TIMESTAMP(0)", ""),
        Dialect::Sqlite => (
            "id INTEGER PRIMARY KEY AUTOINCREMENT",
            "TINYINT",
            "DATETIME",
            "",
        ),
    };
    let measures: String = REPORT_COLUMNS
        .iter()
        .map(|(column, canonical)| {
            format!(
                "  {column} {} NULL,\n",
                sql_type(kind_of(column, canonical), dialect)
            )
        })
        .collect();
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS tbl_org (\n  org_code VARCHAR(20) NOT NULL PRIMARY KEY,\n  \
             org_name VARCHAR(255) NOT NULL,\n  created_at {stamp} NOT NULL\n){table_options}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS tbl_monthly_report (\n  {id},\n  org_code VARCHAR(20) NOT NULL,\n  \
             rpt_year SMALLINT NOT NULL,\n  rpt_month {small} NOT NULL,\n{measures}  \
             submit_date {stamp} NULL,\n  created_at {stamp} NOT NULL,\n  updated_at {stamp} NOT NULL,\n  \
             CONSTRAINT uq_org_period UNIQUE (org_code, rpt_year, rpt_month)\n){table_options}"
        ),
        "CREATE INDEX idx_report_updated ON tbl_monthly_report (updated_at)".to_string(),
    ]
}

/// The query that reads the application: every report saved after the cursor, oldest first.
pub fn query() -> String {
    let measures: Vec<String> = REPORT_COLUMNS
        .iter()
        .map(|(column, _)| format!("r.{column}"))
        .collect();
    format!(
        "SELECT r.org_code, r.rpt_year, r.rpt_month, {}, r.submit_date, r.updated_at\n\
         FROM tbl_monthly_report r\n\
         WHERE r.updated_at > :cursor\n\
         ORDER BY r.updated_at, r.id",
        measures.join(", ")
    )
}

/// The `sql` connector configuration that reads this application at `url`: the query, the cursor
/// on `updated_at`, and the field mapping (the Buddhist-era year and the month feed `year` and
/// `month`; `submit_date` is when the fund reported).
pub fn connector_config(url: &str) -> SqlConfig {
    let mut fields: BTreeMap<String, String> = REPORT_COLUMNS
        .iter()
        .map(|(column, canonical)| (canonical.to_string(), column.to_string()))
        .collect();
    for (canonical, column) in [
        ("fund_id", "org_code"),
        ("year", "rpt_year"),
        ("month", "rpt_month"),
        ("reported_at", "submit_date"),
    ] {
        fields.insert(canonical.into(), column.into());
    }
    SqlConfig {
        cursor_column: Some("updated_at".into()),
        fields,
        ..SqlConfig::new(url, query())
    }
}

/// A connection to the application's database, as the application itself (read-write).
#[derive(Debug)]
pub struct Bookkeeping {
    conn: Conn,
}

enum Conn {
    MySql(MySqlConnection),
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conn::MySql(_) => "MySql",
            Conn::Postgres(_) => "Postgres",
            Conn::Sqlite(_) => "Sqlite",
        })
    }
}

/// One value of a written row.
#[derive(Debug, Clone)]
enum Val {
    Text(Option<String>),
    Int(Option<i64>),
    Money(Option<Decimal>),
    Stamp(Option<NaiveDateTime>),
}

/// Rows per INSERT statement: 29 parameters each stays under every back end's limit.
const CHUNK_ROWS: usize = 500;

fn stamp_text(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

impl Bookkeeping {
    /// Connects to `url` (`mysql://`/`mariadb://`, `postgres://`, `sqlite://`; a SQLite file is
    /// created when missing).
    pub async fn connect(url: &str, password: Option<&Secret>) -> Result<Self, sqlx::Error> {
        let dialect =
            Dialect::of_url(url).map_err(|e| sqlx::Error::Configuration(e.to_string().into()))?;
        let conn = match dialect {
            Dialect::MySql => Conn::MySql(mysql_options(url, password)?.connect().await?),
            Dialect::Postgres => Conn::Postgres(pg_options(url, password)?.connect().await?),
            Dialect::Sqlite => Conn::Sqlite(
                SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .connect()
                    .await?,
            ),
        };
        Ok(Bookkeeping { conn })
    }

    pub fn dialect(&self) -> Dialect {
        match self.conn {
            Conn::MySql(_) => Dialect::MySql,
            Conn::Postgres(_) => Dialect::Postgres,
            Conn::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Runs one statement (DDL, a fix-up, a deliberately bad row); returns the rows it affected.
    pub async fn execute(&mut self, sql: &str) -> Result<u64, sqlx::Error> {
        let statement = sqlx::raw_sql(AssertSqlSafe(sql.to_string()));
        Ok(match &mut self.conn {
            Conn::MySql(c) => statement.execute(c).await?.rows_affected(),
            Conn::Postgres(c) => statement.execute(c).await?.rows_affected(),
            Conn::Sqlite(c) => statement.execute(c).await?.rows_affected(),
        })
    }

    /// Creates the application's tables (once: an existing schema is left as it is).
    pub async fn create_schema(&mut self) -> Result<(), sqlx::Error> {
        if self.table_exists().await? {
            return Ok(());
        }
        for statement in schema(self.dialect()) {
            self.execute(&statement).await?;
        }
        Ok(())
    }

    async fn table_exists(&mut self) -> Result<bool, sqlx::Error> {
        let n: i64 = match &mut self.conn {
            Conn::MySql(c) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.tables \
                     WHERE table_schema = DATABASE() AND table_name = 'tbl_monthly_report'",
                )
                .fetch_one(c)
                .await?
            }
            Conn::Postgres(c) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_name = 'tbl_monthly_report'",
                )
                .fetch_one(c)
                .await?
            }
            Conn::Sqlite(c) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sqlite_master \
                     WHERE type = 'table' AND name = 'tbl_monthly_report'",
                )
                .fetch_one(c)
                .await?
            }
        };
        Ok(n > 0)
    }

    /// The `updated_at` of the next save: now (Bangkok time, to the second, as a DATETIME holds
    /// it), but always after every stamp already written, so a reader whose cursor is the latest
    /// stamp never misses a save made in the same second.
    async fn next_stamp(&mut self) -> Result<NaiveDateTime, sqlx::Error> {
        const LATEST: &str = "SELECT MAX(updated_at) FROM tbl_monthly_report";
        let latest: Option<NaiveDateTime> = match &mut self.conn {
            Conn::MySql(c) => sqlx::query_scalar(LATEST).fetch_one(c).await?,
            Conn::Postgres(c) => sqlx::query_scalar(LATEST).fetch_one(c).await?,
            Conn::Sqlite(c) => {
                let text: Option<String> = sqlx::query_scalar(LATEST).fetch_one(c).await?;
                text.and_then(|t| NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S").ok())
            }
        };
        let now = Utc::now().with_timezone(&bangkok()).naive_local();
        let now = now.with_nanosecond(0).unwrap_or(now);
        Ok(match latest {
            Some(l) if l >= now => l + Duration::seconds(1),
            _ => now,
        })
    }

    /// Saves reports as the application does: new months inserted, saved months updated; either
    /// way `updated_at` is set to the time of this save. Funds missing from `tbl_org` are added.
    /// Returns the number of reports written.
    pub async fn upsert(&mut self, rows: &[Summary]) -> Result<usize, sqlx::Error> {
        // One statement may not touch a row twice (PostgreSQL refuses): the last report wins.
        let mut latest: BTreeMap<(String, i32, u32), &Summary> = BTreeMap::new();
        for s in rows {
            latest.insert(
                (s.fund_id.to_string(), s.period.year_be(), s.period.month()),
                s,
            );
        }
        let rows: Vec<&Summary> = latest.into_values().collect();
        if rows.is_empty() {
            return Ok(0);
        }
        let stamp = self.next_stamp().await?;
        let dialect = self.dialect();
        let mut orgs: Vec<&str> = rows.iter().map(|s| s.fund_id.as_str()).collect();
        orgs.dedup();
        for chunk in orgs.chunks(CHUNK_ROWS) {
            let values: Vec<Vec<Val>> = chunk
                .iter()
                .map(|code| {
                    vec![
                        Val::Text(Some(code.to_string())),
                        Val::Text(Some(format!("กองทุนสวัสดิการชุมชน {code}"))),
                        Val::Stamp(Some(stamp)),
                    ]
                })
                .collect();
            let head = match dialect {
                Dialect::MySql => {
                    "INSERT IGNORE INTO tbl_org (org_code, org_name, created_at) VALUES "
                }
                _ => "INSERT INTO tbl_org (org_code, org_name, created_at) VALUES ",
            };
            let tail = match dialect {
                Dialect::MySql => "",
                _ => " ON CONFLICT (org_code) DO NOTHING",
            };
            self.insert(head, &values, tail).await?;
        }

        let columns: Vec<&str> = ["org_code", "rpt_year", "rpt_month"]
            .into_iter()
            .chain(REPORT_COLUMNS.iter().map(|(c, _)| *c))
            .chain(["submit_date", "created_at", "updated_at"])
            .collect();
        let head = format!(
            "INSERT INTO tbl_monthly_report ({}) VALUES ",
            columns.join(", ")
        );
        // Everything but the key and created_at is replaced on an update.
        let replaced: Vec<&str> = columns[3..]
            .iter()
            .copied()
            .filter(|c| *c != "created_at")
            .collect();
        let tail = match dialect {
            Dialect::MySql => format!(
                " ON DUPLICATE KEY UPDATE {}",
                replaced
                    .iter()
                    .map(|c| format!("{c} = VALUES({c})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => format!(
                " ON CONFLICT (org_code, rpt_year, rpt_month) DO UPDATE SET {}",
                replaced
                    .iter()
                    .map(|c| format!("{c} = excluded.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        for chunk in rows.chunks(CHUNK_ROWS) {
            let values: Vec<Vec<Val>> = chunk.iter().map(|s| report_values(s, stamp)).collect();
            self.insert(&head, &values, &tail).await?;
        }
        Ok(rows.len())
    }

    /// One multi-row INSERT: `head`, a placeholder tuple per row, `tail`.
    async fn insert(
        &mut self,
        head: &str,
        rows: &[Vec<Val>],
        tail: &str,
    ) -> Result<(), sqlx::Error> {
        let dialect = self.dialect();
        let mut sql = String::from(head);
        let mut n = 0;
        for (r, row) in rows.iter().enumerate() {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for k in 0..row.len() {
                n += 1;
                if k > 0 {
                    sql.push_str(", ");
                }
                match dialect {
                    Dialect::Postgres => sql.push_str(&format!("${n}")),
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
        }
        sql.push_str(tail);
        // Built from the fixed column list; every value is bound.
        let sql = AssertSqlSafe(sql);
        let values = rows.iter().flatten().cloned();
        // MySQL and PostgreSQL take every value as its own type; the query types differ, the code not.
        macro_rules! bind_typed {
            ($c:expr) => {{
                let mut q = sqlx::query(sql);
                for v in values {
                    q = match v {
                        Val::Text(v) => q.bind(v),
                        Val::Int(v) => q.bind(v),
                        Val::Money(v) => q.bind(v),
                        Val::Stamp(v) => q.bind(v),
                    };
                }
                q.execute($c).await?;
            }};
        }
        match &mut self.conn {
            Conn::MySql(c) => bind_typed!(c),
            Conn::Postgres(c) => bind_typed!(c),
            // SQLite has no decimal type: amounts go in as text and DECIMAL's affinity stores
            // them as numbers; times are text, as SQLite applications keep them.
            Conn::Sqlite(c) => {
                let mut q = sqlx::query(sql);
                for v in values {
                    q = match v {
                        Val::Text(v) => q.bind(v),
                        Val::Int(v) => q.bind(v),
                        Val::Money(v) => q.bind(v.map(|d| d.to_string())),
                        Val::Stamp(v) => q.bind(v.map(stamp_text)),
                    };
                }
                q.execute(c).await?;
            }
        }
        Ok(())
    }

    pub async fn close(self) -> Result<(), sqlx::Error> {
        match self.conn {
            Conn::MySql(c) => c.close().await,
            Conn::Postgres(c) => c.close().await,
            Conn::Sqlite(c) => c.close().await,
        }
    }
}

/// A summary as the application's report row (column order of the INSERT).
fn report_values(s: &Summary, stamp: NaiveDateTime) -> Vec<Val> {
    let mut values = vec![
        Val::Text(Some(s.fund_id.to_string())),
        Val::Int(Some(i64::from(s.period.year_be()))),
        Val::Int(Some(i64::from(s.period.month()))),
    ];
    for (column, canonical) in REPORT_COLUMNS {
        let index = Summary::measure_index(canonical).expect("a canonical measure");
        values.push(match (kind_of(column, canonical), s.measure(index)) {
            (Kind::FormText, MeasureValue::Count(v)) => Val::Text(v.map(|n| n.to_string())),
            (_, MeasureValue::Count(v)) => Val::Int(v),
            (_, MeasureValue::Money(v)) => Val::Money(v.map(|m| m.decimal())),
        });
    }
    // The clerk's form records Bangkok time, to the second.
    let submitted = s
        .reported_at
        .map(|t| t.with_timezone(&bangkok()).naive_local());
    values.push(Val::Stamp(
        submitted.map(|t| t.with_nanosecond(0).unwrap_or(t)),
    ));
    values.push(Val::Stamp(Some(stamp)));
    values.push(Val::Stamp(Some(stamp)));
    values
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use sqlx::{MySqlConnection, SqliteConnection};
    use welfare_model::Money;

    use super::*;
    use crate::servers::{TempDb, server_ready};
    use welfare_connectors::compliance::sample_rows;
    use welfare_connectors::mapping::FieldMapping;

    #[test]
    fn the_report_holds_every_measure_once() {
        let columns: BTreeSet<&str> = REPORT_COLUMNS.iter().map(|(_, c)| *c).collect();
        let measures: BTreeSet<&str> = MEASURES.iter().map(|m| m.name).collect();
        assert_eq!(columns, measures);
        assert_eq!(REPORT_COLUMNS.len(), MEASURES.len());
        for url in [
            "mariadb://fund@db/app",
            "postgres://fund@db/app",
            "sqlite://fund.db",
        ] {
            let config = connector_config(url);
            FieldMapping::new(&config.fields).unwrap();
            config
                .build("connector:t".into())
                .expect("the query passes the guard");
        }
        let ddl = schema(Dialect::MySql).join(";\n");
        assert!(ddl.contains("rpt_year SMALLINT NOT NULL"), "{ddl}");
        assert!(ddl.contains("money_codi DECIMAL(14,2) NULL"), "{ddl}");
        assert!(ddl.contains("benefit_person VARCHAR(20) NULL"), "{ddl}");
        assert!(
            ddl.contains("AUTO_INCREMENT") && ddl.contains("ENGINE=InnoDB"),
            "{ddl}"
        );
        assert!(
            schema(Dialect::Postgres)
                .join(";")
                .contains("NUMERIC(14,2)")
        );
    }

    /// A later save of one month: revised figures.
    fn revised() -> Summary {
        let mut s = sample_rows()[4].clone();
        s.members_total = Some(4321);
        s.contrib_members = Some(Money::parse("99.95").unwrap());
        s
    }

    #[tokio::test]
    async fn sqlite_saves_like_the_application() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("fund.db").display());
        let mut db = Bookkeeping::connect(&url, None).await.unwrap();
        db.create_schema().await.unwrap();
        db.create_schema()
            .await
            .expect("an existing schema is kept");
        assert_eq!(db.upsert(&sample_rows()).await.unwrap(), 9);
        let mut read = SqliteConnection::connect(&url).await.unwrap();
        const ROW: &str = "SELECT rpt_year, rpt_month, mem_total, typeof(money_sajja), \
             CAST(money_sajja AS TEXT), benefit_person, submit_date, created_at, updated_at \
             FROM tbl_monthly_report WHERE org_code = 'F500101' AND rpt_month = 10";
        type Row = (
            i64,
            i64,
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
        );
        let first: Row = sqlx::query_as(ROW).fetch_one(&mut read).await.unwrap();
        assert_eq!(
            (
                first.0,
                first.1,
                first.2,
                first.3.as_str(),
                first.4.as_str(),
                first.5.as_str()
            ),
            (2568, 10, 1107, "real", "30426.66", "18")
        );
        assert_eq!(
            first.6, "2025-11-10 10:30:00",
            "submitted 03:30 UTC, Bangkok time"
        );
        assert_eq!(first.7, first.8);
        let orgs: Vec<(String, String)> =
            sqlx::query_as("SELECT org_code, org_name FROM tbl_org ORDER BY org_code")
                .fetch_all(&mut read)
                .await
                .unwrap();
        assert_eq!(orgs.len(), 3);
        assert_eq!(orgs[1].1, "กองทุนสวัสดิการชุมชน F500101");

        assert_eq!(db.upsert(&[revised()]).await.unwrap(), 1);
        let second: Row = sqlx::query_as(ROW).fetch_one(&mut read).await.unwrap();
        assert_eq!((second.2, second.4.as_str()), (4321, "99.95"));
        assert_eq!(second.7, first.7, "created_at stays");
        assert!(
            second.8 > first.8,
            "updated_at moves on: {} > {}",
            second.8,
            first.8
        );
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tbl_monthly_report")
            .fetch_one(&mut read)
            .await
            .unwrap();
        assert_eq!(count, 9, "an update, not another row");
        db.close().await.unwrap();
    }

    #[tokio::test]
    async fn mariadb_saves_like_the_application() {
        if !server_ready(Dialect::MySql).await {
            return;
        }
        let temp = TempDb::create(Dialect::MySql).await;
        let url = temp.url();
        let mut db = Bookkeeping::connect(&url, None).await.unwrap();
        db.create_schema().await.unwrap();
        assert_eq!(db.upsert(&sample_rows()).await.unwrap(), 9);
        let mut read = MySqlConnection::connect(&url).await.unwrap();
        let types: Vec<(String, String)> = sqlx::query_as(
            "SELECT CAST(column_name AS CHAR), CAST(column_type AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 'tbl_monthly_report' \
             AND column_name IN ('rpt_year', 'rpt_month', 'money_codi', 'benefit_person', 'updated_at') \
             ORDER BY column_name",
        )
        .fetch_all(&mut read)
        .await
        .unwrap();
        let types: Vec<String> = types.into_iter().map(|(n, t)| format!("{n} {t}")).collect();
        assert_eq!(
            types,
            [
                "benefit_person varchar(20)",
                "money_codi decimal(14,2)",
                "rpt_month tinyint(4)",
                "rpt_year smallint(6)",
                "updated_at datetime"
            ]
        );
        const ROW: &str = "SELECT rpt_year, rpt_month, mem_total, money_sajja, money_codi, \
             submit_date, created_at, updated_at FROM tbl_monthly_report \
             WHERE org_code = 'F500101' AND rpt_month = 10";
        type Row = (
            i16,
            i8,
            i32,
            Decimal,
            Decimal,
            NaiveDateTime,
            NaiveDateTime,
            NaiveDateTime,
        );
        let first: Row = sqlx::query_as(ROW).fetch_one(&mut read).await.unwrap();
        assert_eq!((first.0, first.1, first.2), (2568, 10, 1107));
        assert_eq!(
            (first.3.to_string(), first.4.to_string()),
            ("30426.66".into(), "15000.50".into())
        );
        assert_eq!(first.5.to_string(), "2025-11-10 10:30:00");

        assert_eq!(db.upsert(&[revised()]).await.unwrap(), 1);
        let second: Row = sqlx::query_as(ROW).fetch_one(&mut read).await.unwrap();
        assert_eq!((second.2, second.3.to_string()), (4321, "99.95".into()));
        assert_eq!(second.6, first.6, "created_at stays");
        assert!(second.7 > first.7, "updated_at moves on");
        read.close().await.ok();
        db.close().await.unwrap();
    }
}
