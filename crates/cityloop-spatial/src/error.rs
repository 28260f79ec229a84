use thiserror::Error;

/// Why an index could not be built.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The requested raster cell size is not a positive finite number.
    #[error("cell size must be a positive finite number of metres, got {0}")]
    InvalidCellSize(f64),
    /// A polygon has a NaN or infinite coordinate.
    #[error("polygon {polygon} has a non-finite coordinate")]
    NonFiniteCoordinate { polygon: usize },
    /// A point has a coordinate that is not finite or outside
    /// lon ∈ [-180, 180], lat ∈ [-85, 85] (the local metric projection is
    /// meaningless near the poles). `index` is the position in the input
    /// slice, or the point's id for [`crate::PointIndex::upsert`].
    #[error("point {index} has an invalid coordinate ({lon}, {lat})")]
    InvalidPoint { index: usize, lon: f64, lat: f64 },
    /// More items than the compact encodings can address.
    #[error("too many items: {count} (at most {max})")]
    TooMany { count: usize, max: usize },
    /// The raster would need too many cells; use a larger cell size.
    #[error("raster of {cols} x {rows} cells is too large; use a larger cell size")]
    RasterTooLarge { cols: usize, rows: usize },
}
