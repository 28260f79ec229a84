//! File import and export for cityloop: GeoJSON, ESRI Shapefile and CSV
//! turned into a stream of [`Feature`]s, and features written back out.
//!
//! The crate knows nothing about grids, components or addresses; it reads
//! geometries and attributes, detects text encodings (GBK vs UTF-8), reports
//! the CRS a file declares, and says exactly where a file is broken.
//!
//! ```no_run
//! use cityloop_io::{FeatureReader, ReadOptions};
//! use std::path::Path;
//!
//! let mut reader = FeatureReader::open(Path::new("grids.shp"), &ReadOptions::default())?;
//! println!("encoding {}, crs {:?}", reader.encoding_used().name(), reader.declared_crs());
//! for feature in &mut reader {
//!     match feature {
//!         Ok(f) => println!("{} {:?}", f.index, f.properties.get("BGID")),
//!         // e.g. "grids.shp: record 1234: truncated file: …"
//!         Err(e) if e.is_fatal() => return Err(e),
//!         Err(e) => eprintln!("skipped: {e}"),
//!     }
//! }
//! for warning in reader.warnings() {
//!     eprintln!("warning: {warning}");
//! }
//! # Ok::<(), cityloop_io::ReadError>(())
//! ```
//!
//! Memory stays constant in the file size: shapefiles and CSVs are read a
//! record at a time, GeoJSON a feature at a time.
//!
//! # Text encodings
//!
//! Applies to DBF attributes and CSV cells ([`FeatureReader::encoding_used`]
//! says what was chosen):
//!
//! 1. [`ReadOptions::encoding`], if given, is used strictly: nothing is
//!    second-guessed, and undecodable text is an error for that record.
//! 2. Else a shapefile's `.cpg` (`UTF-8`, `GBK`, `936`, `CP936`, `GB2312`,
//!    `GB18030` …, see [`encoding_from_label`]). A `.cpg` saying UTF-8 over
//!    text that is not UTF-8 is overridden to GBK, with a warning.
//! 3. Else the bytes are sniffed (DBF: field names and character fields; CSV:
//!    the first MiB; a UTF-8 BOM settles it): valid UTF-8 or plain ASCII →
//!    UTF-8, otherwise GBK (decoded by the GB18030-capable decoder).
//! 4. Each value is still checked, with a warning when something is done:
//!    text invalid in the chosen encoding is retried as GBK/UTF-8; UTF-8 text
//!    that is GBK misread as Latin-1/Windows-1252 (`½ð¹ðÉçÇø`) is repaired
//!    to `金桂社区`; a character cut off by a DBF field width is dropped; text
//!    already containing U+FFFD is flagged.
//!
//! GeoJSON is UTF-8 by definition; a file whose first 64 KiB are not is
//! transcoded from GBK with a warning. The DBF language-driver byte is
//! ignored: it is too often wrong.
//!
//! # Geometry
//!
//! Z and M values are dropped. Shapefile polygons become a `Polygon` (one
//! outer ring) or `MultiPolygon`, each hole assigned to the smallest outer
//! ring containing it, rings oriented per RFC 7946 (outer counter-clockwise).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod crs;
mod csv_read;
mod dbf;
mod error;
mod fieldmap;
mod geojson_read;
mod geom;
mod io_util;
mod shp;
mod text;
mod upload;
mod wkt;
mod write;

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use encoding_rs::{Encoding, UTF_8};
use serde_json::{Map, Value};

pub use dbf::ReadSeek;
pub use error::{Position, ReadError, ReadErrorKind, Warning, WriteError};
pub use fieldmap::{FieldMap, FieldMapError, get_str};
pub use shp::ShapefileParts;
pub use text::encoding_from_label;
pub use wkt::{parse_wkt, to_wkt};
pub use write::{CsvGeometryColumns, CsvWriter, GeoJsonWriter};

/// A file format this crate reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RFC 7946 GeoJSON (and the older 2008 form with a `crs` member).
    GeoJson,
    /// ESRI Shapefile (`.shp` + `.dbf`, optional `.shx`, `.prj`, `.cpg`).
    Shapefile,
    /// Comma-separated values with a header row.
    Csv,
}

