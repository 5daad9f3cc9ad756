//! `GET /api/v1/indicators`, `/matching`, `/timeseries` and `/policies`: indicator tables from the
//! current analytics snapshot, as JSON (default), `format=csv` or `format=arrow`. Every answer
//! carries the snapshot version it was computed from, in the body and in `X-Snapshot-Version`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use welfare_model::{AreaRef, NetworkId};
use welfare_queries::indicators;
use welfare_queries::{IndicatorQuery, Range, Rollup, Snapshot};

use super::error::ApiError;
use super::openapi::rows_schema;
use super::params::{
    Format, Language, Month, TableFormat, indicator_list, parse_period, parse_query, policy_names,
    resolve_network, resolve_range, resolve_rollup, resolve_within, table_format,
};
use super::{AppState, cached, envelope, output_answer};
use crate::analytics::Analytics;
use crate::answers::Encoded;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(indicators))
        .routes(routes!(matching))
        .routes(routes!(timeseries))
        .routes(routes!(policies))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct IndicatorsParams {
    /// The rows' level: `province` (default), `country`, `region`, `district`, `subdistrict`, or
    /// `all` (every level at once).
    #[param(example = "province")]
    level: Option<String>,
    /// Only areas within this one: a region name, a DOPA code or `TH`.
    #[param(example = "50")]
    within: Option<String>,
    /// One month (default: the latest month whose reports are due); or `from`/`to`.
    #[param(value_type = Option<Month>)]
    period: Option<String>,
    /// First month of a range (default: `to`).
    #[param(value_type = Option<Month>)]
    from: Option<String>,
    /// Last month of a range (default: the latest month whose reports are due).
    #[param(value_type = Option<Month>)]
    to: Option<String>,
    /// A matching policy (see `/api/v1/policies`; default: the configured one). `/matching`
    /// takes several, comma-separated.
    #[param(example = "codi-1-1")]
    policy: Option<String>,
    /// Only the funds of this network (see `/api/v1/networks`): each area's row is the sum of the
    /// network's funds in it.
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

/// An area request (`/indicators`, `/matching`) with every parameter checked against the snapshot
/// it will be answered from.
struct AreaRequest {
    format: TableFormat,
    snapshot: Arc<Snapshot>,
    level: String,
    within: Option<AreaRef>,
    range: Range,
    rollup: Rollup,
    policies: Vec<String>,
    network: Option<NetworkId>,
}

impl AreaRequest {
    fn resolve(analytics: &Analytics, raw: Option<String>) -> Result<Self, ApiError> {
        let q: IndicatorsParams = parse_query(raw)?;
        let format = table_format(q.format.as_deref(), q.lang.as_deref())?;
        let snapshot = analytics.current();
        let range = resolve_range(
            analytics,
            q.period.as_deref(),
            q.from.as_deref(),
            q.to.as_deref(),
        )?;
        let within = resolve_within(&snapshot, "within", q.within.as_deref())?;
        let rollup = resolve_rollup(q.level.as_deref(), within.as_ref())?;
        let policies = policy_names(analytics, &snapshot, q.policy.as_deref())?;
        let network = resolve_network(&snapshot, q.network.as_deref())?;
        Ok(AreaRequest {
            network,
            format,
            snapshot,
            level: q.level.unwrap_or_else(|| "province".into()),
            within,
            range,
            rollup,
            policies,
        })
    }

    /// Everything that decides the answer's bytes besides the snapshot: the cache key.
    fn key(&self, endpoint: &str) -> String {
        format!(
            "{endpoint} {:?} level={} {:?} {:?} {:?} {:?} {:?}",
            self.format,
            self.level,
            self.rollup,
            self.within,
            self.range,
            self.policies,
            self.network
        )
    }

    fn query(&self, policy: &str) -> IndicatorQuery {
        IndicatorQuery {
            rollup: self.rollup,
            within: self.within.clone(),
            network: self.network.clone(),
            range: self.range,
            policy: policy.to_string(),
        }
    }

    /// The envelope fields both endpoints share.
    fn envelope(&self) -> serde_json::Map<String, serde_json::Value> {
        envelope(&[
            ("level", self.level.clone().into()),
            ("within", self.within.as_ref().map(|w| w.to_string()).into()),
            (
                "network",
                self.network.as_ref().map(|n| n.to_string()).into(),
            ),
            ("from", self.range.from.to_string().into()),
            ("to", self.range.to.to_string().into()),
        ])
    }
}

/// The shape of an `/indicators` answer.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct IndicatorsAnswer {
    snapshot: u64,
    count: u64,
    level: String,
    within: Option<String>,
    /// The network asked for, if any.
    network: Option<String>,
    from: String,
    to: String,
    population_year: i32,
    policy: String,
    #[schema(schema_with = indicator_rows)]
    rows: (),
}

