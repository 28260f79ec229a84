//! The 12345 exchange. The hotline platform pushes a work order it has accepted and handed to
//! the city (受理 → 转办); cityloop makes it a case, idempotent on the hotline's order id, and
//! reports progress and the result back (办理 → 回复) through the outbox to the partner's
//! webhook. The hotline's own call-back (回访) comes back as a rating.

use async_trait::async_trait;
use cityloop_domain::case::{Outcome, Step, Transition};
use cityloop_geo::{Crs, RawCoordinate};
use cityloop_store::{CaseRecord, HotlineOrder, OutboxNew, OutboxRecord, PublicRequest, Tx};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::open311::partner_actor_name;
use super::{FollowupOutcome, w3c};
use crate::cases::{Notifier, ReportInput};
use crate::{Actor, App, AppError, AppResult, Ctx};

/// A work order as the hotline pushes it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HotlineOrderInput {
    /// The hotline's work-order number: pushing it again returns the same case.
    pub order_id: String,
    /// The hotline's status: `受理`/`accepted` or `转办`/`transferred` (派单/`dispatched`).
    pub status: String,
    pub description: String,
    /// Class code, when the hotline's catalogue maps to one.
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub location: Option<RawCoordinate>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub caller_name: Option<String>,
    #[serde(default)]
    pub caller_phone: Option<String>,
}

/// A status the hotline sends on an order it already handed over.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotlineStatusInput {
    /// `催办`/`urge`: the caller chased the order; the case gets a reminder (催办).
    pub status: String,
    #[serde(default)]
    pub note: String,
}

/// The hotline's call-back result.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotlineRatingInput {
    pub fixed: bool,
    pub rating: i64,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HotlineOrderView {
    pub order_id: String,
    pub case_id: String,
    /// What was last reported to the hotline: `received` (签收), `processing` (办理),
    /// `replied` (回复: done), `returned` (退回: not ours), `merged`.
    pub hotline_status: String,
    /// The case's `open`/`closed` and step.
    pub status: &'static str,
    pub step: &'static str,
    /// True when this push created the case.
    pub created: bool,
}

/// The hotline status a step is reported as.
pub fn outbound_status(step: Step) -> &'static str {
    match step {
        Step::Verifying | Step::Accepting | Step::Filing => "received",
        Step::Dispatching
        | Step::Disposing
        | Step::ReturnReview
        | Step::Checking
        | Step::Closing => "processing",
        Step::Closed(Outcome::Resolved) => "replied",
        Step::Closed(Outcome::Merged) => "merged",
        Step::Closed(_) => "returned",
    }
}

/// The hotline's inbound statuses that hand an order to the city.
fn accepted_inbound(status: &str) -> bool {
    matches!(
        status.trim(),
        "受理" | "转办" | "派单" | "accepted" | "transferred" | "dispatched"
    )
}

/// Posts hotline progress to the partner's webhook named in the outbox row, with the row's
/// dedup key as `Idempotency-Key` (the platform deduplicates on it).
pub struct HotlineNotifier {
    pub client: reqwest::Client,
}

#[async_trait]
impl Notifier for HotlineNotifier {
    fn channel(&self) -> &'static str {
        "hotline"
    }

    async fn send(&self, item: &OutboxRecord) -> Result<(), String> {
        // The row's recipient is the partner's webhook URL; the hotline wants only the payload.
        crate::cases::post_idempotent(
            &self.client,
            &item.recipient,
            &item.dedup_key,
            &item.payload,
        )
        .await
    }
}

/// Outbox rows telling each hotline holding an order for this case about a transition that
/// the public may know of. Runs in the transition's transaction.
pub(crate) async fn on_transition(
    tx: &mut dyn Tx,
    departments: &[cityloop_store::Department],
    t: &Transition,
) -> AppResult<()> {
    let Some(note) = super::public_note(&t.event, departments) else {
        return Ok(());
    };
    let orders = tx.hotline_orders_of_case(&t.case.id).await?;
    let status = outbound_status(t.case.step);
    let mut items = Vec::new();
    for o in orders {
        let Some(p) = tx.get_partner_key(o.partner_id).await? else {
            continue;
        };
        tx.set_hotline_status(o.partner_id, &o.order_id, status, t.event.at)
            .await?;
        let Some(url) = p.webhook_url.filter(|_| p.revoked_at.is_none()) else {
            continue;
        };
        items.push(OutboxNew {
            channel: "hotline".into(),
            recipient: url,
            dedup_key: format!("{}:{}:{}", o.order_id, t.case.id, t.event.version),
            case_id: Some(t.case.id.clone()),
            kind: "hotline_progress".into(),
            payload: json!({
                "order_id": o.order_id,
                "case_id": t.case.id,
                "status": status,
                "step": t.case.step.code(),
                "note": note,
                "at": w3c(t.event.at),
                "department": t.case.lead_department,
            }),
            created_at: t.event.at,
        });
    }
    if !items.is_empty() {
        tx.insert_outbox(&items).await?;
    }
    Ok(())
}

