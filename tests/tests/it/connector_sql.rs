//! The `sql` connector against the simulator's bookkeeping database on SQLite, MariaDB and
//! PostgreSQL: result columns, cursors, row limits, failures, passwords from the environment, and
//! the compliance test on each back end. The server tests are required under
//! `WELFARE_TEST_POSTGRES=1` and skipped with a `skipped:` line otherwise
//! ([`welfare_simulator::servers::server_ready`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use welfare_connectors::batch::from_batch;
use welfare_connectors::compliance::{self, Fixture};
use welfare_connectors::config::SourceConfig;
use welfare_connectors::sql::*;
use welfare_connectors::{Connector, ConnectorError, Pull, Secret, UnrecognisedColumn};
use welfare_model::{Period, Summary};
use welfare_simulator::bookkeeping::{self, Bookkeeping};
use welfare_simulator::servers::{TempDb, TempUser, admin, nowhere, server_ready, unique};

/// A bookkeeping database holding `rows`, on a server or in `dir`.
async fn filled(url: &str, rows: &[Summary]) -> Bookkeeping {
    let mut db = Bookkeeping::connect(url, None).await.expect("connect");
    db.create_schema().await.expect("schema");
    db.upsert(rows).await.expect("rows");
    db
}

fn connector(config: SqlConfig) -> Arc<dyn Connector> {
    SourceConfig::Sql(config).build("t").expect("builds")
}

fn summaries(pull: &Pull) -> Vec<Summary> {
    let mut out: Vec<Summary> = pull
        .batches
        .iter()
        .flat_map(|b| from_batch(&b.rows).expect("canonical"))
        .collect();
    out.sort_by(|a, b| (&a.fund_id, a.period).cmp(&(&b.fund_id, b.period)));
    out
}

/// The compliance fixture: the simulated bookkeeping application on one back end.
struct BookkeepingFixture {
    dialect: Dialect,
    /// SQLite files live here.
    dir: tempfile::TempDir,
    dbs: Vec<TempDb>,
    last: Option<String>,
}

impl BookkeepingFixture {
    fn new(dialect: Dialect) -> Self {
        BookkeepingFixture {
            dialect,
            dir: tempfile::tempdir().expect("temp dir"),
            dbs: Vec::new(),
            last: None,
        }
    }

    async fn new_url(&mut self) -> String {
        if self.dialect == Dialect::Sqlite {
            let path = self.dir.path().join(format!("{}.db", unique("fund")));
            return format!("sqlite://{}", path.display());
        }
        let db = TempDb::create(self.dialect).await;
        let url = db.url();
        self.dbs.push(db);
        url
    }
}

#[async_trait]
impl Fixture for BookkeepingFixture {
    async fn source(&mut self, good: &[Summary], bad: usize) -> SourceConfig {
        let url = self.new_url().await;
        let mut db = filled(&url, good).await;
        // Bad rows as clerks make them: a month 13, and words where the form wants a number.
        for k in 0..bad {
            let (org, month, column, value) = match k % 2 {
                0 => (format!("F13{k:04}"), 13, "mem_total", "5"),
                _ => (format!("F77{k:04}"), 1, "benefit_person", "'many'"),
            };
            db.execute(&format!(
                "INSERT INTO tbl_monthly_report (org_code, rpt_year, rpt_month, {column}, \
                 created_at, updated_at) VALUES ('{org}', 2568, {month}, {value}, \
                 '2025-12-01 08:00:00', '2025-12-01 08:00:00')"
            ))
            .await
            .expect("bad row");
        }
        db.close().await.ok();
        self.last = Some(url.clone());
        let mut config = bookkeeping::connector_config(&url);
        // A remarks column the mapping does not know: reported, not fatal.
        config.query = format!("SELECT q.*, 'x' AS remarks FROM ({}) q", config.query);
        SourceConfig::Sql(config)
    }

    async fn append(&mut self, rows: &[Summary]) {
        let url = self.last.clone().expect("a source first");
        let mut db = Bookkeeping::connect(&url, None).await.expect("connect");
        db.upsert(rows).await.expect("append");
        db.close().await.ok();
    }

