#![allow(dead_code)]
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed step aborts the test"
)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use cityloop_domain::calendar::CHINA_OFFSET;
use cityloop_domain::case::*;
use cityloop_domain::rules::{FilingCondition, ProcessLimits, RuleSetContent};

pub mod synth;

/// China local time in 2025.
pub fn t(month: u32, day: u32, h: u32, m: u32) -> DateTime<Utc> {
    CHINA_OFFSET
        .with_ymd_and_hms(2025, month, day, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn person(id: i64, role: Role) -> Actor {
    Actor {
        user_id: id,
        roles: vec![role],
        department: None,
    }
}

pub fn handler(id: i64, dept: &str) -> Actor {
    Actor {
        user_id: id,
        roles: vec![Role::Handler],
        department: Some(dept.to_owned()),
    }
}

pub fn condition(class: &str, text: &str, limit: &str) -> FilingCondition {
    FilingCondition {
        class: class.parse().unwrap(),
        condition: text.into(),
        limit: limit.parse().unwrap(),
        closing: "已处置".into(),
        department: None,
        area_class: None,
        note: String::new(),
    }
}

/// Rule set 7: 井盖缺失 within 2 working hours, 暴露垃圾 within 4, 路面塌陷 within 24 calendar
/// hours (urgent). `C0302` is deliberately missing, so cases filed under it have no disposal limit.
pub fn rule_sets() -> BTreeMap<i64, RuleSetContent> {
    let content = RuleSetContent {
        conditions: vec![
            condition("C0101", "井盖缺失", "2小时"),
            condition("E0102", "暴露垃圾", "4小时"),
            condition("C0201", "路面塌陷", "24自然小时"),
        ],
        process: ProcessLimits::default(),
        matrix: Vec::new(),
    };
    BTreeMap::from([(7, content)])
}

/// A case's log, built through the real state machine.
pub struct Timeline {
    pub case: Case,
    pub events: Vec<Event>,
}

impl Timeline {
    pub fn open(id: &str, source: Source, who: &Actor, at: DateTime<Utc>) -> Timeline {
        let t = open(
            NewCase {
                id: id.into(),
                source,
                description: "问题".into(),
            },
            who,
            at,
        )
        .unwrap();
        Timeline {
            case: t.case,
            events: vec![t.event],
        }
    }

    pub fn act(&mut self, who: &Actor, action: Action, at: DateTime<Utc>) -> &mut Timeline {
        let t = match apply(&self.case, who, action.clone(), at) {
            Ok(t) => t,
            Err(e) => panic!("{}: {action:?} at {at} failed: {e}", self.case.id),
        };
        self.case = t.case;
        self.events.push(t.event);
        self
    }
}

pub fn file(class: &str, condition: &str) -> Action {
    Action::File {
        class: class.into(),
        condition: condition.into(),
        rule_set_id: 7,
    }
}

pub fn dispatch(dept: &str) -> Action {
    Action::Dispatch {
        department: dept.into(),
        assisting: vec![],
    }
}

pub fn photos() -> Vec<String> {
    vec!["b3a1f0".into()]
}

pub fn feedback() -> Action {
    Action::Feedback {
        note: "已处置".into(),
        photos: photos(),
    }
}

pub fn check_pass() -> Action {
    Action::CheckPass {
        note: "已修复".into(),
        photos: photos(),
    }
}

pub fn check_fail() -> Action {
    Action::CheckFail {
        reason: "未修复".into(),
        photos: photos(),
    }
}

pub fn verify(confirmed: bool) -> Action {
    Action::Verify {
        confirmed,
        note: "现场查看".into(),
    }
}
