//! Coverage maps: indicator values joined to simplified boundary polygons, as GeoJSON.
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
use serde::Serialize;
use serde_json::{Map, Value as Json};
use tokio::sync::OnceCell;
use welfare_geo::{MapGeometry, write_feature_collection};
use welfare_model::{AreaCode, Level, Money};
use welfare_queries::indicators::{self, percent, ratio};
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

/// An indicator that can colour a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapIndicator {
    /// Members ÷ population, %.
    Coverage,
    /// Matching-grant shortfall (state + local) under the policy ÷ population, baht per resident.
    ShortfallPerResident,
    /// Share of the area's funds flagged high risk, %.
    HighRiskFunds,
    /// Reports received ÷ reports expected, %.
    ReportingRate,
}

/// One colour class of a legend: values from `min` (inclusive) to `max` (exclusive; `None` is open).
#[derive(Debug, Clone, Serialize)]
pub struct LegendClass {
    pub class: usize,
    pub min: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    pub colour: &'static str,
    pub label_th: String,
    pub label_en: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegendState {
    pub colour: &'static str,
    pub label_th: &'static str,
    pub label_en: &'static str,
}

/// Classes and colours of one indicator, with the colours of the two no-value states.
#[derive(Debug, Clone, Serialize)]
pub struct Legend {
    pub indicator: &'static str,
    pub title_th: &'static str,
    pub title_en: &'static str,
    pub unit: &'static str,
    pub classes: Vec<LegendClass>,
    pub states: HashMap<&'static str, LegendState>,
}

/// Colours shared by every indicator for areas without a value, chosen outside every class ramp.
const NO_FUND: LegendState = LegendState {
    colour: "#d9d9d9",
    label_th: "ไม่มีกองทุน",
    label_en: "No fund",
};
const NO_REPORT: LegendState = LegendState {
    colour: "#f781bf",
    label_th: "ไม่ส่งรายงาน",
    label_en: "No report",
};

impl MapIndicator {
    pub const ALL: [MapIndicator; 4] = [
        MapIndicator::Coverage,
        MapIndicator::ShortfallPerResident,
        MapIndicator::HighRiskFunds,
        MapIndicator::ReportingRate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MapIndicator::Coverage => "coverage",
            MapIndicator::ShortfallPerResident => "shortfall_per_resident",
            MapIndicator::HighRiskFunds => "high_risk_funds",
            MapIndicator::ReportingRate => "reporting_rate",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == text)
    }

    fn titles(self) -> (&'static str, &'static str, &'static str) {
        match self {
            MapIndicator::Coverage => ("สัดส่วนสมาชิกต่อประชากร", "Membership coverage", "%"),
            MapIndicator::ShortfallPerResident => (
                "เงินสมทบที่ยังขาด ต่อประชากร",
                "Matching shortfall per resident",
                "บาท/baht",
            ),
            MapIndicator::HighRiskFunds => (
                "กองทุนความเสี่ยงสูง (% ของกองทุน)",
                "Funds at high risk (% of funds)",
                "%",
            ),
            MapIndicator::ReportingRate => ("อัตราการส่งรายงาน", "Reporting rate", "%"),
        }
    }

    /// Lower bounds of the classes after the first (which starts at 0), and the ramp's colours.
    fn breaks(self) -> (&'static [f64], &'static [&'static str; 5], Option<f64>) {
        const BLUES: [&str; 5] = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"];
        const REDS: [&str; 5] = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];
        const RED_GREEN: [&str; 5] = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"];
        match self {
            MapIndicator::Coverage => (&[20.0, 40.0, 60.0, 80.0], &BLUES, Some(100.0)),
            MapIndicator::ShortfallPerResident => (&[1.0, 2.0, 5.0, 10.0], &REDS, None),
            MapIndicator::HighRiskFunds => (&[10.0, 20.0, 30.0, 50.0], &REDS, Some(100.0)),
            MapIndicator::ReportingRate => (&[50.0, 70.0, 80.0, 90.0], &RED_GREEN, Some(100.0)),
        }
    }

    /// The class of a value: how many class bounds it has reached.
    pub fn class_of(self, value: f64) -> usize {
        self.breaks().0.iter().filter(|b| value >= **b).count()
    }

