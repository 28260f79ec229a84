//! The arterial lattice: a jittered grid of ~500 m cells, bent, rotated and crossed by a
//! meandering river, trimmed to an irregular district outline.

use std::f64::consts::TAU;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::geom::{P, dist, lerp};
use crate::mesh::{Mesh, NONE};
use crate::model::{LandUse, RoadKind};
use crate::rng::{Stream, rng_for, uniform};

/// The unit grid size the standard asks for (≈100 m × 100 m).
pub(crate) const TARGET_GRID_M2: f64 = 10_000.0;
const CELL_MIN: f64 = 430.0;
const CELL_MAX: f64 = 570.0;
/// Arterials bend between vertices this far apart.
const CURVE_STEP: f64 = 55.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CellKind {
    Built,
    Park,
    Water,
}

impl CellKind {
    pub fn land_use(self) -> LandUse {
        match self {
            CellKind::Built => LandUse::Built,
            CellKind::Park => LandUse::Park,
            CellKind::Water => LandUse::Water,
        }
    }
}

/// A diagonal road crosses a cell corner to corner.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Diag {
    /// South-west to north-east.
    Rising,
    /// North-west to south-east.
    Falling,
}

#[derive(Clone, Debug)]
struct River {
    v: f64,
    sigma: f64,
    amp: f64,
    len: f64,
    ph1: f64,
    ph2: f64,
}

/// Maps lattice (parameter) coordinates to metres: gentle bends, the river's meander, rotation.
/// Smooth and with small derivatives, so it cannot fold the lattice over itself.
#[derive(Clone, Debug)]
pub(crate) struct Warp {
    cos: f64,
    sin: f64,
    bend_x: (f64, f64, f64),
    bend_y: (f64, f64, f64),
    river: Option<River>,
}

impl Warp {
    pub fn apply(&self, p: P) -> P {
        let [u, v] = p;
        let x = u + self.bend_x.0 * (TAU * v / self.bend_x.1 + self.bend_x.2).sin();
        let mut y = v + self.bend_y.0 * (TAU * u / self.bend_y.1 + self.bend_y.2).sin();
        if let Some(r) = &self.river {
            // Weighted by distance from the river so that far-away streets stay straight; both
            // banks get the same weight to within 1 %, so the river keeps its width.
            let w = (-((v - r.v) / r.sigma).powi(2)).exp();
            let m =
                (TAU * u / r.len + r.ph1).sin() + 0.35 * (TAU * u / (0.43 * r.len) + r.ph2).sin();
            y += w * r.amp * m;
        }
        [self.cos * x - self.sin * y, self.sin * x + self.cos * y]
    }

    /// The lattice's east and north directions in metres (ignoring the bends).
    pub fn axes(&self) -> (P, P) {
        ([self.cos, self.sin], [-self.sin, self.cos])
    }

    /// Undoes the rotation, giving coordinates roughly aligned with the lattice.
    pub fn unrotate(&self, p: P) -> P {
        [
            self.cos * p[0] + self.sin * p[1],
            -self.sin * p[0] + self.cos * p[1],
        ]
    }
}

pub(crate) struct Lattice {
    pub nx: usize,
    pub ny: usize,
    /// Positions of the vertical lattice lines (nx + 1) and horizontal ones (ny + 1).
    pub us: Vec<f64>,
    pub vs: Vec<f64>,
    /// Row index of the river, whose cells are water.
    pub river: Option<usize>,
    /// Row-major, `None` outside the district.
    pub cells: Vec<Option<CellKind>>,
    pub diag: Vec<Option<(Diag, usize)>>,
    pub diagonals: usize,
    /// Per vertical line: whether its arterial crosses the river on a bridge.
    pub bridges: Vec<bool>,
    /// Where the secondary road cuts a cell, as a fraction along its sides, per column / row.
    pub col_frac: Vec<f64>,
    pub row_frac: Vec<f64>,
    /// Parameter-space displacement of each lattice node (row-major over (nx+1)×(ny+1)).
    pub jitter: Vec<P>,
    pub warp: Warp,
}

