//! The connectors: `GET/POST /api/v1/connectors`, `GET/PATCH/DELETE /connectors/{id}`,
//! `POST /connectors/check` and `/connectors/{id}/check` (what a pull would map, storing nothing),
//! `GET /connectors/{id}/runs`, `POST /connectors/{id}/run` and `GET /api/v1/quarantine`.
//!
//! Anyone sees each connector's id, kind and last status; a viewer or an admin everything; a province
//! editor manages, runs and reads the connectors whose provinces are all its own, and the store's
//! reads are limited to them (403 for any other).

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
use super::params::{PageQuery, id_cursor, json_body, limit_of, next_cursor, parse_query};
use crate::access::{Caller, Role};
use crate::ingest::ConnectorEntry;
use crate::live::{CheckReport, check, editor_may_define};
use crate::scheduler::TriggerError;
use crate::store::{ConnectorRecord, Origin, Quarantined, Run};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(connectors))
        .routes(routes!(create_connector))
        .routes(routes!(connector))
        .routes(routes!(change_connector))
        .routes(routes!(remove_connector))
        .routes(routes!(check_definition))
        .routes(routes!(check_connector))
        .routes(routes!(connector_runs))
        .routes(routes!(run_connector))
        .routes(routes!(quarantine))
}

/// A connector as the API shows it to a viewer, an admin or its province's editor: configuration
/// (names of secret variables, never values; credentials in URLs masked), schedule and what
/// happened last.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorView {
    pub id: String,
    pub name: Option<String>,
    pub kind: String,
    /// `configuration` (the configuration file's: read-only here) or `api` (made over the API or the
    /// command line).
    pub origin: Origin,
    /// The provinces whose funds it reports (none: national).
    pub provinces: Vec<String>,
    pub enabled: bool,
    pub schedule: Option<String>,
    pub timeout_secs: u64,
    pub max_attempts: u32,
    pub next_run: Option<String>,
    pub running: bool,
    pub cursor: Option<String>,
    /// Its quarantine entries no later run has resolved.
    pub open_quarantine: i64,
    pub last_run: Option<Run>,
    pub config: serde_json::Value,
}

