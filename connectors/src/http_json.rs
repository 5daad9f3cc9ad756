//! `http_json`: a fund system's REST API returning JSON.
//!
//! A pull is a series of `GET` requests: the configured URL, then its next pages (by page number,
//! offset, or a cursor the server hands out), each answer holding an array of records (at
//! `records_field`, or the whole answer when it is an array). Records go through the shared
//! [`crate::mapping`] like every other kind's rows; a record that cannot be read is rejected with its
//! page and position and never blocks the others.
//!
//! Cursor: with `cursor_field` (a record field that grows on every change, such as `updated_at`) the
//! cursor is the largest value seen; `since_param` sends it to the server, which then lists only what
//! changed (without `since_param` the connector filters itself). Without `cursor_field` the cursor is a
//! digest of every record: an unchanged source returns an empty pull. Rejected records move the cursor
//! too: they are quarantined once and come again when the fund corrects them (which changes their
//! cursor field).
//!
//! Errors: connection failures and a body cut short are [`ConnectorError::Unreachable`]; no complete
//! answer within `request_timeout_secs` is [`ConnectorError::Timeout`]; 401/403 are
//! [`ConnectorError::Auth`]; 429 is retried in the pull (honouring `Retry-After`, at most 30 s, three
//! times) before it becomes [`ConnectorError::Http`]; other statuses are [`ConnectorError::Http`]
//! (5xx transient); an answer that is not JSON at all or has no records array is
//! [`ConnectorError::Content`]; the same fund and month on two pages (rows shifted while paging) is
//! [`ConnectorError::Inconsistent`]. Secrets never appear in messages or `Debug` output.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, HeaderMap, RETRY_AFTER};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;
use welfare_model::{FundId, Period};

use crate::mapping::{
    FieldMapping, HeaderDefaults, RawRecord, RawValue, RecordMapper, Target, parse_timestamp,
};
use crate::pipeline::{ContentDigest, DIGEST_PREFIX, PullBuilder};
use crate::source::{
    Connector, ConnectorError, Cursor, Pull, Rejected, Secret, UnrecognisedColumn,
};

/// A listing longer than this is a server that never says "last page".
const MAX_PAGES: u32 = 100_000;
/// 429 answers retried within one pull before giving up.
const MAX_THROTTLED_RETRIES: u32 = 3;
/// The longest `Retry-After` honoured: longer waits are the hub's retry loop's business.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The configuration of an `http_json` source.
///
/// ```toml
/// kind = "http_json"
/// url = "https://fund.example/api/summaries"
/// auth = { kind = "bearer", token_env = "FUND_API_TOKEN" }
/// pagination = { kind = "page", param = "page", size_param = "per_page", size = 100 }
/// since_param = "updated_since"
/// cursor_field = "updated_at"
/// requests_per_second = 5.0
/// [fields]
/// fund_id = "fund_code"
/// period = "month"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpJsonConfig {
    /// The endpoint that lists summaries (http or https; credentials go in `auth`, never in the URL).
    pub url: String,
    /// Credentials, read from the environment variables named here when the connector is built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<HttpAuth>,
    /// How the listing is paged (default: one request).
    #[serde(default)]
    pub pagination: Pagination,
    /// Where the records array is in an answer object, dotted for nested objects (default `data`). An
    /// answer that is itself an array is the records.
    #[serde(default = "default_records_field")]
    pub records_field: String,
    /// The query parameter that carries the cursor to the server (`updated_since`); needs
    /// `cursor_field`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_param: Option<String>,
    /// The record field whose largest value becomes the next cursor (`updated_at`): a timestamp, a
    /// number or text. Without it the cursor is a digest of all records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_field: Option<String>,
    /// At most this many requests a second from this connector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    /// Seconds one request may take, body included (default 30). Not `timeout_secs`: the hub's
    /// connector table uses that key for a whole run.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// The fund of a one-fund API whose records carry no fund id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_id: Option<String>,
    /// Source field names for canonical fields (`members_total = "สมาชิกทั้งหมด"`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Record fields that feed nothing on purpose (`ignore = ["remark"]`): not reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// Credentials for the API. Only the names of environment variables are configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HttpAuth {
    /// `Authorization: Bearer <token>`.
    Bearer { token_env: String },
    /// HTTP basic authentication.
    Basic {
        username: String,
        password_env: String,
    },
}

/// How an API pages its listing. A page shorter than the requested size ends a page or offset
/// listing, so `size`/`limit` must not exceed what the server delivers per page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One request returns everything.
    #[default]
    None,
    /// `?page=1&per_page=100`, `?page=2&per_page=100`, …
    Page {
        #[serde(default = "default_page_param")]
        param: String,
        #[serde(default = "default_size_param")]
        size_param: String,
        #[serde(default = "default_size")]
        size: u32,
        /// The number of the first page (1, or 0 for some APIs).
        #[serde(default = "default_first_page")]
        first: u32,
    },
    /// `?offset=0&limit=100`, `?offset=100&limit=100`, …
    Offset {
        #[serde(default = "default_offset_param")]
        param: String,
        #[serde(default = "default_limit_param")]
        limit_param: String,
        #[serde(default = "default_size")]
        limit: u32,
    },
    /// The answer names the next page in `next_field` (dotted for nested objects): a token sent back
    /// as `param`, or a URL on the same server to follow. Absent, null or empty ends the listing.
    Cursor {
        #[serde(default = "default_cursor_param")]
        param: String,
        #[serde(default = "default_next_field")]
        next_field: String,
        /// A page-size parameter and size to send, if the API takes one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size_param: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u32>,
    },
}

