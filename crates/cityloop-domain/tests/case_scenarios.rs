#![expect(clippy::unwrap_used, reason = "tests: a failed step aborts the test")]
mod common;

use chrono::Duration;
use cityloop_domain::case::*;
use common::*;

#[test]
fn happy_path_public_report() {
    let mut r = Run::open(Source::Public);
    assert_eq!(r.case.step, Step::Verifying);
    assert_eq!(r.case.version, 1);
    r.run(&inspector(), verify());
    assert_eq!(r.case.step, Step::Accepting);
    r.run(&acceptor(), Action::Accept);
    assert_eq!(r.case.step, Step::Filing);
    r.run(&shift_leader(), file());
    assert_eq!(r.case.step, Step::Dispatching);
    assert_eq!(r.case.rule_set_id, Some(7));
    r.run(&dispatcher(), dispatch("SZ"));
    assert_eq!(r.case.step, Step::Disposing);
    assert_eq!(r.case.lead_department.as_deref(), Some("SZ"));
    assert_eq!(r.case.assisting, vec!["WATER".to_owned()]);
    r.run(&handler(10, "SZ"), feedback());
    assert_eq!(r.case.step, Step::Checking);
    r.run(&inspector(), check_pass());
    assert_eq!(r.case.step, Step::Closing);
    r.run(&shift_leader(), Action::Close);
    assert_eq!(r.case.step, Step::Closed(Outcome::Resolved));
    assert_eq!(r.case.version, 8);
    assert_eq!(r.events.len(), 8);
    assert_eq!(r.case.closed_at, Some(r.now));
    let steps: Vec<_> = r.events.iter().map(|e| e.to).collect();
    assert_eq!(
        steps,
        vec![
            Step::Verifying,
            Step::Accepting,
            Step::Filing,
            Step::Dispatching,
            Step::Disposing,
            Step::Checking,
            Step::Closing,
            Step::Closed(Outcome::Resolved)
        ]
    );
    assert_eq!(r.events[5].attachments, photos());
    r.check_replay();
}

#[test]
fn hotline_also_starts_with_verification() {
    let r = Run::open(Source::Hotline);
    assert_eq!(r.case.step, Step::Verifying);
}

#[test]
fn inspector_report_skips_verification() {
    let mut r = Run::open(Source::Inspector);
    assert_eq!(r.case.step, Step::Accepting);
    assert_eq!(r.events[0].actor_role, Role::Inspector);
    r.run(&acceptor(), Action::Accept);
    assert_eq!(r.case.step, Step::Filing);
    r.check_replay();
}

#[test]
fn only_inspectors_open_inspector_reports() {
    let err = open(
        NewCase {
            id: "C-2".into(),
            source: Source::Inspector,
            description: "x".into(),
        },
        &acceptor(),
        t0(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        TransitionError::RoleMayNot {
            action: EventKind::Opened,
            ..
        }
    ));
}

