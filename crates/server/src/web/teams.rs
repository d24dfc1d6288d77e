//! Settings → Teams: the list and Create Team, and a team's page (members, lead, description,
//! quotas and usage). Controls follow what the core says the actor may do.

use super::settings::chrome;
use super::{Chrome, ConfirmPage, CsrfForm, PageActor, PageError, csrf_of};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::model::{Quotas, Usage};
use keyward_core::policy::Capability;
use keyward_core::services::teams::TeamChanges;
use keyward_core::store::UserFilter;
use keyward_core::types::{TeamId, UserId, UserStatus};
use keyward_core::{Actor, Error, Keyward};
use serde::Deserialize;

const QUOTA_FIELDS: [(&str, &str); 6] = [
    ("max_cpu_millis", "Max CPU (millicores)"),
    ("max_memory_mib", "Max memory (MiB)"),
    ("max_storage_gib", "Max storage (GiB)"),
    ("max_apps", "Max apps"),
    ("max_workflows", "Max workflows"),
    ("max_workspaces", "Max workspaces"),
];

/// The label of a quota field, as the form shows it.
fn label_of(field: &str) -> &str {
    QUOTA_FIELDS.iter().find(|(k, _)| *k == field).map_or(field, |(_, l)| *l)
}

/// The unit of each quota, in the order of `QUOTA_FIELDS`, for "500 millicores in use".
const QUOTA_UNITS: [&str; 6] = ["millicores", "MiB of memory", "GiB of storage", "apps", "workflows", "workspaces"];

fn quota_values(q: &Quotas) -> [Option<i64>; 6] {
    [q.max_cpu_millis, q.max_memory_mib, q.max_storage_gib, q.max_apps, q.max_workflows, q.max_workspaces]
}

fn quota_inputs(q: &Quotas) -> Vec<(&'static str, &'static str, String)> {
    QUOTA_FIELDS.iter().zip(quota_values(q)).map(|((k, l), v)| (*k, *l, v.map(|v| v.to_string()).unwrap_or_default())).collect()
}

/// Reads the quota fields of a form: empty is unlimited.
fn quotas_from(pairs: &[(String, String)]) -> Result<Quotas, Error> {
    let get = |k: &'static str| -> Result<Option<i64>, Error> {
        match pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim()).unwrap_or("") {
            "" => Ok(None),
            v => v.parse().map(Some).map_err(|_| {
                Error::invalid_field(k, "invalid_quota", format!("{} must be a whole number, or empty for unlimited.", label_of(k)))
            }),
        }
    };
    Ok(Quotas {
        max_cpu_millis: get("max_cpu_millis")?,
        max_memory_mib: get("max_memory_mib")?,
        max_storage_gib: get("max_storage_gib")?,
        max_apps: get("max_apps")?,
        max_workflows: get("max_workflows")?,
        max_workspaces: get("max_workspaces")?,
    })
}

fn field<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs.iter().find(|(n, _)| n == k).map_or("", |(_, v)| v.as_str())
}

