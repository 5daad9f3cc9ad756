//! `GET /healthz` (liveness) and `GET /readyz` (readiness: the store answers and holds a geography).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::AppState;
use super::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
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
