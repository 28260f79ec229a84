//! CSV source: a header row, coordinates from x/y or WKT columns, every other
//! column as a string property.
//!
//! Rows are read as bytes and each cell decoded on its own, so GBK and UTF-8
//! files go through the same per-value checks as DBF text (GBK never uses
//! bytes below 0x40 in a multi-byte character, so splitting GBK bytes on
//! commas, quotes and newlines is safe).

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use encoding_rs::{Encoding, GBK, UTF_8};
use serde_json::{Map, Value};

use crate::error::{Position, ReadError, ReadErrorKind, Warning};
use crate::text::{Sniffer, TextDecoder, Verdict};
use crate::{Ctx, Feature, Format, ReadOptions};

/// How much of the file is held in memory to detect its encoding.
const SNIFF_PREFIX: u64 = 1024 * 1024;

const X_NAMES: [&str; 8] = [
    "lon",
    "lng",
    "longitude",
    "long",
    "x",
    "point_x",
    "经度",
    "x坐标",
];
const Y_NAMES: [&str; 6] = ["lat", "latitude", "y", "point_y", "纬度", "y坐标"];
const WKT_NAMES: [&str; 4] = ["wkt", "geometry", "geom", "the_geom"];

#[derive(Debug, Clone)]
enum GeometryColumns {
    Xy { x: usize, y: usize },
    Wkt { column: usize },
}

type Input = std::io::Chain<Cursor<Vec<u8>>, Box<dyn Read + Send>>;

pub(crate) struct CsvSource {
    path: PathBuf,
    reader: csv::Reader<Input>,
    decoder: TextDecoder,
    headers: Vec<String>,
    geometry: GeometryColumns,
    properties: Vec<usize>,
    record: csv::ByteRecord,
    next_index: usize,
    done: bool,
}

fn find(headers: &[String], wanted: &str) -> Option<usize> {
    let wanted = wanted.trim();
    headers
        .iter()
        .position(|h| h == wanted)
        .or_else(|| headers.iter().position(|h| h.eq_ignore_ascii_case(wanted)))
}

fn detect(headers: &[String], candidates: &[&str]) -> Option<usize> {
    candidates.iter().find_map(|c| find(headers, c))
}

impl CsvSource {
    pub(crate) fn new(
        path: &Path,
        mut input: Box<dyn Read + Send>,
        opts: &ReadOptions,
        ctx: &mut Ctx,
    ) -> Result<Self, ReadError> {
        let err = |kind| ReadError::new(path, Some(Format::Csv), kind);
        let mut prefix = Vec::new();
        input
            .by_ref()
            .take(SNIFF_PREFIX)
            .read_to_end(&mut prefix)
            .map_err(|e| err(e.into()))?;
        if prefix.starts_with(&[0xFF, 0xFE]) || prefix.starts_with(&[0xFE, 0xFF]) {
            return Err(err(ReadErrorKind::Csv(
                "UTF-16 text (Excel \"Unicode text\") is not supported; save as \"CSV UTF-8\""
                    .to_owned(),
            )));
        }
        let bom = prefix.starts_with(b"\xEF\xBB\xBF");
        if bom {
            prefix.drain(..3);
        }
        let (encoding, repair): (&'static Encoding, bool) = match opts.encoding {
            Some(explicit) => (explicit, false),
            None if bom => (UTF_8, true),
            None => {
                let mut sniffer = Sniffer::default();
                sniffer.feed(&prefix);
                match sniffer.verdict() {
                    Verdict::Gbk => (GBK, true),
                    Verdict::MostlyUtf8 => {
                        ctx.warn(
                            path,
                            None,
                            "text is UTF-8 with some broken bytes; affected values are retried as GBK"
                                .to_owned(),
                        );
                        (UTF_8, true)
                    }
                    Verdict::Ascii | Verdict::Utf8 => (UTF_8, true),
                }
            }
        };
        let decoder = TextDecoder { encoding, repair };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Cursor::new(prefix).chain(input));

