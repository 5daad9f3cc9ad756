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

/// Standard base64 with padding (for HTTP basic credentials).
pub(crate) fn base64(bytes: &[u8]) -> String {
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
    use std::net::SocketAddr;
    use std::time::Instant;

    use chrono::TimeZone;
    use serde_json::json;
    use welfare_model::{Money, Summary};

    use super::*;
    use crate::batch::from_batch;
    use crate::compliance::{self, Fixture};
    use crate::config::SourceConfig;
    use crate::simulator::api::{
        ApiHandle, Fault, FaultKind, FundApi, all_funds_config, fund_config, start,
    };

    const TOKEN: &str = "s3cret-token-4711";
    const PASSWORD: &str = "pa55-word-0815";

    /// Secrets by variable name, as the environment would hold them.
    fn secret(name: &str) -> Result<Secret, ConnectorError> {
        match name {
            "TEST_TOKEN" => Ok(Secret::new(TOKEN)),
            "TEST_PASSWORD" => Ok(Secret::new(PASSWORD)),
            "WRONG_TOKEN" => Ok(Secret::new("wrong-token-0000")),
            other => Secret::from_env(other),
        }
    }

    fn connect(config: &HttpJsonConfig) -> HttpJsonConnector {
        config
            .build_with_secrets("connector:test".into(), &secret)
            .expect("the configuration builds")
    }

    /// `months` months for each fund, with satang, zeros and unreported fields.
    fn rows(funds: &[&str], months: i32) -> Vec<Summary> {
        let mut out = Vec::new();
        for (f, fund) in funds.iter().enumerate() {
            for m in 0..months {
                let period = Period::new(2024, 1).unwrap().add_months(m);
                let mut s = Summary::new(FundId::parse(fund).unwrap(), period);
                s.members_total = Some(100 + 10 * f as i64 + i64::from(m));
                s.members_joined = Some(i64::from(m % 3));
                s.contrib_members =
                    Some(Money::parse(&format!("{}.{:02}", 3_041 + m, (m * 7) % 100)).unwrap());
                s.grant_state = Some(Money::ZERO);
                s.benefits_death = (m % 4 == 0).then(|| Money::from_baht(5_000));
                s.fund_balance = Some(
                    Money::parse(&format!("{}.{:02}", 1_234_567 + 1_000 * m, 89 - m % 50)).unwrap(),
                );
                s.reported_at = Some(
                    Utc.with_ymd_and_hms(2024, 2, 10, 3, 0, 0).unwrap()
                        + chrono::Duration::days(31 * i64::from(m))
                        + chrono::Duration::minutes(f as i64),
                );
                s.source = Some("connector:test".into());
                out.push(s);
            }
        }
        out
    }

    /// Every row of a pull, checking that none came twice.
    fn pulled(pull: &Pull) -> Vec<Summary> {
        let mut out: Vec<Summary> = pull
            .batches
            .iter()
            .flat_map(|b| from_batch(&b.rows).unwrap())
            .collect();
        out.sort_by(|a, b| (&a.fund_id, a.period).cmp(&(&b.fund_id, b.period)));
        let before = out.len();
        out.dedup_by(|a, b| (&a.fund_id, a.period) == (&b.fund_id, b.period));
        assert_eq!(before, out.len(), "a row was delivered twice");
        out
    }

    async fn serve(api: &FundApi) -> (SocketAddr, ApiHandle) {
        start(api.clone()).await.expect("the simulator starts")
    }

    fn paged(mut config: HttpJsonConfig, size: u32) -> HttpJsonConfig {
        config.pagination = Pagination::Page {
            param: "page".into(),
            size_param: "per_page".into(),
            size,
            first: 1,
        };
        config
    }

    #[derive(Default)]
    struct ApiFixture {
        api: Option<FundApi>,
        servers: Vec<ApiHandle>,
    }

    #[async_trait]
    impl Fixture for ApiFixture {
        async fn source(&mut self, good: &[Summary], bad: usize) -> SourceConfig {
            let api = FundApi::from_rows(good);
            for i in 0..bad {
                let record = if i % 2 == 0 {
                    json!({"fund_code": "F100101", "month": "2568-08", "members": "many",
                           "contrib": "100.00", "updated_at": "2025-10-01T10:00:00+07:00"})
                } else {
                    json!({"fund_code": "F500101", "month": "13/2568", "members": 12,
                           "updated_at": "2025-10-02T10:00:00+07:00"})
                };
                api.append_record(if i % 2 == 0 { "F100101" } else { "F500101" }, record);
            }
            let (addr, handle) = serve(&api).await;
            self.api = Some(api);
            self.servers.push(handle);
            // Four rows a page: the eleven rows take three pages.
            SourceConfig::HttpJson(paged(all_funds_config(addr), 4))
        }

        async fn append(&mut self, rows: &[Summary]) {
            self.api.as_ref().expect("a source was made").append(rows);
        }

        async fn empty(&mut self) -> SourceConfig {
            let (addr, handle) = serve(&FundApi::default()).await;
            self.servers.push(handle);
            SourceConfig::HttpJson(all_funds_config(addr))
        }

        async fn unreachable(&mut self) -> SourceConfig {
            // A port that was free a moment ago: nothing listens there.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            SourceConfig::HttpJson(all_funds_config(SocketAddr::from(([127, 0, 0, 1], port))))
        }
    }

    #[tokio::test]
    async fn compliance() {
        compliance::check(&mut ApiFixture::default()).await;
    }

    #[tokio::test]
    async fn rejected_rows_say_where_and_why() {
        let mut fixture = ApiFixture::default();
        let config = fixture.source(&rows(&["F1"], 3), 2).await;
        let pull = config.build("x").unwrap().pull(None).await.unwrap();
        assert_eq!(pull.row_count(), 3);
        let mut rejected = pull.rejected.clone();
        rejected.sort_by(|a, b| a.location.cmp(&b.location));
        assert_eq!(
            rejected[0].location,
            "page 1 record 4 (fund_code=F100101, month=2568-08)"
        );
        assert!(rejected[0].reason.contains("members_total"), "{rejected:?}");
        assert!(rejected[0].reason.contains("many"), "{rejected:?}");
        assert_eq!(rejected[0].raw["contrib"], "100.00");
        assert_eq!(
            rejected[1].location,
            "page 2 record 1 (fund_code=F500101, month=13/2568)"
        );
        assert!(rejected[1].reason.contains("period"), "{rejected:?}");
        let b = &pull.batches[0];
        assert_eq!(
            b.locations[0],
            "page 1 record 1 (fund_code=F1, month=2567-01)"
        );
    }

    #[tokio::test]
    async fn page_offset_and_cursor_pagination_deliver_every_row_once() {
        let want = rows(&["F1", "F2", "F3"], 8);
        let api = FundApi::from_rows(&want);
        let (addr, _server) = serve(&api).await;
        let layouts = [
            // 24 rows, 5 a page: 5 pages.
            (paged(all_funds_config(addr), 5), 5),
            (
                HttpJsonConfig {
                    pagination: Pagination::Offset {
                        param: "offset".into(),
                        limit_param: "limit".into(),
                        limit: 7,
                    },
                    ..all_funds_config(addr)
                },
                4,
            ),
            (
                HttpJsonConfig {
                    pagination: Pagination::Cursor {
                        param: "cursor".into(),
                        next_field: "next_cursor".into(),
                        size_param: Some("per_page".into()),
                        size: Some(6),
                    },
                    ..all_funds_config(addr)
                },
                4,
            ),
            // Exactly full pages: one more, empty, page ends the listing.
            (paged(all_funds_config(addr), 8), 4),
        ];
        for (config, requests) in layouts {
            let before = api.request_count();
            let pull = connect(&config).pull(None).await.unwrap();
            assert_eq!(pulled(&pull), want, "{:?}", config.pagination);
            assert!(pull.rejected.is_empty());
            assert_eq!(
                api.request_count() - before,
                requests,
                "{:?}",
                config.pagination
            );
            assert_eq!(
                pull.cursor.unwrap().0,
                "2024-09-14T10:02:00+07:00",
                "the newest updated_at"
            );
        }
    }

    #[tokio::test]
    async fn cursor_pagination_by_next_page_number_and_links() {
        let want = rows(&["F1"], 7);
        let api = FundApi::from_rows(&want);
        let (addr, _server) = serve(&api).await;
        // `next_page` is a number: sent back as `page`.
        let config = HttpJsonConfig {
            pagination: Pagination::Cursor {
                param: "page".into(),
                next_field: "next_page".into(),
                size_param: Some("per_page".into()),
                size: Some(3),
            },
            ..fund_config(addr, "F1")
        };
        let connector = connect(&config);
        assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
        assert_eq!(api.request_count(), 3);
        // A next page given as a link is followed on the same server only.
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

    #[tokio::test]
    async fn one_fund_without_paging_and_exact_money() {
        let want = rows(&["F100101", "F2"], 3);
        let api = FundApi::from_rows(&want);
        let (addr, _server) = serve(&api).await;
        let config = HttpJsonConfig {
            pagination: Pagination::None,
            ..fund_config(addr, "F100101")
        };
        let got = pulled(&connect(&config).pull(None).await.unwrap());
        assert_eq!(got, want[..3]);
        // The balance travels as a JSON number and stays exact.
        assert_eq!(got[2].fund_balance.unwrap().to_string(), "1236567.87");
        assert_eq!(got[1].contrib_members.unwrap().to_string(), "3042.07");
        assert_eq!(got[1].benefits_death, None, "unreported stays unreported");
        assert_eq!(got[0].grant_state, Some(Money::ZERO));
    }

    #[tokio::test]
    async fn since_cursor_resumes() {
        let all = rows(&["F1"], 6);
        let api = FundApi::from_rows(&all[..4]);
        let (addr, _server) = serve(&api).await;
        let connector = connect(&fund_config(addr, "F1"));
        let first = connector.pull(None).await.unwrap();
        assert_eq!(pulled(&first), all[..4]);
        let cursor = first.cursor.unwrap();
        assert_eq!(cursor.0, "2024-05-13T10:00:00+07:00");
        let again = connector.pull(Some(&cursor)).await.unwrap();
        assert_eq!(again.row_count(), 0);
        assert_eq!(
            again.cursor.as_ref(),
            Some(&cursor),
            "nothing new keeps the cursor"
        );
        api.append(&all[4..]);
        let later = connector.pull(Some(&cursor)).await.unwrap();
        assert_eq!(pulled(&later), all[4..]);
        assert_eq!(later.cursor.unwrap().0, "2024-07-14T10:00:00+07:00");
        // A digest cursor from an earlier configuration is ignored: everything comes again.
        let stale = Cursor(format!("{DIGEST_PREFIX}00"));
        assert_eq!(connector.pull(Some(&stale)).await.unwrap().row_count(), 6);
    }

    #[tokio::test]
    async fn cursor_field_without_since_param_filters_here() {
        let all = rows(&["F1"], 5);
        let api = FundApi::from_rows(&all[..3]);
        let (addr, _server) = serve(&api).await;
        let config = HttpJsonConfig {
            since_param: None,
            ..fund_config(addr, "F1")
        };
        let connector = connect(&config);
        let first = connector.pull(None).await.unwrap();
        assert_eq!(first.row_count(), 3);
        let cursor = first.cursor.unwrap();
        assert_eq!(connector.pull(Some(&cursor)).await.unwrap().row_count(), 0);
        api.append(&all[3..]);
        let later = connector.pull(Some(&cursor)).await.unwrap();
        assert_eq!(pulled(&later), all[3..]);
    }

    #[tokio::test]
    async fn without_a_cursor_field_an_unchanged_source_gives_nothing() {
        let all = rows(&["F1"], 5);
        let api = FundApi::from_rows(&all[..3]);
        let (addr, _server) = serve(&api).await;
        let config = HttpJsonConfig {
            since_param: None,
            cursor_field: None,
            ..fund_config(addr, "F1")
        };
        let connector = connect(&config);
        let first = connector.pull(None).await.unwrap();
        assert_eq!(first.row_count(), 3);
        let digest = first.cursor.unwrap();
        assert!(digest.0.starts_with("sha256:"), "{digest}");
        let same = connector.pull(Some(&digest)).await.unwrap();
        assert_eq!((same.row_count(), same.cursor.as_ref()), (0, Some(&digest)));
        api.append(&all[3..]);
        let changed = connector.pull(Some(&digest)).await.unwrap();
        assert_eq!(pulled(&changed), all, "a changed source comes whole");
        assert_ne!(changed.cursor.unwrap(), digest);
    }

    #[tokio::test]
    async fn server_error_is_transient_and_the_next_pull_succeeds() {
        let want = rows(&["F1"], 4);
        let api = FundApi::from_rows(&want);
        api.inject(Fault::new(FaultKind::ServerError, 1).for_fund("F1"));
        let (addr, _server) = serve(&api).await;
        let connector = connect(&fund_config(addr, "F1"));
        let err = connector.pull(None).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Http { status: 500, .. }),
            "{err}"
        );
        assert!(err.is_transient());
        assert!(
            err.to_string().contains("SQLSTATE"),
            "the body says why: {err}"
        );
        assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
    }

    #[tokio::test]
    async fn refused_credentials_are_permanent_and_never_printed() {
        let want = rows(&["F1"], 2);
        let api = FundApi::from_rows(&want).with_bearer(TOKEN);
        let (addr, _server) = serve(&api).await;
        let with = |env: Option<&str>| HttpJsonConfig {
            auth: env.map(|e| HttpAuth::Bearer {
                token_env: e.into(),
            }),
            ..fund_config(addr, "F1")
        };
        let right = connect(&with(Some("TEST_TOKEN")));
        assert!(!format!("{right:?}").contains(TOKEN), "{right:?}");
        assert!(format!("{right:?}").contains("TEST_TOKEN"));
        right.check().await.unwrap();
        assert_eq!(pulled(&right.pull(None).await.unwrap()), want);

        let wrong = connect(&with(Some("WRONG_TOKEN")));
        for err in [
            wrong.pull(None).await.unwrap_err(),
            wrong.check().await.unwrap_err(),
        ] {
            assert!(matches!(err, ConnectorError::Auth(_)), "{err}");
            assert!(!err.is_transient());
            let text = format!("{err} {err:?}");
            assert!(
                !text.contains("wrong-token-0000") && !text.contains(TOKEN),
                "{text}"
            );
            assert!(
                text.contains("401") && text.contains("WRONG_TOKEN"),
                "{text}"
            );
        }
        let none = connect(&with(None)).pull(None).await.unwrap_err();
        assert!(matches!(none, ConnectorError::Auth(_)), "{none}");

        // A missing variable is a configuration error naming it.
        let missing = with(Some("WELFARE_TEST_SURELY_UNSET_TOKEN"))
            .build("x".into())
            .unwrap_err();
        assert!(matches!(missing, ConnectorError::Config(_)), "{missing}");
        assert!(
            missing
                .to_string()
                .contains("WELFARE_TEST_SURELY_UNSET_TOKEN")
        );
    }

    #[tokio::test]
    async fn basic_auth() {
        let want = rows(&["F1"], 2);
        let api = FundApi::from_rows(&want).with_basic("somchai", PASSWORD);
        let (addr, _server) = serve(&api).await;
        let with = |password_env: &str| HttpJsonConfig {
            auth: Some(HttpAuth::Basic {
                username: "somchai".into(),
                password_env: password_env.into(),
            }),
            ..fund_config(addr, "F1")
        };
        assert_eq!(
            pulled(&connect(&with("TEST_PASSWORD")).pull(None).await.unwrap()),
            want
        );
        let err = connect(&with("WRONG_TOKEN")).pull(None).await.unwrap_err();
        assert!(matches!(err, ConnectorError::Auth(_)), "{err}");
        assert!(err.to_string().contains("somchai"), "{err}");
        assert!(!err.to_string().contains("wrong-token-0000"), "{err}");
    }

    #[tokio::test]
    async fn throttling_honours_retry_after_then_gives_up() {
        let want = rows(&["F1"], 3);
        let api = FundApi::from_rows(&want);
        api.inject(Fault::new(
            FaultKind::TooManyRequests {
                retry_after_secs: 1,
            },
            1,
        ));
        let (addr, _server) = serve(&api).await;
        let connector = connect(&fund_config(addr, "F1"));
        let started = Instant::now();
        let pull = connector.pull(None).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(990),
            "waited {:?}",
            started.elapsed()
        );
        assert_eq!(pulled(&pull), want);
        assert_eq!(api.request_count(), 2, "one 429, then the page");

        // Throttled past the retries: a transient 429 after 1 + 3 requests.
        api.inject(Fault::always(FaultKind::TooManyRequests {
            retry_after_secs: 0,
        }));
        let err = connector.pull(None).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Http { status: 429, .. }),
            "{err}"
        );
        assert!(err.is_transient());
        assert_eq!(api.request_count(), 2 + 4);
    }

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
    async fn a_hanging_server_times_out() {
        let api = FundApi::from_rows(&rows(&["F1"], 2));
        api.inject(Fault::always(FaultKind::Hang));
        let (addr, _server) = serve(&api).await;
        let connector = connect(&HttpJsonConfig {
            request_timeout_secs: 1,
            ..fund_config(addr, "F1")
        });
        let started = Instant::now();
        let err = connector.pull(None).await.unwrap_err();
        let took = started.elapsed();
        assert!(matches!(err, ConnectorError::Timeout(_)), "{err}");
        assert!(err.is_transient());
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "{took:?}"
        );
        let err = connector.check().await.unwrap_err();
        assert!(matches!(err, ConnectorError::Timeout(_)), "{err}");
    }

    #[tokio::test]
    async fn a_slow_body_arrives_whole_or_times_out() {
        let want = rows(&["F1"], 2);
        let api = FundApi::from_rows(&want);
        let (addr, _server) = serve(&api).await;
        let connector = connect(&HttpJsonConfig {
            request_timeout_secs: 1,
            ..fund_config(addr, "F1")
        });
        // About 1.4 kB in 256-byte pieces 20 ms apart: slow, but within the second.
        api.inject(Fault::new(
            FaultKind::SlowBody {
                chunk_bytes: 256,
                delay: Duration::from_millis(20),
            },
            1,
        ));
        assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
        // Ten bytes every 100 ms would take many seconds.
        api.inject(Fault::new(
            FaultKind::SlowBody {
                chunk_bytes: 10,
                delay: Duration::from_millis(100),
            },
            1,
        ));
        let started = Instant::now();
        let err = connector.pull(None).await.unwrap_err();
        assert!(matches!(err, ConnectorError::Timeout(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn truncated_json_is_transient() {
        let want = rows(&["F1"], 3);
        let api = FundApi::from_rows(&want);
        api.inject(Fault::new(FaultKind::TruncatedJson, 1));
        let (addr, _server) = serve(&api).await;
        let connector = connect(&fund_config(addr, "F1"));
        let err = connector.pull(None).await.unwrap_err();
        assert!(matches!(err, ConnectorError::Unreachable(_)), "{err}");
        assert!(err.is_transient(), "{err}");
        assert!(err.to_string().contains("cut short"), "{err}");
        assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
    }

    #[tokio::test]
    async fn pages_that_shift_while_paging_are_inconsistent() {
        let want = rows(&["F1", "F2"], 5);
        let api = FundApi::from_rows(&want);
        let (addr, _server) = serve(&api).await;
        for config in [
            paged(all_funds_config(addr), 3),
            HttpJsonConfig {
                pagination: Pagination::Offset {
                    param: "offset".into(),
                    limit_param: "limit".into(),
                    limit: 4,
                },
                ..all_funds_config(addr)
            },
        ] {
            api.inject(Fault::new(FaultKind::ShiftPages, 1));
            let connector = connect(&config);
            let err = connector.pull(None).await.unwrap_err();
            assert!(matches!(err, ConnectorError::Inconsistent(_)), "{err}");
            assert!(err.is_transient());
            assert!(err.to_string().contains("page 1"), "{err}");
            assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
        }
    }

    #[tokio::test]
    async fn rate_limit_spaces_requests() {
        let want = rows(&["F1"], 10);
        let api = FundApi::from_rows(&want);
        let (addr, _server) = serve(&api).await;
        // Ten rows, two a page: six requests (the last one empty), at most 20 a second.
        let connector = connect(&HttpJsonConfig {
            requests_per_second: Some(20.0),
            ..paged(fund_config(addr, "F1"), 2)
        });
        let started = Instant::now();
        assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
        assert_eq!(api.request_count(), 6);
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "six requests 50 ms apart: {:?}",
            started.elapsed()
        );
        // The limit holds across pulls of the same connector.
        let started = Instant::now();
        for _ in 0..2 {
            connector.check().await.unwrap();
        }
        assert!(started.elapsed() >= Duration::from_millis(50));
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

        let build = |c: HttpJsonConfig| c.build_with_secrets("x".into(), &secret).unwrap_err();
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
}
