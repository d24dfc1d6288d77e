//! Sharing from the resource pages: the Share dialog, Access Control and collaborators (several
//! teams and users in one submit), removing one share, a data source's Permissions (Private /
//! All Users / Specific) and its write-only credentials. Each form is one core operation, one
//! transaction: nothing is read, merged here and written back.

use super::CsrfForm;
use super::resource_page::{ShareDraft, act};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use keyward_core::Error;
use keyward_core::access::{Level, Subject, Visibility};
use keyward_core::services::shares::ShareRequest;
use keyward_core::types::ShareId;
use serde::Deserialize;

fn field<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
}

/// The shares a form asks for: each chosen team and user at the chosen level and end.
fn requests(form: &[(String, String)]) -> Result<Vec<ShareRequest>, Error> {
    let level = Level::parse_share(field(form, "level"))?;
    let expires_at = super::users::parse_input_time(field(form, "expires_at"))
        .map_err(|_| Error::invalid_field("expires_at", "invalid_time", "Until must be a date and time."))?;
    form.iter()
        .filter(|(k, _)| k == "subject")
        .map(|(_, v)| Ok(ShareRequest { subject: v.parse::<Subject>()?, level, expires_at }))
        .collect()
}

/// Shares with every team and user chosen, in one transaction. From a data source's
/// "Specific" picker (`visibility=specific`) it also makes the data source Specific.
pub async fn add_share(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    let draft = ShareDraft {
        subjects: f.form.iter().filter(|(k, _)| k == "subject").map(|(_, v)| v.clone()).collect(),
        level: field(&f.form, "level").to_owned(),
        until: field(&f.form, "expires_at").to_owned(),
        error: None,
    };
    let to_specific = field(&f.form, "visibility") == Visibility::Specific.as_str();
    act(&state, &f.actor, &id, "shared", Some(draft), async |id| {
        state.kw.add_shares(&f.actor, id, requests(&f.form)?, to_specific).await.map(|_| ())
    })
    .await
}

pub async fn remove_share(
    State(state): State<AppState>,
    Path((id, share)): Path<(String, String)>,
    f: CsrfForm<super::session::Empty>,
) -> Response {
    act(&state, &f.actor, &id, "unshared", None, async |id| state.kw.remove_share(&f.actor, id, ShareId::parse(&share)?).await.map(|_| ()))
        .await
}

#[derive(Deserialize)]
pub struct VisibilityForm {
    #[serde(default)]
    visibility: String,
}

/// Private, All Users or Specific: only the visibility changes, never a share.
pub async fn visibility(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<VisibilityForm>) -> Response {
    act(&state, &f.actor, &id, "saved", None, async |id| {
        let to =
            f.form.visibility.parse::<Visibility>().map_err(|_| {
                Error::invalid_field("visibility", "invalid_visibility", "Choose Private, All Users or Specific Users/Teams.")
            })?;
        state.kw.set_visibility(&f.actor, id, to).await.map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub struct CredentialsForm {
    credentials: String,
}

pub async fn credentials(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<CredentialsForm>) -> Response {
    act(&state, &f.actor, &id, "credentials", None, async |id| {
        // Why a fixed message: the parser's error would quote the secret back.
        let value: serde_json::Value = serde_json::from_str(&f.form.credentials)
            .map_err(|_| Error::invalid_field("credentials", "invalid_credentials", "Credentials must be a JSON object."))?;
        state.kw.put_credentials(&f.actor, id, &value).await.map(|_| ())
    })
    .await
}
