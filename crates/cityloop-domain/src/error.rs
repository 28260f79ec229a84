use std::fmt;

/// A rejected value, naming the field it came from so the HTTP layer and the CLI can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid {0}")]
    Invalid(FieldError),
}

impl From<FieldError> for DomainError {
    fn from(e: FieldError) -> Self {
        DomainError::Invalid(e)
    }
}
