//! Random but valid case logs: every event comes from `apply`, so any path the state machine
//! allows (returns, extensions, parking, deferral, reopen, merge/split, voids) can appear.

use chrono::{DateTime, TimeDelta, Utc};
use cityloop_domain::case::*;
use cityloop_eval::CaseMeta;

/// xorshift64*: small, deterministic, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const DEPTS: [&str; 4] = ["SZ", "HW", "YL", "JT"];
const SUBS: [&str; 2] = ["SZ-1", "HW-2"];
const CONDITIONS: [(&str, &str); 4] = [
    ("C0101", "井盖缺失"),
    ("E0102", "暴露垃圾"),
    ("C0201", "路面塌陷"),
    ("C0302", "无时限"),
];

fn actor_for(rng: &mut Rng, case: &Case, kind: ActionKind) -> Actor {
    let role = roles_for(kind)[0];
    let department = (role == Role::Handler).then(|| {
        let mut options: Vec<String> = case.lead_department.iter().cloned().collect();
        if kind != ActionKind::SubDispatch {
            options.extend(case.sub_unit.iter().cloned());
        }
        rng.pick(&options).clone()
    });
    let base = match role {
        Role::Inspector => 100,
        Role::Acceptor => 200,
        Role::ShiftLeader => 300,
        Role::Dispatcher => 400,
        Role::Handler => 500,
        Role::Leader => 600,
        Role::System => 0,
    };
    Actor {
        user_id: base + rng.below(4) as i64,
        roles: vec![role],
        department,
    }
}

fn action_for(rng: &mut Rng, case: &Case, kind: ActionKind, at: DateTime<Utc>) -> Action {
    let photos = vec!["p1".to_owned()];
    let reason = "r".to_owned();
    match kind {
        ActionKind::Verify => Action::Verify {
            confirmed: rng.chance(80),
            note: "n".into(),
        },
        ActionKind::Accept => Action::Accept,
        ActionKind::Decline => Action::Decline { reason },
        ActionKind::File => {
            let (class, condition) = *rng.pick(&CONDITIONS);
            Action::File {
                class: class.into(),
                condition: condition.into(),
                rule_set_id: 7,
            }
        }
        ActionKind::Reject => Action::Reject { reason },
        ActionKind::Void => Action::Void { reason },
        ActionKind::Dispatch => Action::Dispatch {
            department: (*rng.pick(&DEPTS)).into(),
            assisting: vec![],
        },
        ActionKind::SubDispatch => {
            let options: Vec<&str> = SUBS
                .iter()
                .copied()
                .filter(|s| case.lead_department.as_deref() != Some(*s))
                .collect();
            Action::SubDispatch {
                sub_unit: (*rng.pick(&options)).into(),
            }
        }
        ActionKind::RequestReturn => Action::RequestReturn { reason },
        ActionKind::ApproveReturn => Action::ApproveReturn,
        ActionKind::RefuseReturn => Action::RefuseReturn { reason },
        ActionKind::RequestExtension => Action::RequestExtension {
            minutes: 30 + rng.below(300) as u32,
            reason,
        },
        ActionKind::ApproveExtension => {
            let asked = case.extension_pending.as_ref().map_or(1, |r| r.minutes);
            Action::ApproveExtension {
                minutes: 1 + rng.below(u64::from(asked)) as u32,
            }
        }
        ActionKind::RejectExtension => Action::RejectExtension { reason },
        ActionKind::Feedback => Action::Feedback {
            note: "n".into(),
            photos,
        },
        ActionKind::CheckPass => Action::CheckPass {
            note: "n".into(),
            photos,
        },
        ActionKind::CheckFail => Action::CheckFail { reason, photos },
        ActionKind::Close => Action::Close,
        ActionKind::RequestPark => Action::RequestPark { reason },
        ActionKind::ApprovePark => Action::ApprovePark,
        ActionKind::Unpark => Action::Unpark,
        ActionKind::Defer => Action::Defer { reason },
        ActionKind::Resume => Action::Resume,
        ActionKind::Supervise => Action::Supervise {
            due: at + TimeDelta::hours(8),
            note: "n".into(),
        },
        ActionKind::Remind => Action::Remind { note: "n".into() },
        ActionKind::Reopen => Action::Reopen { reason },
        ActionKind::Merge => Action::Merge {
            into_case: "OTHER".into(),
        },
        ActionKind::Split => Action::Split { reason },
    }
}

/// Weight of each action kind, so that most cases go round the loop and the rarer branches still
/// turn up.
fn weight(kind: ActionKind) -> u64 {
    use ActionKind as K;
    match kind {
        K::Verify | K::Accept | K::File | K::Dispatch | K::Feedback | K::CheckPass | K::Close => 40,
        K::ApproveExtension | K::RejectExtension | K::ApprovePark | K::Unpark | K::Resume => 20,
        K::RefuseReturn | K::ApproveReturn => 20,
        K::CheckFail | K::RequestExtension | K::SubDispatch => 8,
        K::Decline | K::Reject | K::RequestReturn | K::Supervise | K::RequestPark => 3,
        K::Defer | K::Remind | K::Merge | K::Split | K::Reopen => 2,
        K::Void => 1,
    }
}

pub const SOURCES: [Source; 7] = Source::ALL;

/// One random case starting at `start`. Steps are 1 minute to ~2 days apart.
pub fn case(rng: &mut Rng, id: &str, start: DateTime<Utc>) -> (Vec<Event>, CaseMeta) {
    let source = *rng.pick(&SOURCES);
    let role = source.reporting_roles()[0];
    let opener = Actor {
        user_id: match role {
            Role::Inspector => 100 + rng.below(4) as i64,
            _ => rng.below(4) as i64,
        },
        roles: vec![role],
        department: None,
    };
    let Ok(t) = open(
        NewCase {
            id: id.into(),
            source,
            description: "d".into(),
        },
        &opener,
        start,
    ) else {
        return (Vec::new(), meta(rng));
    };
    let mut case = t.case;
    let mut events = vec![t.event];
    let mut at = start;
    let steps = 4 + rng.below(22);
    for _ in 0..steps {
        let kinds: Vec<ActionKind> = ActionKind::ALL
            .into_iter()
            .filter(|&k| possible_now(&case, k))
            .collect();
        if kinds.is_empty() {
            break;
        }
        let total: u64 = kinds.iter().map(|&k| weight(k)).sum();
        let mut roll = rng.below(total);
        let mut kind = kinds[0];
        for &k in &kinds {
            if roll < weight(k) {
                kind = k;
                break;
            }
            roll -= weight(k);
        }
        let gap = if rng.chance(70) {
            1 + rng.below(90)
        } else {
            1 + rng.below(60 * 48)
        };
        at += TimeDelta::minutes(gap as i64);
        let actor = actor_for(rng, &case, kind);
        let action = action_for(rng, &case, kind, at);
        if let Ok(t) = apply(&case, &actor, action, at) {
            case = t.case;
            events.push(t.event);
        }
    }
    (events, meta(rng))
}

pub fn meta(rng: &mut Rng) -> CaseMeta {
    let grid = rng.below(12);
    CaseMeta {
        grid: format!("G{grid:02}"),
        community: format!("CM{}", grid / 3),
        street: format!("ST{}", grid / 6),
    }
}
