//! Map geometry against the real Thailand bundle. Every check reads the written GeoJSON back, so it
//! tests what a client receives, independently of the arc bookkeeping.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::{Map, Value, json};
use welfare_model::Level;

use super::*;
use crate::bundle::Bundle;

fn bundle_dir() -> String {
    std::env::var("WELFARE_HUB_GEOGRAPHY").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/thailand").to_string()
    })
}

/// The bundle and its map geometry, built once for all tests.
fn fixture() -> &'static (Bundle, MapGeometry) {
    static FIXTURE: OnceLock<(Bundle, MapGeometry)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let bundle = Bundle::load(bundle_dir()).unwrap();
        let started = Instant::now();
        let map = MapGeometry::build(&bundle.boundaries).unwrap();
        eprintln!(
            "MapGeometry::build: {:.2?} ({} arcs)",
            started.elapsed(),
            map.topology.arcs.len()
        );
        (bundle, map)
    })
}

/// A layer, timing its first computation.
fn layer(map: &MapGeometry, level: Level, zoom: u8) -> &MapLayer {
    let started = Instant::now();
    let layer = map.layer(level, zoom);
    let took = started.elapsed();
    if took.as_millis() > 50 {
        let (rounds, repaired) = map.repair_stats(zoom);
        eprintln!(
            "layer({level}, {zoom}): {took:.2?} (zoom's arcs: {rounds} rounds, {repaired} arcs repaired)"
        );
    }
    layer
}

type P = [i64; 2];
/// Polygons → closed rings → points.
type Geometry = Vec<Vec<Vec<P>>>;

/// A geometry read back as polygons → closed rings, in 1e-5 degree units.
fn read_geometry(json: &str) -> Geometry {
    let v: Value = serde_json::from_str(json).unwrap();
    let ring = |r: &Value| -> Vec<P> {
        r.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let c = p.as_array().unwrap();
                assert_eq!(c.len(), 2);
                [
                    (c[0].as_f64().unwrap() * 1e5).round() as i64,
                    (c[1].as_f64().unwrap() * 1e5).round() as i64,
                ]
            })
            .collect()
    };
    let polygon = |p: &Value| -> Vec<Vec<P>> { p.as_array().unwrap().iter().map(ring).collect() };
    match v["type"].as_str().unwrap() {
        "Polygon" => vec![polygon(&v["coordinates"])],
        "MultiPolygon" => v["coordinates"]
            .as_array()
            .unwrap()
            .iter()
            .map(polygon)
            .collect(),
        other => panic!("geometry type {other}"),
    }
}

/// Twice the signed area of a closed ring.
fn area2(ring: &[P]) -> i128 {
    ring.windows(2)
        .map(|w| {
            i128::from(w[0][0]) * i128::from(w[1][1]) - i128::from(w[1][0]) * i128::from(w[0][1])
        })
        .sum()
}

fn cross(a: P, b: P, c: P) -> i64 {
    ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])).signum()
}

fn within(p: P, a: P, b: P) -> bool {
    cross(a, b, p) == 0
        && (a[0].min(b[0])..=a[0].max(b[0])).contains(&p[0])
        && (a[1].min(b[1])..=a[1].max(b[1])).contains(&p[1])
}

/// Strictly inside a closed ring (false on its boundary).
fn strictly_inside(p: P, ring: &[P]) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if within(p, a, b) {
            return false;
        }
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x =
                a[0] as f64 + (p[1] - a[1]) as f64 * (b[0] - a[0]) as f64 / (b[1] - a[1]) as f64;
            if (p[0] as f64) < x {
                inside = !inside;
            }
        }
    }
    inside
}

