//! Funds. Reading (a viewer's or an editor's, within its provinces): `GET /api/v1/funds` (the funds
//! of an area with their risk flag) and `GET /api/v1/funds/{id}` (one fund: its ratios, flag, latest
//! summary and whole history), from the current analytics snapshot. The registry (an admin's, or a
//! province editor's within its provinces): `POST /api/v1/funds` registers a fund, `PATCH
//! /api/v1/funds/{id}` changes its registration or closes it with a date; a fund is never deleted.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use welfare_queries::indicators::{self, RiskFlag};
use welfare_queries::{Range, Snapshot};

use axum::Json;
use axum::http::StatusCode;
use chrono::NaiveDate;
use welfare_model::fund::{Fund, FundKind};
use welfare_model::{AreaCode, AreaRef, FundId};

use super::error::{ApiError, ErrorBody};
use super::openapi::rows_schema;
use super::params::{
    Format, Language, Month, TableFormat, json_body, optional_text, parse_query, resolve_network,
    resolve_range, resolve_within, table_format,
};
use super::{AppState, cached, envelope, json_bytes, output_answer, require_scope};
use crate::access::{Caller, Role};
use crate::analytics::Analytics;
use crate::answers::Encoded;
use crate::registry;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(funds))
        .routes(routes!(register_fund))
        .routes(routes!(fund))
        .routes(routes!(change_fund))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FundsParams {
    /// Only funds within this area: a region name, a DOPA code or `TH`.
    #[param(example = "5001")]
    within: Option<String>,
    /// Only funds with these flags, comma-separated: `low`, `watch`, `high`.
    #[param(example = "high,watch")]
    risk: Option<String>,
    /// The month (default: the latest month whose reports are due).
    #[param(value_type = Option<Month>)]
    period: Option<String>,
    /// Only the funds of this network (see `/api/v1/networks`).
    #[param(example = "songkhla-1baht")]
    network: Option<String>,
    /// `json` (default), `csv` or `xlsx` for Excel, `arrow` or `parquet` for analysts.
    #[param(value_type = Option<Format>)]
    format: Option<String>,
    /// `csv` and `xlsx` headed by labels with units and coded values (states, risk, kinds) in
    /// words: `th` or `en` (default: the column names and codes, as JSON has them).
    #[param(value_type = Option<Language>)]
    lang: Option<String>,
}

/// The shape of a `/funds` answer.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct FundsAnswer {
    snapshot: u64,
    count: u64,
    within: Option<String>,
    period: String,
    risk: Option<String>,
    #[schema(schema_with = fund_rows)]
    rows: (),
}

fn fund_rows() -> RefOr<Schema> {
    rows_schema(&indicators::funds_output(&[]).columns, false)
}

