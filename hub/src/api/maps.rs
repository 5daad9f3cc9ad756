//! `GET /api/v1/maps/{level}.geojson` and `GET /api/v1/legend` (the map page at `/` is `page`'s).
//!
//! A map answer carries a weak `ETag` made of the snapshot version and the resolved request, so a
//! browser or proxy revalidates with `If-None-Match` and gets a 304 until the next ingestion; it
//! comes gzip- or brotli-compressed when the client accepts it.

use axum::Json;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use welfare_model::{AreaRef, Level};

use super::AppState;
use super::error::ApiError;
use super::params::{
    map_indicator, parse_query, policy_names, resolve_range, resolve_within, zoom_of,
};
use super::snapshot_header;
use crate::maps::{Coding, MapRequest, MapsError};

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/maps/{file}", get(map))
        .route("/api/v1/legend", get(legend))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapParams {
    indicator: Option<String>,
    period: Option<String>,
    within: Option<String>,
    zoom: Option<String>,
    policy: Option<String>,
}

async fn map(
    State(state): State<AppState>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let analytics = state.analytics()?;
    let maps = state.maps()?;
    let level = file
        .strip_suffix(".geojson")
        .and_then(|l| l.parse::<Level>().ok())
        .filter(|l| matches!(l, Level::Province | Level::District | Level::Subdistrict))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no map {file:?}: province.geojson, district.geojson or subdistrict.geojson"
            ))
        })?;
    let q: MapParams = parse_query(raw)?;
    let indicator = map_indicator(q.indicator.as_deref())?;
    let snapshot = analytics.current();
    let range = resolve_range(analytics, q.period.as_deref(), None, None)?;
    let within = match resolve_within(&snapshot, "within", q.within.as_deref())? {
        None | Some(AreaRef::Country) => None,
        Some(AreaRef::Code(code)) if code.level() < level => Some(code),
        Some(other) => {
            return Err(ApiError::invalid(
                "within",
                format!(
                    "a {level} map is within a province or district holding {level}s, not {other}"
                ),
            ));
        }
    };
    let zoom = zoom_of(q.zoom.as_deref(), MapRequest::default_zoom(level))?;
    let policy = policy_names(analytics, &snapshot, q.policy.as_deref())?;
    let [policy] = <[String; 1]>::try_from(policy)
        .map_err(|_| ApiError::invalid("policy", "a map shows one policy"))?;
    let request = MapRequest {
        level,
        indicator,
        within,
        period: range.to,
        policy,
        zoom,
    };

    let etag = etag_of(snapshot.version, &request);
    let mut response = if not_modified(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let rendered = maps.render(&snapshot, &request).await?;
        let coding = Coding::negotiate(
            headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok()),
        );
        let body = if rendered.is_compressed(coding) {
            rendered.body(coding)
        } else {
            let r = rendered.clone();
            tokio::task::spawn_blocking(move || r.body(coding))
                .await
                .map_err(|e| MapsError::Geometry(e.to_string()))?
        };
        let mut r = body.into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/geo+json"),
        );
        if let Some(c) = coding.header() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(c));
        }
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // Figures change after a nightly pull: a short freshness, then revalidation by ETag.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300, must-revalidate"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    snapshot_header(&mut response, &snapshot);
    Ok(response)
}

/// A weak validator: the same for every content coding of one answer.
fn etag_of(version: u64, request: &MapRequest) -> String {
    use std::hash::{Hash, Hasher};
    // FNV-1a: stable across processes (unlike the std hasher's random keys), so an ETag survives a
    // restart with the same snapshot version.
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    request.hash(&mut h);
    format!("W/\"{version}-{:016x}\"", h.finish())
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || weak(t) == weak(etag))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LegendParams {
    indicator: Option<String>,
}

async fn legend(RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let q: LegendParams = parse_query(raw)?;
    let indicator = map_indicator(q.indicator.as_deref())?;
    let mut r = Json(indicator.legend()).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use welfare_queries::maps::MapIndicator;

    #[test]
    fn etags_differ_by_request_and_version_and_match_weakly() {
        let request = |zoom| MapRequest {
            level: Level::Province,
            indicator: MapIndicator::Coverage,
            within: None,
            period: welfare_model::Period::new(2026, 10).unwrap(),
            policy: "codi-1-1".into(),
            zoom,
        };
        let a = etag_of(1, &request(5));
        assert_eq!(a, etag_of(1, &request(5)));
        assert_ne!(a, etag_of(2, &request(5)));
        assert_ne!(a, etag_of(1, &request(6)));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", {}", a.trim_start_matches("W/"))).unwrap(),
        );
        assert!(not_modified(&headers, &a));
        assert!(!not_modified(&headers, &etag_of(2, &request(5))));
    }
}
