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
    if state.token.is_none() {
        return Err(ApiError::unauthorized(
            "this hub has no API token configured (see api.token_env); this request is refused",
        ));
    }
    if authorized(state, headers)? {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            "this request needs the API token: send Authorization: Bearer <token>",
        ))
    }
}

/// Whether the request carries the configured token: `false` without an `Authorization` header
/// (an anonymous caller), an error for a wrong or malformed one (never silently read as anonymous).
fn authorized(state: &AppState, headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(false);
    };
    let Some(token) = &state.token else {
        return Err(ApiError::unauthorized(
            "this hub has no API token configured (see api.token_env); send no Authorization",
        ));
    };
    let given = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <token>"))?;
    let expected = token.expose().as_bytes();
    let given = given.trim().as_bytes();
    let same = expected.len() == given.len()
        && expected
            .iter()
            .zip(given)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(true)
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

/// A connector as the API shows it to a caller with the token: configuration (names of secret
/// variables, never values; credentials in URLs masked), schedule and what happened last.
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

/// What anyone may see of a connector: no location, query, cursor or error (those need the token).
#[derive(Debug, Serialize)]
pub struct PublicConnectorView {
    pub id: String,
    pub kind: &'static str,
    pub enabled: bool,
    pub schedule: Option<String>,
    pub last_run: Option<PublicRun>,
}

/// The status of a run, as anyone may see it.
#[derive(Debug, Serialize)]
pub struct PublicRun {
    pub status: crate::store::RunStatus,
    pub finished_at: Option<String>,
}

impl ConnectorView {
    fn public(self) -> PublicConnectorView {
        PublicConnectorView {
            id: self.id,
            kind: self.kind,
            enabled: self.enabled,
            schedule: self.schedule,
            last_run: self.last_run.map(|r| PublicRun {
                status: r.status,
                finished_at: r.finished_at,
            }),
        }
    }
}

/// The views of the configured connectors in id order: those after `after`, at most `limit` (all
/// when `None`), or only `only`.
async fn connector_views(
    state: &AppState,
    only: Option<&str>,
    after: Option<&str>,
    limit: Option<usize>,
) -> Result<Vec<ConnectorView>, ApiError> {
    let mut entries: Vec<&ConnectorEntry> = state
        .connectors
        .iter()
        .filter(|e| only.is_none_or(|id| e.id == id))
        .filter(|e| after.is_none_or(|a| e.id.as_str() > a))
        .collect();
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    entries.truncate(limit.unwrap_or(usize::MAX));
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let last: HashMap<String, Run> = state.store.last_runs().await?;
    let cursors: HashMap<String, Option<String>> = state
        .store
        .connectors()
        .await?
        .into_iter()
        .map(|c| (c.id, c.cursor))
        .collect();
    Ok(entries
        .into_iter()
        .map(|e| {
            let mut config = serde_json::to_value(&e.source).unwrap_or_default();
            welfare_connectors::redact::redact_json(&mut config);
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
                last_run: last.get(&e.id).cloned().map(redacted_run),
                config,
            }
        })
        .collect())
}

/// A run with any credential in its error masked (runs stored before masking existed included).
fn redacted_run(mut run: Run) -> Run {
    if let Some(e) = &run.error
        && let std::borrow::Cow::Owned(masked) = welfare_connectors::redact::redact(e)
    {
        run.error = Some(masked);
    }
    run
}

/// `limit` and `cursor` of a paged listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The most items one page of a listing holds.
const PAGE_MAX: i64 = 1000;

fn limit_of(limit: Option<i64>, default: i64) -> Result<i64, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid(
            "limit",
            format!("{n} is not between 1 and {PAGE_MAX}"),
        )),
    }
}

/// A cursor of a listing ordered by id: the last id of the previous page.
fn id_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => c.parse::<i64>().map(Some).map_err(|_| {
            ApiError::invalid(
                "cursor",
                "not a cursor this listing gave (use next_cursor of the previous page)",
            )
        }),
    }
}