/// The funds registered by the month, with their ratios and risk flag.
#[utoipa::path(
    get,
    path = "/api/v1/funds",
    tag = "funds",
    params(FundsParams),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "One row per fund", body = FundsAnswer),
        (status = 401, description = "No token, or not a valid one: fund-level figures need a viewer's", body = ErrorBody),
        (status = 403, description = "`within` lies outside the token's provinces", body = ErrorBody),
    ),
)]
async fn funds(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let caller = state.require(&headers, Role::Viewer).await?;
    let q: FundsParams = parse_query(raw)?;
    if caller.read_scope().is_some()
        && let Some(asked) = q.within.as_deref().filter(|w| !w.is_empty())
    {
        // Beyond the token's provinces is refused before anything is read.
        match AreaCode::parse(asked) {
            Ok(code) => require_read(&caller, &code)?,
            Err(_) => scoped_within(&caller, Some(AreaRef::Country)).map(|_| ())?,
        }
    }
    let format = table_format(q.format.as_deref(), q.lang.as_deref())?;
    let analytics = state.analytics()?;
    let snapshot = analytics.current();
    let range = resolve_range(analytics, q.period.as_deref(), None, None)?;
    let within = scoped_within(
        &caller,
        resolve_within(&snapshot, "within", q.within.as_deref())?,
    )?;
    let risk: Option<Vec<RiskFlag>> = q
        .risk
        .as_deref()
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.split(',')
                .map(|f| f.trim().parse::<RiskFlag>())
                .collect::<Result<_, _>>()
        })
        .transpose()
        .map_err(|e| ApiError::invalid("risk", e.to_string().trim_start_matches("risk: ")))?;
    let network = resolve_network(&snapshot, q.network.as_deref())?;
    let key = format!(
        "funds {format:?} {within:?} {range:?} {risk:?} {:?} {network:?}",
        q.risk
    );
    cached(analytics, &headers, &snapshot, key, || async {
        let mut rows = indicators::fund_risks(
            &snapshot,
            within.as_ref(),
            network.as_ref(),
            range.to,
            &analytics.config.risk,
        )
        .await?;
        if let Some(flags) = &risk {
            rows.retain(|f| flags.contains(&f.flag));
        }
        let output = indicators::funds_output(&rows);
        let meta = envelope(&[
            ("within", within.as_ref().map(|w| w.to_string()).into()),
            ("period", range.to.to_string().into()),
            ("risk", q.risk.clone().into()),
        ]);
        output_answer(format, snapshot.version, "funds".into(), output, meta).await
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FundParams {
    /// The month of the ratios and flag (default: the latest month whose reports are due).
    #[param(value_type = Option<Month>)]
    period: Option<String>,
    /// `json` (default); `csv`, `xlsx`, `arrow` or `parquet` give the history table.
    #[param(value_type = Option<Format>)]
    format: Option<String>,
    /// `csv` and `xlsx` headed by labels with units and coded values (states, risk, kinds) in
    /// words: `th` or `en` (default: the column names and codes, as JSON has them).
    #[param(value_type = Option<Language>)]
    lang: Option<String>,
}

/// The shape of a `/funds/{id}` answer.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct FundAnswer {
    snapshot: u64,
    period: String,
    /// The fund's row as in `/funds`.
    fund: serde_json::Value,
    /// `low`, `watch` or `high`.
    risk: String,
    reasons: Vec<String>,
    /// The latest monthly summary (`null` before the first).
    latest: Option<serde_json::Value>,
    /// The latest governance assessment at or before the month: `overall_level`, `assessed_on`,
    /// `form_version` (`null` when none).
    assessment: Option<serde_json::Value>,
    /// Every monthly summary, oldest first: `period`, the measures, `revision`, `on_time`, `source`.
    #[schema(schema_with = history_rows)]
    history: (),
}

fn history_rows() -> RefOr<Schema> {
    rows_schema(
        &[("period".into(), welfare_queries::output::ColumnType::Text)],
        true,
    )
}

/// One fund: its ratios and flag at `period`, its latest summary and its whole history.
#[utoipa::path(
    get,
    path = "/api/v1/funds/{id}",
    tag = "funds",
    params(("id" = String, Path, description = "The fund's id", example = "F-500101-01"), FundParams),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The fund", body = FundAnswer),
        (status = 401, description = "No token, or not a valid one: fund-level figures need a viewer's", body = ErrorBody),
        (status = 403, description = "The fund lies outside the token's provinces", body = ErrorBody),
        (status = 404, description = "No such fund registered by the month", body = ErrorBody),
    ),
)]
async fn fund(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let caller = state.require(&headers, Role::Viewer).await?;
    // Only a caller limited to provinces needs the fund's area; a national reader's cached answer
    // costs no store read.
    if caller.read_scope().is_some()
        && let Some(registered) = state.store.fund_registration(&id).await?
    {
        require_read(&caller, &registered.area)?;
    }
    let q: FundParams = parse_query(raw)?;
    let format = table_format(q.format.as_deref(), q.lang.as_deref())?;
    let analytics = state.analytics()?;
    let snapshot = analytics.current();
    let range = resolve_range(analytics, q.period.as_deref(), None, None)?;
    let key = format!("fund {id:?} {format:?} {range:?}");
    cached(analytics, &headers, &snapshot, key, || {
        fund_answer(analytics, &snapshot, &id, range, format)
    })
    .await
}

