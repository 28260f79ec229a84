//! Stories of the closed loop: cases and their events, serial numbers, queues and search, timers,
//! links, intake idempotency, evidence and notifications.

use chrono::{DateTime, Duration, Utc};
use cityloop_domain::case::{self as machine, Action, Actor, Case, Event, NewCase, Role, Source};
use cityloop_store::*;
use serde_json::json;

use super::t0;

mod evaluation;
mod public;
pub use evaluation::*;
pub use public::*;

/// Someone holding every case role except handler, so that one actor can drive any step.
fn staff(user_id: i64) -> Actor {
    Actor {
        user_id,
        roles: vec![
            Role::Inspector,
            Role::Acceptor,
            Role::ShiftLeader,
            Role::Dispatcher,
            Role::Leader,
            Role::System,
        ],
        department: None,
    }
}

fn handler(user_id: i64, department: &str) -> Actor {
    Actor {
        user_id,
        roles: vec![Role::Handler],
        department: Some(department.into()),
    }
}

/// An intake located in a grid; the area codes are the grid code's prefixes.
fn located(grid: &str, lon: f64, lat: f64) -> CaseIntake {
    CaseIntake {
        lon,
        lat,
        grid_code: Some(grid.into()),
        community_code: Some(grid[..12].into()),
        street_code: Some(grid[..9].into()),
        district_code: Some(grid[..6].into()),
        ..Default::default()
    }
}

fn clock(due: Option<DateTime<Utc>>, urgency: &str) -> CaseClock {
    CaseClock {
        due_at: due,
        warn_at: due.map(|d| d - Duration::minutes(30)),
        urgency: urgency.into(),
        next_timer_at: due.map(|d| d - Duration::minutes(30)),
        disposal_overdue: false,
    }
}

fn file() -> Action {
    Action::File {
        class: "E0202".into(),
        condition: "路灯不亮".into(),
        rule_set_id: 1,
    }
}

fn dispatch(department: &str, assisting: &[&str]) -> Action {
    Action::Dispatch {
        department: department.into(),
        assisting: assisting.iter().map(|a| (*a).to_owned()).collect(),
    }
}

/// A case driven through the state machine in memory, one minute per action.
struct Flow {
    case: Case,
    events: Vec<Event>,
    intake: CaseIntake,
    clock: CaseClock,
    now: DateTime<Utc>,
}

impl Flow {
    fn open(id: &str, source: Source, description: &str, by: i64, at: DateTime<Utc>) -> Flow {
        let t = machine::open(
            NewCase {
                id: id.into(),
                source,
                description: description.into(),
            },
            &staff(by),
            at,
        )
        .unwrap();
        Flow {
            case: t.case,
            events: vec![t.event],
            intake: CaseIntake::default(),
            clock: clock(None, "none"),
            now: at,
        }
    }

    fn with(mut self, intake: CaseIntake, clock: CaseClock) -> Flow {
        self.intake = intake;
        self.clock = clock;
        self
    }

    fn record(&self) -> CaseRecord {
        CaseRecord {
            case: self.case.clone(),
            intake: self.intake.clone(),
            clock: self.clock.clone(),
        }
    }

    fn new_case(&self) -> CaseNew {
        CaseNew {
            record: self.record(),
            event: self.events[0].clone(),
        }
    }

    /// Performs the action in memory and returns the change to store.
    fn next(&mut self, actor: &Actor, action: Action) -> CaseChange {
        self.now += Duration::minutes(1);
        let expected_version = i64::try_from(self.case.version).unwrap();
        let t = machine::apply(&self.case, actor, action, self.now).unwrap();
        self.case = t.case.clone();
        self.events.push(t.event.clone());
        CaseChange {
            case: t.case,
            clock: self.clock.clone(),
            event: t.event,
            expected_version,
        }
    }

    /// Performs the action and stores it.
    async fn act(&mut self, tx: &mut dyn Tx, actor: &Actor, action: Action) {
        let change = self.next(actor, action);
        tx.apply_case_change(&change).await.unwrap();
    }
}

fn case_id(n: u32) -> String {
    format!("20260302-330188-{n:04}")
}

pub async fn cases_round_trip(store: &dyn Store) {
    let full = Flow::open(
        &case_id(1),
        Source::Hotline,
        "井盖缺失，存在安全隐患",
        11,
        t0(),
    )
    .with(
        CaseIntake {
            reported_class: Some("E0101".into()),
            address: Some("江滨路12号".into()),
            component_id: Some("330188001001C0001".into()),
            contact_name: Some("张三".into()),
            contact_phone: Some("13800000000".into()),
            external_ref: Some("12345-2026-0001".into()),
            device_id: Some("CAM-7".into()),
            confidence: Some(0.87),
            ..located("330188001001001", 120.123_456_789, 30.987_654_321)
        },
        clock(Some(t0() + Duration::hours(2)), "normal"),
    );
    let bare = Flow::open(&case_id(2), Source::Inspector, "Street light out", 12, t0());
    let mut tx = store.write().await.unwrap();
    tx.insert_cases(&[full.new_case(), bare.new_case()])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_case(&case_id(1)).await.unwrap(), Some(full.record()));
    assert_eq!(tx.get_case(&case_id(2)).await.unwrap(), Some(bare.record()));
    assert_eq!(tx.get_case("nope").await.unwrap(), None);
    let both = tx
        .get_cases(&[case_id(2), "nope".into(), case_id(1)])
        .await
        .unwrap();
    assert_eq!(both, [full.record(), bare.record()]);
    assert_eq!(tx.case_events(&case_id(1)).await.unwrap(), full.events);
    drop(tx);

    let mut tx = store.write().await.unwrap();
    assert_eq!(
        tx.get_case_for_update(&case_id(1)).await.unwrap(),
        Some(full.record())
    );
    let dup = tx.insert_cases(&[full.new_case()]).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    drop(tx);

    // An event that is not the case's own first event would break "state = replay(events)".
    let mut tx = store.write().await.unwrap();
    let mut wrong = Flow::open(&case_id(3), Source::Inspector, "x", 12, t0()).new_case();
    wrong.event.case_id = case_id(4);
    assert!(matches!(
        tx.insert_cases(&[wrong]).await,
        Err(StoreError::Other(_))
    ));
    drop(tx);

    // More rows than one multi-row statement holds.
    let many: Vec<CaseNew> = (100..1_100)
        .map(|n| {
            Flow::open(
                &case_id(n),
                Source::Public,
                &format!("第{n}号"),
                13,
                t0() + Duration::seconds(i64::from(n)),
            )
            .with(located("330188001001001", 120.0, 30.0), clock(None, "none"))
            .new_case()
        })
        .collect();
    let mut tx = store.write().await.unwrap();
    tx.insert_cases(&many).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let all = CaseQuery {
        limit: 10_000,
        ..Default::default()
    };
    assert_eq!(tx.count_cases(&all).await.unwrap(), 1_002);
    let last = tx.get_case(&case_id(1_099)).await.unwrap().unwrap();
    assert_eq!(last, many[999].record);
    assert_eq!(tx.case_events(&case_id(1_099)).await.unwrap().len(), 1);
}

