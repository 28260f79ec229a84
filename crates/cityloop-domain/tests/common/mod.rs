#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use cityloop_domain::case::*;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 8, 0, 0).unwrap()
}

pub fn actor(id: i64, role: Role) -> Actor {
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

pub fn inspector() -> Actor {
    actor(1, Role::Inspector)
}
pub fn acceptor() -> Actor {
    actor(2, Role::Acceptor)
}
pub fn shift_leader() -> Actor {
    actor(3, Role::ShiftLeader)
}
pub fn dispatcher() -> Actor {
    actor(4, Role::Dispatcher)
}
pub fn leader() -> Actor {
    actor(5, Role::Leader)
}
pub fn system() -> Actor {
    actor(0, Role::System)
}

/// A case plus its event log, advanced one minute per action.
pub struct Run {
    pub case: Case,
    pub events: Vec<Event>,
    pub now: DateTime<Utc>,
}

impl Run {
    pub fn open(source: Source) -> Run {
        let who = if source == Source::Inspector {
            inspector()
        } else {
            system()
        };
        let t = open(
            NewCase {
                id: "C-1".into(),
                source,
                description: "井盖缺失".into(),
            },
            &who,
            t0(),
        )
        .unwrap();
        Run {
            case: t.case,
            events: vec![t.event],
            now: t0(),
        }
    }

    pub fn try_do(&mut self, who: &Actor, action: Action) -> Result<(), TransitionError> {
        self.now += Duration::minutes(1);
        let t = apply(&self.case, who, action, self.now)?;
        assert_eq!(t.case.version, self.case.version + 1);
        assert_eq!(t.event.from, self.case.step);
        assert_eq!(t.event.to, t.case.step);
        self.case = t.case;
        self.events.push(t.event);
        Ok(())
    }

    pub fn run(&mut self, who: &Actor, action: Action) -> &mut Run {
        if let Err(e) = self.try_do(who, action.clone()) {
            panic!("{action:?} by {who:?} failed: {e}");
        }
        self
    }

    pub fn check_replay(&self) {
        assert_eq!(replay(&self.events).unwrap(), self.case);
    }

    /// Drives the case up to Disposing with department "SZ".
    pub fn to_disposing(source: Source) -> Run {
        let mut r = Run::open(source);
        if source != Source::Inspector {
            r.run(&inspector(), verify());
        }
        r.run(&acceptor(), Action::Accept)
            .run(&shift_leader(), file())
            .run(&dispatcher(), dispatch("SZ"));
        r
    }
}

pub fn verify() -> Action {
    Action::Verify {
        confirmed: true,
        note: "属实".into(),
    }
}
pub fn file() -> Action {
    Action::File {
        class: "部件/公用设施/井盖".into(),
        condition: "井盖缺失".into(),
        rule_set_id: 7,
    }
}
pub fn dispatch(dept: &str) -> Action {
    Action::Dispatch {
        department: dept.into(),
        assisting: vec!["WATER".into()],
    }
}
pub fn photos() -> Vec<String> {
    vec!["b3a1f0".into()]
}
pub fn feedback() -> Action {
    Action::Feedback {
        note: "已补装".into(),
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
pub fn reason(s: &str) -> String {
    s.to_owned()
}
