//! The SQL both engines share. SQLite (≥ 3.35) and PostgreSQL 15 accept the same text for everything
//! here (`$n` placeholders, `RETURNING`, `ON CONFLICT`), so each statement is written once and the
//! [`Tx`] implementation is stamped out for both concrete sqlx database types by one macro. Only DDL
//! (the migrations) and engine-specific capabilities live in the backend crates.

mod cases;
mod public;
mod rows;

pub use cases::assisting_column;
use cityloop_store::StoreError;
pub use rows::*;
use sqlx::{Database, Transaction};

/// A transaction on either engine.
pub struct SqlTx<DB: Database> {
    pub tx: Transaction<'static, DB>,
}

impl<DB: Database> SqlTx<DB> {
    pub fn new(tx: Transaction<'static, DB>) -> Self {
        Self { tx }
    }
}

/// Maps a driver error onto the storage port's vocabulary.
pub fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) => match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => {
                StoreError::Conflict(format!("duplicate: {}", db.message()))
            }
            sqlx::error::ErrorKind::ForeignKeyViolation => {
                StoreError::Conflict(format!("reference: {}", db.message()))
            }
            _ => StoreError::Other(db.message().to_owned()),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Other(e.to_string()),
    }
}

/// Rows per multi-row statement: 20 columns × 500 stays under SQLite's 32 766 bound parameters.
const BATCH: usize = 500;

fn check_version<T>(row: Option<T>) -> Result<T, StoreError> {
    row.ok_or(StoreError::VersionConflict)
}

/// `LIKE` pattern for a substring search, escaping the pattern characters.
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

