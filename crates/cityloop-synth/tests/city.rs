//! End-to-end checks of a generated city with `geo` as the independent referee.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use cityloop_synth::{
    City, CitySpec, Component, DEMO_COMMUNITIES, DEMO_STREETS, LandUse, RoadKind, SpecError,
    StreetSpec, component_class, components, generate, projection, try_generate,
};
use geo::{Area, BooleanOps, Contains, Distance, Euclidean, GeodesicArea};
use geo_types::{Coord, LineString, Point, Polygon};

fn town() -> &'static (CitySpec, City, Vec<Component>) {
    static TOWN: OnceLock<(CitySpec, City, Vec<Component>)> = OnceLock::new();
    TOWN.get_or_init(|| {
        let spec = CitySpec::county_town();
        let city = generate(&spec);
        let comps = components(&spec, &city).collect();
        (spec, city, comps)
    })
}

type Key = (u64, u64);

fn key(c: Coord<f64>) -> Key {
    (c.x.to_bits(), c.y.to_bits())
}

/// Directed edges of every grid ring → grid index.
fn edges(city: &City) -> HashMap<(Key, Key), usize> {
    let mut m = HashMap::new();
    for (g, grid) in city.grids.iter().enumerate() {
        for w in grid.polygon.exterior().0.windows(2) {
            assert!(
                m.insert((key(w[0]), key(w[1])), g).is_none(),
                "edge used twice in one direction"
            );
        }
    }
    m
}

fn neighbours(city: &City) -> Vec<Vec<usize>> {
    let e = edges(city);
    let mut adj = vec![Vec::new(); city.grids.len()];
    for (&(a, b), &g) in &e {
        if let Some(&h) = e.get(&(b, a)) {
            adj[g].push(h);
        }
    }
    adj.iter_mut().for_each(|a| {
        a.sort_unstable();
        a.dedup();
    });
    adj
}

fn connected(members: &[usize], adj: &[Vec<usize>]) -> bool {
    let set: HashSet<usize> = members.iter().copied().collect();
    let mut seen = HashSet::from([members[0]]);
    let mut stack = vec![members[0]];
    while let Some(g) = stack.pop() {
        for &n in &adj[g] {
            if set.contains(&n) && seen.insert(n) {
                stack.push(n);
            }
        }
    }
    seen.len() == set.len()
}

#[test]
fn same_seed_same_city_and_different_seed_different_city() {
    let (spec, city, comps) = town();
    let again = generate(spec);
    assert_eq!(&again, city);
    let again_comps: Vec<Component> = components(spec, &again).take(20_000).collect();
    assert_eq!(&again_comps[..], &comps[..20_000]);

    let other_spec = CitySpec {
        seed: spec.seed + 1,
        ..spec.clone()
    };
    let other = generate(&other_spec);
    assert_ne!(other.grids[0].polygon, city.grids[0].polygon);
    assert_ne!(other.roads.len(), 0);
    let other_first: Vec<Component> = components(&other_spec, &other).take(100).collect();
    assert_ne!(other_first, comps[..100]);
}

#[test]
fn codes_are_unique_well_formed_and_nested() {
    let (spec, city, _) = town();
    assert_eq!(city.district.code, "330188");
    assert_eq!(city.district.name, "临江区");
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let streets: HashSet<&str> = city.streets.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(streets.len(), spec.streets.len());
    for s in &city.streets {
        assert!(
            digits(&s.code, 9) && s.code.starts_with(&spec.district_code),
            "{}",
            s.code
        );
        assert!(s.name.ends_with("街道"));
    }
    let communities: HashSet<&str> = city.communities.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(communities.len(), city.communities.len());
    for c in &city.communities {
        assert!(digits(&c.code, 12), "{}", c.code);
        assert!(streets.contains(&c.code[..9]));
        assert!(c.name.ends_with("社区"));
    }
    let mut per_community: HashMap<&str, Vec<u32>> = HashMap::new();
    let mut codes = HashSet::new();
    for g in &city.grids {
        assert!(digits(&g.code, 14), "{}", g.code);
        assert!(codes.insert(g.code.as_str()), "duplicate {}", g.code);
        assert_eq!(&g.code[..12], g.community_code);
        assert!(communities.contains(g.community_code.as_str()));
        per_community
            .entry(&g.community_code)
            .or_default()
            .push(g.code[12..].parse().unwrap());
    }
    assert_eq!(
        per_community.len(),
        city.communities.len(),
        "a community without grids"
    );
    for (c, mut serials) in per_community {
        serials.sort_unstable();
        let n = serials.len() as u32;
        assert!(n <= 99, "{c} has {n} grids");
        assert_eq!(serials, (1..=n).collect::<Vec<_>>(), "{c}");
    }
    // Sorted output.
    assert!(city.grids.windows(2).all(|w| w[0].code < w[1].code));
    assert!(city.communities.windows(2).all(|w| w[0].code < w[1].code));
}

