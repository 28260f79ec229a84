use proptest::prelude::*;
use serde::de::IntoDeserializer;
use serde::de::value::{Error as DeError, StrDeserializer};

use super::gcj::{
    bd09_to_gcj02, bd09_to_wgs84, gcj02_to_bd09, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02,
};
use super::*;

fn close(actual: (f64, f64), expected: (f64, f64), tolerance: f64) -> bool {
    (actual.0 - expected.0).abs() < tolerance && (actual.1 - expected.1).abs() < tolerance
}

#[test]
fn gcj02_golden() {
    let gcj = wgs84_to_gcj02(116.404, 39.915);
    assert!(
        close(gcj, (116.410_244_499_169_38, 39.916_404_281_501_64), 1e-12),
        "{gcj:?}"
    );
    let wgs = gcj02_to_wgs84(gcj.0, gcj.1);
    assert!(close(wgs, (116.404, 39.915), 1e-9), "{wgs:?}");
    // The iteration does far better than the 1e-9 contract.
    assert!(close(wgs, (116.404, 39.915), 1e-12), "{wgs:?}");
}

#[test]
fn bd09_golden() {
    // gcj02 -> bd09 of (116.404, 39.915) as published with the standard
    // formulas (e.g. the coordtransform README).
    let bd = gcj02_to_bd09(116.404, 39.915);
    assert!(
        close(bd, (116.410_369_493_710_29, 39.921_336_993_510_21), 1e-12),
        "{bd:?}"
    );
    assert!(close(bd09_to_gcj02(bd.0, bd.1), (116.404, 39.915), 1e-12));

    // WGS84 -> BD-09 composes both offsets.
    let bd = wgs84_to_bd09(116.404, 39.915);
    assert!(
        close(bd, (116.416_627_243_787_33, 39.922_699_552_216_216), 1e-12),
        "{bd:?}"
    );
    assert!(close(bd09_to_wgs84(bd.0, bd.1), (116.404, 39.915), 1e-12));
}

#[test]
fn bd09_iterative_inverse_beats_the_one_step_formula() {
    // The widely published one-step bd09 -> gcj02 of (116.404, 39.915) is
    // (116.39762729119315, 39.90865673957631). The iterative inverse must be
    // near it but is not identical: the one-step result is what is off.
    let published = (116.397_627_291_193_15, 39.908_656_739_576_31);
    let ours = bd09_to_gcj02(116.404, 39.915);
    assert!(close(ours, published, 2e-5), "{ours:?}");
    assert!(close(
        gcj02_to_bd09(ours.0, ours.1),
        (116.404, 39.915),
        1e-12
    ));
    let back = gcj02_to_bd09(published.0, published.1);
    assert!(!close(back, (116.404, 39.915), 1e-9), "{back:?}");
}

#[test]
fn outside_china_passes_through() {
    for (lon, lat) in [(2.35, 48.85), (-74.0, 40.7), (151.2, -33.9)] {
        assert_eq!(wgs84_to_gcj02(lon, lat), (lon, lat));
        assert_eq!(gcj02_to_wgs84(lon, lat), (lon, lat));
        assert_eq!(wgs84_to_bd09(lon, lat), (lon, lat));
        assert_eq!(bd09_to_wgs84(lon, lat), (lon, lat));
        assert_eq!(gcj02_to_bd09(lon, lat), (lon, lat));
        assert_eq!(bd09_to_gcj02(lon, lat), (lon, lat));
        let p = to_storage(Crs::Gcj02, lon, lat).unwrap();
        assert_eq!((p.lon(), p.lat()), (lon, lat));
    }
}

