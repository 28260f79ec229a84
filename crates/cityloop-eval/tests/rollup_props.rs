//! Day rollups are exact: evaluating summed day rows equals evaluating the facts directly, for any
//! range of days, and rows maintained by per-transition deltas equal rows rebuilt from scratch.

#![expect(clippy::unwrap_used, reason = "tests: a failed step aborts the test")]

mod common;

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeDelta};
use cityloop_domain::calendar::WorkCalendar;
use cityloop_domain::rules::{AreaClass, ProcessLimits};
use cityloop_eval::*;
use common::synth::{self, Rng};
use common::*;
use proptest::prelude::*;

fn scheme() -> ValidScheme {
    EvaluationScheme::from_toml_with_overlay(DEFAULT_SCHEME_TOML, EXAMPLE_CITY_OVERLAY_TOML)
        .unwrap()
        .validated()
        .unwrap()
}

/// `n` random cases opened over about three months from 1 March 2025.
fn world(seed: u64, n: usize) -> Vec<(Vec<cityloop_domain::case::Event>, CaseMeta)> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let start = t(3, 1, 0, 0) + TimeDelta::minutes(rng.below(60 * 24 * 90) as i64);
            synth::case(&mut rng, &format!("C{i}"), start)
        })
        .collect()
}

fn inputs(rng: &mut Rng) -> EvalInputs {
    let mut missed = BTreeMap::new();
    for id in 100..104 {
        if rng.chance(50) {
            let den = rng.below(20);
            missed.insert(id, Figure::rate(rng.below(den + 1), den, vec![], vec![]));
        }
    }
    let mut areas = BTreeMap::new();
    for g in 0..12 {
        if rng.chance(70) {
            let class = if rng.chance(50) {
                AreaClass::First
            } else {
                AreaClass::Second
            };
            areas.insert(
                ObjectRef::new(ObjectKind::Grid, format!("G{g:02}")),
                AreaInfo { class, grids: 1 },
            );
        }
    }
    areas.insert(
        ObjectRef::new(ObjectKind::Street, "ST0"),
        AreaInfo {
            class: AreaClass::First,
            grids: 6,
        },
    );
    EvalInputs {
        missed_reports: missed,
        areas,
        roster: vec![ObjectRef::new(ObjectKind::Grid, "G99")],
        satisfaction: BTreeMap::from([(
            ObjectRef::new(ObjectKind::Department, "SZ"),
            Figure::rate(1, 3, vec![], vec![]),
        )]),
    }
}

