//! Throughput benchmark on a synthetic city.
//!
//! ```text
//! cargo run --release --example bench -- --grids 100000 --points 10000000
//! ```
//!
//! Options: `--grids N` `--points N` `--queries N` `--cell-m M` (grid raster
//! cell size), `--per-cell N` (point index target points per cell), `--rounds N` (timed passes per measurement, best reported),
//! `--skip-grid` (point index only), `--baseline` (also time a bounding-box R-tree + `geo` point-in-polygon
//! and an `rstar` k-NN over the same data, for comparison).

use std::hint::black_box;
use std::time::Instant;

use cityloop_spatial::synth::{self, COMPONENT_CLASSES, CityParams};
use cityloop_spatial::{CellKind, GridIndex, PointIndex};
use geo::{BoundingRect, Intersects, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

struct Args {
    grids: usize,
    points: usize,
    queries: usize,
    cell_m: f64,
    per_cell: f64,
    rounds: usize,
    baseline: bool,
    skip_grid: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        grids: 100_000,
        points: 10_000_000,
        queries: 1_000_000,
        cell_m: 25.0,
        per_cell: cityloop_spatial::DEFAULT_POINTS_PER_CELL,
        rounds: 3,
        baseline: false,
        skip_grid: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--baseline" {
            a.baseline = true;
            continue;
        }
        if flag == "--skip-grid" {
            a.skip_grid = true;
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: std::num::ParseIntError| format!("bad value for {flag}: {value}: {e}");
        match flag.as_str() {
            "--grids" => a.grids = value.parse().map_err(bad)?,
            "--points" => a.points = value.parse().map_err(bad)?,
            "--queries" => a.queries = value.parse().map_err(bad)?,
            "--cell-m" => {
                a.cell_m = value
                    .parse()
                    .map_err(|e| format!("bad value for {flag}: {value}: {e}"))?
            }
            "--per-cell" => {
                a.per_cell = value
                    .parse()
                    .map_err(|e| format!("bad value for {flag}: {value}: {e}"))?
            }
            "--rounds" => a.rounds = value.parse().map_err(bad)?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(a)
}

/// Best of `rounds` timings of `f`, as operations per second.
fn rate(rounds: usize, ops: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut best = f64::INFINITY;
    let mut check = 0;
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        check = black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    (ops as f64 / best, check)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn grid_report(
    args: &Args,
    city: &synth::SynthCity,
    grid: &GridIndex,
    queries: &[(f64, f64)],
    grid_build: f64,
) {
    let s = grid.stats();
    println!("\n[GridIndex]");
    println!(
        "build: {grid_build:.2} s, memory: {:.1} MiB",
        mib(grid.memory_bytes())
    );
    println!(
        "raster {} x {} = {} cells: {} empty, {} full, {} mixed ({:.1} % of cells need no polygon test); \
         {:.2} candidates and {:.2} local edges per mixed cell, max {} candidates",
        s.cols,
        s.rows,
        s.cells,
        s.empty_cells,
        s.full_cells,
        s.mixed_cells,
        100.0 * s.share_cells_without_test,
        s.candidate_entries as f64 / s.mixed_cells.max(1) as f64,
        s.local_edges as f64 / s.mixed_cells.max(1) as f64,
        s.max_candidates_per_cell
    );

    let (no_test, mixed_hits) =
        queries.iter().fold((0usize, 0usize), |(a, b), &(x, y)| {
            match grid.cell_kind(x, y) {
                CellKind::Mixed { .. } => (a, b + 1),
                _ => (a + 1, b),
            }
        });
    println!(
        "query points resolved without a polygon test: {:.1} % ({} of {}; {} in mixed cells)",
        100.0 * no_test as f64 / queries.len() as f64,
        no_test,
        queries.len(),
        mixed_hits
    );

    let (per_s, found) = rate(args.rounds, queries.len(), || {
        queries
            .iter()
            .filter(|&&(x, y)| grid.locate(x, y).is_some())
            .count()
    });
    println!(
        "locate:      {:>12.0} lookups/s single thread ({} of {} points in a grid)",
        per_s,
        found,
        queries.len()
    );
    let mut out = Vec::with_capacity(queries.len());
    let (per_s, _) = rate(args.rounds, queries.len(), || {
        grid.locate_many(queries, &mut out);
        out.len()
    });
    println!("locate_many: {per_s:>12.0} lookups/s single thread");

    // Correctness spot check against a bounding-box R-tree + geo.
    let t = Instant::now();
    let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, u32>> = city
        .polygons
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let r = p.bounding_rect()?;
            Some(GeomWithData::new(
                Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                i as u32,
            ))
        })
        .collect();
    let tree = RTree::bulk_load(boxes);
    let rtree_build = t.elapsed().as_secs_f64();
    let reference = |x: f64, y: f64| {
        let pt = Point::new(x, y);
        tree.locate_in_envelope_intersecting(&AABB::from_point([x, y]))
            .filter(|c| city.polygons[c.data as usize].intersects(&pt))
            .map(|c| c.data)
            .min()
    };
    let sample = queries.len().min(50_000);
    let mismatches = queries[..sample]
        .iter()
        .filter(|&&(x, y)| grid.locate(x, y) != reference(x, y))
        .count();
    println!("check vs R-tree + geo on {sample} points: {mismatches} mismatches");
    if args.baseline {
        let (per_s, _) = rate(1, queries.len(), || {
            queries
                .iter()
                .filter(|&&(x, y)| reference(x, y).is_some())
                .count()
        });
        println!(
            "baseline R-tree of bboxes + geo Intersects: {per_s:.0} lookups/s (build {rtree_build:.2} s)"
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    println!(
        "cityloop-spatial bench: {} grids, {} points, {} queries, raster cell {} m, best of {} rounds",
        args.grids, args.points, args.queries, args.cell_m, args.rounds
    );

    let t = Instant::now();
    let city = synth::city(&CityParams {
        grids: args.grids,
        ..CityParams::default()
    });
    let components = synth::components(&city, args.points, 42);
    let queries = synth::uniform_points(city.bbox, args.queries, 7);
    println!(
        "synthetic data: {:.2} s (city bbox {:.4},{:.4} .. {:.4},{:.4})",
        t.elapsed().as_secs_f64(),
        city.bbox.0,
        city.bbox.1,
        city.bbox.2,
        city.bbox.3
    );

    // ---- GridIndex ----
    let t = Instant::now();
    let grid = if args.skip_grid {
        GridIndex::build(&[], args.cell_m)?
    } else {
        GridIndex::build(&city.polygons, args.cell_m)?
    };
    let grid_build = t.elapsed().as_secs_f64();
    if !args.skip_grid {
        grid_report(&args, &city, &grid, &queries, grid_build);
    }

    // ---- PointIndex ----
    let t = Instant::now();
    let points = PointIndex::build_with(&components, args.per_cell)?;
    let point_build = t.elapsed().as_secs_f64();
    let ps = points.stats();
    println!("\n[PointIndex]");
    println!(
        "build: {point_build:.2} s, memory: {:.1} MiB",
        mib(points.memory_bytes())
    );
    println!(
        "shared grid: cell {:.1} m, {} x {} = {} cells, {} occupied ({:.1} points per occupied cell, max {}); \
         {} classes with {} cells in their own grids",
        ps.cell_size_m,
        ps.cols,
        ps.rows,
        ps.cells,
        ps.occupied_cells,
        ps.points as f64 / ps.occupied_cells.max(1) as f64,
        ps.max_points_per_cell,
        ps.classes,
        ps.class_grid_cells
    );

    let mut res = Vec::with_capacity(16);
    for k in [1usize, 5] {
        let (per_s, total) = rate(args.rounds, queries.len(), || {
            let mut total = 0;
            for &(x, y) in &queries {
                points.nearest_into(x, y, k, None, None, &mut res);
                total += res.len();
            }
            total
        });
        println!(
            "nearest k={k}:  {per_s:>12.0} queries/s single thread (nearest_into; {total} results)"
        );
        let (per_s, _) = rate(args.rounds, queries.len(), || {
            queries
                .iter()
                .map(|&(x, y)| points.nearest(x, y, k, None, None).len())
                .sum::<usize>()
        });
        println!("nearest k={k}:  {per_s:>12.0} queries/s single thread (nearest, allocating)");
    }
    let rare = [COMPONENT_CLASSES];
    let common = [1u16];
    for (label, class) in [
        ("rarest class", &rare[..]),
        ("commonest class", &common[..]),
    ] {
        let (per_s, _) = rate(args.rounds, queries.len(), || {
            let mut total = 0;
            for &(x, y) in &queries {
                points.nearest_into(x, y, 1, None, Some(class), &mut res);
                total += res.len();
            }
            total
        });
        println!("nearest k=1, {label} {class:?}: {per_s:>12.0} queries/s");
    }
    let (per_s, _) = rate(args.rounds, queries.len(), || {
        let mut total = 0;
        for &(x, y) in &queries {
            points.nearest_into(x, y, 5, Some(100.0), None, &mut res);
            total += res.len();
        }
        total
    });
    println!("nearest k=5 within 100 m: {per_s:>12.0} queries/s");
    let (per_s, total) = rate(args.rounds, queries.len(), || {
        let mut total = 0;
        for &(x, y) in &queries {
            points.within_into(x, y, 30.0, None, &mut res);
            total += res.len();
        }
        total
    });
    println!(
        "within 30 m: {per_s:>12.0} queries/s ({:.1} results per query)",
        total as f64 / queries.len() as f64
    );

    if args.baseline {
        // rstar over the same points in a metric plane (plain Euclidean).
        let (lon0, lat0) = (
            (city.bbox.0 + city.bbox.2) / 2.0,
            (city.bbox.1 + city.bbox.3) / 2.0,
        );
        let kx = cityloop_spatial::local_distance_m(lon0, lat0, lon0 + 1.0, lat0);
        let ky = cityloop_spatial::local_distance_m(lon0, lat0, lon0, lat0 + 1.0);
        let t = Instant::now();
        let tree = RTree::bulk_load(
            components
                .iter()
                .map(|p| GeomWithData::new([(p.lon - lon0) * kx, (p.lat - lat0) * ky], p.id))
                .collect(),
        );
        let build = t.elapsed().as_secs_f64();
        let (per_s, _) = rate(1, queries.len(), || {
            queries
                .iter()
                .filter_map(|&(x, y)| tree.nearest_neighbor(&[(x - lon0) * kx, (y - lat0) * ky]))
                .count()
        });
        println!("baseline rstar nearest_neighbor: {per_s:.0} queries/s (bulk load {build:.2} s)");
    }

    println!("\n[Total]");
    println!(
        "build {:.2} s, index memory {:.1} MiB (grid {:.1} + points {:.1})",
        grid_build + point_build,
        mib(grid.memory_bytes() + points.memory_bytes()),
        mib(grid.memory_bytes()),
        mib(points.memory_bytes())
    );
    if let Some(rss) = peak_rss_mib() {
        println!(
            "process peak RSS {rss:.0} MiB (includes the synthetic input data and build buffers)"
        );
    }
    Ok(())
}