#[test]
fn gauss_kruger_golden() {
    let plain = Crs::GaussKruger3 {
        zone: 39,
        zone_prefix: false,
    };
    let p = LonLat::new(116.35, 39.95).unwrap();
    let (x, y) = from_storage(plain, p).unwrap();
    assert!(close((x, y), (444_453.318, 4_424_179.645), 1e-3), "{x} {y}");

    let back = to_storage(plain, 444_453.318, 4_424_179.645).unwrap();
    assert!(
        close((back.lon(), back.lat()), (116.35, 39.95), 1e-8),
        "{back:?}"
    );
    let exact = to_storage(plain, x, y).unwrap();
    assert!(close((exact.lon(), exact.lat()), (116.35, 39.95), 1e-12));

    let prefixed = Crs::GaussKruger3 {
        zone: 39,
        zone_prefix: true,
    };
    let (px, py) = from_storage(prefixed, p).unwrap();
    assert!(close((px, py), (39_444_453.318, 4_424_179.645), 1e-3));
    // Input detects the prefix from the magnitude, whatever the flag says.
    for crs in [plain, prefixed] {
        for easting in [444_453.318, 39_444_453.318] {
            let q = to_storage(crs, easting, 4_424_179.645).unwrap();
            assert!(close((q.lon(), q.lat()), (116.35, 39.95), 1e-8));
        }
    }
}

#[test]
fn gauss_kruger_zone_errors() {
    let zone39 = Crs::GaussKruger3 {
        zone: 39,
        zone_prefix: true,
    };
    let err = to_storage(zone39, 40_444_453.318, 4_424_179.645).unwrap_err();
    assert!(matches!(
        err,
        CrsError::ZonePrefixMismatch {
            declared: 39,
            found: 40,
            ..
        }
    ));
    assert_eq!(err.field(), Some("x"));
    // Northing and easting swapped, as survey tables print them.
    let err = to_storage(zone39, 4_424_179.645, 39_444_453.318).unwrap_err();
    assert!(matches!(err, CrsError::ZonePrefixMismatch { found: 4, .. }));

    let bad = Crs::GaussKruger3 {
        zone: 60,
        zone_prefix: false,
    };
    assert_eq!(
        to_storage(bad, 500_000.0, 4_000_000.0),
        Err(CrsError::ZoneOutOfRange { zone: 60 })
    );
    assert_eq!(bad.epsg_code(), None);
    assert_eq!(
        to_storage(zone39, f64::NAN, 1.0).unwrap_err().field(),
        Some("x")
    );
    assert_eq!(
        to_storage(zone39, 1.0, f64::INFINITY).unwrap_err().field(),
        Some("y")
    );
}

#[test]
fn gauss_kruger_rejects_points_outside_the_projected_domain() {
    let zone39 = Crs::GaussKruger3 {
        zone: 39,
        zone_prefix: false,
    };
    // Without the domain check these come back as plausible but wrong points.
    let err = to_storage(zone39, 500_000.0, 1e9).unwrap_err();
    assert!(matches!(
        err,
        CrsError::ProjectedOutOfRange { field: "y", .. }
    ));
    assert_eq!(err.field(), Some("y"));
    let err = to_storage(zone39, -5e6, 4e6).unwrap_err();
    assert!(matches!(
        err,
        CrsError::ProjectedOutOfRange { field: "x", .. }
    ));
    assert!(to_storage(zone39, 0.0, 4e6).is_err());
    assert!(to_storage(zone39, 999_999.0, 4e6).is_ok());

    let far = LonLat::new(-170.0, 80.0).unwrap();
    assert!(matches!(
        from_storage(zone39, far),
        Err(CrsError::OutsideZone { zone: 39, .. })
    ));
    let south = LonLat::new(117.0, -10.0).unwrap();
    assert!(from_storage(zone39, south).is_err());
    // Eight degrees off the meridian at 40°N is more than 500 km.
    assert!(from_storage(zone39, LonLat::new(125.0, 40.0).unwrap()).is_err());
    // Neighbouring-zone overlap works.
    assert!(from_storage(zone39, LonLat::new(119.0, 40.0).unwrap()).is_ok());
}