pub async fn case_serials_come_in_blocks(store: &dyn Store) {
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        tx.reserve_case_serials("20260302", "330188", 3)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        tx.reserve_case_serials("20260302", "330188", 3)
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        tx.reserve_case_serials("20260302", "330199", 1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        tx.reserve_case_serials("20260303", "330188", 2)
            .await
            .unwrap(),
        1
    );
    assert!(
        tx.reserve_case_serials("20260302", "330188", 0)
            .await
            .is_err()
    );
    tx.commit().await.unwrap();

    // A rolled-back reservation is given out again: nothing was stored under those numbers.
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        tx.reserve_case_serials("20260302", "330188", 5)
            .await
            .unwrap(),
        7
    );
    drop(tx);
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        tx.reserve_case_serials("20260302", "330188", 1)
            .await
            .unwrap(),
        7
    );
    tx.commit().await.unwrap();
}

pub async fn case_changes_are_versioned(store: &dyn Store) {
    let mut flow = Flow::open(&case_id(1), Source::Hotline, "井盖缺失", 11, t0()).with(
        located("330188001001001", 120.1, 30.1),
        clock(Some(t0() + Duration::hours(1)), "normal"),
    );
    let mut tx = store.write().await.unwrap();
    tx.insert_cases(&[flow.new_case()]).await.unwrap();
    let verify = Action::Verify {
        confirmed: true,
        note: "属实".into(),
    };
    for action in [verify, Action::Accept, file(), dispatch("SZ", &["WATER"])] {
        flow.act(tx.as_mut(), &staff(3), action).await;
    }
    tx.commit().await.unwrap();
    let at_dispatch = flow.case.clone();

    let mut tx = store.read().await.unwrap();
    let stored = tx.get_case(&case_id(1)).await.unwrap().unwrap();
    assert_eq!(stored, flow.record());
    assert_eq!(stored.case.version, 5);
    let events = tx.case_events(&case_id(1)).await.unwrap();
    assert_eq!(events, flow.events);
    assert_eq!(machine::replay(&events).unwrap(), stored.case);
    drop(tx);

    // A writer that read version 5 loses to one that stored version 6 meanwhile.
    let mut stale = Flow {
        case: at_dispatch.clone(),
        events: Vec::new(),
        intake: flow.intake.clone(),
        clock: flow.clock.clone(),
        now: flow.now,
    };
    let mut tx = store.write().await.unwrap();
    flow.act(
        tx.as_mut(),
        &handler(21, "SZ"),
        Action::RequestExtension {
            minutes: 120,
            reason: "材料未到".into(),
        },
    )
    .await;
    tx.commit().await.unwrap();
    let late = stale.next(
        &staff(5),
        Action::Remind {
            note: "请尽快".into(),
        },
    );
    let mut tx = store.write().await.unwrap();
    assert!(matches!(
        tx.apply_case_change(&late).await,
        Err(StoreError::VersionConflict)
    ));
    // The new state must be exactly one version ahead of the one it replaces.
    let mut skipping = late.clone();
    skipping.expected_version = 3;
    assert!(matches!(
        tx.apply_case_change(&skipping).await,
        Err(StoreError::Other(_))
    ));
    drop(tx);

    // Clock updates carry no event and lose to a newer state as well.
    let mut tx = store.write().await.unwrap();
    let overdue = CaseClock {
        urgency: "overdue".into(),
        disposal_overdue: true,
        ..clock(Some(t0() + Duration::hours(1)), "overdue")
    };
    assert!(!tx.set_case_clock(&case_id(1), 5, &overdue).await.unwrap());
    assert!(tx.set_case_clock(&case_id(1), 6, &overdue).await.unwrap());
    assert!(!tx.set_case_clock("nope", 1, &overdue).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let stored = tx.get_case(&case_id(1)).await.unwrap().unwrap();
    assert_eq!(stored.clock, overdue);
    assert_eq!(stored.case, flow.case);
    assert_eq!(tx.case_events(&case_id(1)).await.unwrap().len(), 6);
    drop(tx);

    // Two writers race on version 6: exactly one stores version 7.
    let attempt = |note: &'static str| {
        let mut copy = Flow {
            case: flow.case.clone(),
            events: Vec::new(),
            intake: flow.intake.clone(),
            clock: flow.clock.clone(),
            now: flow.now,
        };
        let change = copy.next(&staff(5), Action::Remind { note: note.into() });
        async move {
            let mut tx = store.write().await.unwrap();
            match tx.apply_case_change(&change).await {
                Ok(()) => tx.commit().await.map(|_| true),
                Err(StoreError::VersionConflict) => Ok(false),
                Err(e) => Err(e),
            }
        }
    };
    let (a, b) = tokio::join!(attempt("A"), attempt("B"));
    let wins = [a.unwrap(), b.unwrap()];
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    let mut tx = store.read().await.unwrap();
    let events = tx.case_events(&case_id(1)).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.version).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7]
    );
    assert_eq!(
        machine::replay(&events).unwrap(),
        tx.get_case(&case_id(1)).await.unwrap().unwrap().case
    );
}

