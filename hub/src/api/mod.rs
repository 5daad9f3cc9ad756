//! The HTTP API: health, readiness, `/api/v1/…` and the map page. Every error is one JSON shape,
//! `{"error": code, "message": text}`, with the matching status (`error`).
//!
//! Layout: this module holds the router, the state every handler reaches and the few answer
//! writers several resources share; `error` the one error; `params` the shared query-string
//! parameters; each resource has its own file (`health`, `areas`, `connectors`, `indicators`,
//! `funds`, `query`, `maps`, `page`), which imports only from here, `error`, `params` and
//! `openapi`; `hygiene` is the middleware every answer goes through. Each resource registers its
//! handlers with `utoipa_axum::routes!` from their `#[utoipa::path]`, so the router and the OpenAPI
//! document (`openapi`, served at `/api/v1/openapi.json`) hold the same routes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use welfare_connectors::Secret;
use welfare_queries::datafusion::arrow::array::RecordBatch;
use welfare_queries::datafusion::arrow::datatypes::SchemaRef;
use welfare_queries::output::{
    in_words, to_arrow_ipc, to_csv, to_parquet, to_xlsx, workbook_notes,
};
use welfare_queries::{Output, QueryError, Snapshot};

use crate::access::{self, Caller, Denied, Role};
use crate::analytics::Analytics;
use crate::answers::{self, Encoded};
use crate::live::{ConnectorSet, LiveConnectors};
use crate::maps::Maps;
use crate::scheduler::Scheduler;
use crate::store::Store;

pub mod error;
pub mod hygiene;
pub mod openapi;
pub mod page;
pub mod params;

// `#[utoipa::path(params(T))]` expands to a qualified path to `T`, which the workspace's
// `unused_qualifications` lint flags in the resource modules.
#[allow(unused_qualifications)]
mod areas;
#[allow(unused_qualifications)]
mod assessments;
#[allow(unused_qualifications)]
mod audit;
#[allow(unused_qualifications)]
mod connectors;
#[allow(unused_qualifications)]
mod funds;
mod health;
#[allow(unused_qualifications)]
mod indicators;
#[allow(unused_qualifications)]
mod maps;
#[allow(unused_qualifications)]
mod networks;
#[allow(unused_qualifications)]
mod query;
#[allow(unused_qualifications)]
mod tokens;

pub use error::{ApiError, ErrorBody};
pub use params::{Format, TableFormat};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// Runs connectors; `None` when the hub serves without pulling.
    pub scheduler: Option<Scheduler>,
    /// The connectors this hub runs: the configuration's and those made over the API.
    pub connectors: ConnectorSet,
    /// The hub's configured API token (`api.token_env`), an admin's; stored tokens work beside it.
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
            connectors: ConnectorSet::default(),
            token: None,
            analytics: None,
            maps: None,
            web_dir: None,
        }
    }

    /// Making, changing and removing this hub's connectors.
    pub fn live(&self) -> LiveConnectors {
        LiveConnectors {
            store: self.store.clone(),
            set: self.connectors.clone(),
            scheduler: self.scheduler.clone(),
        }
    }

    /// The analytics, or a 503 when this hub serves none.
    pub fn analytics(&self) -> Result<&Arc<Analytics>, ApiError> {
        self.analytics
            .as_ref()
            .ok_or_else(|| ApiError::unavailable("this hub serves no analytics"))
    }

    /// Tells the analytics the registry changed (funds, networks): the snapshot is rebuilt.
    pub fn registry_changed(&self) {
        if let Some(analytics) = &self.analytics {
            analytics.mark_changed();
        }
    }

    /// The maps, or a 503 when this hub serves none.
    pub fn maps(&self) -> Result<&Arc<Maps>, ApiError> {
        self.maps
            .as_ref()
            .ok_or_else(|| ApiError::unavailable("this hub serves no maps"))
    }

    /// Who is calling: anonymous without an `Authorization` header; a wrong, revoked, expired or
    /// malformed token is refused (401), never read as anonymous.
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(Caller::anonymous());
        };
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <token>"))?;
        match access::authenticate(&self.store, self.token.as_ref(), secret).await? {
            Ok(caller) => Ok(caller),
            Err(Denied::Revoked) => Err(ApiError::unauthorized("this token has been revoked")),
            Err(Denied::Expired(day)) => Err(ApiError::unauthorized(format!(
                "this token expired on {day}"
            ))),
            Err(Denied::Malformed | Denied::Unknown) => {
                Err(ApiError::unauthorized("the bearer token is not valid"))
            }
        }
    }

    /// The caller, if its role covers `needed`: else 401 for an anonymous caller (a token is
    /// needed) and 403 for a token whose role does not reach.
    pub async fn require(&self, headers: &HeaderMap, needed: Role) -> Result<Caller, ApiError> {
        let caller = self.caller(headers).await?;
        if caller.role.covers(needed) {
            Ok(caller)
        } else if caller.role == Role::Anonymous {
            Err(ApiError::unauthorized(format!(
                "this request needs a {needed} token: send Authorization: Bearer <token>"
            )))
        } else {
            Err(ApiError::forbidden(format!(
                "a {} token may not do this: it needs {needed}",
                caller.role
            )))
        }
    }
}

/// 403 unless `caller` may edit what lies in `area`.
pub fn require_scope(caller: &Caller, area: &welfare_model::AreaCode) -> Result<(), ApiError> {
    if caller.may_edit(area) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "{} lies outside this token's provinces ({})",
            area,
            caller.provinces.join(", ")
        )))
    }
}

