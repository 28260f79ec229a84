//! Eleven hand-written case timelines, every indicator of March 2025 worked out by hand.
//
// Calendar: China time, working hours 08:00–12:00 and 14:00–18:00, no holidays in March 2025
// (Mon 3 Mar … Mon 31 Mar). Default process limits: 受理 30 min, 核实 1 h, 立案 30 min, 派遣 30
// min, 核查 2 h, 结案 1 h (working time, from when the case entered the step). Rule set 7:
// C0101 井盖缺失 2 working hours, E0102 暴露垃圾 4 working hours. "on time" means done ≤ due.
//
// People: inspectors 11, 12; acceptors 21, 22; shift leader 31; dispatchers 41, 42; leader 51;
// system 0. Departments SZ (sub-unit SZ-1) and HW. Grids: G1, G2 in community CM1 / street ST1;
// G3 in community CM2 / street ST2.
//
// Timelines (day/month, China time) and what each credits:
//
// A (G1, inspector 11 report, 3/3): open 09:00; accept 21 09:10 (due 09:30 ✓); file 31 09:20
//   (due 09:40 ✓); dispatch 41→SZ 09:30 (due 09:50 ✓); feedback 10:30 (disposal due 11:30 ✓);
//   check-pass 12 11:00 (due 12:30 ✓); close 31 11:20 (due 12:00 ✓).
// B (G1, public, 3/4): open 09:00; verify 11 10:30 (due 10:00 ✗); accept 21 10:40 (due 11:00 ✓);
//   file 31 11:20 (due 11:10 ✗); dispatch 42→SZ 11:30 (due 11:50 ✓); disposal due 11:30+2 wh =
//   15:30; feedback 14:30; check-fail 12 15:00 (due 16:30 ✓, rework); feedback 16:00 (> 15:30 ✗);
//   check-pass 12 16:10 (due 18:00 ✓); close 31 17:30 (due 17:10 ✗).
//   SZ: accountable at the deadline 15:30: handled, late, reworked, closed.
// C (G2, inspector 12 report, 3/5): open 09:00; decline 22 09:50 (due 09:30 ✗).
// D (G2, inspector 11 report, 3/6): open 09:00; accept 21 09:05 ✓; reject 31 09:15.
// E (G3, hotline opened by acceptor 22, 3/7): verify 12 09:30 (due 10:00 ✓); accept 22 09:40 ✓;
//   file 31 09:50 ✓ (E0102, 4 wh); dispatch 41→HW 10:00 (due 10:20 ✓); HW asks return 10:30,
//   31 approves 10:45 (回退: HW return, dispatch 41 inaccurate); dispatch 41→SZ 11:30 (entered
//   Dispatching 10:45, due 11:15 ✗); SZ sub-dispatches SZ-1 11:40; SZ asks 60 min extension
//   14:00, 31 approves 14:10; leader 51 supervises 15:00. Disposal due: 11:30 + 4 wh = Fri 17:30,
//   + 60 min extension = Mon 3/10 08:30. SZ-1 feedback 3/10 08:20 ✓; check-pass 11 09:00 (due
//   10:20 ✓); close 31 09:30 (due 10:00 ✓).
// F (G3, inspector 12 report, 3/10): open 09:00; accept 21 09:10 ✓; file 31 09:20 ✓ (C0101);
//   dispatch 42→HW 09:25 ✓ (due 11:25); HW asks parking 10:00, 31 approves 10:25 (挂账, 60 min
//   left); leader 51 supervises 3/11 10:00; 31 unparks 3/12 08:00 → due 3/12 09:00; nothing
//   more. HW: accountable at 3/12 09:00, not handled. Area: parked, so not in net 立案数.
// G (G1, video alarm, 3/11): verify 11 09:40 not found (due 10:00 ✓); decline 22 09:50 ✓.
// H (G2, inspector 11 report, 3/12): accept 21 09:05 ✓; file 31 09:10 ✓; dispatch 41→SZ 09:15 ✓;
//   31 defers 09:30 and voids 10:00: the filing was inaccurate; SZ's assignment is not accountable.
// I (G1, inspector 12 report, Fri 2/28 17:00): accept 21 17:10 ✓; file 31 17:20 ✓; dispatch 41→HW
//   17:30 ✓ (due 17:50); disposal due Mon 3/3 09:30; feedback 3/3 09:00 ✓; check-pass 12 09:30 ✓;
//   close 31 10:00 ✓. Only the disposal, check and close fall in March.
// J (G2, inspector 11 report, Mon 3/31 17:00): accept 22 17:20 ✓; file 31 17:50 (due exactly 17:50
//   ✓); dispatch 42→SZ Tue 4/1 08:10 (April, due 08:20 ✓).
// K (G3, public, 3/13): verify 12 09:20 ✓ (confirmed); acceptor 21 merges into A 09:30.

