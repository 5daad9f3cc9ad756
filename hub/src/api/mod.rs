//! The HTTP API: health, readiness, `/api/v1/…` and the map page. Every error is one JSON shape,
//! `{"error": code, "message": text}`, with the matching status (`error`).
//!
//! Layout: this module holds the router, the state every handler reaches and the few answer
//! writers several resources share; `error` the one error; `params` the shared query-string
//! parameters; each resource has its own file (`health`, `areas`, `connectors`, `indicators`,
//! `funds`, `query`, `maps`, `page`), which imports only from here, `error` and `params`;
//! `hygiene` is the middleware every answer goes through.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::trace::TraceLayer;
use welfare_connectors::Secret;
use welfare_queries::datafusion::arrow::array::RecordBatch;
use welfare_queries::datafusion::arrow::datatypes::SchemaRef;
use welfare_queries::output::{to_arrow_ipc, to_csv};
use welfare_queries::{Output, QueryError, Snapshot};

use crate::analytics::Analytics;
use crate::ingest::ConnectorEntry;
use crate::maps::Maps;
use crate::scheduler::Scheduler;
use crate::store::Store;

pub mod error;
pub mod hygiene;
pub mod page;
pub mod params;

mod areas;
mod connectors;
mod funds;
mod health;
mod indicators;
mod maps;
mod query;

pub use error::{ApiError, ErrorBody};
pub use params::Format;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// Runs connectors; `None` when the hub serves without pulling.
    pub scheduler: Option<Scheduler>,
    /// The connectors as configured.
    pub connectors: Arc<Vec<ConnectorEntry>>,
    /// The bearer token that changing requests must carry; `None` refuses every change.
    pub token: Option<Secret>,
    /// The analytics snapshot; `None` serves no indicators (answers 503).
    pub analytics: Option<Arc<Analytics>>,
    /// Coverage maps; `None` serves no maps (answers 503).
    pub maps: Option<Arc<Maps>>,
    /// A directory to serve the map page from; `None` serves the page built into the binary.
    pub web_dir: Option<std::path::PathBuf>,
}

impl AppState {
    /// A read-only state over a store: no connectors, no token.
    pub fn read_only(store: Store) -> Self {
        AppState {
            store,
            scheduler: None,
            connectors: Arc::new(Vec::new()),
            token: None,
            analytics: None,
            maps: None,
            web_dir: None,
        }
    }

    /// The analytics, or a 503 when this hub serves none.
    pub fn analytics(&self) -> Result<&Arc<Analytics>, ApiError> {
        self.analytics
            .as_ref()
            .ok_or_else(|| ApiError::unavailable("this hub serves no analytics"))
    }

    /// The maps, or a 503 when this hub serves none.
    pub fn maps(&self) -> Result<&Arc<Maps>, ApiError> {
        self.maps
            .as_ref()
            .ok_or_else(|| ApiError::unavailable("this hub serves no maps"))
    }

    /// Checks the request carries the configured bearer token (compared in constant time).
    pub fn require_token(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(token) = &self.token else {
            return Err(ApiError::unauthorized(
                "this hub has no API token configured (see api.token_env); changes are refused",
            ));
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "this request changes something: send Authorization: Bearer <token>",
                )
            })?;
        let expected = token.expose().as_bytes();
        let given = given.trim().as_bytes();
        let same = expected.len() == given.len()
            && expected
                .iter()
                .zip(given)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(ApiError::unauthorized("the bearer token is not valid"))
        }
    }
}

/// The whole service: every resource's routes, the page for any other path, the hygiene layers.
pub fn router(state: AppState) -> Router {
    let page = page::page_service(state.web_dir.as_deref());
    let api = Router::new()
        .merge(health::routes())
        .merge(areas::routes())
        .merge(connectors::routes())
        .merge(indicators::routes())
        .merge(funds::routes())
        .merge(query::routes())
        .merge(maps::routes());
    // Any other path is the page's (whose unknown files are a JSON 404).
    let api = api
        .fallback_service(page)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        });
    hygiene::layered(api.with_state(state)).layer(TraceLayer::new_for_http())
}

/// Marks an answer with the snapshot version it was computed from (`X-Snapshot-Version`).
pub fn snapshot_header(response: &mut Response, snapshot: &Snapshot) {
    if let Ok(v) = HeaderValue::from_str(&snapshot.version.to_string()) {
        response.headers_mut().insert("x-snapshot-version", v);
    }
}

/// A JSON envelope from its fields.
pub fn envelope(pairs: &[(&str, serde_json::Value)]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

/// Writes a table in the asked format: JSON (`meta` becomes the envelope around `rows`), CSV
/// (UTF-8 with a BOM, so Excel shows Thai; downloaded as `name.csv`) or an Arrow IPC stream.
pub fn table_response(
    format: Format,
    snapshot: &Snapshot,
    name: &str,
    schema: SchemaRef,
    batches: &[RecordBatch],
    json_rows: impl FnOnce() -> Result<Vec<serde_json::Value>, QueryError>,
    mut meta: serde_json::Map<String, serde_json::Value>,
) -> Result<Response, ApiError> {
    let mut response = match format {
        Format::Json => {
            let rows = json_rows()?;
            meta.insert("snapshot".into(), snapshot.version.into());
            meta.insert("count".into(), rows.len().into());
            meta.insert("rows".into(), serde_json::Value::Array(rows));
            Json(serde_json::Value::Object(meta)).into_response()
        }
        Format::Csv => {
            let body = to_csv(&schema, batches)?;
            let mut r = body.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.csv\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Format::Arrow => {
            let body = to_arrow_ipc(&schema, batches)?;
            let mut r = body.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.apache.arrow.stream"),
            );
            r
        }
    };
    snapshot_header(&mut response, snapshot);
    Ok(response)
}

/// `table_response` of an indicator output.
pub fn output_response(
    format: Format,
    snapshot: &Snapshot,
    name: &str,
    output: &Output,
    meta: serde_json::Map<String, serde_json::Value>,
) -> Result<Response, ApiError> {
    let batch = output.to_batch()?;
    table_response(
        format,
        snapshot,
        name,
        batch.schema(),
        std::slice::from_ref(&batch),
        || Ok(output.to_json_rows()),
        meta,
    )
}
