//! Settings → Service Accounts: admins create service accounts, give them scoped tokens (shown
//! once), revoke tokens and delete accounts. Every decision is the core's.

use super::settings::chrome;
use super::{Chrome, CsrfForm, PageActor, PageError, csrf_of, show_time};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::scope::Scope;
use keyward_core::services::service_accounts::NewServiceAccount;
use keyward_core::types::{Role, TokenId, UserId};
use keyward_core::{Actor, Error};
use serde::Deserialize;
use std::collections::HashMap;

pub struct TokenRow {
    id: String,
    name: String,
    scopes: String,
    created_at: String,
    expires_at: String,
    last_used_at: String,
}

pub struct AccountRow {
    id: String,
    name: String,
    description: String,
    role: &'static str,
    tokens: Vec<TokenRow>,
}

/// A token just created: its secret is on this page only.
pub struct Created {
    account: String,
    secret: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_service_accounts.html")]
pub struct ServiceAccountsPage {
    chrome: Chrome,
    csrf_token: String,
    notice: Option<String>,
    error: Option<String>,
    accounts: Vec<AccountRow>,
    created: Option<Created>,
    /// (value, description)
    scopes: Vec<(&'static str, &'static str)>,
    /// (value, label)
    roles: Vec<(&'static str, &'static str)>,
}

async fn page(
    state: &AppState,
    actor: &Actor,
    notice: Option<String>,
    error: Option<&Error>,
    created: Option<Created>,
) -> Result<ServiceAccountsPage, PageError> {
    let fail = |error| PageError { error, chrome: chrome(state, actor, "service-accounts") };
    let mut accounts = Vec::new();
    for a in state.kw.service_accounts(actor).await.map_err(fail)? {
        let tokens = state.kw.service_tokens(actor, a.user.id).await.map_err(fail)?;
        accounts.push(AccountRow {
            id: a.user.id.to_string(),
            name: a.user.full_name,
            description: a.description.unwrap_or_default(),
            role: a.user.role.label(),
            tokens: tokens
                .into_iter()
                .map(|t| TokenRow {
                    id: t.id.to_string(),
                    name: t.name,
                    scopes: t.scopes.as_deref().map(Scope::join).unwrap_or_default(),
                    created_at: show_time(Some(t.created_at)),
                    expires_at: show_time(t.expires_at),
                    last_used_at: show_time(t.last_used_at),
                })
                .collect(),
        });
    }
    Ok(ServiceAccountsPage {
        chrome: chrome(state, actor, "service-accounts"),
        csrf_token: csrf_of(actor),
        notice,
        error: error.map(|e| describe(e).message),
        accounts,
        created,
        scopes: Scope::ALL.iter().map(|s| (s.as_str(), s.describe())).collect(),
        roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
    })
}

fn answer(e: &Error, page: Result<ServiceAccountsPage, PageError>) -> Response {
    match page {
        Ok(p) => (describe(e).status, p).into_response(),
        Err(pe) => pe.into_response(),
    }
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn list(State(state): State<AppState>, PageActor(actor): PageActor, Query(q): Query<DoneQuery>) -> Response {
    let notice = match q.done.as_deref() {
        Some("created") => Some("The service account was created. Give it a token with the scopes it needs.".to_owned()),
        Some("deleted") => Some("The service account was deleted; its tokens no longer work.".to_owned()),
        Some("revoked") => Some("The token was revoked; it no longer works.".to_owned()),
        _ => None,
    };
    page(&state, &actor, notice, None, None).await.into_response()
}

#[derive(Deserialize)]
pub struct CreateForm {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    role: String,
}

pub async fn create(State(state): State<AppState>, f: CsrfForm<CreateForm>) -> Response {
    let role = match f.form.role.as_str() {
        "" => Ok(None),
        r => Role::parse(r).map(Some),
    };
    let result = match role {
        Ok(role) => {
            let new = NewServiceAccount { name: f.form.name.clone(), description: Some(f.form.description.clone()), role };
            state.kw.create_service_account(&f.actor, &new).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/settings/service-accounts?done=created").into_response(),
        Err(e) => answer(&e, page(&state, &f.actor, None, Some(&e), None).await),
    }
}

/// Reads the token form: `name`, `expires_in_days`, and a `scope_<name>=on` per ticked scope.
fn token_form(form: &HashMap<String, String>) -> Result<(String, Vec<String>, Option<i64>), Error> {
    let scopes = Scope::ALL.iter().filter(|s| form.get(&format!("scope_{}", s.as_str())).is_some_and(|v| v == "on"));
    let days = match form.get("expires_in_days").map_or("", |v| v.trim()) {
        "" => None,
        s => Some(
            s.parse::<i64>()
                .map_err(|_| Error::invalid_field("expires_in_days", "invalid_expiry", "Expires in must be a whole number of days."))?,
        ),
    };
    Ok((form.get("name").cloned().unwrap_or_default(), scopes.map(|s| s.as_str().to_owned()).collect(), days))
}

pub async fn create_token(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<HashMap<String, String>>) -> Response {
    let result = async {
        let id = UserId::parse(&id)?;
        let (name, scopes, days) = token_form(&f.form)?;
        let account = state.kw.service_account(&f.actor, id).await?;
        let new = state.kw.create_service_token(&f.actor, id, &name, &scopes, days).await?;
        Ok::<_, Error>(Created { account: account.user.full_name, secret: new.secret })
    }
    .await;
    match result {
        Ok(created) => page(&state, &f.actor, None, None, Some(created)).await.into_response(),
        Err(e) => answer(&e, page(&state, &f.actor, None, Some(&e), None).await),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path((id, token_id)): Path<(String, String)>,
    f: CsrfForm<super::session::Empty>,
) -> Response {
    let result = async { state.kw.revoke_service_token(&f.actor, UserId::parse(&id)?, TokenId::parse(&token_id)?).await }.await;
    match result {
        Ok(()) => Redirect::to("/settings/service-accounts?done=revoked").into_response(),
        Err(e) => answer(&e, page(&state, &f.actor, None, Some(&e), None).await),
    }
}

pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    let result = async { state.kw.delete_service_account(&f.actor, UserId::parse(&id)?).await }.await;
    match result {
        Ok(()) => Redirect::to("/settings/service-accounts?done=deleted").into_response(),
        Err(e) => answer(&e, page(&state, &f.actor, None, Some(&e), None).await),
    }
}
