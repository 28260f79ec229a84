//! Golden tests on real shapefiles written to a temp dir: GBK and UTF-8
//! attribute tables with and without `.cpg`, explicit encodings, `.prj`
//! recognition, polygons with holes, and damaged files.

mod common;

use std::io::Cursor;
use std::path::Path;

use cityloop_io::{Feature, FeatureReader, ReadErrorKind, ReadOptions, ShapefileParts, get_str};
use common::*;
use encoding_rs::{Encoding, GBK, UTF_8};
use geo_types::Geometry;
use serde_json::json;

fn read_all(path: &Path, opts: &ReadOptions) -> (FeatureReader, Vec<Feature>) {
    let mut reader = FeatureReader::open(path, opts).expect("open");
    let features = reader
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .expect("all records read");
    (reader, features)
}

fn names(features: &[Feature]) -> Vec<String> {
    features
        .iter()
        .map(|f| get_str(&f.properties, "NAME").unwrap_or_default())
        .collect()
}

fn explicit(encoding: &'static Encoding) -> ReadOptions {
    ReadOptions {
        encoding: Some(encoding),
        ..ReadOptions::default()
    }
}

/// The file really holds GBK (or UTF-8) bytes, so the tests below are honest.
fn assert_dbf_holds(shp: &Path, text: &str, encoding: &'static Encoding) {
    let dbf = std::fs::read(shp.with_extension("dbf")).expect("read dbf");
    let wanted = encoding.encode(text).0;
    assert!(
        contains_bytes(&dbf, &wanted),
        "{text} not stored as {}",
        encoding.name()
    );
    let other = if encoding == GBK { UTF_8 } else { GBK };
    assert!(
        !contains_bytes(&dbf, &other.encode(text).0),
        "{text} unexpectedly stored as {}",
        other.name()
    );
}

#[test]
fn gbk_points_with_cpg_in_every_spelling() {
    for label in ["GBK", "936", "CP936", "GB2312", "GB18030", "ANSI 936\r\n"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let shp = write_points(dir.path(), "components", GBK);
        assert_dbf_holds(&shp, COMPONENT_NAME, GBK);
        write_sidecar(&shp, "cpg", label);
        let (reader, features) = read_all(&shp, &ReadOptions::default());
        assert_eq!(
            names(&features),
            [COMPONENT_NAME, "雨水井盖", "路灯 No.7"],
            "{label}"
        );
        assert!(
            reader.warnings().is_empty(),
            "{label}: {:?}",
            reader.warnings()
        );
        // GB18030 is a GBK superset; either name is right for what was declared.
        assert!(
            reader.encoding_used() == GBK || reader.encoding_used() == encoding_rs::GB18030,
            "{label}"
        );
    }
}

#[test]
fn gbk_points_without_cpg_are_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_points(dir.path(), "components", GBK);
    assert_dbf_holds(&shp, COMPONENT_NAME, GBK);
    // Clear the language driver id the dbase writer sets (0x7A, GBK), so
    // only the bytes themselves can tell.
    let dbf_path = shp.with_extension("dbf");
    let mut dbf = std::fs::read(&dbf_path).expect("read dbf");
    dbf[29] = 0;
    std::fs::write(&dbf_path, dbf).expect("write dbf");
    let (reader, features) = read_all(&shp, &ReadOptions::default());
    assert_eq!(reader.encoding_used(), GBK);
    assert_eq!(names(&features), [COMPONENT_NAME, "雨水井盖", "路灯 No.7"]);
    assert!(reader.warnings().is_empty(), "{:?}", reader.warnings());
}

