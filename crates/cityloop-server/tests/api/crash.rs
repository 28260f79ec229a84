//! Kill -9 during concurrent intake, restart, retry everything: every acknowledged report is
//! still there under the same case, no retried key makes a second case, photos are intact.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cityloop_app::{Actor, AuthVia, Ctx, Principal, SystemClock};
use cityloop_server::config::Config;
use cityloop_store_tests::TestDb;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cityloop"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env_remove("CITYLOOP_DATABASE_URL")
        .env_remove("CITYLOOP_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(base: &str) {
    let c = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = c.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server did not come up");
}

async fn kill_during_intake(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cfg = Config::default();
    cfg.server.listen = format!("127.0.0.1:{port}");
    cfg.database.url = db.url().to_owned();
    cfg.database.allow_unsafe_durability = true;
    cfg.cases.evidence_dir = dir.path().join("blobs").display().to_string();
    cfg.auth.argon2_memory_kib = 1024;
    cfg.auth.argon2_iterations = 1;

    // Prepare the city, a reporter's token and a photo in-process, then hand over to the binary.
    let app = cityloop_server::open_app(&cfg, Arc::new(SystemClock))
        .await
        .unwrap();
    app.seed_demo().await.unwrap();
    let mut spec = cityloop_synth::CitySpec::county_town();
    spec.grids_target = 300;
    spec.components.multiplier = 0.1;
    app.seed_demo_city(&spec).await.unwrap();
    let sys = Actor::System("test".into());
    let ctx = Ctx::default();
    let user = app
        .find_user_by_name(&sys, "inspector1", &ctx)
        .await
        .unwrap()
        .unwrap();
    let principal = Principal {
        user: user.clone(),
        via: AuthVia::Session(0),
    };
    let token = app
        .create_api_token(&principal, "crash-test", Some(1), &ctx)
        .await
        .unwrap()
        .token;
    let photo_bytes = cityloop_evidence::placeholder_jpeg(3);
    let photo = app
        .upload_blob(&Actor::User(principal), photo_bytes.clone(), &ctx)
        .await
        .unwrap()
        .hash;
    let class = app
        .rule_set_in_force(&sys, app.now(), &ctx)
        .await
        .unwrap()
        .unwrap()
        .content
        .conditions[0]
        .class
        .to_string();
    let street = user.areas[0].clone();
    let grid = {
        let mut tx = app.store().read().await.unwrap();
        tx.list_grids(None).await.unwrap()
    };
    let spatial = app.spatial();
    let (lon, lat) = grid
        .iter()
        .filter(|g| g.community_code.starts_with(&street))
        .map(|g| ((g.bbox[0] + g.bbox[2]) / 2.0, (g.bbox[1] + g.bbox[3]) / 2.0))
        .find(|(x, y)| spatial.grid_at(*x, *y).is_some())
        .unwrap();
    app.store().close().await;
    drop(app);

    let config = dir.path().join("cityloop.toml");
    std::fs::write(&config, toml::to_string(&cfg).unwrap()).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn(&config);
    wait_healthy(&base).await;

    let body = move |key: &str| {
        json!({"source": "inspector", "class": class, "description": format!("crash-test {key}"),
            "location": {"crs": "wgs84", "x": lon, "y": lat}, "photos": [photo]})
    };
    let body = Arc::new(body);
    let attempted = Arc::new(Mutex::new(BTreeSet::new()));
    let acked = Arc::new(Mutex::new(BTreeMap::new()));
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for t in 0..32 {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (attempted, acked, body) = (attempted.clone(), acked.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let key = format!("crash-{t}-{i}");
                attempted.lock().unwrap().insert(key.clone());
                let r = client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", &key)
                    .json(&body(&key))
                    .send()
                    .await;
                let Ok(r) = r else { return };
                if r.status().as_u16() != 201 {
                    return;
                }
                let Ok(v) = r.json::<Value>().await else {
                    return;
                };
                acked
                    .lock()
                    .unwrap()
                    .insert(key, v["case"]["id"].as_str().unwrap().to_owned());
            }
        }));
    }
    // Let acknowledgements pile up, then pull the plug mid-stream.
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        if acked.lock().unwrap().len() >= 150 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    assert!(
        acked.len() >= 20,
        "only {} acknowledged before the kill",
        acked.len()
    );

    let mut child = spawn(&config);
    wait_healthy(&base).await;
    // Retry every report ever attempted, as phones do.
    let mut ids = BTreeMap::new();
    for key in &attempted {
        let r = client
            .post(format!("{base}/api/v1/cases"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&body(key))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert!(status == 200 || status == 201, "{key}: {status} {v}");
        let id = v["case"]["id"].as_str().unwrap().to_owned();
        if let Some(first) = acked.get(key) {
            assert_eq!(status, 200, "{key} was acknowledged before the crash: {v}");
            assert_eq!(&id, first, "{key} maps to another case after the restart");
        }
        ids.insert(key.clone(), id);
    }
    let distinct: BTreeSet<&String> = ids.values().collect();
    assert_eq!(distinct.len(), attempted.len(), "one case per key");
    let r: Value = client
        .get(format!("{base}/api/v1/cases?q=crash-test&limit=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        r["total"].as_u64().unwrap() as usize,
        attempted.len(),
        "{r}"
    );
    // The photo every case refers to survived, byte for byte.
    let first = acked.values().next().unwrap();
    let case: Value = client
        .get(format!("{base}/api/v1/cases/{first}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hash = case["attachments"][0]["hash"].as_str().unwrap().to_owned();
    let bytes = client
        .get(format!("{base}/api/v1/blobs/{hash}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(format!("{:x}", Sha256::digest(&bytes)), hash);
    assert_eq!(bytes.as_ref(), photo_bytes.as_slice());
    child.kill().unwrap();
    child.wait().unwrap();
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_during_intake_loses_nothing_acknowledged() {
    kill_during_intake(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_during_intake_loses_nothing_acknowledged() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    kill_during_intake(db).await;
}
