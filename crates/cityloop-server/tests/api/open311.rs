//! Open311 GeoReport v2 conformance over HTTP on both engines: every method in XML and JSON,
//! the spec's error bodies and statuses, the de-facto extensions, and privacy of reads.

use cityloop_app::public::PartnerKeyInput;
use cityloop_app::{Actor, Ctx};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::cases::{a_condition, point_in_street, street_of};
use crate::helpers::TestApp;

pub(crate) async fn partner_key(
    app: &TestApp,
    scopes: &[&str],
    webhook: Option<String>,
) -> (i64, String) {
    let k = app
        .app
        .create_partner_key(
            &Actor::System("test".into()),
            PartnerKeyInput {
                name: "test partner".into(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                rate_per_hour: 1000,
                webhook_url: webhook,
            },
            &Ctx::default(),
        )
        .await
        .unwrap();
    (k.partner.id, k.key)
}

async fn text_of(r: Response) -> (StatusCode, String, String) {
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

async fn get_xml(app: &TestApp, path: &str) -> (StatusCode, String) {
    let (s, ct, body) = text_of(Client::new().get(app.url(path)).send().await.unwrap()).await;
    assert_eq!(ct, "text/xml; charset=utf-8", "{path}: {body}");
    assert!(
        body.starts_with(r#"<?xml version="1.0" encoding="utf-8"?>"#),
        "{body}"
    );
    (s, body)
}

async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let (s, ct, body) = text_of(Client::new().get(app.url(path)).send().await.unwrap()).await;
    assert_eq!(ct, "application/json; charset=utf-8", "{path}: {body}");
    (s, serde_json::from_str(&body).unwrap())
}

fn form_body(form: &[(&str, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        s.append_pair(k, v);
    }
    s.finish()
}

fn form_request(app: &TestApp, path: &str, form: &[(&str, String)]) -> reqwest::RequestBuilder {
    Client::new()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(form))
}

async fn post_form(
    app: &TestApp,
    path: &str,
    form: &[(&str, String)],
) -> (StatusCode, String, String) {
    text_of(form_request(app, path, form).send().await.unwrap()).await
}

/// The JSON error array with one error of this code.
fn assert_json_error(v: &Value, code: &str) {
    let arr = v
        .as_array()
        .unwrap_or_else(|| panic!("errors are an array: {v}"));
    assert_eq!(arr.len(), 1, "{v}");
    assert_eq!(arr[0]["code"], code, "{v}");
    assert!(
        arr[0]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{v}"
    );
}

fn assert_xml_error(body: &str, code: &str) {
    assert!(
        body.contains(&format!("<errors><error><code>{code}</code><description>")),
        "{body}"
    );
}

/// A point the city can locate, and an event and a component service the rules can file.
async fn place_and_services(app: &TestApp) -> (f64, f64, String, String) {
    let street = street_of(app, "inspector1").await;
    let (lon, lat, _) = point_in_street(app, &street, 1).await;
    let (event, _) = a_condition(app).await;
    let (_, services) = get_json(app, "/open311/v2/services.json").await;
    let component = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metadata"] == true)
        .map(|s| s["service_code"].as_str().unwrap().to_owned())
        .expect("a component service");
    (lon, lat, event, component)
}

async fn discovery_in_both_formats(app: &TestApp) {
    let (s, x) = get_xml(app, "/open311/v2/discovery.xml").await;
    assert_eq!(s, StatusCode::OK);
    for tag in [
        "<discovery><changeset>",
        "<contact>",
        "<key_service>",
        "<endpoints><endpoint><specification>http://wiki.open311.org/GeoReport_v2</specification><url>",
        "/open311/v2</url>",
        "<type>production</type>",
        "<formats><format>text/xml</format><format>application/json</format></formats>",
    ] {
        assert!(x.contains(tag), "{tag} in {x}");
    }
    let (s, j) = get_json(app, "/open311/v2/discovery.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(j.is_object(), "{j}");
    assert_eq!(
        j["endpoints"][0]["formats"],
        json!(["text/xml", "application/json"])
    );
    assert_eq!(j["changeset"], j["endpoints"][0]["changeset"]);
    // Other formats are not resources.
    let (s, x) = get_xml(app, "/open311/v2/discovery.rss").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_xml_error(&x, "404");
}

async fn services_and_definitions(app: &TestApp) {
    let (_, _, event, component) = place_and_services(app).await;
    let (s, list) = get_json(app, "/open311/v2/services.json").await;
    assert_eq!(s, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert!(list.len() > 5);
    for svc in list {
        assert!(svc["service_code"].is_string(), "codes are strings: {svc}");
        for f in ["service_name", "description", "keywords", "group", "type"] {
            assert!(svc[f].as_str().is_some_and(|v| !v.is_empty()), "{f}: {svc}");
        }
        assert!(svc["metadata"].is_boolean());
        assert_eq!(svc["type"], "realtime");
    }
    assert!(list.iter().any(|s| s["service_code"] == event));
    let (_, x) = get_xml(app, "/open311/v2/services.xml").await;
    assert!(x.contains("<services><service><service_code>"), "{x}");
    assert!(x.contains(&format!("<service_code>{event}</service_code>")));
    assert!(x.contains("<metadata>true</metadata>") && x.contains("<metadata>false</metadata>"));

    // Definitions, under both the plural path and the singular alias.
    let (s, d) = get_json(app, &format!("/open311/v2/services/{component}.json")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(d.is_object(), "a definition is an object: {d}");
    assert_eq!(d["service_code"], component);
    let attr = &d["attributes"][0];
    assert_eq!(attr["code"], "component_id");
    assert_eq!(attr["datatype"], "string");
    assert_eq!(attr["variable"], true);
    assert_eq!(attr["required"], false);
    assert_eq!(attr["order"], 1);
    let (s, x) = get_xml(app, &format!("/open311/v2/service/{component}.xml")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        x.contains(&format!("<service_definition><service_code>{component}</service_code><attributes><attribute><variable>true</variable><code>component_id</code>")),
        "{x}"
    );
    let (_, d) = get_json(app, &format!("/open311/v2/service/{event}.json")).await;
    assert_eq!(d["attributes"], json!([]));

    // Unknown service, unknown and known jurisdiction.
    let (s, e) = get_json(app, "/open311/v2/services/X9999.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_json_error(&e, "404");
    let (s, x) = get_xml(app, "/open311/v2/services/X9999.xml").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_xml_error(&x, "404");
    let (s, e) = get_json(app, "/open311/v2/services.json?jurisdiction_id=sfgov.org").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_json_error(&e, "404");
    let (s, _) = get_json(
        app,
        "/open311/v2/services.json?jurisdiction_id=cityloop.local",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = get_json(app, "/open311/v2/services.json?jurisdiction_id=").await;
    assert_eq!(s, StatusCode::OK, "empty is absent");
}

async fn post_errors(app: &TestApp) {
    let (lon, lat, event, _) = place_and_services(app).await;
    let (_, key) = partner_key(app, &["open311"], None).await;
    let (_, hotline_only) = partner_key(app, &["hotline"], None).await;
    let good = |key: &str| {
        vec![
            ("api_key", key.to_owned()),
            ("service_code", event.clone()),
            ("lat", lat.to_string()),
            ("long", lon.to_string()),
            ("description", "路边有垃圾".to_owned()),
        ]
    };
    let without = |key: &str, drop: &str| {
        good(key)
            .into_iter()
            .filter(|(k, _)| *k != drop)
            .collect::<Vec<_>>()
    };
    // 403: no key, a wrong key, a key without the scope.
    let (s, ct, body) = post_form(app, "/open311/v2/requests.xml", &without(&key, "api_key")).await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::FORBIDDEN, "text/xml; charset=utf-8")
    );
    assert_xml_error(&body, "403");
    let (s, _, body) = post_form(app, "/open311/v2/requests.json", &good("cl311_wrong")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_json_error(&serde_json::from_str(&body).unwrap(), "403");
    let (s, _, _) = post_form(app, "/open311/v2/requests.json", &good(&hotline_only)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // 400: no service code, no location, half a location, bad numbers.
    let (s, _, body) = post_form(
        app,
        "/open311/v2/requests.json",
        &without(&key, "service_code"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_json_error(&serde_json::from_str(&body).unwrap(), "service_code");
    let no_place: Vec<_> = without(&key, "lat")
        .into_iter()
        .filter(|(k, _)| *k != "long")
        .collect();
    let (s, _, body) = post_form(app, "/open311/v2/requests.xml", &no_place).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_xml_error(&body, "location");
    let (s, _, _) = post_form(app, "/open311/v2/requests.json", &without(&key, "long")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let mut bad = good(&key);
    bad[2].1 = "north".into();
    let (s, _, _) = post_form(app, "/open311/v2/requests.json", &bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // 404: unknown service code.
    let mut unknown = good(&key);
    unknown[1].1 = "E9901".into();
    let (s, _, body) = post_form(app, "/open311/v2/requests.json", &unknown).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert_json_error(&serde_json::from_str(&body).unwrap(), "404");
    // 400: a point outside the city.
    let mut far = good(&key);
    far[2].1 = "10.0".into();
    let (s, _, body) = post_form(app, "/open311/v2/requests.json", &far).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    // 404: another jurisdiction.
    let mut other = good(&key);
    other.push(("jurisdiction_id", "sfgov.org".into()));
    let (s, _, _) = post_form(app, "/open311/v2/requests.json", &other).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A revoked key stops at once.
    let (id, doomed) = partner_key(app, &["open311"], None).await;
    let (s, _, _) = post_form(app, "/open311/v2/requests.json", &good(&doomed)).await;
    assert_eq!(s, StatusCode::OK);
    app.app
        .revoke_partner_key(&Actor::System("test".into()), id, &Ctx::default())
        .await
        .unwrap();
    let (s, _, _) = post_form(app, "/open311/v2/requests.json", &good(&doomed)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn post_and_read_back(app: &TestApp) {
    let (lon, lat, event, component) = place_and_services(app).await;
    let (_, key) = partner_key(app, &["open311"], None).await;
    let phone = "13912345678";
    let form = vec![
        ("api_key", key.clone()),
        ("jurisdiction_id", "cityloop.local".to_owned()),
        ("service_code", event.clone()),
        ("lat", lat.to_string()),
        ("long", lon.to_string()),
        ("address_string", "江滨路 12 号".to_owned()),
        ("email", "someone@example.invalid".to_owned()),
        ("first_name", "三".to_owned()),
        ("last_name", "张".to_owned()),
        ("phone", phone.to_owned()),
        ("account_id", "acc-7".to_owned()),
        ("description", "人行道上有大量建筑垃圾".to_owned()),
        ("media_url", "http://example.invalid/p.jpg".to_owned()),
    ];
    let (s, ct, body) = post_form(app, "/open311/v2/requests.json", &form).await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::OK, "application/json; charset=utf-8"),
        "{body}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    let id = v[0]["service_request_id"].as_str().unwrap().to_owned();
    assert!(
        v[0].get("token").is_none(),
        "no token when the id is returned: {v}"
    );
    assert_eq!(v[0]["account_id"], "acc-7");
    // The same post again is the same request (a client retry).
    let (_, _, again) = post_form(app, "/open311/v2/requests.json", &form).await;
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again[0]["service_request_id"], id.as_str());

    // XML POST with a component attribute.
    let (s, _, x) = post_form(
        app,
        "/open311/v2/requests.xml",
        &[
            ("api_key", key.clone()),
            ("service_code", component.clone()),
            ("lat", lat.to_string()),
            ("long", lon.to_string()),
            ("attribute[component_id]", "330188001001C0001".to_owned()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{x}");
    assert!(
        x.contains("<service_requests><request><service_request_id>"),
        "{x}"
    );

    // The `open311` 1.1 client puts the key and jurisdiction in the query string of its POST.
    let (s, _, x) = post_form(
        app,
        &format!("/open311/v2/requests.xml?jurisdiction_id=&api_key={key}"),
        &[
            ("service_code", event.clone()),
            ("lat", lat.to_string()),
            ("long", lon.to_string()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{x}");

    // Read back: one request, as an array, in both formats.
    let (s, r) = get_json(app, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(s, StatusCode::OK);
    let r = r.as_array().unwrap();
    assert_eq!(r.len(), 1);
    let r = &r[0];
    assert_eq!(r["service_request_id"], id.as_str());
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], event.as_str());
    assert!(r["service_name"].is_string());
    assert_eq!(r["description"], "人行道上有大量建筑垃圾");
    assert_eq!(r["address"], "江滨路 12 号");
    assert!((r["lat"].as_f64().unwrap() - lat).abs() < 1e-6, "{r}");
    assert!((r["long"].as_f64().unwrap() - lon).abs() < 1e-6);
    assert_eq!(r["media_url"], "http://example.invalid/p.jpg");
    let requested = r["requested_datetime"].as_str().unwrap();
    assert!(
        cityloop_open311::time::parse(requested).is_some(),
        "{requested}"
    );
    assert!(requested.ends_with("+08:00"));
    assert!(r["expected_datetime"].is_string(), "SLA due time: {r}");
    assert!(r["notes"].as_array().is_some_and(|n| !n.is_empty()), "{r}");
    let (_, x) = get_xml(app, &format!("/open311/v2/requests/{id}.xml")).await;
    assert!(
        x.contains(&format!("<service_requests><request><service_request_id>{id}</service_request_id><status>open</status>")),
        "{x}"
    );

    // No personal data in any read.
    for path in [
        format!("/open311/v2/requests/{id}.json"),
        format!("/open311/v2/requests/{id}.xml"),
        "/open311/v2/requests.json?extensions=true".to_owned(),
        "/open311/v2/requests.xml".to_owned(),
        format!("/api/v1/public/cases/{id}"),
    ] {
        let body = Client::new()
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for secret in [phone, "someone@example", "三 张", "acc-7"] {
            assert!(!body.contains(secret), "{secret} in {path}: {body}");
        }
    }
    // Staff see the phone masked.
    let acceptor = app.login("acceptor1").await;
    let staff: Value = acceptor
        .get(app.url(&format!("/api/v1/cases/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(staff["intake"]["contact_phone"], "139****5678");

    // Unknown ids.
    let (s, e) = get_json(app, "/open311/v2/requests/20990101-000000-00001.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_json_error(&e, "404");
    let (s, x) = get_xml(app, "/open311/v2/requests/nope.xml").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_xml_error(&x, "404");
}

async fn list_filters_and_errors(app: &TestApp) {
    let (lon, lat, event, component) = place_and_services(app).await;
    let (_, key) = partner_key(app, &["open311"], None).await;
    let mut ids = Vec::new();
    for (i, code) in [&event, &event, &component].iter().enumerate() {
        let (_, _, body) = post_form(
            app,
            "/open311/v2/requests.json",
            &[
                ("api_key", key.clone()),
                ("service_code", (*code).clone()),
                ("lat", lat.to_string()),
                ("long", lon.to_string()),
                ("description", format!("第{i}个问题")),
            ],
        )
        .await;
        let v: Value = serde_json::from_str(&body).unwrap();
        ids.push(v[0]["service_request_id"].as_str().unwrap().to_owned());
    }
    let listed = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (s, all) = get_json(app, "/open311/v2/requests.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(listed(&all).len(), 3, "{all}");
    assert!(all[0].get("notes").is_none(), "notes only with extensions");
    let (_, by_code) = get_json(
        app,
        &format!("/open311/v2/requests.json?service_code={component}"),
    )
    .await;
    assert_eq!(listed(&by_code), vec![ids[2].clone()]);
    let (_, by_id) = get_json(
        app,
        &format!(
            "/open311/v2/requests.json?service_request_id={},{}&service_code=E0000&status=closed",
            ids[0], ids[2]
        ),
    )
    .await;
    let mut got = listed(&by_id);
    got.sort();
    assert_eq!(
        got,
        vec![ids[0].clone(), ids[2].clone()],
        "ids override the rest"
    );
    let (_, closed) = get_json(app, "/open311/v2/requests.json?status=closed").await;
    assert_eq!(listed(&closed).len(), 0);
    let (_, open) = get_json(app, "/open311/v2/requests.json?status=open").await;
    assert_eq!(listed(&open).len(), 3);
    let (_, page) = get_json(app, "/open311/v2/requests.json?page_size=2&page=2").await;
    assert_eq!(listed(&page).len(), 1);
    let (_, future) = get_json(
        app,
        "/open311/v2/requests.json?start_date=2099-01-01T00:00:00Z&end_date=2099-02-01T00:00:00Z",
    )
    .await;
    assert_eq!(listed(&future).len(), 0);
    let (_, later) = get_json(
        app,
        "/open311/v2/requests.json?updated_after=2099-01-01T00:00:00%2B08:00",
    )
    .await;
    assert_eq!(listed(&later).len(), 0);
    let (_, ext) = get_json(app, "/open311/v2/requests.json?extensions=true").await;
    let first = &ext[0];
    assert_eq!(first["extended_attributes"]["channel"], "public");
    assert_eq!(first["extended_attributes"]["status"], "INVESTIGATING");
    assert!(first["notes"][0]["datetime"].is_string(), "{first}");
    let (_, x) = get_xml(app, "/open311/v2/requests.xml?extensions=true&page_size=1").await;
    assert!(x.contains("<notes><note><datetime>"), "{x}");
    assert!(
        x.contains("<extended_attributes><channel>public</channel>"),
        "{x}"
    );

    for (q, code) in [
        (
            "start_date=2020-01-01T00:00:00Z&end_date=2020-06-01T00:00:00Z",
            "start_date",
        ),
        ("start_date=yesterday", "start_date"),
        (
            "end_date=2020-01-01T00:00:00Z&start_date=2020-02-01T00:00:00Z",
            "end_date",
        ),
        ("status=pending", "status"),
        ("page=0", "page"),
        ("page_size=5000", "page_size"),
        ("updated_before=soon", "updated_before"),
    ] {
        let (s, e) = get_json(app, &format!("/open311/v2/requests.json?{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        assert_json_error(&e, code);
        let (s, x) = get_xml(app, &format!("/open311/v2/requests.xml?{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        assert_xml_error(&x, code);
    }
}

async fn updates_get_and_post(app: &TestApp) {
    let (lon, lat, event, _) = place_and_services(app).await;
    let (_, key) = partner_key(app, &["open311"], None).await;
    let (_, _, body) = post_form(
        app,
        "/open311/v2/requests.json",
        &[
            ("api_key", key.clone()),
            ("service_code", event.clone()),
            ("lat", lat.to_string()),
            ("long", lon.to_string()),
        ],
    )
    .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let id = v[0]["service_request_id"].as_str().unwrap().to_owned();
    let update = |uid: &str| {
        vec![
            ("api_key", key.clone()),
            ("service_request_id", id.clone()),
            ("update_id", uid.to_owned()),
            ("status", "OPEN".to_owned()),
            ("description", "still there this morning".to_owned()),
            ("updated_datetime", "2026-03-02T09:30:00+08:00".to_owned()),
        ]
    };
    let (s, _, body) = post_form(
        app,
        "/open311/v2/servicerequestupdates.json",
        &update("fms-1"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let first: Value = serde_json::from_str(&body).unwrap();
    let (_, _, body) = post_form(
        app,
        "/open311/v2/servicerequestupdates.json",
        &update("fms-1"),
    )
    .await;
    let again: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(first[0]["update_id"], again[0]["update_id"]);
    let (s, _, x) = post_form(
        app,
        "/open311/v2/servicerequestupdates.xml",
        &update("fms-2"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        x.contains("<service_request_updates><request_update><update_id>"),
        "{x}"
    );
    let mut bad = update("fms-3");
    bad[3].1 = "MAYBE".into();
    let (s, _, _) = post_form(app, "/open311/v2/servicerequestupdates.json", &bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let mut nokey = update("fms-4");
    nokey.remove(0);
    let (s, _, _) = post_form(app, "/open311/v2/servicerequestupdates.json", &nokey).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut unknown = update("fms-5");
    unknown[1].1 = "nope".into();
    let (s, _, _) = post_form(app, "/open311/v2/servicerequestupdates.json", &unknown).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, list) = get_json(
        app,
        "/open311/v2/servicerequestupdates.json?start_date=2026-03-01T00:00:00Z&end_date=2026-03-03T00:00:00Z",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert!(
        list.iter()
            .any(|u| u["service_request_id"] == id.as_str() && u["status"] == "INVESTIGATING"),
        "{list:?}"
    );
    assert_eq!(
        list.iter()
            .filter(|u| u["description"] == "still there this morning")
            .count(),
        2
    );
    let (_, x) = get_xml(app, "/open311/v2/servicerequestupdates.xml").await;
    assert!(
        x.contains("<service_request_updates><request_update>"),
        "{x}"
    );
}

async fn media_upload_and_partner_rate(app: &TestApp) {
    let (lon, lat, event, _) = place_and_services(app).await;
    let (_, key) = partner_key(app, &["open311"], None).await;
    let photo = crate::public::jpeg_with_gps();
    let (ct, body) = crate::helpers::multipart(
        &[
            ("api_key", key.clone()),
            ("service_code", event.clone()),
            ("lat", lat.to_string()),
            ("long", lon.to_string()),
            ("description", "附照片".to_owned()),
        ],
        &[("media", "p0.jpg", "image/jpeg", &photo)],
    );
    let (s, _, text) = text_of(
        Client::new()
            .post(app.url("/open311/v2/requests.json"))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let id = v[0]["service_request_id"].as_str().unwrap().to_owned();
    let (_, r) = get_json(app, &format!("/open311/v2/requests/{id}.json")).await;
    let url = r[0]["media_url"].as_str().unwrap().to_owned();
    assert!(url.contains(&format!("/open311/v2/media/{id}/")), "{url}");
    assert_eq!(
        r[0]["extended_attributes"]["photos"][0]["media_url"],
        url.as_str()
    );
    let copy = Client::new().get(&url).send().await.unwrap();
    assert_eq!(copy.status(), StatusCode::OK);
    assert_eq!(copy.headers()["content-type"], "image/jpeg");
    let copy = copy.bytes().await.unwrap();
    assert!(
        cityloop_evidence::exif_info(&copy)
            .and_then(|e| e.gps)
            .is_none()
    );

    // A partner's hourly rate: beyond it, 429 with Retry-After in the Open311 error shape.
    let slow = app
        .app
        .create_partner_key(
            &Actor::System("test".into()),
            PartnerKeyInput {
                name: "slow".into(),
                scopes: vec!["open311".into()],
                rate_per_hour: 2,
                webhook_url: None,
            },
            &Ctx::default(),
        )
        .await
        .unwrap()
        .key;
    let form = |n: usize| {
        vec![
            ("api_key", slow.clone()),
            ("service_code", event.clone()),
            ("lat", lat.to_string()),
            ("long", lon.to_string()),
            ("description", format!("第{n}次")),
        ]
    };
    for n in 0..2 {
        let (s, _, _) = post_form(app, "/open311/v2/requests.xml", &form(n)).await;
        assert_eq!(s, StatusCode::OK);
    }
    let r = form_request(app, "/open311/v2/requests.xml", &form(2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_xml_error(&r.text().await.unwrap(), "429");
}

crate::engines_with_city!(
    media_upload_and_partner_rate,
    discovery_in_both_formats,
    services_and_definitions,
    post_errors,
    post_and_read_back,
    list_filters_and_errors,
    updates_get_and_post,
);

/// A deployment that takes keyless Open311 posts holds them for moderation: the client gets a
/// token, then the id once an acceptor approves.
async fn keyless_posts_are_held_with_a_token(app: &TestApp) {
    let (lon, lat, event, _) = place_and_services(app).await;
    let (s, _, body) = post_form(
        app,
        "/open311/v2/requests.json",
        &[
            ("service_code", event.clone()),
            ("lat", lat.to_string()),
            ("long", lon.to_string()),
            ("description", "无密钥上报".to_owned()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v[0].get("service_request_id").is_none(), "{v}");
    let token = v[0]["token"].as_str().unwrap().to_owned();
    let (_, t) = get_json(app, &format!("/open311/v2/tokens/{token}.json")).await;
    assert!(t[0]["service_request_id"].is_null());
    // A wrong key is still refused.
    let (s, _, _) = post_form(
        app,
        "/open311/v2/requests.json",
        &[
            ("api_key", "cl311_wrong".to_owned()),
            ("service_code", event.clone()),
            ("lat", lat.to_string()),
            ("long", lon.to_string()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let acceptor = app.login("acceptor1").await;
    let queue: Value = acceptor
        .get(app.url("/api/v1/moderation"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(queue[0]["reason"], "keyless_open311");
    let id = queue[0]["id"].as_i64().unwrap();
    let d: Value = acceptor
        .post(app.url(&format!("/api/v1/moderation/{id}/decision")))
        .json(&json!({"decision": "approve"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, t) = get_json(app, &format!("/open311/v2/tokens/{token}.json")).await;
    assert_eq!(t[0]["service_request_id"], d["case_id"]);
    let (s, r) = get_json(
        app,
        &format!(
            "/open311/v2/requests/{}.json",
            d["case_id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r[0]["description"], "无密钥上报");
}

mod keyless {
    use cityloop_store_tests::TestDb;

    use crate::helpers::TestApp;

    fn tune(cfg: &mut cityloop_server::config::Config) {
        cfg.public.open311_keyless = true;
    }

    #[tokio::test]
    async fn sqlite() {
        let app = TestApp::start_with_city_tuned(TestDb::sqlite(), tune).await;
        super::keyless_posts_are_held_with_a_token(&app).await;
        app.stop().await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        let app = TestApp::start_with_city_tuned(db, tune).await;
        super::keyless_posts_are_held_with_a_token(&app).await;
        app.stop().await;
    }
}
