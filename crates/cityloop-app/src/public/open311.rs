//! The Open311 GeoReport v2 use cases. Services are the enabled taxonomy classes the rules in
//! force can file (`service_code` = `E0101`, `C0118`); requests are cases. Reads need no key
//! and never show the reporter; writes need a partner key with the `open311` scope.

use std::collections::HashMap;

use cityloop_domain::case::{Event, Step};
use cityloop_domain::taxonomy::{ClassKind, TaxonomyClass};
use cityloop_geo::{Crs, RawCoordinate};
use cityloop_open311::{Doc, NewRequest, Record, RequestsQuery, StatusFilter, Value, status};
use cityloop_store::{
    AttachmentRecord, CaseRecord, Department, ModerationNew, PublicCaseQuery, PublicRequest,
    PublicUpdateNew,
};
use serde_json::json;

use super::w3c;
use crate::cases::ReportInput;
use crate::{Actor, App, AppError, AppResult, Ctx};

/// Attachment stages shown to the public: the report and the department's after-photos.
const PUBLIC_STAGES: [&str; 2] = ["report", "feedback"];

/// The attribute component services ask for (the 16-digit id painted on the component).
const COMPONENT_ATTRIBUTE: &str = "component_id";

fn class_label(c: &TaxonomyClass) -> String {
    if c.name_en.is_empty() {
        c.name.clone()
    } else {
        format!("{} {}", c.name, c.name_en)
    }
}

fn service_record(c: &TaxonomyClass) -> Record {
    let mut keywords = vec![c.name.clone(), c.major_name.clone()];
    for k in [&c.name_en, &c.major_name_en] {
        if !k.is_empty() {
            keywords.push(k.clone());
        }
    }
    keywords.push(c.class.kind.name_zh().to_owned());
    Record::new()
        .with("service_code", Value::str(c.class.to_string()))
        .with("service_name", Value::str(c.name.clone()))
        .with(
            "description",
            Value::str(format!(
                "{} / {} ({})",
                c.major_name,
                class_label(c),
                c.class.kind.name_zh()
            )),
        )
        .with(
            "metadata",
            Value::Bool(c.class.kind == ClassKind::Component),
        )
        .with("type", Value::str("realtime"))
        .with("keywords", Value::str(keywords.join(",")))
        .with("group", Value::str(c.major_name.clone()))
}

/// What a request looks like to the public.
pub(crate) struct Shown<'a> {
    pub rec: &'a CaseRecord,
    pub class: Option<&'a TaxonomyClass>,
    pub departments: &'a [Department],
    pub public: Option<&'a PublicRequest>,
    pub attachments: &'a [AttachmentRecord],
    pub events: &'a [Event],
    pub sensitive: bool,
}

impl App {
    /// The services offered: enabled classes that the rules in force can file (all enabled ones
    /// when no rules are published yet).
    pub async fn offered_classes(&self) -> AppResult<Vec<TaxonomyClass>> {
        let classes = {
            let mut tx = self.store.read().await?;
            tx.list_classes().await?
        };
        let rules = self.rules_in_force(self.now()).await?;
        Ok(classes
            .into_iter()
            .map(|c| c.class)
            .filter(|c| c.enabled)
            .filter(|c| {
                rules
                    .as_ref()
                    .is_none_or(|(_, r)| r.conditions.iter().any(|k| k.class == c.class))
            })
            .collect())
    }

    pub(crate) async fn class_map(&self) -> AppResult<HashMap<String, TaxonomyClass>> {
        let mut tx = self.store.read().await?;
        Ok(tx
            .list_classes()
            .await?
            .into_iter()
            .map(|c| (c.class.class.to_string(), c.class))
            .collect())
    }

    pub(crate) fn is_sensitive(&self, rec: &CaseRecord) -> bool {
        let class = rec
            .case
            .class
            .as_ref()
            .or(rec.intake.reported_class.as_ref());
        class.is_some_and(|c| self.cfg.public.sensitive_classes.iter().any(|s| s == c))
    }

