//! Property tests: `GridIndex::locate` against brute force over all polygons.

use cityloop_spatial::GridIndex;
use cityloop_spatial::synth::{self, CityParams, SplitMix64};
use geo::{Intersects, Point, Polygon};
use proptest::prelude::*;

/// Lowest index whose closed polygon contains the point.
fn brute(polys: &[Polygon<f64>], x: f64, y: f64) -> Option<u32> {
    let p = Point::new(x, y);
    polys
        .iter()
        .position(|g| g.intersects(&p))
        .map(|i| i as u32)
}

/// Query points: uniform ones, every vertex, and points a hair off each
/// vertex and on (or within rounding of) each edge.
fn probe_points(polys: &[Polygon<f64>], bbox: (f64, f64, f64, f64), seed: u64) -> Vec<(f64, f64)> {
    let mut rng = SplitMix64::new(seed);
    let mut pts = synth::uniform_points(bbox, 300, seed);
    for g in polys.iter().take(40) {
        for line in g
            .exterior()
            .lines()
            .chain(g.interiors().iter().flat_map(|r| r.lines()))
        {
            let (a, b) = (line.start, line.end);
            pts.push((a.x, a.y));
            let t = rng.next_f64();
            pts.push((a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t));
            let eps = 1e-12 * (1.0 + rng.next_f64());
            pts.push((a.x + eps, a.y - eps));
        }
    }
    pts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn locate_matches_brute_force(
        grids in 1usize..150,
        corner_jitter in 0.0f64..0.2,
        midpoint_jitter in 0.0f64..0.1,
        gap_share in 0.0f64..0.3,
        hole_share in 0.0f64..0.3,
        lat in -60.0f64..60.0,
        lon in -170.0f64..170.0,
        cell_m in 3.0f64..400.0,
        seed in any::<u64>(),
    ) {
        let city = synth::city(&CityParams {
            grids,
            corner_jitter,
            midpoint_jitter,
            gap_share,
            hole_share,
            centre: (lon, lat),
            seed,
            ..CityParams::default()
        });
        let idx = GridIndex::build(&city.polygons, cell_m).unwrap();
        let pts = probe_points(&city.polygons, city.bbox, seed ^ 1);
        let mut many = Vec::new();
        idx.locate_many(&pts, &mut many);
        for (&(x, y), &got_many) in pts.iter().zip(&many) {
            let got = idx.locate(x, y);
            prop_assert_eq!(got, brute(&city.polygons, x, y), "at ({}, {})", x, y);
            prop_assert_eq!(got, got_many);
        }
    }

    /// Shuffled ids: the lowest-id rule must not depend on input order
    /// happening to be spatial.
    #[test]
    fn lowest_id_rule_with_shuffled_ids(seed in any::<u64>(), cell_m in 5.0f64..120.0) {
        let mut city = synth::city(&CityParams { grids: 60, seed, ..CityParams::default() });
        let mut rng = SplitMix64::new(seed);
        for i in (1..city.polygons.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            city.polygons.swap(i, j);
        }
        let idx = GridIndex::build(&city.polygons, cell_m).unwrap();
        for (x, y) in probe_points(&city.polygons, city.bbox, seed ^ 2) {
            prop_assert_eq!(idx.locate(x, y), brute(&city.polygons, x, y), "at ({}, {})", x, y);
        }
    }
}
