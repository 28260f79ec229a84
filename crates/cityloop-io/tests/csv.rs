//! CSV reading: encodings, coordinate columns, WKT, and errors naming line
//! and column.

use std::io::Cursor;
use std::path::Path;

use cityloop_io::{Feature, FeatureReader, Format, ReadError, ReadErrorKind, ReadOptions};
use geo_types::{Geometry, point};
use serde_json::json;

fn open_bytes(bytes: Vec<u8>, opts: &ReadOptions) -> Result<FeatureReader, ReadError> {
    FeatureReader::from_reader(
        Path::new("addresses.csv"),
        Format::Csv,
        Box::new(Cursor::new(bytes)),
        None,
        opts,
    )
}

fn read_ok(bytes: Vec<u8>, opts: &ReadOptions) -> (FeatureReader, Vec<Feature>) {
    let mut reader = open_bytes(bytes, opts).expect("open");
    let features = reader
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    (reader, features)
}

#[test]
fn utf8_bom_with_chinese_headers() {
    let text =
        "\u{feff}地址编码,名称,经度,纬度\r\n001,金桂社区1号,116.391,39.907\r\n002,,116.5,40\r\n";
    let (reader, features) = read_ok(text.as_bytes().to_vec(), &ReadOptions::default());
    assert_eq!(reader.encoding_used(), encoding_rs::UTF_8);
    assert_eq!(
        reader.field_names(),
        Some(vec!["地址编码".to_owned(), "名称".to_owned()])
    );
    assert_eq!(features.len(), 2);
    assert_eq!(
        features[0].geometry,
        Some(Geometry::Point(point!(x: 116.391, y: 39.907)))
    );
    // Codes stay strings, leading zeros and all; empty is null.
    assert_eq!(
        serde_json::Value::Object(features[0].properties.clone()),
        json!({"地址编码": "001", "名称": "金桂社区1号"})
    );
    assert_eq!(features[1].properties["名称"], json!(null));
}

#[test]
fn gbk_without_bom_is_detected() {
    let text = "code,name,lng,lat\n1,上水井盖,116.1,39.1\n2,金桂社区,116.2,39.2\n";
    let bytes = encoding_rs::GBK.encode(text).0.into_owned();
    let (reader, features) = read_ok(bytes, &ReadOptions::default());
    assert_eq!(reader.encoding_used(), encoding_rs::GBK);
    assert_eq!(features[0].properties["name"], json!("上水井盖"));
    assert_eq!(features[1].properties["name"], json!("金桂社区"));
    assert!(reader.warnings().is_empty());
}

#[test]
fn explicit_encoding_and_columns() {
    let text = "E,N,名称\n500000,4000000,甲\n";
    let bytes = encoding_rs::GBK.encode(text).0.into_owned();
    let opts = ReadOptions {
        encoding: Some(encoding_rs::GB18030),
        csv_x: Some("e".to_owned()),
        csv_y: Some("N".to_owned()),
        ..ReadOptions::default()
    };
    let (reader, features) = read_ok(bytes, &opts);
    assert_eq!(reader.encoding_used(), encoding_rs::GB18030);
    assert_eq!(
        features[0].geometry,
        Some(Geometry::Point(point!(x: 500000.0, y: 4000000.0)))
    );
    assert_eq!(features[0].properties["名称"], json!("甲"));
}

#[test]
fn missing_named_column_lists_the_header() {
    let opts = ReadOptions {
        csv_x: Some("east".to_owned()),
        csv_y: Some("lat".to_owned()),
        ..ReadOptions::default()
    };
    let err = open_bytes(b"lon,lat,name\n1,2,a\n".to_vec(), &opts).expect_err("no such column");
    assert_eq!(
        err.to_string(),
        "addresses.csv: column \"east\" not found; columns are: lon, lat, name"
    );
    let err =
        open_bytes(b"a,b\n1,2\n".to_vec(), &ReadOptions::default()).expect_err("no coordinates");
    assert!(matches!(
        err.kind(),
        ReadErrorKind::NoCoordinateColumns { .. }
    ));
    let err = open_bytes(Vec::new(), &ReadOptions::default()).expect_err("empty");
    assert!(matches!(err.kind(), ReadErrorKind::NoHeader));
}

#[test]
fn bad_coordinates_name_record_line_and_column() {
    let text = "name,lon,lat\n\
                ok,116,39\n\
                \"multi\nline\",116,39\n\
                bad,abc,39\n\
                half,116,\n\
                none,,\n\
                short,116\n\
                inf,inf,39\n\
                last,117,40\n";
    let results: Vec<_> = open_bytes(text.as_bytes().to_vec(), &ReadOptions::default())
        .expect("open")
        .collect();
    let messages: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(f) => format!("ok {} {:?}", f.index, f.geometry.is_some()),
            Err(e) => e.to_string(),
        })
        .collect();
    assert_eq!(
        messages,
        [
            "ok 0 true",
            "ok 1 true",
            "addresses.csv: record 2 (line 5), column \"lon\": not a number: \"abc\"",
            "addresses.csv: record 3 (line 6), column \"lat\": coordinate is missing",
            "ok 4 false",
            "addresses.csv: record 5 (line 8), column \"lat\": coordinate is missing",
            "addresses.csv: record 6 (line 9), column \"lon\": not a number: \"inf\"",
            "ok 7 true",
        ]
    );
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| !e.is_fatal())
    );
}

