//! Point → unit grid lookup.
//!
//! # Structure
//!
//! A uniform raster (cell size given in metres, converted to degrees at the
//! centre latitude) covers the bounding box of all polygons. Each cell holds
//! one `u32`:
//!
//! * `0`: no polygon touches the cell → `None` without any geometry;
//! * `id + 1`: no polygon edge touches the cell and it lies inside polygon
//!   `id` → answered without any geometry;
//! * `MIXED | offset`: offset of the cell's record in one flat `u64` array:
//!   per candidate polygon (ascending id) a header word and the coordinates
//!   of only those of its edges that touch the cell. The record sits in one
//!   or two cache lines, so a lookup costs about two memory accesses.
//!
//! # Exact test against the cell's edges only
//!
//! Let `X` be the cell's right border and `Y0` its bottom border. The even-odd
//! crossing rule ("PNPOLY" with half-open `y` comparisons and exact
//! orientation predicates) classifies any point `q` exactly as if it were
//! moved by an infinitesimal `(ε, δ)` with `δ ≪ ε`. For a point `p` of the
//! cell, walk from `p'` right to `(X, py)'` and then down to `(X, Y0)'` (all
//! perturbed): the walk stays in the cell, so only edges touching the cell
//! can cross it, and
//!
//! ```text
//! inside(p) = pnpoly(X, Y0)  xor  #crossings(horizontal leg)  xor  #crossings(vertical leg)
//! ```
//!
//! `pnpoly(X, Y0)` and the part of the vertical leg's count that depends on
//! `Y0` only are folded into one precomputed bit per (cell, polygon). At query
//! time each local edge costs one or two orientation tests (filtered, with an
//! exact fallback), so decisions on shared edges are exact.
//!
//! # Boundary rule
//!
//! `locate` returns the **lowest polygon index whose closed polygon
//! (interior ∪ boundary) contains the point**. Points on an edge or vertex
//! shared by several grids therefore get the lowest of their ids, points on
//! the outer boundary of the union still get a grid, and overlapping input
//! (digitising errors) resolves to the lowest id as well. This is exactly
//! `polygons.iter().position(|g| g.intersects(&point))`.

use geo::Polygon;

use crate::IndexError;
use crate::metric::metres_per_degree;
use crate::predicates::orient;

/// Cell value flag: the low 31 bits are an offset into `blob`.
const MIXED: u32 = 1 << 31;
/// Full cells store `id + 1` below `MIXED`.
const MAX_POLYGONS: usize = (MIXED - 2) as usize;
/// 2^28 cells = 1 GiB of raster: beyond that the caller should choose a
/// larger cell size rather than have us silently use gigabytes.
const MAX_CELLS: usize = 1 << 28;
const NO_POLYGON: u32 = u32::MAX;

const EDGE_COUNT_SHIFT: u32 = 32;
const EDGE_COUNT_MASK: u64 = (1 << 30) - 1;
/// Precomputed parity bit of a candidate (see the module docs).
const BASE_BIT: u64 = 1 << 62;
/// Marks the cell's last candidate header.
const LAST_BIT: u64 = 1 << 63;

/// Immutable point → polygon index. See the module documentation.
#[derive(Debug, Clone)]
pub struct GridIndex {
    raster: Raster,
    /// One value per cell, row-major (see the module docs for the encoding).
    cells: Vec<u32>,
    /// Mixed-cell records: header `poly | edges << 32 | BASE | LAST`, then
    /// `[ax, ay, bx, by]` as `f64` bits for each local edge.
    blob: Vec<u64>,
    polygons: usize,
    cell_size_m: f64,
    counts: CellCounts,
}

#[derive(Debug, Clone, Copy, Default)]
struct CellCounts {
    empty: usize,
    full: usize,
    mixed: usize,
    entries: usize,
    edges: usize,
    max_entries: usize,
}

/// Raster geometry in degrees. Cell `(i, j)` spans
/// `[x0 + i·dx, x0 + (i+1)·dx] × [y0 + j·dy, y0 + (j+1)·dy]`; the border
/// coordinates are always computed by the same expressions so build and
/// query agree bit for bit.
#[derive(Debug, Clone, Copy)]
struct Raster {
    x0: f64,
    y0: f64,
    dx: f64,
    dy: f64,
    inv_dx: f64,
    inv_dy: f64,
    cols: usize,
    rows: usize,
    cols_f: f64,
    rows_f: f64,
    /// Conservative padding of cells when collecting their edges. It only
    /// has to exceed the rounding error of mapping a point to its cell, which
    /// is ~1e-12 of a cell; extra edges are harmless.
    pad_x: f64,
    pad_y: f64,
}

