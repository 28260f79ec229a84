//! Intake with group commit.
//!
//! Every report is validated and located by the calling task, then handed to a writer that
//! takes everything queued at that moment and stores it in one transaction (cases, first
//! events, idempotency keys, photos, notifications), commits, and only then answers each
//! caller. One durable commit thus acknowledges many reports: SQLite's synchronous=FULL fsync
//! and PostgreSQL's WAL flush are paid per batch, not per case. Under light load a batch is one
//! report and nothing waits for company.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cityloop_domain::calendar::CHINA_OFFSET;
use cityloop_domain::case::{self as machine, NewCase, Source};
use cityloop_domain::rules::ProcessLimits;
use cityloop_domain::taxonomy::ClassRef;
use cityloop_store::{
    AttachmentRecord, CaseIntake, CaseNew, CaseRecord, IdempotencyRecord, OutboxNew, Store,
    StoreError,
};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::ReportInput;
use crate::basedata::GeocodeOptions;
use crate::clock::Clock;
use crate::{App, AppError, AppResult};

/// Tunables of the intake writer.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Most reports stored by one transaction.
    pub max_batch: usize,
    /// Concurrent writers; `None` picks by engine (SQLite has one writer anyway).
    pub writers: Option<usize>,
    /// Reports waiting beyond this are refused with 503 rather than queued without bound.
    pub queue: usize,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            max_batch: 1000,
            writers: None,
            queue: 16_384,
        }
    }
}

/// A report ready to store.
pub(crate) struct Prepared {
    pub owner: i64,
    pub intake: CaseIntake,
    pub photos: Vec<String>,
    pub idempotency: Option<(String, String)>,
    pub district: String,
    pub inspectors: Vec<i64>,
    /// The case as opened by the state machine, under a placeholder number the writer replaces
    /// (the number is only known in the writer's transaction; nothing else depends on it).
    pub opened: machine::Transition,
    pub clock: cityloop_store::CaseClock,
    /// Evaluation credits of the report (上报数 of an inspector).
    pub rollups: Vec<cityloop_eval::RollupDelta>,
}

type Reply = AppResult<(CaseRecord, bool)>;

struct Job {
    p: Prepared,
    reply: oneshot::Sender<Reply>,
}

pub(crate) struct Intake {
    tx: mpsc::Sender<Job>,
}

impl Intake {
    fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>, cfg: &IntakeConfig) -> Intake {
        let (tx, rx) = mpsc::channel::<Job>(cfg.queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let writers = cfg.writers.unwrap_or(match store.engine() {
            cityloop_store::Engine::Sqlite => 1,
            cityloop_store::Engine::Postgres => 4,
        });
        for _ in 0..writers.max(1) {
            let rx = rx.clone();
            let store = store.clone();
            let clock = clock.clone();
            let max = cfg.max_batch.max(1);
            tokio::spawn(async move {
                loop {
                    let mut batch = Vec::new();
                    {
                        let mut rx = rx.lock().await;
                        match rx.recv().await {
                            Some(job) => batch.push(job),
                            None => return,
                        }
                        while batch.len() < max {
                            match rx.try_recv() {
                                Ok(job) => batch.push(job),
                                Err(_) => break,
                            }
                        }
                    }
                    write_batch(store.as_ref(), clock.as_ref(), batch).await;
                }
            });
        }
        Intake { tx }
    }
}

fn day_of(at: DateTime<Utc>) -> String {
    at.with_timezone(&CHINA_OFFSET).format("%Y%m%d").to_string()
}

/// Human-readable case number: China date, district, serial of the day.
pub(crate) fn case_number(day: &str, district: &str, serial: i64) -> String {
    format!("{day}-{district}-{serial:05}")
}

enum Slot {
    New(usize),
    Replay(String),
    Failed(AppError),
}

