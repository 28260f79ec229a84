use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use cityloop_domain::calendar::WorkCalendar;
use cityloop_domain::case::{
    ActionKind, Actor, EventKind, Outcome, Role, Source, Step, action_of, allowed, apply, open,
    replay, step_clock,
};
use cityloop_domain::rules::ProcessLimits;

use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn condition(class: &str, text: &str, limit: &str, department: &str, weight: f64) -> SimCondition {
    SimCondition {
        class: class.into(),
        condition: text.into(),
        limit: limit.parse().unwrap(),
        department: department.into(),
        seasonal: Season::guess(class, text),
        weight,
    }
}

fn world() -> World {
    let streets = ["S01", "S02", "S03"];
    let mut grids = Vec::new();
    for (s, street) in streets.iter().enumerate() {
        for g in 0..4 {
            grids.push(SimGrid {
                code: format!("{street}G{g:02}"),
                community_code: format!("{street}C{:02}", g / 2),
                street_code: (*street).into(),
                district_code: "D01".into(),
                lon: 113.6 + 0.01 * s as f64 + 0.002 * f64::from(g),
                lat: 34.7 + 0.005 * f64::from(g),
                weight: 1.0 + f64::from(g) * 0.5,
            });
        }
    }
    let inspectors = streets
        .iter()
        .enumerate()
        .flat_map(|(s, street)| {
            (0..2).map(move |i| SimInspector {
                user_id: 100 + (s as i64) * 2 + i,
                street_code: (*street).into(),
            })
        })
        .collect();
    let handlers = [
        (50, "SZ"),
        (51, "SZ"),
        (52, "HW"),
        (53, "HW"),
        (54, "YL"),
        (55, "YL"),
        (56, "SZ01"),
        (57, "SZ02"),
        (58, "HW01"),
    ]
    .into_iter()
    .map(|(user_id, dep)| SimHandler {
        user_id,
        department: dep.into(),
    })
    .collect();
    let sub_units = [
        ("SZ", "SZ01"),
        ("SZ", "SZ02"),
        ("HW", "HW01"),
        ("YL", "YL01"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    let conditions = vec![
        condition("E0102", "成片暴露垃圾", "4个工作小时", "HW", 3.0),
        condition("E0104", "主次干道路面不洁", "2小时", "HW", 2.0),
        condition("E0505", "机动车占用人行道停放", "2个工作小时", "SZ", 2.0),
        condition("E0501", "游商占道经营", "1个工作日", "HW", 1.5),
        condition("C0101", "井盖破损、缺失", "2个工作日", "SZ", 1.0),
        condition("C0118", "路灯不亮", "3个工作日", "SZ", 1.0),
        condition("E0101", "违法搭建建筑物", "20个工作日", "SZ", 0.3),
        condition("E0407", "主次干道积雪结冰未清除", "1个工作日", "HW", 0.6),
        condition("E0406", "道路积水影响通行", "4个工作小时", "SZ", 0.6),
        condition("E0402", "供水管道破裂漏水", "12个自然小时", "SZ", 0.3),
        condition("C0402", "行道树倒伏、枝叶遮挡", "5个工作日", "YL", 0.6),
        condition("E0106", "绿地内有垃圾", "1个工作日", "YL", 0.8),
        condition("E0115", "焚烧落叶", "4个工作小时", "HW", 0.4),
        condition("E0405", "供热管道破裂", "24个自然小时", "SZ", 0.2),
    ];
    World {
        grids,
        inspectors,
        acceptors: vec![10, 11, 12],
        shift_leaders: vec![20, 21],
        dispatchers: vec![30, 31],
        leaders: vec![40],
        handlers,
        sub_units,
        conditions,
        process: ProcessLimits::default(),
        calendar: WorkCalendar::builtin().unwrap(),
        rule_set_id: 7,
        system_user: 1,
    }
}

fn ids() -> impl FnMut(DateTime<Utc>) -> String {
    let mut per_day: BTreeMap<NaiveDate, u32> = BTreeMap::new();
    move |at| {
        let day = (at + TimeDelta::hours(8)).date_naive();
        let n = per_day.entry(day).or_insert(0);
        *n += 1;
        format!("{}{:05}", day.format("%Y%m%d"), n)
    }
}

fn year_options() -> Options {
    Options {
        from: d(2025, 1, 1),
        to: d(2026, 1, 1),
        reports_per_day: 200,
        seed: 42,
        // Wednesday 10:30 China time on the last day.
        now: utc("2025-12-31T02:30:00Z"),
    }
}

/// The year at 200 reports/day, simulated once for all tests.
fn year() -> &'static [SimCase] {
    static YEAR: OnceLock<Vec<SimCase>> = OnceLock::new();
    YEAR.get_or_init(|| {
        let w = world();
        let started = Instant::now();
        let cases = simulate(&w, &year_options(), ids()).unwrap();
        let events: usize = cases.iter().map(|c| c.events.len()).sum();
        println!(
            "simulated {} cases, {events} events in {:?}",
            cases.len(),
            started.elapsed()
        );
        cases
    })
}

fn count(cases: &[SimCase], f: impl Fn(&SimCase) -> bool) -> usize {
    cases.iter().filter(|c| f(c)).count()
}

fn has(c: &SimCase, kind: ActionKind) -> bool {
    c.events.iter().any(|e| e.kind == EventKind::Acted(kind))
}

fn share(n: usize, of: usize) -> f64 {
    n as f64 / of.max(1) as f64
}

#[test]
fn every_case_replays_to_its_state() {
    for c in year() {
        assert_eq!(
            replay(&c.events).as_ref(),
            Ok(&c.case),
            "case {}",
            c.case.id
        );
    }
}

#[test]
fn events_are_ordered_bounded_and_well_formed() {
    let w = world();
    let opts = year_options();
    let hex = |s: &str| s.len() == 64 && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'));
    let from = local_midnight(opts.from);
    let to = local_midnight(opts.to);
    for c in year() {
        let first = &c.events[0];
        assert_eq!(first.kind, EventKind::Opened);
        assert!(first.at >= from && first.at < to && first.at <= opts.now);
        assert!(
            c.events.windows(2).all(|p| p[0].at <= p[1].at),
            "{}",
            c.case.id
        );
        assert!(c.events.iter().all(|e| e.at <= opts.now));
        assert!(c.events.iter().all(|e| e.at.timestamp_subsec_nanos() == 0));
        assert!(c.events.iter().flat_map(|e| &e.attachments).all(|a| hex(a)));
        // Verification and checks by an inspector of the grid's street.
        let street = &w.grids[c.grid].street_code;
        for e in &c.events {
            if matches!(
                e.kind,
                EventKind::Acted(
                    ActionKind::Verify | ActionKind::CheckPass | ActionKind::CheckFail
                )
            ) {
                assert!(
                    w.inspectors
                        .iter()
                        .any(|i| i.user_id == e.actor_id && &i.street_code == street)
                );
            }
        }
        let g = &w.grids[c.grid];
        let dy = (c.lat - g.lat) * 111_320.0;
        let dx = (c.lon - g.lon) * 111_320.0 * g.lat.to_radians().cos();
        assert!((dx * dx + dy * dy).sqrt() <= 50.01);
        assert!(c.address_hint.ends_with("附近"));
        if c.case.source == Source::Inspector {
            assert!(c.reported_class.is_some());
        }
    }
}

fn local_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap().and_utc() - TimeDelta::hours(8)
}

