//! Nearest components: k-nearest, within-radius, class filters, metres.
//!
//! # Structure
//!
//! Points are projected once to metres in a local plane around the centre of
//! their bounding box (x = Δlon · kx(φ0), y = Δlat · ky(φ0), see
//! [`crate::local_distance_m`]) and bucketed in a uniform grid of square
//! cells sized for about [`DEFAULT_POINTS_PER_CELL`] points per occupied
//! cell (counting sort; cells stored in 16 x 16 tiles, see `TILE_SHIFT`).
//! Each point is stored as its offset from its cell's corner in `f32` plus
//! its id (12 bytes), so positions and distances carry a rounding error of
//! about 6e-8 of the cell size: around a micrometre for city data (cells of
//! ~20 m), up to a fraction of a millimetre for very sparse data whose cells
//! are kilometres wide.
//!
//! A query scales x and y by the metric at the query's own latitude, scans
//! its cell and then rings of cells outward, skipping cells farther than the
//! current k-th best, and stops once every unscanned cell is farther than
//! the k-th best (or the radius limit). Results are ordered by (distance,
//! id), so ties are broken by the lower id and answers are deterministic.
//!
//! Every class additionally gets its own bucket grid (sized for that class),
//! so a filter on a rare class scans only that class instead of widening the
//! search through millions of other components. Filters that cover most of
//! the points scan the shared grid and test the class instead.
//!
//! # Updates
//!
//! The bulk structure is immutable and shared behind an `Arc`. `upsert` and
//! `remove` touch only a small overlay (an R-tree of new positions and a set
//! of removed ids), so cloning an index copies only the overlay: clone,
//! apply the change, and swap the new index in (arc-swap). [`PointIndex::rebuilt`] folds the
//! overlay into a fresh bulk structure; do it in the background once
//! [`PointIndex::pending_changes`] grows into the thousands.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use rstar::RTree;
use rstar::primitives::GeomWithData;

use crate::IndexError;
use crate::metric::metres_per_degree;

/// A component position with the caller's id and class code.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexedPoint {
    pub lon: f64,
    pub lat: f64,
    pub id: u32,
    pub class: u16,
}

/// Mean points per occupied cell the bucket grids aim for by default: small
/// enough that a k = 1 query scans a few dozen points, large enough that
/// k = 5 is usually settled within the 3 x 3 block around the query.
pub const DEFAULT_POINTS_PER_CELL: f64 = 4.0;
/// Cells per point at most (bounds the memory of the cell offsets when the
/// points are strongly clustered).
const MAX_CELLS_PER_POINT: usize = 2;
const MAX_CELLS: usize = 1 << 28;
/// Above this share of all points a class filter scans the shared grid
/// instead of the per-class grids.
const PER_CLASS_MAX_SHARE: f64 = 0.5;

/// Immutable point index plus a small update overlay. Clone is cheap (the
/// bulk data is shared).
#[derive(Debug, Clone)]
pub struct PointIndex {
    base: Arc<Base>,
    overlay: Overlay,
}

#[derive(Debug)]
struct Base {
    frame: Frame,
    all: Bucket,
    /// Sorted class codes and, at the same index, the class's own grid.
    class_codes: Vec<u16>,
    class_buckets: Vec<Bucket>,
}

type OverlayPoint = GeomWithData<[f64; 2], (u32, u16)>;

#[derive(Debug, Clone, Default)]
struct Overlay {
    /// Upserted points, projected with the base frame.
    added: RTree<OverlayPoint>,
    added_by_id: HashMap<u32, OverlayPoint, BuildHasherDefault<IdHasher>>,
    /// Ids whose bulk-structure entry is void (removed or moved).
    removed: HashSet<u32, BuildHasherDefault<IdHasher>>,
}

/// Multiplicative hash for u32 ids: ids are trusted (not attacker-chosen
/// map keys) and SipHash would dominate the tombstone check in scans.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Local projection of the index.
#[derive(Debug, Clone, Copy)]
struct Frame {
    lon0: f64,
    lat0: f64,
    kx0: f64,
    ky0: f64,
}

/// A query position in the frame, with the metric scales at its latitude.
#[derive(Debug, Clone, Copy)]
struct Query {
    x: f64,
    y: f64,
    sx: f64,
    sy: f64,
}

