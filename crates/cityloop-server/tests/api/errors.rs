use reqwest::StatusCode;

use crate::helpers::{TestApp, client, json_of};

crate::engines!(every_error_is_json_with_a_code);

async fn every_error_is_json_with_a_code(app: &TestApp) {
    let c = app.login("sysadmin").await;
    let check = |status: StatusCode, code: &'static str| {
        move |(s, body): (StatusCode, serde_json::Value)| {
            assert_eq!(s, status, "{body}");
            assert_eq!(body["code"], code, "{body}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    };
    check(StatusCode::NOT_FOUND, "not_found")(
        json_of(
            client()
                .get(app.url("/no/such/route"))
                .send()
                .await
                .unwrap(),
        )
        .await,
    );
    check(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")(
        json_of(c.delete(app.url("/api/v1/areas")).send().await.unwrap()).await,
    );
    check(StatusCode::UNAUTHORIZED, "unauthenticated")(
        json_of(client().get(app.url("/api/v1/areas")).send().await.unwrap()).await,
    );
    check(StatusCode::NOT_FOUND, "not_found")(
        json_of(c.get(app.url("/api/v1/users/999999")).send().await.unwrap()).await,
    );
    check(StatusCode::BAD_REQUEST, "bad_request")(
        json_of(c.get(app.url("/api/v1/users/abc")).send().await.unwrap()).await,
    );
    check(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")(
        json_of(c.get(app.url("/api/v1/areas/12")).send().await.unwrap()).await,
    );
    let post = |body: &'static str, ct: &'static str| {
        c.post(app.url("/api/v1/departments"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    check(StatusCode::BAD_REQUEST, "invalid_json")(
        json_of(post("{\"code\": ", "application/json").await.unwrap()).await,
    );
    check(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")(
        json_of(
            post("code=x", "application/x-www-form-urlencoded")
                .await
                .unwrap(),
        )
        .await,
    );
    let (status, body) = json_of(
        post(
            "{\"code\": \"A1\", \"kind\": \"department\"}",
            "application/json",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
    );
    let (status, body) = json_of(
        post(
            "{\"code\": \"A1\", \"name\": \"x\", \"kind\": 7}",
            "application/json",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind"))
    );
    let (status, body) = json_of(
        post(
            "{\"code\": \"A1\", \"name\": \"x\", \"kind\": \"club\"}",
            "application/json",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind"))
    );
    let big = format!(
        "{{\"code\": \"A1\", \"name\": \"{}\", \"kind\": \"department\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let r = c
        .post(app.url("/api/v1/departments"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    check(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")(json_of(r).await);
    // Nothing was half-written.
    let (_, depts) = json_of(c.get(app.url("/api/v1/departments")).send().await.unwrap()).await;
    assert!(!depts.as_array().unwrap().iter().any(|d| d["code"] == "A1"));
}
