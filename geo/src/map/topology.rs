//! The shared-arc topology: every ring of every level cut at junctions into arcs, each arc stored
//! once however many rings use it.
//!
//! Coordinates are integers in units of 1e-5 degree (the source precision), so that "the same
//! point" is exact equality and every geometric predicate is exact.

use std::collections::{HashMap, HashSet};

use welfare_model::{AreaCode, Level};

use super::MapError;
use crate::bundle::Boundary;

/// A point in units of 1e-5 degree: `[longitude, latitude]`.
pub(crate) type Pt = [i32; 2];

/// Integer units per degree.
pub(crate) const UNITS_PER_DEGREE: f64 = 1e5;

/// The levels a map is drawn at, in the order of [`Topology::levels`].
pub(crate) const LEVELS: [Level; 3] = [Level::Province, Level::District, Level::Subdistrict];

pub(crate) fn level_index(level: Level) -> Option<usize> {
    LEVELS.iter().position(|l| *l == level)
}

/// One arc: a path between two junctions (or a closed loop without any), in its canonical direction.
#[derive(Debug)]
pub(crate) struct Arc {
    pub points: Vec<Pt>,
    /// Douglas–Peucker importance of each point, in units: the point survives a simplification at
    /// tolerance `t` exactly when `importance > t`. End points (and the points a closed loop needs to
    /// stay a triangle) are infinite.
    pub importance: Vec<f64>,
}

impl Arc {
    pub fn is_closed(&self) -> bool {
        self.points.first() == self.points.last()
    }
}

/// A ring's use of an arc.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArcRef {
    pub arc: u32,
    pub reversed: bool,
}

/// A ring as a sequence of arcs; `hole` rings run clockwise, exterior rings counter-clockwise.
#[derive(Debug)]
pub(crate) struct RingTopo {
    pub arcs: Vec<ArcRef>,
    pub hole: bool,
}

/// One polygon (exterior ring first, then holes).
#[derive(Debug)]
pub(crate) struct PolygonTopo {
    pub rings: Vec<RingTopo>,
}

/// One feature of one level.
#[derive(Debug)]
pub(crate) struct FeatureTopo {
    pub code: AreaCode,
    pub polygons: Vec<PolygonTopo>,
}

impl FeatureTopo {
    /// The rings of all polygons, numbered as [`Topology::contains`] numbers them.
    pub fn rings(&self) -> impl Iterator<Item = &RingTopo> {
        self.polygons.iter().flat_map(|p| p.rings.iter())
    }
}

#[derive(Debug)]
pub(crate) struct Topology {
    pub arcs: Vec<Arc>,
    /// Features per level of [`LEVELS`], sorted by code.
    pub levels: [Vec<FeatureTopo>; 3],
    /// `(level, feature, ring a, ring b)` where ring a contains ring b in the source: containment
    /// between rings of one feature must survive simplification.
    pub contains: HashSet<(u8, u32, u32, u32)>,
}

/// The rings of one boundary, parsed: polygons → rings → open rings (no repeated closing point).
type Rings = Vec<Vec<Vec<Pt>>>;

fn to_units(v: f64) -> i32 {
    (v * UNITS_PER_DEGREE).round() as i32
}

/// Twice the signed area of an open ring (positive = counter-clockwise).
pub(crate) fn area2(ring: &[Pt]) -> i128 {
    let n = ring.len();
    let mut sum: i128 = 0;
    for i in 0..n {
        let [x1, y1] = ring[i];
        let [x2, y2] = ring[(i + 1) % n];
        sum += i128::from(x1) * i128::from(y2) - i128::from(x2) * i128::from(y1);
    }
    sum
}

