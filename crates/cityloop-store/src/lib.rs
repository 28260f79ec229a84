//! The storage port. The application layer sees only these traits; `cityloop-store-sqlite` and
//! `cityloop-store-postgres` implement them, and `cityloop-store-tests` holds the one conformance suite
//! both must pass.
//!
//! Every use case runs in one [`Tx`]: [`Store::write`] for anything that changes state (the audit row
//! goes into the same transaction), [`Store::read`] for queries.

mod cases;
mod public;
mod records;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

pub use cases::*;
pub use public::*;
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

    // --- cases ---
    /// Reserves `count` consecutive serial numbers for cases reported on `day` (China date,
    /// `YYYYMMDD`) in `district`; returns the first.
    async fn reserve_case_serials(&mut self, day: &str, district: &str, count: i64) -> Result<i64>;
    /// Inserts cases and their `Opened` events (multi-row; one round trip per few hundred).
    async fn insert_cases(&mut self, cases: &[CaseNew]) -> Result<()>;
    /// Appends events of existing cases without touching their state (bulk loads of history
    /// whose final state was stored by `insert_cases`).
    async fn append_case_events(&mut self, events: &[cityloop_domain::case::Event]) -> Result<()>;
    async fn get_case(&mut self, id: &str) -> Result<Option<CaseRecord>>;
    /// Locks the case row for the rest of the transaction on engines that lock rows.
    async fn get_case_for_update(&mut self, id: &str) -> Result<Option<CaseRecord>>;
    async fn get_cases(&mut self, ids: &[String]) -> Result<Vec<CaseRecord>>;
    /// Stores a transition: the new state and its event, or `VersionConflict` if the stored
    /// version is not `expected_version`.
    async fn apply_case_change(&mut self, change: &CaseChange) -> Result<()>;
    /// Updates only the clock columns (no event), if the case is still at `version`.
    async fn set_case_clock(&mut self, id: &str, version: i64, clock: &CaseClock) -> Result<bool>;
    async fn case_events(&mut self, id: &str) -> Result<Vec<cityloop_domain::case::Event>>;
    /// Events of many cases from `since`, oldest first (evaluation, demo checks).
    async fn case_events_since(
        &mut self,
        since: DateTime<Utc>,
        after: Option<(String, i64)>,
        limit: i64,
    ) -> Result<Vec<cityloop_domain::case::Event>>;
    async fn list_cases(&mut self, query: &CaseQuery) -> Result<Vec<CaseRecord>>;
    async fn count_cases(&mut self, query: &CaseQuery) -> Result<i64>;
    /// Open cases reported in a bounding box since an instant (duplicate suggestions).
    async fn open_cases_near(
        &mut self,
        bbox: [f64; 4],
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<CaseRecord>>;
    /// The newest position in the event log (0 when empty): where a live feed starts.
    async fn case_event_seq_max(&mut self) -> Result<i64>;
    /// `(position, case id)` of events written after position `after`, in log order. Positions
    /// grow with every write but, on PostgreSQL, may become visible out of order (transactions
    /// commit in any order): a reader that must not miss one re-reads behind its cursor.
    async fn case_event_feed(&mut self, after: i64, limit: i64) -> Result<Vec<(i64, String)>>;
    /// Open cases whose warning or due time lies in `(from, to]`: the cases whose urgency
    /// changed by the clock alone between two instants.
    async fn open_cases_crossing(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<CaseRecord>>;
    /// Cases whose timer is due, oldest first; on PostgreSQL the rows are locked and rows
    /// locked by another instance are skipped, so two servers never fire the same timer.
    async fn claim_due_timers(&mut self, now: DateTime<Utc>, limit: i64)
    -> Result<Vec<CaseRecord>>;
    /// Cases that can earn evaluation credit in `[from, to)`: reported before `to` and not
    /// closed before `from` (every credit lies between a case's report and its closing, or at a
    /// deadline while it is open).
    async fn evaluation_cases(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<EvalCaseRef>>;
    /// The events of these cases, by case and version.
    async fn events_of_cases(
        &mut self,
        ids: &[String],
    ) -> Result<Vec<cityloop_domain::case::Event>>;
    /// Rollup rows with these (day, kind, id) keys.
    async fn get_rollups(&mut self, keys: &[(String, String, String)]) -> Result<Vec<RollupRow>>;
    /// Inserts or replaces rollup rows; rows whose counters are `{}` are deleted.
    async fn put_rollups(&mut self, rows: &[RollupRow]) -> Result<()>;
    /// Rows of the days `[from, to)` (`YYYY-MM-DD`), optionally of one object kind.
    async fn rollups_between(
        &mut self,
        from: &str,
        to: &str,
        kind: Option<&str>,
    ) -> Result<Vec<RollupRow>>;
    /// Stores a published evaluation (append-only); `id` and `results` are taken as given
    /// except the id, which the database assigns.
    async fn insert_publication(&mut self, p: &PublicationRecord) -> Result<i64>;
    /// Publications, newest first, without their results.
    async fn list_publications(&mut self) -> Result<Vec<PublicationRecord>>;
    async fn get_publication(&mut self, id: i64) -> Result<Option<PublicationRecord>>;
    /// Month sums of the day rollups (`day` holds `YYYY-MM`), same contract as the day methods.
    async fn get_month_rollups(
        &mut self,
        keys: &[(String, String, String)],
    ) -> Result<Vec<RollupRow>>;
    async fn put_month_rollups(&mut self, rows: &[RollupRow]) -> Result<()>;
    /// Month rows of `[from, to)` (`YYYY-MM`), optionally of one object kind.
    async fn month_rollups_between(
        &mut self,
        from: &str,
        to: &str,
        kind: Option<&str>,
    ) -> Result<Vec<RollupRow>>;
    /// The rows of `[from, to)` (day rows, or month rows with `months`) in one string, for bulk
    /// reads: rows separated by U+001E, fields (object kind, object id, counters JSON) by U+001F.
    /// One value instead of one result row per rollup row is what makes long periods fast.
    async fn rollups_packed(
        &mut self,
        months: bool,
        from: &str,
        to: &str,
        kind: Option<&str>,
    ) -> Result<String>;
    /// Sets the revision of these months (`YYYY-MM`).
    async fn bump_rollup_revisions(&mut self, months: &[String], revision: &str) -> Result<()>;
    /// (month, revision) of the months in `[from, to)` that have one.
    async fn rollup_revisions(&mut self, from: &str, to: &str) -> Result<Vec<(String, String)>>;
    /// Stores a user's latest position (replacing the previous one).
    async fn put_position(&mut self, p: &PositionRecord) -> Result<()>;
    /// Latest positions reported at or after `since`, newest first.
    async fn positions_since(&mut self, since: DateTime<Utc>) -> Result<Vec<PositionRecord>>;
    /// Evaluation scheme versions, oldest first.
    async fn list_schemes(&mut self) -> Result<Vec<SchemeRecord>>;
    /// Stores a new version; `Conflict` if the version number is taken.
    async fn insert_scheme(&mut self, s: &SchemeRecord) -> Result<()>;
    /// Publishes a draft; false if it is not a draft (any more).
    async fn publish_scheme(
        &mut self,
        version: i64,
        effective_from: &str,
        by: Option<i64>,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Files an objection; `Conflict` if the same object already has a pending one on the case.
    async fn insert_objection(&mut self, o: &ObjectionRecord) -> Result<i64>;
    async fn get_objection(&mut self, id: i64) -> Result<Option<ObjectionRecord>>;
    /// Newest first.
    async fn list_objections(&mut self, q: &ObjectionQuery) -> Result<Vec<ObjectionRecord>>;
    /// Records the decision on a pending objection; false if it was already decided.
    async fn decide_objection(
        &mut self,
        id: i64,
        status: &str,
        by: Option<i64>,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<bool>;
    async fn insert_case_link(&mut self, link: &CaseLink) -> Result<()>;
    async fn delete_case_link(&mut self, from_case: &str, kind: &str) -> Result<bool>;
    /// Links from or to the case.
    async fn case_links(&mut self, id: &str) -> Result<Vec<CaseLink>>;

    // --- intake idempotency ---
    async fn get_idempotency(
        &mut self,
        owner: i64,
        keys: &[String],
    ) -> Result<Vec<IdempotencyRecord>>;
    async fn insert_idempotency(&mut self, records: &[IdempotencyRecord]) -> Result<()>;
    async fn purge_idempotency(&mut self, before: DateTime<Utc>) -> Result<u64>;

    // --- evidence ---
    async fn insert_blobs(&mut self, blobs: &[BlobRecord]) -> Result<()>;
    async fn get_blobs(&mut self, hashes: &[String]) -> Result<Vec<BlobRecord>>;
    async fn insert_attachments(&mut self, attachments: &[AttachmentRecord]) -> Result<()>;
    async fn case_attachments(&mut self, id: &str) -> Result<Vec<AttachmentRecord>>;
    /// Whether any case references the blob.
    async fn blob_referenced(&mut self, hash: &str) -> Result<bool>;
    /// Blob rows with no attachment, created before `before` (orphan cleanup).
    async fn unreferenced_blobs(
        &mut self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<String>>;
    async fn delete_blobs(&mut self, hashes: &[String]) -> Result<u64>;

    // --- notifications ---
    async fn insert_outbox(&mut self, items: &[OutboxNew]) -> Result<()>;
    /// Undelivered items due for an attempt; locked and skip-locked on PostgreSQL.
    async fn claim_outbox(&mut self, now: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxRecord>>;
    async fn mark_outbox_delivered(&mut self, ids: &[i64], now: DateTime<Utc>) -> Result<()>;
    async fn mark_outbox_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<()>;
    async fn count_outbox_pending(&mut self) -> Result<i64>;
    /// Inserts messages, ignoring ones whose (recipient, dedup_key) exists; returns how many
    /// were new.
    async fn insert_messages(&mut self, messages: &[MessageNew]) -> Result<u64>;
    async fn list_messages(
        &mut self,
        recipients: &[String],
        unread_only: bool,
        limit: i64,
    ) -> Result<Vec<MessageRecord>>;
    async fn mark_messages_read(
        &mut self,
        recipients: &[String],
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<u64>;

    // --- public participation: partners, Open311, follow-up, moderation, 12345 ---
    async fn insert_partner_key(&mut self, new: &PartnerKeyNew) -> Result<PartnerKey>;
    async fn partner_key_by_hash(&mut self, key_hash: &str) -> Result<Option<PartnerKey>>;
    async fn get_partner_key(&mut self, id: i64) -> Result<Option<PartnerKey>>;
    async fn list_partner_keys(&mut self) -> Result<Vec<PartnerKey>>;
    /// False when the key was already revoked or does not exist.
    async fn revoke_partner_key(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool>;
    async fn touch_partner_key(&mut self, id: i64, now: DateTime<Utc>) -> Result<()>;
    /// Keeps the first row of a case (a retried submission finds it in place), except that a
    /// retry's new follow-up secret replaces the one whose answer never reached the reporter.
    async fn insert_public_request(&mut self, r: &PublicRequest) -> Result<()>;
    async fn public_requests(&mut self, case_ids: &[String]) -> Result<Vec<PublicRequest>>;
    /// A repeated (partner, external id) returns the update stored the first time.
    async fn insert_public_update(&mut self, u: &PublicUpdateNew) -> Result<PublicUpdate>;
    /// Updates of these cases, or (without cases) those dated in `[from, to)`, oldest first.
    async fn public_updates(
        &mut self,
        case_ids: Option<&[String]>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<PublicUpdate>>;
    /// A second rating of the same round is a conflict.
    async fn insert_followup(&mut self, f: &FollowupRecord) -> Result<()>;
    async fn followups_of(&mut self, case_id: &str) -> Result<Vec<FollowupRecord>>;
    /// Rated and satisfied counts of ratings given in `[from, to)`, per department or area.
    async fn satisfaction_counts(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        by: SatisfactionBy,
    ) -> Result<Vec<SatisfactionCount>>;
    /// True when this supporter was new.
    async fn add_supporter(
        &mut self,
        case_id: &str,
        who_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn count_supporters(&mut self, case_ids: &[String]) -> Result<Vec<(String, i64)>>;
    async fn insert_moderation(&mut self, new: &ModerationNew) -> Result<ModerationItem>;
    async fn get_moderation(&mut self, id: i64) -> Result<Option<ModerationItem>>;
    async fn moderation_by_token(&mut self, token: &str) -> Result<Option<ModerationItem>>;
    async fn list_moderation(&mut self, status: &str, limit: i64) -> Result<Vec<ModerationItem>>;
    /// Decides a pending item; false when it was no longer pending.
    async fn decide_moderation(
        &mut self,
        id: i64,
        status: &str,
        case_id: Option<&str>,
        decided_by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn insert_hotline_order(&mut self, o: &HotlineOrder) -> Result<()>;
    async fn get_hotline_order(
        &mut self,
        partner_id: i64,
        order_id: &str,
    ) -> Result<Option<HotlineOrder>>;
    async fn hotline_orders_of_case(&mut self, case_id: &str) -> Result<Vec<HotlineOrder>>;
    async fn set_hotline_status(
        &mut self,
        partner_id: i64,
        order_id: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Ids of matching cases, newest report first.
    async fn public_case_ids(&mut self, q: &PublicCaseQuery) -> Result<Vec<String>>;
    /// Forgets the reporter's phone once the follow-up no longer needs it; false when there was
    /// none.
    async fn clear_contact_phone(&mut self, case_id: &str) -> Result<bool>;
}
