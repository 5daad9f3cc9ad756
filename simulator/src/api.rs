//! A simulator of fund systems' REST APIs: one axum server on loopback serving many funds' monthly
//! summaries the way a small PHP fund-management app does, with faults that can be switched on, for
//! the `http_json` connector's tests, `welfare-hub demo` and benchmarks.
//!
//! Endpoints (`GET`, JSON):
//!
//! - `/funds/{fund_code}/summaries`: one fund's summaries, oldest row first;
//! - `/summaries`: every fund's, fund after fund (generates every fund per request on demo data: for
//!   tests with explicit rows);
//! - `/funds`: the funds (`fund_code`, `name`, `tambon`).
//!
//! Query parameters: `updated_since` (RFC 3339; rows updated strictly after it), and a page by
//! `page` (from 1) with `per_page`, by `offset` with `limit`, or by `cursor` (from `next_cursor`) with
//! `per_page`/`limit`; 100 rows a page by default, at most 1,000. An answer:
//!
//! ```json
//! {"data":[{"fund_code":"F100101","month":"2568-10","members":1234,"contrib":"30416.67",…,
//!           "balance":1234567.89,"updated_at":"2025-11-10T09:30:00+07:00"}],
//!  "total":120,"page":1,"per_page":100,"next_page":2,"next_cursor":"…"}
//! ```
//!
//! Amounts are strings (decimal columns, as PDO hands them over) except `balance`, a JSON number
//! (a PHP float); months are Buddhist-era `YYYY-MM`; `updated_at` is Bangkok time. [`fields`] maps
//! these names to canonical fields, and [`fund_config`] / [`all_funds_config`] build a connector
//! configuration for a running simulator.
//!
//! Data comes from [`DemoData`] (generated per fund when asked, a few funds cached) and/or explicit
//! rows, which can be added while the server runs. Faults ([`Fault`]) are deterministic: each affects
//! the next `times` matching requests.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use welfare_model::summary::{MEASURES, MeasureValue};
use welfare_model::{Money, Summary};

use crate::DemoData;
use welfare_connectors::http_json::{HttpJsonConfig, Pagination, base64};
use welfare_connectors::mapping::bangkok;

/// Canonical field → the simulated fund system's field name.
const FIELD_NAMES: &[(&str, &str)] = &[
    ("fund_id", "fund_code"),
    ("period", "month"),
    ("members_total", "members"),
    ("members_children", "members_child"),
    ("members_working", "members_adult"),
    ("members_elderly", "members_senior"),
    ("members_joined", "new_members"),
    ("members_left", "resigned"),
    ("contrib_members", "contrib"),
    ("grant_state", "gov_grant"),
    ("grant_local", "lao_grant"),
    ("income_other", "other_income"),
    ("benefits_birth", "wf_birth"),
    ("benefits_sickness", "wf_sick"),
    ("benefits_death", "wf_death"),
    ("benefits_elderly", "wf_elder"),
    ("benefits_education", "wf_edu"),
    ("benefits_occupation", "wf_career"),
    ("benefits_disability", "wf_disabled"),
    ("benefits_disaster", "wf_disaster"),
    ("benefits_other", "wf_other"),
    ("beneficiaries", "recipients"),
    ("services_noncash", "noncash"),
    ("admin_costs", "admin_cost"),
    ("fund_balance", "balance"),
    ("reported_at", "updated_at"),
];

/// Rows per page when the request does not say, and the most a request gets.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1_000;
/// Demo funds whose generated rows are kept (a fund's pages come one after another).
const CACHED_FUNDS: usize = 64;
/// Makes `next_cursor` opaque, as real APIs' are.
const CURSOR_MASK: u64 = 0x5eed_cafe_f00d_2568;

/// The simulated system's field names for canonical fields: the `fields` of a connector
/// configuration.
pub fn fields() -> BTreeMap<String, String> {
    FIELD_NAMES
        .iter()
        .map(|(canonical, source)| (canonical.to_string(), source.to_string()))
        .collect()
}

/// A connector configuration for one fund of a simulator at `addr`: its summaries endpoint, pages of
/// 200 rows (ten years in one request), `updated_since` as the since parameter, `updated_at` as the
/// cursor field. Set `auth`, `pagination` or the rest as a test needs.
pub fn fund_config(addr: SocketAddr, fund_code: &str) -> HttpJsonConfig {
    config_for(format!("http://{addr}/funds/{fund_code}/summaries"))
}