impl Frame {
    fn new(lon0: f64, lat0: f64) -> Self {
        let (kx0, ky0) = metres_per_degree(lat0);
        Frame {
            lon0,
            lat0,
            kx0,
            ky0,
        }
    }

    fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        ((lon - self.lon0) * self.kx0, (lat - self.lat0) * self.ky0)
    }

    fn unproject(&self, x: f64, y: f64) -> (f64, f64) {
        (self.lon0 + x / self.kx0, self.lat0 + y / self.ky0)
    }

    fn query(&self, lon: f64, lat: f64) -> Option<Query> {
        if !(lon.is_finite() && lat.is_finite()) {
            return None;
        }
        let (kx, ky) = metres_per_degree(lat.clamp(-89.9, 89.9));
        let (x, y) = self.project(lon, lat);
        Some(Query {
            x,
            y,
            sx: kx / self.kx0,
            sy: ky / self.ky0,
        })
    }
}

/// Cells are stored in square tiles of `TILE x TILE` (tiles row-major,
/// cells row-major inside a tile), so the 3 x 3 block around a query usually
/// lies in one tile: its cell offsets share a cache line or two and its
/// points a page or two. Random queries over millions of points are bound by
/// cache and TLB misses, not by arithmetic, so this layout matters more than
/// the number of points scanned.
const TILE_SHIFT: usize = 4;
const TILE: usize = 1 << TILE_SHIFT;
const TILE_MASK: usize = TILE - 1;

/// A stored point: offset from its cell's lower-left corner in metres and
/// the caller's id, interleaved so that accepting a candidate touches no
/// other array.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    x: f32,
    y: f32,
    id: u32,
}

/// Points bucketed in a uniform grid. See the module docs.
#[derive(Debug, Default)]
struct Bucket {
    ox: f64,
    oy: f64,
    cs: f64,
    inv_cs: f64,
    cols: usize,
    rows: usize,
    /// Tiles per row.
    tile_cols: usize,
    /// `start[c]..start[c + 1]` are the slots of cell index `c` (see
    /// [`Bucket::cell_index`]).
    start: Vec<u32>,
    slots: Vec<Slot>,
    /// Class per slot; only kept in the shared grid.
    classes: Vec<u16>,
}

/// Points in projected metres, for building buckets.
struct Source<'a> {
    xs: &'a [f64],
    ys: &'a [f64],
    points: &'a [IndexedPoint],
}

