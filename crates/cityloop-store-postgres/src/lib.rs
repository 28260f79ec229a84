//! cityloop storage on PostgreSQL 15+. Chosen by a `postgres://` database URL.

use std::time::Duration;

use async_trait::async_trait;
use cityloop_store::{Engine, Result, Store, StoreError, Tx};
use cityloop_store_sql::{SqlTx, map_err};
use sqlx::migrate::Migrator;
use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The oldest server release cityloop is tested on.
pub const MIN_SERVER_VERSION: i32 = 150000;

#[derive(Debug, Clone)]
pub struct PostgresConfig {
    pub url: String,
    pub max_connections: u32,
    /// Accept a server running with `fsync=off` or `synchronous_commit=off` (test clusters only).
    pub allow_unsafe_durability: bool,
}

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects and checks the server version and durability settings. Does not migrate.
    pub async fn open(cfg: &PostgresConfig) -> Result<Self> {
        let unavailable =
            |e: sqlx::Error| StoreError::Unavailable(redact(&e.to_string(), &cfg.url));
        let options = PgConnectOptions::from_str(&cfg.url).map_err(unavailable)?;
        // One direct attempt first: the pool would keep retrying a refused connection until its
        // acquire timeout, and an operator wants the error now.
        PgConnection::connect_with(&options)
            .await
            .map_err(unavailable)?
            .close()
            .await
            .map_err(unavailable)?;
        let pool = PgPoolOptions::new()
            .max_connections(cfg.max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        let version: String = sqlx::query_scalar("SHOW server_version_num")
            .fetch_one(&pool)
            .await
            .map_err(map_err)?;
        let version: i32 = version.trim().parse().unwrap_or(0);
        if version < MIN_SERVER_VERSION {
            return Err(StoreError::Incompatible(format!(
                "PostgreSQL server version {version} is older than the required {MIN_SERVER_VERSION}"
            )));
        }
        if !cfg.allow_unsafe_durability {
            for setting in ["fsync", "synchronous_commit"] {
                let value: String =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
                        .fetch_one(&pool)
                        .await
                        .map_err(map_err)?;
                if value == "off" {
                    return Err(StoreError::Incompatible(format!(
                        "the PostgreSQL server runs with {setting}=off, so acknowledged cases could be lost; \
                         fix the server or set database.allow_unsafe_durability for a throwaway test server"
                    )));
                }
            }
        }
        Ok(PostgresStore { pool })
    }

    /// Applies pending migrations (under the migrator's advisory lock, so several instances may start
    /// at once). Refuses a database whose schema is newer than this program.
    pub async fn migrate(&self) -> Result<()> {
        let applied = self.applied_versions().await?;
        let newest_known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        if let Some(v) = applied.iter().find(|v| !MIGRATOR.version_exists(**v)) {
            return Err(StoreError::Incompatible(format!(
                "the database has schema version {v}, which this cityloop does not know (newest known: \
                 {newest_known}); run a newer cityloop"
            )));
        }
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Incompatible(e.to_string()))
    }

    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let applied = self.applied_versions().await?;
        Ok(MIGRATOR
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    async fn applied_versions(&self) -> Result<Vec<i64>> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        if !exists {
            return Ok(Vec::new());
        }
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)
    }

    #[doc(hidden)]
    pub async fn execute_raw(&self, sql: &'static str) -> Result<u64> {
        sqlx::query(sql)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(map_err)
    }
}

/// Keeps a password in the URL out of error messages.
fn redact(message: &str, url: &str) -> String {
    match url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
    {
        Some((userinfo, _)) if userinfo.contains(':') => {
            let password = userinfo.split_once(':').map(|(_, p)| p).unwrap_or_default();
            if password.is_empty() {
                message.to_owned()
            } else {
                message.replace(password, "***")
            }
        }
        _ => message.to_owned(),
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    async fn schema_version(&self) -> Result<i64> {
        Ok(self
            .applied_versions()
            .await?
            .into_iter()
            .max()
            .unwrap_or(0))
    }

    async fn read(&self) -> Result<Box<dyn Tx>> {
        let tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(map_err)?;
        Ok(Box::new(SqlTx::new(tx)))
    }

    async fn write(&self) -> Result<Box<dyn Tx>> {
        let tx = self.pool.begin().await.map_err(map_err)?;
        Ok(Box::new(SqlTx::new(tx)))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact(
                "cannot reach postgres://u:s3cret@h/db",
                "postgres://u:s3cret@h/db"
            ),
            "cannot reach postgres://u:***@h/db"
        );
        assert_eq!(redact("x", "postgres://u@h/db"), "x");
    }
}