/// A connector configuration for every fund of a simulator at `addr` at once (`/summaries`).
pub fn all_funds_config(addr: SocketAddr) -> HttpJsonConfig {
    config_for(format!("http://{addr}/summaries"))
}

fn config_for(url: String) -> HttpJsonConfig {
    let mut config = HttpJsonConfig::new(url);
    config.pagination = Pagination::Page {
        param: "page".into(),
        size_param: "per_page".into(),
        size: 200,
        first: 1,
    };
    config.since_param = Some("updated_since".into());
    config.cursor_field = Some("updated_at".into());
    config.fields = fields();
    config
}

/// A summary as the simulated system writes it.
pub fn record_of(summary: &Summary, updated_at: DateTime<Utc>) -> Value {
    serde_json::from_str(&record_text(summary, updated_at)).expect("the simulator writes JSON")
}

/// [`record_of`] as JSON text, written directly: the demo serves 700,000 of these.
fn record_text(summary: &Summary, updated_at: DateTime<Utc>) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(720);
    let field = |out: &mut String, name: &str| {
        out.push_str(if out.is_empty() { "{\"" } else { ",\"" });
        out.push_str(name);
        out.push_str("\":");
    };
    field(&mut out, FIELD_NAMES[0].1);
    out.push_str(&Value::from(summary.fund_id.as_str()).to_string());
    field(&mut out, FIELD_NAMES[1].1);
    let _ = write!(
        out,
        "\"{}-{:02}\"",
        summary.period.year_be(),
        summary.period.month()
    );
    for (i, measure) in MEASURES.iter().enumerate() {
        // FIELD_NAMES lists the measures in MEASURES order after the key (checked by a test).
        field(&mut out, FIELD_NAMES[2 + i].1);
        match summary.measure(i) {
            MeasureValue::Count(Some(v)) => {
                let _ = write!(out, "{v}");
            }
            // A float column in the fund system: a JSON number, exact for any real balance.
            MeasureValue::Money(Some(m)) if measure.name == "fund_balance" => {
                write_baht(&mut out, m);
            }
            // Decimal columns, which PHP's database layer hands over as strings.
            MeasureValue::Money(Some(m)) => {
                out.push('"');
                write_baht(&mut out, m);
                out.push('"');
            }
            MeasureValue::Count(None) | MeasureValue::Money(None) => out.push_str("null"),
        }
    }
    field(&mut out, FIELD_NAMES[FIELD_NAMES.len() - 1].1);
    out.push('"');
    out.push_str(
        &updated_at
            .with_timezone(&bangkok())
            .to_rfc3339_opts(SecondsFormat::AutoSi, false),
    );
    out.push_str("\"}");
    out
}

/// Baht with two decimals, from whole satang (integer formatting: faster than a decimal's).
fn write_baht(out: &mut String, money: Money) {
    use std::fmt::Write;
    let satang = money.satang();
    let sign = if satang < 0 { "-" } else { "" };
    let abs = satang.unsigned_abs();
    let _ = write!(out, "{sign}{}.{:02}", abs / 100, abs % 100);
}

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// HTTP 500, as a PHP app answers when its database is down.
    ServerError,
    /// HTTP 429 with `Retry-After: retry_after_secs`.
    TooManyRequests { retry_after_secs: u64 },
    /// No answer at all until the server stops (for client timeouts).
    Hang,
    /// The body `chunk_bytes` at a time, `delay` apart.
    SlowBody { chunk_bytes: usize, delay: Duration },
    /// HTTP 200 with the first half of the JSON body only.
    TruncatedJson,
    /// A later page (not the first) served as if a row had been inserted at the front since the
    /// previous page: the previous page's last row comes again.
    ShiftPages,
}

/// A fault affecting the next `times` requests that match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// Only requests for this fund's summaries; `None`: every request.
    pub fund: Option<String>,
    pub times: u32,
}

impl Fault {
    pub fn new(kind: FaultKind, times: u32) -> Self {
        Fault {
            kind,
            fund: None,
            times,
        }
    }