#[test]
fn utf8_points_with_and_without_cpg() {
    for cpg in [Some("UTF-8"), Some("65001"), None] {
        let dir = tempfile::tempdir().expect("tempdir");
        let shp = write_points(dir.path(), "components", UTF_8);
        assert_dbf_holds(&shp, COMPONENT_NAME, UTF_8);
        if let Some(label) = cpg {
            write_sidecar(&shp, "cpg", label);
        }
        let (reader, features) = read_all(&shp, &ReadOptions::default());
        assert_eq!(reader.encoding_used(), UTF_8, "{cpg:?}");
        assert_eq!(
            names(&features),
            [COMPONENT_NAME, "雨水井盖", "路灯 No.7"],
            "{cpg:?}"
        );
        assert!(
            reader.warnings().is_empty(),
            "{cpg:?}: {:?}",
            reader.warnings()
        );
    }
}

#[test]
fn gbk_polygons_every_encoding_case() {
    // (file encoding, .cpg, explicit option)
    let cases: [(&'static Encoding, Option<&str>, Option<&'static Encoding>); 7] = [
        (GBK, Some("GBK"), None),
        (GBK, None, None),
        (UTF_8, Some("UTF-8"), None),
        (UTF_8, None, None),
        (GBK, None, Some(GBK)),
        // The explicit option beats a wrong .cpg.
        (GBK, Some("UTF-8"), Some(GBK)),
        (UTF_8, Some("GBK"), Some(UTF_8)),
    ];
    for (file_encoding, cpg, option) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let shp = write_polygons(dir.path(), "grids", file_encoding);
        assert_dbf_holds(&shp, GRID_NAME, file_encoding);
        if let Some(label) = cpg {
            write_sidecar(&shp, "cpg", label);
        }
        let opts = ReadOptions {
            encoding: option,
            ..ReadOptions::default()
        };
        let (reader, features) = read_all(&shp, &opts);
        let case = format!(
            "{} cpg={cpg:?} option={:?}",
            file_encoding.name(),
            option.map(Encoding::name)
        );
        assert_eq!(names(&features), [GRID_NAME, "金桂社区二网格"], "{case}");
        assert_eq!(reader.encoding_used(), file_encoding, "{case}");
        assert!(
            reader.warnings().is_empty(),
            "{case}: {:?}",
            reader.warnings()
        );
    }
}

#[test]
fn attributes_are_typed_and_codes_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_polygons(dir.path(), "grids", GBK);
    let (reader, features) = read_all(&shp, &ReadOptions::default());
    let first = &features[0].properties;
    assert_eq!(first["NAME"], json!(GRID_NAME));
    assert_eq!(first["BGID"], json!(33018800100101_i64));
    assert_eq!(get_str(first, "BGID").as_deref(), Some("33018800100101"));
    assert_eq!(get_str(first, "bgid").as_deref(), Some("33018800100101"));
    assert_eq!(first["AREA"], json!(96.0));
    assert_eq!(first["ACTIVE"], json!(true));
    assert_eq!(first["UPDATED"], json!("2024-01-31"));
    assert_eq!(features[1].properties["ACTIVE"], json!(false));
    assert_eq!(features[1].properties["AREA"], json!(196.5));
    assert_eq!(
        reader.field_names(),
        Some(vec![
            "NAME".into(),
            "BGID".into(),
            "AREA".into(),
            "ACTIVE".into(),
            "UPDATED".into()
        ])
    );
    assert_eq!(reader.total_hint(), Some(2));
    assert_eq!(features.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn polygons_get_their_holes_and_rfc7946_orientation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_polygons(dir.path(), "grids", UTF_8);
    let (_, features) = read_all(&shp, &ReadOptions::default());

    let Some(Geometry::Polygon(square)) = &features[0].geometry else {
        panic!("expected a polygon, got {:?}", features[0].geometry);
    };
    assert_eq!(square.interiors().len(), 1);
    assert!(
        signed_area(&square.exterior().0) > 0.0,
        "shell counter-clockwise"
    );
    assert!(
        signed_area(&square.interiors()[0].0) < 0.0,
        "hole clockwise"
    );

    let Some(Geometry::MultiPolygon(parts)) = &features[1].geometry else {
        panic!("expected a multipolygon, got {:?}", features[1].geometry);
    };
    assert_eq!(parts.0.len(), 2);
    // The hole at (22..24, 2..4) belongs to the first part (20..30), although
    // it follows the second shell in the file.
    assert_eq!(parts.0[0].interiors().len(), 1);
    assert_eq!(parts.0[1].interiors().len(), 0);
}

