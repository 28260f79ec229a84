//! Per-case facts derived from a case's event log: everything the indicators need, and nothing
//! that depends on "now".
//!
//! The log is replayed through `cityloop_domain::case::{open, apply}` so that every intermediate
//! state is the one the product saw, and step deadlines come from `step_clock` on the state just
//! before the event that completed the step (so pauses, extensions, the pinned rule set and the
//! working calendar are applied exactly as the product applies them).

use std::collections::{BTreeMap, HashMap};

use crate::catalogue::{Counter, ObjectRef};
use chrono::{DateTime, Utc};
use cityloop_domain::calendar::{TimeLimit, WorkCalendar};
use cityloop_domain::case::{
    ActionKind, Actor, Case, Details, Event, EventKind, NewCase, Outcome, Role, Source, Step,
    action_of, apply, open, step_clock,
};
use cityloop_domain::rules::{ProcessLimits, RuleSetContent};
use serde::{Deserialize, Serialize};

/// What `case_facts` needs besides the events.
#[derive(Debug, Clone)]
pub struct FactContext<'a> {
    calendar: &'a WorkCalendar,
    rule_sets: &'a BTreeMap<i64, RuleSetContent>,
    default_process: &'a ProcessLimits,
    /// (rule set, class as displayed, condition) → disposal limit, built once because cases are
    /// many and conditions per rule set are hundreds.
    disposal: HashMap<(i64, String, String), TimeLimit>,
}

impl<'a> FactContext<'a> {
    /// `default_process` applies before a case is filed (it pins no rule set yet); once filed, the
    /// process limits of the case's rule set apply, as in the app's clock.
    pub fn new(
        calendar: &'a WorkCalendar,
        rule_sets: &'a BTreeMap<i64, RuleSetContent>,
        default_process: &'a ProcessLimits,
    ) -> Self {
        let mut disposal = HashMap::new();
        for (&id, content) in rule_sets {
            for c in &content.conditions {
                // First match wins, as in the app's `disposal_limit`.
                disposal
                    .entry((id, c.class.to_string(), c.condition.clone()))
                    .or_insert(c.limit);
            }
        }
        FactContext {
            calendar,
            rule_sets,
            default_process,
            disposal,
        }
    }

    fn process(&self, case: &Case) -> &ProcessLimits {
        case.rule_set_id
            .and_then(|id| self.rule_sets.get(&id))
            .map_or(self.default_process, |c| &c.process)
    }

    fn disposal_limit(&self, case: &Case) -> Option<TimeLimit> {
        let (id, class, condition) = (
            case.rule_set_id?,
            case.class.as_ref()?,
            case.condition.as_ref()?,
        );
        self.disposal
            .get(&(id, class.clone(), condition.clone()))
            .copied()
    }
}

/// Where the case is on the map; evaluation of areas needs it and the events do not carry it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CaseMeta {
    pub grid: String,
    pub community: String,
    pub street: String,
}

/// One step of the loop somebody completed, timed against its limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedStep {
    pub by: i64,
    pub role: Role,
    /// When the case entered the step (the clock's start).
    pub entered_at: DateTime<Utc>,
    pub done_at: DateTime<Utc>,
    /// Deadline after pauses; `None` when the step has no configured limit.
    pub due: Option<DateTime<Utc>>,
    /// `done_at <= due`; `None` when there is no limit (such steps are left out of on-time rates).
    pub on_time: Option<bool>,
    /// Verify: problem confirmed. Check: passed. Accept/Decline: accepted. Otherwise `true`.
    pub positive: bool,
}

/// How a report was decided (有效上报 when `Filed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportOutcome {
    Filed,
    Declined,
    Rejected,
    Voided,
    Merged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDecision {
    pub at: DateTime<Utc>,
    pub outcome: ReportOutcome,
}

/// 立案.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filing {
    /// Timed from when the case entered Filing, against the File step limit.
    pub step: TimedStep,
    pub rule_set_id: i64,
    pub class: String,
    pub condition: String,
    /// The filing was voided afterwards (so it was not an accurate filing).
    pub voided_at: Option<DateTime<Utc>>,
    /// The case was parked (挂账) at some point after filing.
    pub parked: bool,
}

