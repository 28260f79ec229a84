//! Evaluation (综合评价) over any period, with the cases behind every figure.

use axum::Json;
use axum::extract::{Query, State};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, ClientCtx};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(evaluate))
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
