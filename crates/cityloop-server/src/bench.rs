//! `cityloop bench geo`: measures the spatial index on a synthetic city of a given size, and, when a
//! PostgreSQL URL with PostGIS is given, PostGIS on the same data in the same run.

use std::time::Instant;

use anyhow::Context;
use cityloop_spatial::{GridIndex, IndexedPoint, PointIndex};
use cityloop_synth::CitySpec;
use sqlx::{Connection, Executor};

pub struct GeoBenchArgs {
    pub grids: u32,
    pub components: u64,
    pub queries: usize,
    pub pg_url: Option<String>,
    pub pg_points: usize,
}

/// A small deterministic generator so the query points do not depend on the build.
struct Lcg(u64);

impl Lcg {
    fn next_f64(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:.0}/s", n as f64 / secs.max(1e-9))
}

pub async fn geo(args: GeoBenchArgs) -> anyhow::Result<()> {
    let mut spec = CitySpec::megacity();
    spec.grids_target = args.grids;
    let per_grid_default = 100.0;
    spec.components.multiplier =
        (args.components as f64 / f64::from(args.grids) / per_grid_default).clamp(0.0, 100.0);
    println!(
        "generating a synthetic city: ~{} grids, ~{} components …",
        args.grids, args.components
    );
    let t = Instant::now();
    let city = cityloop_synth::try_generate(&spec).context("city")?;
    let polygons: Vec<geo_types::Polygon<f64>> =
        city.grids.iter().map(|g| g.polygon.clone()).collect();
    let mut points = Vec::new();
    for (i, c) in cityloop_synth::components(&spec, &city).enumerate() {
        points.push(IndexedPoint {
            lon: c.lon,
            lat: c.lat,
            id: i as u32,
            class: c.class_code.parse().unwrap_or(0),
        });
    }
    println!(
        "generated {} grids and {} components in {:.1} s",
        polygons.len(),
        points.len(),
        t.elapsed().as_secs_f64()
    );
    let extent = polygons
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, p| {
            use geo::BoundingRect;
            match p.bounding_rect() {
                Some(r) => [
                    b[0].min(r.min().x),
                    b[1].min(r.min().y),
                    b[2].max(r.max().x),
                    b[3].max(r.max().y),
                ],
                None => b,
            }
        });

    let t = Instant::now();
    let grid_index = GridIndex::build(&polygons, 25.0)?;
    let grid_build = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let point_index = PointIndex::build(&points)?;
    let point_build = t.elapsed().as_secs_f64();

    let mut rng = Lcg(2026);
    let queries: Vec<(f64, f64)> = (0..args.queries)
        .map(|_| {
            (
                extent[0] + rng.next_f64() * (extent[2] - extent[0]),
                extent[1] + rng.next_f64() * (extent[3] - extent[1]),
            )
        })
        .collect();
    let t = Instant::now();
    let mut found = 0usize;
    for (x, y) in &queries {
        if std::hint::black_box(grid_index.locate(*x, *y)).is_some() {
            found += 1;
        }
    }
    let pip = t.elapsed().as_secs_f64();
    // Reports come from inside the city: measure the nearest-component queries on the points that
    // fall in a grid (an unbounded search from far outside the city scans empty cells for long).
    let inside: Vec<(f64, f64)> = queries
        .iter()
        .copied()
        .filter(|(x, y)| grid_index.locate(*x, *y).is_some())
        .collect();
    let t = Instant::now();
    let mut near = 0usize;
    for (x, y) in &inside {
        near += std::hint::black_box(point_index.nearest(*x, *y, 1, None, None)).len();
    }
    let knn1 = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for (x, y) in &inside {
        near += std::hint::black_box(point_index.nearest(*x, *y, 5, Some(200.0), None)).len();
    }
    let knn5 = t.elapsed().as_secs_f64();
    let stats = grid_index.stats();

    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| grids / components | {} / {} |",
        polygons.len(),
        points.len()
    );
    println!(
        "| grid index build | {grid_build:.2} s, {:.0} MB |",
        grid_index.memory_bytes() as f64 / 1e6
    );
    println!(
        "| component index build | {point_build:.2} s, {:.0} MB |",
        point_index.memory_bytes() as f64 / 1e6
    );
    println!(
        "| point-in-grid, 1 thread | {} ({found} of {} points inside a grid) |",
        rate(queries.len(), pip),
        queries.len()
    );
    println!(
        "| nearest component k=1, 1 thread | {} |",
        rate(queries.len(), knn1)
    );
    println!(
        "| nearest components k=5 within 200 m, 1 thread | {} |",
        rate(queries.len(), knn5)
    );
    println!("| grid index stats | {stats:?} |");
    std::hint::black_box(near);

    if let Some(url) = args.pg_url {
        postgis(&url, &polygons, &points, &queries, &inside, args.pg_points).await?;
    }
    Ok(())
}