#![expect(clippy::unwrap_used, reason = "tests: a failed step aborts the test")]

mod common;

use std::collections::BTreeMap;

use cityloop_domain::calendar::WorkCalendar;
use cityloop_domain::case::{Action, Role, Source};
use cityloop_domain::rules::{AreaClass, ProcessLimits};
use cityloop_eval::*;
use common::*;

fn cases() -> Vec<(String, Vec<cityloop_domain::case::Event>, CaseMeta)> {
    let insp = |id| person(id, Role::Inspector);
    let acc = |id| person(id, Role::Acceptor);
    let sl = person(31, Role::ShiftLeader);
    let disp = |id| person(id, Role::Dispatcher);
    let leader = person(51, Role::Leader);
    let system = person(0, Role::System);
    let sz = handler(61, "SZ");
    let sz1 = handler(63, "SZ-1");
    let hw = handler(62, "HW");
    let meta = |g: &str| {
        let (cm, st) = if g == "G3" {
            ("CM2", "ST2")
        } else {
            ("CM1", "ST1")
        };
        CaseMeta {
            grid: g.into(),
            community: cm.into(),
            street: st.into(),
        }
    };
    let mut out = Vec::new();

    let mut a = Timeline::open("A", Source::Inspector, &insp(11), t(3, 3, 9, 0));
    a.act(&acc(21), Action::Accept, t(3, 3, 9, 10))
        .act(&sl, file("C0101", "井盖缺失"), t(3, 3, 9, 20))
        .act(&disp(41), dispatch("SZ"), t(3, 3, 9, 30))
        .act(&sz, feedback(), t(3, 3, 10, 30))
        .act(&insp(12), check_pass(), t(3, 3, 11, 0))
        .act(&sl, Action::Close, t(3, 3, 11, 20));
    out.push(("A".into(), a.events, meta("G1")));

    let mut b = Timeline::open("B", Source::Public, &system, t(3, 4, 9, 0));
    b.act(&insp(11), verify(true), t(3, 4, 10, 30))
        .act(&acc(21), Action::Accept, t(3, 4, 10, 40))
        .act(&sl, file("C0101", "井盖缺失"), t(3, 4, 11, 20))
        .act(&disp(42), dispatch("SZ"), t(3, 4, 11, 30))
        .act(&sz, feedback(), t(3, 4, 14, 30))
        .act(&insp(12), check_fail(), t(3, 4, 15, 0))
        .act(&sz, feedback(), t(3, 4, 16, 0))
        .act(&insp(12), check_pass(), t(3, 4, 16, 10))
        .act(&sl, Action::Close, t(3, 4, 17, 30));
    out.push(("B".into(), b.events, meta("G1")));

    let mut c = Timeline::open("C", Source::Inspector, &insp(12), t(3, 5, 9, 0));
    c.act(
        &acc(22),
        Action::Decline {
            reason: "不属于受理范围".into(),
        },
        t(3, 5, 9, 50),
    );
    out.push(("C".into(), c.events, meta("G2")));

    let mut d = Timeline::open("D", Source::Inspector, &insp(11), t(3, 6, 9, 0));
    d.act(&acc(21), Action::Accept, t(3, 6, 9, 5)).act(
        &sl,
        Action::Reject {
            reason: "不符合立案条件".into(),
        },
        t(3, 6, 9, 15),
    );
    out.push(("D".into(), d.events, meta("G2")));

    let mut e = Timeline::open("E", Source::Hotline, &acc(22), t(3, 7, 9, 0));
    e.act(&insp(12), verify(true), t(3, 7, 9, 30))
        .act(&acc(22), Action::Accept, t(3, 7, 9, 40))
        .act(&sl, file("E0102", "暴露垃圾"), t(3, 7, 9, 50))
        .act(&disp(41), dispatch("HW"), t(3, 7, 10, 0))
        .act(
            &hw,
            Action::RequestReturn {
                reason: "非本单位职责".into(),
            },
            t(3, 7, 10, 30),
        )
        .act(&sl, Action::ApproveReturn, t(3, 7, 10, 45))
        .act(&disp(41), dispatch("SZ"), t(3, 7, 11, 30))
        .act(
            &sz,
            Action::SubDispatch {
                sub_unit: "SZ-1".into(),
            },
            t(3, 7, 11, 40),
        )
        .act(
            &sz,
            Action::RequestExtension {
                minutes: 60,
                reason: "需协调".into(),
            },
            t(3, 7, 14, 0),
        )
        .act(
            &sl,
            Action::ApproveExtension { minutes: 60 },
            t(3, 7, 14, 10),
        )
        .act(
            &leader,
            Action::Supervise {
                due: t(3, 8, 12, 0),
                note: "尽快".into(),
            },
            t(3, 7, 15, 0),
        )
        .act(&sz1, feedback(), t(3, 10, 8, 20))
        .act(&insp(11), check_pass(), t(3, 10, 9, 0))
        .act(&sl, Action::Close, t(3, 10, 9, 30));
    out.push(("E".into(), e.events, meta("G3")));

    let mut f = Timeline::open("F", Source::Inspector, &insp(12), t(3, 10, 9, 0));
    f.act(&acc(21), Action::Accept, t(3, 10, 9, 10))
        .act(&sl, file("C0101", "井盖缺失"), t(3, 10, 9, 20))
        .act(&disp(42), dispatch("HW"), t(3, 10, 9, 25))
        .act(
            &hw,
            Action::RequestPark {
                reason: "需立项".into(),
            },
            t(3, 10, 10, 0),
        )
        .act(&sl, Action::ApprovePark, t(3, 10, 10, 25))
        .act(
            &leader,
            Action::Supervise {
                due: t(3, 12, 12, 0),
                note: "跟进".into(),
            },
            t(3, 11, 10, 0),
        )
        .act(&sl, Action::Unpark, t(3, 12, 8, 0));
    out.push(("F".into(), f.events, meta("G3")));

    let mut g = Timeline::open("G", Source::Video, &system, t(3, 11, 9, 0));
    g.act(&insp(11), verify(false), t(3, 11, 9, 40)).act(
        &acc(22),
        Action::Decline {
            reason: "误报".into(),
        },
        t(3, 11, 9, 50),
    );
    out.push(("G".into(), g.events, meta("G1")));

    let mut h = Timeline::open("H", Source::Inspector, &insp(11), t(3, 12, 9, 0));
    h.act(&acc(21), Action::Accept, t(3, 12, 9, 5))
        .act(&sl, file("C0101", "井盖缺失"), t(3, 12, 9, 10))
        .act(&disp(41), dispatch("SZ"), t(3, 12, 9, 15))
        .act(
            &sl,
            Action::Defer {
                reason: "待核".into(),
            },
            t(3, 12, 9, 30),
        )
        .act(
            &sl,
            Action::Void {
                reason: "重复立案".into(),
            },
            t(3, 12, 10, 0),
        );
    out.push(("H".into(), h.events, meta("G2")));

    let mut i = Timeline::open("I", Source::Inspector, &insp(12), t(2, 28, 17, 0));
    i.act(&acc(21), Action::Accept, t(2, 28, 17, 10))
        .act(&sl, file("C0101", "井盖缺失"), t(2, 28, 17, 20))
        .act(&disp(41), dispatch("HW"), t(2, 28, 17, 30))
        .act(&hw, feedback(), t(3, 3, 9, 0))
        .act(&insp(12), check_pass(), t(3, 3, 9, 30))
        .act(&sl, Action::Close, t(3, 3, 10, 0));
    out.push(("I".into(), i.events, meta("G1")));

    let mut j = Timeline::open("J", Source::Inspector, &insp(11), t(3, 31, 17, 0));
    j.act(&acc(22), Action::Accept, t(3, 31, 17, 20))
        .act(&sl, file("C0101", "井盖缺失"), t(3, 31, 17, 50))
        .act(&disp(42), dispatch("SZ"), t(4, 1, 8, 10));
    out.push(("J".into(), j.events, meta("G2")));

    let mut k = Timeline::open("K", Source::Public, &system, t(3, 13, 9, 0));
    k.act(&insp(12), verify(true), t(3, 13, 9, 20)).act(
        &acc(21),
        Action::Merge {
            into_case: "A".into(),
        },
        t(3, 13, 9, 30),
    );
    out.push(("K".into(), k.events, meta("G3")));
    out
}