    /// A `jurisdiction_id` other than ours is unknown (404); none means ours.
    pub fn open311_jurisdiction(&self, j: Option<&str>) -> AppResult<()> {
        match j.map(str::trim).filter(|j| !j.is_empty()) {
            Some(j) if !j.eq_ignore_ascii_case(&self.cfg.public.jurisdiction_id) => {
                Err(AppError::NotFound("jurisdiction_id"))
            }
            _ => Ok(()),
        }
    }

    pub async fn open311_discovery(&self, base: &str) -> AppResult<Doc> {
        let changeset = self.services_changeset().await?;
        let cfg = &self.cfg.public;
        let endpoint = Record::new()
            .with("specification", Value::str(cityloop_open311::SPECIFICATION))
            .with("url", Value::str(format!("{base}/open311/v2")))
            .with("changeset", Value::str(changeset.clone()))
            .with("type", Value::str("production"))
            .with(
                "formats",
                Value::List {
                    item: "format",
                    items: vec![Value::str("text/xml"), Value::str("application/json")],
                },
            );
        Ok(Doc::Single {
            root: "discovery",
            record: Record::new()
                .with("changeset", Value::str(changeset))
                .with("contact", Value::str(cfg.contact.clone()))
                .with("key_service", Value::str(cfg.key_service.clone()))
                .with(
                    "endpoints",
                    Value::List {
                        item: "endpoint",
                        items: vec![Value::Obj(endpoint)],
                    },
                ),
        })
    }

    /// The newest change of the class list, so clients know when to refresh.
    async fn services_changeset(&self) -> AppResult<String> {
        let mut tx = self.store.read().await?;
        let newest = tx
            .list_classes()
            .await?
            .into_iter()
            .map(|c| c.updated_at)
            .max()
            .unwrap_or_default();
        Ok(w3c(newest))
    }

    pub async fn open311_services(&self) -> AppResult<Doc> {
        let mut classes = self.offered_classes().await?;
        classes.sort_by_key(|c| c.class);
        Ok(Doc::Collection {
            root: "services",
            item: "service",
            items: classes.iter().map(service_record).collect(),
        })
    }

    pub async fn open311_service_definition(&self, code: &str) -> AppResult<Doc> {
        let class = self
            .offered_classes()
            .await?
            .into_iter()
            .find(|c| c.class.to_string().eq_ignore_ascii_case(code.trim()))
            .ok_or(AppError::NotFound("service_code"))?;
        let mut attributes = Vec::new();
        if class.class.kind == ClassKind::Component {
            attributes.push(Value::Obj(
                Record::new()
                    .with("variable", Value::Bool(true))
                    .with("code", Value::str(COMPONENT_ATTRIBUTE))
                    .with("datatype", Value::str("string"))
                    .with("required", Value::Bool(false))
                    .with(
                        "datatype_description",
                        Value::str("部件编号：部件上标注的16位编码 The 16-digit id marked on the component"),
                    )
                    .with("order", Value::Int(1))
                    .with(
                        "description",
                        Value::str("部件编号（如可见）Component id, if visible"),
                    ),
            ));
        }
        Ok(Doc::Single {
            root: "service_definition",
            record: Record::new()
                .with("service_code", Value::str(class.class.to_string()))
                .with(
                    "attributes",
                    Value::List {
                        item: "attribute",
                        items: attributes,
                    },
                ),
        })
    }

