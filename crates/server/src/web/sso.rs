//! OIDC sign-in's pages: `/auth/oidc/{provider}/start` sends the browser to the provider,
//! `/auth/oidc/{provider}/callback` brings it back and signs in (the same session as a password
//! sign-in). Anything wrong ends on a page that says what happened and what to do (4xx, or 502
//! when the provider cannot be reached), never a 500.

use super::session::{mfa_page, signed_in_redirect};
use super::{Chrome, MessagePage, safe_next};
use crate::error::describe;
use crate::extract::Meta;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use keyward_core::services::auth::LoginOutcome;
use keyward_core::sso::SsoProvider;
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// The cookie that ties a sign-in's `state` to the browser that started it.
const STATE_COOKIE: &str = "keyward_sso_state";

fn error_page(state: &AppState, status: StatusCode, heading: &str, message: String) -> Response {
    let page = MessagePage {
        chrome: Chrome::anonymous(state),
        heading: heading.into(),
        message,
        kind: "error",
        back_href: "/login".into(),
        back_label: "Back to sign in".into(),
    };
    (status, page).into_response()
}

fn redirect_uri(state: &AppState, p: &SsoProvider) -> String {
    crate::api::sso::callback_url(state, &p.slug)
}

async fn provider(state: &AppState, slug: &str) -> Result<SsoProvider, Response> {
    state.kw.sso_provider_for_sign_in(slug).await.map_err(|e| {
        let d = describe(&e);
        let message = if d.status == StatusCode::NOT_FOUND {
            "There is no identity provider by that name, or it is switched off.".to_owned()
        } else {
            d.message
        };
        error_page(state, if d.status.is_server_error() { StatusCode::SERVICE_UNAVAILABLE } else { d.status }, "Cannot sign in", message)
    })
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

pub async fn start(State(state): State<AppState>, Path(slug): Path<String>, jar: CookieJar, Query(q): Query<StartQuery>) -> Response {
    let p = match provider(&state, &slug).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let started = match state.oidc.start(&p, &redirect_uri(&state, &p)).await {
        Ok(s) => s,
        Err(e) => return error_page(&state, StatusCode::BAD_GATEWAY, "Cannot sign in", e.message),
    };
    let next = safe_next(q.next.as_deref().unwrap_or("/"), &state.config.public_url());
    if let Err(e) = state.kw.begin_sso(&p, &started.state, &started.nonce, &started.pkce_verifier, &next).await {
        return error_page(&state, StatusCode::SERVICE_UNAVAILABLE, "Cannot sign in", describe(&e).message);
    }
    // Why Lax: the provider brings the browser back with a top-level GET from its own site.
    let cookie = Cookie::build((STATE_COOKIE, started.state))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.cookie_secure())
        .path("/auth/oidc/")
        .max_age(time::Duration::minutes(10))
        .build();
    (jar.add(cookie), Redirect::to(&started.url)).into_response()
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Meta(meta): Meta,
    jar: CookieJar,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let p = match provider(&state, &slug).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    // The state cookie is read once and cleared with whatever answer this is.
    let sent_state = jar.get(STATE_COOKIE).map(|c| c.value().to_owned());
    let jar = jar.remove(Cookie::build((STATE_COOKIE, "")).path("/auth/oidc/").build());
    if let Some(error) = q.error {
        let said: String = q.error_description.unwrap_or(error).chars().filter(|c| !c.is_control()).take(300).collect();
        let msg = format!("{} did not sign you in: {said}. Start again, or ask an admin if it goes on.", p.name);
        return (jar, error_page(&state, StatusCode::BAD_REQUEST, "Sign-in refused", msg)).into_response();
    }
    let wrong_state = || {
        "This sign-in cannot be completed: it was already used, has expired, or did not start in this browser. Start again from the sign-in page."
            .to_owned()
    };
    let Some(returned) = q.state.filter(|s| !s.is_empty()) else {
        return (jar, error_page(&state, StatusCode::BAD_REQUEST, "Cannot sign in", wrong_state())).into_response();
    };
    // Why both: the state in the URL must be the one this browser was given (login CSRF), and
    // the server must still hold it unused (replay).
    let same_browser = sent_state.is_some_and(|c| bool::from(c.as_bytes().ct_eq(returned.as_bytes())));
    if !same_browser {
        return (jar, error_page(&state, StatusCode::BAD_REQUEST, "Cannot sign in", wrong_state())).into_response();
    }
    let login = match state.kw.take_sso_login(&p, &returned).await {
        Ok(l) => l,
        Err(e) => {
            let d = describe(&e);
            let status = if d.status.is_server_error() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::BAD_REQUEST };
            return (jar, error_page(&state, status, "Cannot sign in", d.message)).into_response();
        }
    };
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        let msg = format!("{} sent no authorization code. Start again.", p.name);
        return (jar, error_page(&state, StatusCode::BAD_REQUEST, "Cannot sign in", msg)).into_response();
    };
    let claims = match state.oidc.finish(&state.kw, &p, &redirect_uri(&state, &p), &code, &login).await {
        Ok(c) => c,
        Err(e) => {
            let status = if e.code == "provider_unreachable" { StatusCode::BAD_GATEWAY } else { StatusCode::BAD_REQUEST };
            return (jar, error_page(&state, status, "Cannot sign in", e.message)).into_response();
        }
    };
    match state.kw.finish_sso(&meta, &p, &claims).await {
        Ok(LoginOutcome::SignedIn(signed_in)) => signed_in_redirect(&state, jar, &signed_in, &login.next_url),
        Ok(LoginOutcome::MfaRequired { mfa_token }) => (jar, mfa_page(&state, mfa_token, &login.next_url)).into_response(),
        Err(e) => {
            let d = describe(&e);
            // Why 403 for every refusal: the person is known to the provider but may not enter.
            let status = if d.status.is_server_error() { d.status } else { StatusCode::FORBIDDEN };
            if status.is_server_error() {
                tracing::error!(provider = %p.slug, error = %e, "SSO sign-in failed");
            }
            (jar, error_page(&state, status, "Cannot sign in", d.message)).into_response()
        }
    }
}

/// The provider's name and end-session URL, for the sign-in page after a sign-out.
pub(super) async fn provider_sign_out(state: &AppState, slug: &str) -> Option<(String, String)> {
    let p = state.kw.sso_provider_for_sign_in(slug).await.ok()?;
    let after = format!("{}/login?signed_out=1", state.config.public_url());
    let url = state.oidc.end_session_url(&p, &after).await?;
    Some((p.name, url))
}
