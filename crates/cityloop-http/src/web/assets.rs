//! Static files (the app's own CSS/JS and the npm-installed vendor folder), embedded in release
//! builds and read from `web/static` in debug builds. URLs carry a tag derived from the contents,
//! so browsers may cache them for a year and a new binary still gets fresh files.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../web/static"]
struct Static;

/// Hex of the first bytes of a SHA-256.
fn short_hex(bytes: &[u8]) -> String {
    bytes.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// The tag in asset URLs: a digest over every embedded file's hash. Debug builds read files from
/// disk that may change while the server runs, so they use a fixed tag and no long caching.
fn tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        if cfg!(debug_assertions) {
            return "dev".into();
        }
        let mut acc = [0u8; 32];
        let mut names: Vec<_> = Static::iter().collect();
        names.sort();
        for name in names {
            if let Some(f) = Static::get(&name) {
                let h = f.metadata.sha256_hash();
                for (i, b) in h.iter().enumerate() {
                    acc[i] = acc[i].rotate_left(3) ^ b ^ name.len() as u8;
                }
            }
        }
        short_hex(&acc)
    })
}

/// `/assets/<tag>`, the prefix templates put before static paths.
pub(crate) fn asset_prefix() -> String {
    format!("/assets/{}", tag())
}

pub(super) async fn serve(
    Path((req_tag, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(file) = Static::get(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{}\"", short_hex(&file.metadata.sha256_hash()));
    if headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return (StatusCode::NOT_MODIFIED, [(ETAG, etag)]).into_response();
    }
    // Only a URL with the current tag names these exact bytes; an old tag (a page rendered by the
    // previous binary) must not pin whatever this binary serves under it.
    let cache = if req_tag == tag() && !cfg!(debug_assertions) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (CONTENT_TYPE, file.metadata.mimetype().to_owned()),
            (CACHE_CONTROL, cache.to_owned()),
            (ETAG, etag),
        ],
        file.data.into_owned(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_files_and_vendor_files_are_embedded() {
        for f in [
            "app.css",
            "app.js",
            "vendor/htmx.min.js",
            "vendor/leaflet.js",
            "vendor/echarts.common.min.js",
            "vendor/VERSIONS",
        ] {
            assert!(Static::get(f).is_some(), "{f} is not embedded");
        }
    }
}