        let mut raw_header = csv::ByteRecord::new();
        match reader.read_byte_record(&mut raw_header) {
            Ok(true) => {}
            Ok(false) => return Err(err(ReadErrorKind::NoHeader)),
            Err(e) => return Err(err(ReadErrorKind::Csv(e.to_string()))),
        }
        let headers = decode_headers(path, &raw_header, &decoder, ctx)?;

        let geometry = choose_geometry(&headers, opts).map_err(err)?;
        let geometry_columns: Vec<usize> = match geometry {
            GeometryColumns::Xy { x, y } => vec![x, y],
            GeometryColumns::Wkt { column } => vec![column],
        };
        let properties = (0..headers.len())
            .filter(|i| !geometry_columns.contains(i))
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            decoder,
            headers,
            geometry,
            properties,
            record: csv::ByteRecord::new(),
            next_index: 0,
            done: false,
        })
    }

    pub(crate) fn encoding(&self) -> &'static Encoding {
        self.decoder.encoding
    }

    /// Property column names in file order (coordinate columns excluded).
    pub(crate) fn field_names(&self) -> Vec<String> {
        self.properties
            .iter()
            .filter_map(|&i| self.headers.get(i).cloned())
            .collect()
    }

    pub(crate) fn next(&mut self, ctx: &mut Ctx) -> Option<Result<Feature, ReadError>> {
        loop {
            if self.done {
                return None;
            }
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    let mut error = ReadError::new(
                        &self.path,
                        Some(Format::Csv),
                        ReadErrorKind::Csv(e.to_string()),
                    )
                    .at(self.next_index);
                    if let Some(p) = e.position() {
                        error = error.line(p.line());
                    }
                    return Some(Err(error));
                }
            }
            let index = self.next_index;
            self.next_index += 1;
            // Spreadsheets leave rows of empty cells (",,,,") at the end.
            if self
                .record
                .iter()
                .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            let line = self.record.position().map_or(0, csv::Position::line);
            if self.record.len() > self.headers.len() {
                // Usually an unquoted comma inside a value ("北京市,朝阳区"),
                // which shifts every later column.
                ctx.push(Warning {
                    path: self.path.clone(),
                    format: Format::Csv,
                    position: Some(Position {
                        index,
                        line: Some(line),
                        field: None,
                    }),
                    message: format!(
                        "row has {} cells but the header has {}; extra cells ignored (unquoted comma?)",
                        self.record.len(),
                        self.headers.len()
                    ),
                });
            }
            return Some(self.feature(index, line, ctx));
        }
    }

    fn cell_error(&self, index: usize, line: u64, column: usize, kind: ReadErrorKind) -> ReadError {
        let name = self.headers.get(column).map_or("", String::as_str);
        ReadError::new(&self.path, Some(Format::Csv), kind)
            .at(index)
            .line(line)
            .field(name)
            .recoverable()
    }

    /// The decoded cell, `None` when absent or empty.
    fn cell(
        &self,
        index: usize,
        line: u64,
        column: usize,
        ctx: &mut Ctx,
    ) -> Result<Option<String>, ReadError> {
        let Some(bytes) = self.record.get(column).filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        let Some((text, fix)) = self.decoder.decode(bytes) else {
            return Err(self.cell_error(
                index,
                line,
                column,
                ReadErrorKind::Undecodable {
                    encoding: self.decoder.encoding.name(),
                },
            ));
        };
        if let Some(message) = fix.describe(self.decoder.encoding) {
            ctx.push(Warning {
                path: self.path.clone(),
                format: Format::Csv,
                position: Some(Position {
                    index,
                    line: Some(line),
                    field: self.headers.get(column).cloned(),
                }),
                message,
            });
        }
        Ok(Some(text))
    }

    fn coordinate(
        &self,
        index: usize,
        line: u64,
        column: usize,
        text: &str,
    ) -> Result<f64, ReadError> {
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.cell_error(
                index,
                line,
                column,
                ReadErrorKind::BadCoordinate(text.to_owned()),
            )),
        }
    }

    fn feature(&self, index: usize, line: u64, ctx: &mut Ctx) -> Result<Feature, ReadError> {
        let geometry = match self.geometry {
            GeometryColumns::Xy { x, y } => {
                let xs = self
                    .cell(index, line, x, ctx)?
                    .filter(|s| !s.trim().is_empty());
                let ys = self
                    .cell(index, line, y, ctx)?
                    .filter(|s| !s.trim().is_empty());
                match (xs, ys) {
                    (None, None) => None,
                    (Some(_), None) => {
                        return Err(self.cell_error(
                            index,
                            line,
                            y,
                            ReadErrorKind::MissingCoordinate,
                        ));
                    }
                    (None, Some(_)) => {
                        return Err(self.cell_error(
                            index,
                            line,
                            x,
                            ReadErrorKind::MissingCoordinate,
                        ));
                    }
                    (Some(xs), Some(ys)) => {
                        let xv = self.coordinate(index, line, x, &xs)?;
                        let yv = self.coordinate(index, line, y, &ys)?;
                        Some(geo_types::Geometry::Point(geo_types::Point::new(xv, yv)))
                    }
                }
            }
            GeometryColumns::Wkt { column } => match self.cell(index, line, column, ctx)? {
                Some(text) if !text.trim().is_empty() => crate::wkt::parse_wkt(&text)
                    .map_err(|m| self.cell_error(index, line, column, ReadErrorKind::Wkt(m)))?,
                _ => None,
            },
        };
        let mut properties = Map::new();
        for &column in &self.properties {
            let value = self
                .cell(index, line, column, ctx)?
                .map_or(Value::Null, Value::String);
            if let Some(name) = self.headers.get(column) {
                properties.insert(name.clone(), value);
            }
        }
        Ok(Feature {
            index,
            geometry,
            properties,
        })
    }
}