impl Bucket {
    fn build(src: &Source<'_>, members: &[u32], keep_classes: bool, target: f64) -> Bucket {
        let n = members.len();
        if n == 0 {
            return Bucket::default();
        }
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for &m in members {
            let (x, y) = (src.xs[m as usize], src.ys[m as usize]);
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        let w = (b[2] - b[0]).max(1e-3);
        let h = (b[3] - b[1]).max(1e-3);
        let max_cells = (n * MAX_CELLS_PER_POINT).clamp(64, MAX_CELLS);
        let dims = |cs: f64| ((w / cs).floor() as usize + 1, (h / cs).floor() as usize + 1);
        // Smallest cell size ≥ `cs` whose raster respects the cell budget.
        let fit = |mut cs: f64| {
            loop {
                let (c, r) = dims(cs);
                if (c as f64) * (r as f64) <= max_cells as f64 {
                    return cs;
                }
                cs *= 1.1;
            }
        };
        let mut cs = fit((w * h * target / n as f64).sqrt().max(0.25));
        let mut counts = Self::cell_counts(src, members, b[0], b[1], cs, dims(cs));
        // Clustered points leave most cells empty; shrink the cells until
        // the occupied ones hold about the target (once is usually enough).
        let occupied = counts.iter().filter(|&&c| c > 0).count().max(1);
        let mean = n as f64 / occupied as f64;
        if mean > 2.0 * target {
            let smaller = fit((cs * (target / mean).sqrt()).max(0.25));
            if smaller < cs {
                cs = smaller;
                counts = Self::cell_counts(src, members, b[0], b[1], cs, dims(cs));
            }
        }
        let (cols, rows) = dims(cs);
        let tile_cols = cols.div_ceil(TILE);
        let ncells = tile_cols * rows.div_ceil(TILE) * TILE * TILE;
        let mut start = vec![0u32; ncells + 1];
        for c in 0..ncells {
            start[c + 1] = start[c] + counts[c];
        }
        drop(counts);
        let mut fill = start.clone();
        let mut slots = vec![Slot::default(); n];
        let mut classes = if keep_classes {
            vec![0u16; n]
        } else {
            Vec::new()
        };
        let inv_cs = 1.0 / cs;
        let (ox, oy) = (b[0], b[1]);
        for &m in members {
            let m = m as usize;
            let (x, y) = (src.xs[m], src.ys[m]);
            let i = cell_coord(x, ox, inv_cs, cols);
            let j = cell_coord(y, oy, inv_cs, rows);
            let c = cell_index(tile_cols, i, j);
            let slot = fill[c] as usize;
            fill[c] += 1;
            slots[slot] = Slot {
                x: (x - (ox + i as f64 * cs)) as f32,
                y: (y - (oy + j as f64 * cs)) as f32,
                id: src.points[m].id,
            };
            if keep_classes {
                classes[slot] = src.points[m].class;
            }
        }
        Bucket {
            ox,
            oy,
            cs,
            inv_cs,
            cols,
            rows,
            tile_cols,
            start,
            slots,
            classes,
        }
    }

    /// Points per cell index (tiled order, padding cells included).
    fn cell_counts(
        src: &Source<'_>,
        members: &[u32],
        ox: f64,
        oy: f64,
        cs: f64,
        (cols, rows): (usize, usize),
    ) -> Vec<u32> {
        let inv = 1.0 / cs;
        let tile_cols = cols.div_ceil(TILE);
        let mut counts = vec![0u32; tile_cols * rows.div_ceil(TILE) * TILE * TILE];
        for &m in members {
            let i = cell_coord(src.xs[m as usize], ox, inv, cols);
            let j = cell_coord(src.ys[m as usize], oy, inv, rows);
            counts[cell_index(tile_cols, i, j)] += 1;
        }
        counts
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    fn memory_bytes(&self) -> usize {
        self.start.capacity() * std::mem::size_of::<u32>()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.classes.capacity() * std::mem::size_of::<u16>()
    }

    /// Slot range of cell `(i, j)`.
    #[inline(always)]
    fn cell_slots(&self, i: usize, j: usize) -> std::ops::Range<usize> {
        let c = cell_index(self.tile_cols, i, j);
        self.start[c] as usize..self.start[c + 1] as usize
    }

    /// Calls `f(position in frame metres, slot)` for every stored point.
    fn for_each_point(&self, mut f: impl FnMut((f64, f64), usize)) {
        for j in 0..self.rows {
            for i in 0..self.cols {
                for s in self.cell_slots(i, j) {
                    let p = self.slots[s];
                    f(
                        (
                            self.ox + i as f64 * self.cs + f64::from(p.x),
                            self.oy + j as f64 * self.cs + f64::from(p.y),
                        ),
                        s,
                    );
                }
            }
        }
    }

    /// k-nearest search into `top`; `accept(id, slot)` filters candidates.
    fn knn(
        &self,
        q: &Query,
        top: &mut TopK<'_>,
        max_d2: f64,
        accept: &impl Fn(u32, usize) -> bool,
    ) {
        if self.slots.is_empty() {
            return;
        }
        let (cols, rows) = (self.cols as isize, self.rows as isize);
        let ci = clamp_cell(q.x, self.ox, self.inv_cs, self.cols) as isize;
        let cj = clamp_cell(q.y, self.oy, self.inv_cs, self.rows) as isize;
        // Distance from the query to the raster along each axis: every
        // unscanned cell is at least this far in the other axis' direction.
        let x_max = self.ox + self.cols as f64 * self.cs;
        let y_max = self.oy + self.rows as f64 * self.cs;
        let gx_raster = (self.ox - q.x).max(q.x - x_max).max(0.0) * q.sx;
        let gy_raster = (self.oy - q.y).max(q.y - y_max).max(0.0) * q.sy;
        let mut r: isize = 0;
        loop {
            let (jlo, jhi) = (cj - r, cj + r);
            for j in jlo.max(0)..=jhi.min(rows - 1) {
                if j == jlo || j == jhi {
                    let (i0, i1) = ((ci - r).max(0), (ci + r).min(cols - 1));
                    self.scan_row(q, j as usize, i0 as usize, i1 as usize, top, max_d2, accept);
                } else {
                    if ci - r >= 0 {
                        let i = (ci - r) as usize;
                        self.scan_row(q, j as usize, i, i, top, max_d2, accept);
                    }
                    if ci + r < cols {
                        let i = (ci + r) as usize;
                        self.scan_row(q, j as usize, i, i, top, max_d2, accept);
                    }
                }
            }
            // Lower bound of the distance to anything not scanned yet: the
            // nearest of the four regions beyond the scanned block.
            let mut bound = f64::INFINITY;
            if ci - r > 0 {
                let gap = (q.x - (self.ox + (ci - r) as f64 * self.cs)).max(0.0) * q.sx;
                bound = bound.min(gap * gap + gy_raster * gy_raster);
            }
            if ci + r < cols - 1 {
                let gap = ((self.ox + (ci + r + 1) as f64 * self.cs) - q.x).max(0.0) * q.sx;
                bound = bound.min(gap * gap + gy_raster * gy_raster);
            }
            if cj - r > 0 {
                let gap = (q.y - (self.oy + (cj - r) as f64 * self.cs)).max(0.0) * q.sy;
                bound = bound.min(gap * gap + gx_raster * gx_raster);
            }
            if cj + r < rows - 1 {
                let gap = ((self.oy + (cj + r + 1) as f64 * self.cs) - q.y).max(0.0) * q.sy;
                bound = bound.min(gap * gap + gx_raster * gx_raster);
            }
            if bound == f64::INFINITY || bound > top.limit(max_d2) {
                return;
            }
            r += 1;
        }
    }

    /// Scans cells `i0..=i1` of row `j`, skipping cells beyond the current
    /// limit.
    #[inline(always)]
    #[expect(clippy::too_many_arguments, reason = "hot inner helper, kept flat")]
    fn scan_row(
        &self,
        q: &Query,
        j: usize,
        i0: usize,
        i1: usize,
        top: &mut TopK<'_>,
        max_d2: f64,
        accept: &impl Fn(u32, usize) -> bool,
    ) {
        let qry = q.y - (self.oy + j as f64 * self.cs);
        let gy = axis_gap(qry, self.cs) * q.sy;
        let gy2 = gy * gy;
        let mut limit = top.limit(max_d2);
        if gy2 > limit {
            return;
        }
        for i in i0..=i1 {
            let qrx = q.x - (self.ox + i as f64 * self.cs);
            let gx = axis_gap(qrx, self.cs) * q.sx;
            if gx * gx + gy2 > limit {
                continue;
            }
            for slot in self.cell_slots(i, j) {
                let p = self.slots[slot];
                let dx = (f64::from(p.x) - qrx) * q.sx;
                let dy = (f64::from(p.y) - qry) * q.sy;
                let d2 = dx * dx + dy * dy;
                if d2 <= limit && accept(p.id, slot) {
                    top.offer(d2, p.id);
                    limit = top.limit(max_d2);
                }
            }
        }
    }

    /// All accepted points within `r2` (squared metres) of the query.
    fn within(
        &self,
        q: &Query,
        radius: f64,
        out: &mut Vec<(u32, f64)>,
        accept: &impl Fn(u32, usize) -> bool,
    ) {
        if self.slots.is_empty() {
            return;
        }
        let r2 = radius * radius;
        // Half extents of the search box in frame metres, padded by a
        // micrometre so points on the circle are not lost to rounding.
        let hx = radius / q.sx + 1e-6;
        let hy = radius / q.sy + 1e-6;
        let x_max = self.ox + self.cols as f64 * self.cs;
        let y_max = self.oy + self.rows as f64 * self.cs;
        if q.x + hx < self.ox || q.x - hx > x_max || q.y + hy < self.oy || q.y - hy > y_max {
            return;
        }
        let i0 = clamp_cell(q.x - hx, self.ox, self.inv_cs, self.cols);
        let i1 = clamp_cell(q.x + hx, self.ox, self.inv_cs, self.cols);
        let j0 = clamp_cell(q.y - hy, self.oy, self.inv_cs, self.rows);
        let j1 = clamp_cell(q.y + hy, self.oy, self.inv_cs, self.rows);
        for j in j0..=j1 {
            let qry = q.y - (self.oy + j as f64 * self.cs);
            let gy = axis_gap(qry, self.cs) * q.sy;
            for i in i0..=i1 {
                let qrx = q.x - (self.ox + i as f64 * self.cs);
                let gx = axis_gap(qrx, self.cs) * q.sx;
                if gx * gx + gy * gy > r2 {
                    continue;
                }
                for slot in self.cell_slots(i, j) {
                    let p = self.slots[slot];
                    let dx = (f64::from(p.x) - qrx) * q.sx;
                    let dy = (f64::from(p.y) - qry) * q.sy;
                    let d2 = dx * dx + dy * dy;
                    if d2 <= r2 && accept(p.id, slot) {
                        out.push((p.id, d2));
                    }
                }
            }
        }
    }
}

/// Index of cell `(i, j)` in the tiled order.
#[inline(always)]
fn cell_index(tile_cols: usize, i: usize, j: usize) -> usize {
    let tile = (j >> TILE_SHIFT) * tile_cols + (i >> TILE_SHIFT);
    (tile << (2 * TILE_SHIFT)) | ((j & TILE_MASK) << TILE_SHIFT) | (i & TILE_MASK)
}

/// Distance from `v` to the interval `[0, len]`.
#[inline(always)]
fn axis_gap(v: f64, len: f64) -> f64 {
    if v < 0.0 {
        -v
    } else if v > len {
        v - len
    } else {
        0.0
    }
}

/// Cell coordinate of a point known to be inside the bucket's extent.
#[inline(always)]
fn cell_coord(v: f64, origin: f64, inv: f64, n: usize) -> usize {
    (((v - origin) * inv) as usize).min(n - 1)
}

/// Cell coordinate of any value, clamped to the raster.
#[inline(always)]
fn clamp_cell(v: f64, origin: f64, inv: f64, n: usize) -> usize {
    let f = (v - origin) * inv;
    if f > 0.0 { (f as usize).min(n - 1) } else { 0 }
}

/// The k best (squared distance, id) pairs so far, kept sorted in the
/// caller's output vector (as `(id, d2)`) to avoid an allocation per query.
struct TopK<'a> {
    k: usize,
    items: &'a mut Vec<(u32, f64)>,
}

impl TopK<'_> {
    /// Squared distance a candidate must not exceed to matter.
    #[inline(always)]
    fn limit(&self, max_d2: f64) -> f64 {
        if self.items.len() < self.k {
            max_d2
        } else {
            self.items.last().map_or(max_d2, |&(_, d)| d.min(max_d2))
        }
    }

