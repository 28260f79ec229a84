use geo::{LineString, MultiPolygon, Polygon, polygon};

use super::*;

/// Degrees spanned by `metres` along the meridian and the parallel at
/// `lat`, from the GRS80 radii of curvature — independent of geo's code.
fn degrees_for_metres(metres: f64, lat: f64) -> (f64, f64) {
    let a = 6_378_137.0_f64;
    let f = 1.0 / 298.257_222_101;
    let e2 = f * (2.0 - f);
    let phi = lat.to_radians();
    let w = (1.0 - e2 * phi.sin().powi(2)).sqrt();
    let meridional = a * (1.0 - e2) / w.powi(3);
    let prime_vertical = a / w;
    (
        (metres / (prime_vertical * phi.cos())).to_degrees(),
        (metres / meridional).to_degrees(),
    )
}

fn square(lon: f64, lat: f64, dlon: f64, dlat: f64) -> Vec<(f64, f64)> {
    vec![
        (lon, lat),
        (lon + dlon, lat),
        (lon + dlon, lat + dlat),
        (lon, lat + dlat),
        (lon, lat),
    ]
}

fn problems(findings: &[Finding]) -> Vec<Problem> {
    findings.iter().map(|f| f.problem.clone()).collect()
}

#[test]
fn sound_ring_has_no_problems() {
    assert!(check_ring(&square(120.0, 31.0, 0.001, 0.001)).is_empty());
    // Consecutive duplicates are legal, just untidy.
    let mut with_duplicate = square(120.0, 31.0, 0.001, 0.001);
    with_duplicate.insert(1, with_duplicate[0]);
    assert!(check_ring(&with_duplicate).is_empty());
}

#[test]
fn ring_problems() {
    let unclosed = &square(120.0, 31.0, 0.001, 0.001)[..4];
    assert_eq!(check_ring(unclosed), vec![Problem::UnclosedRing]);

    assert_eq!(check_ring(&[]), vec![Problem::TooFewPoints { distinct: 0 }]);
    assert_eq!(
        check_ring(&[(1.0, 1.0), (2.0, 2.0), (1.0, 1.0)]),
        vec![Problem::TooFewPoints { distinct: 2 }]
    );
    assert_eq!(
        check_ring(&[
            (1.0, 1.0),
            (f64::NAN, 2.0),
            (3.0, 1.0),
            (1.0, f64::INFINITY)
        ]),
        vec![
            Problem::NonFiniteCoordinate { index: 1 },
            Problem::NonFiniteCoordinate { index: 3 }
        ]
    );

    let bow_tie = [(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)];
    let found = check_ring(&bow_tie);
    assert!(found.contains(&Problem::SelfIntersection), "{found:?}");

    let collinear = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (0.0, 0.0)];
    assert!(check_ring(&collinear).contains(&Problem::ZeroArea));

    // A ring that touches itself at a vertex (figure eight) is invalid too.
    let figure_eight = [
        (0.0, 0.0),
        (2.0, 0.0),
        (1.0, 1.0),
        (2.0, 2.0),
        (0.0, 2.0),
        (1.0, 1.0),
        (0.0, 0.0),
    ];
    assert!(check_ring(&figure_eight).contains(&Problem::SelfIntersection));
}

#[test]
fn thin_but_real_sliver_is_not_zero_area() {
    // 100 m long, 1 mm wide near Suzhou.
    let sliver = square(120.0, 31.0, 0.001, 1e-8);
    assert!(check_ring(&sliver).is_empty(), "{:?}", check_ring(&sliver));
}

#[test]
fn raw_polygon_orientation_and_holes() {
    let exterior = square(120.0, 31.0, 0.01, 0.01); // counter-clockwise
    let mut hole = square(120.004, 31.004, 0.002, 0.002);
    hole.reverse(); // clockwise, as holes must be
    assert!(check_raw_polygon(&[exterior.clone(), hole.clone()]).is_empty());

    let mut clockwise = exterior.clone();
    clockwise.reverse();
    let found = check_raw_polygon(&[clockwise]);
    assert_eq!(
        found,
        vec![Finding {
            polygon: 0,
            ring: Some(RingRole::Exterior),
            problem: Problem::WrongOrientation
        }]
    );
    assert_eq!(
        found[0].to_string(),
        "polygon 0, exterior ring: ring is wound the wrong way (negative signed area): \
         exteriors must be counter-clockwise and holes clockwise"
    );

    let counter_clockwise_hole = square(120.004, 31.004, 0.002, 0.002);
    assert_eq!(
        check_raw_polygon(&[exterior.clone(), counter_clockwise_hole]),
        vec![Finding {
            polygon: 0,
            ring: Some(RingRole::Interior(0)),
            problem: Problem::WrongOrientation
        }]
    );

    let mut outside = square(121.0, 31.0, 0.002, 0.002);
    outside.reverse();
    assert_eq!(
        problems(&check_raw_polygon(&[exterior.clone(), outside])),
        vec![Problem::HoleOutsideExterior]
    );

    let mut overlapping = square(120.004, 31.004, 0.002, 0.002);
    overlapping.reverse();
    assert!(
        check_raw_polygon(&[exterior, hole, overlapping])
            .iter()
            .any(|f| matches!(f.problem, Problem::RingsIntersect { .. })),
    );

    assert_eq!(
        problems(&check_raw_polygon::<Vec<(f64, f64)>>(&[])),
        vec![Problem::NoExteriorRing]
    );
}