fn default_records_field() -> String {
    "data".into()
}
fn default_request_timeout() -> u64 {
    30
}
fn default_page_param() -> String {
    "page".into()
}
fn default_size_param() -> String {
    "per_page".into()
}
fn default_size() -> u32 {
    100
}
fn default_first_page() -> u32 {
    1
}
fn default_offset_param() -> String {
    "offset".into()
}
fn default_limit_param() -> String {
    "limit".into()
}
fn default_cursor_param() -> String {
    "cursor".into()
}
fn default_next_field() -> String {
    "next".into()
}

impl HttpJsonConfig {
    /// A configuration for `url` with every default: no auth, no paging, records at `data`.
    pub fn new(url: impl Into<String>) -> Self {
        HttpJsonConfig {
            url: url.into(),
            auth: None,
            pagination: Pagination::None,
            records_field: default_records_field(),
            since_param: None,
            cursor_field: None,
            requests_per_second: None,
            request_timeout_secs: default_request_timeout(),
            fund_id: None,
            fields: BTreeMap::new(),
            ignore: Vec::new(),
        }
    }

    /// Builds the connector, reading secrets from the environment variables the configuration names.
    pub fn build(&self, source: String) -> Result<HttpJsonConnector, ConnectorError> {
        self.build_with_secrets(source, &Secret::from_env)
    }

    /// Builds the connector with secrets from `secret(variable name)` instead of the environment (for
    /// callers that hold secrets elsewhere, and tests: changing the environment is unsafe).
    pub fn build_with_secrets(
        &self,
        source: String,
        secret: &dyn Fn(&str) -> Result<Secret, ConnectorError>,
    ) -> Result<HttpJsonConnector, ConnectorError> {
        let config = |m: String| ConnectorError::Config(format!("{source}: {m}"));
        let url = Url::parse(&self.url).map_err(|e| config(format!("url {:?}: {e}", self.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(config(format!("url {:?} is not http or https", self.url)));
        }
        if url.password().is_some() {
            // Do not echo the URL: it holds a password.
            return Err(config(
                "the url carries a password; name an environment variable in auth instead".into(),
            ));
        }
        let auth = match &self.auth {
            None => None,
            Some(HttpAuth::Bearer { token_env }) => Some(Credentials::Bearer {
                env: token_env.clone(),
                token: secret(token_env)?,
            }),
            Some(HttpAuth::Basic {
                username,
                password_env,
            }) => {
                let password = secret(password_env)?;
                let header = base64(format!("{username}:{}", password.expose()).as_bytes());
                Some(Credentials::Basic {
                    username: username.clone(),
                    env: password_env.clone(),
                    password,
                    header: Secret::new(header),
                })
            }
        };
        match &self.pagination {
            Pagination::Page { size: 0, .. } | Pagination::Offset { limit: 0, .. } => {
                return Err(config("a page size must be at least 1".into()));
            }
            Pagination::Cursor {
                size_param, size, ..
            } if size_param.is_some() != size.is_some() || *size == Some(0) => {
                return Err(config(
                    "cursor pagination takes size_param and size (at least 1) together".into(),
                ));
            }
            _ => {}
        }
        if self.since_param.is_some() && self.cursor_field.is_none() {
            return Err(config(
                "since_param needs cursor_field, the record field the next cursor is taken from"
                    .into(),
            ));
        }
        let limiter = match self.requests_per_second {
            None => None,
            Some(r) if r.is_finite() && r > 0.0 => Some(RateLimiter::new(r)),
            Some(r) => return Err(config(format!("requests_per_second {r} is not positive"))),
        };
        if self.request_timeout_secs == 0 {
            return Err(config("request_timeout_secs must be at least 1".into()));
        }
        let mut mapper = RecordMapper::new(source.clone());
        mapper.fund_id = self
            .fund_id
            .as_deref()
            .map(FundId::parse)
            .transpose()
            .map_err(|e| config(e.to_string()))?;
        Ok(HttpJsonConnector {
            mapping: FieldMapping::new(&self.fields)?.with_ignored(&self.ignore),
            mapper,
            url,
            auth,
            pagination: self.pagination.clone(),
            records_path: self
                .records_field
                .split('.')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            since_param: self.since_param.clone(),
            cursor_field: self.cursor_field.clone(),
            limiter,
            timeout: Duration::from_secs(self.request_timeout_secs),
            source,
        })
    }
}

/// Credentials with the names of the variables they came from, for messages.
#[derive(Debug)]
enum Credentials {
    Bearer {
        env: String,
        token: Secret,
    },
    Basic {
        username: String,
        env: String,
        password: Secret,
        /// `base64(username:password)`, to redact it if a server echoes it.
        header: Secret,
    },
}

impl Credentials {
    fn describe(&self) -> String {
        match self {
            Credentials::Bearer { env, .. } => format!("the bearer token from ${env}"),
            Credentials::Basic { username, env, .. } => {
                format!("basic credentials of {username:?} (password from ${env})")
            }
        }
    }

    fn secrets(&self) -> Vec<&str> {
        match self {
            Credentials::Bearer { token, .. } => vec![token.expose()],
            Credentials::Basic {
                password, header, ..
            } => vec![password.expose(), header.expose()],
        }
    }
}

/// Spaces requests at least `interval` apart, across every pull of one connector.
#[derive(Debug)]
struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl RateLimiter {
    fn new(per_second: f64) -> Self {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: tokio::sync::Mutex::new(None),
        }
    }

    async fn wait(&self) {
        // Holding the lock while sleeping queues the waiters in order (tokio's mutex is fair).
        let mut next = self.next.lock().await;
        if let Some(at) = *next {
            tokio::time::sleep_until(at).await;
        }
        let now = tokio::time::Instant::now();
        *next = Some(next.map_or(now, |at| at.max(now)) + self.interval);
    }
}

/// A connector for one fund system's REST API.
pub struct HttpJsonConnector {
    source: String,
    url: Url,
    auth: Option<Credentials>,
    pagination: Pagination,
    records_path: Vec<String>,
    since_param: Option<String>,
    cursor_field: Option<String>,
    limiter: Option<RateLimiter>,
    timeout: Duration,
    mapping: FieldMapping,
    mapper: RecordMapper,
}

impl fmt::Debug for HttpJsonConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpJsonConnector")
            .field("source", &self.source)
            .field("url", &self.url.as_str())
            .field("auth", &self.auth.as_ref().map(Credentials::describe))
            .field("pagination", &self.pagination)
            .field("cursor_field", &self.cursor_field)
            .finish_non_exhaustive()
    }
}

