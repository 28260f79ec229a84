use chrono::{DateTime, NaiveDate, Utc};
use cityloop_domain::Role;
use cityloop_domain::taxonomy::TaxonomyClass;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Area {
    pub code: String,
    pub parent_code: Option<String>,
    pub level: String,
    pub name: String,
    pub name_en: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct AreaNew {
    pub code: String,
    pub parent_code: Option<String>,
    pub level: String,
    pub name: String,
    pub name_en: Option<String>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AreaUpdate {
    pub name: String,
    pub name_en: Option<String>,
    pub expected_version: i64,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Department {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    /// Set for a sub-unit (二级单位) of a department.
    pub parent_id: Option<i64>,
    /// `centre`, `department` or `street_office`.
    pub kind: String,
    pub phone: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct DepartmentNew {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub parent_id: Option<i64>,
    pub kind: String,
    pub phone: Option<String>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct DepartmentUpdate {
    pub name: String,
    pub name_en: Option<String>,
    pub phone: Option<String>,
    pub active: bool,
    pub expected_version: i64,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub department_id: Option<i64>,
    pub active: bool,
    pub must_change_password: bool,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub password_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// Sorted.
    pub roles: Vec<Role>,
    /// Area codes, sorted.
    pub areas: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct UserNew {
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub department_id: Option<i64>,
    pub password_hash: String,
    pub must_change_password: bool,
    pub roles: Vec<Role>,
    pub areas: Vec<String>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct UserUpdate {
    pub display_name: String,
    pub phone: Option<String>,
    pub department_id: Option<i64>,
    pub active: bool,
    pub areas: Vec<String>,
    pub expected_version: i64,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub password_hash: String,
    pub must_change_password: bool,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Substring of the user name or display name.
    pub text: Option<String>,
    pub role: Option<Role>,
    pub department_id: Option<i64>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct SessionNew {
    pub token_hash: String,
    pub user_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: i64,
    pub user_id: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ApiTokenNew {
    pub token_hash: String,
    pub user_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct AuditNew {
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub result: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub result: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor_id: Option<i64>,
    pub action: Option<String>,
    pub result: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Keyset paging: entries with a smaller id (newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredClass {
    #[serde(flatten)]
    pub class: TaxonomyClass,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct RuleSetNew {
    pub number: i64,
    pub name: String,
    /// A serialised `RuleSetContent`.
    pub content: serde_json::Value,
    pub based_on: Option<i64>,
    pub created_by: String,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSetRecord {
    pub id: i64,
    /// Human-facing version number, 1, 2, 3…
    pub number: i64,
    pub name: String,
    /// `draft` or `published`.
    pub status: String,
    pub effective_from: Option<NaiveDate>,
    pub content: serde_json::Value,
    pub based_on: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub published_by: Option<String>,
    pub version: i64,
}
