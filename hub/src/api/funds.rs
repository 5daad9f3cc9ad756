//! `GET /api/v1/funds` (the funds of an area with their risk flag) and `GET /api/v1/funds/{id}` (one
//! fund: its ratios, flag, latest summary and whole history), from the current analytics snapshot.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use welfare_queries::indicators::{self, RiskFlag};
use welfare_queries::{Range, Snapshot};

use super::error::ApiError;
use super::params::{Format, format_of, parse_query, resolve_range, resolve_within};
use super::{AppState, cached, envelope, json_bytes, output_answer};
use crate::analytics::Analytics;
use crate::answers::Encoded;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/funds", get(funds))
        .route("/api/v1/funds/{id}", get(fund))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FundsParams {
    within: Option<String>,
    risk: Option<String>,
    period: Option<String>,
    format: Option<String>,
}

/// `GET /api/v1/funds?within=&risk=low|watch|high&period=&format=`
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FundParams {
    period: Option<String>,
    format: Option<String>,
}

/// `GET /api/v1/funds/{id}?period=`: the fund, its ratios and flag at `period`, its latest summary and
/// its whole history (`format=csv|arrow` gives the history table).
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