#[test]
fn unconfirmed_verification_goes_to_acceptor_who_declines() {
    let mut r = Run::open(Source::Public);
    let err = r
        .try_do(
            &inspector(),
            Action::Verify {
                confirmed: false,
                note: " ".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(
        err,
        TransitionError::Invalid { field: "note", .. }
    ));
    r.run(
        &inspector(),
        Action::Verify {
            confirmed: false,
            note: "现场未发现".into(),
        },
    );
    assert_eq!(r.case.verified, Some(false));
    assert_eq!(r.case.step, Step::Accepting);
    r.run(
        &acceptor(),
        Action::Decline {
            reason: reason("不属实"),
        },
    );
    assert_eq!(r.case.step, Step::Closed(Outcome::Declined));
    assert_eq!(r.events.last().unwrap().note, "不属实");
    r.check_replay();
}

#[test]
fn rework_after_failed_check() {
    let mut r = Run::to_disposing(Source::Inspector);
    r.run(&handler(10, "SZ"), feedback())
        .run(&inspector(), check_fail());
    assert_eq!(r.case.step, Step::Disposing);
    assert_eq!(r.case.rework_count, 1);
    r.run(&handler(10, "SZ"), feedback())
        .run(&inspector(), check_pass())
        .run(&shift_leader(), Action::Close);
    assert_eq!(r.case.step, Step::Closed(Outcome::Resolved));
    assert_eq!(r.case.rework_count, 1);
    r.check_replay();
}

#[test]
fn return_approved_goes_back_to_dispatch() {
    let mut r = Run::to_disposing(Source::Inspector);
    r.run(
        &handler(10, "SZ"),
        Action::RequestReturn {
            reason: reason("非本部门职责"),
        },
    );
    assert_eq!(r.case.step, Step::ReturnReview);
    assert_eq!(r.case.return_count, 0);
    r.run(&shift_leader(), Action::ApproveReturn);
    assert_eq!(r.case.step, Step::Dispatching);
    assert_eq!(r.case.return_count, 1);
    assert_eq!(r.case.redispatch_count, 1);
    assert_eq!(r.case.lead_department, None);
    assert_eq!(
        r.events.last().unwrap().details,
        Details::ReturnApproved {
            dispatcher: Some(4)
        }
    );
    r.run(&dispatcher(), dispatch("WATER-X"));
    assert_eq!(r.case.lead_department.as_deref(), Some("WATER-X"));
    r.check_replay();
}

#[test]
fn return_refused_stays_with_department() {
    let mut r = Run::to_disposing(Source::Inspector);
    r.run(
        &handler(10, "SZ"),
        Action::RequestReturn {
            reason: reason("非本部门职责"),
        },
    )
    .run(
        &shift_leader(),
        Action::RefuseReturn {
            reason: reason("属于本部门"),
        },
    );
    assert_eq!(r.case.step, Step::Disposing);
    assert_eq!(r.case.return_count, 0);
    assert_eq!(r.case.lead_department.as_deref(), Some("SZ"));
    r.check_replay();
}

#[test]
fn extension_approved_and_rejected() {
    let mut r = Run::to_disposing(Source::Inspector);
    let h = handler(10, "SZ");
    r.run(
        &h,
        Action::RequestExtension {
            minutes: 240,
            reason: reason("需采购配件"),
        },
    );
    assert_eq!(r.case.extension_pending.as_ref().unwrap().minutes, 240);
    // A second request while one is pending is not possible.
    assert!(!allowed(&r.case, &h).contains(&ActionKind::RequestExtension));
    // Granting more than asked is invalid.
    let err = r
        .try_do(&shift_leader(), Action::ApproveExtension { minutes: 241 })
        .unwrap_err();
    assert!(matches!(
        err,
        TransitionError::Invalid {
            field: "minutes",
            ..
        }
    ));
    r.run(&shift_leader(), Action::ApproveExtension { minutes: 120 });
    assert_eq!(r.case.extension_minutes, 120);
    assert!(r.case.extension_pending.is_none());
    r.run(
        &h,
        Action::RequestExtension {
            minutes: 60,
            reason: reason("雨天"),
        },
    )
    .run(
        &shift_leader(),
        Action::RejectExtension {
            reason: reason("理由不足"),
        },
    );
    assert_eq!(r.case.extension_minutes, 120);
    assert!(r.case.extension_pending.is_none());
    assert_eq!(r.case.step, Step::Disposing);
    r.check_replay();
}

#[test]
fn park_freezes_case_until_unpark() {
    let mut r = Run::to_disposing(Source::Inspector);
    let h = handler(10, "SZ");
    r.run(
        &h,
        Action::RequestPark {
            reason: reason("待拆迁"),
        },
    )
    .run(&shift_leader(), Action::ApprovePark);
    assert!(r.case.parked.is_some());
    assert_eq!(
        allowed(&r.case, &h),
        Vec::<ActionKind>::new(),
        "a parked case gives handlers nothing to do"
    );
    let err = r.try_do(&h, feedback()).unwrap_err();
    assert!(matches!(
        err,
        TransitionError::NotAllowedInStep {
            action: ActionKind::Feedback,
            ..
        }
    ));
    assert_eq!(
        allowed(&r.case, &shift_leader()),
        vec![ActionKind::Void, ActionKind::Unpark]
    );
    r.run(
        &leader(),
        Action::Supervise {
            due: r.now + Duration::days(3),
            note: "尽快".into(),
        },
    )
    .run(
        &system(),
        Action::Remind {
            note: String::new(),
        },
    );
    r.now += Duration::minutes(58);
    r.run(&shift_leader(), Action::Unpark);
    assert!(r.case.parked.is_none());
    // Approved at 08:05, unparked at 09:07 (the refused feedback attempt also took a minute).
    let approved_to_unpark = r.events.last().unwrap().at - r.events[5].at;
    assert_eq!(approved_to_unpark, Duration::minutes(62));
    assert_eq!(r.case.parked_seconds, 62 * 60);
    assert_eq!(r.case.supervision.len(), 1);
    assert_eq!(r.case.reminders, 1);
    r.run(&h, feedback());
    assert_eq!(r.case.step, Step::Checking);
    r.check_replay();
}

#[test]
fn defer_and_resume() {
    let mut r = Run::open(Source::Inspector);
    r.run(
        &shift_leader(),
        Action::Defer {
            reason: reason("等待上级意见"),
        },
    );
    let err = r.try_do(&acceptor(), Action::Accept).unwrap_err();
    assert!(matches!(err, TransitionError::NotAllowedInStep { .. }));
    r.run(&shift_leader(), Action::Resume)
        .run(&acceptor(), Action::Accept);
    assert_eq!(r.case.step, Step::Filing);
    r.check_replay();
}

#[test]
fn void_and_reject_at_filing() {
    let mut r = Run::open(Source::Inspector);
    r.run(&acceptor(), Action::Accept).run(
        &shift_leader(),
        Action::Void {
            reason: reason("重复上报"),
        },
    );
    assert_eq!(r.case.step, Step::Closed(Outcome::Voided));
    let err = r.try_do(&shift_leader(), Action::Close).unwrap_err();
    assert_eq!(
        err,
        TransitionError::NotAllowedInStep {
            step: Step::Closed(Outcome::Voided),
            action: ActionKind::Close,
            allowed: vec![],
        }
    );
    r.check_replay();

    let mut r = Run::open(Source::Inspector);
    r.run(&acceptor(), Action::Accept).run(
        &shift_leader(),
        Action::Reject {
            reason: reason("不属于城管范围"),
        },
    );
    assert_eq!(r.case.step, Step::Closed(Outcome::Rejected));
    r.check_replay();
}

#[test]
fn void_a_parked_case() {
    let mut r = Run::to_disposing(Source::Inspector);
    r.run(
        &handler(10, "SZ"),
        Action::RequestPark {
            reason: reason("待拆迁"),
        },
    )
    .run(&shift_leader(), Action::ApprovePark)
    .run(
        &shift_leader(),
        Action::Void {
            reason: reason("已拆除"),
        },
    );
    assert_eq!(r.case.step, Step::Closed(Outcome::Voided));
    assert!(r.case.parked.is_none());
    r.check_replay();
}

#[test]
fn decline_at_acceptance() {
    let mut r = Run::open(Source::Inspector);
    r.run(
        &acceptor(),
        Action::Decline {
            reason: reason("信息不全"),
        },
    );
    assert_eq!(r.case.step, Step::Closed(Outcome::Declined));
    r.check_replay();
}

#[test]
fn merge_before_dispatch_only() {
    let mut r = Run::open(Source::Public);
    let err = r
        .try_do(
            &acceptor(),
            Action::Merge {
                into_case: "C-1".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(
        err,
        TransitionError::Invalid {
            field: "into_case",
            ..
        }
    ));
    r.run(
        &acceptor(),
        Action::Merge {
            into_case: "C-0".into(),
        },
    );
    assert_eq!(r.case.step, Step::Closed(Outcome::Merged));
    assert_eq!(r.case.merged_into.as_deref(), Some("C-0"));
    r.check_replay();

    let r = Run::to_disposing(Source::Inspector);
    assert!(!allowed(&r.case, &shift_leader()).contains(&ActionKind::Merge));
}

#[test]
fn reopen_resolved_case_goes_to_dispatch() {
    let mut r = Run::to_disposing(Source::Inspector);
    r.run(&handler(10, "SZ"), feedback())
        .run(&inspector(), check_pass())
        .run(&shift_leader(), Action::Close);
    assert_eq!(allowed(&r.case, &shift_leader()), vec![ActionKind::Reopen]);
    r.run(
        &shift_leader(),
        Action::Reopen {
            reason: reason("市民投诉复发"),
        },
    );
    assert_eq!(r.case.step, Step::Dispatching);
    assert_eq!(r.case.reopen_count, 1);
    assert_eq!(r.case.closed_at, None);
    assert_eq!(r.case.lead_department, None);
    r.run(&dispatcher(), dispatch("SZ"));
    r.check_replay();
}

#[test]
fn reopen_only_from_resolved() {
    let mut r = Run::open(Source::Inspector);
    r.run(
        &acceptor(),
        Action::Decline {
            reason: reason("x"),
        },
    );
    let err = r
        .try_do(
            &shift_leader(),
            Action::Reopen {
                reason: reason("y"),
            },
        )
        .unwrap_err();
    assert!(matches!(err, TransitionError::NotAllowedInStep { .. }));
}

#[test]
fn sub_dispatch_then_feedback_by_sub_unit() {
    let mut r = Run::to_disposing(Source::Inspector);
    let sub = handler(11, "SZ-ROAD");
    assert!(allowed(&r.case, &sub).is_empty());
    r.run(
        &handler(10, "SZ"),
        Action::SubDispatch {
            sub_unit: "SZ-ROAD".into(),
        },
    );
    assert_eq!(r.case.sub_unit.as_deref(), Some("SZ-ROAD"));
    assert_eq!(r.case.step, Step::Disposing);
    // The sub-unit may work the case but not delegate it further.
    assert_eq!(
        allowed(&r.case, &sub),
        vec![
            ActionKind::RequestReturn,
            ActionKind::RequestExtension,
            ActionKind::Feedback,
            ActionKind::RequestPark
        ]
    );
    r.run(&sub, feedback());
    assert_eq!(r.case.step, Step::Checking);
    assert_eq!(
        r.events.last().unwrap().actor_department.as_deref(),
        Some("SZ-ROAD")
    );
    r.check_replay();
}

#[test]
fn wrong_role_reports_needed_roles() {
    let mut r = Run::open(Source::Inspector);
    let err = r.try_do(&dispatcher(), Action::Accept).unwrap_err();
    assert_eq!(
        err,
        TransitionError::RoleMayNot {
            action: EventKind::Acted(ActionKind::Accept),
            needed: vec![Role::Acceptor],
        }
    );
    assert_eq!(r.case.version, 1, "a refused action changes nothing");
}

#[test]
fn wrong_step_reports_allowed_list() {
    let mut r = Run::open(Source::Inspector);
    let err = r.try_do(&shift_leader(), Action::Close).unwrap_err();
    assert_eq!(
        err,
        TransitionError::NotAllowedInStep {
            step: Step::Accepting,
            action: ActionKind::Close,
            allowed: vec![ActionKind::Defer, ActionKind::Merge],
        }
    );
}

#[test]
fn wrong_department_is_refused() {
    let mut r = Run::to_disposing(Source::Inspector);
    let err = r.try_do(&handler(20, "WATER"), feedback()).unwrap_err();
    assert_eq!(
        err,
        TransitionError::WrongDepartment {
            expected: vec!["SZ".into()],
            actual: Some("WATER".into()),
        }
    );
    // Assisting departments support the lead but do not own the case.
    assert!(allowed(&r.case, &handler(20, "WATER")).is_empty());
}

#[test]
fn missing_photo_is_refused() {
    let mut r = Run::to_disposing(Source::Inspector);
    let h = handler(10, "SZ");
    let err = r
        .try_do(
            &h,
            Action::Feedback {
                note: "done".into(),
                photos: vec![],
            },
        )
        .unwrap_err();
    assert_eq!(err, TransitionError::MissingPhoto);
    r.run(&h, feedback());
    let err = r
        .try_do(
            &inspector(),
            Action::CheckFail {
                reason: "no".into(),
                photos: vec![],
            },
        )
        .unwrap_err();
    assert_eq!(err, TransitionError::MissingPhoto);
    let err = r
        .try_do(
            &inspector(),
            Action::CheckPass {
                note: "ok".into(),
                photos: vec![],
            },
        )
        .unwrap_err();
    assert_eq!(err, TransitionError::MissingPhoto);
}

#[test]
fn time_may_not_run_backwards() {
    let r = Run::open(Source::Inspector);
    let err = apply(
        &r.case,
        &acceptor(),
        Action::Accept,
        r.now - Duration::seconds(1),
    )
    .unwrap_err();
    assert!(matches!(err, TransitionError::Invalid { field: "at", .. }));
}

#[test]
fn multi_role_actor_records_the_acting_role() {
    let mut r = Run::open(Source::Inspector);
    let both = Actor {
        user_id: 9,
        roles: vec![Role::Acceptor, Role::ShiftLeader],
        department: None,
    };
    r.run(&both, Action::Accept).run(&both, file());
    assert_eq!(r.events[1].actor_role, Role::Acceptor);
    assert_eq!(r.events[2].actor_role, Role::ShiftLeader);
    r.check_replay();
}

#[test]
fn replay_detects_tampering() {
    let mut r = Run::to_disposing(Source::Inspector);
    r.run(&handler(10, "SZ"), feedback());
    assert_eq!(replay(&[]), Err(ReplayError::Empty));
    let mut bad = r.events.clone();
    bad[3].to = Step::Closing;
    assert_eq!(replay(&bad), Err(ReplayError::Diverged { index: 3 }));
    let mut bad = r.events.clone();
    bad.swap(2, 3);
    assert!(matches!(
        replay(&bad),
        Err(ReplayError::Refused { index: 2, .. })
    ));
    let mut bad = r.events.clone();
    bad[4].actor_department = Some("WATER".into());
    assert!(matches!(
        replay(&bad),
        Err(ReplayError::Refused {
            index: 4,
            error: TransitionError::WrongDepartment { .. }
        })
    ));
    assert_eq!(
        replay(&r.events[1..]),
        Err(ReplayError::NotOpenedFirst { index: 0 })
    );
}