pub async fn case_events_page_in_order(store: &dyn Store) {
    // Two cases acting at the same instants, so that a page boundary falls between events with
    // equal `at` and the keyset needs all of (at, case_id, version).
    let mut a = Flow::open(&case_id(1), Source::Inspector, "a", 11, t0());
    let mut b = Flow::open(&case_id(2), Source::Inspector, "b", 11, t0());
    let mut tx = store.write().await.unwrap();
    tx.insert_cases(&[a.new_case(), b.new_case()])
        .await
        .unwrap();
    for _ in 0..3 {
        a.act(tx.as_mut(), &staff(5), Action::Remind { note: "a".into() })
            .await;
    }
    for _ in 0..2 {
        b.act(tx.as_mut(), &staff(5), Action::Remind { note: "b".into() })
            .await;
    }
    tx.commit().await.unwrap();

    let mut expected: Vec<Event> = a.events.iter().chain(&b.events).cloned().collect();
    expected.sort_by(|x, y| (x.at, &x.case_id, x.version).cmp(&(y.at, &y.case_id, y.version)));
    let mut tx = store.read().await.unwrap();
    let all = tx.case_events_since(t0(), None, 100).await.unwrap();
    assert_eq!(all, expected);
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = tx.case_events_since(t0(), after.clone(), 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        let last = page.last().unwrap();
        after = Some((last.case_id.clone(), i64::try_from(last.version).unwrap()));
        paged.extend(page);
    }
    assert_eq!(paged, expected);
    let later = tx
        .case_events_since(t0() + Duration::minutes(2), None, 100)
        .await
        .unwrap();
    assert_eq!(later, expected[expected.len() - 3..]);
}

