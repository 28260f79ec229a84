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
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!(view)))
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
