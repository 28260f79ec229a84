//! Data types of a case, its actions and its events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a case is in the closed loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Step {
    /// 核实: reports from the public or the hotline are checked on site first.
    Verifying,
    /// 受理: the acceptor accepts or declines.
    Accepting,
    /// 立案: the shift leader files, rejects or voids.
    Filing,
    /// 派遣: the dispatcher chooses the responsible department.
    Dispatching,
    /// 处置: the department (or its sub-unit) works on the case.
    Disposing,
    /// 回退审核: the shift leader reviews a department's return.
    ReturnReview,
    /// 核查: an inspector checks the department's feedback on site.
    Checking,
    /// 结案: the shift leader closes.
    Closing,
    /// Terminal unless reopened (only from `Resolved`).
    Closed(Outcome),
}

/// How a closed case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// 结案 after a passed check.
    Resolved,
    /// 不予受理.
    Declined,
    /// 不予立案.
    Rejected,
    /// 作废.
    Voided,
    /// Duplicate folded into another case.
    Merged,
}

/// Roles of the people (and timers) acting on cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// 监督员.
    Inspector,
    /// 受理员.
    Acceptor,
    /// 值班长.
    ShiftLeader,
    /// 派遣员.
    Dispatcher,
    /// 处置人员 (belongs to a department).
    Handler,
    /// 领导.
    Leader,
    /// Timers and integrations.
    System,
}

/// Channel a report came in through; decides the first step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Source {
    /// Public app / web / Open311 report: verified by the grid's inspector first.
    Public,
    /// 12345 / 12319 hotline work order: verified by the grid's inspector first.
    Hotline,
    /// Found by an inspector on patrol (监督员上报): already seen on site, so no verification.
    Inspector,
    /// 领导批示: a leader's instruction goes straight to acceptance.
    Leader,
    /// 媒体曝光: press and social media; verified on site.
    Media,
    /// Video analytics alarm: machines raise false alarms, so verified on site.
    Video,
    /// IoT sensor alarm (manhole tilt, water level…): verified on site.
    Sensor,
}

impl Source {
    pub const ALL: [Source; 7] = [
        Source::Public,
        Source::Hotline,
        Source::Inspector,
        Source::Leader,
        Source::Media,
        Source::Video,
        Source::Sensor,
    ];

    /// Whether the grid's inspector must confirm the problem on site before acceptance.
    pub fn needs_verification(self) -> bool {
        !matches!(self, Source::Inspector | Source::Leader)
    }

    /// Roles that may record a report from this channel.
    pub fn reporting_roles(self) -> &'static [Role] {
        match self {
            Source::Inspector => &[Role::Inspector],
            Source::Public => &[Role::System, Role::Acceptor],
            Source::Hotline | Source::Media => &[Role::Acceptor, Role::System],
            Source::Leader => &[Role::Leader, Role::Acceptor],
            Source::Video | Source::Sensor => &[Role::System],
        }
    }

    /// Stable code used in storage, filters and APIs.
    pub fn code(self) -> &'static str {
        match self {
            Source::Public => "public",
            Source::Hotline => "hotline",
            Source::Inspector => "inspector",
            Source::Leader => "leader",
            Source::Media => "media",
            Source::Video => "video",
            Source::Sensor => "sensor",
        }
    }

    pub fn from_code(code: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A closed interval during which the case's clock stood still (挂账 or 缓办).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Who acts. A person may hold several roles; `department` matters only to handlers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: i64,
    pub roles: Vec<Role>,
    pub department: Option<String>,
}

/// Input for opening a case (the first event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCase {
    pub id: String,
    pub source: Source,
    pub description: String,
}

/// A department's pending request for more time (延期).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionRequest {
    pub minutes: u32,
    pub reason: String,
    pub requested_by: i64,
    pub requested_at: DateTime<Utc>,
}

/// A department's pending request to park the case (挂账).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkRequest {
    pub reason: String,
    pub requested_by: i64,
    pub requested_at: DateTime<Utc>,
}

