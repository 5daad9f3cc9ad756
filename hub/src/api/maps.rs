//! `GET /api/v1/maps/{level}.geojson` and `GET /api/v1/legend` (the map page at `/` is `page`'s).
//!
//! A map answer carries a weak `ETag` made of the snapshot version and the resolved request, so a
//! browser or proxy revalidates with `If-None-Match` and gets a 304 until the next ingestion; it
//! comes gzip- or brotli-compressed when the client accepts it.

use axum::Json;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use welfare_model::{AreaRef, Level};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::params::{
    Month, class_scheme, map_indicator, parse_query, policy_names, resolve_network, resolve_range,
    resolve_within, zoom_of,
};
use crate::answers::{answer_response, etag_of, not_modified, not_modified_response};
use crate::maps::MapRequest;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(map))
        .routes(routes!(legend))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MapParams {
    /// What the map colours (default `coverage`; `/api/v1/legend` lists the classes).
    #[param(example = "coverage")]
    indicator: Option<String>,
    /// The month (default: the latest month whose reports are due).
    #[param(value_type = Option<Month>)]
    period: Option<String>,
    /// Only areas within this province or district (its DOPA code).
    #[param(example = "50")]
    within: Option<String>,
    /// The map zoom the outlines are simplified for (clamped to the geometry's zooms).
    #[param(value_type = Option<f64>, example = 6)]
    zoom: Option<String>,
    /// The matching policy of money indicators (default: the configured one).
    #[param(example = "codi-1-1")]
    policy: Option<String>,
    /// Only the funds of this network (see `/api/v1/networks`).
    #[param(example = "songkhla-1baht")]
    network: Option<String>,
    /// How values are put into colour classes: `quantile` (about as many areas in each of five
    /// classes) or `pretty` (round bounds of equal width), both computed from the areas on the map,
    /// or `fixed` (the classes toward 100% of `/api/v1/legend`). Default: `quantile` for the whole
    /// country, `fixed` within a province or district. The answer's `legend` says which, with the
    /// bounds.
    #[param(example = "quantile")]
    classes: Option<String>,
}

/// A coverage map: a GeoJSON FeatureCollection of the level's areas (outlines simplified for the
/// zoom) with the indicator's value and class in each feature's properties, and the `legend` of its
/// classes (scheme, bounds, colours, labels) beside them.
#[utoipa::path(
    get,
    path = "/api/v1/maps/{file}",
    tag = "maps",
    params(
        ("file" = String, Path, description = "`province.geojson`, `district.geojson` or `subdistrict.geojson`", example = "province.geojson"),
        MapParams,
    ),
    responses(
        (status = 200, description = "The map (gzip or brotli when accepted)", content_type = "application/geo+json", body = serde_json::Value),
        (status = 304, description = "Not modified: the `ETag` sent in `If-None-Match` is current"),
        (status = 404, description = "No such map file", body = ErrorBody),
    ),
)]
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
    let network = resolve_network(&snapshot, q.network.as_deref())?;
    let classes = class_scheme(
        q.classes.as_deref(),
        MapRequest::default_classes(within.as_ref()),
    )?;
    let request = MapRequest {
        classes,
        level,
        indicator,
        within,
        period: range.to,
        policy,
        zoom,
        network,
    };

    let etag = etag_of(snapshot.version, &request);
    if not_modified(&headers, &etag) {
        return Ok(not_modified_response(&etag, snapshot.version));
    }
    let rendered = maps.render(&snapshot, &request).await?;
    Ok(answer_response(&rendered, &headers, &etag, snapshot.version).await)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LegendParams {
    /// The map indicator (default `coverage`).
    #[param(example = "coverage")]
    indicator: Option<String>,
}

/// The fixed classes a map indicator is coloured by (toward 100%): bounds, colours and labels. A map
/// coloured by classes computed from its areas carries its own `legend`.
#[utoipa::path(
    get,
    path = "/api/v1/legend",
    tag = "maps",
    params(LegendParams),
    responses((status = 200, description = "The legend", body = serde_json::Value)),
)]
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
            network: None,
            classes: welfare_queries::maps::ClassScheme::Quantile,
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