/// (id, name, email) of the active people, for member pickers.
async fn people(state: &AppState, actor: &Actor) -> Result<Vec<(String, String, String)>, Error> {
    let users = state.kw.list_users(actor, UserFilter { status: Some(UserStatus::Active), limit: 200, ..UserFilter::default() }).await?;
    Ok(users.into_iter().map(|u| (u.id.to_string(), u.full_name, u.email)).collect())
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_teams.html")]
pub struct TeamsPage {
    chrome: Chrome,
    csrf_token: String,
    notice: Option<String>,
    error: Option<String>,
    teams: Vec<(String, String, String)>,
    can_create: bool,
    users: Vec<(String, String, String)>,
    quota_inputs: Vec<(&'static str, &'static str, String)>,
    draft_name: String,
    draft_description: String,
    draft_members: Vec<String>,
    draft_lead: String,
}

async fn teams_page(state: &AppState, actor: &Actor, notice: Option<String>, error: Option<String>) -> Result<TeamsPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(state, actor, "teams") };
    let teams = state.kw.list_teams(actor).await.map_err(page_err)?;
    let can_create = actor.can(Capability::ManageTeams);
    Ok(TeamsPage {
        chrome: chrome(state, actor, "teams"),
        csrf_token: csrf_of(actor),
        notice,
        error,
        teams: teams.into_iter().map(|t| (t.id.to_string(), t.name, t.description)).collect(),
        can_create,
        users: if can_create { people(state, actor).await.map_err(page_err)? } else { Vec::new() },
        quota_inputs: quota_inputs(&Quotas::default()),
        draft_name: String::new(),
        draft_description: String::new(),
        draft_members: Vec::new(),
        draft_lead: String::new(),
    })
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn list(State(state): State<AppState>, PageActor(actor): PageActor, Query(q): Query<Done>) -> Result<TeamsPage, PageError> {
    let notice = (q.done.as_deref() == Some("deleted")).then(|| "The team was deleted.".to_owned());
    teams_page(&state, &actor, notice, None).await
}

