//! The clock of a case's current step: due time, warning time and remaining working time.
//!
//! Pure: the calendar, the limits of the pinned rule set and "now" are parameters. Parking
//! (挂账) and deferral (缓办) stop the clock; finished pauses push the deadline out by exactly the
//! time they covered on the limit's own clock (working time for working limits, elapsed time
//! for urgent calendar limits). Approved extensions (延期) add working minutes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::{Case, Step};
use crate::calendar::{CalendarError, TimeLimit, WorkCalendar};
use crate::rules::{ProcessLimits, Step as RuleStep};

/// Where the current step stands against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Normal,
    /// Past the warning threshold (预警).
    Warning,
    /// Past the due time (超期).
    Overdue,
    /// Parked or deferred: excluded from overdue counting.
    Paused,
    /// Closed, or a step without a configured limit.
    None,
}

/// The clock of the current step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepClock {
    pub limit: TimeLimit,
    pub started_at: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
    /// Some date in the computation lies in a year without holiday data.
    pub provisional: bool,
    /// Parked or deferred since this instant; `due` assumes the pause ends now-ish and must be
    /// recomputed when it ends.
    pub paused_since: Option<DateTime<Utc>>,
}

/// The rule step whose process limit applies to a case step (disposal uses the filing condition).
pub fn rule_step(step: Step) -> Option<RuleStep> {
    Some(match step {
        Step::Verifying => RuleStep::Verify,
        Step::Accepting => RuleStep::Accept,
        Step::Filing => RuleStep::File,
        Step::Dispatching => RuleStep::Dispatch,
        Step::ReturnReview => RuleStep::ReturnReview,
        Step::Checking => RuleStep::Check,
        Step::Closing => RuleStep::Close,
        Step::Disposing | Step::Closed(_) => return None,
    })
}

/// The clock of the case's current step, or `None` when the step has no limit (closed, or
/// not configured). `disposal` is the time limit of the filing condition the case was filed
/// under, looked up in the rule set the case pins.
pub fn step_clock(
    case: &Case,
    process: &ProcessLimits,
    disposal: Option<TimeLimit>,
    calendar: &WorkCalendar,
) -> Result<Option<StepClock>, CalendarError> {
    let (limit, started_at, extension) = match case.step {
        Step::Closed(_) => return Ok(None),
        Step::Disposing => {
            let (Some(limit), Some(start)) = (disposal, case.disposal_started_at) else {
                return Ok(None);
            };
            (limit, start, case.extension_minutes)
        }
        step => {
            let Some(limit) = rule_step(step).and_then(|s| process.limits.get(&s).copied()) else {
                return Ok(None);
            };
            (limit, case.step_since, 0)
        }
    };
    let pauses: Vec<(DateTime<Utc>, DateTime<Utc>)> = case
        .pauses
        .iter()
        .filter(|p| p.to > started_at)
        .map(|p| (p.from.max(started_at), p.to))
        .collect();
    let base = limit.due(calendar, started_at)?;
    let warn = crate::rules::warning_instant(calendar, started_at, limit, process.warn_at_percent)?;
    let (shift_due, p1) = shift(calendar, limit, base.at, &pauses)?;
    let (shift_warn, p2) = shift(calendar, limit, warn.at, &pauses)?;
    let mut due = shift_due;
    let mut provisional = base.provisional || warn.provisional || p1 || p2;
    if extension > 0 {
        let d = calendar.add_working_duration(due, extension)?;
        due = d.at;
        provisional |= d.provisional;
    }
    let paused_since = case
        .parked
        .as_ref()
        .map(|p| p.approved_at)
        .into_iter()
        .chain(case.deferred.as_ref().map(|d| d.at))
        .min();
    Ok(Some(StepClock {
        limit,
        started_at,
        due,
        warn_at: shift_warn.min(due),
        provisional,
        paused_since,
    }))
}

