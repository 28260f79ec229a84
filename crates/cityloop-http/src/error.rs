//! The one place that turns outcomes into HTTP status codes. Every error body has the same shape:
//! `{"code": "...", "message": "...", "field"?: "...", "current"?: {...}}`, where `code` is stable.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cityloop_app::AppError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable code, e.g. `not_found`, `validation_failed`, `version_conflict`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field that was rejected, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The present state of the object, on a version conflict.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub current: Option<serde_json::Value>,
    /// The actions the caller may take now (code `illegal_transition`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// Every offending row of a rejected table (code `invalid_rows`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<RowErrorBody>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowErrorBody {
    /// File, sheet and line.
    pub source: String,
    pub column: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: errors travel through every handler's `Result`, so keep that small.
    pub body: Box<ErrorBody>,
    /// Seconds for `Retry-After` (429).
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: Box::new(ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                field: None,
                current: None,
                allowed: None,
                errors: None,
            }),
            retry_after: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(field.into());
        self
    }

    /// The code and status for a response that some layer produced without a JSON body.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, message) = match status {
            StatusCode::NOT_FOUND => ("not_found", "no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => {
                ("method_not_allowed", "method not allowed on this resource")
            }
            StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported_media_type", "unsupported content type")
            }
            StatusCode::FORBIDDEN => ("csrf_rejected", "cross-site request refused"),
            StatusCode::UNAUTHORIZED => ("unauthenticated", "authentication required"),
            StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "service unavailable"),
            StatusCode::INTERNAL_SERVER_ERROR => ("internal", "internal error"),
            s if s.is_client_error() => ("bad_request", "bad request"),
            _ => ("internal", "internal error"),
        };
        ApiError::new(status, code, message)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthenticated => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
            }
            AppError::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                e.to_string(),
            ),
            AppError::PasswordChangeRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "password_change_required",
                e.to_string(),
            ),
            AppError::Forbidden(reason) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", reason)
            }
            AppError::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            AppError::Invalid(f) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                f.to_string(),
            )
            .field(f.field),
            AppError::Rows(rows) => {
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_rows",
                    format!("{} row(s) rejected; nothing was stored", rows.len()),
                );
                err.body.errors = Some(
                    rows.into_iter()
                        .map(|r| RowErrorBody {
                            source: r.source,
                            column: r.column.to_owned(),
                            message: r.message,
                        })
                        .collect(),
                );
                err
            }
            AppError::Problems {
                code,
                message,
                problems,
            } => {
                let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message);
                err.body.errors = Some(
                    problems
                        .into_iter()
                        .map(|message| RowErrorBody {
                            source: code.to_owned(),
                            column: String::new(),
                            message,
                        })
                        .collect(),
                );
                err
            }
            AppError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            AppError::VersionConflict { current } => {
                let mut err = ApiError::new(
                    StatusCode::CONFLICT,
                    "version_conflict",
                    "the record was changed by someone else; reload and retry",
                );
                err.body.current = current;
                err
            }
            AppError::Rejected {
                code,
                field,
                message,
            } => {
                let err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message);
                match field {
                    Some(f) => err.field(f),
                    None => err,
                }
            }
            AppError::IllegalTransition {
                message,
                allowed,
                current,
            } => {
                let mut err = ApiError::new(StatusCode::CONFLICT, "illegal_transition", message);
                err.body.allowed = Some(allowed);
                err.body.current = current;
                err
            }
            AppError::RateLimited { retry_after_secs } => {
                let mut err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many requests; retry in {retry_after_secs} s"),
                );
                err.retry_after = Some(retry_after_secs);
                err
            }
            AppError::Unavailable(m) => {
                tracing::error!(error = %m, "storage unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "storage unavailable",
                )
            }
            AppError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body)).into_response();
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        r
    }
}

/// The Open311 error for an application error: 404 for unknown things, 403 for keys, 400 for
/// everything the client can fix; 429 and 503 go beyond the spec because a retry helps there.
pub fn open311_error(e: AppError) -> (cityloop_open311::Open311Error, Option<u64>) {
    use cityloop_open311::{ErrorKind as K, Open311Error as E};
    let out = match e {
        AppError::NotFound(what) => E::new(K::NotFound, "404", format!("{what} not found")),
        AppError::Forbidden(m) => E::new(K::Forbidden, "403", m),
        AppError::Unauthenticated | AppError::InvalidCredentials => {
            E::new(K::Forbidden, "403", "api_key required")
        }
        AppError::RateLimited { retry_after_secs } => {
            return (
                E::new(
                    K::TooMany,
                    "429",
                    format!("too many requests; retry in {retry_after_secs} s"),
                ),
                Some(retry_after_secs),
            );
        }
        AppError::Invalid(f) => E::bad(f.field.clone(), f.to_string()),
        AppError::Rejected { code, message, .. } => E::bad(code, message),
        AppError::Unavailable(m) => {
            tracing::error!(error = %m, "storage unavailable");
            E::new(
                K::Unavailable,
                "503",
                "storage unavailable; nothing was stored",
            )
        }
        AppError::Internal(m) => {
            tracing::error!(error = %m, "internal error");
            E::new(K::Internal, "500", "internal error")
        }
        other => E::bad("400", other.to_string()),
    };
    (out, None)
}