#[test]
fn same_seed_same_history_other_seed_other_history() {
    let w = world();
    let opts = Options {
        from: d(2025, 3, 1),
        to: d(2025, 5, 1),
        reports_per_day: 30,
        seed: 7,
        now: utc("2025-05-01T00:00:00Z"),
    };
    let a = simulate(&w, &opts, ids()).unwrap();
    let b = simulate(&w, &opts, ids()).unwrap();
    assert!(!a.is_empty());
    assert_eq!(a, b);
    let c = simulate(&w, &Options { seed: 8, ..opts }, ids()).unwrap();
    assert_ne!(a, c);
}

#[test]
fn nothing_happens_after_now() {
    let w = world();
    let now = utc("2025-06-18T03:17:00Z");
    let opts = Options {
        from: d(2025, 5, 1),
        to: d(2025, 9, 1),
        reports_per_day: 80,
        seed: 3,
        now,
    };
    let cases = simulate(&w, &opts, ids()).unwrap();
    assert!(cases.iter().all(|c| c.events.iter().all(|e| e.at <= now)));
    let last_day: Vec<_> = cases
        .iter()
        .filter(|c| c.case.reported_at > now - TimeDelta::hours(24))
        .collect();
    assert!(!last_day.is_empty());
    // Queues have work: recent cases wait in every kind of step.
    let open = last_day
        .iter()
        .filter(|c| c.case.closed_at.is_none())
        .count();
    assert!(open * 2 > last_day.len(), "{open} of {}", last_day.len());
    let steps: std::collections::BTreeSet<String> = cases
        .iter()
        .filter(|c| c.case.closed_at.is_none())
        .map(|c| format!("{:?}", c.case.step))
        .collect();
    for step in ["Disposing", "Checking"] {
        assert!(steps.contains(step), "{steps:?}");
    }
}

