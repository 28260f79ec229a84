//! The command centre's data: open cases in the viewport for the map, the report heat layer,
//! headline figures and chart series, and server-sent events as cases move.
//!
//! Live events come from the durable record, not from this process's responses: one task per
//! server ([`Feed`]) tails the case event log and looks for cases whose clock crossed into
//! warning or overdue (see `cityloop_app::cases::LiveCursor`), so changes made by the timer, the
//! CLI or another instance on the same PostgreSQL database reach the screens within a
//! [`POLL`] or, for clock-driven changes, within `URGENCY_EVERY`. While nobody watches, the task
//! only moves its cursor. A screen that falls behind gets `resync` and reloads.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration as StdDuration;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use cityloop_app::App;
use cityloop_app::cases::{CaseFilter, CaseSummary, LiveCursor};
use cityloop_domain::Action;
use cityloop_domain::calendar::CHINA_OFFSET;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::{Lang, Page};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::basedata::parse_bbox;

/// Markers and heat points per request: enough for a viewport at a glance, bounded so the map
/// stays fast (the most urgent first; the answer says when there were more).
const MAX_POINTS: i64 = 2000;
/// How often the feed reads the event log.
pub(crate) const POLL: StdDuration = StdDuration::from_secs(1);

#[derive(Clone, Debug)]
enum Message {
    Case(Arc<str>),
    Resync,
}

/// The live feed of one server: a broadcast channel and the task that fills it. The task holds
/// only a weak reference and ends when the router (and with it the feed) is dropped.
#[derive(Clone)]
pub(crate) struct Feed(Arc<FeedInner>);

struct FeedInner {
    tx: broadcast::Sender<Message>,
    started: OnceLock<()>,
}

impl Feed {
    pub(crate) fn new() -> Feed {
        Feed(Arc::new(FeedInner {
            tx: broadcast::channel(256).0,
            started: OnceLock::new(),
        }))
    }

    /// Starts the task on the current runtime, once. The router calls it when it is built inside
    /// a runtime (the server); otherwise the first subscriber does.
    pub(crate) fn start(&self, app: &Arc<App>) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        self.0.started.get_or_init(|| {
            tokio::spawn(run(Arc::downgrade(&self.0), app.clone()));
        });
    }

    fn subscribe(&self, app: &Arc<App>) -> broadcast::Receiver<Message> {
        self.start(app);
        self.0.tx.subscribe()
    }
}

async fn run(feed: Weak<FeedInner>, app: Arc<App>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cursor: Option<LiveCursor> = None;
    loop {
        tick.tick().await;
        let Some(feed) = feed.upgrade() else { return };
        let watched = feed.tx.receiver_count() > 0;
        let c = match cursor.as_mut() {
            Some(c) => c,
            None => match app.live_cursor().await {
                Ok(c) => cursor.insert(c),
                Err(e) => {
                    tracing::warn!(error = %e, "live feed cannot start");
                    continue;
                }
            },
        };
        match app.live_poll(c, watched).await {
            Ok(batch) => {
                if batch.resync {
                    let _unwatched = feed.tx.send(Message::Resync);
                }
                for s in &batch.moved {
                    // No receivers is fine: nobody is watching.
                    let _unwatched = feed.tx.send(Message::Case(event_of(s).to_string().into()));
                }
            }
            Err(e) => tracing::warn!(error = %e, "live feed pass failed"),
        }
    }
}

/// What a screen needs of a moved case; descriptions are cut short (and are text, not HTML).
fn event_of(c: &CaseSummary) -> Value {
    json!({
        "id": c.id,
        "step": c.step,
        "urgency": c.urgency,
        "lon": c.lon,
        "lat": c.lat,
        "class": c.class,
        "description": c.description.chars().take(60).collect::<String>(),
    })
}

/// `text/event-stream` of case moves (`event: case`, and `event: resync` when the screen should
/// reload). Requires a session: the events carry locations and descriptions.
pub(super) async fn events(
    State(s): State<AppState>,
    page: Page,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    command_centre_only(&page)?;
    let rx = s.live.subscribe(&s.app);
    let s = stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(Message::Case(data)) => Event::default().event("case").data(&*data),
            // The feed lost track, or this slow screen skipped some moves: reload everything.
            Ok(Message::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                Event::default().event("resync").data("{}")
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    });
    Ok(Sse::new(s).keep_alive(KeepAlive::new().interval(StdDuration::from_secs(20))))
}

/// The feed, markers and figures are city-wide and unfiltered by data scope, so they are for the
/// users who may open the command centre (a city-wide case grant), not every session.
fn command_centre_only(page: &Page) -> Result<(), ApiError> {
    if page.menu.contains(&"/command") {
        Ok(())
    } else {
        Err(cityloop_app::AppError::Forbidden(
            "the command centre's data needs a city-wide case grant".into(),
        )
        .into())
    }
}