impl Raster {
    #[inline(always)]
    fn col_right(&self, i: usize) -> f64 {
        self.x0 + (i + 1) as f64 * self.dx
    }

    #[inline(always)]
    fn row_bottom(&self, j: usize) -> f64 {
        self.y0 + j as f64 * self.dy
    }

    /// Cell column of `x`, clamped to the raster.
    fn col_clamped(&self, x: f64) -> usize {
        let f = ((x - self.x0) * self.inv_dx).floor();
        if f <= 0.0 {
            0
        } else {
            (f as usize).min(self.cols - 1)
        }
    }

    fn row_clamped(&self, y: f64) -> usize {
        let f = ((y - self.y0) * self.inv_dy).floor();
        if f <= 0.0 {
            0
        } else {
            (f as usize).min(self.rows - 1)
        }
    }

    /// Index of the cell containing the point, `None` outside the raster
    /// (and for NaN).
    #[inline(always)]
    fn cell_of(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let fx = (x - self.x0) * self.inv_dx;
        let fy = (y - self.y0) * self.inv_dy;
        if fx >= 0.0 && fx < self.cols_f && fy >= 0.0 && fy < self.rows_f {
            Some((fx as usize, fy as usize))
        } else {
            None
        }
    }

    /// Calls `f` with every cell whose padded rectangle may touch the edge.
    fn for_each_cell_touching(&self, [ax, ay, bx, by]: [f64; 4], mut f: impl FnMut(usize)) {
        let (pad_x, pad_y) = (2.0 * self.pad_x, 2.0 * self.pad_y);
        let j0 = self.row_clamped(ay.min(by) - pad_y);
        let j1 = self.row_clamped(ay.max(by) + pad_y);
        for j in j0..=j1 {
            let band_lo = self.row_bottom(j) - pad_y;
            let band_hi = self.row_bottom(j + 1) + pad_y;
            let (xa, xb) = if ay == by {
                (ax.min(bx), ax.max(bx))
            } else {
                // Part of the edge inside the row's (padded) band.
                let ta = (band_lo - ay) / (by - ay);
                let tb = (band_hi - ay) / (by - ay);
                let t0 = ta.min(tb).max(0.0);
                let t1 = ta.max(tb).min(1.0);
                if t0 > t1 {
                    continue;
                }
                let xa = ax + (bx - ax) * t0;
                let xb = ax + (bx - ax) * t1;
                (xa.min(xb), xa.max(xb))
            };
            let i0 = self.col_clamped(xa - pad_x);
            let i1 = self.col_clamped(xb + pad_x);
            for i in i0..=i1 {
                f(j * self.cols + i);
            }
        }
    }
}

/// What a lookup at a point finds in the raster (diagnostics, benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Outside the raster: no polygon can contain the point.
    Outside,
    /// A cell touched by no polygon: `None` without any geometry.
    Empty,
    /// A cell inside one polygon: answered without any geometry.
    Full,
    /// A cell crossed by polygon boundaries: exact test against the
    /// candidates' local edges.
    Mixed { candidates: usize },
}

/// Size and shape of a [`GridIndex`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridIndexStats {
    pub polygons: usize,
    pub cell_size_m: f64,
    pub cols: usize,
    pub rows: usize,
    pub cells: usize,
    pub empty_cells: usize,
    pub full_cells: usize,
    pub mixed_cells: usize,
    /// Candidate polygons summed over mixed cells.
    pub candidate_entries: usize,
    /// Local edges summed over mixed cells' candidates.
    pub local_edges: usize,
    pub max_candidates_per_cell: usize,
    /// Share of cells (= share of the raster's area) answered without any
    /// polygon test.
    pub share_cells_without_test: f64,
    pub memory_bytes: usize,
}

