#![expect(clippy::unwrap_used, reason = "tests: a failed step aborts the test")]
mod common;

use chrono::{DateTime, Duration, Utc};
use cityloop_domain::case::*;
use common::t0;
use proptest::prelude::*;

const ROLES: [Role; 7] = [
    Role::Inspector,
    Role::Acceptor,
    Role::ShiftLeader,
    Role::Dispatcher,
    Role::Handler,
    Role::Leader,
    Role::System,
];
const DEPTS: [Option<&str>; 5] = [
    None,
    Some("SZ"),
    Some("SZ-ROAD"),
    Some("WATER"),
    Some("WATER-ROAD"),
];

#[derive(Debug, Clone)]
struct StepSeed {
    user_id: i64,
    role_mask: u8,
    dept: usize,
    from_allowed: bool,
    /// Among allowed kinds, skip the ones that end or stall the loop (if others remain).
    prefer_progress: bool,
    kind: usize,
    variant: u8,
}

fn step_seed() -> impl Strategy<Value = StepSeed> {
    (
        1i64..5,
        0u8..128,
        0usize..DEPTS.len(),
        any::<bool>(),
        any::<bool>(),
        0usize..64,
        any::<u8>(),
    )
        .prop_map(
            |(user_id, role_mask, dept, from_allowed, prefer_progress, kind, variant)| StepSeed {
                user_id,
                role_mask,
                dept,
                from_allowed,
                prefer_progress,
                kind,
                variant,
            },
        )
}

fn actor_of(seed: &StepSeed) -> Actor {
    Actor {
        user_id: seed.user_id,
        roles: ROLES
            .iter()
            .enumerate()
            .filter(|(i, _)| seed.role_mask & (1 << i) != 0)
            .map(|(_, r)| *r)
            .collect(),
        department: DEPTS[seed.dept].map(str::to_owned),
    }
}

/// An action of the given kind whose payload passes validation on this case at `at`.
fn valid_action(case: &Case, kind: ActionKind, at: DateTime<Utc>, variant: u8) -> Action {
    let photos = vec![format!("h{variant}")];
    let reason = || format!("r{variant}");
    match kind {
        ActionKind::Verify => Action::Verify {
            confirmed: variant.is_multiple_of(2),
            note: "n".into(),
        },
        ActionKind::Accept => Action::Accept,
        ActionKind::Decline => Action::Decline { reason: reason() },
        ActionKind::File => Action::File {
            class: "c".into(),
            condition: "k".into(),
            rule_set_id: 1 + i64::from(variant % 3),
        },
        ActionKind::Reject => Action::Reject { reason: reason() },
        ActionKind::Void => Action::Void { reason: reason() },
        ActionKind::Dispatch => Action::Dispatch {
            department: if variant.is_multiple_of(2) {
                "SZ"
            } else {
                "WATER"
            }
            .into(),
            assisting: if variant.is_multiple_of(3) {
                vec!["OTHER".into()]
            } else {
                vec![]
            },
        },
        ActionKind::SubDispatch => Action::SubDispatch {
            sub_unit: format!("{}-ROAD", case.lead_department.as_deref().unwrap_or("SZ")),
        },
        ActionKind::RequestReturn => Action::RequestReturn { reason: reason() },
        ActionKind::ApproveReturn => Action::ApproveReturn,
        ActionKind::RefuseReturn => Action::RefuseReturn { reason: reason() },
        ActionKind::RequestExtension => Action::RequestExtension {
            minutes: 1 + u32::from(variant),
            reason: reason(),
        },
        ActionKind::ApproveExtension => Action::ApproveExtension {
            minutes: case.extension_pending.as_ref().map_or(1, |r| r.minutes),
        },
        ActionKind::RejectExtension => Action::RejectExtension { reason: reason() },
        ActionKind::Feedback => Action::Feedback {
            note: "f".into(),
            photos,
        },
        ActionKind::CheckPass => Action::CheckPass {
            note: "p".into(),
            photos,
        },
        ActionKind::CheckFail => Action::CheckFail {
            reason: reason(),
            photos,
        },
        ActionKind::Close => Action::Close,
        ActionKind::RequestPark => Action::RequestPark { reason: reason() },
        ActionKind::ApprovePark => Action::ApprovePark,
        ActionKind::Unpark => Action::Unpark,
        ActionKind::Defer => Action::Defer { reason: reason() },
        ActionKind::Resume => Action::Resume,
        ActionKind::Supervise => Action::Supervise {
            due: at + Duration::hours(1 + i64::from(variant)),
            note: "s".into(),
        },
        ActionKind::Remind => Action::Remind {
            note: String::new(),
        },
        ActionKind::Reopen => Action::Reopen { reason: reason() },
        ActionKind::Merge => Action::Merge {
            into_case: "OTHER".into(),
        },
        ActionKind::Split => Action::Split { reason: reason() },
    }
}

