//! Cuts the lattice cells into blocks (secondary roads, diagonals) and the blocks into unit
//! grids (branch roads, lanes and plain grid boundaries).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::geom::{P, area_below, dist, dot, lerp, moments, perimeter, ring_area, rotate};
use crate::layout::{
    CellKind, Diag, Lattice, Origin, ProvRoad, Skeleton, TARGET_GRID_M2, new_road,
};
use crate::mesh::{Mesh, NONE, OnBoundary};
use crate::model::{LandUse, RoadKind};
use crate::rng::{Stream, rng_for, uniform};

/// Cut ends closer than this to an existing vertex reuse it: no slivers, and cuts from both
/// sides of a road meet in one junction.
const SNAP: f64 = 3.0;

/// Provisional ids of the roads that run through many cells, created when first cut.
struct LineRoads {
    /// Per column: the north–south secondary road.
    sec_v: Vec<u32>,
    /// Per row: the east–west secondary road.
    sec_h: Vec<u32>,
    diag: Vec<u32>,
}

fn road_id(slot: &mut u32, roads: &mut Vec<ProvRoad>, kind: RoadKind, origin: Origin) -> u32 {
    if *slot == NONE {
        *slot = new_road(roads, kind, origin, NONE);
    }
    *slot
}

/// Secondary roads and diagonals: every cell becomes one to four blocks (the units that
/// communities are assembled from).
pub(crate) fn cut_cells(sk: &mut Skeleton, lat: &Lattice, roads: &mut Vec<ProvRoad>, seed: u64) {
    let mut ids = LineRoads {
        sec_v: vec![NONE; lat.nx],
        sec_h: vec![NONE; lat.ny],
        diag: vec![NONE; lat.diagonals],
    };
    for j in 0..lat.ny {
        for i in 0..lat.nx {
            cut_cell(sk, lat, roads, &mut ids, (i, j), seed);
        }
    }
}

fn cut_cell(
    sk: &mut Skeleton,
    lat: &Lattice,
    roads: &mut Vec<ProvRoad>,
    ids: &mut LineRoads,
    (i, j): (usize, usize),
    seed: u64,
) {
    let c = j * lat.nx + i;
    if lat.cells[c] != Some(CellKind::Built) {
        return;
    }
    let face = sk.cell_face[c];
    let mut rng = rng_for(seed, Stream::Cell, i as u64, j as u64);
    if let Some((d, k)) = lat.diag[c] {
        let road = road_id(
            &mut ids.diag[k],
            roads,
            RoadKind::Arterial,
            Origin::Diagonal,
        );
        // Corner to corner, so consecutive cells' pieces meet at lattice nodes.
        let (a, b) = match d {
            Diag::Rising => (lat.node_id(i, j), lat.node_id(i + 1, j + 1)),
            Diag::Falling => (lat.node_id(i, j + 1), lat.node_id(i + 1, j)),
        };
        let (pa, pb) = (sk.mesh.pt(a), sk.mesh.pt(b));
        sk.mesh.cut(face, pa, pb, road, 0.01);
        return;
    }
    let ns = rng.random_bool(0.8);
    let ew = rng.random_bool(0.8);
    // Both neighbours compute the same point on a shared side (same polyline, same fraction),
    // so the second finds the first's vertex and the road continues straight across.
    let mut chord: Option<(P, P, u32)> = None;
    if ns {
        let pn = sk.point_along(sk.h_edge(lat, i, j + 1), lat.col_frac[i]);
        let ps = sk.point_along(sk.h_edge(lat, i, j), lat.col_frac[i]);
        let road = road_id(
            &mut ids.sec_v[i],
            roads,
            RoadKind::Secondary,
            Origin::Secondary,
        );
        if let Some(nf) = sk.mesh.cut(face, pn, ps, road, SNAP) {
            // The ends may have snapped; the east–west road must meet the real chord.
            let e = sk.mesh.faces[nf as usize].edge;
            let twin = sk.mesh.e(e).twin;
            let (a, b) = (
                sk.mesh.pt(sk.mesh.e(e).origin),
                sk.mesh.pt(sk.mesh.e(twin).origin),
            );
            chord = Some((a, b, nf));
        }
    }
    if !ew {
        return;
    }
    let pw = sk.point_along(sk.v_edge(lat, i, j), lat.row_frac[j]);
    let pe = sk.point_along(sk.v_edge(lat, i + 1, j), lat.row_frac[j]);
    let road = road_id(
        &mut ids.sec_h[j],
        roads,
        RoadKind::Secondary,
        Origin::Secondary,
    );
    let Some((a, b, nf)) = chord else {
        sk.mesh.cut(face, pw, pe, road, SNAP);
        return;
    };
    // Crossing the north–south road: cut each half up to the crossing point.
    let Some(x) = crate::geom::seg_intersection(pw, pe, a, b) else {
        return;
    };
    for f in [face, nf] {
        for (p, q) in [(pw, x), (x, pe)] {
            let on_p = sk.mesh.locate_on_boundary(f, p, 0.5, SNAP).is_some();
            let on_q = sk.mesh.locate_on_boundary(f, q, 0.5, SNAP).is_some();
            if on_p && on_q {
                sk.mesh.cut(f, p, q, road, SNAP);
                break;
            }
        }
    }
}

