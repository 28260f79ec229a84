use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

crate::engines!(
    acceptor_sees_only_own_department,
    audit_admin_cannot_change_users,
    three_admins_split_user_management,
    racing_writers_one_wins,
    areas_and_departments_crud,
);

async fn acceptor_sees_only_own_department(app: &TestApp) {
    let c = app.login("acceptor1").await;
    let other = app.user_id("handler1").await;
    let (status, body) = json_of(
        c.get(app.url(&format!("/api/v1/users/{other}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let colleague = app.user_id("shiftleader1").await;
    let (status, body) = json_of(
        c.get(app.url(&format!("/api/v1/users/{colleague}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["username"].as_str()),
        (StatusCode::OK, Some("shiftleader1"))
    );
    let (_, list) = json_of(c.get(app.url("/api/v1/users")).send().await.unwrap()).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"acceptor1") && names.contains(&"inspector1"));
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("handler") || n.ends_with("admin")),
        "{names:?}"
    );

    // A handler of a department sees the users of its sub-units.
    let h = app.login("handler1").await;
    let sub = app.user_id("handler2").await;
    assert_eq!(
        h.get(app.url(&format!("/api/v1/users/{sub}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // The denial is in the audit log with the source address.
    let audit = app.login("auditadmin").await;
    let (_, rows) = json_of(
        audit
            .get(app.url("/api/v1/audit?result=denied"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["actor_name"] == "acceptor1")
        .expect("denial audited");
    assert_eq!(
        (row["action"].as_str(), row["object_id"].as_str()),
        (Some("user.read"), Some(other.to_string().as_str()))
    );
    assert_eq!(row["ip"], "127.0.0.1");
}

async fn audit_admin_cannot_change_users(app: &TestApp) {
    let c = app.login("auditadmin").await;
    let id = app.user_id("inspector1").await;
    let (_, user) = json_of(
        c.get(app.url(&format!("/api/v1/users/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let version = user["version"].as_i64().unwrap();
    let attempts = [
        c.patch(app.url(&format!("/api/v1/users/{id}")))
            .json(&json!({"display_name": "x", "version": version})),
        c.put(app.url(&format!("/api/v1/users/{id}/roles")))
            .json(&json!({"roles": ["leader"], "version": version})),
        c.put(app.url(&format!("/api/v1/users/{id}/password")))
            .json(&json!({"password": "Abcdef#123"})),
        c.post(app.url("/api/v1/users"))
            .json(&json!({"username": "mole", "display_name": "x", "password": "Abcdef#123"})),
    ];
    for req in attempts {
        let (status, body) = json_of(req.send().await.unwrap()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
    }
    let (_, after) = json_of(
        c.get(app.url(&format!("/api/v1/users/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(after, user, "nothing changed");
    assert_eq!(
        c.get(app.url("/api/v1/audit"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

async fn three_admins_split_user_management(app: &TestApp) {
    let sys = app.login("sysadmin").await;
    let sec = app.login("secadmin").await;
    assert_eq!(
        sys.get(app.url("/api/v1/audit"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    // The system administrator creates accounts but cannot grant roles.
    let (status, _) = json_of(
        sys.post(app.url("/api/v1/users"))
            .json(&json!({"username": "inspector9", "display_name": "新监督员", "password": "Start#2026",
                          "department_code": "CENTRE", "areas": ["330188003"], "roles": ["inspector"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) = json_of(
        sys.post(app.url("/api/v1/users"))
            .json(&json!({"username": "inspector9", "display_name": "新监督员", "password": "Start#2026",
                          "phone": "13912345678", "department_code": "CENTRE", "areas": ["330188003"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["phone"], "139******78");
    assert_eq!(created["must_change_password"], true);
    let id = created["id"].as_i64().unwrap();
    // The security administrator grants roles; mixing admin powers is refused.
    let (status, body) = json_of(
        sec.put(app.url(&format!("/api/v1/users/{id}/roles")))
            .json(&json!({"roles": ["sys_admin", "audit_admin"], "version": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("roles"))
    );
    let (status, body) = json_of(
        sec.put(app.url(&format!("/api/v1/users/{id}/roles")))
            .json(&json!({"roles": ["inspector"], "version": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["roles"].clone()),
        (StatusCode::OK, json!(["inspector"]))
    );
    // Nobody changes their own roles.
    let me = app.user_id("secadmin").await;
    let r = sec
        .put(app.url(&format!("/api/v1/users/{me}/roles")))
        .json(&json!({"roles": ["sec_admin"], "version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Duplicate user names conflict.
    let (status, body) = json_of(
        sys.post(app.url("/api/v1/users"))
            .json(&json!({"username": "inspector9", "display_name": "x", "password": "Start#2026"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
}

async fn racing_writers_one_wins(app: &TestApp) {
    let a = app.login("sysadmin").await;
    let b = app.login("sysadmin").await;
    let id = app.user_id("leader1").await;
    let (_, user) = json_of(
        a.get(app.url(&format!("/api/v1/users/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let v = user["version"].as_i64().unwrap();
    let url = app.url(&format!("/api/v1/users/{id}"));
    let (ra, rb) = tokio::join!(
        a.patch(&url)
            .json(&json!({"display_name": "何局长", "version": v}))
            .send(),
        b.patch(&url)
            .json(&json!({"display_name": "何主任", "version": v}))
            .send(),
    );
    let (sa, ba) = json_of(ra.unwrap()).await;
    let (sb, bb) = json_of(rb.unwrap()).await;
    let mut statuses = [sa, sb];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{ba} {bb}"
    );
    let loser = if sa == StatusCode::CONFLICT { ba } else { bb };
    assert_eq!(loser["code"], "version_conflict");
    assert_eq!(
        loser["current"]["version"],
        v + 1,
        "the loser sees the current state"
    );
}

async fn areas_and_departments_crud(app: &TestApp) {
    let sys = app.login("sysadmin").await;
    let (status, body) = json_of(
        sys.post(app.url("/api/v1/areas"))
            .json(&json!({"code": "330188007001", "name": "孤儿社区"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("code"))
    );
    let (status, street) = json_of(
        sys.post(app.url("/api/v1/areas"))
            .json(&json!({"code": "330188007", "name": "滨江街道", "name_en": "Binjiang Street"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (street["level"].as_str(), street["parent_code"].as_str()),
        (Some("street"), Some("330188"))
    );
    let (status, _) = json_of(
        sys.patch(app.url("/api/v1/areas/330188007"))
            .json(&json!({"name": "滨江新区街道", "version": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = json_of(
        sys.patch(app.url("/api/v1/areas/330188007"))
            .json(&json!({"name": "again", "version": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["current"]["name"].as_str()),
        (StatusCode::CONFLICT, Some("滨江新区街道"))
    );

    let (status, dept) = json_of(
        sys.post(app.url("/api/v1/departments"))
            .json(&json!({"code": "HW-3", "name": "垃圾分类指导站", "parent_code": "HW", "kind": "department"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = json_of(
        sys.post(app.url("/api/v1/departments"))
            .json(&json!({"code": "HW-3-1", "name": "x", "parent_code": "HW-3", "kind": "department"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("parent_code"))
    );
    let id = dept["id"].as_i64().unwrap();
    let (status, body) = json_of(
        sys.patch(app.url(&format!("/api/v1/departments/{id}")))
            .json(&json!({"active": false, "phone": "0571-88001234", "version": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["active"].as_bool(), body["version"].as_i64()),
        (StatusCode::OK, Some(false), Some(2))
    );

    // Reorganisation: the sub-unit moves to another department, then becomes one of its own.
    let patch = |body: Value| {
        sys.patch(app.url(&format!("/api/v1/departments/{id}")))
            .json(&body)
            .send()
    };
    let (status, body) = json_of(
        patch(json!({"parent_code": "SZ", "version": 2}))
            .await
            .unwrap(),
    )
    .await;
    let (_, sz) = json_of(
        sys.get(app.url("/api/v1/departments"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let sz_id = sz
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "SZ")
        .unwrap()["id"]
        .clone();
    assert_eq!(
        (status, &body["parent_id"]),
        (StatusCode::OK, &sz_id),
        "{body}"
    );
    for (bad, field) in [
        (
            json!({"parent_code": "SZ-ROAD", "version": 3}),
            "parent_code",
        ),
        (json!({"parent_code": "HW-3", "version": 3}), "parent_code"),
        (json!({"parent_code": "NOPE", "version": 3}), "parent_code"),
        (json!({"kind": "bureau", "version": 3}), "kind"),
    ] {
        let (status, body) = json_of(patch(bad.clone()).await.unwrap()).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{bad}: {body}"
        );
    }
    let (status, body) = json_of(
        patch(json!({"parent_code": null, "kind": "street_office", "version": 3}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body["parent_id"], body["kind"].as_str()),
        (StatusCode::OK, &Value::Null, Some("street_office")),
        "{body}"
    );
    // A department with sub-units stays a department.
    let (status, body) = json_of(
        sys.patch(app.url(&format!("/api/v1/departments/{sz_id}")))
            .json(&json!({"parent_code": "HW", "version": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("parent_code")),
        "{body}"
    );

    // Everyone reads the organisation; only the system administrator changes it.
    let insp = app.login("inspector1").await;
    let (_, areas) = json_of(insp.get(app.url("/api/v1/areas")).send().await.unwrap()).await;
    assert_eq!(areas.as_array().unwrap().len(), 1 + 6 + 24 + 1);
    let (_, depts) = json_of(
        insp.get(app.url("/api/v1/departments"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(depts.as_array().unwrap().len() >= 22);
    let r = insp
        .post(app.url("/api/v1/departments"))
        .json(&json!({"code": "NOPE", "name": "x", "kind": "department"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
