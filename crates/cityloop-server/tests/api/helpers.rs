use std::sync::Arc;

use chrono::{TimeZone, Utc};
use cityloop_app::ManualClock;
use cityloop_server::config::Config;
use cityloop_store_tests::TestDb;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = cityloop_app::demo::DEMO_PASSWORD;

pub struct TestApp {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub app: Arc<cityloop_app::App>,
    running: Option<cityloop_server::Running>,
    db: Option<TestDb>,
    _blobs: tempfile::TempDir,
}

impl TestApp {
    /// A server with the demo organisation and rules, plus a small generated city.
    pub async fn start_with_city(db: TestDb) -> TestApp {
        TestApp::start_with_city_tuned(db, |_| {}).await
    }

    pub async fn start(db: TestDb) -> TestApp {
        TestApp::start_tuned(db, |_| {}).await
    }

    /// Like `start_with_city`, with the configuration changed by `tune` first.
    pub async fn start_with_city_tuned(db: TestDb, tune: impl FnOnce(&mut Config)) -> TestApp {
        let app = TestApp::start_tuned(db, tune).await;
        let mut spec = cityloop_synth::CitySpec::county_town();
        spec.grids_target = 300;
        spec.components.multiplier = 0.2;
        app.app.seed_demo_city(&spec).await.expect("seed city");
        app
    }

    pub async fn start_tuned(db: TestDb, tune: impl FnOnce(&mut Config)) -> TestApp {
        let mut cfg = Config::default();
        cfg.server.listen = "127.0.0.1:0".into();
        cfg.database.url = db.url().to_owned();
        cfg.database.allow_unsafe_durability = true;
        let blobs = tempfile::tempdir().expect("blob dir");
        cfg.cases.evidence_dir = blobs.path().display().to_string();
        // Cheap hashes keep the suite fast; the cost is configuration, not behaviour.
        cfg.auth.argon2_memory_kib = 1024;
        cfg.auth.argon2_iterations = 1;
        tune(&mut cfg);
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap(),
        ));
        let app = cityloop_server::open_app(&cfg, clock.clone())
            .await
            .expect("open app");
        app.seed_demo().await.expect("seed demo");
        let running = cityloop_server::start(&cfg, app.clone())
            .await
            .expect("start");
        TestApp {
            base: format!("http://{}", running.addr),
            clock,
            app,
            running: Some(running),
            db: Some(db),
            _blobs: blobs,
        }
    }

    /// The database URL, for a second server instance on the same database.
    pub fn db_url(&self) -> &str {
        self.db.as_ref().map(|d| d.url()).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client with its own cookie jar, logged in as `username`.
    pub async fn login(&self, username: &str) -> Client {
        let c = client();
        let r = c
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "login {username}: {}",
            r.text().await.unwrap()
        );
        c
    }

    pub async fn user_id(&self, username: &str) -> i64 {
        self.app
            .find_user_by_name(
                &cityloop_app::Actor::System("test".into()),
                username,
                &cityloop_app::Ctx::default(),
            )
            .await
            .unwrap()
            .unwrap()
            .id
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

pub fn client() -> Client {
    Client::builder().cookie_store(true).build().unwrap()
}

pub async fn json_of(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        assert!(ct.starts_with("application/json"), "{status} {ct}: {text}");
        serde_json::from_str(&text).unwrap()
    };
    (status, value)
}

/// A multipart/form-data body with text fields and files (field, file name, content type, bytes).
pub fn multipart(
    fields: &[(&str, String)],
    files: &[(&str, &str, &str, &[u8])],
) -> (String, Vec<u8>) {
    let boundary = "cityloop-test-boundary-7MA4YWxk";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (field, file_name, content_type, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Like `engines!`, with the small generated city seeded.
#[macro_export]
macro_rules! engines_with_city {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = $crate::helpers::TestApp::start_with_city(cityloop_store_tests::TestDb::sqlite()).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = cityloop_store_tests::TestDb::postgres().await else { return };
                    let app = $crate::helpers::TestApp::start_with_city(db).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
    };
}

/// Runs each test body against a fresh server on each engine.
#[macro_export]
macro_rules! engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = $crate::helpers::TestApp::start(cityloop_store_tests::TestDb::sqlite()).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = cityloop_store_tests::TestDb::postgres().await else { return };
                    let app = $crate::helpers::TestApp::start(db).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
    };
}
