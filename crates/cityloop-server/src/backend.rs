//! The only place that names a concrete storage engine: chosen from the database URL's scheme.

use std::sync::Arc;

use cityloop_store::{Store, StoreError};
use cityloop_store_postgres::{PostgresConfig, PostgresStore};
use cityloop_store_sqlite::{SqliteConfig, SqliteStore};

use crate::config::DatabaseConfig;

pub enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
}

impl Backend {
    pub async fn open(cfg: &DatabaseConfig) -> Result<Backend, StoreError> {
        if cfg.url.starts_with("sqlite:") {
            let store = SqliteStore::open(&SqliteConfig {
                url: cfg.url.clone(),
                readers: cfg.max_connections,
            })
            .await?;
            Ok(Backend::Sqlite(Arc::new(store)))
        } else if cfg.url.starts_with("postgres://") || cfg.url.starts_with("postgresql://") {
            let store = PostgresStore::open(&PostgresConfig {
                url: cfg.url.clone(),
                max_connections: cfg.max_connections,
                allow_unsafe_durability: cfg.allow_unsafe_durability,
            })
            .await?;
            Ok(Backend::Postgres(Arc::new(store)))
        } else {
            Err(StoreError::Unavailable(
                "unsupported database URL scheme (use sqlite:// or postgres://)".into(),
            ))
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(s) => s.migrate().await,
            Backend::Postgres(s) => s.migrate().await,
        }
    }

    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.pending_migrations().await,
            Backend::Postgres(s) => s.pending_migrations().await,
        }
    }

    /// Opens, then migrates (when `auto_migrate`) or refuses a database that needs migrating.
    pub async fn open_ready(cfg: &DatabaseConfig) -> Result<Backend, StoreError> {
        let backend = Backend::open(cfg).await?;
        if cfg.auto_migrate {
            backend.migrate().await?;
        } else {
            let pending = backend.pending_migrations().await?;
            if !pending.is_empty() {
                return Err(StoreError::Incompatible(format!(
                    "{} schema migration(s) pending; run `cityloop migrate`",
                    pending.len()
                )));
            }
        }
        Ok(backend)
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(s) => s.clone(),
            Backend::Postgres(s) => s.clone(),
        }
    }
}
