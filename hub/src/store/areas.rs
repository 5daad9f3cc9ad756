//! Reading areas back: the listing behind `GET /api/v1/areas`.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;
use welfare_model::{AreaRef, Level};

use super::rows::trusted;
use super::{Store, StoreError};

/// One area with its population and the number of funds registered in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AreaListing {
    pub code: String,
    pub name_th: String,
    pub name_en: String,
    #[schema(value_type = String)]
    pub level: Level,
    pub parent: Option<String>,
    pub region: String,
    pub population: i64,
    pub population_year: i64,
    pub funds: i64,
}

impl Store {
    /// Areas at `level` (province, district or subdistrict) inside `within`, ordered by code.
    pub async fn list_areas(
        &self,
        level: Level,
        within: Option<&AreaRef>,
    ) -> Result<Vec<AreaListing>, StoreError> {
        let Some(len) = level.code_len() else {
            return Err(StoreError::Invalid(format!(
                "areas are stored at province, district and subdistrict level, not {level}"
            )));
        };
        let (filter, arg) = match within {
            None | Some(AreaRef::Country) => ("", None),
            Some(AreaRef::Region(r)) => (" AND region = $2", Some(r.code().to_string())),
            Some(AreaRef::Code(c)) => (
                // The length is a trusted constant, the code a bound value.
                match c.as_str().len() {
                    2 => " AND substr(code, 1, 2) = $2",
                    4 => " AND substr(code, 1, 4) = $2",
                    _ => " AND substr(code, 1, 6) = $2",
                },
                Some(c.to_string()),
            ),
        };
        let sql = format!(
            "SELECT code, name_th, name_en, parent_code, region, pop_total, pop_year \
             FROM areas WHERE level = $1{filter} ORDER BY code"
        );
        let mut query = sqlx::query(trusted(&sql)).bind(level.as_str());
        if let Some(arg) = &arg {
            query = query.bind(arg.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;

        // Funds counted per area by the prefix of their tambon code.
        let counts_sql = format!(
            "SELECT substr(area_code, 1, {len}) AS area, COUNT(*) AS n FROM funds GROUP BY substr(area_code, 1, {len})"
        );
        let counts: HashMap<String, i64> = sqlx::query(trusted(&counts_sql))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;

        rows.into_iter()
            .map(|r| {
                let code: String = r.try_get(0)?;
                Ok(AreaListing {
                    funds: counts.get(&code).copied().unwrap_or(0),
                    name_th: r.try_get(1)?,
                    name_en: r.try_get(2)?,
                    level,
                    parent: r.try_get(3)?,
                    region: r.try_get(4)?,
                    population: r.try_get(5)?,
                    population_year: r.try_get(6)?,
                    code,
                })
            })
            .collect()
    }

    /// True when an area with this DOPA code is stored.
    pub async fn area_exists(&self, code: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM areas WHERE code = $1")
            .bind(code)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// Number of stored areas per level.
    pub async fn count_areas(&self) -> Result<HashMap<String, i64>, StoreError> {
        let rows = sqlx::query("SELECT level, COUNT(*) FROM areas GROUP BY level")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}

/// What the maps need from the stored geography: every boundary polygon, and the polygon each
/// current tambon is drawn with (`geom_code`; several tambons can share one).
#[derive(Debug, Clone, Default)]
pub struct MapSource {
    pub boundaries: Vec<welfare_geo::Boundary>,
    /// Tambon code → polygon code.
    pub tambon_polygons: HashMap<String, String>,
}

impl Store {
    /// The boundaries and tambon → polygon codes, for building map geometry.
    pub async fn map_source(&self) -> Result<MapSource, StoreError> {
        let rows = sqlx::query("SELECT level, code, geometry FROM boundaries ORDER BY level, code")
            .fetch_all(&self.pool)
            .await?;
        let mut boundaries = Vec::with_capacity(rows.len());
        for r in rows {
            let level: String = r.try_get(0)?;
            let code: String = r.try_get(1)?;
            let geometry: String = r.try_get(2)?;
            let bad =
                |what: String| StoreError::Invalid(format!("boundary {level} {code}: {what}"));
            boundaries.push(welfare_geo::Boundary {
                level: level.parse::<Level>().map_err(|e| bad(e.to_string()))?,
                code: code.parse().map_err(|e| bad(format!("{e}")))?,
                geometry: serde_json::from_str(&geometry).map_err(|e| bad(e.to_string()))?,
            });
        }
        let tambon_polygons = sqlx::query(
            "SELECT code, geom_code FROM areas WHERE level = 'subdistrict' ORDER BY code",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
        Ok(MapSource {
            boundaries,
            tambon_polygons,
        })
    }
}
