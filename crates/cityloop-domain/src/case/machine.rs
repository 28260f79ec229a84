//! Permission rules and the transition function.

use chrono::{DateTime, Utc};
use thiserror::Error;

use super::model::{
    Action, ActionKind, Actor, Case, DeferInfo, Details, Event, EventKind, ExtensionRequest,
    NewCase, Outcome, ParkInfo, ParkRequest, Pause, Role, Step, Supervision, Transition,
};

/// Why an action was refused. Checked in this order: step, role, department, payload.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransitionError {
    #[error("{action:?} is not possible while the case is {step:?}; allowed now: {allowed:?}")]
    NotAllowedInStep {
        step: Step,
        action: ActionKind,
        allowed: Vec<ActionKind>,
    },
    #[error("{action:?} needs one of the roles {needed:?}")]
    RoleMayNot {
        action: EventKind,
        needed: Vec<Role>,
    },
    #[error("the case is assigned to {expected:?}, not to {actual:?}")]
    WrongDepartment {
        expected: Vec<String>,
        actual: Option<String>,
    },
    #[error("at least one photo is required")]
    MissingPhoto,
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// Roles that may perform an action; the first one the actor holds is recorded in the event.
pub fn roles_for(kind: ActionKind) -> &'static [Role] {
    use ActionKind as K;
    match kind {
        K::Verify | K::CheckPass | K::CheckFail => &[Role::Inspector],
        K::Accept | K::Decline => &[Role::Acceptor],
        K::File
        | K::Reject
        | K::Void
        | K::Close
        | K::ApproveReturn
        | K::RefuseReturn
        | K::ApproveExtension
        | K::RejectExtension
        | K::ApprovePark
        | K::Unpark
        | K::Defer
        | K::Resume => &[Role::ShiftLeader],
        // The system reopens when the reporter answers the follow-up with "not fixed".
        K::Reopen => &[Role::ShiftLeader, Role::System],
        K::Dispatch => &[Role::Dispatcher],
        K::SubDispatch | K::RequestReturn | K::RequestExtension | K::Feedback | K::RequestPark => {
            &[Role::Handler]
        }
        K::Supervise => &[Role::Leader],
        K::Remind => &[Role::Leader, Role::Dispatcher, Role::System],
        K::Merge | K::Split => &[Role::Acceptor, Role::ShiftLeader],
    }
}

/// Whether the case's step and flags admit this kind at all, whoever asks.
pub fn possible_now(case: &Case, kind: ActionKind) -> bool {
    use ActionKind as K;
    if let Step::Closed(outcome) = case.step {
        return (kind == K::Reopen && outcome == Outcome::Resolved)
            || (kind == K::Split && outcome == Outcome::Merged);
    }
    // A parked or deferred case is frozen except for lifting the hold, oversight and voiding.
    if case.parked.is_some() || case.deferred.is_some() {
        return match kind {
            K::Unpark => case.parked.is_some(),
            K::Resume => case.deferred.is_some(),
            K::Supervise | K::Remind | K::Void => true,
            _ => false,
        };
    }
    let step = case.step;
    match kind {
        K::Verify => step == Step::Verifying,
        K::Accept | K::Decline => step == Step::Accepting,
        K::File | K::Reject | K::Void => step == Step::Filing,
        K::Dispatch => step == Step::Dispatching,
        // One level of sub-dispatch only: a sub-unit does not re-delegate.
        K::SubDispatch => step == Step::Disposing && case.sub_unit.is_none(),
        K::RequestReturn | K::Feedback => step == Step::Disposing,
        K::ApproveReturn | K::RefuseReturn => step == Step::ReturnReview,
        K::RequestExtension => step == Step::Disposing && case.extension_pending.is_none(),
        K::ApproveExtension | K::RejectExtension => {
            step == Step::Disposing && case.extension_pending.is_some()
        }
        K::RequestPark => step == Step::Disposing && case.park_request.is_none(),
        K::ApprovePark => step == Step::Disposing && case.park_request.is_some(),
        K::CheckPass | K::CheckFail => step == Step::Checking,
        K::Close => step == Step::Closing,
        K::Unpark | K::Resume | K::Reopen | K::Split => false,
        K::Defer | K::Supervise | K::Remind => true,
        K::Merge => matches!(step, Step::Verifying | Step::Accepting | Step::Filing),
    }
}

