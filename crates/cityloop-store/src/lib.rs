//! The storage port. The application layer sees only these traits; `cityloop-store-sqlite` and
//! `cityloop-store-postgres` implement them, and `cityloop-store-tests` holds the one conformance suite
//! both must pass.
//!
//! Every use case runs in one [`Tx`]: [`Store::write`] for anything that changes state (the audit row
//! goes into the same transaction), [`Store::read`] for queries.

mod records;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

pub use records::*;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique or foreign-key constraint refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row changed since it was read (optimistic concurrency).
    #[error("the record was changed by someone else")]
    VersionConflict,
    /// The database cannot be reached or refused the connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database schema is newer than this program, or otherwise unusable.
    #[error("incompatible database: {0}")]
    Incompatible(String),
    #[error("database error: {0}")]
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn engine(&self) -> Engine;
    /// The newest migration applied to the database.
    async fn schema_version(&self) -> Result<i64>;
    /// A read-only transaction (a consistent snapshot on both engines).
    async fn read(&self) -> Result<Box<dyn Tx>>;
    /// A read-write transaction. On SQLite writes are serialised through one connection.
    async fn write(&self) -> Result<Box<dyn Tx>>;
    async fn close(&self);
}

/// One transaction. Dropping it without [`Tx::commit`] rolls it back.
#[async_trait]
pub trait Tx: Send {
    async fn commit(self: Box<Self>) -> Result<()>;

    // --- key/value settings ---
    async fn get_meta(&mut self, key: &str) -> Result<Option<String>>;
    async fn set_meta(&mut self, key: &str, value: &str, now: DateTime<Utc>) -> Result<()>;

