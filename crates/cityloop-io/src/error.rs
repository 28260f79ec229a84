//! Errors and warnings.
//!
//! Every read error names the file, and — once records are being read — the
//! record (0-based, the same number as [`crate::Feature::index`]), the line for
//! CSV and GeoJSON, and the field or column where that is known, so a caller
//! can print it as one line:
//!
//! ```text
//! grids.shp: record 1234: truncated file: record needs 120 bytes of content, the file ends after 37
//! addresses.csv: record 12 (line 14), column "lon": not a number: "abc"
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use crate::Format;

/// Where inside a file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 0-based record/feature index, the same number as [`crate::Feature::index`].
    pub index: usize,
    /// 1-based line (CSV rows, GeoJSON features) where known.
    pub line: Option<u64>,
    /// The DBF field or CSV column concerned, where known.
    pub field: Option<String>,
}

/// Why reading failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The path's extension does not name a supported format.
    #[error("unsupported file type (expected .geojson, .json, .shp or .csv)")]
    UnsupportedFormat,
    /// The file ends in the middle of a header, record or JSON value.
    #[error("truncated file: {0}")]
    Truncated(String),
    /// GeoJSON text that is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Valid JSON that is not valid GeoJSON.
    #[error("invalid GeoJSON: {0}")]
    GeoJson(String),
    /// A geometry type this crate cannot turn into `geo_types` (e.g. MultiPatch).
    #[error("unsupported geometry type: {0}")]
    UnsupportedGeometry(String),
    /// A geometry whose coordinates or structure are unusable.
    #[error("invalid geometry: {0}")]
    InvalidGeometry(String),
    /// Text that cannot be decoded with the encoding in use (nor, when the
    /// encoding was detected rather than given, with the GBK/UTF-8 fallback).
    #[error("text is not valid {encoding}; pass the right encoding explicitly")]
    Undecodable {
        /// Name of the encoding that was tried first.
        encoding: &'static str,
    },
    /// A malformed .dbf header or record.
    #[error("invalid .dbf: {0}")]
    Dbf(String),
    /// A malformed .shp header or record.
    #[error("invalid .shp: {0}")]
    Shp(String),
    /// The .shp and .dbf do not have the same number of records.
    #[error("{0}")]
    RecordCountMismatch(String),
    /// Malformed CSV.
    #[error("invalid CSV: {0}")]
    Csv(String),
    /// A CSV without a header row.
    #[error("the CSV has no header row")]
    NoHeader,
    /// A column named in [`crate::ReadOptions`] is not in the header.
    #[error("column {column:?} not found; columns are: {}", .available.join(", "))]
    MissingColumn {
        /// The requested column.
        column: String,
        /// The header as read.
        available: Vec<String>,
    },
    /// No x/y or WKT column was named and none could be recognised.
    #[error(
        "no coordinate columns found (looked for lon/lng/longitude/x/经度 and lat/latitude/y/纬度, or wkt/geometry); columns are: {}; name them explicitly",
        .available.join(", ")
    )]
    NoCoordinateColumns {
        /// The header as read.
        available: Vec<String>,
    },
    /// A coordinate cell that is not a finite number.
    #[error("not a number: {0:?}")]
    BadCoordinate(String),
    /// One coordinate cell is filled and the other is empty or absent.
    #[error("coordinate is missing")]
    MissingCoordinate,
    /// A WKT cell that cannot be parsed.
    #[error("invalid WKT: {0}")]
    Wkt(String),
    /// An uploaded archive that is not a readable zip, or does not hold exactly one shapefile.
    #[error("invalid zip archive: {0}")]
    Zip(String),
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    format: Option<Format>,
    position: Option<Position>,
    kind: ReadErrorKind,
    fatal: bool,
}

/// A read failure, naming the file and, where known, the record, line and field.
///
/// Boxed so that `Result<Feature, ReadError>` stays small.
///
/// After an error for which [`ReadError::is_fatal`] is true the
/// [`crate::FeatureReader`] yields nothing more (the stream position is lost);
/// after any other error the next record can still be read, so a caller may
/// log it and carry on.
#[derive(Debug)]
pub struct ReadError(Box<Inner>);

impl ReadError {
    pub(crate) fn new(path: &Path, format: Option<Format>, kind: ReadErrorKind) -> Self {
        Self(Box::new(Inner {
            path: path.to_path_buf(),
            format,
            position: None,
            kind,
            fatal: true,
        }))
    }

