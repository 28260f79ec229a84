//! Geodata building blocks for cityloop, the digital urban-management
//! platform (数字城管).
//!
//! - [`crs`]: the coordinate systems input arrives in (WGS84, CGCS2000,
//!   GCJ-02, BD-09, CGCS2000 3° Gauss-Krüger) and conversion to and from the
//!   storage system, CGCS2000 longitude/latitude.
//! - [`codes`]: unit-grid codes (GB/T 30428.1) and component identifiers
//!   (GB/T 30428.2).
//! - [`validate`]: problem reports for imported grid polygons, simple
//!   repairs, and geodesic areas.
//! - [`simplify`]: zoom-dependent simplification for map display.
//!
//! The crate is a pure library: no I/O, no clock, no async, no global state.
//!
//! ```
//! use cityloop_geo::crs::{Crs, Extent, RawCoordinate};
//!
//! // A report from an Amap-based phone app, with the city's extent check.
//! let raw = RawCoordinate { crs: "gcj02".parse()?, x: 116.41024449916938, y: 39.91640428150164 };
//! let stored = raw.to_storage()?;
//! stored.within(&Extent::new(115.4, 39.4, 117.5, 41.1)?)?;
//! assert!((stored.lon() - 116.404).abs() < 1e-9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs, clippy::expect_used, clippy::panic)]

pub mod address;
pub mod codes;
pub mod crs;
pub mod simplify;
pub mod validate;

pub use crs::{Crs, CrsError, LonLat, RawCoordinate, from_storage, to_storage};