/// One dispatch of the case to a department and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisposalFact {
    pub department: String,
    /// Sub-unit the lead department passed the case to (the last one, if several).
    pub sub_unit: Option<String>,
    /// The dispatch itself (by the dispatcher), timed against the Dispatch step limit.
    pub dispatch: TimedStep,
    /// Disposal deadline as of the latest disposal clock of this assignment (extensions and
    /// pauses included); `None` when the filed condition has no limit in its rule set.
    pub due: Option<DateTime<Utc>>,
    /// Latest feedback (处置反馈).
    pub feedback_at: Option<DateTime<Utc>>,
    /// The latest feedback waits for the on-site check.
    pub awaiting_check: bool,
    /// The check passed (处置完成).
    pub passed_at: Option<DateTime<Utc>>,
    /// The case was then closed (结案).
    pub closed_at: Option<DateTime<Utc>>,
    /// The department's return was approved (回退).
    pub returned_at: Option<DateTime<Utc>>,
    /// The case was voided while assigned.
    pub voided_at: Option<DateTime<Utc>>,
    /// Failed checks (返工).
    pub reworks: Vec<DateTime<Utc>>,
    /// Approved extensions (延期).
    pub extensions: Vec<DateTime<Utc>>,
    /// Supervision orders (督办) while assigned.
    pub supervisions: Vec<DateTime<Utc>>,
    /// Still open and parked or deferred at the end of the log: its clock stands still.
    pub paused: bool,
}

/// When an assignment counts in 应处置数 and how it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accountable {
    pub at: DateTime<Utc>,
    pub handled: bool,
    pub on_time: bool,
    pub closed: bool,
    pub reworked: bool,
}

impl DisposalFact {
    /// The instant this assignment falls due for evaluation, exactly once per assignment: the
    /// accepted feedback if it was within the limit, otherwise the deadline itself (overdue,
    /// whether handled later or never). Returned, voided, paused and unlimited assignments are not
    /// accountable, nor is an on-time feedback still waiting for its check (it may yet fail).
    pub fn accountable(&self) -> Option<Accountable> {
        if self.returned_at.is_some() || self.voided_at.is_some() {
            return None;
        }
        let due = self.due?;
        let reworked = !self.reworks.is_empty();
        if self.passed_at.is_some() {
            let fb = self.feedback_at?;
            let on_time = fb <= due;
            return Some(Accountable {
                at: if on_time { fb } else { due },
                handled: true,
                on_time,
                closed: self.closed_at.is_some(),
                reworked,
            });
        }
        if self.paused {
            return None;
        }
        if self.awaiting_check && self.feedback_at.is_some_and(|fb| fb <= due) {
            return None;
        }
        Some(Accountable {
            at: due,
            handled: false,
            on_time: false,
            closed: false,
            reworked,
        })
    }
}

/// A period the case spent parked (挂账); `to` is `None` while it still is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkPeriod {
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

/// Everything the indicators need about one case, derived from its events only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFacts {
    pub case_id: String,
    pub source: Option<Source>,
    pub reporter: Option<i64>,
    pub reporter_role: Option<Role>,
    pub reported_at: Option<DateTime<Utc>>,
    /// The standing decision on the report (a split undoes a merge).
    pub report: Option<ReportDecision>,
    /// 核实 tasks, by the inspector who did them.
    pub verifications: Vec<TimedStep>,
    /// Accept / Decline decisions.
    pub acceptances: Vec<TimedStep>,
    pub filing: Option<Filing>,
    /// Dispatches in order; the last one may still be open.
    pub assignments: Vec<DisposalFact>,
    /// 核查 tasks (CheckPass / CheckFail).
    pub checks: Vec<TimedStep>,
    /// Close (结案) actions.
    pub closings: Vec<TimedStep>,
    pub parked: Vec<ParkPeriod>,
    /// Outcome if the case is closed now.
    pub outcome: Option<Outcome>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Some deadline used a year without holiday data (weekends only): recompute later.
    pub provisional: bool,
    /// Why facts may be incomplete (a log that does not replay, a calendar error).
    pub problems: Vec<String>,
    /// Credits this case must not give, from accepted objections (申诉); set by the caller, since
    /// objections are decisions about the counting, not events of the case.
    #[serde(default)]
    pub excluded: Vec<Exclusion>,
}

/// An accepted objection: `object` is not credited by this case on `counters` (all when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    pub object: ObjectRef,
    pub counters: Vec<Counter>,
}

impl Exclusion {
    pub fn covers(&self, object: &ObjectRef, counter: Counter) -> bool {
        self.object == *object && (self.counters.is_empty() || self.counters.contains(&counter))
    }
}

