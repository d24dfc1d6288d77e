//! Account Settings: the home page, the Profile tab (name, password) and the Security tab
//! (API tokens, sessions).

use super::{Chrome, CsrfForm, EnrollingPageActor, PageActor, PageError, csrf_of, show_time};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::password::Password;
use keyward_core::policy::Capability;
use keyward_core::types::{SessionId, TokenId};
use keyward_core::{Actor, Error};
use serde::Deserialize;

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    chrome: Chrome,
    full_name: String,
    role_label: &'static str,
    is_admin: bool,
}

/// The start page; before the first admin exists, the page that creates them.
pub async fn home(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    match state.first_admin.needed(&state.kw).await {
        Ok(true) => return super::first_admin::page(&state, None).await,
        Ok(false) => {}
        Err(error) => return PageError { error, chrome: Chrome::anonymous(&state) }.into_response(),
    }
    let (mut parts, _) = req.into_parts();
    let actor = match <PageActor as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &state).await {
        Ok(PageActor(actor)) => actor,
        Err(res) => return res,
    };
    HomePage {
        chrome: Chrome::for_actor(&state, &actor, "home", ""),
        full_name: actor.user.full_name.clone(),
        role_label: actor.user.role.label(),
        is_admin: actor.can(Capability::ManageUsers),
    }
    .into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "account_profile.html")]
pub struct ProfilePage {
    chrome: Chrome,
    tab: &'static str,
    notice: Option<String>,
    error: Option<String>,
    rules: Vec<String>,
    csrf_token: String,
    full_name: String,
    email: String,
    role_label: &'static str,
    password_rules: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn notice_for(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "profile" => "Your profile was saved.",
            "password" => "Your password was changed. Your other sessions were signed out and your API tokens revoked.",
            "token_revoked" => "The token was revoked.",
            "session_ended" => "The session was ended.",
            "mfa_on" => "MFA is on. From now on, sign-in asks for a code from your app.",
            "mfa_off" => "MFA is off.",
            _ => return None,
        }
        .to_owned(),
    )
}

async fn profile_page(state: &AppState, actor: &Actor, notice: Option<String>, error: Option<&Error>) -> Result<ProfilePage, PageError> {
    let password_rules =
        state.kw.password_checklist().await.map_err(|error| PageError { error, chrome: Chrome::for_actor(state, actor, "account", "") })?;
    Ok(ProfilePage {
        chrome: Chrome::for_actor(state, actor, "account", ""),
        tab: "profile",
        notice,
        error: error.map(super::say),
        rules: rule_messages(error),
        csrf_token: csrf_of(actor),
        full_name: actor.user.full_name.clone(),
        email: actor.user.email.clone(),
        role_label: actor.user.role.label(),
        password_rules,
    })
}

fn rule_messages(error: Option<&Error>) -> Vec<String> {
    match error {
        Some(Error::PasswordPolicy(rules)) => rules.iter().map(|r| r.message.clone()).collect(),
        _ => Vec::new(),
    }
}

pub async fn profile(State(state): State<AppState>, PageActor(actor): PageActor, Query(q): Query<Done>) -> Result<ProfilePage, PageError> {
    profile_page(&state, &actor, notice_for(q.done.as_deref()), None).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    full_name: String,
}

