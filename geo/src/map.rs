//! Map geometry for the maps API: every boundary of every level simplified per zoom on a shared-arc
//! topology, so neighbours (and a province and the tambons along its border) keep identical borders
//! at every zoom, and written as RFC 7946 GeoJSON quickly.
//!
//! [`MapGeometry::build`] cuts all rings of the three levels at their junctions into arcs, each stored
//! once. [`MapGeometry::layer`] simplifies every arc once for a zoom (Douglas–Peucker with its end
//! points fixed), rounds it to the zoom's decimals, repairs whatever that made invalid (see
//! `simplify`), and keeps the features with their geometry already serialised.
//! [`write_feature_collection`] then only glues strings together.

mod simplify;
mod topology;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io::Write;
use std::ops::RangeInclusive;
use std::sync::OnceLock;

use welfare_model::{AreaCode, Level};

use crate::bundle::Boundary;
use simplify::{ZoomArcs, ring_points};
use topology::{LEVELS, Pt, Topology, level_index};

/// Zooms with a layer of their own; others are clamped into this range.
const MIN_ZOOM: u8 = 4;
const MAX_ZOOM: u8 = 12;
const ZOOMS: usize = (MAX_ZOOM - MIN_ZOOM + 1) as usize;

/// Input geometry the map topology cannot use.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("boundary {level} {code}: geometry is a {found}, not a Polygon or MultiPolygon")]
    NotPolygonal {
        level: Level,
        code: AreaCode,
        found: &'static str,
    },
    #[error("boundary {level} {code}: {message}")]
    BadGeometry {
        level: Level,
        code: AreaCode,
        message: String,
    },
    #[error(
        "boundary {code}: maps are drawn at province, district and subdistrict level, not {level}"
    )]
    UnsupportedLevel { level: Level, code: AreaCode },
    #[error("boundary {level} {code} appears twice")]
    Duplicate { level: Level, code: AreaCode },
}

/// How one zoom is simplified and rounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZoomParameters {
    /// Douglas–Peucker tolerance in degrees: half a Web Mercator pixel at this zoom
    /// (`0.5 * 360 / (256 * 2^zoom)`), so simplification is invisible on screen. The pixel is measured
    /// in degrees of longitude; at Thailand's latitudes (6–20°N) a degree of latitude is at most 6 %
    /// larger on screen, well inside the half-pixel margin.
    pub tolerance_degrees: f64,
    /// Decimals kept: the fewest whose step is at most a quarter pixel (`10^-d <= pixel / 4`), at most
    /// 5 (the source precision).
    pub decimals: u8,
}

/// The simplification tolerance and decimals of a zoom (clamped into [`MapGeometry::zoom_range`]).
pub fn zoom_parameters(zoom: u8) -> ZoomParameters {
    let zoom = zoom.clamp(MIN_ZOOM, MAX_ZOOM);
    let pixel = 360.0 / (256.0 * f64::from(1_u32 << zoom));
    let mut decimals = 0;
    while decimals < 5 && 10_f64.powi(-i32::from(decimals)) > pixel / 4.0 {
        decimals += 1;
    }
    ZoomParameters {
        tolerance_degrees: pixel / 2.0,
        decimals,
    }
}

/// The map geometry of all levels, built once at hub start; layers are computed on first use and
/// kept. `Send + Sync`: share it behind an `Arc`.
pub struct MapGeometry {
    topology: Topology,
    zooms: [OnceLock<ZoomArcs>; ZOOMS],
    layers: [[OnceLock<MapLayer>; ZOOMS]; 3],
}

