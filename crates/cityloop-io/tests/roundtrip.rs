//! Export then import: GeoJSON for every geometry, CSV for points (and WKT),
//! and a shapefile exported to GeoJSON.

#[expect(dead_code, reason = "shared test helpers; this file needs only two")]
mod common;

use std::io::Cursor;
use std::path::Path;

use cityloop_io::{
    CsvGeometryColumns, CsvWriter, Feature, FeatureReader, Format, GeoJsonWriter, ReadOptions,
    WriteError,
};
use geo_types::{Geometry, LineString, MultiPolygon, Point, Polygon, line_string, point, polygon};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn props(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn read_back(bytes: Vec<u8>, format: Format, opts: &ReadOptions) -> Vec<Feature> {
    FeatureReader::from_reader(
        Path::new("roundtrip"),
        format,
        Box::new(Cursor::new(bytes)),
        None,
        opts,
    )
    .expect("open")
    .collect::<Result<Vec<_>, _>>()
    .expect("read back")
}

fn to_geojson(features: &[Feature]) -> Vec<u8> {
    let mut writer = GeoJsonWriter::new(Vec::new());
    for f in features {
        writer.write(f).expect("write");
    }
    assert_eq!(writer.count(), features.len());
    writer.finish().expect("finish")
}

fn to_csv(features: &[Feature], columns: &[&str], geometry: CsvGeometryColumns) -> Vec<u8> {
    let columns = columns.iter().map(|c| (*c).to_owned()).collect();
    let mut writer = CsvWriter::new(Vec::new(), columns, geometry).expect("header");
    for f in features {
        writer.write(f).expect("write");
    }
    writer.finish().expect("finish")
}

/// RFC 7946 orientation already (shell counter-clockwise, hole clockwise),
/// so the writer leaves it as it is.
fn grid() -> Polygon<f64> {
    polygon!(
        exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0), (x: 0.0, y: 0.0)],
        interiors: [[(x: 2.0, y: 2.0), (x: 2.0, y: 4.0), (x: 4.0, y: 4.0), (x: 4.0, y: 2.0), (x: 2.0, y: 2.0)]],
    )
}

fn sample_features() -> Vec<Feature> {
    let geometries: Vec<Option<Geometry<f64>>> = vec![
        Some(Geometry::Point(point!(x: 116.391_234_5, y: 39.907_654_3))),
        Some(Geometry::LineString(
            line_string![(x: 116.0, y: 39.0), (x: 116.5, y: 39.5)],
        )),
        Some(Geometry::Polygon(grid())),
        Some(Geometry::MultiPolygon(MultiPolygon(vec![grid(), grid()]))),
        Some(Geometry::MultiPoint(
            vec![Point::new(1.0, 2.0), Point::new(3.0, 4.0)].into(),
        )),
        None,
    ];
    geometries
        .into_iter()
        .enumerate()
        .map(|(index, geometry)| Feature {
            index,
            geometry,
            properties: props(json!({
                "code": 33018800100101_i64 + index as i64,
                "name": format!("金桂社区{index}"),
                "area": 1234.5,
                "active": index % 2 == 0,
                "note": null,
                "tags": ["a", "b"],
                "extra": {"k": "v"},
            })),
        })
        .collect()
}

#[test]
fn geojson_round_trip() {
    let features = sample_features();
    let bytes = to_geojson(&features);
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    assert!(
        text.starts_with("{\"type\":\"FeatureCollection\",\"features\":[\n{\"type\":\"Feature\"")
    );
    assert!(!text.contains("\"crs\""));
    assert_eq!(
        read_back(bytes, Format::GeoJson, &ReadOptions::default()),
        features
    );
}

#[test]
fn geojson_writer_orients_rings_per_rfc7946() {
    let clockwise = Polygon::new(
        LineString::from(vec![
            (0.0, 0.0),
            (0.0, 1.0),
            (1.0, 1.0),
            (1.0, 0.0),
            (0.0, 0.0),
        ]),
        vec![],
    );
    let feature = Feature {
        index: 0,
        geometry: Some(Geometry::Polygon(clockwise)),
        properties: Map::new(),
    };
    let back = read_back(
        to_geojson(&[feature]),
        Format::GeoJson,
        &ReadOptions::default(),
    );
    let Some(Geometry::Polygon(p)) = &back[0].geometry else {
        panic!("polygon")
    };
    let ring = &p.exterior().0;
    let area2: f64 = ring
        .windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum();
    assert!(area2 > 0.0, "exterior must be counter-clockwise");
}

#[test]
fn empty_geojson_is_a_valid_collection() {
    let bytes = GeoJsonWriter::new(Vec::new()).finish().expect("finish");
    assert_eq!(
        bytes,
        b"{\"type\":\"FeatureCollection\",\"features\":[\n\n]}\n"
    );
    assert!(read_back(bytes, Format::GeoJson, &ReadOptions::default()).is_empty());
}

#[test]
fn csv_round_trip_points() {
    let features: Vec<Feature> = (0..4)
        .map(|index| Feature {
            index,
            geometry: (index != 2).then(|| Geometry::Point(point!(x: 116.0 + index as f64 / 7.0, y: 39.9))),
            properties: props(json!({
                "code": format!("00{index}"),
                "name": if index == 3 { Value::Null } else { json!(format!("金桂社区, \"{index}\"号\n二楼")) },
            })),
        })
        .collect();
    let bytes = to_csv(&features, &["code", "name"], CsvGeometryColumns::default());
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBFcode,name,lon,lat\r\n"),
        "BOM and header"
    );
    assert_eq!(
        read_back(bytes, Format::Csv, &ReadOptions::default()),
        features
    );
}

