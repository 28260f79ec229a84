//! The closed loop: intake, workflow actions, queues, search, timelines, evidence, messages.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cityloop_app::cases::{ActInput, CaseFilter, ReportInput};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, ClientCtx};

/// Uploads may exceed the general body limit; the evidence store enforces its own maximum.
const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload_blob))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(search_cases, report_case))
        .routes(routes!(my_tasks))
        .routes(routes!(get_case))
        .routes(routes!(case_events))
        .routes(routes!(act))
        .routes(routes!(duplicates))
        .routes(routes!(dispatch_suggestions))
        .routes(routes!(get_blob))
        .routes(routes!(get_thumbnail))
        .routes(routes!(messages))
        .routes(routes!(read_messages))
        .routes(routes!(report_position))
        .routes(routes!(positions))
        .merge(uploads)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PositionBody {
    /// `{crs, x, y}` as for reports (a phone sends `wgs84`).
    #[schema(value_type = Object)]
    location: cityloop_geo::RawCoordinate,
    accuracy_m: Option<f64>,
}

/// The calling inspector's current position (城管通 sends it while open); only the latest is kept.
#[utoipa::path(post, path = "/me/position", tag = "cases", request_body = PositionBody,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_position(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<PositionBody>,
) -> ApiResult<StatusCode> {
    s.app
        .report_position(&auth.actor(), &b.location, b.accuracy_m, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct PositionsQuery {
    /// Positions reported within this many minutes (default 480).
    minutes: Option<i64>,
}

/// Where the field inspectors were last seen (shift leaders, dispatchers, leaders).
#[utoipa::path(get, path = "/positions", tag = "cases", params(PositionsQuery),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn positions(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<PositionsQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.positions(&auth.actor(), q.minutes, &ctx).await?
    )))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// Also return open cases nearby of the same or a related class (`possible_duplicates`).
    suggest_duplicates: Option<bool>,
}

/// Reports a case from any channel: `inspector` (监督员上报, needs class and a photo), `hotline`
/// (12345 work orders; machine pushes use an API token and `external_ref`), `public`, `leader`
/// (领导批示), `media`, `video` and `sensor` (machine alarms: `device_id`, `confidence`). Send an
/// `Idempotency-Key` header: a retry returns the same case (`replayed: true`); the same key with a
/// different body is refused with `idempotency_key_reused`. Keys are kept at least seven days.
#[utoipa::path(post, path = "/cases", tag = "cases", request_body = Object,
    params(("Idempotency-Key" = Option<String>, Header, description = "Client-chosen key; retries return the same case"), ReportQuery),
    responses((status = 201, body = Object), (status = 200, description = "replayed", body = Object),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn report_case(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
    ApiJson(input): ApiJson<ReportInput>,
) -> ApiResult<Response> {
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let out = s
        .app
        .report(
            &auth.actor(),
            input,
            key,
            q.suggest_duplicates.unwrap_or(false),
            &ctx,
        )
        .await?;
    let status = if out.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(out)).into_response())
}

/// Case search, limited to the caller's data scope: filters by step, source, class, grid, area
/// (community/street/district), department, urgency (`warning`, `overdue`, `paused`), pending
/// approvals, supervision, report and closing date ranges and text (`q`, Chinese substrings).
#[utoipa::path(get, path = "/cases", tag = "cases",
    params(("step" = Option<String>, Query, description = "verifying,accepting,filing,dispatching,disposing,return_review,checking,closing,closed"),
        ("source" = Option<String>, Query), ("class" = Option<String>, Query), ("grid" = Option<String>, Query),
        ("area" = Option<String>, Query), ("department" = Option<String>, Query), ("urgency" = Option<String>, Query),
        ("pending" = Option<String>, Query), ("supervised" = Option<bool>, Query),
        ("reported_since" = Option<String>, Query), ("reported_until" = Option<String>, Query),
        ("closed_since" = Option<String>, Query), ("closed_until" = Option<String>, Query),
        ("q" = Option<String>, Query), ("order" = Option<String>, Query, description = "due (default) or newest"),
        ("offset" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn search_cases(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(f): Query<CaseFilter>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.search_cases(&auth.actor(), &f, &ctx).await?
    )))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct LimitQuery {
    limit: Option<i64>,
}

