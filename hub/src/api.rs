//! The HTTP API: health, readiness and `/api/v1/…`. Every error is one JSON shape,
//! `{"error": code, "message": text}`, with the matching status.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_http::trace::TraceLayer;
use welfare_model::{AreaRef, Level};

use crate::store::{AreaListing, Store, StoreError};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
}

/// An API failure: a status, a stable machine-readable code and a message for people.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

/// Parses the query string into `T`, whose `deny_unknown_fields` turns a misspelt parameter into a 400
/// that names it.
fn parse_query<T: DeserializeOwned>(raw: Option<String>) -> Result<T, ApiError> {
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
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/areas", get(areas))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
