//! `cityloop bench intake`: durable, acknowledged reports per second with many concurrent
//! reporters, and the latency of each report call (geocode + durable insert + workflow start),
//! through the use case directly and over HTTP; plus the engine's single-row commit baseline and
//! work-queue latency on the resulting data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cityloop_app::cases::{CaseFilter, ReportInput};
use cityloop_app::{Actor, App, AuthVia, Ctx, Principal, SystemClock};
use cityloop_geo::crs::{Crs, RawCoordinate};
use cityloop_server::config::Config;
use sqlx::{Connection, Executor};

pub struct IntakeBenchArgs {
    /// `sqlite` (a fresh file in a temporary directory) or a PostgreSQL URL of an empty database.
    pub database: String,
    pub clients: usize,
    pub reports: usize,
    pub http: bool,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub async fn intake(args: IntakeBenchArgs) -> anyhow::Result<()> {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::default();
    cfg.server.listen = "127.0.0.1:0".into();
    cfg.database.url = if args.database == "sqlite" {
        format!("sqlite://{}/bench.sqlite3", dir.path().display())
    } else {
        args.database.clone()
    };
    cfg.database.max_connections = 16;
    cfg.cases.evidence_dir = dir.path().join("blobs").display().to_string();
    // Fewer hash rounds: logins are not what is measured.
    cfg.auth.argon2_memory_kib = 1024;
    cfg.auth.argon2_iterations = 1;
    let app = cityloop_server::open_app(&cfg, Arc::new(SystemClock)).await?;
    app.seed_demo().await?;
    let spec = cityloop_synth::CitySpec::county_town();
    app.seed_demo_city(&spec).await?;
    let engine = app.store().engine().as_str();
    println!("engine {engine}; demo county town seeded");

    // Reporters: the six demo inspectors, each in their own street.
    let sys = Actor::System("bench".into());
    let ctx = Ctx::default();
    let mut reporters = Vec::new();
    for n in 1..=6 {
        let user = app
            .find_user_by_name(&sys, &format!("inspector{n}"), &ctx)
            .await?
            .context("demo inspector")?;
        reporters.push(user);
    }
    let (class, points) = bench_inputs(&app, &reporters).await?;
    let photo = app
        .upload_blob(
            &Actor::User(Principal {
                user: reporters[0].clone(),
                via: AuthVia::Session(0),
            }),
            cityloop_evidence::placeholder_jpeg(7),
            &ctx,
        )
        .await?
        .hash;

    baseline(&app, &cfg, dir.path()).await?;

    let per_client = args.reports.div_ceil(args.clients.max(1));
    let total = per_client * args.clients;
    let started = Instant::now();
    let mut handles = Vec::new();
    if args.http {
        let running = cityloop_server::start(&cfg, app.clone()).await?;
        let base = format!("http://{}", running.addr);
        let mut tokens = Vec::new();
        for u in &reporters {
            let p = Principal {
                user: u.clone(),
                via: AuthVia::Session(0),
            };
            tokens.push(
                app.create_api_token(&p, "bench", Some(1), &ctx)
                    .await?
                    .token,
            );
        }
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(args.clients)
            .build()?;
        let started_http = Instant::now();
        for c in 0..args.clients {
            let client = client.clone();
            let url = format!("{base}/api/v1/cases");
            let token = tokens[c % tokens.len()].clone();
            let (lon, lat) = points[c % points.len()];
            let class = class.clone();
            let photo = photo.clone();
            handles.push(tokio::spawn(async move {
                let mut lat_ = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let body = serde_json::json!({"source": "inspector", "class": class,
                        "description": format!("压测上报 {c}-{i}"),
                        "location": {"crs": "wgs84", "x": lon, "y": lat}, "photos": [photo]});
                    let t = Instant::now();
                    let r = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("Idempotency-Key", format!("bench-{c}-{i}"))
                        .json(&body)
                        .send()
                        .await?;
                    anyhow::ensure!(r.status().as_u16() == 201, "status {}", r.status());
                    let _ = r.bytes().await?;
                    lat_.push(t.elapsed());
                }
                Ok::<_, anyhow::Error>(lat_)
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await??);
        }
        let secs = started_http.elapsed().as_secs_f64();
        all.sort();
        println!(
            "HTTP intake: {total} reports by {} clients in {secs:.2} s = {:.0} acknowledged cases/s; \
             latency p50 {} p99 {} max {}",
            args.clients,
            total as f64 / secs,
            ms(percentile(&all, 0.5)),
            ms(percentile(&all, 0.99)),
            ms(percentile(&all, 1.0)),
        );
        running.stop().await?;
        queue_latency_report(&cfg).await?;
        return Ok(());
    }
    for c in 0..args.clients {
        let app = app.clone();
        let user = reporters[c % reporters.len()].clone();
        let (lon, lat) = points[c % points.len()];
        let class = class.clone();
        let photo = photo.clone();
        handles.push(tokio::spawn(async move {
            let actor = Actor::User(Principal {
                user,
                via: AuthVia::Session(0),
            });
            let ctx = Ctx::default();
            let mut lat_ = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let input = ReportInput {
                    source: "inspector".into(),
                    description: format!("压测上报 {c}-{i}"),
                    class: Some(class.clone()),
                    location: Some(RawCoordinate {
                        crs: Crs::Wgs84,
                        x: lon,
                        y: lat,
                    }),
                    component_id: None,
                    address: None,
                    photos: vec![photo.clone()],
                    contact_name: None,
                    contact_phone: None,
                    external_ref: None,
                    device_id: None,
                    confidence: None,
                };
                let key = format!("bench-{c}-{i}");
                let t = Instant::now();
                app.report(&actor, input, Some(&key), false, &ctx).await?;
                lat_.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(lat_)
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    println!(
        "intake (use case, in process): {total} reports by {} clients in {secs:.2} s = {:.0} acknowledged cases/s; \
         latency p50 {} p99 {} max {}",
        args.clients,
        total as f64 / secs,
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(percentile(&all, 1.0)),
    );
    queue_latency(&app).await?;
    Ok(())
}

async fn queue_latency_report(cfg: &Config) -> anyhow::Result<()> {
    let app = cityloop_server::open_app(cfg, Arc::new(SystemClock)).await?;
    queue_latency(&app).await
}

/// Work-queue and search latency on the cases just reported.
async fn queue_latency(app: &Arc<App>) -> anyhow::Result<()> {
    let sys = Actor::System("bench".into());
    let ctx = Ctx::default();
    let acceptor = app
        .find_user_by_name(&sys, "acceptor1", &ctx)
        .await?
        .context("acceptor1")?;
    let actor = Actor::User(Principal {
        user: acceptor,
        via: AuthVia::Session(0),
    });
    let mut tasks = Vec::new();
    let mut search = Vec::new();
    for i in 0..50 {
        let t = Instant::now();
        app.my_tasks(&actor, 50, &ctx).await?;
        tasks.push(t.elapsed());
        let t = Instant::now();
        let f = CaseFilter {
            q: Some(format!("压测上报 {}-", i % 10)),
            limit: Some(50),
            ..Default::default()
        };
        app.search_cases(&actor, &f, &ctx).await?;
        search.push(t.elapsed());
    }
    tasks.sort();
    search.sort();
    let total = app
        .search_cases(
            &actor,
            &CaseFilter {
                limit: Some(1),
                ..Default::default()
            },
            &ctx,
        )
        .await?
        .total;
    println!(
        "work queue (acceptor, 50 most urgent of {total} cases): p50 {} p99 {}; text search (50 rows + total): p50 {} p99 {}",
        ms(percentile(&tasks, 0.5)),
        ms(percentile(&tasks, 0.99)),
        ms(percentile(&search, 0.5)),
        ms(percentile(&search, 0.99)),
    );
    command_centre_latency(app, &actor).await
}

/// The command centre's two repeated queries on the same cases: the first page of markers in a
/// viewport (as `/ui/map-cases` asks), and the live feed's search for cases whose clock crossed
/// into warning or overdue within one 30 s pass.
async fn command_centre_latency(app: &Arc<App>, actor: &Actor) -> anyhow::Result<()> {
    let ctx = Ctx::default();
    let open = CaseFilter::open_steps();
    let sample = app
        .search_cases(
            actor,
            &CaseFilter {
                step: Some(open.clone()),
                limit: Some(1),
                ..Default::default()
            },
            &ctx,
        )
        .await?;
    let Some(c) = sample.items.first() else {
        println!("command centre: no open cases to measure");
        return Ok(());
    };
    // About a district's centre at street zoom (2 km across).
    let bbox = [c.lon - 0.01, c.lat - 0.01, c.lon + 0.01, c.lat + 0.01];
    let (mut markers, mut in_view) = (Vec::new(), 0);
    for _ in 0..50 {
        let t = Instant::now();
        let page = app
            .search_cases(
                actor,
                &CaseFilter {
                    step: Some(open.clone()),
                    bbox: Some(bbox),
                    limit: Some(500),
                    ..Default::default()
                },
                &ctx,
            )
            .await?;
        markers.push(t.elapsed());
        in_view = page.total;
    }
    markers.sort();
    // Passes across the instants where the reported cases fall due (they were reported within
    // seconds of each other, so some passes find thousands: the feed's worst case).
    let mut crossing = Vec::new();
    let mut found = 0;
    let start = c.due_at.unwrap_or_else(|| app.now()) - chrono::Duration::seconds(60);
    for i in 0..50 {
        let from = start + chrono::Duration::seconds(i * 20);
        let t = Instant::now();
        let mut tx = app.store().read().await?;
        let rows = tx
            .open_cases_crossing(from, from + chrono::Duration::seconds(30), 2001)
            .await?;
        tx.commit().await?;
        crossing.push(t.elapsed());
        found += rows.len();
    }
    crossing.sort();
    println!(
        "command centre: first 500 markers of a 2 km viewport ({in_view} open cases in it): p50 {} p99 {}; clock crossings in a 30 s pass (at most 2 001 read; {found} found in 50 passes): p50 {} p99 {}",
        ms(percentile(&markers, 0.5)),
        ms(percentile(&markers, 0.99)),
        ms(percentile(&crossing, 0.5)),
        ms(percentile(&crossing, 0.99)),
    );
    Ok(())
}

/// A class the rules can file and one point per demo inspector's street.
async fn bench_inputs(
    app: &Arc<App>,
    reporters: &[cityloop_store::User],
) -> anyhow::Result<(String, Vec<(f64, f64)>)> {
    let sys = Actor::System("bench".into());
    let ctx = Ctx::default();
    let set = app
        .rule_set_in_force(&sys, app.now(), &ctx)
        .await?
        .context("rules in force")?;
    let class = set
        .content
        .conditions
        .first()
        .context("a filing condition")?
        .class
        .to_string();
    let grids = {
        let mut tx = app.store().read().await?;
        tx.list_grids(None).await?
    };
    let spatial = app.spatial();
    let mut points = Vec::new();
    for u in reporters {
        let street = u.areas.first().cloned().unwrap_or_default();
        for g in grids
            .iter()
            .filter(|g| g.community_code.starts_with(&street))
            .take(40)
        {
            let lon = (g.bbox[0] + g.bbox[2]) / 2.0;
            let lat = (g.bbox[1] + g.bbox[3]) / 2.0;
            if spatial.grid_at(lon, lat).is_some_and(|m| m.code == g.code) {
                points.push((lon, lat));
            }
        }
    }
    anyhow::ensure!(!points.is_empty(), "no grid points");
    Ok((class, points))
}

/// The engine's rate for one-row transactions: SQLite with one writer, PostgreSQL with eight.
async fn baseline(app: &Arc<App>, cfg: &Config, dir: &std::path::Path) -> anyhow::Result<()> {
    let window = Duration::from_secs(3);
    if app.store().engine() == cityloop_store::Engine::Sqlite {
        let url = format!("sqlite://{}/baseline.sqlite3?mode=rwc", dir.display());
        let mut c = sqlx::SqliteConnection::connect(&url).await?;
        c.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            .await?;
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < window {
            let mut tx = c.begin().await?;
            sqlx::query("INSERT INTO t (v) VALUES ($1)")
                .bind("x")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            n += 1;
        }
        println!(
            "baseline: SQLite one row per transaction (WAL, synchronous=FULL): {:.0} commits/s",
            n as f64 / t.elapsed().as_secs_f64()
        );
    } else {
        let url = cfg.database.url.clone();
        let mut c = sqlx::PgConnection::connect(&url).await?;
        c.execute("CREATE TABLE IF NOT EXISTS bench_baseline (id BIGSERIAL PRIMARY KEY, v TEXT)")
            .await?;
        let t = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..8 {
            let url = url.clone();
            handles.push(tokio::spawn(async move {
                let mut c = sqlx::PgConnection::connect(&url).await?;
                let t = Instant::now();
                let mut n = 0u64;
                while t.elapsed() < window {
                    sqlx::query("INSERT INTO bench_baseline (v) VALUES ($1)")
                        .bind("x")
                        .execute(&mut c)
                        .await?;
                    n += 1;
                }
                Ok::<_, sqlx::Error>(n)
            }));
        }
        let mut n = 0;
        for h in handles {
            n += h.await??;
        }
        c.execute("DROP TABLE bench_baseline").await?;
        println!(
            "baseline: PostgreSQL one row per transaction, 8 clients: {:.0} commits/s",
            n as f64 / t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