    /// A fault that never wears off.
    pub fn always(kind: FaultKind) -> Self {
        Fault::new(kind, u32::MAX)
    }

    pub fn for_fund(mut self, fund_code: &str) -> Self {
        self.fund = Some(fund_code.to_string());
        self
    }
}

/// A row as the fund system stores it: the record as JSON text and when it was last written.
#[derive(Debug, Clone)]
struct Row {
    updated_at: DateTime<Utc>,
    json: Box<str>,
}

impl Row {
    fn of(summary: &Summary) -> Row {
        // A row without a report time was written now.
        let updated_at = summary.reported_at.unwrap_or_else(now_seconds);
        Row {
            updated_at,
            json: record_text(summary, updated_at).into(),
        }
    }
}

fn now_seconds() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default()
}

/// The simulated fund systems: their data, credentials and faults. Cheap to clone (shared); change
/// it while the server runs.
#[derive(Clone, Default)]
pub struct FundApi {
    state: Arc<ApiState>,
}

#[derive(Default)]
struct ApiState {
    demo: Option<Arc<DemoData>>,
    demo_index: HashMap<String, usize>,
    /// Explicit rows by fund code, in serving order (after a demo fund's generated rows).
    rows: RwLock<BTreeMap<String, Arc<Vec<Row>>>>,
    /// The `Authorization` header every request must carry, if any.
    authorization: RwLock<Option<String>>,
    faults: Mutex<Vec<Fault>>,
    requests: AtomicU64,
    cache: Mutex<VecDeque<(usize, Arc<Vec<Row>>)>>,
}

impl std::fmt::Debug for FundApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FundApi")
            .field("demo_funds", &self.state.demo_index.len())
            .field("explicit_funds", &read(&self.state.rows).len())
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

impl FundApi {
    /// Serves the demo funds, generating a fund's summaries when they are asked for.
    pub fn from_demo(data: Arc<DemoData>) -> Self {
        let demo_index = data
            .funds
            .iter()
            .enumerate()
            .map(|(i, p)| (p.fund.id.as_str().to_string(), i))
            .collect();
        FundApi {
            state: Arc::new(ApiState {
                demo: Some(data),
                demo_index,
                ..ApiState::default()
            }),
        }
    }

    /// Serves these summaries (grouped by fund, in the given order). Each row's `updated_at` is its
    /// `reported_at` (now, when it has none).
    pub fn from_rows(rows: &[Summary]) -> Self {
        let api = FundApi::default();
        api.append(rows);
        api
    }

    /// Requires `Authorization: Bearer <token>`.
    pub fn with_bearer(self, token: &str) -> Self {
        *write(&self.state.authorization) = Some(format!("Bearer {token}"));
        self
    }

    /// Requires HTTP basic authentication.
    pub fn with_basic(self, username: &str, password: &str) -> Self {
        let encoded = base64(format!("{username}:{password}").as_bytes());
        *write(&self.state.authorization) = Some(format!("Basic {encoded}"));
        self
    }

    /// Adds rows at the end of their funds' lists, as a fund system does when months are reported
    /// (a since-cursor sees them when their `reported_at` is later than the cursor).
    pub fn append(&self, rows: &[Summary]) {
        let mut all = write(&self.state.rows);
        for s in rows {
            let list = all.entry(s.fund_id.as_str().to_string()).or_default();
            Arc::make_mut(list).push(Row::of(s));
        }
    }

    /// Adds a record exactly as given (for rows a connector cannot read). Its `updated_at` field, if
    /// RFC 3339, is its update time; else now.
    pub fn append_record(&self, fund_code: &str, record: Value) {
        let updated_at = record
            .get("updated_at")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or_else(now_seconds, |t| t.with_timezone(&Utc));
        let mut all = write(&self.state.rows);
        let list = all.entry(fund_code.to_string()).or_default();
        Arc::make_mut(list).push(Row {
            updated_at,
            json: record.to_string().into(),
        });
    }

