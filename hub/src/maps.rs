//! Coverage maps: indicator values joined to simplified boundary polygons, as GeoJSON.
//!
//! Every figure on a map (sums of shared polygons, coverage and other ratios, colour classes, the
//! legend) is `welfare_queries::maps`'s; this module draws and caches.
//!
//! The geometry (`welfare_geo::MapGeometry`, shared-arc simplification per zoom) is built once from
//! the stored boundaries, on first use. Values come from the analytics snapshot through the same
//! `area_indicators` the indicators API answers with, so a map and a table never disagree. Tambons
//! are drawn with their bundle polygon (`geom_code`): the few tambons that share a polygon are
//! summed onto it before the value is worked out.
//!
//! Rendered bodies are cached per snapshot version and request ([`crate::answers`]), with their gzip
//! and brotli forms made on first demand: a map asked again costs a hash lookup.

use std::collections::HashMap;
use std::sync::Arc;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value as Json};
use tokio::sync::OnceCell;
use welfare_geo::{MapGeometry, write_feature_collection};
use welfare_model::{AreaCode, Level};
use welfare_queries::indicators;
use welfare_queries::maps::{ClassScheme, Classes, MapArea, MapIndicator};
use welfare_queries::{AreaIndicators, AreaState, IndicatorQuery, RiskThresholds, Snapshot};

use crate::answers::{Admission, AnswerCache, Encoded, Overloaded};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum MapsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("map geometry: {0}")]
    Geometry(String),
    #[error(transparent)]
    Query(#[from] welfare_queries::QueryError),
    #[error(transparent)]
    Busy(#[from] Overloaded),
}

/// A map request, checked: everything that decides a map's bytes for one snapshot (the cache key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MapRequest {
    pub level: Level,
    pub indicator: MapIndicator,
    pub within: Option<AreaCode>,
    pub period: welfare_model::Period,
    pub policy: String,
    pub zoom: u8,
    /// Only the funds of this network.
    pub network: Option<welfare_model::NetworkId>,
    /// How the values are put into colour classes.
    pub classes: ClassScheme,
}

impl MapRequest {
    /// The classes a map is coloured by when the request names none: computed from the areas on the
    /// map for the whole country (where the fixed classes toward 100% would paint one colour), the
    /// fixed ones within a province or district.
    pub fn default_classes(within: Option<&AreaCode>) -> ClassScheme {
        match within {
            None => ClassScheme::Quantile,
            Some(_) => ClassScheme::Fixed,
        }
    }

    /// The zoom a level is drawn at when the request names none.
    pub fn default_zoom(level: Level) -> u8 {
        match level {
            Level::Subdistrict => 9,
            Level::District => 7,
            _ => 5,
        }
    }
}

/// How many bytes of rendered maps are kept (a whole-country tambon map is a few MB; its
/// compressed forms a fifth of that): some thirty country-wide tambon maps, or thousands of province
/// ones. A crowd asking ever-new maps grows the hub by this much (see `analytics::ANSWER_BYTES`).
const CACHE_BYTES: usize = 128 * 1024 * 1024;

/// Maps rendered at once; more wait briefly (see [`crate::answers::Admission`]), then 503.
const RENDERING: usize = 2;
const RENDER_QUEUE: usize = 16;
const RENDER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The maps service: geometry built once, rendered maps cached per snapshot.
#[derive(Debug)]
pub struct Maps {
    store: Store,
    geometry: OnceCell<Arc<Geometry>>,
    cache: AnswerCache<MapRequest>,
    thresholds: RiskThresholds,
}

/// Map geometry plus the tambon → polygon join.
#[derive(Debug)]
pub struct Geometry {
    pub shapes: MapGeometry,
    pub tambon_polygons: HashMap<String, String>,
}

impl Maps {
    pub fn new(store: Store, thresholds: RiskThresholds) -> Self {
        Maps {
            store,
            geometry: OnceCell::new(),
            cache: AnswerCache::new(
                CACHE_BYTES,
                Admission::new(RENDERING, RENDER_QUEUE, RENDER_WAIT),
            ),
            thresholds,
        }
    }

