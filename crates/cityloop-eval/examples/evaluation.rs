//! Throughput check: facts for N synthetic cases (default 1 000 000), day rollups built from them,
//! and evaluation of one month and one year from the rollups.
//!
//! `cargo run --release -p cityloop-eval --example evaluation -- [cases]`

#![expect(
    clippy::unwrap_used,
    reason = "benchmark driver: a failure aborts the run"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta};
use cityloop_domain::calendar::WorkCalendar;
use cityloop_domain::rules::ProcessLimits;
use cityloop_eval::*;
use common::synth::{self, Rng};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let calendar = WorkCalendar::builtin().unwrap();
    let rules = common::rule_sets();
    let process = ProcessLimits::default();
    let ctx = FactContext::new(&calendar, &rules, &process);
    let scheme =
        EvaluationScheme::from_toml_with_overlay(DEFAULT_SCHEME_TOML, EXAMPLE_CITY_OVERLAY_TOML)
            .unwrap()
            .validated()
            .unwrap();

    let mut rng = Rng::new(42);
    let mut generate = Duration::ZERO;
    let mut facts_time = Duration::ZERO;
    let mut rollup_time = Duration::ZERO;
    let (mut events_total, mut assignments, mut accountable, mut reworks, mut returns) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut parked, mut problems) = (0usize, 0usize);
    let mut rows: HashMap<RollupKey, Counters> = HashMap::new();
    for i in 0..n {
        let g = Instant::now();
        let start = common::t(1, 1, 0, 0) + TimeDelta::minutes(rng.below(60 * 24 * 360) as i64);
        let (events, _) = synth::case(&mut rng, &format!("C{i}"), start);
        let grid = rng.below(5000);
        let meta = CaseMeta {
            grid: format!("G{grid:04}"),
            community: format!("CM{}", grid / 25),
            street: format!("ST{}", grid / 500),
        };
        generate += g.elapsed();

        let f0 = Instant::now();
        let facts = case_facts(&events, &ctx);
        facts_time += f0.elapsed();

        let r0 = Instant::now();
        for c in credits(&facts, Some(&meta)) {
            let key = RollupKey {
                day: day_of(c.at),
                object: c.object,
            };
            rows.entry(key).or_default().add(c.counter, 1);
        }
        rollup_time += r0.elapsed();

        events_total += events.len();
        assignments += facts.assignments.len();
        accountable += facts
            .assignments
            .iter()
            .filter(|a| a.accountable().is_some())
            .count();
        reworks += facts
            .assignments
            .iter()
            .filter(|a| !a.reworks.is_empty())
            .count();
        returns += facts
            .assignments
            .iter()
            .filter(|a| a.returned_at.is_some())
            .count();
        parked += usize::from(!facts.parked.is_empty());
        problems += usize::from(!facts.problems.is_empty());
    }
    println!("cases                 {n}");
    println!("events                {events_total}");
    println!(
        "assignments           {assignments} (accountable {accountable}, reworked {reworks}, returned {returns}); parked cases {parked}; cases with problems {problems}"
    );
    println!("generate (not timed)  {} ms", generate.as_millis());
    println!(
        "case_facts            {} ms ({:.2} µs/case)",
        facts_time.as_millis(),
        facts_time.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "credits → day rows    {} ms ({} rows)",
        rollup_time.as_millis(),
        rows.len()
    );

    let sorted: BTreeMap<RollupKey, Counters> = rows.into_iter().collect();
    let inputs = EvalInputs::default();
    let day = |m, d| NaiveDate::from_ymd_opt(2025, m, d).unwrap();
    for (label, from, to) in [
        ("month (2025-06)", day(6, 1), day(7, 1)),
        (
            "year (2025)",
            day(1, 1),
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        ),
    ] {
        let s = Instant::now();
        let tallies = sum_rollups(&sorted, from, to);
        let summed = s.elapsed();
        let e = Instant::now();
        let ev = evaluate(&scheme, &tallies, &inputs);
        let evaluated = e.elapsed();
        println!(
            "{label:<21} sum {} ms + evaluate {} ms = {} ms ({} objects)",
            summed.as_millis(),
            evaluated.as_millis(),
            (summed + evaluated).as_millis(),
            ev.objects.len()
        );
    }
}