impl Format {
    /// The format a path's extension names (`.geojson`/`.json`, `.shp`,
    /// `.csv`, any case).
    ///
    /// ```
    /// use cityloop_io::Format;
    /// use std::path::Path;
    /// assert_eq!(Format::from_path(Path::new("a/GRIDS.SHP")), Some(Format::Shapefile));
    /// assert_eq!(Format::from_path(Path::new("x.json")), Some(Format::GeoJson));
    /// assert_eq!(Format::from_path(Path::new("x.kml")), None);
    /// ```
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "geojson" | "json" => Some(Self::GeoJson),
            "shp" => Some(Self::Shapefile),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// One record of a file: its position, geometry and attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// 0-based position in the file (records skipped as deleted or blank
    /// still count, so this matches the file's own numbering/FID).
    pub index: usize,
    /// `None` for a null shape, a `null` GeoJSON geometry, or a CSV row with
    /// empty coordinate cells; whether that is acceptable is the caller's call.
    pub geometry: Option<geo_types::Geometry<f64>>,
    /// Attributes. DBF: numbers, ISO dates, booleans, strings, null for
    /// empty. CSV: strings, null for empty. GeoJSON: as written, plus `id`.
    pub properties: Map<String, Value>,
}

/// How to read a file. `Default` detects everything.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Text encoding to use instead of detecting it (see
    /// [`encoding_from_label`] for turning `--encoding gbk` into one).
    /// Overrides a `.cpg`, and disables the GBK/mojibake fallbacks.
    pub encoding: Option<&'static Encoding>,
    /// CSV longitude/easting column. Default: the first of
    /// lon, lng, longitude, long, x, point_x, 经度, x坐标 (any case).
    pub csv_x: Option<String>,
    /// CSV latitude/northing column. Default: the first of
    /// lat, latitude, y, point_y, 纬度, y坐标 (any case).
    pub csv_y: Option<String>,
    /// CSV column holding WKT geometries; takes precedence over x/y. Used by
    /// default (as wkt, geometry, geom or the_geom) when no x/y columns exist.
    pub csv_wkt: Option<String>,
}

/// State shared by every source: where we are and what to warn about.
pub(crate) struct Ctx {
    format: Format,
    warnings: error::Warnings,
}

impl Ctx {
    pub(crate) fn warn(&mut self, path: &Path, position: Option<Position>, message: String) {
        self.push(Warning {
            path: path.to_path_buf(),
            format: self.format,
            position,
            message,
        });
    }

    pub(crate) fn push(&mut self, warning: Warning) {
        self.warnings.push(warning);
    }
}

enum Source {
    GeoJson(Box<geojson_read::GeoJsonSource>),
    Shapefile(Box<shp::ShapefileSource>),
    Csv(Box<csv_read::CsvSource>),
}

/// A stream of [`Feature`]s from one file.
///
/// Iterating yields `Ok(feature)` per record, or an error naming the file and
/// record. After a fatal error ([`ReadError::is_fatal`]) iteration ends;
/// after any other error the following records are still read.
pub struct FeatureReader {
    path: PathBuf,
    ctx: Ctx,
    source: Source,
    encoding: &'static Encoding,
    bytes_read: Option<Arc<AtomicU64>>,
    total_bytes: Option<u64>,
    decoding_replacements: Option<Arc<AtomicU64>>,
}

impl std::fmt::Debug for FeatureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureReader")
            .field("path", &self.path)
            .field("format", &self.ctx.format)
            .field("encoding", &self.encoding.name())
            .finish_non_exhaustive()
    }
}

/// How much of a GeoJSON file is looked at to tell GBK from UTF-8.
const GEOJSON_SNIFF_PREFIX: u64 = 64 * 1024;

impl FeatureReader {
    /// Opens a file, choosing the format by extension.
    ///
    /// For a shapefile, pass the `.shp`; the `.dbf`, `.prj`, `.cpg` and
    /// `.shx` next to it (same stem, lower- or upper-case extension) are used.
    ///
    /// # Errors
    /// Unsupported extension, unreadable file, or a header that is already
    /// broken (missing CSV header row, bad .shp/.dbf header, JSON that is not
    /// an object or array …).
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Self, ReadError> {
        let format = Format::from_path(path)
            .ok_or_else(|| ReadError::new(path, None, ReadErrorKind::UnsupportedFormat))?;
        Self::open_as(path, format, opts)
    }