fn acting_role(actor: &Actor, kind: ActionKind) -> Option<Role> {
    roles_for(kind)
        .iter()
        .copied()
        .find(|role| actor.roles.contains(role))
}

/// Departments whose handlers may perform a handler action now (empty: no department check).
fn departments_for(case: &Case, kind: ActionKind) -> Vec<String> {
    use ActionKind as K;
    match kind {
        // Only the lead department delegates; the sub-unit cannot pass the case further down.
        K::SubDispatch => case.lead_department.iter().cloned().collect(),
        // The lead stays answerable after sub-dispatch, so both may act.
        K::RequestReturn | K::RequestExtension | K::Feedback | K::RequestPark => case
            .lead_department
            .iter()
            .chain(case.sub_unit.iter())
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}

fn department_ok(case: &Case, actor: &Actor, kind: ActionKind) -> bool {
    if roles_for(kind) != [Role::Handler] {
        return true;
    }
    let expected = departments_for(case, kind);
    actor
        .department
        .as_ref()
        .is_some_and(|d| expected.iter().any(|e| e == d))
}

/// Action kinds this actor may perform on the case now (the UI shows only these).
pub fn allowed(case: &Case, actor: &Actor) -> Vec<ActionKind> {
    ActionKind::ALL
        .iter()
        .copied()
        .filter(|&k| {
            possible_now(case, k)
                && acting_role(actor, k).is_some()
                && department_ok(case, actor, k)
        })
        .collect()
}

fn invalid(field: &'static str, message: &str) -> TransitionError {
    TransitionError::Invalid {
        field,
        message: message.to_owned(),
    }
}

fn require_text(field: &'static str, value: &str) -> Result<(), TransitionError> {
    if value.trim().is_empty() {
        Err(invalid(field, "must not be blank"))
    } else {
        Ok(())
    }
}

fn require_photos(photos: &[String]) -> Result<(), TransitionError> {
    if photos.is_empty() {
        return Err(TransitionError::MissingPhoto);
    }
    // Photos are content hashes of stored blobs; whitespace or blanks mean a client bug.
    if photos
        .iter()
        .any(|p| p.is_empty() || p.chars().any(char::is_whitespace))
    {
        return Err(invalid("photos", "photo hashes must be non-empty tokens"));
    }
    Ok(())
}

fn validate(case: &Case, action: &Action, at: DateTime<Utc>) -> Result<(), TransitionError> {
    if at < case.updated_at {
        return Err(invalid("at", "earlier than the case's latest event"));
    }
    match action {
        Action::Verify { confirmed, note } => {
            // A "not found" verdict must say what the inspector saw, for the acceptor's decision.
            if !confirmed {
                require_text("note", note)?;
            }
        }
        Action::Decline { reason }
        | Action::Reject { reason }
        | Action::Void { reason }
        | Action::RequestReturn { reason }
        | Action::RefuseReturn { reason }
        | Action::RejectExtension { reason }
        | Action::RequestPark { reason }
        | Action::Defer { reason }
        | Action::Reopen { reason }
        | Action::Split { reason } => require_text("reason", reason)?,
        Action::File {
            class,
            condition,
            rule_set_id,
        } => {
            require_text("class", class)?;
            require_text("condition", condition)?;
            if *rule_set_id <= 0 {
                return Err(invalid("rule_set_id", "must be positive"));
            }
        }
        Action::Dispatch {
            department,
            assisting,
        } => {
            require_text("department", department)?;
            for (i, a) in assisting.iter().enumerate() {
                require_text("assisting", a)?;
                if a == department {
                    return Err(invalid(
                        "assisting",
                        "the lead department cannot also assist",
                    ));
                }
                if assisting[..i].contains(a) {
                    return Err(invalid("assisting", "duplicate department"));
                }
            }
        }
        Action::SubDispatch { sub_unit } => {
            require_text("sub_unit", sub_unit)?;
            if case.lead_department.as_deref() == Some(sub_unit.as_str()) {
                return Err(invalid("sub_unit", "must differ from the lead department"));
            }
        }
        Action::RequestExtension { minutes, reason } => {
            require_text("reason", reason)?;
            if *minutes == 0 {
                return Err(invalid("minutes", "must be positive"));
            }
        }
        Action::ApproveExtension { minutes } => {
            // The leader may grant less than asked, never more.
            let requested = case.extension_pending.as_ref().map_or(0, |r| r.minutes);
            if *minutes == 0 || *minutes > requested {
                return Err(invalid(
                    "minutes",
                    "must be between 1 and the requested minutes",
                ));
            }
        }
        Action::Feedback { photos, .. } | Action::CheckPass { photos, .. } => {
            require_photos(photos)?
        }
        Action::CheckFail { reason, photos } => {
            require_photos(photos)?;
            require_text("reason", reason)?;
        }
        Action::Supervise { due, .. } => {
            if *due <= at {
                return Err(invalid("due", "must be after the supervision instant"));
            }
        }
        Action::Merge { into_case } => {
            require_text("into_case", into_case)?;
            if *into_case == case.id {
                return Err(invalid("into_case", "a case cannot be merged into itself"));
            }
        }
        Action::Accept
        | Action::ApproveReturn
        | Action::Close
        | Action::ApprovePark
        | Action::Unpark
        | Action::Resume
        | Action::Remind { .. } => {}
    }
    Ok(())
}

/// Creates a case. Public and hotline reports start at verification; inspectors' own
/// reports skip it because the reporter has already seen the problem on site.
pub fn open(new: NewCase, actor: &Actor, at: DateTime<Utc>) -> Result<Transition, TransitionError> {
    let needed = new.source.reporting_roles();
    let role = needed
        .iter()
        .copied()
        .find(|r| actor.roles.contains(r))
        .ok_or_else(|| TransitionError::RoleMayNot {
            action: EventKind::Opened,
            needed: needed.to_vec(),
        })?;
    require_text("id", &new.id)?;
    require_text("description", &new.description)?;
    let step = if new.source.needs_verification() {
        Step::Verifying
    } else {
        Step::Accepting
    };
    let case = Case {
        id: new.id.clone(),
        source: new.source,
        description: new.description.clone(),
        reported_by: actor.user_id,
        reported_at: at,
        updated_at: at,
        step,
        step_since: at,
        version: 1,
        verified: None,
        class: None,
        condition: None,
        rule_set_id: None,
        filed_at: None,
        lead_department: None,
        assisting: Vec::new(),
        sub_unit: None,
        dispatched_by: None,
        disposal_started_at: None,
        extension_minutes: 0,
        extension_pending: None,
        park_request: None,
        parked: None,
        parked_seconds: 0,
        pauses: Vec::new(),
        deferred: None,
        supervision: Vec::new(),
        reminders: 0,
        rework_count: 0,
        return_count: 0,
        redispatch_count: 0,
        reopen_count: 0,
        merged_into: None,
        closed_at: None,
    };
    let event = Event {
        case_id: new.id,
        version: 1,
        kind: EventKind::Opened,
        actor_id: actor.user_id,
        actor_role: role,
        actor_department: actor.department.clone(),
        at,
        from: step,
        to: step,
        note: String::new(),
        attachments: Vec::new(),
        details: Details::Opened {
            source: new.source,
            description: new.description,
        },
    };
    Ok(Transition { case, event })
}

/// Checks permissions and payload, then returns the new state and its event.
pub fn apply(
    case: &Case,
    actor: &Actor,
    action: Action,
    at: DateTime<Utc>,
) -> Result<Transition, TransitionError> {
    let kind = action.kind();
    if !possible_now(case, kind) {
        return Err(TransitionError::NotAllowedInStep {
            step: case.step,
            action: kind,
            allowed: allowed(case, actor),
        });
    }
    let role = acting_role(actor, kind).ok_or_else(|| TransitionError::RoleMayNot {
        action: EventKind::Acted(kind),
        needed: roles_for(kind).to_vec(),
    })?;
    if !department_ok(case, actor, kind) {
        return Err(TransitionError::WrongDepartment {
            expected: departments_for(case, kind),
            actual: actor.department.clone(),
        });
    }
    validate(case, &action, at)?;

    let mut next = case.clone();
    let mut note = String::new();
    let mut attachments = Vec::new();
    let mut details = Details::None;
    let by = actor.user_id;

    match action {
        Action::Verify { confirmed, note: n } => {
            // Even a "not found" verdict goes to the acceptor: only the acceptor declines.
            next.verified = Some(confirmed);
            next.step = Step::Accepting;
            note = n;
            details = Details::Verified { confirmed };
        }
        Action::Accept => next.step = Step::Filing,
        Action::Decline { reason } => {
            close(&mut next, Outcome::Declined, at);
            note = reason;
        }
        Action::File {
            class,
            condition,
            rule_set_id,
        } => {
            next.class = Some(class.clone());
            next.condition = Some(condition.clone());
            next.rule_set_id = Some(rule_set_id);
            next.filed_at = Some(at);
            next.step = Step::Dispatching;
            details = Details::Filed {
                class,
                condition,
                rule_set_id,
            };
        }
        Action::Reject { reason } => {
            close(&mut next, Outcome::Rejected, at);
            note = reason;
        }
        Action::Void { reason } => {
            close(&mut next, Outcome::Voided, at);
            note = reason;
        }
        Action::Dispatch {
            department,
            assisting,
        } => {
            next.lead_department = Some(department.clone());
            next.assisting = assisting.clone();
            next.sub_unit = None;
            next.dispatched_by = Some(by);
            // Each dispatch restarts the disposal clock: the new department gets the full limit.
            next.disposal_started_at = Some(at);
            next.extension_minutes = 0;
            next.step = Step::Disposing;
            details = Details::Dispatched {
                department,
                assisting,
            };
        }
        Action::SubDispatch { sub_unit } => {
            next.sub_unit = Some(sub_unit.clone());
            details = Details::SubDispatched { sub_unit };
        }
        Action::RequestReturn { reason } => {
            leave_disposing(&mut next);
            next.step = Step::ReturnReview;
            note = reason;
        }
        Action::ApproveReturn => {
            details = Details::ReturnApproved {
                dispatcher: next.dispatched_by,
            };
            next.return_count = next.return_count.saturating_add(1);
            next.redispatch_count = next.redispatch_count.saturating_add(1);
            clear_assignment(&mut next);
            next.step = Step::Dispatching;
        }
        Action::RefuseReturn { reason } => {
            next.step = Step::Disposing;
            note = reason;
        }
        Action::RequestExtension { minutes, reason } => {
            next.extension_pending = Some(ExtensionRequest {
                minutes,
                reason: reason.clone(),
                requested_by: by,
                requested_at: at,
            });
            note = reason;
            details = Details::Minutes { minutes };
        }
        Action::ApproveExtension { minutes } => {
            next.extension_pending = None;
            next.extension_minutes = next.extension_minutes.saturating_add(minutes);
            details = Details::Minutes { minutes };
        }
        Action::RejectExtension { reason } => {
            next.extension_pending = None;
            note = reason;
        }
        Action::Feedback { note: n, photos } => {
            leave_disposing(&mut next);
            next.step = Step::Checking;
            note = n;
            attachments = photos;
        }
        Action::CheckPass { note: n, photos } => {
            next.step = Step::Closing;
            note = n;
            attachments = photos;
        }
        Action::CheckFail { reason, photos } => {
            next.rework_count = next.rework_count.saturating_add(1);
            next.step = Step::Disposing;
            note = reason;
            attachments = photos;
        }
        Action::Close => close(&mut next, Outcome::Resolved, at),
        Action::RequestPark { reason } => {
            next.park_request = Some(ParkRequest {
                reason: reason.clone(),
                requested_by: by,
                requested_at: at,
            });
            note = reason;
        }
        Action::ApprovePark => {
            if let Some(req) = next.park_request.take() {
                next.parked = Some(ParkInfo {
                    reason: req.reason,
                    requested_by: req.requested_by,
                    requested_at: req.requested_at,
                    approved_by: by,
                    approved_at: at,
                });
            }
        }
        Action::Unpark => {
            let seconds = next.parked.take().map_or(0, |p| {
                next.pauses.push(Pause {
                    from: p.approved_at,
                    to: at,
                });
                (at - p.approved_at).num_seconds().max(0)
            });
            next.parked_seconds = next.parked_seconds.saturating_add(seconds);
            details = Details::Unparked {
                parked_seconds: seconds,
            };
        }
        Action::Defer { reason } => {
            next.deferred = Some(DeferInfo {
                reason: reason.clone(),
                by,
                at,
            });
            note = reason;
        }
        Action::Resume => {
            if let Some(d) = next.deferred.take() {
                next.pauses.push(Pause { from: d.at, to: at });
            }
        }
        Action::Supervise { due, note: n } => {
            next.supervision.push(Supervision {
                by,
                at,
                due,
                note: n.clone(),
            });
            note = n;
            details = Details::Supervised { due };
        }
        Action::Remind { note: n } => {
            next.reminders = next.reminders.saturating_add(1);
            note = n;
        }
        Action::Reopen { reason } => {
            // Back to dispatch: the original filing stands, but whoever fixed it may not be
            // the right department, so the dispatcher chooses again.
            next.reopen_count = next.reopen_count.saturating_add(1);
            next.closed_at = None;
            clear_assignment(&mut next);
            next.step = Step::Dispatching;
            note = reason;
        }
        Action::Merge { into_case } => {
            next.merged_into = Some(into_case.clone());
            close(&mut next, Outcome::Merged, at);
            details = Details::Merged { into_case };
        }
        Action::Split { reason } => {
            // Back to acceptance as an independent case; it was never filed while merged.
            next.merged_into = None;
            next.closed_at = None;
            next.step = Step::Accepting;
            note = reason;
        }
    }
    if next.step != case.step {
        next.step_since = at;
    }

    next.version = case.version.saturating_add(1);
    next.updated_at = at;
    let event = Event {
        case_id: case.id.clone(),
        version: next.version,
        kind: EventKind::Acted(kind),
        actor_id: by,
        actor_role: role,
        actor_department: actor.department.clone(),
        at,
        from: case.step,
        to: next.step,
        note,
        attachments,
        details,
    };
    Ok(Transition { case: next, event })
}

/// Requests addressed to the current disposal lapse once the case leaves Disposing.
fn leave_disposing(case: &mut Case) {
    case.extension_pending = None;
    case.park_request = None;
}

fn clear_assignment(case: &mut Case) {
    leave_disposing(case);
    case.lead_department = None;
    case.assisting.clear();
    case.sub_unit = None;
    case.disposal_started_at = None;
    case.extension_minutes = 0;
}

fn close(case: &mut Case, outcome: Outcome, at: DateTime<Utc>) {
    // A voided case may have been parked or deferred; a closed case carries no hold.
    if let Some(p) = case.parked.take() {
        case.parked_seconds = case
            .parked_seconds
            .saturating_add((at - p.approved_at).num_seconds().max(0));
        case.pauses.push(Pause {
            from: p.approved_at,
            to: at,
        });
    }
    if let Some(d) = case.deferred.take() {
        case.pauses.push(Pause { from: d.at, to: at });
    }
    leave_disposing(case);
    case.closed_at = Some(at);
    case.step = Step::Closed(outcome);
}