    pub(crate) fn at(mut self, index: usize) -> Self {
        self.0.position = Some(Position {
            index,
            line: None,
            field: None,
        });
        self
    }

    pub(crate) fn line(mut self, line: u64) -> Self {
        if let Some(position) = self.0.position.as_mut() {
            position.line = Some(line);
        }
        self
    }

    pub(crate) fn field(mut self, field: &str) -> Self {
        if let Some(position) = self.0.position.as_mut() {
            position.field = Some(field.to_owned());
        }
        self
    }

    /// Marks an error after which the next record can still be read.
    pub(crate) fn recoverable(mut self) -> Self {
        self.0.fatal = false;
        self
    }

    /// The file concerned (a .dbf error names the .dbf, not the .shp).
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Record/feature, line and field, once records are being read.
    pub fn position(&self) -> Option<&Position> {
        self.0.position.as_ref()
    }

    /// The 0-based record/feature index, if the error concerns one.
    pub fn index(&self) -> Option<usize> {
        self.0.position.as_ref().map(|p| p.index)
    }

    /// Why reading failed.
    pub fn kind(&self) -> &ReadErrorKind {
        &self.0.kind
    }

    /// Whether the reader stops after this error.
    pub fn is_fatal(&self) -> bool {
        self.0.fatal
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.0.path.display())?;
        if let Some(position) = &self.0.position {
            write_position(f, self.0.format, position)?;
            f.write_str(": ")?;
        }
        write!(f, "{}", self.0.kind)
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            ReadErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

fn write_position(
    f: &mut fmt::Formatter<'_>,
    format: Option<Format>,
    position: &Position,
) -> fmt::Result {
    // GeoJSON users think in "features", shapefile and spreadsheet users in
    // records; columns are what a CSV user sees in Excel.
    let (unit, field_word) = match format {
        Some(Format::GeoJson) => ("feature", "property"),
        Some(Format::Csv) => ("record", "column"),
        Some(Format::Shapefile) | None => ("record", "field"),
    };
    write!(f, "{unit} {}", position.index)?;
    if let Some(line) = position.line {
        write!(f, " (line {line})")?;
    }
    if let Some(field) = &position.field {
        write!(f, ", {field_word} {field:?}")?;
    }
    Ok(())
}

/// Something that did not stop reading but that a person importing the file
/// should know about (text repaired from mojibake, a deleted DBF record
/// skipped, an unknown .cpg label …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file concerned.
    pub path: PathBuf,
    /// The format being read, to name records the way the user knows them.
    pub format: Format,
    /// Record/feature, line and field, when the warning concerns one.
    pub position: Option<Position>,
    /// What happened.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path.display())?;
        if let Some(position) = &self.position {
            write_position(f, Some(self.format), position)?;
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

/// Only this many warnings are kept, so a file where every record warns
/// (e.g. a wrong .cpg) cannot grow memory without bound; the rest are counted.
pub(crate) const MAX_KEPT_WARNINGS: usize = 200;

#[derive(Debug, Default)]
pub(crate) struct Warnings {
    kept: Vec<Warning>,
    total: usize,
}

impl Warnings {
    pub(crate) fn push(&mut self, warning: Warning) {
        self.total += 1;
        if self.kept.len() < MAX_KEPT_WARNINGS {
            self.kept.push(warning);
        }
    }

    pub(crate) fn kept(&self) -> &[Warning] {
        &self.kept
    }

    pub(crate) fn total(&self) -> usize {
        self.total
    }
}

/// Why writing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The destination could not be written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// JSON serialisation failed.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// CSV serialisation failed.
    #[error("{0}")]
    Csv(#[from] csv::Error),
    /// A lon/lat CSV can only hold points.
    #[error("feature {index}: a {geometry} cannot be written as lon/lat columns; use a WKT column")]
    NotAPoint {
        /// The feature's index.
        index: usize,
        /// The geometry type found.
        geometry: &'static str,
    },
    /// NaN or infinite coordinates cannot be written as GeoJSON or CSV.
    #[error("feature {index}: geometry has a NaN or infinite coordinate")]
    NonFinite {
        /// The feature's index.
        index: usize,
    },
    /// A property column has the same name as a geometry column.
    #[error("column {0:?} appears twice (property and geometry columns must differ)")]
    DuplicateColumn(String),
}
