//! One error shape, request limits, security headers and the embedded page: through the router, and
//! through the real binary for what only a socket shows (hyper's head limits).

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tower::ServiceExt;
use welfare_hub::api::hygiene::{CONTENT_SECURITY_POLICY, MAX_URI_BYTES, QUERY_BODY_LIMIT};
use welfare_hub::api::page::{IMMUTABLE, REVALIDATE, embedded_files};
use welfare_hub::api::{AppState, router};
use welfare_hub::server::HEADER_READ_TIMEOUT;
use welfare_tests::{TestBackend, TestDb, hub_binary};

use crate::analytics::{Reply, reply};

/// The one error shape, read from an answer.
trait ErrorShape {
    /// The error body, checked to be exactly `{"error", "message"}` JSON.
    fn error(&self) -> (String, String);
}

impl ErrorShape for Reply {
    fn error(&self) -> (String, String) {
        assert_eq!(
            self.headers
                .get("content-type")
                .map(|v| v.to_str().unwrap()),
            Some("application/json"),
            "status {}: {:?}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        let value: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        let object = value.as_object().unwrap();
        assert_eq!(object.len(), 2, "only error and message: {value}");
        (
            object["error"].as_str().unwrap().to_string(),
            object["message"].as_str().unwrap().to_string(),
        )
    }
}

async fn send(db: &TestDb, request: Request<Body>) -> Reply {
    reply(AppState::read_only(db.store.clone()), request).await
}

async fn get(db: &TestDb, uri: &str) -> Reply {
    send(db, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn assert_security_headers(headers: &HeaderMap, what: &str) {
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert_eq!(csp, CONTENT_SECURITY_POLICY, "{what}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("script-src 'self';"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
}

#[tokio::test]
async fn every_unknown_path_is_a_json_404() -> anyhow::Result<()> {
    let db = TestDb::new(TestBackend::Sqlite).await?;
    for uri in [
        "/api/v1/nope".to_string(),
        "/api/v2/areas".to_string(),
        "/no-such-file.js".to_string(),
        format!("/{}", "a".repeat(60_000)),
        format!("/api/v1/{}", "b".repeat(60_000)),
    ] {
        let answer = get(&db, &uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", &uri[..20]);
        assert_eq!(
            answer.error(),
            ("not_found".into(), "no such endpoint or file".into())
        );
        assert_security_headers(&answer.headers, "a 404");
    }
    // An id echoed in a message is cut at 200 characters.
    let answer = get(&db, &format!("/api/v1/connectors/{}", "x".repeat(5_000))).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let (code, message) = answer.error();
    assert_eq!(code, "not_found");
    assert_eq!(message.chars().count(), 200, "{message}");
    assert_eq!(message, format!("no connector {}…", "x".repeat(186)));
    Ok(())
}

#[tokio::test]
async fn bad_utf8_wrong_methods_and_oversized_requests_answer_json() -> anyhow::Result<()> {
    let db = TestDb::new(TestBackend::Sqlite).await?;
    let answer = get(&db, "/api/v1/connectors/%FF%FE").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.error(),
        (
            "invalid_path".into(),
            "the path is not UTF-8 once percent-decoded".into()
        )
    );
    let answer = get(&db, "/api/v1/areas?level=%E0%B8").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.error(),
        (
            "invalid_query".into(),
            "the query string is not UTF-8 once percent-decoded".into()
        )
    );

    let delete = Request::delete("/api/v1/areas").body(Body::empty())?;
    let answer = send(&db, delete).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        answer.error(),
        (
            "method_not_allowed".into(),
            "this endpoint does not take that method".into()
        )
    );
    let answer = send(&db, Request::post("/").body(Body::empty())?).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers["allow"], "GET, HEAD");
    assert_eq!(answer.error().0, "method_not_allowed");

    let long = format!("/api/v1/areas?within={}", "5".repeat(MAX_URI_BYTES));
    let answer = get(&db, &long).await;
    assert_eq!(answer.status, StatusCode::URI_TOO_LONG);
    assert_eq!(
        answer.error(),
        (
            "uri_too_long".into(),
            format!(
                "the path and query are {} bytes; the limit is 64000",
                long.len()
            )
        )
    );

    let big_header = Request::get("/healthz")
        .header("x-filler", "f".repeat(40_000))
        .body(Body::empty())?;
    let answer = send(&db, big_header).await;
    assert_eq!(answer.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(
        answer.error(),
        (
            "headers_too_large".into(),
            "the request carries 1 headers of 40008 bytes; the limits are 100 headers and 32768 bytes"
                .into()
        )
    );

    // A declared length over the limit is refused before the body is read; an undeclared one when
    // the reading passes the limit. Both name the limit.
    let limit_message =
        format!("the request body is over this endpoint's limit of {QUERY_BODY_LIMIT} bytes");
    let body = format!("{{\"sql\": \"SELECT '{}'\"}}", "x".repeat(QUERY_BODY_LIMIT));
    let declared = Request::post("/api/v1/query")
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(Body::from(body.clone()))?;
    let answer = send(&db, declared).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.error(), ("too_large".into(), limit_message.clone()));
    let streamed = Request::post("/api/v1/query")
        .header("content-type", "application/json")
        .body(Body::from(body))?;
    let answer = send(&db, streamed).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.error(), ("too_large".into(), limit_message));
    // Other routes take far less.
    let run = Request::post("/api/v1/connectors/x/run")
        .header("content-type", "application/json")
        .header("content-length", "20000")
        .body(Body::from("x".repeat(20_000)))?;
    let answer = send(&db, run).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        answer.error().1,
        "the request body is over this endpoint's limit of 16384 bytes"
    );
    Ok(())
}

