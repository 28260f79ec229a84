//! The command centre's data: open cases for the map, the report heat layer, headline figures and
//! chart series, and server-sent events as cases move.
//!
//! Live events come from the responses of this process's case API (intake and actions), observed
//! by [`observe`]; timer-driven changes (warnings, overdue) and other instances' changes reach the
//! screen through the periodic refresh of the figures and markers.

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::Duration as StdDuration;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::{Query, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use cityloop_app::cases::{CaseFilter, CaseSummary};
use cityloop_domain::calendar::CHINA_OFFSET;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::Page;
use crate::AppState;

const OPEN_STEPS: &str =
    "verifying,accepting,filing,dispatching,disposing,return_review,checking,closing";
/// Markers and heat points per request: enough for a city's open cases at a glance, bounded so
/// the map stays fast (the most urgent first).
const MAX_POINTS: i64 = 2000;

fn channel() -> &'static broadcast::Sender<String> {
    static TX: OnceLock<broadcast::Sender<String>> = OnceLock::new();
    TX.get_or_init(|| broadcast::channel(256).0)
}

/// What a screen needs of a moved case; descriptions are cut short (and are text, not HTML).
fn event_of(view: &Value) -> Option<Value> {
    let id = view.get("id")?.as_str()?;
    let desc: String = view["case"]["description"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .take(60)
        .collect();
    Some(json!({
        "id": id,
        "step": view["step"],
        "urgency": view["clock"]["urgency"],
        "lon": view["intake"]["lon"],
        "lat": view["intake"]["lat"],
        "class": view["case"]["class"],
        "description": desc,
    }))
}

/// Middleware: after a successful report or case action through the API, announce the case's
/// new state to the live screens. The response passes through unchanged.
pub(crate) async fn observe(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let interesting = req.method() == Method::POST
        && (path == "/api/v1/cases"
            || (path.starts_with("/api/v1/cases/") && path.ends_with("/actions")));
    let response = next.run(req).await;
    if !interesting || !response.status().is_success() || channel().receiver_count() == 0 {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, 8 * 1024 * 1024).await else {
        // Only reached when the body was larger than any case view; nothing to announce.
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
        // Intake answers `{"case": <view>, "replayed": …}`; actions answer the view itself.
        let view = if v.get("replayed").is_some() {
            &v["case"]
        } else {
            &v
        };
        if let Some(e) = event_of(view) {
            // No receivers between the check and here is fine: nobody is watching.
            let _unwatched = channel().send(e.to_string());
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// `text/event-stream` of case moves (`event: case`). Requires a session: the events carry
/// locations and descriptions.
pub(super) async fn events(_page: Page) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = channel().subscribe();
    let s = stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(data) => Event::default().event("case").data(data),
            // A slow screen skipped some moves: tell it to reload everything.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                Event::default().event("resync").data("{}")
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    });
    Sse::new(s).keep_alive(KeepAlive::new().interval(StdDuration::from_secs(20)))
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

async fn collect(s: &AppState, page: &Page, f: CaseFilter) -> Vec<CaseSummary> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < MAX_POINTS {
        let f = CaseFilter {
            offset: Some(offset),
            limit: Some(500),
            ..f.clone()
        };
        match s.app.search_cases(&page.actor(), &f, &page.ctx).await {
            Ok(l) => {
                let n = l.items.len() as i64;
                out.extend(l.items);
                if n < 500 {
                    break;
                }
                offset += n;
            }
            Err(_) => break,
        }
    }
    out
}

#[derive(Deserialize)]
pub(super) struct MapQuery {
    /// `open` (default): open cases as markers; `heat`: reports of the last 30 days.
    layer: Option<String>,
}

pub(super) async fn map_cases(
    State(s): State<AppState>,
    page: Page,
    Query(q): Query<MapQuery>,
) -> Response {
    if q.layer.as_deref() == Some("heat") {
        let since = s.app.now() - Duration::days(30);
        let cases = collect(
            &s,
            &page,
            CaseFilter {
                reported_since: Some(since),
                order: Some("newest".into()),
                ..Default::default()
            },
        )
        .await;
        let points: Vec<[f64; 2]> = cases.iter().map(|c| [c.lat, c.lon]).collect();
        return Json(json!({ "points": points })).into_response();
    }
    let cases = collect(
        &s,
        &page,
        CaseFilter {
            step: Some(OPEN_STEPS.into()),
            ..Default::default()
        },
    )
    .await;
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
    Json(json!({ "items": items })).into_response()
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
    for step in OPEN_STEPS.split(',') {
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
            step: Some(OPEN_STEPS.into()),
            urgency: Some("overdue".into()),
            ..Default::default()
        },
    )
    .await;
    let warning = count(
        &s,
        &page,
        CaseFilter {
            step: Some(OPEN_STEPS.into()),
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
    let day_eval = s
        .app
        .evaluate(&actor, None, today, tomorrow, false, &page.ctx)
        .await
        .ok()
        .map(|v| json!(v));
    let month_eval = s
        .app
        .evaluate(&actor, None, month_start, tomorrow, false, &page.ctx)
        .await
        .ok()
        .map(|v| json!(v));
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
    let ranking: Vec<Value> = month_eval
        .as_ref()
        .and_then(|v| v["evaluation"]["objects"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o["object"]["kind"] == "department" && o["composite"].is_number())
        .map(|o| json!({"object": o["object"], "composite": o["composite"], "grade": o["grade"], "rank": o["rank"]}))
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
    }))
    .into_response()
}
