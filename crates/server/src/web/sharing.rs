//! Sharing from the resource pages: the Share dialog, Access Control and collaborators, the data
//! source's Permissions (Private / All Users / Specific) and its write-only credentials.

use super::CsrfForm;
use super::resources::act;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::access::{Level, Subject};
use keyward_core::services::sharing::ShareRequest;
use keyward_core::types::{ResourceId, TeamId, UserId};
use keyward_core::{Actor, Error};
use serde::Deserialize;

fn parse_subject(key: &str) -> Result<Subject, Error> {
    let bad = || Error::invalid_field("subject", "invalid_subject", "Choose a team or a user to share with.");
    match key.split_once(':') {
        Some(("user", id)) => Ok(Subject::User(UserId::parse(id).map_err(|_| bad())?)),
        Some(("team", id)) => Ok(Subject::Team(TeamId::parse(id).map_err(|_| bad())?)),
        None if key == "all_users" => Ok(Subject::AllUsers),
        _ => Err(bad()),
    }
}

/// The shares of a resource as requests, so that one can be added or removed and all put back.
async fn current_requests(state: &AppState, actor: &Actor, id: ResourceId) -> Result<Vec<ShareRequest>, Error> {
    Ok(state
        .kw
        .get_shares(actor, id)
        .await?
        .into_iter()
        .map(|s| ShareRequest { subject: s.subject, level: s.level, expires_at: s.expires_at })
        .collect())
}

#[derive(Deserialize)]
pub struct AddShareForm {
    subject: String,
    level: String,
    #[serde(default)]
    expires_at: String,
}

pub async fn add_share(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<AddShareForm>) -> Response {
    act(&state, &f.actor, &id, "shared", async |id| {
        let subject = parse_subject(&f.form.subject)?;
        let level = match f.form.level.as_str() {
            "edit" => Level::Edit,
            _ => Level::View,
        };
        let expires_at = super::users::parse_input_time(&f.form.expires_at)?;
        let mut shares = current_requests(&state, &f.actor, id).await?;
        shares.retain(|s| s.subject != subject);
        shares.push(ShareRequest { subject, level, expires_at });
        state.kw.put_shares(&f.actor, id, shares).await.map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub struct RemoveShareForm {
    subject: String,
}

pub async fn remove_share(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<RemoveShareForm>) -> Response {
    act(&state, &f.actor, &id, "unshared", async |id| {
        let subject = parse_subject(&f.form.subject)?;
        let mut shares = current_requests(&state, &f.actor, id).await?;
        shares.retain(|s| s.subject != subject);
        state.kw.put_shares(&f.actor, id, shares).await.map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub struct VisibilityForm {
    visibility: String,
}

/// Private removes every share; All Users shares with everyone at view; Specific keeps the user
/// and team shares and drops the all-users one.
pub async fn visibility(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<VisibilityForm>) -> Response {
    let specific = f.form.visibility == "specific";
    let response = act(&state, &f.actor, &id, "saved", async |id| {
        let shares = current_requests(&state, &f.actor, id).await?;
        let next = match f.form.visibility.as_str() {
            "private" => Vec::new(),
            "all_users" => vec![ShareRequest { subject: Subject::AllUsers, level: Level::View, expires_at: None }],
            "specific" => shares.into_iter().filter(|s| s.subject != Subject::AllUsers).collect(),
            _ => {
                return Err(Error::invalid_field("visibility", "invalid_visibility", "Choose Private, All Users or Specific Users/Teams."));
            }
        };
        state.kw.put_shares(&f.actor, id, next).await.map(|_| ())
    })
    .await;
    if specific && response.status().is_redirection() {
        return Redirect::to(&format!("/resources/{id}?done=saved&visibility=specific")).into_response();
    }
    response
}

#[derive(Deserialize)]
pub struct CredentialsForm {
    credentials: String,
}

pub async fn credentials(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<CredentialsForm>) -> Response {
    act(&state, &f.actor, &id, "credentials", async |id| {
        // Why a fixed message: the parser's error would quote the secret back.
        let value: serde_json::Value = serde_json::from_str(&f.form.credentials)
            .map_err(|_| Error::invalid_field("credentials", "invalid_credentials", "Credentials must be a JSON object."))?;
        state.kw.put_credentials(&f.actor, id, &value).await.map(|_| ())
    })
    .await
}
