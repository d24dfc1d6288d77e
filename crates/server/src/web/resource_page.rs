//! A resource's page: its facts, the Share dialog (apps, models, dashboards, reports,
//! workspaces), the project's Access Control tab, workflow collaborators, a data source's
//! Permissions, the access a workspace inherits, and "Why can X do this?". Everything shown
//! comes from the core's read model (`Keyward::resource_view`); this file only puts it in words.

use super::resources::{access_label, chrome, page_err};
use super::{Chrome, PageActor, PageError, csrf_of, show_time};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::access::{Action, Decision, Kind, Level, Path as AccessPath, Subject};
use keyward_core::services::resource_view::{ResourceView, ShareLine};
use keyward_core::types::{ResourceId, UserId};
use keyward_core::{Actor, Error};
use serde::Deserialize;

/// What was chosen in a share form that failed, so that it comes back as it was.
#[derive(Debug, Clone, Default)]
pub struct ShareDraft {
    pub subjects: Vec<String>,
    pub level: String,
    pub until: String,
    pub error: Option<String>,
}

impl ShareDraft {
    /// Whether `value` (`team:<id>` or `user:<id>`) was chosen.
    pub fn has(&self, value: &str) -> bool {
        self.subjects.iter().any(|s| s == value)
    }
}

pub struct ShareRow {
    who: String,
    level: String,
    until: String,
    share_id: String,
}

pub struct PickUser {
    value: String,
    name: String,
    email: String,
    /// The most their role allows here: `none`, `view` or `full` (for the dialog's warning).
    cap: &'static str,
}

pub struct WhyAnswer {
    name: String,
    summary: String,
    lines: Vec<String>,
}

/// Events a resource's page shows in its history.
const HISTORY: i64 = 50;

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
    /// The kinds without a tab or section of their own share from a dialog.
    dialog: bool,
    shares: Vec<ShareRow>,
    teams: Vec<(String, String)>,
    users: Vec<PickUser>,
    draft: ShareDraft,
    workspaces: Vec<(String, String)>,
    visibility: &'static str,
    all_users_level: String,
    inherited: Option<(String, Vec<ShareRow>)>,
    why_people: Vec<(String, String)>,
    why: Option<WhyAnswer>,
    why_id: String,
    credentials_at: Option<String>,
    /// Creation and changes, newest first (for those who may share it, and admins).
    history: Vec<super::settings::EventRow>,
}

fn level_words(level: Level) -> &'static str {
    match level {
        Level::Full => "Full",
        Level::Edit => "Edit",
        Level::View => "View only",
        Level::None => "no access",
    }
}

/// "Edit", or "Edit (viewer: view only)" when the person's role gives less.
fn level_with_cap(line: &ShareLine) -> String {
    let base = level_words(line.share.level);
    let whom = if matches!(line.share.subject, Subject::Team(_)) { "viewers in the team" } else { "viewer" };
    match line.capped_to {
        Some(Level::None) => format!("{base} ({whom}: no access)"),
        Some(cap) => format!("{base} ({whom}: {})", level_words(cap).to_lowercase()),
        None => base.to_owned(),
    }
}

fn who(line: &ShareLine) -> String {
    match (&line.share.subject, &line.name) {
        (Subject::AllUsers, _) => "All users".into(),
        (Subject::Team(_), Some(n)) => format!("Team {n}"),
        (Subject::User(_), Some(n)) => n.clone(),
        (_, None) => "Someone no longer here".into(),
    }
}

fn row(line: &ShareLine) -> ShareRow {
    ShareRow {
        who: who(line),
        level: level_with_cap(line),
        until: line.share.expires_at.map_or_else(|| "—".into(), |t| show_time(Some(t))),
        share_id: line.share.id.to_string(),
    }
}