    async fn empty(&mut self) -> SourceConfig {
        let url = self.new_url().await;
        filled(&url, &[]).await.close().await.ok();
        SourceConfig::Sql(bookkeeping::connector_config(&url))
    }

    async fn unreachable(&mut self) -> SourceConfig {
        SourceConfig::Sql(bookkeeping::connector_config(&nowhere(self.dialect)))
    }

    fn unrecognised_heading(&self) -> Option<&'static str> {
        Some("remarks")
    }
}

#[tokio::test]
async fn compliance_sqlite() {
    compliance::check(&mut BookkeepingFixture::new(Dialect::Sqlite)).await;
}

#[tokio::test]
async fn compliance_mariadb() {
    if !server_ready(Dialect::MySql).await {
        return;
    }
    compliance::check(&mut BookkeepingFixture::new(Dialect::MySql)).await;
}

#[tokio::test]
async fn compliance_postgres() {
    if !server_ready(Dialect::Postgres).await {
        return;
    }
    compliance::check(&mut BookkeepingFixture::new(Dialect::Postgres)).await;
}

fn config_error(config: &SqlConfig) -> String {
    match config.build("connector:t".into()) {
        Err(ConnectorError::Config(m)) => m,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn configuration_is_checked_when_built() {
    let mut c = bookkeeping::connector_config("mysql://fund:hunter2@db.example/app");
    let m = config_error(&c);
    assert!(m.contains("password_env") && !m.contains("hunter2"), "{m}");
    c.url = "postgres://fund@db.example/app?password=hunter2".into();
    let m = config_error(&c);
    assert!(m.contains("password_env") && !m.contains("hunter2"), "{m}");
    c.url = "oracle://db.example/app".into();
    assert!(config_error(&c).contains("oracle"));
    c.url = "mariadb://fund@db.example/app".into();
    c.password_env = Some("WELFARE_SQL_TEST_SURELY_UNSET".into());
    assert!(config_error(&c).contains("WELFARE_SQL_TEST_SURELY_UNSET"));
    c.password_env = None;
    c.build("connector:t".into())
        .expect("a good configuration builds without connecting");
    c.cursor_column = None;
    assert!(config_error(&c).contains("no cursor_column"));
    c.query = "SELECT * FROM tbl_monthly_report".into();
    c.cursor_column = Some("updated_at".into());
    assert!(config_error(&c).contains("does not use :cursor"));
    c.query = "DELETE FROM tbl_monthly_report".into();
    assert!(config_error(&c).contains("starts with DELETE"));

    // Keys, defaults and unknown keys, as the hub's TOML gives them.
    let parsed: SourceConfig = serde_json::from_value(serde_json::json!({
        "kind": "sql",
        "url": "sqlite://fund.db",
        "query": "SELECT * FROM r WHERE id > :cursor",
        "cursor_column": "id",
    }))
    .unwrap();
    let SourceConfig::Sql(parsed) = parsed else {
        panic!("sql")
    };
    assert_eq!(
        (parsed.timeout_secs, parsed.max_rows, parsed.initial_cursor),
        (60, None, None)
    );
    let unknown = serde_json::from_value::<SourceConfig>(serde_json::json!({
        "kind": "sql", "url": "sqlite://x", "query": "SELECT 1", "password": "x"
    }))
    .unwrap_err();
    assert!(unknown.to_string().contains("password"), "{unknown}");
}

/// The SQLite database of one test, in its own directory.
async fn sqlite_with(rows: &[Summary]) -> (tempfile::TempDir, String, Bookkeeping) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fund.db").display());
    let db = filled(&url, rows).await;
    (dir, url, db)
}

#[tokio::test]
async fn sqlite_result_columns_are_checked_and_unknown_ones_reported() {
    let rows = compliance::sample_rows();
    let (_dir, url, db) = sqlite_with(&rows).await;
    let mut config = bookkeeping::connector_config(&url);
    config.cursor_column = None;
    config.query = "SELECT org_code, rpt_year, rpt_month, mem_total, 'x' AS \"หมายเหตุ\", \
                    1 AS row_no FROM tbl_monthly_report ORDER BY id"
        .into();
    config.ignore = vec!["row_no".into()];
    let pull = connector(config.clone()).pull(None).await.unwrap();
    assert_eq!(pull.row_count(), 9);
    assert_eq!(
        pull.unrecognised,
        [UnrecognisedColumn {
            location: "query column 5 (หมายเหตุ)".into(),
            heading: "หมายเหตุ".into(),
        }]
    );
    // Repeats are the hub's to judge: both copies come through.
    config.query = "SELECT org_code, rpt_year, rpt_month, mem_total FROM tbl_monthly_report \
                    UNION ALL SELECT org_code, rpt_year, rpt_month, mem_total \
                    FROM tbl_monthly_report"
        .into();
    let pull = connector(config.clone()).pull(None).await.unwrap();
    assert_eq!((pull.row_count(), pull.rejected.len()), (18, 0));
    config.query = "SELECT org_code, rpt_year, rpt_month FROM tbl_monthly_report".into();
    let err = connector(config.clone()).pull(None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration: the query's result columns: no column for members_total; the \
         headings are \"org_code\", \"rpt_year\", \"rpt_month\""
    );
    // `fields` names mem_total: a second column for the field is left alone, not refused.
    config.query = "SELECT org_code, rpt_year, rpt_month, mem_total, 0 AS members \
                    FROM tbl_monthly_report ORDER BY id"
        .into();
    let pull = connector(config.clone()).pull(None).await.unwrap();
    assert_eq!(summaries(&pull)[0].members_total, rows[0].members_total);
    assert!(pull.unrecognised.is_empty());
    config.query = "SELECT org_code, rpt_year, rpt_month, mem_total AS members, \
                    mem_total AS member_count FROM tbl_monthly_report"
        .into();
    let err = connector(config).pull(None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Config(m) if m.contains("\"members\" and \"member_count\" all mean members_total")),
        "{err}"
    );
    db.close().await.ok();
}