impl GridIndex {
    /// Builds the index over `polygons` (lon/lat degrees; rings may be given
    /// in either orientation; holes are honoured) with raster cells of about
    /// `cell_size_m` metres. 25 m suits unit grids of ~100 m.
    ///
    /// Polygons are expected to be valid (simple rings); self-intersecting
    /// rings are handled with the even-odd rule.
    pub fn build(polygons: &[Polygon<f64>], cell_size_m: f64) -> Result<Self, IndexError> {
        if !(cell_size_m.is_finite() && cell_size_m > 0.0) {
            return Err(IndexError::InvalidCellSize(cell_size_m));
        }
        let Some(bbox) = bounding_box(polygons)? else {
            return Ok(Self::empty(polygons.len(), cell_size_m));
        };
        let lat0 = ((bbox[1] + bbox[3]) / 2.0).clamp(-89.0, 89.0);
        let (kx, ky) = metres_per_degree(lat0);
        let dx = cell_size_m / kx;
        let dy = cell_size_m / ky;
        // Half a cell of margin so that points on the bounding box's minimum
        // edge map into the raster.
        Self::build_raster(
            polygons,
            bbox,
            bbox[0] - dx / 2.0,
            bbox[1] - dy / 2.0,
            dx,
            dy,
            cell_size_m,
        )
    }

    fn empty(polygons: usize, cell_size_m: f64) -> Self {
        GridIndex {
            raster: Raster {
                x0: 0.0,
                y0: 0.0,
                dx: 1.0,
                dy: 1.0,
                inv_dx: 1.0,
                inv_dy: 1.0,
                cols: 0,
                rows: 0,
                cols_f: 0.0,
                rows_f: 0.0,
                pad_x: 0.0,
                pad_y: 0.0,
            },
            cells: Vec::new(),
            blob: Vec::new(),
            polygons,
            cell_size_m,
            counts: CellCounts::default(),
        }
    }

    /// Builds with an explicit raster origin and cell size in degrees
    /// (`x0 <= min lon`, `y0 <= min lat`). Tests use it to put cell borders
    /// exactly on polygon vertices and edges.
    pub(crate) fn build_raster(
        polygons: &[Polygon<f64>],
        bbox: [f64; 4],
        x0: f64,
        y0: f64,
        dx: f64,
        dy: f64,
        cell_size_m: f64,
    ) -> Result<Self, IndexError> {
        if polygons.len() > MAX_POLYGONS {
            return Err(IndexError::TooMany {
                count: polygons.len(),
                max: MAX_POLYGONS,
            });
        }
        // +2: one column for the margin at the maximum edge and one because
        // floor() of the span is the last index, not the count.
        let cols_f = ((bbox[2] - x0) / dx).floor() + 2.0;
        let rows_f = ((bbox[3] - y0) / dy).floor() + 2.0;
        // Written so that NaN (degenerate spans) is refused as well.
        let fits = cols_f * rows_f <= MAX_CELLS as f64;
        if !fits {
            return Err(IndexError::RasterTooLarge {
                cols: cols_f as usize,
                rows: rows_f as usize,
            });
        }
        let (cols, rows) = (cols_f as usize, rows_f as usize);
        let magnitude_x = bbox[0].abs().max(bbox[2].abs());
        let magnitude_y = bbox[1].abs().max(bbox[3].abs());
        let raster = Raster {
            x0,
            y0,
            dx,
            dy,
            inv_dx: 1.0 / dx,
            inv_dy: 1.0 / dy,
            cols,
            rows,
            cols_f,
            rows_f,
            pad_x: dx * 1e-6 + magnitude_x * 1e-12,
            pad_y: dy * 1e-6 + magnitude_y * 1e-12,
        };
        let ncells = cols * rows;

        // All edges, polygon after polygon, so edge ids ascend with polygon
        // ids and a per-cell list in edge order is grouped by polygon.
        let mut edges: Vec<[f64; 4]> = Vec::new();
        let mut edge_poly: Vec<u32> = Vec::new();
        let mut poly_edges: Vec<u32> = Vec::with_capacity(polygons.len() + 1);
        poly_edges.push(0);
        for (p, poly) in polygons.iter().enumerate() {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for line in ring.lines() {
                    edges.push([line.start.x, line.start.y, line.end.x, line.end.y]);
                    edge_poly.push(p as u32);
                }
            }
            if edges.len() >= u32::MAX as usize {
                return Err(IndexError::TooMany {
                    count: edges.len(),
                    max: u32::MAX as usize - 1,
                });
            }
            poly_edges.push(edges.len() as u32);
        }

