//! Public participation: the Open311 GeoReport v2 server, citizen reports with follow-up (回访)
//! and satisfaction (满意率), the 12345 hotline exchange, partner keys, rate limits and the
//! moderation queue.
//!
//! Reporters' personal data stays on the case (`contact_name`, `contact_phone`) for the centre
//! and for follow-up; nothing here shows it unmasked, and public reads never show it at all.

mod citizen;
mod hotline;
mod limits;
pub mod open311;

use chrono::{DateTime, Utc};
use cityloop_domain::Action;
use cityloop_domain::Target;
use cityloop_domain::case::{ActionKind, Event, EventKind, Step};
use cityloop_store::{ModerationItem, PartnerKey, PartnerKeyNew};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

pub use citizen::{
    FollowupInput, FollowupOutcome, MeTooOutcome, NearbyCase, PublicCaseView, PublicNote,
    PublicReportInput, PublicReportOutcome, SatisfactionRow,
};
pub(crate) use hotline::on_transition;
pub use hotline::{
    HotlineNotifier, HotlineOrderInput, HotlineOrderView, HotlineRatingInput, HotlineStatusInput,
};
pub use limits::Limiter;

/// Settings of the public endpoints.
#[derive(Debug, Clone)]
pub struct PublicConfig {
    /// The `jurisdiction_id` this server answers to. Requests naming another are refused with
    /// 404; requests naming none mean this one (clients often omit it).
    pub jurisdiction_id: String,
    pub contact: String,
    /// How partners obtain an Open311 key (discovery `key_service`).
    pub key_service: String,
    /// Public base URL (`https://city.example`); empty: taken from the request's Host.
    pub base_url: String,
    /// Accept Open311 POSTs without an `api_key`; they are held for moderation instead of 403.
    pub open311_keyless: bool,
    /// Classes whose public location is coarsened (e.g. reports about people).
    pub sensitive_classes: Vec<String>,
    /// Cell size of the coarsened location, in metres.
    pub fuzz_m: f64,
    /// Citizen reports per client address per hour.
    pub reports_per_ip_hour: u32,
    /// Citizen reports per phone number per day.
    pub reports_per_phone_day: u32,
    /// Public reads per client address per minute.
    pub reads_per_ip_minute: u32,
    /// Closed cases stay on the public map this many days.
    pub map_closed_days: i64,
    /// Ratings from this value up (of 1–5) count as satisfied (满意 and 非常满意).
    pub satisfied_from: i64,
    /// Radius of "me too" suggestions, in metres.
    pub nearby_m: f64,
}

impl Default for PublicConfig {
    fn default() -> Self {
        PublicConfig {
            jurisdiction_id: "cityloop.local".into(),
            contact: "12345".into(),
            key_service: "Ask the city's urban-management centre for a partner key".into(),
            base_url: String::new(),
            open311_keyless: false,
            // Mass incidents, street vendors and begging are reports about people: their exact
            // place is not published.
            sensitive_classes: vec!["E0409".into(), "E0501".into(), "E0502".into()],
            fuzz_m: 250.0,
            reports_per_ip_hour: 10,
            reports_per_phone_day: 20,
            reads_per_ip_minute: 600,
            map_closed_days: 30,
            satisfied_from: 4,
            nearby_m: 100.0,
        }
    }
}

/// `138****5678`: the first three and last four digits of a mainland mobile number; anything
/// else keeps at most its last two characters.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() >= 7 {
        let head: String = digits.iter().take(3).collect();
        let tail: String = digits[digits.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let tail: String = digits.iter().skip(digits.len().saturating_sub(2)).collect();
        format!("****{tail}")
    }
}

/// A phone number as given, if it looks like one (digits, optional leading `+`, dashes and
/// spaces), normalised to its digits.
pub(crate) fn normalise_phone(phone: &str) -> AppResult<String> {
    let p: String = phone
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let digits = p.strip_prefix('+').unwrap_or(&p);
    if (5..=20).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(p)
    } else {
        Err(AppError::rejected(
            "invalid_phone",
            "phone",
            "a phone number has 5 to 20 digits",
        ))
    }
}

