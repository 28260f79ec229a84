//! The JSON contract of `/api/v1`. Storage records are never serialised directly: these views decide
//! what leaves the server (no password hashes, phones masked).

use chrono::{DateTime, Utc};
use cityloop_domain::Role;
use cityloop_store::{ApiToken, Area, AuditEntry, Department, User};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Distinguishes an absent field (keep) from `null` (clear).
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Shows the first three and last two digits of a phone number only.
pub fn mask_phone(p: &str) -> String {
    let digits: Vec<char> = p.chars().collect();
    if digits.len() <= 5 {
        return "*".repeat(digits.len());
    }
    let head: String = digits.iter().take(3).collect();
    let tail: String = digits.iter().skip(digits.len() - 2).collect();
    format!("{head}{}{tail}", "*".repeat(digits.len() - 5))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub engine: &'static str,
    pub schema_version: i64,
    pub version: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct RoleView {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
}

impl From<Role> for RoleView {
    fn from(r: Role) -> Self {
        RoleView {
            code: r.as_str(),
            name_zh: r.name_zh(),
            name_en: r.name_en(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AreaView {
    pub code: String,
    pub parent_code: Option<String>,
    /// `district`, `street` or `community`.
    pub level: String,
    pub name: String,
    pub name_en: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<Area> for AreaView {
    fn from(a: Area) -> Self {
        AreaView {
            code: a.code,
            parent_code: a.parent_code,
            level: a.level,
            name: a.name,
            name_en: a.name_en,
            updated_at: a.updated_at,
            version: a.version,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArea {
    /// 6 (district), 9 (street) or 12 (community) digits; the parent must exist.
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchArea {
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
    /// The version read; a stale version gets 409.
    pub version: i64,
}

#[derive(Serialize, ToSchema)]
pub struct DepartmentView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub parent_id: Option<i64>,
    /// `centre`, `department` or `street_office`.
    pub kind: String,
    pub phone: Option<String>,
    pub active: bool,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<Department> for DepartmentView {
    fn from(d: Department) -> Self {
        DepartmentView {
            id: d.id,
            code: d.code,
            name: d.name,
            name_en: d.name_en,
            parent_id: d.parent_id,
            kind: d.kind,
            phone: d.phone,
            active: d.active,
            updated_at: d.updated_at,
            version: d.version,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDepartment {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
    /// Code of the parent department when this is a sub-unit (二级单位).
    #[serde(default)]
    pub parent_code: Option<String>,
    /// `centre`, `department` or `street_office`.
    pub kind: String,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchDepartment {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub name_en: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default)]
    pub active: Option<bool>,
    /// The department a sub-unit belongs to; null or "" makes it a department of its own.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent_code: Option<Option<String>>,
    /// centre, department or street_office.
    #[serde(default)]
    pub kind: Option<String>,
    pub version: i64,
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// Masked.
    pub phone: Option<String>,
    pub department_id: Option<i64>,
    pub roles: Vec<String>,
    pub areas: Vec<String>,
    pub active: bool,
    pub locked: bool,
    pub must_change_password: bool,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl UserView {
    pub fn new(u: User, now: DateTime<Utc>) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            phone: u.phone.as_deref().map(mask_phone),
            department_id: u.department_id,
            roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            areas: u.areas,
            active: u.active,
            locked: u.locked_until.is_some_and(|t| t > now),
            must_change_password: u.must_change_password,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub display_name: String,
    /// Initial password; the user must change it at first login.
    pub password: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub department_code: Option<String>,
    #[serde(default)]
    pub areas: Vec<String>,
    /// Needs the security administrator's power; a system administrator creates users without roles.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub department_code: Option<Option<String>>,
    #[serde(default)]
    pub areas: Option<Vec<String>>,
    #[serde(default)]
    pub active: Option<bool>,
    pub version: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRoles {
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
    pub version: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    pub user: UserView,
    pub role_names: Vec<RoleView>,
    pub department: Option<DepartmentView>,
    /// `session` or `api_token`.
    pub auth: &'static str,
    /// What the user's reads are limited to: `all`, or their department and areas.
    pub scope: ScopeView,
}

#[derive(Serialize, ToSchema)]
pub struct ScopeView {
    pub department_id: Option<i64>,
    pub areas: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// Days until it expires; omit for a token that lasts until revoked.
    #[serde(default)]
    pub valid_days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        TokenView {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// Shown once; send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub info: TokenView,
}

#[derive(Serialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
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
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        AuditView {
            id: e.id,
            at: e.at,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            result: e.result,
            ip: e.ip,
            request_id: e.request_id,
            detail: e.detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("13812345678"), "138******78");
        assert_eq!(mask_phone("110"), "***");
    }
}
