//! Streaming GeoJSON: collections of any layout, bare features and
//! geometries, ids, CRS members, and errors that name the feature.

use std::io::{Cursor, Read};
use std::path::Path;

use cityloop_io::{Feature, FeatureReader, Format, ReadErrorKind, ReadOptions};
use geo_types::{Geometry, point};
use serde_json::json;

fn reader_for(text: &str) -> FeatureReader {
    try_reader_for(text).expect("open")
}

fn try_reader_for(text: &str) -> Result<FeatureReader, cityloop_io::ReadError> {
    FeatureReader::from_reader(
        Path::new("test.geojson"),
        Format::GeoJson,
        Box::new(Cursor::new(text.as_bytes().to_vec())),
        Some(text.len() as u64),
        &ReadOptions::default(),
    )
}

fn read_ok(text: &str) -> Vec<Feature> {
    reader_for(text)
        .collect::<Result<Vec<_>, _>>()
        .expect("valid GeoJSON")
}

#[test]
fn collection_with_bbox_and_crs_before_features() {
    // geojson's own FeatureReader streams from the first '[' in the file,
    // which here is the bbox.
    let text = r#"{
        "type": "FeatureCollection",
        "name": "grids",
        "bbox": [116.0, 39.0, 117.0, 40.0],
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
        "features": [
            {"type": "Feature", "id": 7, "geometry": {"type": "Point", "coordinates": [116.391, 39.907]},
             "properties": {"name": "金桂社区", "code": 33018800100101}},
            {"type": "Feature", "id": "g-2", "geometry": null, "properties": null},
            {"type": "Feature", "id": 9, "geometry": {"type": "Point", "coordinates": [1, 2, 30]},
             "properties": {"id": "own"}}
        ]
    }"#;
    let reader = reader_for(text);
    assert_eq!(reader.declared_crs().as_deref(), Some("cgcs2000"));
    let features: Vec<Feature> = reader.collect::<Result<_, _>>().expect("read");
    assert_eq!(features.len(), 3);
    assert_eq!(features[0].index, 0);
    assert_eq!(
        features[0].geometry,
        Some(Geometry::Point(point!(x: 116.391, y: 39.907)))
    );
    assert_eq!(
        serde_json::Value::Object(features[0].properties.clone()),
        json!({"id": 7, "name": "金桂社区", "code": 33018800100101_i64})
    );
    assert_eq!(features[1].geometry, None);
    assert_eq!(
        serde_json::Value::Object(features[1].properties.clone()),
        json!({"id": "g-2"})
    );
    // An existing "id" property wins over the feature id; Z is dropped.
    assert_eq!(features[2].properties["id"], json!("own"));
    assert_eq!(
        features[2].geometry,
        Some(Geometry::Point(point!(x: 1.0, y: 2.0)))
    );
}

#[test]
fn members_after_features_are_read_too() {
    let text = r#"{"features": [{"type":"Feature","geometry":null,"properties":{}}],
                   "type": "FeatureCollection", "totalFeatures": 1,
                   "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}}"#;
    let mut reader = reader_for(text);
    assert_eq!(reader.declared_crs(), None, "not reached yet");
    assert!(reader.next().expect("one").is_ok());
    assert!(reader.next().is_none());
    assert_eq!(reader.declared_crs().as_deref(), Some("wgs84"));
}

#[test]
fn bare_feature_bare_geometry_and_top_level_array() {
    let feature = read_ok(
        r#"{"type":"Feature","properties":{"a":1},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}"#,
    );
    assert_eq!(feature.len(), 1);
    assert!(matches!(feature[0].geometry, Some(Geometry::LineString(_))));
    assert_eq!(feature[0].properties["a"], json!(1));

    let geometry = read_ok(
        r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]],[[0.2,0.1],[0.3,0.1],[0.3,0.15],[0.2,0.1]]]}"#,
    );
    assert_eq!(geometry.len(), 1);
    assert!(
        matches!(&geometry[0].geometry, Some(Geometry::Polygon(p)) if p.interiors().len() == 1)
    );
    assert!(geometry[0].properties.is_empty());

    let array = read_ok(
        r#"[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}},
            {"type":"Point","coordinates":[3,4]}]"#,
    );
    assert_eq!(array.len(), 2);
    assert_eq!(
        array[1].geometry,
        Some(Geometry::Point(point!(x: 3.0, y: 4.0)))
    );
}

#[test]
fn empty_collection_and_bom() {
    assert!(read_ok("\u{feff}{\"type\":\"FeatureCollection\",\"features\":[]}\n").is_empty());
}

#[test]
fn a_bad_feature_is_recoverable_and_names_index_and_line() {
    let text = "{\"type\":\"FeatureCollection\",\"features\":[\n\
        {\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"properties\":{}},\n\
        {\"type\":\"Feature\",\"geometry\":{\"type\":\"Circle\",\"coordinates\":[1,2]},\"properties\":{}},\n\
        {\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[3,4]},\"properties\":{\"n\":1,}},\n\
        {\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[5,6]},\"properties\":{}}\n\
        ]}";
    let results: Vec<_> = reader_for(text).collect();
    assert_eq!(results.len(), 4);
    assert!(results[0].is_ok());
    let bad_type = results[1].as_ref().expect_err("Circle");
    assert!(!bad_type.is_fatal());
    assert_eq!(bad_type.index(), Some(1));
    assert!(
        bad_type
            .to_string()
            .starts_with("test.geojson: feature 1 (line 3): invalid GeoJSON"),
        "{bad_type}"
    );
    let bad_json = results[2].as_ref().expect_err("trailing comma");
    assert!(matches!(bad_json.kind(), ReadErrorKind::Json(_)));
    assert!(
        bad_json
            .to_string()
            .starts_with("test.geojson: feature 2 (line 4): invalid JSON"),
        "{bad_json}"
    );
    assert_eq!(
        results[3].as_ref().expect("fine").geometry,
        Some(Geometry::Point(point!(x: 5.0, y: 6.0)))
    );
}

