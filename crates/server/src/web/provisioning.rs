//! Settings → Provisioning: SCIM tokens of identity providers, and how SCIM decides roles.

use super::settings::chrome;
use super::{Chrome, CsrfForm, PageActor, PageError, csrf_of, show_time};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::services::scim_admin::{GroupRole, ScimSettings};
use keyward_core::types::Role;
use keyward_core::{Actor, Error};
use serde::Deserialize;

pub struct TokenRow {
    id: String,
    name: String,
    created_at: String,
    last_used_at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_provisioning.html")]
pub struct ProvisioningPage {
    chrome: Chrome,
    csrf_token: String,
    scim_base: String,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    roles: Vec<(&'static str, &'static str)>,
    default_role: String,
    role_attribute: String,
    group_roles: String,
}

async fn page(
    state: &AppState,
    actor: &Actor,
    new_token: Option<String>,
    notice: Option<String>,
    error: Option<&Error>,
) -> Result<ProvisioningPage, PageError> {
    let fail = |error| PageError { error, chrome: chrome(state, actor, "provisioning") };
    let tokens = state.kw.scim_tokens(actor).await.map_err(fail)?;
    let settings = state.kw.scim_settings(actor).await.map_err(fail)?;
    Ok(ProvisioningPage {
        chrome: chrome(state, actor, "provisioning"),
        csrf_token: csrf_of(actor),
        scim_base: format!("{}/scim/v2", state.config.public_url()),
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                id: t.id.to_string(),
                name: t.name,
                created_at: show_time(Some(t.created_at)),
                last_used_at: show_time(t.last_used_at),
            })
            .collect(),
        new_token,
        notice,
        error: error.map(|e| describe(e).message),
        roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        default_role: settings.default_role.as_str().to_owned(),
        role_attribute: settings.role_attribute.unwrap_or_default(),
        group_roles: settings.group_roles.iter().map(|m| format!("{} = {}", m.group, m.role.as_str())).collect::<Vec<_>>().join("\n"),
    })
}

fn with_status(e: &Error, p: Result<ProvisioningPage, PageError>) -> Response {
    match p {
        Ok(p) => (describe(e).status, p).into_response(),
        Err(pe) => pe.into_response(),
    }
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(q): Query<DoneQuery>,
) -> Result<ProvisioningPage, PageError> {
    let notice = match q.done.as_deref() {
        Some("revoked") => Some("The SCIM token was revoked.".to_owned()),
        Some("saved") => Some("Saved.".to_owned()),
        _ => None,
    };
    page(&state, &actor, None, notice, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
}

pub async fn create_token(State(state): State<AppState>, f: CsrfForm<TokenForm>) -> Response {
    match state.kw.create_scim_token(&f.actor, &f.form.name).await {
        Ok(new) => page(&state, &f.actor, Some(new.secret), None, None).await.into_response(),
        Err(e) => with_status(&e, page(&state, &f.actor, None, None, Some(&e)).await),
    }
}

pub async fn revoke_token(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    let result = match uuid::Uuid::parse_str(&id) {
        Ok(id) => state.kw.revoke_scim_token(&f.actor, id).await,
        Err(_) => Err(Error::NotFound("SCIM token")),
    };
    match result {
        Ok(()) => Redirect::to("/settings/provisioning?done=revoked").into_response(),
        Err(e) => with_status(&e, page(&state, &f.actor, None, None, Some(&e)).await),
    }
}

#[derive(Deserialize)]
pub struct RolesForm {
    default_role: String,
    #[serde(default)]
    role_attribute: String,
    #[serde(default)]
    group_roles: String,
}

/// Reads "Group name = role" lines.
fn parse_group_roles(text: &str) -> keyward_core::Result<Vec<GroupRole>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (group, role) = l
                .rsplit_once('=')
                .ok_or_else(|| Error::invalid_field("group_roles", "invalid_group_roles", "Write each mapping as: Group name = role."))?;
            Ok(GroupRole { group: group.trim().to_owned(), role: Role::parse(role.trim())? })
        })
        .collect()
}

pub async fn save_roles(State(state): State<AppState>, f: CsrfForm<RolesForm>) -> Response {
    let settings = Role::parse(&f.form.default_role).and_then(|default_role| {
        Ok(ScimSettings {
            default_role,
            role_attribute: Some(f.form.role_attribute.trim().to_owned()).filter(|a| !a.is_empty()),
            group_roles: parse_group_roles(&f.form.group_roles)?,
        })
    });
    let result = match settings {
        Ok(s) => state.kw.put_scim_settings(&f.actor, s).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/settings/provisioning?done=saved").into_response(),
        Err(e) => with_status(&e, page(&state, &f.actor, None, None, Some(&e)).await),
    }
}
