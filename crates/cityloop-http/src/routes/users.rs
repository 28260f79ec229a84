use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cityloop_app::{UserInput, UserPatch};
use cityloop_domain::Role;
use cityloop_store::UserQuery;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::{CreateUser, PatchUser, ResetPassword, SetRoles, UserView};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, ClientCtx};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, patch_user))
        .routes(routes!(set_roles))
        .routes(routes!(reset_password))
        .routes(routes!(unlock))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct UserFilter {
    /// Substring of the user name or display name.
    q: Option<String>,
    role: Option<String>,
    department_id: Option<i64>,
    active: Option<bool>,
}

/// Users the caller may see (their data scope), ordered by user name.
#[utoipa::path(get, path = "/users", tag = "users", params(UserFilter),
    responses((status = 200, body = [UserView]), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(f): Query<UserFilter>,
) -> ApiResult<Json<Vec<UserView>>> {
    let role = f
        .role
        .as_deref()
        .map(str::parse::<Role>)
        .transpose()
        .map_err(cityloop_app::AppError::from)?;
    let q = UserQuery {
        text: f.q.filter(|t| !t.trim().is_empty()),
        role,
        department_id: f.department_id,
        active: f.active,
    };
    let now = s.app.now();
    let users = s.app.list_users(&auth.actor(), &q, &ctx).await?;
    Ok(Json(
        users.into_iter().map(|u| UserView::new(u, now)).collect(),
    ))
}

/// Creates an account (system administrator). Roles need the security administrator.
#[utoipa::path(post, path = "/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = UserView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let input = UserInput {
        username: b.username,
        display_name: b.display_name,
        phone: b.phone,
        department_code: b.department_code,
        areas: b.areas,
        roles: b.roles,
        password: b.password,
        must_change_password: true,
    };
    let u = s.app.create_user(&auth.actor(), input, &ctx).await?;
    Ok((StatusCode::CREATED, Json(UserView::new(u, s.app.now()))))
}

#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
) -> ApiResult<Json<UserView>> {
    let u = s.app.get_user(&auth.actor(), id, &ctx).await?;
    Ok(Json(UserView::new(u, s.app.now())))
}

/// Changes profile, department, areas or the active flag (system administrator). Deactivating ends
/// the user's sessions. A stale `version` gets 409 with the current state.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = PatchUser,
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn patch_user(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PatchUser>,
) -> ApiResult<Json<UserView>> {
    let patch = UserPatch {
        display_name: b.display_name,
        phone: b.phone,
        department_code: b.department_code,
        areas: b.areas,
        active: b.active,
        version: b.version,
    };
    let u = s.app.update_user(&auth.actor(), id, patch, &ctx).await?;
    Ok(Json(UserView::new(u, s.app.now())))
}

/// Replaces the user's roles (security administrator); their sessions end.
#[utoipa::path(put, path = "/users/{id}/roles", tag = "users", params(("id" = i64, Path)), request_body = SetRoles,
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_roles(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<SetRoles>,
) -> ApiResult<Json<UserView>> {
    let u = s
        .app
        .set_user_roles(&auth.actor(), id, b.roles, b.version, &ctx)
        .await?;
    Ok(Json(UserView::new(u, s.app.now())))
}

/// Sets a temporary password (security administrator); the user must change it at next login.
#[utoipa::path(put, path = "/users/{id}/password", tag = "users", params(("id" = i64, Path)), request_body = ResetPassword,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reset_password(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ResetPassword>,
) -> ApiResult<StatusCode> {
    s.app
        .reset_password(&auth.actor(), id, &b.password, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lifts a login lockout (security administrator).
#[utoipa::path(post, path = "/users/{id}/unlock", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody)))]
async fn unlock(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.unlock_user(&auth.actor(), id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
