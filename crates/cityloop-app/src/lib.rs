//! cityloop use cases. Each public method of [`App`] is one use case: it authorises the actor through
//! the domain policy, runs in one storage transaction, and writes its audit record in that same
//! transaction. Denials are audited too.

mod audit;
mod auth;
pub mod basedata;
pub mod cases;
pub mod clock;
pub mod demo;
mod error;
pub mod evaluation;
pub mod import;
mod org;
pub mod public;
pub mod rules_io;
mod secret;
pub mod spatial;
pub mod standards;
mod users;

use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use cityloop_domain::password::PasswordPolicy;
use cityloop_domain::policy;
use cityloop_domain::{Action, AreaCode, DataScope, Decision, Subject, Target};
use cityloop_store::{AuditNew, Department, Store, Tx, User};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, AppResult};
use serde_json::json;

pub use auth::{LoginOutcome, NewApiToken};
pub use org::{AreaInput, DepartmentInput, DepartmentPatch};
pub use users::{UserInput, UserPatch};

/// Tunables of the use cases, filled from the configuration file.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub lockout_threshold: i32,
    pub lockout_duration: Duration,
    pub password_policy: PasswordPolicy,
    pub argon2: secret::HashParams,
    pub cases: cases::CasesConfig,
    pub public: public::PublicConfig,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            session_idle: Duration::minutes(30),
            session_absolute: Duration::hours(12),
            lockout_threshold: 5,
            lockout_duration: Duration::minutes(30),
            password_policy: PasswordPolicy::default(),
            argon2: secret::HashParams::default(),
            cases: cases::CasesConfig::default(),
            public: public::PublicConfig::default(),
        }
    }
}

pub use secret::{HashParams, generate_password};

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub user_agent: Option<String>,
}

/// How a principal authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVia {
    Session(i64),
    ApiToken(i64),
}

/// An authenticated user.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub via: AuthVia,
}

/// Who performs a use case: a logged-in user, or the local operator through the CLI (who already holds
/// the database and is therefore not restricted, but is still audited).
#[derive(Debug, Clone)]
pub enum Actor {
    User(Principal),
    System(String),
}

impl Actor {
    fn id(&self) -> Option<i64> {
        match self {
            Actor::User(p) => Some(p.user.id),
            Actor::System(_) => None,
        }
    }

    fn name(&self) -> String {
        match self {
            Actor::User(p) => p.user.username.clone(),
            Actor::System(name) => format!("system:{name}"),
        }
    }
}

pub fn subject_of(user: &User) -> Subject {
    Subject {
        user_id: user.id,
        roles: user.roles.clone(),
        department_id: user.department_id,
        areas: user
            .areas
            .iter()
            .filter_map(|a| AreaCode::parse(a).ok())
            .collect(),
    }
}

/// Identifies the object of an audit record.
pub(crate) struct Obj<'a> {
    pub kind: &'a str,
    pub id: Option<String>,
}

impl<'a> Obj<'a> {
    pub fn new(kind: &'a str, id: impl ToString) -> Self {
        Obj {
            kind,
            id: Some(id.to_string()),
        }
    }
    pub fn kind(kind: &'a str) -> Self {
        Obj { kind, id: None }
    }
}

/// Departments as read at an instant.
type DepartmentSnapshot = (DateTime<Utc>, Arc<Vec<Department>>);

pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    cfg: AppConfig,
    /// Verified against when the user name is unknown, so both failures cost the same time.
    dummy_hash: String,
    /// The working calendar, loaded from the database by [`App::prepare`] and after every edit.
    calendar: RwLock<Arc<cityloop_domain::calendar::WorkCalendar>>,
    /// Grids, components and addresses indexed in memory; swapped whole after base-data writes.
    spatial: RwLock<Arc<spatial::SpatialState>>,
    /// The database's `spatial.revision` the spatial state was built at.
    spatial_revision: Mutex<Option<String>>,
    /// The database's `calendar.revision` the calendar was loaded at.
    calendar_revision: Mutex<Option<String>>,
    /// Tunables of the closed loop (a copy of `cfg.cases`, for brevity).
    cases_cfg: cases::CasesConfig,
    rules_cache: cases::rules::RulesCache,
    /// Departments change rarely and every case action needs them.
    department_cache: Mutex<Option<DepartmentSnapshot>>,
    /// Started on the first report.
    intake: std::sync::OnceLock<cases::intake::Intake>,
    blobs: cases::evidence::Blobs,
    /// League tables of finished periods.
    eval_cache: evaluation::EvalCache,
    /// Rate-limit windows of the public endpoints (per instance).
    limiter: public::Limiter,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, cfg: AppConfig) -> AppResult<Self> {
        let dummy_hash = secret::hash_password(&cfg.argon2, "cityloop-timing-equaliser")?;
        let calendar = cityloop_domain::calendar::WorkCalendar::new(Default::default(), [])
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let blobs = cases::evidence::Blobs::open(&cfg.cases.evidence)?;
        Ok(App {
            store,
            clock,
            cases_cfg: cfg.cases.clone(),
            rules_cache: Default::default(),
            department_cache: Mutex::new(None),
            intake: std::sync::OnceLock::new(),
            blobs,
            eval_cache: Default::default(),
            limiter: public::Limiter::default(),
            cfg,
            dummy_hash,
            calendar: RwLock::new(Arc::new(calendar)),
            spatial: RwLock::new(Arc::new(spatial::SpatialState::empty()?)),
            spatial_revision: Mutex::new(None),
            calendar_revision: Mutex::new(None),
        })
    }

    /// The departments, at most a few seconds old (edits here invalidate at once).
    pub(crate) async fn departments_cached(&self) -> AppResult<Arc<Vec<Department>>> {
        let now = self.clock.now();
        if let Some((at, list)) = self
            .department_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            && now >= at
            && now - at < Duration::seconds(5)
        {
            return Ok(list);
        }
        let list = Arc::new(self.departments().await?);
        *self
            .department_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((now, list.clone()));
        Ok(list)
    }

    pub(crate) fn invalidate_departments(&self) {
        *self
            .department_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn config(&self) -> &AppConfig {
        &self.cfg
    }

    /// Storage engine name and schema version, for health checks.
    pub async fn health(&self) -> AppResult<(&'static str, i64)> {
        let version = self.store.schema_version().await?;
        Ok((self.store.engine().as_str(), version))
    }

    /// The single authorization gate. On denial the decision is audited in its own transaction and
    /// the caller gets [`AppError::Forbidden`].
    pub(crate) async fn authorize(
        &self,
        actor: &Actor,
        action: Action,
        target: &Target<'_>,
        obj: Obj<'_>,
        ctx: &Ctx,
    ) -> AppResult<DataScope> {
        let Actor::User(p) = actor else {
            return Ok(DataScope::All);
        };
        if p.user.must_change_password {
            return self
                .deny(actor, action, obj, ctx, "password_change_required")
                .await;
        }
        let subject = subject_of(&p.user);
        match policy::authorize(&subject, action, target) {
            Decision::Allow(scope) => Ok(DataScope::for_decision(&subject, scope)),
            Decision::Deny(reason) => self.deny(actor, action, obj, ctx, reason).await,
        }
    }

    /// Whether `actor` may do `action` on a collection, decided by the same policy as
    /// [`App::authorize`] but without auditing: for choosing what to show or list, not for
    /// performing the action (which still goes through `authorize`).
    /// Like [`App::permits`], but only for a grant over every case, area and department: pages
    /// that show the whole city (the command centre) need more than a scoped grant.
    pub fn permits_citywide(&self, actor: &Actor, action: Action) -> bool {
        match actor {
            Actor::System(_) => true,
            Actor::User(p) => {
                !p.user.must_change_password
                    && matches!(
                        policy::authorize(&subject_of(&p.user), action, &Target::Collection),
                        Decision::Allow(policy::Scope::All)
                    )
            }
        }
    }

    pub fn permits(&self, actor: &Actor, action: Action) -> bool {
        match actor {
            Actor::System(_) => true,
            Actor::User(p) => {
                !p.user.must_change_password
                    && matches!(
                        policy::authorize(&subject_of(&p.user), action, &Target::Collection),
                        Decision::Allow(_)
                    )
            }
        }
    }

    async fn deny<T>(
        &self,
        actor: &Actor,
        action: Action,
        obj: Obj<'_>,
        ctx: &Ctx,
        reason: &str,
    ) -> AppResult<T> {
        let mut tx = self.store.write().await?;
        self.audit(
            tx.as_mut(),
            actor,
            action.as_str(),
            obj,
            "denied",
            ctx,
            json!({ "reason": reason }),
        )
        .await?;
        tx.commit().await?;
        if reason == "password_change_required" {
            return Err(AppError::PasswordChangeRequired);
        }
        Err(AppError::Forbidden(reason.to_owned()))
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one audit record has this many facts"
    )]
    pub(crate) async fn audit(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        action: &str,
        obj: Obj<'_>,
        result: &str,
        ctx: &Ctx,
        detail: serde_json::Value,
    ) -> AppResult<()> {
        tx.append_audit(&AuditNew {
            at: self.clock.now(),
            actor_id: actor.id(),
            actor_name: actor.name(),
            action: action.to_owned(),
            object_type: obj.kind.to_owned(),
            object_id: obj.id,
            result: result.to_owned(),
            ip: ctx.ip.clone(),
            request_id: ctx.request_id.clone(),
            detail,
        })
        .await?;
        Ok(())
    }
}