#[test]
fn shares_land_near_the_targets() {
    let w = world();
    let cases = year();
    let n = cases.len();
    let days = 365.0;
    let per_day = n as f64 / days;
    println!("reports/day: {per_day:.1}");
    assert!((190.0..=210.0).contains(&per_day), "{per_day}");

    let mut by_source: BTreeMap<Source, usize> = BTreeMap::new();
    for c in cases {
        *by_source.entry(c.case.source).or_default() += 1;
    }
    let targets = [
        (Source::Inspector, 0.62),
        (Source::Hotline, 0.22),
        (Source::Public, 0.07),
        (Source::Video, 0.05),
        (Source::Sensor, 0.015),
        (Source::Leader, 0.015),
        (Source::Media, 0.01),
    ];
    for (s, target) in targets {
        let got = share(by_source.get(&s).copied().unwrap_or(0), n);
        println!(
            "channel {s:?}: {:.2} % (target {:.1} %)",
            got * 100.0,
            target * 100.0
        );
        assert!((got - target).abs() < 0.02, "{s:?} {got}");
    }

    let verified = count(cases, |c| c.case.verified.is_some());
    let not_confirmed = count(cases, |c| c.case.verified == Some(false));
    let declined = count(cases, |c| c.case.step == Step::Closed(Outcome::Declined));
    let nc = share(not_confirmed, verified);
    println!("not confirmed on site: {:.2} %", nc * 100.0);
    assert!((0.04..0.09).contains(&nc));
    assert!(declined + 5 >= not_confirmed);

    let accepted = count(cases, |c| has(c, ActionKind::Accept));
    let rejected = count(cases, |c| {
        has(c, ActionKind::Reject) || c.case.step == Step::Closed(Outcome::Voided)
    });
    let rj = share(rejected, accepted);
    println!("rejected or voided at filing: {:.2} %", rj * 100.0);
    assert!((0.01..0.03).contains(&rj));

    let checked = count(cases, |c| {
        has(c, ActionKind::CheckPass) || has(c, ActionKind::CheckFail)
    });
    let rework = share(count(cases, |c| c.case.rework_count > 0), checked);
    println!("rework: {:.2} %", rework * 100.0);
    assert!((0.02..=0.05).contains(&rework), "{rework}");

    let dispatched = count(cases, |c| has(c, ActionKind::Dispatch));
    let ext = share(
        count(cases, |c| has(c, ActionKind::RequestExtension)),
        dispatched,
    );
    let ext_ok = count(cases, |c| has(c, ActionKind::ApproveExtension));
    let returned = share(
        count(cases, |c| has(c, ActionKind::RequestReturn)),
        dispatched,
    );
    let sub = share(
        count(cases, |c| has(c, ActionKind::SubDispatch)),
        dispatched,
    );
    let assisted = share(
        count(cases, |c| {
            c.events.iter().any(|e| {
                matches!(&e.details, cityloop_domain::case::Details::Dispatched { assisting, .. } if !assisting.is_empty())
            })
        }),
        dispatched,
    );
    let parked = count(cases, |c| has(c, ActionKind::ApprovePark));
    let still_parked = count(cases, |c| c.case.parked.is_some());
    let deferred = count(cases, |c| has(c, ActionKind::Defer));
    let supervised = count(cases, |c| has(c, ActionKind::Supervise));
    let reminded = count(cases, |c| has(c, ActionKind::Remind));
    let reopened = count(cases, |c| has(c, ActionKind::Reopen));
    let merged = count(cases, |c| c.case.step == Step::Closed(Outcome::Merged));
    let open = count(cases, |c| c.case.closed_at.is_none());
    println!(
        "of {dispatched} dispatched: extension requested {:.2} % ({ext_ok} approved), returned {:.2} %, \
         sub-dispatched {:.2} %, assisted {:.2} %, parked {parked} ({still_parked} still parked), \
         deferred {deferred}, supervised {supervised}, reminded {reminded}, reopened {reopened}",
        ext * 100.0,
        returned * 100.0,
        sub * 100.0,
        assisted * 100.0,
    );
    println!(
        "merged: {:.2} % of reports; open at the end: {open}",
        share(merged, n) * 100.0
    );
    assert!((0.03..0.05).contains(&ext), "{ext}");
    assert!(ext_ok > 0);
    assert!((0.02..0.04).contains(&returned), "{returned}");
    assert!((0.15..0.25).contains(&sub), "{sub}");
    assert!((0.02..0.04).contains(&assisted), "{assisted}");
    assert!(parked > dispatched / 200 && still_parked > 0);
    assert!(deferred > dispatched / 200);
    assert!(supervised > dispatched / 200);
    assert!(reminded > 0 && reopened > 0);
    assert!((0.006..0.015).contains(&share(merged, n)));
    assert!(open > 0);

    // Overdue feedbacks, measured against the clock the application computes.
    let (feedbacks, late) = overdue_feedbacks(&w, cases);
    let overdue = share(late, feedbacks);
    println!(
        "feedback after the due time: {:.2} % of {feedbacks}",
        overdue * 100.0
    );
    assert!((0.06..0.11).contains(&overdue), "{overdue}");

    // Centre work happens in working time mostly.
    let centre: Vec<_> = cases
        .iter()
        .flat_map(|c| &c.events)
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::Acted(ActionKind::Accept | ActionKind::File | ActionKind::Dispatch)
            )
        })
        .collect();
    let in_hours = centre
        .iter()
        .filter(|e| w.calendar.is_working_instant(e.at).unwrap())
        .count();
    println!(
        "centre actions in working time: {:.1} %",
        share(in_hours, centre.len()) * 100.0
    );
    assert!(share(in_hours, centre.len()) > 0.8);

    // Fewer reports on non-working days.
    let mut per_kind = [(0usize, 0usize); 2];
    let mut day_seen = std::collections::BTreeSet::new();
    for c in cases {
        let day = (c.case.reported_at + TimeDelta::hours(8)).date_naive();
        let k = usize::from(w.calendar.is_working_day(day));
        per_kind[k].0 += 1;
        if day_seen.insert(day) {
            per_kind[k].1 += 1;
        }
    }
    let ratio = share(per_kind[0].0, per_kind[0].1) / share(per_kind[1].0, per_kind[1].1);
    println!("non-working / working day volume: {ratio:.2}");
    assert!((0.5..0.7).contains(&ratio));
}