/// The paths of a decision in words.
fn explain_in_words(view: &ResourceView, name: &str, d: &Decision) -> WhyAnswer {
    let team_name = |t| view.teams.iter().find(|x| x.id == t).map_or_else(|| "a team".to_owned(), |x| x.name.clone());
    let project = view.project.as_ref().map_or_else(|| "its project".to_owned(), |(_, n)| format!("the project {n}"));
    let kind = view.visible.resource.kind.label().to_lowercase();
    let mut lines: Vec<String> = d
        .paths
        .iter()
        .map(|p| match p {
            AccessPath::Admin => "An admin: full access to everything.".to_owned(),
            AccessPath::Owner => format!("Owns this {kind}: full access."),
            AccessPath::ProjectOwner => format!("Owns {project}: full access to its workspaces."),
            AccessPath::Share { subject, level, via_project, expires_at } => {
                let base = match subject {
                    Subject::User(_) => format!("Shared with them at {}", level_words(*level)),
                    Subject::Team(t) => format!("In team {}, which has {}", team_name(*t), level_words(*level)),
                    Subject::AllUsers => format!("Shared with all users at {}", level_words(*level)),
                };
                let on = if *via_project { format!(" on {project}") } else { String::new() };
                let until = expires_at.map(|t| format!(" until {}", show_time(Some(t)))).unwrap_or_default();
                format!("{base}{on}{until}.")
            }
        })
        .collect();
    if d.inactive {
        lines.push("Deactivated, or past their access end date: no access.".into());
    } else if d.paths.is_empty() {
        lines.push(format!("Nothing gives them access to this {kind}."));
    }
    if d.capped {
        lines.push(match d.level {
            Level::None => "Their role (viewer) cannot use data sources.".to_owned(),
            l => format!("Their role (viewer) limits this to {}.", level_words(l)),
        });
    }
    WhyAnswer { name: name.to_owned(), summary: level_words(d.level).to_owned(), lines }
}

/// Builds the page; `draft` refills a share form that failed, `why` answers "Why can X do this?".
pub(super) async fn resource_page(
    state: &AppState,
    actor: &Actor,
    id: ResourceId,
    notice: Option<String>,
    error: Option<String>,
    draft: ShareDraft,
    why: Option<UserId>,
) -> Result<ResourcePage, PageError> {
    let err = page_err(state, actor);
    let view = state.kw.resource_view(actor, id).await.map_err(&err)?;
    let r = &view.visible.resource;
    let may_share = view.may(Action::Share);
    let explainer = view.may_explain;
    let why_id = why.filter(|_| explainer);
    let why = match why_id {
        Some(user) => {
            let (u, d) = state.kw.explain_access(actor, id, user).await.map_err(&err)?;
            Some(explain_in_words(&view, &u.full_name, &d))
        }
        None => None,
    };
    let shown: Vec<ShareRow> = view
        .shares
        .iter()
        // A data source lists its specific shares; the all-users share is its All Users level.
        .filter(|l| r.kind != Kind::DataSource || l.share.subject != Subject::AllUsers)
        .map(row)
        .collect();
    let all_users_level =
        view.shares.iter().find(|l| l.share.subject == Subject::AllUsers).map_or("View only", |l| level_words(l.share.level));
    let history = if explainer {
        state.kw.resource_history(actor, id, HISTORY).await.map_err(&err)?.into_iter().map(super::settings::EventRow::of).collect()
    } else {
        Vec::new()
    };
    let mut why_people: Vec<(String, String)> = vec![(r.owner_id.to_string(), view.owner_name.clone())];
    why_people.extend(view.people.iter().map(|c| (c.id.to_string(), format!("{} ({})", c.name, c.email))));
    Ok(ResourcePage {
        chrome: chrome(state, actor),
        csrf_token: csrf_of(actor),
        notice,
        error,
        id: id.to_string(),
        name: r.name.clone(),
        kind: r.kind.as_str(),
        kind_label: r.kind.label(),
        owner: view.owner_name.clone(),
        team: view.team_name.clone().unwrap_or_else(|| "None".into()),
        project: view.project.as_ref().map(|(p, n)| (p.to_string(), n.clone())),
        cpu: r.cpu_millis,
        memory: r.memory_mib,
        storage: r.storage_gib,
        access: access_label(view.visible.decision.level),
        may_edit: view.may(Action::Edit),
        may_share,
        may_delete: view.may(Action::Delete),
        may_read_logs: view.may(Action::ReadLogs),
        dialog: !matches!(r.kind, Kind::Project | Kind::Workflow | Kind::DataSource),
        shares: shown,
        teams: view.teams.iter().map(|t| (format!("team:{}", t.id), t.name.clone())).collect(),
        users: view
            .people
            .iter()
            .filter(|c| c.id != r.owner_id)
            .map(|c| PickUser { value: format!("user:{}", c.id), name: c.name.clone(), email: c.email.clone(), cap: c.cap.as_str() })
            .collect(),
        draft,
        workspaces: view.workspaces.iter().map(|(w, n)| (w.to_string(), n.clone())).collect(),
        visibility: r.visibility.as_str(),
        all_users_level: all_users_level.to_owned(),
        inherited: view.inherited.as_ref().map(|i| (i.owner_name.clone(), i.shares.iter().map(row).collect())),
        why_people: if explainer { why_people } else { Vec::new() },
        why,
        why_id: why_id.map(|u| u.to_string()).unwrap_or_default(),
        credentials_at: view.credentials.as_ref().map(|c| show_time(Some(c.updated_at))),
        history,
    })
}