/// Everything wrong with one feature's geometry: ring structure, winding, and any crossing or
/// touching of its segments other than consecutive segments of a ring or a shared vertex of two
/// different rings.
fn problems(geometry: &[Vec<Vec<P>>]) -> Vec<String> {
    let mut out = Vec::new();
    // (a, b, ring number, segment number, ring length in segments)
    let mut segs: Vec<(P, P, usize, usize, usize)> = Vec::new();
    let mut ring_no = 0;
    for (pi, polygon) in geometry.iter().enumerate() {
        for (ri, ring) in polygon.iter().enumerate() {
            if ring.len() < 4 {
                out.push(format!("polygon {pi} ring {ri}: {} positions", ring.len()));
            }
            if ring.first() != ring.last() {
                out.push(format!("polygon {pi} ring {ri}: not closed"));
            }
            let a = area2(ring);
            if a == 0 || (ri == 0) != (a > 0) {
                out.push(format!(
                    "polygon {pi} ring {ri}: wrong winding or zero area ({a})"
                ));
            }
            for (k, w) in ring.windows(2).enumerate() {
                if w[0] == w[1] {
                    out.push(format!("polygon {pi} ring {ri}: repeated position"));
                }
                segs.push((w[0], w[1], ring_no, k, ring.len() - 1));
            }
            ring_no += 1;
        }
        // Holes inside the exterior.
        for (ri, hole) in polygon.iter().enumerate().skip(1) {
            if !hole.iter().any(|p| strictly_inside(*p, &polygon[0])) {
                out.push(format!("polygon {pi} hole {ri} is not inside its exterior"));
            }
        }
    }
    // Parts of a MultiPolygon: no vertex of one strictly inside another, unless in one of its holes.
    for (i, a) in geometry.iter().enumerate() {
        for (j, b) in geometry.iter().enumerate() {
            if i != j
                && b[0].iter().any(|p| {
                    strictly_inside(*p, &a[0])
                        && !a[1..]
                            .iter()
                            .any(|h| strictly_inside(*p, h) || h.contains(p))
                })
            {
                out.push(format!("polygon {j} lies inside polygon {i}"));
            }
        }
    }
    segs.sort_by_key(|s| s.0[0].min(s.1[0]));
    for (i, s) in segs.iter().enumerate() {
        let max_x = s.0[0].max(s.1[0]);
        for t in &segs[i + 1..] {
            if t.0[0].min(t.1[0]) > max_x {
                break;
            }
            let same_ring = s.2 == t.2;
            let adjacent = same_ring && (s.3.abs_diff(t.3) == 1 || s.3.abs_diff(t.3) == s.4 - 1);
            let shared: Vec<P> = [s.0, s.1]
                .into_iter()
                .filter(|p| *p == t.0 || *p == t.1)
                .collect();
            let bad = match shared.len() {
                0 => {
                    let (o1, o2, o3, o4) = (
                        cross(s.0, s.1, t.0),
                        cross(s.0, s.1, t.1),
                        cross(t.0, t.1, s.0),
                        cross(t.0, t.1, s.1),
                    );
                    (o1 * o2 < 0 && o3 * o4 < 0)
                        || within(t.0, s.0, s.1)
                        || within(t.1, s.0, s.1)
                        || within(s.0, t.0, t.1)
                        || within(s.1, t.0, t.1)
                }
                1 => {
                    let p = shared[0];
                    let q1 = if s.0 == p { s.1 } else { s.0 };
                    let q2 = if t.0 == p { t.1 } else { t.0 };
                    let overlap = cross(p, q1, q2) == 0
                        && (q1[0] - p[0]) * (q2[0] - p[0]) + (q1[1] - p[1]) * (q2[1] - p[1]) > 0;
                    overlap || (same_ring && !adjacent)
                }
                _ => true,
            };
            if bad {
                out.push(format!(
                    "segments {:?}-{:?} and {:?}-{:?} meet",
                    s.0, s.1, t.0, t.1
                ));
                if out.len() > 5 {
                    return out;
                }
            }
        }
    }
    out
}

/// Twice the area of a feature (holes subtracted).
fn feature_area2(geometry: &[Vec<Vec<P>>]) -> i128 {
    geometry.iter().flatten().map(|r| area2(r)).sum()
}