/// The cursor of the page after one that held `count` of `limit` items, the last with `last`.
fn next_cursor(count: usize, limit: i64, last: Option<String>) -> serde_json::Value {
    if count as i64 == limit {
        last.map_or(serde_json::Value::Null, serde_json::Value::String)
    } else {
        serde_json::Value::Null
    }
}

/// `GET /api/v1/connectors?limit=&cursor=`: in id order, 100 a page (at most 1,000). Anyone sees
/// each connector's id, kind, enabled, schedule and last run status; with the token, also its
/// configuration, cursor and last run in full.
async fn connectors(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let q: PageQuery = parse_query(raw)?;
    let limit = limit_of(q.limit, 100)?;
    let full = authorized(&state, &headers)?;
    let after = q.cursor.as_deref().filter(|c| !c.is_empty());
    let views = connector_views(&state, None, after, Some(limit as usize)).await?;
    let next = next_cursor(views.len(), limit, views.last().map(|v| v.id.clone()));
    let listed = if full {
        serde_json::to_value(&views)
    } else {
        serde_json::to_value(
            views
                .into_iter()
                .map(ConnectorView::public)
                .collect::<Vec<_>>(),
        )
    }
    .unwrap_or_default();
    Ok(Json(serde_json::json!({
        "count": listed.as_array().map_or(0, Vec::len),
        "connectors": listed,
        "next_cursor": next,
    })))
}

fn known(state: &AppState, id: &str) -> Result<(), ApiError> {
    if state.connectors.iter().any(|e| e.id == id) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no connector {id}")))
    }
}

/// `GET /api/v1/connectors/{id}`: as in the listing; with the token, also its ten latest runs.
async fn connector(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    known(&state, &id)?;
    let full = authorized(&state, &headers)?;
    let view = connector_views(&state, Some(&id), None, None)
        .await?
        .into_iter()
        .find(|v| v.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no connector {id}")))?;
    if !full {
        return Ok(Json(
            serde_json::to_value(view.public()).unwrap_or_default(),
        ));
    }
    let recent: Vec<Run> = state
        .store
        .runs(Some(&id), 10)
        .await?
        .into_iter()
        .map(redacted_run)
        .collect();
    let mut body = serde_json::to_value(view).unwrap_or_default();
    body["recent_runs"] = serde_json::to_value(recent).unwrap_or_default();
    Ok(Json(body))
}

/// `GET /api/v1/connectors/{id}/runs?limit=&cursor=` (token): newest first, 50 a page.
async fn connector_runs(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let q: PageQuery = parse_query(raw)?;
    require_token(&state, &headers)?;
    known(&state, &id)?;
    let limit = limit_of(q.limit, 50)?;
    let runs: Vec<Run> = state
        .store
        .runs_page(Some(&id), limit, id_cursor(q.cursor.as_deref())?)
        .await?
        .into_iter()
        .map(redacted_run)
        .collect();
    let next = next_cursor(runs.len(), limit, runs.last().map(|r| r.id.to_string()));
    Ok(Json(serde_json::json!({
        "connector": id,
        "count": runs.len(),
        "runs": runs,
        "next_cursor": next,
    })))
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
    cursor: Option<String>,
    /// Include entries a later run resolved (default: open entries only).
    all: Option<bool>,
}

/// `GET /api/v1/quarantine?connector=&limit=&cursor=&all=` (token: entries hold fund-level rows
/// as the source wrote them): newest first, 100 a page.
async fn quarantine(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let q: QuarantineQuery = parse_query(raw)?;
    require_token(&state, &headers)?;
    if let Some(id) = &q.connector {
        known(&state, id)?;
    }
    let limit = limit_of(q.limit, 100)?;
    let rows: Vec<Quarantined> = state
        .store
        .quarantine_page(
            q.connector.as_deref(),
            q.all.unwrap_or(false),
            limit,
            id_cursor(q.cursor.as_deref())?,
        )
        .await?;
    let next = next_cursor(rows.len(), limit, rows.last().map(|r| r.id.to_string()));
    Ok(Json(
        serde_json::json!({ "count": rows.len(), "rows": rows, "next_cursor": next }),
    ))
}
