use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use cityloop_store::AuditQuery;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::AuditView;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, ClientCtx};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct AuditFilter {
    actor_id: Option<i64>,
    action: Option<String>,
    /// `ok`, `denied` or `failed`.
    result: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    /// For the next page: the smallest id of the previous page.
    before_id: Option<i64>,
    /// 1 to 1000, default 100.
    limit: Option<i64>,
}

/// The audit log, newest first (audit administrator only). There is no way to change or delete it.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditFilter),
    responses((status = 200, body = [AuditView]), (status = 403, body = ErrorBody)))]
async fn list_audit(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(f): Query<AuditFilter>,
) -> ApiResult<Json<Vec<AuditView>>> {
    let q = AuditQuery {
        actor_id: f.actor_id,
        action: f.action,
        result: f.result,
        since: f.since,
        until: f.until,
        before_id: f.before_id,
        limit: f.limit.unwrap_or(100),
    };
    let entries = s.app.list_audit(&auth.actor(), q, &ctx).await?;
    Ok(Json(entries.into_iter().map(AuditView::from).collect()))
}
