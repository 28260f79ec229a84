//! Streaming GeoJSON: one feature in memory at a time.
//!
//! `geojson::FeatureReader` skips to the first `[` in the file and streams
//! from there, which misreads a collection whose `bbox` (or any array) comes
//! before `features`, never sees the `crs` member, and cannot read a bare
//! Feature or Geometry. So the top-level object is walked here member by
//! member; each feature's bytes are cut out (tracking strings and bracket
//! nesting) and handed to serde/`geojson` for parsing. Because a feature's
//! extent is known before it is parsed, an invalid feature is a recoverable
//! error and the next one is still read.

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{ReadError, ReadErrorKind};
use crate::{Ctx, Feature, Format};

/// Tracks position while cutting JSON values out of a byte stream.
struct Scanner<R> {
    reader: R,
    /// Bytes consumed (after any transcoding).
    pos: u64,
    /// 1-based line of the next byte.
    line: u64,
}

#[derive(Debug)]
enum ScanError {
    Io(io::Error),
    Eof,
    Syntax(String),
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        ScanError::Io(e)
    }
}

impl<R: BufRead> Scanner<R> {
    fn consume(&mut self, n: usize) {
        self.reader.consume(n);
        self.pos += n as u64;
    }

    /// Skips whitespace and returns the next byte without consuming it.
    fn peek_non_ws(&mut self) -> Result<Option<u8>, ScanError> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let newlines = buf[..i].iter().filter(|&&b| b == b'\n').count();
                    let next = buf[i];
                    self.line += newlines as u64;
                    self.consume(i);
                    return Ok(Some(next));
                }
                None => {
                    let n = buf.len();
                    let newlines = buf.iter().filter(|&&b| b == b'\n').count();
                    self.line += newlines as u64;
                    self.consume(n);
                }
            }
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), ScanError> {
        match self.peek_non_ws()? {
            Some(b) if b == byte => {
                self.consume(1);
                Ok(())
            }
            Some(b) => Err(ScanError::Syntax(format!(
                "expected {what}, found {:?} at line {}",
                char::from(b),
                self.line
            ))),
            None => Err(ScanError::Eof),
        }
    }

    /// Appends the raw bytes of the next JSON value to `out`. Only strings
    /// and bracket nesting are tracked; serde validates the rest.
    fn capture_value(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        let first = self.peek_non_ws()?.ok_or(ScanError::Eof)?;
        let mut stack: Vec<u8> = Vec::new();
        let mut in_string = false;
        let mut escaped = false;
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return if scalar && !out.is_empty() {
                    Ok(())
                } else {
                    Err(ScanError::Eof)
                };
            }
            let mut end = None;
            let mut mismatch = None;
            for (i, &b) in buf.iter().enumerate() {
                if scalar {
                    if matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace() {
                        end = Some(i);
                        break;
                    }
                    continue;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if stack.is_empty() {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' => stack.push(b'}'),
                    b'[' => stack.push(b']'),
                    b'}' | b']' => {
                        if stack.pop() != Some(b) {
                            mismatch = Some(b);
                            end = Some(i);
                            break;
                        }
                        if stack.is_empty() {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let take = end.unwrap_or(buf.len());
            out.extend_from_slice(&buf[..take]);
            let newlines = buf[..take].iter().filter(|&&b| b == b'\n').count();
            self.line += newlines as u64;
            self.consume(take);
            if let Some(b) = mismatch {
                return Err(ScanError::Syntax(format!(
                    "unexpected {:?} at line {}",
                    char::from(b),
                    self.line
                )));
            }
            if end.is_some() {
                return Ok(());
            }
        }
    }
}

/// What the top-level walk found next.
enum Top {
    /// Positioned just inside a `features` array.
    Features,
    /// The top-level object ended.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Inside the features array (or a top-level array of features).
    InArray {
        first: bool,
        top_level_array: bool,
    },
    /// The array ended; the rest of the top-level object follows.
    AfterArray,
    /// A bare Feature/Geometry waits in `single`.
    Single,
    Done,
}

/// A feature as serde sees it; unknown members are ignored.
#[derive(Deserialize)]
struct RawFeature {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    geometry: Option<geojson::Geometry>,
    #[serde(default)]
    properties: Option<Value>,
    #[serde(default)]
    id: Option<Value>,
}

const GEOMETRY_TYPES: [&str; 7] = [
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
];

pub(crate) struct GeoJsonSource {
    path: PathBuf,
    scanner: Scanner<BufReader<Box<dyn Read + Send>>>,
    state: State,
    top: Map<String, Value>,
    saw_features: bool,
    single: Option<Value>,
    pub(crate) crs: Option<String>,
    next_index: usize,
    buf: Vec<u8>,
    feature_start_line: u64,
}

fn json_err(path: &Path, kind: ReadErrorKind) -> ReadError {
    ReadError::new(path, Some(Format::GeoJson), kind)
}

impl GeoJsonSource {
    /// Reads up to the first feature, so that a `crs` member before
    /// `features` is known straight away.
    pub(crate) fn new(path: &Path, reader: Box<dyn Read + Send>) -> Result<Self, ReadError> {
        let mut scanner = Scanner {
            reader: BufReader::with_capacity(64 * 1024, reader),
            pos: 0,
            line: 1,
        };
        // A UTF-8 BOM is not JSON but is common from Windows tools.
        let has_bom = scanner
            .reader
            .fill_buf()
            .map_err(|e| json_err(path, e.into()))?
            .starts_with(b"\xEF\xBB\xBF");
        if has_bom {
            scanner.consume(3);
        }
        let mut source = Self {
            path: path.to_path_buf(),
            scanner,
            state: State::Done,
            top: Map::new(),
            saw_features: false,
            single: None,
            crs: None,
            next_index: 0,
            buf: Vec::new(),
            feature_start_line: 1,
        };
        match source.scanner.peek_non_ws() {
            Ok(Some(b'[')) => {
                source.scanner.consume(1);
                source.state = State::InArray {
                    first: true,
                    top_level_array: true,
                };
            }
            Ok(Some(b'{')) => {
                source.scanner.consume(1);
                source.enter_top(true)?;
            }
            Ok(Some(other)) => {
                return Err(json_err(
                    path,
                    ReadErrorKind::Json(format!(
                        "expected a JSON object, found {:?} at line {}",
                        char::from(other),
                        source.scanner.line
                    )),
                ));
            }
            Ok(None) => {
                return Err(json_err(
                    path,
                    ReadErrorKind::Truncated("the file is empty".to_owned()),
                ));
            }
            Err(e) => return Err(source.scan_error(e, None)),
        }
        Ok(source)
    }

    fn scan_error(&self, e: ScanError, index: Option<usize>) -> ReadError {
        let kind = match e {
            ScanError::Io(io) => ReadErrorKind::Io(io),
            ScanError::Eof => ReadErrorKind::Truncated(format!(
                "the file ends in the middle of the JSON (line {})",
                self.scanner.line
            )),
            ScanError::Syntax(m) => ReadErrorKind::Json(m),
        };
        let err = json_err(&self.path, kind);
        match index {
            Some(i) => err.at(i).line(self.scanner.line),
            None => err,
        }
    }

    /// Walks top-level members until `features` or the end of the object,
    /// then sets the state accordingly.
    fn enter_top(&mut self, first: bool) -> Result<(), ReadError> {
        match self.walk_top(first) {
            Ok(Top::Features) => {
                self.saw_features = true;
                self.state = State::InArray {
                    first: true,
                    top_level_array: false,
                };
                Ok(())
            }
            Ok(Top::End) => {
                self.finish_document()?;
                if self.saw_features {
                    self.state = State::Done;
                } else {
                    self.single = Some(Value::Object(std::mem::take(&mut self.top)));
                    self.state = State::Single;
                }
                Ok(())
            }
            Err(e) => Err(self.scan_error(e, None)),
        }
    }

    fn walk_top(&mut self, mut first: bool) -> Result<Top, ScanError> {
        loop {
            match self.scanner.peek_non_ws()? {
                Some(b'}') => {
                    self.scanner.consume(1);
                    return Ok(Top::End);
                }
                Some(b',') if !first => self.scanner.consume(1),
                Some(_) if first => {}
                Some(other) => {
                    return Err(ScanError::Syntax(format!(
                        "expected ',' or '}}', found {:?} at line {}",
                        char::from(other),
                        self.scanner.line
                    )));
                }
                None => return Err(ScanError::Eof),
            }
            first = false;
            let mut raw = Vec::new();
            if self.scanner.peek_non_ws()? != Some(b'"') {
                return Err(ScanError::Syntax(format!(
                    "expected a member name at line {}",
                    self.scanner.line
                )));
            }
            self.scanner.capture_value(&mut raw)?;
            let key: String = serde_json::from_slice(&raw)
                .map_err(|e| ScanError::Syntax(format!("bad member name: {e}")))?;
            self.scanner.expect(b':', "':'")?;
            if key == "features" && self.scanner.peek_non_ws()? == Some(b'[') && !self.saw_features
            {
                self.scanner.consume(1);
                return Ok(Top::Features);
            }
            raw.clear();
            self.scanner.capture_value(&mut raw)?;
            let value: Value = serde_json::from_slice(&raw)
                .map_err(|e| ScanError::Syntax(format!("member {key:?}: {e}")))?;
            if key == "crs" {
                self.crs = crate::crs::crs_from_geojson(&value);
            }
            self.top.insert(key, value);
        }
    }

    /// After the top-level value: only whitespace may follow.
    fn finish_document(&mut self) -> Result<(), ReadError> {
        match self.scanner.peek_non_ws() {
            Ok(None) => Ok(()),
            Ok(Some(b)) => Err(json_err(
                &self.path,
                ReadErrorKind::Json(format!(
                    "unexpected {:?} after the end of the GeoJSON at line {}",
                    char::from(b),
                    self.scanner.line
                )),
            )),
            Err(e) => Err(self.scan_error(e, None)),
        }
    }

    pub(crate) fn next(&mut self, _ctx: &mut Ctx) -> Option<Result<Feature, ReadError>> {
        loop {
            match self.state {
                State::Done => return None,
                State::Single => {
                    self.state = State::Done;
                    let value = self.single.take()?;
                    return Some(self.single_feature(value));
                }
                State::AfterArray => {
                    let result = self.enter_top(false);
                    if let Err(e) = result {
                        self.state = State::Done;
                        return Some(Err(e));
                    }
                }
                State::InArray {
                    first,
                    top_level_array,
                } => {
                    let index = self.next_index;
                    match self.next_in_array(first) {
                        Ok(true) => {
                            self.state = State::InArray {
                                first: false,
                                top_level_array,
                            };
                            self.next_index += 1;
                            let start_line = self.feature_start_line;
                            return Some(self.parse_feature(index, start_line));
                        }
                        Ok(false) => {
                            if top_level_array {
                                self.state = State::Done;
                                if let Err(e) = self.finish_document() {
                                    return Some(Err(e));
                                }
                            } else {
                                self.state = State::AfterArray;
                            }
                        }
                        Err(e) => {
                            self.state = State::Done;
                            return Some(Err(self.scan_error(e, Some(index))));
                        }
                    }
                }
            }
        }
    }
}

impl GeoJsonSource {
    /// Captures the next array element into `buf`; `false` at the closing `]`.
    fn next_in_array(&mut self, first: bool) -> Result<bool, ScanError> {
        match self.scanner.peek_non_ws()? {
            Some(b']') => {
                self.scanner.consume(1);
                return Ok(false);
            }
            Some(b',') if !first => self.scanner.consume(1),
            Some(_) if first => {}
            Some(other) => {
                return Err(ScanError::Syntax(format!(
                    "expected ',' or ']' between features, found {:?}",
                    char::from(other)
                )));
            }
            None => return Err(ScanError::Eof),
        }
        // Shrink after a giant feature so one outlier does not pin memory.
        if self.buf.capacity() > 64 * 1024 * 1024 {
            self.buf = Vec::new();
        }
        self.buf.clear();
        self.scanner.peek_non_ws()?;
        self.feature_start_line = self.scanner.line;
        self.scanner.capture_value(&mut self.buf)?;
        Ok(true)
    }

    fn parse_feature(&self, index: usize, start_line: u64) -> Result<Feature, ReadError> {
        let err = |kind| {
            json_err(&self.path, kind)
                .at(index)
                .line(start_line)
                .recoverable()
        };
        let raw: RawFeature = serde_json::from_slice(&self.buf).map_err(|e| {
            let line = start_line + e.line() as u64 - 1;
            let kind = if e.is_syntax() || e.is_eof() {
                ReadErrorKind::Json(e.to_string())
            } else {
                ReadErrorKind::GeoJson(e.to_string())
            };
            json_err(&self.path, kind)
                .at(index)
                .line(line)
                .recoverable()
        })?;
        match raw.kind.as_deref() {
            Some("Feature") | None => build_feature(index, raw).map_err(err),
            Some(t) if GEOMETRY_TYPES.contains(&t) => {
                let geometry: geojson::Geometry = serde_json::from_slice(&self.buf)
                    .map_err(|e| err(ReadErrorKind::GeoJson(e.to_string())))?;
                Ok(Feature {
                    index,
                    geometry: Some(to_geo(geometry).map_err(err)?),
                    properties: Map::new(),
                })
            }
            Some(other) => Err(err(ReadErrorKind::GeoJson(format!(
                "expected a Feature, found type {other:?}"
            )))),
        }
    }

    fn single_feature(&self, value: Value) -> Result<Feature, ReadError> {
        let err = |kind| json_err(&self.path, kind).at(0);
        let kind = value.get("type").and_then(Value::as_str).map(str::to_owned);
        match kind.as_deref() {
            Some("Feature") => {
                let raw: RawFeature = serde_json::from_value(value)
                    .map_err(|e| err(ReadErrorKind::GeoJson(e.to_string())))?;
                build_feature(0, raw).map_err(err)
            }
            Some(t) if GEOMETRY_TYPES.contains(&t) => {
                let geometry: geojson::Geometry = serde_json::from_value(value)
                    .map_err(|e| err(ReadErrorKind::GeoJson(e.to_string())))?;
                Ok(Feature {
                    index: 0,
                    geometry: Some(to_geo(geometry).map_err(err)?),
                    properties: Map::new(),
                })
            }
            Some("FeatureCollection") => Err(json_err(
                &self.path,
                ReadErrorKind::GeoJson("a FeatureCollection needs a \"features\" array".to_owned()),
            )),
            Some(other) => Err(json_err(
                &self.path,
                ReadErrorKind::GeoJson(format!(
                    "top-level type {other:?} is not a FeatureCollection, Feature or Geometry"
                )),
            )),
            None => Err(json_err(
                &self.path,
                ReadErrorKind::GeoJson("the top-level object has no \"type\"".to_owned()),
            )),
        }
    }
}

fn to_geo(geometry: geojson::Geometry) -> Result<geo_types::Geometry<f64>, ReadErrorKind> {
    geo_types::Geometry::<f64>::try_from(geometry)
        .map_err(|e| ReadErrorKind::InvalidGeometry(e.to_string()))
}

fn build_feature(index: usize, raw: RawFeature) -> Result<Feature, ReadErrorKind> {
    let mut properties = match raw.properties {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(ReadErrorKind::GeoJson(format!(
                "\"properties\" must be an object or null, found {other}"
            )));
        }
    };
    if let Some(id @ (Value::String(_) | Value::Number(_))) = raw.id {
        properties.entry("id").or_insert(id);
    }
    let geometry = raw.geometry.map(to_geo).transpose()?;
    Ok(Feature {
        index,
        geometry,
        properties,
    })
}