/// Breaks the payload of some actions, so error paths are exercised too.
fn corrupt(action: Action) -> Action {
    match action {
        Action::Feedback { note, .. } => Action::Feedback {
            note,
            photos: vec![],
        },
        Action::CheckFail { photos, .. } => Action::CheckFail {
            reason: " ".into(),
            photos,
        },
        Action::Reject { .. } => Action::Reject {
            reason: String::new(),
        },
        Action::ApproveExtension { minutes } => Action::ApproveExtension {
            minutes: minutes.saturating_add(1),
        },
        other => other,
    }
}

fn is_permission_error(e: &TransitionError) -> bool {
    matches!(
        e,
        TransitionError::NotAllowedInStep { .. }
            | TransitionError::RoleMayNot { .. }
            | TransitionError::WrongDepartment { .. }
    )
}

const HOLD_KINDS: [ActionKind; 5] = [
    ActionKind::Unpark,
    ActionKind::Resume,
    ActionKind::Supervise,
    ActionKind::Remind,
    ActionKind::Void,
];

const STALLING: [ActionKind; 7] = [
    ActionKind::Decline,
    ActionKind::Reject,
    ActionKind::Void,
    ActionKind::Merge,
    ActionKind::Defer,
    ActionKind::Supervise,
    ActionKind::Remind,
];

fn run_sequence(source_idx: usize, seeds: &[StepSeed]) -> Result<Vec<Event>, TestCaseError> {
    let source = Source::ALL[source_idx];
    let opener = Actor {
        user_id: 99,
        roles: vec![Role::Inspector, Role::System, Role::Leader],
        department: None,
    };
    let opened = open(
        NewCase {
            id: "P-1".into(),
            source,
            description: "d".into(),
        },
        &opener,
        t0(),
    )
    .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut case = opened.case;
    let mut events = vec![opened.event];

    for (i, seed) in seeds.iter().enumerate() {
        let at = t0() + Duration::minutes(i64::try_from(i).unwrap_or(0) + 1);
        let actor = actor_of(seed);
        let allowed_now = allowed(&case, &actor);

        // allowed() is exactly the set of kinds apply() does not refuse on permission grounds,
        // and with a valid payload those kinds succeed.
        for kind in ActionKind::ALL {
            let result = apply(
                &case,
                &actor,
                valid_action(&case, kind, at, seed.variant),
                at,
            );
            let listed = allowed_now.contains(&kind);
            match &result {
                Ok(_) => prop_assert!(listed, "{kind:?} succeeded but is not listed"),
                Err(e) => {
                    prop_assert!(!listed, "{kind:?} listed but refused: {e}");
                    prop_assert!(is_permission_error(e), "valid payload refused: {e}");
                }
            }
            if let Err(TransitionError::NotAllowedInStep { allowed, .. }) = &result {
                prop_assert_eq!(allowed, &allowed_now);
            }
        }

        let progressing: Vec<ActionKind> = allowed_now
            .iter()
            .copied()
            .filter(|k| !STALLING.contains(k))
            .collect();
        let kind = if seed.from_allowed && seed.prefer_progress && !progressing.is_empty() {
            progressing[seed.kind % progressing.len()]
        } else if seed.from_allowed && !allowed_now.is_empty() {
            allowed_now[seed.kind % allowed_now.len()]
        } else {
            ActionKind::ALL[seed.kind % ActionKind::ALL.len()]
        };
        let mut action = valid_action(&case, kind, at, seed.variant);
        if seed.variant.is_multiple_of(7) {
            action = corrupt(action);
        }
        match apply(&case, &actor, action, at) {
            Ok(t) => {
                prop_assert_eq!(t.case.version, case.version + 1);
                prop_assert_eq!(t.event.version, t.case.version);
                prop_assert_eq!(t.event.from, case.step);
                prop_assert_eq!(t.event.to, t.case.step);
                prop_assert_eq!(t.event.kind, EventKind::Acted(kind));
                prop_assert_eq!(t.event.actor_id, actor.user_id);
                prop_assert!(actor.roles.contains(&t.event.actor_role));
                prop_assert!(t.case.rework_count >= case.rework_count);
                // A closed case changes only through an audited reopen (resolved) or split (merged).
                if let Step::Closed(outcome) = case.step {
                    prop_assert!(
                        (kind == ActionKind::Reopen && outcome == Outcome::Resolved)
                            || (kind == ActionKind::Split && outcome == Outcome::Merged),
                        "{kind:?} changed a case closed as {outcome:?}"
                    );
                    prop_assert!(
                        !t.event.note.trim().is_empty(),
                        "reopen/split without reason"
                    );
                }
                if t.case.step != case.step {
                    prop_assert_eq!(t.case.step_since, at);
                }
                // Pauses are well-formed and never overlap.
                for w in t.case.pauses.windows(2) {
                    prop_assert!(w[0].to <= w[1].from);
                }
                for p in &t.case.pauses {
                    prop_assert!(p.from <= p.to);
                }
                if case.parked.is_some() || case.deferred.is_some() {
                    prop_assert!(HOLD_KINDS.contains(&kind), "{kind:?} applied while on hold");
                }
                if matches!(
                    kind,
                    ActionKind::Feedback | ActionKind::CheckPass | ActionKind::CheckFail
                ) {
                    prop_assert!(!t.event.attachments.is_empty());
                }
                prop_assert!(t.case.parked.is_none() || t.case.deferred.is_none());
                case = t.case;
                events.push(t.event);
            }
            Err(e) => prop_assert!(!allowed_now.contains(&kind) || !is_permission_error(&e)),
        }
    }

    let replayed = replay(&events).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(replayed, case);
    Ok(events)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_sequences_keep_invariants(
        source_idx in 0usize..Source::ALL.len(),
        seeds in proptest::collection::vec(step_seed(), 0..80),
    ) {
        run_sequence(source_idx, &seeds)?;
    }
}

