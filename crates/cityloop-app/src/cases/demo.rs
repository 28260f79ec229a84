//! A year of demo cases: the simulator drives the real state machine with a simulated clock and
//! the result is stored in bulk, with the same clock columns, evidence rows and case numbers the
//! live path produces.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use cityloop_domain::Role;
use cityloop_domain::calendar::CHINA_OFFSET;
use cityloop_domain::case::{self as machine, Event, EventKind, Step};
use cityloop_sim::{
    Options, Season, SimCondition, SimGrid, SimHandler, SimInspector, World, simulate,
};
use cityloop_store::{AttachmentRecord, BlobRecord, CaseIntake, CaseNew, CaseRecord, UserQuery};
use serde::Serialize;

use super::clock::compute;
use crate::basedata::GeocodeOptions;
use crate::{Actor, App, AppError, AppResult, Ctx, UserInput};

/// What the demo history contains.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DemoCasesReport {
    pub cases: usize,
    pub events: usize,
    pub open: usize,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// What [`App::bench_load_rollups`] produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BenchRollups {
    pub cases: usize,
    pub events: usize,
    pub day_rows: usize,
}

/// Distinct stand-in photos the demo cycles through.
const PLACEHOLDERS: u64 = 24;

impl App {
    /// Whether any case exists.
    pub async fn has_cases(&self) -> AppResult<bool> {
        let mut tx = self.store.read().await?;
        Ok(tx
            .count_cases(&cityloop_store::CaseQuery {
                limit: 1,
                ..Default::default()
            })
            .await?
            > 0)
    }

