//! Citizens' JSON endpoints (no login): report, follow a case, me too, the public map and the
//! follow-up rating; and, for staff, partner keys, the moderation queue and 满意率.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cityloop_app::public::{FollowupInput, ModerationDecision, PartnerKeyInput, PublicReportInput};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, ClientCtx};

const PHOTO_LIMIT: usize = 32 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload_photo))
        .layer(DefaultBodyLimit::max(PHOTO_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(services))
        .routes(routes!(report))
        .routes(routes!(submission))
        .routes(routes!(case_view))
        .routes(routes!(nearby))
        .routes(routes!(me_too))
        .routes(routes!(map))
        .routes(routes!(followup))
        .routes(routes!(satisfaction))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
        .routes(routes!(moderation_queue))
        .routes(routes!(decide))
        .merge(uploads)
}

/// The classes a citizen can report, with plain-language names (Chinese and English), grouped
/// by major class: the same list as Open311 `services`.
#[utoipa::path(get, path = "/public/services", tag = "public",
    responses((status = 200, body = Object)))]
async fn services(State(s): State<AppState>, ClientCtx(ctx): ClientCtx) -> ApiResult<Json<Value>> {
    s.app.public_read_limit(&ctx)?;
    let doc = s.app.open311_services().await?;
    Ok(Json(doc.to_json()))
}

/// Uploads a photo for a citizen report (raw body). Answers its `hash`; the public only ever sees
/// EXIF-free copies.
#[utoipa::path(post, path = "/public/photos", tag = "public",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Object), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn upload_photo(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let b = s.app.public_upload(body.to_vec(), &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"hash": b.hash, "size": b.size, "media_type": b.media_type})),
    ))
}

/// Reports a problem: class, description, location, photos, and optionally a name and a phone
/// (kept only to ask about the outcome, always shown masked). Answers 201 with the case and a
/// `followup_token` (the reporter's secret for rating the outcome), or 202 when the report is
/// held for review (`token`). Limits per address and per phone answer 429 with `Retry-After`.
#[utoipa::path(post, path = "/public/reports", tag = "public", request_body = Object,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries return the same case")),
    responses((status = 201, body = Object), (status = 202, description = "held for review", body = Object),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn report(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<PublicReportInput>,
) -> ApiResult<Response> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.trim().is_empty() && k.len() <= 200);
    let out = s.app.public_report(input, key, &ctx).await?;
    let status = if out.status == "created" {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(out)).into_response())
}

/// Where a held report stands: `pending`, `approved` (with `case_id`) or `rejected`.
#[utoipa::path(get, path = "/public/submissions/{token}", tag = "public", params(("token" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn submission(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    Path(token): Path<String>,
) -> ApiResult<Json<Value>> {
    s.app.public_read_limit(&ctx)?;
    Ok(Json(s.app.public_submission(&token).await?))
}

/// A case as the public sees it: status, public notes, photos, supporters; no personal data,
/// and a coarsened place for sensitive classes.
#[utoipa::path(get, path = "/public/cases/{id}", tag = "public", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn case_view(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    s.app.public_read_limit(&ctx)?;
    Ok(Json(json!(s.app.public_case(&id).await?)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct NearbyQuery {
    /// WGS84.
    lon: f64,
    lat: f64,
    /// Class code: only the same major class.
    class: Option<String>,
}

/// Open reports near a point, to join ("me too") instead of reporting again.
#[utoipa::path(get, path = "/public/nearby", tag = "public", params(NearbyQuery),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn nearby(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<NearbyQuery>,
) -> ApiResult<Json<Value>> {
    s.app.public_read_limit(&ctx)?;
    Ok(Json(json!(
        s.app
            .public_nearby(q.lon, q.lat, q.class.as_deref())
            .await?
    )))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct MeToo {
    /// Counts this person once; never shown or kept in clear.
    phone: Option<String>,
}

/// "Me too": adds the caller to an open report's supporters (once per phone or address).
#[utoipa::path(post, path = "/public/cases/{id}/me-too", tag = "public", params(("id" = String, Path)),
    request_body = MeToo,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn me_too(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MeToo>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.public_me_too(&id, b.phone.as_deref(), &ctx).await?
    )))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct MapQuery {
    /// `west,south,east,north` in WGS84.
    bbox: Option<String>,
}

