//! The HTTP layer: routes, extractors and middleware. Handlers only translate between HTTP and
//! `cityloop-app` calls; status codes are decided in [`error`] alone.

pub mod dto;
pub mod error;
pub mod extract;
mod report;
mod routes;
pub mod web;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::to_bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cityloop_app::App;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::{CsrfLayer, ProtectionError};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::dto::Health;
use crate::error::{ApiError, ErrorBody};

/// HTTP settings from the configuration.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub body_limit: usize,
    /// Largest layer file accepted for import.
    pub import_limit: u64,
    /// The request timeout of layer imports (`/api/v1/import/…`), which read, check and write a
    /// whole file in one transaction.
    pub import_timeout: Duration,
    pub request_timeout: Duration,
    /// Set the `Secure` flag on the session cookie (serve over HTTPS).
    pub cookie_secure: bool,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Extra origins allowed to send state-changing requests with the session cookie.
    pub trusted_origins: Vec<String>,
    /// Set only by `cityloop demo`: the login page lists these accounts so a first-time visitor
    /// can try each role without the console output at hand.
    pub demo_logins: Option<DemoLogins>,
}

/// The demo's accounts, shown on the login page of a demo server only.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DemoLogins {
    pub password: String,
    pub accounts: Vec<DemoLogin>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DemoLogin {
    pub username: String,
    pub display_name: String,
    pub roles_zh: String,
    pub roles_en: String,
    pub department: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit: 1024 * 1024,
            import_limit: 256 * 1024 * 1024,
            import_timeout: Duration::from_secs(600),
            request_timeout: Duration::from_secs(30),
            cookie_secure: false,
            trusted_proxies: Vec::new(),
            trusted_origins: Vec::new(),
            demo_logins: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub http: Arc<HttpConfig>,
    metrics: PrometheusHandle,
    live: web::live::Feed,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "cityloop API", description = "数字城管 / urban-management platform. Errors always have the shape {\"code\", \"message\"} with a stable code."),
    paths(healthz),
    components(schemas(ErrorBody)),
    tags(
        (name = "auth", description = "Login sessions, API tokens, the current user"),
        (name = "organisation", description = "Administrative areas and departments"),
        (name = "users", description = "Accounts, roles and data scope"),
        (name = "audit", description = "The append-only audit log"),
        (name = "basedata", description = "Geocoding, unit grids, components, standard addresses"),
        (name = "standards", description = "Taxonomy, filing rules (versioned), responsibility matrix, working calendar"),
        (name = "cases", description = "The closed loop: intake, workflow actions, queues, search, evidence, messages"),
        (name = "evaluation", description = "综合评价: figures, scores, grades and ranks over any period, explainable case by case"),
        (name = "public", description = "Citizens: report, follow a case, me too, the public map, follow-up (回访); partner keys, moderation, 满意率"),
        (name = "open311", description = "Open311 GeoReport v2 (XML and JSON by path extension; spec error bodies)"),
        (name = "hotline", description = "12345 exchange: work orders in, progress and results out by webhook"),
    )
)]
struct ApiDoc;

/// One recorder per process: the exporter's global recorder can be installed only once.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. by an embedding program); then this
            // handle simply renders nothing of ours.
            let _ignored = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

#[derive(Clone, Default)]
struct MakeRequestUuid;

impl MakeRequestId for MakeRequestUuid {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// The OpenAPI document of everything under `/api/v1`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(
            "/api/v1",
            OpenApiRouter::new()
                .merge(routes::auth::router())
                .merge(routes::org::router())
                .merge(routes::users::router())
                .merge(routes::audit::router())
                .merge(routes::standards::router())
                .merge(routes::basedata::router())
                .merge(routes::cases::router())
                .merge(routes::evaluation::router())
                .merge(routes::public::router())
                .merge(routes::import::router()),
        )
        .merge(routes::open311::router())
        .merge(routes::hotline::router())
}