pub async fn save_profile(State(state): State<AppState>, f: CsrfForm<ProfileForm>) -> Response {
    match state.kw.update_me(&f.actor, &f.form.full_name).await {
        Ok(_) => Redirect::to("/account?done=profile").into_response(),
        Err(e) => with_status(&e, profile_page(&state, &f.actor, None, Some(&e)).await),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

pub async fn change_password(State(state): State<AppState>, f: CsrfForm<PasswordForm>) -> Response {
    let result = state.kw.change_password(&f.actor, &Password::new(f.form.current_password), &Password::new(f.form.new_password)).await;
    match result {
        Ok(()) => Redirect::to("/account?done=password").into_response(),
        Err(e) => with_status(&e, profile_page(&state, &f.actor, None, Some(&e)).await),
    }
}

/// A page re-shown after a failed form, with the error's status.
fn with_status<T: IntoResponse>(e: &Error, page: Result<T, PageError>) -> Response {
    match page {
        Ok(p) => (describe(e).status, p).into_response(),
        Err(pe) => pe.into_response(),
    }
}

pub struct TokenRow {
    id: String,
    name: String,
    created_at: String,
    expires_at: String,
    last_used_at: String,
}

pub struct SessionRow {
    id: String,
    created_at: String,
    last_seen_at: String,
    ip: String,
    user_agent: String,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "account_security.html")]
pub struct SecurityPage {
    chrome: Chrome,
    tab: &'static str,
    notice: Option<String>,
    error: Option<String>,
    rules: Vec<String>,
    csrf_token: String,
    /// The session may only enroll in MFA: tokens and sessions are not shown.
    restricted: bool,
    mfa: MfaView,
    new_backup_codes: Option<Vec<String>>,
    new_token: Option<String>,
    tokens: Vec<TokenRow>,
    sessions: Vec<SessionRow>,
}

pub struct MfaView {
    enabled: bool,
    /// Enrollment started and not yet on: it is continued, not started again.
    pending: bool,
    required: bool,
    backup_codes_left: i64,
    deadline: Option<String>,
}

async fn security_page(
    state: &AppState,
    actor: &Actor,
    notice: Option<String>,
    error: Option<&Error>,
    new_token: Option<String>,
) -> Result<SecurityPage, PageError> {
    let page_err = |error| PageError { error, chrome: Chrome::for_actor(state, actor, "account", "") };
    let restricted = actor.mfa_pending();
    let (tokens, sessions) = if restricted {
        (Vec::new(), Vec::new())
    } else {
        (state.kw.my_tokens(actor).await.map_err(page_err)?, state.kw.my_sessions(actor).await.map_err(page_err)?)
    };
    let mfa = state.kw.mfa_status(actor).await.map_err(page_err)?;
    let current = actor.session_id();
    Ok(SecurityPage {
        chrome: Chrome::for_actor(state, actor, "account", ""),
        tab: "security",
        notice,
        error: error.map(super::say),
        rules: Vec::new(),
        csrf_token: csrf_of(actor),
        restricted,
        mfa: MfaView {
            enabled: mfa.enabled,
            pending: mfa.pending,
            required: mfa.required,
            backup_codes_left: mfa.backup_codes_left,
            deadline: mfa.deadline.map(|d| super::show_deadline(d, state.kw.now())),
        },
        new_backup_codes: None,
        new_token,
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                id: t.id.to_string(),
                name: t.name,
                created_at: show_time(Some(t.created_at)),
                expires_at: t.expires_at.map_or_else(|| "Never".into(), |x| show_time(Some(x))),
                last_used_at: show_time(t.last_used_at),
            })
            .collect(),
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                current: Some(s.id) == current,
                id: s.id.to_string(),
                created_at: show_time(Some(s.created_at)),
                last_seen_at: show_time(Some(s.last_seen_at)),
                ip: s.ip.unwrap_or_default(),
                user_agent: s.user_agent.unwrap_or_default(),
            })
            .collect(),
    })
}

pub async fn security(
    State(state): State<AppState>,
    EnrollingPageActor(actor): EnrollingPageActor,
    Query(q): Query<Done>,
) -> Result<SecurityPage, PageError> {
    security_page(&state, &actor, notice_for(q.done.as_deref()), None, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
    #[serde(default)]
    expires_in_days: String,
}

pub async fn create_token(State(state): State<AppState>, f: CsrfForm<TokenForm>) -> Response {
    let days = match f.form.expires_in_days.trim() {
        "" => Ok(None),
        s => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| Error::invalid_field("expires_in_days", "invalid_expiry", "Expires in must be a whole number of days.")),
    };
    let result = match days {
        Ok(days) => state.kw.create_token(&f.actor, &f.form.name, days).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(new) => security_page(&state, &f.actor, None, None, Some(new.secret)).await.into_response(),
        Err(e) => with_status(&e, security_page(&state, &f.actor, None, Some(&e), None).await),
    }
}

pub async fn revoke_token(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    let result = match TokenId::parse(&id) {
        Ok(id) => state.kw.revoke_token(&f.actor, id).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/account/security?done=token_revoked").into_response(),
        Err(e) => with_status(&e, security_page(&state, &f.actor, None, Some(&e), None).await),
    }
}

pub async fn end_session(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    let result = match SessionId::parse(&id) {
        Ok(id) => state.kw.end_session(&f.actor, id).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/account/security?done=session_ended").into_response(),
        Err(e) => with_status(&e, security_page(&state, &f.actor, None, Some(&e), None).await),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "mfa_enroll.html")]
pub struct EnrollPage {
    chrome: Chrome,
    tab: &'static str,
    notice: Option<String>,
    error: Option<String>,
    rules: Vec<String>,
    csrf_token: String,
    enrollment: Option<EnrollView>,
    /// A wrong code, said beside the same key and QR code.
    code_error: Option<String>,
    backup_codes: Option<Vec<String>>,
    codes_text: String,
}