/// The caller's to-do list over all their roles (verify/check for inspectors, accept, file,
/// approve and close for the centre, dispose for departments, supervised cases for leaders),
/// most urgent first.
#[utoipa::path(get, path = "/cases/tasks", tag = "cases", params(LimitQuery),
    responses((status = 200, body = Object)))]
async fn my_tasks(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<LimitQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app
            .my_tasks(&auth.actor(), q.limit.unwrap_or(100), &ctx)
            .await?
    )))
}

/// One case: state, intake facts, the live clock of its step (due time, remaining working
/// minutes, warning/overdue), what the caller may do now, evidence with plausibility flags, links.
#[utoipa::path(get, path = "/cases/{id}", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_case(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.app.get_case(&auth.actor(), &id, &ctx).await?)))
}

/// The case's timeline: every event with actor, role, time, from → to, reason and photos.
#[utoipa::path(get, path = "/cases/{id}/events", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn case_events(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.case_timeline(&auth.actor(), &id, &ctx).await?
    )))
}

/// Performs a workflow action, e.g. `{"version": 3, "action": {"type": "dispatch",
/// "department": "SZ"}}`. A stale version answers 409 `version_conflict` with the case as it is;
/// an action the case's step does not admit answers 409 `illegal_transition` with `allowed`.
#[utoipa::path(post, path = "/cases/{id}/actions", tag = "cases", params(("id" = String, Path)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn act(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ActInput>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.act(&auth.actor(), &id, input, &ctx).await?
    )))
}

/// Open cases near this one of the same or a related class (merge candidates).
#[utoipa::path(get, path = "/cases/{id}/duplicates", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn duplicates(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.case_duplicates(&auth.actor(), &id, &ctx).await?
    )))
}

/// Departments to dispatch to, from the responsibility matrix and the filing rules; departments
/// that returned the case are left out.
#[utoipa::path(get, path = "/cases/{id}/dispatch-suggestions", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn dispatch_suggestions(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.dispatch_suggestions(&auth.actor(), &id, &ctx).await?
    )))
}

/// Uploads a photo or file (raw body, e.g. `image/jpeg`). It is stored by its SHA-256 and
/// flushed to disk before this answers; reference the returned `hash` in reports and actions.
/// EXIF time and GPS are extracted.
#[utoipa::path(post, path = "/blobs", tag = "cases", request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Object), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_blob(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let out = s
        .app
        .upload_blob(&auth.actor(), body.to_vec(), &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(out))))
}

fn bytes_response(bytes: Vec<u8>, media_type: String) -> Response {
    (
        [
            (CONTENT_TYPE, media_type),
            // Content-addressed: the bytes behind a hash never change.
            (
                axum::http::header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// A stored photo or file.
#[utoipa::path(get, path = "/blobs/{hash}", tag = "cases", params(("hash" = String, Path)),
    responses((status = 200, description = "the bytes"), (status = 404, body = ErrorBody)))]
async fn get_blob(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
    let (bytes, media) = s.app.blob(&auth.actor(), &hash, None, &ctx).await?;
    Ok(bytes_response(bytes, media))
}

/// A 320-pixel JPEG thumbnail of a stored photo.
#[utoipa::path(get, path = "/blobs/{hash}/thumbnail", tag = "cases", params(("hash" = String, Path)),
    responses((status = 200, description = "JPEG"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_thumbnail(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
    let (bytes, media) = s.app.blob(&auth.actor(), &hash, Some(320), &ctx).await?;
    Ok(bytes_response(bytes, media))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct MessagesQuery {
    unread: Option<bool>,
    limit: Option<i64>,
}

/// The caller's in-app messages (tasks, reminders, outcomes), newest first.
#[utoipa::path(get, path = "/messages", tag = "cases", params(MessagesQuery),
    responses((status = 200, body = Object)))]
async fn messages(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<MessagesQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app
            .my_messages(
                &auth.actor(),
                q.unread.unwrap_or(false),
                q.limit.unwrap_or(50)
            )
            .await?
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReadMessages {
    ids: Vec<i64>,
}

/// Marks messages as read.
#[utoipa::path(post, path = "/messages/read", tag = "cases", request_body = ReadMessages,
    responses((status = 200, body = Object)))]
async fn read_messages(
    State(s): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<ReadMessages>,
) -> ApiResult<Json<Value>> {
    let n = s.app.mark_messages_read(&auth.actor(), &b.ids).await?;
    Ok(Json(json!({ "marked": n })))
}