fn signed_area(ring: &[geo_types::Coord<f64>]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum()
}

#[test]
fn points_geometry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_points(dir.path(), "components", GBK);
    let (_, features) = read_all(&shp, &ReadOptions::default());
    assert_eq!(
        features[0].geometry,
        Some(Geometry::Point(geo_types::point!(x: 116.391, y: 39.907)))
    );
}

#[test]
fn wrong_utf8_cpg_over_gbk_falls_back_with_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_polygons(dir.path(), "grids", GBK);
    write_sidecar(&shp, "cpg", "UTF-8");
    let (reader, features) = read_all(&shp, &ReadOptions::default());
    assert_eq!(names(&features), [GRID_NAME, "金桂社区二网格"]);
    assert_eq!(reader.encoding_used(), GBK);
    assert_eq!(reader.warnings().len(), 1, "{:?}", reader.warnings());
    let warning = reader.warnings()[0].to_string();
    assert!(warning.contains("grids.dbf"), "{warning}");
    assert!(warning.contains("decoding as GBK"), "{warning}");
}

#[test]
fn explicit_wrong_encoding_is_an_error_naming_record_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_points(dir.path(), "components", GBK);
    let mut reader = FeatureReader::open(&shp, &explicit(UTF_8)).expect("open");
    let err = reader
        .next()
        .expect("an item")
        .expect_err("GBK is not UTF-8");
    assert!(!err.is_fatal());
    assert!(matches!(
        err.kind(),
        ReadErrorKind::Undecodable { encoding: "UTF-8" }
    ));
    assert_eq!(err.index(), Some(0));
    let message = err.to_string();
    assert!(message.ends_with("components.dbf: record 0, field \"NAME\": text is not valid UTF-8; pass the right encoding explicitly"), "{message}");
    // The stream carries on: the third record's name is ASCII + GBK too, so
    // every record fails the same way, but none is skipped silently.
    let rest: Vec<_> = reader.collect();
    assert_eq!(rest.len(), 2);
    assert!(rest.iter().all(Result::is_err));
}

#[test]
fn unknown_cpg_label_warns_and_detects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_points(dir.path(), "components", GBK);
    write_sidecar(&shp, "cpg", "SOMETHING-ODD");
    let (reader, features) = read_all(&shp, &ReadOptions::default());
    assert_eq!(names(&features)[0], COMPONENT_NAME);
    assert_eq!(reader.warnings().len(), 1);
    assert!(reader.warnings()[0].message.contains("SOMETHING-ODD"));
}

