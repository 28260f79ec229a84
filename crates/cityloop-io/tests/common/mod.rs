//! Helpers shared by the integration tests: real shapefiles written with the
//! `shapefile` crate, and DBFs built byte by byte where the exact bytes matter.

use std::path::{Path, PathBuf};

use encoding_rs::Encoding;
use shapefile::dbase::{self, FieldName, FieldValue, Record, TableWriterBuilder};
use shapefile::{Point, Polygon, PolygonRing};

pub const GRID_NAME: &str = "金桂社区";
pub const COMPONENT_NAME: &str = "上水井盖";
pub const GRID_CODE: f64 = 33018800100101.0;

pub const PRJ_GK3_CM117: &str = r#"PROJCS["CGCS2000_3_Degree_GK_CM_117E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
pub const PRJ_CGCS2000: &str = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;

fn field(name: &str) -> FieldName {
    FieldName::try_from(name).expect("ASCII field name of at most 10 bytes")
}

/// The attribute table shared by the point and polygon layers.
fn table(encoding: &'static Encoding) -> TableWriterBuilder {
    TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(encoding))
        .add_character_field(field("NAME"), 40)
        .add_numeric_field(field("BGID"), 14, 0)
        .add_numeric_field(field("AREA"), 12, 2)
        .add_logical_field(field("ACTIVE"))
        .add_date_field(field("UPDATED"))
}

fn record(name: &str, code: f64, area: f64, active: bool) -> Record {
    let mut r = Record::default();
    r.insert("NAME".into(), FieldValue::Character(Some(name.to_owned())));
    r.insert("BGID".into(), FieldValue::Numeric(Some(code)));
    r.insert("AREA".into(), FieldValue::Numeric(Some(area)));
    r.insert("ACTIVE".into(), FieldValue::Logical(Some(active)));
    r.insert(
        "UPDATED".into(),
        FieldValue::Date(Some(dbase::Date::new(31, 1, 2024).expect("valid date"))),
    );
    r
}

/// Three points (components), the text in `encoding`.
pub fn write_points(dir: &Path, stem: &str, encoding: &'static Encoding) -> PathBuf {
    let path = dir.join(format!("{stem}.shp"));
    let mut writer =
        shapefile::Writer::from_path(&path, table(encoding)).expect("create shapefile");
    let rows = [
        (116.391, 39.907, COMPONENT_NAME, 1.0),
        (116.392, 39.908, "雨水井盖", 2.0),
        (116.393, 39.909, "路灯 No.7", 3.0),
    ];
    for (x, y, name, n) in rows {
        writer
            .write_shape_and_record(&Point::new(x, y), &record(name, GRID_CODE + n, n, true))
            .expect("write point");
    }
    path
}

fn ring(points: &[(f64, f64)]) -> Vec<Point> {
    points.iter().map(|&(x, y)| Point::new(x, y)).collect()
}

/// Two grids: a square with a hole, and a two-part grid whose hole is
/// listed after both shells (so a "hole belongs to the previous shell" rule
/// would put it in the wrong part).
pub fn write_polygons(dir: &Path, stem: &str, encoding: &'static Encoding) -> PathBuf {
    let path = dir.join(format!("{stem}.shp"));
    let mut writer =
        shapefile::Writer::from_path(&path, table(encoding)).expect("create shapefile");
    let with_hole = Polygon::with_rings(vec![
        PolygonRing::Outer(ring(&[
            (0.0, 0.0),
            (0.0, 10.0),
            (10.0, 10.0),
            (10.0, 0.0),
            (0.0, 0.0),
        ])),
        PolygonRing::Inner(ring(&[
            (2.0, 2.0),
            (4.0, 2.0),
            (4.0, 4.0),
            (2.0, 4.0),
            (2.0, 2.0),
        ])),
    ]);
    let two_parts = Polygon::with_rings(vec![
        PolygonRing::Outer(ring(&[
            (20.0, 0.0),
            (20.0, 10.0),
            (30.0, 10.0),
            (30.0, 0.0),
            (20.0, 0.0),
        ])),
        PolygonRing::Outer(ring(&[
            (40.0, 0.0),
            (40.0, 10.0),
            (50.0, 10.0),
            (50.0, 0.0),
            (40.0, 0.0),
        ])),
        PolygonRing::Inner(ring(&[
            (22.0, 2.0),
            (24.0, 2.0),
            (24.0, 4.0),
            (22.0, 4.0),
            (22.0, 2.0),
        ])),
    ]);
    writer
        .write_shape_and_record(&with_hole, &record(GRID_NAME, GRID_CODE, 96.0, true))
        .expect("write polygon");
    writer
        .write_shape_and_record(
            &two_parts,
            &record("金桂社区二网格", GRID_CODE + 1.0, 196.5, false),
        )
        .expect("write polygon");
    path
}

pub fn write_sidecar(shp: &Path, ext: &str, text: &str) {
    std::fs::write(shp.with_extension(ext), text).expect("write sidecar");
}

/// Whether `haystack` contains `needle` as a byte substring.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub struct RawField<'a> {
    pub name: &'a [u8],
    pub kind: u8,
    pub length: u8,
    pub decimals: u8,
}

/// A dBase III file built byte by byte: no language driver id, exactly the
/// bytes given (GBK text, mojibake, deleted flags).
pub fn build_dbf(fields: &[RawField<'_>], records: &[(bool, Vec<Vec<u8>>)]) -> Vec<u8> {
    let record_len: usize = 1 + fields.iter().map(|f| usize::from(f.length)).sum::<usize>();
    let header_len = 32 + 32 * fields.len() + 1;
    let mut out = vec![0u8; 32];
    out[0] = 0x03;
    out[1..4].copy_from_slice(&[124, 1, 1]);
    out[4..8].copy_from_slice(&(records.len() as u32).to_le_bytes());
    out[8..10].copy_from_slice(&(header_len as u16).to_le_bytes());
    out[10..12].copy_from_slice(&(record_len as u16).to_le_bytes());
    for f in fields {
        let mut d = [0u8; 32];
        d[..f.name.len()].copy_from_slice(f.name);
        d[11] = f.kind;
        d[16] = f.length;
        d[17] = f.decimals;
        out.extend_from_slice(&d);
    }
    out.push(0x0D);
    for (deleted, values) in records {
        out.push(if *deleted { b'*' } else { b' ' });
        for (f, v) in fields.iter().zip(values) {
            let mut cell = v.clone();
            cell.resize(usize::from(f.length), b' ');
            out.extend_from_slice(&cell);
        }
    }
    out.push(0x1A);
    out
}

/// Writes `count` points as .shp/.shx only (no .dbf).
pub fn write_bare_points(path: &Path, count: usize) {
    let mut writer = shapefile::ShapeWriter::from_path(path).expect("create .shp");
    for i in 0..count {
        writer
            .write_shape(&Point::new(116.0 + i as f64 * 0.001, 39.9))
            .expect("write point");
    }
    writer.finalize().expect("finalize");
}

pub fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(s).0.into_owned()
}