impl Lattice {
    pub fn cell(&self, i: isize, j: isize) -> Option<CellKind> {
        if i < 0 || j < 0 || i as usize >= self.nx || j as usize >= self.ny {
            return None;
        }
        self.cells[j as usize * self.nx + i as usize]
    }

    pub fn node_id(&self, i: usize, j: usize) -> u32 {
        (j * (self.nx + 1) + i) as u32
    }

    fn node_param(&self, i: usize, j: usize) -> P {
        let d = self.jitter[j * (self.nx + 1) + i];
        [self.us[i] + d[0], self.vs[j] + d[1]]
    }
}

fn cumulative_centred(sizes: &[f64]) -> Vec<f64> {
    let total: f64 = sizes.iter().sum();
    let mut out = Vec::with_capacity(sizes.len() + 1);
    let mut acc = -total / 2.0;
    out.push(acc);
    for s in sizes {
        acc += s;
        out.push(acc);
    }
    out
}

/// Lays out the lattice for about `grids_target` unit grids.
pub(crate) fn plan(seed: u64, grids_target: u32) -> Lattice {
    let mut rng = rng_for(seed, Stream::Layout, 0, 0);
    // Blocks aim at grids 0.85–1.2 × the standard size and open spaces at larger ones, so the
    // mean grid is about 3 % larger than the standard.
    let target_area = f64::from(grids_target) * TARGET_GRID_M2 * 1.03;
    let mean_cell = 500.0 * 500.0;
    let land_cells = (target_area / mean_cell).max(4.0);
    // The blobby outline keeps about 80 % of the bounding lattice.
    let lattice_cells = land_cells / 0.8 + 4.0;
    let ny_land = ((lattice_cells / 1.25).sqrt().round() as usize).max(3);
    let nx = ((lattice_cells / ny_land as f64).ceil() as usize).max(3);
    let widths: Vec<f64> = (0..nx)
        .map(|_| uniform(&mut rng, CELL_MIN, CELL_MAX))
        .collect();
    let land_heights: Vec<f64> = (0..ny_land)
        .map(|_| uniform(&mut rng, CELL_MIN, CELL_MAX))
        .collect();
    let river_h = uniform(&mut rng, 110.0, 150.0);
    let total_w: f64 = widths.iter().sum();

    // --- district outline on the land rows ---
    let land_us = cumulative_centred(&widths);
    let land_vs = cumulative_centred(&land_heights);
    let (hw, hh) = (total_w / 2.0, land_vs[ny_land]);
    let ph: [f64; 3] = [
        rng.random::<f64>() * TAU,
        rng.random::<f64>() * TAU,
        rng.random::<f64>() * TAU,
    ];
    let mut scored: Vec<(f64, usize)> = Vec::with_capacity(nx * ny_land);
    for j in 0..ny_land {
        for i in 0..nx {
            let x = (land_us[i] + land_us[i + 1]) / 2.0 / hw;
            let y = (land_vs[j] + land_vs[j + 1]) / 2.0 / hh;
            let a = y.atan2(x);
            let r = (x.abs().powi(3) + y.abs().powi(3)).cbrt();
            let wobble = 1.0
                + 0.16
                    * (0.6 * (2.0 * a + ph[0]).sin()
                        + 0.4 * (3.0 * a + ph[1]).sin()
                        + 0.25 * (5.0 * a + ph[2]).sin());
            scored.push((r / wobble + uniform(&mut rng, 0.0, 0.03), j * nx + i));
        }
    }
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let river_est = river_h * total_w * 0.8;
    let land_target = (target_area - river_est).max(4.0 * mean_cell);
    let mut land = vec![false; nx * ny_land];
    let mut area = 0.0;
    for &(_, c) in &scored {
        if area >= land_target {
            break;
        }
        land[c] = true;
        area += widths[c % nx] * land_heights[c / nx];
    }
    convexify(&mut land, nx, ny_land);
    keep_largest_component(&mut land, nx, ny_land);

    // --- the river between two land rows that both reach across ---
    let row_range = |land: &[bool], j: usize| -> Option<(usize, usize)> {
        let cols: Vec<usize> = (0..nx).filter(|&i| land[j * nx + i]).collect();
        Some((*cols.first()?, *cols.last()?))
    };
    let lo = (ny_land * 35 / 100).max(1);
    let hi = (ny_land * 65 / 100).clamp(lo, ny_land - 1);
    let r_land = rng.random_range(lo..=hi);
    let river_range = match (row_range(&land, r_land - 1), row_range(&land, r_land)) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        _ => None,
    };
    let ny = ny_land + usize::from(river_range.is_some());
    let river = river_range.map(|_| r_land);
    let mut heights = land_heights.clone();
    if river.is_some() {
        heights.insert(r_land, river_h);
    }
    let us = cumulative_centred(&widths);
    let vs = cumulative_centred(&heights);
    let mut cells = vec![None; nx * ny];
    for j in 0..ny {
        for i in 0..nx {
            cells[j * nx + i] = match (river, river_range) {
                (Some(r), Some((a, b))) if j == r => {
                    (a..=b).contains(&i).then_some(CellKind::Water)
                }
                (Some(r), _) => {
                    let jl = if j > r { j - 1 } else { j };
                    land[jl * nx + i].then_some(CellKind::Built)
                }
                _ => land[j * nx + i].then_some(CellKind::Built),
            };
        }
    }

    let mut lat = Lattice {
        nx,
        ny,
        us,
        vs,
        river,
        cells,
        diag: vec![None; nx * ny],
        diagonals: 0,
        bridges: vec![false; nx + 1],
        col_frac: (0..nx).map(|_| uniform(&mut rng, 0.38, 0.62)).collect(),
        row_frac: (0..ny).map(|_| uniform(&mut rng, 0.38, 0.62)).collect(),
        jitter: Vec::new(),
        warp: Warp {
            cos: 1.0,
            sin: 0.0,
            bend_x: (0.0, 1.0, 0.0),
            bend_y: (0.0, 1.0, 0.0),
            river: None,
        },
    };
    place_parks(&mut lat, &mut rng);
    place_bridges(&mut lat, &mut rng);
    place_diagonals(&mut lat, &mut rng);

    // Bank nodes keep their latitude so the river keeps its width.
    let banks = river.map(|r| (r, r + 1));
    lat.jitter = (0..=ny)
        .flat_map(|j| (0..=nx).map(move |i| (i, j)))
        .map(|(_, j)| {
            let du = uniform(&mut rng, -45.0, 45.0);
            let dv = uniform(&mut rng, -45.0, 45.0);
            match banks {
                Some((a, b)) if j == a || j == b => [du, 0.0],
                _ => [du, dv],
            }
        })
        .collect();

    let theta =
        uniform(&mut rng, 6.0, 18.0).to_radians() * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let bend = |rng: &mut ChaCha8Rng| {
        (
            uniform(rng, 40.0, 110.0),
            uniform(rng, 3500.0, 7000.0),
            rng.random::<f64>() * TAU,
        )
    };
    lat.warp = Warp {
        cos: theta.cos(),
        sin: theta.sin(),
        bend_x: bend(&mut rng),
        bend_y: bend(&mut rng),
        river: river.map(|r| River {
            v: (lat.vs[r] + lat.vs[r + 1]) / 2.0,
            sigma: 900.0,
            amp: uniform(&mut rng, 120.0, 220.0),
            len: uniform(&mut rng, 2500.0, 4500.0),
            ph1: rng.random::<f64>() * TAU,
            ph2: rng.random::<f64>() * TAU,
        }),
    };
    lat
}