fn indicator_rows() -> RefOr<Schema> {
    rows_schema(&indicators::indicators_output(&[], 0).columns, false)
}

/// Coverage, reporting, matching grants and risk counts of each area, for one month or a range.
#[utoipa::path(
    get,
    path = "/api/v1/indicators",
    tag = "indicators",
    params(IndicatorsParams),
    responses(
        (status = 200, description = "One row per area", body = IndicatorsAnswer),
    ),
)]
async fn indicators(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let analytics = state.analytics()?;
    let r = AreaRequest::resolve(analytics, raw)?;
    let [policy] = r.policies.as_slice() else {
        return Err(ApiError::invalid(
            "policy",
            "indicators take one policy; /api/v1/matching compares several",
        ));
    };
    cached(
        analytics,
        &headers,
        &r.snapshot,
        r.key("indicators"),
        || async {
            let rows =
                indicators::area_indicators(&r.snapshot, &r.query(policy), &analytics.config.risk)
                    .await?;
            let population_year = r.snapshot.population_year(r.range.to);
            let output = indicators::indicators_output(&rows, population_year);
            let mut meta = r.envelope();
            meta.insert("population_year".into(), population_year.into());
            meta.insert("policy".into(), policy.clone().into());
            output_answer(
                r.format,
                r.snapshot.version,
                "indicators".into(),
                output,
                meta,
            )
            .await
        },
    )
    .await
}

/// The shape of a `/matching` answer.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct MatchingAnswer {
    snapshot: u64,
    count: u64,
    level: String,
    within: Option<String>,
    /// The network asked for, if any.
    network: Option<String>,
    from: String,
    to: String,
    months: u32,
    /// The matching rules compared.
    policies: Vec<serde_json::Value>,
    /// With several policies, each policy's columns are prefixed with its name.
    #[schema(schema_with = matching_rows)]
    rows: (),
}

fn matching_rows() -> RefOr<Schema> {
    let columns = indicators::matching_output(&[]).columns;
    rows_schema(&columns, true)
}

/// Matching grants due, received and short of each area under one or several policies side by
/// side (`policy=a,b`).
#[utoipa::path(
    get,
    path = "/api/v1/matching",
    tag = "indicators",
    params(IndicatorsParams),
    responses(
        (status = 200, description = "One row per area", body = MatchingAnswer),
    ),
)]
async fn matching(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let analytics = state.analytics()?;
    let r = AreaRequest::resolve(analytics, raw)?;
    cached(analytics, &headers, &r.snapshot, r.key("matching"), || {
        matching_answer(&r)
    })
    .await
}

