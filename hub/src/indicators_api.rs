//! `/api/v1/indicators`, `/timeseries`, `/funds`, `/funds/{id}`, `/policies`, `/matching` and
//! `POST /api/v1/query`: answers from the current analytics snapshot.
//!
//! Tables come as JSON (default), `format=csv` (UTF-8 with a BOM, so Excel shows Thai) or
//! `format=arrow` (an Arrow IPC stream). Every answer carries the snapshot version it was computed
//! from, in the body and in `X-Snapshot-Version`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use datafusion_arrow::{RecordBatch, SchemaRef};
use serde::Deserialize;
use welfare_model::{AreaRef, Level, Period};
use welfare_queries::indicators::{self, RiskFlag};
use welfare_queries::output::{to_arrow_ipc, to_csv};
use welfare_queries::{AnswerFormat, IndicatorQuery, Output, QueryError, Range, Rollup, Snapshot};

use crate::analytics::Analytics;
use crate::answers::{self, Encoded};
use crate::api::{ApiError, AppState, parse_query};

mod datafusion_arrow {
    pub use welfare_queries::datafusion::arrow::array::RecordBatch;
    pub use welfare_queries::datafusion::arrow::datatypes::SchemaRef;
}

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/indicators", get(indicators))
        .route("/api/v1/matching", get(matching))
        .route("/api/v1/timeseries", get(timeseries))
        .route("/api/v1/funds", get(funds))
        .route("/api/v1/funds/{id}", get(fund))
        .route("/api/v1/policies", get(policies))
        .route("/api/v1/query", post(query))
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match &e {
            QueryError::Timeout(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "query_timeout", e.to_string())
            }
            QueryError::ResourcesExhausted(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "query_memory", e.to_string())
            }
            _ if e.is_client_error() => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string())
            }
            _ => {
                tracing::error!(error = %e, "analytics failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; the hub's log has the details",
                )
            }
        }
    }
}

/// The response formats of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Arrow,
}

fn format_of(text: Option<&str>) -> Result<Format, ApiError> {
    match text {
        None | Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some("arrow") => Ok(Format::Arrow),
        Some(other) => Err(ApiError::invalid(
            "format",
            format!("{other:?} is not json, csv or arrow"),
        )),
    }
}

pub(crate) fn analytics(state: &AppState) -> Result<&Arc<Analytics>, ApiError> {
    state.analytics.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this hub serves no analytics",
        )
    })
}

/// Encodes a table in the asked format; `meta` becomes the JSON envelope around `rows`.
fn table_answer(
    format: Format,
    version: u64,
    name: &str,
    schema: SchemaRef,
    batches: &[RecordBatch],
    json_rows: impl FnOnce() -> Result<Vec<serde_json::Value>, QueryError>,
    mut meta: serde_json::Map<String, serde_json::Value>,
) -> Result<Encoded, ApiError> {
    Ok(match format {
        Format::Json => {
            let rows = json_rows()?;
            meta.insert("snapshot".into(), version.into());
            meta.insert("count".into(), rows.len().into());
            meta.insert("rows".into(), serde_json::Value::Array(rows));
            Encoded::json(json_bytes(&serde_json::Value::Object(meta))?)
        }
        Format::Csv => Encoded::new(to_csv(&schema, batches)?, "text/csv; charset=utf-8")
            .with_disposition(format!("attachment; filename=\"{name}.csv\"")),
        Format::Arrow => Encoded::new(
            to_arrow_ipc(&schema, batches)?,
            "application/vnd.apache.arrow.stream",
        ),
    })
}

fn json_bytes(value: &serde_json::Value) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "an answer could not be written as JSON");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the hub's log has the details",
        )
    })
}

/// Encodes an indicator table, off the async threads (a country-wide table is MBs of JSON).
async fn output_answer(
    format: Format,
    version: u64,
    name: String,
    output: Output,
    meta: serde_json::Map<String, serde_json::Value>,
) -> Result<Encoded, ApiError> {
    tokio::task::spawn_blocking(move || {
        let batch = output.to_batch()?;
        table_answer(
            format,
            version,
            &name,
            batch.schema(),
            std::slice::from_ref(&batch),
            || Ok(output.to_json_rows()),
            meta,
        )
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "encoding an answer failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the hub's log has the details",
        )
    })?
}