#[test]
fn csv_round_trip_wkt() {
    let features: Vec<Feature> = sample_features()
        .into_iter()
        .map(|mut f| {
            f.properties = props(json!({"name": f.properties["name"].clone()}));
            f
        })
        .collect();
    let bytes = to_csv(&features, &["name"], CsvGeometryColumns::wkt());
    assert_eq!(
        read_back(bytes, Format::Csv, &ReadOptions::default()),
        features
    );
}

#[test]
fn csv_writes_numbers_in_full_and_rejects_what_it_cannot_hold() {
    let feature = Feature {
        index: 5,
        geometry: Some(Geometry::Point(point!(x: 1.0, y: 2.0))),
        properties: props(json!({"code": 3.3018800100101e13, "ok": true, "n": null})),
    };
    let bytes = to_csv(
        &[feature],
        &["code", "ok", "n", "absent"],
        CsvGeometryColumns::default(),
    );
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(text.ends_with("33018800100101,true,,,1,2\r\n"), "{text:?}");

    let mut writer =
        CsvWriter::new(Vec::new(), vec![], CsvGeometryColumns::default()).expect("header");
    let polygon = Feature {
        index: 9,
        geometry: Some(Geometry::Polygon(grid())),
        properties: Map::new(),
    };
    let err = writer.write(&polygon).expect_err("not a point");
    assert!(matches!(
        err,
        WriteError::NotAPoint {
            index: 9,
            geometry: "Polygon"
        }
    ));
    let nan = Feature {
        index: 3,
        geometry: Some(Geometry::Point(point!(x: f64::NAN, y: 1.0))),
        properties: Map::new(),
    };
    assert!(matches!(
        writer.write(&nan),
        Err(WriteError::NonFinite { index: 3 })
    ));
    assert!(matches!(
        GeoJsonWriter::new(Vec::new()).write(&nan),
        Err(WriteError::NonFinite { index: 3 })
    ));
    assert!(matches!(
        CsvWriter::new(Vec::new(), vec!["lat".to_owned()], CsvGeometryColumns::default()),
        Err(WriteError::DuplicateColumn(c)) if c == "lat"
    ));
}

#[test]
fn shapefile_exported_to_geojson_reads_back_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    for shp in [
        common::write_polygons(dir.path(), "grids", encoding_rs::GBK),
        common::write_points(dir.path(), "components", encoding_rs::GBK),
    ] {
        let from_shp: Vec<Feature> = FeatureReader::open(&shp, &ReadOptions::default())
            .expect("open")
            .collect::<Result<_, _>>()
            .expect("read");
        let path = shp.with_extension("geojson");
        let mut writer = GeoJsonWriter::new(std::io::BufWriter::new(
            std::fs::File::create(&path).expect("create"),
        ));
        for f in &from_shp {
            writer.write(f).expect("write");
        }
        writer.finish().expect("finish");
        let from_geojson: Vec<Feature> = FeatureReader::open(&path, &ReadOptions::default())
            .expect("open")
            .collect::<Result<_, _>>()
            .expect("read");
        assert_eq!(from_geojson, from_shp);
    }
}

/// Coordinates as survey data has them: at most 7 decimals.
fn coordinate() -> impl Strategy<Value = f64> {
    (-1_800_000_000_i64..=1_800_000_000).prop_map(|v| v as f64 / 1e7)
}

fn text() -> impl Strategy<Value = String> {
    // No Latin-1 letters: those could legitimately be "repaired" as mojibake.
    "[a-zA-Z0-9 ,;\"'\n\r\t金桂社区上水井盖号路灯二楼😀]{1,16}"
}

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        coordinate().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::String),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn geojson_round_trips_any_point_features(
        rows in proptest::collection::vec(
            (coordinate(), coordinate(), proptest::collection::btree_map("[a-z名称]{1,6}", json_value(), 0..5)),
            0..20,
        )
    ) {
        let features: Vec<Feature> = rows
            .into_iter()
            .enumerate()
            .map(|(index, (x, y, p))| Feature {
                index,
                geometry: Some(Geometry::Point(Point::new(x, y))),
                properties: p.into_iter().collect(),
            })
            .collect();
        prop_assert_eq!(read_back(to_geojson(&features), Format::GeoJson, &ReadOptions::default()), features);
    }

    #[test]
    fn csv_round_trips_any_point_features(
        rows in proptest::collection::vec(
            (coordinate(), coordinate(), proptest::option::of(text()), proptest::option::of(text())),
            1..20,
        )
    ) {
        let features: Vec<Feature> = rows
            .into_iter()
            .enumerate()
            .map(|(index, (x, y, a, b))| Feature {
                index,
                geometry: Some(Geometry::Point(Point::new(x, y))),
                properties: props(json!({"a": a, "名称": b})),
            })
            .collect();
        let bytes = to_csv(&features, &["a", "名称"], CsvGeometryColumns::default());
        prop_assert_eq!(read_back(bytes, Format::Csv, &ReadOptions::default()), features);
    }

    #[test]
    fn wkt_round_trips_polygons(
        ring in proptest::collection::vec((coordinate(), coordinate()), 3..12)
    ) {
        let mut coords: Vec<(f64, f64)> = ring;
        coords.push(coords[0]);
        let polygon = Geometry::Polygon(Polygon::new(LineString::from(coords), vec![]));
        prop_assert_eq!(cityloop_io::parse_wkt(&cityloop_io::to_wkt(&polygon)), Ok(Some(polygon)));
    }
}
