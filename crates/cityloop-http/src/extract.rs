//! Request extractors: the caller's identity, the request context for the audit log, and JSON bodies
//! whose errors name the offending field.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use cityloop_app::{Actor, Ctx, Principal};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "cityloop_session";

/// The authenticated caller.
pub struct Auth(pub Principal);

impl Auth {
    pub fn actor(&self) -> Actor {
        Actor::User(self.0.clone())
    }
}

pub fn bearer_or_cookie(parts: &Parts) -> Option<String> {
    if let Some(h) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(token) = h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    {
        return Some(token.trim().to_owned());
    }
    CookieJar::from_headers(&parts.headers)
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(Auth(p.clone()));
        }
        let token = bearer_or_cookie(parts).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "log in or send a bearer token",
            )
        })?;
        let principal = state.app.authenticate(&token).await?;
        parts.extensions.insert(principal.clone());
        Ok(Auth(principal))
    }
}

/// Source address, request id and user agent.
pub struct ClientCtx(pub Ctx);

impl FromRequestParts<AppState> for ClientCtx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let ip = client_ip(peer, parts, &state.http.trusted_proxies);
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(256).collect::<String>())
        };
        Ok(ClientCtx(Ctx {
            ip: ip.map(|i| i.to_string()),
            request_id: header("x-request-id"),
            user_agent: header(USER_AGENT.as_str()),
        }))
    }
}

/// The peer address, or the client named by `X-Forwarded-For` when the peer is a trusted proxy.
fn client_ip(peer: Option<IpAddr>, parts: &Parts, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    forwarded
        .split(',')
        .rev()
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .find(|ip| !trusted.contains(ip))
        .or(Some(peer))
}

/// A JSON body. Syntax errors are 400 `invalid_json`; a missing or mistyped field is 422
/// `validation_failed` naming the field; a body over the limit is 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        if !json_type {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            let status = rej.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::for_status(status)
            } else {
                ApiError::new(status, "bad_request", rej.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => {
            de.end().map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("invalid JSON: {e}"),
                )
            })?;
            Ok(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("invalid JSON: {inner}"),
                ));
            }
            let message = inner.to_string();
            // serde names a missing field in the message rather than the path.
            let field = if path == "." {
                message
                    .split('`')
                    .nth(1)
                    .map(str::to_owned)
                    .unwrap_or_default()
            } else {
                path
            };
            let err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("{field}: {message}"),
            );
            Err(if field.is_empty() {
                err
            } else {
                err.field(field)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsed")]
    struct T {
        name: String,
        n: i64,
    }

    #[test]
    fn json_errors_name_fields() {
        let e = parse_json::<T>(br#"{"name": "x"}"#).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.body.field.as_deref(), Some("n"));
        let e = parse_json::<T>(br#"{"name": "x", "n": "seven"}"#).unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("n"));
        let e = parse_json::<T>(br#"{"name": "x", "n": 1, "zz": 1}"#).unwrap_err();
        assert_eq!(e.body.code, "validation_failed");
        let e = parse_json::<T>(br#"{"name": "#).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.body.code, "invalid_json");
    }
}
