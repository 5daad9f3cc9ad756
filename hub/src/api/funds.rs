//! `GET /api/v1/funds` (the funds of an area with their risk flag) and `GET /api/v1/funds/{id}` (one
//! fund: its ratios, flag, latest summary and whole history), from the current analytics snapshot.

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

use super::error::ApiError;
use super::openapi::rows_schema;
use super::params::{Format, Month, format_of, parse_query, resolve_range, resolve_within};
use super::{AppState, cached, envelope, json_bytes, output_answer};
use crate::analytics::Analytics;
use crate::answers::Encoded;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(funds))
        .routes(routes!(fund))
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
    /// `json` (default), `csv` or `arrow`.
    #[param(value_type = Option<Format>)]
    format: Option<String>,
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
    responses(
        (status = 200, description = "One row per fund", body = FundsAnswer),
    ),
)]
async fn funds(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: FundsParams = parse_query(raw)?;
    let format = format_of(q.format.as_deref())?;
    let analytics = state.analytics()?;
    let snapshot = analytics.current();
    let range = resolve_range(analytics, q.period.as_deref(), None, None)?;
    let within = resolve_within(&snapshot, "within", q.within.as_deref())?;
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
    let key = format!(
        "funds {format:?} {within:?} {range:?} {risk:?} {:?}",
        q.risk
    );
    cached(analytics, &headers, &snapshot, key, || async {
        let mut rows =
            indicators::fund_risks(&snapshot, within.as_ref(), range.to, &analytics.config.risk)
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
    /// `json` (default); `csv` or `arrow` give the history table.
    #[param(value_type = Option<Format>)]
    format: Option<String>,
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
    responses(
        (status = 200, description = "The fund", body = FundAnswer),
        (status = 404, description = "No such fund registered by the month", body = super::error::ErrorBody),
    ),
)]
async fn fund(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: FundParams = parse_query(raw)?;
    let format = format_of(q.format.as_deref())?;
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
    format: Format,
) -> Result<Encoded, ApiError> {
    let Some(risk) = indicators::fund_risk(snapshot, id, range.to, &analytics.config.risk).await?
    else {
        return Err(ApiError::not_found(format!(
            "no fund {id} registered by {}",
            range.to
        )));
    };
    let history = indicators::fund_history(snapshot, id).await?;
    if format != Format::Json {
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
        "history": rows,
    }))?))
}