pub async fn create(State(state): State<AppState>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    let result = async {
        let members = f.form.iter().filter(|(k, _)| k == "member_ids").map(|(_, v)| UserId::parse(v)).collect::<Result<Vec<_>, _>>()?;
        let lead = Some(field(&f.form, "lead_id")).filter(|l| !l.is_empty()).map(UserId::parse).transpose()?;
        let quotas = quotas_from(&f.form)?;
        let view = state.kw.create_team(&f.actor, field(&f.form, "name"), field(&f.form, "description"), lead, &members).await?;
        if quotas != Quotas::default() {
            state.kw.set_team_quotas(&f.actor, view.team.id, quotas).await?;
        }
        Ok::<TeamId, Error>(view.team.id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/settings/teams/{id}?done=created")).into_response(),
        Err(e) => match teams_page(&state, &f.actor, None, Some(super::say(&e))).await {
            // The form comes back as it was typed.
            Ok(page) => {
                let inputs = QUOTA_FIELDS.iter().map(|(k, l)| (*k, *l, field(&f.form, k).to_owned())).collect();
                let page = TeamsPage {
                    draft_name: field(&f.form, "name").to_owned(),
                    draft_description: field(&f.form, "description").to_owned(),
                    draft_members: f.form.iter().filter(|(k, _)| k == "member_ids").map(|(_, v)| v.clone()).collect(),
                    draft_lead: field(&f.form, "lead_id").to_owned(),
                    quota_inputs: inputs,
                    ..page
                };
                (describe(&e).status, page).into_response()
            }
            Err(pe) => pe.into_response(),
        },
    }
}

pub struct MemberRow {
    id: String,
    name: String,
    email: String,
    lead: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_team.html")]
pub struct TeamPage {
    chrome: Chrome,
    csrf_token: String,
    notice: Option<String>,
    error: Option<String>,
    id: String,
    name: String,
    description: String,
    lead_name: String,
    is_admin: bool,
    can_describe: bool,
    can_manage_members: bool,
    members: Vec<MemberRow>,
    candidates: Vec<(String, String, String)>,
    usage: Option<Vec<UsageRow>>,
    /// Quotas set below what is in use, in words.
    over: Vec<String>,
    quota_inputs: Vec<(&'static str, &'static str, String)>,
}

/// One quota's use: the numbers, and the bar's length in percent of the limit (none when unlimited).
pub struct UsageRow {
    label: &'static str,
    used: i64,
    limit: String,
    limited: bool,
    percent: i64,
    full: bool,
    /// More is in use than the limit allows: new resources are refused.
    over: bool,
}

fn usage_rows(q: &Quotas, u: &Usage) -> Vec<UsageRow> {
    let used = [u.cpu_millis, u.memory_mib, u.storage_gib, u.apps, u.workflows, u.workspaces];
    QUOTA_FIELDS
        .iter()
        .zip(used)
        .zip(quota_values(q))
        .map(|(((_, label), used), limit)| {
            let percent = limit.map_or(0, |l| if l <= 0 { 100 } else { (used.saturating_mul(100) / l).clamp(0, 100) });
            UsageRow {
                label,
                used,
                limit: limit.map_or_else(|| "Unlimited".into(), |l| l.to_string()),
                limited: limit.is_some(),
                percent,
                full: limit.is_some_and(|l| used >= l),
                over: limit.is_some_and(|l| used > l),
            }
        })
        .collect()
}

/// "500 millicores in use, above the limit of 250: new resources will be refused." for each
/// quota set below what is in use.
fn over_quota(q: &Quotas, u: &Usage) -> Vec<String> {
    let used = [u.cpu_millis, u.memory_mib, u.storage_gib, u.apps, u.workflows, u.workspaces];
    QUOTA_UNITS
        .iter()
        .zip(used)
        .zip(quota_values(q))
        .filter_map(|((unit, used), limit)| {
            limit.filter(|l| used > *l).map(|l| format!("{used} {unit} in use, above the limit of {l}: new resources will be refused."))
        })
        .collect()
}

async fn team_page(
    state: &AppState,
    actor: &Actor,
    id: TeamId,
    notice: Option<String>,
    error: Option<String>,
) -> Result<TeamPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(state, actor, "teams") };
    let view = state.kw.get_team(actor, id).await.map_err(page_err)?;
    let manage = Keyward::may_manage_members(actor, &view.team);
    let usage = if manage { Some(state.kw.team_usage(actor, id).await.map_err(page_err)?.1) } else { None };
    let candidates = if manage {
        people(state, actor)
            .await
            .map_err(page_err)?
            .into_iter()
            .filter(|(uid, _, _)| !view.members.iter().any(|m| m.id.to_string() == *uid))
            .collect()
    } else {
        Vec::new()
    };
    let lead_name =
        view.team.lead_id.and_then(|l| view.members.iter().find(|m| m.id == l)).map_or_else(|| "None".to_owned(), |m| m.full_name.clone());
    Ok(TeamPage {
        chrome: chrome(state, actor, "teams"),
        csrf_token: csrf_of(actor),
        notice,
        error,
        id: id.to_string(),
        description: view.team.description.clone(),
        lead_name,
        is_admin: actor.can(Capability::ManageTeams),
        can_describe: manage,
        can_manage_members: manage,
        members: view
            .members
            .iter()
            .map(|m| MemberRow {
                id: m.id.to_string(),
                name: m.full_name.clone(),
                email: m.email.clone(),
                lead: view.team.lead_id == Some(m.id),
            })
            .collect(),
        candidates,
        over: usage.as_ref().map(|u| over_quota(&view.team.quotas, u)).unwrap_or_default(),
        usage: usage.map(|u| usage_rows(&view.team.quotas, &u)),
        quota_inputs: quota_inputs(&view.team.quotas),
        name: view.team.name,
    })
}

