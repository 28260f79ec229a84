//! Property tests: `PointIndex` against brute force in the same metric.

use std::collections::HashMap;

use cityloop_spatial::{IndexedPoint, PointIndex, local_distance_m};
use proptest::prelude::*;

/// Slack for the index's storage rounding against the brute force's
/// straight f64 evaluation: offsets are f32 within a cell, ~6e-8 of the cell
/// size, and the sparse test data makes cells up to kilometres wide.
const TOL_M: f64 = 1e-3;

fn brute(
    points: &[IndexedPoint],
    lon: f64,
    lat: f64,
    max_m: Option<f64>,
    class: Option<&[u16]>,
) -> Vec<(u32, f64)> {
    let mut all: Vec<(u32, f64)> = points
        .iter()
        .filter(|p| class.is_none_or(|c| c.contains(&p.class)))
        .map(|p| (p.id, local_distance_m(lon, lat, p.lon, p.lat)))
        .filter(|&(_, d)| max_m.is_none_or(|m| d <= m))
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all
}

fn point_strategy() -> impl Strategy<Value = Vec<IndexedPoint>> {
    // Clustered around a few centres within ~3 km, with exact duplicates
    // (repeated positions) to exercise ties.
    (
        prop::collection::vec((0usize..4, -1.0f64..1.0, -1.0f64..1.0, 1u16..7), 0..600),
        prop::collection::vec((0.0f64..0.03, 0.0f64..0.03, 0.0001f64..0.02), 4),
        0usize..50,
    )
        .prop_map(|(raw, centres, dups)| {
            let mut pts: Vec<IndexedPoint> = raw
                .iter()
                .enumerate()
                .map(|(i, &(c, u, v, class))| {
                    let (cx, cy, spread) = centres[c];
                    IndexedPoint {
                        lon: 113.9 + cx + u * spread,
                        lat: 22.5 + cy + v * spread,
                        id: i as u32,
                        class,
                    }
                })
                .collect();
            let n = pts.len();
            for d in 0..dups.min(n) {
                let mut p = pts[d * 7 % n];
                p.id = (n + d) as u32;
                pts.push(p);
            }
            pts
        })
}

fn query_strategy() -> impl Strategy<Value = (f64, f64, usize, Option<f64>, Option<Vec<u16>>, f64)>
{
    (
        113.85f64..113.99,
        22.45f64..22.59,
        1usize..12,
        prop::option::of(0.0f64..500.0),
        prop::option::of(prop::collection::vec(0u16..8, 0..4)),
        0.0f64..600.0,
    )
}