#[tokio::test]
async fn sqlite_without_a_cursor_column_pulls_when_the_result_changes() {
    let rows = compliance::sample_rows();
    let (_dir, url, mut db) = sqlite_with(&rows).await;
    let mut config = bookkeeping::connector_config(&url);
    config.query = "SELECT org_code, rpt_year, rpt_month, mem_total FROM tbl_monthly_report \
                    ORDER BY id"
        .into();
    config.cursor_column = None;
    let c = connector(config);
    let first = c.pull(None).await.unwrap();
    assert_eq!(first.row_count(), 9);
    let digest = first.cursor.clone().unwrap();
    assert!(digest.0.starts_with("sha256:"), "{digest}");
    let same = c.pull(Some(&digest)).await.unwrap();
    assert_eq!((same.row_count(), same.cursor.as_ref()), (0, Some(&digest)));
    db.execute(
        "UPDATE tbl_monthly_report SET mem_total = 1 WHERE org_code = 'F500101' AND rpt_month = 10",
    )
    .await
    .unwrap();
    let changed = c.pull(Some(&digest)).await.unwrap();
    assert_eq!(changed.row_count(), 9, "the whole result again");
    assert_ne!(changed.cursor.as_ref(), Some(&digest));
    let got = summaries(&changed);
    assert_eq!(got[4].members_total, Some(1), "{:?}", got[4]);
    db.close().await.ok();
}

#[tokio::test]
async fn sqlite_max_rows() {
    let (_dir, url, db) = sqlite_with(&compliance::sample_rows()).await;
    let mut config = bookkeeping::connector_config(&url);
    config.max_rows = Some(5);
    let err = connector(config.clone()).pull(None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Content(m) if m.contains("max_rows (5)")),
        "{err}"
    );
    config.max_rows = Some(9);
    assert_eq!(connector(config).pull(None).await.unwrap().row_count(), 9);

    db.close().await.ok();
}