/// Start of the China day containing `at`, as UTC.
fn day_start(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN)
        .and_local_timezone(CHINA_OFFSET)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

async fn count(s: &AppState, page: &Page, f: CaseFilter) -> i64 {
    let f = CaseFilter {
        limit: Some(1),
        ..f
    };
    s.app
        .search_cases(&page.actor(), &f, &page.ctx)
        .await
        .map(|l| l.total)
        .unwrap_or(0)
}

fn invalid(field: &str, message: &str) -> ApiError {
    cityloop_app::AppError::Invalid(cityloop_domain::FieldError::new(field, message)).into()
}

/// Up to [`MAX_POINTS`] cases matching `f`, and how many match in all.
async fn collect(
    s: &AppState,
    page: &Page,
    f: CaseFilter,
) -> Result<(Vec<CaseSummary>, i64), ApiError> {
    let mut out = Vec::new();
    let mut total = 0;
    let mut offset = 0;
    while offset < MAX_POINTS {
        let f = CaseFilter {
            offset: Some(offset),
            limit: Some(500),
            ..f.clone()
        };
        let l = s.app.search_cases(&page.actor(), &f, &page.ctx).await?;
        total = l.total;
        let n = l.items.len() as i64;
        out.extend(l.items);
        if n < 500 {
            break;
        }
        offset += n;
    }
    Ok((out, total))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MapQuery {
    /// `open` (default): open cases as markers; `heat`: reports of the last 30 days.
    layer: Option<String>,
    /// The viewport, `min_lon,min_lat,max_lon,max_lat` (WGS-84), as for `/api/v1/grids`.
    bbox: Option<String>,
}

/// Open cases (or, for the heat layer, recent reports) in the viewport, most urgent (newest)
/// first, with `total` and `truncated` so that the screen can say "showing N of M".
pub(super) async fn map_cases(
    State(s): State<AppState>,
    page: Page,
    Query(q): Query<MapQuery>,
) -> Result<Response, ApiError> {
    command_centre_only(&page)?;
    let bbox = match q.bbox.as_deref() {
        Some(b) => parse_bbox(b)?,
        None => {
            return Err(invalid(
                "bbox",
                "required: min_lon,min_lat,max_lon,max_lat of the viewport",
            ));
        }
    };
    let heat = match q.layer.as_deref() {
        None | Some("open") => false,
        Some("heat") => true,
        Some(_) => return Err(invalid("layer", "open or heat")),
    };
    if heat {
        let since = s.app.now() - Duration::days(30);
        let (cases, total) = collect(
            &s,
            &page,
            CaseFilter {
                reported_since: Some(since),
                order: Some("newest".into()),
                bbox: Some(bbox),
                ..Default::default()
            },
        )
        .await?;
        let points: Vec<[f64; 2]> = cases.iter().map(|c| [c.lat, c.lon]).collect();
        let truncated = total > points.len() as i64;
        return Ok(
            Json(json!({ "points": points, "total": total, "truncated": truncated }))
                .into_response(),
        );
    }
    let (cases, total) = collect(
        &s,
        &page,
        CaseFilter {
            step: Some(CaseFilter::open_steps()),
            bbox: Some(bbox),
            ..Default::default()
        },
    )
    .await?;
    let items: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "step": c.step, "urgency": c.urgency, "lon": c.lon, "lat": c.lat,
                "class": c.class, "supervised": c.supervised, "due_at": c.due_at,
                "department": c.department,
                "description": c.description.chars().take(60).collect::<String>(),
            })
        })
        .collect();
    let truncated = total > items.len() as i64;
    Ok(Json(json!({ "items": items, "total": total, "truncated": truncated })).into_response())
}

/// Sums of each figure's numerator and denominator over all objects of one kind.
fn sums(view: &Value, kind: &str) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(objects) = view["evaluation"]["objects"].as_array() {
        for o in objects.iter().filter(|o| o["object"]["kind"] == kind) {
            if let Some(figs) = o["figures"].as_object() {
                for (name, f) in figs {
                    let e = out
                        .entry(name.clone())
                        .or_insert_with(|| json!({"num": 0, "den": 0}));
                    let num = e["num"].as_u64().unwrap_or(0) + f["numerator"].as_u64().unwrap_or(0);
                    let den =
                        e["den"].as_u64().unwrap_or(0) + f["denominator"].as_u64().unwrap_or(0);
                    *e = json!({"num": num, "den": den});
                }
            }
        }
    }
    Value::Object(out)
}

