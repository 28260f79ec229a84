//! The spec's error body: `errors` ⇊ `error` ↴ `code`, `description` (an array in JSON).

use crate::doc::{Doc, Record, Value};

/// What went wrong, by the HTTP status the spec gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: missing or malformed argument, or any other failure.
    BadRequest,
    /// 403: missing or invalid `api_key`, or a key without the needed scope.
    Forbidden,
    /// 404: unknown service code, request id or token.
    NotFound,
    /// 429: too many requests from this client (beyond the spec; carries `Retry-After`).
    TooMany,
    /// 503: storage unavailable (beyond the spec; nothing was stored).
    Unavailable,
    /// 500.
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::TooMany => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Open311Error {
    pub kind: ErrorKind,
    /// The body's `code`: the HTTP status or something more specific (`service_code`, `lat`…).
    pub code: String,
    pub description: String,
}

impl Open311Error {
    pub fn new(kind: ErrorKind, code: impl Into<String>, description: impl Into<String>) -> Self {
        Open311Error {
            kind,
            code: code.into(),
            description: description.into(),
        }
    }

    pub fn bad(code: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, "404", description)
    }

    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "403", description)
    }

    pub fn doc(&self) -> Doc {
        Doc::Collection {
            root: "errors",
            item: "error",
            items: vec![
                Record::new()
                    .with("code", Value::str(self.code.clone()))
                    .with("description", Value::str(self.description.clone())),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Format;

    #[test]
    fn the_spec_example() {
        let e = Open311Error::forbidden(
            "Invalid api_key received -- can't proceed with create_request.",
        );
        assert_eq!(e.kind.status(), 403);
        assert_eq!(
            e.doc().render(Format::Xml),
            r#"<?xml version="1.0" encoding="utf-8"?><errors><error><code>403</code><description>Invalid api_key received -- can't proceed with create_request.</description></error></errors>"#
        );
        let j = e.doc().to_json();
        assert_eq!(j[0]["code"], "403");
        assert!(j.is_array());
    }
}
