//! What clients see of a case.

use chrono::{DateTime, Utc};
use cityloop_domain::case::{self as machine, ActionKind, Case, Event, Urgency};
use cityloop_store::{AttachmentRecord, CaseIntake, CaseLink, CaseRecord};
use serde::Serialize;

use super::clock::urgency_code;
use crate::{App, AppResult};

/// The clock of the current step as of now.
#[derive(Debug, Clone, Serialize, Default)]
pub struct LiveClock {
    /// The step's limit as written in the rules (e.g. `2个工作日`).
    pub limit: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
    /// `normal`, `warning`, `overdue`, `paused` or `none`.
    pub urgency: String,
    /// Working minutes left (elapsed minutes for urgent limits); negative when overdue.
    pub remaining_minutes: Option<i64>,
    pub paused_since: Option<DateTime<Utc>>,
    /// Holiday data for a year in the computation is missing.
    pub provisional: bool,
    /// The disposal has run past its due time at least once.
    pub disposal_overdue: bool,
    /// Due time of the latest supervision order (督办), and whether it has passed unresolved.
    pub supervision_due: Option<DateTime<Utc>>,
    pub supervision_overdue: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttachmentView {
    pub hash: String,
    pub stage: String,
    pub event_version: i64,
    pub url: String,
    pub thumbnail_url: String,
    /// Plausibility flags for the checker (after-photo taken before dispatch, far from the
    /// case, identical to a before-photo…).
    pub flags: serde_json::Value,
}

fn attachment_view(a: AttachmentRecord) -> AttachmentView {
    AttachmentView {
        url: format!("/api/v1/blobs/{}", a.hash),
        thumbnail_url: format!("/api/v1/blobs/{}/thumbnail", a.hash),
        hash: a.hash,
        stage: a.stage,
        event_version: a.event_version,
        flags: a.flags,
    }
}

/// One case in full.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    pub id: String,
    pub step: &'static str,
    pub outcome: Option<&'static str>,
    pub source: &'static str,
    pub version: u64,
    pub case: Case,
    pub intake: CaseIntake,
    pub clock: LiveClock,
    /// What the caller may do now.
    pub allowed: Vec<String>,
    /// Before photos (report, verification) and after photos (feedback, check).
    pub attachments: Vec<AttachmentView>,
    pub links: Vec<CaseLink>,
}

/// One row of a list.
#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    pub id: String,
    pub step: &'static str,
    pub outcome: Option<&'static str>,
    pub source: &'static str,
    pub version: u64,
    pub description: String,
    pub class: Option<String>,
    pub address: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub grid_code: Option<String>,
    pub community_code: Option<String>,
    pub street_code: Option<String>,
    pub department: Option<String>,
    pub sub_unit: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub urgency: String,
    /// Working minutes left until `due_at` (negative once overdue); frozen at the start of a
    /// pause (挂账, 缓办), since a paused step's clock does not run.
    pub remaining_minutes: Option<i64>,
    pub pending: Option<&'static str>,
    pub hold: Option<&'static str>,
    pub supervised: bool,
    pub rework_count: u32,
    pub merged_into: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseList {
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
    pub items: Vec<CaseSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    pub distance_m: f64,
    /// `same_class`, `related_class` (same major class) or `unclassified`.
    pub relation: String,
    pub case: CaseSummary,
}

/// One event of the timeline with the evidence it attached.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub version: u64,
    /// `opened` or the action.
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    pub actor_id: i64,
    pub actor_role: machine::Role,
    pub actor_department: Option<String>,
    pub from: &'static str,
    pub to: &'static str,
    pub note: String,
    pub details: machine::Details,
    pub attachments: Vec<AttachmentView>,
}

pub(crate) fn timeline(
    events: Vec<Event>,
    attachments: Vec<AttachmentRecord>,
) -> Vec<TimelineEntry> {
    events
        .into_iter()
        .map(|e| {
            let version = e.version;
            TimelineEntry {
                version,
                kind: e.kind.code(),
                at: e.at,
                actor_id: e.actor_id,
                actor_role: e.actor_role,
                actor_department: e.actor_department,
                from: e.from.code(),
                to: e.to.code(),
                note: e.note,
                details: e.details,
                attachments: attachments
                    .iter()
                    .filter(|a| u64::try_from(a.event_version).ok() == Some(version))
                    .cloned()
                    .map(attachment_view)
                    .collect(),
            }
        })
        .collect()
}

impl App {
    /// Working minutes from `at` to `due`, negative once `at` is past it.
    fn working_minutes_left(&self, at: DateTime<Utc>, due: DateTime<Utc>) -> Option<i64> {
        let cal = self.calendar();
        if due >= at {
            cal.working_minutes_between(at, due)
                .ok()
                .map(|e| e.minutes())
        } else {
            cal.working_minutes_between(due, at)
                .ok()
                .map(|e| -e.minutes())
        }
    }

