//! Settings → Users → Invite User, and resending or revoking pending invitations.

use super::settings::chrome;
use super::users::roles;
use super::{Chrome, ConfirmPage, CsrfForm, PageActor, PageError, csrf_of, show_time};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::policy::Capability;
use keyward_core::services::invitations::Invited;
use keyward_core::types::{TeamId, UserId};
use keyward_core::{Actor, Error};
use serde::Deserialize;

pub struct InvitedView {
    email: String,
    full_name: String,
    expires: String,
    link: Option<String>,
    email_failed: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_invite.html")]
pub struct InvitePage {
    chrome: Chrome,
    csrf_token: String,
    roles: Vec<(&'static str, &'static str)>,
    /// (id, name) of every team.
    teams: Vec<(String, String)>,
    /// What is wrong with what was sent, one sentence per field.
    errors: Vec<String>,
    email: String,
    full_name: String,
    role: String,
    send_email: bool,
    invited: Option<InvitedView>,
}

async fn invite_page(state: &AppState, actor: &Actor) -> InvitePage {
    let teams = state.kw.list_teams(actor).await.unwrap_or_default();
    InvitePage {
        chrome: chrome(state, actor, "users"),
        csrf_token: csrf_of(actor),
        roles: roles(),
        teams: teams.into_iter().map(|t| (t.id.to_string(), t.name)).collect(),
        errors: Vec::new(),
        email: String::new(),
        full_name: String::new(),
        role: "developer".into(),
        send_email: true,
        invited: None,
    }
}

fn invited_view(i: Invited, asked_for_email: bool) -> InvitedView {
    InvitedView {
        email: i.user.email,
        full_name: i.user.full_name,
        expires: show_time(Some(i.expires_at)),
        link: (!i.email_sent).then_some(i.link),
        email_failed: asked_for_email && !i.email_sent,
    }
}

pub async fn invite_form(State(state): State<AppState>, PageActor(actor): PageActor) -> Result<InvitePage, PageError> {
    actor.require(Capability::ManageUsers).map_err(|error| PageError { error, chrome: chrome(&state, &actor, "users") })?;
    Ok(invite_page(&state, &actor).await)
}

/// The Invite User form, read as pairs so that several teams can be ticked.
struct InviteForm {
    email: String,
    full_name: String,
    role: String,
    teams: Vec<String>,
    send_email: bool,
}

impl InviteForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> InviteForm {
        let mut f =
            InviteForm { email: String::new(), full_name: String::new(), role: String::new(), teams: Vec::new(), send_email: false };
        for (k, v) in pairs {
            match k.as_str() {
                "email" => f.email = v,
                "full_name" => f.full_name = v,
                "role" => f.role = v,
                "team_ids" => f.teams.push(v),
                "send_email" => f.send_email = true,
                _ => {}
            }
        }
        f
    }
}

pub async fn invite_submit(State(state): State<AppState>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    let form = InviteForm::from_pairs(f.form);
    let send = form.send_email;
    let problems = keyward_core::services::invitations::invitation_problems(&form.email, &form.full_name, &form.role);
    if !problems.is_empty() && f.actor.require(Capability::ManageUsers).is_ok() {
        // Every field's problem at once, not the first one only.
        let page = InvitePage {
            errors: problems.iter().map(super::say).collect(),
            email: form.email,
            full_name: form.full_name,
            role: form.role,
            send_email: send,
            ..invite_page(&state, &f.actor).await
        };
        return (describe(&problems[0]).status, page).into_response();
    }
    let teams = form.teams.iter().map(|t| TeamId::parse(t)).collect::<Result<Vec<_>, _>>();
    let result = match teams {
        Ok(teams) => state.kw.invite(&f.actor, &form.email, &form.full_name, &form.role, &teams, send).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(i) => InvitePage { invited: Some(invited_view(i, send)), ..invite_page(&state, &f.actor).await }.into_response(),
        Err(Error::Forbidden) => PageError { error: Error::Forbidden, chrome: chrome(&state, &f.actor, "users") }.into_response(),
        Err(e) => {
            let page = InvitePage {
                errors: vec![super::say(&e)],
                email: form.email,
                full_name: form.full_name,
                role: form.role,
                send_email: send,
                ..invite_page(&state, &f.actor).await
            };
            (describe(&e).status, page).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    send_email: Option<String>,
}

pub async fn resend(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<ResendForm>) -> Response {
    let send = f.form.send_email.is_some();
    let result = match UserId::parse(&id) {
        Ok(id) => state.kw.resend_invitation(&f.actor, id, send).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(i) if i.email_sent => Redirect::to("/settings/users?done=resent").into_response(),
        Ok(i) => InvitePage { invited: Some(invited_view(i, send)), ..invite_page(&state, &f.actor).await }.into_response(),
        Err(error) => PageError { error, chrome: chrome(&state, &f.actor, "users") }.into_response(),
    }
}

/// Revoking an invitation asks first.
pub async fn confirm_revoke(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> Result<ConfirmPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(&state, &actor, "users") };
    actor.require(Capability::ManageUsers).map_err(page_err)?;
    let user = state.kw.get_user(&actor, UserId::parse(&id).map_err(page_err)?).await.map_err(page_err)?;
    if user.status != keyward_core::types::UserStatus::Invited {
        return Err(page_err(Error::NotFound("Invitation")));
    }
    Ok(ConfirmPage {
        chrome: chrome(&state, &actor, "users"),
        csrf_token: csrf_of(&actor),
        heading: format!("Revoke the invitation for {}?", user.full_name),
        question: format!(
            "The link sent to {} stops working at once and the invitation leaves the list. You can invite {} again later.",
            user.email, user.full_name
        ),
        action: format!("/settings/invitations/{}/revoke", user.id),
        button: "Revoke invitation",
        button_class: "danger",
        cancel: "/settings/users".into(),
        fields: Vec::new(),
    })
}

pub async fn revoke(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    let result = match UserId::parse(&id) {
        Ok(id) => state.kw.revoke_invitation(&f.actor, id).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/settings/users?done=revoked").into_response(),
        Err(error) => PageError { error, chrome: chrome(&state, &f.actor, "users") }.into_response(),
    }
}
