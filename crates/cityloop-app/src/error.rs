use cityloop_domain::FieldError;
use cityloop_store::StoreError;

pub type AppResult<T> = Result<T, AppError>;

/// Everything a use case can answer besides success. The HTTP layer maps each variant to one status
/// and one stable code; nothing else decides status codes.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    /// The same answer for an unknown user, a wrong password, a locked or a disabled account.
    #[error("wrong user name or password, or the account is locked or disabled")]
    InvalidCredentials,
    #[error("the password must be changed before anything else")]
    PasswordChangeRequired,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(FieldError),
    /// A table (rules file, calendar) with bad rows: every offending row is listed.
    #[error("{} bad row(s)", .0.len())]
    Rows(Vec<cityloop_domain::rules::RowError>),
    /// A document (an evaluation scheme) with problems: every one is listed.
    #[error("{message}")]
    Problems {
        code: &'static str,
        message: String,
        problems: Vec<String>,
    },
    #[error("conflict: {0}")]
    Conflict(String),
    /// The object changed since the client read it; `current` is its present state.
    #[error("the record was changed by someone else")]
    VersionConflict { current: Option<serde_json::Value> },
    /// Well-formed input the domain refuses, with a stable code (`outside_city`, `unknown_class`,
    /// `photo_required`, `idempotency_key_reused`, …).
    #[error("{message}")]
    Rejected {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    /// The action is not possible in the case's present state; `allowed` lists what the caller
    /// may do now and `current` is the case as it is.
    #[error("{message}")]
    IllegalTransition {
        message: String,
        allowed: Vec<String>,
        current: Option<serde_json::Value>,
    },
    /// Too many requests from one client, phone or partner; try again after this many seconds.
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Invalid(e)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound("record"),
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::VersionConflict => AppError::VersionConflict { current: None },
            StoreError::Unavailable(m) => AppError::Unavailable(m),
            StoreError::Incompatible(m) | StoreError::Other(m) => AppError::Internal(m),
        }
    }
}

impl AppError {
    pub fn rejected(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        AppError::Rejected {
            code,
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }
}