/// One HTTP client per tokio runtime: a client holds a connection pool and building one loads the
/// system's root certificates (milliseconds), too slow for thousands of connectors, while pooled
/// connections die with the runtime that opened them (tests run a runtime each).
fn client() -> Result<reqwest::Client, ConnectorError> {
    static CLIENTS: OnceLock<Mutex<HashMap<tokio::runtime::Id, reqwest::Client>>> = OnceLock::new();
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|e| ConnectorError::Config(format!("http_json needs a tokio runtime: {e}")))?
        .id();
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = clients.get(&runtime) {
        return Ok(c.clone());
    }
    // reqwest is built without a crypto provider; ring is the one sqlx uses too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .user_agent(concat!("welfare-hub/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConnectorError::Config(format!("cannot build an HTTP client: {e}")))?;
    if clients.len() >= 16 {
        // Runtimes of finished tests; the live ones rebuild theirs.
        clients.clear();
    }
    clients.insert(runtime, client.clone());
    Ok(client)
}

/// Standard base64 with padding (for HTTP basic credentials). Public so that the simulator's API
/// checks credentials the way the connector sends them.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// How long a 429 asks us to wait: `Retry-After` in seconds or as an HTTP date, else 1, 2, 4 s…;
/// never more than [`MAX_RETRY_AFTER`].
fn retry_after(headers: &HeaderMap, attempt: u32, now: DateTime<Utc>) -> Duration {
    let asked = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| {
            let text = text.trim();
            if let Ok(secs) = text.parse::<u64>() {
                return Some(Duration::from_secs(secs));
            }
            let at = DateTime::parse_from_rfc2822(text).ok()?;
            Some((at.with_timezone(&Utc) - now).to_std().unwrap_or_default())
        });
    asked
        .unwrap_or(Duration::from_secs(1 << attempt.min(5)))
        .min(MAX_RETRY_AFTER)
}

/// A cursor value, ordered by what it is: numbers as numbers, times as instants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum CursorKey {
    Number(Decimal),
    Time(DateTime<Utc>),
    Text(String),
}

impl CursorKey {
    fn of_text(text: &str) -> CursorKey {
        let t = text.trim();
        // RFC 3339 first: the usual cursor, and much cheaper than the general date reader.
        if let Ok(time) = DateTime::parse_from_rfc3339(t) {
            return CursorKey::Time(time.with_timezone(&Utc));
        }
        if let Ok(d) = Decimal::from_str(t) {
            return CursorKey::Number(d);
        }
        if let Ok(Some(time)) = parse_timestamp(&RawValue::Text(t.to_string())) {
            return CursorKey::Time(time);
        }
        CursorKey::Text(t.to_string())
    }

    /// The key of a record's cursor field and its text as the server wrote it.
    fn of_value(value: &Value) -> Option<(CursorKey, String)> {
        match value {
            Value::String(s) if !s.trim().is_empty() => Some((CursorKey::of_text(s), s.clone())),
            Value::Number(n) => {
                let text = n.to_string();
                Some((CursorKey::of_text(&text), text))
            }
            _ => None,
        }
    }
}