#[test]
fn parses_the_names_users_type() {
    let gk = |zone, zone_prefix| Crs::GaussKruger3 { zone, zone_prefix };
    let cases = [
        ("wgs84", Crs::Wgs84),
        ("WGS84", Crs::Wgs84),
        ("EPSG:4326", Crs::Wgs84),
        ("epsg:4326", Crs::Wgs84),
        ("cgcs2000", Crs::Cgcs2000),
        ("EPSG:4490", Crs::Cgcs2000),
        ("gcj02", Crs::Gcj02),
        ("GCJ-02", Crs::Gcj02),
        ("bd09", Crs::Bd09),
        ("bd-09", Crs::Bd09),
        ("bd09ll", Crs::Bd09),
        (" gcj02 ", Crs::Gcj02),
        ("EPSG:4513", gk(25, true)),
        ("EPSG:4527", gk(39, true)),
        ("EPSG:4533", gk(45, true)),
        ("EPSG:4534", gk(25, false)),
        ("EPSG:4548", gk(39, false)),
        ("EPSG:4554", gk(45, false)),
        ("gk3:39", gk(39, false)),
        ("gk3:39:prefixed", gk(39, true)),
        ("cgcs2000-gk3-39", gk(39, false)),
        ("CGCS2000-GK3-39-prefixed", gk(39, true)),
    ];
    for (text, expected) in cases {
        assert_eq!(text.parse::<Crs>(), Ok(expected), "{text}");
    }
    for code in 4513..=4554_u16 {
        let crs: Crs = format!("EPSG:{code}").parse().unwrap();
        assert_eq!(crs.epsg_code(), Some(code));
    }
}

#[test]
fn rejects_unknown_names_with_the_accepted_forms() {
    for text in [
        "",
        "utm50",
        "EPSG:3857",
        "EPSG:4512",
        "EPSG:4555",
        "gk3:",
        "gk3:+39",
        "gk3:x",
    ] {
        let err = text.parse::<Crs>().unwrap_err();
        assert!(matches!(err, CrsError::UnknownCrs { .. }), "{text}: {err}");
        let message = err.to_string();
        assert!(message.contains("EPSG:4513..EPSG:4533"), "{message}");
        assert!(message.contains("gk3:<zone>"), "{message}");
        assert_eq!(err.field(), Some("crs"));
    }
    assert_eq!(
        "gk3:24".parse::<Crs>(),
        Err(CrsError::ZoneOutOfRange { zone: 24 })
    );
    assert_eq!(
        "cgcs2000-gk3-300".parse::<Crs>(),
        Err(CrsError::ZoneOutOfRange { zone: 300 })
    );
}

#[test]
fn serde_uses_the_display_string() {
    let crs = Crs::GaussKruger3 {
        zone: 40,
        zone_prefix: true,
    };
    assert_eq!(String::from(crs), "cgcs2000-gk3-40-prefixed");
    let de: StrDeserializer<'_, DeError> = "EPSG:4528".into_deserializer();
    assert_eq!(Crs::deserialize(de), Ok(crs));
    let de: StrDeserializer<'_, DeError> = "mercator".into_deserializer();
    assert!(Crs::deserialize(de).is_err());
}

#[test]
fn lonlat_and_extent_deserialise_with_validation() {
    use serde::de::value::MapDeserializer;
    let fields = |lon: f64, lat: f64| {
        MapDeserializer::<'_, _, DeError>::new([("lon", lon), ("lat", lat)].into_iter())
    };
    assert_eq!(
        LonLat::deserialize(fields(120.5, 31.2)),
        Ok(LonLat::new(120.5, 31.2).unwrap())
    );
    let err = LonLat::deserialize(fields(120.5, 95.0)).unwrap_err();
    assert!(
        err.to_string().starts_with("lat 95 is out of range"),
        "{err}"
    );

    let extent = |min_lon: f64, max_lon: f64| {
        MapDeserializer::<'_, _, DeError>::new(
            [
                ("min_lon", min_lon),
                ("min_lat", 30.7),
                ("max_lon", max_lon),
                ("max_lat", 32.1),
            ]
            .into_iter(),
        )
    };
    assert!(Extent::deserialize(extent(119.9, 121.4)).is_ok());
    assert!(Extent::deserialize(extent(121.4, 119.9)).is_err());
}

#[test]
fn lonlat_validation_names_the_field() {
    let cases = [
        (f64::NAN, 0.0, CoordField::Lon),
        (0.0, f64::INFINITY, CoordField::Lat),
        (-180.1, 0.0, CoordField::Lon),
        (0.0, 90.5, CoordField::Lat),
    ];
    for (lon, lat, field) in cases {
        let err = LonLat::new(lon, lat).unwrap_err();
        assert_eq!(err.field(), field);
        assert!(err.to_string().starts_with(field.as_str()), "{err}");
    }
    assert!(matches!(
        LonLat::new(0.0, -91.0),
        Err(CoordError::OutOfRange {
            field: CoordField::Lat,
            ..
        })
    ));
    assert!(LonLat::new(180.0, -90.0).is_ok());
    assert_eq!(
        to_storage(Crs::Bd09, 200.0, 30.0).unwrap_err(),
        CrsError::Coord(CoordError::OutOfRange {
            field: CoordField::Lon,
            value: 200.0,
            min: -180.0,
            max: 180.0
        })
    );
}

