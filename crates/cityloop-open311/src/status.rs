//! How the closed loop's steps project onto Open311: `open`/`closed` in core responses, the
//! FixMyStreet extended statuses in updates and `extensions=true` output.

use cityloop_domain::case::{ActionKind, EventKind, Outcome, Step};

/// `open` or `closed`: a case is closed only once the centre has closed it (结案 or a terminal
/// refusal); a fix waiting for its check is still open.
pub fn core(step: Step) -> &'static str {
    match step {
        Step::Closed(_) => "closed",
        _ => "open",
    }
}

/// The FixMyStreet extended status of a step.
pub fn extended(step: Step) -> &'static str {
    match step {
        // The grid inspector is checking the report on site.
        Step::Verifying => "INVESTIGATING",
        Step::Accepting | Step::Filing => "OPEN",
        Step::Dispatching => "ACTION_SCHEDULED",
        Step::Disposing | Step::Checking => "IN_PROGRESS",
        Step::ReturnReview => "INTERNAL_REFERRAL",
        Step::Closing => "FIXED",
        Step::Closed(Outcome::Resolved) => "FIXED",
        Step::Closed(Outcome::Declined) => "NOT_COUNCILS_RESPONSIBILITY",
        Step::Closed(Outcome::Rejected) => "NO_FURTHER_ACTION",
        Step::Closed(Outcome::Voided) => "CANCELLED",
        Step::Closed(Outcome::Merged) => "DUPLICATE",
    }
}

/// The extended status an event announces: the step it led to, except that a reopening says so.
pub fn of_event(kind: EventKind, to: Step) -> &'static str {
    match kind {
        EventKind::Acted(ActionKind::Reopen) => "REOPEN",
        _ => extended(to),
    }
}

/// Every extended status, as FixMyStreet lists them.
pub const EXTENDED: [&str; 13] = [
    "OPEN",
    "INVESTIGATING",
    "IN_PROGRESS",
    "ACTION_SCHEDULED",
    "FIXED",
    "CLOSED",
    "DUPLICATE",
    "NOT_COUNCILS_RESPONSIBILITY",
    "NO_FURTHER_ACTION",
    "INTERNAL_REFERRAL",
    "FOR_TRIAGE",
    "CANCELLED",
    "REOPEN",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_maps_to_a_listed_status() {
        let steps = [
            Step::Verifying,
            Step::Accepting,
            Step::Filing,
            Step::Dispatching,
            Step::Disposing,
            Step::ReturnReview,
            Step::Checking,
            Step::Closing,
            Step::Closed(Outcome::Resolved),
            Step::Closed(Outcome::Declined),
            Step::Closed(Outcome::Rejected),
            Step::Closed(Outcome::Voided),
            Step::Closed(Outcome::Merged),
        ];
        for s in steps {
            assert!(EXTENDED.contains(&extended(s)), "{s:?}");
            assert_eq!(core(s) == "closed", s.outcome().is_some());
        }
        assert_eq!(
            of_event(EventKind::Acted(ActionKind::Reopen), Step::Dispatching),
            "REOPEN"
        );
    }
}
