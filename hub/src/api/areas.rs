//! `GET /api/v1/areas?level=province|district|subdistrict&within=CODE`: the areas of a level, with
//! their population and registered funds, straight from the store.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use welfare_model::{AreaRef, Level};

use super::AppState;
use super::error::ApiError;
use super::params::{listing_level, parse_query};
use crate::store::AreaListing;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(areas))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AreasQuery {
    /// `province` (default), `district` or `subdistrict` (also `changwat`, `amphoe`, `tambon`).
    #[param(example = "district")]
    level: Option<String>,
    /// A region name or the DOPA code of an area above `level`.
    #[param(example = "50")]
    within: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AreasResponse {
    #[schema(value_type = String, example = "district")]
    pub level: Level,
    pub within: Option<String>,
    pub count: usize,
    pub population_year: Option<i64>,
    pub total_population: i64,
    pub total_funds: i64,
    pub areas: Vec<AreaListing>,
}

/// The areas of a level, with their population and registered funds.
#[utoipa::path(
    get,
    path = "/api/v1/areas",
    tag = "areas",
    params(AreasQuery),
    responses((status = 200, description = "The areas, ordered by code", body = AreasResponse)),
)]
async fn areas(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<AreasResponse>, ApiError> {
    let q: AreasQuery = parse_query(raw)?;
    let level = listing_level(q.level.as_deref())?;
    // Checked against the store (an area listing needs no analytics snapshot).
    let within = match q.within.as_deref() {
        None | Some("") => None,
        Some(text) => {
            let area: AreaRef = text.parse().map_err(|e| ApiError::invalid("within", e))?;
            if area.level() >= level {
                return Err(ApiError::invalid(
                    "within",
                    format!("{area} is a {}; it holds no {level} areas", area.level()),
                ));
            }
            if let AreaRef::Code(code) = &area
                && !state.store.area_exists(code.as_str()).await?
            {
                return Err(ApiError::invalid(
                    "within",
                    format!("no area has code {code}"),
                ));
            }
            Some(area)
        }
    };
    let areas = state.store.list_areas(level, within.as_ref()).await?;
    Ok(Json(AreasResponse {
        level,
        within: within.map(|w| w.to_string()),
        count: areas.len(),
        population_year: areas.first().map(|a| a.population_year),
        total_population: areas.iter().map(|a| a.population).sum(),
        total_funds: areas.iter().map(|a| a.funds).sum(),
        areas,
    }))
}