/// (feedbacks, feedbacks after the due time of the disposal clock).
fn overdue_feedbacks(w: &World, cases: &[SimCase]) -> (usize, usize) {
    let limits: BTreeMap<(&str, &str), _> = w
        .conditions
        .iter()
        .map(|c| ((c.class.as_str(), c.condition.as_str()), c.limit))
        .collect();
    let (mut total, mut late) = (0, 0);
    for c in cases {
        let actor = |e: &cityloop_domain::case::Event| Actor {
            user_id: e.actor_id,
            roles: vec![e.actor_role],
            department: e.actor_department.clone(),
        };
        let first = &c.events[0];
        let new = cityloop_domain::case::NewCase {
            id: c.case.id.clone(),
            source: c.case.source,
            description: c.case.description.clone(),
        };
        let mut case = open(new, &actor(first), first.at).unwrap().case;
        for e in &c.events[1..] {
            if e.kind == EventKind::Acted(ActionKind::Feedback) {
                let limit = limits[&(
                    case.class.as_deref().unwrap(),
                    case.condition.as_deref().unwrap(),
                )];
                let clock = step_clock(&case, &w.process, Some(limit), &w.calendar)
                    .unwrap()
                    .unwrap();
                total += 1;
                if e.at > clock.due {
                    late += 1;
                }
            }
            case = apply(&case, &actor(e), action_of(e).unwrap(), e.at)
                .unwrap()
                .case;
        }
    }
    (total, late)
}