/// Open and recently closed cases as GeoJSON for the public map.
#[utoipa::path(get, path = "/public/map", tag = "public", params(MapQuery),
    responses((status = 200, description = "GeoJSON FeatureCollection"), (status = 422, body = ErrorBody)))]
async fn map(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<MapQuery>,
) -> ApiResult<Response> {
    s.app.public_read_limit(&ctx)?;
    let bbox = match q.bbox.as_deref() {
        None | Some("") => None,
        Some(b) => {
            let v: Vec<f64> = b
                .split(',')
                .filter_map(|x| x.trim().parse::<f64>().ok())
                .filter(|x| x.is_finite())
                .collect();
            let &[w, so, e, n] = v.as_slice() else {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_bbox",
                    "bbox is west,south,east,north",
                )
                .field("bbox"));
            };
            Some([w, so, e, n])
        }
    };
    let fc = s.app.public_map(bbox).await?;
    Ok(([(CONTENT_TYPE, "application/geo+json")], fc.to_string()).into_response())
}

/// The reporter's follow-up (回访) after closure, with the secret given at report time: fixed or
/// not, and a 1–5 rating. "Not fixed" reopens the case; ratings feed 满意率.
#[utoipa::path(post, path = "/public/cases/{id}/followup", tag = "public", params(("id" = String, Path)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn followup(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FollowupInput>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.app.public_followup(&id, input, &ctx).await?)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct SatisfactionQuery {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// `department` (default), `district`, `street`, `community` or `grid`.
    by: Option<String>,
}

/// 满意率: rated and satisfied follow-ups per department or area, by rating time in
/// `[from, to)`.
#[utoipa::path(get, path = "/satisfaction", tag = "public", params(SatisfactionQuery),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn satisfaction(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<SatisfactionQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app
            .satisfaction(
                &auth.actor(),
                q.from,
                q.to,
                q.by.as_deref().unwrap_or("department"),
                &ctx
            )
            .await?
    )))
}

/// Partner keys (system administrators).
#[utoipa::path(get, path = "/partner-keys", tag = "public",
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn list_keys(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.list_partner_keys(&auth.actor(), &ctx).await?
    )))
}

/// Issues a partner key with scopes (`open311`, `hotline`), an hourly rate and, for 12345
/// platforms, the webhook for progress. The key is in the answer only.
#[utoipa::path(post, path = "/partner-keys", tag = "public", request_body = Object,
    responses((status = 201, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_key(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(input): ApiJson<PartnerKeyInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let k = s.app.create_partner_key(&auth.actor(), input, &ctx).await?;
    Ok((StatusCode::CREATED, Json(json!(k))))
}

/// Revokes a partner key at once.
#[utoipa::path(delete, path = "/partner-keys/{id}", tag = "public", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_key(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.revoke_partner_key(&auth.actor(), id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ModerationQuery {
    /// `pending` (default), `approved` or `rejected`.
    status: Option<String>,
}

/// Held public reports (acceptors, shift leaders), phones masked.
#[utoipa::path(get, path = "/moderation", tag = "public", params(ModerationQuery),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn moderation_queue(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<ModerationQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app
            .moderation_queue(
                &auth.actor(),
                q.status.as_deref().unwrap_or("pending"),
                &ctx
            )
            .await?
    )))
}

/// Approves (`{"decision": "approve"}`: the report becomes a case) or rejects (with a `note`)
/// a held report.
#[utoipa::path(post, path = "/moderation/{id}/decision", tag = "public", params(("id" = i64, Path)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn decide(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
    ApiJson(d): ApiJson<ModerationDecision>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.decide_moderation(&auth.actor(), id, d, &ctx).await?
    )))
}