    /// Opens a file as the given format, whatever its extension.
    ///
    /// # Errors
    /// As for [`FeatureReader::open`].
    pub fn open_as(path: &Path, format: Format, opts: &ReadOptions) -> Result<Self, ReadError> {
        match format {
            Format::Shapefile => {
                let mut ctx = new_ctx(format);
                let source = shp::ShapefileSource::open(path, opts, &mut ctx)?;
                Ok(Self {
                    path: path.to_path_buf(),
                    encoding: source.encoding(),
                    ctx,
                    source: Source::Shapefile(Box::new(source)),
                    bytes_read: None,
                    total_bytes: None,
                    decoding_replacements: None,
                })
            }
            Format::GeoJson | Format::Csv => {
                let file =
                    File::open(path).map_err(|e| ReadError::new(path, Some(format), e.into()))?;
                let size = file.metadata().ok().map(|m| m.len());
                Self::from_reader(path, format, Box::new(file), size, opts)
            }
        }
    }

    /// Reads GeoJSON or CSV from any byte stream (an upload, an archive
    /// entry). `name` is only used in messages; `size`, if known, feeds
    /// [`FeatureReader::bytes_read_hint`].
    ///
    /// # Errors
    /// As for [`FeatureReader::open`]; a shapefile needs
    /// [`FeatureReader::from_shapefile_parts`].
    pub fn from_reader(
        name: &Path,
        format: Format,
        reader: Box<dyn Read + Send>,
        size: Option<u64>,
        opts: &ReadOptions,
    ) -> Result<Self, ReadError> {
        let mut ctx = new_ctx(format);
        let (counted, bytes_read) = io_util::CountingReader::new(reader);
        match format {
            Format::Csv => {
                let source = csv_read::CsvSource::new(name, Box::new(counted), opts, &mut ctx)?;
                Ok(Self {
                    path: name.to_path_buf(),
                    encoding: source.encoding(),
                    ctx,
                    source: Source::Csv(Box::new(source)),
                    bytes_read: Some(bytes_read),
                    total_bytes: size,
                    decoding_replacements: None,
                })
            }
            Format::GeoJson => {
                let (reader, encoding, replacements) =
                    geojson_input(name, Box::new(counted), opts, &mut ctx)?;
                let source = geojson_read::GeoJsonSource::new(name, reader)?;
                Ok(Self {
                    path: name.to_path_buf(),
                    encoding,
                    ctx,
                    source: Source::GeoJson(Box::new(source)),
                    bytes_read: Some(bytes_read),
                    total_bytes: size,
                    decoding_replacements: replacements,
                })
            }
            Format::Shapefile => Err(ReadError::new(
                name,
                Some(format),
                ReadErrorKind::Shp(
                    "a shapefile is several files; use FeatureReader::from_shapefile_parts"
                        .to_owned(),
                ),
            )),
        }
    }