    /// The geometry, built from the store on first use (a few seconds for the whole country).
    pub async fn geometry(&self) -> Result<Arc<Geometry>, MapsError> {
        self.geometry
            .get_or_try_init(|| async {
                let started = std::time::Instant::now();
                let source = self.store.map_source().await?;
                let polygons = source.boundaries.len();
                let shapes = tokio::task::spawn_blocking(move || {
                    MapGeometry::build(&source.boundaries)
                        .map(|shapes| (shapes, source.tambon_polygons))
                })
                .await
                .map_err(|e| MapsError::Geometry(e.to_string()))?
                .map_err(|e| MapsError::Geometry(e.to_string()))?;
                tracing::info!(
                    polygons,
                    ms = started.elapsed().as_millis() as u64,
                    "map geometry built"
                );
                Ok(Arc::new(Geometry {
                    shapes: shapes.0,
                    tambon_polygons: shapes.1,
                }))
            })
            .await
            .cloned()
    }

    /// The map for `request` from `snapshot`: cached, or rendered now. Concurrent misses for one
    /// map (after a snapshot swap, say) wait for a single rendering; renderings of different maps
    /// are admitted a few at a time.
    pub async fn render(
        &self,
        snapshot: &Arc<Snapshot>,
        request: &MapRequest,
    ) -> Result<Arc<Encoded>, MapsError> {
        self.cache
            .get_or_compute(snapshot.version, request, || {
                self.render_now(snapshot, request)
            })
            .await
    }

    async fn render_now(
        &self,
        snapshot: &Arc<Snapshot>,
        request: &MapRequest,
    ) -> Result<Encoded, MapsError> {
        let geometry = self.geometry().await?;
        let query = IndicatorQuery {
            rollup: welfare_queries::Rollup::Level(request.level),
            within: request.within.clone().map(welfare_model::AreaRef::Code),
            network: request.network.clone(),
            range: welfare_queries::Range::month(request.period),
            policy: request.policy.clone(),
        };
        let rows = indicators::area_indicators(snapshot, &query, &self.thresholds).await?;
        let request = request.clone();
        let snapshot = snapshot.clone();
        tokio::task::spawn_blocking(move || render_map(&geometry, &snapshot, &request, &rows))
            .await
            .map_err(|e| MapsError::Geometry(e.to_string()))
    }
}

/// One feature's values and names, keyed by the polygon it is drawn with.
struct Polygon<'a> {
    code: &'a str,
    names: Vec<(&'a str, &'a str)>,
    area: MapArea,
}

fn number(d: Decimal) -> Json {
    d.to_f64().map_or(Json::Null, Json::from)
}

