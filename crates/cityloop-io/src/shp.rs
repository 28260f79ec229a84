//! Shapefile source: `.shp` geometries read record by record alongside the
//! `.dbf` attributes, with `.cpg`/`.prj` honoured.
//!
//! Records are read here rather than through `shapefile::Reader`'s iterator so
//! that a file cut off mid-record is reported as such, with the record number
//! (the crate's iterator surfaces a bare I/O error), and so that a malformed
//! record does not end the stream: each record's bytes are read in full
//! first, then parsed by the `shapefile` crate.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use encoding_rs::{Encoding, GBK, UTF_8};
use geo_types::{Coord, Geometry, LineString, MultiLineString, MultiPoint, Point};
use shapefile::record::traits::HasXY;
use shapefile::{ReadableShape, Shape};

use crate::dbf::{self, DbfReader, ReadSeek, RecordState};
use crate::error::{Position, ReadError, ReadErrorKind, Warning};
use crate::text::{Sniffer, TextDecoder, Verdict, encoding_from_label};
use crate::{Ctx, Feature, Format, ReadOptions};

/// The pieces of a shapefile, for callers that do not read from disk
/// (uploads, zip archives).
pub struct ShapefileParts {
    /// The `.shp` content.
    pub shp: Box<dyn Read + Send>,
    /// The `.dbf` content; read twice when its encoding has to be detected,
    /// hence `Seek`. Without it every feature has empty properties.
    pub dbf: Option<Box<dyn ReadSeek>>,
    /// The `.cpg` text (an encoding label such as `UTF-8` or `936`).
    pub cpg: Option<String>,
    /// The `.prj` text (WKT).
    pub prj: Option<String>,
}

pub(crate) struct ShapefileSource {
    shp_path: PathBuf,
    dbf_path: PathBuf,
    shp: BufReader<Box<dyn Read + Send>>,
    /// Byte length the header declares.
    declared_len: u64,
    /// Bytes consumed so far (header included).
    pos: u64,
    dbf: Option<DbfReader>,
    decoder: TextDecoder,
    pub(crate) crs: Option<String>,
    record_count_hint: Option<usize>,
    next_index: usize,
    buf: Vec<u8>,
    done: bool,
    renumbering_warned: bool,
    pub(crate) field_names: Option<Vec<String>>,
}

/// `path` with extension `ext` (or its upper-case form, as Windows-made
/// archives often have), if such a file exists.
fn sidecar(path: &Path, ext: &str) -> Option<PathBuf> {
    [ext.to_ascii_lowercase(), ext.to_ascii_uppercase()]
        .iter()
        .map(|e| path.with_extension(e))
        .find(|p| p.is_file())
}

