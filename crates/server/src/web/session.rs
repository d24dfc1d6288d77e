//! Sign-in, sign-out and set-up/invitation pages.

use super::{Chrome, CsrfForm, MessagePage, PageError, safe_next};
use crate::api::auth::{clear_cookie, count, device_cookie, session_cookie};
use crate::error::describe;
use crate::extract::Meta;
use crate::origin::{CROSS_SITE_MESSAGE, refused_cross_site};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use keyward_core::Error;
use keyward_core::password::Password;
use keyward_core::services::auth::{LoginOutcome, SignedIn};
use serde::Deserialize;

/// Where to go after signing in: `next` if it stays on this site, otherwise the start page.
fn next_of(state: &AppState, next: &str) -> String {
    safe_next(next, &state.config.public_url())
}

/// `crate::origin::SameOrigin` for the pages: a form of the sign-in, MFA, reset or invitation
/// pages posted from another site is refused with a page (403) instead of acted on.
pub struct SameOriginPage;

impl FromRequestParts<AppState> for SameOriginPage {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if refused_cross_site(&parts.headers, &state.config) {
            let page = MessagePage {
                chrome: Chrome::anonymous(state),
                heading: "Not allowed".into(),
                message: CROSS_SITE_MESSAGE.into(),
                kind: "error",
                back_href: "/login".into(),
                back_label: "Go to sign in".into(),
            };
            return Err((StatusCode::FORBIDDEN, page).into_response());
        }
        Ok(SameOriginPage)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    chrome: Chrome,
    error: Option<String>,
    notice: Option<String>,
    email: String,
    next: String,
    /// "Sign in with …" buttons: (slug, name) of each enabled identity provider.
    providers: Vec<(String, String)>,
    /// After signing out of a session a provider opened: (its name, its end-session URL).
    provider_sign_out: Option<(String, String)>,
}

/// The enabled identity providers for the sign-in buttons (none when they cannot be read: the
/// password form still works).
async fn sign_in_buttons(state: &AppState) -> Vec<(String, String)> {
    state.kw.sign_in_providers().await.unwrap_or_default()
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
    reset: Option<String>,
    /// The provider whose session just ended (to offer its own sign-out).
    sso: Option<String>,
}

pub async fn login_page(State(state): State<AppState>, jar: CookieJar, Query(q): Query<LoginQuery>) -> Response {
    // Nobody can sign in before the first admin exists: the start page creates them.
    if state.first_admin.needed(&state.kw).await.unwrap_or(false) {
        return Redirect::to("/").into_response();
    }
    // Someone already signed in goes where they were headed instead of signing in again.
    if let Some(cookie) = jar.get(state.config.session_cookie_name())
        && state.kw.authenticate_session(cookie.value(), keyward_core::RequestMeta::default()).await.is_ok()
    {
        return Redirect::to(&next_of(&state, q.next.as_deref().unwrap_or("/"))).into_response();
    }
    let provider_sign_out = match (&q.signed_out, &q.sso) {
        (Some(_), Some(slug)) => super::sso::provider_sign_out(&state, slug).await,
        _ => None,
    };
    LoginPage {
        providers: sign_in_buttons(&state).await,
        provider_sign_out,
        chrome: Chrome::anonymous(&state),
        error: None,
        notice: match (q.signed_out, q.reset) {
            (Some(_), _) => Some("You have signed out.".to_owned()),
            (_, Some(_)) => Some("Your password was changed. Sign in with the new password.".to_owned()),
            _ => None,
        },
        email: String::new(),
        next: next_of(&state, q.next.as_deref().unwrap_or("/")),
    }
    .into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login_submit(
    _: SameOriginPage,
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let result = state.kw.login(&meta, &form.email, &Password::new(form.password)).await;
    count(&result);
    match result {
        Ok(LoginOutcome::SignedIn(signed_in)) => signed_in_redirect(&state, jar, &signed_in, &form.next),
        Ok(LoginOutcome::MfaRequired { mfa_token }) => {
            MfaPage { chrome: Chrome::anonymous(&state), mfa_token, next: next_of(&state, &form.next), error: None }.into_response()
        }
        Err(e) => {
            let d = describe(&e);
            let page = LoginPage {
                providers: sign_in_buttons(&state).await,
                provider_sign_out: None,
                chrome: Chrome::anonymous(&state),
                error: Some(d.message),
                notice: None,
                email: form.email,
                next: next_of(&state, &form.next),
            };
            (d.status, page).into_response()
        }
    }
}

/// Sets the session cookie and goes on: to enrollment when that is all the session may do.
pub(super) fn signed_in_redirect(state: &AppState, jar: CookieJar, signed_in: &SignedIn, next: &str) -> Response {
    let to = if signed_in.session.mfa_pending { "/account/security".to_owned() } else { next_of(state, next) };
    (jar.add(session_cookie(state, signed_in)).add(device_cookie(state, signed_in)), Redirect::to(&to)).into_response()
}

/// The code step of a sign-in (after a password, or after an identity provider that did not
/// satisfy the MFA policy).
pub(super) fn mfa_page(state: &AppState, mfa_token: String, next: &str) -> Response {
    MfaPage { chrome: Chrome::anonymous(state), mfa_token, next: next_of(state, next), error: None }.into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "login_mfa.html")]