async fn matching_answer(r: &AreaRequest) -> Result<Encoded, ApiError> {
    let mut per_policy = Vec::new();
    for p in &r.policies {
        // Risk flags do not depend on the policy and the matching table does not show them.
        let rows = indicators::area_figures(&r.snapshot, &r.query(p)).await?;
        per_policy.push((p.clone(), rows));
    }
    let output = indicators::matching_output(&per_policy);
    let rules: Vec<_> = r
        .policies
        .iter()
        .filter_map(|p| r.snapshot.policy(p))
        .collect();
    let mut meta = r.envelope();
    meta.insert("months".into(), r.range.months().into());
    meta.insert(
        "policies".into(),
        serde_json::to_value(rules).unwrap_or_default(),
    );
    output_answer(
        r.format,
        r.snapshot.version,
        "matching".into(),
        output,
        meta,
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TimeseriesParams {
    /// A region name, a DOPA code or `TH` (default).
    #[param(example = "50")]
    area: Option<String>,
    /// Indicators, comma-separated (default: every one).
    #[param(example = "coverage,members")]
    indicator: Option<String>,
    /// First month (default: eleven months before `to`).
    #[param(value_type = Option<Month>)]
    from: Option<String>,
    /// Last month (default: the latest month whose reports are due).
    #[param(value_type = Option<Month>)]
    to: Option<String>,
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

/// The shape of a `/timeseries` answer.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct TimeseriesAnswer {
    snapshot: u64,
    count: u64,
    area: String,
    from: String,
    to: String,
    /// One row per month: `period` and a column per indicator.
    #[schema(schema_with = timeseries_rows)]
    rows: (),
}

fn timeseries_rows() -> RefOr<Schema> {
    rows_schema(
        &[("period".into(), welfare_queries::output::ColumnType::Text)],
        true,
    )
}

/// An area's indicators month by month (default: the 12 months to the latest due month, every
/// indicator).
#[utoipa::path(
    get,
    path = "/api/v1/timeseries",
    tag = "indicators",
    params(TimeseriesParams),
    responses(
        (status = 200, description = "One row per month", body = TimeseriesAnswer),
    ),
)]
async fn timeseries(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: TimeseriesParams = parse_query(raw)?;
    let format = table_format(q.format.as_deref(), q.lang.as_deref())?;
    let analytics = state.analytics()?;
    let snapshot = analytics.current();
    let area = resolve_within(&snapshot, "area", q.area.as_deref())?.unwrap_or(AreaRef::Country);
    let mut range = resolve_range(analytics, None, None, q.to.as_deref())?;
    range.from = match q.from.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => parse_period("from", f)?,
        None => range.to.add_months(-11),
    };
    if range.from > range.to || range.months() > 600 {
        return Err(ApiError::invalid(
            "from",
            format!(
                "{} to {} is not a range of 1–600 months",
                range.from, range.to
            ),
        ));
    }
    let chosen = indicator_list(q.indicator.as_deref());
    let network = resolve_network(&snapshot, q.network.as_deref())?;
    let key = format!("timeseries {format:?} {area:?} {range:?} {chosen:?} {network:?}");
    cached(analytics, &headers, &snapshot, key, || async {
        let output =
            indicators::timeseries(&snapshot, &area, network.as_ref(), range, &chosen).await?;
        let meta = envelope(&[
            ("area", area.to_string().into()),
            ("from", range.from.to_string().into()),
            ("to", range.to.to_string().into()),
        ]);
        output_answer(format, snapshot.version, "timeseries".into(), output, meta).await
    })
    .await
}

#[derive(Debug, Serialize, ToSchema)]
struct PoliciesAnswer {
    snapshot: u64,
    /// Each rule as configured, with `default`, `state_per_member_year` and
    /// `local_per_member_year` (baht, decimal strings).
    policies: Vec<serde_json::Value>,
}

/// The named matching rules, each resolved to baht per member per year.
#[utoipa::path(
    get,
    path = "/api/v1/policies",
    tag = "indicators",
    responses((status = 200, description = "The matching policies", body = PoliciesAnswer)),
)]
async fn policies(State(state): State<AppState>) -> Result<Json<PoliciesAnswer>, ApiError> {
    let analytics = state.analytics()?;
    let snapshot = analytics.current();
    let list: Vec<serde_json::Value> = snapshot
        .policies()
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            if let serde_json::Value::Object(m) = &mut v {
                m.insert(
                    "default".into(),
                    (p.name == analytics.config.default_policy).into(),
                );
                m.insert(
                    "state_per_member_year".into(),
                    p.state_per_member_year().map(|x| x.to_string()).ok().into(),
                );
                m.insert(
                    "local_per_member_year".into(),
                    p.local_per_member_year().map(|x| x.to_string()).ok().into(),
                );
            }
            v
        })
        .collect();
    Ok(Json(PoliciesAnswer {
        snapshot: snapshot.version,
        policies: list,
    }))
}