/// Parses and orients one boundary (exteriors counter-clockwise, holes clockwise).
fn parse(boundary: &Boundary) -> Result<Rings, MapError> {
    let bad = |message: String| MapError::BadGeometry {
        level: boundary.level,
        code: boundary.code.clone(),
        message,
    };
    let polygons: Vec<&geojson::PolygonType> = match &boundary.geometry.value {
        geojson::GeometryValue::Polygon { coordinates } => vec![coordinates],
        geojson::GeometryValue::MultiPolygon { coordinates } => coordinates.iter().collect(),
        other => {
            return Err(MapError::NotPolygonal {
                level: boundary.level,
                code: boundary.code.clone(),
                found: other.type_name(),
            });
        }
    };
    if polygons.is_empty() {
        return Err(bad("MultiPolygon without polygons".into()));
    }
    let mut out = Vec::with_capacity(polygons.len());
    for polygon in polygons {
        if polygon.is_empty() {
            return Err(bad("polygon without rings".into()));
        }
        let mut rings = Vec::with_capacity(polygon.len());
        for (r, ring) in polygon.iter().enumerate() {
            let mut points: Vec<Pt> = Vec::with_capacity(ring.len());
            for position in ring {
                let [lon, lat, ..] = position.as_slice() else {
                    return Err(bad("position with fewer than 2 coordinates".into()));
                };
                if !(-180.0..=180.0).contains(lon) || !(-90.0..=90.0).contains(lat) {
                    return Err(bad(format!("position [{lon}, {lat}] is not WGS84")));
                }
                let p = [to_units(*lon), to_units(*lat)];
                if points.last() != Some(&p) {
                    points.push(p);
                }
            }
            if points.len() > 1 && points.first() == points.last() {
                points.pop();
            }
            if points.len() < 3 {
                return Err(bad(format!(
                    "ring {r} has {} distinct positions; a ring needs 3",
                    points.len()
                )));
            }
            let a = area2(&points);
            if a == 0 {
                return Err(bad(format!("ring {r} has zero area")));
            }
            // RFC 7946 right-hand rule: exterior counter-clockwise, holes clockwise.
            if (r == 0) != (a > 0) {
                points.reverse();
            }
            rings.push(points);
        }
        out.push(rings);
    }
    Ok(out)
}

/// Distinct neighbours of a point over all rings; a point with more than two is a junction.
#[derive(Default, Clone, Copy)]
struct Neighbours {
    seen: [Pt; 2],
    count: u8,
}

impl Neighbours {
    fn add(&mut self, p: Pt) {
        let known = &self.seen[..usize::from(self.count.min(2))];
        if self.count > 2 || known.contains(&p) {
            return;
        }
        if self.count < 2 {
            self.seen[usize::from(self.count)] = p;
        }
        self.count += 1;
    }

    fn is_junction(self) -> bool {
        self.count > 2
    }
}

/// Douglas–Peucker importance of each point of an arc (see [`Arc::importance`]).
pub(crate) fn importance(points: &[Pt]) -> Vec<f64> {
    let n = points.len();
    let mut imp = vec![0.0; n];
    imp[0] = f64::INFINITY;
    imp[n - 1] = f64::INFINITY;
    let closed = n > 1 && points[0] == points[n - 1];
    let mut stack: Vec<(usize, usize, f64)> = Vec::new();
    if closed {
        // A loop keeps its start, the point farthest from it and the most important point of the
        // rest, so that it stays a triangle at any tolerance.
        let far = (1..n - 1)
            .max_by(|&a, &b| dist2(points[0], points[a]).total_cmp(&dist2(points[0], points[b])))
            .unwrap_or(0);
        if far == 0 {
            return imp;
        }
        imp[far] = f64::INFINITY;
        dp(points, &mut imp, &mut stack, (0, far, f64::INFINITY));
        dp(points, &mut imp, &mut stack, (far, n - 1, f64::INFINITY));
        let third = (1..n - 1)
            .filter(|&i| i != far)
            .max_by(|&a, &b| imp[a].total_cmp(&imp[b]));
        if let Some(third) = third {
            imp[third] = f64::INFINITY;
        }
    } else {
        dp(points, &mut imp, &mut stack, (0, n - 1, f64::INFINITY));
    }
    imp
}