struct World {
    facts: Vec<(CaseFacts, CaseMeta)>,
    scheme: ValidScheme,
    inputs: EvalInputs,
}

fn world() -> World {
    let calendar = WorkCalendar::builtin().unwrap();
    let rules = rule_sets();
    let process = ProcessLimits::default();
    let ctx = FactContext::new(&calendar, &rules, &process);
    let facts = cases()
        .into_iter()
        .map(|(_, events, meta)| (case_facts(&events, &ctx), meta))
        .collect();
    let scheme =
        EvaluationScheme::from_toml_with_overlay(DEFAULT_SCHEME_TOML, EXAMPLE_CITY_OVERLAY_TOML)
            .unwrap()
            .validated()
            .unwrap();
    let area = |kind, id: &str| ObjectRef::new(kind, id);
    let info = |class, grids| AreaInfo { class, grids };
    let inputs = EvalInputs {
        // Inspector 11: 1 problem in his grids was found by others, out of 10 filed there.
        missed_reports: BTreeMap::from([(11, Figure::rate(1, 10, vec!["X1".into()], vec![]))]),
        // G3 and ST2 are deliberately missing: G3 defaults to one class-1 grid, ST2 gets no band.
        areas: BTreeMap::from([
            (area(ObjectKind::Grid, "G1"), info(AreaClass::First, 1)),
            (area(ObjectKind::Grid, "G2"), info(AreaClass::Second, 1)),
            (
                area(ObjectKind::Community, "CM1"),
                info(AreaClass::First, 2),
            ),
            (
                area(ObjectKind::Community, "CM2"),
                info(AreaClass::Second, 1),
            ),
            (area(ObjectKind::Street, "ST1"), info(AreaClass::First, 3)),
        ]),
        roster: vec![],
        // 回访: of SZ's reporters who answered, 1 of 2 was satisfied (not weighted by the scheme).
        satisfaction: BTreeMap::from([(
            area(ObjectKind::Department, "SZ"),
            Figure::rate(1, 2, vec![], vec![]),
        )]),
    };
    World {
        facts,
        scheme,
        inputs,
    }
}