    /// Switches a fault on (faults are tried in the order they were added).
    pub fn inject(&self, fault: Fault) {
        lock(&self.state.faults).push(fault);
    }

    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
    }

    /// Requests received so far (every endpoint, answered or not).
    pub fn request_count(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Every fund code, in serving order: demo funds, then funds with explicit rows only.
    pub fn fund_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = match &self.state.demo {
            Some(d) => d.funds.iter().map(|p| p.fund.id.to_string()).collect(),
            None => Vec::new(),
        };
        codes.extend(
            read(&self.state.rows)
                .keys()
                .filter(|c| !self.state.demo_index.contains_key(*c))
                .cloned(),
        );
        codes
    }

    fn demo_rows(&self, demo: &DemoData, index: usize) -> Arc<Vec<Row>> {
        if let Some((_, rows)) = lock(&self.state.cache).iter().find(|(i, _)| *i == index) {
            return rows.clone();
        }
        let rows: Arc<Vec<Row>> = Arc::new(demo.summaries(index).iter().map(Row::of).collect());
        let mut cache = lock(&self.state.cache);
        if cache.len() >= CACHED_FUNDS {
            cache.pop_front();
        }
        cache.push_back((index, rows.clone()));
        rows
    }

    /// A fund's rows, generated and explicit; `None` for an unknown fund.
    fn fund_rows(&self, code: &str) -> Option<Arc<Vec<Row>>> {
        let extra = read(&self.state.rows).get(code).cloned();
        let generated = self
            .state
            .demo
            .as_ref()
            .zip(self.state.demo_index.get(code))
            .map(|(demo, i)| self.demo_rows(demo, *i));
        match (generated, extra) {
            (Some(g), Some(e)) => Some(Arc::new(g.iter().chain(e.iter()).cloned().collect())),
            (g, e) => g.or(e),
        }
    }

    /// The first fault that applies to a request for `fund`'s summaries (or another endpoint),
    /// counted as used.
    fn take_fault(&self, fund: Option<&str>, later_page: bool) -> Option<FaultKind> {
        let mut faults = lock(&self.state.faults);
        let fault = faults.iter_mut().find(|f| {
            f.times > 0
                && f.fund.as_deref().is_none_or(|code| Some(code) == fund)
                && (later_page || f.kind != FaultKind::ShiftPages)
        })?;
        fault.times = fault.times.saturating_sub(1);
        Some(fault.kind.clone())
    }
}

/// Stops the server when dropped or told to.
#[derive(Debug)]
pub struct ApiHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl ApiHandle {
    /// Stops accepting connections, ends hanging answers and waits (at most 5 s) for the rest.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
        {
            tracing::warn!("the API simulator did not stop within 5 s");
        }
    }
}

impl Drop for ApiHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[derive(Clone)]
struct Served {
    api: FundApi,
    stopped: watch::Receiver<bool>,
}

/// Starts serving `api` on 127.0.0.1 at a free port.
pub async fn start(api: FundApi) -> std::io::Result<(SocketAddr, ApiHandle)> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let served = Served {
        api,
        stopped: stopped.clone(),
    };
    let app = Router::new()
        .route("/funds", get(list_funds))
        .route("/funds/{fund_code}/summaries", get(fund_summaries))
        .route("/summaries", get(all_summaries))
        .with_state(served);
    let task = tokio::spawn(async move {
        let mut stopped = stopped;
        let shutdown = async move {
            // Also ends when the handle is dropped (the sender is gone).
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!("API simulator: {e}");
        }
    });
    Ok((
        addr,
        ApiHandle {
            stop,
            task: Some(task),
        },
    ))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    updated_since: Option<String>,
    page: Option<usize>,
    per_page: Option<usize>,
    offset: Option<usize>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// Which rows a request asks for.
struct Window {
    start: usize,
    size: usize,
    /// The page number, when asked by page.
    page: Option<usize>,
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, json!({ "error": message }).to_string().into())
}

fn json_response(status: StatusCode, body: Body) -> Response {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .expect("a valid response")
}

fn window(q: &ListQuery) -> Result<Window, String> {
    let size = q
        .per_page
        .or(q.limit)
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    if let Some(cursor) = q.cursor.as_deref().filter(|c| !c.is_empty()) {
        let start = u64::from_str_radix(cursor, 16)
            .map_err(|_| format!("cursor {cursor:?} is not one this server handed out"))?
            ^ CURSOR_MASK;
        return Ok(Window {
            start: usize::try_from(start).map_err(|_| "cursor out of range".to_string())?,
            size,
            page: None,
        });
    }
    if let Some(offset) = q.offset {
        return Ok(Window {
            start: offset,
            size,
            page: None,
        });
    }
    let page = q.page.unwrap_or(1);
    if page == 0 {
        return Err("pages are numbered from 1".into());
    }
    Ok(Window {
        start: (page - 1).saturating_mul(size),
        size,
        page: Some(page),
    })
}

