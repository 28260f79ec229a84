//! Test databases for both engines, and the storage conformance suite.
//!
//! Every test gets a fresh database: a temporary SQLite file, or a new PostgreSQL database created on
//! the server named by `CITYLOOP_TEST_PG_URL` and dropped afterwards. Without that variable the
//! PostgreSQL variants skip — unless `CITYLOOP_TEST_REQUIRE_PG=1`, which CI sets so that a skipped
//! engine fails the run instead of passing silently.

pub mod suite;

use std::sync::Arc;

use cityloop_store::Store;
use cityloop_store_postgres::{PostgresConfig, PostgresStore};
use cityloop_store_sqlite::{SqliteConfig, SqliteStore};
use sqlx::Connection;

pub const PG_URL_VAR: &str = "CITYLOOP_TEST_PG_URL";
pub const REQUIRE_PG_VAR: &str = "CITYLOOP_TEST_REQUIRE_PG";

pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_and_path = &base[scheme_end..];
    let host = host_and_path.split('/').next().unwrap_or_default();
    let mut out = format!("{}{host}/{name}", &base[..scheme_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/cityloop-test.sqlite3", dir.path().display());
        TestDb::Sqlite { _dir: dir, url }
    }

    /// A fresh PostgreSQL database, or `None` when no test server is configured (and not required).
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
            if std::env::var(REQUIRE_PG_VAR).is_ok_and(|v| v == "1") {
                panic!(
                    "{REQUIRE_PG_VAR}=1 but {PG_URL_VAR} is not set: the PostgreSQL tests would be skipped"
                );
            }
            eprintln!("skipped: {PG_URL_VAR} is not set");
            return None;
        };
        let name = format!("cityloop_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {PG_URL_VAR}: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        let url = with_database(&admin_url, &name);
        Some(TestDb::Postgres {
            admin_url,
            name,
            url,
        })
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn engine(&self) -> &'static str {
        match self {
            TestDb::Sqlite { .. } => "sqlite",
            TestDb::Postgres { .. } => "postgres",
        }
    }

    /// Opens and migrates the store.
    pub async fn store(&self) -> Arc<dyn Store> {
        match self {
            TestDb::Sqlite { url, .. } => {
                let s = SqliteStore::open(&SqliteConfig {
                    url: url.clone(),
                    readers: 4,
                })
                .await
                .expect("open sqlite");
                s.migrate().await.expect("migrate sqlite");
                Arc::new(s)
            }
            TestDb::Postgres { url, .. } => {
                let s = PostgresStore::open(&PostgresConfig {
                    url: url.clone(),
                    max_connections: 8,
                    // The CI cluster runs with fsync=off for speed.
                    allow_unsafe_durability: true,
                })
                .await
                .expect("open postgres");
                s.migrate().await.expect("migrate postgres");
                Arc::new(s)
            }
        }
    }

    /// Drops a PostgreSQL test database (SQLite files go with their temporary directory).
    pub async fn cleanup(self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
            let _ = conn.close().await;
        }
    }
}

/// Runs `story` against a fresh store of each engine in turn (PostgreSQL when configured).
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = $crate::TestDb::sqlite();
                    let store = db.store().await;
                    $crate::suite::$name(store.as_ref()).await;
                    store.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = $crate::TestDb::postgres().await else { return };
                    let store = db.store().await;
                    $crate::suite::$name(store.as_ref()).await;
                    store.close().await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_database_names() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5/cityloop_test", "x"),
            "postgres://u@127.0.0.1:5/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
