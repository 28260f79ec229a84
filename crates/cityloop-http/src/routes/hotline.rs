//! The 12345 exchange under `/hotline/v1`, authenticated by a partner key with the `hotline`
//! scope (`Authorization: Bearer <key>`). Progress goes back through the partner's webhook.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cityloop_app::public::{HotlineOrderInput, HotlineRatingInput, HotlineStatusInput};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ClientCtx};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(push_order))
        .routes(routes!(get_order))
        .routes(routes!(rate_order))
        .routes(routes!(order_status))
}

fn key(headers: &HeaderMap) -> Option<String> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(|k| k.trim().to_owned())
}

/// Takes a work order the hotline accepted and handed over (受理 → 转办). Pushing the same
/// `order_id` again answers 200 with the same case; different content under a known id is 409.
/// Progress and the result (办理 → 回复) are posted to the partner's webhook with an
/// `Idempotency-Key`: `received`, `processing`, `replied`, `returned`, `merged`.
#[utoipa::path(post, path = "/hotline/v1/orders", tag = "hotline", request_body = Object,
    responses((status = 201, body = Object), (status = 200, description = "already taken", body = Object),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn push_order(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<HotlineOrderInput>,
) -> ApiResult<Response> {
    let out = s
        .app
        .hotline_push(key(&headers).as_deref(), input, &ctx)
        .await?;
    let status = if out.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(out)).into_response())
}

/// A pushed order and where its case stands.
#[utoipa::path(get, path = "/hotline/v1/orders/{order_id}", tag = "hotline", params(("order_id" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(order_id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app
            .hotline_order(key(&headers).as_deref(), &order_id)
            .await?
    )))
}

/// A later status from the hotline on an order: `催办`/`urge` (the caller chased it) reminds
/// whoever holds the case now. Other statuses are refused with `unknown_hotline_status`.
#[utoipa::path(post, path = "/hotline/v1/orders/{order_id}/status", tag = "hotline", params(("order_id" = String, Path)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn order_status(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    ApiJson(input): ApiJson<HotlineStatusInput>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app
            .hotline_status(key(&headers).as_deref(), &order_id, input, &ctx)
            .await?
    )))
}

/// The hotline's call-back result (回访) for a replied order: fixed or not and a 1–5 rating.
/// Feeds 满意率; "not fixed" reopens the case.
#[utoipa::path(post, path = "/hotline/v1/orders/{order_id}/rating", tag = "hotline", params(("order_id" = String, Path)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn rate_order(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    ApiJson(input): ApiJson<HotlineRatingInput>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app
            .hotline_rate(key(&headers).as_deref(), &order_id, input, &ctx)
            .await?
    )))
}