    pub fn legend(self) -> Legend {
        let (title_th, title_en, unit) = self.titles();
        let (breaks, colours, top) = self.breaks();
        let mut bounds = vec![0.0];
        bounds.extend_from_slice(breaks);
        let number = |v: f64| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v}")
            }
        };
        let classes = bounds
            .iter()
            .enumerate()
            .map(|(i, min)| {
                let max = bounds.get(i + 1).copied();
                let (label_th, label_en) = match (max, top) {
                    (Some(max), _) => {
                        let text = format!("{}–{}", number(*min), number(max));
                        (format!("{text} {unit}"), format!("{text} {unit}"))
                    }
                    (None, Some(top)) => {
                        let text = format!("{}–{}", number(*min), number(top));
                        (format!("{text} {unit} ขึ้นไป"), format!("{text}+ {unit}"))
                    }
                    (None, None) => (
                        format!("{} {unit} ขึ้นไป", number(*min)),
                        format!("{} {unit} or more", number(*min)),
                    ),
                };
                LegendClass {
                    class: i,
                    min: *min,
                    max,
                    colour: colours[i],
                    label_th,
                    label_en,
                }
            })
            .collect();
        Legend {
            indicator: self.as_str(),
            title_th,
            title_en,
            unit,
            classes,
            states: HashMap::from([("no_fund", NO_FUND), ("no_report", NO_REPORT)]),
        }
    }
}

/// The sums a map feature is coloured from: one area, or the tambons drawn with one polygon.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapArea {
    pub population: i64,
    pub members: Option<i64>,
    pub funds: i64,
    pub funds_reported: i64,
    pub expected_reports: i64,
    pub reports: i64,
    pub shortfall: Money,
    pub high_risk_funds: i64,
}

impl MapArea {
    fn of(a: &AreaIndicators) -> Self {
        MapArea {
            population: a.population,
            members: a.members,
            funds: a.funds,
            funds_reported: a.funds_reported,
            expected_reports: a.expected_reports,
            reports: a.reports,
            shortfall: a.matching.shortfall_state + a.matching.shortfall_local,
            high_risk_funds: a.risk.high,
        }
    }

    fn add(&mut self, other: &MapArea) {
        self.population += other.population;
        self.members = match (self.members, other.members) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.funds += other.funds;
        self.funds_reported += other.funds_reported;
        self.expected_reports += other.expected_reports;
        self.reports += other.reports;
        self.shortfall += other.shortfall;
        self.high_risk_funds += other.high_risk_funds;
    }

    pub fn state(&self) -> AreaState {
        AreaState::of(self.funds, self.funds_reported)
    }

    /// Coverage, %, two decimals: the indicators API's own rounding.
    pub fn coverage(&self) -> Option<Decimal> {
        self.members
            .filter(|_| self.state() == AreaState::Value)
            .and_then(|m| percent(m, self.population, 2))
    }

    pub fn reporting_rate(&self) -> Option<Decimal> {
        percent(self.reports, self.expected_reports, 2)
    }

    /// The indicator's value and the state shown when there is none.
    pub fn value(&self, indicator: MapIndicator) -> (AreaState, Option<Decimal>) {
        let state = self.state();
        if state == AreaState::NoFund {
            return (state, None);
        }
        let value = match indicator {
            MapIndicator::Coverage => self.coverage(),
            MapIndicator::ShortfallPerResident if state == AreaState::Value => Some(
                ratio(self.shortfall.decimal(), Decimal::from(self.population), 2)
                    .unwrap_or_default(),
            ),
            MapIndicator::ShortfallPerResident => None,
            // A fund that never reported is flagged high, so funds without reports still count.
            MapIndicator::HighRiskFunds => percent(self.high_risk_funds, self.funds, 2),
            MapIndicator::ReportingRate => self.reporting_rate(),
        };
        match value {
            Some(v) => (AreaState::Value, Some(v)),
            None if state == AreaState::Value => (AreaState::NoReport, None),
            None => (state, None),
        }
    }
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
}

impl MapRequest {
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
/// compressed forms a fifth of that).
const CACHE_BYTES: usize = 256 * 1024 * 1024;

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
    let mut properties: Vec<(&welfare_geo::MapFeature, Map<String, Json>)> =
        Vec::with_capacity(polygons.len());
    for feature in &layer.features {
        let Some(&i) = index.get(feature.code.as_str()) else {
            continue;
        };
        let p = &polygons[i];
        properties.push((feature, feature_properties(request, p)));
    }

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

