//! `GET /api/v1/connectors`, `/connectors/{id}`, `/connectors/{id}/runs`, `POST
//! /connectors/{id}/run` (with the bearer token) and `GET /api/v1/quarantine`: the configured
//! connectors, their runs and the rows ingestion put aside.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;
use super::params::{NoQuery, limit_of, parse_query};
use crate::scheduler::TriggerError;
use crate::store::{Quarantined, Run};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/connectors", get(connectors))
        .route("/api/v1/connectors/{id}", get(connector))
        .route("/api/v1/connectors/{id}/runs", get(connector_runs))
        .route("/api/v1/connectors/{id}/run", post(run_connector))
        .route("/api/v1/quarantine", get(quarantine))
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
    state.require_token(&headers)?;
    known(&state, &id)?;
    let Some(scheduler) = &state.scheduler else {
        return Err(ApiError::unavailable("this hub is not running connectors"));
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
