//! The web UI's pages: login redirects, each role's start page, and the case page showing the
//! server's allowed actions and escaping untrusted text. (The browser tests in `web/tests` drive
//! the same pages in Chromium.)

use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, json_of};

crate::engines_with_city!(
    pages_by_role,
    case_page_escapes_text_and_offers_allowed_actions,
    configuration_and_objection_pages_follow_the_grants,
    user_and_layer_controls_follow_the_grants
);

/// A demo server lists its accounts on the login page, with user text escaped. Engine-independent
/// (configuration and a template), so SQLite only.
#[tokio::test]
async fn demo_login_page_lists_the_accounts() {
    let app = TestApp::start_tuned(cityloop_store_tests::TestDb::sqlite(), |c| {
        c.server.demo_logins = Some(cityloop_http::DemoLogins {
            password: PASSWORD.into(),
            accounts: vec![cityloop_http::DemoLogin {
                username: "inspector1".into(),
                display_name: "<b>王建国</b>".into(),
                roles_zh: "监督员".into(),
                roles_en: "Inspector".into(),
                department: Some("CENTRE".into()),
            }],
        });
    })
    .await;
    let html = no_redirects()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("class=\"card demo-logins\""), "{html}");
    assert!(html.contains("data-demo-user=\"inspector1\""));
    assert!(html.contains("监督员"));
    assert!(
        html.contains("&lt;b&gt;王建国&lt;&#x2f;b&gt;"),
        "names are escaped"
    );
    app.stop().await;
}

fn no_redirects() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn login(app: &TestApp, username: &str) -> Client {
    let c = no_redirects();
    let r = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    c
}