/// A .dbf written byte by byte (no language driver id; a GBK field name; a
/// UTF-8 value double-encoded through Latin-1; a deleted record), next to a
/// .shp from the `shapefile` crate.
#[test]
fn hand_built_gbk_dbf_with_chinese_field_name_and_deleted_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = dir.path().join("raw.shp");
    write_bare_points(&shp, 3);
    let name_field = gbk("名称");
    let fields = [
        RawField {
            name: &name_field,
            kind: b'C',
            length: 30,
            decimals: 0,
        },
        RawField {
            name: b"CODE",
            kind: b'N',
            length: 16,
            decimals: 0,
        },
    ];
    let dbf = build_dbf(
        &fields,
        &[
            (false, vec![gbk(GRID_NAME), b"33018800100101".to_vec()]),
            (true, vec![gbk("已删除"), b"1".to_vec()]),
            (false, vec![gbk(COMPONENT_NAME), b"".to_vec()]),
        ],
    );
    std::fs::write(shp.with_extension("dbf"), dbf).expect("write dbf");

    let (reader, features) = read_all(&shp, &ReadOptions::default());
    assert_eq!(reader.encoding_used(), GBK);
    assert_eq!(
        reader.field_names(),
        Some(vec!["名称".to_owned(), "CODE".to_owned()])
    );
    // The deleted record is skipped, but indices keep the file's numbering.
    assert_eq!(features.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 2]);
    assert_eq!(features[0].properties["名称"], json!(GRID_NAME));
    assert_eq!(
        get_str(&features[0].properties, "CODE").as_deref(),
        Some("33018800100101")
    );
    assert_eq!(features[1].properties["名称"], json!(COMPONENT_NAME));
    assert_eq!(features[1].properties["CODE"], json!(null));
    assert_eq!(
        features[1].geometry,
        Some(Geometry::Point(geo_types::point!(x: 116.002, y: 39.9)))
    );
    assert_eq!(reader.warnings().len(), 1);
    assert!(
        reader.warnings()[0]
            .to_string()
            .contains("record 1: record is marked deleted")
    );
}

#[test]
fn latin1_mojibake_in_a_utf8_dbf_is_repaired_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = dir.path().join("mojibake.shp");
    write_bare_points(&shp, 2);
    // GBK bytes of 金桂社区 shown as Latin-1 ("½ð¹ðÉçÇø") and saved as UTF-8.
    let mojibake: String = gbk(GRID_NAME).iter().map(|&b| char::from(b)).collect();
    let fields = [RawField {
        name: b"NAME",
        kind: b'C',
        length: 30,
        decimals: 0,
    }];
    let dbf = build_dbf(
        &fields,
        &[
            (false, vec![mojibake.as_bytes().to_vec()]),
            (false, vec!["Café Ångström".as_bytes().to_vec()]),
        ],
    );
    std::fs::write(shp.with_extension("dbf"), dbf).expect("write dbf");
    write_sidecar(&shp, "cpg", "UTF-8");

    let (reader, features) = read_all(&shp, &ReadOptions::default());
    assert_eq!(names(&features), [GRID_NAME, "Café Ångström"]);
    assert_eq!(reader.warnings().len(), 1, "{:?}", reader.warnings());
    let warning = reader.warnings()[0].to_string();
    assert!(warning.contains("record 0, field \"NAME\""), "{warning}");
    assert!(warning.contains("mojibake"), "{warning}");

    // With the encoding given explicitly nothing is second-guessed.
    let (_, features) = read_all(&shp, &explicit(UTF_8));
    assert_eq!(names(&features)[0], mojibake);
}

#[test]
fn gbk_value_truncated_mid_character_by_the_field_width() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = dir.path().join("cut.shp");
    write_bare_points(&shp, 1);
    // 7 bytes: three full GBK characters and half of the fourth.
    let mut cut = gbk(GRID_NAME);
    cut.truncate(7);
    let fields = [RawField {
        name: b"NAME",
        kind: b'C',
        length: 7,
        decimals: 0,
    }];
    std::fs::write(
        shp.with_extension("dbf"),
        build_dbf(&fields, &[(false, vec![cut])]),
    )
    .expect("write dbf");
    write_sidecar(&shp, "cpg", "GBK");
    let (reader, features) = read_all(&shp, &ReadOptions::default());
    assert_eq!(names(&features), ["金桂社"]);
    assert!(reader.warnings()[0].message.contains("cut off"));
}

#[test]
fn prj_is_recognised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_polygons(dir.path(), "grids", GBK);
    let reader = FeatureReader::open(&shp, &ReadOptions::default()).expect("open");
    assert_eq!(reader.declared_crs(), None);

    write_sidecar(&shp, "prj", PRJ_GK3_CM117);
    let reader = FeatureReader::open(&shp, &ReadOptions::default()).expect("open");
    assert_eq!(reader.declared_crs().as_deref(), Some("cgcs2000-gk3-39"));

    write_sidecar(&shp, "prj", PRJ_CGCS2000);
    let reader = FeatureReader::open(&shp, &ReadOptions::default()).expect("open");
    assert_eq!(reader.declared_crs().as_deref(), Some("cgcs2000"));
}