/// Cuts every face into unit grids of about 10 000 m².
pub(crate) fn subdivide_all(mesh: &mut Mesh, roads: &mut Vec<ProvRoad>, axes: (P, P), seed: u64) {
    let units = mesh.faces.len() as u32;
    let mut work = Work::default();
    for f0 in 0..units {
        let mut rng = rng_for(seed, Stream::Subdivide, u64::from(f0), 0);
        // Grids vary from block to block, and open spaces (parks, water) are patrolled in
        // larger grids than streets of houses.
        work.target = TARGET_GRID_M2
            * match mesh.faces[f0 as usize].land {
                LandUse::Built => uniform(&mut rng, 0.85, 1.2),
                LandUse::Park | LandUse::Water => uniform(&mut rng, 1.3, 1.7),
            };
        let mut stack = vec![f0];
        while let Some(f) = stack.pop() {
            if let Some(nf) = split_once(mesh, roads, f, axes, &mut rng, &mut work) {
                stack.push(f);
                stack.push(nf);
            }
        }
    }
}

#[derive(Default)]
struct Work {
    /// Grid size aimed at in the current block, m².
    target: f64,
    hes: Vec<u32>,
    pts: Vec<P>,
    scratch: Vec<P>,
    ext: Vec<P>,
}

/// Splits face f into two pieces holding whole numbers of target-sized grids, if it is big
/// enough. Returns the new face.
fn split_once(
    mesh: &mut Mesh,
    roads: &mut Vec<ProvRoad>,
    f: u32,
    axes: (P, P),
    rng: &mut ChaCha8Rng,
    w: &mut Work,
) -> Option<u32> {
    mesh.ring_points(f, &mut w.hes, &mut w.pts);
    let area = ring_area(&w.pts);
    let n = (area / w.target).round() as usize;
    if n <= 1 {
        return None;
    }
    let (c, sxx, syy, sxy) = moments(&w.pts);
    let half = ((sxx - syy) / 2.0).hypot(sxy);
    let (l1, l2) = ((sxx + syy) / 2.0 + half, (sxx + syy) / 2.0 - half);
    // Cut across the long axis; near-square blocks follow the street lattice instead, so that
    // cuts stay parallel to the surrounding roads.
    let major = if l1 > 1.6 * l2.max(1e-9) {
        let t = 0.5 * (2.0 * sxy).atan2(sxx - syy);
        [t.cos(), t.sin()]
    } else {
        let extent = |d: P| {
            let (lo, hi) = w.pts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
                let s = dot(*p, d);
                (lo.min(s), hi.max(s))
            });
            hi - lo
        };
        if extent(axes.0) >= extent(axes.1) {
            axes.0
        } else {
            axes.1
        }
    };
    let land = mesh.faces[f as usize].land;
    let k1 = n / 2;
    for attempt in 0..8 {
        let jitter = if attempt < 6 {
            uniform(rng, -0.2, 0.2)
        } else {
            0.0
        };
        let nrm = rotate(major, jitter);
        let mut frac = k1 as f64 / n as f64;
        if attempt < 6 {
            frac = (frac * uniform(rng, 0.9, 1.1)).clamp(0.15, 0.85);
        }
        let o = offset_for_area(&w.pts, nrm, frac * area, &mut w.scratch, c);
        let Some((a, b)) = plan_cut(mesh, &w.hes, &w.pts, nrm, o) else {
            continue;
        };
        if !mesh.chord_ok(a, b) {
            continue;
        }
        let Some((a1, a2, ok)) = children_ok(&w.hes, &w.pts, a, b, area, w.target, &mut w.ext)
        else {
            continue;
        };
        let want_min = area * frac.min(1.0 - frac) * 0.55;
        if !ok || a1.min(a2) < want_min {
            continue;
        }
        let road = pick_road(mesh, roads, land, area, a, b, rng);
        let ha = mesh.realize(a);
        let hb = mesh.realize(b);
        return Some(mesh.split_face(ha, hb, road));
    }
    None
}