/// An approved parking; the case is excluded from overdue statistics while it lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkInfo {
    pub reason: String,
    pub requested_by: i64,
    pub requested_at: DateTime<Utc>,
    pub approved_by: i64,
    pub approved_at: DateTime<Utc>,
}

/// 缓办: the centre put the case on hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferInfo {
    pub reason: String,
    pub by: i64,
    pub at: DateTime<Utc>,
}

/// 督办: a leader's order with its own due instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supervision {
    pub by: i64,
    pub at: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub note: String,
}

/// The full state of one case. Always equal to `replay` of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub source: Source,
    pub description: String,
    pub reported_by: i64,
    pub reported_at: DateTime<Utc>,
    /// Instant of the latest event; later actions may not be earlier.
    pub updated_at: DateTime<Utc>,
    pub step: Step,
    /// When the current step began (the clock of every step but disposal starts here).
    pub step_since: DateTime<Utc>,
    pub version: u64,
    /// Inspector's on-site verdict for public/hotline reports.
    pub verified: Option<bool>,
    pub class: Option<String>,
    pub condition: Option<String>,
    /// Pins the rule-set version whose limit applies; later rule edits don't move it.
    pub rule_set_id: Option<i64>,
    pub filed_at: Option<DateTime<Utc>>,
    pub lead_department: Option<String>,
    pub assisting: Vec<String>,
    pub sub_unit: Option<String>,
    /// Dispatcher of the current dispatch, so a re-dispatch can be counted against them.
    pub dispatched_by: Option<i64>,
    /// Start of the disposal clock (restarted by every dispatch).
    pub disposal_started_at: Option<DateTime<Utc>>,
    /// Working minutes granted by approved extensions since the last dispatch.
    pub extension_minutes: u32,
    pub extension_pending: Option<ExtensionRequest>,
    pub park_request: Option<ParkRequest>,
    pub parked: Option<ParkInfo>,
    /// Calendar seconds spent parked, to exclude from overdue computations.
    pub parked_seconds: i64,
    /// Finished parking and deferral periods; deadlines are pushed out by exactly their
    /// working time.
    pub pauses: Vec<Pause>,
    pub deferred: Option<DeferInfo>,
    pub supervision: Vec<Supervision>,
    pub reminders: u32,
    pub rework_count: u32,
    pub return_count: u32,
    pub redispatch_count: u32,
    pub reopen_count: u32,
    pub merged_into: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// What an actor asks to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Verify {
        confirmed: bool,
        note: String,
    },
    Accept,
    Decline {
        reason: String,
    },
    File {
        class: String,
        condition: String,
        rule_set_id: i64,
    },
    Reject {
        reason: String,
    },
    Void {
        reason: String,
    },
    Dispatch {
        department: String,
        assisting: Vec<String>,
    },
    SubDispatch {
        sub_unit: String,
    },
    RequestReturn {
        reason: String,
    },
    ApproveReturn,
    RefuseReturn {
        reason: String,
    },
    RequestExtension {
        minutes: u32,
        reason: String,
    },
    ApproveExtension {
        minutes: u32,
    },
    RejectExtension {
        reason: String,
    },
    Feedback {
        note: String,
        photos: Vec<String>,
    },
    CheckPass {
        note: String,
        photos: Vec<String>,
    },
    CheckFail {
        reason: String,
        photos: Vec<String>,
    },
    Close,
    RequestPark {
        reason: String,
    },
    ApprovePark,
    Unpark,
    Defer {
        reason: String,
    },
    Resume,
    Supervise {
        due: DateTime<Utc>,
        note: String,
    },
    Remind {
        note: String,
    },
    Reopen {
        reason: String,
    },
    Merge {
        into_case: String,
    },
    /// Undo a merge: the duplicate was a different problem after all.
    Split {
        reason: String,
    },
}