/// Random actors rarely hold the right role and department several times in a row, so a
/// guided walk (all roles, lead or sub-unit department, always an allowed action) checks the
/// same invariants in deep states, and asserts that it really got there.
#[test]
fn guided_walks_reach_every_step_and_action() {
    let mut kinds = std::collections::HashSet::new();
    let mut steps = std::collections::HashSet::new();
    let mut rng_state = 0x2545_f491_4f6c_dd1d_u64;
    for walk in 0..300 {
        let mut seeds = Vec::new();
        for _ in 0..60 {
            // splitmix64: deterministic, dependency-free, and (unlike plain xorshift) without
            // correlations between consecutive draws that would starve some transitions.
            rng_state = rng_state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut r = rng_state;
            r = (r ^ (r >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            r = (r ^ (r >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            r ^= r >> 31;
            seeds.push(StepSeed {
                user_id: 1,
                role_mask: 0x7f,
                // Dispatch picks SZ or WATER; handlers come from SZ, SZ-ROAD, WATER or WATER-ROAD.
                dept: 1 + ((r >> 4) % 4) as usize,
                from_allowed: true,
                prefer_progress: !r.is_multiple_of(10),
                kind: (r >> 8) as usize % 64,
                variant: (r >> 16) as u8,
            });
        }
        let events = run_sequence(walk % 3, &seeds).unwrap();
        for e in events {
            kinds.insert(e.kind);
            steps.insert(e.to);
        }
    }
    for kind in ActionKind::ALL {
        assert!(
            kinds.contains(&EventKind::Acted(kind)),
            "never applied {kind:?}"
        );
    }
    for outcome in [
        Outcome::Resolved,
        Outcome::Declined,
        Outcome::Rejected,
        Outcome::Voided,
        Outcome::Merged,
    ] {
        assert!(
            steps.contains(&Step::Closed(outcome)),
            "never reached {outcome:?}"
        );
    }
    assert!(steps.contains(&Step::ReturnReview));
}