/// Douglas–Peucker on `points[i..=j]`, recording for each point the tolerance below which it is kept
/// (capped by its parent's, so that the kept sets are nested).
fn dp(
    points: &[Pt],
    imp: &mut [f64],
    stack: &mut Vec<(usize, usize, f64)>,
    start: (usize, usize, f64),
) {
    stack.push(start);
    while let Some((i, j, cap)) = stack.pop() {
        if j <= i + 1 {
            continue;
        }
        let (mut best, mut best_d) = (i + 1, -1.0);
        for k in i + 1..j {
            let d = segment_distance(points[k], points[i], points[j]);
            if d > best_d {
                best = k;
                best_d = d;
            }
        }
        let v = best_d.min(cap);
        imp[best] = v;
        stack.push((i, best, v));
        stack.push((best, j, v));
    }
}

fn dist2(a: Pt, b: Pt) -> f64 {
    let dx = f64::from(a[0]) - f64::from(b[0]);
    let dy = f64::from(a[1]) - f64::from(b[1]);
    dx * dx + dy * dy
}

/// Distance from `p` to the segment `a`–`b`, in units.
fn segment_distance(p: Pt, a: Pt, b: Pt) -> f64 {
    let (px, py) = (f64::from(p[0]), f64::from(p[1]));
    let (ax, ay) = (f64::from(a[0]), f64::from(a[1]));
    let (dx, dy) = (f64::from(b[0]) - ax, f64::from(b[1]) - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (ax + t * dx - px, ay + t * dy - py);
    (qx * qx + qy * qy).sqrt()
}

/// Exact point-in-ring test: `None` when `p` lies on the ring's boundary.
pub(crate) fn point_in_ring(p: Pt, ring: &[Pt]) -> Option<bool> {
    let n = ring.len();
    let mut inside = false;
    let (px, py) = (i64::from(p[0]), i64::from(p[1]));
    for i in 0..n {
        let a = ring[i];
        let b = ring[(i + 1) % n];
        if super::simplify::on_segment(p, a, b) {
            return None;
        }
        let (ax, ay, bx, by) = (
            i64::from(a[0]),
            i64::from(a[1]),
            i64::from(b[0]),
            i64::from(b[1]),
        );
        if (ay > py) != (by > py) {
            // x of the crossing compared with px, without division.
            let lhs = (px - ax) * (by - ay);
            let rhs = (bx - ax) * (py - ay);
            if (by > ay && lhs < rhs) || (by < ay && lhs > rhs) {
                inside = !inside;
            }
        }
    }
    Some(inside)
}

/// Whether ring `outer` contains ring `inner`, judged by the first vertex of `inner` off `outer`.
pub(crate) fn ring_contains(outer: &[Pt], inner: &[Pt]) -> Option<bool> {
    inner.iter().find_map(|&p| point_in_ring(p, outer))
}

pub(crate) fn bbox(ring: &[Pt]) -> [i32; 4] {
    let mut b = [i32::MAX, i32::MAX, i32::MIN, i32::MIN];
    for p in ring {
        b[0] = b[0].min(p[0]);
        b[1] = b[1].min(p[1]);
        b[2] = b[2].max(p[0]);
        b[3] = b[3].max(p[1]);
    }
    b
}

pub(crate) fn bbox_overlap(a: &[i32; 4], b: &[i32; 4]) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

/// Source containment between the rings of one feature (only pairs whose boxes overlap can contain).
fn containment(rings: &[&[Pt]]) -> Vec<(u32, u32)> {
    let boxes: Vec<[i32; 4]> = rings.iter().map(|r| bbox(r)).collect();
    let mut out = Vec::new();
    for (a, outer) in rings.iter().enumerate() {
        for (b, inner) in rings.iter().enumerate() {
            if a != b
                && bbox_overlap(&boxes[a], &boxes[b])
                && ring_contains(outer, inner) == Some(true)
            {
                out.push((a as u32, b as u32));
            }
        }
    }
    out
}

impl Topology {
    pub fn build(boundaries: &[Boundary]) -> Result<Topology, MapError> {
        let mut parsed: [Vec<(AreaCode, Rings)>; 3] = Default::default();
        for b in boundaries {
            let Some(level) = level_index(b.level) else {
                return Err(MapError::UnsupportedLevel {
                    level: b.level,
                    code: b.code.clone(),
                });
            };
            parsed[level].push((b.code.clone(), parse(b)?));
        }
        for (level, features) in parsed.iter_mut().enumerate() {
            features.sort_by(|a, b| a.0.cmp(&b.0));
            if let Some(w) = features.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(MapError::Duplicate {
                    level: LEVELS[level],
                    code: w[0].0.clone(),
                });
            }
        }

        // Junctions: points with more than two distinct neighbours over all rings of all levels.
        let mut neighbours: HashMap<Pt, Neighbours> = HashMap::new();
        for ring in parsed.iter().flatten().flat_map(|f| f.1.iter().flatten()) {
            let n = ring.len();
            for i in 0..n {
                let entry = neighbours.entry(ring[i]).or_default();
                entry.add(ring[(i + n - 1) % n]);
                entry.add(ring[(i + 1) % n]);
            }
        }
        let is_junction = |p: &Pt| neighbours.get(p).is_some_and(|n| n.is_junction());

        let mut arcs: Vec<Arc> = Vec::new();
        let mut index: HashMap<Vec<Pt>, u32> = HashMap::new();
        let mut intern = |mut points: Vec<Pt>| -> ArcRef {
            // Canonical direction, so that neighbours (which run an arc the other way) find it.
            let n = points.len();
            let reversed = points[n - 1] < points[0]
                || (points[0] == points[n - 1] && n > 2 && points[n - 2] < points[1]);
            if reversed {
                points.reverse();
            }
            let arc = *index.entry(points.clone()).or_insert_with(|| {
                arcs.push(Arc {
                    importance: importance(&points),
                    points,
                });
                (arcs.len() - 1) as u32
            });
            ArcRef { arc, reversed }
        };

        let mut levels: [Vec<FeatureTopo>; 3] = Default::default();
        let mut contains = HashSet::new();
        for (level, features) in parsed.iter().enumerate() {
            for (f, (code, polygons)) in features.iter().enumerate() {
                let mut out = Vec::with_capacity(polygons.len());
                for polygon in polygons {
                    let mut rings = Vec::with_capacity(polygon.len());
                    for (r, ring) in polygon.iter().enumerate() {
                        let cuts: Vec<usize> =
                            (0..ring.len()).filter(|&i| is_junction(&ring[i])).collect();
                        let mut refs = Vec::new();
                        if cuts.is_empty() {
                            // A loop without junctions: start it at its smallest point so that
                            // every ring running it finds the same arc.
                            let start = (0..ring.len()).min_by_key(|&i| ring[i]).unwrap_or(0);
                            let mut points: Vec<Pt> = ring[start..]
                                .iter()
                                .chain(&ring[..start])
                                .copied()
                                .collect();
                            points.push(points[0]);
                            refs.push(intern(points));
                        } else {
                            for (k, &from) in cuts.iter().enumerate() {
                                let to = cuts.get(k + 1).copied().unwrap_or(cuts[0] + ring.len());
                                let points: Vec<Pt> =
                                    (from..=to).map(|i| ring[i % ring.len()]).collect();
                                refs.push(intern(points));
                            }
                        }
                        rings.push(RingTopo {
                            arcs: refs,
                            hole: r > 0,
                        });
                    }
                    out.push(PolygonTopo { rings });
                }
                let all: Vec<&[Pt]> = polygons.iter().flatten().map(Vec::as_slice).collect();
                if all.len() > 1 {
                    for (a, b) in containment(&all) {
                        contains.insert((level as u8, f as u32, a, b));
                    }
                }
                levels[level].push(FeatureTopo {
                    code: code.clone(),
                    polygons: out,
                });
            }
        }
        Ok(Topology {
            arcs,
            levels,
            contains,
        })
    }
}