#[test]
fn grid_serials_run_west_to_east_then_north_to_south() {
    let (spec, city, _) = town();
    let p = projection(spec);
    let mut inversions = 0;
    let mut pairs = 0;
    for w in city.grids.windows(2) {
        if w[0].community_code != w[1].community_code {
            continue;
        }
        let c = |g: &cityloop_synth::GridShape| {
            let pt = geo::Centroid::centroid(&g.polygon).unwrap();
            p.to_metres(pt.x(), pt.y())
        };
        let (a, b) = (c(&w[0]), c(&w[1]));
        pairs += 1;
        // The next grid is east of this one in the same row, or in a row further south.
        if !(b.1 < a.1 + 60.0 || b.0 > a.0) {
            inversions += 1;
        }
    }
    assert!(inversions * 20 < pairs, "{inversions} of {pairs}");
}

#[test]
fn mid_size_matches_the_demo_organisation() {
    let spec = CitySpec::mid_size();
    let city = generate(&spec);
    let names: Vec<&str> = city.streets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, DEMO_STREETS);
    let codes: Vec<&str> = city.streets.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "330188001",
            "330188002",
            "330188003",
            "330188004",
            "330188005",
            "330188006"
        ]
    );
    for (s, street) in city.streets.iter().enumerate() {
        for k in 0..4 {
            let code = format!("{}{:03}", street.code, k + 1);
            let c = city.communities.iter().find(|c| c.code == code).unwrap();
            assert_eq!(c.name, DEMO_COMMUNITIES[s * 4 + k]);
        }
    }
    let n = city.grids.len() as f64;
    assert!((4_500.0..=5_500.0).contains(&n), "{n} grids");
    // More communities than the demo's four per street, because a community holds ≤ 99 grids.
    assert!(city.communities.len() > 24);
    let names: HashSet<&str> = city.communities.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), city.communities.len());
}

#[test]
fn grids_tile_their_communities_exactly() {
    let (_, city, _) = town();
    // Every edge is matched by its reverse in a neighbour, except on the district outline.
    let e = edges(city);
    let outline: HashSet<(Key, Key)> = city
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
    for &(a, b) in e.keys() {
        assert!(
            e.contains_key(&(b, a)) || outline.contains(&(a, b)),
            "unmatched grid edge"
        );
    }
    // Areas add up, per community, per street and for the district.
    let area_of = |code: &str| -> f64 {
        city.grids
            .iter()
            .filter(|g| g.code.starts_with(code))
            .map(|g| g.polygon.unsigned_area())
            .sum()
    };
    for c in city
        .communities
        .iter()
        .chain(&city.streets)
        .chain([&city.district])
    {
        let (a, b) = (area_of(&c.code), c.polygon.unsigned_area());
        assert!((a - b).abs() <= 0.005 * b, "{} {a} vs {b}", c.code);
        assert!(
            (a - b).abs() <= 1e-9 * b,
            "{} not exact: {a} vs {b}",
            c.code
        );
    }
    // Neighbours touch but do not overlap (a sample, BooleanOps is slow).
    let adj = neighbours(city);
    let mut checked = 0;
    for (g, ns) in adj.iter().enumerate().step_by(7) {
        for &h in ns {
            let overlap = city.grids[g]
                .polygon
                .intersection(&city.grids[h].polygon)
                .unsigned_area();
            assert!(
                overlap < 1e-6 * city.grids[g].polygon.unsigned_area(),
                "{g} and {h} overlap"
            );
            checked += 1;
        }
    }
    assert!(checked > 300);
}

#[test]
fn points_in_the_district_lie_in_exactly_one_grid() {
    let (_, city, _) = town();
    let bbox = geo::BoundingRect::bounding_rect(&city.district.polygon).unwrap();
    let mut inside = 0;
    for k in 0..400u32 {
        // A low-discrepancy sweep of the bounding box.
        let (u, v) = (
            (f64::from(k) * 0.618_034).fract(),
            (f64::from(k) * 0.754_877 + 0.1).fract(),
        );
        let pt = Point::new(
            bbox.min().x + u * bbox.width(),
            bbox.min().y + v * bbox.height(),
        );
        let hits = city
            .grids
            .iter()
            .filter(|g| g.polygon.contains(&pt))
            .count();
        if city.district.polygon.contains(&pt) {
            assert_eq!(hits, 1, "{pt:?}");
            inside += 1;
        } else {
            assert_eq!(hits, 0);
        }
    }
    assert!(inside > 200);
}

