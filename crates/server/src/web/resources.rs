//! Resource pages: the list and New resource; a resource's page with the app's Share dialog,
//! the project's Access Control tab, workflow collaborators, and the data source's
//! Permissions and credentials. Every control shown is one the core says the actor may use.

use super::{Chrome, CsrfForm, PageActor, PageError, csrf_of, show_time};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::access::{Action, Kind, Level, Subject};
use keyward_core::model::Share;
use keyward_core::services::resources::{NewResource, ResourceChanges, Visible};
use keyward_core::store::UserFilter;
use keyward_core::types::{ResourceId, TeamId, UserId, UserStatus};
use keyward_core::{Actor, Error, Keyward};
use serde::Deserialize;
use std::collections::HashMap;

const PAGE: i64 = 50;

fn chrome(state: &AppState, actor: &Actor) -> Chrome {
    Chrome::for_actor(state, actor, "resources", "")
}

fn page_err(state: &AppState, actor: &Actor) -> impl Fn(Error) -> PageError {
    let chrome = chrome(state, actor);
    move |error| PageError { error, chrome: chrome.clone() }
}

/// The level in the words the pages use.
fn access_label(level: Level) -> &'static str {
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
        v => v.parse().map_err(|_| Error::invalid_field(field, "invalid_demand", format!("{field} must be a whole number."))),
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
        Err(e) => match list_page(&state, &f.actor, &ListQuery::default(), Some(describe(&e).message)).await {
            Ok(page) => (describe(&e).status, page).into_response(),
            Err(pe) => pe.into_response(),
        },
    }
}

pub struct ShareRow {
    who: String,
    level: &'static str,
    until: String,
    /// `team:<id>`, `user:<id>` or `all_users`.
    key: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "resource.html")]
pub struct ResourcePage {
    chrome: Chrome,
    csrf_token: String,
    notice: Option<String>,
    error: Option<String>,
    id: String,
    name: String,
    kind: &'static str,
    kind_label: &'static str,
    owner: String,
    team: String,
    project: Option<(String, String)>,
    cpu: i64,
    memory: i64,
    storage: i64,
    access: &'static str,
    may_edit: bool,
    may_share: bool,
    may_delete: bool,
    may_read_logs: bool,
    shares: Vec<ShareRow>,
    teams: Vec<(String, String)>,
    users: Vec<(String, String, String)>,
    workspaces: Vec<(String, String)>,
    visibility: &'static str,
    credentials_at: Option<String>,
}

fn subject_key(s: &Subject) -> String {
    match s {
        Subject::User(u) => format!("user:{u}"),
        Subject::Team(t) => format!("team:{t}"),
        Subject::AllUsers => "all_users".into(),
    }
}