/// A JSON value as the mapping reads it. Numbers keep their written digits: integers as integers,
/// others as decimals parsed from the number's text, so amounts stay exact. (serde_json holds a
/// fractional number as an `f64` whose shortest text is the written one up to 15 significant digits,
/// far beyond any fund's balance; amounts sent as strings are exact at any size.)
fn raw_value(value: Value) -> RawValue {
    match value {
        Value::Null => RawValue::Empty,
        Value::Bool(b) => RawValue::Bool(b),
        Value::String(s) => RawValue::Text(s),
        Value::Number(n) => match n.as_i64() {
            Some(i) => RawValue::Int(i),
            None => {
                let text = n.to_string();
                Decimal::from_str(&text)
                    .or_else(|_| Decimal::from_scientific(&text))
                    .map(RawValue::Decimal)
                    .unwrap_or(RawValue::Text(text))
            }
        },
        other @ (Value::Array(_) | Value::Object(_)) => RawValue::Text(other.to_string()),
    }
}

/// The value at a dotted path of an answer object.
fn lookup<'a>(body: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(body, |v, part| v.get(part))
}

/// The records of one answer.
fn records_of<'a>(body: &'a Value, path: &[String]) -> Result<&'a [Value], String> {
    if let Value::Array(records) = body {
        return Ok(records);
    }
    let wanted = path.join(".");
    match lookup(body, path) {
        _ if path.is_empty() => Err("the answer is not an array of records".into()),
        Some(Value::Array(records)) => Ok(records),
        Some(Value::Null) => Ok(&[]),
        Some(_) => Err(format!(
            "`{wanted}` in the answer is not an array of records"
        )),
        None => {
            let keys: Vec<&str> = body
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            Err(format!(
                "the answer has no `{wanted}` (records_field); it has {keys:?}"
            ))
        }
    }
}

/// Takes the records out of an answer (checked by [`records_of`]).
fn take_records(body: &mut Value, path: &[String]) -> Result<Vec<Value>, String> {
    records_of(body, path)?;
    let slot = if body.is_array() {
        Some(body)
    } else {
        path.iter().try_fold(body, |v, part| v.get_mut(part))
    };
    Ok(match slot.map(Value::take) {
        Some(Value::Array(records)) => records,
        _ => Vec::new(),
    })
}

