//! People: accounts, roles, data scope, passwords.

use cityloop_domain::role::validate_role_set;
use cityloop_domain::{Action, AreaCode, FieldError, Role, Target};
use cityloop_store::{PasswordChange, Tx, User, UserNew, UserQuery, UserUpdate};
use serde_json::json;

use crate::org::{clean_name, clean_phone};
use crate::{Actor, App, AppError, AppResult, Ctx, Obj, department_chain, user_visible};

pub struct UserInput {
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub department_code: Option<String>,
    pub areas: Vec<String>,
    /// Only the CLI (system actor) and security administrators may set roles.
    pub roles: Vec<Role>,
    pub password: String,
    pub must_change_password: bool,
}

pub struct UserPatch {
    pub display_name: Option<String>,
    pub phone: Option<Option<String>>,
    pub department_code: Option<Option<String>>,
    pub areas: Option<Vec<String>>,
    pub active: Option<bool>,
    pub version: i64,
}

fn check_username(u: &str) -> Result<String, FieldError> {
    let u = u.trim();
    let ok_len = (3..=32).contains(&u.len());
    let ok_chars = u
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
    if !ok_len || !ok_chars || !u.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(FieldError::new(
            "username",
            "3 to 32 characters: lower-case letters, digits, _ . -, starting with a letter",
        ));
    }
    Ok(u.to_owned())
}

async fn resolve_department(tx: &mut dyn Tx, code: Option<&str>) -> AppResult<Option<i64>> {
    match code.map(str::trim) {
        None | Some("") => Ok(None),
        Some(code) => Ok(Some(
            tx.get_department_by_code(code)
                .await?
                .ok_or_else(|| FieldError::new("department_code", format!("no department {code}")))?
                .id,
        )),
    }
}

async fn resolve_areas(tx: &mut dyn Tx, areas: &[String]) -> AppResult<Vec<String>> {
    let mut out = Vec::new();
    for a in areas {
        let code = AreaCode::parse(a).map_err(|e| FieldError::new("areas", e.message))?;
        if tx.get_area(code.as_str()).await?.is_none() {
            return Err(FieldError::new("areas", format!("no area {code}")).into());
        }
        if !out.contains(&code.to_string()) {
            out.push(code.to_string());
        }
    }
    out.sort();
    Ok(out)
}

impl App {
    pub async fn list_users(
        &self,
        actor: &Actor,
        query: &UserQuery,
        ctx: &Ctx,
    ) -> AppResult<Vec<User>> {
        let scope = self
            .authorize(
                actor,
                Action::UserRead,
                &Target::Collection,
                Obj::kind("user"),
                ctx,
            )
            .await?;
        let mut tx = self.store.read().await?;
        let departments = tx.list_departments().await?;
        let users = tx.list_users(query).await?;
        Ok(users
            .into_iter()
            .filter(|u| user_visible(&scope, &departments, u))
            .collect())
    }

    pub async fn get_user(&self, actor: &Actor, id: i64, ctx: &Ctx) -> AppResult<User> {
        let (user, chain) = {
            let mut tx = self.store.read().await?;
            let departments = tx.list_departments().await?;
            let user = tx.get_user(id).await?.ok_or(AppError::NotFound("user"))?;
            let chain = department_chain(&departments, user.department_id);
            (user, chain)
        };
        let areas = parsed_areas(&user);
        self.authorize(
            actor,
            Action::UserRead,
            &Target::User {
                id,
                department_chain: &chain,
                areas: &areas,
            },
            Obj::new("user", id),
            ctx,
        )
        .await?;
        Ok(user)
    }

