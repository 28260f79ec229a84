//! Invariants over random seeds and sizes. `PROPTEST_CASES=500 cargo test --release --test props`
//! for a longer run.

use std::collections::{HashMap, HashSet};

use cityloop_synth::{City, CitySpec, StreetSpec, components, generate};
use geo::{Area, Contains};
use geo_types::{Coord, Point};
use proptest::prelude::*;

fn key(c: Coord<f64>) -> (u64, u64) {
    (c.x.to_bits(), c.y.to_bits())
}

fn check(spec: &CitySpec, city: &City) -> Result<(), TestCaseError> {
    // Exact tiling: every grid edge is matched by its reverse, or lies on the district outline.
    let mut edges = HashMap::new();
    for (g, grid) in city.grids.iter().enumerate() {
        prop_assert!(grid.polygon.signed_area() > 0.0);
        for w in grid.polygon.exterior().0.windows(2) {
            prop_assert!(edges.insert((key(w[0]), key(w[1])), g).is_none());
        }
    }
    let outline: HashSet<_> = city
        .district
        .polygon
        .0
        .iter()
        .flat_map(|p| {
            p.exterior()
                .0
                .windows(2)
                .map(|w| (key(w[0]), key(w[1])))
                .collect::<Vec<_>>()
        })
        .collect();
    for &(a, b) in edges.keys() {
        prop_assert!(edges.contains_key(&(b, a)) || outline.contains(&(a, b)));
    }
    let total: f64 = city.grids.iter().map(|g| g.polygon.unsigned_area()).sum();
    let district = city.district.polygon.unsigned_area();
    prop_assert!((total - district).abs() < 1e-9 * district);

    // Codes and the 99-grid limit.
    let mut per_community: HashMap<&str, Vec<u32>> = HashMap::new();
    for g in &city.grids {
        prop_assert_eq!(g.code.len(), 14);
        prop_assert!(g.code.starts_with(&g.community_code));
        prop_assert!(g.code.starts_with(&spec.district_code));
        per_community
            .entry(&g.community_code)
            .or_default()
            .push(g.code[12..].parse().unwrap_or(0));
    }
    prop_assert_eq!(per_community.len(), city.communities.len());
    for serials in per_community.values_mut() {
        serials.sort_unstable();
        let n = serials.len() as u32;
        prop_assert!(n <= 99);
        prop_assert_eq!(serials.clone(), (1..=n).collect::<Vec<_>>());
    }

    // Contiguous communities.
    let mut adj = vec![Vec::new(); city.grids.len()];
    for (&(a, b), &g) in &edges {
        if let Some(&h) = edges.get(&(b, a)) {
            adj[g].push(h);
        }
    }
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    for (g, grid) in city.grids.iter().enumerate() {
        members.entry(&grid.community_code).or_default().push(g);
    }
    for m in members.values() {
        let set: HashSet<usize> = m.iter().copied().collect();
        let mut seen = HashSet::from([m[0]]);
        let mut stack = vec![m[0]];
        while let Some(g) = stack.pop() {
            for &n in &adj[g] {
                if set.contains(&n) && seen.insert(n) {
                    stack.push(n);
                }
            }
        }
        prop_assert_eq!(seen.len(), set.len());
    }

    // Components in their grids, unique ids.
    let index: HashMap<&str, usize> = city
        .grids
        .iter()
        .enumerate()
        .map(|(i, g)| (g.code.as_str(), i))
        .collect();
    let mut ids = HashSet::new();
    for (k, c) in components(spec, city).enumerate() {
        prop_assert!(ids.insert(c.id.clone()));
        if k % 53 == 0 {
            let g = &city.grids[index[c.grid_code.as_str()]];
            prop_assert!(g.polygon.contains(&Point::new(c.lon, c.lat)));
        }
    }
    let names: HashSet<&str> = city.roads.iter().map(|r| r.name.as_str()).collect();
    prop_assert_eq!(names.len(), city.roads.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_cities_keep_their_invariants(
        seed in any::<u64>(),
        grids in 200u32..1_500,
        streets in 1usize..4,
        cps in 1u32..6,
        lon in 73.0f64..135.0,
        lat in 18.0f64..53.0,
    ) {
        let spec = CitySpec {
            seed,
            grids_target: grids,
            streets: vec![StreetSpec::generated(); streets],
            communities_per_street: cps,
            centre: (lon, lat),
            ..CitySpec::county_town()
        };
        let city = generate(&spec);
        let n = city.grids.len() as f64;
        prop_assert!(n > 0.8 * f64::from(grids) && n < 1.25 * f64::from(grids) + 20.0, "{} grids for {}", n, grids);
        check(&spec, &city)?;
    }
}