async fn write_batch(store: &dyn Store, clock: &dyn Clock, batch: Vec<Job>) {
    let started = std::time::Instant::now();
    let mut result = try_write(store, clock, &batch).await;
    tracing::debug!(
        n = batch.len(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "intake batch"
    );
    // Another instance may have committed one of our idempotency keys after we looked (only
    // PostgreSQL runs several writers); a second pass sees it and answers with that case.
    if matches!(result, Err(AppError::Conflict(_))) {
        result = try_write(store, clock, &batch).await;
    }
    match result {
        Ok(replies) => {
            for (job, reply) in batch.into_iter().zip(replies) {
                let _ = job.reply.send(reply);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, n = batch.len(), "intake batch failed");
            let msg = e.to_string();
            for job in batch {
                let _ = job.reply.send(Err(match &e {
                    AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
                    _ => AppError::Internal(msg.clone()),
                }));
            }
        }
    }
}

async fn try_write(store: &dyn Store, clock: &dyn Clock, batch: &[Job]) -> AppResult<Vec<Reply>> {
    let now = clock.now();
    let day = day_of(now);

    // Serial numbers. PostgreSQL reserves them in their own short transaction so that
    // concurrent writers only queue on the counter row briefly (a failed batch leaves a gap);
    // SQLite has a single writer, so the same transaction is cheapest.
    let mut per_district: Vec<(String, i64)> = Vec::new();
    for j in batch {
        match per_district.iter_mut().find(|(d, _)| *d == j.p.district) {
            Some((_, n)) => *n += 1,
            None => per_district.push((j.p.district.clone(), 1)),
        }
    }
    let separate = store.engine() == cityloop_store::Engine::Postgres;
    let mut first_serial: HashMap<String, i64> = HashMap::new();
    if separate {
        let mut tx = store.write().await?;
        for (d, n) in &per_district {
            first_serial.insert(d.clone(), tx.reserve_case_serials(&day, d, *n).await?);
        }
        tx.commit().await?;
    }

    let mut tx = store.write().await?;
    if !separate {
        for (d, n) in &per_district {
            first_serial.insert(d.clone(), tx.reserve_case_serials(&day, d, *n).await?);
        }
    }

    // Idempotency keys already used.
    let mut by_owner: HashMap<i64, Vec<String>> = HashMap::new();
    for j in batch {
        if let Some((key, _)) = &j.p.idempotency {
            by_owner.entry(j.p.owner).or_default().push(key.clone());
        }
    }
    let mut known: HashMap<(i64, String), IdempotencyRecord> = HashMap::new();
    for (owner, keys) in &by_owner {
        for r in tx.get_idempotency(*owner, keys).await? {
            known.insert((r.owner, r.key.clone()), r);
        }
    }

    // Photos must have been uploaded; one lookup for the whole batch.
    let mut wanted: Vec<String> = batch
        .iter()
        .flat_map(|j| j.p.photos.iter().cloned())
        .collect();
    wanted.sort();
    wanted.dedup();
    let present: std::collections::HashSet<String> = if wanted.is_empty() {
        Default::default()
    } else {
        tx.get_blobs(&wanted)
            .await?
            .into_iter()
            .map(|b| b.hash)
            .collect()
    };

    let mut slots = Vec::with_capacity(batch.len());
    let mut news: Vec<CaseNew> = Vec::new();
    let mut keys: Vec<IdempotencyRecord> = Vec::new();
    let mut attachments: Vec<AttachmentRecord> = Vec::new();
    let mut outbox: Vec<OutboxNew> = Vec::new();
    let mut next_serial = first_serial;
    for j in batch {
        let p = &j.p;
        if let Some((key, hash)) = &p.idempotency
            && let Some(prev) = known.get(&(p.owner, key.clone()))
        {
            slots.push(if &prev.request_hash == hash {
                Slot::Replay(prev.case_id.clone())
            } else {
                Slot::Failed(AppError::rejected(
                    "idempotency_key_reused",
                    "Idempotency-Key",
                    "this idempotency key was used for a different report",
                ))
            });
            continue;
        }
        if let Some(missing) = p.photos.iter().find(|h| !present.contains(*h)) {
            slots.push(Slot::Failed(AppError::rejected(
                "unknown_photo",
                "photos",
                format!("upload {missing} first (POST /api/v1/blobs)"),
            )));
            continue;
        }
        let serial = next_serial.entry(p.district.clone()).or_insert(1);
        let id = case_number(&day, &p.district, *serial);
        *serial += 1;
        let mut t = p.opened.clone();
        t.case.id = id.clone();
        t.event.case_id = id.clone();
        let clock = p.clock.clone();
        if let Some((key, hash)) = &p.idempotency {
            let rec = IdempotencyRecord {
                owner: p.owner,
                key: key.clone(),
                request_hash: hash.clone(),
                case_id: id.clone(),
                created_at: now,
            };
            known.insert((p.owner, key.clone()), rec.clone());
            keys.push(rec);
        }
        for h in &p.photos {
            attachments.push(AttachmentRecord {
                case_id: id.clone(),
                hash: h.clone(),
                stage: "report".into(),
                event_version: 1,
                flags: serde_json::json!([]),
                created_at: now,
            });
        }
        let record = CaseRecord {
            case: t.case,
            intake: p.intake.clone(),
            clock,
        };
        outbox.extend(super::notify::for_opened(&record, &p.inspectors));
        slots.push(Slot::New(news.len()));
        news.push(CaseNew {
            record,
            event: t.event,
        });
    }
    let rollups: Vec<cityloop_eval::RollupDelta> = slots
        .iter()
        .zip(batch)
        .filter(|(s, _)| matches!(s, Slot::New(_)))
        .flat_map(|(_, j)| j.p.rollups.iter().cloned())
        .collect();
    crate::evaluation::apply_rollup_deltas(tx.as_mut(), &rollups, now).await?;
    tx.insert_cases(&news).await.map_err(store_err)?;
    tx.insert_idempotency(&keys).await.map_err(store_err)?;
    tx.insert_attachments(&attachments).await?;
    tx.insert_outbox(&outbox).await?;
    let replay_ids: Vec<String> = slots
        .iter()
        .filter_map(|s| match s {
            Slot::Replay(id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    let replayed: HashMap<String, CaseRecord> = if replay_ids.is_empty() {
        HashMap::new()
    } else {
        tx.get_cases(&replay_ids)
            .await?
            .into_iter()
            .map(|r| (r.case.id.clone(), r))
            .collect()
    };
    tx.commit().await.map_err(store_err)?;

    Ok(slots
        .into_iter()
        .map(|s| match s {
            Slot::New(i) => Ok((news[i].record.clone(), false)),
            Slot::Replay(id) => match replayed.get(&id) {
                Some(r) => Ok((r.clone(), true)),
                // Replayed within this batch: the first job of the key created it.
                None => news
                    .iter()
                    .find(|n| n.record.case.id == id)
                    .map(|n| (n.record.clone(), true))
                    .ok_or(AppError::Internal(format!("case {id} vanished"))),
            },
            Slot::Failed(e) => Err(e),
        })
        .collect())
}

fn store_err(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(m) => AppError::Conflict(m),
        other => other.into(),
    }
}

fn request_hash(input: &ReportInput) -> String {
    let bytes = serde_json::to_vec(input).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(&bytes);
    format!("{:x}", h.finalize())
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
}

impl App {
    fn intake_writer(&self) -> &Intake {
        self.intake.get_or_init(|| {
            Intake::start(
                self.store.clone(),
                self.clock.clone(),
                &self.cases_cfg.intake,
            )
        })
    }

    /// Validates, locates and stores one report (see the module docs for the batching).
    pub(crate) async fn intake(
        &self,
        who: &machine::Actor,
        owner: i64,
        input: ReportInput,
        idempotency_key: Option<&str>,
    ) -> AppResult<(CaseRecord, bool)> {
        let source = Source::from_code(&input.source).ok_or_else(|| {
            AppError::rejected(
                "unknown_source",
                "source",
                format!(
                    "unknown source {}; one of public, hotline, inspector, leader, media, video, sensor",
                    input.source
                ),
            )
        })?;
        if !source
            .reporting_roles()
            .iter()
            .any(|r| who.roles.contains(r))
        {
            return Err(AppError::Forbidden(format!(
                "your roles may not report {} cases",
                source.code()
            )));
        }
        let description = input.description.trim();
        if description.is_empty() {
            return Err(AppError::Invalid(cityloop_domain::FieldError::new(
                "description",
                "must not be blank",
            )));
        }
        if description.chars().count() > 2000 {
            return Err(AppError::Invalid(cityloop_domain::FieldError::new(
                "description",
                "at most 2000 characters",
            )));
        }
        let key = match idempotency_key {
            Some(k) => {
                let k = k.trim();
                if k.is_empty() || k.len() > 200 || !k.chars().all(|c| c.is_ascii_graphic()) {
                    return Err(AppError::rejected(
                        "invalid_idempotency_key",
                        "Idempotency-Key",
                        "1 to 200 printable ASCII characters",
                    ));
                }
                Some((k.to_owned(), request_hash(&input)))
            }
            None => None,
        };
        let now = self.now();
        let rules = self.rules_in_force(now).await?;
        let class = match blank(&input.class) {
            Some(c) => {
                let parsed: ClassRef = c.parse().map_err(|e: cityloop_domain::FieldError| {
                    AppError::rejected("unknown_class", "class", e.message)
                })?;
                let code = parsed.to_string();
                if let Some((_, content)) = &rules
                    && !content.conditions.iter().any(|k| k.class == parsed)
                {
                    return Err(AppError::rejected(
                        "unknown_class",
                        "class",
                        format!("{code} is not a class the rules in force can file"),
                    ));
                }
                Some(code)
            }
            None if source == Source::Inspector => {
                return Err(AppError::rejected(
                    "class_required",
                    "class",
                    "inspector reports name the class",
                ));
            }
            None => None,
        };
        if let Some(c) = input.confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(AppError::Invalid(cityloop_domain::FieldError::new(
                "confidence",
                "must be between 0 and 1",
            )));
        }
        if matches!(source, Source::Video | Source::Sensor) && blank(&input.device_id).is_none() {
            return Err(AppError::rejected(
                "device_required",
                "device_id",
                "machine alarms name the camera or sensor",
            ));
        }
        if source == Source::Inspector
            && self.cases_cfg.inspector_photo_required
            && input.photos.is_empty()
        {
            return Err(AppError::rejected(
                "photo_required",
                "photos",
                "inspector reports need at least one photo",
            ));
        }
        if let Some(bad) = input
            .photos
            .iter()
            .find(|h| !cityloop_evidence::is_valid_hash(h))
        {
            return Err(AppError::rejected(
                "unknown_photo",
                "photos",
                format!("not an uploaded photo: {bad}"),
            ));
        }

        // Where.
        let point = match (&input.location, blank(&input.component_id)) {
            (Some(raw), _) => self.to_city_point(raw).map_err(|e| match e {
                AppError::Invalid(f) if f.message.contains("outside") => {
                    AppError::rejected("outside_city", &f.field, f.message)
                }
                other => other,
            })?,
            (None, Some(id)) => {
                let found = {
                    let mut tx = self.store.read().await?;
                    tx.get_components(std::slice::from_ref(&id)).await?
                };
                let c = found.first().ok_or_else(|| {
                    AppError::rejected(
                        "unknown_component",
                        "component_id",
                        format!("no component {id}"),
                    )
                })?;
                cityloop_geo::LonLat::new(c.lon, c.lat)
                    .map_err(|e| AppError::Internal(format!("component {id} location: {e}")))?
            }
            (None, None) => {
                return Err(AppError::rejected(
                    "location_required",
                    "location",
                    "give a location or a component id",
                ));
            }
        };
        let spatial = self.spatial();
        let loc = self.locate(
            &spatial,
            point,
            input.location,
            &GeocodeOptions {
                k: 1,
                radius_m: Some(30.0),
                classes: Vec::new(),
            },
        );
        let Some(grid) = loc.grid.clone() else {
            return Err(AppError::rejected(
                "outside_city",
                "location",
                "the location is not inside any unit grid of the city",
            ));
        };
        let community = loc.community.as_ref().map(|a| a.code.clone());
        let street = loc.street.as_ref().map(|a| a.code.clone()).or_else(|| {
            community
                .as_ref()
                .and_then(|c| c.get(..9).map(str::to_owned))
        });
        let district = loc
            .district
            .as_ref()
            .map(|a| a.code.clone())
            .or_else(|| {
                community
                    .as_ref()
                    .and_then(|c| c.get(..6).map(str::to_owned))
            })
            .unwrap_or_else(|| "000000".to_owned());
        let address =
            blank(&input.address).or_else(|| loc.address.as_ref().map(|a| a.text.clone()));
        let process: ProcessLimits = rules.map(|(_, c)| c.process.clone()).unwrap_or_default();
        let opened = machine::open(
            NewCase {
                id: "pending".into(),
                source,
                description: description.to_owned(),
            },
            who,
            now,
        )
        .map_err(|e| super::transition_error(e, None))?;
        let clock =
            super::clock::compute(None, &opened.case, &process, None, &self.calendar(), now);
        let intake_facts = CaseIntake {
            reported_class: class.clone(),
            address: None,
            lon: point.lon(),
            lat: point.lat(),
            grid_code: Some(grid.clone()),
            community_code: community.clone(),
            street_code: street.clone(),
            ..Default::default()
        };
        let rollups = self
            .rollup_deltas_for(
                &[],
                &opened.event,
                crate::evaluation::meta_of(&intake_facts).as_ref(),
                Vec::new(),
            )
            .await?;
        let prepared = Prepared {
            owner,
            intake: CaseIntake {
                reported_class: class,
                address,
                lon: point.lon(),
                lat: point.lat(),
                grid_code: Some(grid),
                community_code: community,
                street_code: street,
                district_code: Some(district.clone()),
                component_id: blank(&input.component_id),
                contact_name: blank(&input.contact_name),
                contact_phone: blank(&input.contact_phone),
                external_ref: blank(&input.external_ref),
                device_id: blank(&input.device_id),
                confidence: input.confidence,
            },
            photos: input.photos.clone(),
            idempotency: key,
            district,
            inspectors: loc.inspector_ids.clone(),
            opened,
            clock,
            rollups,
        };
        let (reply, rx) = oneshot::channel();
        self.intake_writer()
            .tx
            .try_send(Job { p: prepared, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => {
                    AppError::Unavailable("intake queue is full; retry with the same key".into())
                }
                mpsc::error::TrySendError::Closed(_) => {
                    AppError::Unavailable("intake writer stopped".into())
                }
            })?;
        rx.await
            .map_err(|_| AppError::Unavailable("intake writer stopped".into()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_numbers_read_as_date_district_serial() {
        assert_eq!(
            case_number("20261126", "330188", 42),
            "20261126-330188-00042"
        );
        let late = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 25, 17, 0, 0).unwrap();
        // 01:00 on the 26th in China.
        assert_eq!(day_of(late), "20261126");
    }
}
