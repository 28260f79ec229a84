//! The stored clock columns of a case, recomputed at every transition and by the timer.

use chrono::{DateTime, Utc};
use cityloop_domain::calendar::{TimeLimit, WorkCalendar};
use cityloop_domain::case::{self as machine, Case, Step, Urgency};
use cityloop_domain::rules::ProcessLimits;
use cityloop_store::{CaseClock, CaseRecord};

use crate::{App, AppResult};

pub(crate) fn urgency_code(u: Urgency) -> &'static str {
    match u {
        Urgency::Normal => "normal",
        Urgency::Warning => "warning",
        Urgency::Overdue => "overdue",
        Urgency::Paused => "paused",
        Urgency::None => "none",
    }
}

/// The clock columns of `case` at `now`. `prev` is the stored clock before the transition: a
/// disposal that ends after its due time stays marked overdue.
pub(crate) fn compute(
    prev: Option<(&Case, &CaseClock)>,
    case: &Case,
    process: &ProcessLimits,
    disposal: Option<TimeLimit>,
    calendar: &WorkCalendar,
    now: DateTime<Utc>,
) -> CaseClock {
    let mut disposal_overdue = prev.is_some_and(|(_, c)| c.disposal_overdue);
    if let Some((before, clock)) = prev {
        // Leaving disposal after the due time (late feedback or return) counts as overdue.
        if before.step == Step::Disposing
            && before.parked.is_none()
            && clock.due_at.is_some_and(|d| now > d)
        {
            disposal_overdue = true;
        }
        // A new dispatch gives the new department a clean clock.
        if case.disposal_started_at != before.disposal_started_at
            && case.disposal_started_at == Some(now)
        {
            disposal_overdue = false;
        }
    }
    let clock = match machine::step_clock(case, process, disposal, calendar) {
        Ok(Some(c)) => c,
        _ => {
            return CaseClock {
                due_at: None,
                warn_at: None,
                urgency: urgency_code(Urgency::None).to_owned(),
                next_timer_at: None,
                disposal_overdue,
            };
        }
    };
    let urgency = machine::status(&clock, calendar, now)
        .map(|(u, _)| u)
        .unwrap_or(Urgency::None);
    if case.step == Step::Disposing && urgency == Urgency::Overdue {
        disposal_overdue = true;
    }
    let step_timer = match urgency {
        Urgency::Normal => Some(clock.warn_at),
        Urgency::Warning => Some(clock.due),
        _ => None,
    };
    // A leader's supervision order (督办) has its own due time; the timer looks at it too.
    let supervision_timer = case
        .supervision
        .iter()
        .map(|s| s.due)
        .filter(|d| *d > now)
        .min();
    let next_timer_at = match (step_timer, supervision_timer) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    CaseClock {
        due_at: Some(clock.due),
        warn_at: Some(clock.warn_at),
        urgency: urgency_code(urgency).to_owned(),
        next_timer_at,
        disposal_overdue,
    }
}

impl App {
    /// Limits for the step clock of `case`: process limits of the case's pinned rule set once
    /// filed, else of the rules in force.
    pub(crate) async fn limits_of(
        &self,
        case: &Case,
        now: DateTime<Utc>,
    ) -> AppResult<(ProcessLimits, Option<TimeLimit>)> {
        match case.rule_set_id {
            Some(id) => {
                let content = self.rule_set_content(id).await?;
                let disposal = match (case.class.as_deref(), case.condition.as_deref()) {
                    (Some(class), Some(cond)) => {
                        super::rules::disposal_limit(&content, class, cond)
                    }
                    _ => None,
                };
                Ok((content.process.clone(), disposal))
            }
            None => Ok((self.process_limits(now).await?, None)),
        }
    }

    /// Clock columns after a transition to `case` at `now`.
    pub(crate) async fn clock_after(
        &self,
        prev: Option<&CaseRecord>,
        case: &Case,
        now: DateTime<Utc>,
    ) -> AppResult<CaseClock> {
        let (process, disposal) = self.limits_of(case, now).await?;
        Ok(compute(
            prev.map(|r| (&r.case, &r.clock)),
            case,
            &process,
            disposal,
            &self.calendar(),
            now,
        ))
    }
}
