//! Page handlers: read through the application services (which authorize and scope every read)
//! and render a template. Forms on the pages post to the JSON API.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::REFERER;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{Datelike, Duration};
use cityloop_app::cases::{CaseFilter, CaseSummary};
use cityloop_domain::calendar::CHINA_OFFSET;
use cityloop_domain::case::Source;
use cityloop_domain::{Action, Role};
use cityloop_store::{AuditQuery, UserQuery};
use minijinja::value::Serde;
use minijinja::{Value, context};
use serde::Deserialize;
use serde_json::json;

use super::templates::render;
use super::{LANG_COOKIE, Lang, Page, asset_prefix, home_of, i18n};
use crate::AppState;
use crate::dto::UserView;

/// What a menu page asks of the policy.
enum Need {
    /// Any one of these actions.
    Any(&'static [Action]),
    /// This action over the whole city (not only one's areas or department).
    CityWide(Action),
    /// Recording reports from the desk's channels (hotline, public, media, leader).
    DeskReports,
}

/// (href, 中文, English, the actions the page is for: shown, and opened, when the policy grants
/// any of them). The page handlers ask the same table, so the menu never links a page that
/// refuses its user, nor hides one they may use.
const NAV: &[(&str, &str, &str, Need)] = &[
    (
        "/workbench",
        "工作台",
        "Workbench",
        Need::Any(&[Action::CaseAct]),
    ),
    (
        "/m",
        "城管通",
        "Field app",
        Need::Any(&[Action::PositionReport]),
    ),
    ("/intake", "热线登记", "Hotline entry", Need::DeskReports),
    (
        "/command",
        "监督指挥",
        "Command centre",
        Need::CityWide(Action::CaseRead),
    ),
    (
        "/cases",
        "案件查询",
        "Cases",
        Need::Any(&[Action::CaseRead]),
    ),
    (
        "/evaluation",
        "综合评价",
        "Evaluation",
        Need::Any(&[Action::EvaluationRead]),
    ),
    (
        "/objections",
        "考核申诉",
        "Objections",
        Need::Any(&[
            Action::EvaluationRead,
            Action::EvaluationDecide,
            Action::EvaluationObject,
        ]),
    ),
    (
        "/admin",
        "系统管理",
        "Administration",
        Need::Any(&[
            Action::UserCreate,
            Action::UserUpdate,
            Action::UserSetRoles,
            Action::UserResetPassword,
            Action::UserUnlock,
            Action::AuditRead,
            Action::AreaWrite,
            Action::DepartmentWrite,
            Action::TaxonomyWrite,
            Action::RulesWrite,
            Action::CalendarWrite,
            Action::BaseDataWrite,
            Action::EvaluationConfigure,
            Action::PartnerManage,
        ]),
    ),
];

/// The menu pages the policy lets `actor` open.
pub(super) fn menu_of(s: &AppState, actor: &cityloop_app::Actor) -> Vec<&'static str> {
    NAV.iter()
        .filter(|(.., need)| match need {
            Need::Any(actions) => actions.iter().any(|a| s.app.permits(actor, *a)),
            Need::CityWide(action) => s.app.permits_citywide(actor, *action),
            Need::DeskReports => {
                s.app.permits(actor, Action::CaseReport) && !desk_sources(s, actor).is_empty()
            }
        })
        .map(|(href, ..)| *href)
        .collect()
}

/// The channels the hotline-entry desk records (not the inspector's own reports, which come
/// from the field app) that this user may record.
pub(super) fn desk_sources(s: &AppState, actor: &cityloop_app::Actor) -> Vec<&'static str> {
    s.app
        .reportable_sources(actor)
        .into_iter()
        .filter(|src| {
            matches!(
                src,
                Source::Hotline | Source::Public | Source::Media | Source::Leader
            )
        })
        .map(Source::code)
        .collect()
}

