//! Layer import over HTTP (`POST /api/v1/import/{kind}`): dry runs, all or nothing, rejects,
//! permissions and the size limit.

use cityloop_app::{Actor, Ctx};
use geo::Centroid;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, multipart};

crate::engines_with_city!(layers_import_over_http);

/// Posts `file` (named `file_name`) with the form `fields` as `kind`.
async fn post_layer(
    app: &TestApp,
    c: &Client,
    kind: &str,
    file_name: &str,
    file: &[u8],
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let fields: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    let (ct, body) = multipart(
        &fields,
        &[("file", file_name, "application/octet-stream", file)],
    );
    json_of(
        c.post(app.url(&format!("/api/v1/import/{kind}")))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn collection(features: Vec<Value>) -> Vec<u8> {
    json!({"type": "FeatureCollection", "features": features})
        .to_string()
        .into_bytes()
}

fn lamp(id: &str, lon: f64, lat: f64) -> Value {
    json!({"type": "Feature", "properties": {"ObjID": id, "ObjState": "完好"},
           "geometry": {"type": "Point", "coordinates": [lon, lat]}})
}

async fn component_status(app: &TestApp, c: &Client, id: &str) -> StatusCode {
    c.get(app.url(&format!("/api/v1/components/{id}")))
        .send()
        .await
        .unwrap()
        .status()
}

async fn layers_import_over_http(app: &TestApp) {
    let actor = Actor::System("test".into());
    let grids = app
        .app
        .grids_in(&actor, None, &Ctx::default())
        .await
        .unwrap();
    let centre = cityloop_app::spatial::polygon_of(&grids[7].geometry)
        .unwrap()
        .centroid()
        .unwrap();
    let (lon, lat) = (centre.x(), centre.y());
    let sys = app.login("sysadmin").await;
    let good = collection(vec![
        lamp("3301880118900001", lon, lat),
        lamp("3301880118900002", lon + 0.0001, lat),
    ]);

    // A dry run reports what would happen and writes nothing.
    let (status, report) = post_layer(
        app,
        &sys,
        "components",
        "路灯.geojson",
        &good,
        &[("dry_run", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (&report["dry_run"], &report["read"], &report["imported"]),
        (&json!(true), &json!(2), &json!(2)),
        "{report}"
    );
    assert_eq!(report["file"], "路灯.geojson");
    assert_eq!(
        component_status(app, &sys, "3301880118900001").await,
        StatusCode::NOT_FOUND,
        "a dry run stores nothing"
    );

    // The real import stores them, and geocoding finds them at once.
    let (status, report) = post_layer(app, &sys, "components", "路灯.geojson", &good, &[]).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (&report["dry_run"], &report["imported"], &report["replaced"]),
        (&json!(false), &json!(2), &json!(0))
    );
    assert_eq!(
        component_status(app, &sys, "3301880118900001").await,
        StatusCode::OK
    );
    let (_, loc) = json_of(
        sys.post(app.url("/api/v1/geocode"))
            .json(&json!({"lon": lon, "lat": lat, "k": 1, "classes": ["0118"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(loc["components"][0]["id"], "3301880118900001", "{loc}");
    // Importing the same file again changes nothing.
    let (_, again) = post_layer(app, &sys, "components", "路灯.geojson", &good, &[]).await;
    assert_eq!(
        (&again["imported"], &again["unchanged"]),
        (&json!(0), &json!(2))
    );

    // The audit log names the file and the counts.
    let audit = app.login("auditadmin").await;
    let (_, entries) = json_of(
        audit
            .get(app.url("/api/v1/audit?action=import.components"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let detail = &entries[0]["detail"];
    assert_eq!(
        (&detail["source"], &detail["read"], &detail["unchanged"]),
        (&json!("路灯.geojson"), &json!(2), &json!(2)),
        "{entries}"
    );

    // A bad record refuses the whole file, naming the record; nothing of it is kept.
    let bad = collection(vec![
        lamp("3301880118900003", lon, lat),
        lamp("3301880999000001", lon, lat),
    ]);
    let (status, e) = post_layer(app, &sys, "components", "bad.geojson", &bad, &[]).await;
    assert_eq!(
        (status, e["code"].as_str(), e["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("validation_failed"),
            Some("file")
        ),
        "{e}"
    );
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("bad.geojson: record 1") && message.contains("0999"),
        "{message}"
    );
    assert_eq!(
        component_status(app, &sys, "3301880118900003").await,
        StatusCode::NOT_FOUND
    );
    // With skip_invalid the good record goes in and the bad one is listed.
    let (status, report) = post_layer(
        app,
        &sys,
        "components",
        "bad.geojson",
        &bad,
        &[("skip_invalid", "on")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["imported"], 1);
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{report}");
    assert_eq!(rejected[0]["index"], 1);
    assert!(
        rejected[0]["reason"].as_str().unwrap().contains("0999"),
        "{report}"
    );

    // Grids from CSV with a field map: the grid is renamed in place.
    let wkt = {
        let p = cityloop_app::spatial::polygon_of(&grids[3].geometry).unwrap();
        cityloop_io::to_wkt(&p.into())
    };
    // A repeated column is renamed by the reader, and the report says so.
    let csv = format!(
        "BGID,BGNAME,wkt,remark,remark\n{},河滨网格,\"{wkt}\",,\n",
        grids[3].code
    );
    let (status, report) = post_layer(
        app,
        &sys,
        "grids",
        "grids.csv",
        csv.as_bytes(),
        &[("map", "code=BGID,name=BGNAME"), ("crs", "wgs84")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (&report["imported"], &report["replaced"]),
        (&json!(1), &json!(1))
    );
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("duplicate column \"remark\"")),
        "{report}"
    );
    let (_, g) = json_of(
        sys.get(app.url(&format!("/api/v1/grids/{}", grids[3].code)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(g["name"], "河滨网格", "{g}");

    // Mistakes in the request name the field.
    for (kind, name, fields, field) in [
        ("lamps", "a.geojson", vec![], "kind"),
        ("components", "a.kml", vec![], "file"),
        ("components", "a.geojson", vec![("crs", "EPSG:9999")], "crs"),
        ("components", "a.geojson", vec![("map", "nonsense")], "map"),
        (
            "components",
            "a.geojson",
            vec![("dry_run", "maybe")],
            "dry_run",
        ),
        ("components", "a.geojson", vec![("colour", "red")], "colour"),
    ] {
        let (status, e) = post_layer(app, &sys, kind, name, &good, &fields).await;
        assert_eq!(
            (status, e["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{kind} {name} {fields:?}: {e}"
        );
    }
    let (status, e) = post_layer(app, &sys, "components", "a.geojson", b"{\"type\": ", &[]).await;
    assert_eq!(
        (status, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("file")),
        "{e}"
    );

    // Only the holders of the base-data write permission may import, and they are refused
    // before anything is read.
    let handler = app.login("handler1").await;
    let (status, e) = post_layer(app, &handler, "components", "路灯.geojson", &good, &[]).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
}

/// A file over `server.import_max_bytes` is refused with 413 and nothing is stored.
mod limits {
    use reqwest::StatusCode;

    use super::{collection, component_status, lamp, post_layer};
    use crate::helpers::TestApp;

    async fn oversize_files_are_refused(app: &TestApp) {
        let sys = app.login("sysadmin").await;
        let features = (0..40)
            .map(|i| lamp(&format!("3301880118{:06}", 900_100 + i), 120.1, 30.2))
            .collect();
        let file = collection(features);
        assert!(file.len() > 4096);
        let (status, e) = post_layer(app, &sys, "components", "big.geojson", &file, &[]).await;
        assert_eq!(
            (status, e["code"].as_str(), e["field"].as_str()),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                Some("payload_too_large"),
                Some("file")
            ),
            "{e}"
        );
        assert_eq!(
            component_status(app, &sys, "3301880118900100").await,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn sqlite() {
        let app = TestApp::start_tuned(cityloop_store_tests::TestDb::sqlite(), |c| {
            c.server.import_max_bytes = 4096;
        })
        .await;
        oversize_files_are_refused(&app).await;
        app.stop().await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(db) = cityloop_store_tests::TestDb::postgres().await else {
            return;
        };
        let app = TestApp::start_tuned(db, |c| c.server.import_max_bytes = 4096).await;
        oversize_files_are_refused(&app).await;
        app.stop().await;
    }
}
