use cityloop_app::{Actor, Ctx};
use cityloop_geo::crs::{Crs, LonLat};
use geo::Centroid;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

crate::engines_with_city!(
    geocoding_locates_points,
    components_keep_their_history,
    grids_come_by_viewport,
    responsibility_grids_are_maintained,
    addresses_geocode_both_ways,
    imports_are_all_or_nothing,
);

/// Centroids of a few grids, with their codes.
async fn sample_grids(app: &TestApp, n: usize) -> Vec<(String, f64, f64)> {
    let grids = app
        .app
        .grids_in(&Actor::System("test".into()), None, &Ctx::default())
        .await
        .unwrap();
    assert!(grids.len() >= 250, "{} grids", grids.len());
    grids
        .iter()
        .step_by(grids.len() / n)
        .map(|g| {
            let p = cityloop_app::spatial::polygon_of(&g.geometry).unwrap();
            let c = p.centroid().unwrap();
            (g.code.clone(), c.x(), c.y())
        })
        .collect()
}

async fn geocoding_locates_points(app: &TestApp) {
    let c = app.login("acceptor1").await;
    let geocode = |body: Value| {
        let c = c.clone();
        let url = app.url("/api/v1/geocode");
        async move { json_of(c.post(url).json(&body).send().await.unwrap()).await }
    };
    for (code, lon, lat) in sample_grids(app, 10).await {
        let (status, loc) = geocode(json!({"lon": lon, "lat": lat, "k": 3})).await;
        assert_eq!(status, StatusCode::OK, "{loc}");
        assert_eq!(loc["grid"], code);
        assert_eq!(loc["community"]["code"].as_str(), code.get(..12));
        assert_eq!(loc["street"]["code"].as_str(), code.get(..9));
        assert_eq!(loc["district"]["name"], "临江区");
        assert!(
            !loc["responsibility_grids"].as_array().unwrap().is_empty(),
            "{loc}"
        );
        let d: Vec<f64> = loc["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["distance_m"].as_f64().unwrap())
            .collect();
        assert!(d.windows(2).all(|w| w[0] <= w[1]), "nearest first: {d:?}");
        assert!(d.iter().all(|m| *m <= 200.0));

        // The same place sent from an Amap phone (GCJ-02) lands in the same grid.
        let (x, y) =
            cityloop_geo::crs::from_storage(Crs::Gcj02, LonLat::new(lon, lat).unwrap()).unwrap();
        let (_, loc2) = geocode(json!({"lon": x, "lat": y, "crs": "gcj02", "k": 0})).await;
        assert_eq!(loc2["grid"], code);
        assert!((loc2["lon"].as_f64().unwrap() - lon).abs() < 1e-7);
        assert_eq!(loc2["raw"]["crs"], "gcj02");
    }
    // Inspectors on duty: the street's inspector.
    let (code, lon, lat) = sample_grids(app, 3).await.remove(0);
    let (_, loc) = geocode(json!({"lon": lon, "lat": lat})).await;
    let street = &code[6..9];
    let inspector = app
        .user_id(&format!("inspector{}", street.trim_start_matches('0')))
        .await;
    assert!(
        loc["inspector_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(inspector)),
        "{loc}"
    );
    // Component class filter.
    let (_, only) =
        geocode(json!({"lon": lon, "lat": lat, "k": 5, "radius_m": 500, "classes": ["0118"]}))
            .await;
    assert!(
        only["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["class_code"] == "0118")
    );

    for (body, field) in [
        (json!({"lon": 121.9, "lat": 31.2}), "lon"),
        (json!({"lon": 120.17, "lat": 95.0}), "lat"),
        (
            json!({"lon": 120.17, "lat": 30.27, "crs": "EPSG:9999"}),
            "crs",
        ),
        (json!({"lat": 30.27}), "lon"),
    ] {
        let (status, e) = geocode(body).await;
        assert_eq!(
            (status, e["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{e}"
        );
    }
    let (status, batch) =
        geocode(json!({"points": [{"lon": lon, "lat": lat}, {"lon": 0.0, "lat": 0.0}]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(batch[0]["grid"], code);
    assert_eq!(batch[1]["error"]["field"], "lon");
}

async fn components_keep_their_history(app: &TestApp) {
    let (_, lon, lat) = sample_grids(app, 5).await.remove(2);
    let h = app.login("handler1").await;
    let body = json!({"class_code": "0118", "lon": lon, "lat": lat, "dept_owner": "GD", "attributes": {"灯型": "LED"}});
    assert_eq!(
        h.post(app.url("/api/v1/components"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let sys = app.login("sysadmin").await;
    let (status, created) = json_of(
        sys.post(app.url("/api/v1/components"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("3301880118") && id.len() == 16, "{id}");
    assert_eq!(created["name"], "路灯");
    assert!(created["grid_code"].as_str().is_some());
    let changed = json!({"class_code": "0118", "lon": lon, "lat": lat, "state": "damaged", "version": 1, "note": "灯杆倾斜"});
    let (status, after) = json_of(
        sys.put(app.url(&format!("/api/v1/components/{id}")))
            .json(&changed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, after["state"].as_str(), after["version"].as_i64()),
        (StatusCode::OK, Some("damaged"), Some(2))
    );
    let (status, stale) = json_of(
        sys.put(app.url(&format!("/api/v1/components/{id}")))
            .json(&changed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, stale["code"].as_str()),
        (StatusCode::CONFLICT, Some("version_conflict"))
    );
    let (_, full) = json_of(
        h.get(app.url(&format!("/api/v1/components/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let history = full["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "created and changed, nothing overwritten");
    assert_eq!(history[1]["before"]["state"], "intact");
    assert_eq!(history[1]["after"]["state"], "damaged");
    // The new component is found by geocoding at once.
    let (_, loc) = json_of(
        h.post(app.url("/api/v1/geocode"))
            .json(&json!({"lon": lon, "lat": lat, "k": 1, "classes": ["0118"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(loc["components"][0]["id"], id.as_str());
    for (bad, field) in [
        (
            json!({"class_code": "0999", "lon": lon, "lat": lat}),
            "class_code",
        ),
        (
            json!({"class_code": "0118", "lon": lon, "lat": lat, "state": "gone"}),
            "state",
        ),
        (
            json!({"class_code": "0118", "lon": 100.0, "lat": lat}),
            "lon",
        ),
        (
            json!({"id": "3301880101000001", "class_code": "0118", "lon": lon, "lat": lat}),
            "id",
        ),
    ] {
        let (status, e) = json_of(
            sys.post(app.url("/api/v1/components"))
                .json(&bad)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, e["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{e}"
        );
    }
}

async fn grids_come_by_viewport(app: &TestApp) {
    let (_, lon, lat) = sample_grids(app, 5).await.remove(1);
    let c = app.login("leader1").await;
    let bbox = format!(
        "{},{},{},{}",
        lon - 0.005,
        lat - 0.005,
        lon + 0.005,
        lat + 0.005
    );
    let (status, full) = json_of(
        c.get(app.url(&format!("/api/v1/grids?bbox={bbox}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let features = full["features"].as_array().unwrap();
    assert!(
        !features.is_empty() && features.len() < 300,
        "{}",
        features.len()
    );
    let (_, simple) = json_of(
        c.get(app.url(&format!("/api/v1/grids?bbox={bbox}&zoom=12")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let vertices = |v: &Value| -> usize {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["geometry"]["coordinates"][0].as_array().unwrap().len())
            .sum()
    };
    assert!(vertices(&simple) <= vertices(&full));
    let (status, e) = json_of(
        c.get(app.url("/api/v1/grids?bbox=110,20,125,35"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bbox"))
    );
    let code = features[0]["properties"]["code"].as_str().unwrap();
    let (status, g) = json_of(
        c.get(app.url(&format!("/api/v1/grids/{code}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, g["geometry"]["type"].as_str()),
        (StatusCode::OK, Some("Polygon"))
    );
    let area = g["area_m2"].as_f64().unwrap();
    assert!((3_000.0..40_000.0).contains(&area), "{area}");
}

async fn responsibility_grids_are_maintained(app: &TestApp) {
    let samples = sample_grids(app, 20).await;
    let street = &samples[0].0[..9];
    let mine: Vec<String> = samples
        .iter()
        .filter(|(c, _, _)| c.starts_with(street))
        .map(|(c, _, _)| c.clone())
        .collect();
    let other = samples
        .iter()
        .find(|(c, _, _)| !c.starts_with(street))
        .map(|(c, _, _)| c.clone())
        .unwrap();
    let inspector = app.user_id("inspector6").await;
    let sys = app.login("sysadmin").await;
    let put = |body: Value| {
        let sys = sys.clone();
        let url = app.url("/api/v1/responsibility-grids/R-TEST");
        async move { json_of(sys.put(url).json(&body).send().await.unwrap()).await }
    };
    let (status, e) =
        put(json!({"name": "测试组", "street_code": street, "grid_codes": [other.clone()]})).await;
    assert_eq!(
        (status, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("grid_codes"))
    );
    let handler = app.user_id("handler1").await;
    let (status, e) = put(json!({"name": "测试组", "street_code": street, "grid_codes": mine, "inspector_ids": [handler]})).await;
    assert_eq!(
        (status, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("inspector_ids"))
    );
    let (status, r) = put(json!({"name": "测试组", "street_code": street, "grid_codes": mine, "inspector_ids": [inspector]})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    // Geocoding a point in one of those grids now names the group and its inspector at once.
    let (_, lon, lat) = samples
        .iter()
        .find(|(c, _, _)| *c == mine[0])
        .cloned()
        .unwrap();
    let (_, loc) = json_of(
        sys.post(app.url("/api/v1/geocode"))
            .json(&json!({"lon": lon, "lat": lat, "k": 0}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        loc["responsibility_grids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "R-TEST"),
        "{loc}"
    );
    assert!(
        loc["inspector_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(inspector))
    );
    let h = app.login("handler1").await;
    let r = h
        .put(app.url("/api/v1/responsibility-grids/R-TEST"))
        .json(&json!({"name": "x", "street_code": street, "grid_codes": mine}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn addresses_geocode_both_ways(app: &TestApp) {
    let s = app.app.spatial();
    let a = s.addresses.get(s.addresses.len() / 2).unwrap().clone();
    let c = app.login("acceptor2").await;
    let q = |text: String| {
        let c = c.clone();
        let url = app.url("/api/v1/addresses/search");
        async move { json_of(c.get(url).query(&[("q", text)]).send().await.unwrap()).await }
    };
    let (status, found) = q(a.text.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            found[0]["address"]["id"].as_i64(),
            found[0]["score"].as_f64()
        ),
        (Some(a.id), Some(1.0))
    );
    // Full-width digits and Chinese numerals normalise to the same address.
    let number = a.number.unwrap();
    let fancy = a.text.replace(
        &format!("{number}号"),
        &format!(
            "{}号",
            number
                .to_string()
                .chars()
                .map(|d| char::from_u32(d as u32 + 0xFEE0).unwrap())
                .collect::<String>()
        ),
    );
    let (_, found) = q(fancy).await;
    assert_eq!(found[0]["address"]["id"].as_i64(), Some(a.id));
    // A number that does not exist finds the same road's neighbours, with a lower score.
    let (_, near) = q(format!("{}{}号", a.road, number + 1000)).await;
    assert!(near[0]["score"].as_f64().unwrap() < 1.0);
    assert_eq!(near[0]["address"]["road"], a.road.as_str());
    let (status, rev) = json_of(
        c.get(app.url("/api/v1/addresses/reverse"))
            .query(&[("lon", a.lon.to_string()), ("lat", a.lat.to_string())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rev["address"]["id"].as_i64(), Some(a.id));
    let (status, _) = q(" ".into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn imports_are_all_or_nothing(app: &TestApp) {
    use cityloop_app::import::{ImportKind, ImportOptions};
    let actor = Actor::System("test".into());
    let ctx = Ctx::default();
    let grids = app.app.grids_in(&actor, None, &ctx).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut features: Vec<Value> = grids
        .iter()
        .take(20)
        .map(|g| {
            json!({"type": "Feature", "properties": {"BGID": g.code, "BGNAME": "网格"},
                   "geometry": serde_json::from_str::<Value>(&g.geometry).unwrap()})
        })
        .collect();
    let write = |name: &str, features: &[Value]| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            json!({"type": "FeatureCollection", "features": features}).to_string(),
        )
        .unwrap();
        path
    };
    let opts = |skip: bool| ImportOptions {
        field_map: Some("code=BGID,name=BGNAME".parse().unwrap()),
        skip_invalid: skip,
        source: "grids.geojson".into(),
        ..Default::default()
    };
    let read =
        |p: &std::path::Path| cityloop_io::FeatureReader::open(p, &Default::default()).unwrap();
    let good = write("good.geojson", &features);
    let report = app
        .app
        .import_features(
            &actor,
            ImportKind::Grids,
            read(&good),
            &opts(false),
            &|_| {},
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(
        (report.read, report.imported, report.replaced),
        (20, 20, 20)
    );
    let renamed = app
        .app
        .get_grid(&actor, grids[0].code.as_str(), &ctx)
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_deref(), renamed.version),
        (Some("网格"), 2)
    );

    // A bow-tie polygon and an unknown community: all or nothing names the record…
    features.push(json!({"type": "Feature", "properties": {"BGID": "33018800100199"},
        "geometry": {"type": "Polygon", "coordinates": [[[120.1, 30.2], [120.101, 30.201], [120.101, 30.2], [120.1, 30.201], [120.1, 30.2]]]}}));
    features.push(
        json!({"type": "Feature", "properties": {"BGID": "33018899900101"},
        "geometry": serde_json::from_str::<Value>(&grids[1].geometry).unwrap()}),
    );
    let bad = write("bad.geojson", &features);
    let before = app
        .app
        .get_grid(&actor, grids[0].code.as_str(), &ctx)
        .await
        .unwrap();
    let err = app
        .app
        .import_features(
            &actor,
            ImportKind::Grids,
            read(&bad),
            &opts(false),
            &|_| {},
            &ctx,
        )
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("record 20") && message.contains("intersects itself"),
        "{message}"
    );
    assert_eq!(
        app.app
            .get_grid(&actor, grids[0].code.as_str(), &ctx)
            .await
            .unwrap(),
        before,
        "nothing written"
    );
    // …and --skip-invalid imports the rest and reports both.
    let report = app
        .app
        .import_features(
            &actor,
            ImportKind::Grids,
            read(&bad),
            &opts(true),
            &|_| {},
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!((report.imported, report.rejected.len()), (20, 2));
    assert!(
        report.rejected[1]
            .reason
            .contains("community 330188999001 does not exist"),
        "{:?}",
        report.rejected
    );

    // A grid drawn over its neighbours is imported but reported.
    let mut shifted: Value = serde_json::from_str(&grids[0].geometry).unwrap();
    for p in shifted["coordinates"][0].as_array_mut().unwrap() {
        p[0] = json!(p[0].as_f64().unwrap() + 0.0003);
    }
    let code = format!("{}98", &grids[0].code[..12]);
    let extra = write(
        "extra.geojson",
        &[json!({"type": "Feature", "properties": {"BGID": code}, "geometry": shifted})],
    );
    let report = app
        .app
        .import_features(
            &actor,
            ImportKind::Grids,
            read(&extra),
            &opts(false),
            &|_| {},
            &ctx,
        )
        .await
        .unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains(&code) && w.contains("overlaps")),
        "{:?}",
        report.warnings
    );

    // Components round-trip through CSV.
    let comps = app
        .app
        .list_components(
            &actor,
            &cityloop_store::ComponentQuery {
                limit: 50,
                ..Default::default()
            },
            &ctx,
        )
        .await
        .unwrap();
    let csv_path = dir.path().join("components.csv");
    {
        let file = std::fs::File::create(&csv_path).unwrap();
        let mut w = cityloop_io::CsvWriter::new(
            file,
            vec!["id".into(), "state".into(), "name".into()],
            cityloop_io::CsvGeometryColumns::LonLat {
                lon: "lon".into(),
                lat: "lat".into(),
            },
        )
        .unwrap();
        for (i, c) in comps.iter().enumerate() {
            let f = cityloop_io::Feature {
                index: i,
                geometry: Some(geo_types::Point::new(c.lon, c.lat).into()),
                properties: json!({"id": c.id, "state": "破损", "name": c.name})
                    .as_object()
                    .unwrap()
                    .clone(),
            };
            w.write(&f).unwrap();
        }
        w.finish().unwrap();
    }
    let report = app
        .app
        .import_features(
            &actor,
            ImportKind::Components,
            read(&csv_path),
            &ImportOptions::default(),
            &|_| {},
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!((report.imported, report.replaced), (50, 50));
    let (after, history) = app
        .app
        .get_component(&actor, &comps[0].id, &ctx)
        .await
        .unwrap();
    assert_eq!(
        (after.state.as_str(), after.grid_code.clone()),
        ("damaged", comps[0].grid_code.clone())
    );
    assert!((after.lon - comps[0].lon).abs() < 1e-9);
    assert_eq!(history.last().map(|h| h.action.as_str()), Some("import"));
}

mod shapefiles {
    use cityloop_app::import::{ImportKind, ImportOptions};
    use cityloop_app::{Actor, Ctx};
    use shapefile::dbase::{self, FieldName, FieldValue, Record, TableWriterBuilder};
    use shapefile::{Point, Polygon, PolygonRing};

    use crate::helpers::TestApp;

    /// A surveyor's shapefile of unit grids in CGCS2000 3° Gauss-Krüger (zone 40, CM 120°E) with GBK
    /// attributes and no .cpg imports, converts back to lon/lat within a millimetre, and exports.
    async fn gbk_gauss_kruger_grids_round_trip(app: &TestApp) {
        let actor = Actor::System("test".into());
        let ctx = Ctx::default();
        let grids = app.app.grids_in(&actor, None, &ctx).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("网格.shp");
        let table =
            TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(encoding_rs::GBK))
                .add_character_field(FieldName::try_from("BGID").unwrap(), 16)
                .add_character_field(FieldName::try_from("NAME").unwrap(), 40);
        let mut writer = shapefile::Writer::from_path(&path, table).unwrap();
        for g in grids.iter().take(10) {
            let p = cityloop_app::spatial::polygon_of(&g.geometry).unwrap();
            // Shapefile outer rings run clockwise.
            let mut ring: Vec<Point> = p
                .exterior()
                .coords()
                .map(|c| {
                    let (x, y) = cityloop_geo::crs::gauss_kruger::forward(40, c.x, c.y).unwrap();
                    Point::new(x, y)
                })
                .collect();
            ring.reverse();
            let mut record = Record::default();
            record.insert("BGID".into(), FieldValue::Character(Some(g.code.clone())));
            record.insert(
                "NAME".into(),
                FieldValue::Character(Some("金桂社区网格".into())),
            );
            writer
                .write_shape_and_record(
                    &Polygon::with_rings(vec![PolygonRing::Outer(ring)]),
                    &record,
                )
                .unwrap();
        }
        drop(writer);
        let reader = cityloop_io::FeatureReader::open(&path, &Default::default()).unwrap();
        assert_eq!(
            reader.encoding_used(),
            encoding_rs::GBK,
            "GBK detected without a .cpg"
        );
        let report = app
            .app
            .import_features(
                &actor,
                ImportKind::Grids,
                reader,
                &ImportOptions {
                    crs: Some("gk3:40".parse().unwrap()),
                    field_map: Some("code=BGID,name=NAME".parse().unwrap()),
                    source: "网格.shp".into(),
                    ..Default::default()
                },
                &|_| {},
                &ctx,
            )
            .await
            .unwrap();
        assert_eq!(
            (report.imported, report.replaced),
            (10, 10),
            "{:?}",
            report.rejected
        );
        for g in grids.iter().take(10) {
            let back = app.app.get_grid(&actor, &g.code, &ctx).await.unwrap();
            assert_eq!(back.name.as_deref(), Some("金桂社区网格"));
            assert_eq!(
                back.raw.as_ref().map(|r| r["crs"].clone()),
                Some(serde_json::json!("cgcs2000-gk3-40"))
            );
            let a = cityloop_app::spatial::polygon_of(&g.geometry).unwrap();
            let b = cityloop_app::spatial::polygon_of(&back.geometry).unwrap();
            let mut pa: Vec<_> = a.exterior().coords().map(|c| (c.x, c.y)).collect();
            let mut pb: Vec<_> = b.exterior().coords().map(|c| (c.x, c.y)).collect();
            pa.sort_by(|x, y| x.partial_cmp(y).unwrap());
            pb.sort_by(|x, y| x.partial_cmp(y).unwrap());
            assert_eq!(pa.len(), pb.len());
            for (x, y) in pa.iter().zip(&pb) {
                assert!(
                    (x.0 - y.0).abs() < 1e-8 && (x.1 - y.1).abs() < 1e-8,
                    "{x:?} {y:?}"
                );
            }
            assert!((back.area_m2 - g.area_m2).abs() / g.area_m2 < 0.001);
        }
    }

    crate::engines_with_city!(gbk_gauss_kruger_grids_round_trip);
}
