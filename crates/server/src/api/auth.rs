//! Sign-in, sign-out and accepting set-up or invitation links.

use crate::error::ApiResult;
use crate::extract::{ApiJson, DEVICE_COOKIE, EnrollingCaller, Meta};
use crate::origin::SameOrigin;
use crate::state::AppState;
use crate::telemetry::count_login;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use keyward_api::{AcceptInvitationRequest, ErrorBody, LoginRequest, LoginResponse, MfaLoginRequest};
use keyward_core::Error;
use keyward_core::model::rfc3339;
use keyward_core::password::Password;
use keyward_core::services::auth::{LoginOutcome, SignedIn};

/// The session cookie for a new session.
///
/// Why these attributes: HttpOnly keeps scripts away from the token; SameSite=Lax stops
/// cross-site posts from carrying it while links from email still work; Secure under TLS, and
/// then the `__Host-` name (Path=/ and no Domain, as that prefix demands).
pub fn session_cookie(state: &AppState, signed_in: &SignedIn) -> Cookie<'static> {
    let max_age = signed_in.session.expires_at - signed_in.session.created_at;
    Cookie::build((state.config.session_cookie_name(), signed_in.token.clone()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.cookie_secure())
        .path("/")
        .max_age(max_age)
        .build()
}

/// The device cookie of a browser that just signed in (see `keyward_core::device`).
///
/// Why these attributes: HttpOnly and Secure as for the session; long-lived, because it only
/// vouches that this browser signed in to this account before, which shields it from lockouts
/// caused by others sharing its address; SameSite=Lax so that sign-in forms carry it.
pub fn device_cookie(state: &AppState, signed_in: &SignedIn) -> Cookie<'static> {
    Cookie::build((DEVICE_COOKIE, signed_in.device_cookie.clone()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.cookie_secure())
        .path("/")
        .max_age(keyward_core::device::DEVICE_COOKIE_TTL)
        .build()
}

/// A cookie that removes the session cookie.
pub fn clear_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = Cookie::build((state.config.session_cookie_name(), ""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.cookie_secure())
        .build();
    c.make_removal();
    c
}

/// Counts the outcome of a sign-in in the metrics.
pub fn count<T>(result: &Result<T, Error>) {
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
              (status = 403, body = ErrorBody, description = "cross_site_request: sent by a browser from another site"),
              (status = 429, body = ErrorBody, description = "Too many failures; see Retry-After")))]
pub async fn login(
    _: SameOrigin,
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<(CookieJar, Json<LoginResponse>)> {
    let result = state.kw.login(&meta, &body.email, &Password::new(body.password)).await;
    count(&result);
    match result? {
        LoginOutcome::SignedIn(signed_in) => Ok(signed_in_answer(&state, jar, &signed_in)),
        LoginOutcome::MfaRequired { mfa_token } => Ok((
            jar,
            Json(LoginResponse { status: "mfa_required".into(), csrf_token: None, mfa_token: Some(mfa_token), mfa_deadline: None }),
        )),
    }
}

/// The cookie and answer of a new session.
fn signed_in_answer(state: &AppState, jar: CookieJar, signed_in: &SignedIn) -> (CookieJar, Json<LoginResponse>) {
    let body = LoginResponse {
        status: signed_in.status().into(),
        csrf_token: Some(signed_in.session.csrf_token.clone()),
        mfa_token: None,
        mfa_deadline: signed_in.mfa_deadline.map(rfc3339),
    };
    (jar.add(session_cookie(state, signed_in)).add(device_cookie(state, signed_in)), Json(body))
}

/// Completes a sign-in with a TOTP or backup code.
#[utoipa::path(post, path = "/api/v1/auth/login/mfa", tag = "auth", request_body = MfaLoginRequest,
    responses((status = 200, body = LoginResponse, description = "Signed in; the session cookie is set"),
              (status = 400, body = ErrorBody, description = "invalid_mfa_code"),
              (status = 403, body = ErrorBody, description = "cross_site_request: sent by a browser from another site"),
              (status = 409, body = ErrorBody, description = "mfa_token_invalid: expired or used; sign in again"),
              (status = 429, body = ErrorBody)))]
pub async fn login_mfa(
    _: SameOrigin,
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<MfaLoginRequest>,
) -> ApiResult<(CookieJar, Json<LoginResponse>)> {
    let result = state.kw.login_mfa(&meta, &body.mfa_token, &body.code).await;
    count(&result);
    Ok(signed_in_answer(&state, jar, &result?))
}

/// Ends the caller's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    EnrollingCaller(actor): EnrollingCaller,
    jar: CookieJar,
) -> ApiResult<(CookieJar, StatusCode)> {
    state.kw.logout(&actor).await?;
    Ok((jar.add(clear_cookie(&state)), StatusCode::NO_CONTENT))
}

/// Sets the password from a set-up or invitation link, activates the account and signs in.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "auth", request_body = AcceptInvitationRequest,
    responses((status = 200, body = LoginResponse),
              (status = 400, body = ErrorBody, description = "password_policy, with every failed rule in details.rules"),
              (status = 403, body = ErrorBody, description = "cross_site_request: sent by a browser from another site"),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "invitation_used or invitation_expired")))]
pub async fn accept_invitation(
    _: SameOrigin,
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<AcceptInvitationRequest>,
) -> ApiResult<(CookieJar, Json<LoginResponse>)> {
    let signed_in = state.kw.accept_invitation(&meta, &body.token, &Password::new(body.password)).await?;
    Ok(signed_in_answer(&state, jar, &signed_in))
}
