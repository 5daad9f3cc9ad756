//! The HTTP API: health, readiness and `/api/v1/…`. Every error is one JSON shape,
//! `{"error": code, "message": text}`, with the matching status.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_http::trace::TraceLayer;
use welfare_model::{AreaRef, Level};

use welfare_connectors::Secret;

use crate::ingest::ConnectorEntry;
use crate::scheduler::{Scheduler, TriggerError};
use crate::store::{AreaListing, Quarantined, Run, Store, StoreError};

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
    pub analytics: Option<Arc<crate::analytics::Analytics>>,
    /// Coverage maps; `None` serves no maps (answers 503).
    pub maps: Option<Arc<crate::maps::Maps>>,
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
}

/// An API failure: a status, a stable machine-readable code and a message for people.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for `Retry-After` (a 503 that will pass).
    pub retry_after: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 503 with `Retry-After`: the hub is busy, the request will pass in a moment.
    pub fn busy(retry_after: u64, message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message)
        }
    }

    pub fn invalid(parameter: &str, problem: impl std::fmt::Display) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("{parameter}: {problem}"),
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

/// Checks the request carries the configured bearer token (compared in constant time).
fn require_token(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &state.token else {
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

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            tracing::warn!(error = %e, "store unavailable");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store is unavailable; try again shortly",
            )
        } else {
            tracing::error!(error = %e, "store error");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; the hub's log has the details",
            )
        }
    }
}