/// The answer to `key` from the snapshot the request resolved against: a 304 when the client holds
/// it, the cached answer, or `compute`'s (admitted a few at a time; see [`crate::answers`]).
async fn cached<F, Fut>(
    analytics: &Analytics,
    headers: &HeaderMap,
    snapshot: &Snapshot,
    key: String,
    compute: F,
) -> Result<Response, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Encoded, ApiError>>,
{
    answers::respond(&analytics.answers, headers, snapshot.version, &key, compute).await
}

fn parse_period(name: &str, text: &str) -> Result<Period, ApiError> {
    Period::parse(text).map_err(|e| ApiError::invalid(name, e))
}

/// The months asked: `period`, or `from`/`to`, or by default the latest month whose reports are
/// due (today in Bangkok, with the configured deadline).
pub(crate) fn resolve_range(
    analytics: &Analytics,
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Range, ApiError> {
    fn nonempty(v: Option<&str>) -> Option<&str> {
        v.filter(|s| !s.trim().is_empty())
    }
    let (period, from, to) = (nonempty(period), nonempty(from), nonempty(to));
    if period.is_some() && (from.is_some() || to.is_some()) {
        return Err(ApiError::invalid(
            "period",
            "give either period or from/to, not both",
        ));
    }
    let latest_due = || {
        let today = chrono::Utc::now()
            .with_timezone(&welfare_model::bangkok())
            .date_naive();
        Period::latest_due(today, analytics.deadline_day())
    };
    let range = match (period, from, to) {
        (Some(p), _, _) => Range::month(parse_period("period", p)?),
        (None, None, None) => Range::month(latest_due()),
        (None, from, to) => {
            let to = match to {
                Some(t) => parse_period("to", t)?,
                None => latest_due(),
            };
            let from = match from {
                Some(f) => parse_period("from", f)?,
                None => to,
            };
            Range { from, to }
        }
    };
    if range.from > range.to {
        return Err(ApiError::invalid(
            "from",
            format!("{} is after to = {}", range.from, range.to),
        ));
    }
    if range.months() > 600 {
        return Err(ApiError::invalid("from", "a range is at most 600 months"));
    }
    Ok(range)
}

/// `within=` (a region, a DOPA code or `TH`), checked against the snapshot's areas.
pub(crate) fn resolve_within(
    snapshot: &Snapshot,
    name: &str,
    text: Option<&str>,
) -> Result<Option<AreaRef>, ApiError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let area: AreaRef = text.parse().map_err(|e| ApiError::invalid(name, e))?;
    if let AreaRef::Code(code) = &area
        && !snapshot.area_names().contains_key(code.as_str())
    {
        return Err(ApiError::invalid(name, format!("no area has code {code}")));
    }
    Ok(Some(area))
}

fn resolve_rollup(text: Option<&str>, within: Option<&AreaRef>) -> Result<Rollup, ApiError> {
    let rollup = match text {
        None | Some("") => Rollup::Level(Level::Province),
        Some("all") => Rollup::All,
        Some(t) => Rollup::Level(
            t.parse::<Level>()
                .map_err(|e| ApiError::invalid("level", format!("{e}; or all")))?,
        ),
    };
    if let (Rollup::Level(level), Some(w)) = (rollup, within)
        && w.level() > level
    {
        return Err(ApiError::invalid(
            "within",
            format!("{w} is a {}; it holds no {level}", w.level()),
        ));
    }
    Ok(rollup)
}