        // Cell → touching edges, by counting sort in edge order (stable, so
        // each cell's list stays grouped by polygon).
        let mut cell_start = vec![0u32; ncells + 1];
        let mut touches: u64 = 0;
        for &e in &edges {
            raster.for_each_cell_touching(e, |c| {
                cell_start[c + 1] += 1;
                touches += 1;
            });
        }
        if touches >= u64::from(u32::MAX) {
            return Err(IndexError::TooMany {
                count: touches as usize,
                max: u32::MAX as usize - 1,
            });
        }
        for c in 0..ncells {
            cell_start[c + 1] += cell_start[c];
        }
        let mut cell_edges = vec![0u32; touches as usize];
        let mut fill = cell_start.clone();
        for (ei, &e) in edges.iter().enumerate() {
            raster.for_each_cell_touching(e, |c| {
                cell_edges[fill[c] as usize] = ei as u32;
                fill[c] += 1;
            });
        }
        drop(fill);

        // For every polygon and every cell of its bounding box: the exact
        // crossing parity at the cell's bottom-right corner. With local edges
        // it becomes the record's base bit; without, it tells whether the
        // polygon covers the whole cell.
        let mut group_parity = vec![false; cell_edges.len()];
        let mut covering = vec![NO_POLYGON; ncells];
        let mut crossing: Vec<[f64; 4]> = Vec::new();
        for p in 0..polygons.len() {
            let (lo, hi) = (poly_edges[p] as usize, poly_edges[p + 1] as usize);
            let es = &edges[lo..hi];
            if es.is_empty() {
                continue;
            }
            let mut b = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            for e in es {
                b = [
                    b[0].min(e[0]).min(e[2]),
                    b[1].min(e[1]).min(e[3]),
                    b[2].max(e[0]).max(e[2]),
                    b[3].max(e[1]).max(e[3]),
                ];
            }
            let i0 = raster.col_clamped(b[0] - 2.0 * raster.pad_x);
            let i1 = raster.col_clamped(b[2] + 2.0 * raster.pad_x);
            let j0 = raster.row_clamped(b[1] - 2.0 * raster.pad_y);
            let j1 = raster.row_clamped(b[3] + 2.0 * raster.pad_y);
            for j in j0..=j1 {
                let y = raster.row_bottom(j);
                crossing.clear();
                crossing.extend(es.iter().filter(|e| (e[1] > y) != (e[3] > y)));
                if crossing.is_empty() {
                    // Parity 0 everywhere on this line: nothing to record.
                    continue;
                }
                for i in i0..=i1 {
                    let x = raster.col_right(i);
                    let parity = crossing
                        .iter()
                        .fold(false, |acc, e| acc ^ crosses_right_of(*e, x, y));
                    let cell = j * cols + i;
                    let (s, t) = (cell_start[cell] as usize, cell_start[cell + 1] as usize);
                    let list = &cell_edges[s..t];
                    let k = list.partition_point(|&e| e < lo as u32);
                    if k < list.len() && (list[k] as usize) < hi {
                        group_parity[s + k] = parity;
                    } else if parity && covering[cell] == NO_POLYGON {
                        // Polygons come in ascending order: first is lowest.
                        covering[cell] = p as u32;
                    }
                }
            }
        }

        // Assemble cells and records.
        let mut cells = vec![0u32; ncells];
        let mut blob: Vec<u64> = Vec::new();
        let mut counts = CellCounts::default();
        for (cell, value) in cells.iter_mut().enumerate() {
            let (s, t) = (cell_start[cell] as usize, cell_start[cell + 1] as usize);
            let list = &cell_edges[s..t];
            let cover = covering[cell];
            let x = raster.col_right(cell % cols);
            let y = raster.row_bottom(cell / cols);
            let record = blob.len();
            let mut last_header = None;
            let mut entries = 0usize;
            let mut k = 0;
            while k < list.len() {
                let p = edge_poly[list[k] as usize];
                if p >= cover {
                    // A lower polygon covers the whole cell and wins.
                    break;
                }
                let mut m = k;
                while m < list.len() && edge_poly[list[m] as usize] == p {
                    m += 1;
                }
                let mut base = group_parity[s + k];
                let header_at = blob.len();
                blob.push(0);
                for &ei in &list[k..m] {
                    let e = edges[ei as usize];
                    base ^= crosses_x(e, x) && above_on_vertical(e, x, y);
                    blob.extend(e.iter().map(|v| v.to_bits()));
                }
                blob[header_at] = header(p, m - k, base);
                last_header = Some(header_at);
                entries += 1;
                counts.edges += m - k;
                k = m;
            }
            let Some(mut last) = last_header else {
                // No candidate below the covering polygon (or no edges).
                if cover == NO_POLYGON {
                    *value = 0;
                    counts.empty += 1;
                } else {
                    *value = cover + 1;
                    counts.full += 1;
                }
                continue;
            };
            if cover != NO_POLYGON {
                // Covers the whole cell: accepts every point, so it ends the
                // list; higher candidates were never emitted.
                last = blob.len();
                blob.push(header(cover, 0, true));
                entries += 1;
            }
            blob[last] |= LAST_BIT;
            if record >= MIXED as usize {
                return Err(IndexError::TooMany {
                    count: record,
                    max: MIXED as usize - 1,
                });
            }
            *value = MIXED | record as u32;
            counts.mixed += 1;
            counts.entries += entries;
            counts.max_entries = counts.max_entries.max(entries);
        }
        blob.shrink_to_fit();

