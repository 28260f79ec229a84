//! Login, logout, sessions, API tokens and one's own password.

use chrono::{DateTime, Duration, Utc};
use cityloop_store::{ApiToken, ApiTokenNew, PasswordChange, Session, SessionNew, User};
use serde_json::json;

use crate::secret::{self, new_token, token_digest};
use crate::{Actor, App, AppError, AppResult, AuthVia, Ctx, Obj, Principal};

pub const SESSION_PREFIX: &str = "cls_";
pub const API_TOKEN_PREFIX: &str = "clt_";

/// Only refresh `last_seen_at` this often, so that reads do not turn into writes.
const TOUCH_EVERY: Duration = Duration::seconds(60);

pub struct LoginOutcome {
    /// The opaque session token; shown once, stored only as a digest.
    pub token: String,
    pub session: Session,
    pub user: User,
}

pub struct NewApiToken {
    pub token: String,
    pub info: ApiToken,
}

impl App {
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        ctx: &Ctx,
    ) -> AppResult<LoginOutcome> {
        let username = username.trim();
        let creds = {
            let mut tx = self.store.read().await?;
            tx.get_credentials(username).await?
        };
        let hash = creds
            .as_ref()
            .map(|c| c.password_hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let given = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || secret::verify_password(&given, &hash))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;

        let now = self.now();
        let mut tx = self.store.write().await?;
        let actor = Actor::System("login".into());
        let Some(creds) = creds else {
            self.audit(
                tx.as_mut(),
                &actor,
                "auth.login",
                Obj::new("user", username),
                "failed",
                ctx,
                json!({"reason": "unknown_user"}),
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::InvalidCredentials);
        };
        // Re-read inside the write transaction: the counter must not lose concurrent failures.
        let user = tx
            .get_user(creds.user.id)
            .await?
            .ok_or(AppError::InvalidCredentials)?;
        let obj = || Obj::new("user", user.id);
        let locked = user.locked_until.is_some_and(|t| t > now);
        let reason = if !user.active {
            Some("disabled")
        } else if locked {
            Some("locked")
        } else if !matches {
            Some("wrong_password")
        } else {
            None
        };
        if let Some(reason) = reason {
            let mut detail = json!({ "reason": reason });
            if reason == "wrong_password" {
                let failed = user.failed_logins.saturating_add(1);
                let lock =
                    (failed >= self.cfg.lockout_threshold).then(|| now + self.cfg.lockout_duration);
                let (count, lock_until) = if lock.is_some() {
                    (0, lock)
                } else {
                    (failed, None)
                };
                tx.set_login_state(user.id, count, lock_until).await?;
                detail = json!({ "reason": reason, "failed_logins": failed, "locked_until": lock_until });
            }
            self.audit(
                tx.as_mut(),
                &actor,
                "auth.login",
                obj(),
                "failed",
                ctx,
                detail,
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::InvalidCredentials);
        }
        if user.failed_logins != 0 || user.locked_until.is_some() {
            tx.set_login_state(user.id, 0, None).await?;
        }
        let token = new_token(SESSION_PREFIX);
        let session = tx
            .insert_session(&SessionNew {
                token_hash: token_digest(&token),
                user_id: user.id,
                created_at: now,
                expires_at: now + self.cfg.session_absolute,
                ip: ctx.ip.clone(),
                user_agent: ctx.user_agent.clone(),
            })
            .await?;
        let me = Actor::User(Principal {
            user: user.clone(),
            via: AuthVia::Session(session.id),
        });
        self.audit(
            tx.as_mut(),
            &me,
            "auth.login",
            obj(),
            "ok",
            ctx,
            json!({ "session": session.id }),
        )
        .await?;
        tx.commit().await?;
        Ok(LoginOutcome {
            token,
            session,
            user,
        })
    }

    /// Resolves a session cookie or a bearer token to its user. Expired, revoked or unknown tokens
    /// and disabled users give [`AppError::Unauthenticated`].
    pub async fn authenticate(&self, token: &str) -> AppResult<Principal> {
        let now = self.now();
        let digest = token_digest(token);
        let mut tx = self.store.read().await?;
        let (via, user_id, touch) = if token.starts_with(API_TOKEN_PREFIX) {
            let t = tx
                .get_api_token(&digest)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            if t.revoked_at.is_some() || t.expires_at.is_some_and(|e| e <= now) {
                return Err(AppError::Unauthenticated);
            }
            let touch = t.last_used_at.is_none_or(|l| now - l > TOUCH_EVERY);
            (AuthVia::ApiToken(t.id), t.user_id, touch)
        } else {
            let s = tx
                .get_session(&digest)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            if !session_alive(&s, now, self.cfg.session_idle) {
                return Err(AppError::Unauthenticated);
            }
            (
                AuthVia::Session(s.id),
                s.user_id,
                now - s.last_seen_at > TOUCH_EVERY,
            )
        };
        let user = tx
            .get_user(user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        drop(tx);
        if !user.active {
            return Err(AppError::Unauthenticated);
        }
        if touch {
            let mut tx = self.store.write().await?;
            match via {
                AuthVia::Session(id) => tx.touch_session(id, now).await?,
                AuthVia::ApiToken(id) => tx.touch_api_token(id, now).await?,
            }
            tx.commit().await?;
        }
        Ok(Principal { user, via })
    }

    /// Ends the principal's session (or revokes the bearer token it used).
    pub async fn logout(&self, p: &Principal, ctx: &Ctx) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store.write().await?;
        let (kind, id) = match p.via {
            AuthVia::Session(id) => {
                tx.revoke_session(id, now).await?;
                ("session", id)
            }
            AuthVia::ApiToken(id) => {
                tx.revoke_api_token(id, now).await?;
                ("api_token", id)
            }
        };
        let actor = Actor::User(p.clone());
        self.audit(
            tx.as_mut(),
            &actor,
            "auth.logout",
            Obj::new(kind, id),
            "ok",
            ctx,
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes one's own password and ends all of one's sessions.
    pub async fn change_own_password(
        &self,
        p: &Principal,
        current: &str,
        new: &str,
        ctx: &Ctx,
    ) -> AppResult<()> {
        let creds = {
            let mut tx = self.store.read().await?;
            tx.get_credentials(&p.user.username)
                .await?
                .ok_or(AppError::Unauthenticated)?
        };
        let (given, hash) = (current.to_owned(), creds.password_hash.clone());
        let ok = tokio::task::spawn_blocking(move || secret::verify_password(&given, &hash))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let actor = Actor::User(p.clone());
        if !ok {
            let mut tx = self.store.write().await?;
            self.audit(
                tx.as_mut(),
                &actor,
                "auth.change_password",
                Obj::new("user", p.user.id),
                "failed",
                ctx,
                json!({"reason": "wrong_current_password"}),
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::Invalid(cityloop_domain::FieldError::new(
                "current_password",
                "the current password is wrong",
            )));
        }
        self.cfg.password_policy.check(new, &p.user.username)?;
        if new == current {
            return Err(AppError::Invalid(cityloop_domain::FieldError::new(
                "new_password",
                "must differ from the current password",
            )));
        }
        let hash = self.hash(new).await?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        tx.set_password(
            p.user.id,
            &PasswordChange {
                password_hash: hash,
                must_change_password: false,
                now,
            },
        )
        .await?;
        let revoked = tx.revoke_user_sessions(p.user.id, now).await?;
        // Every session ends, this one included: whoever knew the old password is logged out, and the
        // client logs in again with the new one.
        self.audit(
            tx.as_mut(),
            &actor,
            "auth.change_password",
            Obj::new("user", p.user.id),
            "ok",
            ctx,
            json!({ "sessions_revoked": revoked }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_api_token(
        &self,
        p: &Principal,
        name: &str,
        valid_days: Option<i64>,
        ctx: &Ctx,
    ) -> AppResult<NewApiToken> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(cityloop_domain::FieldError::new("name", "1 to 100 characters").into());
        }
        if let Some(d) = valid_days
            && !(1..=3650).contains(&d)
        {
            return Err(cityloop_domain::FieldError::new("valid_days", "1 to 3650").into());
        }
        if p.user.must_change_password {
            return Err(AppError::PasswordChangeRequired);
        }
        let now = self.now();
        let token = new_token(API_TOKEN_PREFIX);
        let mut tx = self.store.write().await?;
        let info = tx
            .insert_api_token(&ApiTokenNew {
                token_hash: token_digest(&token),
                user_id: p.user.id,
                name: name.to_owned(),
                created_at: now,
                expires_at: valid_days.map(|d| now + Duration::days(d)),
            })
            .await?;
        let actor = Actor::User(p.clone());
        self.audit(
            tx.as_mut(),
            &actor,
            "api_token.create",
            Obj::new("api_token", info.id),
            "ok",
            ctx,
            json!({ "name": info.name, "expires_at": info.expires_at }),
        )
        .await?;
        tx.commit().await?;
        Ok(NewApiToken { token, info })
    }

    pub async fn list_api_tokens(&self, p: &Principal) -> AppResult<Vec<ApiToken>> {
        let mut tx = self.store.read().await?;
        Ok(tx.list_api_tokens(p.user.id).await?)
    }

    /// Revokes one of one's own API tokens.
    pub async fn revoke_api_token(&self, p: &Principal, id: i64, ctx: &Ctx) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store.write().await?;
        let token = tx
            .get_api_token_by_id(id)
            .await?
            .filter(|t| t.user_id == p.user.id)
            .ok_or(AppError::NotFound("api token"))?;
        tx.revoke_api_token(token.id, now).await?;
        let actor = Actor::User(p.clone());
        self.audit(
            tx.as_mut(),
            &actor,
            "api_token.revoke",
            Obj::new("api_token", token.id),
            "ok",
            ctx,
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn hash(&self, password: &str) -> AppResult<String> {
        let params = self.cfg.argon2;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || secret::hash_password(&params, &password))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
    }
}

fn session_alive(s: &Session, now: DateTime<Utc>, idle: Duration) -> bool {
    s.revoked_at.is_none() && s.expires_at > now && now - s.last_seen_at <= idle
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn session_lifetimes() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let s = Session {
            id: 1,
            user_id: 1,
            created_at: t0,
            last_seen_at: t0,
            expires_at: t0 + Duration::hours(12),
            revoked_at: None,
        };
        let idle = Duration::minutes(30);
        assert!(session_alive(&s, t0 + Duration::minutes(29), idle));
        assert!(!session_alive(&s, t0 + Duration::minutes(31), idle));
        let busy = Session {
            last_seen_at: t0 + Duration::hours(12),
            ..s.clone()
        };
        assert!(!session_alive(&busy, t0 + Duration::hours(12), idle));
        let revoked = Session {
            revoked_at: Some(t0),
            ..s
        };
        assert!(!session_alive(&revoked, t0, idle));
    }
}