fn evaluate_month(w: &World, month: u32) -> Evaluation {
    let from = t(month, 1, 0, 0);
    let to = if month == 3 {
        t(4, 1, 0, 0)
    } else {
        t(3, 1, 0, 0)
    };
    evaluate_facts(
        &w.scheme,
        w.facts.iter().map(|(f, m)| (f, Some(m))),
        from,
        to,
        &w.inputs,
    )
}

/// (figure id, numerator, denominator, cases in the numerator, cases in the denominator); the
/// value is checked too: the count, or numerator/denominator (None when 0).
type Row<'a> = (&'a str, u64, u64, &'a [&'a str], &'a [&'a str]);

fn check(
    ev: &Evaluation,
    kind: ObjectKind,
    id: &str,
    rows: &[Row],
    composite: Option<f64>,
    grade: Option<&str>,
    rank: Option<u32>,
) {
    let object = ObjectRef::new(kind, id);
    let Some(o) = ev.get(&object) else {
        panic!("{object} not evaluated");
    };
    let mut ids: Vec<&str> = o.figures.keys().map(String::as_str).collect();
    let mut want: Vec<&str> = rows.iter().map(|r| r.0).collect();
    ids.sort_unstable();
    want.sort_unstable();
    assert_eq!(ids, want, "{object}: figure set");
    for &(fid, num, den, cn, cd) in rows {
        let f = &o.figures[fid];
        assert_eq!((f.numerator, f.denominator), (num, den), "{object} {fid}");
        assert_eq!(f.cases_num, cn, "{object} {fid} numerator cases");
        assert_eq!(f.cases_den, cd, "{object} {fid} denominator cases");
        let is_count = figures(kind.scheme_kind())
            .iter()
            .any(|d| d.id == fid && matches!(d.formula, Formula::Count(_)));
        let value = if is_count {
            Some(num as f64)
        } else {
            (den > 0).then(|| num as f64 / den as f64)
        };
        assert_eq!(f.value, value, "{object} {fid} value");
    }
    assert_eq!(o.composite, composite, "{object} composite {:#?}", o.scores);
    assert_eq!(o.grade.as_deref(), grade, "{object} grade");
    assert_eq!(o.rank, rank, "{object} rank");
}

#[test]
fn facts_of_the_tricky_cases() {
    let w = world();
    let by_id = |id: &str| &w.facts.iter().find(|(f, _)| f.case_id == id).unwrap().0;
    for (f, _) in &w.facts {
        assert!(f.problems.is_empty(), "{}: {:?}", f.case_id, f.problems);
        assert!(!f.provisional, "{}", f.case_id);
    }
    // B: disposal due 11:30 + 2 working hours = 15:30; the accepted feedback came at 16:00.
    let b = &by_id("B").assignments[0];
    assert_eq!(b.due, Some(t(3, 4, 15, 30)));
    assert_eq!(b.feedback_at, Some(t(3, 4, 16, 0)));
    assert_eq!(b.reworks, vec![t(3, 4, 15, 0)]);
    let acc = b.accountable().unwrap();
    assert_eq!(
        (acc.at, acc.handled, acc.on_time, acc.closed, acc.reworked),
        (t(3, 4, 15, 30), true, false, true, true)
    );
    // E: returned by HW, then SZ with a 60-minute extension over the weekend.
    let e = by_id("E");
    assert_eq!(e.assignments.len(), 2);
    assert_eq!(e.assignments[0].returned_at, Some(t(3, 7, 10, 45)));
    assert_eq!(e.assignments[0].accountable(), None);
    assert_eq!(e.assignments[1].due, Some(t(3, 10, 8, 30)));
    assert_eq!(e.assignments[1].sub_unit.as_deref(), Some("SZ-1"));
    assert_eq!(e.assignments[1].dispatch.entered_at, t(3, 7, 10, 45));
    assert_eq!(e.assignments[1].dispatch.on_time, Some(false));
    // F: parked with 60 working minutes left, unparked Wed 08:00, due 09:00.
    let f = by_id("F");
    assert_eq!(f.assignments[0].due, Some(t(3, 12, 9, 0)));
    assert_eq!(
        f.parked,
        vec![ParkPeriod {
            from: t(3, 10, 10, 25),
            to: Some(t(3, 12, 8, 0))
        }]
    );
    assert!(f.filing.as_ref().unwrap().parked);
    // H: filed then voided; J: filed exactly at its due instant.
    assert_eq!(
        by_id("H").filing.as_ref().unwrap().voided_at,
        Some(t(3, 12, 10, 0))
    );
    let j = &by_id("J").filing.as_ref().unwrap().step;
    assert_eq!((j.due, j.on_time), (Some(t(3, 31, 17, 50)), Some(true)));
    // K: a merged report is decided invalid; C: declined.
    assert_eq!(by_id("K").report.unwrap().outcome, ReportOutcome::Merged);
    assert_eq!(by_id("C").report.unwrap().outcome, ReportOutcome::Declined);
    // I: disposal due crosses the weekend: Fri 17:30 + 2 h = Mon 09:30.
    assert_eq!(by_id("I").assignments[0].due, Some(t(3, 3, 9, 30)));
}