/// The first line of a body, shortened, for an error message.
fn snippet(body: &str) -> String {
    let line = body.trim().lines().next().unwrap_or("");
    let mut s: String = line.chars().take(200).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

impl HttpJsonConnector {
    /// Replaces any secret in `text` (a server may echo credentials back).
    fn redact(&self, mut text: String) -> String {
        if let Some(auth) = &self.auth {
            for secret in auth.secrets() {
                if !secret.is_empty() && text.contains(secret) {
                    text = text.replace(secret, "***");
                }
            }
        }
        text
    }

    fn transport_error(&self, e: &reqwest::Error, url: &Url) -> ConnectorError {
        if e.is_timeout() {
            return ConnectorError::Timeout(format!(
                "{url}: no complete answer within {} s",
                self.timeout.as_secs()
            ));
        }
        let mut causes = Vec::new();
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            causes.push(c.to_string());
            cause = c.source();
        }
        let what = if e.is_connect() {
            "cannot connect"
        } else if e.is_body() || e.is_decode() {
            "the answer broke off"
        } else {
            "request failed"
        };
        ConnectorError::Unreachable(self.redact(format!("{url}: {what}: {}", causes.join(": "))))
    }

    /// One `GET`, retried on 429, as JSON.
    async fn get_json(&self, client: &reqwest::Client, url: &Url) -> Result<Value, ConnectorError> {
        let mut throttled = 0;
        loop {
            if let Some(limiter) = &self.limiter {
                limiter.wait().await;
            }
            let mut request = client
                .get(url.clone())
                .timeout(self.timeout)
                .header(ACCEPT, "application/json");
            request = match &self.auth {
                None => request,
                Some(Credentials::Bearer { token, .. }) => request.bearer_auth(token.expose()),
                Some(Credentials::Basic {
                    username, password, ..
                }) => request.basic_auth(username, Some(password.expose())),
            };
            let response = request
                .send()
                .await
                .map_err(|e| self.transport_error(&e, url))?;
            let status = response.status();
            tracing::debug!(connector = %self.source, %url, status = status.as_u16(), "GET");
            if status == StatusCode::TOO_MANY_REQUESTS && throttled < MAX_THROTTLED_RETRIES {
                let wait = retry_after(response.headers(), throttled, Utc::now());
                drop(response);
                tracing::info!(connector = %self.source, ?wait, "throttled (429); waiting");
                tokio::time::sleep(wait).await;
                throttled += 1;
                continue;
            }
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                // The body is left unread: servers echo credentials in it.
                let with = self
                    .auth
                    .as_ref()
                    .map_or("no credentials (auth is not configured)".into(), |a| {
                        a.describe()
                    });
                return Err(ConnectorError::Auth(format!(
                    "{url}: HTTP {} with {with}",
                    status.as_u16()
                )));
            }
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                let throttled = if throttled > 0 {
                    format!(" (after {throttled} retries)")
                } else {
                    String::new()
                };
                return Err(ConnectorError::Http {
                    status: status.as_u16(),
                    message: self.redact(format!("{url}{throttled}: {}", snippet(&body))),
                });
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.transport_error(&e, url))?;
            return serde_json::from_slice(&bytes).map_err(|e| {
                if e.is_eof() {
                    // A body that stops mid-JSON is a dropped connection or a proxy cut: transient.
                    ConnectorError::Unreachable(format!(
                        "{url}: the JSON answer is cut short after {} bytes",
                        bytes.len()
                    ))
                } else {
                    // Not JSON at all (an HTML login or error page): retrying will not help.
                    ConnectorError::Content(self.redact(format!(
                        "{url}: the answer is not JSON ({e}): {}",
                        snippet(&String::from_utf8_lossy(&bytes))
                    )))
                }
            });
        }
    }

    /// The URL with the since-cursor and `extra` query parameters added.
    fn url_with(&self, since: Option<&Cursor>, extra: &[(&str, String)]) -> Url {
        let mut url = self.url.clone();
        let since = self.since_param.as_deref().zip(since);
        if since.is_some() || !extra.is_empty() {
            let mut query = url.query_pairs_mut();
            if let Some((param, cursor)) = since {
                query.append_pair(param, &cursor.0);
            }
            for (k, v) in extra {
                query.append_pair(k, v);
            }
        }
        url
    }

    /// The first page's URL; `probe` asks for one record only (for `check`).
    fn first_url(&self, since: Option<&Cursor>, probe: bool) -> Url {
        let size = |s: u32| {
            if probe {
                "1".to_string()
            } else {
                s.to_string()
            }
        };
        match &self.pagination {
            Pagination::None => self.url_with(since, &[]),
            Pagination::Page {
                param,
                size_param,
                size: n,
                first,
            } => self.url_with(
                since,
                &[
                    (param.as_str(), first.to_string()),
                    (size_param.as_str(), size(*n)),
                ],
            ),
            Pagination::Offset {
                param,
                limit_param,
                limit,
            } => self.url_with(
                since,
                &[
                    (param.as_str(), "0".into()),
                    (limit_param.as_str(), size(*limit)),
                ],
            ),
            Pagination::Cursor {
                size_param: Some(p),
                size: Some(n),
                ..
            } => self.url_with(since, &[(p.as_str(), size(*n))]),
            Pagination::Cursor { .. } => self.url_with(since, &[]),
        }
    }

    /// A cursor this configuration made (a digest and a field value are not interchangeable: after a
    /// configuration change the old cursor is ignored and everything is pulled again).
    fn usable<'a>(&self, since: Option<&'a Cursor>) -> Option<&'a Cursor> {
        since.filter(|c| c.0.starts_with(DIGEST_PREFIX) == self.cursor_field.is_none())
    }
}

/// What a pull has gathered so far.
struct Gathered<'a> {
    connector: &'a HttpJsonConnector,
    pull: PullBuilder,
    /// The field names of the last record and their targets: records of one API share their
    /// names, so the header checks run once per set of names, not per record.
    names: Vec<String>,
    targets: Vec<Option<Target>>,
    /// Field names already reported as unrecognised.
    reported: HashSet<String>,
    /// Where each (fund, month) was delivered: (page, record), to notice a listing that shifted.
    seen: HashMap<(FundId, Period), (u32, usize)>,
    /// Records at or before this are skipped (a cursor field without a since parameter).
    skip_through: Option<CursorKey>,
    newest: Option<(CursorKey, String)>,
    digest: Option<ContentDigest>,
}

impl<'a> Gathered<'a> {
    fn new(connector: &'a HttpJsonConnector, since: Option<&Cursor>) -> Self {
        let filter_here = connector.cursor_field.is_some() && connector.since_param.is_none();
        Gathered {
            connector,
            pull: PullBuilder::new(connector.mapper.clone()),
            names: Vec::new(),
            targets: Vec::new(),
            reported: HashSet::new(),
            seen: HashMap::new(),
            skip_through: since
                .filter(|_| filter_here)
                .map(|c| CursorKey::of_text(&c.0)),
            newest: None,
            digest: connector.cursor_field.is_none().then(ContentDigest::new),
        }
    }

    /// The targets of a record's field names, refusing an ambiguous name or two names for one
    /// field; a name that feeds nothing is reported once, where it was first seen.
    fn targets(
        &mut self,
        names: Vec<String>,
        location: &str,
    ) -> Result<Vec<Option<Target>>, ConnectorError> {
        if names != self.names {
            let map = self
                .connector
                .mapping
                .map_header(&names, HeaderDefaults::PER_RECORD)
                .map_err(|e| {
                    ConnectorError::Content(format!("{} {location}: {e}", self.connector.url))
                })?;
            for i in map.unrecognised {
                if self.reported.insert(names[i].clone()) {
                    self.pull.unrecognised(UnrecognisedColumn {
                        location: location.to_string(),
                        heading: names[i].clone(),
                    });
                }
            }
            self.names = names;
            self.targets = map.targets;
        }
        Ok(self.targets.clone())
    }