#[test]
fn wkt_column_named_or_detected() {
    let text = "id,wkt\n\
                1,\"POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 2 3, 3 3, 2 2))\"\n\
                2,\n\
                3,\"LINESTRING (0 0, 1 1)\"\n\
                4,\"POLYGON ((0 0, 1 0\"\n";
    let results: Vec<_> = open_bytes(text.as_bytes().to_vec(), &ReadOptions::default())
        .expect("open")
        .collect();
    assert!(
        matches!(&results[0], Ok(Feature { geometry: Some(Geometry::Polygon(p)), .. }) if p.interiors().len() == 1)
    );
    assert!(matches!(&results[1], Ok(Feature { geometry: None, .. })));
    assert!(matches!(
        &results[2],
        Ok(Feature {
            geometry: Some(Geometry::LineString(_)),
            ..
        })
    ));
    let err = results[3].as_ref().expect_err("cut WKT");
    assert!(
        err.to_string()
            .starts_with("addresses.csv: record 3 (line 5), column \"wkt\": invalid WKT"),
        "{err}"
    );

    let opts = ReadOptions {
        csv_wkt: Some("SHAPE".to_owned()),
        ..ReadOptions::default()
    };
    let (_, features) = read_ok(b"lon,lat,shape\n1,2,POINT (5 6)\n".to_vec(), &opts);
    assert_eq!(
        features[0].geometry,
        Some(Geometry::Point(point!(x: 5.0, y: 6.0)))
    );
    // The unused x/y columns are then ordinary properties.
    assert_eq!(features[0].properties["lon"], json!("1"));
}

#[test]
fn blank_rows_are_skipped_and_headers_cleaned() {
    let text = "lon,lat,name,name,\n1,2,a,b,c\n,,,,\n\n3,4,,,\n";
    let (reader, features) = read_ok(text.as_bytes().to_vec(), &ReadOptions::default());
    assert_eq!(features.len(), 2);
    assert_eq!(features.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 2]);
    assert_eq!(
        reader.field_names(),
        Some(vec![
            "name".to_owned(),
            "name_2".to_owned(),
            "column5".to_owned()
        ])
    );
    assert_eq!(features[0].properties["name_2"], json!("b"));
    assert_eq!(reader.warnings().len(), 1);
}

#[test]
fn utf16_is_refused_clearly() {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in "lon,lat\n".encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let err = open_bytes(bytes, &ReadOptions::default()).expect_err("utf-16");
    assert!(err.to_string().contains("UTF-16"), "{err}");
}

#[test]
fn stray_gbk_value_in_utf8_file_is_recovered() {
    // A UTF-8 file with one row pasted from a GBK source.
    let mut bytes = "名称,lon,lat\n".as_bytes().to_vec();
    for i in 0..20 {
        bytes.extend_from_slice(format!("金桂社区{i}号,1,2\n").as_bytes());
    }
    bytes.extend_from_slice(&encoding_rs::GBK.encode("上水井盖").0);
    bytes.extend_from_slice(b",3,4\n");
    let (reader, features) = read_ok(bytes, &ReadOptions::default());
    assert_eq!(reader.encoding_used(), encoding_rs::UTF_8);
    assert_eq!(features[0].properties["名称"], json!("金桂社区0号"));
    assert_eq!(features[20].properties["名称"], json!("上水井盖"));
    let warnings: Vec<String> = reader.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "addresses.csv: text is UTF-8 with some broken bytes; affected values are retried as GBK",
            "addresses.csv: record 20 (line 22), column \"名称\": text is not valid UTF-8; decoded as GBK",
        ]
    );
}

#[test]
fn open_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.CSV");
    std::fs::write(&path, "x,y\n1,2\n").expect("write");
    let mut reader = FeatureReader::open(&path, &ReadOptions::default()).expect("open");
    assert_eq!(reader.format(), Format::Csv);
    assert_eq!(reader.by_ref().count(), 1);
    assert_eq!(reader.bytes_read_hint(), Some((8, 8)));
    let err = FeatureReader::open(&dir.path().join("a.kml"), &ReadOptions::default())
        .expect_err("unsupported");
    assert!(matches!(err.kind(), ReadErrorKind::UnsupportedFormat));
    let err = FeatureReader::open(&dir.path().join("missing.csv"), &ReadOptions::default())
        .expect_err("missing");
    assert!(matches!(err.kind(), ReadErrorKind::Io(_)));
    assert!(err.to_string().contains("missing.csv"));
}

#[test]
fn extra_cells_are_reported() {
    let text = "name,lon,lat\n北京市,朝阳区,116,39\n";
    let mut reader = open_bytes(text.as_bytes().to_vec(), &ReadOptions::default()).expect("open");
    // The shifted row puts "朝阳区" under lon: an error, plus the warning
    // that explains it.
    let err = reader.next().expect("row").expect_err("shifted");
    assert!(matches!(err.kind(), ReadErrorKind::BadCoordinate(v) if v == "朝阳区"));
    assert_eq!(
        reader.warnings()[0].to_string(),
        "addresses.csv: record 0 (line 2): row has 4 cells but the header has 3; extra cells ignored (unquoted comma?)"
    );
}