    /// POST Service Request. With a valid key the case is created at once (`service_request_id`);
    /// a keyless post, where the deployment allows it, is held for moderation (`token`).
    pub async fn open311_create(
        &self,
        req: NewRequest,
        media: Vec<Vec<u8>>,
        ctx: &Ctx,
    ) -> AppResult<Doc> {
        self.open311_jurisdiction(req.jurisdiction_id.as_deref())?;
        let partner = match req.api_key.as_deref() {
            None if self.cfg.public.open311_keyless => None,
            key => Some(self.partner_for_key(key, "open311").await?),
        };
        let class = self
            .offered_classes()
            .await?
            .into_iter()
            .find(|c| c.class.to_string().eq_ignore_ascii_case(&req.service_code))
            .ok_or(AppError::NotFound("service_code"))?;
        if media.len() > 9 {
            return Err(AppError::rejected(
                "too_many_photos",
                "media",
                "at most 9 photos",
            ));
        }
        let (location, address) = self.open311_location(&req).await?;
        let description = req
            .description
            .clone()
            .unwrap_or_else(|| class.name.clone());
        if description.chars().count() > 2000 {
            return Err(AppError::rejected(
                "description_too_long",
                "description",
                "this server accepts at most 2000 characters",
            ));
        }
        let name = [req.first_name.as_deref(), req.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let phone = req
            .phone
            .as_deref()
            .map(super::normalise_phone)
            .transpose()?;
        let component_id = req
            .attributes
            .get(COMPONENT_ATTRIBUTE)
            .and_then(|v| v.first())
            .cloned();
        let mut photos = Vec::new();
        let uploader = Actor::System(partner_actor_name(partner.as_ref()));
        for bytes in media {
            photos.push(self.upload_blob(&uploader, bytes, ctx).await?.hash);
        }
        let input = ReportInput {
            source: "public".into(),
            description,
            class: Some(class.class.to_string()),
            location: Some(location),
            component_id,
            address,
            photos,
            contact_name: (!name.is_empty()).then_some(name),
            contact_phone: phone,
            external_ref: None,
            device_id: None,
            confidence: None,
        };
        let facts = HeldFacts {
            channel: "open311".into(),
            partner_id: partner.as_ref().map(|p| p.id),
            media_url: req.media_url.clone(),
            account_id: req.account_id.clone(),
            followup_hash: None,
        };
        let Some(partner) = partner else {
            let token = self.hold(&facts, &input, "keyless_open311", ctx).await?;
            return Ok(Doc::Collection {
                root: "service_requests",
                item: "request",
                items: vec![
                    Record::new()
                        .with("token", Value::str(token))
                        .with(
                            "service_notice",
                            Value::str("待审核后受理 Held for review before it is accepted"),
                        )
                        .with("account_id", Value::opt(req.account_id.clone())),
                ],
            });
        };
        let key = format!(
            "open311:{}:{}",
            partner.id,
            crate::secret::token_digest(
                &json!([input, facts.media_url, facts.account_id]).to_string()
            )
        );
        let case_id = self
            .create_public_case(&uploader, input, &facts, &key, ctx)
            .await?;
        Ok(Doc::Collection {
            root: "service_requests",
            item: "request",
            items: vec![
                Record::new()
                    .with("service_request_id", Value::str(case_id))
                    .with("service_notice", Value::Null)
                    .with("account_id", Value::opt(req.account_id.clone())),
            ],
        })
    }

    async fn open311_location(
        &self,
        req: &NewRequest,
    ) -> AppResult<(RawCoordinate, Option<String>)> {
        if let Some((lat, lon)) = req.lat_long {
            return Ok((
                RawCoordinate {
                    crs: Crs::Wgs84,
                    x: lon,
                    y: lat,
                },
                req.address_string.clone(),
            ));
        }
        let spatial = self.spatial();
        let found = if let Some(id) = req.address_id.as_deref() {
            id.parse::<i64>()
                .ok()
                .and_then(|id| spatial.addresses.iter().find(|a| a.id == id))
                .cloned()
        } else {
            let text = req.address_string.clone().unwrap_or_default();
            let hit = spatial.gazetteer.search(&text, 1).into_iter().next();
            hit.and_then(|m| spatial.addresses.iter().find(|a| a.id == m.id).cloned())
        };
        let a = found.ok_or_else(|| {
            AppError::rejected(
                "address_not_found",
                "address_string",
                "the address could not be located; send lat and long",
            )
        })?;
        Ok((
            RawCoordinate {
                crs: Crs::Cgcs2000,
                x: a.lon,
                y: a.lat,
            },
            Some(req.address_string.clone().unwrap_or(a.text)),
        ))
    }

    /// GET Service Requests.
    pub async fn open311_requests(&self, q: &RequestsQuery, base: &str) -> AppResult<Doc> {
        let query = match &q.ids {
            Some(ids) => PublicCaseQuery {
                ids: Some(ids.clone()),
                limit: cityloop_open311::input::MAX_PAGE_SIZE,
                ..Default::default()
            },
            None => PublicCaseQuery {
                classes: q.service_codes.clone(),
                closed: match q.status {
                    StatusFilter::Open => Some(false),
                    StatusFilter::Closed => Some(true),
                    StatusFilter::Any => None,
                },
                reported_from: Some(q.start),
                reported_to: Some(q.end),
                updated_from: q.updated_after,
                updated_to: q.updated_before,
                offset: (q.page - 1).saturating_mul(q.page_size),
                limit: q.page_size,
                ..Default::default()
            },
        };
        let ids = {
            let mut tx = self.store.read().await?;
            tx.public_case_ids(&query).await?
        };
        let items = self.request_records(&ids, q.extensions, base).await?;
        Ok(Doc::Collection {
            root: "service_requests",
            item: "request",
            items,
        })
    }

    /// GET Service Request.
    pub async fn open311_request(&self, id: &str, base: &str) -> AppResult<Doc> {
        let items = self
            .request_records(std::slice::from_ref(&id.to_owned()), true, base)
            .await?;
        if items.is_empty() {
            return Err(AppError::NotFound("service_request_id"));
        }
        Ok(Doc::Collection {
            root: "service_requests",
            item: "request",
            items,
        })
    }

    async fn request_records(
        &self,
        ids: &[String],
        extensions: bool,
        base: &str,
    ) -> AppResult<Vec<Record>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let classes = self.class_map().await?;
        let departments = self.departments_cached().await?;
        let (cases, publics, events, attachments) = {
            let mut tx = self.store.read().await?;
            let cases = tx.get_cases(ids).await?;
            let publics = tx.public_requests(ids).await?;
            let events = if extensions {
                tx.events_of_cases(ids).await?
            } else {
                Vec::new()
            };
            let mut attachments: HashMap<String, Vec<AttachmentRecord>> = HashMap::new();
            for id in ids {
                attachments.insert(id.clone(), tx.case_attachments(id).await?);
            }
            (cases, publics, events, attachments)
        };
        let by_id: HashMap<&str, &CaseRecord> =
            cases.iter().map(|c| (c.case.id.as_str(), c)).collect();
        let mut out = Vec::new();
        for id in ids {
            let Some(rec) = by_id.get(id.as_str()) else {
                continue;
            };
            let case_events: Vec<Event> = events
                .iter()
                .filter(|e| &e.case_id == id)
                .cloned()
                .collect();
            let shown = Shown {
                rec,
                class: rec
                    .case
                    .class
                    .as_ref()
                    .or(rec.intake.reported_class.as_ref())
                    .and_then(|c| classes.get(c)),
                departments: &departments,
                public: publics.iter().find(|p| &p.case_id == id),
                attachments: attachments.get(id).map(Vec::as_slice).unwrap_or(&[]),
                events: &case_events,
                sensitive: self.is_sensitive(rec),
            };
            out.push(self.request_record(&shown, extensions, base));
        }
        Ok(out)
    }