    /// Takes record `k` (from 1) of page `page`.
    fn take(&mut self, page: u32, k: usize, record: Value) -> Result<(), ConnectorError> {
        if let Some(field) = &self.connector.cursor_field
            && let Some((key, text)) = record.get(field).and_then(CursorKey::of_value)
        {
            if self.skip_through.as_ref().is_some_and(|s| key <= *s) {
                return Ok(());
            }
            if self.newest.as_ref().is_none_or(|(n, _)| key > *n) {
                self.newest = Some((key, text));
            }
        }
        if let Some(digest) = &mut self.digest {
            digest.update(record.to_string().as_bytes());
            digest.update(b"\n");
        }
        let plain = format!("page {page} record {k}");
        let object = match record {
            Value::Object(object) => object,
            other => {
                self.pull.reject(Rejected {
                    location: plain,
                    reason: "the record is not a JSON object".into(),
                    raw: other,
                });
                return Ok(());
            }
        };
        let targets = self.targets(object.keys().cloned().collect(), &plain)?;
        let mut fields = Vec::with_capacity(object.len());
        // `page 2 record 7 (fund_code=F100101, month=2568-10)`: the source's own key values.
        let mut location = plain;
        let plain = location.len();
        for ((name, value), target) in object.into_iter().zip(targets) {
            if matches!(
                target,
                Some(Target::FundId | Target::Period | Target::Year | Target::Month)
            ) && !value.is_null()
            {
                location.push_str(if location.len() == plain { " (" } else { ", " });
                location.push_str(&name);
                location.push('=');
                match &value {
                    Value::String(s) => location.push_str(s),
                    other => location.push_str(&other.to_string()),
                }
            }
            fields.push((name, target, raw_value(value)));
        }
        if location.len() > plain {
            location.push(')');
        }
        let raw = RawRecord { location, fields };
        // A repeat on one page is the hub's to judge; on another page the listing moved under us.
        if let Some(key) = self.pull.push_keyed(&raw, &[])? {
            match self.seen.get(&key) {
                Some(&(p, j)) if p != page => {
                    return Err(ConnectorError::Inconsistent(format!(
                        "{}: fund {} month {} came as page {p} record {j} and again as page {page} record {k}: the listing shifted between pages",
                        self.connector.url, key.0, key.1
                    )));
                }
                Some(_) => {}
                None => {
                    self.seen.insert(key, (page, k));
                }
            }
        }
        Ok(())
    }

    fn finish(mut self, since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        let cursor = match self.digest.take() {
            Some(digest) => {
                let cursor = Cursor(digest.finish());
                if since == Some(&cursor) {
                    // Nothing changed since the last pull: deliver nothing again.
                    return Ok(Pull {
                        cursor: Some(cursor),
                        ..Pull::default()
                    });
                }
                Some(cursor)
            }
            None => self
                .newest
                .map(|(_, text)| Cursor(text))
                .or_else(|| since.cloned()),
        };
        self.pull.finish(cursor)
    }
}

#[async_trait]
impl Connector for HttpJsonConnector {
    fn kind(&self) -> &'static str {
        "http_json"
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        let client = client()?;
        let url = self.first_url(None, true);
        let body = self.get_json(&client, &url).await?;
        records_of(&body, &self.records_path)
            .map(|_| ())
            .map_err(|e| ConnectorError::Content(format!("{url}: {e}")))
    }

    async fn pull(&self, since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        let since = self.usable(since);
        let client = client()?;
        let mut gathered = Gathered::new(self, since);
        let mut url = self.first_url(since, false);
        let mut page: u32 = 1;
        let mut offset: u64 = 0;
        let mut tokens = HashSet::new();
        loop {
            let mut body = self.get_json(&client, &url).await?;
            let records = take_records(&mut body, &self.records_path)
                .map_err(|e| ConnectorError::Content(format!("{url}: {e}")))?;
            let n = records.len();
            for (k, record) in records.into_iter().enumerate() {
                gathered.take(page, k + 1, record)?;
            }
            let next = match &self.pagination {
                Pagination::None => None,
                Pagination::Page {
                    param,
                    size_param,
                    size,
                    first,
                } => (n >= *size as usize).then(|| {
                    let number = u64::from(*first) + u64::from(page);
                    self.url_with(
                        since,
                        &[
                            (param.as_str(), number.to_string()),
                            (size_param.as_str(), size.to_string()),
                        ],
                    )
                }),
                Pagination::Offset {
                    param,
                    limit_param,
                    limit,
                } => (n >= *limit as usize).then(|| {
                    offset += n as u64;
                    self.url_with(
                        since,
                        &[
                            (param.as_str(), offset.to_string()),
                            (limit_param.as_str(), limit.to_string()),
                        ],
                    )
                }),
                Pagination::Cursor {
                    param,
                    next_field,
                    size_param,
                    size,
                } => {
                    let path: Vec<String> = next_field.split('.').map(str::to_string).collect();
                    let token = match lookup(&body, &path) {
                        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                        Some(Value::Number(n)) => Some(n.to_string()),
                        _ => None,
                    };
                    match token {
                        None => None,
                        Some(token) => {
                            if !tokens.insert(token.clone()) {
                                return Err(ConnectorError::Content(format!(
                                    "{url}: the server handed out the next-page cursor {token:?} twice"
                                )));
                            }
                            Some(
                                self.next_cursor_url(
                                    &url, since, param, &token, size_param, *size,
                                )?,
                            )
                        }
                    }
                }
            };
            match next {
                None => break,
                Some(next) => url = next,
            }
            page += 1;
            if page > MAX_PAGES {
                return Err(ConnectorError::Content(format!(
                    "{}: more than {MAX_PAGES} pages; is the pagination configured right?",
                    self.url
                )));
            }
        }
        gathered.finish(since)
    }
}