fn since(q: &ListQuery) -> Result<Option<DateTime<Utc>>, String> {
    match q.updated_since.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| format!("updated_since {t:?}: {e}")),
    }
}

/// Checks credentials, counts the request and picks a fault; `Err` is the answer to give instead.
async fn admit(
    served: &Served,
    headers: &HeaderMap,
    fund: Option<&str>,
    q: &ListQuery,
) -> Result<(Window, Option<FaultKind>), Response> {
    let api = &served.api;
    api.state.requests.fetch_add(1, Ordering::Relaxed);
    let expected = read(&api.state.authorization).clone();
    if let Some(expected) = expected {
        let given = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            // Careless on purpose, like some real servers: it echoes what it was given, so the
            // connector's tests can check that credentials never reach an error message.
            let scheme = expected.split(' ').next().unwrap_or("Bearer");
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                &format!("invalid credentials: {:?}", given.unwrap_or("")),
            );
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                scheme.parse().expect("a valid header value"),
            );
            return Err(response);
        }
    }
    let mut window = window(q).map_err(|e| error(StatusCode::BAD_REQUEST, &e))?;
    let fault = api.take_fault(fund, window.start > 0);
    match &fault {
        Some(FaultKind::ServerError) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SQLSTATE[HY000] [2002] Connection refused",
        )),
        Some(FaultKind::TooManyRequests { retry_after_secs }) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Attempts.");
            response
                .headers_mut()
                .insert(RETRY_AFTER, (*retry_after_secs).into());
            Err(response)
        }
        Some(FaultKind::Hang) => {
            let mut stopped = served.stopped.clone();
            let _ = stopped.wait_for(|s| *s).await;
            Err(error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))
        }
        Some(FaultKind::ShiftPages) => {
            window.start -= 1;
            Ok((window, fault))
        }
        _ => Ok((window, fault)),
    }
}

/// The answer for a window of `records` (JSON texts, already filtered), with paging links and the
/// fault. Written by concatenation: the records are JSON already.
fn page_answer(records: Vec<&str>, w: &Window, fault: Option<FaultKind>) -> Response {
    let total = records.len();
    let end = w.start.saturating_add(w.size).min(total);
    let data = records.get(w.start.min(total)..end).unwrap_or_default();
    let more = end < total;
    let links = json!({
        "total": total,
        "page": w.page,
        "per_page": w.size,
        "next_page": w.page.filter(|_| more).map(|p| p + 1),
        "next_cursor": more.then(|| format!("{:016x}", end as u64 ^ CURSOR_MASK)),
    })
    .to_string();
    let mut body = String::with_capacity(data.iter().map(|r| r.len() + 1).sum::<usize>() + 200);
    body.push_str("{\"data\":[");
    for (i, record) in data.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(record);
    }
    body.push_str("],");
    body.push_str(&links[1..]);
    let mut bytes = body.into_bytes();
    match fault {
        Some(FaultKind::TruncatedJson) => {
            bytes.truncate(bytes.len() / 2);
            json_response(StatusCode::OK, bytes.into())
        }
        Some(FaultKind::SlowBody { chunk_bytes, delay }) => json_response(
            StatusCode::OK,
            Body::from_stream(Drip {
                rest: bytes.into(),
                chunk: chunk_bytes.max(1),
                delay,
                sleep: None,
            }),
        ),
        _ => json_response(StatusCode::OK, bytes.into()),
    }
}

async fn fund_summaries(
    State(served): State<Served>,
    Path(fund_code): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let (window, fault) = match admit(&served, &headers, Some(&fund_code), &q).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let since = match since(&q) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let Some(rows) = served.api.fund_rows(&fund_code) else {
        return error(StatusCode::NOT_FOUND, "No query results for model [Fund].");
    };
    let records = rows
        .iter()
        .filter(|r| since.is_none_or(|s| r.updated_at > s))
        .map(|r| &*r.json)
        .collect();
    page_answer(records, &window, fault)
}