/// What anyone may see of a connector: no location, query, cursor or error (those need a token).
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicConnectorView {
    pub id: String,
    pub kind: String,
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

/// The views of stored connectors.
async fn views(
    state: &AppState,
    records: Vec<ConnectorRecord>,
) -> Result<Vec<ConnectorView>, ApiError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let last: HashMap<String, Run> = state.store.last_runs().await?;
    let open: HashMap<String, i64> = state.store.open_quarantine_counts().await?;
    Ok(records
        .into_iter()
        .map(|r| {
            let mut config = r.config;
            welfare_connectors::redact::redact_json(&mut config);
            let scheduler = state.scheduler.as_ref();
            ConnectorView {
                next_run: scheduler
                    .filter(|_| r.enabled)
                    .and_then(|s| s.next_run(&r.id))
                    .map(crate::store::timestamp_text),
                running: scheduler.is_some_and(|s| s.is_running(&r.id)),
                open_quarantine: open.get(&r.id).copied().unwrap_or(0),
                last_run: last.get(&r.id).cloned().map(redacted_run),
                id: r.id,
                name: r.name,
                kind: r.kind,
                origin: r.origin,
                provinces: r.provinces,
                enabled: r.enabled,
                schedule: r.schedule,
                timeout_secs: r.timeout_secs,
                max_attempts: r.max_attempts,
                cursor: r.cursor,
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
    /// Anonymous callers get [`PublicConnectorView`]s; with a token, [`ConnectorView`]s.
    connectors: Vec<PublicConnectorView>,
    /// The `cursor` of the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// Whether a caller sees connectors in full: a viewer or an admin all, an editor those of its
/// provinces (and only those are listed to it).
fn reads_in_full(caller: &Caller) -> bool {
    caller.role.covers(Role::Viewer)
}

/// The connectors in id order, 100 a page (at most 1,000). Anyone sees each one's id, kind, enabled,
/// schedule and last run status; a viewer or an admin also its configuration (credentials masked),
/// provinces, cursor, open quarantine and last run in full; a province editor sees only the
/// connectors of its provinces, in full.
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
    let caller = state.caller(&headers).await?;
    let after = q.cursor.as_deref().filter(|c| !c.is_empty());
    let records = state
        .store
        .connectors_page(caller.read_scope(), None, after, limit)
        .await?;
    let views = views(&state, records).await?;
    let next = next_cursor(views.len(), limit, views.last().map(|v| v.id.clone()));
    let listed = if reads_in_full(&caller) {
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

/// A stored connector, or 404.
async fn stored(state: &AppState, id: &str) -> Result<ConnectorRecord, ApiError> {
    state
        .store
        .connector_record(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no connector {id}")))
}

fn outside(caller: &Caller, record: &ConnectorRecord) -> ApiError {
    let serves = if record.provinces.is_empty() {
        "every province (a national connector, an admin's)".to_string()
    } else {
        format!("provinces {}", record.provinces.join(", "))
    };
    ApiError::forbidden(format!(
        "connector {} serves {serves}, outside this token's provinces ({})",
        record.id,
        caller.provinces.join(", ")
    ))
}

/// The connector, if the caller may read its detail; 403 otherwise.
async fn readable(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<ConnectorRecord, ApiError> {
    let record = stored(state, id).await?;
    if caller.may_read(&record.provinces) {
        Ok(record)
    } else {
        Err(outside(caller, &record))
    }
}

/// The connector, if the caller may manage it; 403 otherwise.
async fn managed(state: &AppState, caller: &Caller, id: &str) -> Result<ConnectorRecord, ApiError> {
    let record = stored(state, id).await?;
    if caller.may_manage(&record.provinces) {
        Ok(record)
    } else {
        Err(outside(caller, &record))
    }
}

/// One connector as in the listing; in full, with its ten latest runs (`recent_runs`), to a viewer,
/// an admin or its province's editor (another editor gets 403).
#[utoipa::path(
    get,
    path = "/api/v1/connectors/{id}",
    tag = "connectors",
    params(("id" = String, Path, description = "The connector's id")),
    security((), ("bearer_token" = [])),
    responses(
        (status = 200, description = "The connector", body = PublicConnectorView),
        (status = 401, description = "A wrong or malformed token", body = ErrorBody),
        (status = 403, description = "An editor's token, and the connector serves other provinces", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
    ),
)]
async fn connector(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = state.caller(&headers).await?;
    let record = if caller.role == Role::ProvinceEditor {
        readable(&state, &caller, &id).await?
    } else {
        stored(&state, &id).await?
    };
    let view = views(&state, vec![record])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("no connector {id}")))?;
    if !reads_in_full(&caller) {
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

/// The body of a new connector, as in the configuration file's `[[connectors]]` table, in JSON.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the request in the OpenAPI document
struct NewConnector {
    /// Letters, digits, `-`, `_` and `.`; names the connector in runs and provenance.
    id: String,
    /// `file`, `http_json` or `sql`; the kind's own keys (`location`, `url`, `query`, `fields`, …)
    /// sit beside the hub's.
    kind: String,
    name: Option<String>,
    /// The provinces whose funds it reports; a province editor's default is its one province.
    provinces: Option<Vec<String>>,
    enabled: Option<bool>,
    /// Cron, Bangkok time (`0 2 * * *`); default nightly.
    schedule: Option<String>,
    timeout_secs: Option<u64>,
    max_attempts: Option<u32>,
}

/// A definition from a request body, with an editor's provinces filled in when it names none and
/// the editor has one; refused (400) when it is not a connector's, 403 when an editor may not
/// define it.
fn definition(caller: &Caller, mut value: serde_json::Value) -> Result<ConnectorEntry, ApiError> {
    if !value.is_object() {
        return Err(ApiError::unprocessable(
            "send a connector: {\"id\", \"kind\", \"provinces\": [\"56\"], …and the kind's keys}",
        ));
    }
    if caller.role == Role::ProvinceEditor
        && value
            .get("provinces")
            .is_none_or(serde_json::Value::is_null)
        && caller.provinces.len() == 1
    {
        value["provinces"] = serde_json::json!(caller.provinces);
    }
    if value
        .get("provinces")
        .is_some_and(serde_json::Value::is_null)
    {
        value.as_object_mut().map(|o| o.remove("provinces"));
    }
    let entry: ConnectorEntry = serde_json::from_value(value)
        .map_err(|e| ApiError::unprocessable(format!("connector: {e}")))?;
    entry.validate().map_err(ApiError::unprocessable)?;
    if !caller.may_manage(&entry.provinces) {
        return Err(ApiError::forbidden(if entry.provinces.is_empty() {
            format!(
                "connector {} names no provinces: name the provinces whose funds it reports \
                 (a national connector is an admin's)",
                entry.id
            )
        } else {
            format!(
                "connector {} serves provinces {}, outside this token's provinces ({})",
                entry.id,
                entry.provinces.join(", "),
                caller.provinces.join(", ")
            )
        }));
    }
    if caller.role != Role::Admin {
        editor_may_define(&entry).map_err(ApiError::forbidden)?;
    }
    Ok(entry)
}

/// Makes a connector: stored, audited and scheduled at once (no restart). An editor's connector
/// serves provinces of its own and reads a report file or a server.
#[utoipa::path(
    post,
    path = "/api/v1/connectors",
    tag = "connectors",
    request_body(content = NewConnector, content_type = "application/json"),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "Made and scheduled", body = ConnectorView),
        (status = 400, description = "Not a valid connector: the message says where", body = ErrorBody),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an editor's token, or provinces outside its own", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    ),
)]
async fn create_connector(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    let value: serde_json::Value = json_body(&body, "a connector as a JSON object")?;
    let entry = definition(&caller, value)?;
    let record = state.live().create(entry, &caller.actor()).await?;
    let view = views(&state, vec![record]).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(&view[0]).unwrap_or_default()),
    ))
}

/// Changes a connector made over the API: the body's keys replace the definition's (JSON merge
/// patch: `null` removes a key), `{"enabled": false}` disables it; the new definition is checked,
/// stored, audited and rescheduled at once. A configuration file's connector is changed in the file
/// (409).
#[utoipa::path(
    patch,
    path = "/api/v1/connectors/{id}",
    tag = "connectors",
    params(("id" = String, Path, description = "The connector's id")),
    request_body(content = Object, content_type = "application/json"),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "Changed and rescheduled", body = ConnectorView),
        (status = 400, description = "Not a valid change: the message says where", body = ErrorBody),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an editor's token, or the connector (before or after) serves other provinces", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
        (status = 409, description = "A configuration file's connector", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    ),
)]
async fn change_connector(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    let patch: serde_json::Value = json_body(&body, "the keys to change, as a JSON object")?;
    let Some(changes) = patch.as_object() else {
        return Err(ApiError::unprocessable(
            "send the keys to change as a JSON object",
        ));
    };
    let record = managed(&state, &caller, &id).await?;
    if changes
        .get("id")
        .is_some_and(|v| v.as_str() != Some(id.as_str()))
    {
        return Err(ApiError::unprocessable(
            "id: a connector's id cannot change (make a new one and remove this)",
        ));
    }
    let current = ConnectorEntry::from_record(&record).map_err(ApiError::unprocessable)?;
    let mut value = serde_json::to_value(&current).unwrap_or_default();
    merge(&mut value, &patch);
    let entry = definition(&caller, value)?;
    let record = state.live().replace(entry, &caller.actor()).await?;
    let view = views(&state, vec![record]).await?;
    Ok(Json(serde_json::to_value(&view[0]).unwrap_or_default()))
}

