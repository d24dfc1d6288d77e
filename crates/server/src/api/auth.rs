//! Sign-in, sign-out and accepting set-up or invitation links.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller, Meta, SESSION_COOKIE};
use crate::state::AppState;
use crate::telemetry::count_login;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use keyward_api::{AcceptInvitationRequest, ErrorBody, LoginRequest, LoginResponse};
use keyward_core::Error;
use keyward_core::password::Password;
use keyward_core::services::auth::SignedIn;

/// The session cookie for a new session.
///
/// Why these attributes: HttpOnly keeps scripts away from the token; SameSite=Lax stops
/// cross-site posts from carrying it while links from email still work; Secure under TLS.
pub fn session_cookie(state: &AppState, signed_in: &SignedIn) -> Cookie<'static> {
    let max_age = signed_in.session.expires_at - signed_in.session.created_at;
    Cookie::build((SESSION_COOKIE, signed_in.token.clone()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.cookie_secure())
        .path("/")
        .max_age(max_age)
        .build()
}

/// A cookie that removes the session cookie.
pub fn clear_cookie() -> Cookie<'static> {
    let mut c = Cookie::build((SESSION_COOKIE, "")).path("/").http_only(true).same_site(SameSite::Lax).build();
    c.make_removal();
    c
}

/// Counts the outcome of a sign-in in the metrics.
pub fn count(result: &Result<SignedIn, Error>) {
    count_login(match result {
        Ok(_) => "ok",
        Err(Error::InvalidCredentials) => "invalid_credentials",
        Err(Error::Throttled { .. }) => "throttled",
        Err(_) => "error",
    });
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse, description = "Signed in; the session cookie is set"),
              (status = 401, body = ErrorBody, description = "invalid_credentials"),
              (status = 429, body = ErrorBody, description = "Too many failures; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<(CookieJar, Json<LoginResponse>)> {
    let result = state.kw.login(&meta, &body.email, &Password::new(body.password)).await;
    count(&result);
    let signed_in = result?;
    let csrf = signed_in.session.csrf_token.clone();
    let jar = jar.add(session_cookie(&state, &signed_in));
    Ok((jar, Json(LoginResponse { status: "ok".into(), csrf_token: Some(csrf), mfa_token: None, mfa_deadline: None })))
}

/// Ends the caller's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorBody)))]
pub async fn logout(State(state): State<AppState>, Caller(actor): Caller, jar: CookieJar) -> ApiResult<(CookieJar, StatusCode)> {
    state.kw.logout(&actor).await?;
    Ok((jar.add(clear_cookie()), StatusCode::NO_CONTENT))
}

/// Sets the password from a set-up or invitation link, activates the account and signs in.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "auth", request_body = AcceptInvitationRequest,
    responses((status = 200, body = LoginResponse),
              (status = 400, body = ErrorBody, description = "password_policy, with every failed rule in details.rules"),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "invitation_used or invitation_expired")))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<AcceptInvitationRequest>,
) -> ApiResult<(CookieJar, Json<LoginResponse>)> {
    let signed_in = state.kw.accept_invitation(&meta, &body.token, &Password::new(body.password)).await.map_err(ApiError)?;
    let csrf = signed_in.session.csrf_token.clone();
    let jar = jar.add(session_cookie(&state, &signed_in));
    Ok((jar, Json(LoginResponse { status: "ok".into(), csrf_token: Some(csrf), mfa_token: None, mfa_deadline: None })))
}