impl App {
    /// Maps a lost optimistic-concurrency race to a 409 that carries the record as it is now, so the
    /// client can show what changed and retry.
    pub(crate) async fn or_current<T>(
        &self,
        r: cityloop_store::Result<T>,
        kind: &str,
        key: &str,
    ) -> AppResult<T> {
        match r {
            Err(cityloop_store::StoreError::VersionConflict) => Err(AppError::VersionConflict {
                current: self.current_json(kind, key).await,
            }),
            other => Ok(other?),
        }
    }

    async fn current_json(&self, kind: &str, key: &str) -> Option<serde_json::Value> {
        let mut tx = self.store.read().await.ok()?;
        let id = key.parse::<i64>();
        match kind {
            "user" => tx.get_user(id.ok()?).await.ok()?.map(|v| json!(v)),
            "department" => tx.get_department(id.ok()?).await.ok()?.map(|v| json!(v)),
            "area" => tx.get_area(key).await.ok()?.map(|v| json!(v)),
            "rule_set" => tx.get_rule_set(id.ok()?).await.ok()?.map(|v| json!(v)),
            "component" => tx
                .get_components(&[key.to_owned()])
                .await
                .ok()?
                .pop()
                .map(|v| json!(v)),
            "class" => tx
                .list_classes()
                .await
                .ok()?
                .into_iter()
                .find(|c| c.class.class.to_string() == key)
                .map(|v| json!(v)),
            _ => None,
        }
    }
}

/// A department and its ancestors, itself first (for scope checks).
pub(crate) fn department_chain(departments: &[Department], id: Option<i64>) -> Vec<i64> {
    let mut chain = Vec::new();
    let mut next = id;
    while let Some(id) = next {
        if chain.contains(&id) {
            break;
        }
        chain.push(id);
        next = departments
            .iter()
            .find(|d| d.id == id)
            .and_then(|d| d.parent_id);
    }
    chain
}

pub(crate) fn user_visible(scope: &DataScope, departments: &[Department], user: &User) -> bool {
    match scope {
        DataScope::All => true,
        DataScope::Limited {
            department_id,
            areas,
            user_id,
        } => {
            user.id == *user_id
                || department_id
                    .is_some_and(|d| department_chain(departments, user.department_id).contains(&d))
                || user.areas.iter().any(|ua| {
                    AreaCode::parse(ua).is_ok_and(|ua| areas.iter().any(|a| a.contains(&ua)))
                })
        }
    }
}