/// Coarsens a point to the centre of its `cell_m` cell, so repeated reads give the same point
/// and nothing can be averaged back out.
pub fn fuzz_point(lon: f64, lat: f64, cell_m: f64) -> (f64, f64) {
    let snap = |v: f64, d: f64| ((v / d).floor() + 0.5) * d;
    let dlat = cell_m / 111_320.0;
    let row = snap(lat, dlat);
    // The row's latitude, not the point's, sizes the cell's width: every point of a row shares
    // one set of cell edges.
    let dlon = dlat / row.to_radians().cos().max(0.1);
    let r = |v: f64| (v * 1e6).round() / 1e6;
    (r(snap(lon, dlon)), r(row))
}

/// The public wording of an event, or `None` for internal steps (approvals, holds, reminders).
/// Free-text notes are never published: they may name people.
pub(crate) fn public_note(e: &Event, departments: &[cityloop_store::Department]) -> Option<String> {
    use ActionKind as K;
    let dept = |code: &Option<String>| {
        code.as_ref()
            .map(|c| {
                departments
                    .iter()
                    .find(|d| &d.code == c)
                    .map_or(c.clone(), |d| d.name.clone())
            })
            .unwrap_or_default()
    };
    let text = match e.kind {
        EventKind::Opened => "已收到上报 Report received".to_owned(),
        EventKind::Acted(k) => match k {
            K::Verify => {
                if matches!(
                    e.details,
                    cityloop_domain::case::Details::Verified { confirmed: false }
                ) {
                    "现场核实未发现问题 Not found on site".to_owned()
                } else {
                    "现场核实属实 Confirmed on site".to_owned()
                }
            }
            K::Accept => "已受理 Accepted".to_owned(),
            K::Decline => "不予受理 Declined".to_owned(),
            K::File => "已立案 Filed".to_owned(),
            K::Reject => "不予立案 Not filed".to_owned(),
            K::Void => "已作废 Cancelled".to_owned(),
            K::Dispatch => {
                let d = match &e.details {
                    cityloop_domain::case::Details::Dispatched { department, .. } => {
                        dept(&Some(department.clone()))
                    }
                    _ => String::new(),
                };
                format!("已派遣至{d} Dispatched to {d}")
            }
            K::Feedback => "处置完成，待核查 Work done, awaiting check".to_owned(),
            K::CheckPass => "核查通过 Checked on site".to_owned(),
            K::CheckFail => "核查未通过，返工 Sent back for rework".to_owned(),
            K::Close => "已结案 Closed".to_owned(),
            K::Reopen => "已重新办理 Reopened".to_owned(),
            K::Merge => "与其他上报合并 Merged with another report".to_owned(),
            _ => return None,
        },
    };
    Some(text)
}

/// A plain-language label of a step.
pub(crate) fn step_label(step: Step) -> &'static str {
    match step {
        Step::Verifying => "核实中 Being verified",
        Step::Accepting | Step::Filing => "已受理 Received",
        Step::Dispatching => "待派遣 Awaiting dispatch",
        Step::Disposing => "处置中 In progress",
        Step::ReturnReview => "重新派遣中 Being reassigned",
        Step::Checking => "核查中 Being checked",
        Step::Closing => "待结案 Fixed, closing",
        Step::Closed(o) => match o {
            cityloop_domain::case::Outcome::Resolved => "已办结 Resolved",
            cityloop_domain::case::Outcome::Merged => "已合并 Merged",
            _ => "已关闭 Closed",
        },
    }
}

/// A partner key request.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerKeyInput {
    pub name: String,
    /// `open311` (create requests and post updates), `hotline` (the 12345 exchange).
    pub scopes: Vec<String>,
    #[serde(default = "default_rate")]
    pub rate_per_hour: i64,
    /// Where 12345 progress is pushed.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

fn default_rate() -> i64 {
    600
}

/// A new key: `key` is shown this once and stored only as a digest.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedPartnerKey {
    pub key: String,
    pub partner: PartnerKey,
}

pub const SCOPES: [&str; 2] = ["open311", "hotline"];

/// A moderator's decision.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModerationDecision {
    /// `approve` or `reject`.
    pub decision: String,
    #[serde(default)]
    pub note: String,
}

