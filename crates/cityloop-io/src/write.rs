//! Streaming writers: features go out as they come, nothing is collected.

use std::io::Write;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::WriteError;
use crate::geom;
use crate::{Feature, to_wkt};

/// Writes an RFC 7946 FeatureCollection, one feature per line.
///
/// Coordinates are written as given (the caller converts to WGS84/CGCS2000
/// lon/lat first) at full precision; polygon rings are re-oriented to the
/// right-hand rule (shells counter-clockwise). No `crs` member is written.
/// Wrap a file in a `BufWriter`.
///
/// ```
/// use cityloop_io::{Feature, GeoJsonWriter};
/// let mut w = GeoJsonWriter::new(Vec::new());
/// w.write(&Feature { index: 0, geometry: Some(geo_types::point!(x: 116.4, y: 39.9).into()), properties: Default::default() })?;
/// let bytes = w.finish()?;
/// assert!(String::from_utf8(bytes).unwrap().starts_with(r#"{"type":"FeatureCollection""#));
/// # Ok::<(), cityloop_io::WriteError>(())
/// ```
#[derive(Debug)]
pub struct GeoJsonWriter<W: Write> {
    out: W,
    written: usize,
}

#[derive(Serialize)]
struct OutFeature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    geometry: Option<geojson::Geometry>,
    properties: &'a Map<String, Value>,
}

impl<W: Write> GeoJsonWriter<W> {
    /// A writer that has written nothing yet.
    pub fn new(out: W) -> Self {
        Self { out, written: 0 }
    }

    fn start(&mut self) -> Result<(), WriteError> {
        self.out
            .write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
        Ok(())
    }

    /// Appends one feature.
    ///
    /// # Errors
    /// I/O errors, and NaN/infinite coordinates (not representable in JSON).
    pub fn write(&mut self, feature: &Feature) -> Result<(), WriteError> {
        let geometry = match &feature.geometry {
            Some(g) if !geom::all_finite(g) => {
                return Err(WriteError::NonFinite {
                    index: feature.index,
                });
            }
            Some(g) => Some(geojson::Geometry::new(geojson::GeometryValue::from(
                &geom::rfc7946(g),
            ))),
            None => None,
        };
        if self.written == 0 {
            self.start()?;
        } else {
            self.out.write_all(b",\n")?;
        }
        serde_json::to_writer(
            &mut self.out,
            &OutFeature {
                kind: "Feature",
                geometry,
                properties: &feature.properties,
            },
        )?;
        self.written += 1;
        Ok(())
    }

    /// How many features were written.
    pub fn count(&self) -> usize {
        self.written
    }

    /// Closes the collection, flushes, and returns the destination.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self) -> Result<W, WriteError> {
        if self.written == 0 {
            self.start()?;
        }
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Where a CSV puts geometries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvGeometryColumns {
    /// Longitude and latitude columns; only points can be written.
    LonLat {
        /// Longitude column name.
        lon: String,
        /// Latitude column name.
        lat: String,
    },
    /// One WKT column; any geometry.
    Wkt {
        /// Column name.
        column: String,
    },
}

impl Default for CsvGeometryColumns {
    /// `lon`, `lat`: what [`crate::FeatureReader`] detects on the way back.
    fn default() -> Self {
        Self::LonLat {
            lon: "lon".to_owned(),
            lat: "lat".to_owned(),
        }
    }
}

impl CsvGeometryColumns {
    /// A `wkt` column.
    pub fn wkt() -> Self {
        Self::Wkt {
            column: "wkt".to_owned(),
        }
    }
}

/// Writes a CSV that Excel on Chinese Windows opens correctly: UTF-8 with a
/// BOM, CRLF line ends, the given property columns and then the geometry
/// column(s).
///
/// Property values: strings as they are, numbers in full (no exponent),
/// booleans as `true`/`false`, null as an empty cell, arrays/objects as JSON.
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
    columns: Vec<String>,
    geometry: CsvGeometryColumns,
    row: Vec<String>,
}

impl<W: Write> CsvWriter<W> {
    /// Writes the BOM and header row.
    ///
    /// # Errors
    /// I/O errors, or a property column named like a geometry column.
    pub fn new(
        mut out: W,
        columns: Vec<String>,
        geometry: CsvGeometryColumns,
    ) -> Result<Self, WriteError> {
        let geometry_names: Vec<&String> = match &geometry {
            CsvGeometryColumns::LonLat { lon, lat } => vec![lon, lat],
            CsvGeometryColumns::Wkt { column } => vec![column],
        };
        let mut seen = std::collections::HashSet::new();
        for name in columns.iter().chain(geometry_names.iter().copied()) {
            if !seen.insert(name) {
                return Err(WriteError::DuplicateColumn(name.clone()));
            }
        }
        // Excel assumes the ANSI code page (GBK) without a BOM.
        out.write_all(b"\xEF\xBB\xBF")?;
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        let header: Vec<&String> = columns.iter().chain(geometry_names).collect();
        out.write_record(header)?;
        Ok(Self {
            out,
            columns,
            geometry,
            row: Vec::new(),
        })
    }

    /// Appends one feature.
    ///
    /// # Errors
    /// I/O errors; a non-point in lon/lat mode; NaN/infinite coordinates.
    pub fn write(&mut self, feature: &Feature) -> Result<(), WriteError> {
        if let Some(g) = &feature.geometry
            && !geom::all_finite(g)
        {
            return Err(WriteError::NonFinite {
                index: feature.index,
            });
        }
        self.row.clear();
        for column in &self.columns {
            self.row.push(cell_text(
                feature.properties.get(column).unwrap_or(&Value::Null),
            ));
        }
        match (&self.geometry, &feature.geometry) {
            (CsvGeometryColumns::LonLat { .. }, None) => {
                self.row.push(String::new());
                self.row.push(String::new());
            }
            (CsvGeometryColumns::LonLat { .. }, Some(geo_types::Geometry::Point(p))) => {
                self.row.push(format!("{}", p.x()));
                self.row.push(format!("{}", p.y()));
            }
            (CsvGeometryColumns::LonLat { .. }, Some(other)) => {
                return Err(WriteError::NotAPoint {
                    index: feature.index,
                    geometry: geom::type_name(other),
                });
            }
            (CsvGeometryColumns::Wkt { .. }, None) => self.row.push(String::new()),
            (CsvGeometryColumns::Wkt { .. }, Some(g)) => self.row.push(to_wkt(g)),
        }
        self.out.write_record(&self.row)?;
        Ok(())
    }

    /// Flushes and returns the destination.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(self) -> Result<W, WriteError> {
        self.out
            .into_inner()
            .map_err(|e| WriteError::Io(std::io::Error::other(e.error().to_string())))
    }
}

fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => crate::fieldmap::number_text(n),
        Value::Bool(b) => b.to_string(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}