fn strip_cases(ev: &mut Evaluation) {
    for o in &mut ev.objects {
        for f in o.figures.values_mut() {
            f.cases_num.clear();
            f.cases_den.clear();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn evaluating_summed_day_rollups_equals_evaluating_facts(
        seed in any::<u64>(),
        n in 1usize..60,
        first in 0i64..110,
        len in 0i64..100,
    ) {
        let calendar = WorkCalendar::builtin().unwrap();
        let rules = rule_sets();
        let process = ProcessLimits::default();
        let ctx = FactContext::new(&calendar, &rules, &process);
        let cases = world(seed, n);
        let facts: Vec<(CaseFacts, CaseMeta)> = cases
            .iter()
            .map(|(events, meta)| (case_facts(events, &ctx), meta.clone()))
            .collect();
        for (f, _) in &facts {
            prop_assert!(f.problems.is_empty(), "{}: {:?}", f.case_id, f.problems);
        }
        let rows: BTreeMap<RollupKey, Counters> = day_rollups(facts.iter().map(|(f, m)| (f, Some(m))))
            .into_iter()
            .map(|r| (r.key, r.counters))
            .collect();
        let base = NaiveDate::from_ymd_opt(2025, 2, 20).unwrap();
        let from = base + TimeDelta::days(first);
        let to = from + TimeDelta::days(len);
        let scheme = scheme();
        let inputs = inputs(&mut Rng::new(seed ^ 0x5eed));

        let from_rollups = evaluate(&scheme, &sum_rollups(&rows, from, to), &inputs);
        let mut direct = evaluate_facts(
            &scheme,
            facts.iter().map(|(f, m)| (f, Some(m))),
            day_start(from),
            day_start(to),
            &inputs,
        );
        // Drill-down lists explain the numbers exactly.
        for o in &direct.objects {
            for (id, f) in &o.figures {
                if id == "missed_report_rate" || id == "satisfaction_rate" {
                    continue;
                }
                prop_assert_eq!(f.cases_num.len() as u64, f.numerator, "{} {}", o.object, id);
                prop_assert_eq!(f.cases_den.len() as u64, f.denominator, "{} {}", o.object, id);
            }
        }
        strip_cases(&mut direct);
        prop_assert_eq!(from_rollups, direct);
    }

    #[test]
    fn deltas_per_transition_maintain_the_rollups(seed in any::<u64>(), n in 1usize..25) {
        let calendar = WorkCalendar::builtin().unwrap();
        let rules = rule_sets();
        let process = ProcessLimits::default();
        let ctx = FactContext::new(&calendar, &rules, &process);
        let mut rng = Rng::new(seed ^ 0xde17a);
        let cases = world(seed, n);
        let mut rows: BTreeMap<RollupKey, Counters> = BTreeMap::new();
        let mut finals = Vec::new();
        for (events, meta) in &cases {
            // The case may move to another grid halfway (a corrected location).
            let moved = synth::meta(&mut rng);
            let move_at = rng.below(events.len() as u64 + 1) as usize;
            let mut before: Option<(CaseFacts, CaseMeta)> = None;
            for k in 1..=events.len() {
                let m = if k > move_at { moved.clone() } else { meta.clone() };
                let after = case_facts(&events[..k], &ctx);
                let deltas = rollup_delta(
                    before.as_ref().map(|(f, m)| (f, Some(m))),
                    (&after, Some(&m)),
                );
                for d in &deltas {
                    prop_assert!(apply_delta(&mut rows, d).is_ok(), "{d:?}");
                }
                before = Some((after, m));
            }
            if let Some(last) = before {
                finals.push(last);
            }
        }
        let rebuilt: BTreeMap<RollupKey, Counters> =
            day_rollups(finals.iter().map(|(f, m)| (f, Some(m))))
                .into_iter()
                .map(|r| (r.key, r.counters))
                .collect();
        prop_assert_eq!(rows, rebuilt);
    }
}

#[test]
fn a_delta_that_does_not_match_the_rows_is_refused() {
    let mut rows = BTreeMap::new();
    let key = RollupKey {
        day: NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(),
        object: ObjectRef::new(ObjectKind::Department, "SZ"),
    };
    let delta = RollupDelta {
        key: key.clone(),
        changes: vec![(Counter::DeptDue, 1), (Counter::DeptHandled, -1)],
    };
    assert_eq!(
        apply_delta(&mut rows, &delta),
        Err(RollupError::Negative {
            key,
            counter: Counter::DeptHandled
        })
    );
    assert!(rows.is_empty());
}

proptest! {
    /// An accepted objection removes exactly the excluded object's credits on the excluded
    /// counters, nothing else, and the delta from the change applies cleanly to maintained rows.
    #[test]
    fn exclusions_remove_exactly_the_disputed_credits(seed in 0u64..1_000, pick in 0usize..8) {
        let calendar = WorkCalendar::builtin().unwrap();
        let rules = rule_sets();
        let process = ProcessLimits::default();
        let ctx = FactContext::new(&calendar, &rules, &process);
        for (events, meta) in world(seed, 6) {
            let facts = case_facts(&events, &ctx);
            let all = credits(&facts, Some(&meta));
            let Some(target) = all.iter().map(|c| c.object.clone()).nth(pick % all.len().max(1)) else {
                continue;
            };
            let disputed: Vec<Counter> = all
                .iter()
                .filter(|c| c.object == target)
                .map(|c| c.counter)
                .take(1)
                .collect();
            for counters in [Vec::new(), disputed] {
                let mut excluded = facts.clone();
                excluded.excluded = vec![Exclusion { object: target.clone(), counters: counters.clone() }];
                let kept = credits(&excluded, Some(&meta));
                let expected: Vec<Credit> = all
                    .iter()
                    .filter(|c| !(c.object == target && (counters.is_empty() || counters.contains(&c.counter))))
                    .cloned()
                    .collect();
                prop_assert_eq!(&kept, &expected);
                let mut rows: BTreeMap<RollupKey, Counters> = day_rollups([(&facts, Some(&meta))])
                    .into_iter()
                    .map(|r| (r.key, r.counters))
                    .collect();
                for d in rollup_delta(Some((&facts, Some(&meta))), (&excluded, Some(&meta))) {
                    apply_delta(&mut rows, &d).unwrap();
                }
                let rebuilt: BTreeMap<RollupKey, Counters> = day_rollups([(&excluded, Some(&meta))])
                    .into_iter()
                    .map(|r| (r.key, r.counters))
                    .collect();
                prop_assert_eq!(rows, rebuilt);
            }
        }
    }
}

#[test]
fn area_classes_nest_by_code_prefix() {
    let overlay = format!(
        "{EXAMPLE_CITY_OVERLAY_TOML}\n[region.classes]\n\"330102001\" = \"二类\"\n\"330102001002\" = \"一类\"\n"
    );
    let scheme = EvaluationScheme::from_toml_with_overlay(DEFAULT_SCHEME_TOML, &overlay).unwrap();
    assert!(scheme.validate().is_empty(), "{:?}", scheme.validate());
    assert_eq!(scheme.area_class("330102001"), AreaClass::Second);
    assert_eq!(
        scheme.area_class("33010200100101"),
        AreaClass::Second,
        "grid of a class-2 street"
    );
    assert_eq!(
        scheme.area_class("33010200100201"),
        AreaClass::First,
        "its community overrides"
    );
    assert_eq!(
        scheme.area_class("330102002"),
        AreaClass::First,
        "unlisted: 一类"
    );
    let bad = format!("{EXAMPLE_CITY_OVERLAY_TOML}\n[region.classes]\n\"330102001\" = \"三类\"\n");
    let problems = EvaluationScheme::from_toml_with_overlay(DEFAULT_SCHEME_TOML, &bad)
        .unwrap()
        .validate();
    assert!(
        matches!(problems.as_slice(), [SchemeProblem::BadAreaClass { .. }]),
        "{problems:?}"
    );
}
