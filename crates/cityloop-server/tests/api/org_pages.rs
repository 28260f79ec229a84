//! Departments and areas in the web UI, the guard on disabling a department that still has work,
//! and the navigation menu following the policy.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cases::to_disposing;
use crate::helpers::{TestApp, json_of};

crate::engines_with_city!(
    a_department_with_open_cases_cannot_be_disabled,
    department_and_area_pages_follow_the_grants,
    each_menu_links_only_the_pages_its_user_can_open,
);

async fn department(app: &TestApp, code: &str) -> Value {
    let c = app.login("sysadmin").await;
    let (_, list) = json_of(c.get(app.url("/api/v1/departments")).send().await.unwrap()).await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code)
        .cloned()
        .unwrap_or_else(|| panic!("no department {code}"))
}

async fn a_department_with_open_cases_cannot_be_disabled(app: &TestApp) {
    let sys = app.login("sysadmin").await;
    let case = to_disposing(app, "org-open-1", "HW").await;
    assert_eq!(case["step"], "disposing", "{case}");
    let hw = department(app, "HW").await;
    let (status, body) = json_of(
        sys.patch(app.url(&format!("/api/v1/departments/{}", hw["id"])))
            .json(&json!({"active": false, "version": hw["version"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("department_has_open_cases"),
            Some("active")
        ),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("1 open case"));
    let after = department(app, "HW").await;
    assert_eq!(
        (after["active"].as_bool(), &after["version"]),
        (Some(true), &hw["version"]),
        "nothing was stored"
    );
    // Other changes to a busy department still go through, and so does disabling an idle one.
    let (status, body) = json_of(
        sys.patch(app.url(&format!("/api/v1/departments/{}", hw["id"])))
            .json(&json!({"phone": "0571-88000000", "version": hw["version"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let idle = department(app, "YL").await;
    let (status, body) = json_of(
        sys.patch(app.url(&format!("/api/v1/departments/{}", idle["id"])))
            .json(&json!({"active": false, "version": idle["version"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["active"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{body}"
    );
}

async fn page(app: &TestApp, user: &str, path: &str) -> (StatusCode, String) {
    let c = app.login(user).await;
    let r = c.get(app.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn department_and_area_pages_follow_the_grants(app: &TestApp) {
    // User text is escaped on the page.
    let sys = app.login("sysadmin").await;
    let (status, body) = json_of(
        sys.post(app.url("/api/v1/departments"))
            .json(&json!({"code": "XSS", "name": "<b>粗体</b>", "parent_code": "HW", "kind": "department"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let departments = {
        let mut tx = app.app.store().read().await.unwrap();
        tx.list_departments().await.unwrap()
    };

    let (status, html) = page(app, "sysadmin", "/admin/departments").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"department-new\""));
    assert_eq!(
        html.matches("class=\"grid-form department-edit\"").count(),
        departments.len(),
        "one edit form per department"
    );
    assert!(html.contains("&lt;b&gt;粗体&lt;&#x2f;b&gt;") && !html.contains("<b>粗体"));
    // The sub-unit follows its parent and names it.
    let hw = html.find("data-department=\"HW\"").unwrap();
    let xss = html.find("data-department=\"XSS\"").unwrap();
    assert!(hw < xss);
    assert!(
        html[xss..].contains("<td class=\"parent\">环境卫生管理处"),
        "parent shown"
    );

    let (status, html) = page(app, "sysadmin", "/admin/areas").await;
    assert_eq!(status, StatusCode::OK);
    let areas = {
        let mut tx = app.app.store().read().await.unwrap();
        tx.list_areas().await.unwrap()
    };
    assert_eq!(html.matches("class=\"area-rename\"").count(), areas.len());
    assert_eq!(
        html.matches("class=\"area-new\"").count(),
        areas.iter().filter(|a| a.level != "community").count(),
        "districts and streets take new areas, communities none"
    );

    // Readers see the lists without a form.
    for user in ["auditadmin", "inspector1"] {
        for (path, row) in [
            ("/admin/departments", "data-department=\"HW\""),
            ("/admin/areas", "data-area=\"330188\""),
        ] {
            let (status, html) = page(app, user, path).await;
            assert_eq!(status, StatusCode::OK, "{user} {path}");
            assert!(html.contains(row), "{user} {path}");
            for control in ["data-json-form", "department-new", "area-new"] {
                assert!(!html.contains(control), "{user} sees {control} on {path}");
            }
        }
    }
}

/// The menu's links, from the page frame.
fn menu(html: &str) -> Vec<String> {
    let nav = html
        .split("<nav aria-label=\"主导航\">")
        .nth(1)
        .and_then(|s| s.split("</nav>").next())
        .expect("the page has the main menu");
    nav.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|h| h.replace("&#x2f;", "/"))
        .collect()
}

async fn each_menu_links_only_the_pages_its_user_can_open(app: &TestApp) {
    let every = [
        "/workbench",
        "/m",
        "/intake",
        "/command",
        "/cases",
        "/evaluation",
        "/objections",
        "/admin",
    ];
    for user in [
        "inspector1",
        "acceptor1",
        "shiftleader1",
        "dispatcher1",
        "handler1",
        "leader1",
        "sysadmin",
        "secadmin",
        "auditadmin",
    ] {
        let c = app.login(user).await;
        let r = c.get(app.url("/")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{user}'s start page");
        let links = menu(&r.text().await.unwrap());
        assert!(!links.is_empty(), "{user} has a menu");
        for href in every {
            let r = c.get(app.url(href)).send().await.unwrap();
            let status = r.status();
            if links.iter().any(|l| l == href) {
                assert_eq!(status, StatusCode::OK, "{user}'s menu links {href}");
                assert_eq!(
                    menu(&r.text().await.unwrap()),
                    links,
                    "{user}: the same menu on {href}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{user} opens {href}, which the menu does not offer"
                );
            }
        }
    }
}