/// The refusal page for a menu page the policy does not grant this user.
fn refuse_unless_permitted(page: &Page, href: &'static str) -> Option<Response> {
    (!page.menu.contains(&href)).then(|| {
        error_page(
            page,
            cityloop_app::AppError::Forbidden("your roles do not allow this page".into()),
        )
    })
}

/// What every page template gets: the user, language, navigation and asset prefix.
fn base(page: &Page, active: &str) -> Value {
    let en = page.lang == Lang::En;
    let roles = &page.principal.user.roles;
    let nav: Vec<_> = NAV
        .iter()
        .filter(|(href, ..)| page.menu.contains(href))
        .map(|(href, zh, e, _)| {
            json!({"href": href, "label": if en { *e } else { *zh }, "active": *href == active})
        })
        .collect();
    let role_names: Vec<&str> = roles
        .iter()
        .map(|r| if en { r.name_en() } else { r.name_zh() })
        .collect();
    context! {
        lang => page.lang.code(),
        asset => asset_prefix(),
        nav => to_value(&nav),
        labels => to_value(&i18n::labels_json(en)),
        me => to_value(&json!({
            "id": page.principal.user.id,
            "username": page.principal.user.username,
            "display_name": page.principal.user.display_name,
            "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "role_names": role_names,
        })),
    }
}

fn page_response(page: &Page, template: &str, active: &str, extra: Value) -> Response {
    render(template, context! { ..extra, ..base(page, active) })
}

/// An error from a read: shown on the page rather than as JSON.
fn error_page(page: &Page, e: impl Into<crate::error::ApiError>) -> Response {
    let e: crate::error::ApiError = e.into();
    let mut r = page_response(
        page,
        "error.html",
        "",
        context! { status => e.status.as_u16(), code => e.body.code.clone(), message => e.body.message.clone() },
    );
    *r.status_mut() = e.status;
    r
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    Value::from(Serde(v))
}

/// A local redirect target only (never another site).
fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .map(str::to_owned)
}

pub(super) async fn home(page: Page) -> Redirect {
    Redirect::to(home_of(&page.principal.user.roles))
}

#[derive(Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

