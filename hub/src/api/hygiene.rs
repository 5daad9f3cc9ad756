//! What every request and answer goes through, whatever route it reaches: request limits (URI and
//! header size, body size per route, UTF-8, JSON-only `POST`), one error shape for every error
//! (`{"error", "message"}`, including the bare answers axum, tower-http and panics produce), and the
//! security headers.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::error::{ApiError, ErrorBody};

/// The longest request target (path and query) answered by the router; longer ones answer 414.
/// hyper itself refuses targets over 65,534 bytes with an empty 414, so this stays below that, and
/// above the longest path a client may reasonably try (a 60,000-character one is a 404).
pub const MAX_URI_BYTES: usize = 64_000;
/// The most header bytes (names and values) a request may carry; more answers 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most header lines a request may carry; more answers 431.
pub const MAX_HEADERS: usize = 100;
/// The body limit of `POST /api/v1/query` (an SQL statement in JSON).
pub const QUERY_BODY_LIMIT: usize = 256 * 1024;
/// The body limit of every other request.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;
/// The longest error message sent: a message quoting the request never echoes more than this.
pub const MAX_MESSAGE_CHARS: usize = 200;
/// How long a request may take, body included, before it answers 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a client may take to send a request body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The most bytes of an error body read back to give it the one error shape.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The policy the map page satisfies: its own scripts, styles, worker and API only, no inline code,
/// never framed. `data:` images are MapLibre's control icons (in its CSS) and the page's empty icon;
/// MapLibre's worker is a same-origin module (it falls back to `blob:` only for a cross-origin one).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; \
     font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The body limit of a request to `path` with `method`.
pub fn body_limit(method: &Method, path: &str) -> usize {
    if method == Method::POST && path == "/api/v1/query" {
        QUERY_BODY_LIMIT
    } else {
        DEFAULT_BODY_LIMIT
    }
}

/// The middleware: refuses what no route should see, then gives every error answer the one shape
/// and every answer the security headers.
pub async fn hygiene(request: Request, next: Next) -> Response {
    let limit = body_limit(request.method(), request.uri().path());
    let response = match refuse(&request, limit) {
        Some(error) => error.into_response(),
        None => {
            let request = request.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
            next.run(request).await
        }
    };
    let mut response = if response.status().is_client_error() || response.status().is_server_error()
    {
        one_shape(response, limit).await
    } else {
        response
    };
    security_headers(response.headers_mut());
    response
}

/// The refusal a request earns before any route sees it, if any.
fn refuse(request: &Request, limit: usize) -> Option<ApiError> {
    let uri = request.uri();
    let target = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the path and query are {target} bytes; the limit is {MAX_URI_BYTES}"),
        ));
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES || headers.len() > MAX_HEADERS {
        return Some(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "the request carries {} headers of {header_bytes} bytes; the limits are \
                 {MAX_HEADERS} headers and {MAX_HEADER_BYTES} bytes",
                headers.len()
            ),
        ));
    }
    if !decodes_to_utf8(uri.path()) {
        return Some(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            "the path is not UTF-8 once percent-decoded",
        ));
    }
    if let Some(query) = uri.query()
        && !decodes_to_utf8(query)
    {
        return Some(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "the query string is not UTF-8 once percent-decoded",
        ));
    }
    if request.method() == Method::POST
        && let Some(problem) = not_json(headers)
    {
        return Some(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            problem,
        ));
    }
    match declared_length(headers) {
        Some(length) if length > limit as u64 => Some(too_large(limit)),
        _ => None,
    }
}

fn decodes_to_utf8(text: &str) -> bool {
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(text).collect();
    std::str::from_utf8(&bytes).is_ok()
}