impl From<crate::answers::Overloaded> for ApiError {
    fn from(e: crate::answers::Overloaded) -> Self {
        ApiError::busy(e.retry_after, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
    }
}

/// Parses the query string into `T`, whose `deny_unknown_fields` turns a misspelt parameter into a 400
/// that names it.
pub(crate) fn parse_query<T: DeserializeOwned>(raw: Option<String>) -> Result<T, ApiError> {
    let raw = raw.unwrap_or_default();
    serde_urlencoded::from_str(&raw).map_err(|e| {
        let text = e.to_string();
        if text.contains("unknown field") {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_parameter",
                text.replace("field", "parameter"),
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", text)
        }
    })
}

pub fn router(state: AppState) -> Router {
    let page = crate::page::page_service(state.web_dir.as_deref());
    let api = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/areas", get(areas))
        .route("/api/v1/connectors", get(connectors))
        .route("/api/v1/connectors/{id}", get(connector))
        .route("/api/v1/connectors/{id}/runs", get(connector_runs))
        .route("/api/v1/connectors/{id}/run", post(run_connector))
        .route("/api/v1/quarantine", get(quarantine))
        .merge(crate::indicators_api::routes())
        .merge(crate::maps_api::routes());
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
    crate::hygiene::layered(api.with_state(state)).layer(TraceLayer::new_for_http())
}

/// Liveness: the process answers.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the store answers and holds a geography.
async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let not_ready =
        |message: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", message);
    state
        .store
        .ping()
        .await
        .map_err(|e| not_ready(format!("store does not answer: {e}")))?;
    let areas = state
        .store
        .count_areas()
        .await
        .map_err(|e| not_ready(format!("store does not answer: {e}")))?;
    if areas.values().sum::<i64>() == 0 {
        return Err(not_ready(
            "no geography imported yet: run `welfare-hub geography import DIR`".into(),
        ));
    }
    let funds = state.store.count_funds().await?;
    Ok(Json(
        serde_json::json!({ "status": "ready", "areas": areas, "funds": funds }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AreasQuery {
    level: Option<String>,
    within: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AreasResponse {
    pub level: Level,
    pub within: Option<String>,
    pub count: usize,
    pub population_year: Option<i64>,
    pub total_population: i64,
    pub total_funds: i64,
    pub areas: Vec<AreaListing>,
}

/// `GET /api/v1/areas?level=province|district|subdistrict&within=CODE`
async fn areas(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<AreasResponse>, ApiError> {
    let q: AreasQuery = parse_query(raw)?;
    let level = match q.level.as_deref() {
        None => Level::Province,
        Some(text) => text
            .parse::<Level>()
            .map_err(|e| ApiError::invalid("level", e))?,
    };
    if level.code_len().is_none() {
        return Err(ApiError::invalid(
            "level",
            format!("areas are listed at province, district or subdistrict level, not {level}"),
        ));
    }
    let within = match q.within.as_deref() {
        None | Some("") => None,
        Some(text) => {
            let area: AreaRef = text.parse().map_err(|e| ApiError::invalid("within", e))?;
            if area.level() >= level {
                return Err(ApiError::invalid(
                    "within",
                    format!("{area} is a {}; it holds no {level} areas", area.level()),
                ));
            }
            if let AreaRef::Code(code) = &area
                && !state.store.area_exists(code.as_str()).await?
            {
                return Err(ApiError::invalid(
                    "within",
                    format!("no area has code {code}"),
                ));
            }
            Some(area)
        }
    };
    let areas = state.store.list_areas(level, within.as_ref()).await?;
    Ok(Json(AreasResponse {
        level,
        within: within.map(|w| w.to_string()),
        count: areas.len(),
        population_year: areas.first().map(|a| a.population_year),
        total_population: areas.iter().map(|a| a.population).sum(),
        total_funds: areas.iter().map(|a| a.funds).sum(),
        areas,
    }))
}

/// A connector as the API shows it: configuration (names of secret variables, never values), schedule
/// and what happened last.
#[derive(Debug, Serialize)]
pub struct ConnectorView {
    pub id: String,
    pub name: Option<String>,
    pub kind: &'static str,
    pub enabled: bool,
    pub schedule: Option<String>,
    pub next_run: Option<String>,
    pub running: bool,
    pub cursor: Option<String>,
    pub last_run: Option<Run>,
    pub config: serde_json::Value,
}

/// Replaces the password of any URL inside a JSON value, so a `user:password@` typed into a URL
/// never reaches an API answer.
fn redact_urls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains("://") && s.contains('@') => {
            *s = crate::store::redact_url(s);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_urls),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_urls),
        _ => {}
    }
}

/// The views of every connector, or only of `only`.
async fn connector_views(
    state: &AppState,
    only: Option<&str>,
) -> Result<Vec<ConnectorView>, ApiError> {
    let last: HashMap<String, Run> = state.store.last_runs().await?;
    let cursors: HashMap<String, Option<String>> = state
        .store
        .connectors()
        .await?
        .into_iter()
        .map(|c| (c.id, c.cursor))
        .collect();
    Ok(state
        .connectors
        .iter()
        .filter(|e| only.is_none_or(|id| e.id == id))
        .map(|e| {
            let mut config = serde_json::to_value(&e.source).unwrap_or_default();
            redact_urls(&mut config);
            ConnectorView {
                id: e.id.clone(),
                name: e.name.clone(),
                kind: e.source.kind(),
                enabled: e.enabled,
                schedule: e.schedule.clone(),
                next_run: state
                    .scheduler
                    .as_ref()
                    .filter(|_| e.enabled)
                    .and_then(|s| s.next_run(&e.id))
                    .map(crate::store::timestamp_text),
                running: state
                    .scheduler
                    .as_ref()
                    .is_some_and(|s| s.is_running(&e.id)),
                cursor: cursors.get(&e.id).cloned().flatten(),
                last_run: last.get(&e.id).cloned(),
                config,
            }
        })
        .collect())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoQuery {}

/// `GET /api/v1/connectors`
async fn connectors(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let _: NoQuery = parse_query(raw)?;
    let views = connector_views(&state, None).await?;
    Ok(Json(
        serde_json::json!({ "count": views.len(), "connectors": views }),
    ))
}

fn known(state: &AppState, id: &str) -> Result<(), ApiError> {
    if state.connectors.iter().any(|e| e.id == id) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no connector {id}")))
    }
}

/// `GET /api/v1/connectors/{id}`
async fn connector(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    known(&state, &id)?;
    let view = connector_views(&state, Some(&id))
        .await?
        .into_iter()
        .find(|v| v.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no connector {id}")))?;
    let recent = state.store.runs(Some(&id), 10).await?;
    let mut body = serde_json::to_value(view).unwrap_or_default();
    body["recent_runs"] = serde_json::to_value(recent).unwrap_or_default();
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitQuery {
    limit: Option<i64>,
}

fn limit_of(limit: Option<i64>, default: i64) -> Result<i64, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=10_000).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid(
            "limit",
            format!("{n} is not between 1 and 10000"),
        )),
    }
}

/// `GET /api/v1/connectors/{id}/runs?limit=`
async fn connector_runs(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let q: LimitQuery = parse_query(raw)?;
    known(&state, &id)?;
    let runs = state.store.runs(Some(&id), limit_of(q.limit, 50)?).await?;
    Ok(Json(
        serde_json::json!({ "connector": id, "count": runs.len(), "runs": runs }),
    ))
}

/// `POST /api/v1/connectors/{id}/run`: starts a run now (with retries) and answers at once.
async fn run_connector(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    require_token(&state, &headers)?;
    known(&state, &id)?;
    let Some(scheduler) = &state.scheduler else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this hub is not running connectors",
        ));
    };
    match scheduler.trigger(&id, "manual") {
        Ok(_) => {
            let detail = serde_json::json!({ "trigger": "manual" });
            state
                .store
                .audit("api", "connector.run", Some(&id), &detail)
                .await?;
            Ok((
                StatusCode::ACCEPTED,
                Json(serde_json::json!({
                    "status": "started",
                    "connector": id,
                    "runs": format!("/api/v1/connectors/{id}/runs"),
                })),
            ))
        }
        Err(TriggerError::AlreadyRunning(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_running",
            format!("connector {id} is running now; try again when it has finished"),
        )),
        Err(TriggerError::Unknown(_)) => Err(ApiError::not_found(format!("no connector {id}"))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuarantineQuery {
    connector: Option<String>,
    limit: Option<i64>,
    /// Include entries a later run resolved (default: open entries only).
    all: Option<bool>,
}

/// `GET /api/v1/quarantine?connector=&limit=&all=`
async fn quarantine(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let q: QuarantineQuery = parse_query(raw)?;
    if let Some(id) = &q.connector {
        known(&state, id)?;
    }
    let rows: Vec<Quarantined> = state
        .store
        .quarantine_entries(
            q.connector.as_deref(),
            q.all.unwrap_or(false),
            limit_of(q.limit, 100)?,
        )
        .await?;
    Ok(Json(
        serde_json::json!({ "count": rows.len(), "rows": rows }),
    ))
}
