//! Deterministic synthetic city for tests and benchmarks.
//!
//! Unit grids are built from a lattice of `spacing_m` squares whose shared
//! corners are jittered, and whose shared edges get a jittered midpoint, so
//! every grid is an irregular (sometimes concave) octagon of about
//! `spacing_m²` and neighbours share bit-identical edges, as a cleaned unit
//! grid layer does. A small share of lattice cells is left out (gaps between
//! communities: water, parks) and a small share of grids gets a hole.
//!
//! Components lie mostly along grid boundaries (streets) with a uniform
//! background, and their classes follow a skewed distribution, so the point
//! index sees the clustering and the rare classes of real 部件 data.
//!
//! The generator uses its own SplitMix64 so the output is identical on every
//! platform and version without pulling random-number crates into the
//! library.

use geo::{Coord, LineString, Polygon};

use crate::metric::metres_per_degree;
use crate::points::IndexedPoint;

/// SplitMix64: tiny, fast, deterministic; good enough for synthetic data.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        // 53 random bits → exactly representable fractions.
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// Uniform in 0..n (n > 0); the modulo bias is irrelevant here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Parameters of [`city`].
#[derive(Debug, Clone)]
pub struct CityParams {
    /// Number of grid polygons to generate.
    pub grids: usize,
    /// Lattice spacing in metres (grid area ≈ spacing²).
    pub spacing_m: f64,
    /// Corner jitter as a fraction of the spacing (≤ 0.2 keeps grids simple).
    pub corner_jitter: f64,
    /// Sideways jitter of edge midpoints as a fraction of the spacing
    /// (≤ 0.1 keeps grids simple).
    pub midpoint_jitter: f64,
    /// Share of lattice cells left empty.
    pub gap_share: f64,
    /// Share of grids that get a square hole.
    pub hole_share: f64,
    /// City centre (lon, lat) in degrees.
    pub centre: (f64, f64),
    pub seed: u64,
}

impl Default for CityParams {
    fn default() -> Self {
        Self {
            grids: 10_000,
            spacing_m: 100.0,
            corner_jitter: 0.2,
            midpoint_jitter: 0.1,
            gap_share: 0.02,
            hole_share: 0.01,
            centre: (116.40, 39.90),
            seed: 20_240_601,
        }
    }
}

/// A synthetic city.
#[derive(Debug, Clone)]
pub struct SynthCity {
    /// Unit grids; a grid's id is its index here.
    pub polygons: Vec<Polygon<f64>>,
    /// Bounding box (min_lon, min_lat, max_lon, max_lat) of the lattice.
    pub bbox: (f64, f64, f64, f64),
    /// Lattice corner points (lon, lat), row-major, `(cols + 1) * (rows + 1)`.
    corners: Vec<Coord<f64>>,
    cols: usize,
    rows: usize,
}

