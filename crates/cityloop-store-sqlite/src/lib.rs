//! cityloop storage on embedded SQLite: one file, WAL, `synchronous=FULL`, foreign keys on, and one
//! writer connection so that writes are serialised in the process instead of fighting over locks.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use cityloop_store::{Engine, Result, Store, StoreError, Tx};
use cityloop_store_sql::{SqlTx, map_err};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// `sqlite://path/to/file.sqlite3` (relative paths are relative to the working directory).
    pub url: String,
    /// Connections for read-only transactions.
    pub readers: u32,
}

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

/// The file path of a `sqlite:` URL, refusing in-memory databases: cityloop promises durability.
pub fn database_path(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Unavailable(format!("not a sqlite URL: {url}")))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::Unavailable(
            "an in-memory SQLite database is not durable; give a file path".into(),
        ));
    }
    Ok(path.to_owned())
}

impl SqliteStore {
    /// Opens (creating when missing) the database file. Does not migrate.
    pub async fn open(cfg: &SqliteConfig) -> Result<Self> {
        let path = database_path(&cfg.url)?;
        if let Some(dir) = Path::new(&path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let base = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(map_err)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // The writer keeps the hot index pages of the case tables in memory (128 MiB instead of
        // SQLite's 2 MiB default): intake inserts touch a dozen indexes per case.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(
                base.clone()
                    .create_if_missing(true)
                    .pragma("cache_size", "-131072")
                    // Checkpoint every ~40 MiB of WAL rather than 4 MiB: hot index pages are then
                    // copied back once per checkpoint instead of once per few batches.
                    .pragma("wal_autocheckpoint", "10000"),
            )
            .await
            .map_err(|e| StoreError::Unavailable(format!("{path}: {e}")))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(cfg.readers.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true).pragma("cache_size", "-32768"))
            .await
            .map_err(|e| StoreError::Unavailable(format!("{path}: {e}")))?;
        let store = SqliteStore { writer, reader };
        let ok: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&store.writer)
            .await
            .map_err(map_err)?;
        if ok != "ok" {
            return Err(StoreError::Incompatible(format!(
                "{path} failed PRAGMA quick_check: {ok}"
            )));
        }
        Ok(store)
    }

    /// Applies pending migrations. Refuses a database whose schema is newer than this program.
    pub async fn migrate(&self) -> Result<()> {
        check_newer(&self.writer).await?;
        MIGRATOR
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Incompatible(e.to_string()))
    }

    /// Migrations this program knows that the database has not applied yet.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let applied = applied_versions(&self.writer).await?;
        Ok(MIGRATOR
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    /// Copies the live database into a new file (`VACUUM INTO`), consistent under concurrent writes.
    pub async fn backup(&self, target: &str) -> Result<()> {
        if Path::new(target).exists() {
            return Err(StoreError::Conflict(format!("{target} already exists")));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// Runs raw SQL on the writer connection; for storage-level tests of triggers and constraints.
    #[doc(hidden)]
    pub async fn execute_raw(&self, sql: &'static str) -> Result<u64> {
        sqlx::query(sql)
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected())
            .map_err(map_err)
    }
}

async fn applied_versions(pool: &SqlitePool) -> Result<Vec<i64>> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(pool)
        .await
        .map_err(map_err)
}

async fn check_newer(pool: &SqlitePool) -> Result<()> {
    let applied = applied_versions(pool).await?;
    let newest_known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(v) = applied.iter().find(|v| !MIGRATOR.version_exists(**v)) {
        return Err(StoreError::Incompatible(format!(
            "the database has schema version {v}, which this cityloop does not know (newest known: \
             {newest_known}); run a newer cityloop"
        )));
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    async fn schema_version(&self) -> Result<i64> {
        Ok(applied_versions(&self.reader)
            .await?
            .into_iter()
            .max()
            .unwrap_or(0))
    }

    async fn read(&self) -> Result<Box<dyn Tx>> {
        let tx = self.reader.begin().await.map_err(map_err)?;
        Ok(Box::new(SqlTx::new(tx)))
    }

    async fn write(&self) -> Result<Box<dyn Tx>> {
        // IMMEDIATE takes the write lock up front, so a transaction that reads before it writes cannot
        // fail half-way when another process (the CLI) holds the lock.
        let tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)?;
        Ok(Box::new(SqlTx::new(tx)))
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            database_path("sqlite://data/x.sqlite3").unwrap(),
            "data/x.sqlite3"
        );
        assert_eq!(
            database_path("sqlite:///tmp/x.db?mode=rwc").unwrap(),
            "/tmp/x.db"
        );
        assert!(database_path("sqlite::memory:").is_err());
        assert!(database_path("postgres://x").is_err());
    }

    #[tokio::test]
    async fn audit_log_is_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.sqlite3", dir.path().display());
        let store = SqliteStore::open(&SqliteConfig { url, readers: 2 })
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
            .execute_raw(
                "INSERT INTO audit_log (at, actor_name, action, object_type, result, detail) \
                 VALUES ('2026-01-01T00:00:00+00:00', 'x', 'a', 'o', 'ok', '{}')",
            )
            .await
            .unwrap();
        assert!(
            store
                .execute_raw("UPDATE audit_log SET action = 'b'")
                .await
                .is_err()
        );
        assert!(store.execute_raw("DELETE FROM audit_log").await.is_err());
    }
}
