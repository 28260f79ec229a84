//! The closed loop over HTTP on both engines: intake with idempotency, every role's step, the
//! branches, clocks and timers, evidence, duplicates, queues, search and notifications.

use chrono::Duration;
use cityloop_app::{Actor, Ctx};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

/// A point inside a unit grid of the street `street`, and the grid code.
pub(crate) async fn point_in_street(app: &TestApp, street: &str, nth: usize) -> (f64, f64, String) {
    let grids = {
        let mut tx = app.app.store().read().await.unwrap();
        tx.list_grids(None).await.unwrap()
    };
    let spatial = app.app.spatial();
    grids
        .iter()
        .filter(|g| g.community_code.starts_with(street))
        .filter_map(|g| {
            let lon = (g.bbox[0] + g.bbox[2]) / 2.0;
            let lat = (g.bbox[1] + g.bbox[3]) / 2.0;
            spatial
                .grid_at(lon, lat)
                .filter(|m| m.code == g.code)
                .map(|_| (lon, lat, g.code.clone()))
        })
        .nth(nth)
        .expect("a grid in the street")
}

pub(crate) async fn street_of(app: &TestApp, username: &str) -> String {
    let u = app
        .app
        .find_user_by_name(&Actor::System("t".into()), username, &Ctx::default())
        .await
        .unwrap()
        .unwrap();
    u.areas[0].clone()
}

/// The first filing condition of the rules in force: (class, condition).
pub(crate) async fn a_condition(app: &TestApp) -> (String, String) {
    let set = app
        .app
        .rule_set_in_force(&Actor::System("t".into()), app.app.now(), &Ctx::default())
        .await
        .unwrap()
        .unwrap();
    let c = set
        .content
        .conditions
        .iter()
        .find(|c| c.class.to_string().starts_with('E') && c.limit.unit().is_working_time())
        .unwrap();
    (c.class.to_string(), c.condition.clone())
}

pub(crate) async fn upload(app: &TestApp, c: &Client, bytes: &[u8]) -> String {
    let r = c
        .post(app.url("/api/v1/blobs"))
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let (s, v) = json_of(r).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["hash"].as_str().unwrap().to_owned()
}

async fn report(app: &TestApp, c: &Client, key: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut req = c.post(app.url("/api/v1/cases")).json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    json_of(req.send().await.unwrap()).await
}

