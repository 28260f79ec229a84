//! `cityloop bench evaluation`: league tables of every object kind for a month and for a year,
//! on a database holding the evaluation rollups of a large simulated history (by default about
//! 10 million cases over 300 days, ~1 million a month) on the demo city.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Datelike, Months, NaiveDate};
use cityloop_app::{Actor, Ctx, SystemClock};
use cityloop_server::config::Config;

pub struct EvaluationBenchArgs {
    /// `sqlite` (a fresh file in a temporary directory) or a PostgreSQL URL of an empty database.
    pub database: String,
    pub per_day: u32,
    pub days: i64,
    pub runs: usize,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub async fn evaluation(args: EvaluationBenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::default();
    cfg.database.url = if args.database == "sqlite" {
        format!("sqlite://{}/bench.sqlite3", dir.path().display())
    } else {
        args.database.clone()
    };
    cfg.cases.evidence_dir = dir.path().join("blobs").display().to_string();
    cfg.auth.argon2_memory_kib = 1024;
    cfg.auth.argon2_iterations = 1;
    let app = cityloop_server::open_app(&cfg, Arc::new(SystemClock)).await?;
    app.seed_demo().await?;
    let spec = cityloop_synth::CitySpec::mid_size();
    let city = app.seed_demo_city(&spec).await?;
    println!(
        "engine {}; demo city: {} unit grids",
        app.store().engine().as_str(),
        city.grids
    );
    let t = Instant::now();
    let loaded = app
        .bench_load_rollups(args.days, args.per_day, 7, |cases, rows| {
            eprint!("\r  simulated {cases} cases, {rows} day rows …");
        })
        .await?;
    eprintln!();
    println!(
        "history: {} cases, {} events, {} day rollup rows, simulated and stored in {:.0} s",
        loaded.cases,
        loaded.events,
        loaded.day_rows,
        t.elapsed().as_secs_f64()
    );

    let sys = Actor::System("bench".into());
    let ctx = Ctx::default();
    let today = app
        .now()
        .with_timezone(&cityloop_domain::calendar::CHINA_OFFSET)
        .date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let last_month = this_month - Months::new(1);
    let year_ago = this_month - Months::new(12);
    for (label, kind, from, to) in [
        ("month, every kind", None, last_month, this_month),
        (
            "month before, every kind",
            None,
            last_month - Months::new(1),
            last_month,
        ),
        (
            "month, departments",
            Some("department"),
            last_month,
            this_month,
        ),
        ("year (12 months), every kind", None, year_ago, this_month),
        (
            "30 days not on month bounds, every kind",
            None,
            today - chrono::Duration::days(30),
            today,
        ),
    ] {
        let mut times = Vec::new();
        let mut objects = 0;
        for _ in 0..args.runs {
            let t = Instant::now();
            let v = app.evaluate(&sys, kind, from, to, false, &ctx).await?;
            times.push(t.elapsed());
            objects = v.evaluation.objects.len();
        }
        // The first run computes from the rollups; later runs of a finished period are served
        // from the cache of finished periods (the current month is always computed).
        let cold = times[0];
        let mut warm = times[1..].to_vec();
        warm.sort();
        let warm = if warm.is_empty() {
            "-".to_owned()
        } else {
            format!(
                "median {}, max {}",
                ms(warm[warm.len() / 2]),
                ms(warm[warm.len() - 1])
            )
        };
        println!(
            "{label:<40} {from}..{to}: {objects} objects; first {}; then {warm} ({} runs; each includes the previous period for the trend)",
            ms(cold),
            times.len()
        );
    }
    Ok(())
}