fn order_hash(input: &HotlineOrderInput) -> String {
    crate::secret::token_digest(&serde_json::to_string(input).unwrap_or_default())
}

impl App {
    fn order_view(&self, o: &HotlineOrder, rec: &CaseRecord, created: bool) -> HotlineOrderView {
        HotlineOrderView {
            order_id: o.order_id.clone(),
            case_id: o.case_id.clone(),
            hotline_status: o.hotline_status.clone(),
            status: cityloop_open311::status::core(rec.case.step),
            step: rec.case.step.code(),
            created,
        }
    }

    /// Takes a pushed work order. The same order pushed again answers with its case; the same
    /// order id with different content is refused.
    pub async fn hotline_push(
        &self,
        key: Option<&str>,
        input: HotlineOrderInput,
        ctx: &Ctx,
    ) -> AppResult<HotlineOrderView> {
        let partner = self.partner_for_key(key, "hotline").await?;
        let order_id = input.order_id.trim().to_owned();
        if order_id.is_empty() || order_id.len() > 100 {
            return Err(AppError::rejected(
                "invalid_order_id",
                "order_id",
                "1 to 100 characters",
            ));
        }
        if !accepted_inbound(&input.status) {
            return Err(AppError::rejected(
                "unknown_hotline_status",
                "status",
                format!(
                    "{} does not hand the order over; send 受理/accepted or 转办/transferred",
                    input.status
                ),
            ));
        }
        let hash = order_hash(&input);
        let existing = {
            let mut tx = self.store.read().await?;
            match tx.get_hotline_order(partner.id, &order_id).await? {
                Some(o) => Some((tx.get_case(&o.case_id).await?, o)),
                None => None,
            }
        };
        if let Some((rec, o)) = existing {
            if o.request_hash != hash {
                return Err(AppError::Conflict(format!(
                    "order {order_id} was pushed before with different content"
                )));
            }
            let rec = rec.ok_or(AppError::NotFound("case"))?;
            return Ok(self.order_view(&o, &rec, false));
        }
        let phone = input
            .caller_phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(super::normalise_phone)
            .transpose()?;
        let location = match (&input.location, &input.address) {
            (Some(l), _) => *l,
            (None, Some(a)) => {
                let spatial = self.spatial();
                let hit = spatial.gazetteer.search(a, 1).into_iter().next();
                let addr = hit
                    .and_then(|m| spatial.addresses.iter().find(|x| x.id == m.id))
                    .ok_or_else(|| {
                        AppError::rejected(
                            "address_not_found",
                            "address",
                            "the address could not be located; send a location",
                        )
                    })?;
                RawCoordinate {
                    crs: Crs::Cgcs2000,
                    x: addr.lon,
                    y: addr.lat,
                }
            }
            (None, None) => {
                return Err(AppError::rejected(
                    "location_required",
                    "location",
                    "give a location or an address",
                ));
            }
        };
        let report = ReportInput {
            source: "hotline".into(),
            description: input.description.clone(),
            class: input.class.clone(),
            location: Some(location),
            component_id: None,
            address: input.address.clone(),
            photos: Vec::new(),
            contact_name: input.caller_name.clone(),
            contact_phone: phone,
            external_ref: Some(order_id.clone()),
            device_id: None,
            confidence: None,
        };
        let actor = Actor::System(partner_actor_name(Some(&partner)));
        let out = self
            .report(
                &actor,
                report,
                Some(&format!("hotline:{}:{order_id}", partner.id)),
                false,
                ctx,
            )
            .await?;
        let case_id = out.case.id.clone();
        let now = self.now();
        let order = HotlineOrder {
            partner_id: partner.id,
            order_id: order_id.clone(),
            case_id: case_id.clone(),
            request_hash: hash,
            hotline_status: "received".into(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.write().await?;
        // A concurrent push of the same order already recorded it; the intake key gave both
        // the same case.
        if tx.get_hotline_order(partner.id, &order_id).await?.is_none() {
            tx.insert_hotline_order(&order).await?;
            tx.insert_public_request(&PublicRequest {
                case_id: case_id.clone(),
                channel: "hotline".into(),
                partner_id: Some(partner.id),
                media_url: None,
                account_id: None,
                followup_hash: None,
                created_at: now,
            })
            .await?;
        }
        tx.touch_partner_key(partner.id, now).await?;
        let rec = tx
            .get_case(&case_id)
            .await?
            .ok_or(AppError::NotFound("case"))?;
        tx.commit().await?;
        Ok(self.order_view(&order, &rec, !out.replayed))
    }

    /// One pushed order with its case's state.
    pub async fn hotline_order(
        &self,
        key: Option<&str>,
        order_id: &str,
    ) -> AppResult<HotlineOrderView> {
        let partner = self.partner_for_key(key, "hotline").await?;
        let mut tx = self.store.read().await?;
        let o = tx
            .get_hotline_order(partner.id, order_id)
            .await?
            .ok_or(AppError::NotFound("order"))?;
        let rec = tx
            .get_case(&o.case_id)
            .await?
            .ok_or(AppError::NotFound("case"))?;
        Ok(self.order_view(&o, &rec, false))
    }

    /// A later status from the hotline. `催办`/`urge` reminds whoever holds the case now;
    /// anything else is refused rather than ignored.
    pub async fn hotline_status(
        &self,
        key: Option<&str>,
        order_id: &str,
        input: HotlineStatusInput,
        ctx: &Ctx,
    ) -> AppResult<HotlineOrderView> {
        let partner = self.partner_for_key(key, "hotline").await?;
        let (order, rec) = {
            let mut tx = self.store.read().await?;
            let o = tx
                .get_hotline_order(partner.id, order_id)
                .await?
                .ok_or(AppError::NotFound("order"))?;
            let rec = tx
                .get_case(&o.case_id)
                .await?
                .ok_or(AppError::NotFound("case"))?;
            (o, rec)
        };
        if !matches!(input.status.trim(), "催办" | "urge") {
            return Err(AppError::rejected(
                "unknown_hotline_status",
                "status",
                format!(
                    "{} is not a status this exchange takes; send 催办/urge",
                    input.status
                ),
            ));
        }
        if matches!(rec.case.step, Step::Closed(_)) {
            return Err(AppError::rejected(
                "case_closed",
                "status",
                "the order was already replied to",
            ));
        }
        let note = if input.note.trim().is_empty() {
            "12345催办 The hotline chased this order".to_owned()
        } else {
            format!("12345催办：{}", input.note.trim())
        };
        self.act(
            &Actor::System(partner_actor_name(Some(&partner))),
            &rec.case.id,
            crate::cases::ActInput {
                version: i64::try_from(rec.case.version).unwrap_or(i64::MAX),
                action: crate::cases::ActionInput::Remind { note },
            },
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        let rec = tx
            .get_case(&rec.case.id)
            .await?
            .ok_or(AppError::NotFound("case"))?;
        let order = tx
            .get_hotline_order(partner.id, order_id)
            .await?
            .unwrap_or(order);
        Ok(self.order_view(&order, &rec, false))
    }

    /// The hotline's call-back (回访) on a replied order: feeds 满意率; "not fixed" reopens.
    pub async fn hotline_rate(
        &self,
        key: Option<&str>,
        order_id: &str,
        input: HotlineRatingInput,
        ctx: &Ctx,
    ) -> AppResult<FollowupOutcome> {
        let partner = self.partner_for_key(key, "hotline").await?;
        let rec = {
            let mut tx = self.store.read().await?;
            let o = tx
                .get_hotline_order(partner.id, order_id)
                .await?
                .ok_or(AppError::NotFound("order"))?;
            tx.get_case(&o.case_id)
                .await?
                .ok_or(AppError::NotFound("case"))?
        };
        self.record_followup(
            &rec,
            "hotline",
            input.fixed,
            input.rating,
            &input.comment,
            ctx,
        )
        .await
    }
}