async fn pages_by_role(app: &TestApp) {
    // Without a session a page sends the browser to the login page, and back afterwards.
    let r = no_redirects()
        .get(app.url("/workbench"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=/workbench");
    let r = no_redirects().get(app.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("lang=\"zh-CN\""), "Chinese first");
    assert!(
        !html.contains("demo-logins"),
        "accounts are listed on demo servers only"
    );
    // Static files are served under the tagged prefix the pages use (HTML-escaped there).
    let css = html
        .replace("&#x2f;", "/")
        .split("href=\"")
        .skip(1)
        .find_map(|s| s.split('"').next().filter(|p| p.ends_with("/app.css")))
        .unwrap()
        .to_owned();
    let r = no_redirects().get(app.url(&css)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    for (user, start) in [
        ("inspector1", "/m"),
        ("acceptor1", "/workbench"),
        ("dispatcher1", "/workbench"),
        ("handler1", "/workbench"),
        ("leader1", "/command"),
        ("sysadmin", "/admin"),
    ] {
        let c = login(app, user).await;
        let r = c.get(app.url("/")).send().await.unwrap();
        assert_eq!(r.headers()["location"], start, "{user}");
        let r = c.get(app.url(start)).send().await.unwrap();
        let status = r.status();
        // /admin picks a section.
        assert!(
            status == StatusCode::OK || status == StatusCode::SEE_OTHER,
            "{user} {start}: {status}"
        );
        if status == StatusCode::OK {
            let html = r.text().await.unwrap();
            assert!(
                html.contains("data-logout"),
                "{user} {start} lacks the page frame"
            );
        }
    }
    // English on request, through the cookie.
    let c = login(app, "acceptor1").await;
    let r = c
        .get(app.url("/lang/en?next=/workbench"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/workbench");
    let html = c
        .get(app.url("/workbench"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"en\">") && html.contains("My to-do list"));
}

async fn case_page_escapes_text_and_offers_allowed_actions(app: &TestApp) {
    let grid = {
        let mut tx = app.app.store().read().await.unwrap();
        tx.list_grids(None).await.unwrap().remove(0)
    };
    let (lon, lat) = (
        (grid.bbox[0] + grid.bbox[2]) / 2.0,
        (grid.bbox[1] + grid.bbox[3]) / 2.0,
    );
    let acceptor = login(app, "acceptor1").await;
    let evil = "路灯不亮 <script>alert(1)</script><img src=x onerror=alert(2)>";
    let (status, out) = json_of(
        acceptor
            .post(app.url("/api/v1/cases"))
            .json(&json!({"source": "hotline", "description": evil,
                "location": {"crs": "wgs84", "x": lon, "y": lat}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{out}");
    let id = out["case"]["id"].as_str().unwrap().to_owned();
    for user in ["acceptor1", "shiftleader1", "leader1", "inspector1"] {
        let c = login(app, user).await;
        let r = c
            .get(app.url(&format!("/cases/{id}")))
            .send()
            .await
            .unwrap();
        if r.status() != StatusCode::OK {
            // Outside the user's data scope: the page says so, as the API does.
            let api = c
                .get(app.url(&format!("/api/v1/cases/{id}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), api.status(), "{user}");
            continue;
        }
        let html = r.text().await.unwrap();
        assert!(
            !html.contains("<script>alert(1)"),
            "{user}: description not escaped"
        );
        assert!(
            !html.contains("<img src=x"),
            "{user}: description not escaped"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)"),
            "{user}: description missing"
        );
        // The forms are exactly the actions the server allows this user.
        let (_, view) = json_of(
            c.get(app.url(&format!("/api/v1/cases/{id}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let allowed: Vec<&str> = view["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let forms: Vec<&str> = html
            .split("data-act=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap())
            .collect();
        assert_eq!(forms, allowed, "{user}");
    }
}

async fn page(c: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let r = c.get(app.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn configuration_and_objection_pages_follow_the_grants(app: &TestApp) {
    // The system administrator gets the write controls the API grants them.
    let admin = login(app, "sysadmin").await;
    let (s, html) = page(&admin, app, "/admin/schemes").await;
    assert_eq!(s, StatusCode::OK);
    // (Publish forms appear on drafts only; a fresh city has none.)
    for control in ["id=\"scheme-new\"", "id=\"public-ranking\""] {
        assert!(html.contains(control), "sysadmin lacks {control}");
    }
    let (_, html) = page(&admin, app, "/admin/classes").await;
    assert!(html.contains("data-method=\"PATCH\""));
    let (_, html) = page(&admin, app, "/admin/calendar").await;
    assert!(html.contains("id=\"calendar-day\""));
    let (_, html) = page(&admin, app, "/admin/rules").await;
    assert!(html.contains("id=\"rules-import\""));
    let (s, html) = page(&admin, app, "/objections").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !html.contains("id=\"file-objection\""),
        "only departments file"
    );

    // The auditor reads the same pages without any of them.
    let audit = login(app, "auditadmin").await;
    for (path, control) in [
        ("/admin/schemes", "id=\"scheme-new\""),
        ("/admin/schemes", "id=\"public-ranking\""),
        ("/admin/classes", "data-method=\"PATCH\""),
        ("/admin/calendar", "id=\"calendar-day\""),
        ("/admin/rules", "id=\"rules-import\""),
    ] {
        let (s, html) = page(&audit, app, path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(
            !html.contains(control),
            "auditadmin sees {control} on {path}"
        );
    }

    // A handler files objections and sees only their department's; the page lists what the API
    // returns to them and offers no decision.
    let handler = login(app, "handler1").await;
    let (s, html) = page(&handler, app, "/objections?case=A%3Cb%3E").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"file-objection\""));
    assert!(html.contains("value=\"A&lt;b&gt;\""), "prefill escaped");
    assert!(!html.contains("/decision\""));
    // Without any evaluation grant the page says so, as the API does.
    let inspector = login(app, "inspector1").await;
    let (s, _) = page(&inspector, app, "/objections").await;
    let api = inspector
        .get(app.url("/api/v1/evaluation/objections"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!((s, api), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));

    // The evaluation page carries the objects' display names for the league table.
    let leader = login(app, "leader1").await;
    let (s, html) = page(&leader, app, "/evaluation").await;
    assert_eq!(s, StatusCode::OK);
    let departments = {
        let mut tx = app.app.store().read().await.unwrap();
        tx.list_departments().await.unwrap()
    };
    let names = html
        .split("<script id=\"object-names\" type=\"application/json\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .unwrap();
    let names: serde_json::Value = serde_json::from_str(names).unwrap();
    assert_eq!(
        names["department"][&departments[0].code], departments[0].name,
        "{names}"
    );
}

async fn user_and_layer_controls_follow_the_grants(app: &TestApp) {
    // Profiles (PATCH) and new accounts are the system administrator's; roles, passwords and
    // lockouts the security administrator's; the auditor reads the list without any control.
    let profile = "class=\"grid-form user-profile\"";
    let roles = "class=\"grid-form user-roles\"";
    let password = "class=\"inline-form user-password\"";
    let create = "id=\"user-new\"";
    for (user, shown, hidden) in [
        ("sysadmin", vec![profile, create], vec![roles, password]),
        ("secadmin", vec![roles, password], vec![profile, create]),
        ("auditadmin", vec![], vec![profile, create, roles, password]),
    ] {
        let c = login(app, user).await;
        let (s, html) = page(&c, app, "/admin/users").await;
        assert_eq!(s, StatusCode::OK, "{user}");
        assert!(
            html.contains("data-user=\"inspector1\""),
            "{user} lists users"
        );
        // Roles carry their labels, the administrators' included.
        assert!(
            html.contains("<td class=\"roles\">审计管理员</td>"),
            "{user}"
        );
        for control in shown {
            assert!(html.contains(control), "{user} lacks {control}");
        }
        for control in hidden {
            assert!(!html.contains(control), "{user} sees {control}");
        }
    }

    // The layers page: component and grid editing for the system administrator only; the
    // security administrator cannot read base data, and the page says so as the API does.
    let admin = login(app, "sysadmin").await;
    let (s, html) = page(&admin, app, "/admin/layers").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("data-can-write"));
    assert!(html.contains("id=\"new-component\""));
    let (s, grids) = json_of(
        admin
            .get(app.url("/api/v1/responsibility-grids"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let grids = grids.as_array().unwrap();
    assert!(!grids.is_empty(), "the test city has responsibility grids");
    assert_eq!(
        html.matches("data-url=\"/api/v1/responsibility-grids/")
            .count(),
        grids.len(),
        "one inspectors form per responsibility grid"
    );
    let audit = login(app, "auditadmin").await;
    let (s, html) = page(&audit, app, "/admin/layers").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("data-can-write"));
    assert!(!html.contains("id=\"new-component\""));
    assert!(!html.contains("data-url=\"/api/v1/responsibility-grids/"));
    let sec = login(app, "secadmin").await;
    let (s, _) = page(&sec, app, "/admin/layers").await;
    let api = sec
        .get(app.url("/api/v1/responsibility-grids"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!((s, api), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));
}
