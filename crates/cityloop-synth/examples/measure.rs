//! Times generation and component streaming for a preset and prints counts.
//!
//! `cargo run --release --example measure -- [county_town|mid_size|megacity] [--classes] [seed=N]`

use std::collections::BTreeMap;
use std::time::Instant;

use cityloop_synth::{CitySpec, LandUse, components, generate};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("mid_size");
    let mut spec = match which {
        "county_town" => CitySpec::county_town(),
        "megacity" => CitySpec::megacity(),
        _ => CitySpec::mid_size(),
    };
    if let Some(seed) = args
        .iter()
        .find_map(|a| a.strip_prefix("seed=")?.parse().ok())
    {
        spec.seed = seed;
    }
    let t = Instant::now();
    let city = generate(&spec);
    let gen_s = t.elapsed().as_secs_f64();
    let mut areas: Vec<f64> = city.grids.iter().map(|g| g.area_m2).collect();
    areas.sort_by(f64::total_cmp);
    let pct = |p: f64| areas[((areas.len() - 1) as f64 * p) as usize];
    let in_range = areas
        .iter()
        .filter(|a| (5_000.0..=20_000.0).contains(*a))
        .count();
    let max_per_comm = {
        let mut m: BTreeMap<&str, usize> = BTreeMap::new();
        city.grids
            .iter()
            .for_each(|g| *m.entry(g.community_code.as_str()).or_default() += 1);
        m.values().copied().max().unwrap_or(0)
    };
    println!("spec {which}: grids_target {}", spec.grids_target);
    println!("generate: {gen_s:.3} s");
    println!(
        "grids {} (park {}, water {}), communities {}, streets {}, roads {}, addresses {}, responsibility {}",
        city.grids.len(),
        city.grids
            .iter()
            .filter(|g| g.land_use == LandUse::Park)
            .count(),
        city.grids
            .iter()
            .filter(|g| g.land_use == LandUse::Water)
            .count(),
        city.communities.len(),
        city.streets.len(),
        city.roads.len(),
        city.addresses.len(),
        city.responsibility.len()
    );
    println!(
        "grid area m²: p5 {:.0}, median {:.0}, p95 {:.0}, min {:.0}, max {:.0}; in 5k–20k: {:.1} %; max grids/community {max_per_comm}",
        pct(0.05),
        pct(0.5),
        pct(0.95),
        areas[0],
        areas[areas.len() - 1],
        100.0 * in_range as f64 / areas.len() as f64
    );
    let mut by_kind: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for r in &city.roads {
        let e = by_kind.entry(format!("{:?}", r.kind)).or_default();
        e.0 += 1;
        let p = cityloop_synth::projection(&spec);
        e.1 += r
            .line
            .0
            .windows(2)
            .map(|w| {
                let (a, b) = (p.to_metres(w[0].x, w[0].y), p.to_metres(w[1].x, w[1].y));
                (a.0 - b.0).hypot(a.1 - b.1)
            })
            .sum::<f64>();
    }
    for (k, (n, len)) in &by_kind {
        println!(
            "  {k}: {n} roads, {:.0} km, {:.1} m per grid",
            len / 1000.0,
            len / city.grids.len() as f64
        );
    }
    let t = Instant::now();
    let mut n = 0usize;
    let mut per_class: BTreeMap<String, usize> = BTreeMap::new();
    let classes = args.iter().any(|a| a == "--classes");
    for c in components(&spec, &city) {
        n += 1;
        if classes {
            *per_class.entry(c.class_code).or_default() += 1;
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "components: {n} in {s:.3} s = {:.2} M/s; {:.1} per grid",
        n as f64 / s / 1e6,
        n as f64 / city.grids.len() as f64
    );
    for (k, v) in &per_class {
        let name = cityloop_synth::component_class(k).map_or("?", |c| c.name);
        println!(
            "  {k} {name}: {v} ({:.2}/grid)",
            *v as f64 / city.grids.len() as f64
        );
    }
}
