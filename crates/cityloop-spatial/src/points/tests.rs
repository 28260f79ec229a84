use super::*;
use crate::local_distance_m;
use crate::synth::SplitMix64;

fn pt(lon: f64, lat: f64, id: u32, class: u16) -> IndexedPoint {
    IndexedPoint {
        lon,
        lat,
        id,
        class,
    }
}

/// Brute force in the same metric, ordered by (distance, id).
fn brute(
    points: &[IndexedPoint],
    lon: f64,
    lat: f64,
    k: usize,
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
    all.truncate(k);
    all
}

/// Same distances (to rounding); ids must match except where distances tie
/// within rounding.
fn assert_same(got: &[(u32, f64)], want: &[(u32, f64)], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g.1 - w.1).abs() < 1e-4, "{what}: {got:?} vs {want:?}");
    }
}

fn cluster(n: usize, seed: u64) -> Vec<IndexedPoint> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|i| {
            // Half in a dense 200 m blob, half spread over ~5 km.
            let (lon, lat) = if i % 2 == 0 {
                (
                    116.40 + rng.range(0.0, 0.002),
                    39.90 + rng.range(0.0, 0.002),
                )
            } else {
                (116.38 + rng.range(0.0, 0.06), 39.88 + rng.range(0.0, 0.045))
            };
            pt(lon, lat, i as u32, (rng.below(5) + 1) as u16)
        })
        .collect()
}

#[test]
fn empty_and_invalid() {
    let idx = PointIndex::build(&[]).unwrap();
    assert!(idx.nearest(116.4, 39.9, 3, None, None).is_empty());
    assert!(idx.within(116.4, 39.9, 1e6, None).is_empty());
    assert!(matches!(
        PointIndex::build(&[pt(f64::NAN, 0.0, 0, 0)]),
        Err(IndexError::InvalidPoint { index: 0, .. })
    ));
    assert!(PointIndex::build(&[pt(0.0, 89.0, 0, 0)]).is_err());
}

#[test]
fn single_point_and_limits() {
    let p = [pt(116.4, 39.9, 7, 3)];
    let idx = PointIndex::build(&p).unwrap();
    let r = idx.nearest(116.401, 39.9, 1, None, None);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, 7);
    let d = local_distance_m(116.401, 39.9, 116.4, 39.9);
    assert!((r[0].1 - d).abs() < 1e-6, "{} vs {d}", r[0].1);
    assert!(
        idx.nearest(116.401, 39.9, 1, Some(d - 0.01), None)
            .is_empty()
    );
    assert_eq!(idx.nearest(116.401, 39.9, 1, Some(d + 0.01), None).len(), 1);
    assert!(idx.nearest(116.401, 39.9, 1, Some(-1.0), None).is_empty());
    assert!(idx.nearest(116.401, 39.9, 0, None, None).is_empty());
    assert!(idx.nearest(116.401, 39.9, 1, None, Some(&[4])).is_empty());
    assert_eq!(idx.nearest(116.401, 39.9, 1, None, Some(&[4, 3])).len(), 1);
    assert!(idx.nearest(f64::NAN, 39.9, 1, None, None).is_empty());
    // Far away (other side of the country) still finds it.
    assert_eq!(idx.nearest(87.6, 43.8, 5, None, None).len(), 1);
}

#[test]
fn ties_break_by_lower_id() {
    // Points at the same position have bit-identical distances.
    let pts = [
        pt(116.401, 39.9, 9, 1),
        pt(116.401, 39.9, 4, 1),
        pt(116.401, 39.9, 2, 1),
        pt(116.401, 39.9, 6, 1),
        pt(116.3, 39.9, 1, 1),
    ];
    let idx = PointIndex::build(&pts).unwrap();
    let ids: Vec<u32> = idx
        .nearest(116.4, 39.9, 3, None, None)
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(ids, vec![2, 4, 6]);
    let ids: Vec<u32> = idx
        .within(116.4, 39.9, 1000.0, None)
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(ids, vec![2, 4, 6, 9]);
}