/// Headline figures and chart series for the command centre.
pub(super) async fn dashboard(State(s): State<AppState>, page: Page) -> Response {
    if let Err(refused) = command_centre_only(&page) {
        return refused.into_response();
    }
    let now = s.app.now();
    let today = now.with_timezone(&CHINA_OFFSET).date_naive();
    let today_start = day_start(today);
    let tomorrow = today + Duration::days(1);
    let month_start = today - Duration::days(29);

    let reported_today = count(
        &s,
        &page,
        CaseFilter {
            reported_since: Some(today_start),
            ..Default::default()
        },
    )
    .await;
    let closed_today = count(
        &s,
        &page,
        CaseFilter {
            closed_since: Some(today_start),
            ..Default::default()
        },
    )
    .await;
    let mut queues = serde_json::Map::new();
    for step in CaseFilter::open_steps().split(',') {
        let n = count(
            &s,
            &page,
            CaseFilter {
                step: Some(step.into()),
                ..Default::default()
            },
        )
        .await;
        queues.insert(step.into(), json!(n));
    }
    let overdue = count(
        &s,
        &page,
        CaseFilter {
            step: Some(CaseFilter::open_steps()),
            urgency: Some("overdue".into()),
            ..Default::default()
        },
    )
    .await;
    let warning = count(
        &s,
        &page,
        CaseFilter {
            step: Some(CaseFilter::open_steps()),
            urgency: Some("warning".into()),
            ..Default::default()
        },
    )
    .await;
    // Reports per day over the last 30 days.
    let mut trend = Vec::new();
    for i in 0..30 {
        let day = month_start + Duration::days(i);
        let n = count(
            &s,
            &page,
            CaseFilter {
                reported_since: Some(day_start(day)),
                reported_until: Some(day_start(day + Duration::days(1))),
                ..Default::default()
            },
        )
        .await;
        trend.push(json!({"day": day.to_string(), "reports": n}));
    }
    let mut channels = serde_json::Map::new();
    for src in cityloop_domain::case::Source::ALL {
        let n = count(
            &s,
            &page,
            CaseFilter {
                source: Some(src.code().into()),
                reported_since: Some(day_start(month_start)),
                ..Default::default()
            },
        )
        .await;
        channels.insert(src.code().into(), json!(n));
    }
    // Figures of the day and rates of the last 30 days from the evaluation (when the user may
    // read it).
    let actor = page.actor();
    // Asked first so that a user without the grant (an acceptor) does not leave a denied record
    // in the audit log at every refresh.
    let may_evaluate = s.app.permits(&actor, Action::EvaluationRead);
    let eval_of = |from: NaiveDate| {
        let (app, actor, ctx) = (s.app.clone(), actor.clone(), page.ctx.clone());
        async move {
            if !may_evaluate {
                return None;
            }
            let v = app
                .evaluate(&actor, None, from, tomorrow, false, &ctx)
                .await;
            v.ok().map(|v| json!(v))
        }
    };
    let day_eval = eval_of(today).await;
    let month_eval = eval_of(month_start).await;
    let today_figures = day_eval.as_ref().map(|v| {
        json!({
            "shift_leader": sums(v, "shift_leader"),
            "dispatcher": sums(v, "dispatcher"),
            "department": sums(v, "department"),
        })
    });
    let month_figures = month_eval
        .as_ref()
        .map(|v| json!({ "street": sums(v, "street"), "department": sums(v, "department") }));
    // Departments by name in the page's language (the evaluation knows them by code).
    let departments = s
        .app
        .list_departments(&actor, &page.ctx)
        .await
        .unwrap_or_default();
    let name_of = |code: &str| {
        departments
            .iter()
            .find(|d| d.code == code)
            .map(|d| match page.lang {
                Lang::En => d.name_en.clone().unwrap_or_else(|| d.name.clone()),
                Lang::Zh => d.name.clone(),
            })
            .unwrap_or_else(|| code.to_owned())
    };
    // Class names for the by-class chart, which counts the markers in view by code.
    let class_names: serde_json::Map<String, Value> = s
        .app
        .list_classes(&actor, &page.ctx)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let name = match page.lang {
                Lang::En if !c.class.name_en.is_empty() => c.class.name_en,
                _ => c.class.name,
            };
            (c.class.class.to_string(), json!(name))
        })
        .collect();
    let ranking: Vec<Value> = month_eval
        .as_ref()
        .and_then(|v| v["evaluation"]["objects"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o["object"]["kind"] == "department" && o["composite"].is_number())
        .map(|o| {
            let name = name_of(o["object"]["id"].as_str().unwrap_or_default());
            json!({"object": o["object"], "name": name, "composite": o["composite"], "grade": o["grade"], "rank": o["rank"]})
        })
        .collect();
    Json(json!({
        "now": now,
        "reported_today": reported_today,
        "closed_today": closed_today,
        "queues": queues,
        "overdue": overdue,
        "warning": warning,
        "trend": trend,
        "channels": channels,
        "today": today_figures,
        "month": month_figures,
        "ranking": ranking,
        "class_names": class_names,
    }))
    .into_response()
}
