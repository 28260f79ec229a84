//! Spatial indexes for cityloop: locate a reported point in its unit grid
//! (单元网格) and find the nearest city components (部件).
//!
//! Two immutable, read-optimised indexes (rebuild in the background and swap,
//! e.g. with `arc-swap`; both are `Send + Sync`):
//!
//! * [`GridIndex`]: point → polygon of a tiling. A uniform raster over the
//!   polygons' bounding box whose cells are *empty*, *full* (answered without
//!   any geometry) or *mixed* (a short per-cell list of candidate polygons,
//!   each with only the boundary edges that touch the cell, tested with exact
//!   predicates). A point on a shared boundary resolves to the **lowest
//!   polygon index whose closed polygon contains it**, so the answer is
//!   deterministic and never `None` for a point of the closed union.
//! * [`PointIndex`]: nearest / k-nearest / within-radius over points, with an
//!   optional component-class filter and distances in metres. Points are
//!   bucketed in a uniform grid of cells in a local metric projection; each
//!   class also gets its own bucket grid so class-filtered queries stay fast
//!   for rare classes. Single-point `upsert`/`remove` go to a small overlay
//!   that is merged by [`PointIndex::rebuilt`].
//!
//! Coordinates are WGS84 longitude/latitude in degrees everywhere in the API.
//! Ids are `u32` indices into the caller's own arrays.
//!
//! [`synth`] generates a deterministic synthetic city for tests and
//! benchmarks.
//!
//! ```
//! use cityloop_spatial::{GridIndex, IndexedPoint, PointIndex};
//! use geo::polygon;
//!
//! // Two unit grids sharing the edge lon = 116.401.
//! let grids = vec![
//!     polygon![(x: 116.400, y: 39.900), (x: 116.401, y: 39.900), (x: 116.401, y: 39.901), (x: 116.400, y: 39.901)],
//!     polygon![(x: 116.401, y: 39.900), (x: 116.402, y: 39.900), (x: 116.402, y: 39.901), (x: 116.401, y: 39.901)],
//! ];
//! let grid = GridIndex::build(&grids, 25.0)?;
//! assert_eq!(grid.locate(116.4015, 39.9005), Some(1));
//! assert_eq!(grid.locate(116.401, 39.9005), Some(0)); // shared edge: lowest id
//! assert_eq!(grid.locate(116.5, 39.9), None);
//!
//! let components = vec![
//!     IndexedPoint { lon: 116.4003, lat: 39.9002, id: 0, class: 1 }, // manhole cover
//!     IndexedPoint { lon: 116.4011, lat: 39.9004, id: 1, class: 2 }, // street lamp
//! ];
//! let points = PointIndex::build(&components)?;
//! let near = points.nearest(116.4010, 39.9004, 1, Some(50.0), None);
//! assert_eq!(near[0].0, 1);
//! assert!((near[0].1 - 8.5).abs() < 0.1); // metres
//! let lamps = points.nearest(116.4003, 39.9002, 1, None, Some(&[2]));
//! assert_eq!(lamps[0].0, 1);
//! # Ok::<(), cityloop_spatial::IndexError>(())
//! ```

#![forbid(unsafe_code)]

mod error;
mod grid;
mod metric;
mod points;
mod predicates;
pub mod synth;

pub use error::IndexError;
pub use grid::{CellKind, GridIndex, GridIndexStats};
pub use metric::local_distance_m;
pub use points::{DEFAULT_POINTS_PER_CELL, IndexedPoint, PointIndex, PointIndexStats};

#[cfg(test)]
mod tests {
    /// Indexes are shared across request handlers (e.g. behind arc-swap).
    #[test]
    fn indexes_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::GridIndex>();
        check::<crate::PointIndex>();
    }
}
