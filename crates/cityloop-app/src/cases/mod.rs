//! The closed loop as use cases: intake from every channel, the workflow actions of each role,
//! clocks, evidence, duplicates, work queues and notifications.
//!
//! The state machine is `cityloop_domain::case`; this module loads a case, asks the machine,
//! and stores the new state with its event in one transaction. The case's events are its audit
//! trail (actor, role, time, from → to, reason, attachments); denials go to the audit log.

pub(crate) mod clock;
mod demo;
pub(crate) mod evidence;
pub(crate) mod intake;
mod live;
mod notify;
mod positions;
pub(crate) mod rules;
mod timers;
mod views;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use cityloop_domain::case::{self as machine, Action as CaseAction, ActionKind, Source};
use cityloop_domain::{Action, AreaCode, Target};
use cityloop_geo::RawCoordinate;
use cityloop_store::{
    AttachmentRecord, CaseChange, CaseLink, CaseOrder, CaseQuery, CaseRecord, CaseScope, Department,
};
use serde::{Deserialize, Serialize};

use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

pub use demo::{BenchRollups, DemoCasesReport};
pub use evidence::{EvidenceConfig, UploadedBlob};
pub use intake::IntakeConfig;
pub use live::{LiveBatch, LiveCursor, URGENCY_EVERY};
pub(crate) use notify::post_idempotent;
pub use notify::{Notifier, WebhookNotifier};
pub use positions::PositionView;
pub use timers::TickReport;
pub use views::{CaseList, CaseSummary, CaseView, Duplicate, LiveClock, TimelineEntry};

/// A report from any channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    /// `inspector`, `hotline`, `public`, `leader`, `media`, `video`, `sensor`.
    pub source: String,
    pub description: String,
    /// Reported subclass, e.g. `E0101` or `C0118`.
    #[serde(default)]
    pub class: Option<String>,
    /// Where: a coordinate (any supported CRS) …
    #[serde(default)]
    pub location: Option<RawCoordinate>,
    /// … or a component whose location is known.
    #[serde(default)]
    pub component_id: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    /// Hashes of photos uploaded beforehand.
    #[serde(default)]
    pub photos: Vec<String>,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    /// Work-order number in the pushing system (12345 platform, video platform).
    #[serde(default)]
    pub external_ref: Option<String>,
    #[serde(default)]
    pub device_id: Option<String>,
    /// Machine alarms: confidence 0–1.
    #[serde(default)]
    pub confidence: Option<f64>,
}

/// What an intake call returns.
#[derive(Debug, Clone, Serialize)]
pub struct ReportOutcome {
    pub case: CaseView,
    /// True when an earlier call with the same idempotency key created the case.
    pub replayed: bool,
    /// Open cases nearby of the same or a related class, for the acceptor to merge (when asked
    /// for: it costs a spatial query per report).
    pub possible_duplicates: Vec<Duplicate>,
}

/// A workflow action as clients send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionInput {
    Verify {
        confirmed: bool,
        #[serde(default)]
        note: String,
        #[serde(default)]
        photos: Vec<String>,
    },
    Accept,
    Decline {
        reason: String,
    },
    File {
        class: String,
        condition: String,
    },
    Reject {
        reason: String,
    },
    Void {
        reason: String,
    },
    Dispatch {
        department: String,
        #[serde(default)]
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
        /// Defaults to what was asked.
        #[serde(default)]
        minutes: Option<u32>,
    },
    RejectExtension {
        reason: String,
    },
    Feedback {
        #[serde(default)]
        note: String,
        photos: Vec<String>,
    },
    CheckPass {
        #[serde(default)]
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
        #[serde(default)]
        note: String,
    },
    Remind {
        #[serde(default)]
        note: String,
    },
    Reopen {
        reason: String,
    },
    Merge {
        into_case: String,
    },
    Split {
        reason: String,
    },
}

impl ActionInput {
    fn photos(&self) -> &[String] {
        match self {
            ActionInput::Verify { photos, .. }
            | ActionInput::Feedback { photos, .. }
            | ActionInput::CheckPass { photos, .. }
            | ActionInput::CheckFail { photos, .. } => photos,
            _ => &[],
        }
    }
}

/// An action on a case at the version the client saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActInput {
    pub version: i64,
    pub action: ActionInput,
}