async fn all_summaries(
    State(served): State<Served>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let (window, fault) = match admit(&served, &headers, None, &q).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let since = match since(&q) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let api = &served.api;
    let funds: Vec<Arc<Vec<Row>>> = api
        .fund_codes()
        .iter()
        .filter_map(|c| api.fund_rows(c))
        .collect();
    let records = funds
        .iter()
        .flat_map(|rows| rows.iter())
        .filter(|r| since.is_none_or(|s| r.updated_at > s))
        .map(|r| &*r.json)
        .collect();
    page_answer(records, &window, fault)
}

async fn list_funds(
    State(served): State<Served>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let (window, fault) = match admit(&served, &headers, None, &q).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let api = &served.api;
    let records: Vec<String> = api
        .fund_codes()
        .into_iter()
        .map(|code| {
            let plan = api
                .state
                .demo
                .as_ref()
                .zip(api.state.demo_index.get(&code))
                .map(|(d, i)| &d.funds[*i].fund);
            json!({
                "fund_code": code,
                "name": plan.map(|f| f.name_th.clone()),
                "tambon": plan.map(|f| f.area.to_string()),
            })
            .to_string()
        })
        .collect();
    page_answer(records.iter().map(String::as_str).collect(), &window, fault)
}

/// A body sent a chunk at a time with a pause before each.
struct Drip {
    rest: Bytes,
    chunk: usize,
    delay: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl futures_core::Stream for Drip {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        let delay = self.delay;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.sleep = None;
        let n = self.chunk.min(self.rest.len());
        let piece = self.rest.split_to(n);
        Poll::Ready(Some(Ok(piece)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use chrono::TimeZone;
    use welfare_model::{FundId, Money, Period};

    use super::*;
    use crate::{DemoConfig, TambonInfo};
    use welfare_connectors::batch::from_batch;
    use welfare_connectors::source::Connector;

    fn http() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    }

    async fn get(addr: SocketAddr, path: &str) -> (u16, HeaderMap, Value) {
        let response = http()
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.json().await.unwrap())
    }

    fn summary(fund: &str, period: &str, day: u32) -> Summary {
        let mut s = Summary::new(FundId::parse(fund).unwrap(), Period::parse(period).unwrap());
        s.members_total = Some(1_234);
        s.contrib_members = Some(Money::parse("30416.67").unwrap());
        s.grant_state = Some(Money::ZERO);
        s.fund_balance = Some(Money::parse("1234567.89").unwrap());
        s.reported_at = Some(Utc.with_ymd_and_hms(2025, 11, day, 2, 30, 0).unwrap());
        s
    }

    fn tambons(n: usize) -> Vec<TambonInfo> {
        crate::demo_data::test_tambons(n)
    }

    #[tokio::test]
    async fn records_in_the_fund_systems_shape() {
        let api = FundApi::from_rows(&[summary("F100101", "2025-10", 10)]);
        let (addr, _server) = start(api).await.unwrap();
        let (status, headers, body) = get(addr, "/funds/F100101/summaries").await;
        assert_eq!(status, 200);
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        let record = &body["data"][0];
        assert_eq!(record["fund_code"], "F100101");
        assert_eq!(record["month"], "2568-10");
        assert_eq!(record["members"], 1_234);
        assert_eq!(record["contrib"], "30416.67");
        assert_eq!(record["gov_grant"], "0.00");
        assert_eq!(record["lao_grant"], Value::Null, "not reported is null");
        assert_eq!(record["balance"].to_string(), "1234567.89");
        assert_eq!(record["updated_at"], "2025-11-10T09:30:00+07:00");
        assert_eq!(
            (body["total"].clone(), body["next_page"].clone()),
            (json!(1), Value::Null)
        );
        // Every canonical field has a name in the fund system, measures in MEASURES order.
        let mapped = fields();
        assert_eq!(FIELD_NAMES.len(), MEASURES.len() + 3);
        for (i, m) in MEASURES.iter().enumerate() {
            assert_eq!(FIELD_NAMES[2 + i].0, m.name);
        }
        assert_eq!(record.as_object().unwrap().len(), mapped.len());
    }

    #[tokio::test]
    async fn paging_and_since() {
        let rows: Vec<Summary> = (1..=5)
            .map(|d| summary("F1", &format!("2025-{:02}", d), d))
            .collect();
        let api = FundApi::from_rows(&rows);
        let (addr, _server) = start(api).await.unwrap();
        let months = |body: &Value| -> Vec<String> {
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["month"].as_str().unwrap().to_string())
                .collect()
        };
        let (_, _, p2) = get(addr, "/funds/F1/summaries?page=2&per_page=2").await;
        assert_eq!(months(&p2), ["2568-03", "2568-04"]);
        assert_eq!(
            (p2["next_page"].clone(), p2["total"].clone()),
            (json!(3), json!(5))
        );
        let (_, _, o) = get(addr, "/funds/F1/summaries?offset=3&limit=10").await;
        assert_eq!(months(&o), ["2568-04", "2568-05"]);
        assert_eq!(o["next_cursor"], Value::Null);
        let (_, _, c1) = get(addr, "/funds/F1/summaries?per_page=3").await;
        let cursor = c1["next_cursor"].as_str().unwrap().to_string();
        let (_, _, c2) = get(
            addr,
            &format!("/funds/F1/summaries?per_page=3&cursor={cursor}"),
        )
        .await;
        assert_eq!(months(&c2), ["2568-04", "2568-05"]);
        // Strictly after: the row updated at the given instant is not repeated.
        let (_, _, s) = get(
            addr,
            "/funds/F1/summaries?updated_since=2025-11-03T09:30:00%2B07:00",
        )
        .await;
        assert_eq!(months(&s), ["2568-04", "2568-05"]);
        let (status, _, e) = get(addr, "/funds/F1/summaries?updated_since=yesterday").await;
        assert_eq!(status, 400, "{e}");
        let (status, _, _) = get(addr, "/funds/F1/summaries?cursor=zz").await;
        assert_eq!(status, 400);
        let (status, _, _) = get(addr, "/funds/F9/summaries").await;
        assert_eq!(status, 404);
    }