    /// Reads a shapefile from its parts (e.g. out of an uploaded zip).
    /// `name` is the `.shp` name used in messages; the `.dbf` is named after
    /// it.
    ///
    /// # Errors
    /// A broken `.shp` or `.dbf` header.
    pub fn from_shapefile_parts(
        name: &Path,
        parts: ShapefileParts,
        opts: &ReadOptions,
    ) -> Result<Self, ReadError> {
        let mut ctx = new_ctx(Format::Shapefile);
        let source = shp::ShapefileSource::from_parts(name, parts, opts, &mut ctx)?;
        Ok(Self {
            path: name.to_path_buf(),
            encoding: source.encoding(),
            ctx,
            source: Source::Shapefile(Box::new(source)),
            bytes_read: None,
            total_bytes: None,
            decoding_replacements: None,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The format being read.
    pub fn format(&self) -> Format {
        self.ctx.format
    }

    /// Number of records, when cheap to know: the `.dbf` record count (or
    /// the `.shx` size) for shapefiles; `None` for GeoJSON and CSV, which
    /// would need a full pass (use [`FeatureReader::bytes_read_hint`]).
    /// Deleted DBF records are included.
    pub fn total_hint(&self) -> Option<usize> {
        match &self.source {
            Source::Shapefile(s) => s.total_hint(),
            Source::GeoJson(_) | Source::Csv(_) => None,
        }
    }

    /// `(bytes read, total bytes)` for a progress bar, when the total is
    /// known. Reads run a little ahead of the features returned (buffering).
    pub fn bytes_read_hint(&self) -> Option<(u64, u64)> {
        match &self.source {
            Source::Shapefile(s) => s.bytes_read_hint(),
            Source::GeoJson(_) | Source::Csv(_) => {
                let read = self.bytes_read.as_ref()?.load(Ordering::Relaxed);
                let total = self.total_bytes?;
                Some((read.min(total), total))
            }
        }
    }

    /// The CRS the file declares, as cityloop names it: `wgs84`,
    /// `cgcs2000`, `cgcs2000-gk3-39`, `cgcs2000-gk3-39-prefixed`; other
    /// declared systems as `EPSG:<code>` or their WKT name. `None` when the
    /// file declares nothing (for GeoJSON, RFC 7946 then means WGS84, but
    /// that default is the caller's to apply).
    ///
    /// A GeoJSON `crs` member placed after `features` is only seen once
    /// iteration has passed the features.
    pub fn declared_crs(&self) -> Option<String> {
        match &self.source {
            Source::Shapefile(s) => s.crs.clone(),
            Source::GeoJson(s) => s.crs.clone(),
            Source::Csv(_) => None,
        }
    }

    /// The text encoding in use: explicit, from `.cpg`, or detected.
    /// Always UTF-8 for GeoJSON unless the file turned out not to be.
    pub fn encoding_used(&self) -> &'static Encoding {
        self.encoding
    }

    /// Property names in file order, where the file has a schema (DBF
    /// fields; CSV columns other than coordinates). `None` for GeoJSON.
    /// Useful because [`Feature::properties`] is sorted by key.
    pub fn field_names(&self) -> Option<Vec<String>> {
        match &self.source {
            Source::Shapefile(s) => s.field_names.clone(),
            Source::Csv(s) => Some(s.field_names()),
            Source::GeoJson(_) => None,
        }
    }

    /// Warnings so far (the first 200; see [`FeatureReader::warning_count`]).
    pub fn warnings(&self) -> &[Warning] {
        self.ctx.warnings.kept()
    }

    /// How many warnings there were in total, including any not kept.
    pub fn warning_count(&self) -> usize {
        self.ctx.warnings.total()
    }

    fn note_replacements(&mut self) {
        let Some(counter) = &self.decoding_replacements else {
            return;
        };
        let replaced = counter.swap(0, Ordering::Relaxed);
        if replaced > 0 {
            let message = format!(
                "some bytes are not valid {} and were replaced with U+FFFD",
                self.encoding.name()
            );
            let path = self.path.clone();
            self.ctx.warn(&path, None, message);
        }
    }
}

fn new_ctx(format: Format) -> Ctx {
    Ctx {
        format,
        warnings: error::Warnings::default(),
    }
}

type GeoJsonInput = (
    Box<dyn Read + Send>,
    &'static Encoding,
    Option<Arc<AtomicU64>>,
);

/// GeoJSON must be UTF-8, but GBK files exist; look at the start of the file
/// and transcode if it is not UTF-8 (or if the caller says so).
fn geojson_input(
    name: &Path,
    mut reader: Box<dyn Read + Send>,
    opts: &ReadOptions,
    ctx: &mut Ctx,
) -> Result<GeoJsonInput, ReadError> {
    let mut prefix = Vec::new();
    reader
        .by_ref()
        .take(GEOJSON_SNIFF_PREFIX)
        .read_to_end(&mut prefix)
        .map_err(|e| ReadError::new(name, Some(Format::GeoJson), e.into()))?;
    let encoding = match opts.encoding {
        Some(explicit) => explicit,
        None => {
            let mut sniffer = text::Sniffer::default();
            sniffer.feed(&prefix);
            if sniffer.verdict() == text::Verdict::Gbk {
                ctx.warn(
                    name,
                    None,
                    "GeoJSON should be UTF-8 but this file is not; decoding as GBK".to_owned(),
                );
                encoding_rs::GBK
            } else {
                UTF_8
            }
        }
    };
    let joined: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(reader));
    if encoding == UTF_8 {
        return Ok((joined, UTF_8, None));
    }
    let decoding = io_util::DecodingReader::new(joined, encoding);
    let replacements = Arc::clone(&decoding.replacements);
    Ok((Box::new(decoding), encoding, Some(replacements)))
}

impl Iterator for FeatureReader {
    type Item = Result<Feature, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = match &mut self.source {
            Source::GeoJson(s) => s.next(&mut self.ctx),
            Source::Shapefile(s) => s.next(&mut self.ctx),
            Source::Csv(s) => s.next(&mut self.ctx),
        };
        self.note_replacements();
        item
    }
}