        Ok(GridIndex {
            raster,
            cells,
            blob,
            polygons: polygons.len(),
            cell_size_m,
            counts,
        })
    }

    /// Index of the grid containing `(lon, lat)`: the lowest index whose
    /// closed polygon contains the point (see the module docs), or `None`.
    #[inline]
    pub fn locate(&self, lon: f64, lat: f64) -> Option<u32> {
        let (i, j) = self.raster.cell_of(lon, lat)?;
        let value = *self.cells.get(j * self.raster.cols + i)?;
        if value & MIXED == 0 {
            return value.checked_sub(1);
        }
        self.resolve(
            (value & !MIXED) as usize,
            lon,
            lat,
            self.raster.col_right(i),
        )
    }

    /// [`locate`](Self::locate) for many points; `out` is cleared first.
    pub fn locate_many(&self, points: &[(f64, f64)], out: &mut Vec<Option<u32>>) {
        out.clear();
        out.reserve(points.len());
        out.extend(points.iter().map(|&(lon, lat)| self.locate(lon, lat)));
    }

    /// What the raster holds at `(lon, lat)`.
    pub fn cell_kind(&self, lon: f64, lat: f64) -> CellKind {
        let Some((i, j)) = self.raster.cell_of(lon, lat) else {
            return CellKind::Outside;
        };
        let Some(&value) = self.cells.get(j * self.raster.cols + i) else {
            return CellKind::Outside;
        };
        if value == 0 {
            return CellKind::Empty;
        }
        if value & MIXED == 0 {
            return CellKind::Full;
        }
        let mut pos = (value & !MIXED) as usize;
        let mut candidates = 0;
        while let Some(&h) = self.blob.get(pos) {
            candidates += 1;
            if h & LAST_BIT != 0 {
                break;
            }
            pos += 1 + 4 * ((h >> EDGE_COUNT_SHIFT) & EDGE_COUNT_MASK) as usize;
        }
        CellKind::Mixed { candidates }
    }

    /// Heap bytes held by the index (from capacities) plus the struct.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.cells.capacity() * std::mem::size_of::<u32>()
            + self.blob.capacity() * std::mem::size_of::<u64>()
    }

    /// Number of polygons the index was built from.
    pub fn len(&self) -> usize {
        self.polygons
    }

    pub fn is_empty(&self) -> bool {
        self.polygons == 0
    }

    pub fn stats(&self) -> GridIndexStats {
        let cells = self.cells.len();
        let c = self.counts;
        GridIndexStats {
            polygons: self.polygons,
            cell_size_m: self.cell_size_m,
            cols: self.raster.cols,
            rows: self.raster.rows,
            cells,
            empty_cells: c.empty,
            full_cells: c.full,
            mixed_cells: c.mixed,
            candidate_entries: c.entries,
            local_edges: c.edges,
            max_candidates_per_cell: c.max_entries,
            share_cells_without_test: if cells == 0 {
                1.0
            } else {
                (c.empty + c.full) as f64 / cells as f64
            },
            memory_bytes: self.memory_bytes(),
        }
    }

    /// Walks a mixed cell's candidates in ascending id order and returns the
    /// first whose closed polygon contains the point.
    #[inline]
    fn resolve(&self, mut pos: usize, px: f64, py: f64, x: f64) -> Option<u32> {
        loop {
            let h = *self.blob.get(pos)?;
            let n = ((h >> EDGE_COUNT_SHIFT) & EDGE_COUNT_MASK) as usize;
            let edges = self.blob.get(pos + 1..pos + 1 + 4 * n)?;
            if closure_contains(edges, h & BASE_BIT != 0, px, py, x) {
                return Some(h as u32);
            }
            if h & LAST_BIT != 0 {
                return None;
            }
            pos += 1 + 4 * n;
        }
    }
}

