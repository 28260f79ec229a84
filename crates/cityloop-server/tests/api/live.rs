//! The command centre's live feed and map data on both engines: changes written through the app
//! (not the HTTP API) and changes made by the clock alone reach a subscribed screen, and map data
//! is requested by viewport.

use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use cityloop_app::{Actor, AuthVia, Ctx, Principal};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::cases::to_disposing;
use crate::helpers::{TestApp, json_of};

crate::engines_with_city!(
    changes_outside_the_api_reach_the_live_feed,
    map_cases_by_viewport,
);

/// An open `text/event-stream` and the text received so far.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(app: &TestApp, c: &Client) -> Stream {
        let response = c.get(app.url("/ui/live")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// Waits (up to 15 s) for a `case` event about `id` that satisfies `want`.
    async fn case_event(&mut self, id: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + StdDuration::from_secs(15);
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if !block.lines().any(|l| l == "event: case") {
                    continue;
                }
                let data = block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap();
                let v: Value = serde_json::from_str(data).unwrap();
                if v["id"] == id && want(&v) {
                    return v;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no live event for {id}");
            if let Ok(chunk) = tokio::time::timeout(left, self.response.chunk()).await {
                let chunk = chunk.unwrap().expect("the stream ended");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
    }
}

async fn actor(app: &TestApp, username: &str) -> Actor {
    let user = app
        .app
        .find_user_by_name(&Actor::System("t".into()), username, &Ctx::default())
        .await
        .unwrap()
        .unwrap();
    Actor::User(Principal {
        user,
        via: AuthVia::Session(0),
    })
}

async fn changes_outside_the_api_reach_the_live_feed(app: &TestApp) {
    let case = to_disposing(app, "live-1", "SZ").await;
    let id = case["id"].as_str().unwrap().to_owned();
    let leader = app.login("leader1").await;
    let mut stream = Stream::open(app, &leader).await;

    // A reminder written through the app, as the worker or another instance would.
    let input = serde_json::from_value(json!({
        "version": case["version"],
        "action": {"type": "remind", "note": "请尽快处理"},
    }))
    .unwrap();
    let view = app
        .app
        .act(
            &actor(app, "dispatcher1").await,
            &id,
            input,
            &Ctx::default(),
        )
        .await
        .unwrap();
    assert_eq!(view.version, case["version"].as_u64().unwrap() + 1);
    let e = stream.case_event(&id, |_| true).await;
    assert_eq!(e["step"], "disposing");
    assert_eq!(e["urgency"], "normal");
    assert!(e["lon"].is_number() && e["lat"].is_number(), "{e}");

    // Only the clock moves: past the warning instant, then past the due instant. No timer pass
    // runs and nothing is written, yet the screens hear of it.
    let warn: chrono::DateTime<chrono::Utc> =
        case["clock"]["warn_at"].as_str().unwrap().parse().unwrap();
    let due: chrono::DateTime<chrono::Utc> =
        case["clock"]["due_at"].as_str().unwrap().parse().unwrap();
    app.clock
        .advance(warn - app.app.now() + Duration::seconds(1));
    stream.case_event(&id, |e| e["urgency"] == "warning").await;
    app.clock
        .advance(due - app.app.now() + Duration::minutes(1));
    stream.case_event(&id, |e| e["urgency"] == "overdue").await;
}

async fn get(app: &TestApp, c: &Client, path: &str) -> (StatusCode, Value) {
    json_of(c.get(app.url(path)).send().await.unwrap()).await
}

async fn map_cases_by_viewport(app: &TestApp) {
    let case = to_disposing(app, "map-1", "SZ").await;
    let id = case["id"].as_str().unwrap();
    let (lon, lat) = (
        case["intake"]["lon"].as_f64().unwrap(),
        case["intake"]["lat"].as_f64().unwrap(),
    );
    let leader = app.login("leader1").await;

    // An acceptor's screen has no evaluation figures, and refreshing it does not fill the audit
    // log with refused evaluation reads.
    let acceptor = app.login("acceptor1").await;
    let (s, d) = get(app, &acceptor, "/ui/dashboard").await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert!(d["ranking"].as_array().unwrap().is_empty(), "{d}");
    let (_, denied) = get(
        app,
        &app.login("auditadmin").await,
        "/api/v1/audit?action=evaluation.read&result=denied",
    )
    .await;
    assert!(!denied.to_string().contains("evaluation.read"), "{denied}");
    // Class names for the by-class chart come with the figures.
    let (_, d) = get(app, &leader, "/ui/dashboard").await;
    assert!(d["class_names"]["C0101"].is_string(), "{d}");

    // City-wide data, unfiltered by data scope: only for users with a city-wide case grant.
    for user in ["handler1", "inspector1"] {
        let c = app.login(user).await;
        for path in [
            "/ui/live",
            "/ui/dashboard",
            "/ui/map-cases?bbox=120,30,120.1,30.1",
        ] {
            let r = c.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{user} {path}");
        }
    }

    for (query, field) in [
        ("", "bbox"),
        ("?bbox=120,30,121", "bbox"),
        ("?bbox=121,30,120,31", "bbox"),
        ("?bbox=110,20,120,30", "bbox"),
        ("?bbox=a,b,c,d", "bbox"),
        ("?bbox=120,30,120.1,30.1&layer=pins", "layer"),
    ] {
        let (s, v) = get(app, &leader, &format!("/ui/map-cases{query}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
        assert_eq!(v["code"], "validation_failed", "{query}: {v}");
        assert_eq!(v["field"], field, "{query}: {v}");
    }

    let around = |d: f64| format!("{},{},{},{}", lon - d, lat - d, lon + d, lat + d);
    let (s, near) = get(
        app,
        &leader,
        &format!("/ui/map-cases?bbox={}", around(0.0005)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{near}");
    let items = near["items"].as_array().unwrap();
    assert!(items.iter().any(|c| c["id"] == id), "{near}");
    for c in items {
        let (x, y) = (c["lon"].as_f64().unwrap(), c["lat"].as_f64().unwrap());
        assert!(
            (x - lon).abs() <= 0.0005 && (y - lat).abs() <= 0.0005,
            "{c}"
        );
    }
    assert_eq!(near["total"], items.len());
    assert_eq!(near["truncated"], false);
    let (_, heat) = get(
        app,
        &leader,
        &format!("/ui/map-cases?layer=heat&bbox={}", around(0.0005)),
    )
    .await;
    assert!(!heat["points"].as_array().unwrap().is_empty(), "{heat}");

    // A viewport beside the case, not containing it.
    let beside = format!("{},{},{},{}", lon + 0.001, lat, lon + 0.002, lat + 0.001);
    let (_, away) = get(app, &leader, &format!("/ui/map-cases?bbox={beside}")).await;
    assert!(
        !away["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id),
        "{away}"
    );
    let (_, far) = get(app, &leader, "/ui/map-cases?bbox=0,0,1,1").await;
    assert_eq!(far["total"], 0, "{far}");
    assert_eq!(far["items"], json!([]));
}