pub(super) async fn login(
    State(s): State<AppState>,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> Response {
    let lang = match jar.get(LANG_COOKIE).map(|c| c.value()) {
        Some("en") => "en",
        _ => "zh",
    };
    render(
        "login.html",
        context! {
            lang => lang,
            asset => asset_prefix(),
            next => safe_next(q.next.as_deref()).unwrap_or_else(|| "/".into()),
            demo => to_value(&s.http.demo_logins),
        },
    )
}

pub(super) async fn set_lang(
    jar: CookieJar,
    headers: HeaderMap,
    Path(lang): Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let value = if lang == "en" { "en" } else { "zh" };
    let cookie = Cookie::build((LANG_COOKIE, value))
        .path("/")
        .same_site(SameSite::Lax)
        .permanent()
        .build();
    // Back to the page the toggle was pressed on (same site only).
    let back = safe_next(q.next.as_deref())
        .or_else(|| {
            headers
                .get(REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
                .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
                .and_then(|p| safe_next(Some(&p)))
        })
        .unwrap_or_else(|| "/".into());
    (jar.add(cookie), Redirect::to(&back)).into_response()
}

/// Task rows for the page: cases whose clock runs first (by due time, as the queue gives them),
/// then paused ones (挂账, 缓办), which wait on something other than the user.
fn rows(tasks: Vec<CaseSummary>) -> Vec<serde_json::Value> {
    let (running, paused): (Vec<_>, Vec<_>) =
        tasks.into_iter().partition(|t| t.urgency != "paused");
    running
        .into_iter()
        .chain(paused)
        .map(|t| json!(t))
        .collect()
}

async fn task_rows(s: &AppState, page: &Page) -> Result<Vec<serde_json::Value>, Response> {
    let tasks = s
        .app
        .my_tasks(&page.actor(), 200, &page.ctx)
        .await
        .map_err(|e| error_page(page, e))?;
    Ok(rows(tasks))
}

pub(super) async fn workbench(State(s): State<AppState>, page: Page) -> Response {
    if let Some(refused) = refuse_unless_permitted(&page, "/workbench") {
        return refused;
    }
    let tasks = match task_rows(&s, &page).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    page_response(
        &page,
        "workbench.html",
        "/workbench",
        context! { tasks => to_value(&tasks) },
    )
}

/// The task list alone, for the periodic htmx refresh.
pub(super) async fn tasks_fragment(State(s): State<AppState>, page: Page) -> Response {
    if let Some(refused) = refuse_unless_permitted(&page, "/workbench") {
        return refused;
    }
    let tasks = match task_rows(&s, &page).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    page_response(
        &page,
        "tasks.html",
        "/workbench",
        context! { tasks => to_value(&tasks) },
    )
}

/// Search form fields as the page sends them (empty fields are absent filters).
#[derive(Deserialize, Default)]
pub(super) struct SearchForm {
    q: Option<String>,
    step: Option<String>,
    source: Option<String>,
    urgency: Option<String>,
    class: Option<String>,
    offset: Option<i64>,
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

pub(super) async fn cases(
    State(s): State<AppState>,
    page: Page,
    headers: HeaderMap,
    Query(f): Query<SearchForm>,
) -> Response {
    let filter = CaseFilter {
        q: nonempty(&f.q),
        step: nonempty(&f.step),
        source: nonempty(&f.source),
        urgency: nonempty(&f.urgency),
        class: nonempty(&f.class),
        offset: f.offset,
        limit: Some(50),
        order: Some("newest".into()),
        ..Default::default()
    };
    let list = match s.app.search_cases(&page.actor(), &filter, &page.ctx).await {
        Ok(l) => l,
        Err(e) => return error_page(&page, e),
    };
    let items: Vec<serde_json::Value> = list.items.iter().map(|t| json!(t)).collect();
    let form = json!({
        "q": f.q, "step": f.step, "source": f.source, "urgency": f.urgency, "class": f.class,
    });
    // htmx asks for the results only.
    let template = if headers.contains_key("hx-request") {
        "case_rows.html"
    } else {
        "cases.html"
    };
    page_response(
        &page,
        template,
        "/cases",
        context! {
            items => to_value(&items), total => list.total, offset => list.offset, limit => list.limit, form => to_value(&form),
            steps => to_value(&cityloop_domain::case::Step::CODES),
            sources => to_value(&cityloop_domain::case::Source::ALL.iter().map(|s| s.code()).collect::<Vec<_>>()),
        },
    )
}

pub(super) async fn case_page(
    State(s): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Response {
    let actor = page.actor();
    let view = match s.app.get_case(&actor, &id, &page.ctx).await {
        Ok(v) => v,
        Err(e) => return error_page(&page, e),
    };
    let timeline = match s.app.case_timeline(&actor, &id, &page.ctx).await {
        Ok(t) => t,
        Err(e) => return error_page(&page, e),
    };
    let allowed = |a: &str| view.allowed.iter().any(|x| x == a);
    // Extra data only for the forms the server allows; a failed optional read leaves the form
    // with fewer choices rather than failing the page.
    let suggestions = if allowed("dispatch") {
        s.app
            .dispatch_suggestions(&actor, &id, &page.ctx)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let duplicates = if allowed("merge") || allowed("accept") {
        s.app
            .case_duplicates(&actor, &id, &page.ctx)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let departments = if allowed("dispatch") || allowed("sub_dispatch") {
        s.app
            .list_departments(&actor, &page.ctx)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let (classes, conditions) = if allowed("file") {
        let classes = s
            .app
            .list_classes(&actor, &page.ctx)
            .await
            .unwrap_or_default();
        let conditions = s
            .app
            .rule_set_in_force(&actor, s.app.now(), &page.ctx)
            .await
            .ok()
            .flatten()
            .map(|r| json!(r.content.conditions))
            .unwrap_or(json!([]));
        (json!(classes), conditions)
    } else {
        (json!([]), json!([]))
    };
    let own_department = departments
        .iter()
        .find(|d| Some(d.id) == page.principal.user.department_id)
        .map(|d| d.id);
    let sub_units: Vec<_> = departments
        .iter()
        .filter(|d| d.parent_id.is_some() && d.parent_id == own_department)
        .collect();
    let (before, after): (Vec<_>, Vec<_>) = view
        .attachments
        .iter()
        .partition(|a| a.stage == "report" || a.stage == "verification");
    let remaining = view.clock.remaining_minutes;
    page_response(
        &page,
        "case.html",
        "/cases",
        context! {
            case => to_value(&view),
            timeline => to_value(&timeline),
            suggestions => to_value(&suggestions),
            duplicates => to_value(&duplicates),
            departments => to_value(&departments),
            sub_units => to_value(&sub_units),
            classes => to_value(&classes),
            conditions => to_value(&conditions),
            before => to_value(&before),
            after => to_value(&after),
            remaining => remaining,
        },
    )
}

pub(super) async fn intake(State(s): State<AppState>, page: Page) -> Response {
    if let Some(refused) = refuse_unless_permitted(&page, "/intake") {
        return refused;
    }
    let classes = s
        .app
        .list_classes(&page.actor(), &page.ctx)
        .await
        .unwrap_or_default();
    page_response(
        &page,
        "intake.html",
        "/intake",
        context! {
            classes => to_value(&classes),
            sources => desk_sources(&s, &page.actor()),
        },
    )
}

pub(super) async fn mobile(State(s): State<AppState>, page: Page) -> Response {
    if let Some(refused) = refuse_unless_permitted(&page, "/m") {
        return refused;
    }
    let tasks = match task_rows(&s, &page).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let classes = s
        .app
        .list_classes(&page.actor(), &page.ctx)
        .await
        .unwrap_or_default();
    // This month's figures of the inspector, from the evaluation (when the user may read it).
    let today = s.app.now().with_timezone(&CHINA_OFFSET).date_naive();
    let from = today.with_day(1).unwrap_or(today);
    let me = page.principal.user.id.to_string();
    let stats: Vec<serde_json::Value> = s
        .app
        .evaluate(
            &page.actor(),
            Some("inspector"),
            from,
            today + Duration::days(1),
            false,
            &page.ctx,
        )
        .await
        .ok()
        .map(|v| json!(v))
        .and_then(|v| {
            v["evaluation"]["objects"]
                .as_array()?
                .iter()
                .find(|o| o["object"]["id"] == me.as_str())
                .cloned()
        })
        .and_then(|o| o["figures"].as_object().cloned())
        .map(|figs| {
            figs.into_iter()
                .map(|(name, f)| {
                    let value = match (f["denominator"].as_u64(), f["value"].as_f64()) {
                        (Some(d), Some(v)) if d > 0 => format!("{:.1}%", v * 100.0),
                        _ => f["numerator"].to_string(),
                    };
                    json!({"name": name, "value": value})
                })
                .collect()
        })
        .unwrap_or_default();
    page_response(
        &page,
        "mobile.html",
        "/m",
        context! { tasks => to_value(&tasks), classes => to_value(&classes), stats => to_value(&stats) },
    )
}

pub(super) async fn command(page: Page) -> Response {
    if let Some(refused) = refuse_unless_permitted(&page, "/command") {
        return refused;
    }
    page_response(&page, "command.html", "/command", context! {})
}

pub(super) async fn evaluation(State(s): State<AppState>, page: Page) -> Response {
    if let Some(refused) = refuse_unless_permitted(&page, "/evaluation") {
        return refused;
    }
    let today = s.app.now().with_timezone(&CHINA_OFFSET).date_naive();
    let from = today.with_day(1).unwrap_or(today);
    let to = today + Duration::days(1);
    // Names are for display only: without them the table shows ids, and the evaluation request
    // itself reports a missing permission.
    let names = s
        .app
        .evaluation_object_names(&page.actor(), &page.ctx)
        .await
        .unwrap_or_default();
    page_response(
        &page,
        "evaluation.html",
        "/evaluation",
        context! { from => from.to_string(), to => to.to_string(), names => to_value(&names) },
    )
}

#[derive(Deserialize, Default)]
pub(super) struct ObjectionsQuery {
    status: Option<String>,
    /// Prefills the filing form (the link from a case page).
    case: Option<String>,
}

/// Objections (申诉): administrators decide pending ones; a department's handlers file and follow
/// their own. The list is whatever the API would return to this user.
pub(super) async fn objections(
    State(s): State<AppState>,
    page: Page,
    Query(q): Query<ObjectionsQuery>,
) -> Response {
    let actor = page.actor();
    let status = nonempty(&q.status);
    let list = match s
        .app
        .list_objections(&actor, status.as_deref(), &page.ctx)
        .await
    {
        Ok(l) => l,
        Err(e) => return error_page(&page, e),
    };
    // Display names only; a user without the right to list users or departments sees codes.
    let departments: HashMap<String, String> = s
        .app
        .list_departments(&actor, &page.ctx)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect();
    let users: HashMap<i64, String> = s
        .app
        .list_users(&actor, &UserQuery::default(), &page.ctx)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let items: Vec<serde_json::Value> = list
        .into_iter()
        .map(|o| {
            let mut v = json!(o);
            v["object_name"] = json!(departments.get(&o.object_id));
            v["filed_by_name"] = json!(users.get(&o.filed_by));
            v["decided_by_name"] = json!(o.decided_by.and_then(|id| users.get(&id)));
            v
        })
        .collect();
    page_response(
        &page,
        "objections.html",
        "/objections",
        context! {
            items => to_value(&items),
            status => status,
            case => nonempty(&q.case),
            can_decide => s.app.permits(&page.actor(), Action::EvaluationDecide),
            can_file => s.app.permits(&page.actor(), Action::EvaluationObject),
        },
    )
}

pub(super) async fn admin(page: Page) -> Response {
    if let Some(refused) = refuse_unless_permitted(&page, "/admin") {
        return refused;
    }
    let section = if page.has(Role::AuditAdmin) && !page.has(Role::SysAdmin) {
        "audit"
    } else {
        "users"
    };
    Redirect::to(&format!("/admin/{section}")).into_response()
}

#[derive(Deserialize, Default)]
pub(super) struct AdminQuery {
    year: Option<i32>,
    action: Option<String>,
    before_id: Option<i64>,
}

pub(super) async fn admin_section(
    State(s): State<AppState>,
    page: Page,
    Path(section): Path<String>,
    Query(q): Query<AdminQuery>,
) -> Response {
    let actor = page.actor();
    let ctx = &page.ctx;
    let section_write = match section.as_str() {
        "users" => Some(Action::UserUpdate),
        "classes" => Some(Action::TaxonomyWrite),
        "rules" => Some(Action::RulesWrite),
        "calendar" => Some(Action::CalendarWrite),
        "layers" => Some(Action::BaseDataWrite),
        "schemes" => Some(Action::EvaluationConfigure),
        "departments" => Some(Action::DepartmentWrite),
        "areas" => Some(Action::AreaWrite),
        _ => None,
    };
    let data: Result<serde_json::Value, cityloop_app::AppError> = match section.as_str() {
        "users" => {
            let department_list = s
                .app
                .list_departments(&actor, ctx)
                .await
                .unwrap_or_default();
            let departments: HashMap<i64, (String, String)> = department_list
                .iter()
                .map(|d| (d.id, (d.name.clone(), d.code.clone())))
                .collect();
            // The edit form picks areas from the list; an actor who may not read it gets none.
            let areas = s.app.list_areas(&actor, ctx).await.unwrap_or_default();
            s.app
                .list_users(&actor, &UserQuery::default(), ctx)
                .await
                .map(|users| {
                    let now = s.app.now();
                    let users = users
                        .into_iter()
                        .map(|u| {
                            let dept = u.department_id.and_then(|d| departments.get(&d));
                            let mut v = json!(UserView::new(u, now));
                            v["department"] = json!(dept.map(|d| &d.0));
                            // The PATCH body names the department by code.
                            v["department_code"] = json!(dept.map(|d| &d.1));
                            v
                        })
                        .collect::<Vec<_>>();
                    json!({"users": users, "departments": department_list, "areas": areas})
                })
        }
        "departments" => department_rows(&s, &page).await,
        "areas" => s.app.list_areas(&actor, ctx).await.map(|a| json!(a)),
        "classes" => s.app.list_classes(&actor, ctx).await.map(|c| json!(c)),
        "rules" => s.app.list_rule_sets(&actor, ctx).await.map(|r| json!(r)),
        "calendar" => s
            .app
            .calendar_overview(&actor, q.year, ctx)
            .await
            .map(|c| json!(c)),
        "audit" => s
            .app
            .list_audit(
                &actor,
                AuditQuery {
                    action: nonempty(&q.action),
                    before_id: q.before_id,
                    limit: 100,
                    ..Default::default()
                },
                ctx,
            )
            .await
            .map(|a| json!(a)),
        "layers" => match s.app.responsibility_grids(&actor, ctx).await {
            // Inspectors on duty are picked from the users with the inspector role.
            Ok(grids) => s
                .app
                .list_users(
                    &actor,
                    &UserQuery {
                        role: Some(Role::Inspector),
                        active: Some(true),
                        ..Default::default()
                    },
                    ctx,
                )
                .await
                .map(|users| {
                    let inspectors = users
                        .into_iter()
                        .map(|u| json!({"id": u.id, "username": u.username, "display_name": u.display_name}))
                        .collect::<Vec<_>>();
                    json!({"grids": grids, "inspectors": inspectors})
                }),
            Err(e) => Err(e),
        },
        "schemes" => match s.app.list_eval_schemes(&actor, ctx).await {
            Ok(versions) => s
                .app
                .public_ranking_enabled()
                .await
                .map(|public| json!({"versions": versions, "public_ranking": public})),
            Err(e) => Err(e),
        },
        _ => Err(cityloop_app::AppError::NotFound("page")),
    };
    match data {
        Ok(data) => page_response(
            &page,
            "admin.html",
            "/admin",
            context! {
                section => section, data => to_value(&data),
                query => to_value(&json!({"action": q.action, "year": q.year})),
                // Controls are shown when the policy grants the section's write action.
                can_write => section_write.is_some_and(|a| s.app.permits(&page.actor(), a)),
                can_secure => s.app.permits(&page.actor(), Action::UserSetRoles),
                roles => ["inspector", "acceptor", "shift_leader", "dispatcher", "handler", "leader", "sys_admin", "sec_admin", "audit_admin"],
                today => s.app.now().with_timezone(&CHINA_OFFSET).date_naive().to_string(),
            },
        ),
        Err(e) => error_page(&page, e),
    }
}

/// Departments in tree order (each followed by its sub-units) with their parent and, when the
/// reader may list users, how many active handlers each has.
async fn department_rows(
    s: &AppState,
    page: &Page,
) -> Result<serde_json::Value, cityloop_app::AppError> {
    let actor = page.actor();
    let mut all = s.app.list_departments(&actor, &page.ctx).await?;
    all.sort_by(|a, b| a.code.cmp(&b.code));
    let handlers: Option<HashMap<i64, usize>> = s
        .app
        .list_users(
            &actor,
            &UserQuery {
                role: Some(Role::Handler),
                active: Some(true),
                ..Default::default()
            },
            &page.ctx,
        )
        .await
        .ok()
        .map(|users| {
            let mut n = HashMap::new();
            for d in users.iter().filter_map(|u| u.department_id) {
                *n.entry(d).or_default() += 1;
            }
            n
        });
    let row = |d: &cityloop_store::Department, parent: Option<&cityloop_store::Department>| {
        let mut v = json!(d);
        v["depth"] = json!(usize::from(parent.is_some()));
        v["parent_code"] = json!(parent.map(|p| &p.code));
        v["parent_name"] = json!(parent.map(|p| &p.name));
        v["handlers"] = json!(
            handlers
                .as_ref()
                .map(|h| h.get(&d.id).copied().unwrap_or(0))
        );
        v
    };
    let mut rows = Vec::with_capacity(all.len());
    for top in all.iter().filter(|d| d.parent_id.is_none()) {
        rows.push(row(top, None));
        for sub in all.iter().filter(|d| d.parent_id == Some(top.id)) {
            rows.push(row(sub, Some(top)));
        }
    }
    // Sub-units may only hang under top-level departments, which are the parents offered.
    let parents: Vec<_> = all
        .iter()
        .filter(|d| d.parent_id.is_none())
        .map(|d| json!({"code": d.code, "name": d.name}))
        .collect();
    Ok(json!({"rows": rows, "parents": parents, "counts_handlers": handlers.is_some()}))
}

#[derive(Deserialize, Default)]
pub(super) struct RuleSetQuery {
    /// The conditions filter, kept across the reload after an edit.
    q: Option<String>,
}

/// One rule set: a draft's editor for those the policy lets write rules, read-only for readers
/// and for every published version. Edits go to the rule-set API, one condition at a time.
pub(super) async fn rule_set_page(
    State(s): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Query(q): Query<RuleSetQuery>,
) -> Response {
    use cityloop_domain::rules::Step;

    let actor = page.actor();
    let set = match s.app.get_rule_set(&actor, id, &page.ctx).await {
        Ok(set) => set,
        Err(e) => return error_page(&page, e),
    };
    // Names only: a reader without the taxonomy or the departments sees codes.
    let classes = s
        .app
        .list_classes(&actor, &page.ctx)
        .await
        .unwrap_or_default();
    let departments = s
        .app
        .list_departments(&actor, &page.ctx)
        .await
        .unwrap_or_default();
    let class_of =
        |c: &cityloop_domain::taxonomy::ClassRef| classes.iter().find(|x| x.class.class == *c);
    let rows: Vec<serde_json::Value> = set
        .content
        .conditions
        .iter()
        .map(|c| {
            let class = class_of(&c.class);
            let mut v = json!(c);
            v["class_name"] = json!(class.map(|x| &x.class.name));
            v["major_name"] = json!(class.map(|x| &x.class.major_name));
            v["department_name"] = json!(c.department.as_ref().map(|d| {
                departments
                    .iter()
                    .find(|x| &x.code == d)
                    .map_or(d.as_str(), |x| x.name.as_str())
            }));
            v["limit_value"] = json!(c.limit.value());
            v["limit_unit"] = json!(c.limit.unit().as_str());
            v
        })
        .collect();
    let steps: Vec<serde_json::Value> = Step::ALL
        .iter()
        .map(|st| {
            let limit = set.content.process.limits.get(st);
            json!({
                "step": st.as_str(), "name_zh": st.name_zh(),
                "limit": limit.map(|l| l.to_string()),
                "value": limit.map(|l| l.value()),
                "unit": limit.map(|l| l.unit().as_str()),
            })
        })
        .collect();
    let draft = set.record.status == "draft";
    let mut record = set.record.clone();
    record.content = serde_json::Value::Null;
    page_response(
        &page,
        "rules.html",
        "/admin",
        context! {
            set => to_value(&record),
            rows => to_value(&rows),
            steps => to_value(&steps),
            warn_at_percent => set.content.process.warn_at_percent,
            classes => to_value(&classes),
            departments => to_value(&departments),
            class_required => true,
            q => q.q.unwrap_or_default(),
            can_edit => draft && s.app.permits(&actor, Action::RulesWrite),
            draft => draft,
            today => s.app.now().with_timezone(&CHINA_OFFSET).date_naive().to_string(),
        },
    )
}