    pub(crate) fn public_point(&self, rec: &CaseRecord) -> (f64, f64) {
        if self.is_sensitive(rec) {
            super::fuzz_point(rec.intake.lon, rec.intake.lat, self.cfg.public.fuzz_m)
        } else {
            (rec.intake.lon, rec.intake.lat)
        }
    }

    pub(crate) fn public_photos(&self, s: &Shown<'_>, base: &str) -> Vec<(String, String)> {
        if s.sensitive {
            return Vec::new();
        }
        s.attachments
            .iter()
            .filter(|a| PUBLIC_STAGES.contains(&a.stage.as_str()))
            .map(|a| {
                (
                    format!("{base}/open311/v2/media/{}/{}.jpg", s.rec.case.id, a.hash),
                    a.stage.clone(),
                )
            })
            .collect()
    }

    fn request_record(&self, s: &Shown<'_>, extensions: bool, base: &str) -> Record {
        let rec = s.rec;
        let case = &rec.case;
        let (lon, lat) = self.public_point(rec);
        let photos = self.public_photos(s, base);
        let media_url = photos
            .first()
            .map(|(u, _)| u.clone())
            .or_else(|| s.public.and_then(|p| p.media_url.clone()));
        let agency = case.lead_department.as_ref().map(|c| {
            s.departments
                .iter()
                .find(|d| &d.code == c)
                .map_or(c.clone(), |d| d.name.clone())
        });
        let code = case.class.clone().or(rec.intake.reported_class.clone());
        let closed = matches!(case.step, Step::Closed(_));
        let mut r = Record::new()
            .with("service_request_id", Value::str(case.id.clone()))
            .with("status", Value::str(status::core(case.step)))
            .with("status_notes", Value::str(super::step_label(case.step)))
            .with("service_name", Value::opt(s.class.map(|c| c.name.clone())))
            .with("service_code", Value::opt(code))
            .with("description", Value::str(case.description.clone()))
            .with("agency_responsible", Value::opt(agency))
            .with("service_notice", Value::Null)
            .with("requested_datetime", Value::str(w3c(case.reported_at)))
            .with(
                "updated_datetime",
                Value::str(w3c(case
                    .closed_at
                    .filter(|_| closed)
                    .unwrap_or(case.updated_at))),
            )
            .with(
                "expected_datetime",
                Value::opt(rec.clock.due_at.filter(|_| !closed).map(w3c)),
            )
            .with(
                "address",
                Value::opt(if s.sensitive {
                    None
                } else {
                    rec.intake.address.clone()
                }),
            )
            .with("address_id", Value::Null)
            .with("zipcode", Value::Null)
            .with("lat", Value::Num(lat))
            .with("long", Value::Num(lon))
            .with("media_url", Value::opt(media_url));
        if extensions {
            let notes: Vec<Value> = s
                .events
                .iter()
                .filter_map(|e| {
                    super::public_note(e, s.departments).map(|text| {
                        Value::Obj(
                            Record::new()
                                .with("datetime", Value::str(w3c(e.at)))
                                .with("description", Value::str(text))
                                .with("type", Value::str(status::of_event(e.kind, e.to))),
                        )
                    })
                })
                .collect();
            let photo_values: Vec<Value> = photos
                .iter()
                .map(|(url, stage)| {
                    Value::Obj(
                        Record::new()
                            .with("media_url", Value::str(url.clone()))
                            .with("title", Value::str(stage.clone())),
                    )
                })
                .collect();
            r.push(
                "extended_attributes",
                Value::Obj(
                    Record::new()
                        .with("channel", Value::str(case.source.code()))
                        .with("status", Value::str(status::extended(case.step)))
                        .with("x", Value::Num(lon))
                        .with("y", Value::Num(lat))
                        .with(
                            "photos",
                            Value::List {
                                item: "photo",
                                items: photo_values,
                            },
                        ),
                ),
            );
            r.push(
                "notes",
                Value::List {
                    item: "note",
                    items: notes,
                },
            );
        }
        r
    }