pub async fn show(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<TeamPage, PageError> {
    let id = TeamId::parse(&id).map_err(|error| PageError { error, chrome: chrome(&state, &actor, "teams") })?;
    let notice = q.done.map(|d| match d.as_str() {
        "created" => "The team was created.".to_owned(),
        "quotas" => "The quotas were saved.".to_owned(),
        _ => "Saved.".to_owned(),
    });
    team_page(&state, &actor, id, notice, None).await
}

/// Runs one change on a team from a form and shows its page with the outcome.
async fn act(state: &AppState, actor: &Actor, id: &str, done: &str, change: impl AsyncFnOnce(TeamId) -> Result<(), Error>) -> Response {
    let id = match TeamId::parse(id) {
        Ok(id) => id,
        Err(error) => return PageError { error, chrome: chrome(state, actor, "teams") }.into_response(),
    };
    match change(id).await {
        Ok(()) if done == "deleted" => Redirect::to("/settings/teams?done=deleted").into_response(),
        Ok(()) => Redirect::to(&format!("/settings/teams/{id}?done={done}")).into_response(),
        Err(e) => match team_page(state, actor, id, None, Some(super::say(&e))).await {
            Ok(page) => (describe(&e).status, page).into_response(),
            Err(pe) => pe.into_response(),
        },
    }
}

pub async fn edit(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    act(&state, &f.actor, &id, "saved", async |id| {
        let lead = if f.actor.can(Capability::ManageTeams) && f.form.iter().any(|(k, _)| k == "lead_id") {
            Some(Some(field(&f.form, "lead_id")).filter(|l| !l.is_empty()).map(UserId::parse).transpose()?)
        } else {
            None
        };
        let changes = TeamChanges { name: None, description: Some(field(&f.form, "description").to_owned()), lead_id: lead };
        state.kw.update_team(&f.actor, id, changes).await.map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub struct MemberForm {
    user_id: String,
}

pub async fn add_member(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<MemberForm>) -> Response {
    act(&state, &f.actor, &id, "member_added", async |id| {
        state.kw.add_team_member(&f.actor, id, UserId::parse(&f.form.user_id)?).await.map(|_| ())
    })
    .await
}

/// Removing a member asks first, saying what they lose.
pub async fn confirm_remove_member(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path((id, user)): Path<(String, String)>,
) -> Result<ConfirmPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(&state, &actor, "teams") };
    let id = TeamId::parse(&id).map_err(page_err)?;
    let user = UserId::parse(&user).map_err(page_err)?;
    let view = state.kw.get_team(&actor, id).await.map_err(page_err)?;
    if !Keyward::may_manage_members(&actor, &view.team) {
        return Err(page_err(Error::Forbidden));
    }
    let member = view.members.iter().find(|m| m.id == user).ok_or(Error::NotFound("Member")).map_err(page_err)?;
    Ok(ConfirmPage {
        chrome: chrome(&state, &actor, "teams"),
        csrf_token: csrf_of(&actor),
        heading: format!("Remove {} from {}?", member.full_name, view.team.name),
        question: format!(
            "{} loses the access that {} gives, from their next request: resources shared with the team are no longer theirs to use. What they own stays theirs.",
            member.full_name, view.team.name
        ),
        action: format!("/settings/teams/{id}/members/{user}/remove"),
        button: "Remove from team",
        button_class: "danger",
        cancel: format!("/settings/teams/{id}"),
        fields: Vec::new(),
    })
}

pub async fn remove_member(
    State(state): State<AppState>,
    Path((id, user)): Path<(String, String)>,
    f: CsrfForm<super::session::Empty>,
) -> Response {
    act(&state, &f.actor, &id, "member_removed", async |id| {
        state.kw.remove_team_member(&f.actor, id, UserId::parse(&user)?).await.map(|_| ())
    })
    .await
}

pub async fn quotas(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    let id = match TeamId::parse(&id) {
        Ok(id) => id,
        Err(error) => return PageError { error, chrome: chrome(&state, &f.actor, "teams") }.into_response(),
    };
    let result = match quotas_from(&f.form) {
        Ok(quotas) => state.kw.set_team_quotas(&f.actor, id, quotas).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/settings/teams/{id}?done=quotas")).into_response(),
        // The quotas come back as they were typed, with the error in words.
        Err(e) => match team_page(&state, &f.actor, id, None, Some(super::say(&e))).await {
            Ok(page) => {
                let typed = QUOTA_FIELDS.iter().map(|(k, l)| (*k, *l, field(&f.form, k).to_owned())).collect();
                (describe(&e).status, TeamPage { quota_inputs: typed, ..page }).into_response()
            }
            Err(pe) => pe.into_response(),
        },
    }
}

pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    act(&state, &f.actor, &id, "deleted", async |id| state.kw.delete_team(&f.actor, id).await).await
}