#[tokio::test]
async fn a_post_must_be_json() -> anyhow::Result<()> {
    let db = TestDb::new(TestBackend::Sqlite).await?;
    let sql = r#"{"sql": "SELECT 1"}"#;
    for content_type in [
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let request = Request::post("/api/v1/query")
            .header("content-type", content_type)
            .body(Body::from(sql))?;
        let answer = send(&db, request).await;
        assert_eq!(
            answer.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        let essence = content_type.split(';').next().unwrap();
        assert_eq!(
            answer.error(),
            (
                "unsupported_media_type".into(),
                format!("POST takes Content-Type: application/json, not {essence}")
            )
        );
    }
    let untyped = Request::post("/api/v1/query")
        .header("content-length", sql.len())
        .body(Body::from(sql))?;
    let answer = send(&db, untyped).await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // JSON passes the gate: the endpoint itself answers, asking for a viewer's token.
    let json = Request::post("/api/v1/query")
        .header("content-type", "application/json")
        .body(Body::from(sql))?;
    let answer = send(&db, json).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error().0, "unauthorized");
    Ok(())
}

#[tokio::test]
async fn the_embedded_page_is_served_with_its_cache_policy_and_headers() -> anyhow::Result<()> {
    let db = TestDb::new(TestBackend::Sqlite).await?;
    let index = get(&db, "/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(index.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(index.headers["cache-control"], REVALIDATE);
    assert_security_headers(&index.headers, "the page");
    let html = String::from_utf8(index.body.clone())?;
    assert!(html.contains("แผนที่กองทุนสวัสดิการชุมชน"), "Thai title");
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("index.html names its script")?;
    assert!(
        script.starts_with("app-")
            && script.ends_with(".js")
            && script.len() == "app-XXXXXXXX.js".len(),
        "{script}"
    );
    // Revalidation: the same page answers 304.
    let etag = index.headers["etag"].to_str()?.to_string();
    let again = send(
        &db,
        Request::get("/")
            .header("if-none-match", &etag)
            .body(Body::empty())?,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());

    let asset = get(&db, &format!("/{script}")).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(asset.headers["cache-control"], IMMUTABLE);
    assert_eq!(
        asset.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    let embedded = embedded_files()
        .iter()
        .find(|(n, _)| *n == script)
        .map(|(_, b)| b.len());
    assert_eq!(Some(asset.body.len()), embedded);
    let worker = embedded_files()
        .iter()
        .map(|(n, _)| *n)
        .find(|n| n.starts_with("maplibre-gl-worker-"))
        .context("worker embedded")?;
    let answer = get(&db, &format!("/{worker}")).await;
    assert_eq!(
        answer.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(answer.headers["cache-control"], IMMUTABLE);

    let api = get(&db, "/healthz").await;
    assert_eq!(api.status, StatusCode::OK);
    assert_security_headers(&api.headers, "an API answer");
    Ok(())
}

/// The real binary, `serve` on port 0 in an empty working directory with no page directory set.
struct Served {
    _child: tokio::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

async fn serve_in_a_fresh_directory() -> anyhow::Result<Served> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let mut child = tokio::process::Command::new(hub_binary()?)
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
        .current_dir(dir.path())
        .env("WELFARE_HUB_LOG", "warn")
        .env_remove("WELFARE_HUB_WEB")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let base = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("Welfare Hub listening on ") {
                return Ok(url.to_string());
            }
        }
        bail!("the hub exited before serving")
    })
    .await
    .context("the hub did not announce its URL in time")??;
    Ok(Served {
        _child: child,
        base,
        _dir: dir,
    })
}