#[test]
fn extent_check_names_the_field_and_reason() {
    let city = Extent::new(119.9, 30.7, 121.4, 32.1).unwrap();
    assert!(LonLat::new(119.9, 32.1).unwrap().within(&city).is_ok());
    let err = LonLat::new(120.5, 29.0).unwrap().within(&city).unwrap_err();
    assert_eq!(
        err,
        CoordError::OutsideExtent {
            field: CoordField::Lat,
            value: 29.0,
            min: 30.7,
            max: 32.1
        }
    );
    assert!(err.to_string().contains("outside the city extent"), "{err}");
    assert!(!city.contains(LonLat::new(122.0, 31.0).unwrap()));

    assert!(matches!(
        Extent::new(119.9, 32.1, 121.4, 30.7),
        Err(ExtentError::Inverted {
            field: CoordField::Lat,
            ..
        })
    ));
    assert!(matches!(
        Extent::new(119.9, 30.7, 190.0, 32.1),
        Err(ExtentError::InvalidBound {
            bound: "max_lon",
            ..
        })
    ));
}

/// China's GCJ-02 rectangle shrunk by a margin larger than the biggest
/// offset inside it (~0.011° for GCJ-02, ~0.018° for BD-09), so the shifted
/// point never leaves the rectangle and the round trip is well defined.
const MARGIN: f64 = 0.05;

fn china_point() -> impl Strategy<Value = (f64, f64)> {
    (
        (72.004 + MARGIN)..(137.8347 - MARGIN),
        (0.8293 + MARGIN)..(55.8271 - MARGIN),
    )
}

fn any_crs() -> impl Strategy<Value = Crs> {
    prop_oneof![
        Just(Crs::Wgs84),
        Just(Crs::Cgcs2000),
        Just(Crs::Gcj02),
        Just(Crs::Bd09),
        (25_u8..=45, any::<bool>())
            .prop_map(|(zone, zone_prefix)| Crs::GaussKruger3 { zone, zone_prefix }),
    ]
}

proptest! {
    #[test]
    fn gcj02_round_trip((lon, lat) in china_point()) {
        let gcj = wgs84_to_gcj02(lon, lat);
        let back = gcj02_to_wgs84(gcj.0, gcj.1);
        prop_assert!(close(back, (lon, lat), 1e-6), "{:?}", back);
        prop_assert!(close(back, (lon, lat), 1e-10), "{:?}", back);
    }

    #[test]
    fn bd09_round_trip((lon, lat) in china_point()) {
        let bd = wgs84_to_bd09(lon, lat);
        let back = bd09_to_wgs84(bd.0, bd.1);
        prop_assert!(close(back, (lon, lat), 1e-6), "{:?}", back);
        prop_assert!(close(back, (lon, lat), 1e-10), "{:?}", back);
    }

    #[test]
    fn gauss_kruger_round_trip(
        zone in 25_u8..=45,
        dlon in -1.5_f64..=1.5,
        lat in 18.0_f64..=54.0,
        zone_prefix in any::<bool>(),
    ) {
        let crs = Crs::GaussKruger3 { zone, zone_prefix };
        let p = LonLat::new(3.0 * f64::from(zone) + dlon, lat).unwrap();
        let (x, y) = from_storage(crs, p).unwrap();
        let back = to_storage(crs, x, y).unwrap();
        prop_assert!(close((back.lon(), back.lat()), (p.lon(), p.lat()), 1e-8), "{:?}", back);
    }

    #[test]
    fn crs_display_parse_round_trip(crs in any_crs()) {
        prop_assert_eq!(crs.to_string().parse::<Crs>(), Ok(crs));
        if let Some(code) = crs.epsg_code() {
            prop_assert_eq!(format!("EPSG:{code}").parse::<Crs>(), Ok(crs));
        }
    }
}
