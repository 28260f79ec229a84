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
    /// Boundary as a GeoJSON geometry, when known.
    #[serde(skip)]
    pub geometry: Option<String>,
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
    /// The department a sub-unit belongs to (None: a department of its own).
    pub parent_id: Option<i64>,
    pub kind: String,
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

/// A unit grid (单元网格). `geometry` is a GeoJSON geometry in CGCS2000/WGS84 lon/lat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridRecord {
    pub code: String,
    pub community_code: String,
    pub name: Option<String>,
    pub area_m2: f64,
    pub geometry: String,
    pub bbox: [f64; 4],
    /// The geometry as imported, with its declared coordinate system, when it was converted.
    pub raw: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct GridUpsert {
    pub code: String,
    pub community_code: String,
    pub name: Option<String>,
    pub area_m2: f64,
    pub geometry: String,
    /// min lon, min lat, max lon, max lat
    pub bbox: [f64; 4],
    pub raw: Option<serde_json::Value>,
    pub now: DateTime<Utc>,
}

/// A responsibility grid (责任网格): unit grids patrolled by the same inspectors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponsibilityGrid {
    pub code: String,
    pub name: String,
    pub street_code: String,
    pub grid_codes: Vec<String>,
    pub inspector_ids: Vec<i64>,
}

/// A component (部件) with the standard attributes of GB/T 30428.2.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentRecord {
    /// 16-digit 标识码.
    pub id: String,
    /// 4-digit class code (major + minor).
    pub class_code: String,
    pub name: String,
    pub grid_code: Option<String>,
    /// intact, damaged, missing, occupied, abandoned (完好/破损/丢失/占用/废弃)
    pub state: String,
    /// 主管部门
    pub dept_supervisor: Option<String>,
    /// 权属部门
    pub dept_owner: Option<String>,
    /// 养护部门
    pub dept_maintainer: Option<String>,
    /// The point, or a representative point of a line or polygon.
    pub lon: f64,
    pub lat: f64,
    /// GeoJSON geometry for lines and polygons; `None` for points.
    pub geometry: Option<String>,
    pub raw: Option<serde_json::Value>,
    pub initial_date: Option<NaiveDate>,
    pub change_date: Option<NaiveDate>,
    pub data_source: Option<String>,
    pub note: Option<String>,
    pub attributes: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ComponentUpsert {
    pub id: String,
    pub class_code: String,
    pub name: String,
    pub grid_code: Option<String>,
    pub state: String,
    pub dept_supervisor: Option<String>,
    pub dept_owner: Option<String>,
    pub dept_maintainer: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub geometry: Option<String>,
    pub raw: Option<serde_json::Value>,
    pub initial_date: Option<NaiveDate>,
    pub change_date: Option<NaiveDate>,
    pub data_source: Option<String>,
    pub note: Option<String>,
    pub attributes: serde_json::Value,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct ComponentQuery {
    /// min lon, min lat, max lon, max lat
    pub bbox: Option<[f64; 4]>,
    pub class_code: Option<String>,
    pub grid_code: Option<String>,
    pub state: Option<String>,
    /// Keyset paging: ids greater than this.
    pub after_id: Option<String>,
    pub limit: i64,
}

/// One entry of a component's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentChange {
    pub component_id: String,
    pub version: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// create, update, import, retire
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
}

/// What the spatial index needs of a component.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentPoint {
    pub id: String,
    pub class_code: String,
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Clone)]
pub struct AddressNew {
    pub text: String,
    /// The normalised form used for matching; unique.
    pub normalized: String,
    pub road: String,
    pub number: Option<i64>,
    pub lon: f64,
    pub lat: f64,
    pub community_code: Option<String>,
    pub grid_code: Option<String>,
    pub source: String,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddressRecord {
    pub id: i64,
    pub text: String,
    pub normalized: String,
    pub road: String,
    pub number: Option<i64>,
    pub lon: f64,
    pub lat: f64,
    pub community_code: Option<String>,
    pub grid_code: Option<String>,
    pub source: String,
}
