//! `GET /api/v1/areas?level=province|district|subdistrict&within=CODE`: the areas of a level, with
//! their population and registered funds, straight from the store.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use welfare_model::{AreaRef, Level};

use super::AppState;
use super::error::ApiError;
use super::params::{listing_level, parse_query};
use crate::store::AreaListing;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/areas", get(areas))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AreasQuery {
    level: Option<String>,
    within: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AreasResponse {
    pub level: Level,
    pub within: Option<String>,
    pub count: usize,
    pub population_year: Option<i64>,
    pub total_population: i64,
    pub total_funds: i64,
    pub areas: Vec<AreaListing>,
}

/// `GET /api/v1/areas?level=province|district|subdistrict&within=CODE`
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