    pub(crate) fn summary_of(&self, r: &CaseRecord) -> CaseSummary {
        let c = &r.case;
        let now = self.now();
        // The stored urgency may be up to one timer tick old; derive it from the instants.
        let urgency = if c.parked.is_some() || c.deferred.is_some() {
            "paused".to_owned()
        } else {
            match (r.clock.due_at, r.clock.warn_at) {
                (Some(d), _) if now >= d => "overdue".to_owned(),
                (Some(_), Some(w)) if now >= w => "warning".to_owned(),
                (Some(_), _) => "normal".to_owned(),
                _ => r.clock.urgency.clone(),
            }
        };
        let paused_since = c
            .parked
            .as_ref()
            .map(|p| p.approved_at)
            .or_else(|| c.deferred.as_ref().map(|d| d.at));
        let remaining_minutes = r
            .clock
            .due_at
            .and_then(|due| self.working_minutes_left(paused_since.unwrap_or(now), due));
        CaseSummary {
            id: c.id.clone(),
            step: c.step.code(),
            outcome: c.step.outcome().map(machine::Outcome::code),
            source: c.source.code(),
            version: c.version,
            description: c.description.clone(),
            class: c.class.clone().or_else(|| r.intake.reported_class.clone()),
            address: r.intake.address.clone(),
            lon: r.intake.lon,
            lat: r.intake.lat,
            grid_code: r.intake.grid_code.clone(),
            community_code: r.intake.community_code.clone(),
            street_code: r.intake.street_code.clone(),
            department: c.lead_department.clone(),
            sub_unit: c.sub_unit.clone(),
            reported_at: c.reported_at,
            updated_at: c.updated_at,
            closed_at: c.closed_at,
            due_at: r.clock.due_at,
            urgency,
            remaining_minutes,
            pending: if c.extension_pending.is_some() {
                Some("extension")
            } else if c.park_request.is_some() {
                Some("park")
            } else {
                None
            },
            hold: if c.parked.is_some() {
                Some("parked")
            } else if c.deferred.is_some() {
                Some("deferred")
            } else {
                None
            },
            supervised: !c.supervision.is_empty(),
            rework_count: c.rework_count,
            merged_into: c.merged_into.clone(),
        }
    }

    pub(crate) async fn live_clock(&self, r: &CaseRecord) -> AppResult<LiveClock> {
        let now = self.now();
        let (process, disposal) = self.limits_of(&r.case, now).await?;
        let calendar = self.calendar();
        let supervision_due = r.case.supervision.last().map(|s| s.due);
        let supervision_overdue = supervision_due.is_some_and(|d| now > d)
            && !matches!(r.case.step, machine::Step::Closed(_));
        let Ok(Some(clock)) = machine::step_clock(&r.case, &process, disposal, &calendar) else {
            return Ok(LiveClock {
                urgency: urgency_code(Urgency::None).to_owned(),
                disposal_overdue: r.clock.disposal_overdue,
                supervision_due,
                supervision_overdue,
                ..Default::default()
            });
        };
        let (urgency, remaining) = machine::status(&clock, &calendar, now)
            .map(|(u, m)| (u, Some(m)))
            .unwrap_or((Urgency::None, None));
        Ok(LiveClock {
            limit: Some(clock.limit.to_string()),
            started_at: Some(clock.started_at),
            due_at: Some(clock.due),
            warn_at: Some(clock.warn_at),
            urgency: urgency_code(urgency).to_owned(),
            remaining_minutes: remaining,
            paused_since: clock.paused_since,
            provisional: clock.provisional,
            disposal_overdue: r.clock.disposal_overdue
                || (r.case.step == machine::Step::Disposing && urgency == Urgency::Overdue),
            supervision_due,
            supervision_overdue,
        })
    }

    pub(crate) async fn view_of(
        &self,
        r: CaseRecord,
        who: &machine::Actor,
        attachments: Vec<AttachmentRecord>,
        links: Vec<CaseLink>,
    ) -> AppResult<CaseView> {
        let clock = self.live_clock(&r).await?;
        let allowed: Vec<ActionKind> = machine::allowed(&r.case, who);
        Ok(CaseView {
            id: r.case.id.clone(),
            step: r.case.step.code(),
            outcome: r.case.step.outcome().map(machine::Outcome::code),
            source: r.case.source.code(),
            version: r.case.version,
            allowed: allowed.into_iter().map(|k| k.code().to_owned()).collect(),
            attachments: attachments.into_iter().map(attachment_view).collect(),
            links,
            clock,
            // The reporter's phone is kept for follow-up; screens show it masked.
            intake: CaseIntake {
                contact_phone: r
                    .intake
                    .contact_phone
                    .as_deref()
                    .map(crate::public::mask_phone),
                ..r.intake
            },
            case: r.case,
        })
    }
}
