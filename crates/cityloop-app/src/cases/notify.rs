//! Notifications through a transactional outbox: written in the transaction of the change that
//! causes them, delivered afterwards at least once, deduplicated by the receiver on
//! (recipient, dedup key). In-app messages are delivered in the same transaction that marks
//! the outbox row done; webhook and SMS adapters implement [`Notifier`].

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use cityloop_domain::case::{ActionKind, EventKind, Step, Transition};
use cityloop_store::{
    CaseLink, CaseRecord, Department, MessageNew, MessageRecord, OutboxNew, OutboxRecord,
};
use serde::Serialize;

use crate::spatial::SpatialState;
use crate::{Actor, App, AppError, AppResult};

/// An external delivery channel (webhook, SMS gateway). Must be idempotent on
/// `item.dedup_key`: a crash between sending and marking the row sends it again.
#[async_trait]
pub trait Notifier: Send + Sync {
    fn channel(&self) -> &'static str;
    async fn send(&self, item: &OutboxRecord) -> Result<(), String>;
}

/// Posts each notification as JSON to a URL, with the dedup key as `Idempotency-Key`.
pub struct WebhookNotifier {
    pub url: String,
    pub client: reqwest::Client,
}

#[async_trait]
impl Notifier for WebhookNotifier {
    fn channel(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, item: &OutboxRecord) -> Result<(), String> {
        post_idempotent(&self.client, &self.url, &item.dedup_key, item).await
    }
}

/// One delivery attempt of a JSON body to a webhook. The key lets the receiver drop repeats,
/// since the outbox delivers at least once; any answer but 2xx is a failure to retry.
pub(crate) async fn post_idempotent(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: &(impl Serialize + ?Sized),
) -> Result<(), String> {
    let r = client
        .post(url)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url} answered {}", r.status()))
    }
}

#[derive(Serialize)]
struct Payload<'a> {
    title: String,
    body: String,
    step: &'a str,
}

fn item(
    recipient: String,
    case: &CaseRecord,
    version: u64,
    kind: &str,
    title: String,
    body: String,
) -> OutboxNew {
    OutboxNew {
        channel: "inbox".into(),
        dedup_key: format!("{}:{}:{}", case.case.id, version, kind),
        recipient,
        case_id: Some(case.case.id.clone()),
        kind: kind.to_owned(),
        payload: serde_json::to_value(Payload {
            title,
            body,
            step: case.case.step.code(),
        })
        .unwrap_or_default(),
        created_at: case.case.updated_at,
    }
}

fn inspectors_of(case: &CaseRecord, inspectors: &[i64]) -> Vec<String> {
    if inspectors.is_empty() {
        // No responsibility grid: every inspector of the street sees it.
        case.intake
            .street_code
            .iter()
            .map(|s| format!("area:{s}"))
            .collect()
    } else {
        inspectors.iter().map(|i| format!("user:{i}")).collect()
    }
}

fn short(text: &str) -> String {
    let t: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        format!("{t}…")
    } else {
        t
    }
}