#[test]
fn every_indicator_of_march_by_hand() {
    use ObjectKind as K;
    let w = world();
    let ev = evaluate_month(&w, 3);
    let none: &[&str] = &[];

    // 监督员 11: reports A D H J; decided A D H J, valid A H J → 3/4; verifications B ✗ G ✓ → 1/2;
    // checks E ✓ → 1/1; 漏报率 1/10 (input).
    // 综合 = 75×0.4 + (1−0.1)×100×0.2 + 50×0.2 + 100×0.2 = 30 + 18 + 10 + 20 = 78 → B.
    check(
        &ev,
        K::Inspector,
        "11",
        &[
            ("reports", 4, 0, &["A", "D", "H", "J"], none),
            ("decided_reports", 4, 0, &["A", "D", "H", "J"], none),
            ("valid_reports", 3, 0, &["A", "H", "J"], none),
            (
                "effective_report_rate",
                3,
                4,
                &["A", "H", "J"],
                &["A", "D", "H", "J"],
            ),
            ("on_time_verify_rate", 1, 2, &["G"], &["B", "G"]),
            ("on_time_check_rate", 1, 1, &["E"], &["E"]),
            ("missed_report_rate", 1, 10, &["X1"], none),
        ],
        Some(78.0),
        Some("B"),
        Some(1),
    );
    // 监督员 12: reports C F (I was in February); valid F → 1/2; verifications E K ✓ → 2/2; checks
    // A, B twice, I → 4/4; no 漏报 input, so its 20 % drops out:
    // 综合 = (50×0.4 + 100×0.2 + 100×0.2) / 0.8 = 75 → B.
    check(
        &ev,
        K::Inspector,
        "12",
        &[
            ("reports", 2, 0, &["C", "F"], none),
            ("decided_reports", 2, 0, &["C", "F"], none),
            ("valid_reports", 1, 0, &["F"], none),
            ("effective_report_rate", 1, 2, &["F"], &["C", "F"]),
            ("on_time_verify_rate", 2, 2, &["E", "K"], &["E", "K"]),
            (
                "on_time_check_rate",
                4,
                4,
                &["A", "B", "B", "I"],
                &["A", "B", "B", "I"],
            ),
        ],
        Some(75.0),
        Some("B"),
        Some(2),
    );

    // 受理员 21: A B D F H all on time (K was merged, not accepted) → 5/5; 受理数 5 → band 0.
    // 综合 = 0×0.25 + 100×0.75 = 75 → B.
    check(
        &ev,
        K::Acceptor,
        "21",
        &[
            ("accepted", 5, 0, &["A", "B", "D", "F", "H"], none),
            (
                "on_time_accept_rate",
                5,
                5,
                &["A", "B", "D", "F", "H"],
                &["A", "B", "D", "F", "H"],
            ),
        ],
        Some(75.0),
        Some("B"),
        Some(1),
    );
    // 受理员 22: C ✗, E ✓, G ✓, J ✓ → 3/4. 综合 = 0 + 75×0.75 = 56.25 → D.
    check(
        &ev,
        K::Acceptor,
        "22",
        &[
            ("accepted", 4, 0, &["C", "E", "G", "J"], none),
            (
                "on_time_accept_rate",
                3,
                4,
                &["E", "G", "J"],
                &["C", "E", "G", "J"],
            ),
        ],
        Some(56.25),
        Some("D"),
        Some(2),
    );

    // 值班长 31: filings A ✓ B ✗ E ✓ F ✓ H ✓ J ✓ → on time 5/6; H voided → accurate 5/6; closings
    // A ✓ B ✗ E ✓ I ✓ (same-case order) → 3/4.
    // 综合 = 83.333…×0.25 + 83.333…×0.40 + 75×0.35 = 80.416667 → B.
    check(
        &ev,
        K::ShiftLeader,
        "31",
        &[
            ("filings", 6, 0, &["A", "B", "E", "F", "H", "J"], none),
            (
                "on_time_filing_rate",
                5,
                6,
                &["A", "E", "F", "H", "J"],
                &["A", "B", "E", "F", "H", "J"],
            ),
            (
                "accurate_filing_rate",
                5,
                6,
                &["A", "B", "E", "F", "J"],
                &["A", "B", "E", "F", "H", "J"],
            ),
            ("closings", 4, 0, &["A", "B", "E", "I"], none),
            (
                "on_time_closing_rate",
                3,
                4,
                &["A", "E", "I"],
                &["A", "B", "E", "I"],
            ),
        ],
        Some(80.416667),
        Some("B"),
        Some(1),
    );

    // 派遣员 41: A ✓, E→HW ✓ (returned: inaccurate), E→SZ ✗, H ✓ → on time 3/4, accurate 3/4.
    // 综合 = 0×0.2 + 75×0.4 + 75×0.4 = 60 → C.
    check(
        &ev,
        K::Dispatcher,
        "41",
        &[
            ("dispatches", 4, 0, &["A", "E", "E", "H"], none),
            (
                "on_time_dispatch_rate",
                3,
                4,
                &["A", "E", "H"],
                &["A", "E", "E", "H"],
            ),
            (
                "accurate_dispatch_rate",
                3,
                4,
                &["A", "E", "H"],
                &["A", "E", "E", "H"],
            ),
        ],
        Some(60.0),
        Some("C"),
        Some(2),
    );
    // 派遣员 42: B ✓, F ✓ (J's dispatch is in April). 综合 = 0 + 40 + 40 = 80 → B, ranked first.
    check(
        &ev,
        K::Dispatcher,
        "42",
        &[
            ("dispatches", 2, 0, &["B", "F"], none),
            ("on_time_dispatch_rate", 2, 2, &["B", "F"], &["B", "F"]),
            ("accurate_dispatch_rate", 2, 2, &["B", "F"], &["B", "F"]),
        ],
        Some(80.0),
        Some("B"),
        Some(1),
    );

    // 部门 SZ: 立案数 A B E H (J in April); 应处置 A (3/3 feedback), B (3/4 deadline), E (3/10
    // feedback); H voided. Handled 3, on time A E, late B, closed 3, rework B; extension E,
    // supervision E.
    // 综合 = band(4)=100×0.1 + 100×0.3 + 66.667×0.3 + (1−1/3)×100×0.3 = 10+30+20+20 = 80 → B.
    let due = &["A", "B", "E"][..];
    check(
        &ev,
        K::Department,
        "SZ",
        &[
            ("filed", 4, 0, &["A", "B", "E", "H"], none),
            ("due", 3, 0, due, none),
            ("handled", 3, 0, due, none),
            ("disposal_rate", 3, 3, due, due),
            ("on_time_disposal_rate", 2, 3, &["A", "E"], due),
            ("closing_rate", 3, 3, due, due),
            ("rework_rate", 1, 3, &["B"], due),
            ("overdue_disposals", 1, 0, &["B"], none),
            ("extensions", 1, 0, &["E"], none),
            ("returns", 0, 0, none, none),
            ("supervisions", 1, 0, &["E"], none),
            ("satisfaction_rate", 1, 2, none, none),
        ],
        Some(80.0),
        Some("B"),
        Some(1),
    );
    // 部门 HW: 立案数 F (E was returned, I in February); 应处置 I (3/3 feedback ✓), F (deadline 3/12,
    // unhandled); 回退 E; 督办 F (while parked).
    // 综合 = 100×0.1 + 50×0.3 + 50×0.3 + 100×0.3 = 70 → C.
    check(
        &ev,
        K::Department,
        "HW",
        &[
            ("filed", 1, 0, &["F"], none),
            ("due", 2, 0, &["F", "I"], none),
            ("handled", 1, 0, &["I"], none),
            ("disposal_rate", 1, 2, &["I"], &["F", "I"]),
            ("on_time_disposal_rate", 1, 2, &["I"], &["F", "I"]),
            ("closing_rate", 1, 2, &["I"], &["F", "I"]),
            ("rework_rate", 0, 2, none, &["F", "I"]),
            ("overdue_disposals", 0, 0, none, none),
            ("extensions", 0, 0, none, none),
            ("returns", 1, 0, &["E"], none),
            ("supervisions", 1, 0, &["F"], none),
        ],
        Some(70.0),
        Some("C"),
        Some(2),
    );
    // Sub-unit SZ-1 carries E only: everything on time. 综合 = 10 + 30 + 30 + 30 = 100 → A.
    check(
        &ev,
        K::SubUnit,
        "SZ-1",
        &[
            ("filed", 1, 0, &["E"], none),
            ("due", 1, 0, &["E"], none),
            ("handled", 1, 0, &["E"], none),
            ("disposal_rate", 1, 1, &["E"], &["E"]),
            ("on_time_disposal_rate", 1, 1, &["E"], &["E"]),
            ("closing_rate", 1, 1, &["E"], &["E"]),
            ("rework_rate", 0, 1, none, &["E"]),
            ("overdue_disposals", 0, 0, none, none),
            ("extensions", 1, 0, &["E"], none),
            ("returns", 0, 0, none, none),
            ("supervisions", 1, 0, &["E"], none),
        ],
        Some(100.0),
        Some("A"),
        Some(1),
    );

    // Areas. Region weights (example overlay): 监督举报率 0.1 (lower is better), 立案数 band 0.2,
    // 结案率 0.3, 按期结案率 0.4.
    // G1 (class 1, 1 grid): filed A B; public verified B; due A B I, closed all, on time A I.
    // 综合 = (1−½)×100×0.1 + 90×0.2 + 100×0.3 + 66.667×0.4 = 5+18+30+26.666667 = 79.666667 → B.
    let g1_due = &["A", "B", "I"][..];
    check(
        &ev,
        K::Grid,
        "G1",
        &[
            ("filed", 2, 0, &["A", "B"], none),
            ("parked", 0, 0, none, none),
            ("public_verified", 1, 0, &["B"], none),
            ("public_report_rate", 1, 2, &["B"], &["A", "B"]),
            ("due", 3, 0, g1_due, none),
            ("closed", 3, 0, g1_due, none),
            ("closing_rate", 3, 3, g1_due, g1_due),
            ("on_time_closing_rate", 2, 3, &["A", "I"], g1_due),
        ],
        Some(79.666667),
        Some("B"),
        Some(2),
    );
    // G2 (class 2, 1 grid): filed H J, nothing due in March (H voided, J's disposal in April), so
    // both closing rates are undefined and drop out: (100×0.1 + 90×0.2) / 0.3 = 93.333333 → A.
    check(
        &ev,
        K::Grid,
        "G2",
        &[
            ("filed", 2, 0, &["H", "J"], none),
            ("parked", 0, 0, none, none),
            ("public_verified", 0, 0, none, none),
            ("public_report_rate", 0, 2, none, &["H", "J"]),
            ("due", 0, 0, none, none),
            ("closed", 0, 0, none, none),
            ("closing_rate", 0, 0, none, none),
            ("on_time_closing_rate", 0, 0, none, none),
        ],
        Some(93.333333),
        Some("A"),
        Some(1),
    );
    // G3 (no area info → one class-1 grid): filed E (F parked); public verified E (hotline), K;
    // 监督举报率 2/1 → score clamps to 0; due E F, closed E on time.
    // 综合 = 0 + 90×0.2 + 50×0.3 + 50×0.4 = 53 → D.
    check(
        &ev,
        K::Grid,
        "G3",
        &[
            ("filed", 1, 0, &["E"], none),
            ("parked", 1, 0, &["F"], none),
            ("public_verified", 2, 0, &["E", "K"], none),
            ("public_report_rate", 2, 1, &["E", "K"], &["E"]),
            ("due", 2, 0, &["E", "F"], none),
            ("closed", 1, 0, &["E"], none),
            ("closing_rate", 1, 2, &["E"], &["E", "F"]),
            ("on_time_closing_rate", 1, 2, &["E"], &["E", "F"]),
        ],
        Some(53.0),
        Some("D"),
        Some(3),
    );
    assert_eq!(
        ev.get(&ObjectRef::new(K::Grid, "G3")).unwrap().notes,
        ["no area info: taken as one class-1 grid"]
    );
    // CM1 = G1 + G2 (class 1, 2 grids → 4/2 = 2 per grid → 90).
    // 综合 = (1−¼)×100×0.1 + 90×0.2 + 100×0.3 + 66.667×0.4 = 7.5+18+30+26.666667 = 82.166667 → B.
    let cm1_filed = &["A", "B", "H", "J"][..];
    let cm1_rows: Vec<Row> = vec![
        ("filed", 4, 0, cm1_filed, none),
        ("parked", 0, 0, none, none),
        ("public_verified", 1, 0, &["B"], none),
        ("public_report_rate", 1, 4, &["B"], cm1_filed),
        ("due", 3, 0, g1_due, none),
        ("closed", 3, 0, g1_due, none),
        ("closing_rate", 3, 3, g1_due, g1_due),
        ("on_time_closing_rate", 2, 3, &["A", "I"], g1_due),
    ];
    check(
        &ev,
        K::Community,
        "CM1",
        &cm1_rows,
        Some(82.166667),
        Some("B"),
        Some(1),
    );
    // ST1 has the same cases; class 1 with 3 grids → 4/3 = 1.33 per grid → band 1–2 → 90.
    check(
        &ev,
        K::Street,
        "ST1",
        &cm1_rows,
        Some(82.166667),
        Some("B"),
        Some(1),
    );
    let st1 = ev.get(&ObjectRef::new(K::Street, "ST1")).unwrap();
    let band = st1
        .scores
        .iter()
        .find(|s| s.key == "filed_count_band")
        .unwrap();
    assert_eq!((band.input, band.score), (Some(4.0 / 3.0), Some(90.0)));
    // CM2 = G3 (class 2, 1 grid → 1 → 90): 综合 = 0 + 18 + 15 + 20 = 53 → D.
    let g3_rows: Vec<Row> = vec![
        ("filed", 1, 0, &["E"], none),
        ("parked", 1, 0, &["F"], none),
        ("public_verified", 2, 0, &["E", "K"], none),
        ("public_report_rate", 2, 1, &["E", "K"], &["E"]),
        ("due", 2, 0, &["E", "F"], none),
        ("closed", 1, 0, &["E"], none),
        ("closing_rate", 1, 2, &["E"], &["E", "F"]),
        ("on_time_closing_rate", 1, 2, &["E"], &["E", "F"]),
    ];
    check(
        &ev,
        K::Community,
        "CM2",
        &g3_rows,
        Some(53.0),
        Some("D"),
        Some(2),
    );
    // ST2 has no area info: the band is not scored and its 20 % drops out:
    // (0 + 15 + 20) / 0.8 = 43.75 → D.
    check(
        &ev,
        K::Street,
        "ST2",
        &g3_rows,
        Some(43.75),
        Some("D"),
        Some(2),
    );

    // Nobody else was evaluated.
    assert_eq!(ev.objects.len(), 2 + 2 + 1 + 2 + 2 + 1 + 3 + 2 + 2);
}

