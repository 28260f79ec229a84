//! The template environment: HTML templates from `web/templates`, embedded in release builds.
//! Auto-escaping is on for every template (names end in `.html`), so user text such as case
//! descriptions can only ever appear as text.

use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{AutoEscape, Environment, Value};
use rust_embed::RustEmbed;

use super::i18n;

#[derive(RustEmbed)]
#[folder = "../../web/templates"]
struct Files;

fn build() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    for name in Files::iter() {
        if let Some(file) = Files::get(&name) {
            let text = String::from_utf8_lossy(&file.data).into_owned();
            if let Err(e) = env.add_template_owned(name.to_string(), text) {
                tracing::error!(template = %name, error = %e, "template does not parse");
            }
        }
    }
    env.add_function("tr", i18n::tr);
    env.add_filter("label", i18n::label);
    env.add_filter("role_label", i18n::role_label);
    env.add_filter("local_time", i18n::local_time);
    env.add_filter("worktime", i18n::worktime);
    env
}

/// Renders a template; a template error is logged and shown as a plain 500 page.
pub(super) fn render(name: &str, ctx: Value) -> Response {
    // Debug builds read templates from disk (rust-embed), so rebuilding the environment on every
    // render picks up edits without restarting the server.
    let result = if cfg!(debug_assertions) {
        build().get_template(name).and_then(|t| t.render(ctx))
    } else {
        static ENV: OnceLock<Environment<'static>> = OnceLock::new();
        ENV.get_or_init(build)
            .get_template(name)
            .and_then(|t| t.render(ctx))
    };
    match result {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>500</title><p>页面渲染失败 / The page failed to render.</p>".to_owned()),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    use super::*;

    #[test]
    fn every_template_parses() {
        let env = build();
        let mut n = 0;
        for name in Files::iter() {
            env.get_template(&name)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            n += 1;
        }
        assert!(n >= 5, "only {n} templates");
    }

    #[test]
    fn user_text_is_escaped() {
        let mut env = build();
        env.add_template("t.html", "<p>{{ d }}</p>")
            .expect("parses");
        let out = env
            .get_template("t.html")
            .and_then(|t| t.render(context! { d => "<script>alert(1)</script>" }))
            .expect("renders");
        assert_eq!(out, "<p>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>");
    }

    #[test]
    fn roles_and_sources_have_their_own_wording() {
        let mut env = build();
        env.add_template(
            "t.html",
            "{{ 'inspector'|label }}/{{ 'inspector'|role_label }}/{{ 'ShiftLeader'|role_label }}/{{ 'system'|role_label }}",
        )
        .expect("parses");
        let t = env.get_template("t.html").expect("added");
        let zh = t.render(context! { lang => "zh" }).expect("renders");
        assert_eq!(zh, "监督员上报/监督员/值班长/系统");
        let en = t.render(context! { lang => "en" }).expect("renders");
        assert_eq!(en, "Inspector report/Inspector/Shift leader/System");
    }
}