/// Why a `POST` is not JSON, if it is not. A body must be declared `application/json` (or a `+json`
/// type): `text/plain` and forms are what any web page can send cross-site without asking. A `POST`
/// with neither a body nor a type (`curl -X POST`) is fine.
fn not_json(headers: &HeaderMap) -> Option<String> {
    match headers.get(header::CONTENT_TYPE) {
        None => {
            let has_body = headers.contains_key(header::TRANSFER_ENCODING)
                || declared_length(headers).is_some_and(|n| n > 0);
            has_body.then(|| "a POST body must be sent as Content-Type: application/json".into())
        }
        Some(value) => {
            let essence = value
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let json = essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"));
            (!json).then(|| {
                format!(
                    "POST takes Content-Type: application/json, not {}",
                    clip(&essence, 60)
                )
            })
        }
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the request body is over this endpoint's limit of {limit} bytes"),
    )
}

/// The stable code of an error status.
pub fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::GATEWAY_TIMEOUT => "timeout",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// What to tell people when the answer said nothing usable.
fn default_message(status: StatusCode, limit: usize) -> String {
    match status {
        StatusCode::NOT_FOUND => "no such endpoint or file".into(),
        StatusCode::METHOD_NOT_ALLOWED => "this endpoint does not take that method".into(),
        StatusCode::PAYLOAD_TOO_LARGE => too_large(limit).message,
        StatusCode::REQUEST_TIMEOUT => "the request body did not arrive in time".into(),
        StatusCode::SERVICE_UNAVAILABLE => {
            "the hub could not answer in time; try again shortly".into()
        }
        s if s.is_server_error() => "internal error; the hub's log has the details".into(),
        s => s.canonical_reason().unwrap_or("bad request").to_lowercase(),
    }
}

/// Gives an error answer the one shape: a JSON error body keeps its code and message (clipped); any
/// other body (axum's plain-text rejections, empty timeouts and panics) becomes one. Headers such as
/// `Allow`, `Retry-After` and `WWW-Authenticate` stay.
async fn one_shape(response: Response, limit: usize) -> Response {
    let (mut parts, body) = response.into_parts();
    if parts.headers.contains_key(header::CONTENT_ENCODING) {
        // A compressed answer is one of ours already (only JSON errors are compressed).
        return Response::from_parts(parts, body);
    }
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let is_text = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let bytes = http_body_util::Limited::new(body, MAX_ERROR_BODY)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let status = parts.status;
    let shaped = if is_json {
        serde_json::from_slice::<ErrorBody>(&bytes).ok()
    } else {
        None
    };
    let mut error = shaped.unwrap_or_else(|| {
        // axum's rejections say what was wrong in plain text; the limit of a 413 is ours to say.
        let text = String::from_utf8_lossy(&bytes);
        let message =
            if is_text && !text.trim().is_empty() && status != StatusCode::PAYLOAD_TOO_LARGE {
                text.trim().to_string()
            } else {
                default_message(status, limit)
            };
        ErrorBody {
            error: code_of(status).to_string(),
            message,
        }
    });
    if status.is_server_error() && !is_json {
        // A panic's or a library's text is for the log, not for the caller.
        tracing::error!(status = %status, body = %String::from_utf8_lossy(&bytes), "error answer without a JSON body");
        error.message = default_message(status, limit);
    }
    error.message = clip(&error.message, MAX_MESSAGE_CHARS);
    let body = serde_json::to_vec(&error).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

/// `text` cut to at most `max` characters, marked with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((end, _)) if text[end..].chars().nth(1).is_some() => format!("{}…", &text[..end]),
        _ => text.to_string(),
    }
}

fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
}

/// The layers every router answer goes through, outermost first: the hygiene middleware (which
/// shapes what the inner layers answer), a panic turned into a 500, the whole-request and body
/// timeouts.
pub fn layered(router: axum::Router) -> axum::Router {
    layered_with(router, REQUEST_TIMEOUT, BODY_READ_TIMEOUT)
}

