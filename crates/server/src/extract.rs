//! Extractors: who is calling (`Caller`), where from (`Meta`), and JSON bodies and ids whose
//! rejections answer in the API's error shape.

use crate::client_addr::ClientAddr;
use crate::error::{ApiError, error_response};
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use keyward_core::{Actor, AuthVia, Error, RequestMeta};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

/// The session cookie's name over plain HTTP.
pub const SESSION_COOKIE: &str = "keyward_session";
/// The device cookie's name (see `keyward_core::device`).
pub const DEVICE_COOKIE: &str = "keyward_device";
/// The session cookie's name when it is Secure (see `Config::session_cookie_name`).
pub const SECURE_SESSION_COOKIE: &str = "__Host-keyward_session";

/// Where the request came from.
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Meta(request_meta(parts)))
    }
}

/// The request's origin: the client address (behind trusted proxies, the one they name), the
/// user agent, and the device cookie.
pub fn request_meta(parts: &Parts) -> RequestMeta {
    let ip = match parts.extensions.get::<ClientAddr>() {
        Some(c) => Some(c.0),
        None => parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_canonical()),
    };
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(300).collect());
    let device = CookieJar::from_headers(&parts.headers).get(DEVICE_COOKIE).map(|c| c.value().chars().take(200).collect());
    RequestMeta { ip: ip.map(|ip| ip.to_string()), user_agent, device }
}

/// The signed-in caller of an API route: a bearer token or the session cookie. A cookie-borne
/// request that changes state must carry the session's CSRF token in `X-CSRF-Token`. A session
/// restricted to MFA enrollment is refused (403 `mfa_setup_required`).
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let actor = authenticate(parts, state).await?;
        if actor.mfa_pending() {
            return Err(Error::MfaSetupRequired.into());
        }
        Ok(Caller(actor))
    }
}

/// Like `Caller`, but also accepts a session restricted to MFA enrollment: only the routes a
/// user needs to enroll (and to sign out) take this.
pub struct EnrollingCaller(pub Actor);

impl FromRequestParts<AppState> for EnrollingCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(EnrollingCaller(authenticate(parts, state).await?))
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Actor, Error> {
    let meta = request_meta(parts);
    if let Some(token) = bearer(&parts.headers) {
        let route = parts.extensions.get::<axum::extract::MatchedPath>().map_or("", |p| p.as_str());
        let actor = state.kw.authenticate_token(token, meta, parts.method.as_str(), route).await?;
        crate::refusals::note(parts, &actor);
        return Ok(actor);
    }
    let jar = CookieJar::from_headers(&parts.headers);
    let cookie = jar.get(state.config.session_cookie_name()).ok_or(Error::Unauthenticated)?;
    let actor = state.kw.authenticate_session(cookie.value(), meta).await?;
    if changes_state(&parts.method) {
        let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
        check_csrf(&actor, sent)?;
    }
    crate::refusals::note(parts, &actor);
    Ok(actor)
}

/// Refuses unless `sent` is the actor's session CSRF token (compared in constant time).
pub fn check_csrf(actor: &Actor, sent: &str) -> Result<(), Error> {
    match &actor.via {
        AuthVia::Session { csrf_token, .. } if bool::from(csrf_token.as_bytes().ct_eq(sent.as_bytes())) => Ok(()),
        AuthVia::Session { .. } => Err(Error::CsrfMismatch),
        // Bearer tokens are not sent by browsers on their own, so they cannot be forged cross-site.
        AuthVia::Token { .. } | AuthVia::Cli => Ok(()),
    }
}

fn changes_state(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A JSON body whose rejections (malformed, unknown fields, too large, wrong type) answer 4xx in
/// the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> Response {
    match r {
        JsonRejection::JsonDataError(e) => {
            let cause = without_values(&std::error::Error::source(&e).map_or_else(|| e.body_text(), |s| s.to_string()));
            error_response(StatusCode::BAD_REQUEST, "invalid_body", &format!("The request body is not as expected: {cause}."), None)
        }
        JsonRejection::JsonSyntaxError(_) => {
            error_response(StatusCode::BAD_REQUEST, "malformed_json", "The request body is not valid JSON.", None)
        }
        JsonRejection::MissingJsonContentType(_) => error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON with Content-Type: application/json.",
            None,
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            error_response(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large.", None)
        }
        other => error_response(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            &format!("The request body could not be read: {}.", other.body_text().trim_end_matches('.')),
            None,
        ),
    }
}

/// Answers 404 in the API's shape for routes that do not exist.
pub async fn api_not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "route_not_found", "There is no such endpoint.", None).into_response()
}

/// Query parameters whose rejections answer 400 in the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(error_response(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                &format!("The query parameters are not valid: {}.", e.body_text().trim_end_matches('.')),
                None,
            )),
        }
    }
}

/// A deserialisation message without the values it quotes: a password sent with the wrong type
/// must not come back in the error.
fn without_values(message: &str) -> String {
    let mut out = message.to_owned();
    for marker in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(start) = out.find(marker) {
            let after = start + marker.len();
            let kind_end = out[after..].find(' ').map_or(out.len(), |i| after + i);
            if let Some(expected) = out[kind_end..].find(", expected") {
                out.replace_range(kind_end..kind_end + expected, "");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn quoted_values_are_left_out() {
        assert_eq!(
            without_values("password: invalid type: string \"hunter2\", expected u32 at line 1"),
            "password: invalid type: string, expected u32 at line 1"
        );
        assert_eq!(
            without_values("code: invalid type: integer `123456`, expected a string"),
            "code: invalid type: integer, expected a string"
        );
        assert_eq!(without_values("unknown field `admin`, expected `email`"), "unknown field `admin`, expected `email`");
    }
}
