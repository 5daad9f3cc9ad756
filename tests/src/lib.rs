//! Shared helpers of the end-to-end tests: where the geography bundle is, throwaway stores on SQLite
//! and PostgreSQL, and the real `welfare-hub` binary.

pub mod corpus;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, bail};
use welfare_geo::Bundle;
use welfare_hub::Store;

/// The geography bundle: `WELFARE_HUB_GEOGRAPHY`, or `../shared/data/thailand` beside the repository.
pub fn geography_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("WELFARE_HUB_GEOGRAPHY") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/thailand")
}

/// The Thailand bundle, read and checked once per test process.
pub fn bundle() -> &'static Bundle {
    static BUNDLE: OnceLock<Bundle> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        Bundle::load(geography_dir()).unwrap_or_else(|e| {
            panic!(
                "the geography bundle at {} must load: {e}",
                geography_dir().display()
            )
        })
    })
}

/// True when the PostgreSQL half of the suites must run (CI sets it); then an unreachable server fails
/// the tests instead of skipping them.
pub fn postgres_required() -> bool {
    std::env::var("WELFARE_TEST_POSTGRES").is_ok_and(|v| v == "1")
}

/// Says, where the person running the tests sees it, that `test` did not run and why. The test
/// harness captures `println!`/`eprintln!` of passing tests; a direct write to stderr is not captured.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Whether a PostgreSQL half should run: yes under `WELFARE_TEST_POSTGRES=1` (an unreachable server
/// then fails it); otherwise it is reported as skipped.
pub fn run_postgres_half(test: &str) -> bool {
    if postgres_required() {
        return true;
    }
    skipped(test, "set WELFARE_TEST_POSTGRES=1 to run it on PostgreSQL");
    false
}

/// The PostgreSQL server the tests use; `WELFARE_TEST_POSTGRES_URL` overrides it.
fn postgres_admin_url() -> String {
    std::env::var("WELFARE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Which back end a throwaway store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// A store in a fresh SQLite file or a fresh PostgreSQL database, removed by [`TestDb::cleanup`] (or,
/// for SQLite, with its temporary directory).
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    pub store: Store,
    backend: TestBackend,
    database: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: TestBackend) -> anyhow::Result<TestDb> {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("hub.db").display());
                let store = Store::open(&url).await?;
                Ok(TestDb {
                    url,
                    store,
                    backend,
                    database: None,
                    _dir: Some(dir),
                })
            }
            TestBackend::Postgres => {
                let name = unique_name("welfare_test");
                let admin = postgres_admin_url();
                run_admin(&admin, &format!("CREATE DATABASE {name}"))
                    .await
                    .with_context(|| format!("PostgreSQL at {admin} must be reachable"))?;
                let url = replace_database(&admin, &name)?;
                let store = Store::open(&url).await?;
                Ok(TestDb {
                    url,
                    store,
                    backend,
                    database: Some(name),
                    _dir: None,
                })
            }
        }
    }

    pub fn backend(&self) -> TestBackend {
        self.backend
    }

    /// Closes the store and drops a PostgreSQL database.
    pub async fn cleanup(self) -> anyhow::Result<()> {
        self.store.close().await;
        if let Some(name) = self.database {
            run_admin(
                &postgres_admin_url(),
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await?;
        }
        Ok(())
    }
}

/// A name no other test process uses: pid, time and a counter.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

async fn run_admin(url: &str, sql: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

fn replace_database(url: &str, database: &str) -> anyhow::Result<String> {
    let Some((base, _)) = url.rsplit_once('/') else {
        bail!("PostgreSQL URL {url} has no database part");
    };
    Ok(format!("{base}/{database}"))
}

/// The `welfare-hub` binary of this workspace, built on first use with the same profile as the tests.
pub fn hub_binary() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            // target/<profile>/deps/it-<hash> → target/<profile>/welfare-hub
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .ok_or("test executable is not under target/<profile>/deps")?;
            let binary = profile_dir.join("welfare-hub");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args(["build", "--workspace", "--bins", "--quiet"])
                .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
                .status()
                .map_err(|e| format!("cannot run cargo build: {e}"))?;
            if !status.success() {
                return Err(format!("cargo build --bins failed: {status}"));
            }
            if !binary.exists() {
                return Err(format!("{} was not built", binary.display()));
            }
            Ok(binary)
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// A SQLite store file with the Thailand geography imported, made once per test process; tests copy it.
fn geography_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        // Kept for the life of the test process.
        let dir = Box::leak(Box::new(tempfile::tempdir().expect("temporary directory")));
        let path = dir.path().join("template.db");
        let url = format!("sqlite://{}", path.display());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let store = Store::open(&url).await.expect("template store");
            store
                .import_geography(bundle(), "test")
                .await
                .expect("geography import");
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(store.pool())
                .await
                .expect("checkpoint");
            store.close().await;
        });
        path
    })
}

impl TestDb {
    /// A fresh store on `backend` that holds the Thailand geography.
    pub async fn with_geography(backend: TestBackend) -> anyhow::Result<TestDb> {
        match backend {
            TestBackend::Sqlite => TestDb::sqlite_with_geography().await,
            TestBackend::Postgres => {
                let db = TestDb::new(backend).await?;
                db.store.import_geography(bundle(), "test").await?;
                Ok(db)
            }
        }
    }

    /// A fresh SQLite store that already holds the Thailand geography (copied from a template).
    pub async fn sqlite_with_geography() -> anyhow::Result<TestDb> {
        let template = tokio::task::spawn_blocking(geography_template).await?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("hub.db");
        std::fs::copy(template, &path)?;
        let url = format!("sqlite://{}", path.display());
        let store = Store::open(&url).await?;
        Ok(TestDb {
            url,
            store,
            backend: TestBackend::Sqlite,
            database: None,
            _dir: Some(dir),
        })
    }
}

/// The repository's root directory.
pub fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// True when the map page's browser test must run (CI sets it); then a missing browser, npm package
/// or page build fails it instead of skipping it.
pub fn browser_required() -> bool {
    std::env::var("WELFARE_TEST_BROWSER").is_ok_and(|v| v == "1")
}