/// The whole service: every resource's routes, the page for any other path, the hygiene layers.
pub fn router(state: AppState) -> Router {
    let page = page::page_service(state.web_dir.as_deref());
    let (api, _) = documented_routes().split_for_parts();
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
    hygiene::layered(api.with_state(state)).layer(TraceLayer::new_for_http().on_failure(
        |failure: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span| {
            let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
            match failure {
                ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE) => {
                    busy_refusals::count();
                    tracing::debug!(latency_ms, "answered 503: busy or not ready");
                }
                other => tracing::error!(classification = %other, latency_ms, "response failed"),
            }
        },
    ))
}

/// 503s are the hub saying "busy, come back in a moment" on purpose; a crowd can bring thousands a
/// second. Each is logged at DEBUG; a WARN tells the operator how many, at most every ten seconds.
mod busy_refusals {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    const EVERY: Duration = Duration::from_secs(10);

    /// When the last WARN went out, and the 503s since.
    static SINCE_LAST: Mutex<Option<(Instant, u64)>> = Mutex::new(None);

    pub(super) fn count() {
        let mut state = SINCE_LAST.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let refused = match state.as_mut() {
            // The first one is told at once.
            None => 1,
            Some((last, since)) => {
                *since += 1;
                if now.duration_since(*last) < EVERY {
                    return;
                }
                *since
            }
        };
        tracing::warn!(
            refused,
            "requests answered 503 (busy or not ready) since the last such warning; clients were told to retry"
        );
        *state = Some((now, 0));
    }
}

/// Every route of the API with its documentation: each resource registers its handlers with
/// `utoipa_axum::routes!`, so a route cannot be served without being in the OpenAPI document.
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(health::routes())
        .merge(areas::routes())
        .merge(connectors::routes())
        .merge(indicators::routes())
        .merge(funds::routes())
        .merge(assessments::routes())
        .merge(query::routes())
        .merge(maps::routes())
        .merge(networks::routes())
        .merge(tokens::routes())
        .merge(audit::routes())
        .merge(openapi::routes())
}

/// The OpenAPI 3.1 document of every route [`router`] serves (`GET /api/v1/openapi.json`).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = documented_routes().into_openapi();
    openapi::finish(&mut document);
    document
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

/// Encodes a table in the asked format: JSON (`meta` becomes the envelope around `rows`), CSV
/// (UTF-8 with a BOM, so Excel shows Thai; downloaded as `name.csv`), an Arrow IPC stream, an XLSX
/// workbook (`name.xlsx`, with the sources on a second sheet) or Parquet (`name.parquet`).
pub fn table_answer(
    table: TableFormat,
    version: u64,
    name: &str,
    schema: SchemaRef,
    batches: &[RecordBatch],
    json_rows: impl FnOnce() -> Result<Vec<serde_json::Value>, QueryError>,
    mut meta: serde_json::Map<String, serde_json::Value>,
) -> Result<Encoded, ApiError> {
    let format = table.format;
    // Headings and coded values in words, for the spreadsheets that ask for them.
    let worded;
    let (schema, batches) = match (format, table.lang) {
        (Format::Csv | Format::Xlsx, Some(lang)) => {
            worded = in_words(&schema, batches, lang)?;
            (worded.0.clone(), worded.1.as_slice())
        }
        _ => (schema, batches),
    };
    Ok(match format {
        Format::Json => {
            let rows = json_rows()?;
            meta.insert("snapshot".into(), version.into());
            meta.insert("count".into(), rows.len().into());
            meta.insert("rows".into(), serde_json::Value::Array(rows));
            Encoded::json(json_bytes(&serde_json::Value::Object(meta))?)
        }
        Format::Csv => Encoded::new(to_csv(&schema, batches)?, format.content_type())
            .with_disposition(format!("attachment; filename=\"{name}.csv\"")),
        Format::Arrow => Encoded::new(to_arrow_ipc(&schema, batches)?, format.content_type()),
        Format::Xlsx => {
            let notes = workbook_notes(name, &[format!("Snapshot (ชุดข้อมูล) {version}")]);
            Encoded::new(to_xlsx(&schema, batches, &notes)?, format.content_type())
                .with_disposition(format!("attachment; filename=\"{name}.xlsx\""))
        }
        Format::Parquet => Encoded::new(to_parquet(&schema, batches)?, format.content_type())
            .with_disposition(format!("attachment; filename=\"{name}.parquet\"")),
    })
}

/// A JSON answer's bytes.
pub fn json_bytes(value: &serde_json::Value) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "an answer could not be written as JSON");
        ApiError::internal()
    })
}

/// [`table_answer`] of an indicator output, off the async threads (a country-wide table is MBs of
/// JSON).
pub async fn output_answer(
    format: TableFormat,
    version: u64,
    name: String,
    output: Output,
    meta: serde_json::Map<String, serde_json::Value>,
) -> Result<Encoded, ApiError> {
    tokio::task::spawn_blocking(move || {
        let batch = output.to_batch()?;
        table_answer(
            format,
            version,
            &name,
            batch.schema(),
            std::slice::from_ref(&batch),
            || Ok(output.to_json_rows()),
            meta,
        )
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "encoding an answer failed");
        ApiError::internal()
    })?
}

/// The answer to `key` from the snapshot the request resolved against: a 304 when the client holds
/// it, the cached answer, or `compute`'s (admitted a few at a time; see [`crate::answers`]).
pub async fn cached<F, Fut>(
    analytics: &Analytics,
    headers: &HeaderMap,
    snapshot: &Snapshot,
    key: String,
    compute: F,
) -> Result<Response, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Encoded, ApiError>>,
{
    answers::respond(&analytics.answers, headers, snapshot.version, &key, compute).await
}