#[test]
fn zoom_table() {
    let table: Vec<(u8, u8)> = MapGeometry::zoom_range()
        .map(|z| (z, zoom_parameters(z).decimals))
        .collect();
    eprintln!("zoom → tolerance (degrees), decimals");
    for z in MapGeometry::zoom_range() {
        let p = zoom_parameters(z);
        eprintln!("  {z:>2}  {:.6}  {}", p.tolerance_degrees, p.decimals);
    }
    assert_eq!(
        table,
        [
            (4, 2),
            (5, 2),
            (6, 3),
            (7, 3),
            (8, 3),
            (9, 4),
            (10, 4),
            (11, 4),
            (12, 5)
        ]
    );
    assert!((zoom_parameters(4).tolerance_degrees - 360.0 / 4096.0 / 2.0).abs() < 1e-12);
    // Zooms outside the range are clamped.
    assert_eq!(zoom_parameters(0), zoom_parameters(4));
    assert_eq!(zoom_parameters(20), zoom_parameters(12));
    assert_eq!(MapGeometry::zoom_range(), 4..=12);
}

#[test]
fn coordinates_are_written_exactly() {
    let mut s = String::new();
    for v in [10_052_000, -10_052_000, 1, -1, 0, 1_350_012, 100_000] {
        push_units(&mut s, v);
        s.push(' ');
    }
    assert_eq!(s, "100.52 -100.52 0.00001 -0.00001 0 13.50012 1 ");
}

#[test]
fn non_polygon_geometry_is_refused_by_code() {
    let boundary = Boundary {
        level: Level::Province,
        code: AreaCode::parse("10").unwrap(),
        geometry: geojson::Geometry::new(geojson::GeometryValue::new_point([100.5, 13.7])),
    };
    let err = MapGeometry::build(&[boundary]).unwrap_err();
    assert!(
        matches!(&err, MapError::NotPolygonal { code, found: "Point", .. } if code.as_str() == "10")
    );
    assert!(err.to_string().contains("10"), "{err}");
}

#[test]
fn small_shared_border_stays_shared() {
    // Two squares sharing a wiggly border, and a province made of both: the border is one arc.
    let square = |code: &str, level: Level, ring: Vec<[f64; 2]>| Boundary {
        level,
        code: AreaCode::parse(code).unwrap(),
        geometry: geojson::Geometry::new(geojson::GeometryValue::new_polygon(vec![ring])),
    };
    let west = vec![
        [100.0, 13.0],
        [100.5, 13.0],
        [100.51, 13.5],
        [100.5, 14.0],
        [100.0, 14.0],
        [100.0, 13.0],
    ];
    let east = vec![
        [100.5, 13.0],
        [101.0, 13.0],
        [101.0, 14.0],
        [100.5, 14.0],
        [100.51, 13.5],
        [100.5, 13.0],
    ];
    let whole = vec![
        [100.0, 13.0],
        [100.5, 13.0],
        [101.0, 13.0],
        [101.0, 14.0],
        [100.5, 14.0],
        [100.0, 14.0],
        [100.0, 13.0],
    ];
    let map = MapGeometry::build(&[
        square("100101", Level::Subdistrict, west),
        square("100102", Level::Subdistrict, east),
        square("10", Level::Province, whole),
    ])
    .unwrap();
    for zoom in MapGeometry::zoom_range() {
        let tambons = map.layer(Level::Subdistrict, zoom);
        let province = map.layer(Level::Province, zoom);
        let a: i128 = tambons
            .features
            .iter()
            .map(|f| feature_area2(&read_geometry(&f.geometry_json)))
            .sum();
        let b = feature_area2(&read_geometry(&province.features[0].geometry_json));
        assert_eq!(a, b, "zoom {zoom}");
        for f in tambons.features.iter().chain(&province.features) {
            let problems = problems(&read_geometry(&f.geometry_json));
            assert!(problems.is_empty(), "zoom {zoom} {}: {problems:?}", f.code);
        }
    }
    assert!(map.layer(Level::Country, 4).features.is_empty());
}

