//! Evaluation (综合评价) over any period, with the cases behind every figure.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, ClientCtx};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(evaluate))
        .routes(routes!(export))
        .routes(routes!(list_publications, publish))
        .routes(routes!(get_publication))
        .routes(routes!(report))
        .routes(routes!(list_schemes, create_scheme))
        .routes(routes!(default_scheme))
        .routes(routes!(get_scheme))
        .routes(routes!(publish_scheme))
        .routes(routes!(list_objections, file_objection))
        .routes(routes!(decide_objection))
        .routes(routes!(public_ranking, set_public_ranking))
}

/// The public ranking page (城市管理大家评): the latest published league tables of departments,
/// streets and communities, when the administrator has switched it on. No login.
pub async fn public_ranking_page(
    State(s): State<AppState>,
    Query(q): Query<LangQuery>,
) -> ApiResult<axum::response::Html<String>> {
    let data = s.app.public_ranking().await?;
    crate::report::evaluation_report(&data, q.lang.as_deref() == Some("en"), 200)
}

#[derive(Deserialize, IntoParams)]
pub struct LangQuery {
    /// `en` for English labels; Chinese otherwise.
    lang: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// One object kind, or all when absent.
    kind: Option<String>,
    from: NaiveDate,
    /// Exclusive.
    to: NaiveDate,
    /// `en` for English labels; Chinese otherwise.
    lang: Option<String>,
    /// Rows per table (default 100).
    limit: Option<usize>,
}

/// A print-friendly HTML report of `[from, to)`: per object kind a bar chart of the best
/// composite scores, the grade distribution and the ranked table with every figure.
#[utoipa::path(get, path = "/evaluation/report.html", tag = "evaluation", params(ReportQuery),
    responses((status = 200, content_type = "text/html", body = String), (status = 422, body = ErrorBody)))]
async fn report(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<ReportQuery>,
) -> ApiResult<axum::response::Html<String>> {
    let data = s
        .app
        .evaluation_report(&auth.actor(), q.kind.as_deref(), q.from, q.to, &ctx)
        .await?;
    crate::report::evaluation_report(
        &data,
        q.lang.as_deref() == Some("en"),
        q.limit.unwrap_or(100).clamp(1, 10_000),
    )
}

/// Evaluation scheme versions (the built-in example is version 0), with the one in force today.
#[utoipa::path(get, path = "/evaluation/schemes", tag = "evaluation",
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn list_schemes(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.list_eval_schemes(&auth.actor(), &ctx).await?
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SchemeRequest {
    name: String,
    /// TOML applied over the national defaults (`GET /evaluation/schemes/defaults`): a `weights`
    /// table replaces the default one whole; `[region.classes]` sets 一类/二类 per area code.
    overlay: String,
}

/// Stores a new draft version. Validated whole first: unknown indicators, missing weights,
/// weights not adding up to 100 %, overlapping or gapped bands, bad grades and unknown areas are
/// all listed in `errors` (422 `invalid_scheme`) and nothing is stored.
#[utoipa::path(post, path = "/evaluation/schemes", tag = "evaluation", request_body = SchemeRequest,
    responses((status = 201, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_scheme(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<SchemeRequest>,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    let v = s
        .app
        .create_eval_scheme(&auth.actor(), &b.name, &b.overlay, &ctx)
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(json!(v))))
}

/// The national defaults every version's overlay applies to (TOML).
#[utoipa::path(get, path = "/evaluation/schemes/defaults", tag = "evaluation",
    responses((status = 200, content_type = "text/plain", body = String)))]