    /// GET token: the id once the held report became a case; an empty id while it waits.
    pub async fn open311_token(&self, token: &str) -> AppResult<Doc> {
        let item = {
            let mut tx = self.store.read().await?;
            tx.moderation_by_token(token).await?
        }
        .ok_or(AppError::NotFound("token"))?;
        if item.status == "rejected" {
            return Err(AppError::NotFound("token"));
        }
        Ok(Doc::Collection {
            root: "service_requests",
            item: "request",
            items: vec![
                Record::new()
                    .with("service_request_id", Value::opt(item.case_id))
                    .with("token", Value::str(item.token)),
            ],
        })
    }

    /// FixMyStreet GET servicerequestupdates: public notes of case events plus posted updates
    /// in `[start, end]`, oldest first, at most 1000.
    pub async fn open311_updates(
        &self,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
        base: &str,
    ) -> AppResult<Doc> {
        const MAX: usize = 1000;
        // `end_date` is the latest instant wanted, included.
        let end = end + chrono::Duration::microseconds(1);
        let departments = self.departments_cached().await?;
        let (events, posted) = {
            let mut tx = self.store.read().await?;
            let events = tx.case_events_since(start, None, 5000).await?;
            let posted = tx.public_updates(None, start, end, MAX as i64).await?;
            (events, posted)
        };
        let mut rows: Vec<(chrono::DateTime<chrono::Utc>, Record)> = events
            .iter()
            .filter(|e| e.at < end)
            .filter_map(|e| {
                super::public_note(e, &departments).map(|text| {
                    (
                        e.at,
                        Record::new()
                            .with(
                                "update_id",
                                Value::str(format!("{}:{}", e.case_id, e.version)),
                            )
                            .with("service_request_id", Value::str(e.case_id.clone()))
                            .with("status", Value::str(status::of_event(e.kind, e.to)))
                            .with("updated_datetime", Value::str(w3c(e.at)))
                            .with("description", Value::str(text))
                            .with(
                                "media_url",
                                Value::opt(
                                    e.attachments
                                        .first()
                                        .filter(|_| {
                                            matches!(
                                                e.kind,
                                                cityloop_domain::case::EventKind::Acted(
                                                    cityloop_domain::case::ActionKind::Feedback
                                                )
                                            )
                                        })
                                        .map(|h| {
                                            format!("{base}/open311/v2/media/{}/{h}.jpg", e.case_id)
                                        }),
                                ),
                            )
                            .with("external_status_code", Value::str(e.to.code())),
                    )
                })
            })
            .collect();
        rows.extend(posted.into_iter().map(|u| {
            (
                u.at,
                Record::new()
                    .with("update_id", Value::str(format!("u{}", u.id)))
                    .with("service_request_id", Value::str(u.case_id))
                    .with("status", Value::str(u.status))
                    .with("updated_datetime", Value::str(w3c(u.at)))
                    .with("description", Value::str(u.description))
                    .with("media_url", Value::opt(u.media_url))
                    .with("external_status_code", Value::Null),
            )
        }));
        rows.sort_by_key(|(at, _)| *at);
        rows.truncate(MAX);
        Ok(Doc::Collection {
            root: "service_request_updates",
            item: "request_update",
            items: rows.into_iter().map(|(_, r)| r).collect(),
        })
    }