#[test]
fn every_feature_is_valid_and_wound_at_every_zoom() {
    let (_, map) = fixture();
    let mut failures = Vec::new();
    for zoom in MapGeometry::zoom_range() {
        for level in MapGeometry::levels() {
            let layer = layer(map, level, zoom);
            for f in &layer.features {
                let geometry = read_geometry(&f.geometry_json);
                for p in problems(&geometry) {
                    failures.push(format!("zoom {zoom} {level} {}: {p}", f.code));
                }
                // The bbox is that of the written coordinates.
                let points: Vec<P> = geometry.iter().flatten().flatten().copied().collect();
                let b = [
                    points.iter().map(|p| p[0]).min().unwrap(),
                    points.iter().map(|p| p[1]).min().unwrap(),
                    points.iter().map(|p| p[0]).max().unwrap(),
                    points.iter().map(|p| p[1]).max().unwrap(),
                ];
                assert_eq!(b, f.bbox.map(|v| (v * 1e5).round() as i64), "{}", f.code);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures[..failures.len().min(30)].join("\n")
    );
}

#[test]
fn neighbours_share_borders_without_gaps_or_overlaps() {
    let (_, map) = fixture();
    for zoom in MapGeometry::zoom_range() {
        let geometries = |level: Level| -> Vec<(String, Geometry)> {
            map.layer(level, zoom)
                .features
                .iter()
                .map(|f| (f.code.as_str().to_string(), read_geometry(&f.geometry_json)))
                .collect()
        };
        let tambons = geometries(Level::Subdistrict);
        let districts = geometries(Level::District);
        let provinces = geometries(Level::Province);

        // Directed edges: every edge of a tambon is used once, and its reverse either by exactly one
        // neighbour or (on the country's outline) by none.
        let edges = |layer: &[(String, Geometry)]| -> HashMap<(P, P), usize> {
            let mut edges = HashMap::new();
            for (_, g) in layer {
                for ring in g.iter().flatten() {
                    for w in ring.windows(2) {
                        *edges.entry((w[0], w[1])).or_insert(0) += 1;
                    }
                }
            }
            edges
        };
        let t_edges = edges(&tambons);
        let p_edges = edges(&provinces);
        let d_edges = edges(&districts);
        assert!(
            t_edges.values().all(|n| *n == 1),
            "zoom {zoom}: an edge is drawn twice the same way"
        );
        let outline = |e: &HashMap<(P, P), usize>| -> HashSet<(P, P)> {
            e.keys()
                .filter(|(a, b)| !e.contains_key(&(*b, *a)))
                .copied()
                .collect()
        };
        // Province and district borders are made of tambon edges, run the same way.
        assert!(
            p_edges.keys().all(|e| t_edges.contains_key(e)),
            "zoom {zoom}: province edge not a tambon edge"
        );
        assert!(
            d_edges.keys().all(|e| t_edges.contains_key(e)),
            "zoom {zoom}: district edge not a tambon edge"
        );
        // The outline (edges nobody shares) is the same for every level: no gaps inside.
        let t_outline = outline(&t_edges);
        assert_eq!(t_outline, outline(&p_edges), "zoom {zoom}");
        assert_eq!(t_outline, outline(&d_edges), "zoom {zoom}");

        // Areas: exact, since the coordinates are shared.
        let mut by_province: BTreeMap<&str, i128> = BTreeMap::new();
        for (code, g) in &tambons {
            *by_province.entry(&code[..2]).or_default() += feature_area2(g);
        }
        let mut district_by_province: BTreeMap<&str, i128> = BTreeMap::new();
        for (code, g) in &districts {
            *district_by_province.entry(&code[..2]).or_default() += feature_area2(g);
        }
        let province_areas: BTreeMap<&str, i128> = provinces
            .iter()
            .map(|(c, g)| (c.as_str(), feature_area2(g)))
            .collect();
        assert_eq!(
            by_province, province_areas,
            "zoom {zoom}: tambon areas by province"
        );
        assert_eq!(
            district_by_province, province_areas,
            "zoom {zoom}: district areas by province"
        );
        let total: i128 = province_areas.values().sum();
        assert_eq!(by_province.values().sum::<i128>(), total);
        // And the total is close to the source's (about 513,000 km² ≈ 42.6 square degrees).
        let degrees2 = total as f64 / 2.0 / 1e10;
        assert!((40.0..45.0).contains(&degrees2), "zoom {zoom}: {degrees2}");
    }
}

#[test]
fn ids_are_stable_across_zooms() {
    fn shared_between_threads<T: Send + Sync>() {}
    shared_between_threads::<MapGeometry>();
    let (bundle, map) = fixture();
    for level in MapGeometry::levels() {
        let codes: Vec<&AreaCode> = {
            let mut c: Vec<&AreaCode> = bundle
                .boundaries
                .iter()
                .filter(|b| b.level == level)
                .map(|b| &b.code)
                .collect();
            c.sort();
            c
        };
        for zoom in [4, 8, 12] {
            let layer = map.layer(level, zoom);
            assert_eq!(
                layer.features.len(),
                codes.len(),
                "{level} zoom {zoom}: every feature kept"
            );
            for (i, f) in layer.features.iter().enumerate() {
                assert_eq!(f.id, i as u32);
                assert_eq!(&f.code, codes[i]);
            }
        }
        // Clamped zooms give the very same layer.
        assert!(std::ptr::eq(map.layer(level, 1), map.layer(level, 4)));
        assert!(std::ptr::eq(map.layer(level, 18), map.layer(level, 12)));
    }
    assert_eq!(map.layer(Level::Subdistrict, 4).features.len(), 7425);
    assert_eq!(map.layer(Level::District, 4).features.len(), 928);
    assert_eq!(map.layer(Level::Province, 4).features.len(), 77);
}

fn gzip(data: &[u8]) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap().len()
}

/// Properties like the maps API sends (about 150 bytes a feature).
fn properties(bundle: &Bundle, level: Level, layer: &MapLayer) -> Vec<Map<String, Value>> {
    let areas: HashMap<&AreaCode, &crate::bundle::Area> = bundle
        .areas
        .iter()
        .filter(|a| a.level == level)
        .map(|a| (&a.geom_code, a))
        .collect();
    layer
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let area = areas[&f.code];
            let code = f.code.as_str();
            let value = (i * 7919 % 1000) as f64 / 10.0;
            json!({
                "code": code,
                "name_th": area.name_th,
                "name_en": area.name_en,
                "level": level.as_str(),
                "province_code": &code[..2],
                "district_code": if code.len() >= 4 { Value::from(&code[..4]) } else { Value::Null },
                "value": value,
                "class": (value / 20.0) as u32,
                "state": "ok",
            })
            .as_object()
            .unwrap()
            .clone()
        })
        .collect()
}

