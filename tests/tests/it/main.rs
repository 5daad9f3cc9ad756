//! The one integration-test binary: storage on SQLite and PostgreSQL, geography bundles, the API
//! through the router, the connector kinds against the fund-system simulator (with the compliance
//! test on every kind), and the real `welfare-hub` binary.

mod access;
mod analytics;
mod api;
mod bundle;
mod connector_file;
mod connector_file_structure;
mod connector_http_json;
mod connector_sql;
mod corpus;
mod e2e;
mod faults;
mod hostile_sql;
mod http_hygiene;
mod ingest;
mod maps;
mod networks;
mod openapi;
mod registry;
mod secrets;
mod store;