    /// FixMyStreet POST servicerequestupdates: a partner's comment on a request. The same
    /// `update_id` from the same partner is stored once.
    pub async fn open311_post_update(&self, p: &[(String, String)], ctx: &Ctx) -> AppResult<Doc> {
        let get = |n: &str| p.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        self.open311_jurisdiction(get("jurisdiction_id").as_deref())?;
        let partner = self
            .partner_for_key(get("api_key").as_deref(), "open311")
            .await?;
        let case_id = get("service_request_id").ok_or_else(|| {
            AppError::rejected("service_request_id", "service_request_id", "not provided")
        })?;
        let description = get("description").unwrap_or_default();
        if description.chars().count() > 4000 {
            return Err(AppError::rejected(
                "description",
                "description",
                "at most 4000 characters",
            ));
        }
        let st = get("status")
            .unwrap_or_else(|| "OPEN".into())
            .to_ascii_uppercase();
        if !status::EXTENDED.contains(&st.as_str()) && st != "CLOSED" {
            return Err(AppError::rejected(
                "status",
                "status",
                format!("unknown status {st}"),
            ));
        }
        let at = match get("updated_datetime") {
            Some(s) => cityloop_open311::time::parse(&s).ok_or_else(|| {
                AppError::rejected("updated_datetime", "updated_datetime", "not a W3C datetime")
            })?,
            None => self.now(),
        };
        let now = self.now();
        let mut tx = self.store.write().await?;
        if tx.get_case(&case_id).await?.is_none() {
            return Err(AppError::NotFound("service_request_id"));
        }
        let u = tx
            .insert_public_update(&PublicUpdateNew {
                case_id: case_id.clone(),
                partner_id: Some(partner.id),
                external_id: get("update_id"),
                status: st,
                description,
                media_url: get("media_url"),
                at,
                created_at: now,
            })
            .await?;
        tx.touch_partner_key(partner.id, now).await?;
        self.audit(
            tx.as_mut(),
            &Actor::System(partner_actor_name(Some(&partner))),
            "open311.update",
            crate::Obj::new("case", &case_id),
            "ok",
            ctx,
            json!({"update": u.id}),
        )
        .await?;
        tx.commit().await?;
        Ok(Doc::Collection {
            root: "service_request_updates",
            item: "request_update",
            items: vec![Record::new().with("update_id", Value::str(format!("u{}", u.id)))],
        })
    }