pub(crate) fn policy_name(
    analytics: &Analytics,
    snapshot: &Snapshot,
    text: Option<&str>,
) -> Result<Vec<String>, ApiError> {
    let names: Vec<String> = match text.filter(|t| !t.trim().is_empty()) {
        None => vec![analytics.config.default_policy.clone()],
        Some(t) => t.split(',').map(|s| s.trim().to_string()).collect(),
    };
    for n in &names {
        if snapshot.policy(n).is_none() {
            let known: Vec<&str> = snapshot
                .policies()
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            return Err(ApiError::invalid(
                "policy",
                format!("no policy named {n:?}; known: {}", known.join(", ")),
            ));
        }
    }
    Ok(names)
}

fn envelope(pairs: &[(&str, serde_json::Value)]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
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
        let policies = policy_name(analytics, &snapshot, q.policy.as_deref())?;
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
    let analytics = analytics(&state)?;
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
    let analytics = analytics(&state)?;
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
    let analytics = analytics(&state)?;
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
    let chosen: Vec<String> = q
        .indicator
        .as_deref()
        .map(|t| {
            t.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
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
    let analytics = analytics(&state)?;
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
    let analytics = analytics(&state)?;
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

/// `GET /api/v1/policies`: the named matching rules, each resolved to baht per member per year.
async fn policies(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let analytics = analytics(&state)?;
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryBody {
    sql: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryParams {
    format: Option<String>,
}

/// `POST /api/v1/query` with `{"sql": "SELECT …"}`: read-only SQL over the snapshot's tables,
/// within the snapshot's limits (statement size and depth, time, memory, rows, answer bytes, a few
/// at once). The answer is computed and encoded on the query's own threads; `truncated` (and
/// `X-Rows-Truncated`) says when rows were cut at the row or byte cap.
async fn query(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let q: QueryParams = parse_query(raw)?;
    let format = match format_of(q.format.as_deref())? {
        Format::Json => AnswerFormat::Json,
        Format::Csv => AnswerFormat::Csv,
        Format::Arrow => AnswerFormat::Arrow,
    };
    let body: QueryBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("send {{\"sql\": \"SELECT …\"}}: {e}"),
        )
    })?;
    let analytics = analytics(&state)?;
    let snapshot = analytics.current();
    let answer = match snapshot.user_answer(&body.sql, format).await {
        Ok(a) => a,
        Err(e) => return Ok(query_error(e)),
    };
    let truncated = answer.truncated;
    let mut response = match answer.format {
        AnswerFormat::Json => {
            let limits = &snapshot.limits;
            let head = serde_json::json!({
                "truncated": truncated,
                "max_rows": limits.max_rows,
                "max_bytes": limits.max_answer_bytes,
                "snapshot": snapshot.version,
                "count": answer.rows,
            })
            .to_string();
            // The rows come encoded: the envelope is written around them.
            let mut out = Vec::with_capacity(head.len() + answer.body.len() + 10);
            out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
            out.extend_from_slice(b",\"rows\":");
            out.extend_from_slice(&answer.body);
            out.push(b'}');
            ([(header::CONTENT_TYPE, "application/json")], out).into_response()
        }
        AnswerFormat::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"query.csv\"",
                ),
            ],
            answer.body,
        )
            .into_response(),
        AnswerFormat::Arrow => (
            [(header::CONTENT_TYPE, "application/vnd.apache.arrow.stream")],
            answer.body,
        )
            .into_response(),
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&snapshot.version.to_string()) {
        h.insert("x-snapshot-version", v);
    }
    if truncated {
        h.insert("x-rows-truncated", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The answer to a refused or failed user query: 503 with `Retry-After` when every slot stayed
/// busy, 413 for an answer past the byte cap, 400 for the statement's own faults and limits.
fn query_error(e: QueryError) -> Response {
    match &e {
        QueryError::Busy {
            retry_after_secs, ..
        } => ApiError::busy(*retry_after_secs, e.to_string()).into_response(),
        QueryError::AnswerTooLarge { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "answer_too_large",
            e.to_string(),
        )
        .into_response(),
        QueryError::TooLong { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, "query_too_long", e.to_string()).into_response()
        }
        QueryError::TooDeep { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, "query_too_deep", e.to_string()).into_response()
        }
        _ => ApiError::from(e).into_response(),
    }
}
