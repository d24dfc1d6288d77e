//! Resource pages: the list and New resource, and the forms that rename and delete a resource
//! (a resource's own page is `resource_page.rs`). Every control shown is one the core says the
//! actor may use.

use super::resource_page::act;
use super::{Chrome, CsrfForm, PageActor, PageError, csrf_of};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::access::{Action, Kind, Level};
use keyward_core::services::resources::{NewResource, ResourceChanges};
use keyward_core::types::{ResourceId, TeamId};
use keyward_core::{Actor, Error, Keyward};
use serde::Deserialize;
use std::collections::HashMap;

const PAGE: i64 = 50;

pub(super) fn chrome(state: &AppState, actor: &Actor) -> Chrome {
    Chrome::for_actor(state, actor, "resources", "")
}

pub(super) fn page_err(state: &AppState, actor: &Actor) -> impl Fn(Error) -> PageError {
    let chrome = chrome(state, actor);
    move |error| PageError { error, chrome: chrome.clone() }
}

/// The level in the words the pages use.
pub(super) fn access_label(level: Level) -> &'static str {
    match level {
        Level::Full => "Full",
        Level::Edit => "Edit",
        Level::View => "View only",
        Level::None => "None",
    }
}

pub struct Row {
    id: String,
    name: String,
    kind: &'static str,
    team: String,
    access: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "resources.html")]
pub struct ListPage {
    chrome: Chrome,
    csrf_token: String,
    error: Option<String>,
    kind: String,
    kinds: Vec<(&'static str, &'static str)>,
    rows: Vec<Row>,
    next_cursor: Option<String>,
    creatable: Vec<(&'static str, &'static str)>,
    teams: Vec<(String, String)>,
    projects: Vec<(String, String)>,
    /// What was typed into New resource, shown again after an error.
    draft: Draft,
}

/// The New resource form as typed.
#[derive(Default)]
pub struct Draft {
    kind: String,
    name: String,
    team_id: String,
    project_id: String,
    cpu_millis: String,
    memory_mib: String,
    storage_gib: String,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    kind: String,
    cursor: Option<String>,
}

async fn list_page(state: &AppState, actor: &Actor, q: &ListQuery, error: Option<String>) -> Result<ListPage, PageError> {
    let err = page_err(state, actor);
    let kind = Some(q.kind.as_str()).filter(|k| !k.is_empty()).map(str::parse::<Kind>).transpose().map_err(&err)?;
    let after = q.cursor.as_deref().filter(|c| !c.is_empty()).map(ResourceId::parse).transpose().map_err(&err)?;
    let (items, next) = state.kw.list_resources(actor, kind, after, PAGE).await.map_err(&err)?;
    let teams = state.kw.list_teams(actor).await.map_err(&err)?;
    let team_names: HashMap<TeamId, String> = teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let (projects, _) = state.kw.list_resources(actor, Some(Kind::Project), None, 200).await.map_err(&err)?;
    Ok(ListPage {
        chrome: chrome(state, actor),
        csrf_token: csrf_of(actor),
        error,
        kind: q.kind.clone(),
        kinds: Kind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        rows: items
            .iter()
            .map(|v| Row {
                id: v.resource.id.to_string(),
                name: v.resource.name.clone(),
                kind: v.resource.kind.label(),
                team: v.resource.team_id.and_then(|t| team_names.get(&t).cloned()).unwrap_or_default(),
                access: access_label(v.decision.level),
            })
            .collect(),
        next_cursor: next.map(|n| n.to_string()),
        creatable: Keyward::creatable_kinds(actor).into_iter().map(|k| (k.as_str(), k.label())).collect(),
        teams: teams.into_iter().map(|t| (t.id.to_string(), t.name)).collect(),
        projects: projects.into_iter().filter(|p| p.may(Action::Edit)).map(|p| (p.resource.id.to_string(), p.resource.name)).collect(),
        draft: Draft { cpu_millis: "0".into(), memory_mib: "0".into(), storage_gib: "0".into(), ..Draft::default() },
    })
}

pub async fn list(State(state): State<AppState>, PageActor(actor): PageActor, Query(q): Query<ListQuery>) -> Result<ListPage, PageError> {
    list_page(&state, &actor, &q, None).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    kind: String,
    name: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    project_id: String,
    #[serde(default)]
    cpu_millis: String,
    #[serde(default)]
    memory_mib: String,
    #[serde(default)]
    storage_gib: String,
}

fn number(field: &'static str, v: &str) -> Result<i64, Error> {
    match v.trim() {
        "" => Ok(0),
        v => v.parse().map_err(|_| Error::invalid_field(field, "invalid_demand", format!("{field} must be a whole number or empty."))),
    }
}

pub async fn create(State(state): State<AppState>, f: CsrfForm<CreateForm>) -> Response {
    let result = async {
        let new = NewResource {
            kind: f.form.kind.parse()?,
            name: f.form.name.clone(),
            team_id: Some(f.form.team_id.as_str()).filter(|t| !t.is_empty()).map(TeamId::parse).transpose()?,
            project_id: Some(f.form.project_id.as_str()).filter(|p| !p.is_empty()).map(ResourceId::parse).transpose()?,
            cpu_millis: number("cpu_millis", &f.form.cpu_millis)?,
            memory_mib: number("memory_mib", &f.form.memory_mib)?,
            storage_gib: number("storage_gib", &f.form.storage_gib)?,
        };
        state.kw.create_resource(&f.actor, new).await
    }
    .await;
    match result {
        Ok(r) => Redirect::to(&format!("/resources/{}", r.id)).into_response(),
        Err(e) => match list_page(&state, &f.actor, &ListQuery::default(), Some(super::say(&e))).await {
            Ok(page) => {
                let f = f.form;
                let draft = Draft {
                    kind: f.kind,
                    name: f.name,
                    team_id: f.team_id,
                    project_id: f.project_id,
                    cpu_millis: f.cpu_millis,
                    memory_mib: f.memory_mib,
                    storage_gib: f.storage_gib,
                };
                (describe(&e).status, ListPage { draft, ..page }).into_response()
            }
            Err(pe) => pe.into_response(),
        },
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    name: String,
}

pub async fn edit(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<RenameForm>) -> Response {
    act(&state, &f.actor, &id, "saved", None, async |id| {
        state
            .kw
            .update_resource(&f.actor, id, ResourceChanges { name: Some(f.form.name.clone()), ..ResourceChanges::default() })
            .await
            .map(|_| ())
    })
    .await
}

pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    act(&state, &f.actor, &id, "deleted", None, async |id| state.kw.delete_resource(&f.actor, id).await).await
}