impl CaseFacts {
    fn empty(case_id: String) -> Self {
        CaseFacts {
            case_id,
            source: None,
            reporter: None,
            reporter_role: None,
            reported_at: None,
            report: None,
            verifications: Vec::new(),
            acceptances: Vec::new(),
            filing: None,
            assignments: Vec::new(),
            checks: Vec::new(),
            closings: Vec::new(),
            parked: Vec::new(),
            outcome: None,
            closed_at: None,
            provisional: false,
            problems: Vec::new(),
            excluded: Vec::new(),
        }
    }

    /// The last assignment if it is still the case's current one.
    fn current(&mut self) -> Option<&mut DisposalFact> {
        self.assignments
            .last_mut()
            .filter(|a| a.returned_at.is_none() && a.voided_at.is_none() && a.closed_at.is_none())
    }
}

fn actor_of(event: &Event) -> Actor {
    Actor {
        user_id: event.actor_id,
        roles: vec![event.actor_role],
        department: event.actor_department.clone(),
    }
}

/// Derives the facts of one case from its events (oldest first). Never fails: a log that stops
/// replaying yields the facts up to that point plus a note in `problems`.
pub fn case_facts(events: &[Event], ctx: &FactContext) -> CaseFacts {
    let Some((first, rest)) = events.split_first() else {
        let mut f = CaseFacts::empty(String::new());
        f.problems.push("no events".into());
        return f;
    };
    let mut f = CaseFacts::empty(first.case_id.clone());
    let (
        EventKind::Opened,
        Details::Opened {
            source,
            description,
        },
    ) = (first.kind, &first.details)
    else {
        f.problems.push("the first event is not Opened".into());
        return f;
    };
    let new = NewCase {
        id: first.case_id.clone(),
        source: *source,
        description: description.clone(),
    };
    let mut case = match open(new, &actor_of(first), first.at) {
        Ok(t) => t.case,
        Err(e) => {
            f.problems.push(format!("event 0 does not replay: {e}"));
            return f;
        }
    };
    f.source = Some(*source);
    f.reporter = Some(first.actor_id);
    f.reporter_role = Some(first.actor_role);
    f.reported_at = Some(first.at);
    for (offset, event) in rest.iter().enumerate() {
        let Some(action) = action_of(event) else {
            f.problems
                .push(format!("event {} has malformed details", offset + 1));
            break;
        };
        let after = match apply(&case, &actor_of(event), action, event.at) {
            Ok(t) => t.case,
            Err(e) => {
                f.problems
                    .push(format!("event {} does not replay: {e}", offset + 1));
                break;
            }
        };
        record(&mut f, &case, &after, event, ctx);
        case = after;
    }
    finish(&mut f, &case, ctx);
    f
}

/// The clock of the step `case` is in; `None` (and a note) when it cannot be computed.
fn due_of(f: &mut CaseFacts, case: &Case, ctx: &FactContext) -> Option<DateTime<Utc>> {
    match step_clock(
        case,
        ctx.process(case),
        ctx.disposal_limit(case),
        ctx.calendar,
    ) {
        Ok(Some(clock)) => {
            f.provisional |= clock.provisional;
            Some(clock.due)
        }
        Ok(None) => None,
        Err(e) => {
            f.problems
                .push(format!("clock at {}: {e}", case.updated_at));
            None
        }
    }
}

fn timed(
    f: &mut CaseFacts,
    before: &Case,
    event: &Event,
    ctx: &FactContext,
    positive: bool,
) -> TimedStep {
    let due = due_of(f, before, ctx);
    TimedStep {
        by: event.actor_id,
        role: event.actor_role,
        entered_at: before.step_since,
        done_at: event.at,
        due,
        on_time: due.map(|d| event.at <= d),
        positive,
    }
}

