//! `GET /api/v1/connectors`, `/connectors/{id}`, `/connectors/{id}/runs`, `POST
//! /connectors/{id}/run` (with the bearer token) and `GET /api/v1/quarantine`: the configured
//! connectors, their runs and the rows ingestion put aside.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::params::{PageQuery, id_cursor, limit_of, next_cursor, parse_query};
use crate::access::Role;
use crate::ingest::ConnectorEntry;
use crate::scheduler::TriggerError;
use crate::store::{Quarantined, Run};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(connectors))
        .routes(routes!(connector))
        .routes(routes!(connector_runs))
        .routes(routes!(run_connector))
        .routes(routes!(quarantine))
}

/// A connector as the API shows it to a caller with the token: configuration (names of secret
/// variables, never values; credentials in URLs masked), schedule and what happened last.
#[derive(Debug, Serialize, ToSchema)]
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
/// With the token, a connector is shown in full ([`ConnectorView`], which holds these fields too).
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicConnectorView {
    pub id: String,
    pub kind: &'static str,
    pub enabled: bool,
    pub schedule: Option<String>,
    pub last_run: Option<PublicRun>,
}

/// The status of a run, as anyone may see it.
#[derive(Debug, Serialize, ToSchema)]
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

/// The shape of a page of `/connectors`.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct ConnectorsPage {
    count: u64,
    /// Anonymous callers get [`PublicConnectorView`]s; with the token, [`ConnectorView`]s.
    connectors: Vec<PublicConnectorView>,
    /// The `cursor` of the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// The configured connectors in id order, 100 a page (at most 1,000). Anyone sees each one's id,
/// kind, enabled, schedule and last run status; with the token, also its configuration (credentials
/// masked), cursor and last run in full.
#[utoipa::path(
    get,
    path = "/api/v1/connectors",
    tag = "connectors",
    params(PageQuery),
    security((), ("bearer_token" = [])),
    responses(
        (status = 200, description = "A page of connectors", body = ConnectorsPage),
        (status = 401, description = "A wrong or malformed token (no token is an anonymous caller)", body = ErrorBody),
    ),
)]
async fn connectors(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let q: PageQuery = parse_query(raw)?;
    let limit = limit_of(q.limit, 100)?;
    let full = state.caller(&headers).await?.role.covers(Role::Admin);
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

/// One connector as in the listing; with the token, in full with its ten latest runs
/// (`recent_runs`).
#[utoipa::path(
    get,
    path = "/api/v1/connectors/{id}",
    tag = "connectors",
    params(("id" = String, Path, description = "The connector's id")),
    security((), ("bearer_token" = [])),
    responses(
        (status = 200, description = "The connector", body = PublicConnectorView),
        (status = 401, description = "A wrong or malformed token", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
    ),
)]
async fn connector(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    known(&state, &id)?;
    let full = state.caller(&headers).await?.role.covers(Role::Admin);
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

/// The shape of a page of runs.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct RunsPage {
    connector: String,
    count: u64,
    runs: Vec<Run>,
    /// The `cursor` of the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// A connector's runs, newest first, 50 a page (credentials in errors masked).
#[utoipa::path(
    get,
    path = "/api/v1/connectors/{id}/runs",
    tag = "connectors",
    params(("id" = String, Path, description = "The connector's id"), PageQuery),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "A page of runs", body = RunsPage),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
    ),
)]
async fn connector_runs(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let q: PageQuery = parse_query(raw)?;
    state.require(&headers, Role::Admin).await?;
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

#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct RunStarted {
    /// `started`.
    status: String,
    connector: String,
    /// Where the run will be listed.
    runs: String,
}

/// Starts a run of the connector now (with retries) and answers at once.
#[utoipa::path(
    post,
    path = "/api/v1/connectors/{id}/run",
    tag = "connectors",
    params(("id" = String, Path, description = "The connector's id")),
    security(("bearer_token" = [])),
    responses(
        (status = 202, description = "The run started", body = RunStarted),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
        (status = 409, description = "The connector is running now (code `already_running`)", body = ErrorBody),
    ),
)]
async fn run_connector(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.require(&headers, Role::Admin).await?;
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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct QuarantineQuery {
    /// Only this connector's entries.
    connector: Option<String>,
    /// Entries on a page (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Include entries a later run resolved (default: open entries only).
    all: Option<bool>,
}

/// The shape of a page of quarantine.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct QuarantinePage {
    count: u64,
    rows: Vec<Quarantined>,
    /// The `cursor` of the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// The rows ingestion put aside, newest first, 100 a page (the token: entries hold fund-level rows
/// as the source wrote them).
#[utoipa::path(
    get,
    path = "/api/v1/quarantine",
    tag = "connectors",
    params(QuarantineQuery),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "A page of quarantined rows", body = QuarantinePage),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
    ),
)]
async fn quarantine(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let q: QuarantineQuery = parse_query(raw)?;
    state.require(&headers, Role::Admin).await?;
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