async fn postgis(
    url: &str,
    polygons: &[geo_types::Polygon<f64>],
    points: &[IndexedPoint],
    queries: &[(f64, f64)],
    inside: &[(f64, f64)],
    pg_points: usize,
) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .context("PostgreSQL")?;
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .await
        .context("PostGIS")?;
    conn.execute(
        "DROP TABLE IF EXISTS bench_grids, bench_points, bench_queries; \
         CREATE TABLE bench_grids (id int PRIMARY KEY, geom geometry(Polygon, 4326)); \
         CREATE TABLE bench_points (id int PRIMARY KEY, geom geometry(Point, 4326)); \
         CREATE TABLE bench_queries (id int PRIMARY KEY, geom geometry(Point, 4326)); \
         CREATE TABLE bench_inside (id int PRIMARY KEY, geom geometry(Point, 4326));",
    )
    .await?;
    println!(
        "\nloading PostGIS: {} grids, {} points …",
        polygons.len(),
        pg_points.min(points.len())
    );
    for (chunk_no, chunk) in polygons.chunks(1000).enumerate() {
        let mut qb =
            sqlx::QueryBuilder::<sqlx::Postgres>::new("INSERT INTO bench_grids (id, geom) ");
        qb.push_values(chunk.iter().enumerate(), |mut b, (i, p)| {
            b.push_bind((chunk_no * 1000 + i) as i32)
                .push("ST_GeomFromText(")
                .push_bind_unseparated(polygon_wkt(p))
                .push_unseparated(", 4326)");
        });
        qb.build().execute(&mut conn).await?;
    }
    for (chunk_no, chunk) in points
        .iter()
        .take(pg_points)
        .collect::<Vec<_>>()
        .chunks(5000)
        .enumerate()
    {
        let mut qb =
            sqlx::QueryBuilder::<sqlx::Postgres>::new("INSERT INTO bench_points (id, geom) ");
        qb.push_values(chunk.iter().enumerate(), |mut b, (i, p)| {
            b.push_bind((chunk_no * 5000 + i) as i32)
                .push("ST_SetSRID(ST_MakePoint(")
                .push_bind_unseparated(p.lon)
                .push_unseparated(", ")
                .push_bind_unseparated(p.lat)
                .push_unseparated("), 4326)");
        });
        qb.build().execute(&mut conn).await?;
    }
    let sample: Vec<(f64, f64)> = queries.iter().take(100_000).copied().collect();
    let knn_sample: Vec<(f64, f64)> = inside.iter().take(10_000).copied().collect();
    insert_points(&mut conn, "INSERT INTO bench_queries (id, geom) ", &sample).await?;
    insert_points(
        &mut conn,
        "INSERT INTO bench_inside (id, geom) ",
        &knn_sample,
    )
    .await?;
    conn.execute(
        "CREATE INDEX ON bench_grids USING gist (geom); CREATE INDEX ON bench_points USING gist (geom); \
         ANALYZE bench_grids; ANALYZE bench_points; ANALYZE bench_queries; ANALYZE bench_inside; SET max_parallel_workers_per_gather = 0;",
    )
    .await?;
    let t = Instant::now();
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bench_queries q JOIN bench_grids g ON ST_Contains(g.geom, q.geom)",
    )
    .fetch_one(&mut conn)
    .await?;
    let contains = t.elapsed().as_secs_f64();
    let knn_n = knn_sample.len();
    let t = Instant::now();
    let k: i64 = sqlx::query_scalar(
        // count(n), not count(*): otherwise the planner never runs the nearest-neighbour subquery.
        "SELECT count(s.n) FROM (SELECT (SELECT p.id FROM bench_points p ORDER BY p.geom <-> q.geom LIMIT 1) AS n \
         FROM bench_inside q) s",
    )
    .fetch_one(&mut conn)
    .await?;
    let knn = t.elapsed().as_secs_f64();
    println!(
        "| PostGIS bulk ST_Contains (GiST), 1 worker | {} ({n} of {} inside) |",
        rate(sample.len(), contains),
        sample.len()
    );
    println!(
        "| PostGIS KNN `<->` k=1 over {} points, 1 worker | {} ({k} answered) |",
        pg_points.min(points.len()),
        rate(knn_n, knn)
    );
    conn.execute("DROP TABLE bench_grids, bench_points, bench_queries")
        .await?;
    Ok(())
}

fn polygon_wkt(p: &geo_types::Polygon<f64>) -> String {
    let ring = |r: &geo_types::LineString<f64>| {
        let pts: Vec<String> = r.coords().map(|c| format!("{} {}", c.x, c.y)).collect();
        format!("({})", pts.join(","))
    };
    let mut rings = vec![ring(p.exterior())];
    rings.extend(p.interiors().iter().map(ring));
    format!("POLYGON({})", rings.join(","))
}

async fn insert_points(
    conn: &mut sqlx::PgConnection,
    insert: &'static str,
    rows: &[(f64, f64)],
) -> anyhow::Result<()> {
    for (chunk_no, chunk) in rows.chunks(5000).enumerate() {
        let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new(insert);
        qb.push_values(chunk.iter().enumerate(), |mut b, (i, (x, y))| {
            b.push_bind((chunk_no * 5000 + i) as i32)
                .push("ST_SetSRID(ST_MakePoint(")
                .push_bind_unseparated(*x)
                .push_unseparated(", ")
                .push_bind_unseparated(*y)
                .push_unseparated("), 4326)");
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}
