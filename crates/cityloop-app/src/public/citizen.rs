//! Citizens: report a problem (optionally with name and phone, the phone kept for follow-up
//! only), follow it on a public page without personal data, add "me too" to a nearby open
//! report, see the public map, and rate the outcome after closure (回访), which feeds 满意率.

use chrono::{DateTime, Duration, Utc};
use cityloop_domain::Action;
use cityloop_domain::Target;
use cityloop_domain::case::{Outcome, Step};
use cityloop_geo::RawCoordinate;
use cityloop_open311::status;
use cityloop_store::{FollowupRecord, PublicCaseQuery, SatisfactionBy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::open311::{HeldFacts, Shown};
use super::{mask_phone, normalise_phone, w3c};
use crate::cases::{ActInput, ActionInput, ReportInput};
use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

/// A citizen's report.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PublicReportInput {
    /// Class code from the Open311 service list, e.g. `E0101`.
    pub class: String,
    pub description: String,
    /// Where (any supported CRS; phones usually send `gcj02`).
    pub location: RawCoordinate,
    #[serde(default)]
    pub address: Option<String>,
    /// Hashes from `POST /api/v1/public/photos`.
    #[serde(default)]
    pub photos: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Kept only to ask about the outcome; shown masked.
    #[serde(default)]
    pub phone: Option<String>,
    /// Left empty by people; forms fill it with a hidden field that only bots complete.
    #[serde(default)]
    pub website: Option<String>,
}

