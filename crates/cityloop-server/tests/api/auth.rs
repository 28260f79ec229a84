use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, client, json_of};

crate::engines!(
    health_reports_engine_and_schema,
    login_whoami_logout,
    unknown_user_and_wrong_password_look_the_same,
    repeated_failures_lock_the_account,
    api_tokens_authenticate_and_revoke,
    must_change_password_blocks_everything_else,
    cross_site_posts_are_refused,
    metrics_and_openapi_are_served,
);

async fn health_reports_engine_and_schema(app: &TestApp) {
    let (status, body) = json_of(client().get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["engine"], app.app.store().engine().as_str());
    assert!(body["schema_version"].as_i64().unwrap() >= 20261125000001);
}

async fn login_whoami_logout(app: &TestApp) {
    let c = client();
    let r = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "inspector1", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("cityloop_session=cls_"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let (status, me) = json_of(c.get(app.url("/api/v1/auth/whoami")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["username"], "inspector1");
    assert_eq!(me["user"]["roles"], json!(["inspector"]));
    assert_eq!(me["role_names"][0]["name_zh"], "监督员");
    assert_eq!(me["department"]["code"], "CENTRE");
    assert_eq!(me["scope"]["areas"], json!(["330188001"]));
    assert_eq!(me["auth"], "session");
    assert!(me["user"].get("password_hash").is_none());

    let (status, _) = json_of(c.post(app.url("/api/v1/auth/logout")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The cookie is cleared by the response; replaying the old token must fail too.
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("cityloop_session=");
    let r = client()
        .get(app.url("/api/v1/auth/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(r).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthenticated");
}

async fn unknown_user_and_wrong_password_look_the_same(app: &TestApp) {
    let attempt = |u: &'static str, p: &'static str| {
        let url = app.url("/api/v1/auth/login");
        async move {
            json_of(
                client()
                    .post(url)
                    .json(&json!({"username": u, "password": p}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let unknown = attempt("nobody", "Whatever#1").await;
    let wrong = attempt("acceptor1", "Whatever#1").await;
    assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown, wrong);
    assert_eq!(wrong.1["code"], "invalid_credentials");

    // Both failures are audited.
    let audit = app.login("auditadmin").await;
    let (_, rows) = json_of(
        audit
            .get(app.url("/api/v1/audit?action=auth.login&result=failed"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let reasons: Vec<_> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["detail"]["reason"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        reasons.contains(&"unknown_user".to_owned())
            && reasons.contains(&"wrong_password".to_owned())
    );
}

async fn repeated_failures_lock_the_account(app: &TestApp) {
    let c = client();
    let login = |p: &'static str| {
        let c = c.clone();
        let url = app.url("/api/v1/auth/login");
        async move {
            c.post(url)
                .json(&json!({"username": "dispatcher1", "password": p}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..5 {
        assert_eq!(login("Wrong#pass1").await, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password is refused, with the same answer.
    assert_eq!(login(PASSWORD).await, StatusCode::UNAUTHORIZED);
    app.clock.advance(Duration::minutes(31));
    assert_eq!(login(PASSWORD).await, StatusCode::OK);
}

async fn api_tokens_authenticate_and_revoke(app: &TestApp) {
    let c = app.login("inspector2").await;
    let (status, created) = json_of(
        c.post(app.url("/api/v1/tokens"))
            .json(&json!({"name": "城管通", "valid_days": 30}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("clt_"));
    let bearer = client();
    let (status, me) = json_of(
        bearer
            .get(app.url("/api/v1/auth/whoami"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["auth"].as_str(), me["user"]["username"].as_str()),
        (Some("api_token"), Some("inspector2"))
    );

    // Another user cannot revoke it.
    let other = app.login("inspector3").await;
    let id = created["info"]["id"].as_i64().unwrap();
    let r = other
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = c
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = bearer
        .get(app.url("/api/v1/auth/whoami"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Expiry.
    let (_, short) = json_of(
        c.post(app.url("/api/v1/tokens"))
            .json(&json!({"name": "short", "valid_days": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    app.clock.advance(Duration::days(2));
    let r = client()
        .get(app.url("/api/v1/auth/whoami"))
        .bearer_auth(short["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn must_change_password_blocks_everything_else(app: &TestApp) {
    let sec = app.login("secadmin").await;
    let id = app.user_id("handler3").await;
    let r = sec
        .put(app.url(&format!("/api/v1/users/{id}/password")))
        .json(&json!({"password": "Temp#2026x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let c = client();
    let r = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "handler3", "password": "Temp#2026x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, body) = json_of(c.get(app.url("/api/v1/areas")).send().await.unwrap()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("password_change_required"))
    );
    let (status, body) = json_of(
        c.post(app.url("/api/v1/auth/password"))
            .json(&json!({"current_password": "Temp#2026x", "new_password": "short"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
    );
    let r = c
        .post(app.url("/api/v1/auth/password"))
        .json(&json!({"current_password": "Temp#2026x", "new_password": "Handler#2027"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // All sessions ended; log in with the new password.
    assert_eq!(
        c.get(app.url("/api/v1/areas"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let r = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "handler3", "password": "Handler#2027"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        c.get(app.url("/api/v1/areas"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

async fn cross_site_posts_are_refused(app: &TestApp) {
    let c = app.login("sysadmin").await;
    let (status, body) = json_of(
        c.post(app.url("/api/v1/departments"))
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .json(&json!({"code": "X1", "name": "x", "kind": "department"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf_rejected"))
    );
    let r = c
        .post(app.url("/api/v1/departments"))
        .header("origin", app.base.clone())
        .json(&json!({"code": "X1", "name": "x", "kind": "department"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn metrics_and_openapi_are_served(app: &TestApp) {
    client().get(app.url("/healthz")).send().await.unwrap();
    let text = client()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    let (status, doc) = json_of(
        client()
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/v1/users",
        "/api/v1/auth/login",
        "/api/v1/audit",
        "/healthz",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }
    let r = client().get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("swagger"));
    let r = client().get(app.url("/healthz")).send().await.unwrap();
    assert!(r.headers().contains_key("x-request-id"));
}