/// Who hears about a new case. The centre's desks (acceptors, shift leaders, dispatchers) work
/// from their queues, which show every waiting case; a message per case would bury them, so
/// messages go to people outside the centre: inspectors in the field, departments, reporters,
/// and the shift leader for requests that come from departments.
pub(crate) fn for_opened(case: &CaseRecord, inspectors: &[i64]) -> Vec<OutboxNew> {
    let desc = short(&case.case.description);
    let where_ = case.intake.address.clone().unwrap_or_default();
    match case.case.step {
        Step::Verifying => inspectors_of(case, inspectors)
            .into_iter()
            .map(|r| {
                item(
                    r,
                    case,
                    1,
                    "verify_task",
                    format!("待核实 {}", case.case.id),
                    format!("{desc} {where_}"),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Who hears about a transition.
pub(crate) fn for_transition(
    before: &CaseRecord,
    t: &Transition,
    links: &[CaseLink],
    spatial: &SpatialState,
    _departments: &[Department],
) -> Vec<OutboxNew> {
    let after = CaseRecord {
        case: t.case.clone(),
        intake: before.intake.clone(),
        clock: before.clock.clone(),
    };
    let id = &t.case.id;
    let v = t.event.version;
    let desc = short(&t.case.description);
    let EventKind::Acted(kind) = t.event.kind else {
        return Vec::new();
    };
    let inspectors: Vec<i64> = before
        .intake
        .grid_code
        .as_ref()
        .and_then(|g| spatial.responsibility.get(g))
        .map(|codes| {
            let mut ids: Vec<i64> = codes
                .iter()
                .filter_map(|c| spatial.responsibility_info.get(c))
                .flat_map(|(_, ids)| ids.iter().copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .unwrap_or_default();
    let dept = |d: &Option<String>| {
        d.iter()
            .map(|d| format!("department:{d}"))
            .collect::<Vec<_>>()
    };
    let lead = dept(&t.case.lead_department);
    let holder: Vec<String> = match &t.case.sub_unit {
        Some(s) => vec![format!("department:{s}")],
        None => lead.clone(),
    };
    let mut out = Vec::new();
    let mut send = |recipients: Vec<String>, kind: &str, title: String| {
        for r in recipients {
            out.push(item(r, &after, v, kind, title.clone(), desc.clone()));
        }
    };
    use ActionKind as K;
    match kind {
        // Queue work for the centre's desks (see `for_opened`).
        K::Verify
        | K::Accept
        | K::Split
        | K::File
        | K::ApproveReturn
        | K::Reopen
        | K::CheckPass => {}
        K::Dispatch => {
            send(lead.clone(), "dispose_task", format!("新派遣案件 {id}"));
            send(
                t.case
                    .assisting
                    .iter()
                    .map(|d| format!("department:{d}"))
                    .collect(),
                "assist_task",
                format!("协办案件 {id}"),
            );
        }
        K::SubDispatch => send(holder.clone(), "dispose_task", format!("二级派遣案件 {id}")),
        K::RequestReturn | K::RequestExtension | K::RequestPark => send(
            vec!["role:shift_leader".into()],
            "approval_task",
            format!("待审批 {id}"),
        ),
        K::RefuseReturn | K::ApproveExtension | K::RejectExtension | K::ApprovePark | K::Unpark => {
            send(holder.clone(), "approval_result", format!("审批结果 {id}"))
        }
        K::Feedback => send(
            inspectors_of(&after, &inspectors),
            "check_task",
            format!("待核查 {id}"),
        ),
        K::CheckFail => send(holder.clone(), "rework", format!("返工 {id}")),
        K::Supervise => send(
            lead.iter()
                .cloned()
                .chain(["role:dispatcher".to_owned()])
                .collect(),
            "supervision",
            format!("督办 {id}"),
        ),
        K::Remind => {
            let to = if t.case.step == Step::Disposing {
                holder.clone()
            } else {
                vec![format!("role:{}", step_owner(t.case.step))]
            };
            send(to, "reminder", format!("催办 {id}"));
        }
        K::Close | K::Decline | K::Reject | K::Void | K::Merge => {
            // The reporters of this case and of every duplicate merged into it hear the outcome.
            let mut to = vec![format!("user:{}", t.case.reported_by)];
            for l in links
                .iter()
                .filter(|l| l.to_case == *id && l.kind == "merged")
            {
                to.push(format!("case-reporter:{}", l.from_case));
            }
            send(to, "outcome", format!("案件办结 {id}"));
        }
        K::Defer | K::Resume => {}
    }
    out
}

fn step_owner(step: Step) -> &'static str {
    match step {
        Step::Verifying | Step::Checking => "inspector",
        Step::Accepting => "acceptor",
        Step::Filing | Step::Closing | Step::ReturnReview => "shift_leader",
        Step::Dispatching => "dispatcher",
        Step::Disposing => "handler",
        Step::Closed(_) => "shift_leader",
    }
}

/// Timer notifications: warning and overdue reminders (自动催办).
pub(crate) fn for_clock(rec: &CaseRecord, urgency: &str) -> Vec<OutboxNew> {
    let (kind, title) = match urgency {
        "warning" => ("warning", format!("即将超时 {}", rec.case.id)),
        "overdue" => ("overdue", format!("已超时 {}", rec.case.id)),
        _ => return Vec::new(),
    };
    let to = if rec.case.step == Step::Disposing {
        match (&rec.case.sub_unit, &rec.case.lead_department) {
            (Some(s), _) => vec![format!("department:{s}")],
            (None, Some(l)) => vec![format!("department:{l}")],
            _ => Vec::new(),
        }
    } else {
        vec![format!("role:{}", step_owner(rec.case.step))]
    };
    let mut to = to;
    if urgency == "overdue" {
        // Overdue cases also land on the dispatcher's desk, who chases the department.
        to.push("role:dispatcher".to_owned());
    }
    to.into_iter()
        .map(|r| {
            let mut i = item(
                r,
                rec,
                rec.case.version,
                kind,
                title.clone(),
                short(&rec.case.description),
            );
            // One reminder per step clock and level, however often the timer looks.
            i.dedup_key = format!(
                "{}:{}:{}:{}",
                rec.case.id,
                rec.case.version,
                kind,
                rec.clock.due_at.map(|d| d.timestamp()).unwrap_or_default()
            );
            i
        })
        .collect()
}

/// A supervision order that fell due on a case still open: the leader who gave it, the
/// department holding the case and the dispatchers hear it once.
pub(crate) fn for_supervision_due(rec: &CaseRecord, index: usize) -> Vec<OutboxNew> {
    let Some(sup) = rec.case.supervision.get(index) else {
        return Vec::new();
    };
    let mut to = vec![format!("user:{}", sup.by), "role:dispatcher".to_owned()];
    if let Some(d) = rec
        .case
        .sub_unit
        .as_ref()
        .or(rec.case.lead_department.as_ref())
    {
        to.push(format!("department:{d}"));
    }
    let title = format!("督办到期 {}", rec.case.id);
    to.into_iter()
        .map(|r| {
            let mut i = item(
                r,
                rec,
                rec.case.version,
                "supervision_due",
                title.clone(),
                short(&sup.note),
            );
            i.dedup_key = format!("{}:supervision:{index}", rec.case.id);
            i
        })
        .collect()
}

/// Addresses a user's messages arrive at.
pub(crate) fn recipients_of(actor: &Actor, departments: &[Department]) -> Vec<String> {
    let Actor::User(p) = actor else {
        return Vec::new();
    };
    let mut out = vec![format!("user:{}", p.user.id)];
    for r in &p.user.roles {
        out.push(format!("role:{}", r.as_str()));
    }
    for a in &p.user.areas {
        out.push(format!("area:{a}"));
    }
    if let Some(id) = p.user.department_id
        && let Some(d) = departments.iter().find(|d| d.id == id)
    {
        out.push(format!("department:{}", d.code));
    }
    out
}

impl App {
    /// Delivers due outbox items; returns how many were delivered.
    pub async fn deliver_outbox(&self, notifiers: &[Arc<dyn Notifier>]) -> AppResult<usize> {
        let now = self.now();
        let mut tx = self.store.write().await?;
        let items = tx.claim_outbox(now, 500).await?;
        if items.is_empty() {
            return Ok(0);
        }
        let mut delivered = Vec::new();
        let mut messages = Vec::new();
        let mut external = Vec::new();
        for it in items {
            if it.channel == "inbox" {
                messages.extend(self.messages_for(&mut *tx, &it).await?);
                delivered.push(it.id);
            } else {
                external.push(it);
            }
        }
        tx.insert_messages(&messages).await?;
        for it in &external {
            match notifiers.iter().find(|n| n.channel() == it.channel) {
                Some(n) => match n.send(it).await {
                    Ok(()) => delivered.push(it.id),
                    Err(e) => {
                        let backoff =
                            Duration::seconds(30 * 2_i64.pow(it.attempts.clamp(0, 10) as u32));
                        tx.mark_outbox_failed(it.id, &e, now + backoff).await?;
                    }
                },
                None => {
                    tx.mark_outbox_failed(
                        it.id,
                        "no adapter for this channel",
                        now + Duration::hours(1),
                    )
                    .await?
                }
            }
        }
        tx.mark_outbox_delivered(&delivered, now).await?;
        tx.commit().await?;
        Ok(delivered.len())
    }

    async fn messages_for(
        &self,
        tx: &mut dyn cityloop_store::Tx,
        it: &OutboxRecord,
    ) -> AppResult<Vec<MessageNew>> {
        let title = it.payload["title"].as_str().unwrap_or_default().to_owned();
        let body = it.payload["body"].as_str().unwrap_or_default().to_owned();
        // A merged duplicate's reporter is found at delivery time.
        let recipient = if let Some(case) = it.recipient.strip_prefix("case-reporter:") {
            match tx.get_case(case).await? {
                Some(r) => format!("user:{}", r.case.reported_by),
                None => return Ok(Vec::new()),
            }
        } else {
            it.recipient.clone()
        };
        Ok(vec![MessageNew {
            recipient,
            dedup_key: it.dedup_key.clone(),
            case_id: it.case_id.clone(),
            kind: it.kind.clone(),
            title,
            body,
            created_at: it.created_at,
        }])
    }

    /// The caller's in-app messages, newest first.
    pub async fn my_messages(
        &self,
        actor: &Actor,
        unread_only: bool,
        limit: i64,
    ) -> AppResult<Vec<MessageRecord>> {
        let departments = self.departments_cached().await?;
        let to = recipients_of(actor, &departments);
        if to.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.store.read().await?;
        Ok(tx
            .list_messages(&to, unread_only, limit.clamp(1, 500))
            .await?)
    }

    pub async fn mark_messages_read(&self, actor: &Actor, ids: &[i64]) -> AppResult<u64> {
        let departments = self.departments_cached().await?;
        let to = recipients_of(actor, &departments);
        if to.is_empty() {
            return Err(AppError::Forbidden("no mailbox".into()));
        }
        let mut tx = self.store.write().await?;
        let n = tx.mark_messages_read(&to, ids, self.now()).await?;
        tx.commit().await?;
        Ok(n)
    }
}
