//! The web UI: server-rendered pages (minijinja templates embedded in the binary), htmx for
//! partial refreshes, and small hand-written ES modules for the map, the charts, the action forms
//! and the inspector's offline drafts. Every state change goes through the same JSON API the other
//! clients use (`/api/v1/...`), so authorization, validation and auditing live in one place; page
//! handlers only read through the application services and render.

mod assets;
mod i18n;
pub(crate) mod live;
mod pages;
mod public;
mod templates;

use axum::Router;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use cityloop_app::{Actor, Principal};
use cityloop_domain::Role;

use crate::AppState;
use crate::extract::{Auth, ClientCtx};

pub(crate) use assets::asset_prefix;

/// Cookie holding the UI language (`zh` or `en`); Chinese when absent.
pub const LANG_COOKIE: &str = "cityloop_lang";

/// Routes of the web UI. State-changing requests from pages go to `/api/v1`, which the CSRF
/// layer protects by `Sec-Fetch-Site`/`Origin`; nothing here changes state on GET except the
/// language cookie.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login))
        .route("/lang/{lang}", get(pages::set_lang))
        .route("/workbench", get(pages::workbench))
        .route("/workbench/tasks", get(pages::tasks_fragment))
        .route("/cases", get(pages::cases))
        .route("/cases/{id}", get(pages::case_page))
        .route("/intake", get(pages::intake))
        .route("/m", get(pages::mobile))
        .route("/command", get(pages::command))
        .route("/evaluation", get(pages::evaluation))
        .route("/objections", get(pages::objections))
        .route("/admin", get(pages::admin))
        .route("/admin/{section}", get(pages::admin_section))
        .route("/admin/rules/{id}", get(pages::rule_set_page))
        .route("/ui/live", get(live::events))
        .route("/ui/dashboard", get(live::dashboard))
        .route("/ui/map-cases", get(live::map_cases))
        .route("/assets/{tag}/{*path}", get(assets::serve))
        .merge(public::router())
}

/// UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    fn of(parts: &Parts) -> Lang {
        match CookieJar::from_headers(&parts.headers)
            .get(LANG_COOKIE)
            .map(|c| c.value().to_owned())
            .as_deref()
        {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
}

/// A logged-in user viewing a page. Without a valid session the browser is sent to the login
/// page (instead of the API's 401 JSON), and comes back afterwards.
pub struct Page {
    pub principal: Principal,
    pub lang: Lang,
    pub ctx: cityloop_app::Ctx,
    /// The menu pages the policy lets this user open, decided once per request.
    pub menu: Vec<&'static str>,
}

impl Page {
    pub fn actor(&self) -> Actor {
        Actor::User(self.principal.clone())
    }

    pub fn has(&self, role: Role) -> bool {
        self.principal.user.roles.contains(&role)
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(parts);
        let target = OriginalUri::from_request_parts(parts, state)
            .await
            .map(|u| u.0.to_string())
            .unwrap_or_else(|_| "/".into());
        let ClientCtx(ctx) = ClientCtx::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match Auth::from_request_parts(parts, state).await {
            Ok(Auth(principal)) => Ok(Page {
                menu: pages::menu_of(state, &Actor::User(principal.clone())),
                principal,
                lang,
                ctx,
            }),
            Err(_) => Err(
                Redirect::to(&format!("/login?next={}", i18n::url_encode(&target))).into_response(),
            ),
        }
    }
}

/// Where a user starts: their role's workbench.
pub fn home_of(roles: &[Role]) -> &'static str {
    if roles.iter().any(|r| !r.is_admin()) {
        if roles.iter().all(|r| *r == Role::Inspector) {
            "/m"
        } else if roles == [Role::Leader] {
            "/command"
        } else {
            "/workbench"
        }
    } else {
        "/admin"
    }
}