    /// An EXIF-free copy (re-encoded JPEG, at most 1600 px) of a photo shown publicly.
    pub async fn public_photo(&self, case_id: &str, hash: &str) -> AppResult<Vec<u8>> {
        let (rec, attachments) = {
            let mut tx = self.store.read().await?;
            (
                tx.get_case(case_id).await?,
                tx.case_attachments(case_id).await?,
            )
        };
        let rec = rec.ok_or(AppError::NotFound("photo"))?;
        let shown = attachments
            .iter()
            .any(|a| a.hash == hash && PUBLIC_STAGES.contains(&a.stage.as_str()));
        if !shown || self.is_sensitive(&rec) {
            return Err(AppError::NotFound("photo"));
        }
        let (bytes, _) = self
            .blob(
                &Actor::System("public".into()),
                hash,
                Some(1600),
                &Ctx::default(),
            )
            .await?;
        Ok(bytes)
    }
}

/// How a partner appears in the audit log and as uploader.
pub(crate) fn partner_actor_name(p: Option<&cityloop_store::PartnerKey>) -> String {
    match p {
        Some(p) => format!("partner:{}:{}", p.id, p.name),
        None => "public".into(),
    }
}

/// Facts of a public submission besides the report itself.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct HeldFacts {
    pub channel: String,
    pub partner_id: Option<i64>,
    pub media_url: Option<String>,
    pub account_id: Option<String>,
    pub followup_hash: Option<String>,
}

impl App {
    /// Stores a case for a public submission and its citizen-facing facts. The intake is
    /// idempotent on `key`, so a retry after a failure between the two writes completes the
    /// second instead of creating a second case.
    pub(crate) async fn create_public_case(
        &self,
        actor: &Actor,
        input: ReportInput,
        facts: &HeldFacts,
        key: &str,
        ctx: &Ctx,
    ) -> AppResult<String> {
        let out = self.report(actor, input, Some(key), false, ctx).await?;
        let case_id = out.case.id.clone();
        let mut tx = self.store.write().await?;
        tx.insert_public_request(&PublicRequest {
            case_id: case_id.clone(),
            channel: facts.channel.clone(),
            partner_id: facts.partner_id,
            media_url: facts.media_url.clone(),
            account_id: facts.account_id.clone(),
            followup_hash: facts.followup_hash.clone(),
            created_at: self.now(),
        })
        .await?;
        if let Some(id) = facts.partner_id {
            tx.touch_partner_key(id, self.now()).await?;
        }
        tx.commit().await?;
        Ok(case_id)
    }

    /// Holds a submission for moderation and returns its token.
    pub(crate) async fn hold(
        &self,
        facts: &HeldFacts,
        input: &ReportInput,
        reason: &str,
        ctx: &Ctx,
    ) -> AppResult<String> {
        let token = crate::secret::new_token("held_");
        let mut tx = self.store.write().await?;
        let item = tx
            .insert_moderation(&ModerationNew {
                token: token.clone(),
                channel: facts.channel.clone(),
                partner_id: facts.partner_id,
                reason: reason.to_owned(),
                payload: json!({"report": input, "facts": facts}),
                created_at: self.now(),
            })
            .await?;
        self.audit(
            tx.as_mut(),
            &Actor::System(facts.channel.clone()),
            "moderation.hold",
            crate::Obj::new("moderation", item.id),
            "ok",
            ctx,
            json!({"held": reason}),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Turns an approved held submission into a case (idempotent on the item).
    pub(crate) async fn create_from_held(
        &self,
        item: &cityloop_store::ModerationItem,
        ctx: &Ctx,
    ) -> AppResult<String> {
        let input: ReportInput = serde_json::from_value(item.payload["report"].clone())
            .map_err(|e| AppError::Internal(format!("held report {}: {e}", item.id)))?;
        let facts: HeldFacts = serde_json::from_value(item.payload["facts"].clone())
            .map_err(|e| AppError::Internal(format!("held report {}: {e}", item.id)))?;
        let actor = Actor::System(format!("moderation:{}", item.id));
        self.create_public_case(
            &actor,
            input,
            &facts,
            &format!("moderation:{}", item.id),
            ctx,
        )
        .await
    }
}