/// Pushes `instant` out by the time the pauses covered, on the limit's clock. Pauses are taken
/// in order and only count while the clock was still running: a case parked after it fell due
/// stays overdue.
fn shift(
    calendar: &WorkCalendar,
    limit: TimeLimit,
    instant: DateTime<Utc>,
    pauses: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Result<(DateTime<Utc>, bool), CalendarError> {
    let mut sorted = pauses.to_vec();
    sorted.sort();
    let mut at = instant;
    let mut provisional = false;
    for (from, to) in sorted {
        if from >= at || to <= from {
            continue;
        }
        if limit.unit().is_working_time() {
            let e = calendar.working_minutes_between(from, to)?;
            let d = calendar.add_working_time(at, e.working)?;
            provisional |= e.provisional || d.provisional;
            at = d.at;
        } else {
            at += to - from;
        }
    }
    Ok((at, provisional))
}

/// Urgency and remaining time of a clock at `now`. Remaining is working minutes for working
/// limits and elapsed minutes for urgent limits; negative once overdue.
pub fn status(
    clock: &StepClock,
    calendar: &WorkCalendar,
    now: DateTime<Utc>,
) -> Result<(Urgency, i64), CalendarError> {
    let working = clock.limit.unit().is_working_time();
    let minutes_between = |a: DateTime<Utc>, b: DateTime<Utc>| -> Result<i64, CalendarError> {
        if working {
            Ok(calendar
                .working_minutes_between(a, b)?
                .working
                .num_minutes())
        } else {
            Ok((b - a).num_minutes())
        }
    };
    if let Some(since) = clock.paused_since {
        // Frozen at the remaining time the pause began with.
        let left = if since <= clock.due {
            minutes_between(since, clock.due)?
        } else {
            -minutes_between(clock.due, since)?
        };
        return Ok((Urgency::Paused, left));
    }
    if now >= clock.due {
        return Ok((Urgency::Overdue, -minutes_between(clock.due, now)?));
    }
    let left = minutes_between(now, clock.due)?;
    let urgency = if now >= clock.warn_at {
        Urgency::Warning
    } else {
        Urgency::Normal
    };
    Ok((urgency, left))
}

/// The deadline as of a pause's end: when a paused case resumes at `resume_at`, its due time
/// moves by the pause's length. Used to show the would-be due time during a pause.
pub fn due_if_resumed(
    clock: &StepClock,
    calendar: &WorkCalendar,
    resume_at: DateTime<Utc>,
) -> Result<DateTime<Utc>, CalendarError> {
    let Some(since) = clock.paused_since else {
        return Ok(clock.due);
    };
    let (at, _) = shift(
        calendar,
        clock.limit,
        clock.due,
        &[(since, resume_at.max(since))],
    )?;
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::TimeUnit;
    use crate::case::{Action, Actor, NewCase, Role, Source, apply, open};
    use chrono::{TimeDelta, TimeZone};
    use proptest::prelude::*;

    fn cal() -> WorkCalendar {
        WorkCalendar::builtin().unwrap()
    }

    fn actor(role: Role, dept: Option<&str>) -> Actor {
        Actor {
            user_id: 1,
            roles: vec![role],
            department: dept.map(str::to_owned),
        }
    }

    /// Tuesday 2025-03-04 09:00 China time.
    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 4, 1, 0, 0).unwrap()
    }

    fn disposing(at: DateTime<Utc>) -> Case {
        let c = open(
            NewCase {
                id: "K".into(),
                source: Source::Inspector,
                description: "d".into(),
            },
            &actor(Role::Inspector, None),
            at,
        )
        .unwrap()
        .case;
        let c = apply(&c, &actor(Role::Acceptor, None), Action::Accept, at)
            .unwrap()
            .case;
        let c = apply(
            &c,
            &actor(Role::ShiftLeader, None),
            Action::File {
                class: "E0101".into(),
                condition: "x".into(),
                rule_set_id: 1,
            },
            at,
        )
        .unwrap()
        .case;
        apply(
            &c,
            &actor(Role::Dispatcher, None),
            Action::Dispatch {
                department: "SZ".into(),
                assisting: vec![],
            },
            at,
        )
        .unwrap()
        .case
    }

    fn hours(h: u32) -> TimeLimit {
        TimeLimit::new(h, TimeUnit::WorkingHours).unwrap()
    }

    #[test]
    fn centre_steps_use_process_limits_from_step_start() {
        let c = open(
            NewCase {
                id: "K".into(),
                source: Source::Public,
                description: "d".into(),
            },
            &actor(Role::System, None),
            t0(),
        )
        .unwrap()
        .case;
        let clock = step_clock(&c, &ProcessLimits::default(), None, &cal())
            .unwrap()
            .unwrap();
        // Verify: 1 working hour, warning at 80 %.
        assert_eq!(clock.due, t0() + TimeDelta::hours(1));
        assert_eq!(clock.warn_at, t0() + TimeDelta::minutes(48));
        let (u, left) = status(&clock, &cal(), t0() + TimeDelta::minutes(50)).unwrap();
        assert_eq!((u, left), (Urgency::Warning, 10));
        let (u, left) = status(&clock, &cal(), t0() + TimeDelta::minutes(75)).unwrap();
        assert_eq!((u, left), (Urgency::Overdue, -15));
    }

    #[test]
    fn disposal_needs_the_condition_limit_and_extension_adds_working_minutes() {
        let c = disposing(t0());
        assert!(
            step_clock(&c, &ProcessLimits::default(), None, &cal())
                .unwrap()
                .is_none()
        );
        let clock = step_clock(&c, &ProcessLimits::default(), Some(hours(2)), &cal())
            .unwrap()
            .unwrap();
        assert_eq!(clock.due, t0() + TimeDelta::hours(2));
        let mut extended = c.clone();
        extended.extension_minutes = 30;
        let clock = step_clock(&extended, &ProcessLimits::default(), Some(hours(2)), &cal())
            .unwrap()
            .unwrap();
        assert_eq!(clock.due, t0() + TimeDelta::minutes(150));
    }

    #[test]
    fn parking_freezes_and_then_shifts_the_deadline_by_the_working_time_parked() {
        let handler = actor(Role::Handler, Some("SZ"));
        let leader = actor(Role::ShiftLeader, None);
        let c = disposing(t0());
        let at = t0() + TimeDelta::minutes(30);
        let c = apply(
            &c,
            &handler,
            Action::RequestPark {
                reason: "冬季施工".into(),
            },
            at,
        )
        .unwrap()
        .case;
        let c = apply(&c, &leader, Action::ApprovePark, at).unwrap().case;
        let limit = Some(hours(2));
        let clock = step_clock(&c, &ProcessLimits::default(), limit, &cal())
            .unwrap()
            .unwrap();
        // Frozen with 90 working minutes left, however late it is.
        let later = t0() + TimeDelta::days(20);
        assert_eq!(
            status(&clock, &cal(), later).unwrap(),
            (Urgency::Paused, 90)
        );
        // Unpark the next morning (Wednesday 09:00): the 90 minutes resume from there.
        let resume = t0() + TimeDelta::days(1);
        assert_eq!(
            due_if_resumed(&clock, &cal(), resume).unwrap(),
            resume + TimeDelta::minutes(90)
        );
        let c = apply(&c, &leader, Action::Unpark, resume).unwrap().case;
        let clock = step_clock(&c, &ProcessLimits::default(), limit, &cal())
            .unwrap()
            .unwrap();
        assert_eq!(clock.paused_since, None);
        assert_eq!(clock.due, resume + TimeDelta::minutes(90));
        assert_eq!(
            status(&clock, &cal(), resume).unwrap(),
            (Urgency::Normal, 90)
        );
    }

    #[test]
    fn closed_cases_have_no_clock() {
        let c = open(
            NewCase {
                id: "K".into(),
                source: Source::Leader,
                description: "d".into(),
            },
            &actor(Role::Leader, None),
            t0(),
        )
        .unwrap()
        .case;
        assert_eq!(c.step, crate::case::Step::Accepting);
        let c = apply(&c, &actor(Role::Acceptor, None), Action::Accept, t0())
            .unwrap()
            .case;
        let c = apply(
            &c,
            &actor(Role::ShiftLeader, None),
            Action::Void { reason: "x".into() },
            t0(),
        )
        .unwrap()
        .case;
        assert!(
            step_clock(&c, &ProcessLimits::default(), Some(hours(1)), &cal())
                .unwrap()
                .is_none()
        );
    }

    proptest! {
        /// However pauses fall, the deadline leaves exactly the limit's working time outside
        /// the pauses.
        #[test]
        fn pauses_shift_the_deadline_exactly(
            start_min in 0i64..(60 * 24 * 30),
            limit_h in 1u32..40,
            pauses in proptest::collection::vec((0i64..(60 * 24 * 20), 1i64..(60 * 24 * 5)), 0..4),
        ) {
            let calendar = cal();
            let start = t0() + TimeDelta::minutes(start_min);
            let mut case = disposing(start);
            let mut cursor = start;
            for (gap, len) in pauses {
                let from = cursor + TimeDelta::minutes(gap);
                let to = from + TimeDelta::minutes(len);
                case.pauses.push(crate::case::Pause { from, to });
                cursor = to;
            }
            let limit = hours(limit_h);
            let clock = step_clock(&case, &ProcessLimits::default(), Some(limit), &calendar)
                .unwrap()
                .unwrap();
            prop_assert!(clock.warn_at <= clock.due);
            prop_assert!(clock.due > start);
            let total = calendar.working_minutes_between(start, clock.due).unwrap().working;
            let paused: TimeDelta = case
                .pauses
                .iter()
                .filter(|p| p.from < clock.due)
                .map(|p| calendar
                    .working_minutes_between(p.from, p.to.min(clock.due))
                    .unwrap()
                    .working)
                .sum();
            prop_assert_eq!(total - paused, TimeDelta::hours(i64::from(limit_h)));
        }
    }
}