/// Branch roads cut the large blocks, lanes some of the smaller ones; the rest of the grid
/// boundaries are walls and fences, not roads.
fn pick_road(
    mesh: &Mesh,
    roads: &mut Vec<ProvRoad>,
    land: LandUse,
    area: f64,
    a: OnBoundary,
    b: OnBoundary,
    rng: &mut ChaCha8Rng,
) -> u32 {
    if land != LandUse::Built {
        return NONE;
    }
    if area > 45_000.0 && rng.random_bool(0.75) {
        return new_road(roads, RoadKind::Branch, Origin::Cut, NONE);
    }
    if area > 18_000.0 && rng.random_bool(0.3) {
        let road_at = |p: OnBoundary| match p {
            OnBoundary::Inside(h, _) => mesh.e(h).road,
            OnBoundary::Vertex(h) => {
                let r = mesh.e(h).road;
                if r != NONE {
                    r
                } else {
                    mesh.e(mesh.e(h).prev).road
                }
            }
        };
        let parent = if road_at(a) != NONE {
            road_at(a)
        } else {
            road_at(b)
        };
        return new_road(roads, RoadKind::Lane, Origin::Cut, parent);
    }
    NONE
}

/// The offset o along nrm where the part of the ring with dot(p, nrm) <= o has `want` area.
fn offset_for_area(pts: &[P], nrm: P, want: f64, scratch: &mut Vec<P>, c: P) -> f64 {
    let (mut lo, mut hi) = pts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        let s = dot(*p, nrm);
        (lo.min(s), hi.max(s))
    });
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return dot(c, nrm);
    }
    for _ in 0..30 {
        let mid = (lo + hi) / 2.0;
        if area_below(pts, nrm, mid, scratch) < want {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// Where the line dot(p, nrm) = o crosses the ring; only lines crossing exactly twice are used.
fn plan_cut(
    mesh: &Mesh,
    hes: &[u32],
    pts: &[P],
    nrm: P,
    o: f64,
) -> Option<(OnBoundary, OnBoundary)> {
    let n = pts.len();
    let mut found: [Option<OnBoundary>; 2] = [None, None];
    let mut count = 0;
    for k in 0..n {
        let (a, b) = (pts[k], pts[(k + 1) % n]);
        let (sa, sb) = (dot(a, nrm) - o, dot(b, nrm) - o);
        if (sa < 0.0) == (sb < 0.0) {
            continue;
        }
        if count == 2 {
            return None;
        }
        let x = lerp(a, b, sa / (sa - sb));
        let at = if dist(x, a) <= SNAP && dist(x, a) <= dist(x, b) {
            OnBoundary::Vertex(hes[k])
        } else if dist(x, b) <= SNAP {
            OnBoundary::Vertex(mesh.e(hes[k]).next)
        } else {
            OnBoundary::Inside(hes[k], x)
        };
        found[count] = Some(at);
        count += 1;
    }
    Some((found[0]?, found[1]?))
}

/// Areas of the two pieces a chord would make, and whether both are reasonably compact.
fn children_ok(
    hes: &[u32],
    pts: &[P],
    a: OnBoundary,
    b: OnBoundary,
    area: f64,
    target: f64,
    ext: &mut Vec<P>,
) -> Option<(f64, f64, bool)> {
    ext.clear();
    let (mut ia, mut ib) = (None, None);
    for (k, &h) in hes.iter().enumerate() {
        for (which, p) in [(0, a), (1, b)] {
            if p == OnBoundary::Vertex(h) {
                if which == 0 {
                    ia = Some(ext.len())
                } else {
                    ib = Some(ext.len())
                }
            }
        }
        ext.push(pts[k]);
        for (which, p) in [(0, a), (1, b)] {
            if let OnBoundary::Inside(hh, x) = p
                && hh == h
            {
                if which == 0 {
                    ia = Some(ext.len())
                } else {
                    ib = Some(ext.len())
                }
                ext.push(x);
            }
        }
    }
    let (ia, ib) = (ia?, ib?);
    let (lo, hi) = (ia.min(ib), ia.max(ib));
    let first: Vec<P> = ext[lo..=hi].to_vec();
    let second: Vec<P> = ext[hi..].iter().chain(ext[..=lo].iter()).copied().collect();
    if first.len() < 3 || second.len() < 3 {
        return None;
    }
    let (a1, a2) = (ring_area(&first), ring_area(&second));
    if a1 <= 0.0 || a2 <= 0.0 || (a1 + a2 - area).abs() > area * 1e-6 + 1.0 {
        // A chord that leaves the face (only possible on non-convex faces).
        return Some((a1, a2, false));
    }
    let compact = |ring: &[P], a: f64| {
        let p = perimeter(ring);
        let c = 4.0 * std::f64::consts::PI * a / (p * p);
        // Pieces that will be cut again may be elongated; final grids must not be slivers.
        if a < 1.5 * target {
            c >= 0.3
        } else {
            c >= 0.12
        }
    };
    Some((a1, a2, compact(&first, a1) && compact(&second, a2)))
}