#[test]
fn upper_case_sidecars_are_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_points(dir.path(), "COMPONENTS", GBK);
    let upper = dir.path().join("COMPONENTS.SHP");
    std::fs::rename(&shp, &upper).expect("rename shp");
    std::fs::rename(shp.with_extension("dbf"), upper.with_extension("DBF")).expect("rename dbf");
    std::fs::write(upper.with_extension("CPG"), "GBK").expect("write cpg");
    std::fs::write(upper.with_extension("PRJ"), PRJ_CGCS2000).expect("write prj");
    let (reader, features) = read_all(&upper, &ReadOptions::default());
    assert_eq!(names(&features)[0], COMPONENT_NAME);
    assert_eq!(reader.declared_crs().as_deref(), Some("cgcs2000"));
}

#[test]
fn truncated_shp_names_the_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_points(dir.path(), "components", GBK);
    // Points are 28-byte records (8 header + 20 content) after the 100-byte
    // header: cut the third record in the middle of its coordinates.
    let bytes = std::fs::read(&shp).expect("read shp");
    assert_eq!(bytes.len(), 100 + 3 * 28);
    std::fs::write(&shp, &bytes[..100 + 2 * 28 + 15]).expect("truncate");

    let mut reader = FeatureReader::open(&shp, &ReadOptions::default()).expect("open");
    assert!(reader.next().expect("record 0").is_ok());
    assert!(reader.next().expect("record 1").is_ok());
    let err = reader.next().expect("record 2").expect_err("truncated");
    assert!(err.is_fatal());
    assert_eq!(err.index(), Some(2));
    assert!(matches!(err.kind(), ReadErrorKind::Truncated(_)));
    let message = err.to_string();
    assert!(
        message.ends_with("components.shp: record 2: truncated file: record needs 20 bytes of content, the file ends after 7"),
        "{message}"
    );
    assert!(reader.next().is_none(), "nothing after a fatal error");
}

#[test]
fn truncated_shp_at_record_boundary_and_in_record_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_points(dir.path(), "components", GBK);
    let bytes = std::fs::read(&shp).expect("read shp");
    for (cut, expected) in [
        (
            100 + 2 * 28,
            "the file ends at byte 156 but its header declares 184 bytes",
        ),
        (
            100 + 2 * 28 + 3,
            "the 8-byte record header is cut off after 3 bytes",
        ),
    ] {
        std::fs::write(&shp, &bytes[..cut]).expect("truncate");
        let results: Vec<_> = FeatureReader::open(&shp, &ReadOptions::default())
            .expect("open")
            .collect();
        assert_eq!(results.len(), 3);
        let err = results[2].as_ref().expect_err("truncated");
        assert_eq!(err.index(), Some(2));
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn truncated_header_is_an_open_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_points(dir.path(), "components", GBK);
    let bytes = std::fs::read(&shp).expect("read shp");
    std::fs::write(&shp, &bytes[..60]).expect("truncate");
    let err = FeatureReader::open(&shp, &ReadOptions::default()).expect_err("bad header");
    assert!(
        err.to_string()
            .ends_with("components.shp: truncated file: the 100-byte header is incomplete"),
        "{err}"
    );
}

#[test]
fn truncated_dbf_names_the_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_points(dir.path(), "components", GBK);
    let dbf_path = shp.with_extension("dbf");
    let dbf = std::fs::read(&dbf_path).expect("read dbf");
    // Drop the end-of-file marker and half of the last record.
    std::fs::write(&dbf_path, &dbf[..dbf.len() - 1 - 30]).expect("truncate");
    let results: Vec<_> = FeatureReader::open(&shp, &ReadOptions::default())
        .expect("open")
        .collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[1].is_ok());
    let err = results[2].as_ref().expect_err("truncated dbf");
    assert!(
        err.to_string()
            .contains("components.dbf: record 2: truncated file"),
        "{err}"
    );
}