#[test]
fn payloads_fit_their_budgets() {
    let (bundle, map) = fixture();
    let foreign = json!({"indicator": "coverage", "period": "2024-06"})
        .as_object()
        .unwrap()
        .clone();
    for level in [Level::Subdistrict, Level::District, Level::Province] {
        for zoom in MapGeometry::zoom_range() {
            let layer = layer(map, level, zoom);
            let props = properties(bundle, level, layer);
            let mut out = Vec::new();
            let started = Instant::now();
            write_feature_collection(&mut out, layer.features.iter().zip(&props), &foreign);
            let took = started.elapsed();
            let gz = gzip(&out);
            eprintln!(
                "{level:<11} zoom {zoom:>2}: {:>9} bytes raw, {:>8} gzipped, written in {took:.2?}",
                out.len(),
                gz
            );
            if zoom == 4 {
                let budget = match level {
                    Level::Subdistrict => 1_500_000,
                    Level::Province => 150_000,
                    _ => usize::MAX,
                };
                assert!(gz <= budget, "{level} zoom 4: {gz} bytes gzipped");
            }
            // How long writing takes is the maps benchmark's to measure (hub/benches/maps.rs,
            // uncached tambon maps against 300 ms), not a test's: a loaded machine fails a timed test.
        }
    }
}

