//! Finds the grid containing a point beside a road without searching the whole city: the
//! candidates are the grid on that side of the road edge, then the grids around its two ends.
//! Built from the public `City` data alone (grids share exact vertex coordinates), so that
//! [`crate::components`] works on a city that was stored and loaded again.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use geo_types::Coord;
use rand::Rng;

use crate::geom::{P, add, dist, mul, sub};
use crate::mesh::NONE;
use crate::model::{GridShape, Road, RoadKind};
use crate::proj::LocalProjection;

/// A multiply-rotate hasher (FxHash): the keys are coordinate bits and vertex ids, never
/// attacker-controlled, and SipHash would dominate the lookup cost.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(buf));
        }
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

#[inline]
fn key(c: Coord<f64>) -> (u64, u64) {
    (c.x.to_bits(), c.y.to_bits())
}

pub(crate) struct Locator<'a> {
    grids: &'a [GridShape],
    vertex: HashMap<(u64, u64), u32, FxBuild>,
    /// Directed edge (a, b) → the grid on its left, i.e. whose counter-clockwise ring has it.
    left: HashMap<(u32, u32), u32, FxBuild>,
    around_start: Vec<u32>,
    around: Vec<u32>,
}

impl<'a> Locator<'a> {
    pub fn new(grids: &'a [GridShape]) -> Self {
        let n_est = grids.len() * 8;
        let mut vertex: HashMap<(u64, u64), u32, FxBuild> =
            HashMap::with_capacity_and_hasher(n_est / 2, FxBuild::default());
        let mut left: HashMap<(u32, u32), u32, FxBuild> =
            HashMap::with_capacity_and_hasher(n_est, FxBuild::default());
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(n_est);
        let mut ids = Vec::new();
        for (g, grid) in grids.iter().enumerate() {
            let ring = &grid.polygon.exterior().0;
            ids.clear();
            for c in ring.iter().take(ring.len().saturating_sub(1)) {
                let next = vertex.len() as u32;
                let id = *vertex.entry(key(*c)).or_insert(next);
                ids.push(id);
                pairs.push((id, g as u32));
            }
            for k in 0..ids.len() {
                left.insert((ids[k], ids[(k + 1) % ids.len()]), g as u32);
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut around_start = vec![0u32; vertex.len() + 1];
        for &(v, _) in &pairs {
            around_start[v as usize + 1] += 1;
        }
        for v in 0..vertex.len() {
            around_start[v + 1] += around_start[v];
        }
        let around = pairs.iter().map(|p| p.1).collect();
        Locator {
            grids,
            vertex,
            left,
            around_start,
            around,
        }
    }

    pub fn vertex_of(&self, c: Coord<f64>) -> u32 {
        self.vertex.get(&key(c)).copied().unwrap_or(NONE)
    }

    pub fn vertex_count(&self) -> usize {
        self.vertex.len()
    }

    fn grids_at(&self, v: u32) -> &[u32] {
        if v == NONE {
            return &[];
        }
        let (a, b) = (
            self.around_start[v as usize],
            self.around_start[v as usize + 1],
        );
        &self.around[a as usize..b as usize]
    }

    pub fn contains(&self, g: u32, p: Coord<f64>) -> bool {
        let ring = &self.grids[g as usize].polygon.exterior().0;
        let mut inside = false;
        let n = ring.len();
        if n < 4 {
            return false;
        }
        let mut j = n - 1;
        for i in 0..n {
            let (a, b) = (ring[i], ring[j]);
            if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
                inside = !inside;
            }
            j = i;
        }
        inside
    }

    /// The grid containing p, which lies beside the road edge a→b on the given side.
    pub fn beside(&self, p: Coord<f64>, a: u32, b: u32, on_left: bool) -> Option<u32> {
        let first = if on_left {
            self.left.get(&(a, b))
        } else {
            self.left.get(&(b, a))
        }
        .copied();
        if let Some(g) = first
            && self.contains(g, p)
        {
            return Some(g);
        }
        for v in [a, b] {
            for &g in self.grids_at(v) {
                if Some(g) != first && self.contains(g, p) {
                    return Some(g);
                }
            }
        }
        None
    }

    /// A uniformly random point inside grid g (rejection sampling in its bounding box).
    pub fn sample_inside(&self, g: u32, rng: &mut impl Rng) -> Option<Coord<f64>> {
        let ring = &self.grids[g as usize].polygon.exterior().0;
        let (mut lo, mut hi) = (
            Coord {
                x: f64::MAX,
                y: f64::MAX,
            },
            Coord {
                x: f64::MIN,
                y: f64::MIN,
            },
        );
        for c in ring {
            lo = Coord {
                x: lo.x.min(c.x),
                y: lo.y.min(c.y),
            };
            hi = Coord {
                x: hi.x.max(c.x),
                y: hi.y.max(c.y),
            };
        }
        for _ in 0..32 {
            // Keep a margin from the bounding box edges so points are not on a shared boundary.
            let p = Coord {
                x: lo.x + (hi.x - lo.x) * (0.02 + 0.96 * rng.random::<f64>()),
                y: lo.y + (hi.y - lo.y) * (0.02 + 0.96 * rng.random::<f64>()),
            };
            if self.contains(g, p) {
                return Some(p);
            }
        }
        None
    }
}

/// A junction on a road: where another road meets or crosses it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Junction {
    /// Distance along the road, metres.
    pub s: f64,
    /// Half the width of the widest other road there, plus a little: nothing stands closer.
    pub margin: f64,
    /// The most important other road there.
    pub other: RoadKind,
}

