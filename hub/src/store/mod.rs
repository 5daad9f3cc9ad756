//! The system of record (design section 3): areas, funds, summaries with revisions, connectors, runs,
//! quarantine and audit, on SQLite (the embedded default) or PostgreSQL.
//!
//! Both back ends run the same SQL through sqlx's `Any` driver: the schemas are kept column-for-column
//! identical (`migrations/sqlite`, `migrations/postgres`), money is stored as BIGINT satang and times as
//! ISO-8601 UTC text, which both hold exactly. Placeholders are `$1, $2, …`, which SQLite accepts too.

// One file per kind of thing the store holds, named by it.
mod analytics;
mod areas;
mod assessments;
mod audit;
mod connectors;
mod funds;
mod geography;
mod networks;
mod quarantine;
mod rows;
mod runs;
mod summaries;
mod tokens;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use log::LevelFilter;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use areas::{AreaListing, MapSource};
pub use assessments::AssessmentChange;
pub use audit::{Actor, AuditEntry, AuditFilter};
pub use connectors::{ConnectorRecord, Origin};
pub use funds::{FundChange, FundReference, RegistryFingerprint};
pub use geography::GeographyImport;
pub use networks::NetworkChange;
pub use quarantine::{Accepted, QuarantineRow, Quarantined, RAW_LIMIT, REASON_LIMIT, bounded};
pub use runs::{Run, RunCounts, RunEnd, RunStatus};
pub use summaries::UpsertOutcome;
pub use tokens::TokenRecord;

/// The store's migrations, embedded in the binary: version, description, file name and SQL, for
/// each backend (a test checks that these are exactly the files in `hub/migrations/`).
///
/// Built at run time rather than by `sqlx::migrate!`, whose proc-macro compiles every database
/// driver (SQLite's C library included) a second time for the build host. The checksums are
/// sqlx's own of the same SQL, so databases migrated by either agree.
type MigrationFile = (i64, &'static str, &'static str, &'static str);

const SQLITE_MIGRATIONS: &[MigrationFile] = &[
    (
        1,
        "initial",
        "0001_initial.sql",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "run columns and quarantine lifecycle",
        "0002_run_columns_and_quarantine_lifecycle.sql",
        include_str!("../../migrations/sqlite/0002_run_columns_and_quarantine_lifecycle.sql"),
    ),
    (
        3,
        "fund registry",
        "0003_fund_registry.sql",
        include_str!("../../migrations/sqlite/0003_fund_registry.sql"),
    ),
    (
        4,
        "connectors managed live",
        "0004_connectors_managed_live.sql",
        include_str!("../../migrations/sqlite/0004_connectors_managed_live.sql"),
    ),
    (
        5,
        "governance assessments",
        "0005_governance_assessments.sql",
        include_str!("../../migrations/sqlite/0005_governance_assessments.sql"),
    ),
];

const POSTGRES_MIGRATIONS: &[MigrationFile] = &[
    (
        1,
        "initial",
        "0001_initial.sql",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "run columns and quarantine lifecycle",
        "0002_run_columns_and_quarantine_lifecycle.sql",
        include_str!("../../migrations/postgres/0002_run_columns_and_quarantine_lifecycle.sql"),
    ),
    (
        3,
        "fund registry",
        "0003_fund_registry.sql",
        include_str!("../../migrations/postgres/0003_fund_registry.sql"),
    ),
    (
        4,
        "connectors managed live",
        "0004_connectors_managed_live.sql",
        include_str!("../../migrations/postgres/0004_connectors_managed_live.sql"),
    ),
    (
        5,
        "governance assessments",
        "0005_governance_assessments.sql",
        include_str!("../../migrations/postgres/0005_governance_assessments.sql"),
    ),
];

fn migrator(files: &'static [MigrationFile]) -> sqlx::migrate::Migrator {
    sqlx::migrate::Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, description, _, sql)| {
                sqlx::migrate::Migration::new(
                    version,
                    description.into(),
                    sqlx::migrate::MigrationType::Simple,
                    sqlx::SqlStr::from_static(sql),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect(),
    )
}

static MIGRATE_SQLITE: std::sync::LazyLock<sqlx::migrate::Migrator> =
    std::sync::LazyLock::new(|| migrator(SQLITE_MIGRATIONS));
static MIGRATE_POSTGRES: std::sync::LazyLock<sqlx::migrate::Migrator> =
    std::sync::LazyLock::new(|| migrator(POSTGRES_MIGRATIONS));

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// The most bind parameters one statement may carry (SQLite's limit is the lower).
    fn max_params(self) -> usize {
        match self {
            Backend::Sqlite => 32_000,
            Backend::Postgres => 65_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "unsupported database URL {0:?}: use sqlite://PATH (the default) or postgres://USER@HOST:PORT/DB"
    )]
    UnsupportedUrl(String),
    #[error("cannot create the directory of the SQLite file {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A transient failure (the database is unreachable, busy or timed out) is worth retrying; anything
    /// else will fail again the same way.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                ) || matches!(e, sqlx::Error::Database(db) if is_busy(db.as_ref()))
            }
            _ => false,
        }
    }
}