fn layered_with(router: axum::Router, request: Duration, body: Duration) -> axum::Router {
    use tower_http::catch_panic::CatchPanicLayer;
    use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
    router
        // `hygiene` limits every body, per route; axum's own default limit would only hide ours.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(RequestBodyTimeoutLayer::new(body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request,
        ))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(hygiene))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn answer(app: axum::Router, uri: &str) -> (StatusCode, HeaderMap, serde_json::Value) {
        let request = axum::http::Request::get(uri).body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{uri}: not JSON: {:?}", String::from_utf8_lossy(&bytes)));
        (parts.status, parts.headers, json)
    }

    #[tokio::test]
    async fn panics_timeouts_and_plain_text_errors_answer_in_the_one_shape() {
        use axum::routing::get;
        let app = axum::Router::new()
            .route(
                "/boom",
                get(|| async {
                    if true {
                        panic!("secret detail");
                    }
                    "never"
                }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            )
            .route(
                "/plain",
                get(|| async { (StatusCode::BAD_REQUEST, "Invalid URL: bad id") }),
            )
            .route(
                "/long",
                get(|| async {
                    ApiError::not_found(format!("no connector {}", "x".repeat(60_000)))
                }),
            )
            .route("/empty", get(|| async { StatusCode::BAD_GATEWAY }));
        let app = layered_with(app, Duration::from_millis(50), Duration::from_secs(1));

        let (status, headers, body) = answer(app.clone(), "/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "internal");
        assert_eq!(
            body["message"],
            "internal error; the hub's log has the details"
        );
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

        let (status, _, body) = answer(app.clone(), "/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"], "unavailable");
        assert_eq!(
            body["message"],
            "the hub could not answer in time; try again shortly"
        );

        let (status, _, body) = answer(app.clone(), "/plain").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            serde_json::json!({"error": "bad_request", "message": "Invalid URL: bad id"})
        );

        let (status, _, body) = answer(app.clone(), "/long").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let message = body["message"].as_str().unwrap();
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
        assert!(
            message.starts_with("no connector xxx") && message.ends_with("x…"),
            "{message}"
        );

        let (status, _, body) = answer(app, "/empty").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert_eq!(
            body,
            serde_json::json!({"error": "internal", "message": "internal error; the hub's log has the details"})
        );
    }

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_character() {
        assert_eq!(clip("กองทุน", 6), "กองทุน");
        assert_eq!(clip("กองทุนสวัสดิการ", 6), "กองทุ…");
        assert_eq!(clip(&"x".repeat(500), 200).chars().count(), 200);
        assert_eq!(clip("", 200), "");
    }

    #[test]
    fn only_json_bodies_pass_a_post() {
        let mut h = HeaderMap::new();
        assert_eq!(not_json(&h), None, "no type and no body: curl -X POST");
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("10"));
        assert_eq!(
            not_json(&h).as_deref(),
            Some("a POST body must be sent as Content-Type: application/json")
        );
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=UTF-8"),
        );
        assert_eq!(
            not_json(&h).as_deref(),
            Some("POST takes Content-Type: application/json, not text/plain")
        );
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        assert_eq!(not_json(&h), None);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/merge-patch+json"),
        );
        assert_eq!(not_json(&h), None);
    }

    #[test]
    fn percent_decoded_utf8_is_checked() {
        assert!(decodes_to_utf8("/api/v1/areas"));
        assert!(decodes_to_utf8("within=%E0%B8%81"));
        assert!(!decodes_to_utf8("/api/v1/connectors/%FF"));
        assert!(!decodes_to_utf8("within=%E0%B8"));
    }

    #[test]
    fn only_the_query_endpoint_takes_a_large_body() {
        assert_eq!(body_limit(&Method::POST, "/api/v1/query"), QUERY_BODY_LIMIT);
        assert_eq!(
            body_limit(&Method::GET, "/api/v1/query"),
            DEFAULT_BODY_LIMIT
        );
        assert_eq!(
            body_limit(&Method::POST, "/api/v1/connectors/x/run"),
            DEFAULT_BODY_LIMIT
        );
    }
}