/// The GeoJSON of one map (pure: geometry, snapshot facts and indicator rows in, bytes out).
pub fn render_map(
    geometry: &Geometry,
    snapshot: &Snapshot,
    request: &MapRequest,
    rows: &[AreaIndicators],
) -> Encoded {
    // Group the rows by the polygon each is drawn with, in polygon-code order.
    let mut polygons: Vec<Polygon> = Vec::with_capacity(rows.len());
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    for row in rows {
        let polygon = match request.level {
            Level::Subdistrict => geometry
                .tambon_polygons
                .get(&row.code)
                .map_or(row.code.as_str(), String::as_str),
            _ => row.code.as_str(),
        };
        let area = MapArea::of(row);
        match index.get(polygon) {
            Some(&i) => {
                polygons[i].area.add(&area);
                polygons[i]
                    .names
                    .push((row.name_th.as_str(), row.name_en.as_str()));
            }
            None => {
                index.insert(polygon, polygons.len());
                polygons.push(Polygon {
                    code: polygon,
                    names: vec![(row.name_th.as_str(), row.name_en.as_str())],
                    area,
                });
            }
        }
    }

    let layer = geometry.shapes.layer(request.level, request.zoom);
    let drawn: Vec<(&welfare_geo::MapFeature, &Polygon)> = layer
        .features
        .iter()
        .filter_map(|f| index.get(f.code.as_str()).map(|&i| (f, &polygons[i])))
        .collect();
    // The classes of the areas drawn: their values decide computed bounds.
    let values: Vec<Decimal> = drawn
        .iter()
        .filter_map(|(_, p)| p.area.value(request.indicator).1)
        .collect();
    let classes = Classes::new(request.indicator, request.classes, &values);
    let properties: Vec<(&welfare_geo::MapFeature, Map<String, Json>)> = drawn
        .iter()
        .map(|(f, p)| (*f, feature_properties(request, &classes, p)))
        .collect();

    let mut meta = Map::new();
    meta.insert("indicator".into(), request.indicator.as_str().into());
    meta.insert("level".into(), request.level.as_str().into());
    meta.insert("period".into(), request.period.to_string().into());
    meta.insert("policy".into(), request.policy.clone().into());
    meta.insert("zoom".into(), request.zoom.into());
    if let Some(w) = &request.within {
        meta.insert("within".into(), w.as_str().into());
    }
    let mut periods = Map::new();
    if let Some((first, latest)) = snapshot.period_span() {
        periods.insert("first".into(), first.to_string().into());
        periods.insert("latest".into(), latest.to_string().into());
    }
    meta.insert("periods".into(), Json::Object(periods));
    meta.insert("snapshot_version".into(), snapshot.version.into());
    meta.insert("classes".into(), request.classes.as_str().into());
    meta.insert(
        "legend".into(),
        serde_json::to_value(classes.legend()).unwrap_or_default(),
    );

    let mut out = Vec::with_capacity(layer.features.len() * 1024);
    write_feature_collection(&mut out, properties.iter().map(|(f, p)| (*f, p)), &meta);
    Encoded::new(out, "application/geo+json")
}

fn feature_properties(request: &MapRequest, classes: &Classes, p: &Polygon) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("code".into(), p.code.into());
    // A polygon several tambons share carries all their names.
    let (name_th, name_en) = if p.names.len() == 1 {
        (p.names[0].0.to_string(), p.names[0].1.to_string())
    } else {
        let th: Vec<&str> = p.names.iter().map(|n| n.0).collect();
        let en: Vec<&str> = p.names.iter().map(|n| n.1).collect();
        (th.join(" / "), en.join(" / "))
    };
    m.insert("name_th".into(), name_th.into());
    m.insert("name_en".into(), name_en.into());
    m.insert("level".into(), request.level.as_str().into());
    if p.code.len() >= 4 {
        m.insert("province_code".into(), p.code[..2].into());
    }
    if p.code.len() >= 6 {
        m.insert("district_code".into(), p.code[..4].into());
    }
    let (state, value) = p.area.value(request.indicator);
    m.insert("state".into(), state.as_str().into());
    if let Some(v) = value {
        m.insert("value".into(), number(v));
        m.insert("class".into(), classes.class_of(v).into());
    }
    let a = &p.area;
    m.insert("population".into(), a.population.into());
    if let Some(members) = a.members.filter(|_| a.state() == AreaState::Value) {
        m.insert("members".into(), members.into());
    }
    if let Some(c) = a.coverage() {
        m.insert("coverage".into(), number(c));
    }
    m.insert("funds".into(), a.funds.into());
    m.insert("funds_reported".into(), a.funds_reported.into());
    if a.funds > 0
        && let Some(r) = a.reporting_rate()
    {
        m.insert("reporting_rate".into(), number(r));
    }
    m.insert("high_risk_funds".into(), a.high_risk_funds.into());
    if a.state() == AreaState::Value {
        // Money as an exact string, as everywhere in the API.
        m.insert("shortfall".into(), a.shortfall.to_string().into());
    }
    m
}