/// Saves `rows`, then a revision of one month and a new month: a pull from the first cursor
/// returns exactly those two, with the revised figures.
async fn only_newer_rows(url: &str) {
    let rows: Vec<Summary> = compliance::sample_rows()
        .into_iter()
        .map(|mut s| {
            s.source = Some("connector:t".into());
            s
        })
        .collect();
    let mut db = filled(url, &rows).await;
    let c = connector(bookkeeping::connector_config(url));
    let first = c.pull(None).await.unwrap();
    assert_eq!(first.row_count(), 9);
    let cursor = first.cursor.clone().unwrap();
    let stamp = chrono::NaiveDateTime::parse_from_str(&cursor.0, "%Y-%m-%d %H:%M:%S")
        .expect("a DATETIME cursor");
    assert_eq!(cursor.0, stamp.format("%Y-%m-%d %H:%M:%S").to_string());
    assert_eq!(c.pull(Some(&cursor)).await.unwrap().row_count(), 0);

    let mut revised = rows[1].clone();
    revised.members_total = Some(4321);
    revised.fund_balance = Some(welfare_model::Money::parse("98765.43").unwrap());
    let mut new_month = rows[2].clone();
    new_month.period = Period::parse("2025-12").unwrap();
    db.upsert(&[revised.clone(), new_month.clone()])
        .await
        .unwrap();
    db.close().await.ok();

    let next = c.pull(Some(&cursor)).await.unwrap();
    assert_eq!(summaries(&next), vec![revised.clone(), new_month.clone()]);
    let later = next.cursor.clone().unwrap();
    assert!(later.0 > cursor.0, "{later} after {cursor}");
    // Locations name the row and its key columns.
    assert!(
        next.batches[0].locations[0]
            .starts_with("query row 1 (org_code=F100101, rpt_year=2568, rpt_month="),
        "{:?}",
        next.batches[0].locations
    );
    // initial_cursor starts there too.
    let mut config = bookkeeping::connector_config(url);
    config.initial_cursor = Some(cursor.0.clone());
    assert_eq!(
        summaries(&connector(config).pull(None).await.unwrap()),
        vec![revised, new_month]
    );
}

/// An id cursor: the first pull reads from the lowest integer, later ones from the last id; a
/// date bound against the id column is refused rather than compared as a number.
async fn id_cursor(url: &str, dialect: Dialect) {
    let mut db = filled(url, &compliance::sample_rows()).await;
    let mut config = bookkeeping::connector_config(url);
    config.query = "SELECT id, org_code, rpt_year, rpt_month, mem_total FROM tbl_monthly_report \
                    WHERE id > :cursor ORDER BY id"
        .into();
    config.cursor_column = Some("id".into());
    let c = connector(config.clone());
    let all = c.pull(None).await.unwrap();
    assert_eq!(
        (all.row_count(), all.cursor.clone().unwrap().0.as_str()),
        (9, "9")
    );
    let none = c.pull(all.cursor.as_ref()).await.unwrap();
    assert_eq!((none.row_count(), none.cursor), (0, all.cursor.clone()));
    let mut more = compliance::later_rows();
    more.truncate(1);
    db.upsert(&more).await.unwrap();
    db.close().await.ok();
    let next = c.pull(all.cursor.as_ref()).await.unwrap();
    let got = summaries(&next);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].members_total, got[0].period),
        (more[0].members_total, more[0].period)
    );
    assert_eq!(next.cursor.unwrap().0, "10");
    config.initial_cursor = Some("1970-01-01 00:00:00".into());
    let err = connector(config).pull(None).await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Config(_)),
        "{dialect:?}: {err}"
    );
}

#[tokio::test]
async fn sqlite_cursor_returns_only_newer_rows() {
    let dir = tempfile::tempdir().unwrap();
    only_newer_rows(&format!("sqlite://{}", dir.path().join("a.db").display())).await;
    id_cursor(
        &format!("sqlite://{}", dir.path().join("b.db").display()),
        Dialect::Sqlite,
    )
    .await;
}

#[tokio::test]
async fn mariadb_cursor_returns_only_newer_rows() {
    if !server_ready(Dialect::MySql).await {
        return;
    }
    let (a, b) = (
        TempDb::create(Dialect::MySql).await,
        TempDb::create(Dialect::MySql).await,
    );
    only_newer_rows(&a.url()).await;
    id_cursor(&b.url(), Dialect::MySql).await;
}

#[tokio::test]
async fn postgres_cursor_returns_only_newer_rows() {
    if !server_ready(Dialect::Postgres).await {
        return;
    }
    let (a, b) = (
        TempDb::create(Dialect::Postgres).await,
        TempDb::create(Dialect::Postgres).await,
    );
    only_newer_rows(&a.url()).await;
    id_cursor(&b.url(), Dialect::Postgres).await;
}