pub struct MfaPage {
    chrome: Chrome,
    mfa_token: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct MfaForm {
    mfa_token: String,
    code: String,
    #[serde(default)]
    next: String,
}

pub async fn login_mfa_submit(
    _: SameOriginPage,
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    Form(form): Form<MfaForm>,
) -> Response {
    let result = state.kw.login_mfa(&meta, &form.mfa_token, &form.code).await;
    count(&result);
    match result {
        Ok(signed_in) => signed_in_redirect(&state, jar, &signed_in, &form.next),
        Err(e @ Error::Conflict { .. }) => {
            let page = LoginPage {
                providers: sign_in_buttons(&state).await,
                provider_sign_out: None,
                chrome: Chrome::anonymous(&state),
                error: Some(super::say(&e)),
                notice: None,
                email: String::new(),
                next: next_of(&state, &form.next),
            };
            (describe(&e).status, page).into_response()
        }
        Err(e) => {
            let page = MfaPage {
                chrome: Chrome::anonymous(&state),
                mfa_token: form.mfa_token,
                next: next_of(&state, &form.next),
                error: Some(super::say(&e)),
            };
            (describe(&e).status, page).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(State(state): State<AppState>, jar: CookieJar, form: CsrfForm<Empty, true>) -> Response {
    // A session an identity provider opened: the sign-in page then offers its sign-out too.
    let provider = match form.actor.session_id() {
        Some(id) => state.kw.sso_provider_of_session(id).await.ok().flatten(),
        None => None,
    };
    if let Err(error) = state.kw.logout(&form.actor).await {
        return PageError { error, chrome: Chrome::anonymous(&state) }.into_response();
    }
    let to = match provider {
        Some(p) => format!("/login?signed_out=1&sso={}", super::urlencode(&p.slug)),
        None => "/login?signed_out=1".to_owned(),
    };
    (jar.add(clear_cookie(&state)), Redirect::to(&to)).into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "invite.html")]
pub struct InvitePage {
    chrome: Chrome,
    token: String,
    email: String,
    full_name: String,
    role_label: &'static str,
    error: Option<String>,
    rules: Vec<String>,
    password_rules: Vec<(String, String)>,
}

/// The page for a link that cannot be used (unknown, used, expired).
pub(super) fn link_error(state: &AppState, error: &Error, back_href: &str, back_label: &str) -> Response {
    let d = describe(error);
    let page = MessagePage {
        chrome: Chrome::anonymous(state),
        heading: "This link cannot be used".into(),
        message: d.message,
        kind: "error",
        back_href: back_href.into(),
        back_label: back_label.into(),
    };
    (d.status, page).into_response()
}

/// The password rules in force, in words.
async fn password_rules(state: &AppState) -> Result<Vec<(String, String)>, Error> {
    state.kw.password_checklist().await
}

async fn invite_view(state: &AppState, token: &str) -> Result<InvitePage, Response> {
    let fail = |e: Error| link_error(state, &e, "/login", "Go to sign in");
    let info = state.kw.invitation(token).await.map_err(fail)?;
    Ok(InvitePage {
        chrome: Chrome::anonymous(state),
        token: token.to_owned(),
        email: info.user.email,
        full_name: info.user.full_name,
        role_label: info.user.role.label(),
        error: None,
        rules: Vec::new(),
        password_rules: password_rules(state).await.map_err(fail)?,
    })
}

pub async fn invite_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match invite_view(&state, &token).await {
        Ok(page) => page.into_response(),
        Err(res) => res,
    }
}

/// Everything wrong with a new password at once: the two entries differ, and each rule of the
/// policy it fails (`personal`: the words it must not contain).
async fn password_problems(state: &AppState, form: &InviteForm, personal: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    if form.password != form.password_confirm {
        out.push("The two passwords do not match.".to_owned());
    }
    if let Err(Error::PasswordPolicy(rules)) = state.kw.check_password(&Password::new(form.password.clone()), personal).await {
        out.extend(rules.into_iter().map(|r| r.message));
    }
    out
}

#[derive(Deserialize)]
pub struct InviteForm {
    password: String,
    password_confirm: String,
}

pub async fn invite_submit(
    _: SameOriginPage,
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    Path(token): Path<String>,
    Form(form): Form<InviteForm>,
) -> Response {
    let mut page = match invite_view(&state, &token).await {
        Ok(page) => page,
        Err(res) => return res,
    };
    let problems = password_problems(&state, &form, &[&page.email, &page.full_name]).await;
    if !problems.is_empty() {
        page.error = Some("Choose another password:".into());
        page.rules = problems;
        return (StatusCode::BAD_REQUEST, page).into_response();
    }
    match state.kw.accept_invitation(&meta, &token, &Password::new(form.password)).await {
        Ok(signed_in) => signed_in_redirect(&state, jar, &signed_in, "/"),
        Err(e) => {
            let d = describe(&e);
            if let Error::PasswordPolicy(rules) = &e {
                page.rules = rules.iter().map(|r| r.message.clone()).collect();
            }
            page.error = Some(d.message);
            (d.status, page).into_response()
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "forgot.html")]
pub struct ForgotPage {
    chrome: Chrome,
    sent: bool,
    error: Option<String>,
}

pub async fn forgot_page(State(state): State<AppState>) -> ForgotPage {
    ForgotPage { chrome: Chrome::anonymous(&state), sent: false, error: None }
}

#[derive(Deserialize)]
pub struct ForgotForm {
    email: String,
}

pub async fn forgot_submit(_: SameOriginPage, State(state): State<AppState>, Meta(meta): Meta, Form(form): Form<ForgotForm>) -> Response {
    match state.kw.request_password_reset(&meta, &form.email).await {
        Ok(()) => ForgotPage { chrome: Chrome::anonymous(&state), sent: true, error: None }.into_response(),
        Err(e) => (describe(&e).status, ForgotPage { chrome: Chrome::anonymous(&state), sent: false, error: Some(super::say(&e)) })
            .into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "reset.html")]
pub struct ResetPage {
    chrome: Chrome,
    token: String,
    email: String,
    error: Option<String>,
    rules: Vec<String>,
    password_rules: Vec<(String, String)>,
}

async fn reset_view(state: &AppState, token: &str) -> Result<ResetPage, Response> {
    let fail = |e: Error| link_error(state, &e, "/forgot-password", "Ask for a new link");
    let info = state.kw.reset_link(token).await.map_err(fail)?;
    Ok(ResetPage {
        chrome: Chrome::anonymous(state),
        token: token.to_owned(),
        email: info.user.email,
        error: None,
        rules: Vec::new(),
        password_rules: password_rules(state).await.map_err(fail)?,
    })
}

pub async fn reset_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match reset_view(&state, &token).await {
        Ok(page) => page.into_response(),
        Err(res) => res,
    }
}

pub async fn reset_submit(
    _: SameOriginPage,
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    Form(form): Form<InviteForm>,
) -> Response {
    let mut page = match reset_view(&state, &token).await {
        Ok(page) => page,
        Err(res) => return res,
    };
    let problems = password_problems(&state, &form, &[&page.email]).await;
    if !problems.is_empty() {
        page.error = Some("Choose another password:".into());
        page.rules = problems;
        return (StatusCode::BAD_REQUEST, page).into_response();
    }
    match state.kw.confirm_password_reset(&meta, &token, &Password::new(form.password)).await {
        Ok(()) => Redirect::to("/login?reset=1").into_response(),
        Err(e) => {
            if let Error::PasswordPolicy(rules) = &e {
                page.rules = rules.iter().map(|r| r.message.clone()).collect();
            }
            page.error = Some(super::say(&e));
            (describe(&e).status, page).into_response()
        }
    }
}