#[test]
fn winter_brings_snow_and_summer_brings_water_and_greenery() {
    let cases = year();
    let in_month = |class: &str, month: u32| {
        count(cases, |c| {
            c.case.class.as_deref() == Some(class)
                && (c.case.reported_at + TimeDelta::hours(8)).month() == month
        })
    };
    let (snow_jan, snow_jul) = (in_month("E0407", 1), in_month("E0407", 7));
    let (water_jan, water_jul) = (in_month("E0406", 1), in_month("E0406", 7));
    let (trees_jan, trees_jul) = (in_month("C0402", 1), in_month("C0402", 7));
    let (leaves_jul, leaves_oct) = (in_month("E0115", 7), in_month("E0115", 10));
    println!(
        "snow/ice Jan {snow_jan} Jul {snow_jul}; standing water Jan {water_jan} Jul {water_jul}; \
         trees Jan {trees_jan} Jul {trees_jul}; leaves Jul {leaves_jul} Oct {leaves_oct}"
    );
    assert!(snow_jan > 10 * snow_jul.max(1));
    assert!(water_jul > 5 * water_jan.max(1));
    assert!(trees_jul > 5 * trees_jan.max(1));
    assert!(leaves_oct > 5 * leaves_jul.max(1));
}

#[test]
fn seasons_are_guessed_from_the_taxonomy() {
    assert_eq!(Season::guess("E0407", ""), Season::Winter);
    assert_eq!(Season::guess("E0405", ""), Season::Winter);
    assert_eq!(Season::guess("E0406", ""), Season::Summer);
    assert_eq!(Season::guess("C0402", ""), Season::Summer);
    assert_eq!(Season::guess("E0106", ""), Season::Summer);
    assert_eq!(Season::guess("E0115", ""), Season::Autumn);
    assert_eq!(Season::guess("E0102", "成片暴露垃圾"), Season::AllYear);
    assert_eq!(Season::guess("E0199", "桥面结冰"), Season::Winter);
    assert_eq!(Season::Monthly([2.0; 12]).multiplier(5), 2.0);
}

#[test]
fn a_bad_world_is_refused() {
    let mut w = world();
    w.handlers.retain(|h| h.department != "YL");
    let err = simulate(&w, &year_options(), ids()).unwrap_err();
    assert!(matches!(err, SimError::World(_)), "{err}");
    let mut w = world();
    w.grids.clear();
    assert!(simulate(&w, &year_options(), ids()).is_err());
    let opts = Options {
        to: d(2024, 1, 1),
        ..year_options()
    };
    assert!(matches!(
        simulate(&world(), &opts, ids()),
        Err(SimError::Options(_))
    ));
}

#[test]
fn without_leaders_there_are_no_leader_reports_or_supervision() {
    let mut w = world();
    w.leaders.clear();
    let opts = Options {
        from: d(2025, 3, 1),
        to: d(2025, 6, 1),
        reports_per_day: 50,
        seed: 1,
        now: utc("2025-06-01T00:00:00Z"),
    };
    let cases = simulate(&w, &opts, ids()).unwrap();
    assert!(!cases.is_empty());
    assert!(cases.iter().all(|c| c.case.source != Source::Leader));
    assert!(cases.iter().all(|c| c.case.supervision.is_empty()));
}

#[test]
fn actors_hold_the_roles_they_act_in() {
    let w = world();
    for c in year().iter().take(5000) {
        for e in &c.events {
            let ok = match e.actor_role {
                Role::Inspector => w.inspectors.iter().any(|i| i.user_id == e.actor_id),
                Role::Acceptor => w.acceptors.contains(&e.actor_id),
                Role::ShiftLeader => w.shift_leaders.contains(&e.actor_id),
                Role::Dispatcher => w.dispatchers.contains(&e.actor_id),
                Role::Leader => w.leaders.contains(&e.actor_id),
                Role::System => e.actor_id == w.system_user,
                Role::Handler => w.handlers.iter().any(|h| {
                    h.user_id == e.actor_id && Some(&h.department) == e.actor_department.as_ref()
                }),
            };
            assert!(ok, "{e:?}");
        }
        // Every action was among those `allowed` offered its actor at that moment.
        let actor = |e: &cityloop_domain::case::Event| Actor {
            user_id: e.actor_id,
            roles: vec![e.actor_role],
            department: e.actor_department.clone(),
        };
        let mut case = replay(&c.events[..1]).unwrap();
        for e in &c.events[1..] {
            let EventKind::Acted(kind) = e.kind else {
                panic!("second Opened event");
            };
            assert!(allowed(&case, &actor(e)).contains(&kind), "{e:?}");
            case = apply(&case, &actor(e), action_of(e).unwrap(), e.at)
                .unwrap()
                .case;
        }
    }
}