/// JSON merge patch (RFC 7386): `patch`'s keys replace `target`'s, `null` removes one.
fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let (Some(target), Some(patch)) = (target.as_object_mut(), patch.as_object()) else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else if value.is_object() && target.get(key).is_some_and(serde_json::Value::is_object) {
            merge(target.get_mut(key).expect("present"), value);
        } else {
            target.insert(key.clone(), value.clone());
        }
    }
}

/// Removes a connector made over the API: unscheduled at once (a run in progress finishes); its
/// runs, quarantine and stored rows stay. A configuration file's connector is removed in the file
/// (409).
#[utoipa::path(
    delete,
    path = "/api/v1/connectors/{id}",
    tag = "connectors",
    params(("id" = String, Path, description = "The connector's id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "Removed: the definition it had", body = Object),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an editor's token, or the connector serves other provinces", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
        (status = 409, description = "A configuration file's connector", body = ErrorBody),
    ),
)]
async fn remove_connector(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    managed(&state, &caller, &id).await?;
    let mut removed = state.live().remove(&id, &caller.actor()).await?;
    welfare_connectors::redact::redact_json(&mut removed.config);
    Ok(Json(serde_json::json!({ "removed": removed })))
}

/// Checks a definition before it is made: builds the connector and pulls its source once, storing
/// nothing, and answers what a pull would map (fields found, columns that feed nothing, rows it could
/// not read, the first rows). A source that cannot be read answers 200 with `ok: false` and why.
#[utoipa::path(
    post,
    path = "/api/v1/connectors/check",
    tag = "connectors",
    request_body(content = NewConnector, content_type = "application/json"),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "What a pull would map", body = CheckReport),
        (status = 400, description = "Not a valid connector: the message says where", body = ErrorBody),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an editor's token, or provinces outside its own", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    ),
)]
async fn check_definition(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<CheckReport>, ApiError> {
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    let value: serde_json::Value = json_body(&body, "a connector as a JSON object")?;
    let entry = definition(&caller, value)?;
    Ok(Json(check(&entry).await))
}

/// Checks a connector as it is defined now: pulls its source once, storing nothing (its cursor
/// does not move), and answers what a pull would map.
#[utoipa::path(
    post,
    path = "/api/v1/connectors/{id}/check",
    tag = "connectors",
    params(("id" = String, Path, description = "The connector's id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "What a pull would map", body = CheckReport),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an editor's token, or the connector serves other provinces", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
    ),
)]
async fn check_connector(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<CheckReport>, ApiError> {
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    let record = managed(&state, &caller, &id).await?;
    let entry = ConnectorEntry::from_record(&record).map_err(ApiError::unprocessable)?;
    Ok(Json(check(&entry).await))
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

/// A connector's runs, newest first, 50 a page (credentials in errors masked): for a viewer, an
/// admin, or the editor of the connector's provinces.
#[utoipa::path(
    get,
    path = "/api/v1/connectors/{id}/runs",
    tag = "connectors",
    params(("id" = String, Path, description = "The connector's id"), PageQuery),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "A page of runs", body = RunsPage),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "A fund clerk's token, or an editor's and the connector serves other provinces", body = ErrorBody),
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
    let caller = state.require(&headers, Role::Viewer).await?;
    readable(&state, &caller, &id).await?;
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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RunQuery {
    /// Re-read the whole source, regardless of the saved cursor ("re-read everything": after a
    /// registry fix, say); unchanged rows stay unchanged.
    full: Option<bool>,
}