async fn resource_page(
    state: &AppState,
    actor: &Actor,
    id: ResourceId,
    notice: Option<String>,
    error: Option<String>,
    want_specific: bool,
) -> Result<ResourcePage, PageError> {
    let err = page_err(state, actor);
    let (v, creds): (Visible, _) = state.kw.resource_details(actor, id).await.map_err(&err)?;
    let r = &v.resource;
    let may_share = v.may(Action::Share);
    let shares: Vec<Share> = if may_share { state.kw.get_shares(actor, id).await.map_err(&err)? } else { Vec::new() };
    let teams = state.kw.list_teams(actor).await.map_err(&err)?;
    let team_names: HashMap<TeamId, String> = teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let people = state
        .kw
        .list_users(actor, UserFilter { status: Some(UserStatus::Active), limit: 200, ..UserFilter::default() })
        .await
        .map_err(&err)?;
    let names: HashMap<UserId, String> = people.iter().map(|u| (u.id, u.full_name.clone())).collect();
    let owner = match names.get(&r.owner_id) {
        Some(n) => n.clone(),
        None => state.kw.get_user(actor, r.owner_id).await.map(|u| u.full_name).unwrap_or_else(|_| r.owner_id.to_string()),
    };
    let project = match r.project_id {
        Some(p) => state.kw.get_resource(actor, p).await.ok().map(|pv| (p.to_string(), pv.resource.name)),
        None => None,
    };
    let workspaces = if r.kind == Kind::Project {
        let (all, _) = state.kw.list_resources(actor, Some(Kind::Workspace), None, 200).await.map_err(&err)?;
        all.into_iter().filter(|w| w.resource.project_id == Some(id)).map(|w| (w.resource.id.to_string(), w.resource.name)).collect()
    } else {
        Vec::new()
    };
    let visibility = if shares.iter().any(|s| s.subject == Subject::AllUsers) {
        "all_users"
    } else if !shares.is_empty() || want_specific {
        "specific"
    } else {
        "private"
    };
    let credentials_at = creds.map(|c| show_time(Some(c.updated_at)));
    Ok(ResourcePage {
        chrome: chrome(state, actor),
        csrf_token: csrf_of(actor),
        notice,
        error,
        id: id.to_string(),
        name: r.name.clone(),
        kind: r.kind.as_str(),
        kind_label: r.kind.label(),
        owner,
        team: r.team_id.and_then(|t| team_names.get(&t).cloned()).unwrap_or_else(|| "None".into()),
        project,
        cpu: r.cpu_millis,
        memory: r.memory_mib,
        storage: r.storage_gib,
        access: access_label(v.decision.level),
        may_edit: v.may(Action::Edit),
        may_share,
        may_delete: v.may(Action::Delete),
        may_read_logs: v.may(Action::ReadLogs),
        shares: shares
            .iter()
            .map(|s| ShareRow {
                who: match &s.subject {
                    Subject::User(u) => names.get(u).cloned().unwrap_or_else(|| u.to_string()),
                    Subject::Team(t) => format!("Team {}", team_names.get(t).cloned().unwrap_or_else(|| t.to_string())),
                    Subject::AllUsers => "All users".into(),
                },
                level: if s.level == Level::Edit { "Edit" } else { "View only" },
                until: s.expires_at.map_or_else(|| "—".into(), |t| show_time(Some(t))),
                key: subject_key(&s.subject),
            })
            .collect(),
        teams: teams.into_iter().map(|t| (t.id.to_string(), t.name)).collect(),
        users: people.into_iter().filter(|u| u.id != r.owner_id).map(|u| (u.id.to_string(), u.full_name, u.email)).collect(),
        workspaces,
        visibility,
        credentials_at,
    })
}

#[derive(Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
    visibility: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<ResourcePage, PageError> {
    let id = ResourceId::parse(&id).map_err(page_err(&state, &actor))?;
    let notice = q.done.map(|d| match d.as_str() {
        "shared" => "Shared. It applies on their very next request.".to_owned(),
        "unshared" => "The share was removed.".to_owned(),
        "credentials" => "The credentials were saved, encrypted.".to_owned(),
        _ => "Saved.".to_owned(),
    });
    resource_page(&state, &actor, id, notice, None, q.visibility.as_deref() == Some("specific")).await
}

/// Runs one change on a resource from a form and shows its page with the outcome.
pub(super) async fn act(
    state: &AppState,
    actor: &Actor,
    id: &str,
    done: &str,
    change: impl AsyncFnOnce(ResourceId) -> Result<(), Error>,
) -> Response {
    let id = match ResourceId::parse(id) {
        Ok(id) => id,
        Err(e) => return page_err(state, actor)(e).into_response(),
    };
    match change(id).await {
        Ok(()) if done == "deleted" => Redirect::to("/resources").into_response(),
        Ok(()) => Redirect::to(&format!("/resources/{id}?done={done}")).into_response(),
        Err(e) => match resource_page(state, actor, id, None, Some(describe(&e).message), false).await {
            Ok(page) => (describe(&e).status, page).into_response(),
            Err(pe) => pe.into_response(),
        },
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    name: String,
}

pub async fn edit(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<RenameForm>) -> Response {
    act(&state, &f.actor, &id, "saved", async |id| {
        state
            .kw
            .update_resource(&f.actor, id, ResourceChanges { name: Some(f.form.name.clone()), ..ResourceChanges::default() })
            .await
            .map(|_| ())
    })
    .await
}

pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    act(&state, &f.actor, &id, "deleted", async |id| state.kw.delete_resource(&f.actor, id).await).await
}
