//! Rebuilding a case from its events (the event-sourcing check).

use thiserror::Error;

use super::machine::{TransitionError, apply, open};
use super::model::{Action, Actor, Case, Details, Event, EventKind, NewCase};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplayError {
    #[error("no events")]
    Empty,
    #[error("event {index} should be the Opened event")]
    NotOpenedFirst { index: usize },
    #[error("event {index} belongs to case {found}, not {expected}")]
    OtherCase {
        index: usize,
        expected: String,
        found: String,
    },
    #[error("event {index} has details that do not fit its kind")]
    MalformedDetails { index: usize },
    #[error("event {index} was refused on replay: {error}")]
    Refused {
        index: usize,
        error: TransitionError,
    },
    #[error("event {index} differs from what replaying it produces")]
    Diverged { index: usize },
}

/// Re-applies every event through the same rules as `apply` and insists that each one
/// reproduces itself exactly, so a log that was edited or reordered is detected.
pub fn replay(events: &[Event]) -> Result<Case, ReplayError> {
    let (first, rest) = events.split_first().ok_or(ReplayError::Empty)?;
    let Details::Opened {
        source,
        description,
    } = &first.details
    else {
        return Err(ReplayError::NotOpenedFirst { index: 0 });
    };
    if first.kind != EventKind::Opened {
        return Err(ReplayError::NotOpenedFirst { index: 0 });
    }
    let new = NewCase {
        id: first.case_id.clone(),
        source: *source,
        description: description.clone(),
    };
    let t = open(new, &actor_of(first), first.at)
        .map_err(|error| ReplayError::Refused { index: 0, error })?;
    if t.event != *first {
        return Err(ReplayError::Diverged { index: 0 });
    }
    let mut case = t.case;
    for (offset, event) in rest.iter().enumerate() {
        let index = offset + 1;
        if event.case_id != case.id {
            return Err(ReplayError::OtherCase {
                index,
                expected: case.id.clone(),
                found: event.case_id.clone(),
            });
        }
        let action = action_of(event).ok_or(ReplayError::MalformedDetails { index })?;
        let t = apply(&case, &actor_of(event), action, event.at)
            .map_err(|error| ReplayError::Refused { index, error })?;
        if t.event != *event {
            return Err(ReplayError::Diverged { index });
        }
        case = t.case;
    }
    Ok(case)
}

fn actor_of(event: &Event) -> Actor {
    Actor {
        user_id: event.actor_id,
        roles: vec![event.actor_role],
        department: event.actor_department.clone(),
    }
}

/// The action an event records; `None` if its details do not match its kind.
pub fn action_of(event: &Event) -> Option<Action> {
    use super::model::ActionKind as K;
    let EventKind::Acted(kind) = event.kind else {
        return None;
    };
    let note = event.note.clone();
    let photos = event.attachments.clone();
    let action = match (kind, &event.details) {
        (K::Verify, Details::Verified { confirmed }) => Action::Verify {
            confirmed: *confirmed,
            note,
        },
        (K::Accept, Details::None) => Action::Accept,
        (K::Decline, Details::None) => Action::Decline { reason: note },
        (
            K::File,
            Details::Filed {
                class,
                condition,
                rule_set_id,
            },
        ) => Action::File {
            class: class.clone(),
            condition: condition.clone(),
            rule_set_id: *rule_set_id,
        },
        (K::Reject, Details::None) => Action::Reject { reason: note },
        (K::Void, Details::None) => Action::Void { reason: note },
        (
            K::Dispatch,
            Details::Dispatched {
                department,
                assisting,
            },
        ) => Action::Dispatch {
            department: department.clone(),
            assisting: assisting.clone(),
        },
        (K::SubDispatch, Details::SubDispatched { sub_unit }) => Action::SubDispatch {
            sub_unit: sub_unit.clone(),
        },
        (K::RequestReturn, Details::None) => Action::RequestReturn { reason: note },
        (K::ApproveReturn, Details::ReturnApproved { .. }) => Action::ApproveReturn,
        (K::RefuseReturn, Details::None) => Action::RefuseReturn { reason: note },
        (K::RequestExtension, Details::Minutes { minutes }) => Action::RequestExtension {
            minutes: *minutes,
            reason: note,
        },
        (K::ApproveExtension, Details::Minutes { minutes }) => {
            Action::ApproveExtension { minutes: *minutes }
        }
        (K::RejectExtension, Details::None) => Action::RejectExtension { reason: note },
        (K::Feedback, Details::None) => Action::Feedback { note, photos },
        (K::CheckPass, Details::None) => Action::CheckPass { note, photos },
        (K::CheckFail, Details::None) => Action::CheckFail {
            reason: note,
            photos,
        },
        (K::Close, Details::None) => Action::Close,
        (K::RequestPark, Details::None) => Action::RequestPark { reason: note },
        (K::ApprovePark, Details::None) => Action::ApprovePark,
        (K::Unpark, Details::Unparked { .. }) => Action::Unpark,
        (K::Defer, Details::None) => Action::Defer { reason: note },
        (K::Resume, Details::None) => Action::Resume,
        (K::Supervise, Details::Supervised { due }) => Action::Supervise { due: *due, note },
        (K::Remind, Details::None) => Action::Remind { note },
        (K::Reopen, Details::None) => Action::Reopen { reason: note },
        (K::Merge, Details::Merged { into_case }) => Action::Merge {
            into_case: into_case.clone(),
        },
        (K::Split, Details::None) => Action::Split { reason: note },
        _ => return None,
    };
    Some(action)
}
