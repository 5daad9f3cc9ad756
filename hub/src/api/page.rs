//! The map page at `/`: built from `web/` by the build script and embedded in the binary, or, for
//! page development, read from a directory (`WELFARE_HUB_WEB` / `[api] web_dir`).
//!
//! The page's scripts and styles have content-hashed names (`app-XXXXXXXX.js`), so they are served
//! `immutable` for a year; `index.html`, which names them, is revalidated on every load.

use std::path::{Component, Path};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The page's files as the build script embedded them: (name, bytes).
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/web_page.rs"));
}

/// Cache policy of a content-hashed asset: its name changes whenever its bytes do.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of `index.html` and of a development directory: revalidate every time.
pub const REVALIDATE: &str = "no-cache";
/// The longest file name a file system takes; a longer path segment cannot name a file.
const MAX_NAME_BYTES: usize = 255;

/// The embedded page's files, `index.html` among them.
pub fn embedded_files() -> &'static [(&'static str, &'static [u8])] {
    embedded::FILES
}

/// The map page's service: the embedded page, or the files of `dir` when one is configured.
pub fn page_service(dir: Option<&Path>) -> axum::Router {
    use tower_http::compression::CompressionLayer;
    let router = match dir {
        None => axum::Router::new().fallback(embedded_file),
        Some(dir) => dir_service(dir),
    };
    router.layer(CompressionLayer::new())
}

async fn embedded_file(request: Request) -> Response {
    if let Some(refused) = refuse_method(request.method()) {
        return refused;
    }
    let name = page_file(request.uri().path());
    let Some((name, bytes)) = embedded::FILES.iter().find(|(n, _)| *n == name) else {
        return ApiError::not_found("no such endpoint or file").into_response();
    };
    let etag = etag_of(bytes);
    let mut response = if if_none_match(request.headers(), &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = bytes.into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(name)),
        );
        r
    };
    let h = response.headers_mut();
    // Pages name their hashed assets and are revalidated; the assets never change.
    let policy = if name.ends_with(".html") {
        REVALIDATE
    } else {
        IMMUTABLE
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

/// The file a page path names: `/` is the map page, `/operator` the operator's page.
fn page_file(path: &str) -> &str {
    match path {
        "/" => "index.html",
        "/operator" => "operator.html",
        path => path.trim_start_matches('/'),
    }
}

/// A development directory: whatever `npm run build` last wrote, never cached by the browser.
fn dir_service(dir: &Path) -> axum::Router {
    use tower_http::services::{ServeDir, ServeFile};
    use tower_http::set_header::SetResponseHeaderLayer;
    let index = dir.join("index.html");
    if !index.is_file() {
        tracing::warn!(dir = %dir.display(), "the configured map page directory has no index.html");
        // The directory is named in the log only: a server path is nobody's business over HTTP.
        return axum::Router::new().fallback(|| async {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "page_not_built",
                "the configured map page directory has no index.html: run `npm run build` in \
                 web/, or unset WELFARE_HUB_WEB to serve the page built into the hub",
            )
        });
    }
    let files = ServeDir::new(dir).not_found_service(axum::routing::any(|| async {
        ApiError::not_found("no such endpoint or file")
    }));
    axum::Router::new()
        .route_service("/", ServeFile::new(index))
        .route_service("/operator", ServeFile::new(dir.join("operator.html")))
        .fallback_service(files)
        .layer(axum::middleware::from_fn(
            |request: Request, next: axum::middleware::Next| async move {
                if let Some(refused) = refuse_method(request.method()) {
                    return refused;
                }
                if !nameable(request.uri().path()) {
                    return ApiError::not_found("no such endpoint or file").into_response();
                }
                next.run(request).await
            },
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static(REVALIDATE),
        ))
}

/// Whether `path` could name a file under the page directory: a segment too long for any file
/// system would make the lookup fail with an I/O error (a 500) rather than "not found".
fn nameable(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    Path::new(decoded.trim_start_matches('/'))
        .components()
        .all(|c| match c {
            Component::Normal(name) => name.len() <= MAX_NAME_BYTES,
            _ => true,
        })
}

fn refuse_method(method: &Method) -> Option<Response> {
    if method == Method::GET || method == Method::HEAD {
        return None;
    }
    let mut r = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "the page's files take GET and HEAD only",
    )
    .into_response();
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    Some(r)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        // MapLibre starts its worker as a module: it must be JavaScript to the browser.
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("map" | "json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// A validator from the bytes (FNV-1a: the same in every process); weak, as it is shared by the
/// gzip, brotli and identity codings of the file.
fn etag_of(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("W/\"{:016x}-{}\"", hash, bytes.len())
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag.trim_start_matches("W/")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_page_names_its_hashed_assets() {
        let files = embedded_files();
        let index = files
            .iter()
            .find(|(n, _)| *n == "index.html")
            .map(|(_, b)| std::str::from_utf8(b).unwrap())
            .expect("index.html is embedded");
        let hashed: Vec<&str> = files
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| n.starts_with("app-") && (n.ends_with(".js") || n.ends_with(".css")))
            .collect();
        assert_eq!(
            hashed.len(),
            2,
            "one script and one style sheet: {hashed:?}"
        );
        for name in hashed {
            assert!(
                index.contains(&format!("\"{name}\"")),
                "{name} not in index.html"
            );
        }
        assert!(
            !index.contains("<style") && !index.contains(" style="),
            "inline style"
        );
        assert!(
            files
                .iter()
                .any(|(n, _)| n.starts_with("maplibre-gl-worker-")),
            "the worker is embedded under a hashed name"
        );
    }

    #[test]
    fn only_nameable_paths_reach_the_file_system() {
        assert!(nameable("/app-ABCD1234.js"));
        assert!(nameable(&format!("/{}", "a".repeat(255))));
        assert!(!nameable(&format!("/{}", "a".repeat(256))));
        assert!(!nameable(&format!("/x/{}", "%41".repeat(300))));
    }

    #[test]
    fn types_and_validators() {
        assert_eq!(
            content_type("maplibre-gl-worker-1.mjs"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(etag_of(b"abc"), etag_of(b"abc"));
        assert_ne!(etag_of(b"abc"), etag_of(b"abd"));
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!(
                "\"x\", {}",
                etag_of(b"abc").trim_start_matches("W/")
            ))
            .unwrap(),
        );
        assert!(if_none_match(&h, &etag_of(b"abc")));
        assert!(!if_none_match(&h, &etag_of(b"abd")));
    }
}