macro_rules! impl_tx {
    ($db:ty, $cases:ident) => {
        #[async_trait::async_trait]
        impl cityloop_store::Tx for SqlTx<$db> {
            async fn commit(self: Box<Self>) -> cityloop_store::Result<()> {
                self.tx.commit().await.map_err(map_err)
            }

            async fn get_meta(&mut self, key: &str) -> cityloop_store::Result<Option<String>> {
                sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)
            }

            async fn set_meta(
                &mut self,
                key: &str,
                value: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<()> {
                sqlx::query(
                    "INSERT INTO meta (key, value, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(value)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn insert_area(
                &mut self,
                new: &cityloop_store::AreaNew,
            ) -> cityloop_store::Result<cityloop_store::Area> {
                sqlx::query_as::<_, AreaRow>(
                    "INSERT INTO areas (code, parent_code, level, name, name_en, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6, 1) RETURNING *",
                )
                .bind(&new.code)
                .bind(&new.parent_code)
                .bind(&new.level)
                .bind(&new.name)
                .bind(&new.name_en)
                .bind(new.now)
                .fetch_one(&mut *self.tx)
                .await
                .map(Into::into)
                .map_err(map_err)
            }

            async fn get_area(
                &mut self,
                code: &str,
            ) -> cityloop_store::Result<Option<cityloop_store::Area>> {
                sqlx::query_as::<_, AreaRow>("SELECT * FROM areas WHERE code = $1")
                    .bind(code)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map(|r| r.map(Into::into))
                    .map_err(map_err)
            }

            async fn list_areas(&mut self) -> cityloop_store::Result<Vec<cityloop_store::Area>> {
                sqlx::query_as::<_, AreaRow>("SELECT * FROM areas ORDER BY code")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map(|v| v.into_iter().map(Into::into).collect())
                    .map_err(map_err)
            }

            async fn update_area(
                &mut self,
                code: &str,
                u: &cityloop_store::AreaUpdate,
            ) -> cityloop_store::Result<cityloop_store::Area> {
                let row = sqlx::query_as::<_, AreaRow>(
                    "UPDATE areas SET name = $1, name_en = $2, updated_at = $3, version = version + 1 \
                     WHERE code = $4 AND version = $5 RETURNING *",
                )
                .bind(&u.name)
                .bind(&u.name_en)
                .bind(u.now)
                .bind(code)
                .bind(u.expected_version)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
                check_version(row).map(Into::into)
            }

            async fn set_area_geometry(
                &mut self,
                code: &str,
                geometry: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<()> {
                let n = sqlx::query("UPDATE areas SET geometry = $1, updated_at = $2 WHERE code = $3")
                    .bind(geometry)
                    .bind(now)
                    .bind(code)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                if n == 0 {
                    return Err(cityloop_store::StoreError::NotFound);
                }
                Ok(())
            }

            async fn insert_department(
                &mut self,
                new: &cityloop_store::DepartmentNew,
            ) -> cityloop_store::Result<cityloop_store::Department> {
                sqlx::query_as::<_, DepartmentRow>(
                    "INSERT INTO departments (code, name, name_en, parent_id, kind, phone, active, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, $7, 1) RETURNING *",
                )
                .bind(&new.code)
                .bind(&new.name)
                .bind(&new.name_en)
                .bind(new.parent_id)
                .bind(&new.kind)
                .bind(&new.phone)
                .bind(new.now)
                .fetch_one(&mut *self.tx)
                .await
                .map(Into::into)
                .map_err(map_err)
            }

            async fn get_department(
                &mut self,
                id: i64,
            ) -> cityloop_store::Result<Option<cityloop_store::Department>> {
                sqlx::query_as::<_, DepartmentRow>("SELECT * FROM departments WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map(|r| r.map(Into::into))
                    .map_err(map_err)
            }

            async fn get_department_by_code(
                &mut self,
                code: &str,
            ) -> cityloop_store::Result<Option<cityloop_store::Department>> {
                sqlx::query_as::<_, DepartmentRow>("SELECT * FROM departments WHERE code = $1")
                    .bind(code)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map(|r| r.map(Into::into))
                    .map_err(map_err)
            }

            async fn list_departments(
                &mut self,
            ) -> cityloop_store::Result<Vec<cityloop_store::Department>> {
                sqlx::query_as::<_, DepartmentRow>("SELECT * FROM departments ORDER BY code")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map(|v| v.into_iter().map(Into::into).collect())
                    .map_err(map_err)
            }

            async fn update_department(
                &mut self,
                id: i64,
                u: &cityloop_store::DepartmentUpdate,
            ) -> cityloop_store::Result<cityloop_store::Department> {
                let row = sqlx::query_as::<_, DepartmentRow>(
                    "UPDATE departments SET name = $1, name_en = $2, phone = $3, active = $4, updated_at = $5, \
                     parent_id = $8, kind = $9, version = version + 1 WHERE id = $6 AND version = $7 RETURNING *",
                )
                .bind(&u.name)
                .bind(&u.name_en)
                .bind(&u.phone)
                .bind(u.active)
                .bind(u.now)
                .bind(id)
                .bind(u.expected_version)
                .bind(u.parent_id)
                .bind(&u.kind)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
                check_version(row).map(Into::into)
            }

            async fn insert_user(
                &mut self,
                new: &cityloop_store::UserNew,
            ) -> cityloop_store::Result<cityloop_store::User> {
                let id = sqlx::query_scalar::<_, i64>(
                    "INSERT INTO users (username, display_name, phone, department_id, password_hash, active, \
                     must_change_password, failed_logins, password_changed_at, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, TRUE, $6, 0, $7, $7, $7, 1) RETURNING id",
                )
                .bind(&new.username)
                .bind(&new.display_name)
                .bind(&new.phone)
                .bind(new.department_id)
                .bind(&new.password_hash)
                .bind(new.must_change_password)
                .bind(new.now)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(map_err)?;
                self.replace_roles(id, &new.roles).await?;
                self.replace_areas(id, &new.areas).await?;
                self.load_user(id).await?.ok_or(cityloop_store::StoreError::NotFound)
            }

            async fn get_user(
                &mut self,
                id: i64,
            ) -> cityloop_store::Result<Option<cityloop_store::User>> {
                self.load_user(id).await
            }

            async fn get_credentials(
                &mut self,
                username: &str,
            ) -> cityloop_store::Result<Option<cityloop_store::Credentials>> {
                let row = sqlx::query_as::<_, UserRow>("SELECT * FROM users WHERE username = $1")
                    .bind(username)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                let Some(row) = row else { return Ok(None) };
                let hash = row.password_hash.clone();
                let user = self.attach(vec![row]).await?.pop().ok_or(cityloop_store::StoreError::NotFound)?;
                Ok(Some(cityloop_store::Credentials { user, password_hash: hash }))
            }

            async fn list_users(
                &mut self,
                q: &cityloop_store::UserQuery,
            ) -> cityloop_store::Result<Vec<cityloop_store::User>> {
                let rows = sqlx::query_as::<_, UserRow>(
                    "SELECT * FROM users u WHERE ($1 IS NULL OR u.department_id = $1) \
                     AND ($2 IS NULL OR u.active = $2) \
                     AND ($3 IS NULL OR LOWER(u.username) LIKE $3 ESCAPE '\\' OR LOWER(u.display_name) LIKE $3 ESCAPE '\\') \
                     AND ($4 IS NULL OR EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = $4)) \
                     ORDER BY u.username",
                )
                .bind(q.department_id)
                .bind(q.active)
                .bind(q.text.as_deref().map(like_pattern))
                .bind(q.role.map(|r| r.as_str()))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                self.attach(rows).await
            }

            async fn update_user(
                &mut self,
                id: i64,
                u: &cityloop_store::UserUpdate,
            ) -> cityloop_store::Result<cityloop_store::User> {
                let updated = sqlx::query_scalar::<_, i64>(
                    "UPDATE users SET display_name = $1, phone = $2, department_id = $3, active = $4, \
                     updated_at = $5, version = version + 1 WHERE id = $6 AND version = $7 RETURNING id",
                )
                .bind(&u.display_name)
                .bind(&u.phone)
                .bind(u.department_id)
                .bind(u.active)
                .bind(u.now)
                .bind(id)
                .bind(u.expected_version)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
                check_version(updated)?;
                self.replace_areas(id, &u.areas).await?;
                self.load_user(id).await?.ok_or(cityloop_store::StoreError::NotFound)
            }

            async fn set_user_roles(
                &mut self,
                id: i64,
                roles: &[cityloop_domain::Role],
                expected_version: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<cityloop_store::User> {
                let updated = sqlx::query_scalar::<_, i64>(
                    "UPDATE users SET updated_at = $1, version = version + 1 WHERE id = $2 AND version = $3 RETURNING id",
                )
                .bind(now)
                .bind(id)
                .bind(expected_version)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
                check_version(updated)?;
                self.replace_roles(id, roles).await?;
                self.load_user(id).await?.ok_or(cityloop_store::StoreError::NotFound)
            }

            async fn set_password(
                &mut self,
                id: i64,
                c: &cityloop_store::PasswordChange,
            ) -> cityloop_store::Result<()> {
                let n = sqlx::query(
                    "UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3, \
                     failed_logins = 0, locked_until = NULL, updated_at = $3 WHERE id = $4",
                )
                .bind(&c.password_hash)
                .bind(c.must_change_password)
                .bind(c.now)
                .bind(id)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?
                .rows_affected();
                if n == 0 {
                    return Err(cityloop_store::StoreError::NotFound);
                }
                Ok(())
            }

            async fn set_login_state(
                &mut self,
                id: i64,
                failed_logins: i32,
                locked_until: Option<chrono::DateTime<chrono::Utc>>,
            ) -> cityloop_store::Result<()> {
                sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
                    .bind(failed_logins)
                    .bind(locked_until)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn insert_session(
                &mut self,
                n: &cityloop_store::SessionNew,
            ) -> cityloop_store::Result<cityloop_store::Session> {
                sqlx::query_as::<_, SessionRow>(
                    "INSERT INTO login_sessions (token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent) \
                     VALUES ($1, $2, $3, $3, $4, $5, $6) \
                     RETURNING id, user_id, created_at, last_seen_at, expires_at, revoked_at",
                )
                .bind(&n.token_hash)
                .bind(n.user_id)
                .bind(n.created_at)
                .bind(n.expires_at)
                .bind(&n.ip)
                .bind(&n.user_agent)
                .fetch_one(&mut *self.tx)
                .await
                .map(Into::into)
                .map_err(map_err)
            }

            async fn get_session(
                &mut self,
                token_hash: &str,
            ) -> cityloop_store::Result<Option<cityloop_store::Session>> {
                sqlx::query_as::<_, SessionRow>(
                    "SELECT id, user_id, created_at, last_seen_at, expires_at, revoked_at \
                     FROM login_sessions WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&mut *self.tx)
                .await
                .map(|r| r.map(Into::into))
                .map_err(map_err)
            }

            async fn touch_session(
                &mut self,
                id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<()> {
                sqlx::query("UPDATE login_sessions SET last_seen_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn revoke_session(
                &mut self,
                id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<()> {
                sqlx::query("UPDATE login_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn revoke_user_sessions(
                &mut self,
                user_id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<u64> {
                sqlx::query(
                    "UPDATE login_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(user_id)
                .execute(&mut *self.tx)
                .await
                .map(|r| r.rows_affected())
                .map_err(map_err)
            }

            async fn insert_api_token(
                &mut self,
                n: &cityloop_store::ApiTokenNew,
            ) -> cityloop_store::Result<cityloop_store::ApiToken> {
                sqlx::query_as::<_, ApiTokenRow>(
                    "INSERT INTO api_tokens (token_hash, user_id, name, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5) \
                     RETURNING id, user_id, name, created_at, expires_at, last_used_at, revoked_at",
                )
                .bind(&n.token_hash)
                .bind(n.user_id)
                .bind(&n.name)
                .bind(n.created_at)
                .bind(n.expires_at)
                .fetch_one(&mut *self.tx)
                .await
                .map(Into::into)
                .map_err(map_err)
            }

            async fn get_api_token(
                &mut self,
                token_hash: &str,
            ) -> cityloop_store::Result<Option<cityloop_store::ApiToken>> {
                sqlx::query_as::<_, ApiTokenRow>(
                    "SELECT id, user_id, name, created_at, expires_at, last_used_at, revoked_at \
                     FROM api_tokens WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&mut *self.tx)
                .await
                .map(|r| r.map(Into::into))
                .map_err(map_err)
            }

            async fn get_api_token_by_id(
                &mut self,
                id: i64,
            ) -> cityloop_store::Result<Option<cityloop_store::ApiToken>> {
                sqlx::query_as::<_, ApiTokenRow>(
                    "SELECT id, user_id, name, created_at, expires_at, last_used_at, revoked_at \
                     FROM api_tokens WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await
                .map(|r| r.map(Into::into))
                .map_err(map_err)
            }

            async fn list_api_tokens(
                &mut self,
                user_id: i64,
            ) -> cityloop_store::Result<Vec<cityloop_store::ApiToken>> {
                sqlx::query_as::<_, ApiTokenRow>(
                    "SELECT id, user_id, name, created_at, expires_at, last_used_at, revoked_at \
                     FROM api_tokens WHERE user_id = $1 ORDER BY id",
                )
                .bind(user_id)
                .fetch_all(&mut *self.tx)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            async fn touch_api_token(
                &mut self,
                id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<()> {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn revoke_api_token(
                &mut self,
                id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<()> {
                sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn insert_class_if_absent(
                &mut self,
                c: &cityloop_domain::taxonomy::TaxonomyClass,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<bool> {
                sqlx::query(
                    "INSERT INTO classes (kind, code, major_code, major_name, name, major_name_en, name_en, \
                     confidence, notes, builtin, enabled, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1) ON CONFLICT (kind, code) DO NOTHING",
                )
                .bind(c.class.kind.as_str())
                .bind(c.class.code())
                .bind(c.class.major())
                .bind(&c.major_name)
                .bind(&c.name)
                .bind(&c.major_name_en)
                .bind(&c.name_en)
                .bind(&c.confidence)
                .bind(&c.notes)
                .bind(c.builtin)
                .bind(c.enabled)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map(|r| r.rows_affected() == 1)
                .map_err(map_err)
            }

            async fn list_classes(&mut self) -> cityloop_store::Result<Vec<cityloop_store::StoredClass>> {
                sqlx::query_as::<_, ClassRow>("SELECT * FROM classes ORDER BY kind, code")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(map_err)?
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect()
            }

            async fn update_class(
                &mut self,
                c: &cityloop_domain::taxonomy::TaxonomyClass,
                expected_version: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<cityloop_store::StoredClass> {
                let row = sqlx::query_as::<_, ClassRow>(
                    "UPDATE classes SET major_name = $1, name = $2, major_name_en = $3, name_en = $4, notes = $5, \
                     enabled = $6, updated_at = $7, version = version + 1 \
                     WHERE kind = $8 AND code = $9 AND version = $10 RETURNING *",
                )
                .bind(&c.major_name)
                .bind(&c.name)
                .bind(&c.major_name_en)
                .bind(&c.name_en)
                .bind(&c.notes)
                .bind(c.enabled)
                .bind(now)
                .bind(c.class.kind.as_str())
                .bind(c.class.code())
                .bind(expected_version)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
                check_version(row)?.try_into()
            }

            async fn next_rule_set_number(&mut self) -> cityloop_store::Result<i64> {
                sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(number), 0) + 1 FROM rule_sets")
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(map_err)
            }

            async fn insert_rule_set(
                &mut self,
                n: &cityloop_store::RuleSetNew,
            ) -> cityloop_store::Result<cityloop_store::RuleSetRecord> {
                sqlx::query_as::<_, RuleSetRow>(
                    "INSERT INTO rule_sets (number, name, status, content, based_on, created_at, created_by, updated_at, version) \
                     VALUES ($1, $2, 'draft', $3, $4, $5, $6, $5, 1) RETURNING *",
                )
                .bind(n.number)
                .bind(&n.name)
                .bind(sqlx::types::Json(&n.content))
                .bind(n.based_on)
                .bind(n.now)
                .bind(&n.created_by)
                .fetch_one(&mut *self.tx)
                .await
                .map(Into::into)
                .map_err(map_err)
            }

            async fn get_rule_set(
                &mut self,
                id: i64,
            ) -> cityloop_store::Result<Option<cityloop_store::RuleSetRecord>> {
                sqlx::query_as::<_, RuleSetRow>("SELECT * FROM rule_sets WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map(|r| r.map(Into::into))
                    .map_err(map_err)
            }

            async fn list_rule_sets(&mut self) -> cityloop_store::Result<Vec<cityloop_store::RuleSetRecord>> {
                sqlx::query_as::<_, RuleSetRow>("SELECT * FROM rule_sets ORDER BY number")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map(|v| v.into_iter().map(Into::into).collect())
                    .map_err(map_err)
            }

            async fn update_rule_set_draft(
                &mut self,
                id: i64,
                name: &str,
                content: &serde_json::Value,
                expected_version: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<cityloop_store::RuleSetRecord> {
                let row = sqlx::query_as::<_, RuleSetRow>(
                    "UPDATE rule_sets SET name = $1, content = $2, updated_at = $3, version = version + 1 \
                     WHERE id = $4 AND version = $5 AND status = 'draft' RETURNING *",
                )
                .bind(name)
                .bind(sqlx::types::Json(content))
                .bind(now)
                .bind(id)
                .bind(expected_version)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
                check_version(row).map(Into::into)
            }

            async fn publish_rule_set(
                &mut self,
                id: i64,
                effective_from: chrono::NaiveDate,
                by: &str,
                expected_version: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<cityloop_store::RuleSetRecord> {
                let row = sqlx::query_as::<_, RuleSetRow>(
                    "UPDATE rule_sets SET status = 'published', effective_from = $1, published_at = $2, \
                     published_by = $3, updated_at = $2, version = version + 1 \
                     WHERE id = $4 AND version = $5 AND status = 'draft' RETURNING *",
                )
                .bind(effective_from)
                .bind(now)
                .bind(by)
                .bind(id)
                .bind(expected_version)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
                check_version(row).map(Into::into)
            }

            async fn delete_rule_set_draft(&mut self, id: i64) -> cityloop_store::Result<()> {
                let n = sqlx::query("DELETE FROM rule_sets WHERE id = $1 AND status = 'draft'")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                if n == 0 {
                    return Err(cityloop_store::StoreError::NotFound);
                }
                Ok(())
            }

            async fn list_calendar_days(
                &mut self,
            ) -> cityloop_store::Result<Vec<cityloop_domain::calendar::DayRule>> {
                sqlx::query_as::<_, DayRow>("SELECT date, kind, festival FROM calendar_days ORDER BY date")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(map_err)?
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect()
            }

            async fn upsert_calendar_day(
                &mut self,
                d: &cityloop_domain::calendar::DayRule,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<()> {
                sqlx::query(
                    "INSERT INTO calendar_days (date, kind, festival, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (date) DO UPDATE SET kind = excluded.kind, festival = excluded.festival, \
                     updated_at = excluded.updated_at",
                )
                .bind(d.date)
                .bind(d.kind.as_str())
                .bind(&d.festival)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn delete_calendar_day(&mut self, date: chrono::NaiveDate) -> cityloop_store::Result<bool> {
                sqlx::query("DELETE FROM calendar_days WHERE date = $1")
                    .bind(date)
                    .execute(&mut *self.tx)
                    .await
                    .map(|r| r.rows_affected() == 1)
                    .map_err(map_err)
            }

            async fn upsert_grids(&mut self, grids: &[cityloop_store::GridUpsert]) -> cityloop_store::Result<u64> {
                let mut n = 0;
                for chunk in grids.chunks(BATCH) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO grids (code, community_code, name, area_m2, geometry, min_lon, min_lat, max_lon, \
                         max_lat, raw, created_at, updated_at, version) ",
                    );
                    qb.push_values(chunk, |mut b, g| {
                        b.push_bind(&g.code)
                            .push_bind(&g.community_code)
                            .push_bind(&g.name)
                            .push_bind(g.area_m2)
                            .push_bind(&g.geometry)
                            .push_bind(g.bbox[0])
                            .push_bind(g.bbox[1])
                            .push_bind(g.bbox[2])
                            .push_bind(g.bbox[3])
                            .push_bind(g.raw.as_ref().map(sqlx::types::Json))
                            .push_bind(g.now)
                            .push_bind(g.now)
                            .push_bind(1i64);
                    });
                    qb.push(
                        " ON CONFLICT (code) DO UPDATE SET community_code = excluded.community_code, name = excluded.name, \
                         area_m2 = excluded.area_m2, geometry = excluded.geometry, min_lon = excluded.min_lon, \
                         min_lat = excluded.min_lat, max_lon = excluded.max_lon, max_lat = excluded.max_lat, \
                         raw = excluded.raw, updated_at = excluded.updated_at, version = grids.version + 1",
                    );
                    n += qb.build().execute(&mut *self.tx).await.map_err(map_err)?.rows_affected();
                }
                Ok(n)
            }

            async fn get_grid(&mut self, code: &str) -> cityloop_store::Result<Option<cityloop_store::GridRecord>> {
                sqlx::query_as::<_, GridRow>("SELECT * FROM grids WHERE code = $1")
                    .bind(code)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map(|r| r.map(Into::into))
                    .map_err(map_err)
            }

            async fn list_grids(
                &mut self,
                bbox: Option<[f64; 4]>,
            ) -> cityloop_store::Result<Vec<cityloop_store::GridRecord>> {
                let b = bbox.unwrap_or([-180.0, -90.0, 180.0, 90.0]);
                sqlx::query_as::<_, GridRow>(
                    "SELECT * FROM grids WHERE max_lon >= $1 AND min_lon <= $3 AND max_lat >= $2 AND min_lat <= $4 \
                     ORDER BY code",
                )
                .bind(b[0])
                .bind(b[1])
                .bind(b[2])
                .bind(b[3])
                .fetch_all(&mut *self.tx)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            async fn count_grids(&mut self) -> cityloop_store::Result<i64> {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM grids")
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(map_err)
            }

            async fn put_responsibility_grid(
                &mut self,
                r: &cityloop_store::ResponsibilityGrid,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<()> {
                sqlx::query(
                    "INSERT INTO responsibility_grids (code, name, street_code, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, street_code = excluded.street_code, \
                     updated_at = excluded.updated_at",
                )
                .bind(&r.code)
                .bind(&r.name)
                .bind(&r.street_code)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                for table in ["responsibility_grid_members", "responsibility_grid_inspectors"] {
                    let sql = if table == "responsibility_grid_members" {
                        "DELETE FROM responsibility_grid_members WHERE responsibility_code = $1"
                    } else {
                        "DELETE FROM responsibility_grid_inspectors WHERE responsibility_code = $1"
                    };
                    sqlx::query(sql).bind(&r.code).execute(&mut *self.tx).await.map_err(map_err)?;
                }
                for chunk in r.grid_codes.chunks(BATCH) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO responsibility_grid_members (responsibility_code, grid_code) ",
                    );
                    qb.push_values(chunk, |mut b, g| {
                        b.push_bind(&r.code).push_bind(g);
                    });
                    qb.build().execute(&mut *self.tx).await.map_err(map_err)?;
                }
                for user in &r.inspector_ids {
                    sqlx::query("INSERT INTO responsibility_grid_inspectors (responsibility_code, user_id) VALUES ($1, $2)")
                        .bind(&r.code)
                        .bind(*user)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                }
                Ok(())
            }

            async fn list_responsibility_grids(
                &mut self,
            ) -> cityloop_store::Result<Vec<cityloop_store::ResponsibilityGrid>> {
                let heads = sqlx::query_as::<_, (String, String, String)>(
                    "SELECT code, name, street_code FROM responsibility_grids ORDER BY code",
                )
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                let members = sqlx::query_as::<_, (String, String)>(
                    "SELECT responsibility_code, grid_code FROM responsibility_grid_members ORDER BY grid_code",
                )
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                let inspectors = sqlx::query_as::<_, (String, i64)>(
                    "SELECT responsibility_code, user_id FROM responsibility_grid_inspectors ORDER BY user_id",
                )
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                let mut out: Vec<cityloop_store::ResponsibilityGrid> = heads
                    .into_iter()
                    .map(|(code, name, street_code)| cityloop_store::ResponsibilityGrid {
                        code,
                        name,
                        street_code,
                        grid_codes: Vec::new(),
                        inspector_ids: Vec::new(),
                    })
                    .collect();
                let mut index: std::collections::HashMap<String, usize> =
                    out.iter().enumerate().map(|(i, r)| (r.code.clone(), i)).collect();
                for (code, grid) in members {
                    if let Some(r) = index.get_mut(&code).and_then(|i| out.get_mut(*i)) {
                        r.grid_codes.push(grid);
                    }
                }
                for (code, user) in inspectors {
                    if let Some(r) = index.get_mut(&code).and_then(|i| out.get_mut(*i)) {
                        r.inspector_ids.push(user);
                    }
                }
                Ok(out)
            }

            async fn upsert_components(
                &mut self,
                items: &[cityloop_store::ComponentUpsert],
            ) -> cityloop_store::Result<u64> {
                let mut n = 0;
                for chunk in items.chunks(BATCH) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO components (id, class_code, name, grid_code, state, dept_supervisor, dept_owner, \
                         dept_maintainer, lon, lat, geometry, raw, initial_date, change_date, data_source, note, \
                         attributes, created_at, updated_at, version) ",
                    );
                    qb.push_values(chunk, |mut b, c| {
                        b.push_bind(&c.id)
                            .push_bind(&c.class_code)
                            .push_bind(&c.name)
                            .push_bind(&c.grid_code)
                            .push_bind(&c.state)
                            .push_bind(&c.dept_supervisor)
                            .push_bind(&c.dept_owner)
                            .push_bind(&c.dept_maintainer)
                            .push_bind(c.lon)
                            .push_bind(c.lat)
                            .push_bind(&c.geometry)
                            .push_bind(c.raw.as_ref().map(sqlx::types::Json))
                            .push_bind(c.initial_date)
                            .push_bind(c.change_date)
                            .push_bind(&c.data_source)
                            .push_bind(&c.note)
                            .push_bind(sqlx::types::Json(&c.attributes))
                            .push_bind(c.now)
                            .push_bind(c.now)
                            .push_bind(1i64);
                    });
                    qb.push(
                        " ON CONFLICT (id) DO UPDATE SET class_code = excluded.class_code, name = excluded.name, \
                         grid_code = excluded.grid_code, state = excluded.state, dept_supervisor = excluded.dept_supervisor, \
                         dept_owner = excluded.dept_owner, dept_maintainer = excluded.dept_maintainer, lon = excluded.lon, \
                         lat = excluded.lat, geometry = excluded.geometry, raw = excluded.raw, \
                         initial_date = excluded.initial_date, change_date = excluded.change_date, \
                         data_source = excluded.data_source, note = excluded.note, attributes = excluded.attributes, \
                         updated_at = excluded.updated_at, version = components.version + 1",
                    );
                    n += qb.build().execute(&mut *self.tx).await.map_err(map_err)?.rows_affected();
                }
                Ok(n)
            }

            async fn get_components(
                &mut self,
                ids: &[String],
            ) -> cityloop_store::Result<Vec<cityloop_store::ComponentRecord>> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(BATCH) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT * FROM components WHERE id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id);
                    }
                    qb.push(") ORDER BY id");
                    let rows = qb
                        .build_query_as::<ComponentRow>()
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                    out.extend(rows.into_iter().map(Into::into));
                }
                Ok(out)
            }

            async fn list_components(
                &mut self,
                q: &cityloop_store::ComponentQuery,
            ) -> cityloop_store::Result<Vec<cityloop_store::ComponentRecord>> {
                let b = q.bbox.unwrap_or([-180.0, -90.0, 180.0, 90.0]);
                sqlx::query_as::<_, ComponentRow>(
                    "SELECT * FROM components WHERE lon >= $1 AND lon <= $3 AND lat >= $2 AND lat <= $4 \
                     AND ($5 IS NULL OR class_code = $5) AND ($6 IS NULL OR grid_code = $6) \
                     AND ($7 IS NULL OR state = $7) AND ($8 IS NULL OR id > $8) ORDER BY id LIMIT $9",
                )
                .bind(b[0])
                .bind(b[1])
                .bind(b[2])
                .bind(b[3])
                .bind(&q.class_code)
                .bind(&q.grid_code)
                .bind(&q.state)
                .bind(&q.after_id)
                .bind(q.limit)
                .fetch_all(&mut *self.tx)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            async fn update_component(
                &mut self,
                c: &cityloop_store::ComponentUpsert,
                expected_version: i64,
            ) -> cityloop_store::Result<cityloop_store::ComponentRecord> {
                let row = sqlx::query_as::<_, ComponentRow>(
                    "UPDATE components SET class_code = $1, name = $2, grid_code = $3, state = $4, dept_supervisor = $5, \
                     dept_owner = $6, dept_maintainer = $7, lon = $8, lat = $9, geometry = $10, raw = $11, \
                     initial_date = $12, change_date = $13, data_source = $14, note = $15, attributes = $16, \
                     updated_at = $17, version = version + 1 WHERE id = $18 AND version = $19 RETURNING *",
                )
                .bind(&c.class_code)
                .bind(&c.name)
                .bind(&c.grid_code)
                .bind(&c.state)
                .bind(&c.dept_supervisor)
                .bind(&c.dept_owner)
                .bind(&c.dept_maintainer)
                .bind(c.lon)
                .bind(c.lat)
                .bind(&c.geometry)
                .bind(c.raw.as_ref().map(sqlx::types::Json))
                .bind(c.initial_date)
                .bind(c.change_date)
                .bind(&c.data_source)
                .bind(&c.note)
                .bind(sqlx::types::Json(&c.attributes))
                .bind(c.now)
                .bind(&c.id)
                .bind(expected_version)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
                check_version(row).map(Into::into)
            }

            async fn count_components(&mut self) -> cityloop_store::Result<i64> {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM components")
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(map_err)
            }

            async fn component_points(&mut self) -> cityloop_store::Result<Vec<cityloop_store::ComponentPoint>> {
                sqlx::query_as::<_, (String, String, f64, f64)>("SELECT id, class_code, lon, lat FROM components")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map(|v| {
                        v.into_iter()
                            .map(|(id, class_code, lon, lat)| cityloop_store::ComponentPoint { id, class_code, lon, lat })
                            .collect()
                    })
                    .map_err(map_err)
            }

            async fn append_component_history(
                &mut self,
                changes: &[cityloop_store::ComponentChange],
            ) -> cityloop_store::Result<()> {
                for chunk in changes.chunks(BATCH) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO component_history (component_id, version, at, actor, action, before_state, after_state) ",
                    );
                    qb.push_values(chunk, |mut b, c| {
                        b.push_bind(&c.component_id)
                            .push_bind(c.version)
                            .push_bind(c.at)
                            .push_bind(&c.actor)
                            .push_bind(&c.action)
                            .push_bind(c.before.as_ref().map(sqlx::types::Json))
                            .push_bind(sqlx::types::Json(&c.after));
                    });
                    qb.build().execute(&mut *self.tx).await.map_err(map_err)?;
                }
                Ok(())
            }

            async fn component_history(
                &mut self,
                id: &str,
            ) -> cityloop_store::Result<Vec<cityloop_store::ComponentChange>> {
                sqlx::query_as::<_, ComponentChangeRow>(
                    "SELECT component_id, version, at, actor, action, before_state, after_state FROM component_history \
                     WHERE component_id = $1 ORDER BY version, id",
                )
                .bind(id)
                .fetch_all(&mut *self.tx)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            async fn upsert_addresses(&mut self, items: &[cityloop_store::AddressNew]) -> cityloop_store::Result<u64> {
                let mut n = 0;
                for chunk in items.chunks(BATCH) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO addresses (text, normalized, road, number, lon, lat, community_code, grid_code, \
                         source, created_at) ",
                    );
                    qb.push_values(chunk, |mut b, a| {
                        b.push_bind(&a.text)
                            .push_bind(&a.normalized)
                            .push_bind(&a.road)
                            .push_bind(a.number)
                            .push_bind(a.lon)
                            .push_bind(a.lat)
                            .push_bind(&a.community_code)
                            .push_bind(&a.grid_code)
                            .push_bind(&a.source)
                            .push_bind(a.now);
                    });
                    qb.push(
                        " ON CONFLICT (normalized) DO UPDATE SET text = excluded.text, road = excluded.road, \
                         number = excluded.number, lon = excluded.lon, lat = excluded.lat, \
                         community_code = excluded.community_code, grid_code = excluded.grid_code, source = excluded.source",
                    );
                    n += qb.build().execute(&mut *self.tx).await.map_err(map_err)?.rows_affected();
                }
                Ok(n)
            }

            async fn list_addresses(&mut self) -> cityloop_store::Result<Vec<cityloop_store::AddressRecord>> {
                sqlx::query_as::<_, AddressRow>(
                    "SELECT id, text, normalized, road, number, lon, lat, community_code, grid_code, source \
                     FROM addresses ORDER BY id",
                )
                .fetch_all(&mut *self.tx)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            async fn append_audit(
                &mut self,
                e: &cityloop_store::AuditNew,
            ) -> cityloop_store::Result<i64> {
                sqlx::query_scalar::<_, i64>(
                    "INSERT INTO audit_log (at, actor_id, actor_name, action, object_type, object_id, result, ip, request_id, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(e.at)
                .bind(e.actor_id)
                .bind(&e.actor_name)
                .bind(&e.action)
                .bind(&e.object_type)
                .bind(&e.object_id)
                .bind(&e.result)
                .bind(&e.ip)
                .bind(&e.request_id)
                .bind(sqlx::types::Json(&e.detail))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(map_err)
            }

            async fn list_audit(
                &mut self,
                q: &cityloop_store::AuditQuery,
            ) -> cityloop_store::Result<Vec<cityloop_store::AuditEntry>> {
                sqlx::query_as::<_, AuditRow>(
                    "SELECT * FROM audit_log WHERE ($1 IS NULL OR actor_id = $1) AND ($2 IS NULL OR action = $2) \
                     AND ($3 IS NULL OR result = $3) AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) \
                     AND ($6 IS NULL OR id < $6) ORDER BY id DESC LIMIT $7",
                )
                .bind(q.actor_id)
                .bind(&q.action)
                .bind(&q.result)
                .bind(q.since)
                .bind(q.until)
                .bind(q.before_id)
                .bind(q.limit)
                .fetch_all(&mut *self.tx)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }
            async fn reserve_case_serials(
                &mut self,
                day: &str,
                district: &str,
                count: i64,
            ) -> cityloop_store::Result<i64> {
                cases::$cases::reserve_case_serials(&mut self.tx, day, district, count).await
            }

            async fn insert_cases(&mut self, new: &[cityloop_store::CaseNew]) -> cityloop_store::Result<()> {
                cases::$cases::insert_cases(&mut self.tx, new).await
            }

            async fn evaluation_cases(
                &mut self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<Vec<cityloop_store::EvalCaseRef>> {
                cases::$cases::evaluation_cases(&mut self.tx, from, to).await
            }

            async fn events_of_cases(
                &mut self,
                ids: &[String],
            ) -> cityloop_store::Result<Vec<cityloop_domain::case::Event>> {
                cases::$cases::events_of_cases(&mut self.tx, ids).await
            }

            async fn get_rollups(
                &mut self,
                keys: &[(String, String, String)],
            ) -> cityloop_store::Result<Vec<cityloop_store::RollupRow>> {
                cases::$cases::get_rollups(&mut self.tx, keys).await
            }

            async fn put_rollups(
                &mut self,
                rows: &[cityloop_store::RollupRow],
            ) -> cityloop_store::Result<()> {
                cases::$cases::put_rollups(&mut self.tx, rows).await
            }

            async fn rollups_between(
                &mut self,
                from: &str,
                to: &str,
                kind: Option<&str>,
            ) -> cityloop_store::Result<Vec<cityloop_store::RollupRow>> {
                cases::$cases::rollups_between(&mut self.tx, from, to, kind).await
            }

            async fn get_month_rollups(
                &mut self,
                keys: &[(String, String, String)],
            ) -> cityloop_store::Result<Vec<cityloop_store::RollupRow>> {
                cases::$cases::get_month_rollups(&mut self.tx, keys).await
            }

            async fn put_month_rollups(
                &mut self,
                rows: &[cityloop_store::RollupRow],
            ) -> cityloop_store::Result<()> {
                cases::$cases::put_month_rollups(&mut self.tx, rows).await
            }

            async fn month_rollups_between(
                &mut self,
                from: &str,
                to: &str,
                kind: Option<&str>,
            ) -> cityloop_store::Result<Vec<cityloop_store::RollupRow>> {
                cases::$cases::month_rollups_between(&mut self.tx, from, to, kind).await
            }

            async fn put_position(
                &mut self,
                p: &cityloop_store::PositionRecord,
            ) -> cityloop_store::Result<()> {
                cases::$cases::put_position(&mut self.tx, p).await
            }

            async fn positions_since(
                &mut self,
                since: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<Vec<cityloop_store::PositionRecord>> {
                cases::$cases::positions_since(&mut self.tx, since).await
            }

            async fn rollups_packed(
                &mut self,
                months: bool,
                from: &str,
                to: &str,
                kind: Option<&str>,
            ) -> cityloop_store::Result<String> {
                cases::$cases::rollups_packed(&mut self.tx, months, from, to, kind).await
            }

            async fn bump_rollup_revisions(
                &mut self,
                months: &[String],
                revision: &str,
            ) -> cityloop_store::Result<()> {
                cases::$cases::bump_rollup_revisions(&mut self.tx, months, revision).await
            }

            async fn rollup_revisions(
                &mut self,
                from: &str,
                to: &str,
            ) -> cityloop_store::Result<Vec<(String, String)>> {
                cases::$cases::rollup_revisions(&mut self.tx, from, to).await
            }

            async fn list_schemes(&mut self) -> cityloop_store::Result<Vec<cityloop_store::SchemeRecord>> {
                cases::$cases::list_schemes(&mut self.tx).await
            }

            async fn insert_scheme(&mut self, s: &cityloop_store::SchemeRecord) -> cityloop_store::Result<()> {
                cases::$cases::insert_scheme(&mut self.tx, s).await
            }

            async fn publish_scheme(
                &mut self,
                version: i64,
                effective_from: &str,
                by: Option<i64>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<bool> {
                cases::$cases::publish_scheme(&mut self.tx, version, effective_from, by, at).await
            }

            async fn insert_objection(
                &mut self,
                o: &cityloop_store::ObjectionRecord,
            ) -> cityloop_store::Result<i64> {
                cases::$cases::insert_objection(&mut self.tx, o).await
            }

            async fn get_objection(
                &mut self,
                id: i64,
            ) -> cityloop_store::Result<Option<cityloop_store::ObjectionRecord>> {
                cases::$cases::get_objection(&mut self.tx, id).await
            }

            async fn list_objections(
                &mut self,
                q: &cityloop_store::ObjectionQuery,
            ) -> cityloop_store::Result<Vec<cityloop_store::ObjectionRecord>> {
                cases::$cases::list_objections(&mut self.tx, q).await
            }

            async fn decide_objection(
                &mut self,
                id: i64,
                status: &str,
                by: Option<i64>,
                at: chrono::DateTime<chrono::Utc>,
                note: &str,
            ) -> cityloop_store::Result<bool> {
                cases::$cases::decide_objection(&mut self.tx, id, status, by, at, note).await
            }

            async fn insert_publication(
                &mut self,
                p: &cityloop_store::PublicationRecord,
            ) -> cityloop_store::Result<i64> {
                cases::$cases::insert_publication(&mut self.tx, p).await
            }

            async fn list_publications(
                &mut self,
            ) -> cityloop_store::Result<Vec<cityloop_store::PublicationRecord>> {
                cases::$cases::list_publications(&mut self.tx).await
            }

            async fn get_publication(
                &mut self,
                id: i64,
            ) -> cityloop_store::Result<Option<cityloop_store::PublicationRecord>> {
                cases::$cases::get_publication(&mut self.tx, id).await
            }

            async fn append_case_events(
                &mut self,
                events: &[cityloop_domain::case::Event],
            ) -> cityloop_store::Result<()> {
                cases::$cases::append_case_events(&mut self.tx, events).await
            }

            async fn get_case(&mut self, id: &str) -> cityloop_store::Result<Option<cityloop_store::CaseRecord>> {
                cases::$cases::get_case(&mut self.tx, id).await
            }

            async fn get_case_for_update(
                &mut self,
                id: &str,
            ) -> cityloop_store::Result<Option<cityloop_store::CaseRecord>> {
                cases::$cases::get_case_for_update(&mut self.tx, id).await
            }

            async fn get_cases(&mut self, ids: &[String]) -> cityloop_store::Result<Vec<cityloop_store::CaseRecord>> {
                cases::$cases::get_cases(&mut self.tx, ids).await
            }

            async fn apply_case_change(&mut self, change: &cityloop_store::CaseChange) -> cityloop_store::Result<()> {
                cases::$cases::apply_case_change(&mut self.tx, change).await
            }

            async fn set_case_clock(
                &mut self,
                id: &str,
                version: i64,
                clock: &cityloop_store::CaseClock,
            ) -> cityloop_store::Result<bool> {
                cases::$cases::set_case_clock(&mut self.tx, id, version, clock).await
            }

            async fn case_events(&mut self, id: &str) -> cityloop_store::Result<Vec<cityloop_domain::case::Event>> {
                cases::$cases::case_events(&mut self.tx, id).await
            }

            async fn case_events_since(
                &mut self,
                since: chrono::DateTime<chrono::Utc>,
                after: Option<(String, i64)>,
                limit: i64,
            ) -> cityloop_store::Result<Vec<cityloop_domain::case::Event>> {
                cases::$cases::case_events_since(&mut self.tx, since, after, limit).await
            }

            async fn list_cases(
                &mut self,
                query: &cityloop_store::CaseQuery,
            ) -> cityloop_store::Result<Vec<cityloop_store::CaseRecord>> {
                cases::$cases::list_cases(&mut self.tx, query).await
            }

            async fn count_cases(&mut self, query: &cityloop_store::CaseQuery) -> cityloop_store::Result<i64> {
                cases::$cases::count_cases(&mut self.tx, query).await
            }

            async fn open_cases_near(
                &mut self,
                bbox: [f64; 4],
                since: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> cityloop_store::Result<Vec<cityloop_store::CaseRecord>> {
                cases::$cases::open_cases_near(&mut self.tx, bbox, since, limit).await
            }

            async fn case_event_seq_max(&mut self) -> cityloop_store::Result<i64> {
                cases::$cases::case_event_seq_max(&mut self.tx).await
            }

            async fn case_event_feed(
                &mut self,
                after: i64,
                limit: i64,
            ) -> cityloop_store::Result<Vec<(i64, String)>> {
                cases::$cases::case_event_feed(&mut self.tx, after, limit).await
            }

            async fn open_cases_crossing(
                &mut self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> cityloop_store::Result<Vec<cityloop_store::CaseRecord>> {
                cases::$cases::open_cases_crossing(&mut self.tx, from, to, limit).await
            }

            async fn claim_due_timers(
                &mut self,
                now: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> cityloop_store::Result<Vec<cityloop_store::CaseRecord>> {
                cases::$cases::claim_due_timers(&mut self.tx, now, limit).await
            }

            async fn insert_case_link(&mut self, link: &cityloop_store::CaseLink) -> cityloop_store::Result<()> {
                cases::$cases::insert_case_link(&mut self.tx, link).await
            }

            async fn delete_case_link(&mut self, from_case: &str, kind: &str) -> cityloop_store::Result<bool> {
                cases::$cases::delete_case_link(&mut self.tx, from_case, kind).await
            }

            async fn case_links(&mut self, id: &str) -> cityloop_store::Result<Vec<cityloop_store::CaseLink>> {
                cases::$cases::case_links(&mut self.tx, id).await
            }

            async fn get_idempotency(
                &mut self,
                owner: i64,
                keys: &[String],
            ) -> cityloop_store::Result<Vec<cityloop_store::IdempotencyRecord>> {
                cases::$cases::get_idempotency(&mut self.tx, owner, keys).await
            }

            async fn insert_idempotency(
                &mut self,
                records: &[cityloop_store::IdempotencyRecord],
            ) -> cityloop_store::Result<()> {
                cases::$cases::insert_idempotency(&mut self.tx, records).await
            }

            async fn purge_idempotency(&mut self, before: chrono::DateTime<chrono::Utc>) -> cityloop_store::Result<u64> {
                cases::$cases::purge_idempotency(&mut self.tx, before).await
            }

            async fn insert_blobs(&mut self, blobs: &[cityloop_store::BlobRecord]) -> cityloop_store::Result<()> {
                cases::$cases::insert_blobs(&mut self.tx, blobs).await
            }

            async fn get_blobs(&mut self, hashes: &[String]) -> cityloop_store::Result<Vec<cityloop_store::BlobRecord>> {
                cases::$cases::get_blobs(&mut self.tx, hashes).await
            }

            async fn insert_attachments(
                &mut self,
                attachments: &[cityloop_store::AttachmentRecord],
            ) -> cityloop_store::Result<()> {
                cases::$cases::insert_attachments(&mut self.tx, attachments).await
            }

            async fn case_attachments(
                &mut self,
                id: &str,
            ) -> cityloop_store::Result<Vec<cityloop_store::AttachmentRecord>> {
                cases::$cases::case_attachments(&mut self.tx, id).await
            }

            async fn blob_referenced(&mut self, hash: &str) -> cityloop_store::Result<bool> {
                cases::$cases::blob_referenced(&mut self.tx, hash).await
            }

            async fn unreferenced_blobs(
                &mut self,
                before: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> cityloop_store::Result<Vec<String>> {
                cases::$cases::unreferenced_blobs(&mut self.tx, before, limit).await
            }

            async fn delete_blobs(&mut self, hashes: &[String]) -> cityloop_store::Result<u64> {
                cases::$cases::delete_blobs(&mut self.tx, hashes).await
            }

            async fn insert_outbox(&mut self, items: &[cityloop_store::OutboxNew]) -> cityloop_store::Result<()> {
                cases::$cases::insert_outbox(&mut self.tx, items).await
            }

            async fn claim_outbox(
                &mut self,
                now: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> cityloop_store::Result<Vec<cityloop_store::OutboxRecord>> {
                cases::$cases::claim_outbox(&mut self.tx, now, limit).await
            }

            async fn mark_outbox_delivered(
                &mut self,
                ids: &[i64],
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<()> {
                cases::$cases::mark_outbox_delivered(&mut self.tx, ids, now).await
            }

            async fn mark_outbox_failed(
                &mut self,
                id: i64,
                error: &str,
                retry_at: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<()> {
                cases::$cases::mark_outbox_failed(&mut self.tx, id, error, retry_at).await
            }

            async fn count_outbox_pending(&mut self) -> cityloop_store::Result<i64> {
                cases::$cases::count_outbox_pending(&mut self.tx).await
            }

            async fn insert_messages(&mut self, messages: &[cityloop_store::MessageNew]) -> cityloop_store::Result<u64> {
                cases::$cases::insert_messages(&mut self.tx, messages).await
            }

            async fn list_messages(
                &mut self,
                recipients: &[String],
                unread_only: bool,
                limit: i64,
            ) -> cityloop_store::Result<Vec<cityloop_store::MessageRecord>> {
                cases::$cases::list_messages(&mut self.tx, recipients, unread_only, limit).await
            }

            async fn mark_messages_read(
                &mut self,
                recipients: &[String],
                ids: &[i64],
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<u64> {
                cases::$cases::mark_messages_read(&mut self.tx, recipients, ids, now).await
            }

            // --- public participation ---
            async fn insert_partner_key(&mut self, n: &cityloop_store::PartnerKeyNew) -> cityloop_store::Result<cityloop_store::PartnerKey> {
                public::$cases::insert_partner_key(&mut self.tx, n).await
            }
            async fn partner_key_by_hash(&mut self, h: &str) -> cityloop_store::Result<Option<cityloop_store::PartnerKey>> {
                public::$cases::partner_key_by_hash(&mut self.tx, h).await
            }
            async fn get_partner_key(&mut self, id: i64) -> cityloop_store::Result<Option<cityloop_store::PartnerKey>> {
                public::$cases::get_partner_key(&mut self.tx, id).await
            }
            async fn list_partner_keys(&mut self) -> cityloop_store::Result<Vec<cityloop_store::PartnerKey>> {
                public::$cases::list_partner_keys(&mut self.tx).await
            }
            async fn revoke_partner_key(&mut self, id: i64, now: chrono::DateTime<chrono::Utc>) -> cityloop_store::Result<bool> {
                public::$cases::revoke_partner_key(&mut self.tx, id, now).await
            }
            async fn touch_partner_key(&mut self, id: i64, now: chrono::DateTime<chrono::Utc>) -> cityloop_store::Result<()> {
                public::$cases::touch_partner_key(&mut self.tx, id, now).await
            }
            async fn insert_public_request(&mut self, r: &cityloop_store::PublicRequest) -> cityloop_store::Result<()> {
                public::$cases::insert_public_request(&mut self.tx, r).await
            }
            async fn public_requests(&mut self, ids: &[String]) -> cityloop_store::Result<Vec<cityloop_store::PublicRequest>> {
                public::$cases::public_requests(&mut self.tx, ids).await
            }
            async fn insert_public_update(&mut self, u: &cityloop_store::PublicUpdateNew) -> cityloop_store::Result<cityloop_store::PublicUpdate> {
                public::$cases::insert_public_update(&mut self.tx, u).await
            }
            async fn public_updates(
                &mut self,
                case_ids: Option<&[String]>,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> cityloop_store::Result<Vec<cityloop_store::PublicUpdate>> {
                public::$cases::public_updates(&mut self.tx, case_ids, from, to, limit).await
            }
            async fn insert_followup(&mut self, f: &cityloop_store::FollowupRecord) -> cityloop_store::Result<()> {
                public::$cases::insert_followup(&mut self.tx, f).await
            }
            async fn followups_of(&mut self, case_id: &str) -> cityloop_store::Result<Vec<cityloop_store::FollowupRecord>> {
                public::$cases::followups_of(&mut self.tx, case_id).await
            }
            async fn satisfaction_counts(
                &mut self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                by: cityloop_store::SatisfactionBy,
            ) -> cityloop_store::Result<Vec<cityloop_store::SatisfactionCount>> {
                public::$cases::satisfaction_counts(&mut self.tx, from, to, by).await
            }
            async fn add_supporter(&mut self, case_id: &str, who: &str, now: chrono::DateTime<chrono::Utc>) -> cityloop_store::Result<bool> {
                public::$cases::add_supporter(&mut self.tx, case_id, who, now).await
            }
            async fn count_supporters(&mut self, ids: &[String]) -> cityloop_store::Result<Vec<(String, i64)>> {
                public::$cases::count_supporters(&mut self.tx, ids).await
            }
            async fn insert_moderation(&mut self, n: &cityloop_store::ModerationNew) -> cityloop_store::Result<cityloop_store::ModerationItem> {
                public::$cases::insert_moderation(&mut self.tx, n).await
            }
            async fn get_moderation(&mut self, id: i64) -> cityloop_store::Result<Option<cityloop_store::ModerationItem>> {
                public::$cases::get_moderation(&mut self.tx, id).await
            }
            async fn moderation_by_token(&mut self, token: &str) -> cityloop_store::Result<Option<cityloop_store::ModerationItem>> {
                public::$cases::moderation_by_token(&mut self.tx, token).await
            }
            async fn list_moderation(&mut self, status: &str, limit: i64) -> cityloop_store::Result<Vec<cityloop_store::ModerationItem>> {
                public::$cases::list_moderation(&mut self.tx, status, limit).await
            }
            async fn decide_moderation(
                &mut self,
                id: i64,
                status: &str,
                case_id: Option<&str>,
                decided_by: &str,
                note: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<bool> {
                public::$cases::decide_moderation(&mut self.tx, id, status, case_id, decided_by, note, now).await
            }
            async fn insert_hotline_order(&mut self, o: &cityloop_store::HotlineOrder) -> cityloop_store::Result<()> {
                public::$cases::insert_hotline_order(&mut self.tx, o).await
            }
            async fn get_hotline_order(&mut self, partner_id: i64, order_id: &str) -> cityloop_store::Result<Option<cityloop_store::HotlineOrder>> {
                public::$cases::get_hotline_order(&mut self.tx, partner_id, order_id).await
            }
            async fn hotline_orders_of_case(&mut self, case_id: &str) -> cityloop_store::Result<Vec<cityloop_store::HotlineOrder>> {
                public::$cases::hotline_orders_of_case(&mut self.tx, case_id).await
            }
            async fn set_hotline_status(
                &mut self,
                partner_id: i64,
                order_id: &str,
                status: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> cityloop_store::Result<()> {
                public::$cases::set_hotline_status(&mut self.tx, partner_id, order_id, status, now).await
            }
            async fn public_case_ids(&mut self, q: &cityloop_store::PublicCaseQuery) -> cityloop_store::Result<Vec<String>> {
                public::$cases::public_case_ids(&mut self.tx, q).await
            }
            async fn clear_contact_phone(&mut self, case_id: &str) -> cityloop_store::Result<bool> {
                public::$cases::clear_contact_phone(&mut self.tx, case_id).await
            }
        }

        impl SqlTx<$db> {
            async fn replace_roles(
                &mut self,
                id: i64,
                roles: &[cityloop_domain::Role],
            ) -> cityloop_store::Result<()> {
                sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                for role in roles {
                    sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(id)
                        .bind(role.as_str())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                }
                Ok(())
            }

            async fn replace_areas(&mut self, id: i64, areas: &[String]) -> cityloop_store::Result<()> {
                sqlx::query("DELETE FROM user_areas WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                for area in areas {
                    sqlx::query("INSERT INTO user_areas (user_id, area_code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(id)
                        .bind(area)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                }
                Ok(())
            }

            async fn load_user(&mut self, id: i64) -> cityloop_store::Result<Option<cityloop_store::User>> {
                let row = sqlx::query_as::<_, UserRow>("SELECT * FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                match row {
                    Some(row) => Ok(self.attach(vec![row]).await?.pop()),
                    None => Ok(None),
                }
            }

            /// Adds roles and areas to user rows. One query each for a single user; for a list the
            /// organisation is small enough (thousands of people) to read the link tables whole.
            async fn attach(&mut self, rows: Vec<UserRow>) -> cityloop_store::Result<Vec<cityloop_store::User>> {
                let (roles, areas) = if rows.len() == 1 {
                    let id = rows.first().map(|r| r.id).unwrap_or_default();
                    (
                        sqlx::query_as::<_, (i64, String)>("SELECT user_id, role FROM user_roles WHERE user_id = $1")
                            .bind(id)
                            .fetch_all(&mut *self.tx)
                            .await
                            .map_err(map_err)?,
                        sqlx::query_as::<_, (i64, String)>(
                            "SELECT user_id, area_code FROM user_areas WHERE user_id = $1",
                        )
                        .bind(id)
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(map_err)?,
                    )
                } else {
                    (
                        sqlx::query_as::<_, (i64, String)>("SELECT user_id, role FROM user_roles")
                            .fetch_all(&mut *self.tx)
                            .await
                            .map_err(map_err)?,
                        sqlx::query_as::<_, (i64, String)>("SELECT user_id, area_code FROM user_areas")
                            .fetch_all(&mut *self.tx)
                            .await
                            .map_err(map_err)?,
                    )
                };
                assemble_users(rows, roles, areas)
            }
        }
    };
}

impl_tx!(sqlx::Sqlite, sqlite);
impl_tx!(sqlx::Postgres, postgres);