#[test]
fn record_count_mismatch_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = dir.path().join("mismatch.shp");
    write_bare_points(&shp, 2);
    let fields = [RawField {
        name: b"N",
        kind: b'C',
        length: 4,
        decimals: 0,
    }];
    let rows: Vec<(bool, Vec<Vec<u8>>)> = (0..3)
        .map(|i| (false, vec![format!("r{i}").into_bytes()]))
        .collect();
    std::fs::write(shp.with_extension("dbf"), build_dbf(&fields, &rows)).expect("write dbf");
    let results: Vec<_> = FeatureReader::open(&shp, &ReadOptions::default())
        .expect("open")
        .collect();
    assert_eq!(results.len(), 3);
    let err = results[2].as_ref().expect_err("mismatch");
    assert!(
        err.to_string()
            .ends_with("mismatch.dbf: record 2: the .shp ends after 2 records but the .dbf has 3"),
        "{err}"
    );
}

#[test]
fn missing_dbf_gives_empty_properties_and_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = dir.path().join("bare.shp");
    write_bare_points(&shp, 4);
    let (reader, features) = read_all(&shp, &ReadOptions::default());
    assert_eq!(features.len(), 4);
    assert!(features.iter().all(|f| f.properties.is_empty()));
    assert_eq!(reader.total_hint(), Some(4), "from the .shx size");
    assert!(reader.warnings()[0].message.contains("no .dbf"));
}

#[test]
fn progress_hints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_points(dir.path(), "components", GBK);
    let mut reader = FeatureReader::open(&shp, &ReadOptions::default()).expect("open");
    assert_eq!(reader.total_hint(), Some(3));
    assert_eq!(reader.bytes_read_hint(), Some((100, 184)));
    reader.next();
    assert_eq!(reader.bytes_read_hint(), Some((128, 184)));
    reader.by_ref().for_each(drop);
    assert_eq!(reader.bytes_read_hint(), Some((184, 184)));
}

#[test]
fn from_parts_in_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shp = write_polygons(dir.path(), "grids", GBK);
    let parts = ShapefileParts {
        shp: Box::new(Cursor::new(std::fs::read(&shp).expect("shp"))),
        dbf: Some(Box::new(Cursor::new(
            std::fs::read(shp.with_extension("dbf")).expect("dbf"),
        ))),
        cpg: Some("936".to_owned()),
        prj: Some(PRJ_GK3_CM117.to_owned()),
    };
    let mut reader = FeatureReader::from_shapefile_parts(
        Path::new("upload/grids.shp"),
        parts,
        &ReadOptions::default(),
    )
    .expect("open");
    assert_eq!(reader.declared_crs().as_deref(), Some("cgcs2000-gk3-39"));
    let features: Vec<Feature> = reader.by_ref().collect::<Result<_, _>>().expect("read");
    assert_eq!(names(&features), [GRID_NAME, "金桂社区二网格"]);
}

#[test]
fn polyline_and_null_shapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("roads.shp");
    {
        let mut writer = shapefile::ShapeWriter::from_path(&path).expect("create");
        let line = shapefile::Polyline::with_parts(vec![
            vec![
                shapefile::Point::new(0.0, 0.0),
                shapefile::Point::new(1.0, 1.0),
            ],
            vec![
                shapefile::Point::new(2.0, 2.0),
                shapefile::Point::new(3.0, 3.0),
            ],
        ]);
        writer.write_shape(&line).expect("write");
        writer.finalize().expect("finalize");
    }
    let (_, features) = read_all(&path, &ReadOptions::default());
    assert!(matches!(&features[0].geometry, Some(Geometry::MultiLineString(m)) if m.0.len() == 2));
}