/// Makes every row and every column of the mask one contiguous run, so the outline has no
/// inlets a street could not reach and every arterial line is one piece.
fn convexify(mask: &mut [bool], nx: usize, ny: usize) {
    for _ in 0..3 {
        for j in 0..ny {
            let cols: Vec<usize> = (0..nx).filter(|&i| mask[j * nx + i]).collect();
            if let (Some(&a), Some(&b)) = (cols.first(), cols.last()) {
                (a..=b).for_each(|i| mask[j * nx + i] = true);
            }
        }
        for i in 0..nx {
            let rows: Vec<usize> = (0..ny).filter(|&j| mask[j * nx + i]).collect();
            if let (Some(&a), Some(&b)) = (rows.first(), rows.last()) {
                (a..=b).for_each(|j| mask[j * nx + i] = true);
            }
        }
    }
}

fn keep_largest_component(mask: &mut [bool], nx: usize, ny: usize) {
    let mut comp = vec![usize::MAX; mask.len()];
    let mut sizes = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || comp[start] != usize::MAX {
            continue;
        }
        let id = sizes.len();
        let mut stack = vec![start];
        comp[start] = id;
        let mut size = 0;
        while let Some(c) = stack.pop() {
            size += 1;
            let (i, j) = (c % nx, c / nx);
            let mut nbrs = Vec::with_capacity(4);
            if i > 0 {
                nbrs.push(c - 1);
            }
            if i + 1 < nx {
                nbrs.push(c + 1);
            }
            if j > 0 {
                nbrs.push(c - nx);
            }
            if j + 1 < ny {
                nbrs.push(c + nx);
            }
            for n in nbrs {
                if mask[n] && comp[n] == usize::MAX {
                    comp[n] = id;
                    stack.push(n);
                }
            }
        }
        sizes.push(size);
    }
    let best = (0..sizes.len()).max_by_key(|&k| (sizes[k], usize::MAX - k));
    for c in 0..mask.len() {
        if mask[c] && Some(comp[c]) != best {
            mask[c] = false;
        }
    }
}

