use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use cityloop_app::{AuthVia, subject_of};
use cityloop_domain::Role;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::{
    ChangePassword, CreateToken, CreatedToken, DepartmentView, Login, RoleView, ScopeView,
    TokenView, UserView, WhoAmI,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, ClientCtx, SESSION_COOKIE};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(whoami))
        .routes(routes!(change_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(roles))
}

/// Logs in; sets an HttpOnly session cookie and returns the user.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody, description = "invalid_credentials")))]
async fn login(
    State(s): State<AppState>,
    jar: CookieJar,
    ClientCtx(ctx): ClientCtx,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult<impl IntoResponse> {
    let out = s.app.login(&body.username, &body.password, &ctx).await?;
    let cookie = Cookie::build((SESSION_COOKIE, out.token))
        .http_only(true)
        .secure(s.http.cookie_secure)
        .same_site(SameSite::Lax)
        .path("/")
        .build();
    let principal = cityloop_app::Principal {
        user: out.user,
        via: AuthVia::Session(out.session.id),
    };
    let me = whoami_of(&s, principal).await?;
    Ok((jar.add(cookie), Json(me)))
}

/// Ends the current session (or revokes the bearer token used) and clears the cookie.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(
    State(s): State<AppState>,
    jar: CookieJar,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
) -> ApiResult<impl IntoResponse> {
    s.app.logout(&auth.0, &ctx).await?;
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, StatusCode::NO_CONTENT))
}

/// The caller: account, roles, department and data scope.
#[utoipa::path(get, path = "/auth/whoami", tag = "auth", responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody)))]
async fn whoami(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<WhoAmI>> {
    Ok(Json(whoami_of(&s, auth.0).await?))
}

async fn whoami_of(s: &AppState, p: cityloop_app::Principal) -> ApiResult<WhoAmI> {
    let department = match p.user.department_id {
        Some(id) => s.app.department_of(id).await?.map(DepartmentView::from),
        None => None,
    };
    let subject = subject_of(&p.user);
    Ok(WhoAmI {
        role_names: p.user.roles.iter().copied().map(RoleView::from).collect(),
        department,
        auth: match p.via {
            AuthVia::Session(_) => "session",
            AuthVia::ApiToken(_) => "api_token",
        },
        scope: ScopeView {
            department_id: subject.department_id,
            areas: subject.areas.iter().map(|a| a.to_string()).collect(),
        },
        user: UserView::new(p.user, s.app.now()),
    })
}

/// Changes the caller's password; all their sessions end.
#[utoipa::path(post, path = "/auth/password", tag = "auth", request_body = ChangePassword,
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn change_password(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(body): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    s.app
        .change_own_password(&auth.0, &body.current_password, &body.new_password, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/tokens", tag = "auth", responses((status = 200, body = [TokenView])))]
async fn list_tokens(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<TokenView>>> {
    let tokens = s.app.list_api_tokens(&auth.0).await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// Issues a bearer token for the mobile app or an integration. The token is shown once.
#[utoipa::path(post, path = "/tokens", tag = "auth", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = ErrorBody)))]
async fn create_token(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let t = s
        .app
        .create_api_token(&auth.0, &body.name, body.valid_days, &ctx)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: t.token,
            info: t.info.into(),
        }),
    ))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.revoke_api_token(&auth.0, id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The roles with their Chinese and English names.
#[utoipa::path(get, path = "/roles", tag = "auth", responses((status = 200, body = [RoleView])))]
async fn roles(_auth: Auth) -> Json<Vec<RoleView>> {
    Json(Role::ALL.into_iter().map(RoleView::from).collect())
}