#[derive(Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
    why: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<ResourcePage, PageError> {
    let err = page_err(&state, &actor);
    let id = ResourceId::parse(&id).map_err(&err)?;
    let why = q.why.as_deref().filter(|w| !w.is_empty()).map(UserId::parse).transpose().map_err(&err)?;
    let notice = q.done.map(|d| match d.as_str() {
        "shared" => "Shared. It applies on their very next request.".to_owned(),
        "unshared" => "The share was removed.".to_owned(),
        "credentials" => "The credentials were saved, encrypted.".to_owned(),
        _ => "Saved.".to_owned(),
    });
    resource_page(&state, &actor, id, notice, None, ShareDraft::default(), why).await
}

/// Runs one change on a resource from a form and shows its page with the outcome; a failed
/// share comes back in its form with what was chosen (`draft`).
pub(super) async fn act(
    state: &AppState,
    actor: &Actor,
    id: &str,
    done: &str,
    draft: Option<ShareDraft>,
    change: impl AsyncFnOnce(ResourceId) -> Result<(), Error>,
) -> Response {
    let id = match ResourceId::parse(id) {
        Ok(id) => id,
        Err(e) => return page_err(state, actor)(e).into_response(),
    };
    match change(id).await {
        Ok(()) if done == "deleted" => Redirect::to("/resources").into_response(),
        Ok(()) => Redirect::to(&format!("/resources/{id}?done={done}")).into_response(),
        Err(e) => {
            let d = describe(&e);
            let (error, draft) = match draft {
                Some(draft) => (None, ShareDraft { error: Some(share_error_words(&e)), ..draft }),
                None => (Some(super::in_words(&d.message)), ShareDraft::default()),
            };
            match resource_page(state, actor, id, None, error, draft, None).await {
                Ok(page) => (d.status, page).into_response(),
                Err(pe) => pe.into_response(),
            }
        }
    }
}

/// A share form's error in the form's own words (its labels, not the API's field names).
fn share_error_words(e: &Error) -> String {
    match e {
        Error::Invalid { field: Some("expires_at"), code: "invalid_expiry", .. } => "Until must be in the future.".into(),
        Error::Invalid { field: Some("expires_at"), .. } => "Until must be a date and time, such as 2026-12-31 17:00.".into(),
        Error::Invalid { field: Some("level"), .. } => "Choose View only or Edit as the permission.".into(),
        other => super::say(other),
    }
}