/// Starts a run of the connector now (with retries) and answers at once; `full=true` re-reads the
/// whole source. For an admin or the editor of the connector's provinces; audited.
#[utoipa::path(
    post,
    path = "/api/v1/connectors/{id}/run",
    tag = "connectors",
    params(("id" = String, Path, description = "The connector's id"), RunQuery),
    security(("bearer_token" = [])),
    responses(
        (status = 202, description = "The run started", body = RunStarted),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an editor's token, or the connector serves other provinces", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
        (status = 409, description = "The connector is running now (code `already_running`), or it is disabled", body = ErrorBody),
    ),
)]
async fn run_connector(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let q: RunQuery = parse_query(raw)?;
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    let record = managed(&state, &caller, &id).await?;
    let Some(scheduler) = &state.scheduler else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this hub is not running connectors",
        ));
    };
    if !record.enabled {
        return Err(ApiError::conflict(format!(
            "connector {id} is disabled: enable it first"
        )));
    }
    let already = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "already_running",
            format!("connector {id} is running now; try again when it has finished"),
        )
    };
    let full = q.full.unwrap_or(false);
    if scheduler.is_running(&id) {
        return Err(already());
    }
    if full {
        state.store.clear_cursor(&id).await?;
    }
    let trigger = if full { "manual (full)" } else { "manual" };
    match scheduler.trigger(&id, trigger) {
        Ok(_) => {
            let detail = serde_json::json!({ "trigger": trigger, "full": full });
            state
                .store
                .audit_change(
                    &caller.actor(),
                    "connector.run",
                    &format!("connector:{id}"),
                    record.provinces.first().cloned(),
                    &detail,
                )
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
        Err(TriggerError::AlreadyRunning(_)) => Err(already()),
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

/// The rows ingestion put aside, newest first, 100 a page, with where and why (entries hold
/// fund-level rows as the source wrote them: a viewer or an admin reads all, a province editor those
/// of its provinces' connectors).
#[utoipa::path(
    get,
    path = "/api/v1/quarantine",
    tag = "connectors",
    params(QuarantineQuery),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "A page of quarantined rows", body = QuarantinePage),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "A fund clerk's token, or an editor's and the connector serves other provinces", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
    ),
)]
async fn quarantine(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let q: QuarantineQuery = parse_query(raw)?;
    let caller = state.require(&headers, Role::Viewer).await?;
    if let Some(id) = &q.connector {
        readable(&state, &caller, id).await?;
    }
    let limit = limit_of(q.limit, 100)?;
    let rows: Vec<Quarantined> = state
        .store
        .quarantine_page(
            q.connector.as_deref(),
            caller.read_scope(),
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