async fn fund_answer(
    analytics: &Analytics,
    snapshot: &Arc<Snapshot>,
    id: &str,
    range: Range,
    format: TableFormat,
) -> Result<Encoded, ApiError> {
    let Some(risk) = indicators::fund_risk(snapshot, id, range.to, &analytics.config.risk).await?
    else {
        return Err(ApiError::not_found(format!(
            "no fund {id} registered by {}",
            range.to
        )));
    };
    let history = indicators::fund_history(snapshot, id).await?;
    let assessment = welfare_queries::governance::fund_assessment(snapshot, id, range.to)
        .await?
        .map(|a| {
            serde_json::json!({
                "overall_level": a.overall_level,
                "assessed_on": a.assessed_on,
                "form_version": a.form_version,
            })
        });
    if format.format != Format::Json {
        return output_answer(
            format,
            snapshot.version,
            format!("fund-{id}"),
            history,
            Default::default(),
        )
        .await;
    }
    let fund = indicators::funds_output(std::slice::from_ref(&risk))
        .to_json_rows()
        .pop()
        .unwrap_or_default();
    let rows = history.to_json_rows();
    Ok(Encoded::json(json_bytes(&serde_json::json!({
        "snapshot": snapshot.version,
        "period": range.to.to_string(),
        "fund": fund,
        "risk": risk.flag.as_str(),
        "reasons": risk.reasons,
        "latest": rows.last(),
        "assessment": assessment,
        "history": rows,
    }))?))
}

/// The area a read is limited to: the asked one, which must lie within the caller's provinces; for
/// an editor who asks for none, its province (the filter goes into the query, not onto the answer).
fn scoped_within(caller: &Caller, within: Option<AreaRef>) -> Result<Option<AreaRef>, ApiError> {
    let Some(provinces) = caller.read_scope() else {
        return Ok(within);
    };
    match within {
        Some(AreaRef::Code(code)) => {
            require_read(caller, &code)?;
            Ok(Some(AreaRef::Code(code)))
        }
        None if provinces.len() == 1 => Ok(Some(AreaRef::Code(
            AreaCode::parse(&provinces[0]).map_err(|_| ApiError::internal())?,
        ))),
        _ => Err(ApiError::forbidden(format!(
            "this token reads funds within its provinces ({}): ask for within=<one of them>",
            provinces.join(", ")
        ))),
    }
}

/// 403 unless the caller reads fund-level figures of `area`.
fn require_read(caller: &Caller, area: &AreaCode) -> Result<(), ApiError> {
    match caller.read_scope() {
        Some(_) => require_scope(caller, area),
        None => Ok(()),
    }
}

/// A fund to register, as `POST /api/v1/funds` takes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FundRegistration {
    /// 1–64 ASCII letters, digits, `-`, `_` or `.`.
    #[schema(example = "F-560101-01")]
    id: String,
    #[schema(example = "กองทุนสวัสดิการชุมชนตำบลเวียง")]
    name_th: String,
    name_en: Option<String>,
    /// `community_welfare` (default), `one_baht_savings`, `other_community_fund`, `elderly_fund`,
    /// `provincial_fund`, or a Thai or English label of one.
    kind: Option<String>,
    /// The tambon (6 digits) or, for a provincial-level fund, the province (2 digits).
    #[schema(example = "560101")]
    area: String,
    /// The municipality (เทศบาล) of a municipal fund.
    municipality: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    registered_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    closed_on: Option<NaiveDate>,
}

/// Changes to a registration, as `PATCH /api/v1/funds/{id}` takes them: only the fields sent
/// change; `null` clears an optional one (`"closed_on": null` reopens a fund).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FundChanges {
    name_th: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    name_en: Option<Option<String>>,
    kind: Option<String>,
    area: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    municipality: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    registered_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    closed_on: Option<Option<NaiveDate>>,
}

/// A field that was sent, `null` included.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A registration as answered.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct Registration {
    id: String,
    name_th: String,
    name_en: Option<String>,
    kind: String,
    area: String,
    municipality: Option<String>,
    #[schema(format = Date)]
    registered_on: Option<String>,
    #[schema(format = Date)]
    closed_on: Option<String>,
}

