//! Case state machine of a digital urban-management centre (数字城管).
//!
//! The closed loop 信息收集 → 受理 → 立案 → 派遣 → 处置 → 反馈 → 核查 → 结案 as a pure,
//! typed state machine: [`allowed`] lists what an actor may do now, [`apply`] performs one
//! action and returns the new [`Case`] plus exactly one [`Event`], and [`replay`] rebuilds a
//! case from its events. No I/O and no clock: every instant is a parameter.
//!
//! Deadlines in working minutes come from [`crate::calendar`] and the rule set in force
//! ([`crate::rules`]); the case records their inputs (`rule_set_id`, `disposal_started_at`,
//! `extension_minutes`, `parked_seconds`) so that the application layer can compute them.
//!
//! The workflow's [`Role`] is the case-side view of the organisation's roles plus `System` (timers);
//! the application maps `crate::Role` onto it.

mod clock;
mod machine;
mod model;
mod replay;

pub use clock::{StepClock, Urgency, due_if_resumed, rule_step, status, step_clock};
pub use machine::{TransitionError, allowed, apply, open, possible_now, roles_for};
pub use model::{
    Action, ActionKind, Actor, Case, DeferInfo, Details, Event, EventKind, ExtensionRequest,
    NewCase, Outcome, ParkInfo, ParkRequest, Pause, Role, Source, Step, Supervision, Transition,
};
pub use replay::{ReplayError, action_of, replay};