fn same_distances(got: &[(u32, f64)], want: &[(u32, f64)]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| (g.1 - w.1).abs() <= TOL_M)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn nearest_and_within_match_brute_force(
        points in point_strategy(),
        queries in prop::collection::vec(query_strategy(), 1..25),
    ) {
        let idx = PointIndex::build(&points).unwrap();
        let by_id: HashMap<u32, IndexedPoint> = points.iter().map(|p| (p.id, *p)).collect();
        for (lon, lat, k, max_m, class, radius) in queries {
            let class = class.as_deref();
            let got = idx.nearest(lon, lat, k, max_m, class);
            let all = brute(&points, lon, lat, max_m, class);
            let want = &all[..k.min(all.len())];
            // Same k-th distances; ties (within rounding) may swap ids.
            prop_assert!(same_distances(&got, want), "nearest {:?} vs {:?}", got, want);
            for &(id, d) in &got {
                let p = by_id[&id];
                prop_assert!(class.is_none_or(|c| c.contains(&p.class)));
                prop_assert!((local_distance_m(lon, lat, p.lon, p.lat) - d).abs() <= TOL_M);
            }
            // Deterministic: same answer again.
            prop_assert_eq!(&idx.nearest(lon, lat, k, max_m, class), &got);

            // within: exactly the brute-force set, except points whose
            // distance is within rounding of the radius.
            let got = idx.within(lon, lat, radius, class);
            let want = brute(&points, lon, lat, Some(radius + TOL_M), class);
            let got_ids: std::collections::HashSet<u32> = got.iter().map(|r| r.0).collect();
            prop_assert_eq!(got_ids.len(), got.len(), "duplicates in within");
            for &(id, d) in &want {
                if d <= radius - TOL_M {
                    prop_assert!(got_ids.contains(&id), "within misses {} at {} m", id, d);
                }
            }
            for &(id, d) in &got {
                prop_assert!(d <= radius, "within returned {} at {} m > {}", id, d, radius);
                prop_assert!(want.iter().any(|w| w.0 == id));
            }
            prop_assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
        }
    }

    #[test]
    fn updates_match_a_model(
        points in point_strategy(),
        ops in prop::collection::vec((0u8..3, any::<prop::sample::Index>(), -0.002f64..0.002, -0.002f64..0.002, 1u16..7), 1..80),
        queries in prop::collection::vec(query_strategy(), 1..10),
    ) {
        let mut idx = PointIndex::build(&points).unwrap();
        let mut model: HashMap<u32, IndexedPoint> = points.iter().map(|p| (p.id, *p)).collect();
        // Duplicated positions use distinct ids, so ids are unique here.
        let mut next_id = 1_000_000u32;
        for (op, pick, dx, dy, class) in ops {
            let ids: Vec<u32> = { let mut v: Vec<u32> = model.keys().copied().collect(); v.sort_unstable(); v };
            match op {
                0 if !ids.is_empty() => {
                    let id = ids[pick.index(ids.len())];
                    let mut p = model[&id];
                    p.lon += dx;
                    p.lat += dy;
                    p.class = class;
                    idx.upsert(p).unwrap();
                    model.insert(id, p);
                }
                1 if !ids.is_empty() => {
                    let id = ids[pick.index(ids.len())];
                    idx.remove(id);
                    model.remove(&id);
                }
                _ => {
                    let p = IndexedPoint { lon: 113.92 + dx * 10.0, lat: 22.52 + dy * 10.0, id: next_id, class };
                    next_id += 1;
                    idx.upsert(p).unwrap();
                    model.insert(p.id, p);
                }
            }
        }
        let live: Vec<IndexedPoint> = model.values().copied().collect();
        let rebuilt = idx.rebuilt().unwrap();
        for (lon, lat, k, max_m, class, radius) in queries {
            let class = class.as_deref();
            let all = brute(&live, lon, lat, max_m, class);
            let want = &all[..k.min(all.len())];
            for index in [&idx, &rebuilt] {
                let got = index.nearest(lon, lat, k, max_m, class);
                prop_assert!(same_distances(&got, want), "nearest {:?} vs {:?}", got, want);
                let got = index.within(lon, lat, radius, class);
                let want_w = brute(&live, lon, lat, Some(radius), class);
                let strict = want_w.iter().filter(|w| w.1 <= radius - TOL_M).count();
                prop_assert!(got.len() >= strict && got.len() <= want_w.len() + 1, "within {} vs {}", got.len(), want_w.len());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Dense data (metre-sized cells), radii spanning several cells: catches
    /// search boxes or ring bounds that are slightly too small.
    #[test]
    fn dense_points_match_brute_force(
        raw in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0, 1u16..4), 1..3000),
        queries in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0, 1usize..20, 0.0f64..40.0, 0u8..3), 1..40),
    ) {
        // ~300 m x 300 m.
        let points: Vec<IndexedPoint> = raw
            .iter()
            .enumerate()
            .map(|(i, &(u, v, class))| IndexedPoint { lon: 121.47 + u * 0.003, lat: 31.23 + v * 0.0027, id: i as u32, class })
            .collect();
        let idx = PointIndex::build(&points).unwrap();
        for (u, v, k, radius, filter) in queries {
            let (lon, lat) = (121.47 + u * 0.003, 31.23 + v * 0.0027);
            let class: Option<&[u16]> = match filter { 0 => None, 1 => Some(&[2]), _ => Some(&[1, 3]) };
            let all = brute(&points, lon, lat, None, class);
            let got = idx.nearest(lon, lat, k, None, class);
            prop_assert!(same_distances(&got, &all[..k.min(all.len())]), "nearest {:?}", got);
            let got = idx.within(lon, lat, radius, class);
            let inner = all.iter().filter(|w| w.1 <= radius - TOL_M).count();
            let outer = all.iter().filter(|w| w.1 <= radius + TOL_M).count();
            prop_assert!(got.len() >= inner && got.len() <= outer, "within {} not in {}..={}", got.len(), inner, outer);
            for (g, w) in got.iter().zip(&all) {
                prop_assert!((g.1 - w.1).abs() <= TOL_M);
            }
        }
    }
}