#[test]
fn feature_collection_is_rfc7946() {
    let (bundle, map) = fixture();
    let layer = map.layer(Level::Province, 6);
    let props = properties(bundle, Level::Province, layer);
    let foreign = json!({"indicator": "coverage", "period": "2024-06", "type": "ignored"})
        .as_object()
        .unwrap()
        .clone();
    let mut out = Vec::new();
    write_feature_collection(
        &mut out,
        layer.features.iter().zip(&props).take(3),
        &foreign,
    );
    let text = String::from_utf8(out).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(
        text.starts_with(r#"{"type":"FeatureCollection","bbox":["#),
        "{}",
        &text[..80]
    );
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["type", "bbox", "indicator", "period", "features"]);
    assert_eq!(v["type"], "FeatureCollection");
    let features = v["features"].as_array().unwrap();
    assert_eq!(features.len(), 3);
    let bbox: Vec<f64> = v["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    for (f, mf) in features.iter().zip(&layer.features) {
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["id"], mf.id);
        assert_eq!(f["properties"]["code"], mf.code.as_str());
        let fb: Vec<f64> = f["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(fb, mf.bbox.to_vec());
        assert!(bbox[0] <= fb[0] && bbox[1] <= fb[1] && bbox[2] >= fb[2] && bbox[3] >= fb[3]);
        let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
        assert!(matches!(
            g.value,
            geojson::GeometryValue::Polygon { .. } | geojson::GeometryValue::MultiPolygon { .. }
        ));
    }
    // Bangkok (10) is first in code order; its bbox is around 100.3–100.95 E, 13.5–14 N.
    assert_eq!(features[0]["properties"]["code"], "10");
    assert!(
        (100.0..100.6).contains(&bbox[0]) && (13.3..13.7).contains(&bbox[1]),
        "{bbox:?}"
    );
    // An empty collection is still valid.
    let mut out = Vec::new();
    write_feature_collection(&mut out, std::iter::empty(), &Map::new());
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"type":"FeatureCollection","features":[]}"#
    );
}

#[test]
fn tambons_do_not_overlap() {
    // Shared edges and equal areas do not rule out one tambon (an island, say) being swept over by
    // another's simplified border without any crossing: no vertex may lie strictly inside another
    // tambon.
    let (_, map) = fixture();
    for zoom in MapGeometry::zoom_range() {
        let layer = map.layer(Level::Subdistrict, zoom);
        let features: Vec<(Geometry, [i64; 4])> = layer
            .features
            .iter()
            .map(|f| {
                (
                    read_geometry(&f.geometry_json),
                    f.bbox.map(|v| (v * 1e5).round() as i64),
                )
            })
            .collect();
        let mut order: Vec<usize> = (0..features.len()).collect();
        order.sort_by_key(|&i| features[i].1[0]);
        let mut overlaps = Vec::new();
        for (k, &a) in order.iter().enumerate() {
            let ba = features[a].1;
            for &b in &order[k + 1..] {
                let bb = features[b].1;
                if bb[0] > ba[2] {
                    break;
                }
                if bb[1] > ba[3] || ba[1] > bb[3] {
                    continue;
                }
                for (x, y) in [(a, b), (b, a)] {
                    let inside = features[y].0.iter().flatten().flatten().any(|p| {
                        features[x].0.iter().any(|polygon| {
                            strictly_inside(*p, &polygon[0])
                                && !polygon[1..]
                                    .iter()
                                    .any(|h| strictly_inside(*p, h) || h.contains(p))
                        })
                    });
                    if inside {
                        overlaps.push((
                            layer.features[y].code.clone(),
                            layer.features[x].code.clone(),
                        ));
                    }
                }
            }
        }
        assert!(
            overlaps.is_empty(),
            "zoom {zoom}: vertices of one tambon inside another: {overlaps:?}"
        );
    }
}