/// Parks take interior built cells, more often beside the river.
fn place_parks(lat: &mut Lattice, rng: &mut ChaCha8Rng) {
    let (nx, ny) = (lat.nx as isize, lat.ny as isize);
    let mut any = false;
    let mut best: Option<(f64, usize)> = None;
    for j in 0..ny {
        for i in 0..nx {
            if lat.cell(i, j) != Some(CellKind::Built) {
                continue;
            }
            let nbrs = [
                lat.cell(i - 1, j),
                lat.cell(i + 1, j),
                lat.cell(i, j - 1),
                lat.cell(i, j + 1),
            ];
            if nbrs.iter().any(Option::is_none) {
                continue;
            }
            let by_river = nbrs.contains(&Some(CellKind::Water));
            let p = if by_river { 0.15 } else { 0.035 };
            let c = j as usize * lat.nx + i as usize;
            let centrality =
                (i as f64 - nx as f64 / 2.0).abs() + (j as f64 - ny as f64 / 2.0).abs();
            if best.is_none_or(|(b, _)| centrality < b) {
                best = Some((centrality, c));
            }
            if rng.random_bool(p) {
                lat.cells[c] = Some(CellKind::Park);
                any = true;
            }
        }
    }
    // Even a small town has its central park.
    if let (false, Some((_, c))) = (any, best) {
        lat.cells[c] = Some(CellKind::Park);
    }
}

/// Every second or third arterial crosses the river.
fn place_bridges(lat: &mut Lattice, rng: &mut ChaCha8Rng) {
    let Some(r) = lat.river else { return };
    let period = rng.random_range(2..=3usize);
    let offset = rng.random_range(0..period);
    let cols: Vec<usize> = (0..=lat.nx)
        .filter(|&i| {
            lat.cell(i as isize - 1, r as isize).is_some()
                && lat.cell(i as isize, r as isize).is_some()
        })
        .collect();
    for (k, &i) in cols.iter().enumerate() {
        lat.bridges[i] = (k + offset) % period == 0;
    }
}