#[test]
fn grid_areas_are_plausible_and_match_the_geodesic_area() {
    let (_, city, _) = town();
    let mut areas: Vec<f64> = city.grids.iter().map(|g| g.area_m2).collect();
    areas.sort_by(f64::total_cmp);
    let median = areas[areas.len() / 2];
    assert!((8_000.0..=12_000.0).contains(&median), "median {median}");
    let in_range = areas
        .iter()
        .filter(|a| (5_000.0..=20_000.0).contains(*a))
        .count();
    assert!(in_range as f64 >= 0.9 * areas.len() as f64);
    for g in city.grids.iter().step_by(10) {
        let geodesic = g.polygon.geodesic_area_unsigned();
        assert!(
            (geodesic - g.area_m2).abs() < 0.005 * g.area_m2,
            "{} {} vs {geodesic}",
            g.code,
            g.area_m2
        );
    }
    // Not all rectangles: many grids have other than four corners or skewed angles.
    let not_quads = city
        .grids
        .iter()
        .filter(|g| g.polygon.exterior().0.len() != 5)
        .count();
    assert!(not_quads * 4 > city.grids.len());
    assert!(city.grids.iter().any(|g| g.land_use == LandUse::Park));
    assert!(city.grids.iter().any(|g| g.land_use == LandUse::Water));
}

#[test]
fn communities_and_streets_are_contiguous() {
    let (_, city, _) = town();
    let adj = neighbours(city);
    let mut by: HashMap<&str, Vec<usize>> = HashMap::new();
    for (g, grid) in city.grids.iter().enumerate() {
        by.entry(&grid.community_code).or_default().push(g);
        by.entry(&grid.community_code[..9]).or_default().push(g);
    }
    for (code, members) in &by {
        assert!(connected(members, &adj), "{code} is in pieces");
    }
    for c in &city.communities {
        assert_eq!(
            c.polygon.0.len(),
            1,
            "{} outline has {} parts",
            c.code,
            c.polygon.0.len()
        );
    }
}

#[test]
fn roads_have_unique_plausible_names_and_follow_grid_edges() {
    let (_, city, _) = town();
    let e = edges(city);
    let mut names = HashSet::new();
    for r in &city.roads {
        assert!(
            names.insert(r.name.as_str()),
            "duplicate road name {}",
            r.name
        );
        let ok_suffix = ["路", "街", "大道", "巷", "弄", "里"]
            .iter()
            .any(|s| r.name.ends_with(s));
        assert!(ok_suffix, "{}", r.name);
        assert!(r.line.0.len() >= 2);
        for w in r.line.0.windows(2) {
            let (a, b) = (key(w[0]), key(w[1]));
            assert!(
                e.contains_key(&(a, b)) || e.contains_key(&(b, a)),
                "{} leaves the grid edges",
                r.name
            );
        }
    }
    for kind in [
        RoadKind::Arterial,
        RoadKind::Secondary,
        RoadKind::Branch,
        RoadKind::Lane,
    ] {
        assert!(
            city.roads.iter().filter(|r| r.kind == kind).count() > 5,
            "{kind:?}"
        );
    }
    assert!(city.roads.iter().any(|r| r.name.ends_with("弄")));
}