#[tokio::test]
async fn the_binary_answers_oversized_requests_in_json_and_serves_its_own_page()
-> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let served = serve_in_a_fresh_directory().await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = &served.base;
    let error_of = |body: &str| -> (String, String) {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        (
            v["error"].as_str().unwrap().to_string(),
            v["message"].as_str().unwrap().to_string(),
        )
    };

    let page = client.get(format!("{base}/")).send().await?;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], REVALIDATE);
    assert_eq!(
        page.headers()["content-security-policy"],
        CONTENT_SECURITY_POLICY
    );
    let html = page.text().await?;
    let (_, index) = embedded_files()
        .iter()
        .find(|(n, _)| *n == "index.html")
        .context("embedded index")?;
    assert_eq!(html.as_bytes(), *index, "/ is the embedded page");

    let long_path = client
        .get(format!("{base}/{}", "a".repeat(60_000)))
        .send()
        .await?;
    assert_eq!(long_path.status(), 404);
    assert_eq!(long_path.headers()["content-type"], "application/json");
    assert_eq!(
        error_of(&long_path.text().await?),
        ("not_found".into(), "no such endpoint or file".into())
    );

    let long_uri = client
        .get(format!("{base}/api/v1/areas?within={}", "1".repeat(64_500)))
        .send()
        .await?;
    assert_eq!(long_uri.status(), 414);
    assert_eq!(error_of(&long_uri.text().await?).0, "uri_too_long");

    let big_header = client
        .get(format!("{base}/healthz"))
        .header("x-filler", "f".repeat(60_000))
        .send()
        .await?;
    assert_eq!(big_header.status(), 431);
    assert_eq!(big_header.headers()["content-type"], "application/json");
    assert_eq!(error_of(&big_header.text().await?).0, "headers_too_large");

    let plain = client
        .post(format!("{base}/api/v1/query"))
        .header("content-type", "text/plain")
        .body(r#"{"sql": "SELECT 1"}"#)
        .send()
        .await?;
    assert_eq!(plain.status(), 415);
    assert_eq!(error_of(&plain.text().await?).0, "unsupported_media_type");

    // A client that stops halfway through its head (slowloris), and one that stays idle after an
    // answer, are both cut once the header-read timeout passes. (A `/healthz` probe's connection is
    // closed at once after its answer, so the idle one asks for the page.)
    let address = base.trim_start_matches("http://").to_string();
    let (half_head, idle) = tokio::join!(
        seconds_until_closed(&address, b"GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Slow: "),
        seconds_until_closed(&address, b"GET / HTTP/1.1\r\nHost: hub\r\n\r\n"),
    );
    let limit = HEADER_READ_TIMEOUT.as_secs_f64();
    for (what, (seconds, answer)) in [("half a head", half_head?), ("an idle connection", idle?)] {
        assert!(
            seconds >= limit - 0.5 && seconds < limit + 5.0,
            "{what}: closed after {seconds:.1} s"
        );
        if what == "an idle connection" {
            assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        }
    }

    let health = client.get(format!("{base}/healthz")).send().await?;
    assert_eq!(health.status(), 200, "the hub still answers");
    Ok(())
}

/// Sends `bytes` on a new connection and reads until the hub closes it: the seconds that took and
/// what the hub sent.
async fn seconds_until_closed(address: &str, bytes: &[u8]) -> anyhow::Result<(f64, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let started = std::time::Instant::now();
    stream.write_all(bytes).await?;
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut received));
    // A reset counts as closed, like an orderly end.
    let _ = read
        .await
        .context("the hub kept the connection open for 60 s")?;
    Ok((
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&received).into_owned(),
    ))
}

#[tokio::test]
async fn a_page_directory_overrides_the_embedded_page_uncached() -> anyhow::Result<()> {
    let db = TestDb::new(TestBackend::Sqlite).await?;
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>dev</title>",
    )?;
    std::fs::write(dir.path().join("app.js"), "console.log('dev')")?;
    let mut state = AppState::read_only(db.store.clone());
    state.web_dir = Some(dir.path().to_path_buf());
    let call = |uri: String| {
        let app = router(state.clone());
        async move {
            let response = app
                .oneshot(Request::get(uri.as_str()).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, headers, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (status, headers, body) = call("/".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "<!doctype html><title>dev</title>");
    assert_eq!(headers["cache-control"], REVALIDATE);
    assert_security_headers(&headers, "a development page");
    let (status, headers, body) = call("/app.js".into()).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "console.log('dev')")
    );
    assert_eq!(headers["cache-control"], REVALIDATE);
    // A name too long for the file system is not found, not an I/O error.
    for uri in [
        format!("/{}", "a".repeat(60_000)),
        format!("/{}", "b".repeat(256)),
    ] {
        let (status, headers, body) = call(uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(
            body,
            r#"{"error":"not_found","message":"no such endpoint or file"}"#
        );
    }

    // A directory without a built page says how to build it, in the one shape.
    let empty = tempfile::tempdir()?;
    let mut state = AppState::read_only(db.store.clone());
    state.web_dir = Some(empty.path().to_path_buf());
    let answer = send_to(state, "/").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let (code, message) = answer.error();
    assert_eq!(code, "page_not_built");
    assert_eq!(
        message,
        "the configured map page directory has no index.html: run `npm run build` in web/, or \
         unset WELFARE_HUB_WEB to serve the page built into the hub"
    );
    Ok(())
}

async fn send_to(state: AppState, uri: &str) -> Reply {
    reply(state, Request::get(uri).body(Body::empty()).unwrap()).await
}
