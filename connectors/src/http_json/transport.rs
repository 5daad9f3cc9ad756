//! Requests: one HTTP client per runtime, the rate limiter, retries after 429, and what an
//! answer's failure says.

use super::*;

/// Spaces requests at least `interval` apart, across every pull of one connector.
#[derive(Debug)]
pub(super) struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl RateLimiter {
    pub(super) fn new(per_second: f64) -> Self {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: tokio::sync::Mutex::new(None),
        }
    }

    pub(super) async fn wait(&self) {
        // Holding the lock while sleeping queues the waiters in order (tokio's mutex is fair).
        let mut next = self.next.lock().await;
        if let Some(at) = *next {
            tokio::time::sleep_until(at).await;
        }
        let now = tokio::time::Instant::now();
        *next = Some(next.map_or(now, |at| at.max(now)) + self.interval);
    }
}

/// One HTTP client per tokio runtime: a client holds a connection pool and building one loads the
/// system's root certificates (milliseconds), too slow for thousands of connectors, while pooled
/// connections die with the runtime that opened them (tests run a runtime each).
pub(super) fn client() -> Result<reqwest::Client, ConnectorError> {
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

/// How long a 429 asks us to wait: `Retry-After` in seconds or as an HTTP date, else 1, 2, 4 s…;
/// never more than [`MAX_RETRY_AFTER`].
pub(super) fn retry_after(headers: &HeaderMap, attempt: u32, now: DateTime<Utc>) -> Duration {
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

/// The first line of a body, shortened, for an error message.
pub(super) fn snippet(body: &str) -> String {
    let line = body.trim().lines().next().unwrap_or("");
    let mut s: String = line.chars().take(200).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

impl HttpJsonConnector {
    /// Replaces any secret in `text` (a server may echo credentials back).
    pub(super) fn redact(&self, mut text: String) -> String {
        if let Some(auth) = &self.auth {
            for secret in auth.secrets() {
                if !secret.is_empty() && text.contains(secret) {
                    text = text.replace(secret, "***");
                }
            }
        }
        text
    }

    pub(super) fn transport_error(&self, e: &reqwest::Error, url: &Url) -> ConnectorError {
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
    pub(super) async fn get_json(
        &self,
        client: &reqwest::Client,
        url: &Url,
    ) -> Result<Value, ConnectorError> {
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
    pub(super) fn url_with(&self, since: Option<&Cursor>, extra: &[(&str, String)]) -> Url {
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
    pub(super) fn first_url(&self, since: Option<&Cursor>, probe: bool) -> Url {
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
    pub(super) fn usable<'a>(&self, since: Option<&'a Cursor>) -> Option<&'a Cursor> {
        since.filter(|c| c.0.starts_with(DIGEST_PREFIX) == self.cursor_field.is_none())
    }
}