    #[inline]
    fn offer(&mut self, d2: f64, id: u32) {
        let before = |&(i, d): &(u32, f64)| d < d2 || (d == d2 && i < id);
        if self.items.len() == self.k {
            match self.items.last() {
                Some(w) if before(w) || (w.1 == d2 && w.0 == id) => return,
                Some(_) => {
                    self.items.pop();
                }
                None => return,
            }
        }
        let pos = self.items.partition_point(before);
        self.items.insert(pos, (id, d2));
    }
}

/// How a class filter is served.
enum Plan {
    /// Scan the shared grid; `Some(classes)` (sorted) filters.
    Shared(Option<Vec<u16>>),
    /// Scan these per-class grids.
    PerClass(Vec<usize>),
}

/// Size and shape of a [`PointIndex`].
#[derive(Debug, Clone, PartialEq)]
pub struct PointIndexStats {
    /// Points in the bulk structure (including removed ones).
    pub points: usize,
    pub classes: usize,
    pub cell_size_m: f64,
    pub cols: usize,
    pub rows: usize,
    pub cells: usize,
    pub occupied_cells: usize,
    pub max_points_per_cell: usize,
    /// Cells summed over the per-class grids.
    pub class_grid_cells: usize,
    pub pending_inserts: usize,
    pub pending_removals: usize,
    pub memory_bytes: usize,
}