fn is_busy(db: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = db.code() else { return false };
    // PostgreSQL: serialization failure, deadlock, too many connections.
    if matches!(code.as_ref(), "40001" | "40P01" | "53300") {
        return true;
    }
    // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6) with any extended code (517 = BUSY_SNAPSHOT).
    code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

/// A URL with any password or query credential replaced, safe to log and show.
pub fn redact_url(url: &str) -> String {
    welfare_connectors::redact::redact(url).into_owned()
}

/// The store: a connection pool and the back end it talks to.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time. Writers queue here, in the process, instead of in SQLite's
    /// busy handler, which sleeps and retries and so wastes most of the time with many writers.
    write_gate: Arc<tokio::sync::Mutex<()>>,
}

static DRIVERS: Once = Once::new();

impl Store {
    /// Opens (and for SQLite creates) the database at `url`, in WAL mode for SQLite, and applies the
    /// migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = Backend::of_url(url)?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        // Statement logging is off: bulk statements carry thousands of placeholders, which would flood
        // the log; the store's callers log what they did and how long it took.
        let options = AnyConnectOptions::from_str(&url)?
            .log_statements(LevelFilter::Off)
            .log_slow_statements(LevelFilter::Off, Duration::from_secs(60));
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; NORMAL sync is durable in WAL mode
                        // up to the last checkpointed transaction and much faster.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        match backend {
            Backend::Sqlite => MIGRATE_SQLITE.run(&pool).await?,
            Backend::Postgres => MIGRATE_POSTGRES.run(&pool).await?,
        }
        Ok(Store {
            pool,
            backend,
            write_gate: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that will write. On SQLite it takes the write lock at `BEGIN IMMEDIATE`: a
    /// deferred transaction that reads first cannot upgrade to a writer once another connection has
    /// committed in WAL mode (SQLITE_BUSY_SNAPSHOT), while an immediate one waits its turn.
    pub(crate) async fn write_tx(&self) -> Result<WriteTx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let gate = self.write_gate.clone().lock_owned().await;
                Ok(WriteTx {
                    tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                    _gate: Some(gate),
                })
            }
            Backend::Postgres => Ok(WriteTx {
                tx: self.pool.begin().await?,
                _gate: None,
            }),
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A write transaction; on SQLite it also holds the store's write gate until it ends.
#[derive(Debug)]
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// Makes sure the SQLite file's directory exists and the URL creates the file on first run.
fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:"
        && let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let mut url = format!("sqlite://{path}");
    let query = if query.contains("mode=") {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".to_string()
    } else {
        format!("{query}&mode=rwc")
    };
    url.push('?');
    url.push_str(&query);
    Ok(url)
}

/// Now, as stored: RFC 3339 UTC with microseconds, fixed width so text order is time order.
pub fn now_text() -> String {
    timestamp_text(chrono::Utc::now())
}

pub fn timestamp_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub fn parse_timestamp(text: &str) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded migrations are exactly the files in `hub/migrations/{backend}/`, in order, with
    /// the version and description sqlx reads from each file name, and the file's SQL.
    #[test]
    fn embedded_migrations_are_the_migration_files() {
        for (backend, files) in [
            ("sqlite", SQLITE_MIGRATIONS),
            ("postgres", POSTGRES_MIGRATIONS),
        ] {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(backend);
            let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect();
            on_disk.sort();
            let embedded: Vec<String> = files.iter().map(|f| f.2.to_string()).collect();
            assert_eq!(embedded, on_disk, "{backend}: embed every migration file");
            for &(version, description, name, sql) in files {
                let (number, rest) = name.split_once('_').unwrap();
                assert_eq!(number.parse::<i64>().unwrap(), version, "{name}");
                assert_eq!(
                    rest.trim_end_matches(".sql").replace('_', " "),
                    description,
                    "{name}"
                );
                assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), sql);
            }
            let migrator = migrator(files);
            assert_eq!(migrator.iter().count(), files.len());
            assert!(migrator.locking, "migrations take the database's lock");
        }
    }

    #[test]
    fn sqlite_urls_create_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/hub.db");
        let url = prepare_sqlite_url(&format!("sqlite://{}", path.display())).unwrap();
        assert!(url.ends_with("hub.db?mode=rwc"));
        assert!(path.parent().unwrap().is_dir());
        assert_eq!(
            prepare_sqlite_url("sqlite:x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
        assert_eq!(
            Backend::of_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(matches!(
            Backend::of_url("mysql://root:secret@h/db"),
            Err(StoreError::UnsupportedUrl(u)) if !u.contains("secret")
        ));
    }
}

/// An open transaction on the store: what is written through it lands together at [`StoreTx::commit`]
/// or not at all (dropping it rolls back).
#[derive(Debug)]
pub struct StoreTx {
    tx: WriteTx,
    backend: Backend,
}

impl Store {
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        Ok(StoreTx {
            tx: self.write_tx().await?,
            backend: self.backend,
        })
    }
}

impl StoreTx {
    /// Upserts summaries inside this transaction (see [`Store::upsert_summaries`]).
    pub async fn upsert_summaries(
        &mut self,
        run_id: Option<i64>,
        rows: &[welfare_model::Summary],
    ) -> Result<UpsertOutcome, StoreError> {
        summaries::upsert_summaries_in(&mut self.tx, self.backend, run_id, rows).await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