    /// Simulates `days` days of history ending now at about `per_day` reports a day and stores it.
    pub async fn seed_demo_cases(
        &self,
        days: i64,
        per_day: u32,
        seed: u64,
    ) -> AppResult<DemoCasesReport> {
        let now = self.now();
        let actor = Actor::System("demo".into());
        let ctx = Ctx::default();
        self.ensure_demo_handlers(&actor, &ctx).await?;
        let world = self.demo_world(&actor, &ctx).await?;
        let district = world
            .grids
            .first()
            .map(|g| g.district_code.clone())
            .unwrap_or_else(|| "000000".into());
        let today = now.with_timezone(&CHINA_OFFSET).date_naive();
        let from = today - Duration::days(days);
        let mut serials: HashMap<String, i64> = HashMap::new();
        let opts = Options {
            from,
            to: today + Duration::days(1),
            reports_per_day: per_day,
            seed,
            now,
        };
        let sims = simulate(&world, &opts, |at| {
            let day = at.with_timezone(&CHINA_OFFSET).format("%Y%m%d").to_string();
            let n = serials.entry(day.clone()).or_insert(0);
            *n += 1;
            super::intake::case_number(&day, &district, *n)
        })
        .map_err(|e| AppError::Internal(format!("demo simulation: {e}")))?;

        // Stand-in photos, stored like uploads.
        let store = self.blobs.store.clone();
        let placeholders = tokio::task::spawn_blocking(move || {
            (0..PLACEHOLDERS)
                .map(|i| {
                    let bytes = cityloop_evidence::placeholder_jpeg(i);
                    let info = store.put(&bytes)?;
                    Ok((info, cityloop_evidence::dhash(&bytes)))
                })
                .collect::<Result<Vec<_>, cityloop_evidence::EvidenceError>>()
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(format!("demo photos: {e}")))?;
        let blob_rows: Vec<BlobRecord> = placeholders
            .iter()
            .map(|(info, dhash)| BlobRecord {
                hash: info.hash.clone(),
                size: i64::try_from(info.size).unwrap_or(0),
                media_type: "image/jpeg".into(),
                exif: None,
                dhash: dhash.map(|d| i64::from_ne_bytes(d.to_ne_bytes())),
                uploaded_by: None,
                created_at: now,
            })
            .collect();
        let photo = |fake: &str| -> String {
            let k = fake
                .bytes()
                .take(8)
                .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
            let i = usize::try_from(k % PLACEHOLDERS).unwrap_or(0);
            placeholders[i].0.hash.clone()
        };

        let spatial = self.spatial();
        let calendar = self.calendar();
        let demo_rule_sets: std::collections::BTreeMap<
            i64,
            cityloop_domain::rules::RuleSetContent,
        > = [(
            world.rule_set_id,
            (*self.rule_set_content(world.rule_set_id).await?).clone(),
        )]
        .into_iter()
        .collect();
        let fctx = cityloop_eval::FactContext::new(&calendar, &demo_rule_sets, &world.process);
        let mut facts: Vec<(cityloop_eval::CaseFacts, Option<cityloop_eval::CaseMeta>)> =
            Vec::new();
        let mut report = DemoCasesReport {
            from: Some(from),
            to: Some(today),
            ..Default::default()
        };
        let mut news = Vec::new();
        let mut more_events: Vec<Event> = Vec::new();
        let mut attachments = Vec::new();
        for sim in sims {
            let grid = &world.grids[sim.grid];
            let loc = cityloop_geo::LonLat::new(sim.lon, sim.lat)
                .map(|p| {
                    self.locate(
                        &spatial,
                        p,
                        None,
                        &GeocodeOptions {
                            k: 0,
                            radius_m: None,
                            classes: Vec::new(),
                        },
                    )
                })
                .ok();
            let address = loc
                .as_ref()
                .and_then(|l| l.address.as_ref().map(|a| a.text.clone()))
                .unwrap_or(sim.address_hint.clone());
            let mut events = sim.events;
            for e in events.iter_mut() {
                for a in e.attachments.iter_mut() {
                    *a = photo(a);
                }
            }
            // Clock columns as the live path would have left them.
            let mut disposal_overdue = false;
            let mut state: Option<machine::Case> = None;
            for e in &events {
                let next = match &state {
                    None => match machine::replay(std::slice::from_ref(e)) {
                        Ok(c) => c,
                        Err(err) => return Err(AppError::Internal(format!("demo replay: {err}"))),
                    },
                    Some(prev) => {
                        let action = machine::action_of(e).ok_or_else(|| {
                            AppError::Internal("demo event without an action".into())
                        })?;
                        let who = machine::Actor {
                            user_id: e.actor_id,
                            roles: vec![e.actor_role],
                            department: e.actor_department.clone(),
                        };
                        if prev.step == Step::Disposing
                            && e.to != Step::Disposing
                            && prev.parked.is_none()
                        {
                            let (process, disposal) = self.limits_of(prev, e.at).await?;
                            if let Ok(Some(c)) =
                                machine::step_clock(prev, &process, disposal, &calendar)
                                && e.at > c.due
                            {
                                disposal_overdue = true;
                            }
                        }
                        machine::apply(prev, &who, action, e.at)
                            .map_err(|err| AppError::Internal(format!("demo apply: {err}")))?
                            .case
                    }
                };
                if let Some(kind) = match e.kind {
                    EventKind::Opened => None,
                    EventKind::Acted(k) => Some(k),
                } {
                    for h in &e.attachments {
                        attachments.push(AttachmentRecord {
                            case_id: e.case_id.clone(),
                            hash: h.clone(),
                            stage: kind.code().to_owned(),
                            event_version: i64::try_from(e.version).unwrap_or(0),
                            flags: serde_json::json!([]),
                            created_at: e.at,
                        });
                    }
                }
                state = Some(next);
            }
            facts.push((
                cityloop_eval::case_facts(&events, &fctx),
                Some(cityloop_eval::CaseMeta {
                    grid: grid.code.clone(),
                    community: grid.community_code.clone(),
                    street: grid.street_code.clone(),
                }),
            ));
            let case = sim.case;
            let (process, disposal) = self.limits_of(&case, now).await?;
            let mut clock = compute(None, &case, &process, disposal, &calendar, now);
            clock.disposal_overdue |= disposal_overdue;
            if !matches!(case.step, Step::Closed(_)) {
                report.open += 1;
            }
            if case.source == machine::Source::Inspector {
                attachments.push(AttachmentRecord {
                    case_id: case.id.clone(),
                    hash: photo(&case.id),
                    stage: "report".into(),
                    event_version: 1,
                    flags: serde_json::json!([]),
                    created_at: case.reported_at,
                });
            }
            report.cases += 1;
            report.events += events.len();
            // The store pairs a new case with the event of its current version; the rest of
            // the history goes in as plain events.
            let Some(last) = events.pop() else { continue };
            more_events.extend(events);
            news.push(CaseNew {
                record: CaseRecord {
                    intake: CaseIntake {
                        reported_class: sim.reported_class,
                        address: Some(address),
                        lon: sim.lon,
                        lat: sim.lat,
                        grid_code: Some(grid.code.clone()),
                        community_code: Some(grid.community_code.clone()),
                        street_code: Some(grid.street_code.clone()),
                        district_code: Some(grid.district_code.clone()),
                        component_id: None,
                        contact_name: None,
                        contact_phone: None,
                        external_ref: None,
                        device_id: match case.source {
                            machine::Source::Video => Some(format!("CAM-{:04}", sim.grid % 977)),
                            machine::Source::Sensor => Some(format!("IOT-{:05}", sim.grid % 9973)),
                            _ => None,
                        },
                        confidence: matches!(
                            case.source,
                            machine::Source::Video | machine::Source::Sensor
                        )
                        .then_some(0.9),
                    },
                    clock,
                    case,
                },
                event: last,
            });
        }

        let mut tx = self.store.write().await?;
        tx.insert_blobs(&blob_rows).await?;
        for (day, n) in &serials {
            tx.reserve_case_serials(day, &district, *n).await?;
        }
        for chunk in news.chunks(5_000) {
            tx.insert_cases(chunk).await?;
        }
        for chunk in more_events.chunks(20_000) {
            tx.append_case_events(chunk).await?;
        }
        for chunk in attachments.chunks(20_000) {
            tx.insert_attachments(chunk).await?;
        }
        let rollups = cityloop_eval::day_rollups(facts.iter().map(|(f, m)| (f, m.as_ref())));
        crate::evaluation::store_fresh_rollups(tx.as_mut(), &rollups).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// One handler account for every department that has none, so every dispatch has someone
    /// to act on it (`handler-<department code>`).
    async fn ensure_demo_handlers(&self, actor: &Actor, ctx: &Ctx) -> AppResult<()> {
        let departments = self.departments().await?;
        let handlers = {
            let mut tx = self.store.read().await?;
            tx.list_users(&UserQuery {
                role: Some(Role::Handler),
                ..Default::default()
            })
            .await?
        };
        for d in departments
            .iter()
            .filter(|d| d.active && d.kind != "centre")
        {
            if handlers.iter().any(|u| u.department_id == Some(d.id)) {
                continue;
            }
            self.create_user(
                actor,
                UserInput {
                    username: format!("handler-{}", d.code.to_lowercase()),
                    display_name: format!("{}处置员", d.name),
                    phone: None,
                    department_code: Some(d.code.clone()),
                    areas: Vec::new(),
                    roles: vec![Role::Handler],
                    password: crate::demo::DEMO_PASSWORD.into(),
                    must_change_password: false,
                },
                ctx,
            )
            .await?;
        }
        self.invalidate_departments();
        Ok(())
    }

    /// Evaluation rollups of a large simulated history, for benchmarks: `per_day` reports a day
    /// over the `days` days before today, simulated in chunks through the real state machine and
    /// the same fact and credit code as live transitions, then stored as day and month rows. The
    /// cases themselves are not stored (the league tables never read them).
    pub async fn bench_load_rollups(
        &self,
        days: i64,
        per_day: u32,
        seed: u64,
        progress: impl Fn(usize, usize),
    ) -> AppResult<BenchRollups> {
        let now = self.now();
        let actor = Actor::System("bench".into());
        let ctx = Ctx::default();
        self.ensure_demo_handlers(&actor, &ctx).await?;
        let world = self.demo_world(&actor, &ctx).await?;
        let calendar = self.calendar();
        let rule_sets: std::collections::BTreeMap<i64, cityloop_domain::rules::RuleSetContent> =
            [(
                world.rule_set_id,
                (*self.rule_set_content(world.rule_set_id).await?).clone(),
            )]
            .into_iter()
            .collect();
        let fctx = cityloop_eval::FactContext::new(&calendar, &rule_sets, &world.process);
        let today = now.with_timezone(&CHINA_OFFSET).date_naive();
        let start = today - Duration::days(days);
        let mut rows: HashMap<cityloop_eval::RollupKey, cityloop_eval::Counters> = HashMap::new();
        let mut out = BenchRollups::default();
        let chunk = 5;
        let mut day = start;
        let mut n = 0u64;
        while day < today {
            let to = (day + Duration::days(chunk)).min(today);
            let opts = Options {
                from: day,
                to,
                reports_per_day: per_day,
                seed: seed.wrapping_add(n),
                now,
            };
            n += 1;
            let sims = simulate(&world, &opts, |_| {
                out.cases += 1;
                format!("B{}", out.cases)
            })
            .map_err(|e| AppError::Internal(format!("bench simulation: {e}")))?;
            for sim in &sims {
                out.events += sim.events.len();
                let grid = &world.grids[sim.grid];
                let meta = cityloop_eval::CaseMeta {
                    grid: grid.code.clone(),
                    community: grid.community_code.clone(),
                    street: grid.street_code.clone(),
                };
                let facts = cityloop_eval::case_facts(&sim.events, &fctx);
                for c in cityloop_eval::credits(&facts, Some(&meta)) {
                    rows.entry(cityloop_eval::RollupKey {
                        day: cityloop_eval::day_of(c.at),
                        object: c.object,
                    })
                    .or_default()
                    .add(c.counter, 1);
                }
            }
            progress(out.cases, rows.len());
            day = to;
        }
        let rollups: Vec<cityloop_eval::DayRollup> = rows
            .into_iter()
            .map(|(key, counters)| cityloop_eval::DayRollup { key, counters })
            .collect();
        out.day_rows = rollups.len();
        let mut tx = self.store.write().await?;
        crate::evaluation::store_fresh_rollups(tx.as_mut(), &rollups).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn demo_world(&self, actor: &Actor, ctx: &Ctx) -> AppResult<World> {
        let now = self.now();
        let (rule_set_id, content) = self
            .rules_in_force(now)
            .await?
            .ok_or_else(|| AppError::Internal("demo: no rules in force".into()))?;
        let departments = self.departments().await?;
        let users = {
            let mut tx = self.store.read().await?;
            tx.list_users(&UserQuery::default()).await?
        };
        let with = |r: Role| -> Vec<i64> {
            users
                .iter()
                .filter(|u| u.active && u.roles.contains(&r))
                .map(|u| u.id)
                .collect()
        };
        let code_of = |id: Option<i64>| {
            id.and_then(|id| departments.iter().find(|d| d.id == id))
                .map(|d| d.code.clone())
        };
        let handlers: Vec<SimHandler> = users
            .iter()
            .filter(|u| u.active && u.roles.contains(&Role::Handler))
            .filter_map(|u| {
                code_of(u.department_id).map(|department| SimHandler {
                    user_id: u.id,
                    department,
                })
            })
            .collect();
        let inspectors: Vec<SimInspector> = users
            .iter()
            .filter(|u| u.active && u.roles.contains(&Role::Inspector))
            .flat_map(|u| {
                u.areas.iter().map(|a| SimInspector {
                    user_id: u.id,
                    street_code: a.chars().take(9).collect(),
                })
            })
            .collect();
        let sub_units: Vec<(String, String)> = departments
            .iter()
            .filter_map(|d| code_of(d.parent_id).map(|p| (p, d.code.clone())))
            .collect();

        // Grids: the centre of each grid's box when it lies inside the grid.
        let spatial = self.spatial();
        let grid_rows = {
            let mut tx = self.store.read().await?;
            tx.list_grids(None).await?
        };
        let streets_with_inspectors: Vec<&str> =
            inspectors.iter().map(|i| i.street_code.as_str()).collect();
        let grids: Vec<SimGrid> = grid_rows
            .iter()
            .filter_map(|g| {
                let lon = (g.bbox[0] + g.bbox[2]) / 2.0;
                let lat = (g.bbox[1] + g.bbox[3]) / 2.0;
                let street: String = g.community_code.chars().take(9).collect();
                (spatial.grid_at(lon, lat).is_some_and(|m| m.code == g.code)
                    && streets_with_inspectors.contains(&street.as_str()))
                .then(|| SimGrid {
                    code: g.code.clone(),
                    community_code: g.community_code.clone(),
                    district_code: street.chars().take(6).collect(),
                    street_code: street,
                    lon,
                    lat,
                    // Some grids (markets, stations, schools) see far more problems than others.
                    weight: 0.5 + f64::from((g.code.bytes().map(u32::from).sum::<u32>()) % 7) / 2.0,
                })
            })
            .collect();

        // Conditions, each to the department the responsibility matrix names, when it has people.
        let staffed = |code: &str| handlers.iter().any(|h| h.department == code);
        let mut conditions = Vec::new();
        for c in &content.conditions {
            let class = c.class.to_string();
            let situation = cityloop_domain::responsibility::Situation {
                class: c.class,
                area: None,
                grid: None,
                owner_department: None,
                local_time: cityloop_domain::responsibility::china_time_of_day(now),
            };
            let department =
                cityloop_domain::responsibility::candidates(&content.matrix, &situation)
                    .into_iter()
                    .map(|x| x.department)
                    .chain(c.department.clone())
                    .find(|d| staffed(d));
            let Some(department) = department else {
                continue;
            };
            // Everyday street problems dominate a centre's work; rare component faults less so.
            let weight = match (class.as_bytes().first(), class.get(1..3)) {
                (Some(b'E'), Some("01" | "02")) => 3.0,
                (Some(b'E'), _) => 1.2,
                (Some(b'C'), Some("01")) => 0.8,
                _ => 0.4,
            };
            conditions.push(SimCondition {
                seasonal: Season::guess(&class, &c.condition),
                class,
                condition: c.condition.clone(),
                limit: c.limit,
                department,
                weight,
            });
        }
        let _ = (actor, ctx);
        Ok(World {
            grids,
            inspectors,
            acceptors: with(Role::Acceptor),
            shift_leaders: with(Role::ShiftLeader),
            dispatchers: with(Role::Dispatcher),
            leaders: with(Role::Leader),
            handlers,
            sub_units,
            conditions,
            process: content.process.clone(),
            calendar: (*self.calendar()).clone(),
            rule_set_id,
            system_user: 0,
        })
    }
}