/// A few diagonal boulevards run through lattice nodes across several built cells.
fn place_diagonals(lat: &mut Lattice, rng: &mut ChaCha8Rng) {
    if lat.nx < 6 {
        return;
    }
    let want = (lat.nx / 9).max(1);
    let mut made = 0;
    for _ in 0..want * 10 {
        if made == want {
            break;
        }
        let i0 = rng.random_range(0..lat.nx) as isize;
        let j0 = rng.random_range(0..lat.ny) as isize;
        // Head for the middle so the road crosses the city rather than skirting it.
        let di: isize = if (i0 as usize) < lat.nx / 2 { 1 } else { -1 };
        let dj: isize = if (j0 as usize) < lat.ny / 2 { 1 } else { -1 };
        let mut path = Vec::new();
        let (mut i, mut j) = (i0, j0);
        while lat.cell(i, j) == Some(CellKind::Built)
            && lat.diag[j as usize * lat.nx + i as usize].is_none()
            && path.len() < 14
        {
            path.push(j as usize * lat.nx + i as usize);
            i += di;
            j += dj;
        }
        if path.len() < 3 {
            continue;
        }
        let kind = if di == dj {
            Diag::Rising
        } else {
            Diag::Falling
        };
        for c in path {
            lat.diag[c] = Some((kind, made));
        }
        made += 1;
    }
    lat.diagonals = made;
}

/// Provisional roads: what a labelled mesh edge belongs to, before paths are split and named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A horizontal (east–west) arterial lattice line; `bank` for the river's embankments.
    HLine {
        bank: bool,
    },
    /// A vertical (north–south) arterial lattice line.
    VLine,
    Secondary,
    Diagonal,
    /// A branch road or lane cut while subdividing a block.
    Cut,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct ProvRoad {
    pub kind: RoadKind,
    pub origin: Origin,
    /// For lanes: the road they branch off, whose name they borrow.
    pub parent: u32,
}

pub(crate) fn new_road(
    roads: &mut Vec<ProvRoad>,
    kind: RoadKind,
    origin: Origin,
    parent: u32,
) -> u32 {
    roads.push(ProvRoad {
        kind,
        origin,
        parent,
    });
    (roads.len() - 1) as u32
}

/// The lattice as a mesh: one face per cell, arterial edges bent through intermediate vertices.
pub(crate) struct Skeleton {
    pub mesh: Mesh,
    /// Vertex ids along each horizontal lattice edge H(i, j) (index j·nx + i), west→east.
    pub h_edges: Vec<Vec<u32>>,
    /// Vertex ids along each vertical lattice edge V(i, j) (index j·(nx+1) + i), south→north.
    pub v_edges: Vec<Vec<u32>>,
    pub cell_face: Vec<u32>,
    pub node_count: u32,
}

impl Skeleton {
    pub fn h_edge(&self, lat: &Lattice, i: usize, j: usize) -> &[u32] {
        &self.h_edges[j * lat.nx + i]
    }

    pub fn v_edge(&self, lat: &Lattice, i: usize, j: usize) -> &[u32] {
        &self.v_edges[j * (lat.nx + 1) + i]
    }

    /// The point at `frac` of a lattice edge's length.
    pub fn point_along(&self, ids: &[u32], frac: f64) -> P {
        let pts: Vec<P> = ids.iter().map(|&v| self.mesh.pt(v)).collect();
        let total: f64 = pts.windows(2).map(|w| dist(w[0], w[1])).sum();
        let mut want = total * frac;
        for w in pts.windows(2) {
            let l = dist(w[0], w[1]);
            if want <= l && l > 0.0 {
                return lerp(w[0], w[1], want / l);
            }
            want -= l;
        }
        pts.last().copied().unwrap_or([0.0, 0.0])
    }
}