pub(crate) async fn act(
    app: &TestApp,
    c: &Client,
    id: &str,
    version: u64,
    action: Value,
) -> (StatusCode, Value) {
    json_of(
        c.post(app.url(&format!("/api/v1/cases/{id}/actions")))
            .json(&json!({"version": version, "action": action}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Acts and expects success; returns the new view.
pub(crate) async fn ok(app: &TestApp, c: &Client, case: &Value, action: Value) -> Value {
    let id = case["id"].as_str().unwrap();
    let v = case["version"].as_u64().unwrap();
    let (s, body) = act(app, c, id, v, action.clone()).await;
    assert_eq!(s, StatusCode::OK, "{action} → {body}");
    body
}

async fn get(app: &TestApp, c: &Client, path: &str) -> (StatusCode, Value) {
    json_of(c.get(app.url(path)).send().await.unwrap()).await
}

async fn inspector_report(app: &TestApp, c: &Client, key: &str, photo: &str) -> Value {
    let street = street_of(app, "inspector1").await;
    let (lon, lat, _) = point_in_street(app, &street, 0).await;
    let (class, _) = a_condition(app).await;
    let (s, v) = report(
        app,
        c,
        Some(key),
        &json!({"source": "inspector", "class": class, "description": "井盖缺失，存在安全隐患",
                "location": {"crs": "wgs84", "x": lon, "y": lat}, "photos": [photo]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["case"].clone()
}

async fn full_loop_with_rework_extension_and_sub_dispatch(app: &TestApp) {
    let inspector = app.login("inspector1").await;
    let acceptor = app.login("acceptor1").await;
    let leader = app.login("shiftleader1").await;
    let dispatcher = app.login("dispatcher1").await;
    let sz = app.login("handler1").await;
    let sz_road = app.login("handler2").await;

    let before = upload(app, &inspector, b"before-photo").await;
    let case = inspector_report(app, &inspector, "k-1", &before).await;
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(case["step"], "accepting");
    assert_eq!(case["source"], "inspector");
    // Date, district, serial.
    assert!(
        regex_like(&id),
        "case number {id} should read YYYYMMDD-district-serial"
    );
    assert_eq!(case["attachments"][0]["stage"], "report");
    assert!(case["clock"]["due_at"].is_string(), "{case}");

    let case = ok(app, &acceptor, &case, json!({"type": "accept"})).await;
    assert_eq!(case["step"], "filing");
    let (class, condition) = a_condition(app).await;
    let (s, body) = act(
        app,
        &leader,
        &id,
        case["version"].as_u64().unwrap(),
        json!({"type": "file", "class": class, "condition": "没有这个条件"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "unknown_condition");
    let case = ok(
        app,
        &leader,
        &case,
        json!({"type": "file", "class": class, "condition": condition}),
    )
    .await;
    assert_eq!(case["step"], "dispatching");
    assert!(case["case"]["rule_set_id"].as_i64().is_some());

    let (s, sugg) = get(
        app,
        &dispatcher,
        &format!("/api/v1/cases/{id}/dispatch-suggestions"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(sugg.as_array().is_some_and(|a| !a.is_empty()), "{sugg}");

    let case = ok(
        app,
        &dispatcher,
        &case,
        json!({"type": "dispatch", "department": "SZ"}),
    )
    .await;
    assert_eq!(case["step"], "disposing");
    assert_eq!(case["clock"]["urgency"], "normal");
    let due_before = case["clock"]["due_at"].as_str().unwrap().to_owned();

    // The SZ handler passes it to its road maintenance unit.
    let case = ok(
        app,
        &sz,
        &case,
        json!({"type": "sub_dispatch", "sub_unit": "SZ-ROAD"}),
    )
    .await;
    assert_eq!(case["case"]["sub_unit"], "SZ-ROAD");
    let case = ok(
        app,
        &sz_road,
        &case,
        json!({"type": "request_extension", "minutes": 60, "reason": "需要调配机械"}),
    )
    .await;
    assert!(case["allowed"].as_array().unwrap().is_empty() || case["step"] == "disposing");
    let case = ok(app, &leader, &case, json!({"type": "approve_extension"})).await;
    let due_after = case["clock"]["due_at"].as_str().unwrap().to_owned();
    assert!(due_after > due_before, "{due_before} → {due_after}");

    // Feedback without a photo is refused; with one it goes to the inspector's check.
    let (s, body) = act(
        app,
        &sz_road,
        &id,
        case["version"].as_u64().unwrap(),
        json!({"type": "feedback", "note": "已修复", "photos": []}),
    )
    .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("photo_required"))
    );
    // Re-sending the before-photo as "fixed" is flagged to the checker (虚假回复).
    let case = ok(
        app,
        &sz_road,
        &case,
        json!({"type": "feedback", "note": "已修复", "photos": [before]}),
    )
    .await;
    assert_eq!(case["step"], "checking");
    let flags = case["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["stage"] == "feedback")
        .unwrap()["flags"]
        .clone();
    assert!(flags.to_string().contains("same_as_before"), "{flags}");

    let check = upload(app, &inspector, b"check-photo").await;
    let case = ok(
        app,
        &inspector,
        &case,
        json!({"type": "check_fail", "reason": "井盖仍未安装", "photos": [check]}),
    )
    .await;
    assert_eq!(case["step"], "disposing");
    assert_eq!(case["case"]["rework_count"], 1);
    let after = upload(app, &sz_road, b"after-photo").await;
    let case = ok(
        app,
        &sz,
        &case,
        json!({"type": "feedback", "photos": [after]}),
    )
    .await;
    let case = ok(
        app,
        &inspector,
        &case,
        json!({"type": "check_pass", "photos": [check]}),
    )
    .await;
    assert_eq!(case["step"], "closing");
    let case = ok(app, &leader, &case, json!({"type": "close"})).await;
    assert_eq!(case["step"], "closed");
    assert_eq!(case["outcome"], "resolved");

    // A closed case admits nothing but an audited reopen.
    let (s, body) = act(
        app,
        &dispatcher,
        &id,
        case["version"].as_u64().unwrap(),
        json!({"type": "dispatch", "department": "SZ"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "illegal_transition");
    assert!(body["allowed"].is_array());

    let (s, timeline) = get(app, &leader, &format!("/api/v1/cases/{id}/events")).await;
    assert_eq!(s, StatusCode::OK);
    let kinds: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "accept",
            "file",
            "dispatch",
            "sub_dispatch",
            "request_extension",
            "approve_extension",
            "feedback",
            "check_fail",
            "feedback",
            "check_pass",
            "close"
        ]
    );
    assert_eq!(timeline[8]["attachments"][0]["hash"], check.as_str());

    let case = ok(
        app,
        &leader,
        &case,
        json!({"type": "reopen", "reason": "市民反映问题复现"}),
    )
    .await;
    assert_eq!(case["step"], "dispatching");
    assert_eq!(case["case"]["reopen_count"], 1);

    // The inspector got the check task and the reporter the outcome.
    app.app.deliver_outbox(&[]).await.unwrap();
    let (_, msgs) = get(app, &inspector, "/api/v1/messages").await;
    let kinds: Vec<&str> = msgs
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"check_task"), "{msgs}");
    assert!(kinds.contains(&"outcome"), "{msgs}");
    // Delivering again adds nothing (deduplicated by recipient and key).
    app.app.deliver_outbox(&[]).await.unwrap();
    let (_, again) = get(app, &inspector, "/api/v1/messages").await;
    assert_eq!(
        again.as_array().unwrap().len(),
        msgs.as_array().unwrap().len()
    );
}

fn regex_like(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 8
        && parts[1].len() == 6
        && parts[2].len() == 5
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
}

async fn idempotent_intake(app: &TestApp) {
    let inspector = app.login("inspector1").await;
    let photo = upload(app, &inspector, b"p").await;
    let street = street_of(app, "inspector1").await;
    let (lon, lat, grid) = point_in_street(app, &street, 1).await;
    let (class, _) = a_condition(app).await;
    let body = json!({"source": "inspector", "class": class, "description": "占道经营",
        "location": {"crs": "wgs84", "x": lon, "y": lat}, "photos": [photo]});
    let (s1, first) = report(app, &inspector, Some("phone-7:0001"), &body).await;
    assert_eq!(s1, StatusCode::CREATED, "{first}");
    assert_eq!(first["replayed"], false);
    assert_eq!(first["case"]["intake"]["grid_code"], grid.as_str());
    // A retry (the phone never saw the answer) returns the same case.
    let (s2, second) = report(app, &inspector, Some("phone-7:0001"), &body).await;
    assert_eq!(s2, StatusCode::OK);
    assert_eq!(second["replayed"], true);
    assert_eq!(second["case"]["id"], first["case"]["id"]);
    // The same key with another body is refused.
    let mut other = body.clone();
    other["description"] = json!("另一件事");
    let (s3, e) = report(app, &inspector, Some("phone-7:0001"), &other).await;
    assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["code"], "idempotency_key_reused");
    // Another user may use the same key for their own report.
    let inspector2 = app.login("inspector2").await;
    let photo2 = upload(app, &inspector2, b"p2").await;
    let street2 = street_of(app, "inspector2").await;
    let (lon2, lat2, _) = point_in_street(app, &street2, 0).await;
    let (s4, v4) = report(
        app,
        &inspector2,
        Some("phone-7:0001"),
        &json!({"source": "inspector", "class": class, "description": "占道经营",
            "location": {"crs": "wgs84", "x": lon2, "y": lat2}, "photos": [photo2]}),
    )
    .await;
    assert_eq!(s4, StatusCode::CREATED, "{v4}");
    assert_ne!(v4["case"]["id"], first["case"]["id"]);

    // Many concurrent retries of one key make one case.
    let mut handles = Vec::new();
    for _ in 0..16 {
        let c = inspector.clone();
        let url = app.url("/api/v1/cases");
        let mut b = body.clone();
        b["description"] = json!("并发重试");
        handles.push(tokio::spawn(async move {
            let r = c
                .post(url)
                .header("Idempotency-Key", "burst-1")
                .json(&b)
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            v["case"]["id"].as_str().unwrap().to_owned()
        }));
    }
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
}

async fn intake_refuses_bad_reports(app: &TestApp) {
    let inspector = app.login("inspector1").await;
    let photo = upload(app, &inspector, b"x").await;
    let street = street_of(app, "inspector1").await;
    let (lon, lat, _) = point_in_street(app, &street, 0).await;
    let (class, _) = a_condition(app).await;
    let base = json!({"source": "inspector", "class": class, "description": "d",
        "location": {"crs": "wgs84", "x": lon, "y": lat}, "photos": [photo]});
    let cases = [
        (
            json!({"location": {"crs": "wgs84", "x": 100.0, "y": 20.0}}),
            "outside_city",
        ),
        (json!({"class": "E9999"}), "unknown_class"),
        (json!({"class": "nonsense"}), "unknown_class"),
        (json!({"photos": []}), "photo_required"),
        (json!({"photos": ["0".repeat(64)]}), "unknown_photo"),
        (json!({"source": "satellite"}), "unknown_source"),
        (json!({"description": "  "}), "validation_failed"),
        (json!({"location": null}), "location_required"),
    ];
    for (patch, code) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, e) = report(app, &inspector, None, &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{patch}: {e}");
        assert_eq!(e["code"], code, "{patch}: {e}");
    }
    // Machine alarms come from the system (API tokens), not from an inspector's session.
    let mut alarm = base.clone();
    alarm["source"] = json!("video");
    alarm["device_id"] = json!("CAM-17");
    let (s, e) = report(app, &inspector, None, &alarm).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    // Administrators do not report cases.
    let admin = app.login("sysadmin").await;
    let (s, _) = report(app, &admin, None, &base).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn hotline_verification_and_decline_notifies_reporter(app: &TestApp) {
    let acceptor = app.login("acceptor1").await;
    let inspector = app.login("inspector1").await;
    let street = street_of(app, "inspector1").await;
    let (lon, lat, _) = point_in_street(app, &street, 2).await;
    let (s, v) = report(
        app,
        &acceptor,
        Some("12345-WO-20260302-001"),
        &json!({"source": "hotline", "description": "市民反映路边有垃圾堆放",
            "location": {"crs": "gcj02", "x": lon + 0.0047, "y": lat - 0.0025},
            "contact_name": "王女士", "contact_phone": "13800000000",
            "external_ref": "WO-20260302-001"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let case = v["case"].clone();
    assert_eq!(case["step"], "verifying");
    assert_eq!(case["intake"]["external_ref"], "WO-20260302-001");

    // The grid's inspector has it on the to-do list.
    let (_, tasks) = get(app, &inspector, "/api/v1/cases/tasks").await;
    assert!(
        tasks
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == case["id"]),
        "{tasks}"
    );
    let (s, e) = act(
        app,
        &inspector,
        case["id"].as_str().unwrap(),
        1,
        json!({"type": "verify", "confirmed": false}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let case = ok(
        app,
        &inspector,
        &case,
        json!({"type": "verify", "confirmed": false, "note": "现场未发现垃圾"}),
    )
    .await;
    assert_eq!(case["step"], "accepting");
    assert_eq!(case["case"]["verified"], false);
    let case = ok(
        app,
        &acceptor,
        &case,
        json!({"type": "decline", "reason": "核实不存在"}),
    )
    .await;
    assert_eq!(case["outcome"], "declined");
    app.app.deliver_outbox(&[]).await.unwrap();
    let (_, msgs) = get(app, &acceptor, "/api/v1/messages?unread=true").await;
    let outcome = msgs
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "outcome")
        .cloned();
    let outcome = outcome.expect("the reporter hears the outcome");
    let (s, r) = json_of(
        acceptor
            .post(app.url("/api/v1/messages/read"))
            .json(&json!({"ids": [outcome["id"]]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, r["marked"].as_i64()), (StatusCode::OK, Some(1)));
}

pub(crate) async fn to_disposing(app: &TestApp, key: &str, department: &str) -> Value {
    let inspector = app.login("inspector1").await;
    let photo = upload(app, &inspector, key.as_bytes()).await;
    let case = inspector_report(app, &inspector, key, &photo).await;
    let acceptor = app.login("acceptor1").await;
    let leader = app.login("shiftleader1").await;
    let dispatcher = app.login("dispatcher1").await;
    let (class, condition) = a_condition(app).await;
    let case = ok(app, &acceptor, &case, json!({"type": "accept"})).await;
    let case = ok(
        app,
        &leader,
        &case,
        json!({"type": "file", "class": class, "condition": condition}),
    )
    .await;
    ok(
        app,
        &dispatcher,
        &case,
        json!({"type": "dispatch", "department": department}),
    )
    .await
}

async fn return_park_scope_and_races(app: &TestApp) {
    let leader = app.login("shiftleader1").await;
    let dispatcher = app.login("dispatcher1").await;
    let hw = app.login("handler3").await;
    let sz = app.login("handler1").await;

    let case = to_disposing(app, "ret-1", "HW").await;
    let id = case["id"].as_str().unwrap().to_owned();
    // Another department's handler may not touch it, nor even read it.
    let (s, _) = act(
        app,
        &sz,
        &id,
        case["version"].as_u64().unwrap(),
        json!({"type": "request_return", "reason": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = get(app, &sz, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let case = ok(
        app,
        &hw,
        &case,
        json!({"type": "request_return", "reason": "不属于环卫职责"}),
    )
    .await;
    assert_eq!(case["step"], "return_review");
    let case = ok(app, &leader, &case, json!({"type": "approve_return"})).await;
    assert_eq!(case["step"], "dispatching");
    assert_eq!(case["case"]["return_count"], 1);
    let (_, sugg) = get(
        app,
        &dispatcher,
        &format!("/api/v1/cases/{id}/dispatch-suggestions"),
    )
    .await;
    assert!(
        !sugg
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["department"] == "HW"),
        "{sugg}"
    );

    // Two dispatchers at once: one wins, the other gets the case as it is now.
    let dispatcher2 = app.login("dispatcher1").await;
    let v = case["version"].as_u64().unwrap();
    let (a, b) = tokio::join!(
        act(
            app,
            &dispatcher,
            &id,
            v,
            json!({"type": "dispatch", "department": "SZ"})
        ),
        act(
            app,
            &dispatcher2,
            &id,
            v,
            json!({"type": "dispatch", "department": "SZ", "assisting": ["HW"]})
        ),
    );
    let statuses = [a.0, b.0];
    assert!(statuses.contains(&StatusCode::OK), "{a:?} {b:?}");
    assert!(statuses.contains(&StatusCode::CONFLICT), "{a:?} {b:?}");
    let loser = if a.0 == StatusCode::CONFLICT {
        &a.1
    } else {
        &b.1
    };
    assert_eq!(loser["code"], "version_conflict");
    assert_eq!(loser["current"]["step"], "disposing");
    let (_, case) = get(app, &leader, &format!("/api/v1/cases/{id}")).await;
    // Both dispatched to SZ (one with an assisting department); only one dispatch took effect.
    assert_eq!(case["case"]["lead_department"], "SZ");
    assert_eq!(case["version"].as_u64().unwrap(), v + 1);
    let holder = &sz;
    // 挂账: requested, approved, the clock stops; unparked later, it resumes.
    let case = ok(
        app,
        holder,
        &case,
        json!({"type": "request_park", "reason": "需列入年度改造工程"}),
    )
    .await;
    assert_eq!(case["case"]["park_request"]["reason"], "需列入年度改造工程");
    let (_, q) = get(app, &leader, "/api/v1/cases?pending=park").await;
    assert!(
        q["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id.as_str()),
        "{q}"
    );
    let case = ok(app, &leader, &case, json!({"type": "approve_park"})).await;
    assert_eq!(case["clock"]["urgency"], "paused");
    let left = case["clock"]["remaining_minutes"].as_i64().unwrap();
    app.clock.advance(Duration::days(30));
    // Sessions expire when idle; the month passes for the login too.
    let leader = app.login("shiftleader1").await;
    let (_, later) = get(app, &leader, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(later["clock"]["urgency"], "paused");
    assert_eq!(later["clock"]["remaining_minutes"].as_i64().unwrap(), left);
    let case = ok(app, &leader, &later, json!({"type": "unpark"})).await;
    assert_ne!(case["clock"]["urgency"], "paused");
    assert!(
        case["clock"]["remaining_minutes"].as_i64().unwrap() >= left - 1,
        "{case}"
    );
}

async fn timers_raise_warnings_and_overdue_once(app: &TestApp) {
    let case = to_disposing(app, "tmr-1", "SZ").await;
    let id = case["id"].as_str().unwrap().to_owned();
    let due: chrono::DateTime<chrono::Utc> = case["clock"]["due_at"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}"))
        .parse()
        .unwrap();
    let warn: chrono::DateTime<chrono::Utc> =
        case["clock"]["warn_at"].as_str().unwrap().parse().unwrap();
    app.app.deliver_outbox(&[]).await.unwrap();
    let now = app.app.now();
    app.clock.advance(warn - now + Duration::seconds(1));
    let r = app.app.tick_timers().await.unwrap();
    assert!(r.warnings >= 1, "{r:?}");
    // Two passes (two instances, or a restart) do not warn twice.
    let r2 = app.app.tick_timers().await.unwrap();
    assert_eq!(r2.warnings, 0, "{r2:?}");
    let leader = app.login("shiftleader1").await;
    let (_, q) = get(app, &leader, "/api/v1/cases?urgency=warning").await;
    assert!(
        q["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id.as_str()),
        "{q}"
    );
    let now = app.app.now();
    app.clock.advance(due - now + Duration::minutes(1));
    let r = app.app.tick_timers().await.unwrap();
    assert!(r.overdue >= 1, "{r:?}");
    let leader = app.login("shiftleader1").await;
    let (st, q) = get(app, &leader, "/api/v1/cases?urgency=overdue&department=SZ").await;
    assert_eq!(st, StatusCode::OK, "{q}");
    assert!(
        q["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id.as_str()),
        "{q}"
    );
    app.app.deliver_outbox(&[]).await.unwrap();
    let sz = app.login("handler1").await;
    let (_, msgs) = get(app, &sz, "/api/v1/messages").await;
    let kinds: Vec<&str> = msgs
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"warning") && kinds.contains(&"overdue"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "overdue").count(),
        1,
        "{kinds:?}"
    );
    let (_, view) = get(app, &leader, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(view["clock"]["urgency"], "overdue");
    assert!(view["clock"]["remaining_minutes"].as_i64().unwrap() < 0);
    assert_eq!(view["clock"]["disposal_overdue"], true);
}

async fn duplicates_merge_split_and_search(app: &TestApp) {
    let inspector = app.login("inspector1").await;
    let acceptor = app.login("acceptor1").await;
    let photo = upload(app, &inspector, b"dup").await;
    let first = inspector_report(app, &inspector, "dup-1", &photo).await;
    let street = street_of(app, "inspector1").await;
    let (lon, lat, _) = point_in_street(app, &street, 0).await;
    let (class, _) = a_condition(app).await;
    let (s, second) = json_of(
        inspector
            .post(app.url("/api/v1/cases?suggest_duplicates=true"))
            .header("Idempotency-Key", "dup-2")
            .json(
                &json!({"source": "inspector", "class": class, "description": "同一处井盖缺失",
                "location": {"crs": "wgs84", "x": lon + 0.0001, "y": lat}, "photos": [photo]}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let dups = second["possible_duplicates"].as_array().unwrap();
    assert!(
        dups.iter()
            .any(|d| d["case"]["id"] == first["id"] && d["relation"] == "same_class"),
        "{dups:?}"
    );
    let id2 = second["case"]["id"].as_str().unwrap();
    let merged = ok(
        app,
        &acceptor,
        &second["case"],
        json!({"type": "merge", "into_case": first["id"]}),
    )
    .await;
    assert_eq!(merged["outcome"], "merged");
    assert_eq!(merged["links"][0]["to_case"], first["id"]);
    let split = ok(
        app,
        &acceptor,
        &merged,
        json!({"type": "split", "reason": "不是同一个井盖"}),
    )
    .await;
    assert_eq!(split["step"], "accepting");
    assert!(split["links"].as_array().unwrap().is_empty());

    // Text search in Chinese, filters and paging.
    let (s, r) = get(
        app,
        &acceptor,
        "/api/v1/cases?q=井盖&step=accepting&limit=1",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(r["total"].as_i64().unwrap() >= 2, "{r}");
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    let (_, r2) = get(
        app,
        &acceptor,
        "/api/v1/cases?q=井盖&step=accepting&limit=1&offset=1",
    )
    .await;
    assert_ne!(r["items"][0]["id"], r2["items"][0]["id"]);
    let (_, none) = get(app, &acceptor, "/api/v1/cases?q=不存在的文字").await;
    assert_eq!(none["total"], 0);
    let (_, by_id) = get(app, &acceptor, &format!("/api/v1/cases?q={id2}")).await;
    assert_eq!(by_id["items"][0]["id"], id2);
    let (s, e) = get(app, &acceptor, "/api/v1/cases?step=flying").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_step"))
    );
    // An inspector sees the cases of their area only.
    let inspector2 = app.login("inspector2").await;
    let (s, _) = get(app, &inspector2, &format!("/api/v1/cases/{id2}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, mine) = get(app, &inspector2, "/api/v1/cases").await;
    assert!(
        !mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id2),
        "{mine}"
    );
}

/// The remaining branches: 不予立案, 作废, refused return, rejected extension, 缓办 and resume,
/// 督办 by a leader, manual 催办; plus orphan evidence cleanup and the merged reporter's outcome.
async fn other_branches(app: &TestApp) {
    let inspector = app.login("inspector1").await;
    let acceptor = app.login("acceptor1").await;
    let leader = app.login("shiftleader1").await;
    let dispatcher = app.login("dispatcher1").await;
    let boss = app.login("leader1").await;
    let sz = app.login("handler1").await;

    // Rejected at filing, and voided.
    for (key, action) in [
        (
            "br-reject",
            json!({"type": "reject", "reason": "不属于城管受理范围"}),
        ),
        ("br-void", json!({"type": "void", "reason": "重复录入"})),
    ] {
        let photo = upload(app, &inspector, key.as_bytes()).await;
        let case = inspector_report(app, &inspector, key, &photo).await;
        let case = ok(app, &acceptor, &case, json!({"type": "accept"})).await;
        let (s, e) = act(
            app,
            &leader,
            case["id"].as_str().unwrap(),
            case["version"].as_u64().unwrap(),
            json!({"type": action["type"], "reason": " "}),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a reason is required: {e}"
        );
        let case = ok(app, &leader, &case, action.clone()).await;
        assert_eq!(case["step"], "closed");
        assert_eq!(
            case["outcome"],
            if key == "br-reject" {
                "rejected"
            } else {
                "voided"
            }
        );
    }

    let case = to_disposing(app, "br-main", "SZ").await;
    let id = case["id"].as_str().unwrap().to_owned();
    // A return the shift leader refuses stays with the department.
    let case = ok(
        app,
        &sz,
        &case,
        json!({"type": "request_return", "reason": "应由区交通局处理"}),
    )
    .await;
    let case = ok(
        app,
        &leader,
        &case,
        json!({"type": "refuse_return", "reason": "属于市政设施"}),
    )
    .await;
    assert_eq!(case["step"], "disposing");
    assert_eq!(case["case"]["lead_department"], "SZ");
    // An extension the shift leader rejects leaves the due time alone.
    let due = case["clock"]["due_at"].clone();
    let case = ok(
        app,
        &sz,
        &case,
        json!({"type": "request_extension", "minutes": 480, "reason": "材料未到"}),
    )
    .await;
    let (_, q) = get(app, &leader, "/api/v1/cases?pending=extension").await;
    assert!(
        q["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id.as_str()),
        "{q}"
    );
    let case = ok(
        app,
        &leader,
        &case,
        json!({"type": "reject_extension", "reason": "时限内可完成"}),
    )
    .await;
    assert_eq!(case["clock"]["due_at"], due);
    // 督办 by a leader: recorded with its own due time, on the leader's list.
    let supervise_due = (app.app.now() + Duration::days(2)).to_rfc3339();
    let (s, e) = act(
        app,
        &dispatcher,
        &id,
        case["version"].as_u64().unwrap(),
        json!({"type": "supervise", "due": supervise_due}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only leaders supervise: {e}");
    let case = ok(
        app,
        &boss,
        &case,
        json!({"type": "supervise", "due": supervise_due, "note": "尽快处置"}),
    )
    .await;
    assert_eq!(case["case"]["supervision"][0]["note"], "尽快处置");
    let (_, tasks) = get(app, &boss, "/api/v1/cases/tasks").await;
    assert!(
        tasks
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str()),
        "{tasks}"
    );
    // A manual reminder by the dispatcher reaches the department.
    let case = ok(
        app,
        &dispatcher,
        &case,
        json!({"type": "remind", "note": "请加快进度"}),
    )
    .await;
    assert_eq!(case["case"]["reminders"], 1);
    // 缓办: the clock stops while deferred and resumes afterwards.
    let case = ok(
        app,
        &leader,
        &case,
        json!({"type": "defer", "reason": "等待汛期结束"}),
    )
    .await;
    assert_eq!(case["clock"]["urgency"], "paused");
    let (s, e) = act(
        app,
        &sz,
        &id,
        case["version"].as_u64().unwrap(),
        json!({"type": "feedback", "photos": []}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["code"], "illegal_transition");
    let case = ok(app, &leader, &case, json!({"type": "resume"})).await;
    assert_ne!(case["clock"]["urgency"], "paused");
    app.app.deliver_outbox(&[]).await.unwrap();
    let (_, msgs) = get(app, &sz, "/api/v1/messages").await;
    let kinds: Vec<&str> = msgs
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    for k in ["dispose_task", "approval_result", "supervision", "reminder"] {
        assert!(kinds.contains(&k), "{k} missing in {kinds:?}");
    }

    // A duplicate reported by the hotline is merged; its reporter hears when the main case closes.
    let street = street_of(app, "inspector1").await;
    let (lon, lat, _) = point_in_street(app, &street, 0).await;
    let (s, dup) = report(
        app,
        &acceptor,
        Some("br-dup"),
        &json!({"source": "hotline", "description": "井盖丢了",
            "location": {"crs": "wgs84", "x": lon, "y": lat}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{dup}");
    let dup = ok(
        app,
        &inspector,
        &dup["case"],
        json!({"type": "verify", "confirmed": true}),
    )
    .await;
    ok(
        app,
        &acceptor,
        &dup,
        json!({"type": "merge", "into_case": id}),
    )
    .await;
    let after = upload(app, &sz, b"br-after").await;
    let (_, case) = get(app, &leader, &format!("/api/v1/cases/{id}")).await;
    let case = ok(
        app,
        &sz,
        &case,
        json!({"type": "feedback", "photos": [after]}),
    )
    .await;
    let check = upload(app, &inspector, b"br-check").await;
    let case = ok(
        app,
        &inspector,
        &case,
        json!({"type": "check_pass", "photos": [check]}),
    )
    .await;
    ok(app, &leader, &case, json!({"type": "close"})).await;
    app.app.deliver_outbox(&[]).await.unwrap();
    let (_, msgs) = get(app, &acceptor, "/api/v1/messages").await;
    assert!(
        msgs.as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "outcome" && m["case_id"] == id.as_str()),
        "the merged duplicate's reporter hears the outcome: {msgs}"
    );

    // Uploads no case refers to are removed after two days; referenced ones stay.
    let orphan = upload(app, &sz, b"never attached").await;
    app.clock.advance(Duration::hours(49));
    let removed = app.app.remove_orphan_blobs().await.unwrap();
    assert!(removed >= 1, "{removed}");
    let sz = app.login("handler1").await;
    let (s, _) = get(app, &sz, &format!("/api/v1/blobs/{orphan}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = sz
        .get(app.url(&format!("/api/v1/blobs/{after}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"br-after");
    let r = sz
        .get(app.url(&format!("/api/v1/blobs/{after}/thumbnail")))
        .send()
        .await
        .unwrap();
    // Not an image: no thumbnail, a clear 422.
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// A leader's supervision order falling due on an open case is announced once.
async fn supervision_falls_due(app: &TestApp) {
    let boss = app.login("leader1").await;
    let case = to_disposing(app, "sup-1", "SZ").await;
    let id = case["id"].as_str().unwrap().to_owned();
    let due = (app.app.now() + Duration::minutes(30)).to_rfc3339();
    let case = ok(
        app,
        &boss,
        &case,
        json!({"type": "supervise", "due": due, "note": "今日办结"}),
    )
    .await;
    assert_eq!(case["clock"]["supervision_overdue"], false);
    app.clock.advance(Duration::minutes(31));
    app.app.tick_timers().await.unwrap();
    app.app.tick_timers().await.unwrap();
    app.app.deliver_outbox(&[]).await.unwrap();
    let boss = app.login("leader1").await;
    let (_, msgs) = get(app, &boss, "/api/v1/messages").await;
    let due_msgs: Vec<&Value> = msgs
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "supervision_due" && m["case_id"] == id.as_str())
        .collect();
    assert_eq!(due_msgs.len(), 1, "{msgs}");
    let (_, view) = get(app, &boss, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(view["clock"]["supervision_overdue"], true);
}

/// Two server instances on one database run their timers at the same moment: each warning and
/// each overdue reminder fires once, and the webhook adapter delivers every notification with its
/// dedup key, retrying after a failure.
async fn two_instances_fire_each_timer_once(app: &TestApp) {
    let case = to_disposing(app, "two-1", "SZ").await;
    let warn: chrono::DateTime<chrono::Utc> =
        case["clock"]["warn_at"].as_str().unwrap().parse().unwrap();
    let mut cfg = cityloop_server::config::Config::default();
    cfg.database.url = app.db_url().to_owned();
    cfg.database.allow_unsafe_durability = true;
    let blobs = tempfile::tempdir().unwrap();
    cfg.cases.evidence_dir = blobs.path().display().to_string();
    let other = cityloop_server::open_app(&cfg, app.clock.clone())
        .await
        .unwrap();
    app.app.deliver_outbox(&[]).await.unwrap();
    let now = app.app.now();
    app.clock.advance(warn - now + Duration::seconds(1));
    let (a, b) = tokio::join!(app.app.tick_timers(), other.tick_timers());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.warnings + b.warnings, 1, "{a:?} {b:?}");

    // A webhook receiver that fails the first delivery.
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let fail_first = Arc::new(Mutex::new(true));
    let router = {
        let (seen, fail_first) = (seen.clone(), fail_first.clone());
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let (seen, fail_first) = (seen.clone(), fail_first.clone());
                async move {
                    let mut fail = fail_first.lock().unwrap();
                    if *fail {
                        *fail = false;
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let key = headers["idempotency-key"].to_str().unwrap().to_owned();
                    seen.lock().unwrap().push(key);
                    axum::http::StatusCode::OK
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let hook: Arc<dyn cityloop_app::cases::Notifier> =
        Arc::new(cityloop_app::cases::WebhookNotifier {
            url: format!("http://{addr}/hook"),
            client: reqwest::Client::new(),
        });
    // Route the warnings to the webhook as well as the inbox.
    {
        let mut tx = app.app.store().write().await.unwrap();
        let pending = tx.claim_outbox(app.app.now(), 100).await.unwrap();
        let copies: Vec<cityloop_store::OutboxNew> = pending
            .iter()
            .map(|o| cityloop_store::OutboxNew {
                channel: "webhook".into(),
                recipient: o.recipient.clone(),
                dedup_key: o.dedup_key.clone(),
                case_id: o.case_id.clone(),
                kind: o.kind.clone(),
                payload: o.payload.clone(),
                created_at: o.created_at,
            })
            .collect();
        tx.insert_outbox(&copies).await.unwrap();
        tx.commit().await.unwrap();
    }
    let (x, y) = tokio::join!(
        app.app.deliver_outbox(std::slice::from_ref(&hook)),
        other.deliver_outbox(std::slice::from_ref(&hook))
    );
    x.unwrap();
    y.unwrap();
    // The failed delivery is retried later, not lost.
    app.clock.advance(Duration::minutes(5));
    app.app
        .deliver_outbox(std::slice::from_ref(&hook))
        .await
        .unwrap();
    let keys = seen.lock().unwrap().clone();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(keys.len(), unique.len(), "delivered twice: {keys:?}");
    assert!(!keys.is_empty());
    let pending = {
        let mut tx = app.app.store().read().await.unwrap();
        tx.count_outbox_pending().await.unwrap()
    };
    assert_eq!(pending, 0);
    let sz = app.login("handler1").await;
    let (_, msgs) = get(app, &sz, "/api/v1/messages").await;
    let warnings = msgs
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "warning" && m["case_id"] == case["id"])
        .count();
    assert_eq!(warnings, 1, "{msgs}");
    other.store().close().await;
}

/// Evaluation from the event log: an on-time and a late disposal of one department, with the
/// cases behind each figure; bad periods and roles are refused.
async fn evaluation_of_a_department(app: &TestApp) {
    let inspector = app.login("inspector1").await;
    let leader = app.login("shiftleader1").await;
    let sz = app.login("handler1").await;
    let on_time = to_disposing(app, "ev-1", "SZ").await;
    let late = to_disposing(app, "ev-2", "SZ").await;
    let finish = |case: Value| {
        let (inspector, leader, sz) = (inspector.clone(), leader.clone(), sz.clone());
        async move {
            let after = upload(app, &sz, format!("after {}", case["id"]).as_bytes()).await;
            let (_, case) = get(
                app,
                &leader,
                &format!("/api/v1/cases/{}", case["id"].as_str().unwrap()),
            )
            .await;
            let case = ok(
                app,
                &sz,
                &case,
                json!({"type": "feedback", "photos": [after]}),
            )
            .await;
            let check = upload(app, &inspector, format!("check {}", case["id"]).as_bytes()).await;
            let case = ok(
                app,
                &inspector,
                &case,
                json!({"type": "check_pass", "photos": [check]}),
            )
            .await;
            ok(app, &leader, &case, json!({"type": "close"})).await
        }
    };
    finish(on_time.clone()).await;
    let due: chrono::DateTime<chrono::Utc> =
        late["clock"]["due_at"].as_str().unwrap().parse().unwrap();
    let now = app.app.now();
    app.clock.advance(due - now + Duration::hours(1));
    let inspector = app.login("inspector1").await;
    let leader = app.login("shiftleader1").await;
    let sz = app.login("handler1").await;
    let after = upload(app, &sz, b"late after").await;
    let (_, case) = get(
        app,
        &leader,
        &format!("/api/v1/cases/{}", late["id"].as_str().unwrap()),
    )
    .await;
    let case = ok(
        app,
        &sz,
        &case,
        json!({"type": "feedback", "photos": [after]}),
    )
    .await;
    let check = upload(app, &inspector, b"late check").await;
    let case = ok(
        app,
        &inspector,
        &case,
        json!({"type": "check_pass", "photos": [check]}),
    )
    .await;
    ok(app, &leader, &case, json!({"type": "close"})).await;

    let today = app
        .app
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let to = today + Duration::days(1);
    let boss = app.login("leader1").await;
    let (s, v) = get(
        app,
        &boss,
        &format!("/api/v1/evaluation?kind=department&from=2026-03-01&to={to}&explain=true"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let objects = v["evaluation"]["objects"].as_array().unwrap();
    let szv = objects
        .iter()
        .find(|o| o["object"]["id"] == "SZ")
        .unwrap_or_else(|| panic!("{v}"));
    let f = &szv["figures"];
    assert_eq!(f["filed"]["numerator"], 2, "{f}");
    assert_eq!(f["due"]["numerator"], 2, "{f}");
    assert_eq!(f["on_time_disposal_rate"]["numerator"], 1, "{f}");
    assert_eq!(f["on_time_disposal_rate"]["denominator"], 2, "{f}");
    assert_eq!(f["on_time_disposal_rate"]["value"], 0.5, "{f}");
    assert_eq!(f["overdue_disposals"]["numerator"], 1, "{f}");
    assert_eq!(f["overdue_disposals"]["cases_num"][0], late["id"], "{f}");
    let den: Vec<&str> = f["on_time_disposal_rate"]["cases_den"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        den.contains(&on_time["id"].as_str().unwrap())
            && den.contains(&late["id"].as_str().unwrap()),
        "{den:?}"
    );
    assert!(szv["composite"].is_number(), "{szv}");
    assert!(szv["grade"].is_string(), "{szv}");
    // Without `explain` the day rollups kept with every transition answer, with the same figures
    // for every object of every kind.
    let (_, all_events) = get(
        app,
        &boss,
        &format!("/api/v1/evaluation?from=2026-03-01&to={to}&explain=true"),
    )
    .await;
    let (_, all_rollups) = get(
        app,
        &boss,
        &format!("/api/v1/evaluation?from=2026-03-01&to={to}"),
    )
    .await;
    assert_eq!(all_events["source"], "events");
    assert_eq!(all_rollups["source"], "rollups");
    let strip = |v: &Value| -> Vec<Value> {
        v["evaluation"]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let figures: serde_json::Map<String, Value> = o["figures"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, f)| (k.clone(), json!([f["numerator"], f["denominator"]])))
                    .collect();
                json!({"object": o["object"], "figures": figures, "composite": o["composite"], "rank": o["rank"]})
            })
            .collect()
    };
    let (a, b) = (strip(&all_events), strip(&all_rollups));
    assert!(a.len() > 5, "{a:?}");
    assert_eq!(a, b);
    let szv = all_rollups["evaluation"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["object"]["id"] == "SZ" && o["object"]["kind"] == "department")
        .unwrap()
        .clone();
    assert!(
        szv["figures"]["filed"]["cases_num"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Exports: a formatted ranking workbook, one sheet per kind, and a long CSV.
    let r = boss
        .get(app.url(&format!(
            "/api/v1/evaluation/export.xlsx?from=2026-03-01&to={to}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        assert!(
            book.sheet_names().contains(&"专业部门".to_owned()),
            "{:?}",
            book.sheet_names()
        );
        let range = book.worksheet_range("专业部门").unwrap();
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        let header = rows
            .iter()
            .find(|r| r.iter().any(|h| h == "按期处置率"))
            .unwrap();
        let col = header.iter().position(|h| h == "按期处置率").unwrap();
        let sz = rows
            .iter()
            .find(|r| r.get(1).map(String::as_str) == Some("SZ"))
            .unwrap();
        assert_eq!(sz[col], "0.5", "{sz:?}");
        assert!(
            !sz[2].is_empty() && sz[2] != "SZ",
            "department name: {sz:?}"
        );
    }
    let r = boss
        .get(app.url(&format!(
            "/api/v1/evaluation/export.csv?from=2026-03-01&to={to}"
        )))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'));
    assert!(
        text.lines().any(|l| l.contains(",SZ,")
            && l.contains("on_time_disposal_rate")
            && l.contains("0.5000,1,2")),
        "{text}"
    );
    for (query, code) in [
        (
            format!("from={to}&to={}", to + Duration::days(1)),
            "period_in_future",
        ),
        ("from=2026-03-05&to=2026-03-01".to_owned(), "invalid_period"),
        (
            "from=2024-01-01&to=2026-03-01".to_owned(),
            "period_too_long",
        ),
        (
            "kind=planet&from=2026-03-01&to=2026-03-02".to_owned(),
            "unknown_kind",
        ),
    ] {
        let (s, e) = get(app, &boss, &format!("/api/v1/evaluation?{query}")).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{query}: {e}"
        );
    }
    let (s, _) = get(app, &sz, "/api/v1/evaluation?from=2026-03-01&to=2026-03-02").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Publishing freezes a finished period.
    let (s, e) = json_of(
        boss.post(app.url("/api/v1/evaluation/publications"))
            .json(&json!({"from": "2026-03-01", "to": to}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("period_not_finished")
        ),
        "{e}"
    );
    app.clock.advance(Duration::days(1));
    let boss = app.login("leader1").await;
    let (s, p) = json_of(
        boss.post(app.url("/api/v1/evaluation/publications"))
            .json(&json!({"from": "2026-03-01", "to": to, "note": "三月考评"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert!(p["scheme"].as_str().unwrap().contains("sha256"), "{p}");
    assert!(!p["rule_sets"].as_array().unwrap().is_empty(), "{p}");
    let leader = app.login("shiftleader1").await;
    let (s, _) = json_of(
        leader
            .post(app.url("/api/v1/evaluation/publications"))
            .json(&json!({"from": "2026-03-01", "to": to}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only leaders publish");
    let (_, list) = get(app, &leader, "/api/v1/evaluation/publications").await;
    assert_eq!(list[0]["id"], p["id"]);
    assert!(list[0].get("results").is_none());
    let (_, one) = get(
        app,
        &leader,
        &format!("/api/v1/evaluation/publications/{}", p["id"]),
    )
    .await;
    let frozen = one["results"]["evaluation"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["object"]["id"] == "SZ" && o["object"]["kind"] == "department")
        .unwrap()
        .clone();
    assert_eq!(
        frozen["figures"]["on_time_disposal_rate"]["value"], 0.5,
        "{frozen}"
    );
    let (s, _) = get(app, &leader, "/api/v1/evaluation/publications/999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Schemes are versioned and validated whole; a department objects to a case's counting and the
/// administrator's decision changes the figures at once; the print report and the public ranking.
async fn evaluation_schemes_objections_and_public_pages(app: &TestApp) {
    let inspector = app.login("inspector1").await;
    let leader = app.login("shiftleader1").await;
    let sz = app.login("handler1").await;
    let hw = app.login("handler3").await;
    let admin = app.login("sysadmin").await;
    let boss = app.login("leader1").await;
    let case = to_disposing(app, "obj-1", "SZ").await;
    let after = upload(app, &sz, b"objection after").await;
    let case = ok(
        app,
        &sz,
        &case,
        json!({"type": "feedback", "photos": [after]}),
    )
    .await;
    let check = upload(app, &inspector, b"objection check").await;
    let case = ok(
        app,
        &inspector,
        &case,
        json!({"type": "check_pass", "photos": [check]}),
    )
    .await;
    let case = ok(app, &leader, &case, json!({"type": "close"})).await;
    let case_id = case["id"].as_str().unwrap().to_owned();
    let undispatched = {
        let before = upload(app, &inspector, b"objection other").await;
        inspector_report(app, &inspector, "obj-2", &before).await
    };

    let today = app
        .app
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let to = today + Duration::days(1);
    let from = "2026-03-01";
    let sz_figures = |v: &Value| {
        v["evaluation"]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["object"]["id"] == "SZ" && o["object"]["kind"] == "department")
            .map(|o| o["figures"].clone())
            .unwrap_or(Value::Null)
    };
    let query = format!("/api/v1/evaluation?kind=department&from={from}&to={to}");
    let (_, v) = get(app, &boss, &query).await;
    assert_eq!(sz_figures(&v)["due"]["numerator"], 1, "{v}");
    assert_eq!(v["scheme"]["version"], 0, "{v}");

    // --- objections ---
    let file = |c: &Client, body: Value| {
        let c = c.clone();
        async move {
            json_of(
                c.post(app.url("/api/v1/evaluation/objections"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    for (body, status, code) in [
        (
            json!({"case_id": case_id, "reason": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason_required",
        ),
        (
            json!({"case_id": case_id, "reason": "r", "counters": ["nope"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_counter",
        ),
        (
            json!({"case_id": undispatched["id"], "reason": "r"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_counted",
        ),
        (
            json!({"case_id": "no-such-case", "reason": "r"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let (s, e) = file(&sz, body.clone()).await;
        assert_eq!((s, e["code"].as_str()), (status, Some(code)), "{body}: {e}");
    }
    let (s, _) = file(
        &hw,
        json!({"case_id": case_id, "department": "SZ", "reason": "不是我们的"}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "another department cannot object for SZ"
    );
    let (s, o) = file(
        &sz,
        json!({"case_id": case_id, "reason": "该点位不属于我局养护范围",
            "counters": ["dept_due", "dept_handled", "dept_on_time", "dept_closed"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    assert_eq!(o["status"], "pending");
    let (s, e) = file(&sz, json!({"case_id": case_id, "reason": "again"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (_, mine) = get(app, &sz, "/api/v1/evaluation/objections").await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let (_, theirs) = get(app, &hw, "/api/v1/evaluation/objections").await;
    assert_eq!(theirs.as_array().unwrap().len(), 0, "{theirs}");
    // Listing asks the policy; it is not a refused attempt to decide, so nothing is audited as one.
    let (_, denied) = get(
        app,
        &app.login("auditadmin").await,
        "/api/v1/audit?action=evaluation.decide&result=denied",
    )
    .await;
    assert!(
        !denied.to_string().contains("evaluation.decide"),
        "{denied}"
    );
    let decide = |c: &Client, body: Value| {
        let c = c.clone();
        let id = o["id"].clone();
        async move {
            json_of(
                c.post(app.url(&format!("/api/v1/evaluation/objections/{id}/decision")))
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (s, _) = decide(&sz, json!({"accept": true, "note": "self-approval"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = decide(&admin, json!({"accept": true, "note": ""})).await;
    assert_eq!(e["code"], "note_required", "{s} {e}");
    let (s, d) = decide(
        &admin,
        json!({"accept": true, "note": "核实属实，不计入考核"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["status"], "accepted");
    let (s, _) = decide(&admin, json!({"accept": false, "note": "changed my mind"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "a decision is final");
    // Recomputed at once, from the rollups and from the events alike.
    let (_, v) = get(app, &boss, &query).await;
    assert_eq!(sz_figures(&v)["due"]["numerator"], 0, "{v}");
    assert_eq!(
        sz_figures(&v)["filed"]["numerator"],
        1,
        "undisputed counters stay: {v}"
    );
    let (_, explained) = get(app, &boss, &format!("{query}&explain=true")).await;
    let counts = |f: Value| {
        f.as_object()
            .unwrap()
            .iter()
            .map(|(k, x)| (k.clone(), x["numerator"].clone(), x["denominator"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(sz_figures(&v)), counts(sz_figures(&explained)));
    let (_, audit) = get(
        app,
        &app.login("auditadmin").await,
        "/api/v1/audit?action=evaluation_objection.decide",
    )
    .await;
    assert!(
        audit.to_string().contains("evaluation_objection.decide"),
        "{audit}"
    );

    // --- schemes ---
    let (s, schemes) = get(app, &admin, "/api/v1/evaluation/schemes").await;
    assert_eq!(s, StatusCode::OK, "{schemes}");
    assert_eq!(schemes[0]["version"], 0);
    assert_eq!(schemes[0]["in_force"], true);
    let example = schemes[0]["overlay"].as_str().unwrap().to_owned();
    let create = |body: Value| {
        let c = admin.clone();
        async move {
            json_of(
                c.post(app.url("/api/v1/evaluation/schemes"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (s, e) = create(json!({"name": "defaults only", "overlay": ""})).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_scheme")),
        "{e}"
    );
    let problems = e["errors"].as_array().unwrap();
    assert!(problems.len() >= 2, "every problem is listed: {e}");
    assert!(e.to_string().contains("not 1.0"), "{e}");
    let bad = format!("{example}\n[region.classes]\n\"999999999\" = \"三类\"\n");
    let (s, e) = create(json!({"name": "bad classes", "overlay": bad})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e.to_string().contains("unknown area") && e.to_string().contains("三类"),
        "{e}"
    );
    let (s, _) = json_of(
        sz.post(app.url("/api/v1/evaluation/schemes"))
            .json(&json!({"name": "x", "overlay": example}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let street = street_of(app, "inspector1").await;
    let good = format!("{example}\n[region.classes]\n\"{street}\" = \"二类\"\n");
    let (s, v1) = create(json!({"name": "2026 本市方案", "overlay": good})).await;
    assert_eq!(s, StatusCode::CREATED, "{v1}");
    assert_eq!(
        (v1["version"].as_i64(), v1["status"].as_str()),
        (Some(1), Some("draft"))
    );
    let publish = |version: i64, day: &str| {
        let c = admin.clone();
        let day = day.to_owned();
        async move {
            json_of(
                c.post(app.url(&format!("/api/v1/evaluation/schemes/{version}/publish")))
                    .json(&json!({ "effective_from": day }))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (s, p) = publish(1, from).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["status"], "published");
    let (s, _) = publish(1, from).await;
    assert_eq!(s, StatusCode::CONFLICT, "published versions are immutable");
    let (_, v2) = create(json!({"name": "draft 2", "overlay": example})).await;
    let (s, e) = publish(v2["version"].as_i64().unwrap(), "2026-01-01").await;
    assert_eq!(e["code"], "effective_before_latest", "{s} {e}");
    let (_, v) = get(app, &boss, &query).await;
    assert_eq!(v["scheme"]["version"], 1, "{v}");
    assert_eq!(v["scheme"]["name"], "2026 本市方案");

    // --- print report ---
    let r = boss
        .get(app.url(&format!(
            "/api/v1/evaluation/report.html?from={from}&to={to}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains("综合评价报告") && html.contains("专业部门") && html.contains("<svg"),
        "{html}"
    );
    assert!(
        html.contains("v1 2026 本市方案"),
        "the report names its scheme"
    );
    let r = boss
        .get(app.url(&format!(
            "/api/v1/evaluation/report.html?from={from}&to={to}&lang=en"
        )))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Evaluation report"));

    // --- public ranking ---
    let anonymous = Client::new();
    let r = anonymous.get(app.url("/rankings")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "off by default");
    let (s, _) = json_of(
        boss.put(app.url("/api/v1/evaluation/public-ranking"))
            .json(&json!({"enabled": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the administrator switches it");
    let (s, _) = json_of(
        admin
            .put(app.url("/api/v1/evaluation/public-ranking"))
            .json(&json!({"enabled": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r = anonymous.get(app.url("/rankings")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "nothing published yet");
    app.clock.advance(Duration::days(1));
    let boss = app.login("leader1").await;
    let (s, p) = json_of(
        boss.post(app.url("/api/v1/evaluation/publications"))
            .json(&json!({"from": from, "to": to}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert!(p["scheme"].as_str().unwrap().starts_with("v1 "), "{p}");
    let r = anonymous.get(app.url("/rankings")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("专业部门"), "{html}");
    assert!(
        !html.contains("监督员") && !html.contains("值班长"),
        "no staff on the public page"
    );
    let (s, data) = json_of(
        anonymous
            .get(app.url("/api/v1/evaluation/public-ranking"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{data}");
    for section in data["sections"].as_array().unwrap() {
        assert!(["department", "street", "community"].contains(&section["kind"].as_str().unwrap()));
    }
}

/// 城管通 sends the inspector's position; the desks that direct inspectors see the latest one.
async fn inspector_positions(app: &TestApp) {
    let inspector = app.login("inspector1").await;
    let leader = app.login("leader1").await;
    let sz = app.login("handler1").await;
    let street = street_of(app, "inspector1").await;
    let (lon, lat, _) = point_in_street(app, &street, 0).await;
    let post = |c: &Client, body: Value| {
        let c = c.clone();
        async move {
            c.post(app.url("/api/v1/me/position"))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let here = json!({"location": {"crs": "cgcs2000", "x": lon, "y": lat}, "accuracy_m": 12.5});
    assert_eq!(
        post(&inspector, here.clone()).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(post(&sz, here).await.status(), StatusCode::FORBIDDEN);
    let (s, e) = json_of(
        post(
            &inspector,
            json!({"location": {"crs": "wgs84", "x": 0.0, "y": 0.0}}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "outside the city: {e}");
    let (s, e) = json_of(
        post(
            &inspector,
            json!({"location": {"crs": "cgcs2000", "x": lon, "y": lat}, "accuracy_m": -1.0}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_accuracy"))
    );
    let (s, list) = get(app, &leader, "/api/v1/positions").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert!((list[0]["lon"].as_f64().unwrap() - lon).abs() < 1e-9);
    assert_eq!(list[0]["accuracy_m"], 12.5);
    assert!(list[0]["name"].as_str().is_some_and(|n| !n.is_empty()));
    // Old positions drop out of the default window.
    app.clock.advance(Duration::hours(9));
    let leader = app.login("leader1").await;
    let (_, list) = get(app, &leader, "/api/v1/positions").await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    let (_, list) = get(app, &leader, "/api/v1/positions?minutes=720").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (s, _) = get(app, &leader, "/api/v1/positions?minutes=0").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let sz = app.login("handler1").await;
    let (s, _) = get(app, &sz, "/api/v1/positions").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "positions are not for departments"
    );
}

crate::engines_with_city!(
    full_loop_with_rework_extension_and_sub_dispatch,
    idempotent_intake,
    intake_refuses_bad_reports,
    hotline_verification_and_decline_notifies_reporter,
    return_park_scope_and_races,
    timers_raise_warnings_and_overdue_once,
    duplicates_merge_split_and_search,
    other_branches,
    supervision_falls_due,
    two_instances_fire_each_timer_once,
    evaluation_of_a_department,
    evaluation_schemes_objections_and_public_pages,
    inspector_positions,
);

/// The demo history is made by the real state machine: every stored case replays from its
/// stored events, and the queues and searches see it.
async fn demo_history_replays_from_its_events(app: &TestApp) {
    let report = app.app.seed_demo_cases(20, 150, 7).await.unwrap();
    assert!(report.cases > 1500, "{report:?}");
    assert!(report.open > 0, "{report:?}");
    let leader = app.login("shiftleader1").await;
    let (_, all) = get(app, &leader, "/api/v1/cases?limit=500&order=newest").await;
    assert_eq!(all["total"].as_u64().unwrap() as usize, report.cases);
    let mut tx = app.app.store().read().await.unwrap();
    for item in all["items"].as_array().unwrap().iter().step_by(7) {
        let id = item["id"].as_str().unwrap();
        let events = tx.case_events(id).await.unwrap();
        let stored = tx.get_case(id).await.unwrap().unwrap();
        assert_eq!(
            cityloop_domain::case::replay(&events).unwrap(),
            stored.case,
            "{id}"
        );
    }
    drop(tx);
    let (_, closed) = get(app, &leader, "/api/v1/cases?step=closed&limit=1").await;
    assert!(closed["total"].as_u64().unwrap() > 1000, "{closed}");
    let (_, tasks) = get(app, &leader, "/api/v1/cases/tasks").await;
    assert!(!tasks.as_array().unwrap().is_empty());
    // Rollups lost (a database from before they existed): start-up rebuilds them from the log.
    {
        let mut tx = app.app.store().write().await.unwrap();
        let rows = tx
            .rollups_between("1970-01-01", "9999-01-01", None)
            .await
            .unwrap();
        assert!(!rows.is_empty());
        let wiped: Vec<cityloop_store::RollupRow> = rows
            .into_iter()
            .map(|r| cityloop_store::RollupRow {
                counters: "{}".into(),
                ..r
            })
            .collect();
        tx.put_rollups(&wiped).await.unwrap();
        tx.set_meta("evaluation.rollups", "rebuild", app.app.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    app.app.prepare().await.unwrap();
    // The rebuilt rollups agree with the events.
    let today = app
        .app
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let from = today - Duration::days(10);
    let to = today + Duration::days(1);
    for kind in ["department", "inspector", "street"] {
        let (_, a) = get(
            app,
            &leader,
            &format!("/api/v1/evaluation?kind={kind}&from={from}&to={to}&explain=true"),
        )
        .await;
        let (_, b) = get(
            app,
            &leader,
            &format!("/api/v1/evaluation?kind={kind}&from={from}&to={to}"),
        )
        .await;
        let pick = |v: &Value| -> Vec<Value> {
            v["evaluation"]["objects"]
                .as_array()
                .unwrap_or_else(|| panic!("{v}"))
                .iter()
                .map(|o| {
                    json!([
                        o["object"],
                        o["composite"],
                        o["figures"]
                            .as_object()
                            .unwrap()
                            .iter()
                            .map(|(k, f)| json!([k, f["numerator"], f["denominator"]]))
                            .collect::<Vec<_>>()
                    ])
                })
                .collect()
        };
        let (pa, pb) = (pick(&a), pick(&b));
        assert!(!pa.is_empty(), "{kind}");
        assert_eq!(pa, pb, "{kind}");
    }
    // Each department has someone to act.
    let hw = app.login("handler-hw-clean").await;
    let (s, _) = get(app, &hw, "/api/v1/cases/tasks").await;
    assert_eq!(s, StatusCode::OK);
}

/// A finished month's league table is reused until something changes that month: an accepted
/// objection on one of its cases recomputes it.
async fn finished_months_are_cached_until_they_change(app: &TestApp) {
    use chrono::{Datelike, Months, NaiveDate};
    app.app.seed_demo_cases(45, 60, 11).await.unwrap();
    let sys = Actor::System("t".into());
    let ctx = Ctx::default();
    let today = app
        .app
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap();
    let last_month = this_month - Months::new(1);
    let first = app
        .app
        .evaluate(&sys, None, last_month, this_month, false, &ctx)
        .await
        .unwrap();
    let again = app
        .app
        .evaluate(&sys, None, last_month, this_month, false, &ctx)
        .await
        .unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "a finished month is served again"
    );
    // A department and a case it was due on last month.
    let explained = app
        .app
        .evaluate(&sys, Some("department"), last_month, this_month, true, &ctx)
        .await
        .unwrap();
    let (dept, case, due) = explained
        .evaluation
        .objects
        .iter()
        .find_map(|o| {
            let f = o.figures.get("due")?;
            Some((
                o.object.id.clone(),
                f.cases_num.first()?.clone(),
                f.numerator,
            ))
        })
        .expect("a department with cases due last month");
    app.app
        .file_objection(&sys, &case, Some(&dept), &[], "not ours", &ctx)
        .await
        .unwrap();
    let id = app
        .app
        .list_objections(&sys, Some("pending"), &ctx)
        .await
        .unwrap()[0]
        .id;
    app.app
        .decide_objection(&sys, id, true, "accepted", &ctx)
        .await
        .unwrap();
    let after = app
        .app
        .evaluate(&sys, None, last_month, this_month, false, &ctx)
        .await
        .unwrap();
    assert!(
        !std::sync::Arc::ptr_eq(&first, &after),
        "the change invalidated the cache"
    );
    let now_due = after
        .evaluation
        .objects
        .iter()
        .find(|o| o.object.id == dept && o.object.kind.code() == "department")
        .and_then(|o| o.figures.get("due"))
        .map_or(0, |f| f.numerator);
    assert_eq!(
        now_due,
        due - 1,
        "{dept}: the accepted objection removed one due case"
    );
}

mod demo {
    crate::engines_with_city!(
        demo_history_replays_from_its_events,
        finished_months_are_cached_until_they_change
    );
    use super::{
        demo_history_replays_from_its_events, finished_months_are_cached_until_they_change,
    };
}