/// Search filters as clients send them (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CaseFilter {
    /// Comma-separated steps.
    pub step: Option<String>,
    pub source: Option<String>,
    pub class: Option<String>,
    pub grid: Option<String>,
    /// Community, street or district code.
    pub area: Option<String>,
    pub department: Option<String>,
    /// `warning`, `overdue`, `paused`, `normal` (comma-separated).
    pub urgency: Option<String>,
    pub pending: Option<String>,
    pub supervised: Option<bool>,
    pub reported_since: Option<DateTime<Utc>>,
    pub reported_until: Option<DateTime<Utc>>,
    pub closed_since: Option<DateTime<Utc>>,
    pub closed_until: Option<DateTime<Utc>>,
    /// Text in the description, address or case number.
    pub q: Option<String>,
    /// `due` (default) or `newest`.
    pub order: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
    /// WGS-84 `[west, south, east, north]` (checked by the caller): cases inside the box.
    #[serde(skip)]
    pub bbox: Option<[f64; 4]>,
}

impl CaseFilter {
    /// Every step before closing, as the `step` filter takes it.
    pub fn open_steps() -> String {
        machine::Step::CODES
            .iter()
            .copied()
            .filter(|c| *c != "closed")
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn csv_list(v: &Option<String>) -> Option<Vec<String>> {
    v.as_ref().map(|s| {
        s.split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect()
    })
}

/// The case roles of an application actor. API-token callers (hotline platforms, video and
/// sensor gateways) also act as the system, which is who raises machine alarms.
impl App {
    /// The channels `actor` may record a report from, by the domain's channel rules (the policy
    /// decides whether they may report at all).
    pub fn reportable_sources(&self, actor: &Actor) -> Vec<Source> {
        let roles = case_actor(actor, &[]).roles;
        Source::ALL
            .into_iter()
            .filter(|s| s.reporting_roles().iter().any(|r| roles.contains(r)))
            .collect()
    }
}

pub(crate) fn case_actor(actor: &Actor, departments: &[Department]) -> machine::Actor {
    match actor {
        Actor::System(_) => machine::Actor {
            user_id: 0,
            roles: vec![machine::Role::System],
            department: None,
        },
        Actor::User(p) => {
            use cityloop_domain::Role as R;
            let mut roles: Vec<machine::Role> = p
                .user
                .roles
                .iter()
                .filter_map(|r| match r {
                    R::Inspector => Some(machine::Role::Inspector),
                    R::Acceptor => Some(machine::Role::Acceptor),
                    R::ShiftLeader => Some(machine::Role::ShiftLeader),
                    R::Dispatcher => Some(machine::Role::Dispatcher),
                    R::Handler => Some(machine::Role::Handler),
                    R::Leader => Some(machine::Role::Leader),
                    R::SysAdmin | R::SecAdmin | R::AuditAdmin => None,
                })
                .collect();
            if matches!(p.via, crate::AuthVia::ApiToken(_)) && !roles.is_empty() {
                roles.push(machine::Role::System);
            }
            let department = p.user.department_id.and_then(|id| {
                departments
                    .iter()
                    .find(|d| d.id == id)
                    .map(|d| d.code.clone())
            });
            machine::Actor {
                user_id: p.user.id,
                roles,
                department,
            }
        }
    }
}

/// Ids of the departments holding the case, with their ancestors (for scope checks).
fn case_department_ids(rec: &CaseRecord, departments: &[Department]) -> Vec<i64> {
    let case = &rec.case;
    let codes = case
        .lead_department
        .iter()
        .chain(case.sub_unit.iter())
        .chain(case.assisting.iter());
    let mut ids = Vec::new();
    for code in codes {
        if let Some(d) = departments.iter().find(|d| &d.code == code) {
            for id in crate::department_chain(departments, Some(d.id)) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    ids
}

fn case_area(rec: &CaseRecord) -> Option<AreaCode> {
    rec.intake
        .community_code
        .as_deref()
        .or(rec.intake.street_code.as_deref())
        .and_then(|c| AreaCode::parse(c).ok())
}

fn transition_error(e: machine::TransitionError, current: Option<serde_json::Value>) -> AppError {
    use machine::TransitionError as T;
    match e {
        T::NotAllowedInStep {
            step,
            action,
            allowed,
        } => AppError::IllegalTransition {
            message: format!(
                "{} is not possible while the case is {}",
                action.code(),
                step.code()
            ),
            allowed: allowed.into_iter().map(|k| k.code().to_owned()).collect(),
            current,
        },
        T::RoleMayNot { .. } | T::WrongDepartment { .. } => AppError::Forbidden(e.to_string()),
        T::MissingPhoto => AppError::rejected(
            "photo_required",
            "photos",
            "this step needs at least one photo",
        ),
        T::Invalid { field, message } => {
            AppError::Invalid(cityloop_domain::FieldError::new(field, message))
        }
    }
}

impl App {
    pub(crate) async fn departments(&self) -> AppResult<Vec<Department>> {
        let mut tx = self.store.read().await?;
        Ok(tx.list_departments().await?)
    }

    /// Authorises `action` on one case and returns it with the departments list.
    async fn authorize_case(
        &self,
        actor: &Actor,
        action: Action,
        id: &str,
        ctx: &Ctx,
    ) -> AppResult<(CaseRecord, Vec<Department>)> {
        let (rec, departments) = {
            let mut tx = self.store.read().await?;
            let rec = tx.get_case(id).await?;
            (rec, tx.list_departments().await?)
        };
        let rec = rec.ok_or(AppError::NotFound("case"))?;
        let ids = case_department_ids(&rec, &departments);
        let area = case_area(&rec);
        self.authorize(
            actor,
            action,
            &Target::Case {
                area: area.as_ref(),
                department_ids: &ids,
                reported_by: rec.case.reported_by,
            },
            Obj::new("case", id),
            ctx,
        )
        .await?;
        Ok((rec, departments))
    }

    /// Reports a case. With an idempotency key, a retry returns the case the first call created
    /// and the same key with a different body is refused.
    pub async fn report(
        &self,
        actor: &Actor,
        input: ReportInput,
        idempotency_key: Option<&str>,
        suggest_duplicates: bool,
        ctx: &Ctx,
    ) -> AppResult<ReportOutcome> {
        self.authorize(
            actor,
            Action::CaseReport,
            &Target::Collection,
            Obj::kind("case"),
            ctx,
        )
        .await?;
        let departments = self.departments_cached().await?;
        let who = case_actor(actor, &departments);
        let input_photos = input.photos.clone();
        let (record, replayed) = self
            .intake(&who, actor.id().unwrap_or(0), input, idempotency_key)
            .await?;
        let possible_duplicates = if suggest_duplicates {
            self.duplicates_of(&record).await.unwrap_or_default()
        } else {
            Vec::new()
        };
        let attachments = if replayed {
            let mut tx = self.store.read().await?;
            tx.case_attachments(&record.case.id).await?
        } else {
            input_photos
                .iter()
                .map(|h| AttachmentRecord {
                    case_id: record.case.id.clone(),
                    hash: h.clone(),
                    stage: "report".into(),
                    event_version: 1,
                    flags: serde_json::json!([]),
                    created_at: record.case.reported_at,
                })
                .collect()
        };
        let view = self.view_of(record, &who, attachments, Vec::new()).await?;
        Ok(ReportOutcome {
            case: view,
            replayed,
            possible_duplicates,
        })
    }

    /// One case with its live clock, the caller's allowed actions, evidence and links.
    pub async fn get_case(&self, actor: &Actor, id: &str, ctx: &Ctx) -> AppResult<CaseView> {
        let (rec, departments) = self
            .authorize_case(actor, Action::CaseRead, id, ctx)
            .await?;
        let who = case_actor(actor, &departments);
        let (attachments, links) = {
            let mut tx = self.store.read().await?;
            (tx.case_attachments(id).await?, tx.case_links(id).await?)
        };
        self.view_of(rec, &who, attachments, links).await
    }

    /// The case's history, oldest first, with the evidence each step attached.
    pub async fn case_timeline(
        &self,
        actor: &Actor,
        id: &str,
        ctx: &Ctx,
    ) -> AppResult<Vec<TimelineEntry>> {
        self.authorize_case(actor, Action::CaseRead, id, ctx)
            .await?;
        let mut tx = self.store.read().await?;
        let events = tx.case_events(id).await?;
        let attachments = tx.case_attachments(id).await?;
        Ok(views::timeline(events, attachments))
    }

    /// Performs one workflow action.
    pub async fn act(
        &self,
        actor: &Actor,
        id: &str,
        input: ActInput,
        ctx: &Ctx,
    ) -> AppResult<CaseView> {
        let (seen, departments) = self.authorize_case(actor, Action::CaseAct, id, ctx).await?;
        let who = case_actor(actor, &departments);
        let now = self.now();
        if input.version != i64::try_from(seen.case.version).unwrap_or(i64::MAX) {
            return Err(AppError::VersionConflict {
                current: Some(serde_json::to_value(self.summary_of(&seen)).unwrap_or_default()),
            });
        }
        let photos = input.action.photos().to_vec();
        let blobs = self.require_blobs(&photos).await?;
        let action = self
            .to_case_action(&seen, input.action.clone(), &departments, now)
            .await?;

        let mut tx = self.store.write().await?;
        let rec = tx
            .get_case_for_update(id)
            .await?
            .ok_or(AppError::NotFound("case"))?;
        if rec.case.version != seen.case.version {
            drop(tx);
            return Err(AppError::VersionConflict {
                current: Some(serde_json::to_value(self.summary_of(&rec)).unwrap_or_default()),
            });
        }
        let t = match machine::apply(&rec.case, &who, action.clone(), now) {
            Ok(t) => t,
            Err(e) => {
                drop(tx);
                let current = serde_json::to_value(self.summary_of(&rec)).ok();
                return Err(transition_error(e, current));
            }
        };
        let clock = self
            .clock_after(Some(&rec), &t.case, now)
            .await
            .unwrap_or_default();
        let expected_version = i64::try_from(rec.case.version).unwrap_or(i64::MAX);
        let event_version = i64::try_from(t.event.version).unwrap_or(i64::MAX);
        let change = CaseChange {
            case: t.case.clone(),
            clock: clock.clone(),
            event: t.event.clone(),
            expected_version,
        };
        let history = tx.case_events(id).await?;
        let r = tx.apply_case_change(&change).await;
        if let Err(cityloop_store::StoreError::VersionConflict) = r {
            drop(tx);
            return Err(AppError::VersionConflict {
                current: self.current_case_json(id).await,
            });
        }
        r?;
        let accepted = tx
            .list_objections(&cityloop_store::ObjectionQuery {
                status: Some("accepted".into()),
                case_id: Some(id.to_owned()),
                ..Default::default()
            })
            .await?;
        let deltas = self
            .rollup_deltas_for(
                &history,
                &t.event,
                crate::evaluation::meta_of(&rec.intake).as_ref(),
                crate::evaluation::objections::exclusions(&accepted),
            )
            .await?;
        crate::evaluation::apply_rollup_deltas(tx.as_mut(), &deltas, now).await?;
        if !photos.is_empty() {
            let stage = action.kind().code().to_owned();
            let before = if matches!(action, CaseAction::Feedback { .. }) {
                tx.case_attachments(id).await?
            } else {
                Vec::new()
            };
            let flags = if matches!(action, CaseAction::Feedback { .. }) {
                let before_blobs = tx
                    .get_blobs(
                        &before
                            .iter()
                            .filter(|a| a.stage == "report" || a.stage == "verify")
                            .map(|a| a.hash.clone())
                            .collect::<Vec<_>>(),
                    )
                    .await?;
                evidence::flags_for(
                    &blobs,
                    &before_blobs,
                    &rec,
                    &t.case,
                    self.cases_cfg.evidence.max_distance_m,
                )
            } else {
                HashMap::new()
            };
            let rows: Vec<AttachmentRecord> = photos
                .iter()
                .map(|h| AttachmentRecord {
                    case_id: id.to_owned(),
                    hash: h.clone(),
                    stage: stage.clone(),
                    event_version,
                    flags: flags
                        .get(h)
                        .cloned()
                        .unwrap_or_else(|| serde_json::json!([])),
                    created_at: now,
                })
                .collect();
            tx.insert_attachments(&rows).await?;
        }
        match &action {
            CaseAction::Merge { into_case } => {
                tx.insert_case_link(&CaseLink {
                    from_case: id.to_owned(),
                    to_case: into_case.clone(),
                    kind: "merged".into(),
                    created_by: who.user_id,
                    created_at: now,
                })
                .await?;
            }
            CaseAction::Split { .. } => {
                tx.delete_case_link(id, "merged").await?;
            }
            _ => {}
        }
        let links = tx.case_links(id).await?;
        let notes = notify::for_transition(&rec, &t, &links, &self.spatial(), &departments);
        tx.insert_outbox(&notes).await?;
        crate::public::on_transition(tx.as_mut(), &departments, &t).await?;
        tx.commit().await?;
        let new = CaseRecord {
            case: t.case,
            intake: rec.intake,
            clock,
        };
        let attachments = {
            let mut rtx = self.store.read().await?;
            rtx.case_attachments(id).await?
        };
        self.view_of(new, &who, attachments, links).await
    }

    async fn current_case_json(&self, id: &str) -> Option<serde_json::Value> {
        let mut tx = self.store.read().await.ok()?;
        let rec = tx.get_case(id).await.ok()??;
        serde_json::to_value(self.summary_of(&rec)).ok()
    }

    /// Turns a client's action into the machine's, checking it against the rules and the
    /// organisation (the machine checks step, role, department and payload shape).
    async fn to_case_action(
        &self,
        rec: &CaseRecord,
        input: ActionInput,
        departments: &[Department],
        now: DateTime<Utc>,
    ) -> AppResult<CaseAction> {
        let dept = |code: &str, field: &str| -> AppResult<Department> {
            departments
                .iter()
                .find(|d| d.code == code && d.active)
                .cloned()
                .ok_or_else(|| {
                    AppError::rejected(
                        "unknown_department",
                        field,
                        format!("no active department {code}"),
                    )
                })
        };
        Ok(match input {
            ActionInput::Verify {
                confirmed, note, ..
            } => CaseAction::Verify { confirmed, note },
            ActionInput::Accept => CaseAction::Accept,
            ActionInput::Decline { reason } => CaseAction::Decline { reason },
            ActionInput::File { class, condition } => {
                let (set_id, content) = self.rules_in_force(now).await?.ok_or_else(|| {
                    AppError::rejected(
                        "no_rules_in_force",
                        "class",
                        "no published rule set is in force",
                    )
                })?;
                if !content
                    .conditions
                    .iter()
                    .any(|c| c.class.to_string() == class)
                {
                    return Err(AppError::rejected(
                        "unknown_class",
                        "class",
                        format!("the rules in force have no filing conditions for {class}"),
                    ));
                }
                if rules::disposal_limit(&content, &class, &condition).is_none() {
                    return Err(AppError::rejected(
                        "unknown_condition",
                        "condition",
                        format!("{class} has no filing condition \u{201c}{condition}\u{201d}"),
                    ));
                }
                CaseAction::File {
                    class,
                    condition,
                    rule_set_id: set_id,
                }
            }
            ActionInput::Reject { reason } => CaseAction::Reject { reason },
            ActionInput::Void { reason } => CaseAction::Void { reason },
            ActionInput::Dispatch {
                department,
                assisting,
            } => {
                dept(&department, "department")?;
                for a in &assisting {
                    dept(a, "assisting")?;
                }
                CaseAction::Dispatch {
                    department,
                    assisting,
                }
            }
            ActionInput::SubDispatch { sub_unit } => {
                let unit = dept(&sub_unit, "sub_unit")?;
                let lead = rec
                    .case
                    .lead_department
                    .as_deref()
                    .and_then(|c| departments.iter().find(|d| d.code == c));
                if lead.is_none_or(|l| unit.parent_id != Some(l.id)) {
                    return Err(AppError::rejected(
                        "not_a_sub_unit",
                        "sub_unit",
                        format!("{sub_unit} is not a sub-unit of the lead department"),
                    ));
                }
                CaseAction::SubDispatch { sub_unit }
            }
            ActionInput::RequestReturn { reason } => CaseAction::RequestReturn { reason },
            ActionInput::ApproveReturn => CaseAction::ApproveReturn,
            ActionInput::RefuseReturn { reason } => CaseAction::RefuseReturn { reason },
            ActionInput::RequestExtension { minutes, reason } => {
                CaseAction::RequestExtension { minutes, reason }
            }
            ActionInput::ApproveExtension { minutes } => CaseAction::ApproveExtension {
                minutes: minutes.unwrap_or_else(|| {
                    rec.case.extension_pending.as_ref().map_or(0, |r| r.minutes)
                }),
            },
            ActionInput::RejectExtension { reason } => CaseAction::RejectExtension { reason },
            ActionInput::Feedback { note, photos } => CaseAction::Feedback { note, photos },
            ActionInput::CheckPass { note, photos } => CaseAction::CheckPass { note, photos },
            ActionInput::CheckFail { reason, photos } => CaseAction::CheckFail { reason, photos },
            ActionInput::Close => CaseAction::Close,
            ActionInput::RequestPark { reason } => CaseAction::RequestPark { reason },
            ActionInput::ApprovePark => CaseAction::ApprovePark,
            ActionInput::Unpark => CaseAction::Unpark,
            ActionInput::Defer { reason } => CaseAction::Defer { reason },
            ActionInput::Resume => CaseAction::Resume,
            ActionInput::Supervise { due, note } => CaseAction::Supervise { due, note },
            ActionInput::Remind { note } => CaseAction::Remind { note },
            ActionInput::Reopen { reason } => CaseAction::Reopen { reason },
            ActionInput::Merge { into_case } => {
                let target = {
                    let mut tx = self.store.read().await?;
                    tx.get_case(&into_case).await?
                };
                match target {
                    None => {
                        return Err(AppError::rejected(
                            "unknown_case",
                            "into_case",
                            format!("no case {into_case}"),
                        ));
                    }
                    Some(t) if matches!(t.case.step, machine::Step::Closed(_)) => {
                        return Err(AppError::rejected(
                            "case_closed",
                            "into_case",
                            format!("{into_case} is closed; merge into an open case"),
                        ));
                    }
                    Some(_) => {}
                }
                CaseAction::Merge { into_case }
            }
            ActionInput::Split { reason } => CaseAction::Split { reason },
        })
    }

    /// Search and lists, limited to what the caller may see.
    pub async fn search_cases(
        &self,
        actor: &Actor,
        filter: &CaseFilter,
        ctx: &Ctx,
    ) -> AppResult<CaseList> {
        let scope = self
            .authorize(
                actor,
                Action::CaseRead,
                &Target::Collection,
                Obj::kind("case"),
                ctx,
            )
            .await?;
        let departments = self.departments_cached().await?;
        let mut q = query_of(filter)?;
        q.scope = self.case_scope(&scope, &departments);
        let (items, total) = {
            let mut tx = self.store.read().await?;
            let items = tx.list_cases(&q).await?;
            let total = tx.count_cases(&q).await?;
            (items, total)
        };
        Ok(CaseList {
            total,
            offset: q.offset,
            limit: q.limit,
            items: items.iter().map(|r| self.summary_of(r)).collect(),
        })
    }

    fn case_scope(
        &self,
        scope: &cityloop_domain::DataScope,
        departments: &[Department],
    ) -> Option<CaseScope> {
        match scope {
            cityloop_domain::DataScope::All => None,
            cityloop_domain::DataScope::Limited {
                department_id,
                areas,
                user_id,
            } => {
                let mut codes = Vec::new();
                if let Some(id) = department_id {
                    for d in departments {
                        if crate::department_chain(departments, Some(d.id)).contains(id) {
                            codes.push(d.code.clone());
                        }
                    }
                }
                Some(CaseScope {
                    area_codes: areas.iter().map(|a| a.to_string()).collect(),
                    departments: codes,
                    user_id: *user_id,
                })
            }
        }
    }

    /// The caller's to-do list over all their roles, most urgent first.
    pub async fn my_tasks(
        &self,
        actor: &Actor,
        limit: i64,
        ctx: &Ctx,
    ) -> AppResult<Vec<CaseSummary>> {
        let scope = self
            .authorize(
                actor,
                Action::CaseRead,
                &Target::Collection,
                Obj::kind("case"),
                ctx,
            )
            .await?;
        let Actor::User(p) = actor else {
            return Ok(Vec::new());
        };
        let departments = self.departments_cached().await?;
        let scope = self.case_scope(&scope, &departments);
        let own_departments: Vec<String> = p
            .user
            .department_id
            .map(|id| {
                departments
                    .iter()
                    .filter(|d| crate::department_chain(&departments, Some(d.id)).contains(&id))
                    .map(|d| d.code.clone())
                    .collect()
            })
            .unwrap_or_default();
        let limit = limit.clamp(1, 500);
        let base = CaseQuery {
            scope: scope.clone(),
            order: CaseOrder::Due,
            limit,
            ..Default::default()
        };
        let steps = |s: &[&str]| Some(s.iter().map(|x| (*x).to_owned()).collect());
        let mut queries = Vec::new();
        use cityloop_domain::Role as R;
        for role in &p.user.roles {
            match role {
                R::Inspector => {
                    let areas: Vec<String> = p.user.areas.clone();
                    queries.push(CaseQuery {
                        steps: steps(&["verifying", "checking"]),
                        area_codes: Some(areas),
                        ..base.clone()
                    });
                }
                R::Acceptor => queries.push(CaseQuery {
                    steps: steps(&["accepting"]),
                    ..base.clone()
                }),
                R::ShiftLeader => {
                    queries.push(CaseQuery {
                        steps: steps(&["filing", "closing", "return_review"]),
                        ..base.clone()
                    });
                    queries.push(CaseQuery {
                        pending: Some(vec!["extension".into(), "park".into()]),
                        ..base.clone()
                    });
                }
                R::Dispatcher => queries.push(CaseQuery {
                    steps: steps(&["dispatching"]),
                    ..base.clone()
                }),
                R::Handler if !own_departments.is_empty() => queries.push(CaseQuery {
                    steps: steps(&["disposing"]),
                    departments: Some(own_departments.clone()),
                    ..base.clone()
                }),
                R::Leader => queries.push(CaseQuery {
                    supervised: Some(true),
                    steps: steps(&machine::Step::CODES[..8]),
                    ..base.clone()
                }),
                _ => {}
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        {
            let mut tx = self.store.read().await?;
            for q in &queries {
                for r in tx.list_cases(q).await? {
                    if seen.insert(r.case.id.clone()) {
                        out.push(r);
                    }
                }
            }
        }
        out.sort_by(|a, b| {
            (a.clock.due_at.is_none(), a.clock.due_at, a.case.reported_at).cmp(&(
                b.clock.due_at.is_none(),
                b.clock.due_at,
                b.case.reported_at,
            ))
        });
        out.truncate(usize::try_from(limit).unwrap_or(100));
        Ok(out.iter().map(|r| self.summary_of(r)).collect())
    }

    /// Open cases near this one of the same or a related class, most likely first.
    pub async fn case_duplicates(
        &self,
        actor: &Actor,
        id: &str,
        ctx: &Ctx,
    ) -> AppResult<Vec<Duplicate>> {
        let (rec, _) = self
            .authorize_case(actor, Action::CaseRead, id, ctx)
            .await?;
        self.duplicates_of(&rec).await
    }

    async fn duplicates_of(&self, rec: &CaseRecord) -> AppResult<Vec<Duplicate>> {
        let cfg = &self.cases_cfg;
        let (lon, lat) = (rec.intake.lon, rec.intake.lat);
        let dlat = cfg.duplicate_radius_m / 111_320.0;
        let dlon = dlat / lat.to_radians().cos().max(0.1);
        let since = rec.case.reported_at - Duration::hours(cfg.duplicate_window_hours);
        let near = {
            let mut tx = self.store.read().await?;
            tx.open_cases_near([lon - dlon, lat - dlat, lon + dlon, lat + dlat], since, 50)
                .await?
        };
        let class = rec
            .case
            .class
            .clone()
            .or_else(|| rec.intake.reported_class.clone());
        let mut out: Vec<Duplicate> = near
            .into_iter()
            .filter(|o| o.case.id != rec.case.id && o.case.merged_into.is_none())
            .filter_map(|o| {
                let other = o
                    .case
                    .class
                    .clone()
                    .or_else(|| o.intake.reported_class.clone());
                let relation = match (&class, &other) {
                    (Some(a), Some(b)) if a == b => "same_class",
                    (Some(a), Some(b)) if a.get(..3) == b.get(..3) => "related_class",
                    (None, _) | (_, None) => "unclassified",
                    _ => return None,
                };
                let d = cityloop_evidence::haversine_m((lat, lon), (o.intake.lat, o.intake.lon));
                (d <= cfg.duplicate_radius_m).then(|| Duplicate {
                    distance_m: (d * 10.0).round() / 10.0,
                    relation: relation.to_owned(),
                    case: self.summary_of(&o),
                })
            })
            .collect();
        out.sort_by(|a, b| {
            let rank = |r: &str| match r {
                "same_class" => 0,
                "related_class" => 1,
                _ => 2,
            };
            (rank(&a.relation), a.distance_m)
                .partial_cmp(&(rank(&b.relation), b.distance_m))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        out.truncate(10);
        Ok(out)
    }

    /// Departments suggested for dispatching this case (responsibility matrix of the rules in
    /// force, then the filing condition's default department).
    pub async fn dispatch_suggestions(
        &self,
        actor: &Actor,
        id: &str,
        ctx: &Ctx,
    ) -> AppResult<Vec<crate::standards::DispatchSuggestion>> {
        let (rec, _) = self
            .authorize_case(actor, Action::CaseRead, id, ctx)
            .await?;
        let Some(class) = rec
            .case
            .class
            .clone()
            .or_else(|| rec.intake.reported_class.clone())
        else {
            return Ok(Vec::new());
        };
        let Ok(class) = class.parse() else {
            return Ok(Vec::new());
        };
        let now = self.now();
        let situation = cityloop_domain::responsibility::Situation {
            class,
            area: case_area(&rec),
            grid: rec.intake.grid_code.clone(),
            owner_department: None,
            local_time: cityloop_domain::responsibility::china_time_of_day(now),
        };
        // Departments that returned the case are not suggested again.
        let events = {
            let mut tx = self.store.read().await?;
            tx.case_events(&rec.case.id).await?
        };
        let excluded: Vec<String> = events
            .iter()
            .filter(|e| e.kind == machine::EventKind::Acted(ActionKind::RequestReturn))
            .filter_map(|e| e.actor_department.clone())
            .collect();
        self.suggest_departments(actor, &situation, now, &excluded, ctx)
            .await
    }
}

fn query_of(f: &CaseFilter) -> AppResult<CaseQuery> {
    let steps = csv_list(&f.step);
    if let Some(steps) = &steps
        && let Some(bad) = steps
            .iter()
            .find(|s| !machine::Step::CODES.contains(&s.as_str()))
    {
        return Err(AppError::rejected(
            "unknown_step",
            "step",
            format!(
                "unknown step {bad}; one of {}",
                machine::Step::CODES.join(", ")
            ),
        ));
    }
    let sources = csv_list(&f.source);
    if let Some(sources) = &sources
        && let Some(bad) = sources.iter().find(|s| Source::from_code(s).is_none())
    {
        return Err(AppError::rejected(
            "unknown_source",
            "source",
            format!("unknown source {bad}"),
        ));
    }
    let order = match f.order.as_deref() {
        None | Some("due") => CaseOrder::Due,
        Some("newest") => CaseOrder::Newest,
        Some(other) => {
            return Err(AppError::rejected(
                "unknown_order",
                "order",
                format!("order must be due or newest, not {other}"),
            ));
        }
    };
    Ok(CaseQuery {
        steps,
        sources,
        class: f.class.clone(),
        grid_code: f.grid.clone(),
        area_codes: f.area.clone().map(|a| vec![a]),
        departments: csv_list(&f.department),
        urgencies: csv_list(&f.urgency),
        pending: csv_list(&f.pending),
        reported_by: None,
        scope: None,
        reported_since: f.reported_since,
        reported_until: f.reported_until,
        closed_since: f.closed_since,
        closed_until: f.closed_until,
        text: f.q.clone().filter(|q| !q.trim().is_empty()),
        supervised: f.supervised,
        bbox: f.bbox,
        order,
        offset: f.offset.unwrap_or(0).max(0),
        limit: f.limit.unwrap_or(50).clamp(1, 500),
    })
}

/// Tunables of the closed loop.
#[derive(Debug, Clone)]
pub struct CasesConfig {
    pub duplicate_radius_m: f64,
    pub duplicate_window_hours: i64,
    /// Idempotency keys are kept at least this long (field phones stay offline for days).
    pub idempotency_days: i64,
    /// Inspector reports must carry a photo.
    pub inspector_photo_required: bool,
    pub intake: IntakeConfig,
    pub evidence: EvidenceConfig,
}

impl Default for CasesConfig {
    fn default() -> Self {
        CasesConfig {
            duplicate_radius_m: 100.0,
            duplicate_window_hours: 72,
            idempotency_days: 8,
            inspector_photo_required: true,
            intake: IntakeConfig::default(),
            evidence: EvidenceConfig::default(),
        }
    }
}
