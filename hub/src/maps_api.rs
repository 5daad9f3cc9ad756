//! `GET /api/v1/maps/{level}.geojson` and `GET /api/v1/legend` (the map page at `/` is `page`'s).
//!
//! A map answer carries a weak `ETag` made of the snapshot version and the resolved request, so a
//! browser or proxy revalidates with `If-None-Match` and gets a 304 until the next ingestion; it
//! comes gzip- or brotli-compressed when the client accepts it.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use welfare_model::{AreaRef, Level};

use crate::answers::{answer_response, etag_of, not_modified, not_modified_response};
use crate::api::{ApiError, AppState, parse_query};
use crate::indicators_api::{analytics, policy_name, resolve_range, resolve_within};
use crate::maps::{MapIndicator, MapRequest, Maps, MapsError};

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/maps/{file}", get(map))
        .route("/api/v1/legend", get(legend))
}

impl From<MapsError> for ApiError {
    fn from(e: MapsError) -> Self {
        match e {
            MapsError::Query(q) => q.into(),
            MapsError::Busy(busy) => busy.into(),
            other => {
                tracing::error!(error = %other, "map failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; the hub's log has the details",
                )
            }
        }
    }
}

fn maps(state: &AppState) -> Result<&Arc<Maps>, ApiError> {
    state.maps.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this hub serves no maps",
        )
    })
}

fn indicator_of(text: Option<&str>) -> Result<MapIndicator, ApiError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(MapIndicator::Coverage),
        Some(t) => MapIndicator::parse(t).ok_or_else(|| {
            let known: Vec<&str> = MapIndicator::ALL.iter().map(|i| i.as_str()).collect();
            ApiError::invalid(
                "indicator",
                format!("{t:?} is not one of {}", known.join(", ")),
            )
        }),
    }
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
    let analytics = analytics(&state)?;
    let maps = maps(&state)?;
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
    let indicator = indicator_of(q.indicator.as_deref())?;
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
    let zooms = welfare_geo::MapGeometry::zoom_range();
    let zoom = match q.zoom.as_deref().filter(|z| !z.is_empty()) {
        None => MapRequest::default_zoom(level),
        Some(z) => z
            .parse::<f64>()
            .ok()
            .filter(|z| z.is_finite())
            .map(|z| {
                z.floor()
                    .clamp(f64::from(*zooms.start()), f64::from(*zooms.end())) as u8
            })
            .ok_or_else(|| ApiError::invalid("zoom", format!("{z:?} is not a zoom level")))?,
    };
    let policy = policy_name(analytics, &snapshot, q.policy.as_deref())?;
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
    if not_modified(&headers, &etag) {
        return Ok(not_modified_response(&etag, snapshot.version));
    }
    let rendered = maps.render(&snapshot, &request).await?;
    Ok(answer_response(&rendered, &headers, &etag, snapshot.version).await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LegendParams {
    indicator: Option<String>,
}

async fn legend(RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let q: LegendParams = parse_query(raw)?;
    let indicator = indicator_of(q.indicator.as_deref())?;
    let mut r = Json(indicator.legend()).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(r)
}
