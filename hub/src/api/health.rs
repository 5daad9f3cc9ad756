//! `GET /healthz` (liveness) and `GET /readyz` (readiness: the store answers and holds a geography).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::{ApiError, ErrorBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Debug, Serialize, ToSchema)]
struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
struct Readiness {
    /// Always `ready`.
    #[schema(example = "ready")]
    status: &'static str,
    /// Areas stored, by level.
    areas: BTreeMap<String, i64>,
    /// Funds registered.
    funds: i64,
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "The process answers", body = Health)),
)]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the store answers and holds a geography.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "The store answers and holds a geography", body = Readiness),
        (status = 503, description = "Not ready (code `not_ready`): the store does not answer or holds no geography", body = ErrorBody),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
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
    Ok(Json(Readiness {
        status: "ready",
        areas: areas.into_iter().collect(),
        funds,
    }))
}