fn decode_headers(
    path: &Path,
    raw: &csv::ByteRecord,
    decoder: &TextDecoder,
    ctx: &mut Ctx,
) -> Result<Vec<String>, ReadError> {
    let mut headers = Vec::with_capacity(raw.len());
    let mut seen = std::collections::HashSet::new();
    for (i, cell) in raw.iter().enumerate() {
        let Some((text, _)) = decoder.decode(cell) else {
            return Err(ReadError::new(
                path,
                Some(Format::Csv),
                ReadErrorKind::Undecodable {
                    encoding: decoder.encoding.name(),
                },
            )
            .at(0)
            .line(1));
        };
        let mut name = text.trim().to_owned();
        if name.is_empty() {
            name = format!("column{}", i + 1);
        }
        let base = name.clone();
        let mut n = 2;
        while !seen.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        if name != base {
            ctx.warn(
                path,
                None,
                format!("duplicate column {base:?} renamed to {name:?}"),
            );
        }
        headers.push(name);
    }
    Ok(headers)
}

fn choose_geometry(
    headers: &[String],
    opts: &ReadOptions,
) -> Result<GeometryColumns, ReadErrorKind> {
    let missing = |column: &str| ReadErrorKind::MissingColumn {
        column: column.to_owned(),
        available: headers.to_vec(),
    };
    if let Some(wkt) = &opts.csv_wkt {
        let column = find(headers, wkt).ok_or_else(|| missing(wkt))?;
        return Ok(GeometryColumns::Wkt { column });
    }
    let x = match &opts.csv_x {
        Some(name) => Some(find(headers, name).ok_or_else(|| missing(name))?),
        None => detect(headers, &X_NAMES),
    };
    let y = match &opts.csv_y {
        Some(name) => Some(find(headers, name).ok_or_else(|| missing(name))?),
        None => detect(headers, &Y_NAMES),
    };
    match (x, y) {
        (Some(x), Some(y)) if x != y => Ok(GeometryColumns::Xy { x, y }),
        (None, None) => match detect(headers, &WKT_NAMES) {
            Some(column) => Ok(GeometryColumns::Wkt { column }),
            None => Err(ReadErrorKind::NoCoordinateColumns {
                available: headers.to_vec(),
            }),
        },
        _ => Err(ReadErrorKind::NoCoordinateColumns {
            available: headers.to_vec(),
        }),
    }
}
