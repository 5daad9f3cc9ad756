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

mod auth;
mod paging;
mod records;
mod transport;

pub use self::auth::base64;

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

use self::auth::Credentials;
use self::records::{Gathered, lookup, records_of, take_records};
use self::transport::{RateLimiter, client};

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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::records::{CursorKey, raw_value};
    use super::transport::retry_after;
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