pub(crate) fn build_skeleton(lat: &Lattice, roads: &mut Vec<ProvRoad>) -> Skeleton {
    let (nx, ny) = (lat.nx, lat.ny);
    let mut pts: Vec<P> = Vec::new();
    for j in 0..=ny {
        for i in 0..=nx {
            pts.push(lat.warp.apply(lat.node_param(i, j)));
        }
    }
    let node_count = pts.len() as u32;
    let in_mask = |i: isize, j: isize| lat.cell(i, j).is_some();
    let polyline = |pts: &mut Vec<P>, (i0, j0): (usize, usize), (i1, j1): (usize, usize)| {
        let (pa, pb) = (lat.node_param(i0, j0), lat.node_param(i1, j1));
        let n = (dist(pa, pb) / CURVE_STEP).ceil().max(1.0) as usize;
        let mut ids = vec![lat.node_id(i0, j0)];
        for k in 1..n {
            ids.push(pts.len() as u32);
            pts.push(lat.warp.apply(lerp(pa, pb, k as f64 / n as f64)));
        }
        ids.push(lat.node_id(i1, j1));
        ids
    };
    let mut h_edges = vec![Vec::new(); (ny + 1) * nx];
    let mut h_road = vec![NONE; ny + 1];
    for j in 0..=ny {
        for i in 0..nx {
            let (ii, jj) = (i as isize, j as isize);
            if in_mask(ii, jj - 1) || in_mask(ii, jj) {
                h_edges[j * nx + i] = polyline(&mut pts, (i, j), (i + 1, j));
                if h_road[j] == NONE {
                    let bank = lat.river.is_some_and(|r| j == r || j == r + 1);
                    h_road[j] = new_road(roads, RoadKind::Arterial, Origin::HLine { bank }, NONE);
                }
            }
        }
    }
    let mut v_edges = vec![Vec::new(); ny * (nx + 1)];
    let mut v_road = vec![NONE; nx + 1];
    for j in 0..ny {
        for i in 0..=nx {
            let (ii, jj) = (i as isize, j as isize);
            if in_mask(ii - 1, jj) || in_mask(ii, jj) {
                v_edges[j * (nx + 1) + i] = polyline(&mut pts, (i, j), (i, j + 1));
                let over_water = lat.river == Some(j) && !lat.bridges[i];
                if v_road[i] == NONE && !over_water {
                    v_road[i] = new_road(roads, RoadKind::Arterial, Origin::VLine, NONE);
                }
            }
        }
    }
    let v_label = |i: usize, j: usize| {
        if lat.river == Some(j) && !lat.bridges[i] {
            NONE
        } else {
            v_road[i]
        }
    };
    let mut rings = Vec::new();
    let mut cell_face = vec![NONE; nx * ny];
    for j in 0..ny {
        for i in 0..nx {
            let Some(kind) = lat.cell(i as isize, j as isize) else {
                continue;
            };
            let mut ring: Vec<(u32, u32)> = Vec::new();
            let bottom = &h_edges[j * nx + i];
            let right = &v_edges[j * (nx + 1) + i + 1];
            let top = &h_edges[(j + 1) * nx + i];
            let left = &v_edges[j * (nx + 1) + i];
            ring.extend(bottom[..bottom.len() - 1].iter().map(|&v| (v, h_road[j])));
            ring.extend(
                right[..right.len() - 1]
                    .iter()
                    .map(|&v| (v, v_label(i + 1, j))),
            );
            ring.extend(top[1..].iter().rev().map(|&v| (v, h_road[j + 1])));
            ring.extend(left[1..].iter().rev().map(|&v| (v, v_label(i, j))));
            cell_face[j * nx + i] = rings.len() as u32;
            rings.push((ring, kind.land_use()));
        }
    }
    Skeleton {
        mesh: Mesh::from_rings(pts, &rings),
        h_edges,
        v_edges,
        cell_face,
        node_count,
    }
}