#[test]
fn trend_against_february() {
    let w = world();
    let feb = evaluate_month(&w, 2);
    // February has case I's first steps only. Inspector 12: 1/1 valid, nothing else defined →
    // 100. Inspector 11 has only the 漏报 input (0.1 → 90).
    let i12 = feb
        .get(&ObjectRef::new(ObjectKind::Inspector, "12"))
        .unwrap();
    assert_eq!((i12.composite, i12.rank), (Some(100.0), Some(1)));
    let i11 = feb
        .get(&ObjectRef::new(ObjectKind::Inspector, "11"))
        .unwrap();
    assert_eq!((i11.composite, i11.rank), (Some(90.0), Some(2)));
    let mut mar = evaluate_month(&w, 3);
    attach_trend(&mut mar, &feb);
    let trend = |kind, id: &str| {
        mar.get(&ObjectRef::new(kind, id))
            .unwrap()
            .trend
            .clone()
            .unwrap()
    };
    let t12 = trend(ObjectKind::Inspector, "12");
    assert_eq!((t12.score_delta, t12.rank_delta), (Some(-25.0), Some(-1)));
    let t11 = trend(ObjectKind::Inspector, "11");
    assert_eq!((t11.score_delta, t11.rank_delta), (Some(-12.0), Some(1)));
    // Shift leader 31 in February: filing I on time and accurate, no closings → 100.
    let t31 = trend(ObjectKind::ShiftLeader, "31");
    assert_eq!(t31.previous_composite, Some(100.0));
    assert_eq!(t31.score_delta, Some(-19.583333));
    // SZ did nothing in February.
    assert!(
        mar.get(&ObjectRef::new(ObjectKind::Department, "SZ"))
            .unwrap()
            .trend
            .is_none()
    );
}

#[test]
fn rollups_of_the_fixture_give_the_same_month() {
    let w = world();
    let rows = day_rollups(w.facts.iter().map(|(f, m)| (f, Some(m))));
    let map: BTreeMap<RollupKey, Counters> =
        rows.into_iter().map(|r| (r.key, r.counters)).collect();
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(2025, m, d).unwrap();
    let from_rollups = evaluate(
        &w.scheme,
        &sum_rollups(&map, day(3, 1), day(4, 1)),
        &w.inputs,
    );
    let mut direct = evaluate_month(&w, 3);
    for o in &mut direct.objects {
        for f in o.figures.values_mut() {
            if o.object.kind != ObjectKind::Inspector || f.denominator != 10 {
                f.cases_num.clear();
                f.cases_den.clear();
            }
        }
    }
    assert_eq!(from_rollups, direct);
    // Days are China days: 00:30 on 1 April in China is still 31 March in UTC.
    assert_eq!(t(4, 1, 0, 30).date_naive(), day(3, 31));
    assert_eq!(day_of(t(4, 1, 0, 30)), day(4, 1));
    assert_eq!(day_start(day(4, 1)), t(4, 1, 0, 0));
}
