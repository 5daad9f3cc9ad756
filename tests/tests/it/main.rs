//! The one integration-test binary: storage on SQLite and PostgreSQL, geography bundles, the API
//! through the router, the connector kinds against the fund-system simulator (with the compliance
//! test on every kind), and the real `welfare-hub` binary.

/// Runs a test on SQLite, and on PostgreSQL under `WELFARE_TEST_POSTGRES=1` (reported as skipped
/// otherwise): `MODULE::NAME::sqlite`, `MODULE::NAME::postgres`. Defined before the modules so that
/// each of them can use it.
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() -> anyhow::Result<()> {
                super::$name(welfare_tests::TestBackend::Sqlite).await
            }

            #[tokio::test]
            async fn postgres() -> anyhow::Result<()> {
                if !welfare_tests::run_postgres_half(concat!(module_path!(), "::postgres")) {
                    return Ok(());
                }
                super::$name(welfare_tests::TestBackend::Postgres).await
            }
        }
    };
}

mod access;
mod analytics;
mod api;
mod assessments;
mod bundle;
mod connector_file;
mod connector_file_structure;
mod connector_http_json;
mod connector_sql;
mod corpus;
mod e2e;
mod exports;
mod faults;
mod hostile_sql;
mod http_hygiene;
mod ingest;
mod maps;
mod networks;
mod openapi;
mod operate;
mod registry;
mod secrets;
mod store;