/// Generates the unit grids of a synthetic city.
pub fn city(p: &CityParams) -> SynthCity {
    let mut rng = SplitMix64::new(p.seed);
    let keep = (1.0 - p.gap_share).clamp(0.05, 1.0);
    let cells_needed = (p.grids as f64 / keep).ceil().max(1.0);
    let cols = cells_needed.sqrt().ceil().max(1.0) as usize;
    // One spare row so that gaps never make us run out of cells.
    let rows = (cells_needed / cols as f64).ceil() as usize + 1;
    let (kx, ky) = metres_per_degree(p.centre.1);
    let s = p.spacing_m;
    let origin_x = -(cols as f64) * s / 2.0;
    let origin_y = -(rows as f64) * s / 2.0;
    let to_lonlat = |x: f64, y: f64| Coord {
        x: p.centre.0 + x / kx,
        y: p.centre.1 + y / ky,
    };

    // Shared corners: jittered once, reused by all four neighbours, so
    // shared edges are bit-identical.
    let mut corners_m = Vec::with_capacity((cols + 1) * (rows + 1));
    for r in 0..=rows {
        for c in 0..=cols {
            let jx = rng.range(-p.corner_jitter, p.corner_jitter) * s;
            let jy = rng.range(-p.corner_jitter, p.corner_jitter) * s;
            corners_m.push((origin_x + c as f64 * s + jx, origin_y + r as f64 * s + jy));
        }
    }
    let corner = |r: usize, c: usize| corners_m[r * (cols + 1) + c];
    // Midpoints of horizontal edges (r, c)→(r, c+1), pushed along y, and of
    // vertical edges (r, c)→(r+1, c), pushed along x.
    let mut mid_h = Vec::with_capacity((rows + 1) * cols);
    for r in 0..=rows {
        for c in 0..cols {
            let (ax, ay) = corner(r, c);
            let (bx, by) = corner(r, c + 1);
            let push = rng.range(-p.midpoint_jitter, p.midpoint_jitter) * s;
            mid_h.push(((ax + bx) / 2.0, (ay + by) / 2.0 + push));
        }
    }
    let mut mid_v = Vec::with_capacity(rows * (cols + 1));
    for r in 0..rows {
        for c in 0..=cols {
            let (ax, ay) = corner(r, c);
            let (bx, by) = corner(r + 1, c);
            let push = rng.range(-p.midpoint_jitter, p.midpoint_jitter) * s;
            mid_v.push(((ax + bx) / 2.0 + push, (ay + by) / 2.0));
        }
    }

    let corners: Vec<Coord<f64>> = corners_m.iter().map(|&(x, y)| to_lonlat(x, y)).collect();
    let ll = |(x, y): (f64, f64)| to_lonlat(x, y);
    let mut polygons = Vec::with_capacity(p.grids);
    'fill: for r in 0..rows {
        for c in 0..cols {
            if polygons.len() == p.grids {
                break 'fill;
            }
            if rng.next_f64() < p.gap_share {
                continue;
            }
            // Counter-clockwise: bottom, right, top, left.
            let ring = vec![
                corners[r * (cols + 1) + c],
                ll(mid_h[r * cols + c]),
                corners[r * (cols + 1) + c + 1],
                ll(mid_v[r * (cols + 1) + c + 1]),
                corners[(r + 1) * (cols + 1) + c + 1],
                ll(mid_h[(r + 1) * cols + c]),
                corners[(r + 1) * (cols + 1) + c],
                ll(mid_v[r * (cols + 1) + c]),
            ];
            let mut holes = Vec::new();
            if rng.next_f64() < p.hole_share {
                // A small square courtyard around the lattice cell's centre,
                // well inside the jittered boundary.
                let cx = origin_x + (c as f64 + 0.5) * s;
                let cy = origin_y + (r as f64 + 0.5) * s;
                let h = 0.08 * s;
                holes.push(LineString::new(vec![
                    to_lonlat(cx - h, cy - h),
                    to_lonlat(cx - h, cy + h),
                    to_lonlat(cx + h, cy + h),
                    to_lonlat(cx + h, cy - h),
                ]));
            }
            polygons.push(Polygon::new(LineString::new(ring), holes));
        }
    }
    // The city's extent is that of the grids actually generated.
    let mut bbox = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for poly in &polygons {
        for c in poly.exterior().coords() {
            bbox = (
                bbox.0.min(c.x),
                bbox.1.min(c.y),
                bbox.2.max(c.x),
                bbox.3.max(c.y),
            );
        }
    }
    SynthCity {
        polygons,
        bbox,
        corners,
        cols,
        rows,
    }
}

/// Number of distinct component classes generated by [`components`]
/// (codes `1..=COMPONENT_CLASSES`, code 1 the most frequent).
pub const COMPONENT_CLASSES: u16 = 40;

/// `n` components with ids `0..n`: 70 % within a few metres of a lattice
/// edge (street furniture), 30 % uniform over the city.
pub fn components(city: &SynthCity, n: usize, seed: u64) -> Vec<IndexedPoint> {
    let mut rng = SplitMix64::new(seed);
    let (min_lon, min_lat, max_lon, max_lat) = city.bbox;
    let jitter_deg = 4.0 / 111_000.0;
    let mut out = Vec::with_capacity(n);
    for id in 0..n {
        let (lon, lat) = if rng.next_f64() < 0.7 && !city.corners.is_empty() {
            let r = rng.below(city.rows as u64 + 1) as usize;
            let c = rng.below(city.cols as u64 + 1) as usize;
            let a = city.corners[r * (city.cols + 1) + c];
            // Towards the right or the upper neighbour corner.
            let b = if rng.next_f64() < 0.5 && c < city.cols {
                city.corners[r * (city.cols + 1) + c + 1]
            } else if r < city.rows {
                city.corners[(r + 1) * (city.cols + 1) + c]
            } else {
                a
            };
            let t = rng.next_f64();
            (
                a.x + (b.x - a.x) * t + rng.range(-jitter_deg, jitter_deg),
                a.y + (b.y - a.y) * t + rng.range(-jitter_deg, jitter_deg),
            )
        } else {
            (rng.range(min_lon, max_lon), rng.range(min_lat, max_lat))
        };
        // Skewed classes: squaring a uniform draw makes low codes common and
        // high codes rare.
        let u = rng.next_f64();
        let class = 1 + (u * u * f64::from(COMPONENT_CLASSES)) as u16;
        out.push(IndexedPoint {
            lon,
            lat,
            id: id as u32,
            class: class.min(COMPONENT_CLASSES),
        });
    }
    out
}

/// `n` points uniform over `bbox` = (min_lon, min_lat, max_lon, max_lat).
pub fn uniform_points(bbox: (f64, f64, f64, f64), n: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| (rng.range(bbox.0, bbox.2), rng.range(bbox.1, bbox.3)))
        .collect()
}