async fn default_scheme(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
) -> ApiResult<impl IntoResponse> {
    let text = s.app.default_eval_scheme(&auth.actor(), &ctx).await?;
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

#[utoipa::path(get, path = "/evaluation/schemes/{version}", tag = "evaluation", params(("version" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_scheme(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(version): Path<i64>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.get_eval_scheme(&auth.actor(), version, &ctx).await?
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PublishSchemeRequest {
    /// Periods starting on or after this day are scored under the version.
    effective_from: NaiveDate,
}

/// Publishes a draft (immutable afterwards). Refused when it does not validate or would apply
/// before the latest published version.
#[utoipa::path(post, path = "/evaluation/schemes/{version}/publish", tag = "evaluation",
    params(("version" = i64, Path)), request_body = PublishSchemeRequest,
    responses((status = 200, body = Object), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn publish_scheme(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(version): Path<i64>,
    ApiJson(b): ApiJson<PublishSchemeRequest>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app
            .publish_eval_scheme(&auth.actor(), version, b.effective_from, &ctx)
            .await?
    )))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ObjectionsQuery {
    /// `pending`, `accepted` or `rejected`.
    status: Option<String>,
}

/// Objections (申诉): all for the centre and administrators, a department's own for its staff.
#[utoipa::path(get, path = "/evaluation/objections", tag = "evaluation", params(ObjectionsQuery),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn list_objections(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<ObjectionsQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app
            .list_objections(&auth.actor(), q.status.as_deref(), &ctx)
            .await?
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ObjectionRequest {
    case_id: String,
    /// Department code; the filer's own department when absent.
    department: Option<String>,
    /// Disputed counter codes (e.g. `dept_reworked`, `dept_late`); empty = the whole case.
    #[serde(default)]
    counters: Vec<String>,
    reason: String,
}

/// A department disputes how one case counts for it (handlers of that department).
#[utoipa::path(post, path = "/evaluation/objections", tag = "evaluation", request_body = ObjectionRequest,
    responses((status = 201, body = Object), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn file_objection(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<ObjectionRequest>,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    let v = s
        .app
        .file_objection(
            &auth.actor(),
            &b.case_id,
            b.department.as_deref(),
            &b.counters,
            &b.reason,
            &ctx,
        )
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(json!(v))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    accept: bool,
    note: String,
}

/// An administrator accepts (the disputed counters stop counting, figures recomputed at once) or
/// rejects an objection; audited, final.
#[utoipa::path(post, path = "/evaluation/objections/{id}/decision", tag = "evaluation",
    params(("id" = i64, Path)), request_body = DecisionRequest,
    responses((status = 200, body = Object), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide_objection(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<DecisionRequest>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app
            .decide_objection(&auth.actor(), id, b.accept, &b.note, &ctx)
            .await?
    )))
}

/// The public ranking data (no login): 404 while switched off or nothing is published.
#[utoipa::path(get, path = "/evaluation/public-ranking", tag = "evaluation",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn public_ranking(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.app.public_ranking().await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PublicRankingRequest {
    enabled: bool,
}