/// Reads a small text sidecar; these are a few hundred bytes, the cap only
/// guards against a mislabelled huge file.
fn read_small_text(path: &Path) -> io::Result<String> {
    let mut bytes = Vec::new();
    File::open(path)?.take(64 * 1024).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl ShapefileSource {
    pub(crate) fn open(path: &Path, opts: &ReadOptions, ctx: &mut Ctx) -> Result<Self, ReadError> {
        let err = |p: &Path, kind| ReadError::new(p, Some(Format::Shapefile), kind);
        let shp = File::open(path).map_err(|e| err(path, e.into()))?;
        let dbf_path = sidecar(path, "dbf");
        let dbf = match &dbf_path {
            Some(p) => {
                Some(Box::new(File::open(p).map_err(|e| err(p, e.into()))?) as Box<dyn ReadSeek>)
            }
            None => None,
        };
        let cpg = match sidecar(path, "cpg") {
            Some(p) => Some(read_small_text(&p).map_err(|e| err(&p, e.into()))?),
            None => None,
        };
        let prj = match sidecar(path, "prj") {
            Some(p) => Some(read_small_text(&p).map_err(|e| err(&p, e.into()))?),
            None => None,
        };
        let parts = ShapefileParts {
            shp: Box::new(shp),
            dbf,
            cpg,
            prj,
        };
        let mut source = Self::from_parts(path, parts, opts, ctx)?;
        if source.dbf.is_none()
            && let Some(shx) = sidecar(path, "shx")
            && let Ok(meta) = std::fs::metadata(shx)
        {
            // Each .shx entry is 8 bytes after a 100-byte header.
            source.record_count_hint = usize::try_from(meta.len().saturating_sub(100) / 8).ok();
        }
        Ok(source)
    }

    pub(crate) fn from_parts(
        path: &Path,
        parts: ShapefileParts,
        opts: &ReadOptions,
        ctx: &mut Ctx,
    ) -> Result<Self, ReadError> {
        let dbf_path = path.with_extension("dbf");
        let shp_err = |kind| ReadError::new(path, Some(Format::Shapefile), kind);
        let dbf_err = |kind| ReadError::new(&dbf_path, Some(Format::Shapefile), kind);

        let mut shp = BufReader::new(parts.shp);
        let header = shapefile::header::Header::read_from(&mut shp).map_err(|e| match e {
            shapefile::Error::IoError(io) if io.kind() == io::ErrorKind::UnexpectedEof => shp_err(
                ReadErrorKind::Truncated("the 100-byte header is incomplete".to_owned()),
            ),
            other => shp_err(ReadErrorKind::Shp(other.to_string())),
        })?;
        let declared_len = u64::try_from(header.file_length).unwrap_or(0) * 2;

        let mut dbf = match parts.dbf {
            Some(source) => {
                Some(DbfReader::new(source).map_err(|m| dbf_err(ReadErrorKind::Dbf(m)))?)
            }
            None => {
                ctx.warn(
                    path,
                    None,
                    "no .dbf next to the .shp; features have no attributes".to_owned(),
                );
                None
            }
        };

        let (encoding, repair) = match &mut dbf {
            Some(reader) => choose_encoding(reader, parts.cpg.as_deref(), opts, ctx, &dbf_path)
                .map_err(|e| dbf_err(e.into()))?,
            None => (opts.encoding.unwrap_or(UTF_8), opts.encoding.is_none()),
        };
        let decoder = TextDecoder { encoding, repair };
        let mut field_names = None;
        if let Some(reader) = &mut dbf {
            for note in reader.decode_names(&decoder) {
                ctx.warn(
                    &dbf_path,
                    None,
                    format!("field {:?}: {}", note.field, note.message),
                );
            }
            field_names = Some(reader.fields.iter().map(|f| f.name.clone()).collect());
        }

        Ok(Self {
            shp_path: path.to_path_buf(),
            dbf_path,
            shp,
            declared_len,
            pos: 100,
            record_count_hint: dbf.as_ref().map(|d| d.record_count),
            dbf,
            decoder,
            crs: parts.prj.as_deref().and_then(crate::crs::crs_from_prj),
            next_index: 0,
            buf: Vec::new(),
            done: false,
            renumbering_warned: false,
            field_names,
        })
    }

    pub(crate) fn encoding(&self) -> &'static Encoding {
        self.decoder.encoding
    }

    pub(crate) fn total_hint(&self) -> Option<usize> {
        self.record_count_hint
    }

    pub(crate) fn bytes_read_hint(&self) -> Option<(u64, u64)> {
        Some((self.pos.min(self.declared_len), self.declared_len))
    }

    fn shp_error(&self, index: usize, kind: ReadErrorKind) -> ReadError {
        ReadError::new(&self.shp_path, Some(Format::Shapefile), kind).at(index)
    }

    fn dbf_error(&self, index: usize, kind: ReadErrorKind) -> ReadError {
        ReadError::new(&self.dbf_path, Some(Format::Shapefile), kind).at(index)
    }

    pub(crate) fn next(&mut self, ctx: &mut Ctx) -> Option<Result<Feature, ReadError>> {
        loop {
            if self.done {
                return None;
            }
            let result = self.next_record(ctx);
            match &result {
                Some(Err(e)) if e.is_fatal() => self.done = true,
                None => self.done = true,
                _ => {}
            }
            match result {
                // A deleted record yields nothing; move on to the next one.
                Some(Ok(None)) => continue,
                Some(Ok(Some(feature))) => return Some(Ok(feature)),
                Some(Err(e)) => return Some(Err(e)),
                None => return None,
            }
        }
    }

    fn next_record(&mut self, ctx: &mut Ctx) -> Option<Result<Option<Feature>, ReadError>> {
        let index = self.next_index;
        let dbf_left = self.dbf.as_ref().map_or(0, DbfReader::remaining);
        if self.pos >= self.declared_len {
            if dbf_left > 0 {
                let total = index + dbf_left;
                return Some(Err(self.dbf_error(
                    index,
                    ReadErrorKind::RecordCountMismatch(format!(
                        "the .shp ends after {index} records but the .dbf has {total}"
                    )),
                )));
            }
            return None;
        }

        let mut head = [0u8; 8];
        let got = match read_up_to(&mut self.shp, &mut head) {
            Ok(n) => n,
            Err(e) => return Some(Err(self.shp_error(index, e.into()))),
        };
        if got == 0 {
            if index > 0 && self.dbf.is_some() && dbf_left == 0 {
                // Every .dbf record has its shape: the header's length is
                // what is wrong, not the data.
                ctx.warn(
                    &self.shp_path,
                    None,
                    format!(
                        "header declares {} bytes but the file ends at byte {}; all {index} records were read",
                        self.declared_len, self.pos
                    ),
                );
                return None;
            }
            return Some(Err(self.shp_error(
                index,
                ReadErrorKind::Truncated(format!(
                    "the file ends at byte {} but its header declares {} bytes",
                    self.pos, self.declared_len
                )),
            )));
        }
        if got < head.len() {
            return Some(Err(self.shp_error(
                index,
                ReadErrorKind::Truncated(format!(
                    "the 8-byte record header is cut off after {got} bytes"
                )),
            )));
        }
        let number = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let words = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let Some(len) = usize::try_from(words)
            .ok()
            .map(|w| w * 2)
            .filter(|&l| l >= 4)
        else {
            return Some(Err(self.shp_error(
                index,
                ReadErrorKind::Shp(format!("record declares an invalid length ({words} words)")),
            )));
        };
        self.buf.resize(len, 0);
        let got = match read_up_to(&mut self.shp, &mut self.buf) {
            Ok(n) => n,
            Err(e) => return Some(Err(self.shp_error(index, e.into()))),
        };
        if got < len {
            return Some(Err(self.shp_error(
                index,
                ReadErrorKind::Truncated(format!(
                    "record needs {len} bytes of content, the file ends after {got}"
                )),
            )));
        }
        self.pos += 8 + len as u64;
        self.next_index += 1;
        if i64::from(number) != index as i64 + 1 && !self.renumbering_warned {
            self.renumbering_warned = true;
            ctx.warn(
                &self.shp_path,
                Some(position(index)),
                format!(
                    "record is numbered {number}, expected {}; read in file order",
                    index + 1
                ),
            );
        }

        // Read the attributes before judging the shape, so both files stay in
        // step even when this record turns out to be unusable.
        let properties = match self.read_attributes(index, ctx) {
            Ok(Some(props)) => Ok(props),
            Ok(None) => {
                ctx.warn(
                    &self.dbf_path,
                    Some(position(index)),
                    "record is marked deleted in the .dbf; skipped".to_owned(),
                );
                return Some(Ok(None));
            }
            Err(e) if e.is_fatal() => return Some(Err(e)),
            Err(e) => Err(e),
        };

        let shape = Shape::read_from(
            &mut Cursor::new(&self.buf[..]),
            i32::try_from(len).unwrap_or(i32::MAX),
        );
        let geometry = match shape {
            Ok(shape) => {
                let mut orphans = 0;
                let geometry = shape_to_geometry(shape, &mut orphans);
                if orphans > 0 {
                    ctx.warn(
                        &self.shp_path,
                        Some(position(index)),
                        format!(
                            "{orphans} hole(s) lie inside no outer ring; kept as separate polygons"
                        ),
                    );
                }
                geometry
            }
            Err(e) => Err(ReadErrorKind::Shp(e.to_string())),
        };
        let geometry = match geometry {
            Ok(g) => g,
            Err(kind) => return Some(Err(self.shp_error(index, kind).recoverable())),
        };
        Some(properties.map(|properties| {
            Some(Feature {
                index,
                geometry,
                properties,
            })
        }))
    }

    /// `Ok(None)` for a deleted record.
    fn read_attributes(
        &mut self,
        index: usize,
        ctx: &mut Ctx,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, ReadError> {
        let Some(dbf) = &mut self.dbf else {
            return Ok(Some(serde_json::Map::new()));
        };
        let state = match dbf.advance() {
            None => {
                let count = dbf.record_count;
                return Err(self.dbf_error(
                    index,
                    ReadErrorKind::RecordCountMismatch(format!(
                        "the .dbf has only {count} records but the .shp has more"
                    )),
                ));
            }
            Some(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(self.dbf_error(
                    index,
                    ReadErrorKind::Truncated(
                        "the .dbf ends before the record count its header declares".to_owned(),
                    ),
                ));
            }
            Some(Err(e)) => return Err(self.dbf_error(index, e.into())),
            Some(Ok(state)) => state,
        };
        if state == RecordState::Deleted {
            return Ok(None);
        }
        let mut notes = Vec::new();
        let result = dbf::decode_record(&dbf.fields, dbf.current(), &self.decoder, &mut notes);
        for note in notes {
            ctx.push(Warning {
                path: self.dbf_path.clone(),
                format: Format::Shapefile,
                position: Some(Position {
                    index,
                    line: None,
                    field: Some(note.field),
                }),
                message: note.message,
            });
        }
        match result {
            Ok(props) => Ok(Some(props)),
            Err(dbf::FieldProblem::Undecodable { field }) => Err(self
                .dbf_error(
                    index,
                    ReadErrorKind::Undecodable {
                        encoding: self.decoder.encoding.name(),
                    },
                )
                .field(&field)
                .recoverable()),
        }
    }
}

fn position(index: usize) -> Position {
    Position {
        index,
        line: None,
        field: None,
    }
}

/// Decides the DBF's encoding: explicit option, else `.cpg` (but a `.cpg`
/// claiming UTF-8 over GBK bytes loses), else sniffing.
fn choose_encoding(
    dbf: &mut DbfReader,
    cpg: Option<&str>,
    opts: &ReadOptions,
    ctx: &mut Ctx,
    dbf_path: &Path,
) -> io::Result<(&'static Encoding, bool)> {
    if let Some(explicit) = opts.encoding {
        return Ok((explicit, false));
    }
    let declared = match cpg {
        Some(label) => {
            let found = encoding_from_label(label);
            if found.is_none() {
                ctx.warn(
                    &dbf_path.with_extension("cpg"),
                    None,
                    format!(
                        "unknown encoding {:?} in .cpg; detecting instead",
                        label.trim()
                    ),
                );
            }
            found
        }
        None => None,
    };
    if let Some(declared) = declared
        && declared != UTF_8
    {
        return Ok((declared, true));
    }
    let mut sniffer = Sniffer::default();
    dbf.sniff(&mut sniffer)?;
    let verdict = sniffer.verdict();
    Ok(match (declared, verdict) {
        (Some(_), Verdict::Gbk) => {
            ctx.warn(
                dbf_path,
                None,
                "the .cpg says UTF-8 but the text is not UTF-8; decoding as GBK".to_owned(),
            );
            (GBK, true)
        }
        (None, Verdict::Gbk) => (GBK, true),
        (_, Verdict::MostlyUtf8) => {
            ctx.warn(
                dbf_path,
                None,
                "text is UTF-8 with some broken bytes; affected values are retried as GBK"
                    .to_owned(),
            );
            (UTF_8, true)
        }
        _ => (UTF_8, true),
    })
}

fn xy<P: HasXY>(p: &P) -> Coord<f64> {
    Coord { x: p.x(), y: p.y() }
}

fn finite_point<P: HasXY>(p: &P) -> Option<Geometry<f64>> {
    // Some writers store an empty point as NaN coordinates.
    (p.x().is_finite() && p.y().is_finite()).then(|| Geometry::Point(Point(xy(p))))
}

fn lines<P: HasXY>(parts: &[Vec<P>]) -> Option<Geometry<f64>> {
    let mut lines: Vec<LineString<f64>> = parts
        .iter()
        .filter(|part| !part.is_empty())
        .map(|part| LineString(part.iter().map(xy).collect()))
        .collect();
    match lines.len() {
        0 => None,
        1 => lines.pop().map(Geometry::LineString),
        _ => Some(Geometry::MultiLineString(MultiLineString(lines))),
    }
}

fn polygons<P: HasXY>(
    rings: &[shapefile::PolygonRing<P>],
    orphans: &mut usize,
) -> Option<Geometry<f64>> {
    let rings = rings
        .iter()
        .map(|r| r.points().iter().map(xy).collect())
        .collect();
    crate::geom::polygons_from_rings(rings, orphans)
}

fn points<P: HasXY>(pts: &[P]) -> Option<Geometry<f64>> {
    (!pts.is_empty())
        .then(|| Geometry::MultiPoint(MultiPoint(pts.iter().map(|p| Point(xy(p))).collect())))
}

/// Converts a shape to 2-D `geo_types` (Z and M are dropped).
fn shape_to_geometry(
    shape: Shape,
    orphans: &mut usize,
) -> Result<Option<Geometry<f64>>, ReadErrorKind> {
    Ok(match shape {
        Shape::NullShape => None,
        Shape::Point(p) => finite_point(&p),
        Shape::PointM(p) => finite_point(&p),
        Shape::PointZ(p) => finite_point(&p),
        Shape::Polyline(l) => lines(l.parts()),
        Shape::PolylineM(l) => lines(l.parts()),
        Shape::PolylineZ(l) => lines(l.parts()),
        Shape::Polygon(p) => polygons(p.rings(), orphans),
        Shape::PolygonM(p) => polygons(p.rings(), orphans),
        Shape::PolygonZ(p) => polygons(p.rings(), orphans),
        Shape::Multipoint(m) => points(m.points()),
        Shape::MultipointM(m) => points(m.points()),
        Shape::MultipointZ(m) => points(m.points()),
        Shape::Multipatch(_) => {
            return Err(ReadErrorKind::UnsupportedGeometry("MultiPatch".to_owned()));
        }
    })
}