/// A query that fails is a permanent configuration error carrying the database's message; a
/// write slipped into the query is refused by the read-only transaction; a slow query times
/// out; nothing listening is transient.
async fn failures(
    url: &str,
    dialect: Dialect,
    write_function: &[&str],
    read_only: &str,
    sleep: &str,
) {
    let mut db = filled(url, &compliance::sample_rows()).await;
    let mut config = bookkeeping::connector_config(url);
    config.query = "SELECT nope FROM tbl_monthly_report WHERE updated_at > :cursor".into();
    let err = connector(config).check().await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Config(m) if m.contains("nope")) && !err.is_transient(),
        "{err}"
    );

    db.execute("CREATE TABLE t_log (n INT)").await.unwrap();
    for statement in write_function {
        db.execute(statement).await.unwrap();
    }
    let mut config = bookkeeping::connector_config(url);
    config.cursor_column = None;
    config.query = "SELECT welfare_write() AS n".into();
    let err = connector(config).pull(None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Config(m) if m.contains(read_only)) && !err.is_transient(),
        "{dialect:?}: {err}"
    );
    let mut config = bookkeeping::connector_config(url);
    config.cursor_column = None;
    config.fund_id = Some("F1".into());
    config.query = "SELECT '2025-10' AS period, COUNT(*) AS members_total FROM t_log".into();
    let pull = connector(config).pull(None).await.unwrap();
    assert_eq!(
        summaries(&pull)[0].members_total,
        Some(0),
        "nothing was written"
    );

    let mut config = bookkeeping::connector_config(url);
    config.cursor_column = None;
    config.query = sleep.into();
    config.timeout_secs = 1;
    let started = std::time::Instant::now();
    let err = connector(config).pull(None).await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Timeout(_)),
        "{dialect:?}: {err}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    db.close().await.ok();

    let gone = connector(bookkeeping::connector_config(&nowhere(dialect)));
    let err = gone.check().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unreachable(_)), "{err}");
}

#[tokio::test]
async fn mariadb_failures() {
    if !server_ready(Dialect::MySql).await {
        return;
    }
    let db = TempDb::create(Dialect::MySql).await;
    failures(
        &db.url(),
        Dialect::MySql,
        &[
            "CREATE FUNCTION welfare_write() RETURNS INT MODIFIES SQL DATA \
           BEGIN INSERT INTO t_log VALUES (1); RETURN 1; END",
        ],
        "READ ONLY transaction",
        "SELECT SLEEP(5) AS n",
    )
    .await;
}

#[tokio::test]
async fn postgres_failures() {
    if !server_ready(Dialect::Postgres).await {
        return;
    }
    let db = TempDb::create(Dialect::Postgres).await;
    failures(
        &db.url(),
        Dialect::Postgres,
        &["CREATE FUNCTION welfare_write() RETURNS INT LANGUAGE sql \
           AS 'INSERT INTO t_log VALUES (1) RETURNING 1'"],
        "read-only transaction",
        "SELECT pg_sleep(5) AS n",
    )
    .await;
}

#[tokio::test]
async fn sqlite_unreachable_is_transient() {
    let c = connector(bookkeeping::connector_config(&nowhere(Dialect::Sqlite)));
    let err = c.pull(None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unreachable(_)), "{err}");
}