impl HttpJsonConnector {
    /// The next page of a cursor listing: a URL the server gave (same server only: our credentials go
    /// with it), or the token as a query parameter.
    fn next_cursor_url(
        &self,
        current: &Url,
        since: Option<&Cursor>,
        param: &str,
        token: &str,
        size_param: &Option<String>,
        size: Option<u32>,
    ) -> Result<Url, ConnectorError> {
        if token.starts_with("http://") || token.starts_with("https://") || token.starts_with('/') {
            let next = current.join(token).map_err(|e| {
                ConnectorError::Content(format!("{current}: next page {token:?}: {e}"))
            })?;
            if next.origin() != self.url.origin() {
                return Err(ConnectorError::Content(format!(
                    "{current}: the next page {next} is on another server; not following it with our credentials"
                )));
            }
            return Ok(next);
        }
        let mut extra = vec![(param, token.to_string())];
        if let (Some(p), Some(n)) = (size_param, size) {
            extra.push((p.as_str(), n.to_string()));
        }
        Ok(self.url_with(since, &extra))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::config::SourceConfig;

    #[test]
    fn retry_after_values() {
        let now = Utc.with_ymd_and_hms(2025, 11, 10, 7, 28, 0).unwrap();
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, v.parse().unwrap());
            h
        };
        assert_eq!(retry_after(&with("7"), 0, now), Duration::from_secs(7));
        assert_eq!(retry_after(&with("3600"), 0, now), MAX_RETRY_AFTER);
        assert_eq!(
            retry_after(&with("Mon, 10 Nov 2025 07:28:12 GMT"), 0, now),
            Duration::from_secs(12)
        );
        assert_eq!(
            retry_after(&with("Mon, 10 Nov 2025 07:00:00 GMT"), 0, now),
            Duration::ZERO,
            "a date in the past"
        );
        assert_eq!(
            retry_after(&HeaderMap::new(), 2, now),
            Duration::from_secs(4)
        );
        assert_eq!(retry_after(&with("soon"), 0, now), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn rate_limiter_spacing() {
        let limiter = RateLimiter::new(40.0);
        let started = tokio::time::Instant::now();
        for _ in 0..5 {
            limiter.wait().await;
        }
        // The first goes at once, the other four 25 ms apart.
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn configuration_from_toml_like_json() {
        let config: SourceConfig = serde_json::from_value(json!({
            "kind": "http_json",
            "url": "https://fund.example/api/summaries",
            "auth": {"kind": "bearer", "token_env": "FUND_TOKEN"},
            "pagination": {"kind": "page", "size": 50},
            "since_param": "updated_since",
            "cursor_field": "updated_at",
            "fields": {"fund_id": "fund_code"}
        }))
        .unwrap();
        let SourceConfig::HttpJson(c) = config else {
            panic!("http_json")
        };
        assert_eq!(
            c.pagination,
            Pagination::Page {
                param: "page".into(),
                size_param: "per_page".into(),
                size: 50,
                first: 1
            }
        );
        assert_eq!(
            (c.records_field.as_str(), c.request_timeout_secs),
            ("data", 30)
        );
        assert_eq!(
            HttpJsonConfig::new("http://x/").pagination,
            Pagination::None
        );

        for bad in [
            json!({"url": "http://x/", "timeout": 3}),
            json!({"url": "http://x/", "pagination": {"kind": "page", "sise": 3}}),
            json!({"url": "http://x/", "auth": {"kind": "bearer", "token": "abc"}}),
            json!({"url": "http://x/", "pagination": {"kind": "pages"}}),
        ] {
            assert!(
                serde_json::from_value::<HttpJsonConfig>(bad.clone()).is_err(),
                "{bad}"
            );
        }

        let build = |c: HttpJsonConfig| {
            c.build_with_secrets("x".into(), &Secret::from_env)
                .unwrap_err()
        };
        let err = build(HttpJsonConfig {
            since_param: Some("since".into()),
            ..HttpJsonConfig::new("http://x/")
        });
        assert!(err.to_string().contains("cursor_field"), "{err}");
        let err = build(HttpJsonConfig::new("http://user:hunter2@x/"));
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = build(HttpJsonConfig::new("ftp://x/"));
        assert!(matches!(err, ConnectorError::Config(_)), "{err}");
        let err = build(HttpJsonConfig {
            requests_per_second: Some(0.0),
            ..HttpJsonConfig::new("http://x/")
        });
        assert!(err.to_string().contains("requests_per_second"), "{err}");
        let err = build(HttpJsonConfig {
            fields: BTreeMap::from([("members".into(), "x".into())]),
            ..HttpJsonConfig::new("http://x/")
        });
        assert!(err.to_string().contains("members"), "{err}");
    }

    #[test]
    fn record_fields_are_checked_and_unknown_ones_reported_once() {
        let c = HttpJsonConfig::new("http://127.0.0.1:9/summaries")
            .build("connector:t".into())
            .unwrap();
        let mut g = Gathered::new(&c, None);
        let record = |members: i64, remark: &str| json!({"fund_code": "F1", "period": "2025-10", "members": members, "remark": remark});
        g.take(1, 1, record(10, "a")).unwrap();
        g.take(1, 2, record(11, "b")).unwrap();
        g.take(
            2,
            1,
            json!({"fund_code": "F2", "period": "2025-10", "members": 3, "note": 1}),
        )
        .unwrap();
        let pull = g.finish(None).unwrap();
        let reported: Vec<(&str, &str)> = pull
            .unrecognised
            .iter()
            .map(|u| (u.location.as_str(), u.heading.as_str()))
            .collect();
        assert_eq!(
            reported,
            [("page 1 record 1", "remark"), ("page 2 record 1", "note")]
        );
        assert_eq!(
            (pull.row_count(), pull.rejected.len()),
            (3, 0),
            "a repeat on one page is passed on for the hub to judge"
        );

        let mut g = Gathered::new(&c, None);
        let err = g
            .take(
                1,
                1,
                json!({"fund_code": "F1", "period": "2025-10", "members": 1, "member_count": 1}),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "source content: http://127.0.0.1:9/summaries page 1 record 1: \"members\" and \
             \"member_count\" all mean members_total; name the one to read in `fields` \
             (members_total = \"…\") or list the others in `ignore`"
        );
    }

    #[test]
    fn json_values_as_the_mapping_reads_them() {
        assert_eq!(raw_value(json!(12)), RawValue::Int(12));
        assert_eq!(
            raw_value(json!(1234567.89)),
            RawValue::Decimal(Decimal::from_str("1234567.89").unwrap())
        );
        assert_eq!(
            raw_value(json!(0.1)),
            RawValue::Decimal(Decimal::new(1, 1)),
            "no binary noise"
        );
        assert_eq!(raw_value(json!("๑,๒๓๔")), RawValue::Text("๑,๒๓๔".into()));
        assert_eq!(raw_value(json!(null)), RawValue::Empty);
        assert!(matches!(raw_value(json!(1e20)), RawValue::Decimal(_)));
    }

    #[test]
    fn records_in_answers() {
        let path = |p: &str| p.split('.').map(str::to_string).collect::<Vec<_>>();
        let array = json!([{"a": 1}, {"a": 2}]);
        assert_eq!(records_of(&array, &path("data")).unwrap().len(), 2);
        let nested = json!({"result": {"items": [{"a": 1}]}});
        assert_eq!(records_of(&nested, &path("result.items")).unwrap().len(), 1);
        assert_eq!(
            records_of(&json!({"data": null}), &path("data"))
                .unwrap()
                .len(),
            0
        );
        let err = records_of(&json!({"rows": []}), &path("data")).unwrap_err();
        assert!(err.contains("rows"), "{err}");
    }

    #[test]
    fn cursor_keys_order_by_meaning() {
        assert!(CursorKey::of_text("10") > CursorKey::of_text("9"));
        assert!(
            CursorKey::of_text("2025-11-10T09:30:00+07:00")
                < CursorKey::of_text("2025-11-10T03:00:00Z"),
            "instants, not text"
        );
    }

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    /// A next page given as a link is followed on the same server only.
    #[test]
    fn next_cursor_links_stay_on_the_same_server() {
        let addr = "127.0.0.1:9";
        let connector = HttpJsonConfig::new(format!("http://{addr}/funds/F1/summaries"))
            .build("connector:test".into())
            .unwrap();
        let here = Url::parse(&format!("http://{addr}/funds/F1/summaries?page=1")).unwrap();
        let next = connector
            .next_cursor_url(
                &here,
                None,
                "page",
                "/funds/F1/summaries?page=2",
                &None,
                None,
            )
            .unwrap();
        assert_eq!(
            next.as_str(),
            format!("http://{addr}/funds/F1/summaries?page=2")
        );
        let err = connector
            .next_cursor_url(&here, None, "page", "http://192.0.2.1/x", &None, None)
            .unwrap_err();
        assert!(err.to_string().contains("another server"), "{err}");
    }
}
