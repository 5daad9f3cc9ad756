//! The one integration-test binary: storage on SQLite and PostgreSQL, geography bundles, the API
//! through the router, and the real `welfare-hub` binary.

mod analytics;
mod api;
mod bundle;
mod corpus;
mod e2e;
mod faults;
mod hostile_sql;
mod http_hygiene;
mod ingest;
mod maps;
mod secrets;
mod store;