#[test]
fn truncated_file_is_fatal_and_names_the_feature() {
    let text = "{\"type\":\"FeatureCollection\",\"features\":[\n\
        {\"type\":\"Feature\",\"geometry\":null,\"properties\":{}},\n\
        {\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,";
    let results: Vec<_> = reader_for(text).collect();
    assert_eq!(results.len(), 2);
    let err = results[1].as_ref().expect_err("truncated");
    assert!(err.is_fatal());
    assert!(matches!(err.kind(), ReadErrorKind::Truncated(_)));
    assert!(
        err.to_string()
            .starts_with("test.geojson: feature 1 (line 3): truncated file"),
        "{err}"
    );

    let cut_between = "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":null,\"properties\":{}},";
    let results: Vec<_> = reader_for(cut_between).collect();
    assert_eq!(results.len(), 2);
    assert!(results[1].as_ref().is_err_and(|e| e.index() == Some(1)));
}

#[test]
fn structural_garbage_is_fatal() {
    for text in [
        "{\"features\":[{\"type\":\"Feature\",\"geometry\":null,\"properties\":{]}]}",
        "{\"type\":\"FeatureCollection\",\"features\":[]} trailing",
    ] {
        let results: Vec<_> = match try_reader_for(text) {
            Ok(reader) => reader.collect(),
            Err(e) => vec![Err(e)],
        };
        let last = results.last().expect("an item");
        assert!(
            last.as_ref().is_err_and(cityloop_io::ReadError::is_fatal),
            "{text}: {results:?}"
        );
    }
    let err = try_reader_for("not json").expect_err("not an object");
    assert!(
        err.to_string().starts_with("test.geojson: invalid JSON"),
        "{err}"
    );
    let err = try_reader_for("").expect_err("empty");
    assert!(matches!(err.kind(), ReadErrorKind::Truncated(_)));
    let err = read_single_error(r#"{"type":"Topology","objects":{}}"#);
    assert!(err.contains("Topology"), "{err}");
    let err = read_single_error(r#"{"type":"FeatureCollection","features":null}"#);
    assert!(
        err.ends_with("a FeatureCollection needs a \"features\" array"),
        "{err}"
    );
}

fn read_single_error(text: &str) -> String {
    let results: Vec<_> = reader_for(text).collect();
    results
        .into_iter()
        .find_map(Result::err)
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn gbk_geojson_is_decoded_with_a_warning() {
    let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"name":"金桂社区"}}]}"#;
    let bytes = encoding_rs::GBK.encode(text).0.into_owned();
    let mut reader = FeatureReader::from_reader(
        Path::new("gbk.json"),
        Format::GeoJson,
        Box::new(Cursor::new(bytes)),
        None,
        &ReadOptions::default(),
    )
    .expect("open");
    let feature = reader.next().expect("one").expect("ok");
    assert_eq!(feature.properties["name"], json!("金桂社区"));
    assert_eq!(reader.encoding_used(), encoding_rs::GBK);
    assert!(reader.warnings()[0].message.contains("decoding as GBK"));
}

#[test]
fn open_from_disk_with_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("grids.geojson");
    let mut text = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    for i in 0..1000 {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            "{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{i},1]}},\"properties\":{{\"i\":{i}}}}}"
        ));
    }
    text.push_str("]}");
    std::fs::write(&path, &text).expect("write");
    let mut reader = FeatureReader::open(&path, &ReadOptions::default()).expect("open");
    assert_eq!(reader.format(), Format::GeoJson);
    assert_eq!(reader.total_hint(), None);
    let total = text.len() as u64;
    let mut count = 0;
    while let Some(feature) = reader.next() {
        let feature = feature.expect("ok");
        assert_eq!(feature.index, count);
        count += 1;
        let (read, all) = reader.bytes_read_hint().expect("size known");
        assert_eq!(all, total);
        assert!(read <= total);
    }
    assert_eq!(count, 1000);
    assert_eq!(reader.bytes_read_hint(), Some((total, total)));
}

/// A FeatureCollection produced on the fly, never held in memory.
struct Generated {
    features: usize,
    next: usize,
    pending: Vec<u8>,
    closed: bool,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.is_empty() {
            if self.next == 0 && !self.closed && self.pending.is_empty() && self.features > 0 {
                self.pending
                    .extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[");
            }
            if self.next < self.features {
                if self.next > 0 {
                    self.pending.push(b',');
                }
                let i = self.next;
                self.pending.extend_from_slice(
                    format!(
                        "{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[[{i},0],[{i}.5,0],[{i}.5,1],[{i},0]]]}},\"properties\":{{\"name\":\"网格{i}\"}}}}\n"
                    )
                    .as_bytes(),
                );
                self.next += 1;
            } else if !self.closed {
                self.pending.extend_from_slice(b"]}");
                self.closed = true;
            } else {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

#[test]
fn streams_a_large_collection() {
    let features = 200_000;
    let reader = FeatureReader::from_reader(
        Path::new("huge.geojson"),
        Format::GeoJson,
        Box::new(Generated {
            features,
            next: 0,
            pending: Vec::new(),
            closed: false,
        }),
        None,
        &ReadOptions::default(),
    )
    .expect("open");
    let mut count = 0;
    for feature in reader {
        let feature = feature.expect("ok");
        assert_eq!(feature.index, count);
        count += 1;
    }
    assert_eq!(count, features);
}

#[test]
fn reader_can_move_to_a_worker_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<FeatureReader>();
    assert_send::<cityloop_io::ReadError>();
}