    let mut out = Vec::with_capacity(layer.features.len() * 1024);
    write_feature_collection(&mut out, properties.iter().map(|(f, p)| (*f, p)), &meta);
    Encoded::new(out, "application/geo+json")
}

fn feature_properties(request: &MapRequest, p: &Polygon) -> Map<String, Json> {
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
        m.insert(
            "class".into(),
            request.indicator.class_of(v.to_f64().unwrap_or(0.0)).into(),
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_legend_bounds() {
        let c = MapIndicator::Coverage;
        assert_eq!(c.class_of(0.0), 0);
        assert_eq!(c.class_of(19.99), 0);
        assert_eq!(c.class_of(20.0), 1);
        assert_eq!(c.class_of(79.99), 3);
        assert_eq!(c.class_of(80.0), 4);
        assert_eq!(c.class_of(140.0), 4);
        let legend = c.legend();
        assert_eq!(legend.classes.len(), 5);
        assert_eq!(legend.classes[0].label_en, "0–20 %");
        assert_eq!(legend.classes[4].label_en, "80–100+ %");
        assert_eq!(legend.classes[4].max, None);
        assert_ne!(
            legend.states["no_fund"].colour,
            legend.states["no_report"].colour
        );
        for i in MapIndicator::ALL {
            let l = i.legend();
            for class in &l.classes {
                assert_ne!(class.colour, NO_FUND.colour);
                assert_ne!(class.colour, NO_REPORT.colour);
            }
            assert_eq!(MapIndicator::parse(i.as_str()), Some(i));
        }
    }

    #[test]
    fn no_fund_no_report_and_zero_stay_apart() {
        let none = MapArea {
            population: 1000,
            ..MapArea::default()
        };
        assert_eq!(
            none.value(MapIndicator::Coverage),
            (AreaState::NoFund, None)
        );
        let silent = MapArea {
            population: 1000,
            funds: 2,
            expected_reports: 2,
            high_risk_funds: 2,
            ..MapArea::default()
        };
        assert_eq!(
            silent.value(MapIndicator::Coverage),
            (AreaState::NoReport, None)
        );
        assert_eq!(
            silent.value(MapIndicator::ShortfallPerResident),
            (AreaState::NoReport, None)
        );
        assert_eq!(
            silent.value(MapIndicator::HighRiskFunds),
            (AreaState::Value, Some(Decimal::ONE_HUNDRED))
        );
        assert_eq!(
            silent.value(MapIndicator::ReportingRate),
            (AreaState::Value, Some(Decimal::ZERO))
        );
        let zero = MapArea {
            population: 1000,
            members: Some(0),
            funds: 1,
            funds_reported: 1,
            expected_reports: 1,
            reports: 1,
            ..MapArea::default()
        };
        assert_eq!(
            zero.value(MapIndicator::Coverage),
            (AreaState::Value, Some(Decimal::ZERO))
        );
    }

    #[test]
    fn shared_polygons_sum_their_tambons() {
        let mut a = MapArea {
            population: 300,
            members: Some(30),
            funds: 1,
            funds_reported: 1,
            expected_reports: 1,
            reports: 1,
            shortfall: Money::from_baht(100),
            high_risk_funds: 0,
        };
        let b = MapArea {
            population: 100,
            members: None,
            funds: 1,
            funds_reported: 0,
            expected_reports: 1,
            reports: 0,
            shortfall: Money::ZERO,
            high_risk_funds: 1,
        };
        a.add(&b);
        assert_eq!(a.coverage(), Some(Decimal::new(750, 2)));
        assert_eq!(
            a.value(MapIndicator::ShortfallPerResident),
            (AreaState::Value, Some(Decimal::new(25, 2)))
        );
        assert_eq!(
            a.value(MapIndicator::HighRiskFunds),
            (AreaState::Value, Some(Decimal::from(50)))
        );
        assert_eq!(
            a.value(MapIndicator::ReportingRate),
            (AreaState::Value, Some(Decimal::from(50)))
        );
    }
}