/// What a citizen gets back.
#[derive(Debug, Clone, Serialize)]
pub struct PublicReportOutcome {
    /// `created`, or `held` for review.
    pub status: &'static str,
    pub case_id: Option<String>,
    /// Names a held report until it becomes a case (`GET /api/v1/public/submissions/{token}`).
    pub token: Option<String>,
    /// The reporter's secret for following up on this case; shown once.
    pub followup_token: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicNote {
    pub at: DateTime<Utc>,
    /// FixMyStreet extended status the event led to.
    pub status: &'static str,
    pub text: String,
}

/// A case as the public sees it: no reporter, no internal notes, a coarse place for sensitive
/// classes.
#[derive(Debug, Clone, Serialize)]
pub struct PublicCaseView {
    pub id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    pub status_label: &'static str,
    pub extended_status: &'static str,
    pub class: Option<String>,
    pub class_name: Option<String>,
    pub description: String,
    pub address: Option<String>,
    pub lon: f64,
    pub lat: f64,
    /// True when the place shown is coarsened.
    pub location_fuzzed: bool,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// SLA due time of the current step.
    pub expected_at: Option<DateTime<Utc>>,
    pub department: Option<String>,
    pub notes: Vec<PublicNote>,
    pub photos: Vec<String>,
    pub supporters: i64,
    /// The reporter may rate the outcome now.
    pub followup_open: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowupInput {
    /// The secret returned when the case was reported.
    pub token: String,
    pub fixed: bool,
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub rating: i64,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowupOutcome {
    pub case_id: String,
    pub satisfied: bool,
    /// "Not fixed" sent the case back for another round.
    pub reopened: bool,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct MeTooOutcome {
    pub case_id: String,
    /// False when this supporter had already joined.
    pub added: bool,
    pub supporters: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NearbyCase {
    pub id: String,
    pub class: Option<String>,
    pub class_name: Option<String>,
    pub description: String,
    pub status_label: &'static str,
    pub distance_m: f64,
    pub supporters: i64,
}

/// 满意率 of one department or area.
#[derive(Debug, Clone, Serialize)]
pub struct SatisfactionRow {
    pub key: String,
    pub name: Option<String>,
    pub rated: i64,
    pub satisfied: i64,
    /// satisfied / rated, when anything was rated.
    pub rate: Option<f64>,
}

/// Masks the phone of a held report for display.
pub(crate) fn mask_payload(payload: &mut Value) {
    if let Some(p) = payload
        .get_mut("report")
        .and_then(|r| r.get_mut("contact_phone"))
        && let Some(s) = p.as_str()
    {
        *p = Value::String(mask_phone(s));
    }
}

fn looks_like_spam(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("http://") || t.contains("https://") || t.contains("www.")
}

impl App {
    fn ip_key(ctx: &Ctx) -> String {
        ctx.ip.clone().unwrap_or_else(|| "unknown".into())
    }

    /// Counts a citizen submission of a kind (`report`, `metoo`) against the address's hourly
    /// and the phone's daily quota.
    fn submission_limits(&self, kind: &str, ctx: &Ctx, phone: Option<&str>) -> AppResult<()> {
        let cfg = &self.cfg.public;
        let now = self.now();
        self.limiter.check(
            &format!("{kind}-ip:{}", Self::ip_key(ctx)),
            cfg.reports_per_ip_hour,
            Duration::hours(1),
            now,
        )?;
        if let Some(p) = phone {
            self.limiter.check(
                &format!("{kind}-phone:{}", crate::secret::token_digest(p)),
                cfg.reports_per_phone_day,
                Duration::days(1),
                now,
            )?;
        }
        Ok(())
    }

    /// A photo for a citizen report; counted with the address's submissions.
    pub async fn public_upload(
        &self,
        bytes: Vec<u8>,
        ctx: &Ctx,
    ) -> AppResult<crate::cases::UploadedBlob> {
        let cfg = &self.cfg.public;
        self.limiter.check(
            &format!("photo-ip:{}", Self::ip_key(ctx)),
            cfg.reports_per_ip_hour.saturating_mul(9),
            Duration::hours(1),
            self.now(),
        )?;
        let mut b = self
            .upload_blob(&Actor::System("public".into()), bytes, ctx)
            .await?;
        // The original (with its EXIF) is evidence for staff; the public only ever gets copies.
        b.exif = None;
        b.url = String::new();
        b.thumbnail_url = String::new();
        Ok(b)
    }

    /// Reports a problem as a citizen. Suspicious submissions are held for moderation (and
    /// answered the same way as any held report), never dropped.
    pub async fn public_report(
        &self,
        input: PublicReportInput,
        idempotency_key: Option<&str>,
        ctx: &Ctx,
    ) -> AppResult<PublicReportOutcome> {
        let phone = input
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(normalise_phone)
            .transpose()?;
        self.submission_limits("report", ctx, phone.as_deref())?;
        let class = self
            .offered_classes()
            .await?
            .into_iter()
            .find(|c| c.class.to_string().eq_ignore_ascii_case(input.class.trim()))
            .ok_or_else(|| {
                AppError::rejected(
                    "unknown_class",
                    "class",
                    format!("{} is not a class offered to the public", input.class),
                )
            })?;
        if input.photos.len() > 9 {
            return Err(AppError::rejected(
                "too_many_photos",
                "photos",
                "at most 9 photos",
            ));
        }
        let name = input
            .name
            .as_ref()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if name.as_ref().is_some_and(|n| n.chars().count() > 50) {
            return Err(AppError::rejected(
                "invalid_name",
                "name",
                "at most 50 characters",
            ));
        }
        let report = ReportInput {
            source: "public".into(),
            description: input.description.clone(),
            class: Some(class.class.to_string()),
            location: Some(input.location),
            component_id: None,
            address: input.address.clone(),
            photos: input.photos.clone(),
            contact_name: name,
            contact_phone: phone.clone(),
            external_ref: None,
            device_id: None,
            confidence: None,
        };
        let secret = crate::secret::new_token("fu_");
        let facts = HeldFacts {
            channel: "web".into(),
            partner_id: None,
            media_url: None,
            account_id: None,
            followup_hash: Some(crate::secret::token_digest(&secret)),
        };
        let masked = phone.as_deref().map(mask_phone);
        let hold_reason = if input
            .website
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty())
        {
            Some("honeypot")
        } else if looks_like_spam(&input.description) {
            Some("links")
        } else {
            None
        };
        if let Some(reason) = hold_reason {
            let token = self.hold(&facts, &report, reason, ctx).await?;
            return Ok(PublicReportOutcome {
                status: "held",
                case_id: None,
                token: Some(token),
                followup_token: secret,
                phone: masked,
            });
        }
        let key = match idempotency_key {
            Some(k) => format!("web:{}", k.trim()),
            None => format!("web:{}", crate::secret::token_digest(&secret)),
        };
        let case_id = self
            .create_public_case(&Actor::System("public".into()), report, &facts, &key, ctx)
            .await?;
        Ok(PublicReportOutcome {
            status: "created",
            case_id: Some(case_id),
            token: None,
            followup_token: secret,
            phone: masked,
        })
    }

    /// Where a held submission stands: `pending`, `approved` (with its case) or `rejected`.
    pub async fn public_submission(&self, token: &str) -> AppResult<Value> {
        let item = {
            let mut tx = self.store.read().await?;
            tx.moderation_by_token(token).await?
        }
        .ok_or(AppError::NotFound("submission"))?;
        Ok(json!({"status": item.status, "case_id": item.case_id}))
    }

    /// One case for the public.
    pub async fn public_case(&self, id: &str) -> AppResult<PublicCaseView> {
        let classes = self.class_map().await?;
        let departments = self.departments_cached().await?;
        let (rec, events, attachments, public, supporters, followups) = {
            let mut tx = self.store.read().await?;
            let rec = tx.get_case(id).await?.ok_or(AppError::NotFound("case"))?;
            let ids = [id.to_owned()];
            (
                rec,
                tx.case_events(id).await?,
                tx.case_attachments(id).await?,
                tx.public_requests(&ids).await?.pop(),
                tx.count_supporters(&ids).await?.pop().map_or(0, |(_, n)| n),
                tx.followups_of(id).await?,
            )
        };
        let class_code = rec.case.class.clone().or(rec.intake.reported_class.clone());
        let class = class_code.as_ref().and_then(|c| classes.get(c));
        let sensitive = self.is_sensitive(&rec);
        let shown = Shown {
            rec: &rec,
            class,
            departments: &departments,
            public: public.as_ref(),
            attachments: &attachments,
            events: &events,
            sensitive,
        };
        let (lon, lat) = self.public_point(&rec);
        let round = i64::from(rec.case.reopen_count);
        let closed = matches!(rec.case.step, Step::Closed(_));
        Ok(PublicCaseView {
            id: rec.case.id.clone(),
            status: status::core(rec.case.step),
            status_label: super::step_label(rec.case.step),
            extended_status: status::extended(rec.case.step),
            class: class_code.clone(),
            class_name: class.map(|c| c.name.clone()),
            description: rec.case.description.clone(),
            address: if sensitive {
                None
            } else {
                rec.intake.address.clone()
            },
            lon,
            lat,
            location_fuzzed: sensitive,
            reported_at: rec.case.reported_at,
            updated_at: rec.case.updated_at,
            closed_at: rec.case.closed_at.filter(|_| closed),
            expected_at: rec.clock.due_at.filter(|_| !closed),
            department: rec.case.lead_department.as_ref().map(|c| {
                departments
                    .iter()
                    .find(|d| &d.code == c)
                    .map_or(c.clone(), |d| d.name.clone())
            }),
            notes: events
                .iter()
                .filter_map(|e| {
                    super::public_note(e, &departments).map(|text| PublicNote {
                        at: e.at,
                        status: status::of_event(e.kind, e.to),
                        text,
                    })
                })
                .collect(),
            photos: self
                .public_photos(&shown, "")
                .into_iter()
                .map(|(u, _)| u)
                .collect(),
            supporters,
            followup_open: rec.case.step == Step::Closed(Outcome::Resolved)
                && public.as_ref().is_some_and(|p| p.followup_hash.is_some())
                && !followups.iter().any(|f| f.round == round),
        })
    }

    /// Open reports near a point that a citizen may join instead of reporting again.
    pub async fn public_nearby(
        &self,
        lon: f64,
        lat: f64,
        class: Option<&str>,
    ) -> AppResult<Vec<NearbyCase>> {
        if !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0) {
            return Err(AppError::rejected(
                "invalid_location",
                "lon",
                "WGS84 degrees",
            ));
        }
        let r = self.cfg.public.nearby_m;
        let dlat = r / 111_320.0;
        let dlon = dlat / lat.to_radians().cos().max(0.1);
        let since = self.now() - Duration::days(self.cfg.public.map_closed_days.max(1));
        let classes = self.class_map().await?;
        let (near, counts) = {
            let mut tx = self.store.read().await?;
            let near = tx
                .open_cases_near([lon - dlon, lat - dlat, lon + dlon, lat + dlat], since, 50)
                .await?;
            let ids: Vec<String> = near.iter().map(|c| c.case.id.clone()).collect();
            (near, tx.count_supporters(&ids).await?)
        };
        let mut out: Vec<NearbyCase> = near
            .iter()
            .filter(|c| c.case.merged_into.is_none() && !self.is_sensitive(c))
            .filter_map(|c| {
                let code = c.case.class.clone().or(c.intake.reported_class.clone());
                if let (Some(want), Some(have)) = (class, &code)
                    && want.get(..3) != have.get(..3)
                {
                    return None;
                }
                let d = cityloop_evidence::haversine_m((lat, lon), (c.intake.lat, c.intake.lon));
                (d <= r).then(|| NearbyCase {
                    id: c.case.id.clone(),
                    class_name: code
                        .as_ref()
                        .and_then(|k| classes.get(k))
                        .map(|k| k.name.clone()),
                    class: code,
                    description: c.case.description.chars().take(100).collect(),
                    status_label: super::step_label(c.case.step),
                    distance_m: (d * 10.0).round() / 10.0,
                    supporters: counts
                        .iter()
                        .find(|(id, _)| id == &c.case.id)
                        .map_or(0, |(_, n)| *n),
                })
            })
            .collect();
        out.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
        Ok(out)
    }

    /// "Me too": one more citizen affected by an open case (once per phone, or per address
    /// without one).
    pub async fn public_me_too(
        &self,
        id: &str,
        phone: Option<&str>,
        ctx: &Ctx,
    ) -> AppResult<MeTooOutcome> {
        let phone = phone
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(normalise_phone)
            .transpose()?;
        self.submission_limits("metoo", ctx, phone.as_deref())?;
        let who = match &phone {
            Some(p) => format!("phone:{p}"),
            None => format!("ip:{}", Self::ip_key(ctx)),
        };
        // Salted with the case so the same person is not linkable across cases.
        let who_hash = crate::secret::token_digest(&format!("{id}|{who}"));
        let mut tx = self.store.write().await?;
        let rec = tx.get_case(id).await?.ok_or(AppError::NotFound("case"))?;
        if matches!(rec.case.step, Step::Closed(_)) {
            return Err(AppError::rejected(
                "case_closed",
                "id",
                "this report is closed; report the problem again if it is back",
            ));
        }
        let added = tx.add_supporter(id, &who_hash, self.now()).await?;
        let supporters = tx
            .count_supporters(&[id.to_owned()])
            .await?
            .pop()
            .map_or(0, |(_, n)| n);
        tx.commit().await?;
        Ok(MeTooOutcome {
            case_id: id.to_owned(),
            added,
            supporters,
        })
    }

    /// Open cases and those closed in the last `map_closed_days`, as GeoJSON for the public map.
    pub async fn public_map(&self, bbox: Option<[f64; 4]>) -> AppResult<Value> {
        let since = self.now() - Duration::days(self.cfg.public.map_closed_days.max(0));
        let classes = self.class_map().await?;
        let (cases, counts) = {
            let mut tx = self.store.read().await?;
            let ids = tx
                .public_case_ids(&PublicCaseQuery {
                    open_or_closed_since: Some(since),
                    hide_refused: true,
                    bbox,
                    limit: 5000,
                    ..Default::default()
                })
                .await?;
            (tx.get_cases(&ids).await?, tx.count_supporters(&ids).await?)
        };
        let features: Vec<Value> = cases
            .iter()
            .filter(|c| c.case.merged_into.is_none())
            .map(|c| {
                let (lon, lat) = self.public_point(c);
                let code = c.case.class.clone().or(c.intake.reported_class.clone());
                json!({
                    "type": "Feature",
                    "id": c.case.id,
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {
                        "id": c.case.id,
                        "status": status::core(c.case.step),
                        "status_label": super::step_label(c.case.step),
                        "class": code,
                        "class_name": code.as_ref().and_then(|k| classes.get(k)).map(|k| k.name.clone()),
                        "reported_at": w3c(c.case.reported_at),
                        "closed_at": c.case.closed_at.map(w3c),
                        "location_fuzzed": self.is_sensitive(c),
                        "supporters": counts.iter().find(|(id, _)| id == &c.case.id).map_or(0, |(_, n)| *n),
                    }
                })
            })
            .collect();
        Ok(json!({"type": "FeatureCollection", "features": features}))
    }

    /// The reporter's answer after closure (回访). "Not fixed" reopens the case for another
    /// round; the rating is stored per round with the case's department and area for 满意率.
    pub async fn public_followup(
        &self,
        id: &str,
        input: FollowupInput,
        ctx: &Ctx,
    ) -> AppResult<FollowupOutcome> {
        self.limiter.check(
            &format!("followup-ip:{}", Self::ip_key(ctx)),
            self.cfg.public.reports_per_ip_hour.saturating_mul(3),
            Duration::hours(1),
            self.now(),
        )?;
        let (rec, public) = {
            let mut tx = self.store.read().await?;
            (
                tx.get_case(id).await?.ok_or(AppError::NotFound("case"))?,
                tx.public_requests(&[id.to_owned()]).await?.pop(),
            )
        };
        let expected = public.and_then(|p| p.followup_hash);
        if expected.as_deref() != Some(crate::secret::token_digest(input.token.trim()).as_str()) {
            return Err(AppError::Forbidden("wrong follow-up token".into()));
        }
        self.record_followup(
            &rec,
            "public",
            input.fixed,
            input.rating,
            &input.comment,
            ctx,
        )
        .await
    }

    /// Stores a rating of the current closing round, then reopens on "not fixed". A retry after
    /// the reopening failed finds the rating and only reopens.
    pub(crate) async fn record_followup(
        &self,
        rec: &cityloop_store::CaseRecord,
        channel: &str,
        fixed: bool,
        rating: i64,
        comment: &str,
        ctx: &Ctx,
    ) -> AppResult<FollowupOutcome> {
        if !(1..=5).contains(&rating) {
            return Err(AppError::rejected("invalid_rating", "rating", "1 to 5"));
        }
        if comment.chars().count() > 500 {
            return Err(AppError::rejected(
                "invalid_comment",
                "comment",
                "at most 500 characters",
            ));
        }
        if rec.case.step != Step::Closed(Outcome::Resolved) {
            return Err(AppError::rejected(
                "not_closed",
                "id",
                "a case can be rated once it is closed as resolved",
            ));
        }
        let round = i64::from(rec.case.reopen_count);
        let satisfied = fixed && rating >= self.cfg.public.satisfied_from;
        let now = self.now();
        let mut tx = self.store.write().await?;
        let earlier = tx
            .followups_of(&rec.case.id)
            .await?
            .into_iter()
            .find(|f| f.round == round);
        match earlier {
            Some(f) if f.fixed || fixed => {
                return Err(AppError::Conflict("this closing was already rated".into()));
            }
            Some(_) => {}
            None => {
                tx.insert_followup(&FollowupRecord {
                    case_id: rec.case.id.clone(),
                    round,
                    channel: channel.to_owned(),
                    fixed,
                    rating,
                    satisfied,
                    comment: comment.trim().to_owned(),
                    department: rec.case.lead_department.clone(),
                    grid_code: rec.intake.grid_code.clone(),
                    community_code: rec.intake.community_code.clone(),
                    street_code: rec.intake.street_code.clone(),
                    district_code: rec.intake.district_code.clone(),
                    closed_at: rec.case.closed_at,
                    rated_at: now,
                })
                .await?;
                // The phone was kept only to ask this question; a fixed case needs it no more.
                let phone_erased = fixed && tx.clear_contact_phone(&rec.case.id).await?;
                self.audit(
                    tx.as_mut(),
                    &Actor::System(format!("followup:{channel}")),
                    "case.followup",
                    Obj::new("case", &rec.case.id),
                    "ok",
                    ctx,
                    json!({"fixed": fixed, "rating": rating, "round": round, "satisfied": satisfied,
                           "phone_erased": phone_erased}),
                )
                .await?;
            }
        }
        tx.commit().await?;
        let mut reopened = false;
        if !fixed {
            let view = self
                .act(
                    &Actor::System(format!("followup:{channel}")),
                    &rec.case.id,
                    ActInput {
                        version: i64::try_from(rec.case.version).unwrap_or(i64::MAX),
                        action: ActionInput::Reopen {
                            reason: "回访：群众反映问题未解决 Reporter says it is not fixed".into(),
                        },
                    },
                    ctx,
                )
                .await?;
            reopened = view.step != "closed";
        }
        Ok(FollowupOutcome {
            case_id: rec.case.id.clone(),
            satisfied,
            reopened,
            status: if reopened { "open" } else { "closed" },
        })
    }

    /// 满意率: satisfied and rated counts of ratings given in `[from, to)`, per department
    /// (`department`) or area (`district`, `street`, `community`, `grid`).
    pub async fn satisfaction(
        &self,
        actor: &Actor,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        by: &str,
        ctx: &Ctx,
    ) -> AppResult<Vec<SatisfactionRow>> {
        self.authorize(
            actor,
            Action::EvaluationRead,
            &Target::Collection,
            Obj::kind("satisfaction"),
            ctx,
        )
        .await?;
        let by = match by {
            "department" => SatisfactionBy::Department,
            "district" => SatisfactionBy::District,
            "street" => SatisfactionBy::Street,
            "community" => SatisfactionBy::Community,
            "grid" => SatisfactionBy::Grid,
            other => {
                return Err(AppError::rejected(
                    "invalid_group",
                    "by",
                    format!("department, district, street, community or grid, not {other}"),
                ));
            }
        };
        if to <= from {
            return Err(AppError::rejected(
                "invalid_period",
                "to",
                "to must be after from",
            ));
        }
        let counts = {
            let mut tx = self.store.read().await?;
            tx.satisfaction_counts(from, to, by).await?
        };
        let departments = self.departments_cached().await?;
        let spatial = self.spatial();
        Ok(counts
            .into_iter()
            .map(|c| SatisfactionRow {
                name: match by {
                    SatisfactionBy::Department => departments
                        .iter()
                        .find(|d| d.code == c.key)
                        .map(|d| d.name.clone()),
                    SatisfactionBy::Grid => None,
                    _ => spatial.area_names.get(&c.key).cloned(),
                },
                rate: (c.rated > 0).then(|| c.satisfied as f64 / c.rated as f64),
                key: c.key,
                rated: c.rated,
                satisfied: c.satisfied,
            })
            .collect())
    }
}