fn kind_of(text: Option<&str>) -> Result<Option<FundKind>, ApiError> {
    text.map(|k| FundKind::from_label(k).map_err(|e| ApiError::unprocessable(format!("kind: {e}"))))
        .transpose()
}

fn area_of(text: &str) -> Result<AreaCode, ApiError> {
    AreaCode::parse(text).map_err(|e| ApiError::unprocessable(format!("area: {e}")))
}

/// Registers a fund.
#[utoipa::path(
    post,
    path = "/api/v1/funds",
    tag = "funds",
    request_body(content = FundRegistration, content_type = "application/json"),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "Registered", body = Registration),
        (status = 400, description = "Not a valid registration: the message names the field", body = ErrorBody),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an editor's token, or the area lies outside its provinces", body = ErrorBody),
        (status = 409, description = "A fund with this id is registered already", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    ),
)]
async fn register_fund(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    let wanted: FundRegistration = json_body(&body, "a fund: {\"id\", \"name_th\", \"area\", …}")?;
    let fund = Fund {
        id: FundId::parse(&wanted.id).map_err(|e| ApiError::unprocessable(format!("id: {e}")))?,
        name_th: wanted.name_th.trim().to_string(),
        name_en: optional_text(wanted.name_en),
        kind: kind_of(wanted.kind.as_deref())?.unwrap_or_default(),
        area: area_of(&wanted.area)?,
        municipality: optional_text(wanted.municipality),
        registered_on: wanted.registered_on,
        closed_on: wanted.closed_on,
    };
    require_scope(&caller, &fund.area)?;
    if state
        .store
        .fund_registration(fund.id.as_str())
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(format!(
            "fund {} is registered already: change it with PATCH /api/v1/funds/{}",
            fund.id, fund.id
        )));
    }
    let plan = registry::plan_one(&state.store, None, fund.clone()).await?;
    registry::apply(&state.store, &plan, &caller.actor(), "fund.register").await?;
    state.registry_changed();
    Ok((StatusCode::CREATED, Json(serde_json::json!(fund))))
}

/// Changes a fund's registration, or closes it with a date.
#[utoipa::path(
    patch,
    path = "/api/v1/funds/{id}",
    tag = "funds",
    params(("id" = String, Path, description = "The fund's id", example = "F-560101-01")),
    request_body(content = FundChanges, content_type = "application/json"),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The registration as changed", body = Registration),
        (status = 400, description = "Not a valid change: the message names the field", body = ErrorBody),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an editor's token, or the fund (or its new area) lies outside its provinces", body = ErrorBody),
        (status = 404, description = "No such fund registered", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    ),
)]
async fn change_fund(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    let Some(before) = state.store.fund_registration(&id).await? else {
        return Err(ApiError::not_found(format!("no fund {id} is registered")));
    };
    require_scope(&caller, &before.area)?;
    let changes: FundChanges = json_body(
        &body,
        "the fields to change: {\"closed_on\": \"2026-09-30\", …}",
    )?;
    let mut after = before.clone();
    if let Some(n) = changes.name_th {
        after.name_th = n.trim().to_string();
    }
    if let Some(n) = changes.name_en {
        after.name_en = optional_text(n);
    }
    if let Some(k) = kind_of(changes.kind.as_deref())? {
        after.kind = k;
    }
    if let Some(a) = changes.area {
        after.area = area_of(&a)?;
        require_scope(&caller, &after.area)?;
    }
    if let Some(m) = changes.municipality {
        after.municipality = optional_text(m);
    }
    if let Some(d) = changes.registered_on {
        after.registered_on = d;
    }
    if let Some(d) = changes.closed_on {
        after.closed_on = d;
    }
    let plan = registry::plan_one(&state.store, Some(before), after.clone()).await?;
    registry::apply(&state.store, &plan, &caller.actor(), "fund.change").await?;
    state.registry_changed();
    Ok(Json(serde_json::json!(after)))
}