/// A road in metres, ready to have things put beside it.
#[derive(Default)]
pub(crate) struct RoadGeom {
    pub pts: Vec<P>,
    pub cum: Vec<f64>,
    pub vids: Vec<u32>,
    pub junctions: Vec<Junction>,
}

impl RoadGeom {
    pub fn length(&self) -> f64 {
        self.cum.last().copied().unwrap_or(0.0)
    }
}

/// The road network over the grids.
pub(crate) struct Network<'a> {
    pub loc: Locator<'a>,
    pub roads: &'a [Road],
    pub proj: LocalProjection,
    road_vids: Vec<Vec<u32>>,
    at_start: Vec<u32>,
    at: Vec<u32>,
}

impl<'a> Network<'a> {
    pub fn new(grids: &'a [GridShape], roads: &'a [Road], proj: LocalProjection) -> Self {
        let loc = Locator::new(grids);
        let road_vids: Vec<Vec<u32>> = roads
            .iter()
            .map(|r| r.line.0.iter().map(|c| loc.vertex_of(*c)).collect())
            .collect();
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for (r, vids) in road_vids.iter().enumerate() {
            pairs.extend(vids.iter().filter(|&&v| v != NONE).map(|&v| (v, r as u32)));
        }
        pairs.sort_unstable();
        pairs.dedup();
        let nv = loc.vertex_count();
        let mut at_start = vec![0u32; nv + 1];
        for &(v, _) in &pairs {
            at_start[v as usize + 1] += 1;
        }
        for v in 0..nv {
            at_start[v + 1] += at_start[v];
        }
        let at = pairs.iter().map(|p| p.1).collect();
        Network {
            loc,
            roads,
            proj,
            road_vids,
            at_start,
            at,
        }
    }

    fn roads_at(&self, v: u32) -> &[u32] {
        if v == NONE {
            return &[];
        }
        let (a, b) = (self.at_start[v as usize], self.at_start[v as usize + 1]);
        &self.at[a as usize..b as usize]
    }

    pub fn geom(&self, r: usize) -> RoadGeom {
        let mut g = RoadGeom::default();
        self.geom_into(r, &mut g);
        g
    }

    /// Like [`Network::geom`], reusing `g`'s buffers: the component stream calls this for every
    /// road, and fresh buffers each time fragment the allocator's heap.
    pub fn geom_into(&self, r: usize, g: &mut RoadGeom) {
        let road = &self.roads[r];
        g.pts.clear();
        g.pts.extend(road.line.0.iter().map(|c| {
            let (x, y) = self.proj.to_metres(c.x, c.y);
            [x, y]
        }));
        g.cum.clear();
        let mut acc = 0.0;
        for k in 0..g.pts.len() {
            if k > 0 {
                acc += dist(g.pts[k - 1], g.pts[k]);
            }
            g.cum.push(acc);
        }
        g.vids.clear();
        g.vids.extend_from_slice(&self.road_vids[r]);
        g.junctions.clear();
        for (k, &v) in g.vids.iter().enumerate() {
            let others = self.roads_at(v).iter().filter(|&&o| o as usize != r);
            let best = others.map(|&o| self.roads[o as usize].kind).min();
            if let Some(other) = best {
                g.junctions.push(Junction {
                    s: g.cum[k],
                    margin: other.half_width_m() + 2.0,
                    other,
                });
            }
        }
    }

    /// The point `offset` metres to the left (side > 0) or right of the road at distance s,
    /// and the grid containing it.
    pub fn place(&self, g: &RoadGeom, s: f64, side: f64, offset: f64) -> Option<(Coord<f64>, u32)> {
        let n = g.pts.len();
        if n < 2 {
            return None;
        }
        let k = g.cum.partition_point(|&c| c <= s).clamp(1, n - 1) - 1;
        let (a, b) = (g.pts[k], g.pts[k + 1]);
        let len = g.cum[k + 1] - g.cum[k];
        if len <= 1e-6 {
            return None;
        }
        let t = ((s - g.cum[k]) / len).clamp(0.0, 1.0);
        let dir = mul(sub(b, a), 1.0 / len);
        let normal = [-dir[1], dir[0]];
        let base = add(a, mul(sub(b, a), t));
        let p = add(base, mul(normal, side * offset));
        let (lon, lat) = self.proj.to_lonlat(p[0], p[1]);
        let c = Coord { x: lon, y: lat };
        let grid = self.loc.beside(c, g.vids[k], g.vids[k + 1], side > 0.0)?;
        Some((c, grid))
    }
}

/// Walks positions in increasing order and says which fall inside a junction.
pub(crate) struct JunctionCursor<'g> {
    junctions: &'g [Junction],
    next: usize,
}

impl<'g> JunctionCursor<'g> {
    pub fn new(junctions: &'g [Junction]) -> Self {
        JunctionCursor { junctions, next: 0 }
    }

    /// Positions must not decrease between calls.
    pub fn blocked(&mut self, s: f64) -> bool {
        let j = self.junctions;
        while self.next < j.len() && j[self.next].s + j[self.next].margin < s {
            self.next += 1;
        }
        j[self.next..]
            .iter()
            .take(3)
            .any(|x| (x.s - s).abs() <= x.margin)
    }
}