pub struct EnrollView {
    qr_svg: String,
    /// The key in groups of four for typing by hand.
    grouped: String,
}

fn enroll_page(state: &AppState, actor: &Actor) -> EnrollPage {
    EnrollPage {
        chrome: Chrome::for_actor(state, actor, "account", ""),
        tab: "security",
        notice: None,
        error: None,
        rules: Vec::new(),
        csrf_token: csrf_of(actor),
        enrollment: None,
        code_error: None,
        backup_codes: None,
        codes_text: String::new(),
    }
}

/// A security page showing an error, with the error's status.
async fn security_error(state: &AppState, actor: &Actor, e: &Error) -> Response {
    with_status(e, security_page(state, actor, None, Some(e), None).await)
}

/// Starts enrollment with a new key ("Enable MFA", or "Start over" of a pending one), then
/// shows it at its own address, so that a reload does not start over.
pub async fn mfa_start(State(state): State<AppState>, f: CsrfForm<super::session::Empty, true>) -> Response {
    match state.kw.start_totp(&f.actor).await {
        Ok(_) => Redirect::to("/account/mfa/setup").into_response(),
        Err(e) => security_error(&state, &f.actor, &e).await,
    }
}

/// The enrollment page of the pending enrollment, with `error` when a code was wrong.
async fn pending_enrollment(state: &AppState, actor: &Actor, error: Option<&Error>) -> Response {
    match state.kw.pending_totp(actor).await {
        Ok(Some(e)) => {
            let grouped =
                e.secret_base32.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ");
            let page = EnrollPage {
                enrollment: Some(EnrollView { qr_svg: e.qr_svg, grouped }),
                code_error: error.map(super::say),
                ..enroll_page(state, actor)
            };
            match error {
                Some(e) => (describe(e).status, page).into_response(),
                None => page.into_response(),
            }
        }
        // Nothing pending (never started, or already on): the Security tab says where things are.
        Ok(None) => match error {
            Some(e) => security_error(state, actor, e).await,
            None => Redirect::to("/account/security").into_response(),
        },
        Err(e) => security_error(state, actor, &e).await,
    }
}

/// "Continue setting up MFA": the pending enrollment, with the same key and QR code.
pub async fn mfa_setup(State(state): State<AppState>, EnrollingPageActor(actor): EnrollingPageActor) -> Response {
    pending_enrollment(&state, &actor, None).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn mfa_verify(State(state): State<AppState>, f: CsrfForm<CodeForm, true>) -> Response {
    match state.kw.verify_totp(&f.actor, &f.form.code).await {
        Ok(codes) => {
            let codes_text = format!("{} backup codes for {}\n\n{}\n", state.config.platform_name, f.actor.user.email, codes.join("\n"));
            EnrollPage { backup_codes: Some(codes), codes_text, ..enroll_page(&state, &f.actor) }.into_response()
        }
        // A wrong code keeps the same key and QR code: the entry already scanned stays good.
        Err(e) => pending_enrollment(&state, &f.actor, Some(&e)).await,
    }
}

#[derive(Deserialize)]
pub struct SavedForm {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn mfa_activate(State(state): State<AppState>, f: CsrfForm<SavedForm, true>) -> Response {
    if f.form.saved.is_none() {
        let e = Error::invalid_field("saved", "backup_codes_not_saved", "Confirm that you saved your backup codes, then activate MFA.");
        return security_error(&state, &f.actor, &e).await;
    }
    match state.kw.activate_totp(&f.actor).await {
        Ok(()) => Redirect::to("/account/security?done=mfa_on").into_response(),
        Err(e) => security_error(&state, &f.actor, &e).await,
    }
}

pub async fn mfa_backup_codes(State(state): State<AppState>, f: CsrfForm<CodeForm>) -> Response {
    match state.kw.regenerate_backup_codes(&f.actor, &f.form.code).await {
        Ok(codes) => match security_page(&state, &f.actor, None, None, None).await {
            Ok(page) => SecurityPage { new_backup_codes: Some(codes), ..page }.into_response(),
            Err(pe) => pe.into_response(),
        },
        Err(e) => security_error(&state, &f.actor, &e).await,
    }
}

pub async fn mfa_disable(State(state): State<AppState>, f: CsrfForm<CodeForm>) -> Response {
    match state.kw.disable_totp(&f.actor, &f.form.code).await {
        Ok(()) => Redirect::to("/account/security?done=mfa_off").into_response(),
        Err(e) => security_error(&state, &f.actor, &e).await,
    }
}
