//! The single error type of the crate.

use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while storing, reading or inspecting evidence.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// A filesystem operation failed; the path is kept because a bare
    /// `io::Error` ("No such file or directory") is useless in an ops log.
    #[error("I/O error at {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The upload exceeds the store's configured size limit.
    #[error("blob of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge { size: u64, max: u64 },

    /// The string is not a 64-character lowercase hex SHA-256 digest.
    #[error("invalid blob hash {0:?}: expected 64 lowercase hex characters")]
    InvalidHash(String),

    /// The blob is not in the store.
    #[error("blob {0} not found")]
    NotFound(String),

    /// The bytes are not an image the crate can decode (JPEG, PNG, WebP).
    #[error("cannot decode image: {0}")]
    Decode(String),

    /// Encoding the thumbnail failed.
    #[error("cannot encode thumbnail: {0}")]
    Encode(String),

    /// A zero-pixel thumbnail edge was requested.
    #[error("thumbnail edge must be at least 1 pixel")]
    InvalidEdge,
}

/// Shorthand for results of this crate.
pub type Result<T, E = EvidenceError> = std::result::Result<T, E>;

/// Builds a `map_err` adapter that attaches `path` to an `io::Error`.
pub(crate) fn io_at(path: &Path) -> impl FnOnce(io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::Io {
        path: path.to_path_buf(),
        source,
    }
}
