use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

crate::engines!(
    taxonomy_is_built_in_and_extensible,
    rules_round_trip_through_spreadsheets,
    bad_rules_files_list_every_row,
    responsibility_matrix_suggests_and_reports,
    calendar_is_editable_and_drives_deadlines,
    draft_conditions_are_edited_one_at_a_time,
);

async fn taxonomy_is_built_in_and_extensible(app: &TestApp) {
    let h = app.login("handler1").await;
    let (status, all) = json_of(h.get(app.url("/api/v1/classes")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all.as_array().unwrap().len(), 85 + 55);
    let (_, events) = json_of(
        h.get(app.url("/api/v1/classes?kind=event"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(events.as_array().unwrap().len(), 55);
    let parking = events
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == "E0505")
        .unwrap();
    assert_eq!(
        (parking["name"].as_str(), parking["name_en"].as_str()),
        (Some("机动车乱停放"), Some("Illegal car parking"))
    );
    assert_eq!(parking["confidence"], "verified");
    let r = h
        .post(app.url("/api/v1/classes"))
        .json(&json!({"class": "C2101", "major_name": "城市家具", "name": "智能垃圾箱"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let sys = app.login("sysadmin").await;
    let (status, created) = json_of(
        sys.post(app.url("/api/v1/classes"))
            .json(&json!({"class": "C2101", "major_name": "城市家具", "name": "智能垃圾箱", "name_en": "Smart bin"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (created["builtin"].as_bool(), created["confidence"].as_str()),
        (Some(false), Some("local"))
    );
    let (status, _) = json_of(
        sys.post(app.url("/api/v1/classes"))
            .json(&json!({"class": "C2101", "major_name": "城市家具", "name": "again"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = json_of(
        sys.post(app.url("/api/v1/classes"))
            .json(&json!({"class": "C0199", "major_name": "别的名字", "name": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("major_name"))
    );
    let (status, off) = json_of(
        sys.patch(app.url("/api/v1/classes/E0118"))
            .json(&json!({"enabled": false, "version": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, off["enabled"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    let (status, _) = json_of(
        sys.patch(app.url("/api/v1/classes/E0118"))
            .json(&json!({"enabled": true, "version": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, disabled) = json_of(
        h.get(app.url("/api/v1/classes?enabled=false"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(disabled.as_array().unwrap().len(), 1);
}

async fn in_force(app: &TestApp, c: &reqwest::Client, at: &str) -> Value {
    let (status, body) = json_of(
        c.get(app.url(&format!("/api/v1/rule-sets/in-force?at={at}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn limit_of(set: &Value, class: &str) -> String {
    set["content"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == class)
        .map(|c| c["limit"].as_str().unwrap().to_owned())
        .unwrap()
}

async fn rules_round_trip_through_spreadsheets(app: &TestApp) {
    let sys = app.login("sysadmin").await;
    // The demo rules are in force (published a year back).
    let old = in_force(app, &sys, "2026-03-02T01:00:00Z").await;
    assert_eq!(old["status"], "published");
    let old_id = old["id"].as_i64().unwrap();
    let total = old["content"]["conditions"].as_array().unwrap().len();
    assert!(total >= 140, "a condition for every class");
    assert_eq!(limit_of(&old, "E0505"), "2个工作小时");

    // Export as CSV, change one limit in the spreadsheet, import as a new draft.
    let csv = sys
        .get(app.url(&format!("/api/v1/rule-sets/{old_id}/export.csv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with('\u{feff}'), "BOM for Excel");
    assert!(csv.contains("大类代码") && csv.contains("机动车乱停放"));
    let edited: String = csv
        .lines()
        .map(|l| {
            if l.contains(",0505,") {
                l.replace("2个工作小时", "3个工作小时")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (status, draft) = json_of(
        sys.post(app.url("/api/v1/rule-sets/import?file_name=rules-2026.csv&name=2026年修订"))
            .body(edited)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(
        (draft["status"].as_str(), draft["name"].as_str()),
        (Some("draft"), Some("2026年修订"))
    );
    let draft_id = draft["id"].as_i64().unwrap();
    assert_eq!(limit_of(&draft, "E0505"), "3个工作小时");
    assert_eq!(
        draft["content"]["conditions"].as_array().unwrap().len(),
        total
    );

    let (_, check) = json_of(
        sys.get(app.url(&format!("/api/v1/rule-sets/{draft_id}/check")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        check["rules"]["errors"].as_array().unwrap().is_empty(),
        "{check}"
    );
    let changed = check["diff"]["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0][1]
            .as_str()
            .unwrap()
            .contains("2个工作小时 → 3个工作小时")
    );

    // Back-dating is refused once rules have been in force.
    let (status, body) = json_of(
        sys.post(app.url(&format!("/api/v1/rule-sets/{draft_id}/publish")))
            .json(&json!({"effective_from": "2026-01-01", "version": draft["version"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("effective_from"))
    );
    let (status, published) = json_of(
        sys.post(app.url(&format!("/api/v1/rule-sets/{draft_id}/publish")))
            .json(&json!({"effective_from": "2026-03-03", "version": draft["version"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{published}");

    // Cases filed before the new version keep the old limits; later ones get the new.
    assert_eq!(
        in_force(app, &sys, "2026-03-02T09:00:00Z").await["id"],
        old_id
    );
    let new = in_force(app, &sys, "2026-03-03T01:00:00Z").await;
    assert_eq!(
        (new["id"].as_i64(), limit_of(&new, "E0505")),
        (Some(draft_id), "3个工作小时".into())
    );

    // A published version cannot be changed.
    let r = sys
        .post(app.url(&format!(
            "/api/v1/rule-sets/import?file_name=x.csv&draft_id={draft_id}"
        )))
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        sys.delete(app.url(&format!("/api/v1/rule-sets/{old_id}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CONFLICT
    );

    // XLSX round trip: export, re-import into a fresh draft, same conditions.
    let xlsx = sys
        .get(app.url(&format!("/api/v1/rule-sets/{draft_id}/export.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        xlsx.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = xlsx.bytes().await.unwrap();
    let (status, again) = json_of(
        sys.post(app.url("/api/v1/rule-sets/import?file_name=back.xlsx"))
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["content"]["conditions"], new["content"]["conditions"]);
    assert_eq!(again["content"]["process"], new["content"]["process"]);

    // Publishing is audited with the diff.
    let audit = app.login("auditadmin").await;
    let (_, rows) = json_of(
        audit
            .get(app.url("/api/v1/audit?action=rule_set.publish"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let row = &rows.as_array().unwrap()[0];
    assert_eq!(row["object_id"], draft_id.to_string());
    assert_eq!(
        row["detail"]["diff"]["changed"].as_array().unwrap().len(),
        1
    );

    // Reading is open to those who file and dispatch; writing is not.
    let shift = app.login("shiftleader1").await;
    assert_eq!(
        in_force(app, &shift, "2026-03-02T01:00:00Z").await["id"],
        old_id
    );
    let r = shift
        .post(app.url("/api/v1/rule-sets"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

fn condition_of<'a>(set: &'a Value, class: &str, text: &str) -> Option<&'a Value> {
    set["content"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == class && c["condition"] == text)
}

async fn draft_conditions_are_edited_one_at_a_time(app: &TestApp) {
    let sys = app.login("sysadmin").await;
    let (status, draft) = json_of(
        sys.post(app.url("/api/v1/rule-sets"))
            .json(&json!({"name": "逐条修订"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_i64().unwrap();
    let total = draft["content"]["conditions"].as_array().unwrap().len();
    let parking = draft["content"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == "E0505")
        .unwrap()
        .clone();
    let text = parking["condition"].as_str().unwrap().to_owned();
    let url = app.url(&format!("/api/v1/rule-sets/{id}/conditions"));
    let put = |body: Value| {
        let (sys, url) = (sys.clone(), url.clone());
        async move { json_of(sys.put(url).json(&body).send().await.unwrap()).await }
    };

    // Replace by key: a new time limit, in English units, for the same condition.
    let (status, v2) = put(json!({
        "class": "E0505", "condition": text, "limit": "3 working_hours", "closing": "车辆已驶离",
        "department": "HW", "version": draft["version"],
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{v2}");
    assert_eq!(v2["content"]["conditions"].as_array().unwrap().len(), total);
    let changed = condition_of(&v2, "E0505", &text).unwrap();
    assert_eq!(
        (changed["limit"].as_str(), changed["department"].as_str()),
        (Some("3个工作小时"), Some("HW"))
    );

    // The old version is stale now.
    let (status, stale) = put(json!({
        "class": "E0505", "condition": text, "limit": "4小时", "version": draft["version"],
    }))
    .await;
    assert_eq!(
        (status, stale["code"].as_str()),
        (StatusCode::CONFLICT, Some("version_conflict"))
    );

    // Add one for an area class; then change its text, naming the old key.
    let (status, v3) = put(json!({
        "class": "E0505", "condition": "占用盲道停放", "limit": "1个自然小时",
        "area_class": "first", "version": v2["version"],
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{v3}");
    assert_eq!(
        v3["content"]["conditions"].as_array().unwrap().len(),
        total + 1
    );
    let (status, v4) = put(json!({
        "class": "E0505", "condition": "机动车占用盲道停放", "limit": "1个自然小时",
        "area_class": "first", "version": v3["version"],
        "replaces": {"class": "E0505", "condition": "占用 盲道停放", "area_class": "first"},
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{v4}");
    assert!(condition_of(&v4, "E0505", "占用盲道停放").is_none());
    assert_eq!(
        condition_of(&v4, "E0505", "机动车占用盲道停放").unwrap()["area_class"],
        "first"
    );
    assert_eq!(
        v4["content"]["conditions"].as_array().unwrap().len(),
        total + 1
    );

    // Each refusal names the field to correct and stores nothing (the removal below still has the
    // version of v4). E0118 is disabled first.
    let r = sys
        .patch(app.url("/api/v1/classes/E0118"))
        .json(&json!({"enabled": false, "version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for (body, field) in [
        (
            json!({"class": "E0577", "condition": "x", "limit": "1天"}),
            "class",
        ),
        (
            json!({"class": "E0118", "condition": "x", "limit": "1天"}),
            "class",
        ),
        (
            json!({"class": "E0505", "condition": "x", "limit": "soon"}),
            "limit",
        ),
        (
            json!({"class": "E0505", "condition": "x", "limit": "0 working_days"}),
            "limit",
        ),
        (
            json!({"class": "E0505", "condition": "  ", "limit": "1天"}),
            "condition",
        ),
        (
            json!({"class": "E0505", "condition": "x", "limit": "1天", "department": "园林局"}),
            "department",
        ),
        (
            json!({"class": "E0505", "condition": "x", "limit": "1天", "area_class": "三类"}),
            "area_class",
        ),
        // A second condition with the key of the first: the filing desk could not choose.
        (
            json!({"class": "E0505", "condition": "机动车占用盲道停放", "limit": "1天", "area_class": "first",
            "replaces": {"class": "E0505", "condition": text}}),
            "condition",
        ),
        (
            json!({"class": "E0505", "condition": "x", "limit": "1天",
            "replaces": {"class": "E0505", "condition": "没有这一条"}}),
            "replaces",
        ),
    ] {
        let mut body = body;
        body["version"] = v4["version"].clone();
        let (status, err) = put(body.clone()).await;
        assert_eq!(
            (status, err["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{body} → {err}"
        );
    }

    // Remove by key (with its area class); a second removal finds nothing.
    let remove = |body: Value| {
        let (sys, url) = (sys.clone(), url.clone());
        async move { json_of(sys.delete(url).json(&body).send().await.unwrap()).await }
    };
    let (status, v5) = remove(json!({
        "class": "E0505", "condition": "机动车占用盲道停放", "area_class": "first", "version": v4["version"],
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{v5}");
    assert_eq!(v5["content"]["conditions"].as_array().unwrap().len(), total);
    let (status, _) = remove(json!({
        "class": "E0505", "condition": "机动车占用盲道停放", "area_class": "first", "version": v5["version"],
    }))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Readers may not edit.
    let dispatcher = app.login("dispatcher1").await;
    let r = dispatcher
        .put(url.clone())
        .json(
            &json!({"class": "E0505", "condition": text, "limit": "1天", "version": v5["version"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Every edit is audited with its diff.
    let audit = app.login("auditadmin").await;
    let (_, rows) = json_of(
        audit
            .get(app.url("/api/v1/audit?action=rule_set.condition"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let first = rows
        .iter()
        .find(|r| {
            r["detail"]["diff"]["changed"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
        })
        .unwrap();
    assert_eq!(first["object_id"], id.to_string());
    assert!(
        first["detail"]["diff"]["changed"][0][1]
            .as_str()
            .unwrap()
            .contains("→ 3个工作小时"),
        "{first}"
    );
    let (_, removed) = json_of(
        audit
            .get(app.url("/api/v1/audit?action=rule_set.condition_remove"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        removed[0]["detail"]["diff"]["removed"][0],
        "E0505 机动车占用盲道停放 (一类区域)"
    );

    // Published rule sets never change.
    let (status, _) = json_of(
        sys.post(app.url(&format!("/api/v1/rule-sets/{id}/publish")))
            .json(&json!({"effective_from": "2026-03-03", "version": v5["version"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = put(json!({
        "class": "E0505", "condition": text, "limit": "1天", "version": v5["version"].as_i64().unwrap() + 1,
    }))
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) =
        remove(json!({"class": "E0505", "condition": text, "version": v5["version"]})).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn bad_rules_files_list_every_row(app: &TestApp) {
    let sys = app.login("sysadmin").await;
    let (_, before) = json_of(sys.get(app.url("/api/v1/rule-sets")).send().await.unwrap()).await;
    let csv = "类型,大类代码,大类名称,小类代码,小类名称,责任单位,立案条件,处置时限,结案条件,备注\n\
               事件,01,市容环境,0177,不存在,环境卫生管理处,x,2小时,清除,\n\
               事件,01,市容环境,0102,暴露垃圾,环境卫生管理处,垃圾,soon,清除,\n\
               事件,01,市容环境,0102,暴露垃圾,园林局,垃圾2,2小时,清除,\n\
               事件,01,市容环境,0102,暴露垃圾,HW,垃圾3,2小时,清除,\n\
               事件,01,市容环境,0102,暴露垃圾,HW,垃圾 3,4小时,清除,\n\
               事件,05,街面秩序,0505,机动车乱停放,,,2小时,驶离,\n";
    let (status, body) = json_of(
        sys.post(app.url("/api/v1/rule-sets/import?file_name=bad.csv"))
            .body(csv)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rows"))
    );
    let errors: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["source"].as_str().unwrap().to_owned(),
                e["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("bad.csv line 2", "小类代码"),
            ("bad.csv line 3", "处置时限"),
            ("bad.csv line 4", "责任单位"),
            ("bad.csv line 6", "立案条件"),
            ("bad.csv line 7", "立案条件"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    for (bytes, name) in [
        (b"not a zip".to_vec(), "x.xlsx"),
        (b"a,b".to_vec(), "x.pdf"),
    ] {
        let (status, body) = json_of(
            sys.post(app.url(&format!("/api/v1/rule-sets/import?file_name={name}")))
                .body(bytes)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rows"))
        );
    }
    let (_, after) = json_of(sys.get(app.url("/api/v1/rule-sets")).send().await.unwrap()).await;
    assert_eq!(before, after, "nothing stored");
}

async fn responsibility_matrix_suggests_and_reports(app: &TestApp) {
    let d = app.login("dispatcher1").await;
    let suggest = |body: Value| {
        let d = d.clone();
        let url = app.url("/api/v1/dispatch/suggestions");
        async move {
            let (status, v) = json_of(d.post(url).json(&body).send().await.unwrap()).await;
            assert_eq!(status, StatusCode::OK, "{v}");
            v.as_array()
                .unwrap()
                .iter()
                .map(|c| c["department"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // Bicycles in street 002: the street office first (traffic police assisting), then the bureau.
    let bikes =
        suggest(json!({"class": "E0506", "area": "330188002003", "at": "2026-03-02T02:00:00Z"}))
            .await;
    assert_eq!(bikes[..2], ["JD-002", "ZFJ"]);
    // Returned by the street office: the next candidate.
    let next = suggest(json!({"class": "E0506", "area": "330188002003", "exclude": ["JD-002"], "at": "2026-03-02T02:00:00Z"})).await;
    assert_eq!(next[0], "ZFJ");
    // Exposed garbage at 23:00 local time goes to the night cleaning unit.
    let night =
        suggest(json!({"class": "E0102", "area": "330188001001", "at": "2026-03-02T15:00:00Z"}))
            .await;
    assert_eq!(night[0], "HW-CLEAN");
    let day =
        suggest(json!({"class": "E0102", "area": "330188001001", "at": "2026-03-02T03:00:00Z"}))
            .await;
    assert_eq!(day[0], "HW");

    let sys = app.login("sysadmin").await;
    let (_, draft) = json_of(
        sys.post(app.url("/api/v1/rule-sets"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = draft["id"].as_i64().unwrap();
    let (status, body) = json_of(
        sys.put(app.url(&format!("/api/v1/rule-sets/{id}/matrix")))
            .json(&json!({"entries": [{"class": "E0505", "department": ""}], "version": draft["version"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["field"].as_str().unwrap().starts_with("matrix[0]"),
        "{body}"
    );
    let (status, draft) = json_of(
        sys.put(app.url(&format!("/api/v1/rule-sets/{id}/matrix")))
            .json(&json!({"entries": [
                {"class": "E0505", "department": "JJ"},
                {"class": "E0505", "department": "ZFJ"},
                {"class": "E05", "department": "NOBODY"}
            ], "version": draft["version"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    let (_, check) = json_of(
        sys.get(app.url(&format!("/api/v1/rule-sets/{id}/check")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        check["matrix"]["conflicts"].as_array().unwrap().len(),
        1,
        "{}",
        check["matrix"]
    );
    assert_eq!(
        check["matrix"]["unknown_departments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let gaps = check["matrix"]["gaps"].as_array().unwrap();
    assert!(
        gaps.iter().any(|g| g["class"] == "E0102"),
        "garbage has no department any more"
    );
    assert!(!gaps.iter().any(|g| g["class"] == "E0505"));
    // Gaps warn but do not block publishing.
    let (status, published) = json_of(
        sys.post(app.url(&format!("/api/v1/rule-sets/{id}/publish")))
            .json(&json!({"effective_from": "2026-03-10", "version": draft["version"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert!(!published["matrix_gaps"].as_array().unwrap().is_empty());
}

async fn calendar_is_editable_and_drives_deadlines(app: &TestApp) {
    let h = app.login("handler1").await;
    let (status, cal) = json_of(
        h.get(app.url("/api/v1/calendar?year=2026"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (cal["first_year"].as_i64(), cal["last_year"].as_i64()),
        (Some(2018), Some(2026))
    );
    assert!(
        cal["warning"].is_null(),
        "March: no need for next year's schedule yet"
    );
    assert!(
        cal["days"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["date"] == "2026-02-14" && d["kind"] == "workday")
    );
    let due = |start: &'static str, limit: &'static str| {
        let h = h.clone();
        let url = app.url("/api/v1/calendar/due");
        async move {
            let (status, v) = json_of(
                h.post(url)
                    .json(&json!({"start": start, "limit": limit}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{v}");
            v
        }
    };
    // Friday 2026-02-13 16:00 +08: Saturday 02-14 is an adjusted working day, 02-15..23 Spring Festival.
    let v = due("2026-02-13T08:00:00Z", "3个工作日").await;
    assert_eq!(
        (v["due"].as_str(), v["provisional"].as_bool()),
        (Some("2026-02-25T08:00:00Z"), Some(false))
    );
    let v = due("2026-12-31T09:00:00Z", "2个工作小时").await;
    assert_eq!(v["provisional"], true, "2027 has no holiday data yet");
    let r = h
        .put(app.url("/api/v1/calendar/days/2026-03-06"))
        .json(&json!({"kind": "holiday"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let sys = app.login("sysadmin").await;
    // Thursday 03-05 09:00 +1 working day is Friday 03-06, until that becomes a holiday.
    assert_eq!(
        due("2026-03-05T01:00:00Z", "1个工作日").await["due"],
        "2026-03-06T01:00:00Z"
    );
    let r = sys
        .put(app.url("/api/v1/calendar/days/2026-03-06"))
        .json(&json!({"kind": "holiday", "festival": "城市假日"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        due("2026-03-05T01:00:00Z", "1个工作日").await["due"],
        "2026-03-09T01:00:00Z"
    );
    let (status, body) = json_of(
        sys.put(app.url("/api/v1/calendar/days/2026-03-04"))
            .json(&json!({"kind": "workday"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a Wednesday cannot be an adjusted working day: {body}"
    );
    assert_eq!(
        sys.delete(app.url("/api/v1/calendar/days/2026-03-06"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sys.delete(app.url("/api/v1/calendar/days/2026-03-06"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    // Next year's schedule arrives as a CSV.
    let (status, body) = json_of(
        sys.post(app.url("/api/v1/calendar/import"))
            .body("date,kind,festival\n2027-01-01,holiday,New Year's Day\n2027-02-30,holiday,x\n")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["message"].as_str().unwrap().contains("line 3"),
        "{body}"
    );
    let (status, body) = json_of(
        sys.post(app.url("/api/v1/calendar/import"))
            .body("date,kind,festival\n2027-01-01,holiday,New Year's Day\n")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["days"].as_i64()), (StatusCode::OK, Some(1)));
    let (_, cal) = json_of(h.get(app.url("/api/v1/calendar")).send().await.unwrap()).await;
    assert_eq!(cal["last_year"], 2027);
    assert_eq!(
        due("2026-12-31T09:00:00Z", "2个工作小时").await["due"],
        "2027-01-04T01:00:00Z"
    );
}

mod instances {
    use std::sync::Arc;

    use chrono::{NaiveDate, TimeZone, Utc};
    use cityloop_app::{Actor, Ctx, ManualClock};
    use cityloop_domain::calendar::{DayKind, DayRule};
    use cityloop_server::config::Config;
    use cityloop_store_tests::TestDb;

    /// Two servers on one database: a change made through one is picked up by the other.
    async fn follow(db: TestDb) {
        let mut cfg = Config::default();
        cfg.database.url = db.url().to_owned();
        cfg.database.allow_unsafe_durability = true;
        cfg.auth.argon2_memory_kib = 1024;
        cfg.auth.argon2_iterations = 1;
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap(),
        ));
        let a = cityloop_server::open_app(&cfg, clock.clone())
            .await
            .unwrap();
        let b = cityloop_server::open_app(&cfg, clock).await.unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap();
        assert!(b.calendar().is_working_day(day));
        assert!(
            !b.refresh_calendar_if_changed().await.unwrap(),
            "nothing changed yet"
        );
        a.set_calendar_days(
            &Actor::System("test".into()),
            vec![DayRule {
                date: day,
                kind: DayKind::Holiday,
                festival: "城市假日".into(),
            }],
            &Ctx::default(),
        )
        .await
        .unwrap();
        assert!(b.refresh_calendar_if_changed().await.unwrap());
        assert!(!b.calendar().is_working_day(day));

        a.seed_demo().await.unwrap();
        let mut spec = cityloop_synth::CitySpec::county_town();
        spec.grids_target = 200;
        spec.components.multiplier = 0.05;
        a.seed_demo_city(&spec).await.unwrap();
        assert!(b.spatial().grids.is_empty());
        assert!(b.refresh_spatial_if_changed().await.unwrap());
        assert_eq!(b.spatial().grids.len(), a.spatial().grids.len());
        a.store().close().await;
        b.store().close().await;
        db.cleanup().await;
    }

    #[tokio::test]
    async fn sqlite_instances_follow_each_other() {
        follow(TestDb::sqlite()).await;
    }

    #[tokio::test]
    async fn postgres_instances_follow_each_other() {
        if let Some(db) = TestDb::postgres().await {
            follow(db).await;
        }
    }
}
