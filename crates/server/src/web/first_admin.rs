//! The first start in the browser: while no admin exists, `/` and the set-up link printed by
//! `keyward serve` show "Create the first admin", which asks for the link's token.

use super::session::{SameOriginPage, link_error, signed_in_redirect};
use super::{Chrome, MessagePage, PageError};
use crate::error::describe;
use crate::extract::Meta;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use keyward_core::Error;
use keyward_core::password::Password;
use keyward_core::services::auth::LoginOutcome;
use serde::Deserialize;

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
pub struct SetupPage {
    chrome: Chrome,
    /// Opened from the link: the token is carried in the form and not asked for.
    from_link: bool,
    token: String,
    full_name: String,
    email: String,
    error: Option<String>,
    rules: Vec<String>,
    password_rules: Vec<(String, String)>,
}

/// The page, empty or with the token of the link.
pub async fn page(state: &AppState, token: Option<String>) -> Response {
    let password_rules = match state.kw.password_checklist().await {
        Ok(rules) => rules,
        Err(error) => return PageError { error, chrome: Chrome::anonymous(state) }.into_response(),
    };
    SetupPage {
        chrome: Chrome::anonymous(state),
        from_link: token.is_some(),
        token: token.unwrap_or_default(),
        full_name: String::new(),
        email: String::new(),
        error: None,
        rules: Vec::new(),
        password_rules,
    }
    .into_response()
}

/// Once an admin exists the link is dead: say so and point at the sign-in page.
fn already_done(state: &AppState) -> Response {
    let page = MessagePage {
        chrome: Chrome::anonymous(state),
        heading: "This link cannot be used".into(),
        message: "An admin already exists, so the set-up link no longer works. Sign in instead.".into(),
        kind: "error",
        back_href: "/login".into(),
        back_label: "Go to sign in".into(),
    };
    (StatusCode::GONE, page).into_response()
}

/// The answer when set-up is over (an admin exists) or cannot be told; `None` while it is open.
async fn closed(state: &AppState) -> Option<Response> {
    match state.first_admin.needed(&state.kw).await {
        Ok(true) => None,
        Ok(false) => Some(already_done(state)),
        Err(e) => Some(link_error(state, &e, "/", "Back to the start")),
    }
}

/// `/setup/{token}`: the link `keyward serve` printed.
pub async fn link_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    if let Some(res) = closed(&state).await {
        return res;
    }
    if !state.first_admin.accepts(&token) {
        let mut res = page(&state, None).await;
        *res.status_mut() = StatusCode::NOT_FOUND;
        return res;
    }
    page(&state, Some(token)).await
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// Creates the first admin when the token is this process's set-up token, then signs them in.
pub async fn submit(
    _: SameOriginPage,
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    Form(form): Form<SetupForm>,
) -> Response {
    if let Some(res) = closed(&state).await {
        return res;
    }
    let password_rules = state.kw.password_checklist().await.unwrap_or_default();
    let token_ok = state.first_admin.accepts(&form.token);
    let again = |error: String, rules: Vec<String>, status: StatusCode| {
        let page = SetupPage {
            chrome: Chrome::anonymous(&state),
            // A wrong token is asked for again; a right one stays carried by the form.
            from_link: token_ok,
            token: if token_ok { form.token.clone() } else { String::new() },
            full_name: form.full_name.clone(),
            email: form.email.clone(),
            error: Some(error),
            rules,
            password_rules: password_rules.clone(),
        };
        (status, page).into_response()
    };
    if !token_ok {
        return again(
            "The set-up token is not right. Open the set-up link that keyward serve printed most recently (each start prints a new one)."
                .into(),
            Vec::new(),
            StatusCode::FORBIDDEN,
        );
    }
    let password = Password::new(form.password.clone());
    let mut problems = Vec::new();
    if form.password != form.password_confirm {
        problems.push("The two passwords do not match.".to_owned());
    }
    // The policy's failures are listed with a mismatch, all at once.
    if let Err(Error::PasswordPolicy(rules)) = state.kw.check_password(&password, &[&form.email, &form.full_name]).await {
        problems.extend(rules.into_iter().map(|r| r.message));
    }
    if !problems.is_empty() {
        return again("Choose another password:".into(), problems, StatusCode::BAD_REQUEST);
    }
    match state.kw.init_admin_via(&form.email, &form.full_name, Some(&password), "setup_link").await {
        Ok(_) => {}
        Err(e) => {
            let d = describe(&e);
            let rules = match &e {
                Error::PasswordPolicy(rules) => rules.iter().map(|r| r.message.clone()).collect(),
                _ => Vec::new(),
            };
            if matches!(&e, Error::Conflict { code, .. } if *code == "admin_exists") {
                state.first_admin.close();
                return already_done(&state);
            }
            return again(super::in_words(&d.message), rules, d.status);
        }
    }
    // The link dies with the first admin.
    state.first_admin.close();
    match state.kw.login(&meta, &form.email, &password).await {
        Ok(LoginOutcome::SignedIn(signed_in)) => signed_in_redirect(&state, jar, &signed_in, "/"),
        Ok(LoginOutcome::MfaRequired { .. }) | Err(_) => Redirect::to("/login").into_response(),
    }
}
