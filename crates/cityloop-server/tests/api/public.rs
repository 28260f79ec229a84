//! Citizens and partners over HTTP on both engines: the public report with a masked phone, the
//! public case page, me too, the map, follow-up (回访) and 满意率, moderation and tokens, rate
//! limits, EXIF-free public photos, and the 12345 exchange round trip.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::cases::{a_condition, ok, point_in_street, street_of, upload};
use crate::helpers::{TestApp, json_of};
use crate::open311::partner_key;

const PHONE: &str = "13812345678";

/// A JPEG whose EXIF names where it was taken (30.25° N, 120.5° E).
pub(crate) fn jpeg_with_gps() -> Vec<u8> {
    fn entry(out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32) {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    // IFD0 at 8: one entry pointing at the GPS IFD at 26.
    tiff.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut tiff, 0x8825, 4, 1, 26);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD at 26: four entries; rationals follow at 80 and 104.
    tiff.extend_from_slice(&4u16.to_le_bytes());
    entry(&mut tiff, 1, 2, 2, u32::from_le_bytes(*b"N\0\0\0"));
    entry(&mut tiff, 2, 5, 3, 80);
    entry(&mut tiff, 3, 2, 2, u32::from_le_bytes(*b"E\0\0\0"));
    entry(&mut tiff, 4, 5, 3, 104);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for (deg, min) in [(30u32, 15u32), (120, 30)] {
        for (n, d) in [(deg, 1u32), (min, 1), (0, 1)] {
            tiff.extend_from_slice(&n.to_le_bytes());
            tiff.extend_from_slice(&d.to_le_bytes());
        }
    }
    let plain = cityloop_evidence::placeholder_jpeg(7);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

async fn post(c: &Client, app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    json_of(c.post(app.url(path)).json(body).send().await.unwrap()).await
}

async fn get(c: &Client, app: &TestApp, path: &str) -> (StatusCode, Value) {
    json_of(c.get(app.url(path)).send().await.unwrap()).await
}

/// A place in inspector1's street and a class the rules can file.
pub(crate) async fn place(app: &TestApp, nth: usize) -> (f64, f64, String) {
    let street = street_of(app, "inspector1").await;
    let (lon, lat, _) = point_in_street(app, &street, nth).await;
    let (class, _) = a_condition(app).await;
    (lon, lat, class)
}

async fn citizen_report(app: &TestApp, c: &Client, body: Value) -> Value {
    let (s, v) = post(c, app, "/api/v1/public/reports", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// Drives a public case through verification, filing, dispatch to SZ, disposal and check to
/// its closing.
pub(crate) async fn close_case(app: &TestApp, id: &str) {
    let inspector = app.login("inspector1").await;
    let acceptor = app.login("acceptor1").await;
    let leader = app.login("shiftleader1").await;
    let dispatcher = app.login("dispatcher1").await;
    let handler = app.login("handler1").await;
    let (_, case) = get(&acceptor, app, &format!("/api/v1/cases/{id}")).await;
    let seen = upload(app, &inspector, format!("verify-{id}").as_bytes()).await;
    let case = ok(
        app,
        &inspector,
        &case,
        json!({"type": "verify", "confirmed": true, "photos": [seen]}),
    )
    .await;
    let case = ok(app, &acceptor, &case, json!({"type": "accept"})).await;
    let (class, condition) = a_condition(app).await;
    let case = ok(
        app,
        &leader,
        &case,
        json!({"type": "file", "class": class, "condition": condition}),
    )
    .await;
    let case = ok(
        app,
        &dispatcher,
        &case,
        json!({"type": "dispatch", "department": "SZ"}),
    )
    .await;
    let after = upload(app, &handler, format!("after-{id}").as_bytes()).await;
    let case = ok(
        app,
        &handler,
        &case,
        json!({"type": "feedback", "photos": [after]}),
    )
    .await;
    let check = upload(app, &inspector, format!("check-{id}").as_bytes()).await;
    let case = ok(
        app,
        &inspector,
        &case,
        json!({"type": "check_pass", "photos": [check]}),
    )
    .await;
    let case = ok(app, &leader, &case, json!({"type": "close"})).await;
    assert_eq!(case["outcome"], "resolved", "{case}");
}

async fn satisfaction_of(app: &TestApp, by: &str) -> Value {
    let leader = app.login("leader1").await;
    let (s, v) = get(
        &leader,
        app,
        &format!("/api/v1/satisfaction?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z&by={by}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn report_follow_and_rate(app: &TestApp) {
    let c = Client::new();
    let (lon, lat, class) = place(app, 3).await;
    let (s, services) = get(&c, app, "/api/v1/public/services").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        services
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["service_code"] == class.as_str())
    );

    let photo = jpeg_with_gps();
    assert!(
        cityloop_evidence::exif_info(&photo)
            .and_then(|e| e.gps)
            .is_some()
    );
    let r = c
        .post(app.url("/api/v1/public/photos"))
        .body(photo.clone())
        .send()
        .await
        .unwrap();
    let (s, up) = json_of(r).await;
    assert_eq!(s, StatusCode::CREATED, "{up}");
    let v = citizen_report(
        app,
        &c,
        json!({"class": class, "description": "小区门口路灯不亮", "location": {"crs": "wgs84", "x": lon, "y": lat},
               "photos": [up["hash"]], "name": "李四", "phone": PHONE}),
    )
    .await;
    assert_eq!(v["status"], "created");
    assert_eq!(v["phone"], "138****5678");
    let id = v["case_id"].as_str().unwrap().to_owned();
    let token = v["followup_token"].as_str().unwrap().to_owned();

    let (s, page) = get(&c, app, &format!("/api/v1/public/cases/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    let text = page.to_string();
    assert!(
        !text.contains(PHONE) && !text.contains("李四") && !text.contains("5678"),
        "{page}"
    );
    assert_eq!(page["status"], "open");
    assert_eq!(page["followup_open"], false);
    assert_eq!(page["location_fuzzed"], false);
    let url = page["photos"][0].as_str().unwrap().to_owned();
    let copy = c.get(app.url(&url)).send().await.unwrap();
    assert_eq!(copy.status(), StatusCode::OK);
    let copy = copy.bytes().await.unwrap();
    assert!(copy.starts_with(&[0xFF, 0xD8]));
    assert!(
        cityloop_evidence::exif_info(&copy)
            .and_then(|e| e.gps)
            .is_none(),
        "public copies carry no GPS"
    );
    assert!(!copy.windows(4).any(|w| w == b"Exif"));
    // Only attached photos of public stages are served.
    let r = c
        .get(app.url(&format!("/open311/v2/media/{id}/{}.jpg", "0".repeat(64))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Not yet closed: nothing to rate.
    let (s, e) = post(
        &c,
        app,
        &format!("/api/v1/public/cases/{id}/followup"),
        &json!({"token": token, "fixed": true, "rating": 5}),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not_closed"))
    );

    let staff_client = app.login("acceptor1").await;
    let (_, staff) = get(&staff_client, app, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(staff["intake"]["contact_phone"], "138****5678");

    close_case(app, &id).await;
    let (_, page) = get(&c, app, &format!("/api/v1/public/cases/{id}")).await;
    assert_eq!(page["status"], "closed");
    assert_eq!(page["followup_open"], true);
    assert!(
        page["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["text"].as_str().unwrap().contains("已结案")),
        "{page}"
    );
    let o: Value = c
        .get(app.url(&format!("/open311/v2/requests/{id}.json")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(o[0]["status"], "closed");
    assert_eq!(
        o[0]["agency_responsible"].as_str().map(|a| !a.is_empty()),
        Some(true)
    );

    let (s, _) = post(
        &c,
        app,
        &format!("/api/v1/public/cases/{id}/followup"),
        &json!({"token": "fu_wrong", "fixed": true, "rating": 5}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = post(
        &c,
        app,
        &format!("/api/v1/public/cases/{id}/followup"),
        &json!({"token": token, "fixed": true, "rating": 9}),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rating"))
    );
    let (s, out) = post(
        &c,
        app,
        &format!("/api/v1/public/cases/{id}/followup"),
        &json!({"token": token, "fixed": true, "rating": 5, "comment": "修好了"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(
        (out["satisfied"].as_bool(), out["reopened"].as_bool()),
        (Some(true), Some(false))
    );
    let (s, _) = post(
        &c,
        app,
        &format!("/api/v1/public/cases/{id}/followup"),
        &json!({"token": token, "fixed": true, "rating": 4}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, page) = get(&c, app, &format!("/api/v1/public/cases/{id}")).await;
    assert_eq!(page["followup_open"], false);
    // The phone was kept for this question only.
    let acceptor = app.login("acceptor1").await;
    let (_, staff) = get(&acceptor, app, &format!("/api/v1/cases/{id}")).await;
    assert!(staff["intake"]["contact_phone"].is_null(), "{staff}");

    let by_dept = satisfaction_of(app, "department").await;
    let sz = by_dept
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "SZ")
        .unwrap();
    assert_eq!(
        (
            sz["rated"].as_i64(),
            sz["satisfied"].as_i64(),
            sz["rate"].as_f64()
        ),
        (Some(1), Some(1), Some(1.0))
    );
    assert!(sz["name"].is_string());
    // The same answers feed the league tables' 满意率.
    let today = app
        .app
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let leader = app.login("leader1").await;
    let (s, ev) = get(
        &leader,
        app,
        &format!(
            "/api/v1/evaluation?kind=department&from={}&to={}",
            today - chrono::Duration::days(30),
            today + chrono::Duration::days(1)
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ev}");
    let figure = ev["evaluation"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["object"]["id"] == "SZ")
        .map(|o| o["figures"]["satisfaction_rate"].clone())
        .unwrap_or_default();
    assert_eq!(
        (figure["numerator"].as_u64(), figure["denominator"].as_u64()),
        (Some(1), Some(1)),
        "{ev}"
    );
    let by_street = satisfaction_of(app, "street").await;
    let street = street_of(app, "inspector1").await;
    assert!(
        by_street
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key"] == street.as_str()),
        "{by_street}"
    );
    // Only the centre's management reads it.
    let inspector = app.login("inspector1").await;
    let (s, _) = get(
        &inspector,
        app,
        "/api/v1/satisfaction?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = get(
        &c,
        app,
        "/api/v1/satisfaction?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z",
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn not_fixed_reopens(app: &TestApp) {
    let c = Client::new();
    let (lon, lat, class) = place(app, 4).await;
    let v = citizen_report(
        app,
        &c,
        json!({"class": class, "description": "井盖松动", "location": {"crs": "wgs84", "x": lon, "y": lat}}),
    )
    .await;
    let id = v["case_id"].as_str().unwrap().to_owned();
    close_case(app, &id).await;
    let (s, out) = post(
        &c,
        app,
        &format!("/api/v1/public/cases/{id}/followup"),
        &json!({"token": v["followup_token"], "fixed": false, "rating": 2, "comment": "还是松的"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(
        (out["reopened"].as_bool(), out["satisfied"].as_bool()),
        (Some(true), Some(false))
    );
    let acceptor = app.login("acceptor1").await;
    let (_, case) = get(&acceptor, app, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["step"], "dispatching");
    assert_eq!(case["case"]["reopen_count"], 1);
    let (_, page) = get(&c, app, &format!("/api/v1/public/cases/{id}")).await;
    assert_eq!(page["status"], "open");
    assert!(
        page["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["status"] == "REOPEN"),
        "{page}"
    );
    let by_dept = satisfaction_of(app, "department").await;
    let sz = by_dept
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "SZ")
        .unwrap();
    assert_eq!(
        (sz["rated"].as_i64(), sz["satisfied"].as_i64()),
        (Some(1), Some(0))
    );
}

async fn me_too_nearby_and_map(app: &TestApp) {
    let c = Client::new();
    let (lon, lat, class) = place(app, 5).await;
    let v = citizen_report(
        app,
        &c,
        json!({"class": class, "description": "垃圾桶满溢", "location": {"crs": "wgs84", "x": lon, "y": lat}}),
    )
    .await;
    let id = v["case_id"].as_str().unwrap().to_owned();
    let (s, near) = get(
        &c,
        app,
        &format!("/api/v1/public/nearby?lon={lon}&lat={lat}&class={class}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(near[0]["id"], id.as_str(), "{near}");
    let (_, far) = get(
        &c,
        app,
        &format!("/api/v1/public/nearby?lon={}&lat={lat}", lon + 0.05),
    )
    .await;
    assert!(
        !far.as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == id.as_str())
    );
    let me_too = format!("/api/v1/public/cases/{id}/me-too");
    let (s, m) = post(&c, app, &me_too, &json!({"phone": "13900000001"})).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(
        (m["added"].as_bool(), m["supporters"].as_i64()),
        (Some(true), Some(1))
    );
    let (_, m) = post(&c, app, &me_too, &json!({"phone": "139-0000-0001"})).await;
    assert_eq!(
        (m["added"].as_bool(), m["supporters"].as_i64()),
        (Some(false), Some(1))
    );
    let (_, m) = post(&c, app, &me_too, &json!({})).await;
    assert_eq!(m["supporters"], 2);
    let (s, _) = post(&c, app, "/api/v1/public/cases/nope/me-too", &json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A sensitive class is shown coarsened, without address or photos.
    let (s, sens) = post(
        &c,
        app,
        "/api/v1/public/reports",
        &json!({"class": "E0502", "description": "有人在路口乞讨", "address": "江滨路口",
                "location": {"crs": "wgs84", "x": lon, "y": lat}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sens}");
    let sid = sens["case_id"].as_str().unwrap().to_owned();
    let (_, page) = get(&c, app, &format!("/api/v1/public/cases/{sid}")).await;
    assert_eq!(page["location_fuzzed"], true);
    assert!(page["address"].is_null());
    let moved = cityloop_evidence::haversine_m(
        (lat, lon),
        (page["lat"].as_f64().unwrap(), page["lon"].as_f64().unwrap()),
    );
    assert!(moved > 1.0 && moved < 250.0, "{moved}");
    let o: Value = c
        .get(app.url(&format!("/open311/v2/requests/{sid}.json")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(o[0]["lat"], page["lat"]);
    assert!(o[0]["address"].is_null());

    let r = c.get(app.url("/api/v1/public/map")).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/geo+json");
    let fc: Value = r.json().await.unwrap();
    assert_eq!(fc["type"], "FeatureCollection");
    let feature = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id.as_str())
        .unwrap();
    let at = &feature["geometry"]["coordinates"];
    assert!(
        (at[0].as_f64().unwrap() - lon).abs() < 1e-6
            && (at[1].as_f64().unwrap() - lat).abs() < 1e-6,
        "{at}"
    );
    assert_eq!(feature["properties"]["supporters"], 2);
    assert_eq!(feature["properties"]["status"], "open");
    let fs = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == sid.as_str())
        .unwrap();
    assert_eq!(
        fs["geometry"]["coordinates"],
        json!([page["lon"], page["lat"]])
    );
    let empty: Value = c
        .get(app.url(&format!(
            "/api/v1/public/map?bbox={},{},{},{}",
            lon + 1.0,
            lat + 1.0,
            lon + 2.0,
            lat + 2.0
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(empty["features"], json!([]));
    let (s, e) = get(&c, app, "/api/v1/public/map?bbox=1,2,3").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_bbox"))
    );
}

async fn held_reports_moderation_and_tokens(app: &TestApp) {
    let c = Client::new();
    let (lon, lat, class) = place(app, 6).await;
    let body = |website: &str, description: &str| {
        json!({"class": class, "description": description, "website": website, "phone": PHONE,
               "location": {"crs": "wgs84", "x": lon, "y": lat}})
    };
    let (s, held) = post(
        &c,
        app,
        "/api/v1/public/reports",
        &body("http://spam.example", "路面坑洼"),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{held}");
    assert_eq!(held["status"], "held");
    assert!(held["case_id"].is_null());
    let token = held["token"].as_str().unwrap().to_owned();
    let (s, links) = post(
        &c,
        app,
        "/api/v1/public/reports",
        &body("", "便宜发票 www.example.invalid"),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{links}");

    let (s, t) = get(&c, app, &format!("/open311/v2/tokens/{token}.json")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t[0]["token"], token.as_str());
    assert!(t[0]["service_request_id"].is_null(), "{t}");
    let x = c
        .get(app.url(&format!("/open311/v2/tokens/{token}.xml")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        x.contains(&format!(
            "<service_requests><request><service_request_id/><token>{token}</token>"
        )),
        "{x}"
    );
    let (s, _) = get(&c, app, "/open311/v2/tokens/held_nope.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, sub) = get(&c, app, &format!("/api/v1/public/submissions/{token}")).await;
    assert_eq!(sub["status"], "pending");

    let acceptor = app.login("acceptor1").await;
    let (s, queue) = get(&acceptor, app, "/api/v1/moderation").await;
    assert_eq!(s, StatusCode::OK);
    let queue = queue.as_array().unwrap();
    assert_eq!(queue.len(), 2);
    assert_eq!(queue[0]["reason"], "honeypot");
    assert_eq!(queue[1]["reason"], "links");
    assert_eq!(
        queue[0]["payload"]["report"]["contact_phone"],
        "138****5678"
    );
    assert!(!serde_json::to_string(&queue).unwrap().contains(PHONE));
    let handler = app.login("handler1").await;
    let (s, _) = get(&handler, app, "/api/v1/moderation").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let first = queue[0]["id"].as_i64().unwrap();
    let second = queue[1]["id"].as_i64().unwrap();
    let (s, d) = post(
        &acceptor,
        app,
        &format!("/api/v1/moderation/{first}/decision"),
        &json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let case_id = d["case_id"].as_str().unwrap().to_owned();
    let (s, _) = post(
        &acceptor,
        app,
        &format!("/api/v1/moderation/{first}/decision"),
        &json!({"decision": "reject", "note": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, e) = post(
        &acceptor,
        app,
        &format!("/api/v1/moderation/{second}/decision"),
        &json!({"decision": "reject"}),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_required"))
    );
    let (s, _) = post(
        &acceptor,
        app,
        &format!("/api/v1/moderation/{second}/decision"),
        &json!({"decision": "reject", "note": "广告"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let (_, t) = get(&c, app, &format!("/open311/v2/tokens/{token}.json")).await;
    assert_eq!(t[0]["service_request_id"], case_id.as_str());
    let (_, sub) = get(&c, app, &format!("/api/v1/public/submissions/{token}")).await;
    assert_eq!(
        (sub["status"].as_str(), sub["case_id"].as_str()),
        (Some("approved"), Some(case_id.as_str()))
    );
    let (_, page) = get(&c, app, &format!("/api/v1/public/cases/{case_id}")).await;
    assert_eq!(page["status"], "open");
    let (_, t) = get(
        &c,
        app,
        &format!(
            "/open311/v2/tokens/{}.json",
            links["token"].as_str().unwrap()
        ),
    )
    .await;
    assert_json_404(&t);
    let (_, rejected) = get(&acceptor, app, "/api/v1/moderation?status=rejected").await;
    assert_eq!(rejected[0]["decision_note"], "广告");
}

fn assert_json_404(v: &Value) {
    assert_eq!(v[0]["code"], "404", "{v}");
}

async fn rate_limits_answer_429(app: &TestApp) {
    let c = Client::new();
    let (lon, lat, class) = place(app, 7).await;
    let body = |n: usize, phone: &str| {
        json!({"class": class, "description": format!("第{n}次上报"), "phone": phone,
               "location": {"crs": "wgs84", "x": lon, "y": lat}})
    };
    for n in 0..10 {
        citizen_report(app, &c, body(n, PHONE)).await;
    }
    let r = c
        .post(app.url("/api/v1/public/reports"))
        .json(&body(10, PHONE))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    let (_, e) = json_of(r).await;
    assert_eq!(e["code"], "rate_limited");
    // Per phone: 20 a day, whatever the address.
    app.clock.advance(Duration::hours(1));
    for n in 10..20 {
        citizen_report(app, &c, body(n, PHONE)).await;
    }
    app.clock.advance(Duration::hours(1));
    let (s, e) = post(
        &c,
        app,
        "/api/v1/public/reports",
        &body(20, "138 1234 5678"),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    let (s, _) = post(&c, app, "/api/v1/public/reports", &body(21, "13700000000")).await;
    assert_eq!(s, StatusCode::CREATED);
}

/// A webhook receiver that records what it gets.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let got: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let sink = got.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::Json<Value>| {
                let sink = sink.clone();
                async move {
                    let key = headers["idempotency-key"].to_str().unwrap().to_owned();
                    sink.lock().unwrap().push((key, body.0));
                    StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (format!("http://{addr}/hook"), got)
}

async fn hotline_round_trip(app: &TestApp) {
    let c = Client::new();
    let (url, got) = receiver().await;
    let (_, key) = partner_key(app, &["hotline"], Some(url)).await;
    let (_, open311_only) = partner_key(app, &["open311"], None).await;
    let (lon, lat, class) = place(app, 8).await;
    let order = json!({"order_id": "GD-20260302-0001", "status": "转办", "description": "市民来电：路灯不亮",
        "class": class, "location": {"crs": "wgs84", "x": lon, "y": lat},
        "caller_name": "赵女士", "caller_phone": "13600000000"});
    let push = |k: &str, body: &Value| {
        c.post(app.url("/hotline/v1/orders"))
            .bearer_auth(k)
            .json(body)
            .send()
    };
    let (s, first) = json_of(push(&key, &order).await.unwrap()).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["hotline_status"], "received");
    let id = first["case_id"].as_str().unwrap().to_owned();
    let (s, again) = json_of(push(&key, &order).await.unwrap()).await;
    assert_eq!(
        (s, again["case_id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );
    let mut changed = order.clone();
    changed["description"] = json!("别的事");
    let (s, e) = json_of(push(&key, &changed).await.unwrap()).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let mut odd = order.clone();
    odd["order_id"] = json!("GD-2");
    odd["status"] = json!("办结");
    let (s, e) = json_of(push(&key, &odd).await.unwrap()).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unknown_hotline_status")
        )
    );
    let (s, _) = json_of(push(&open311_only, &order).await.unwrap()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = json_of(
        c.post(app.url("/hotline/v1/orders"))
            .json(&order)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The caller chases it: 催办 becomes a reminder on the case.
    let chase = |body: Value| {
        c.post(app.url("/hotline/v1/orders/GD-20260302-0001/status"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let (s, o) = json_of(
        chase(json!({"status": "催办", "note": "市民再次来电"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{o}");
    let (s, e) = json_of(chase(json!({"status": "撤单"})).await.unwrap()).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unknown_hotline_status")
        )
    );
    let acceptor = app.login("acceptor1").await;
    let (_, case) = get(&acceptor, app, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["case"]["reminders"], 1);
    let (_, events) = get(&acceptor, app, &format!("/api/v1/cases/{id}/events")).await;
    assert!(events.to_string().contains("市民再次来电"), "{events}");
    assert_eq!(case["source"], "hotline");
    assert_eq!(case["intake"]["external_ref"], "GD-20260302-0001");
    assert_eq!(case["intake"]["contact_phone"], "136****0000");

    close_case(app, &id).await;
    let notifier: Arc<dyn cityloop_app::cases::Notifier> =
        Arc::new(cityloop_app::public::HotlineNotifier {
            client: reqwest::Client::new(),
        });
    app.app
        .deliver_outbox(std::slice::from_ref(&notifier))
        .await
        .unwrap();
    app.app.deliver_outbox(&[notifier]).await.unwrap();
    let seen = got.lock().unwrap().clone();
    let statuses: Vec<&str> = seen
        .iter()
        .map(|(_, b)| b["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"processing"), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&"replied"), "{statuses:?}");
    assert!(
        seen.iter()
            .all(|(_, b)| b["order_id"] == "GD-20260302-0001" && b["case_id"] == id.as_str())
    );
    let mut keys: Vec<&String> = seen.iter().map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), seen.len(), "each progress report once");
    assert!(
        !serde_json::to_string(&seen)
            .unwrap()
            .contains("13600000000")
    );

    let get_order = c
        .get(app.url("/hotline/v1/orders/GD-20260302-0001"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let (_, o) = json_of(get_order).await;
    assert_eq!(
        (o["hotline_status"].as_str(), o["status"].as_str()),
        (Some("replied"), Some("closed"))
    );

    let rate = c
        .post(app.url("/hotline/v1/orders/GD-20260302-0001/rating"))
        .bearer_auth(&key)
        .json(&json!({"fixed": true, "rating": 4}))
        .send()
        .await
        .unwrap();
    let (s, r) = json_of(rate).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["satisfied"], true);
    let by_dept = satisfaction_of(app, "department").await;
    let sz = by_dept
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "SZ")
        .unwrap();
    assert_eq!(sz["satisfied"], 1);
}

async fn partner_keys_over_http(app: &TestApp) {
    let admin = app.login("sysadmin").await;
    let (s, k) = post(
        &admin,
        app,
        "/api/v1/partner-keys",
        &json!({"name": "FixMyStreet", "scopes": ["open311"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let key = k["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("cl311_"));
    let id = k["partner"]["id"].as_i64().unwrap();
    let (_, list) = get(&admin, app, "/api/v1/partner-keys").await;
    assert!(!list.to_string().contains(&key), "the key is shown once");
    let (s, e) = post(
        &admin,
        app,
        "/api/v1/partner-keys",
        &json!({"name": "x", "scopes": ["everything"]}),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_scope"))
    );
    let acceptor = app.login("acceptor1").await;
    let (s, _) = post(
        &acceptor,
        app,
        "/api/v1/partner-keys",
        &json!({"name": "x", "scopes": ["open311"]}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let r = admin
        .delete(app.url(&format!("/api/v1/partner-keys/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, list) = get(&admin, app, "/api/v1/partner-keys").await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == id && p["revoked_at"].is_string())
    );

    let (_, doc) = get(&admin, app, "/api/openapi.json").await;
    for path in [
        "/api/v1/public/reports",
        "/api/v1/public/cases/{id}/followup",
        "/api/v1/public/map",
        "/api/v1/satisfaction",
        "/open311/v2/{file}",
        "/hotline/v1/orders",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }
}

crate::engines_with_city!(
    report_follow_and_rate,
    not_fixed_reopens,
    me_too_nearby_and_map,
    held_reports_moderation_and_tokens,
    rate_limits_answer_429,
    hotline_round_trip,
    partner_keys_over_http,
);