#[test]
fn matches_brute_force_on_clustered_points() {
    let pts = cluster(3_000, 5);
    let idx = PointIndex::build(&pts).unwrap();
    let mut rng = SplitMix64::new(11);
    for _ in 0..2_000 {
        let lon = rng.range(116.37, 116.45);
        let lat = rng.range(39.87, 39.94);
        let k = 1 + rng.below(8) as usize;
        let max_m = (rng.below(3) == 0).then(|| rng.range(0.0, 300.0));
        let class_sets: [Option<&[u16]>; 5] = [
            None,
            Some(&[1]),
            Some(&[2, 5]),
            Some(&[1, 2, 3, 4]),
            Some(&[9]),
        ];
        let class = class_sets[rng.below(5) as usize];
        let got = idx.nearest(lon, lat, k, max_m, class);
        let want = brute(&pts, lon, lat, k, max_m, class);
        assert_same(&got, &want, "nearest");
        let radius = rng.range(0.0, 400.0);
        let got = idx.within(lon, lat, radius, class);
        let want = brute(&pts, lon, lat, usize::MAX, Some(radius), class);
        assert_same(&got, &want, "within");
    }
}

#[test]
fn upsert_remove_and_rebuild() {
    let pts = cluster(500, 8);
    let mut idx = PointIndex::build(&pts).unwrap();
    let mut live: Vec<IndexedPoint> = pts.clone();
    let mut rng = SplitMix64::new(21);
    for step in 0..300 {
        match rng.below(3) {
            0 => {
                // Move an existing point.
                let i = rng.below(live.len() as u64) as usize;
                live[i].lon += rng.range(-0.001, 0.001);
                live[i].lat += rng.range(-0.001, 0.001);
                idx.upsert(live[i]).unwrap();
            }
            1 => {
                let i = rng.below(live.len() as u64) as usize;
                idx.remove(live[i].id);
                live.swap_remove(i);
            }
            _ => {
                let p = pt(
                    rng.range(116.38, 116.44),
                    rng.range(39.88, 39.925),
                    10_000 + step,
                    (rng.below(5) + 1) as u16,
                );
                idx.upsert(p).unwrap();
                live.push(p);
            }
        }
        let lon = rng.range(116.38, 116.44);
        let lat = rng.range(39.88, 39.925);
        let class: Option<&[u16]> = if step % 2 == 0 { None } else { Some(&[2]) };
        assert_same(
            &idx.nearest(lon, lat, 4, None, class),
            &brute(&live, lon, lat, 4, None, class),
            "nearest with overlay",
        );
        assert_same(
            &idx.within(lon, lat, 250.0, class),
            &brute(&live, lon, lat, usize::MAX, Some(250.0), class),
            "within with overlay",
        );
    }
    assert!(idx.pending_changes() > 0);
    // Cloning shares the bulk data: cheap, independent overlays.
    let snapshot = idx.clone();
    idx.remove(live[0].id);
    assert_ne!(snapshot.pending_changes(), idx.pending_changes());
    let fresh = snapshot.rebuilt().unwrap();
    assert_eq!(fresh.pending_changes(), 0);
    assert_eq!(fresh.stats().points, live.len());
    for _ in 0..200 {
        let lon = rng.range(116.38, 116.44);
        let lat = rng.range(39.88, 39.925);
        assert_same(
            &fresh.nearest(lon, lat, 3, None, None),
            &brute(&live, lon, lat, 3, None, None),
            "rebuilt",
        );
    }
}

#[test]
fn stats_and_memory() {
    let pts = cluster(10_000, 1);
    let idx = PointIndex::build(&pts).unwrap();
    let s = idx.stats();
    assert_eq!(s.points, 10_000);
    assert_eq!(s.classes, 5);
    assert!(s.memory_bytes > 10_000 * 14);
    assert!(s.memory_bytes < 10_000 * 80, "{s:?}");
}
