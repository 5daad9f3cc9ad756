//! Simplifying and quantising every arc for one zoom, then repairing what that broke.
//!
//! Each arc is simplified once (Douglas–Peucker, end points fixed) and its points are rounded to the
//! zoom's decimals; rings are rebuilt from those arcs, so neighbours stay identical. Simplification
//! and rounding can still make arcs cross or touch, rings collapse or flip, or one ring jump over
//! another; every such problem is found exactly (integer coordinates) and the arcs involved are
//! redone with a smaller tolerance, then with more decimals, until nothing is wrong. At tolerance 0
//! and 5 decimals an arc is its source, which is valid, so this ends.

use std::collections::HashMap;

use super::topology::{
    Pt, RingTopo, Topology, UNITS_PER_DEGREE, area2, bbox, bbox_overlap, ring_contains,
};
use super::zoom_parameters;

/// Source precision: 5 decimals.
const MAX_DECIMALS: u8 = 5;

/// The simplified, quantised arcs of one zoom, each in its canonical direction.
#[derive(Debug)]
pub(crate) struct ZoomArcs {
    pub arcs: Vec<Vec<Pt>>,
    /// Rounds of repair that were needed, and how many arcs they touched (for diagnostics).
    pub rounds: usize,
    pub repaired_arcs: usize,
}

fn quantise(v: i32, decimals: u8) -> i32 {
    let step = 10_i32.pow(u32::from(MAX_DECIMALS - decimals));
    if step == 1 {
        return v;
    }
    (f64::from(v) / f64::from(step)).round() as i32 * step
}

fn orient(a: Pt, b: Pt, c: Pt) -> i64 {
    let (ax, ay) = (i64::from(a[0]), i64::from(a[1]));
    ((i64::from(b[0]) - ax) * (i64::from(c[1]) - ay)
        - (i64::from(b[1]) - ay) * (i64::from(c[0]) - ax))
        .signum()
}

/// `p` lies on the closed segment `a`–`b`.
pub(crate) fn on_segment(p: Pt, a: Pt, b: Pt) -> bool {
    orient(a, b, p) == 0
        && p[0] >= a[0].min(b[0])
        && p[0] <= a[0].max(b[0])
        && p[1] >= a[1].min(b[1])
        && p[1] <= a[1].max(b[1])
}

/// Closed segments `a`–`b` and `c`–`d` have any point in common.
fn segments_meet(a: Pt, b: Pt, c: Pt, d: Pt) -> bool {
    let (o1, o2, o3, o4) = (
        orient(a, b, c),
        orient(a, b, d),
        orient(c, d, a),
        orient(c, d, b),
    );
    if o1 * o2 < 0 && o3 * o4 < 0 {
        return true;
    }
    (o1 == 0 && on_segment(c, a, b))
        || (o2 == 0 && on_segment(d, a, b))
        || (o3 == 0 && on_segment(a, c, d))
        || (o4 == 0 && on_segment(b, c, d))
}

/// Segments `p`–`q1` and `p`–`q2` leave `p` in the same direction (they overlap).
fn same_direction(p: Pt, q1: Pt, q2: Pt) -> bool {
    let dot = (i64::from(q1[0]) - i64::from(p[0])) * (i64::from(q2[0]) - i64::from(p[0]))
        + (i64::from(q1[1]) - i64::from(p[1])) * (i64::from(q2[1]) - i64::from(p[1]));
    orient(p, q1, q2) == 0 && dot > 0
}

/// One segment of a simplified arc.
#[derive(Clone, Copy)]
struct Seg {
    a: Pt,
    b: Pt,
    arc: u32,
    index: u32,
    box_: [i32; 4],
}