impl PointIndex {
    /// Builds the index. Coordinates must be finite with |lat| ≤ 85 and
    /// |lon| ≤ 180. Ids should be unique (removal works by id).
    pub fn build(points: &[IndexedPoint]) -> Result<Self, IndexError> {
        Self::build_with(points, DEFAULT_POINTS_PER_CELL)
    }

    /// [`build`](Self::build) with a different target of points per
    /// occupied cell (clamped to 0.5..=256): larger favours large k and
    /// `within` with a large radius, smaller favours k = 1.
    pub fn build_with(points: &[IndexedPoint], points_per_cell: f64) -> Result<Self, IndexError> {
        let target = if points_per_cell.is_finite() {
            points_per_cell.clamp(0.5, 256.0)
        } else {
            DEFAULT_POINTS_PER_CELL
        };
        if points.len() >= u32::MAX as usize {
            return Err(IndexError::TooMany {
                count: points.len(),
                max: u32::MAX as usize - 1,
            });
        }
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for (index, p) in points.iter().enumerate() {
            check_point(index, p)?;
            b = [
                b[0].min(p.lon),
                b[1].min(p.lat),
                b[2].max(p.lon),
                b[3].max(p.lat),
            ];
        }
        let frame = if points.is_empty() {
            Frame::new(0.0, 0.0)
        } else {
            Frame::new((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
        };
        let (xs, ys): (Vec<f64>, Vec<f64>) =
            points.iter().map(|p| frame.project(p.lon, p.lat)).unzip();
        let src = Source {
            xs: &xs,
            ys: &ys,
            points,
        };
        let all_members: Vec<u32> = (0..points.len() as u32).collect();
        let all = Bucket::build(&src, &all_members, true, target);
        drop(all_members);

        // Group point indices by class (counting sort over the u16 codes).
        let mut class_start = vec![0u32; usize::from(u16::MAX) + 2];
        for p in points {
            class_start[usize::from(p.class) + 1] += 1;
        }
        for c in 0..=usize::from(u16::MAX) {
            class_start[c + 1] += class_start[c];
        }
        let mut fill = class_start.clone();
        let mut by_class = vec![0u32; points.len()];
        for (i, p) in points.iter().enumerate() {
            let c = usize::from(p.class);
            by_class[fill[c] as usize] = i as u32;
            fill[c] += 1;
        }
        let mut class_codes = Vec::new();
        let mut class_buckets = Vec::new();
        for code in 0..=u16::MAX {
            let c = usize::from(code);
            let (s, e) = (class_start[c] as usize, class_start[c + 1] as usize);
            if s < e {
                class_codes.push(code);
                class_buckets.push(Bucket::build(&src, &by_class[s..e], false, target));
            }
        }
        Ok(PointIndex {
            base: Arc::new(Base {
                frame,
                all,
                class_codes,
                class_buckets,
            }),
            overlay: Overlay::default(),
        })
    }

    /// The `k` nearest points to `(lon, lat)` as `(id, metres)`, nearest
    /// first (ties by lower id), at most `max_m` metres away (inclusive) and,
    /// with `class`, only of those class codes.
    pub fn nearest(
        &self,
        lon: f64,
        lat: f64,
        k: usize,
        max_m: Option<f64>,
        class: Option<&[u16]>,
    ) -> Vec<(u32, f64)> {
        let mut out = Vec::with_capacity(k.min(64));
        self.nearest_into(lon, lat, k, max_m, class, &mut out);
        out
    }

    /// [`nearest`](Self::nearest) into a reusable vector (cleared first).
    pub fn nearest_into(
        &self,
        lon: f64,
        lat: f64,
        k: usize,
        max_m: Option<f64>,
        class: Option<&[u16]>,
        out: &mut Vec<(u32, f64)>,
    ) {
        out.clear();
        let max_d2 = match max_m {
            None => f64::INFINITY,
            Some(m) if m >= 0.0 => m * m,
            Some(_) => return,
        };
        let Some(q) = self.base.frame.query(lon, lat) else {
            return;
        };
        if k == 0 {
            return;
        }
        let mut top = TopK { k, items: out };
        let removed = &self.overlay.removed;
        let live = |id: u32| removed.is_empty() || !removed.contains(&id);
        match self.plan(class) {
            Plan::Shared(None) => {
                self.base.all.knn(&q, &mut top, max_d2, &|id, _| live(id));
            }
            Plan::Shared(Some(codes)) => {
                let classes = &self.base.all.classes;
                self.base.all.knn(&q, &mut top, max_d2, &|id, slot| {
                    codes.binary_search(&classes[slot]).is_ok() && live(id)
                });
            }
            Plan::PerClass(buckets) => {
                for b in buckets {
                    self.base.class_buckets[b].knn(&q, &mut top, max_d2, &|id, _| live(id));
                }
            }
        }
        self.overlay_knn(&q, &mut top, max_d2, class);
        for item in top.items.iter_mut() {
            item.1 = item.1.sqrt();
        }
    }

    /// All points within `radius_m` metres (inclusive) of `(lon, lat)`,
    /// optionally only of the given classes, as `(id, metres)` nearest first
    /// (ties by lower id).
    pub fn within(
        &self,
        lon: f64,
        lat: f64,
        radius_m: f64,
        class: Option<&[u16]>,
    ) -> Vec<(u32, f64)> {
        let mut out = Vec::new();
        self.within_into(lon, lat, radius_m, class, &mut out);
        out
    }

    /// [`within`](Self::within) into a reusable vector (cleared first).
    pub fn within_into(
        &self,
        lon: f64,
        lat: f64,
        radius_m: f64,
        class: Option<&[u16]>,
        out: &mut Vec<(u32, f64)>,
    ) {
        out.clear();
        // Also refuses NaN.
        let valid = radius_m >= 0.0;
        if !valid {
            return;
        }
        let Some(q) = self.base.frame.query(lon, lat) else {
            return;
        };
        let removed = &self.overlay.removed;
        let live = |id: u32| removed.is_empty() || !removed.contains(&id);
        match self.plan(class) {
            Plan::Shared(None) => self.base.all.within(&q, radius_m, out, &|id, _| live(id)),
            Plan::Shared(Some(codes)) => {
                let classes = &self.base.all.classes;
                self.base.all.within(&q, radius_m, out, &|id, slot| {
                    codes.binary_search(&classes[slot]).is_ok() && live(id)
                });
            }
            Plan::PerClass(buckets) => {
                for b in buckets {
                    self.base.class_buckets[b].within(&q, radius_m, out, &|id, _| live(id));
                }
            }
        }
        if self.overlay.added.size() > 0 {
            let smin = q.sx.min(q.sy);
            let r2 = radius_m * radius_m;
            let reach = radius_m / smin + 1e-6;
            for p in self
                .overlay
                .added
                .locate_within_distance([q.x, q.y], reach * reach)
            {
                let (id, c) = p.data;
                if class.is_some_and(|codes| !codes.contains(&c)) {
                    continue;
                }
                let d2 = scaled_d2(&q, *p.geom());
                if d2 <= r2 {
                    out.push((id, d2));
                }
            }
        }
        out.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        for item in out.iter_mut() {
            item.1 = item.1.sqrt();
        }
    }

    /// Inserts a point, replacing any point with the same id.
    /// Fails like [`build`](Self::build) on an invalid coordinate, with the
    /// point's id as `index`.
    pub fn upsert(&mut self, point: IndexedPoint) -> Result<(), IndexError> {
        check_point(point.id as usize, &point)?;
        self.remove(point.id);
        let (x, y) = self.base.frame.project(point.lon, point.lat);
        let item = OverlayPoint::new([x, y], (point.id, point.class));
        self.overlay.added.insert(item);
        self.overlay.added_by_id.insert(point.id, item);
        Ok(())
    }

    /// Removes the point with this id, if any (idempotent).
    pub fn remove(&mut self, id: u32) {
        self.overlay.removed.insert(id);
        if let Some(item) = self.overlay.added_by_id.remove(&id) {
            self.overlay.added.remove(&item);
        }
    }

    /// Upserts plus removals applied since the bulk structure was built.
    pub fn pending_changes(&self) -> usize {
        self.overlay.added.size() + self.overlay.removed.len()
    }

    /// A fresh index with all pending changes folded into the bulk
    /// structure. Positions round-trip through the index's projection, which
    /// moves them by well under a micrometre.
    pub fn rebuilt(&self) -> Result<PointIndex, IndexError> {
        let base = &self.base;
        let removed = &self.overlay.removed;
        let mut points = Vec::with_capacity(base.all.len() + self.overlay.added.size());
        base.all.for_each_point(|(x, y), slot| {
            let id = base.all.slots[slot].id;
            if removed.contains(&id) {
                return;
            }
            let (lon, lat) = base.frame.unproject(x, y);
            points.push(IndexedPoint {
                lon,
                lat,
                id,
                class: base.all.classes[slot],
            });
        });
        for item in self.overlay.added.iter() {
            let [x, y] = *item.geom();
            let (lon, lat) = base.frame.unproject(x, y);
            let (id, class) = item.data;
            points.push(IndexedPoint {
                lon,
                lat,
                id,
                class,
            });
        }
        PointIndex::build(&points)
    }

    /// Approximate heap bytes: exact for the bulk structure (from
    /// capacities), estimated for the update overlay.
    pub fn memory_bytes(&self) -> usize {
        let base = &self.base;
        let bulk = std::mem::size_of::<Base>()
            + base.all.memory_bytes()
            + base.class_codes.capacity() * 2
            + base.class_buckets.capacity() * std::mem::size_of::<Bucket>()
            + base
                .class_buckets
                .iter()
                .map(Bucket::memory_bytes)
                .sum::<usize>();
        let item = std::mem::size_of::<OverlayPoint>();
        // R-tree leaves plus about one node per few leaves; hash tables
        // store key, value and a control byte per bucket.
        let overlay = self.overlay.added.size() * item * 3 / 2
            + self.overlay.added_by_id.capacity() * (4 + item + 1)
            + self.overlay.removed.capacity() * (4 + 1);
        std::mem::size_of::<Self>() + bulk + overlay
    }

    pub fn stats(&self) -> PointIndexStats {
        let all = &self.base.all;
        // Padding cells of partial tiles are empty and do not count.
        let cells = all.cols * all.rows;
        let (mut occupied, mut max) = (0, 0);
        for w in all.start.windows(2) {
            let n = (w[1] - w[0]) as usize;
            occupied += usize::from(n > 0);
            max = max.max(n);
        }
        PointIndexStats {
            points: all.len(),
            classes: self.base.class_codes.len(),
            cell_size_m: all.cs,
            cols: all.cols,
            rows: all.rows,
            cells,
            occupied_cells: occupied,
            max_points_per_cell: max,
            class_grid_cells: self
                .base
                .class_buckets
                .iter()
                .map(|b| b.cols * b.rows)
                .sum(),
            pending_inserts: self.overlay.added.size(),
            pending_removals: self.overlay.removed.len(),
            memory_bytes: self.memory_bytes(),
        }
    }

    fn plan(&self, class: Option<&[u16]>) -> Plan {
        let Some(codes) = class else {
            return Plan::Shared(None);
        };
        let base = &self.base;
        let mut buckets: Vec<usize> = codes
            .iter()
            .filter_map(|c| base.class_codes.binary_search(c).ok())
            .collect();
        buckets.sort_unstable();
        buckets.dedup();
        let covered: usize = buckets.iter().map(|&b| base.class_buckets[b].len()).sum();
        if buckets.len() <= 2 || (covered as f64) <= PER_CLASS_MAX_SHARE * base.all.len() as f64 {
            Plan::PerClass(buckets)
        } else {
            let mut sorted = codes.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            Plan::Shared(Some(sorted))
        }
    }

    fn overlay_knn(&self, q: &Query, top: &mut TopK<'_>, max_d2: f64, class: Option<&[u16]>) {
        if self.overlay.added.size() == 0 {
            return;
        }
        // The R-tree orders by plain frame distance; the query metric is at
        // least `smin` times that, which bounds when to stop.
        let smin = q.sx.min(q.sy);
        for (p, e2) in self
            .overlay
            .added
            .nearest_neighbor_iter_with_distance_2(&[q.x, q.y])
        {
            if e2 * smin * smin > top.limit(max_d2) {
                break;
            }
            let (id, c) = p.data;
            if class.is_some_and(|codes| !codes.contains(&c)) {
                continue;
            }
            let d2 = scaled_d2(q, *p.geom());
            if d2 <= top.limit(max_d2) {
                top.offer(d2, id);
            }
        }
    }
}

fn scaled_d2(q: &Query, [x, y]: [f64; 2]) -> f64 {
    let dx = (x - q.x) * q.sx;
    let dy = (y - q.y) * q.sy;
    dx * dx + dy * dy
}

fn check_point(index: usize, p: &IndexedPoint) -> Result<(), IndexError> {
    if p.lon.is_finite() && p.lat.is_finite() && p.lon.abs() <= 180.0 && p.lat.abs() <= 85.0 {
        Ok(())
    } else {
        Err(IndexError::InvalidPoint {
            index,
            lon: p.lon,
            lat: p.lat,
        })
    }
}

#[cfg(test)]
mod tests;