fn record(f: &mut CaseFacts, before: &Case, after: &Case, event: &Event, ctx: &FactContext) {
    use ActionKind as K;
    let EventKind::Acted(kind) = event.kind else {
        return;
    };
    let decide = |f: &mut CaseFacts, outcome| {
        f.report = Some(ReportDecision {
            at: event.at,
            outcome,
        })
    };
    match kind {
        K::Verify => {
            let confirmed = matches!(event.details, Details::Verified { confirmed: true });
            let t = timed(f, before, event, ctx, confirmed);
            f.verifications.push(t);
        }
        K::Accept | K::Decline => {
            let t = timed(f, before, event, ctx, kind == K::Accept);
            f.acceptances.push(t);
            if kind == K::Decline {
                decide(f, ReportOutcome::Declined);
            }
        }
        K::File => {
            let step = timed(f, before, event, ctx, true);
            if let Details::Filed {
                class,
                condition,
                rule_set_id,
            } = &event.details
            {
                f.filing = Some(Filing {
                    step,
                    rule_set_id: *rule_set_id,
                    class: class.clone(),
                    condition: condition.clone(),
                    voided_at: None,
                    parked: false,
                });
            }
            decide(f, ReportOutcome::Filed);
        }
        K::Reject => decide(f, ReportOutcome::Rejected),
        K::Merge => decide(f, ReportOutcome::Merged),
        K::Split => f.report = None,
        K::Void => {
            if let Some(filing) = f.filing.as_mut() {
                filing.voided_at = Some(event.at);
            } else {
                decide(f, ReportOutcome::Voided);
            }
            // A voided assignment is never accountable, so its deadline is not needed.
            if let Some(a) = f.current() {
                a.voided_at = Some(event.at);
            }
        }
        K::Dispatch => {
            let dispatch = timed(f, before, event, ctx, true);
            let department = after.lead_department.clone().unwrap_or_default();
            f.assignments.push(DisposalFact {
                department,
                sub_unit: None,
                dispatch,
                due: None,
                feedback_at: None,
                awaiting_check: false,
                passed_at: None,
                closed_at: None,
                returned_at: None,
                voided_at: None,
                reworks: Vec::new(),
                extensions: Vec::new(),
                supervisions: Vec::new(),
                paused: false,
            });
        }
        K::SubDispatch => {
            if let Some(a) = f.current() {
                a.sub_unit = after.sub_unit.clone();
            }
        }
        K::RequestReturn => {
            let due = due_of(f, before, ctx);
            if let Some(a) = f.current() {
                a.due = due;
            }
        }
        K::ApproveReturn => {
            if let Some(a) = f.current() {
                a.returned_at = Some(event.at);
            }
        }
        K::ApproveExtension => {
            if let Some(a) = f.current() {
                a.extensions.push(event.at);
            }
        }
        K::Feedback => {
            let due = due_of(f, before, ctx);
            if let Some(a) = f.current() {
                a.due = due;
                a.feedback_at = Some(event.at);
                a.awaiting_check = true;
            }
        }
        K::CheckPass | K::CheckFail => {
            let passed = kind == K::CheckPass;
            let t = timed(f, before, event, ctx, passed);
            f.checks.push(t);
            if let Some(a) = f.current() {
                a.awaiting_check = false;
                if passed {
                    a.passed_at = Some(event.at);
                } else {
                    a.reworks.push(event.at);
                }
            }
        }
        K::Close => {
            let t = timed(f, before, event, ctx, true);
            f.closings.push(t);
            if let Some(a) = f.current() {
                a.closed_at = Some(event.at);
            }
        }
        K::Supervise => {
            if before.lead_department.is_some()
                && !matches!(before.step, Step::Closed(_))
                && let Some(a) = f.current()
            {
                a.supervisions.push(event.at);
            }
        }
        K::Reopen
        | K::RefuseReturn
        | K::RequestExtension
        | K::RejectExtension
        | K::RequestPark
        | K::ApprovePark
        | K::Unpark
        | K::Defer
        | K::Resume
        | K::Remind => {}
    }
    // Parking is read off the state so that every way out of it (unpark, void) is covered.
    match (&before.parked, &after.parked) {
        (None, Some(p)) => {
            f.parked.push(ParkPeriod {
                from: p.approved_at,
                to: None,
            });
            if let Some(filing) = f.filing.as_mut() {
                filing.parked = true;
            }
        }
        (Some(_), None) => {
            if let Some(last) = f.parked.last_mut() {
                last.to = Some(event.at);
            }
        }
        _ => {}
    }
}

fn finish(f: &mut CaseFacts, case: &Case, ctx: &FactContext) {
    if let Step::Closed(outcome) = case.step {
        f.outcome = Some(outcome);
        f.closed_at = case.closed_at;
    }
    let paused = case.parked.is_some() || case.deferred.is_some();
    let due = if case.step == Step::Disposing && !paused {
        due_of(f, case, ctx)
    } else {
        None
    };
    if let Some(a) = f.current()
        && a.passed_at.is_none()
    {
        a.paused = paused;
        if due.is_some() {
            a.due = due;
        }
    }
}