pub(crate) fn simplify(topo: &Topology, zoom: u8) -> ZoomArcs {
    let params = zoom_parameters(zoom);
    let n = topo.arcs.len();
    let mut tolerance = vec![params.tolerance_degrees * UNITS_PER_DEGREE; n];
    let mut decimals = vec![params.decimals; n];
    // Arcs that are back at their source and still flagged: never refined further (cannot happen with
    // valid input; it keeps the loop finite with invalid input).
    let mut exhausted = vec![false; n];
    let mut arcs: Vec<Vec<Pt>> = vec![Vec::new(); n];
    let mut dirty = vec![true; n];
    let mut rounds = 0;
    let mut repaired = vec![false; n];
    loop {
        // Junctions are rounded to the finest decimals of the arcs meeting there, the same for all.
        let mut node_decimals: HashMap<Pt, u8> = HashMap::new();
        for (arc, &d) in topo.arcs.iter().zip(&decimals) {
            for p in [arc.points[0], arc.points[arc.points.len() - 1]] {
                let e = node_decimals.entry(p).or_insert(d);
                *e = (*e).max(d);
            }
        }
        for (i, arc) in topo.arcs.iter().enumerate() {
            let last = arc.points.len() - 1;
            let mut out: Vec<Pt> = Vec::new();
            for (k, (p, imp)) in arc.points.iter().zip(&arc.importance).enumerate() {
                if *imp <= tolerance[i] {
                    continue;
                }
                let d = if k == 0 || k == last {
                    node_decimals[p]
                } else {
                    decimals[i]
                };
                let q = [quantise(p[0], d), quantise(p[1], d)];
                if out.last() != Some(&q) {
                    out.push(q);
                }
            }
            if out != arcs[i] {
                arcs[i] = out;
                dirty[i] = true;
            }
        }

        let mut flagged = vec![false; n];
        check_arcs(topo, &arcs, &dirty, &mut flagged);
        check_rings(topo, &arcs, &mut flagged);

        let mut any = false;
        for i in 0..n {
            dirty[i] = false;
            if !flagged[i] || exhausted[i] {
                continue;
            }
            any = true;
            repaired[i] = true;
            dirty[i] = true;
            let step = 10_f64.powi(i32::from(MAX_DECIMALS - decimals[i]));
            if tolerance[i] > step {
                // Below one rounding step a smaller tolerance changes little: add decimals instead.
                tolerance[i] = (tolerance[i] / 4.0).max(step);
            } else if decimals[i] < MAX_DECIMALS {
                decimals[i] += 1;
                tolerance[i] = tolerance[i].min(step / 10.0);
            } else if tolerance[i] > 0.0 {
                tolerance[i] = 0.0;
            } else {
                exhausted[i] = true;
            }
        }
        rounds += 1;
        if !any {
            break;
        }
    }
    ZoomArcs {
        arcs,
        rounds,
        repaired_arcs: repaired.iter().filter(|r| **r).count(),
    }
}