    // --- areas ---
    async fn insert_area(&mut self, new: &AreaNew) -> Result<Area>;
    async fn get_area(&mut self, code: &str) -> Result<Option<Area>>;
    async fn list_areas(&mut self) -> Result<Vec<Area>>;
    async fn update_area(&mut self, code: &str, update: &AreaUpdate) -> Result<Area>;
    /// Sets (or clears) an area's boundary; not versioned, like other base-data geometry.
    async fn set_area_geometry(
        &mut self,
        code: &str,
        geometry: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;

    // --- departments ---
    async fn insert_department(&mut self, new: &DepartmentNew) -> Result<Department>;
    async fn get_department(&mut self, id: i64) -> Result<Option<Department>>;
    async fn get_department_by_code(&mut self, code: &str) -> Result<Option<Department>>;
    async fn list_departments(&mut self) -> Result<Vec<Department>>;
    async fn update_department(&mut self, id: i64, update: &DepartmentUpdate)
    -> Result<Department>;

    // --- users ---
    async fn insert_user(&mut self, new: &UserNew) -> Result<User>;
    async fn get_user(&mut self, id: i64) -> Result<Option<User>>;
    /// The user with the stored password hash, for login.
    async fn get_credentials(&mut self, username: &str) -> Result<Option<Credentials>>;
    async fn list_users(&mut self, query: &UserQuery) -> Result<Vec<User>>;
    async fn update_user(&mut self, id: i64, update: &UserUpdate) -> Result<User>;
    async fn set_user_roles(
        &mut self,
        id: i64,
        roles: &[cityloop_domain::Role],
        expected_version: i64,
        now: DateTime<Utc>,
    ) -> Result<User>;
    async fn set_password(&mut self, id: i64, change: &PasswordChange) -> Result<()>;
    /// Failed-login counter and lock; not versioned so that a login never collides with an edit.
    async fn set_login_state(
        &mut self,
        id: i64,
        failed_logins: i32,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<()>;

    // --- login sessions ---
    async fn insert_session(&mut self, new: &SessionNew) -> Result<Session>;
    async fn get_session(&mut self, token_hash: &str) -> Result<Option<Session>>;
    async fn touch_session(&mut self, id: i64, now: DateTime<Utc>) -> Result<()>;
    async fn revoke_session(&mut self, id: i64, now: DateTime<Utc>) -> Result<()>;
    /// Revokes every live session of a user; returns how many.
    async fn revoke_user_sessions(&mut self, user_id: i64, now: DateTime<Utc>) -> Result<u64>;

    // --- API tokens ---
    async fn insert_api_token(&mut self, new: &ApiTokenNew) -> Result<ApiToken>;
    async fn get_api_token(&mut self, token_hash: &str) -> Result<Option<ApiToken>>;
    async fn get_api_token_by_id(&mut self, id: i64) -> Result<Option<ApiToken>>;
    async fn list_api_tokens(&mut self, user_id: i64) -> Result<Vec<ApiToken>>;
    async fn touch_api_token(&mut self, id: i64, now: DateTime<Utc>) -> Result<()>;
    async fn revoke_api_token(&mut self, id: i64, now: DateTime<Utc>) -> Result<()>;

    // --- taxonomy ---
    /// Inserts a class unless one with its key exists; true when inserted.
    async fn insert_class_if_absent(
        &mut self,
        class: &cityloop_domain::taxonomy::TaxonomyClass,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn list_classes(&mut self) -> Result<Vec<StoredClass>>;
    async fn update_class(
        &mut self,
        class: &cityloop_domain::taxonomy::TaxonomyClass,
        expected_version: i64,
        now: DateTime<Utc>,
    ) -> Result<StoredClass>;

    // --- rule sets (published ones are immutable) ---
    async fn next_rule_set_number(&mut self) -> Result<i64>;
    async fn insert_rule_set(&mut self, new: &RuleSetNew) -> Result<RuleSetRecord>;
    async fn get_rule_set(&mut self, id: i64) -> Result<Option<RuleSetRecord>>;
    async fn list_rule_sets(&mut self) -> Result<Vec<RuleSetRecord>>;
    async fn update_rule_set_draft(
        &mut self,
        id: i64,
        name: &str,
        content: &serde_json::Value,
        expected_version: i64,
        now: DateTime<Utc>,
    ) -> Result<RuleSetRecord>;
    async fn publish_rule_set(
        &mut self,
        id: i64,
        effective_from: NaiveDate,
        by: &str,
        expected_version: i64,
        now: DateTime<Utc>,
    ) -> Result<RuleSetRecord>;
    async fn delete_rule_set_draft(&mut self, id: i64) -> Result<()>;

    // --- working calendar ---
    async fn list_calendar_days(&mut self) -> Result<Vec<cityloop_domain::calendar::DayRule>>;
    async fn upsert_calendar_day(
        &mut self,
        day: &cityloop_domain::calendar::DayRule,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// True when there was a rule for that date.
    async fn delete_calendar_day(&mut self, date: NaiveDate) -> Result<bool>;

    // --- unit grids and responsibility grids ---
    /// Inserts or replaces grids by code (version + 1 on replace).
    async fn upsert_grids(&mut self, grids: &[GridUpsert]) -> Result<u64>;
    async fn get_grid(&mut self, code: &str) -> Result<Option<GridRecord>>;
    /// Grids whose bounding box meets `bbox` (all when `None`), ordered by code.
    async fn list_grids(&mut self, bbox: Option<[f64; 4]>) -> Result<Vec<GridRecord>>;
    async fn count_grids(&mut self) -> Result<i64>;
    /// Replaces a responsibility grid with its members and inspectors.
    async fn put_responsibility_grid(
        &mut self,
        r: &ResponsibilityGrid,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn list_responsibility_grids(&mut self) -> Result<Vec<ResponsibilityGrid>>;

    // --- components ---
    /// Inserts or replaces components by id (version + 1 on replace). History is the caller's.
    async fn upsert_components(&mut self, components: &[ComponentUpsert]) -> Result<u64>;
    async fn get_components(&mut self, ids: &[String]) -> Result<Vec<ComponentRecord>>;
    async fn list_components(&mut self, q: &ComponentQuery) -> Result<Vec<ComponentRecord>>;
    /// Replaces one component if it still has `expected_version`.
    async fn update_component(
        &mut self,
        c: &ComponentUpsert,
        expected_version: i64,
    ) -> Result<ComponentRecord>;
    async fn count_components(&mut self) -> Result<i64>;
    /// Every component's id, class and point, for the in-memory index.
    async fn component_points(&mut self) -> Result<Vec<ComponentPoint>>;
    async fn append_component_history(&mut self, changes: &[ComponentChange]) -> Result<()>;
    async fn component_history(&mut self, id: &str) -> Result<Vec<ComponentChange>>;

    // --- standard addresses ---
    /// Inserts addresses, replacing one with the same normalised text.
    async fn upsert_addresses(&mut self, addresses: &[AddressNew]) -> Result<u64>;
    async fn list_addresses(&mut self) -> Result<Vec<AddressRecord>>;

    // --- audit log (append-only: there is no update or delete) ---
    async fn append_audit(&mut self, entry: &AuditNew) -> Result<i64>;
    async fn list_audit(&mut self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
}