/// PostgreSQL infers a TIMESTAMPTZ :cursor from the comparison; the cursor is Bangkok time.
#[tokio::test]
async fn postgres_timestamptz_cursor() {
    if !server_ready(Dialect::Postgres).await {
        return;
    }
    let temp = TempDb::create(Dialect::Postgres).await;
    let mut db = Bookkeeping::connect(&temp.url(), None).await.unwrap();
    db.execute(
        "CREATE TABLE reports (fund TEXT, month TEXT, members INT, paid MONEY, \
         changed TIMESTAMPTZ)",
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO reports VALUES ('F1', 'ต.ค. ๒๕๖๘', 10, 12.5, '2025-11-10 02:30:00+00'), \
         ('F2', '2025-10', 20, NULL, '2025-11-10 02:29:59.5+00')",
    )
    .await
    .unwrap();
    let mut config = SqlConfig::new(
        temp.url(),
        "SELECT fund, month AS period, members, paid, changed FROM reports \
         WHERE changed > :cursor",
    );
    config.cursor_column = Some("changed".into());
    config.fields = BTreeMap::from([
        ("fund_id".to_string(), "fund".to_string()),
        ("members_total".to_string(), "members".to_string()),
        ("benefits_other".to_string(), "paid".to_string()),
    ]);
    let c = connector(config);
    let pull = c.pull(None).await.unwrap();
    let got = summaries(&pull);
    assert_eq!(got.len(), 2, "{:?}", pull.rejected);
    assert_eq!(
        (got[0].period.to_string(), got[0].members_total),
        ("2025-10".into(), Some(10))
    );
    assert_eq!(got[0].benefits_other.unwrap().to_string(), "12.50");
    assert_eq!(pull.cursor.as_ref().unwrap().0, "2025-11-10 09:30:00");
    assert_eq!(c.pull(pull.cursor.as_ref()).await.unwrap().row_count(), 0);
    db.execute("INSERT INTO reports VALUES ('F3', '2025-10', 30, 0, '2025-11-10 02:30:01+00')")
        .await
        .unwrap();
    db.close().await.ok();
    let next = c.pull(pull.cursor.as_ref()).await.unwrap();
    assert_eq!(summaries(&next)[0].fund_id.as_str(), "F3");
}

const CHILD_URL: &str = "WELFARE_SQL_TEST_CHILD_URL";

const CHILD_PASSWORD: &str = "WELFARE_SQL_TEST_CHILD_PASSWORD";

/// Runs only as the child of `mariadb_password_from_the_environment`, which sets the variables
/// (a test cannot set its own environment without `unsafe`).
#[tokio::test]
async fn password_env_child() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let password = std::env::var(CHILD_PASSWORD).unwrap();
    let mut config = bookkeeping::connector_config(&url);
    config.password_env = Some(CHILD_PASSWORD.into());
    let c = connector(config.clone());
    assert!(!format!("{c:?}").contains(&password), "{c:?}");
    assert!(format!("{c:?}").contains("Secret(***)"));
    c.check()
        .await
        .expect("the password from the environment works");
    let pull = c.pull(None).await.unwrap();
    assert_eq!(pull.row_count(), 9);
    config.query = "SELECT nope FROM tbl_monthly_report WHERE updated_at > :cursor".into();
    let err = connector(config).pull(None).await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains(&password), "{err}");
    println!("password_env_child: read 9 rows");
}

#[tokio::test]
async fn mariadb_password_from_the_environment() {
    if !server_ready(Dialect::MySql).await {
        return;
    }
    let temp = TempDb::create(Dialect::MySql).await;
    filled(&temp.url(), &compliance::sample_rows())
        .await
        .close()
        .await
        .ok();
    let user = TempUser(unique("welfare_ro"));
    let password = format!("pw-{}-ทดสอบ", std::process::id());
    admin(
        Dialect::MySql,
        &format!("CREATE USER '{}'@'%' IDENTIFIED BY '{password}'", user.0),
    )
    .await;
    admin(
        Dialect::MySql,
        &format!("GRANT SELECT ON {}.* TO '{}'@'%'", temp.name, user.0),
    )
    .await;
    let url = format!("mysql://{}@127.0.0.1:3306/{}", user.0, temp.name);

    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "connector_sql::password_env_child",
            "--nocapture",
        ])
        .env(CHILD_URL, &url)
        .env(CHILD_PASSWORD, &password)
        .output()
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && out.contains("password_env_child: read 9 rows"),
        "child: {out}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );

    // A wrong password is refused credentials: permanent, and no password in the message.
    let wrong = SqlConnector::new(
        bookkeeping::connector_config(&url),
        "connector:t".into(),
        Some(Secret::new("not-the-password")),
    )
    .unwrap();
    let err = wrong.pull(None).await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Auth(_)) && !err.is_transient(),
        "{err}"
    );
    let text = format!("{err} {err:?} {wrong:?}");
    assert!(
        !text.contains("not-the-password") && !text.contains(&password),
        "{text}"
    );
}