/// Flags arcs that cross or touch other arcs (or themselves) anywhere but at a shared junction.
fn check_arcs(topo: &Topology, arcs: &[Vec<Pt>], dirty: &[bool], flagged: &mut [bool]) {
    let mut segs: Vec<Seg> = Vec::new();
    for (i, points) in arcs.iter().enumerate() {
        let source = &topo.arcs[i].points;
        if points.len() < 2 {
            // Both ends rounded onto one point: the arc vanished, its junctions merged.
            if source[0] != source[source.len() - 1] {
                flagged[i] = true;
            }
            continue;
        }
        for (k, w) in points.windows(2).enumerate() {
            segs.push(Seg {
                a: w[0],
                b: w[1],
                arc: i as u32,
                index: k as u32,
                box_: [
                    w[0][0].min(w[1][0]),
                    w[0][1].min(w[1][1]),
                    w[0][0].max(w[1][0]),
                    w[0][1].max(w[1][1]),
                ],
            });
        }
    }
    if segs.is_empty() {
        return;
    }
    // A uniform grid: each segment is listed in every cell its box covers.
    let mut world = [i32::MAX, i32::MAX, i32::MIN, i32::MIN];
    let mut total_len = 0.0;
    for s in &segs {
        world[0] = world[0].min(s.box_[0]);
        world[1] = world[1].min(s.box_[1]);
        world[2] = world[2].max(s.box_[2]);
        world[3] = world[3].max(s.box_[3]);
        total_len += f64::from(s.box_[2] - s.box_[0]) + f64::from(s.box_[3] - s.box_[1]);
    }
    let (w, h) = (
        f64::from(world[2] - world[0]) + 1.0,
        f64::from(world[3] - world[1]) + 1.0,
    );
    let cell = (total_len / segs.len() as f64)
        .max((w * h / segs.len() as f64).sqrt())
        .max(1.0);
    let nx = ((w / cell).ceil() as usize).max(1);
    let ny = ((h / cell).ceil() as usize).max(1);
    let cx = |x: i32| ((f64::from(x - world[0]) / cell) as usize).min(nx - 1);
    let cy = |y: i32| ((f64::from(y - world[1]) / cell) as usize).min(ny - 1);
    let mut start = vec![0_u32; nx * ny + 1];
    for s in &segs {
        for y in cy(s.box_[1])..=cy(s.box_[3]) {
            for x in cx(s.box_[0])..=cx(s.box_[2]) {
                start[y * nx + x + 1] += 1;
            }
        }
    }
    for i in 0..nx * ny {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut cells = vec![0_u32; start[nx * ny] as usize];
    for (k, s) in segs.iter().enumerate() {
        for y in cy(s.box_[1])..=cy(s.box_[3]) {
            for x in cx(s.box_[0])..=cx(s.box_[2]) {
                cells[fill[y * nx + x] as usize] = k as u32;
                fill[y * nx + x] += 1;
            }
        }
    }
    for c in 0..nx * ny {
        let list = &cells[start[c] as usize..start[c + 1] as usize];
        for (i, &si) in list.iter().enumerate() {
            let s = &segs[si as usize];
            for &ti in &list[i + 1..] {
                let t = &segs[ti as usize];
                if !(dirty[s.arc as usize] || dirty[t.arc as usize])
                    || !bbox_overlap(&s.box_, &t.box_)
                {
                    continue;
                }
                // Each pair once: in the cell holding the corner of their boxes' overlap.
                let corner = cy(s.box_[1].max(t.box_[1])) * nx + cx(s.box_[0].max(t.box_[0]));
                if corner != c {
                    continue;
                }
                if pair_conflicts(topo, arcs, s, t) {
                    flagged[s.arc as usize] = true;
                    flagged[t.arc as usize] = true;
                }
            }
        }
    }
}

/// Whether two segments of the simplified arcs meet where they must not.
fn pair_conflicts(topo: &Topology, arcs: &[Vec<Pt>], s: &Seg, t: &Seg) -> bool {
    let shared: Vec<Pt> = [s.a, s.b]
        .into_iter()
        .filter(|p| *p == t.a || *p == t.b)
        .collect();
    match shared.as_slice() {
        [] => segments_meet(s.a, s.b, t.a, t.b),
        [p] => {
            let p = *p;
            let other = |g: &Seg| if g.a == p { g.b } else { g.a };
            if same_direction(p, other(s), other(t)) {
                return true;
            }
            let last = |g: &Seg| arcs[g.arc as usize].len() as u32 - 2;
            let consecutive = s.arc == t.arc
                && (s.index.abs_diff(t.index) == 1
                    || (topo.arcs[s.arc as usize].is_closed()
                        && ((s.index == 0 && t.index == last(t))
                            || (t.index == 0 && s.index == last(s)))));
            if consecutive {
                return false;
            }
            // Otherwise only a junction may be shared: the same source junction, at an end of both.
            let junction = |g: &Seg| {
                let source = &topo.arcs[g.arc as usize].points;
                if g.a == p && g.index == 0 {
                    Some(source[0])
                } else if g.b == p && g.index == last(g) {
                    Some(source[source.len() - 1])
                } else {
                    None
                }
            };
            match (junction(s), junction(t)) {
                (Some(x), Some(y)) => x != y,
                _ => true,
            }
        }
        _ => true,
    }
}

/// Assembles a ring from simplified arcs (open: the closing point is not repeated).
pub(crate) fn ring_points(arcs: &[Vec<Pt>], ring: &RingTopo) -> Vec<Pt> {
    let mut out: Vec<Pt> = Vec::new();
    for r in &ring.arcs {
        let points = &arcs[r.arc as usize];
        let mut push = |p: &Pt| {
            if out.last() != Some(p) {
                out.push(*p);
            }
        };
        if r.reversed {
            points.iter().rev().for_each(&mut push);
        } else {
            points.iter().for_each(&mut push);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

/// Flags the arcs of rings that collapsed, flipped, pinched or changed containment.
fn check_rings(topo: &Topology, arcs: &[Vec<Pt>], flagged: &mut [bool]) {
    let flag_ring = |ring: &RingTopo, flagged: &mut [bool]| {
        for r in &ring.arcs {
            flagged[r.arc as usize] = true;
        }
    };
    for (level, features) in topo.levels.iter().enumerate() {
        for (f, feature) in features.iter().enumerate() {
            let rings: Vec<&RingTopo> = feature.rings().collect();
            let points: Vec<Vec<Pt>> = rings.iter().map(|r| ring_points(arcs, r)).collect();
            for (ring, pts) in rings.iter().zip(&points) {
                let mut sorted = pts.clone();
                sorted.sort_unstable();
                sorted.dedup();
                let a = area2(pts);
                let pinched = sorted.len() != pts.len();
                if pts.len() < 3 || pinched || a == 0 || (a > 0) == ring.hole {
                    flag_ring(ring, flagged);
                }
            }
            if rings.len() < 2 {
                continue;
            }
            let boxes: Vec<[i32; 4]> = points.iter().map(|p| bbox(p)).collect();
            for a in 0..rings.len() {
                for b in 0..rings.len() {
                    if a == b || points[a].len() < 3 || points[b].len() < 3 {
                        continue;
                    }
                    let now = bbox_overlap(&boxes[a], &boxes[b])
                        && ring_contains(&points[a], &points[b]) == Some(true);
                    let was = topo
                        .contains
                        .contains(&(level as u8, f as u32, a as u32, b as u32));
                    if now != was {
                        flag_ring(rings[a], flagged);
                        flag_ring(rings[b], flagged);
                    }
                }
            }
        }
    }
}
