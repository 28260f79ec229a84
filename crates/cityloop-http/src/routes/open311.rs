//! Open311 GeoReport v2 under `/open311/v2`. The path extension picks XML or JSON; errors use
//! the spec's `errors` body with 400/403/404. `service/{code}` is an alias of `services/{code}`
//! because the `open311` Python client asks for the singular.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, RawQuery, Request, State};
use axum::http::header::{CONTENT_TYPE, HOST, RETRY_AFTER};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cityloop_app::AppError;
use cityloop_open311::{Doc, Format, NewRequest, Open311Error, RequestsQuery, input::pairs};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::open311_error;
use crate::extract::ClientCtx;

/// Photos may come with a POST.
const MEDIA_LIMIT: usize = 64 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_root, post_root))
        .routes(routes!(get_service))
        .routes(routes!(get_service_alias))
        .routes(routes!(get_request))
        .routes(routes!(get_token))
        .routes(routes!(get_media))
        .layer(DefaultBodyLimit::max(MEDIA_LIMIT))
}

fn doc_response(doc: &Doc, f: Format, status: StatusCode) -> Response {
    (status, [(CONTENT_TYPE, f.content_type())], doc.render(f)).into_response()
}

fn error_response(e: &Open311Error, f: Format, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(e.kind.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = doc_response(&e.doc(), f, status);
    if let Some(s) = retry_after {
        r.headers_mut().insert(RETRY_AFTER, s.into());
    }
    r
}

fn app_error(e: AppError, f: Format) -> Response {
    let (err, retry) = open311_error(e);
    error_response(&err, f, retry)
}

fn answer(r: Result<Doc, AppError>, f: Format) -> Response {
    match r {
        Ok(doc) => doc_response(&doc, f, StatusCode::OK),
        Err(e) => app_error(e, f),
    }
}

/// `name.xml` / `name.json`; anything else is a 404 in XML (the required format).
fn split(file: &str) -> Result<(&str, Format), Box<Response>> {
    Format::split(file).ok_or_else(|| {
        Box::new(error_response(
            &Open311Error::not_found(format!("no resource {file}; use .xml or .json")),
            Format::Xml,
            None,
        ))
    })
}

/// The public base URL: configured, else from the request's Host.
fn base_url(s: &AppState, headers: &HeaderMap) -> String {
    let configured = &s.app.config().public.base_url;
    if !configured.is_empty() {
        return configured.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Query or form parameters in the order sent.
type Params = Vec<(String, String)>;

/// What every GET starts with: the resource and its format from the file name, and the query
/// parameters once `jurisdiction_id` (when given) names this city.
fn resource<'a>(
    s: &AppState,
    file: &'a str,
    q: Option<String>,
) -> Result<(&'a str, Format, Params), Box<Response>> {
    let (stem, f) = split(file)?;
    let p = pairs(q.unwrap_or_default().as_bytes());
    jurisdiction(s, &p, f)?;
    Ok((stem, f, p))
}

fn jurisdiction(s: &AppState, p: &[(String, String)], f: Format) -> Result<(), Box<Response>> {
    let j = p
        .iter()
        .find(|(k, _)| k == "jurisdiction_id")
        .map(|(_, v)| v.as_str());
    s.app
        .open311_jurisdiction(j)
        .map_err(|e| Box::new(app_error(e, f)))
}

/// Service discovery (`discovery`), the service list (`services`), service requests
/// (`requests`: `service_request_id`, `service_code`, `start_date`, `end_date`, `status`,
/// `page`, `page_size`, `updated_after`, `updated_before`, `extensions=true`) and FixMyStreet
/// `servicerequestupdates` (`start_date`, `end_date`), as `.xml` or `.json`.
#[utoipa::path(get, path = "/open311/v2/{file}", tag = "open311",
    params(("file" = String, Path, description = "discovery.xml, services.json, requests.xml, servicerequestupdates.json …")),
    responses((status = 200, description = "the document"), (status = 400, description = "errors body"), (status = 404, description = "errors body")))]
async fn get_root(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (stem, f, p) = match resource(&s, &file, q) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if let Err(e) = s.app.public_read_limit(&ctx) {
        return app_error(e, f);
    }
    let base = base_url(&s, &headers);
    match stem {
        "discovery" => answer(s.app.open311_discovery(&base).await, f),
        "services" => answer(s.app.open311_services().await, f),
        "requests" => match RequestsQuery::parse(&p, s.app.now()) {
            Ok(q) => answer(s.app.open311_requests(&q, &base).await, f),
            Err(e) => error_response(&e, f, None),
        },
        "servicerequestupdates" => match RequestsQuery::parse(&p, s.app.now()) {
            Ok(q) => answer(s.app.open311_updates(q.start, q.end, &base).await, f),
            Err(e) => error_response(&e, f, None),
        },
        other => error_response(
            &Open311Error::not_found(format!("no resource {other}")),
            f,
            None,
        ),
    }
}

/// POST Service Request (`requests`, form-urlencoded or multipart with `media` files; needs
/// an `api_key` with the `open311` scope) and FixMyStreet POST `servicerequestupdates`.
#[utoipa::path(post, path = "/open311/v2/{file}", tag = "open311",
    params(("file" = String, Path, description = "requests.xml, requests.json, servicerequestupdates.json …")),
    responses((status = 200, description = "service_requests with the id or a token"), (status = 400, description = "errors body"),
        (status = 403, description = "errors body: api_key"), (status = 404, description = "errors body: service_code")))]
