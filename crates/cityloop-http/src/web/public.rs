//! Citizens' pages, without login: report a problem (`/report`), follow one's own report
//! (`/track/{case}`, `/track/held/{token}`), a case as the public sees it (`/p/{case}`) and the
//! map of open and recently closed cases (`/map`).
//!
//! The pages render only what the public JSON API already publishes (`PublicCaseView`: no
//! reporter, no internal notes, a coarse place for sensitive classes), and every change a citizen
//! makes goes through `/api/v1/public/...` from the page's script. The reporter's follow-up
//! secret travels in the URL fragment (`#t=...`), which browsers never send to the server, so it
//! stays out of request logs and `Referer` headers; the page's script reads it from there.

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cityloop_app::Actor;
use minijinja::value::Serde;
use minijinja::{Value, context};
use serde_json::json;

use super::templates::render;
use super::{Lang, asset_prefix, i18n};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::ClientCtx;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/report", get(report))
        .route("/track/{id}", get(track))
        .route("/track/held/{token}", get(held))
        .route("/p/{id}", get(case_page))
        .route("/map", get(map))
        .route("/ui/public/streets", get(streets))
}

/// A visitor of the public pages: language and client context, no session.
pub(super) struct Visitor {
    lang: Lang,
    ctx: cityloop_app::Ctx,
    path: String,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(parts);
        let path = OriginalUri::from_request_parts(parts, state)
            .await
            .map(|u| u.0.path().to_owned())
            .unwrap_or_else(|_| "/report".into());
        let ClientCtx(ctx) = ClientCtx::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Visitor { lang, ctx, path })
    }
}

impl Visitor {
    fn en(&self) -> bool {
        self.lang == Lang::En
    }

    fn render(&self, template: &str, active: &str, extra: Value) -> Response {
        let base = context! {
            lang => self.lang.code(),
            asset => asset_prefix(),
            labels => Value::from(Serde(i18n::labels_json(self.en()))),
            here => self.path.clone(),
            active => active,
        };
        render(template, context! { ..extra, ..base })
    }

    /// A read error as a page (404 for an unknown case or token).
    fn error(&self, e: impl Into<ApiError>) -> Response {
        let e: ApiError = e.into();
        let mut r = self.render(
            "public/error.html",
            "",
            context! { status => e.status.as_u16(), message => e.body.message.clone() },
        );
        *r.status_mut() = e.status;
        r
    }
}

/// The public texts are written `中文 English` (the JSON API serves both at once); the pages show
/// the half in the visitor's language. The English half starts at the first space followed by
/// an ASCII letter, which no Chinese half contains (department names are Chinese).
fn half(text: &str, en: bool) -> String {
    let split = text
        .char_indices()
        .find(|&(i, c)| c == ' ' && text[i + 1..].starts_with(|n: char| n.is_ascii_alphabetic()))
        .map(|(i, _)| i);
    match split {
        Some(i) if en => text[i + 1..].to_owned(),
        Some(i) => text[..i].to_owned(),
        None => text.to_owned(),
    }
}

async fn report(State(s): State<AppState>, v: Visitor) -> Response {
    if let Err(e) = s.app.public_read_limit(&v.ctx) {
        return v.error(e);
    }
    let classes = match s.app.offered_classes().await {
        Ok(c) => c,
        Err(e) => return v.error(e),
    };
    let en = v.en();
    // Grouped by major class, in code order, with the plain names citizens know.
    let mut sorted = classes;
    sorted.sort_by_key(|c| c.class);
    let mut groups: Vec<serde_json::Value> = Vec::new();
    for c in &sorted {
        let major = if en && !c.major_name_en.is_empty() {
            &c.major_name_en
        } else {
            &c.major_name
        };
        let name = if en && !c.name_en.is_empty() {
            &c.name_en
        } else {
            &c.name
        };
        let item = json!({
            "code": c.class.to_string(),
            "name": name,
            // Searching finds a class by either language's name.
            "keywords": format!("{} {} {} {}", c.name, c.name_en, c.major_name, c.major_name_en).to_lowercase(),
        });
        match groups.last_mut() {
            Some(g) if g["major"] == json!(major) => {
                if let Some(items) = g["items"].as_array_mut() {
                    items.push(item);
                }
            }
            _ => groups.push(json!({"major": major, "items": [item]})),
        }
    }
    v.render(
        "public/report.html",
        "/report",
        context! { groups => Value::from(Serde(&groups)) },
    )
}

/// The public case view with its texts in the visitor's language.
async fn case_view(s: &AppState, v: &Visitor, id: &str) -> Result<serde_json::Value, Response> {
    s.app.public_read_limit(&v.ctx).map_err(|e| v.error(e))?;
    let view = s.app.public_case(id).await.map_err(|e| v.error(e))?;
    let en = v.en();
    let mut out = json!(view);
    out["status_label"] = json!(half(view.status_label, en));
    out["notes"] = json!(
        view.notes
            .iter()
            .map(|n| json!({"at": n.at, "status": n.status, "text": half(&n.text, en)}))
            .collect::<Vec<_>>()
    );
    Ok(out)
}

async fn track(State(s): State<AppState>, v: Visitor, Path(id): Path<String>) -> Response {
    match case_view(&s, &v, &id).await {
        Ok(case) => v.render(
            "public/case.html",
            "",
            context! { case => Value::from(Serde(&case)), tracking => true },
        ),
        Err(r) => r,
    }
}

async fn case_page(State(s): State<AppState>, v: Visitor, Path(id): Path<String>) -> Response {
    match case_view(&s, &v, &id).await {
        Ok(case) => v.render(
            "public/case.html",
            "",
            context! { case => Value::from(Serde(&case)), tracking => false },
        ),
        Err(r) => r,
    }
}

/// A report held for review: says so until a moderator decides, and never pretends it was
/// accepted.
async fn held(State(s): State<AppState>, v: Visitor, Path(token): Path<String>) -> Response {
    if let Err(e) = s.app.public_read_limit(&v.ctx) {
        return v.error(e);
    }
    match s.app.public_submission(&token).await {
        Ok(sub) => v.render(
            "public/held.html",
            "",
            context! { submission => Value::from(Serde(&sub)) },
        ),
        Err(e) => v.error(e),
    }
}

async fn map(v: Visitor) -> Response {
    v.render("public/map.html", "/map", context! {})
}

/// Street boundaries as GeoJSON: the public maps have no tile server, and the streets with
/// their names give a citizen enough to find a place. Boundaries are public information; the
/// read is made as the system, like the other public reads.
async fn streets(State(s): State<AppState>, ClientCtx(ctx): ClientCtx) -> Response {
    if let Err(e) = s.app.public_read_limit(&ctx) {
        return ApiError::from(e).into_response();
    }
    match s
        .app
        .area_shapes(&Actor::System("public".into()), "street", Some(13), &ctx)
        .await
    {
        Ok(fc) => (StatusCode::OK, Json(fc)).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::half;

    #[test]
    fn bilingual_texts_split_by_language() {
        assert_eq!(half("已收到上报 Report received", false), "已收到上报");
        assert_eq!(half("已收到上报 Report received", true), "Report received");
        assert_eq!(
            half("已派遣至市政 Dispatched to 市政", true),
            "Dispatched to 市政"
        );
        assert_eq!(
            half("已派遣至市政 Dispatched to 市政", false),
            "已派遣至市政"
        );
        assert_eq!(half("无英文", true), "无英文");
    }
}