/// Stores six cases in different states for the query stories; reported one minute apart.
async fn seed_queue(store: &dyn Store) -> Vec<Flow> {
    let g1 = "330188001001001";
    let g2 = "330188001002001";
    let g3 = "330188002001001";
    let g4 = "330199001001001";
    let at = |i: i64| t0() + Duration::minutes(i);
    let q1 = Flow::open("Q1", Source::Public, "井盖缺失", 11, at(0)).with(
        CaseIntake {
            reported_class: Some("E0101".into()),
            address: Some("江滨路12号".into()),
            ..located(g1, 120.100, 30.100)
        },
        clock(Some(t0() + Duration::hours(3)), "normal"),
    );
    let mut q2 = Flow::open(
        "Q2",
        Source::Inspector,
        "路灯不亮 Street LIGHT out",
        12,
        at(1),
    )
    .with(
        located(g2, 120.200, 30.200),
        clock(Some(t0() + Duration::hours(1)), "normal"),
    );
    let mut q3 = Flow::open("Q3", Source::Hotline, "窨井盖破损", 11, at(2)).with(
        CaseIntake {
            external_ref: Some("12345-0003".into()),
            ..located(g3, 120.300, 30.300)
        },
        clock(Some(t0() + Duration::hours(2)), "normal"),
    );
    let mut q4 = Flow::open("Q4", Source::Public, "乱堆放", 13, at(3))
        .with(located(g4, 120.101, 30.101), clock(None, "none"));
    let mut q5 = Flow::open("Q5", Source::Leader, "领导批示：道路破损", 14, at(4)).with(
        located(g1, 120.102, 30.099),
        clock(Some(t0() + Duration::minutes(30)), "warning"),
    );
    // Pattern characters in the text must be searched literally.
    let q6 = Flow::open("Q6", Source::Video, "100% 占道_经营", 15, at(5))
        .with(located(g2, 120.500, 30.500), clock(None, "none"));

    let mut tx = store.write().await.unwrap();
    tx.insert_cases(
        &[&q1, &q2, &q3, &q4, &q5, &q6]
            .iter()
            .map(|f| f.new_case())
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    let lead = staff(3);
    let verify = || Action::Verify {
        confirmed: true,
        note: "属实".into(),
    };
    q2.now = at(10);
    for action in [Action::Accept, file(), dispatch("SZ", &["SZ_R"])] {
        q2.act(tx.as_mut(), &lead, action).await;
    }
    q2.act(
        tx.as_mut(),
        &handler(21, "SZ"),
        Action::RequestExtension {
            minutes: 60,
            reason: "等材料".into(),
        },
    )
    .await;
    q3.now = at(10);
    for action in [verify(), Action::Accept, file(), dispatch("GL", &["SZXR"])] {
        q3.act(tx.as_mut(), &lead, action).await;
    }
    q3.act(
        tx.as_mut(),
        &handler(22, "GL"),
        Action::SubDispatch {
            sub_unit: "GL-1".into(),
        },
    )
    .await;
    q4.now = at(20);
    for action in [
        verify(),
        Action::Decline {
            reason: "不属于受理范围".into(),
        },
    ] {
        q4.act(tx.as_mut(), &lead, action).await;
    }
    q5.now = at(10);
    q5.act(tx.as_mut(), &lead, Action::Accept).await;
    let due = q5.now + Duration::days(1);
    q5.act(
        tx.as_mut(),
        &lead,
        Action::Supervise {
            due,
            note: "限期处理".into(),
        },
    )
    .await;
    tx.commit().await.unwrap();
    vec![q1, q2, q3, q4, q5, q6]
}

/// Asserts the ids `list_cases` returns, and that `count_cases` counts the unpaged result.
async fn check(tx: &mut dyn Tx, query: CaseQuery, expected: &[&str]) {
    let query = CaseQuery {
        limit: if query.limit == 0 { 100 } else { query.limit },
        ..query
    };
    let found = tx.list_cases(&query).await.unwrap();
    let ids: Vec<&str> = found.iter().map(|r| r.case.id.as_str()).collect();
    assert_eq!(ids, expected, "{query:?}");
    if query.offset == 0 && query.limit >= 100 {
        assert_eq!(
            tx.count_cases(&query).await.unwrap(),
            i64::try_from(expected.len()).unwrap(),
            "{query:?}"
        );
    }
}

fn newest() -> CaseQuery {
    CaseQuery {
        order: CaseOrder::Newest,
        ..Default::default()
    }
}

fn strings(values: &[&str]) -> Option<Vec<String>> {
    Some(values.iter().map(|v| (*v).to_owned()).collect())
}

pub async fn case_queries_filter_and_order(store: &dyn Store) {
    let flows = seed_queue(store).await;
    let mut tx = store.read().await.unwrap();
    for f in &flows {
        assert_eq!(tx.get_case(&f.case.id).await.unwrap(), Some(f.record()));
    }
    let tx = tx.as_mut();
    let all = ["Q6", "Q5", "Q4", "Q3", "Q2", "Q1"];
    check(tx, newest(), &all).await;

    // Steps and sources.
    let q = |steps: &[&str]| CaseQuery {
        steps: strings(steps),
        ..newest()
    };
    check(tx, q(&["verifying"]), &["Q6", "Q1"]).await;
    check(tx, q(&["closed"]), &["Q4"]).await;
    check(tx, q(&["disposing", "filing"]), &["Q5", "Q3", "Q2"]).await;
    check(tx, q(&[]), &[]).await;
    let q = CaseQuery {
        sources: strings(&["public"]),
        ..newest()
    };
    check(tx, q, &["Q4", "Q1"]).await;

    // Filed class, or the reported one.
    for (class, expected) in [("E0202", &["Q3", "Q2"][..]), ("E0101", &["Q1"][..])] {
        let q = CaseQuery {
            class: Some(class.into()),
            ..newest()
        };
        check(tx, q, expected).await;
    }

    // Places: the grid, and areas of any level by code prefix.
    let q = CaseQuery {
        grid_code: Some("330188001001001".into()),
        ..newest()
    };
    check(tx, q, &["Q5", "Q1"]).await;
    let q = |codes: &[&str]| CaseQuery {
        area_codes: strings(codes),
        ..newest()
    };
    check(tx, q(&["330188001"]), &["Q6", "Q5", "Q2", "Q1"]).await;
    check(tx, q(&["330188002001", "330199"]), &["Q4", "Q3"]).await;
    check(tx, q(&["330188"]), &["Q6", "Q5", "Q3", "Q2", "Q1"]).await;
    check(tx, q(&["330188001001001"]), &["Q5", "Q1"]).await;
    check(tx, q(&[]), &[]).await;

    // Departments lead, assist or are the sub-unit; codes match exactly (`_` is no wildcard, case
    // counts on both engines).
    let q = |departments: &[&str]| CaseQuery {
        departments: strings(departments),
        ..newest()
    };
    check(tx, q(&["SZ"]), &["Q2"]).await;
    check(tx, q(&["SZ_R"]), &["Q2"]).await;
    check(tx, q(&["SZXR"]), &["Q3"]).await;
    check(tx, q(&["sz_r"]), &[]).await;
    check(tx, q(&["GL-1"]), &["Q3"]).await;
    check(tx, q(&["GL", "SZ"]), &["Q3", "Q2"]).await;
    check(tx, q(&["WATER"]), &[]).await;

    // Clock, requests, reporter, oversight.
    let q = CaseQuery {
        urgencies: strings(&["warning", "overdue"]),
        ..newest()
    };
    check(tx, q, &["Q5"]).await;
    let q = CaseQuery {
        pending: strings(&["extension"]),
        ..newest()
    };
    check(tx, q, &["Q2"]).await;
    let q = CaseQuery {
        reported_by: Some(11),
        ..newest()
    };
    check(tx, q, &["Q3", "Q1"]).await;
    let q = CaseQuery {
        supervised: Some(true),
        ..newest()
    };
    check(tx, q, &["Q5"]).await;
    let q = CaseQuery {
        supervised: Some(false),
        ..newest()
    };
    check(tx, q, &["Q6", "Q4", "Q3", "Q2", "Q1"]).await;

    // A reader's scope: any of its areas, departments, or its own reports.
    let q = |areas: &[&str], departments: &[&str], user_id: i64| CaseQuery {
        scope: Some(CaseScope {
            area_codes: areas.iter().map(|a| (*a).to_owned()).collect(),
            departments: departments.iter().map(|d| (*d).to_owned()).collect(),
            user_id,
        }),
        ..newest()
    };
    check(tx, q(&["330199"], &["GL"], 14), &["Q5", "Q4", "Q3"]).await;
    check(tx, q(&[], &[], 12), &["Q2"]).await;
    check(tx, q(&[], &["SZ_R"], 0), &["Q2"]).await;
    // Scope narrows on top of the other filters.
    let scoped = CaseQuery {
        steps: strings(&["verifying"]),
        ..q(&["330188001"], &[], 0)
    };
    check(tx, scoped, &["Q6", "Q1"]).await;

    // Time windows: since inclusive, until exclusive.
    let q = CaseQuery {
        reported_since: Some(t0() + Duration::minutes(2)),
        reported_until: Some(t0() + Duration::minutes(4)),
        ..newest()
    };
    check(tx, q, &["Q4", "Q3"]).await;
    let closed_at = flows[3].case.closed_at.unwrap();
    let q = |since: DateTime<Utc>, until: DateTime<Utc>| CaseQuery {
        closed_since: Some(since),
        closed_until: Some(until),
        ..newest()
    };
    check(tx, q(closed_at, closed_at + Duration::seconds(1)), &["Q4"]).await;
    check(tx, q(closed_at - Duration::seconds(1), closed_at), &[]).await;

    // Text: case-insensitive, any script, pattern characters literal, across number, description,
    // address and external reference.
    let q = |text: &str| CaseQuery {
        text: Some(text.into()),
        ..newest()
    };
    check(tx, q("井盖"), &["Q3", "Q1"]).await;
    check(tx, q("street light"), &["Q2"]).await;
    check(tx, q("江滨路"), &["Q1"]).await;
    check(tx, q("12345-0003"), &["Q3"]).await;
    check(tx, q("q5"), &["Q5"]).await;
    check(tx, q("100%"), &["Q6"]).await;
    check(tx, q("_"), &["Q6"]).await;
    check(tx, q("不存在"), &[]).await;

    // Filters combine.
    let q = CaseQuery {
        steps: strings(&["disposing"]),
        departments: strings(&["GL", "SZ"]),
        text: Some("井盖".into()),
        ..newest()
    };
    check(tx, q, &["Q3"]).await;

    // Due order: soonest due first, cases without a due time last (by report time).
    let due = CaseQuery::default();
    check(tx, due.clone(), &["Q5", "Q2", "Q3", "Q1", "Q4", "Q6"]).await;
    // Paging.
    let page = |order: CaseQuery, offset: i64, limit: i64| CaseQuery {
        offset,
        limit,
        ..order
    };
    check(tx, page(due.clone(), 1, 2), &["Q2", "Q3"]).await;
    check(tx, page(due, 4, 10), &["Q4", "Q6"]).await;
    check(tx, page(newest(), 2, 2), &["Q4", "Q3"]).await;
    check(tx, page(newest(), 6, 2), &[]).await;
    let paged = CaseQuery {
        offset: 2,
        limit: 2,
        ..newest()
    };
    assert_eq!(
        tx.count_cases(&paged).await.unwrap(),
        6,
        "count ignores paging"
    );
}

pub async fn open_cases_near_a_point(store: &dyn Store) {
    seed_queue(store).await;
    let mut tx = store.read().await.unwrap();
    let bbox = [120.09, 30.09, 120.11, 30.11];
    let ids = |v: Vec<CaseRecord>| v.into_iter().map(|r| r.case.id).collect::<Vec<_>>();
    // Q4 lies in the box too but is closed.
    assert_eq!(
        ids(tx.open_cases_near(bbox, t0(), 10).await.unwrap()),
        ["Q5", "Q1"]
    );
    assert_eq!(
        ids(tx
            .open_cases_near(bbox, t0() + Duration::minutes(1), 10)
            .await
            .unwrap()),
        ["Q5"]
    );
    assert_eq!(
        ids(tx.open_cases_near(bbox, t0(), 1).await.unwrap()),
        ["Q5"]
    );
    assert!(
        tx.open_cases_near([0.0, 0.0, 1.0, 1.0], t0(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn case_event_feed_follows_the_log(store: &dyn Store) {
    let start = store
        .read()
        .await
        .unwrap()
        .case_event_seq_max()
        .await
        .unwrap();
    seed_queue(store).await;
    let mut tx = store.read().await.unwrap();
    let all = tx.case_event_feed(start, 100).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|(_, id)| id.as_str()).collect();
    // Intake of six cases, then the actions of the seed in the order they were written.
    let mut expected = vec!["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"];
    expected.extend(["Q2"; 4]);
    expected.extend(["Q3"; 5]);
    expected.extend(["Q4"; 2]);
    expected.extend(["Q5"; 2]);
    assert_eq!(ids, expected);
    assert!(all[0].0 > start);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "positions grow");
    let last = all.last().unwrap().0;
    assert_eq!(tx.case_event_seq_max().await.unwrap(), last);
    assert!(tx.case_event_feed(last, 100).await.unwrap().is_empty());
    // Paging from any position continues exactly after it.
    assert_eq!(tx.case_event_feed(start, 3).await.unwrap(), all[..3]);
    assert_eq!(tx.case_event_feed(all[2].0, 100).await.unwrap(), all[3..]);
}

pub async fn cases_crossing_into_warning_or_overdue(store: &dyn Store) {
    seed_queue(store).await;
    // A closed case keeps the instants it had; it must not come back.
    let mut closed = Flow::open("Q7", Source::Public, "已作废", 11, t0()).with(
        located("330188001001001", 120.1, 30.1),
        clock(Some(t0() + Duration::hours(1)), "normal"),
    );
    let mut tx = store.write().await.unwrap();
    tx.insert_cases(&[closed.new_case()]).await.unwrap();
    for action in [
        Action::Verify {
            confirmed: true,
            note: "属实".into(),
        },
        Action::Decline {
            reason: "不属于受理范围".into(),
        },
    ] {
        closed.act(tx.as_mut(), &staff(3), action).await;
    }
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let ids = |v: Vec<CaseRecord>| v.into_iter().map(|r| r.case.id).collect::<Vec<_>>();
    let at = |m: i64| t0() + Duration::minutes(m);
    // Q5 warns at t0 (the lower end is exclusive, the upper inclusive).
    assert_eq!(
        ids(tx.open_cases_crossing(at(-1), at(0), 10).await.unwrap()),
        ["Q5"]
    );
    assert!(
        tx.open_cases_crossing(at(0), at(29), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Q5 falls due at 30 min, Q2 warns at 30 and falls due at 60; soonest due first.
    assert_eq!(
        ids(tx.open_cases_crossing(at(0), at(60), 10).await.unwrap()),
        ["Q5", "Q2"]
    );
    assert_eq!(
        ids(tx.open_cases_crossing(at(0), at(60), 1).await.unwrap()),
        ["Q5"]
    );
    assert_eq!(
        ids(tx.open_cases_crossing(at(60), at(180), 10).await.unwrap()),
        ["Q3", "Q1"]
    );
    assert!(
        tx.open_cases_crossing(at(180), at(600), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn case_queries_by_viewport(store: &dyn Store) {
    seed_queue(store).await;
    let mut tx = store.read().await.unwrap();
    let in_box = |bbox: [f64; 4]| CaseQuery {
        bbox: Some(bbox),
        ..CaseQuery::default()
    };
    // Q1, Q4 and Q5 lie around (120.10, 30.10); Q2 at (120.2, 30.2); the edges are inside.
    check(
        tx.as_mut(),
        in_box([120.09, 30.09, 120.11, 30.11]),
        &["Q5", "Q1", "Q4"],
    )
    .await;
    check(tx.as_mut(), in_box([120.2, 30.2, 120.3, 30.25]), &["Q2"]).await;
    check(tx.as_mut(), in_box([0.0, 0.0, 1.0, 1.0]), &[]).await;
    let open_in_box = CaseQuery {
        steps: strings(&[
            "verifying",
            "accepting",
            "filing",
            "dispatching",
            "disposing",
        ]),
        ..in_box([120.09, 30.09, 120.11, 30.11])
    };
    check(tx.as_mut(), open_in_box, &["Q5", "Q1"]).await;
}

pub async fn due_timers_are_claimed_once(store: &dyn Store) {
    let timers = [
        Some(t0() + Duration::minutes(1)),
        Some(t0() + Duration::minutes(3)),
        Some(t0() + Duration::minutes(2)),
        None,
        Some(t0() + Duration::minutes(10)),
    ];
    let news: Vec<CaseNew> = timers
        .iter()
        .enumerate()
        .map(|(i, next)| {
            let mut flow = Flow::open(&format!("T{i}"), Source::Inspector, "x", 11, t0());
            flow.clock = CaseClock {
                next_timer_at: *next,
                ..clock(None, "normal")
            };
            flow.new_case()
        })
        .collect();
    let mut tx = store.write().await.unwrap();
    tx.insert_cases(&news).await.unwrap();
    tx.commit().await.unwrap();

    let ids = |v: Vec<CaseRecord>| v.into_iter().map(|r| r.case.id).collect::<Vec<_>>();
    let now = t0() + Duration::minutes(5);
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        ids(tx.claim_due_timers(now, 10).await.unwrap()),
        ["T0", "T2", "T1"]
    );
    assert_eq!(
        ids(tx.claim_due_timers(now, 2).await.unwrap()),
        ["T0", "T2"]
    );
    // Handling a timer moves its next instant; it is then no longer due.
    assert!(
        tx.set_case_clock("T0", 1, &clock(None, "normal"))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    if store.engine() == Engine::Postgres {
        // Two servers claiming at once get disjoint sets: the second skips the rows the first
        // holds instead of waiting for them or firing them again.
        let mut first = store.write().await.unwrap();
        let mut second = store.write().await.unwrap();
        let a = ids(first.claim_due_timers(now, 1).await.unwrap());
        let b = ids(second.claim_due_timers(now, 10).await.unwrap());
        assert_eq!((a, b), (vec!["T2".to_owned()], vec!["T1".to_owned()]));
        // Ending the claims releases the rows (a dropped transaction only rolls back lazily).
        first.commit().await.unwrap();
        second.commit().await.unwrap();
    }
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        ids(tx.claim_due_timers(now, 10).await.unwrap()),
        ["T2", "T1"]
    );
}

pub async fn case_links_both_ways(store: &dyn Store) {
    let a = Flow::open("L1", Source::Inspector, "a", 11, t0());
    let b = Flow::open("L2", Source::Inspector, "b", 11, t0());
    let mut tx = store.write().await.unwrap();
    tx.insert_cases(&[a.new_case(), b.new_case()])
        .await
        .unwrap();
    let link = CaseLink {
        from_case: "L1".into(),
        to_case: "L2".into(),
        kind: "merged".into(),
        created_by: 3,
        created_at: t0(),
    };
    tx.insert_case_link(&link).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        tx.case_links("L1").await.unwrap(),
        std::slice::from_ref(&link)
    );
    assert_eq!(
        tx.case_links("L2").await.unwrap(),
        std::slice::from_ref(&link)
    );
    let again = tx.insert_case_link(&link).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    drop(tx);
    let mut tx = store.write().await.unwrap();
    assert!(tx.delete_case_link("L1", "merged").await.unwrap());
    assert!(!tx.delete_case_link("L1", "merged").await.unwrap());
    assert!(tx.case_links("L2").await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

pub async fn idempotency_keys_per_owner(store: &dyn Store) {
    let key = |owner: i64, key: &str, case: &str, minutes: i64| IdempotencyRecord {
        owner,
        key: key.into(),
        request_hash: format!("sha256:{owner}:{key}"),
        case_id: case.into(),
        created_at: t0() + Duration::minutes(minutes),
    };
    let records = [
        key(1, "k1", "C1", 0),
        key(1, "k2", "C2", 10),
        key(2, "k1", "C3", 20),
    ];
    let mut tx = store.write().await.unwrap();
    tx.insert_idempotency(&records).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    let keys = |v: &[&str]| v.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        tx.get_idempotency(1, &keys(&["k2", "k1", "zz"]))
            .await
            .unwrap(),
        records[..2]
    );
    assert_eq!(
        tx.get_idempotency(2, &keys(&["k1"])).await.unwrap(),
        records[2..]
    );
    assert!(
        tx.get_idempotency(3, &keys(&["k1"]))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(tx.get_idempotency(1, &[]).await.unwrap().is_empty());
    let dup = tx.insert_idempotency(&[key(1, "k1", "C9", 30)]).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    drop(tx);
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        tx.purge_idempotency(t0() + Duration::minutes(10))
            .await
            .unwrap(),
        1
    );
    assert!(
        tx.get_idempotency(1, &keys(&["k1"]))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.get_idempotency(1, &keys(&["k2"])).await.unwrap().len(),
        1
    );
    tx.commit().await.unwrap();
}

pub async fn evidence_blobs_and_attachments(store: &dyn Store) {
    let blob = |hash: &str, minutes: i64| BlobRecord {
        hash: hash.into(),
        size: 1_024,
        media_type: "image/jpeg".into(),
        exif: None,
        dhash: None,
        uploaded_by: None,
        created_at: t0() + Duration::minutes(minutes),
    };
    let photo = BlobRecord {
        exif: Some(
            json!({ "taken_at": "2026-03-02T08:00:00Z", "gps": [120.1, 30.1], "设备": "手机" }),
        ),
        dhash: Some(-0x0123_4567_89ab_cdef),
        uploaded_by: Some(11),
        ..blob("aa11", 0)
    };
    let plain = blob("bb22", 1);
    let orphan = blob("cc33", 2);
    let flow = Flow::open("E1", Source::Inspector, "x", 11, t0());
    let mut tx = store.write().await.unwrap();
    tx.insert_cases(&[flow.new_case()]).await.unwrap();
    tx.insert_blobs(&[photo.clone(), plain.clone(), orphan.clone()])
        .await
        .unwrap();
    // The same content uploaded again keeps the first row.
    tx.insert_blobs(&[BlobRecord {
        size: 1,
        ..photo.clone()
    }])
    .await
    .unwrap();
    let attach = |hash: &str, stage: &str, version: i64| AttachmentRecord {
        case_id: "E1".into(),
        hash: hash.into(),
        stage: stage.into(),
        event_version: version,
        flags: json!(["exif_gps_far"]),
        created_at: t0(),
    };
    let attachments = [
        attach("aa11", "report", 1),
        attach("bb22", "report", 1),
        attach("aa11", "verify", 2),
    ];
    tx.insert_attachments(&attachments).await.unwrap();
    tx.insert_attachments(&attachments[..1]).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    let hashes = |v: &[&str]| v.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        tx.get_blobs(&hashes(&["bb22", "aa11", "zz99"]))
            .await
            .unwrap(),
        [photo.clone(), plain.clone()]
    );
    assert_eq!(tx.case_attachments("E1").await.unwrap(), attachments);
    assert!(tx.case_attachments("nope").await.unwrap().is_empty());
    assert!(tx.blob_referenced("aa11").await.unwrap());
    assert!(!tx.blob_referenced("cc33").await.unwrap());
    let late = t0() + Duration::days(1);
    assert_eq!(tx.unreferenced_blobs(late, 10).await.unwrap(), ["cc33"]);
    assert!(
        tx.unreferenced_blobs(t0() + Duration::minutes(2), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(tx.delete_blobs(&hashes(&["cc33"])).await.unwrap(), 1);
    assert_eq!(tx.delete_blobs(&hashes(&["cc33"])).await.unwrap(), 0);
    assert!(tx.get_blobs(&hashes(&["cc33"])).await.unwrap().is_empty());
    tx.commit().await.unwrap();

    // Evidence a case refers to cannot vanish, and an attachment needs its blob.
    let mut tx = store.write().await.unwrap();
    let referenced = tx.delete_blobs(&hashes(&["aa11"])).await;
    assert!(
        matches!(referenced, Err(StoreError::Conflict(_))),
        "{referenced:?}"
    );
    drop(tx);
    let mut tx = store.write().await.unwrap();
    let dangling = tx.insert_attachments(&[attach("dd44", "report", 1)]).await;
    assert!(
        matches!(dangling, Err(StoreError::Conflict(_))),
        "{dangling:?}"
    );
}

pub async fn outbox_delivers_each_item_once(store: &dyn Store) {
    let item = |recipient: &str, dedup: &str| OutboxNew {
        channel: "inbox".into(),
        recipient: recipient.into(),
        dedup_key: dedup.into(),
        case_id: Some("C1".into()),
        kind: "case.dispatched".into(),
        payload: json!({ "case": "C1", "标题": "新派遣" }),
        created_at: t0(),
    };
    let mut tx = store.write().await.unwrap();
    tx.insert_outbox(&[
        item("department:SZ", "C1/4"),
        item("user:12", "C1/4"),
        item("department:SZ", "C1/4"),
    ])
    .await
    .unwrap();
    tx.insert_outbox(&[item("role:shift_leader", "C1/4"), item("user:12", "C1/4")])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.count_outbox_pending().await.unwrap(), 3);
    let claimed = tx.claim_outbox(t0(), 10).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|o| o.recipient.as_str())
            .collect::<Vec<_>>(),
        ["department:SZ", "user:12", "role:shift_leader"]
    );
    let first = &claimed[0];
    assert_eq!(first.payload, json!({ "case": "C1", "标题": "新派遣" }));
    assert_eq!(
        (first.attempts, first.next_attempt_at, first.delivered_at),
        (0, t0(), None)
    );
    let ids: Vec<i64> = claimed.iter().map(|o| o.id).collect();
    assert!(
        tx.claim_outbox(t0() - Duration::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    tx.mark_outbox_delivered(&ids[..1], t0() + Duration::seconds(1))
        .await
        .unwrap();
    let retry = t0() + Duration::minutes(5);
    tx.mark_outbox_failed(ids[1], "timeout", retry)
        .await
        .unwrap();
    assert!(matches!(
        tx.mark_outbox_failed(-1, "x", retry).await,
        Err(StoreError::NotFound)
    ));
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    let soon = tx
        .claim_outbox(t0() + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(soon.iter().map(|o| o.id).collect::<Vec<_>>(), [ids[2]]);
    let later = tx.claim_outbox(retry, 10).await.unwrap();
    assert_eq!(later.iter().map(|o| o.id).collect::<Vec<_>>(), ids[1..]);
    assert_eq!(
        (later[0].attempts, later[0].last_error.as_deref()),
        (1, Some("timeout"))
    );
    assert_eq!(later[0].next_attempt_at, retry);
    assert_eq!(tx.count_outbox_pending().await.unwrap(), 2);
    tx.commit().await.unwrap();

    if store.engine() == Engine::Postgres {
        let mut first = store.write().await.unwrap();
        let mut second = store.write().await.unwrap();
        let a = first.claim_outbox(retry, 1).await.unwrap();
        let b = second.claim_outbox(retry, 10).await.unwrap();
        assert_eq!(a.iter().map(|o| o.id).collect::<Vec<_>>(), [ids[1]]);
        assert_eq!(b.iter().map(|o| o.id).collect::<Vec<_>>(), [ids[2]]);
        first.commit().await.unwrap();
        second.commit().await.unwrap();
    }

    let mut tx = store.write().await.unwrap();
    tx.mark_outbox_delivered(&ids, t0() + Duration::minutes(6))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.count_outbox_pending().await.unwrap(), 0);
    assert!(
        tx.claim_outbox(t0() + Duration::days(365), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn messages_deduplicate_and_mark_read(store: &dyn Store) {
    let message = |recipient: &str, dedup: &str, minutes: i64| MessageNew {
        recipient: recipient.into(),
        dedup_key: dedup.into(),
        case_id: Some("C1".into()),
        kind: "case.overdue".into(),
        title: "案件超期".into(),
        body: format!("{dedup} 已超期"),
        created_at: t0() + Duration::minutes(minutes),
    };
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        tx.insert_messages(&[
            message("user:1", "k1", 0),
            message("user:1", "k2", 1),
            message("department:SZ", "k1", 2),
            message("user:1", "k1", 3),
        ])
        .await
        .unwrap(),
        3
    );
    assert_eq!(
        tx.insert_messages(&[message("user:1", "k1", 4), message("user:1", "k3", 5)])
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    let to = |v: &[&str]| v.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>();
    let keys = |v: &[MessageRecord]| {
        v.iter()
            .map(|m| format!("{}/{}", m.recipient, m.dedup_key))
            .collect::<Vec<_>>()
    };
    let mine = tx.list_messages(&to(&["user:1"]), false, 10).await.unwrap();
    assert_eq!(keys(&mine), ["user:1/k3", "user:1/k2", "user:1/k1"]);
    assert_eq!(mine[2].body, "k1 已超期");
    assert_eq!(mine[2].created_at, t0());
    assert_eq!(mine[2].read_at, None);
    let with_department = tx
        .list_messages(&to(&["user:1", "department:SZ"]), false, 2)
        .await
        .unwrap();
    assert_eq!(keys(&with_department), ["user:1/k3", "department:SZ/k1"]);
    assert!(tx.list_messages(&[], false, 10).await.unwrap().is_empty());

    // Only the reader's own messages are marked, and only once.
    let department_message = with_department[1].id;
    let k1 = mine[2].id;
    let now = t0() + Duration::hours(1);
    assert_eq!(
        tx.mark_messages_read(&to(&["user:1"]), &[department_message, k1], now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        tx.mark_messages_read(&to(&["user:1"]), &[k1], now)
            .await
            .unwrap(),
        0
    );
    let unread = tx.list_messages(&to(&["user:1"]), true, 10).await.unwrap();
    assert_eq!(keys(&unread), ["user:1/k3", "user:1/k2"]);
    let all = tx.list_messages(&to(&["user:1"]), false, 10).await.unwrap();
    assert_eq!(all[2].read_at, Some(now));
    let department = tx
        .list_messages(&to(&["department:SZ"]), true, 10)
        .await
        .unwrap();
    assert_eq!(department.len(), 1);
    tx.commit().await.unwrap();
}

/// A bulk load stores the final state with its last event, then the earlier events.
pub async fn case_history_loads_in_bulk(store: &dyn Store) {
    let mut flow = Flow::open(&case_id(1), Source::Inspector, "历史案件", 11, t0());
    for action in [Action::Accept, file(), dispatch("SZ", &[])] {
        flow.next(&staff(3), action);
    }
    let (last, earlier) = flow.events.split_last().unwrap();
    let mut tx = store.write().await.unwrap();
    tx.insert_cases(&[CaseNew {
        record: flow.record(),
        event: last.clone(),
    }])
    .await
    .unwrap();
    tx.append_case_events(earlier).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let events = tx.case_events(&case_id(1)).await.unwrap();
    assert_eq!(events, flow.events);
    assert_eq!(
        machine::replay(&events).unwrap(),
        tx.get_case(&case_id(1)).await.unwrap().unwrap().case
    );
    drop(tx);
    // Events need their case, and each version is stored once.
    let mut tx = store.write().await.unwrap();
    let again = tx.append_case_events(&earlier[..1]).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    drop(tx);
    let mut tx = store.write().await.unwrap();
    let mut orphan = earlier[0].clone();
    orphan.case_id = "nope".into();
    let orphan = tx.append_case_events(&[orphan]).await;
    assert!(matches!(orphan, Err(StoreError::Conflict(_))), "{orphan:?}");
}