fn header(poly: u32, edges: usize, base: bool) -> u64 {
    u64::from(poly)
        | ((edges as u64 & EDGE_COUNT_MASK) << EDGE_COUNT_SHIFT)
        | if base { BASE_BIT } else { 0 }
}

/// Does the closed polygon (given by its edges touching the cell and the
/// precomputed base parity) contain `p`? `x` is the cell's right border.
#[inline(always)]
fn closure_contains(edges: &[u64], base: bool, px: f64, py: f64, x: f64) -> bool {
    let mut inside = base;
    for e in edges.chunks_exact(4) {
        let ax = f64::from_bits(e[0]);
        let ay = f64::from_bits(e[1]);
        let bx = f64::from_bits(e[2]);
        let by = f64::from_bits(e[3]);
        let o1 = orient(ax, ay, bx, by, px, py);
        if o1 == 0 && px >= ax.min(bx) && px <= ax.max(bx) && py >= ay.min(by) && py <= ay.max(by) {
            // On the boundary: the closed polygon contains it.
            return true;
        }
        let cross_y = (ay > py) != (by > py);
        let cross_x = (ax > x) != (bx > x);
        if !(cross_y || cross_x) {
            continue;
        }
        let o2 = orient(ax, ay, bx, by, x, py);
        if cross_y {
            // Horizontal leg from p to (X, py): crossed iff the edge's
            // intersection with the line y = py lies in (px, X].
            let up = ay < by;
            let right_of_p = if up { o1 > 0 } else { o1 < 0 };
            let right_of_x = if up { o2 > 0 } else { o2 < 0 };
            inside ^= right_of_p ^ right_of_x;
        }
        if cross_x {
            // Vertical leg at X between Y0 and py: the Y0 half is in the
            // base bit, this is the py half.
            inside ^= above_from_orient(ax, ay, bx, by, o2);
        }
    }
    inside
}

/// For an edge crossing the horizontal line through `(x, y)`: is its
/// intersection strictly right of `x`? (The PNPOLY crossing test, exact.)
#[inline(always)]
fn crosses_right_of([ax, ay, bx, by]: [f64; 4], x: f64, y: f64) -> bool {
    let o = orient(ax, ay, bx, by, x, y);
    if ay < by { o > 0 } else { o < 0 }
}

#[inline(always)]
fn crosses_x([ax, _, bx, _]: [f64; 4], x: f64) -> bool {
    (ax > x) != (bx > x)
}

/// For an edge crossing the vertical line `x + ε`: is the crossing above
/// `y + δ` (δ ≪ ε)?
fn above_on_vertical([ax, ay, bx, by]: [f64; 4], x: f64, y: f64) -> bool {
    above_from_orient(ax, ay, bx, by, orient(ax, ay, bx, by, x, y))
}

/// `o` = orient(a, b, (x, y)). With the edge directed left to right, the
/// crossing is above `(x, y)` iff the point is to the right of the edge, or
/// on it while the edge rises (then at `x + ε` it is above `y + δ`).
#[inline(always)]
fn above_from_orient(ax: f64, ay: f64, bx: f64, by: f64, o: i8) -> bool {
    let (o, rising) = if ax < bx { (o, by > ay) } else { (-o, ay > by) };
    o < 0 || (o == 0 && rising)
}

/// Bounding box of all coordinates, `None` when there are none; fails on
/// non-finite coordinates.
fn bounding_box(polygons: &[Polygon<f64>]) -> Result<Option<[f64; 4]>, IndexError> {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (p, poly) in polygons.iter().enumerate() {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for c in ring.coords() {
                if !(c.x.is_finite() && c.y.is_finite()) {
                    return Err(IndexError::NonFiniteCoordinate { polygon: p });
                }
                b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
            }
        }
    }
    Ok((b[0] <= b[2]).then_some(b))
}

#[cfg(test)]
mod tests;