/// Switches the public ranking page (`/rankings`) on or off (system administrator).
#[utoipa::path(put, path = "/evaluation/public-ranking", tag = "evaluation", request_body = PublicRankingRequest,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn set_public_ranking(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<PublicRankingRequest>,
) -> ApiResult<Json<Value>> {
    let enabled = s
        .app
        .set_public_ranking(&auth.actor(), b.enabled, &ctx)
        .await?;
    Ok(Json(json!({ "enabled": enabled })))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct EvaluationQuery {
    /// `inspector`, `acceptor`, `shift_leader`, `dispatcher`, `department`, `sub_unit`, `street`,
    /// `community` or `grid`; all kinds when absent.
    kind: Option<String>,
    /// First China date of the period.
    from: NaiveDate,
    /// Day after the last (exclusive); at most tomorrow.
    to: NaiveDate,
    /// Include the case lists behind every numerator and denominator.
    explain: Option<bool>,
}

/// Figures (e.g. 按期处置率 with numerator and denominator), indicator scores, the composite
/// (综合指标值), grade A–E and rank of every inspector, centre post, department, sub-unit, street,
/// community and grid over `[from, to)`, with the trend against the previous period of the same
/// length. Computed from the case event log; `explain=true` lists the cases behind each figure.
#[utoipa::path(get, path = "/evaluation", tag = "evaluation", params(EvaluationQuery),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn evaluate(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<EvaluationQuery>,
) -> ApiResult<impl IntoResponse> {
    let view = s
        .app
        .evaluate(
            &auth.actor(),
            q.kind.as_deref(),
            q.from,
            q.to,
            q.explain.unwrap_or(false),
            &ctx,
        )
        .await?;
    // Serialised straight from the (possibly cached, shared) view: a month of every kind is
    // several megabytes.
    let body = serde_json::to_vec(&*view)
        .map_err(|e| cityloop_app::AppError::Internal(format!("evaluation: {e}")))?;
    Ok(([(CONTENT_TYPE, "application/json")], body))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct PeriodQuery {
    from: NaiveDate,
    to: NaiveDate,
}

/// The league tables as `xlsx` (one formatted, ranked sheet per object kind, Chinese headers) or
/// `csv` (long form: object, figure, value, numerator, denominator; UTF-8 with BOM).
#[utoipa::path(get, path = "/evaluation/export.{format}", tag = "evaluation",
    params(("format" = String, Path, description = "xlsx or csv"), PeriodQuery),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 422, body = ErrorBody)))]
async fn export(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(format): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<impl IntoResponse> {
    let (xlsx, mime) = match format.as_str() {
        "xlsx" => (
            true,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "csv" => (false, "text/csv; charset=utf-8"),
        _ => {
            return Err(cityloop_app::AppError::rejected(
                "unknown_format",
                "format",
                "xlsx or csv",
            )
            .into());
        }
    };
    let bytes = s
        .app
        .export_evaluation(&auth.actor(), q.from, q.to, xlsx, &ctx)
        .await?;
    let disposition = format!(
        "attachment; filename=\"evaluation-{}-{}.{format}\"",
        q.from, q.to
    );
    Ok((
        [
            (CONTENT_TYPE, mime.to_owned()),
            (CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PublishRequest {
    from: NaiveDate,
    /// Exclusive; the period must be finished.
    to: NaiveDate,
    #[serde(default)]
    note: String,
}

/// Freezes and publishes a finished period's league tables (leaders): stored once and never
/// changed, stamped with the evaluation scheme and the rule sets in force.
#[utoipa::path(post, path = "/evaluation/publications", tag = "evaluation", request_body = PublishRequest,
    responses((status = 201, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn publish(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<PublishRequest>,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    let p = s
        .app
        .publish_evaluation(&auth.actor(), b.from, b.to, &b.note, &ctx)
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(
            json!({"id": p.id, "period_from": p.period_from, "period_to": p.period_to,
            "scheme": p.scheme, "rule_sets": serde_json::from_str::<Value>(&p.rule_sets).unwrap_or_default(),
            "note": p.note, "published_by": p.published_by, "published_at": p.published_at}),
        ),
    ))
}

/// Published evaluations, newest first.
#[utoipa::path(get, path = "/evaluation/publications", tag = "evaluation",
    responses((status = 200, body = Object)))]
async fn list_publications(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.list_publications(&auth.actor(), &ctx).await?
    )))
}

/// One published evaluation with its frozen results.
#[utoipa::path(get, path = "/evaluation/publications/{id}", tag = "evaluation", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_publication(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let p = s.app.get_publication(&auth.actor(), id, &ctx).await?;
    let results: Value = p
        .results
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    Ok(Json(
        json!({"id": p.id, "period_from": p.period_from, "period_to": p.period_to,
        "scheme": p.scheme, "rule_sets": serde_json::from_str::<Value>(&p.rule_sets).unwrap_or_default(),
        "note": p.note, "published_by": p.published_by, "published_at": p.published_at,
        "results": results}),
    ))
}