/// Payload-free name of an action, for permission lists and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ActionKind {
    Verify,
    Accept,
    Decline,
    File,
    Reject,
    Void,
    Dispatch,
    SubDispatch,
    RequestReturn,
    ApproveReturn,
    RefuseReturn,
    RequestExtension,
    ApproveExtension,
    RejectExtension,
    Feedback,
    CheckPass,
    CheckFail,
    Close,
    RequestPark,
    ApprovePark,
    Unpark,
    Defer,
    Resume,
    Supervise,
    Remind,
    Reopen,
    Merge,
    Split,
}

impl ActionKind {
    /// Every kind, in a fixed order (the order `allowed` reports them in).
    pub const ALL: [ActionKind; 28] = [
        ActionKind::Verify,
        ActionKind::Accept,
        ActionKind::Decline,
        ActionKind::File,
        ActionKind::Reject,
        ActionKind::Void,
        ActionKind::Dispatch,
        ActionKind::SubDispatch,
        ActionKind::RequestReturn,
        ActionKind::ApproveReturn,
        ActionKind::RefuseReturn,
        ActionKind::RequestExtension,
        ActionKind::ApproveExtension,
        ActionKind::RejectExtension,
        ActionKind::Feedback,
        ActionKind::CheckPass,
        ActionKind::CheckFail,
        ActionKind::Close,
        ActionKind::RequestPark,
        ActionKind::ApprovePark,
        ActionKind::Unpark,
        ActionKind::Defer,
        ActionKind::Resume,
        ActionKind::Supervise,
        ActionKind::Remind,
        ActionKind::Reopen,
        ActionKind::Merge,
        ActionKind::Split,
    ];
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Verify { .. } => ActionKind::Verify,
            Action::Accept => ActionKind::Accept,
            Action::Decline { .. } => ActionKind::Decline,
            Action::File { .. } => ActionKind::File,
            Action::Reject { .. } => ActionKind::Reject,
            Action::Void { .. } => ActionKind::Void,
            Action::Dispatch { .. } => ActionKind::Dispatch,
            Action::SubDispatch { .. } => ActionKind::SubDispatch,
            Action::RequestReturn { .. } => ActionKind::RequestReturn,
            Action::ApproveReturn => ActionKind::ApproveReturn,
            Action::RefuseReturn { .. } => ActionKind::RefuseReturn,
            Action::RequestExtension { .. } => ActionKind::RequestExtension,
            Action::ApproveExtension { .. } => ActionKind::ApproveExtension,
            Action::RejectExtension { .. } => ActionKind::RejectExtension,
            Action::Feedback { .. } => ActionKind::Feedback,
            Action::CheckPass { .. } => ActionKind::CheckPass,
            Action::CheckFail { .. } => ActionKind::CheckFail,
            Action::Close => ActionKind::Close,
            Action::RequestPark { .. } => ActionKind::RequestPark,
            Action::ApprovePark => ActionKind::ApprovePark,
            Action::Unpark => ActionKind::Unpark,
            Action::Defer { .. } => ActionKind::Defer,
            Action::Resume => ActionKind::Resume,
            Action::Supervise { .. } => ActionKind::Supervise,
            Action::Remind { .. } => ActionKind::Remind,
            Action::Reopen { .. } => ActionKind::Reopen,
            Action::Merge { .. } => ActionKind::Merge,
            Action::Split { .. } => ActionKind::Split,
        }
    }
}

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// The case was created.
    Opened,
    /// An action was applied.
    Acted(ActionKind),
}

/// Structured, action-specific part of an event (free text lives in `Event::note`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Details {
    None,
    Opened {
        source: Source,
        description: String,
    },
    Verified {
        confirmed: bool,
    },
    Filed {
        class: String,
        condition: String,
        rule_set_id: i64,
    },
    Dispatched {
        department: String,
        assisting: Vec<String>,
    },
    SubDispatched {
        sub_unit: String,
    },
    Minutes {
        minutes: u32,
    },
    /// A re-dispatch after an approved return, counted against this dispatcher.
    ReturnApproved {
        dispatcher: Option<i64>,
    },
    Unparked {
        parked_seconds: i64,
    },
    Supervised {
        due: DateTime<Utc>,
    },
    Merged {
        into_case: String,
    },
}