async fn post_root(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    req: Request,
) -> Response {
    let (stem, f) = match split(&file) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let (mut p, media) = match read_form(req, &s).await {
        Ok(x) => x,
        Err(e) => return error_response(&e, f, None),
    };
    // The `open311` Python client sends `api_key` and `jurisdiction_id` in the query string of
    // its POST; the body wins where both have a parameter.
    for (k, v) in pairs(q.unwrap_or_default().as_bytes()) {
        if !p.iter().any(|(pk, _)| *pk == k) {
            p.push((k, v));
        }
    }
    match stem {
        "requests" => {
            let new = match NewRequest::parse(&p) {
                Ok(n) => n,
                Err(e) => {
                    // A missing key is the first thing to say, whatever else is wrong.
                    if p.iter().all(|(k, _)| k != "api_key")
                        && !s.app.config().public.open311_keyless
                    {
                        return error_response(
                            &Open311Error::forbidden(
                                "api_key missing -- can't proceed with create_request",
                            ),
                            f,
                            None,
                        );
                    }
                    return error_response(&e, f, None);
                }
            };
            answer(s.app.open311_create(new, media, &ctx).await, f)
        }
        "servicerequestupdates" => answer(s.app.open311_post_update(&p, &ctx).await, f),
        other => error_response(
            &Open311Error::not_found(format!("no resource {other}")),
            f,
            None,
        ),
    }
}

/// Form fields and uploaded `media` files of a POST.
async fn read_form(
    req: Request,
    s: &AppState,
) -> Result<(Vec<(String, String)>, Vec<Vec<u8>>), Open311Error> {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if ct.starts_with("multipart/form-data") {
        let mut mp = axum::extract::Multipart::from_request(req, s)
            .await
            .map_err(|e| Open311Error::bad("400", e.body_text()))?;
        let mut fields = Vec::new();
        let mut media = Vec::new();
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|e| Open311Error::bad("media", e.body_text()))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "media" || name == "media[]" {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| Open311Error::bad("media", e.body_text()))?;
                if !bytes.is_empty() {
                    media.push(bytes.to_vec());
                }
            } else {
                let text = field
                    .text()
                    .await
                    .map_err(|e| Open311Error::bad("400", e.body_text()))?;
                let text = text.trim().to_owned();
                if !text.is_empty() {
                    fields.push((name, text));
                }
            }
        }
        Ok((fields, media))
    } else {
        let bytes = Bytes::from_request(req, s)
            .await
            .map_err(|e| Open311Error::bad("400", e.body_text()))?;
        Ok((pairs(&bytes), Vec::new()))
    }
}

async fn definition(s: AppState, file: String, q: Option<String>) -> Response {
    let (code, f, _) = match resource(&s, &file, q) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    answer(s.app.open311_service_definition(code).await, f)
}

/// Service definition: the attributes a request of this service may carry.
#[utoipa::path(get, path = "/open311/v2/services/{file}", tag = "open311",
    params(("file" = String, Path, description = "E0101.xml, C0118.json …")),
    responses((status = 200, description = "service_definition"), (status = 404, description = "errors body")))]
async fn get_service(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    definition(s, file, q).await
}

/// Alias of `services/{code}` (the `open311` Python client uses the singular).
#[utoipa::path(get, path = "/open311/v2/service/{file}", tag = "open311",
    params(("file" = String, Path)),
    responses((status = 200, description = "service_definition"), (status = 404, description = "errors body")))]
async fn get_service_alias(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    definition(s, file, q).await
}

/// One service request (with `notes` and `extended_attributes`).
#[utoipa::path(get, path = "/open311/v2/requests/{file}", tag = "open311",
    params(("file" = String, Path, description = "20260302-330102-00001.json …")),
    responses((status = 200, description = "service_requests"), (status = 404, description = "errors body")))]
async fn get_request(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (id, f, _) = match resource(&s, &file, q) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if let Err(e) = s.app.public_read_limit(&ctx) {
        return app_error(e, f);
    }
    let base = base_url(&s, &headers);
    answer(s.app.open311_request(id, &base).await, f)
}

/// The request id of a held submission's token (empty while it waits for review).
#[utoipa::path(get, path = "/open311/v2/tokens/{file}", tag = "open311",
    params(("file" = String, Path)),
    responses((status = 200, description = "service_requests"), (status = 404, description = "errors body")))]
async fn get_token(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (token, f, _) = match resource(&s, &file, q) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    answer(s.app.open311_token(token).await, f)
}

/// A public photo: a re-encoded copy without EXIF (no GPS, no camera data).
#[utoipa::path(get, path = "/open311/v2/media/{case}/{file}", tag = "open311",
    params(("case" = String, Path), ("file" = String, Path, description = "{hash}.jpg")),
    responses((status = 200, description = "JPEG"), (status = 404, description = "no such public photo")))]
async fn get_media(
    State(s): State<AppState>,
    ClientCtx(ctx): ClientCtx,
    Path((case, file)): Path<(String, String)>,
) -> Response {
    if let Err(e) = s.app.public_read_limit(&ctx) {
        return app_error(e, Format::Xml);
    }
    let hash = file.strip_suffix(".jpg").unwrap_or(&file);
    match s.app.public_photo(&case, hash).await {
        Ok(bytes) => (
            [
                (CONTENT_TYPE, "image/jpeg"),
                (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
                (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => app_error(e, Format::Xml),
    }
}