/// Answers 408 when a request outlasts its limit: the general one, or the longer one of layer
/// imports. The handler's future is dropped, so an unfinished transaction rolls back.
async fn request_timeout(
    State((general, import)): State<(Duration, Duration)>,
    req: Request,
    next: middleware::Next,
) -> Response {
    let limit = if req.uri().path().starts_with("/api/v1/import/") {
        import
    } else {
        general
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::for_status(StatusCode::REQUEST_TIMEOUT).into_response(),
    }
}

pub fn router(app: Arc<App>, http: HttpConfig) -> Router {
    let state = AppState {
        app,
        http: Arc::new(http.clone()),
        metrics: metrics_handle(),
        live: web::live::Feed::new(),
    };
    // The live feed follows the event log from the server's start, so that the first screen
    // to subscribe misses nothing written after it connected.
    state.live.start(&state.app);
    let (api, doc) = api_router().split_for_parts();
    let mut csrf = CsrfLayer::new();
    for origin in &http.trusted_origins {
        match csrf.clone().add_trusted_origin(origin) {
            Ok(layer) => csrf = layer,
            Err(e) => tracing::warn!(%origin, error = %e, "ignoring invalid trusted origin"),
        }
    }
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(web::router())
        .route("/healthz", get(healthz))
        .route("/rankings", get(routes::evaluation::public_ranking_page))
        .route("/metrics", get(metrics))
        .merge(api)
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", doc))
        .fallback(not_found)
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(http.body_limit))
        .layer(csrf)
        .layer(middleware::from_fn_with_state(
            (http.request_timeout, http.import_timeout),
            request_timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::for_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(record_metrics))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(SetSensitiveHeadersLayer::new([AUTHORIZATION, COOKIE, SET_COOKIE]))
}

/// Liveness and storage check: 200 with the engine and schema version, 503 when storage fails.
#[utoipa::path(get, path = "/healthz", tag = "auth", responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn healthz(State(s): State<AppState>) -> Result<Json<Health>, ApiError> {
    let (engine, schema_version) = s.app.health().await?;
    Ok(Json(Health {
        status: "ok",
        engine,
        schema_version,
        version: env!("CARGO_PKG_VERSION"),
    }))
}

/// Prometheus text exposition.
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    s.metrics.run_upkeep();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
}

async fn not_found() -> ApiError {
    ApiError::for_status(StatusCode::NOT_FOUND)
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(req).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Gives every error response the one JSON shape, including those produced by layers and by axum
/// itself (405, 408, 413, rejected paths and queries, CSRF refusals).
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    // Web pages render their own errors as HTML; Open311 answers errors in its own XML shape.
    let own_shape = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html") || ct.starts_with("text/xml"));
    if is_json || own_shape {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = to_bytes(body, 4096)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let mut err = ApiError::for_status(status);
    if status == StatusCode::FORBIDDEN && parts.extensions.get::<ProtectionError>().is_none() {
        err = ApiError::new(status, "forbidden", "forbidden");
    }
    if status == StatusCode::BAD_REQUEST && !text.is_empty() {
        err.body.message = text;
    }
    let mut out = err.into_response();
    for (name, value) in parts.headers.iter() {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::post;
    use tower::ServiceExt;

    use super::*;

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(200)).await;
        "done"
    }

    #[tokio::test]
    async fn imports_have_their_own_longer_timeout() {
        let app = Router::new()
            .route("/api/v1/import/grids", post(slow))
            .route("/api/v1/cases", post(slow))
            .layer(middleware::from_fn_with_state(
                (Duration::from_millis(20), Duration::from_secs(5)),
                request_timeout,
            ));
        let call = |path: &'static str| {
            let app = app.clone();
            async move {
                let req = Request::post(path).body(Body::empty()).expect("request");
                app.oneshot(req).await.expect("infallible")
            }
        };
        assert_eq!(call("/api/v1/import/grids").await.status(), StatusCode::OK);
        let r = call("/api/v1/cases").await;
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
        let body = axum::body::to_bytes(r.into_body(), 1024)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json error body");
        assert!(v["code"].is_string(), "{v}");
    }
}