impl fmt::Debug for MapGeometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapGeometry")
            .field("arcs", &self.topology.arcs.len())
            .field(
                "features",
                &self
                    .topology
                    .levels
                    .iter()
                    .map(Vec::len)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The features of one level at one zoom.
#[derive(Debug, Default)]
pub struct MapLayer {
    /// In code order; `features[i].id == i`.
    pub features: Vec<MapFeature>,
}

/// One polygon feature of a layer.
#[derive(Debug, Clone)]
pub struct MapFeature {
    /// Index in code order within the level: the same at every zoom, for MapLibre feature-state.
    pub id: u32,
    /// The polygon's code (for tambons the bundle's `geom_code`).
    pub code: AreaCode,
    /// West, south, east, north of the simplified geometry.
    pub bbox: [f64; 4],
    /// The RFC 7946 geometry object (`Polygon` or `MultiPolygon`), already serialised.
    pub geometry_json: String,
}

static EMPTY_LAYER: MapLayer = MapLayer {
    features: Vec::new(),
};

impl MapGeometry {
    /// Builds the shared-arc topology from the boundaries of all three levels at once, so a province
    /// border is made of the same arcs as the tambon borders along it. Fails on a geometry that is
    /// not a Polygon or MultiPolygon, a degenerate ring, a level other than province, district or
    /// subdistrict, or a code given twice in one level.
    pub fn build(boundaries: &[Boundary]) -> Result<MapGeometry, MapError> {
        Ok(MapGeometry {
            topology: Topology::build(boundaries)?,
            zooms: Default::default(),
            layers: Default::default(),
        })
    }

    /// The zooms that have layers of their own; [`MapGeometry::layer`] clamps other zooms into it.
    pub fn zoom_range() -> RangeInclusive<u8> {
        MIN_ZOOM..=MAX_ZOOM
    }

    /// The features of one level at one zoom (simplified and rounded), computed on the first call for
    /// that level and zoom and kept, so repeated calls are free. Levels without polygons (country,
    /// region) have an empty layer.
    pub fn layer(&self, level: Level, zoom: u8) -> &MapLayer {
        let Some(level) = level_index(level) else {
            return &EMPTY_LAYER;
        };
        let z = usize::from(zoom.clamp(MIN_ZOOM, MAX_ZOOM) - MIN_ZOOM);
        self.layers[level][z].get_or_init(|| {
            let arcs = self.zoom_arcs(z);
            MapLayer {
                features: self.topology.levels[level]
                    .iter()
                    .enumerate()
                    .map(|(id, f)| feature(id as u32, f, &arcs.arcs))
                    .collect(),
            }
        })
    }

    /// The simplified arcs of a zoom, shared by the three levels.
    fn zoom_arcs(&self, z: usize) -> &ZoomArcs {
        self.zooms[z].get_or_init(|| simplify::simplify(&self.topology, MIN_ZOOM + z as u8))
    }

    /// Rounds of repair a zoom needed and the number of arcs repaired (diagnostics).
    pub fn repair_stats(&self, zoom: u8) -> (usize, usize) {
        let z = usize::from(zoom.clamp(MIN_ZOOM, MAX_ZOOM) - MIN_ZOOM);
        let arcs = self.zoom_arcs(z);
        (arcs.rounds, arcs.repaired_arcs)
    }

    /// The levels that have layers.
    pub fn levels() -> [Level; 3] {
        LEVELS
    }
}

/// Builds one feature from the zoom's arcs.
fn feature(id: u32, f: &topology::FeatureTopo, arcs: &[Vec<Pt>]) -> MapFeature {
    let mut b = [i32::MAX, i32::MAX, i32::MIN, i32::MIN];
    let mut json = String::with_capacity(256);
    let multi = f.polygons.len() > 1;
    json.push_str(if multi {
        r#"{"type":"MultiPolygon","coordinates":["#
    } else {
        r#"{"type":"Polygon","coordinates":"#
    });
    for (i, polygon) in f.polygons.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push('[');
        for (r, ring) in polygon.rings.iter().enumerate() {
            if r > 0 {
                json.push(',');
            }
            let points = ring_points(arcs, ring);
            json.push('[');
            for p in points.iter().chain(points.first()) {
                b[0] = b[0].min(p[0]);
                b[1] = b[1].min(p[1]);
                b[2] = b[2].max(p[0]);
                b[3] = b[3].max(p[1]);
                json.push('[');
                push_units(&mut json, p[0]);
                json.push(',');
                push_units(&mut json, p[1]);
                json.push_str("],");
            }
            json.pop();
            json.push(']');
        }
        json.push(']');
    }
    json.push_str(if multi { "]}" } else { "}" });
    MapFeature {
        id,
        code: f.code.clone(),
        bbox: b.map(|v| f64::from(v) / topology::UNITS_PER_DEGREE),
        geometry_json: json,
    }
}

/// Writes a coordinate in 1e-5 degree units as a decimal without trailing zeros (exact, no float
/// formatting).
fn push_units(out: &mut String, v: i32) {
    use fmt::Write as _;
    if v < 0 {
        out.push('-');
    }
    let a = v.unsigned_abs();
    let (int, mut frac) = (a / 100_000, a % 100_000);
    let _ = write!(out, "{int}");
    if frac == 0 {
        return;
    }
    let mut digits = 5;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    let _ = write!(out, ".{frac:0digits$}");
}

/// Writes an RFC 7946 FeatureCollection: `"type"`, then `"bbox"` over the features written, then the
/// caller's foreign members (e.g. `"indicator"`, `"period"`; members named `type`, `bbox` or
/// `features` are skipped, they would clash), then `"features"`, each
/// `{"type":"Feature","id":…,"bbox":[…],"properties":{…},"geometry":…}`. The geometry strings are
/// appended as they are, which keeps a whole-country tambon layer fast.
pub fn write_feature_collection<'a>(
    out: &mut Vec<u8>,
    features: impl IntoIterator<
        Item = (
            &'a MapFeature,
            &'a serde_json::Map<String, serde_json::Value>,
        ),
    >,
    foreign_members: &serde_json::Map<String, serde_json::Value>,
) {
    // The collection's bbox comes first, so the features are gathered before writing.
    let features: Vec<_> = features.into_iter().collect();
    let mut bbox = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (f, _) in &features {
        bbox[0] = bbox[0].min(f.bbox[0]);
        bbox[1] = bbox[1].min(f.bbox[1]);
        bbox[2] = bbox[2].max(f.bbox[2]);
        bbox[3] = bbox[3].max(f.bbox[3]);
    }
    out.reserve(
        features
            .iter()
            .map(|(f, _)| f.geometry_json.len() + 256)
            .sum(),
    );
    out.extend_from_slice(br#"{"type":"FeatureCollection""#);
    if !features.is_empty() {
        out.extend_from_slice(br#","bbox":"#);
        write_bbox(out, &bbox);
    }
    for (key, value) in foreign_members {
        if matches!(key.as_str(), "type" | "bbox" | "features") {
            continue;
        }
        out.push(b',');
        // Writing JSON into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, value);
    }
    out.extend_from_slice(br#","features":["#);
    for (i, (f, properties)) in features.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(out, r#"{{"type":"Feature","id":{},"bbox":"#, f.id);
        write_bbox(out, &f.bbox);
        out.extend_from_slice(br#","properties":"#);
        let _ = serde_json::to_writer(&mut *out, properties);
        out.extend_from_slice(br#","geometry":"#);
        out.extend_from_slice(f.geometry_json.as_bytes());
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

fn write_bbox(out: &mut Vec<u8>, b: &[f64; 4]) {
    let _ = write!(out, "[{},{},{},{}]", b[0], b[1], b[2], b[3]);
}