    #[tokio::test]
    async fn faults_by_fund_and_count() {
        let api = FundApi::from_rows(&[summary("F1", "2025-10", 10), summary("F2", "2025-10", 10)]);
        api.inject(Fault::new(FaultKind::ServerError, 2).for_fund("F1"));
        api.inject(Fault::new(
            FaultKind::TooManyRequests {
                retry_after_secs: 7,
            },
            1,
        ));
        let (addr, _server) = start(api.clone()).await.unwrap();
        assert_eq!(get(addr, "/funds/F1/summaries").await.0, 500);
        let (status, headers, _) = get(addr, "/funds/F2/summaries").await;
        assert_eq!((status, headers[RETRY_AFTER].to_str().unwrap()), (429, "7"));
        assert_eq!(get(addr, "/funds/F2/summaries").await.0, 200);
        assert_eq!(get(addr, "/funds/F1/summaries").await.0, 500);
        assert_eq!(get(addr, "/funds/F1/summaries").await.0, 200);
        assert_eq!(api.request_count(), 5);
        // Truncated: the body is half a JSON document.
        api.inject(Fault::new(FaultKind::TruncatedJson, 1));
        let text = http()
            .get(format!("http://{addr}/funds/F1/summaries"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(serde_json::from_str::<Value>(&text).unwrap_err().is_eof());
        // Shifted: the second page starts with the first page's last row.
        api.inject(Fault::new(FaultKind::ShiftPages, 1));
        let (_, _, first) = get(addr, "/summaries?per_page=1").await;
        let (_, _, second) = get(addr, "/summaries?page=2&per_page=1").await;
        assert_eq!(first["data"], second["data"]);
        let (_, _, second) = get(addr, "/summaries?page=2&per_page=1").await;
        assert_eq!(second["data"][0]["fund_code"], "F2", "once only");
    }

    #[tokio::test]
    async fn credentials_and_stopping() {
        let api = FundApi::from_rows(&[summary("F1", "2025-10", 10)]).with_bearer("tok");
        let (addr, server) = start(api).await.unwrap();
        let (status, headers, _) = get(addr, "/funds/F1/summaries").await;
        assert_eq!(
            (status, headers[WWW_AUTHENTICATE].to_str().unwrap()),
            (401, "Bearer")
        );
        let ok = http()
            .get(format!("http://{addr}/funds/F1/summaries"))
            .bearer_auth("tok")
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        drop(ok);
        // A hanging request ends when the server stops.
        let hang = FundApi::default();
        hang.inject(Fault::always(FaultKind::Hang));
        let (hang_addr, hang_server) = start(hang).await.unwrap();
        let waiting = tokio::spawn(async move { get(hang_addr, "/funds").await.0 });
        tokio::time::sleep(Duration::from_millis(100)).await;
        hang_server.stop().await;
        assert_eq!(waiting.await.unwrap(), 503);
        server.stop().await;
        assert!(
            http()
                .get(format!("http://{addr}/funds"))
                .send()
                .await
                .unwrap_err()
                .is_connect()
        );
    }

    #[tokio::test]
    async fn demo_funds_come_through_connectors_as_generated() {
        let config = DemoConfig::ten_years(Period::new(2026, 9).unwrap());
        let data = Arc::new(DemoData::plan(&tambons(40), config));
        let api = FundApi::from_demo(data.clone());
        let (addr, _server) = start(api.clone()).await.unwrap();
        let (_, _, funds) = get(addr, "/funds?per_page=1000").await;
        assert_eq!(funds["total"], data.funds.len());
        assert_eq!(
            funds["data"][0]["fund_code"],
            data.funds[0].fund.id.as_str()
        );
        assert_eq!(
            funds["data"][0]["name"],
            data.funds[0].fund.name_th.as_str()
        );
        assert_eq!(api.fund_codes().len(), data.funds.len());
        for (i, plan) in data.funds.iter().enumerate().take(12) {
            let connector = fund_config(addr, plan.fund.id.as_str())
                .build(format!("connector:{}", plan.fund.id))
                .unwrap();
            let pull = connector.pull(None).await.unwrap();
            assert!(pull.rejected.is_empty(), "{:?}", pull.rejected);
            let got: Vec<Summary> = pull
                .batches
                .iter()
                .flat_map(|b| from_batch(&b.rows).unwrap())
                .collect();
            let want: Vec<Summary> = data
                .summaries(i)
                .into_iter()
                .map(|mut s| {
                    s.source = Some(format!("connector:{}", plan.fund.id));
                    s
                })
                .collect();
            assert!(want.len() > 60, "ten years of reports, a few missing");
            assert_eq!(got, want, "fund {}", plan.fund.id);
            // Resuming from the cursor finds nothing new.
            let again = connector.pull(pull.cursor.as_ref()).await.unwrap();
            assert_eq!(again.row_count(), 0);
        }
        // A row appended to a demo fund comes after its generated ones.
        let code = data.funds[0].fund.id.as_str();
        let mut late = summary(code, "2026-10", 10);
        late.reported_at = Some(Utc.with_ymd_and_hms(2026, 11, 10, 3, 0, 0).unwrap());
        api.append(&[late]);
        let (_, _, body) = get(addr, &format!("/funds/{code}/summaries?per_page=1000")).await;
        let data_rows = body["data"].as_array().unwrap();
        assert_eq!(data_rows.last().unwrap()["month"], "2569-10");
    }

    /// The demo's scale on loopback: about 6,000 funds, ten years each, one connector per fund. Run
    /// with `cargo test --workspace --lib simulator::api -- --ignored --nocapture`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a benchmark: about a minute"]
    async fn demo_scale_pull() {
        let config = DemoConfig::ten_years(Period::new(2026, 9).unwrap());
        let data = Arc::new(DemoData::plan(&tambons(7_200), config));
        let (addr, _server) = start(FundApi::from_demo(data.clone())).await.unwrap();
        let started = Instant::now();
        let mut rows = 0;
        for plan in &data.funds {
            let connector = fund_config(addr, plan.fund.id.as_str())
                .build(format!("connector:{}", plan.fund.id))
                .unwrap();
            rows += connector.pull(None).await.unwrap().row_count();
        }
        let took = started.elapsed();
        eprintln!(
            "{} funds, {rows} rows in {took:?}: {:?} a fund (server included)",
            data.funds.len(),
            took / data.funds.len() as u32
        );
    }
}
