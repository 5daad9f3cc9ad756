//! `GET /api/v1/indicators`, `/matching`, `/timeseries` and `/policies`: indicator tables from the
//! current analytics snapshot, as JSON (default), `format=csv` or `format=arrow`. Every answer
//! carries the snapshot version it was computed from, in the body and in `X-Snapshot-Version`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use welfare_model::AreaRef;
use welfare_queries::indicators;
use welfare_queries::{IndicatorQuery, Range, Rollup, Snapshot};

use super::error::ApiError;
use super::params::{
    Format, format_of, indicator_list, parse_period, parse_query, policy_names, resolve_range,
    resolve_rollup, resolve_within,
};
use super::{AppState, cached, envelope, output_answer};
use crate::analytics::Analytics;
use crate::answers::Encoded;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/indicators", get(indicators))
        .route("/api/v1/matching", get(matching))
        .route("/api/v1/timeseries", get(timeseries))
        .route("/api/v1/policies", get(policies))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorsParams {
    level: Option<String>,
    within: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    policy: Option<String>,
    format: Option<String>,
}

/// An area request (`/indicators`, `/matching`) with every parameter checked against the snapshot
/// it will be answered from.
struct AreaRequest {
    format: Format,
    snapshot: Arc<Snapshot>,
    level: String,
    within: Option<AreaRef>,
    range: Range,
    rollup: Rollup,
    policies: Vec<String>,
}

impl AreaRequest {
    fn resolve(analytics: &Analytics, raw: Option<String>) -> Result<Self, ApiError> {
        let q: IndicatorsParams = parse_query(raw)?;
        let format = format_of(q.format.as_deref())?;
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
        Ok(AreaRequest {
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
            "{endpoint} {:?} level={} {:?} {:?} {:?} {:?}",
            self.format, self.level, self.rollup, self.within, self.range, self.policies
        )
    }

    fn query(&self, policy: &str) -> IndicatorQuery {
        IndicatorQuery {
            rollup: self.rollup,
            within: self.within.clone(),
            range: self.range,
            policy: policy.to_string(),
        }
    }

    /// The envelope fields both endpoints share.
    fn envelope(&self) -> serde_json::Map<String, serde_json::Value> {
        envelope(&[
            ("level", self.level.clone().into()),
            ("within", self.within.as_ref().map(|w| w.to_string()).into()),
            ("from", self.range.from.to_string().into()),
            ("to", self.range.to.to_string().into()),
        ])
    }
}

/// `GET /api/v1/indicators?level=&within=&period=&from=&to=&policy=&format=`
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

/// `GET /api/v1/matching?policy=a,b&level=&within=&period=&from=&to=&format=`: the policies side by
/// side.
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeseriesParams {
    area: Option<String>,
    indicator: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

/// `GET /api/v1/timeseries?area=&indicator=&from=&to=&format=` (default: the 12 months to the latest
/// due month, every indicator).
async fn timeseries(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: TimeseriesParams = parse_query(raw)?;
    let format = format_of(q.format.as_deref())?;
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
    let key = format!("timeseries {format:?} {area:?} {range:?} {chosen:?}");
    cached(analytics, &headers, &snapshot, key, || async {
        let output = indicators::timeseries(&snapshot, &area, range, &chosen).await?;
        let meta = envelope(&[
            ("area", area.to_string().into()),
            ("from", range.from.to_string().into()),
            ("to", range.to.to_string().into()),
        ]);
        output_answer(format, snapshot.version, "timeseries".into(), output, meta).await
    })
    .await
}

/// `GET /api/v1/policies`: the named matching rules, each resolved to baht per member per year.
async fn policies(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
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
    Ok(Json(
        serde_json::json!({ "snapshot": snapshot.version, "policies": list }),
    ))
}