    pub async fn create_user(&self, actor: &Actor, input: UserInput, ctx: &Ctx) -> AppResult<User> {
        let username = check_username(&input.username)?;
        let display_name = clean_name("display_name", &input.display_name, 64)?;
        let phone = clean_phone(input.phone)?;
        let mut roles = input.roles.clone();
        roles.sort();
        roles.dedup();
        if !roles.is_empty() {
            validate_role_set(&roles)?;
        }
        self.cfg.password_policy.check(&input.password, &username)?;
        self.authorize(
            actor,
            Action::UserCreate,
            &Target::Collection,
            Obj::new("user", &username),
            ctx,
        )
        .await?;
        if !roles.is_empty() {
            // Granting roles is the security administrator's power, even at creation.
            self.authorize(
                actor,
                Action::UserSetRoles,
                &Target::Collection,
                Obj::new("user", &username),
                ctx,
            )
            .await?;
        }
        let hash = self.hash(&input.password).await?;
        let mut tx = self.store.write().await?;
        let department_id =
            resolve_department(tx.as_mut(), input.department_code.as_deref()).await?;
        let areas = resolve_areas(tx.as_mut(), &input.areas).await?;
        if tx.get_credentials(&username).await?.is_some() {
            return Err(AppError::Conflict(format!("user {username} exists")));
        }
        let user = tx
            .insert_user(&UserNew {
                username,
                display_name,
                phone,
                department_id,
                password_hash: hash,
                must_change_password: input.must_change_password,
                roles,
                areas,
                now: self.now(),
            })
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            "user.create",
            Obj::new("user", user.id),
            "ok",
            ctx,
            json!(user),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn update_user(
        &self,
        actor: &Actor,
        id: i64,
        patch: UserPatch,
        ctx: &Ctx,
    ) -> AppResult<User> {
        let before = self
            .load_for_admin(actor, id, Action::UserUpdate, ctx)
            .await?;
        let mut tx = self.store.write().await?;
        let current = tx.get_user(id).await?.ok_or(AppError::NotFound("user"))?;
        if current.version != patch.version || current != before {
            return Err(AppError::VersionConflict {
                current: Some(json!(current)),
            });
        }
        let department_id = match &patch.department_code {
            Some(code) => resolve_department(tx.as_mut(), code.as_deref()).await?,
            None => current.department_id,
        };
        let areas = match &patch.areas {
            Some(a) => resolve_areas(tx.as_mut(), a).await?,
            None => current.areas.clone(),
        };
        let update = UserUpdate {
            display_name: match &patch.display_name {
                Some(n) => clean_name("display_name", n, 64)?,
                None => current.display_name.clone(),
            },
            phone: match patch.phone {
                Some(p) => clean_phone(p)?,
                None => current.phone.clone(),
            },
            department_id,
            active: patch.active.unwrap_or(current.active),
            areas,
            expected_version: patch.version,
            now: self.now(),
        };
        let after = self
            .or_current(tx.update_user(id, &update).await, "user", &id.to_string())
            .await?;
        if current.active && !after.active {
            tx.revoke_user_sessions(id, self.now()).await?;
        }
        self.audit(
            tx.as_mut(),
            actor,
            "user.update",
            Obj::new("user", id),
            "ok",
            ctx,
            json!({ "before": current, "after": after }),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn set_user_roles(
        &self,
        actor: &Actor,
        id: i64,
        roles: Vec<Role>,
        version: i64,
        ctx: &Ctx,
    ) -> AppResult<User> {
        let mut roles = roles;
        roles.sort();
        roles.dedup();
        validate_role_set(&roles)?;
        self.load_for_admin(actor, id, Action::UserSetRoles, ctx)
            .await?;
        let mut tx = self.store.write().await?;
        let current = tx.get_user(id).await?.ok_or(AppError::NotFound("user"))?;
        if current.version != version {
            return Err(AppError::VersionConflict {
                current: Some(json!(current)),
            });
        }
        let after = self
            .or_current(
                tx.set_user_roles(id, &roles, version, self.now()).await,
                "user",
                &id.to_string(),
            )
            .await?;
        // A changed role set takes effect at once: sessions with the old roles end.
        tx.revoke_user_sessions(id, self.now()).await?;
        self.audit(
            tx.as_mut(),
            actor,
            "user.set_roles",
            Obj::new("user", id),
            "ok",
            ctx,
            json!({ "before": current.roles, "after": after.roles }),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Sets a new password for someone else; they must change it at next login.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        id: i64,
        password: &str,
        ctx: &Ctx,
    ) -> AppResult<()> {
        let user = self
            .load_for_admin(actor, id, Action::UserResetPassword, ctx)
            .await?;
        self.cfg.password_policy.check(password, &user.username)?;
        let hash = self.hash(password).await?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        tx.set_password(
            id,
            &PasswordChange {
                password_hash: hash,
                must_change_password: matches!(actor, Actor::User(_)),
                now,
            },
        )
        .await?;
        let revoked = tx.revoke_user_sessions(id, now).await?;
        self.audit(
            tx.as_mut(),
            actor,
            "user.reset_password",
            Obj::new("user", id),
            "ok",
            ctx,
            json!({ "sessions_revoked": revoked }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn unlock_user(&self, actor: &Actor, id: i64, ctx: &Ctx) -> AppResult<()> {
        self.load_for_admin(actor, id, Action::UserUnlock, ctx)
            .await?;
        let mut tx = self.store.write().await?;
        tx.set_login_state(id, 0, None).await?;
        self.audit(
            tx.as_mut(),
            actor,
            "user.unlock",
            Obj::new("user", id),
            "ok",
            ctx,
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user by user name, if the actor may see them.
    pub async fn find_user_by_name(
        &self,
        actor: &Actor,
        username: &str,
        ctx: &Ctx,
    ) -> AppResult<Option<User>> {
        let id = {
            let mut tx = self.store.read().await?;
            tx.get_credentials(username).await?.map(|c| c.user.id)
        };
        match id {
            Some(id) => self.get_user(actor, id, ctx).await.map(Some),
            None => Ok(None),
        }
    }

    /// Loads a user and authorises `action` on them.
    async fn load_for_admin(
        &self,
        actor: &Actor,
        id: i64,
        action: Action,
        ctx: &Ctx,
    ) -> AppResult<User> {
        let (user, chain) = {
            let mut tx = self.store.read().await?;
            let departments = tx.list_departments().await?;
            let user = tx.get_user(id).await?.ok_or(AppError::NotFound("user"))?;
            let chain = department_chain(&departments, user.department_id);
            (user, chain)
        };
        let areas = parsed_areas(&user);
        self.authorize(
            actor,
            action,
            &Target::User {
                id,
                department_chain: &chain,
                areas: &areas,
            },
            Obj::new("user", id),
            ctx,
        )
        .await?;
        Ok(user)
    }
}

fn parsed_areas(user: &User) -> Vec<AreaCode> {
    user.areas
        .iter()
        .filter_map(|a| AreaCode::parse(a).ok())
        .collect()
}