/// Immutable record of one change; a case's events fully determine its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub case_id: String,
    /// Case version after this event (1 for `Opened`).
    pub version: u64,
    pub kind: EventKind,
    pub actor_id: i64,
    /// The role the actor acted in.
    pub actor_role: Role,
    /// Kept because handler permissions depend on it (and replay re-checks them).
    pub actor_department: Option<String>,
    pub at: DateTime<Utc>,
    pub from: Step,
    pub to: Step,
    /// Reason or note; empty when the action carries none.
    pub note: String,
    /// Photo blob hashes.
    pub attachments: Vec<String>,
    pub details: Details,
}

/// Result of a successful `apply` or `open`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub case: Case,
    pub event: Event,
}

// Stable snake_case codes, shared by storage columns, API payloads and filters.

impl Step {
    /// Codes of every step, in loop order; `closed` last.
    pub const CODES: [&'static str; 9] = [
        "verifying",
        "accepting",
        "filing",
        "dispatching",
        "disposing",
        "return_review",
        "checking",
        "closing",
        "closed",
    ];

    pub fn code(self) -> &'static str {
        match self {
            Step::Verifying => "verifying",
            Step::Accepting => "accepting",
            Step::Filing => "filing",
            Step::Dispatching => "dispatching",
            Step::Disposing => "disposing",
            Step::ReturnReview => "return_review",
            Step::Checking => "checking",
            Step::Closing => "closing",
            Step::Closed(_) => "closed",
        }
    }

    /// How a closed case ended; `None` while it is open.
    pub fn outcome(self) -> Option<Outcome> {
        match self {
            Step::Closed(o) => Some(o),
            _ => None,
        }
    }
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Resolved => "resolved",
            Outcome::Declined => "declined",
            Outcome::Rejected => "rejected",
            Outcome::Voided => "voided",
            Outcome::Merged => "merged",
        }
    }
}

impl ActionKind {
    pub fn code(self) -> &'static str {
        use ActionKind as K;
        match self {
            K::Verify => "verify",
            K::Accept => "accept",
            K::Decline => "decline",
            K::File => "file",
            K::Reject => "reject",
            K::Void => "void",
            K::Dispatch => "dispatch",
            K::SubDispatch => "sub_dispatch",
            K::RequestReturn => "request_return",
            K::ApproveReturn => "approve_return",
            K::RefuseReturn => "refuse_return",
            K::RequestExtension => "request_extension",
            K::ApproveExtension => "approve_extension",
            K::RejectExtension => "reject_extension",
            K::Feedback => "feedback",
            K::CheckPass => "check_pass",
            K::CheckFail => "check_fail",
            K::Close => "close",
            K::RequestPark => "request_park",
            K::ApprovePark => "approve_park",
            K::Unpark => "unpark",
            K::Defer => "defer",
            K::Resume => "resume",
            K::Supervise => "supervise",
            K::Remind => "remind",
            K::Reopen => "reopen",
            K::Merge => "merge",
            K::Split => "split",
        }
    }
}

impl EventKind {
    /// `opened`, or the action's code.
    pub fn code(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Acted(action) => action.code(),
        }
    }
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Inspector => "inspector",
            Role::Acceptor => "acceptor",
            Role::ShiftLeader => "shift_leader",
            Role::Dispatcher => "dispatcher",
            Role::Handler => "handler",
            Role::Leader => "leader",
            Role::System => "system",
        }
    }
}

#[cfg(test)]
mod code_tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_listed() {
        let mut seen = std::collections::HashSet::new();
        for k in ActionKind::ALL {
            assert!(seen.insert(k.code()), "{k:?}");
        }
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
        ];
        let codes: Vec<&str> = steps.iter().map(|s| s.code()).collect();
        assert_eq!(codes, Step::CODES);
    }
}
