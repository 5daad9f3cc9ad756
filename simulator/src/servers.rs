//! Throwaway databases on the test servers (MariaDB and PostgreSQL on loopback), for the tests of
//! the bookkeeping database and of the `sql` connector. A test asks [`server_ready`] first: with
//! `WELFARE_TEST_POSTGRES=1` (CI sets it) an unreachable server fails the test; otherwise the test is
//! skipped with a `SKIPPED:` line on standard error (not captured by the test harness).

use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use welfare_connectors::sql::Dialect;

use crate::bookkeeping::Bookkeeping;

/// The servers of this machine and CI; tests make their own databases there.
pub fn server(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::MySql => "mysql://root@127.0.0.1:3306",
        Dialect::Postgres => "postgres://postgres@127.0.0.1:5432",
        Dialect::Sqlite => unreachable!("SQLite needs no server"),
    }
}

/// Nothing listens on port 1.
pub fn nowhere(dialect: Dialect) -> String {
    match dialect {
        Dialect::MySql => "mysql://root@127.0.0.1:1/test".into(),
        Dialect::Postgres => "postgres://postgres@127.0.0.1:1/test".into(),
        Dialect::Sqlite => "sqlite:///nonexistent-welfare-dir/fund.db".into(),
    }
}

/// Runs one statement on a server's `test` database.
pub async fn admin(dialect: Dialect, sql: &str) {
    let mut db = Bookkeeping::connect(&format!("{}/test", server(dialect)), None)
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", dialect.name()));
    db.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    db.close().await.ok();
}

/// Whether the server is there. Unreachable fails the test when `WELFARE_TEST_POSTGRES=1` (CI
/// sets it), and otherwise skips it with a notice.
pub async fn server_ready(dialect: Dialect) -> bool {
    let url = format!("{}/test", server(dialect));
    match Bookkeeping::connect(&url, None).await {
        Ok(db) => {
            db.close().await.ok();
            true
        }
        Err(e) if std::env::var("WELFARE_TEST_POSTGRES").as_deref() == Ok("1") => {
            panic!(
                "{} at {url} is unreachable ({e}); WELFARE_TEST_POSTGRES=1 requires it",
                dialect.name()
            )
        }
        Err(e) => {
            // Written to stderr directly: the test harness captures eprintln! of passing tests, and a
            // skip must be seen.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {} at {url} is unreachable ({e}); set WELFARE_TEST_POSTGRES=1 to fail instead",
                dialect.name()
            );
            false
        }
    }
}

/// A name no other test process or test uses: the process id and a counter.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, AtomicOrdering::Relaxed)
    )
}

/// Runs cleanup SQL from a destructor (also when a test panics): on its own thread and runtime,
/// since the test's runtime may be gone.
pub fn cleanup(dialect: Dialect, sql: String) {
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(admin(dialect, &sql));
    })
    .join();
}

/// A database of its own on a server, dropped with the value.
#[derive(Debug)]
pub struct TempDb {
    dialect: Dialect,
    pub name: String,
}

impl TempDb {
    pub async fn create(dialect: Dialect) -> TempDb {
        let name = unique("welfare_sql");
        let options = if dialect == Dialect::MySql {
            " CHARACTER SET utf8mb4"
        } else {
            ""
        };
        admin(dialect, &format!("CREATE DATABASE {name}{options}")).await;
        TempDb { dialect, name }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", server(self.dialect), self.name)
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let force = if self.dialect == Dialect::Postgres {
            " WITH (FORCE)"
        } else {
            ""
        };
        cleanup(
            self.dialect,
            format!("DROP DATABASE IF EXISTS {}{force}", self.name),
        );
    }
}

/// A MariaDB user of its own (its name), dropped with the value.
#[derive(Debug)]
pub struct TempUser(pub String);

impl Drop for TempUser {
    fn drop(&mut self) {
        cleanup(
            Dialect::MySql,
            format!("DROP USER IF EXISTS '{}'@'%'", self.0),
        );
    }
}