impl App {
    pub async fn create_partner_key(
        &self,
        actor: &Actor,
        input: PartnerKeyInput,
        ctx: &Ctx,
    ) -> AppResult<IssuedPartnerKey> {
        self.authorize(
            actor,
            Action::PartnerManage,
            &Target::Collection,
            Obj::kind("partner_key"),
            ctx,
        )
        .await?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::rejected(
                "invalid_name",
                "name",
                "1 to 100 characters",
            ));
        }
        let mut scopes = input.scopes.clone();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(AppError::rejected(
                "invalid_scope",
                "scopes",
                "give at least one scope: open311, hotline",
            ));
        }
        if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
            return Err(AppError::rejected(
                "invalid_scope",
                "scopes",
                format!("unknown scope {bad}; open311 or hotline"),
            ));
        }
        if !(1..=1_000_000).contains(&input.rate_per_hour) {
            return Err(AppError::rejected(
                "invalid_rate",
                "rate_per_hour",
                "between 1 and 1000000",
            ));
        }
        let webhook_url = input
            .webhook_url
            .as_ref()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        if let Some(u) = &webhook_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(AppError::rejected(
                "invalid_url",
                "webhook_url",
                "an http or https URL",
            ));
        }
        let key = crate::secret::new_token("cl311_");
        let now = self.now();
        let mut tx = self.store.write().await?;
        let partner = tx
            .insert_partner_key(&PartnerKeyNew {
                name: name.to_owned(),
                key_hash: crate::secret::token_digest(&key),
                key_prefix: key.chars().take(10).collect(),
                scopes,
                rate_per_hour: input.rate_per_hour,
                webhook_url,
                created_by: actor.name(),
                created_at: now,
            })
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            Action::PartnerManage.as_str(),
            Obj::new("partner_key", partner.id),
            "ok",
            ctx,
            json!({"created": true, "name": partner.name, "scopes": partner.scopes, "rate_per_hour": partner.rate_per_hour}),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedPartnerKey { key, partner })
    }

    pub async fn list_partner_keys(&self, actor: &Actor, ctx: &Ctx) -> AppResult<Vec<PartnerKey>> {
        self.authorize(
            actor,
            Action::PartnerManage,
            &Target::Collection,
            Obj::kind("partner_key"),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        Ok(tx.list_partner_keys().await?)
    }

    pub async fn revoke_partner_key(&self, actor: &Actor, id: i64, ctx: &Ctx) -> AppResult<()> {
        self.authorize(
            actor,
            Action::PartnerManage,
            &Target::Collection,
            Obj::new("partner_key", id),
            ctx,
        )
        .await?;
        let mut tx = self.store.write().await?;
        if tx.get_partner_key(id).await?.is_none() {
            return Err(AppError::NotFound("partner key"));
        }
        let revoked = tx.revoke_partner_key(id, self.now()).await?;
        self.audit(
            tx.as_mut(),
            actor,
            Action::PartnerManage.as_str(),
            Obj::new("partner_key", id),
            "ok",
            ctx,
            json!({"revoked": revoked}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The partner holding `key` with `scope`, within its hourly rate. Missing, unknown,
    /// revoked and out-of-scope keys are all `Forbidden` (Open311 answers 403).
    pub async fn partner_for_key(&self, key: Option<&str>, scope: &str) -> AppResult<PartnerKey> {
        let key = key
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| AppError::Forbidden("api_key missing".into()))?;
        let partner = {
            let mut tx = self.store.read().await?;
            tx.partner_key_by_hash(&crate::secret::token_digest(key))
                .await?
        };
        let p = partner
            .filter(|p| p.revoked_at.is_none())
            .ok_or_else(|| AppError::Forbidden("invalid or revoked api_key".into()))?;
        if !p.scopes.iter().any(|s| s == scope) {
            return Err(AppError::Forbidden(format!(
                "this api_key may not use {scope}"
            )));
        }
        let rate = u32::try_from(p.rate_per_hour).unwrap_or(u32::MAX);
        self.limiter.check(
            &format!("partner:{}", p.id),
            rate,
            chrono::Duration::hours(1),
            self.now(),
        )?;
        Ok(p)
    }

    /// Applies a per-address read limit to public reads.
    pub fn public_read_limit(&self, ctx: &Ctx) -> AppResult<()> {
        let ip = ctx.ip.as_deref().unwrap_or("unknown");
        self.limiter.check(
            &format!("read:{ip}"),
            self.cfg.public.reads_per_ip_minute,
            chrono::Duration::minutes(1),
            self.now(),
        )
    }

    /// Held public reports, oldest first.
    pub async fn moderation_queue(
        &self,
        actor: &Actor,
        status: &str,
        ctx: &Ctx,
    ) -> AppResult<Vec<ModerationItem>> {
        self.authorize(
            actor,
            Action::ModerationReview,
            &Target::Collection,
            Obj::kind("moderation"),
            ctx,
        )
        .await?;
        if !["pending", "approved", "rejected"].contains(&status) {
            return Err(AppError::rejected(
                "invalid_status",
                "status",
                "pending, approved or rejected",
            ));
        }
        let mut tx = self.store.read().await?;
        let mut items = tx.list_moderation(status, 500).await?;
        for i in &mut items {
            citizen::mask_payload(&mut i.payload);
        }
        Ok(items)
    }

    /// Approves (the report becomes a case) or rejects a held report; either is audited.
    pub async fn decide_moderation(
        &self,
        actor: &Actor,
        id: i64,
        d: ModerationDecision,
        ctx: &Ctx,
    ) -> AppResult<ModerationItem> {
        self.authorize(
            actor,
            Action::ModerationReview,
            &Target::Collection,
            Obj::new("moderation", id),
            ctx,
        )
        .await?;
        let item = {
            let mut tx = self.store.read().await?;
            tx.get_moderation(id).await?
        }
        .ok_or(AppError::NotFound("moderation item"))?;
        if item.status != "pending" {
            return Err(AppError::Conflict(format!("already {}", item.status)));
        }
        let (status, case_id) = match d.decision.as_str() {
            "approve" => {
                let case = self.create_from_held(&item, ctx).await?;
                ("approved", Some(case))
            }
            "reject" => {
                if d.note.trim().is_empty() {
                    return Err(AppError::rejected(
                        "reason_required",
                        "note",
                        "say why the report is rejected",
                    ));
                }
                ("rejected", None)
            }
            other => {
                return Err(AppError::rejected(
                    "invalid_decision",
                    "decision",
                    format!("approve or reject, not {other}"),
                ));
            }
        };
        let mut tx = self.store.write().await?;
        let done = tx
            .decide_moderation(
                id,
                status,
                case_id.as_deref(),
                &actor.name(),
                d.note.trim(),
                self.now(),
            )
            .await?;
        if !done {
            return Err(AppError::Conflict("decided by someone else".into()));
        }
        self.audit(
            tx.as_mut(),
            actor,
            Action::ModerationReview.as_str(),
            Obj::new("moderation", id),
            "ok",
            ctx,
            json!({"decision": status, "case_id": case_id, "reason": item.reason}),
        )
        .await?;
        let out = tx.get_moderation(id).await?;
        tx.commit().await?;
        let mut out = out.ok_or(AppError::NotFound("moderation item"))?;
        citizen::mask_payload(&mut out.payload);
        Ok(out)
    }
}

/// W3C time for Open311 output.
pub(crate) fn w3c(at: DateTime<Utc>) -> String {
    cityloop_open311::time::format(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("+8613812345678"), "+86****5678");
        assert_eq!(mask_phone("12345"), "****45");
        assert!(normalise_phone("138-1234-5678").is_ok());
        assert!(normalise_phone("call me").is_err());
    }

    #[test]
    fn fuzzed_points_are_stable_and_near() {
        let (lon, lat) = (120.123456, 30.234567);
        let a = fuzz_point(lon, lat, 250.0);
        let b = fuzz_point(lon + 0.00001, lat + 0.00001, 250.0);
        assert_eq!(a, b);
        let d = cityloop_evidence::haversine_m((lat, lon), (a.1, a.0));
        assert!(d < 250.0 && d > 0.0, "{d}");
    }
}