#[test]
fn components_are_unique_in_their_grid_and_about_100_per_grid() {
    let (spec, city, comps) = town();
    let mut ids = HashSet::with_capacity(comps.len());
    let grid_index: HashMap<&str, usize> = city
        .grids
        .iter()
        .enumerate()
        .map(|(i, g)| (g.code.as_str(), i))
        .collect();
    for c in comps {
        assert!(ids.insert(c.id.as_str()), "duplicate id {}", c.id);
        assert_eq!(c.id.len(), 16);
        assert!(c.id.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(&c.id[..6], spec.district_code);
        assert_eq!(&c.id[6..10], c.class_code);
        assert!(component_class(&c.class_code).is_some());
        assert!(grid_index.contains_key(c.grid_code.as_str()));
    }
    for c in comps.iter().step_by(37) {
        let g = &city.grids[grid_index[c.grid_code.as_str()]];
        assert!(
            g.polygon.contains(&Point::new(c.lon, c.lat)),
            "{} not in {}",
            c.id,
            c.grid_code
        );
    }
    let per_grid = comps.len() as f64 / city.grids.len() as f64;
    assert!((85.0..=115.0).contains(&per_grid), "{per_grid} per grid");
    let along = comps.iter().filter(|c| c.road.is_some()).count();
    assert!(along * 2 > comps.len());
    let intact = comps
        .iter()
        .filter(|c| c.state == cityloop_synth::ComponentState::Intact)
        .count();
    assert!((0.9..0.99).contains(&(intact as f64 / comps.len() as f64)));
    // Every class of the table appears.
    let classes: HashSet<&str> = comps.iter().map(|c| c.class_code.as_str()).collect();
    assert_eq!(classes.len(), cityloop_synth::COMPONENT_CLASSES.len());
}

#[test]
fn lamps_stand_beside_their_road_about_every_30_to_40_metres() {
    let (spec, city, comps) = town();
    let p = projection(spec);
    let arterial: HashMap<&str, &LineString<f64>> = city
        .roads
        .iter()
        .filter(|r| r.kind == RoadKind::Arterial)
        .map(|r| (r.name.as_str(), &r.line))
        .collect();
    let to_m = |c: Coord<f64>| {
        let (x, y) = p.to_metres(c.x, c.y);
        Coord { x, y }
    };
    let mut total_len = 0.0;
    let mut lamps = 0;
    for (name, line) in &arterial {
        let m = LineString(line.0.iter().map(|&c| to_m(c)).collect());
        total_len += geo::Length::length(&Euclidean, &m);
        for c in comps
            .iter()
            .filter(|c| c.class_code == "0118" && c.road.as_deref() == Some(name))
        {
            let d = Euclidean.distance(&Point::from(to_m(Coord { x: c.lon, y: c.lat })), &m);
            assert!(d < 18.0, "lamp {d} m from {name}");
            lamps += 1;
        }
    }
    // Both sides, every ~30 m, less junctions and the outer side of boundary roads.
    let per_side_spacing = 2.0 * total_len / f64::from(lamps);
    assert!(
        (28.0..=48.0).contains(&per_side_spacing),
        "{per_side_spacing}"
    );
}

#[test]
fn addresses_lie_near_their_road_in_the_right_community() {
    let (spec, city, _) = town();
    let p = projection(spec);
    let roads: HashMap<&str, &cityloop_synth::Road> =
        city.roads.iter().map(|r| (r.name.as_str(), r)).collect();
    let street_name: HashMap<&str, &str> = city
        .streets
        .iter()
        .map(|s| (s.code.as_str(), s.name.as_str()))
        .collect();
    let to_m = |c: Coord<f64>| {
        let (x, y) = p.to_metres(c.x, c.y);
        Coord { x, y }
    };
    assert!(city.addresses.len() > 5 * city.grids.len());
    let mut seen = HashSet::new();
    for a in city.addresses.iter().step_by(3) {
        let road = roads[a.road.as_str()];
        let line = LineString(road.line.0.iter().map(|&c| to_m(c)).collect());
        let d = Euclidean.distance(&Point::from(to_m(Coord { x: a.lon, y: a.lat })), &line);
        assert!(d <= 30.0, "{} is {d} m from its road", a.text);
        let street = street_name[&a.community_code[..9]];
        assert_eq!(a.text, format!("临江区{street}{}{}号", a.road, a.number));
        assert!(seen.insert(&a.text), "duplicate address {}", a.text);
    }
    for a in city.addresses.iter().step_by(41) {
        let pt = Point::new(a.lon, a.lat);
        let g = city.grids.iter().find(|g| g.polygon.contains(&pt)).unwrap();
        assert_eq!(g.community_code, a.community_code);
    }
    let (odd, even): (Vec<_>, Vec<_>) = city.addresses.iter().partition(|a| a.number % 2 == 1);
    assert!(!odd.is_empty() && !even.is_empty());
}

#[test]
fn responsibility_grids_cover_every_grid_once() {
    let (_, city, _) = town();
    let mut seen = HashSet::new();
    for r in &city.responsibility {
        assert!(
            (10..=50).contains(&r.grid_codes.len()),
            "{} has {}",
            r.code,
            r.grid_codes.len()
        );
        assert!(r.code.starts_with(&r.street_code) && r.code.len() == 13);
        for g in &r.grid_codes {
            assert!(g.starts_with(&r.street_code));
            assert!(seen.insert(g.as_str()));
        }
    }
    assert_eq!(seen.len(), city.grids.len());
    let sizes: Vec<usize> = city
        .responsibility
        .iter()
        .map(|r| r.grid_codes.len())
        .collect();
    let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
    assert!((20.0..=40.0).contains(&mean), "{mean}");
}

#[test]
fn density_multiplier_scales_the_count() {
    let spec = CitySpec {
        grids_target: 200,
        ..CitySpec::county_town()
    };
    let city = generate(&spec);
    let count = |m: f64| {
        let s = CitySpec {
            components: cityloop_synth::ComponentDensity { multiplier: m },
            ..spec.clone()
        };
        components(&s, &city).count()
    };
    let (half, one) = (count(0.5), count(1.0));
    assert_eq!(count(0.0), 0);
    let ratio = half as f64 / one as f64;
    assert!((0.4..=0.6).contains(&ratio), "{ratio}");
}

#[test]
fn spec_validation() {
    assert_eq!(CitySpec::mid_size().validate(), Ok(()));
    assert_eq!(CitySpec::megacity().validate(), Ok(()));
    let bad = CitySpec {
        district_code: "33018".into(),
        ..CitySpec::county_town()
    };
    assert!(matches!(
        try_generate(&bad),
        Err(SpecError::DistrictCode(_))
    ));
    let dup = CitySpec {
        streets: vec![
            StreetSpec::named("江滨街道", &[]),
            StreetSpec::named("江滨街道", &[]),
        ],
        ..CitySpec::county_town()
    };
    assert!(matches!(dup.validate(), Err(SpecError::DuplicateName(_))));
    let crowded = CitySpec {
        grids_target: 240,
        streets: vec![StreetSpec::generated(); 10],
        ..CitySpec::county_town()
    };
    assert!(matches!(
        crowded.validate(),
        Err(SpecError::TooManyStreets { .. })
    ));
}

#[test]
fn generated_names_fill_a_spec_without_names() {
    let spec = CitySpec {
        seed: 7,
        grids_target: 600,
        streets: vec![StreetSpec::generated(); 3],
        communities_per_street: 2,
        ..CitySpec::county_town()
    };
    let city = try_generate(&spec).unwrap();
    assert_eq!(city.streets.len(), 3);
    assert!(
        city.streets
            .iter()
            .all(|s| s.name.ends_with("街道") && s.name.chars().count() >= 4)
    );
    assert!(city.communities.len() >= 6);
}

/// `cargo test --release -- --ignored megacity` (about half a minute in release).
#[test]
#[ignore = "large: run in release"]
fn megacity_scale() {
    let spec = CitySpec::megacity();
    let city = generate(&spec);
    assert!((95_000..=105_000).contains(&city.grids.len()));
    // Exact tiling and contiguous communities at full scale.
    let e = edges(&city);
    let outline: HashSet<(Key, Key)> = city
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
    assert!(
        e.keys()
            .all(|&(a, b)| e.contains_key(&(b, a)) || outline.contains(&(a, b)))
    );
    let adj = neighbours(&city);
    let mut by: HashMap<&str, Vec<usize>> = HashMap::new();
    for (g, grid) in city.grids.iter().enumerate() {
        by.entry(&grid.community_code).or_default().push(g);
    }
    assert_eq!(by.len(), city.communities.len());
    for (code, members) in &by {
        assert!(members.len() <= 99, "{code}");
        assert!(connected(members, &adj), "{code} is in pieces");
    }
    let index: HashMap<&str, usize> = city
        .grids
        .iter()
        .enumerate()
        .map(|(i, g)| (g.code.as_str(), i))
        .collect();
    let mut per_class: HashMap<String, u32> = HashMap::new();
    let mut ids: HashSet<u64> = HashSet::with_capacity(11_000_000);
    let mut n = 0u64;
    for c in components(&spec, &city) {
        assert!(ids.insert(c.id.parse().unwrap()), "duplicate {}", c.id);
        if n.is_multiple_of(997) {
            let g = &city.grids[index[c.grid_code.as_str()]];
            assert!(g.polygon.contains(&Point::new(c.lon, c.lat)));
        }
        *per_class.entry(c.class_code).or_default() += 1;
        n += 1;
    }
    assert!((9_000_000..=11_000_000).contains(&n), "{n}");
    // No class reached the 6-digit serial limit, so none was cut short.
    assert!(
        per_class.values().all(|&v| v < cityloop_synth::MAX_SERIAL),
        "{per_class:?}"
    );
}

#[test]
fn polygons_are_valid_rings() {
    let (_, city, _) = town();
    for g in &city.grids {
        let ring = &g.polygon.exterior().0;
        assert!(ring.len() >= 4 && ring.first() == ring.last());
        // Counter-clockwise.
        let poly = Polygon::new(LineString(ring.clone()), vec![]);
        assert!(poly.signed_area() > 0.0);
    }
}
