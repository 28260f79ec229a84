//! The citizens' pages without login: they render, show untrusted text as text, never show the
//! reporter's name or phone, say plainly when a report is held for review, and offer the
//! follow-up (回访) only on the reporter's tracking page of a closed case. (The browser test
//! `web/tests/citizen.mjs` drives the same pages in Chromium.)

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};
use crate::public::{close_case, place};

crate::engines_with_city!(public_pages_render_without_personal_data);

const PHONE: &str = "13712345678";
const NAME: &str = "李四<b>粗</b>";
const EVIL: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

async fn page(c: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let r = c.get(app.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn report(app: &TestApp, c: &Client, extra: Value) -> (StatusCode, Value) {
    let (lon, lat, class) = place(app, 0).await;
    let mut body = json!({"class": class, "description": format!("井盖破损 {EVIL}"),
        "location": {"crs": "wgs84", "x": lon, "y": lat}, "name": NAME, "phone": PHONE});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    json_of(
        c.post(app.url("/api/v1/public/reports"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn assert_no_personal_data(html: &str, what: &str) {
    for secret in [PHONE, "137****5678", "李四", "粗"] {
        assert!(!html.contains(secret), "{what} shows {secret}");
    }
}

async fn public_pages_render_without_personal_data(app: &TestApp) {
    let c = Client::new();

    // The login page links the citizens' pages.
    let (_, login) = page(&c, app, "/login").await;
    assert!(login.contains("href=\"&#x2f;report\"") || login.contains("href=\"/report\""));

    // The report page: no login, Chinese first, the classes the public may report.
    let (s, html) = page(&c, app, "/report").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("lang=\"zh-CN\""));
    let (_, _, class) = place(app, 0).await;
    assert!(
        html.contains(&format!("value=\"{class}\"")),
        "{class} not offered"
    );
    assert!(html.contains("capture=\"environment\""));
    assert!(
        html.contains("只用于办结后回访"),
        "the phone's purpose is not said"
    );

    let (s, v) = report(app, &c, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["case_id"].as_str().unwrap().to_owned();

    for path in [format!("/track/{id}"), format!("/p/{id}")] {
        let (s, html) = page(&c, app, &path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(html.contains(&id));
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{path}: the description is not escaped"
        );
        assert!(
            !html.contains("<script>alert(1)"),
            "{path}: script injected"
        );
        assert!(!html.contains("<img src=x"), "{path}: markup injected");
        assert!(html.contains("已收到上报"), "{path}: no progress");
        assert!(
            !html.contains("id=\"followup\""),
            "{path}: rating before closure"
        );
        assert_no_personal_data(&html, &path);
    }
    let (s, _) = page(&c, app, "/p/NO-SUCH-CASE").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // After closure only the reporter's tracking page asks whether it is fixed.
    close_case(app, &id).await;
    let (_, track) = page(&c, app, &format!("/track/{id}")).await;
    assert!(
        track.contains("id=\"followup\""),
        "no follow-up on the closed case"
    );
    assert!(track.contains("已办结"));
    assert_no_personal_data(&track, "the closed tracking page");
    let (_, public) = page(&c, app, &format!("/p/{id}")).await;
    assert!(!public.contains("id=\"followup\""));
    assert_no_personal_data(&public, "the closed public page");

    // English.
    let en_client = Client::builder().cookie_store(true).build().unwrap();
    let _ = en_client.get(app.url("/lang/en")).send().await.unwrap();
    let (_, en_page) = page(&en_client, app, &format!("/p/{id}")).await;
    assert!(en_page.contains("lang=\"en\"") && en_page.contains("Report received"));
    assert!(!en_page.contains("已收到上报"));

    // A held report says it awaits review and never that it was accepted.
    let (s, v) = report(app, &c, json!({"website": "http://spam.example"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let token = v["token"].as_str().unwrap();
    let (s, held) = page(&c, app, &format!("/track/held/{token}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(held.contains("等待人工审核"));
    assert!(!held.contains("已通过审核") && !held.contains("已受理"));
    assert_no_personal_data(&held, "the held page");
    let (s, _) = page(&c, app, "/track/held/not-a-token").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The map page and the street outlines it draws.
    let (s, map) = page(&c, app, "/map").await;
    assert_eq!(s, StatusCode::OK);
    assert!(map.contains("id=\"public-map\""));
    let (s, streets) = json_of(c.get(app.url("/ui/public/streets")).send().await.unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!streets["features"].as_array().unwrap().is_empty());
}