#[test]
fn raw_polygon_reports_ring_problems_with_their_role() {
    let exterior = square(120.0, 31.0, 0.01, 0.01);
    let broken_hole = vec![(120.004, 31.004), (120.005, 31.005)];
    assert_eq!(
        check_raw_polygon(&[exterior, broken_hole]),
        vec![Finding {
            polygon: 0,
            ring: Some(RingRole::Interior(0)),
            problem: Problem::TooFewPoints { distinct: 2 }
        }]
    );
}

#[test]
fn empty_polygon_is_reported() {
    let empty = Polygon::new(LineString::<f64>::new(vec![]), vec![]);
    assert_eq!(
        problems(&check_polygon(&empty)),
        vec![Problem::TooFewPoints { distinct: 0 }]
    );
}

#[test]
fn multi_polygon_checks() {
    let a = Polygon::new(square(120.0, 31.0, 0.01, 0.01).into(), vec![]);
    let touching = Polygon::new(square(120.01, 31.0, 0.01, 0.01).into(), vec![]);
    let apart = Polygon::new(square(120.05, 31.0, 0.01, 0.01).into(), vec![]);
    assert!(check_multi_polygon(&MultiPolygon::new(vec![a.clone(), apart.clone()])).is_empty());
    assert_eq!(
        check_multi_polygon(&MultiPolygon::new(vec![a.clone(), touching])),
        vec![Finding {
            polygon: 0,
            ring: None,
            problem: Problem::SharesEdgeWithPolygon { other: 1 }
        }]
    );
    let bow_tie = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0)];
    let found = check_multi_polygon(&MultiPolygon::new(vec![a, apart, bow_tie]));
    assert_eq!(found[0].polygon, 2);
    assert_eq!(found[0].problem, Problem::SelfIntersection);
}

#[test]
fn repair_fixes_simple_cases_only() {
    let mut raw = square(120.0, 31.0, 0.01, 0.01);
    raw.reverse();
    raw.pop(); // unclosed
    raw.insert(2, raw[1]); // duplicate
    let before = check_raw_polygon(&[raw.clone()]);
    assert!(
        before.iter().all(|f| f.problem.is_repairable()),
        "{before:?}"
    );
    let fixed = repair_raw(&[raw]).unwrap();
    assert!(check_polygon(&fixed).is_empty());
    assert_eq!(fixed.exterior().0.len(), 5);
    assert_eq!(
        fixed.exterior().winding_order(),
        Some(WindingOrder::CounterClockwise)
    );

    let bow_tie = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0)];
    assert_eq!(
        repair(&bow_tie).unwrap_err().problem,
        Problem::SelfIntersection
    );
    assert_eq!(
        repair_raw(&[vec![(0.0, 0.0), (1.0, f64::NAN), (1.0, 1.0)]]).unwrap_err(),
        Finding {
            polygon: 0,
            ring: Some(RingRole::Exterior),
            problem: Problem::NonFiniteCoordinate { index: 1 }
        }
    );
}

#[test]
fn hundred_metre_square_at_30n_is_ten_thousand_square_metres() {
    let (dlon, dlat) = degrees_for_metres(100.0, 30.0);
    let ring = square(120.0, 30.0, dlon, dlat);
    let p = Polygon::new(ring.clone().into(), vec![]);
    let area = area_m2(&p);
    assert!((area / 10_000.0 - 1.0).abs() < 0.005, "{area}");
    // Much better than the contract in practice.
    assert!((area / 10_000.0 - 1.0).abs() < 1e-4, "{area}");

    let mut reversed = ring;
    reversed.reverse();
    let cw = Polygon::new(reversed.into(), vec![]);
    assert!((area_m2(&cw) - area).abs() < 1e-6);
}

#[test]
fn holes_are_subtracted() {
    let (dlon, dlat) = degrees_for_metres(100.0, 30.0);
    let outer = square(120.0, 30.0, 2.0 * dlon, 2.0 * dlat);
    let mut hole = square(120.0 + 0.5 * dlon, 30.0 + 0.5 * dlat, dlon, dlat);
    hole.reverse();
    let p = Polygon::new(outer.into(), vec![hole.into()]);
    let area = area_m2(&p);
    assert!((area / 30_000.0 - 1.0).abs() < 1e-3, "{area}");
}

#[test]
fn overlap_area() {
    let (dlon, dlat) = degrees_for_metres(100.0, 30.0);
    let a = Polygon::new(square(120.0, 30.0, dlon, dlat).into(), vec![]);
    let b = Polygon::new(
        square(120.0 + 0.5 * dlon, 30.0 + 0.5 * dlat, dlon, dlat).into(),
        vec![],
    );
    let far = Polygon::new(square(121.0, 30.0, dlon, dlat).into(), vec![]);
    let quarter = overlap_area_m2(&a, &b);
    assert!((quarter / 2_500.0 - 1.0).abs() < 1e-3, "{quarter}");
    assert_eq!(overlap_area_m2(&a, &far), 0.0);
    let same = overlap_area_m2(&a, &a);
    // The boolean-op engine snaps to an integer grid: ~1e-9 relative error.
    assert!(
        (same / area_m2(&a) - 1.0).abs() < 1e-6,
        "{same} vs {}",
        area_m2(&a)
    );
    let multi = MultiPolygon::new(vec![b, far]);
    let with_multi = overlap_area_m2(&a, &multi);
    // The snapping grid scales with the combined extent, here a full degree.
    assert!(
        (with_multi / quarter - 1.0).abs() < 1e-5,
        "{with_multi} vs {quarter}"
    );
}
