//! Settings → Users: the list with search and pending invitations, Invite User, the user page
//! (role, actions, access end date, sign-in history) with its confirmations.

use super::settings::{PAGE, chrome};
use super::{Chrome, ConfirmPage, CsrfForm, PageActor, PageError, csrf_of, show_time};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::model::User;
use keyward_core::policy::Capability;
use keyward_core::services::users::UserChanges;
use keyward_core::store::UserFilter;
use keyward_core::types::{Role, UserId, UserStatus};
use keyward_core::{Actor, Error};
use serde::Deserialize;
use time::OffsetDateTime;

pub(super) fn roles() -> Vec<(&'static str, &'static str)> {
    Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect()
}

pub struct UserRow {
    id: String,
    full_name: String,
    email: String,
    role: &'static str,
    status: &'static str,
    mfa: &'static str,
    teams: String,
    last_active: String,
    /// An invited person: when their link expires (they are listed once, here).
    invitation_expires: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_users.html")]
pub struct UsersPage {
    chrome: Chrome,
    notice: Option<String>,
    csrf_token: String,
    q: String,
    role: String,
    status: String,
    roles: Vec<(&'static str, &'static str)>,
    full: bool,
    users: Vec<UserRow>,
    next_cursor: Option<String>,
    mfa_off: bool,
    inactive: bool,
    /// The query string of the filters, for the next page's link.
    filters_query: String,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    status: String,
    cursor: Option<String>,
    done: Option<String>,
    /// "MFA off": only people without MFA.
    mfa_off: Option<String>,
    /// "Inactive 90 days": only people not active for 90 days.
    inactive: Option<String>,
}

/// How long without activity the "inactive" filter means.
const INACTIVE_DAYS: i64 = 90;

pub async fn list(State(state): State<AppState>, PageActor(actor): PageActor, Query(q): Query<UsersQuery>) -> Result<UsersPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(&state, &actor, "users") };
    let full = actor.can(Capability::ManageUsers);
    let filter = UserFilter {
        q: Some(q.q.trim().to_owned()).filter(|s| !s.is_empty()),
        role: Some(q.role.as_str()).filter(|s| !s.is_empty()).map(Role::parse).transpose().map_err(page_err)?,
        status: Some(q.status.as_str()).filter(|s| !s.is_empty()).map(UserStatus::parse).transpose().map_err(page_err)?,
        team: None,
        after: q.cursor.filter(|c| !c.is_empty()),
        limit: PAGE + 1,
        mfa_off: full && q.mfa_off.is_some(),
        inactive_since: (full && q.inactive.is_some()).then(|| state.kw.now() - time::Duration::days(INACTIVE_DAYS)),
    };
    let mut list = state.kw.list_users(&actor, filter).await.map_err(page_err)?;
    let next_cursor = if list.len() as i64 > PAGE {
        list.truncate(PAGE as usize);
        list.last().map(|u| keyward_core::types::email_key(&u.email))
    } else {
        None
    };
    let pending = if full { state.kw.pending_invitations(&actor).await.map_err(page_err)? } else { Vec::new() };
    let ids: Vec<UserId> = list.iter().map(|u| u.id).collect();
    let mut teams = state.kw.teams_of_users(&actor, &ids).await.map_err(page_err)?;
    let mut filters_query =
        format!("q={}&role={}&status={}", super::urlencode(&q.q), super::urlencode(&q.role), super::urlencode(&q.status));
    if q.mfa_off.is_some() {
        filters_query.push_str("&mfa_off=1");
    }
    if q.inactive.is_some() {
        filters_query.push_str("&inactive=1");
    }
    Ok(UsersPage {
        chrome: chrome(&state, &actor, "users"),
        notice: match q.done.as_deref() {
            Some("revoked") => Some("The invitation was revoked; its link no longer works.".into()),
            Some("resent") => Some("A new invitation link was sent; the old one no longer works.".into()),
            _ => None,
        },
        csrf_token: csrf_of(&actor),
        q: q.q,
        role: q.role,
        status: q.status,
        roles: roles(),
        full,
        users: list
            .into_iter()
            .map(|u| UserRow {
                id: u.id.to_string(),
                role: u.role.label(),
                status: u.status.as_str(),
                mfa: if u.mfa_enabled { "On" } else { "Off" },
                teams: teams.remove(&u.id).map(|t| t.into_iter().map(|t| t.name).collect::<Vec<_>>().join(", ")).unwrap_or_default(),
                last_active: show_time(u.last_active_at),
                invitation_expires: pending.iter().find(|p| p.user.id == u.id).map(|p| show_time(p.expires_at)),
                full_name: u.full_name,
                email: u.email,
            })
            .collect(),
        mfa_off: q.mfa_off.is_some(),
        inactive: q.inactive.is_some(),
        filters_query,
        next_cursor,
    })
}

pub struct UserView {
    id: String,
    full_name: String,
    email: String,
    status: &'static str,
    role: &'static str,
    role_label: &'static str,
    mfa_enabled: bool,
    last_active: String,
    created: String,
    access_ends: String,
    access_end_input: String,
    teams: String,
}

pub struct LoginRow {
    at: String,
    result: String,
    ip: String,
    user_agent: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_user.html")]
pub struct UserPage {
    chrome: Chrome,
    csrf_token: String,
    notice: Option<String>,
    error: Option<String>,
    roles: Vec<(&'static str, &'static str)>,
    user: UserView,
    logins: Vec<LoginRow>,
}

/// `YYYY-MM-DDTHH:MM` for a datetime-local input (UTC).
fn input_time(t: Option<OffsetDateTime>) -> String {
    t.map(|t| {
        let t = t.to_offset(time::UtcOffset::UTC);
        format!("{:04}-{:02}-{:02}T{:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
    })
    .unwrap_or_default()
}

async fn user_page(
    state: &AppState,
    actor: &Actor,
    id: UserId,
    notice: Option<String>,
    error: Option<&Error>,
) -> Result<UserPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(state, actor, "users") };
    actor.require(Capability::ManageUsers).map_err(page_err)?;
    let user: User = state.kw.get_user(actor, id).await.map_err(page_err)?;
    let logins = state.kw.login_history(actor, id, 20).await.map_err(page_err)?;
    let teams = state.kw.teams_of_users(actor, &[id]).await.map_err(page_err)?.remove(&id).unwrap_or_default();
    Ok(UserPage {
        chrome: chrome(state, actor, "users"),
        csrf_token: csrf_of(actor),
        notice,
        error: error.map(super::say),
        roles: roles(),
        user: UserView {
            id: user.id.to_string(),
            status: user.status.as_str(),
            role: user.role.as_str(),
            role_label: user.role.label(),
            mfa_enabled: user.mfa_enabled,
            last_active: show_time(user.last_active_at),
            created: show_time(Some(user.created_at)),
            access_ends: user.access_expires_at.map_or_else(|| "No end date".into(), |t| show_time(Some(t))),
            access_end_input: input_time(user.access_expires_at),
            teams: if teams.is_empty() { "None".into() } else { teams.into_iter().map(|t| t.name).collect::<Vec<_>>().join(", ") },
            full_name: user.full_name,
            email: user.email,
        },
        logins: logins
            .into_iter()
            .map(|l| LoginRow {
                at: show_time(Some(l.at)),
                result: if l.success { "Signed in".into() } else { format!("Failed ({})", l.reason.replace('_', " ")) },
                ip: l.ip.unwrap_or_default(),
                user_agent: l.user_agent.unwrap_or_default(),
            })
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<UserPage, PageError> {
    let id = UserId::parse(&id).map_err(|error| PageError { error, chrome: chrome(&state, &actor, "users") })?;
    let notice = match q.done.as_deref() {
        Some("role") => Some("The role was updated. It applies from the user's next request.".to_owned()),
        Some("deactivated") => Some("The user was deactivated: every session and API token ended.".to_owned()),
        Some("reactivated") => Some("The user was reactivated.".to_owned()),
        Some("access_end") => Some("The access end date was saved.".to_owned()),
        Some("mfa_reset") => Some("MFA was reset and every session of the user ended.".to_owned()),
        _ => None,
    };
    user_page(&state, &actor, id, notice, None).await
}

/// Runs one change on a user from a form and shows the user page again, with the outcome.
async fn act(state: &AppState, actor: &Actor, id: &str, done: &str, change: impl AsyncFnOnce(UserId) -> Result<User, Error>) -> Response {
    let id = match UserId::parse(id) {
        Ok(id) => id,
        Err(error) => return PageError { error, chrome: chrome(state, actor, "users") }.into_response(),
    };
    match change(id).await {
        Ok(_) => Redirect::to(&format!("/settings/users/{id}?done={done}")).into_response(),
        Err(e) => match user_page(state, actor, id, None, Some(&e)).await {
            Ok(page) => (describe(&e).status, page).into_response(),
            Err(pe) => pe.into_response(),
        },
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// What a role may do, in a sentence for the confirmation.
fn role_means(role: Role) -> &'static str {
    match role {
        Role::Admin => "admins manage users, teams, security policies and see the activity log",
        Role::Developer => "developers deploy apps, create data sources and use what is shared with them",
        Role::DataScientist => "data scientists create workflows, use data sources and edit what is shared with them",
        Role::Viewer => "viewers see what is shared with them, and cannot use data sources or edit",
    }
}

/// "Change role" asks first; demoting yourself says that you lose Settings.
pub async fn confirm_role(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<RoleForm>,
) -> Result<ConfirmPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(&state, &actor, "users") };
    actor.require(Capability::ManageUsers).map_err(page_err)?;
    let user = state.kw.get_user(&actor, UserId::parse(&id).map_err(page_err)?).await.map_err(page_err)?;
    let role = Role::parse(&q.role).map_err(page_err)?;
    let demotes_self = user.id == actor.user.id && !keyward_core::policy::role_can(role, Capability::ManageUsers);
    let (heading, question, class) = if demotes_self {
        (
            format!("Change your own role to {}?", role.label()),
            format!(
                "You will lose Settings (users, teams, security policies, activity) as soon as you confirm, and cannot change your role back yourself: another admin would have to. As {}: {}.",
                role.label(),
                role_means(role)
            ),
            "danger",
        )
    } else {
        (
            format!("Change {}'s role to {}?", user.full_name, role.label()),
            format!(
                "{} is {} now. As {}: {}. It applies from their very next request.",
                user.full_name,
                user.role.label(),
                role.label(),
                role_means(role)
            ),
            "primary",
        )
    };
    Ok(ConfirmPage {
        chrome: chrome(&state, &actor, "users"),
        csrf_token: csrf_of(&actor),
        heading,
        question,
        action: format!("/settings/users/{}/role", user.id),
        button: "Change role",
        button_class: class,
        cancel: format!("/settings/users/{}", user.id),
        fields: vec![("role".into(), role.as_str().into())],
    })
}

pub async fn update_role(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<RoleForm>) -> Response {
    // Someone who just gave up their admin role cannot see the user page any more: go home.
    let own = UserId::parse(&id).is_ok_and(|id| id == f.actor.user.id);
    if own && Role::parse(&f.form.role).is_ok_and(|r| !keyward_core::policy::role_can(r, Capability::ManageUsers)) {
        return match state
            .kw
            .update_user(&f.actor, f.actor.user.id, UserChanges { role: Role::parse(&f.form.role).ok(), ..UserChanges::default() })
            .await
        {
            Ok(_) => Redirect::to("/").into_response(),
            Err(e) => match user_page(&state, &f.actor, f.actor.user.id, None, Some(&e)).await {
                Ok(page) => (describe(&e).status, page).into_response(),
                Err(pe) => pe.into_response(),
            },
        };
    }
    act(&state, &f.actor, &id, "role", async |id| {
        let role = Role::parse(&f.form.role)?;
        state.kw.update_user(&f.actor, id, UserChanges { role: Some(role), ..UserChanges::default() }).await
    })
    .await
}

#[derive(Deserialize)]
pub struct AccessEndForm {
    #[serde(default)]
    access_end: String,
}

pub(super) fn parse_input_time(s: &str) -> Result<Option<OffsetDateTime>, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    time::PrimitiveDateTime::parse(s, &format)
        .map(|t| Some(t.assume_utc()))
        .map_err(|_| Error::invalid_field("access_end", "invalid_time", "The end date must be a date and time such as 2026-12-31T17:00."))
}

pub async fn access_end(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<AccessEndForm>) -> Response {
    act(&state, &f.actor, &id, "access_end", async |id| {
        let end = parse_input_time(&f.form.access_end)?;
        state.kw.update_user(&f.actor, id, UserChanges { access_expires_at: Some(end), ..UserChanges::default() }).await
    })
    .await
}

pub async fn confirm_deactivate(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> Result<ConfirmPage, PageError> {
    confirm(&state, &actor, &id, true).await
}

pub async fn confirm_reactivate(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> Result<ConfirmPage, PageError> {
    confirm(&state, &actor, &id, false).await
}

async fn confirm(state: &AppState, actor: &Actor, id: &str, deactivate: bool) -> Result<ConfirmPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(state, actor, "users") };
    actor.require(Capability::ManageUsers).map_err(page_err)?;
    let user = state.kw.get_user(actor, UserId::parse(id).map_err(page_err)?).await.map_err(page_err)?;
    let (heading, question, verb, class) = if deactivate {
        (
            format!("Deactivate {}?", user.full_name),
            format!(
                "{} loses all access immediately: every session and API token ends. Resources they own stay as they are, and you can reactivate later without data loss.",
                user.full_name
            ),
            "deactivate",
            "danger",
        )
    } else {
        (
            format!("Reactivate {}?", user.full_name),
            format!("{} can sign in again, with everything they had.", user.full_name),
            "reactivate",
            "primary",
        )
    };
    Ok(ConfirmPage {
        chrome: chrome(state, actor, "users"),
        csrf_token: csrf_of(actor),
        heading,
        question,
        action: format!("/settings/users/{}/{verb}", user.id),
        button: if deactivate { "Deactivate" } else { "Reactivate" },
        button_class: class,
        cancel: format!("/settings/users/{}", user.id),
        fields: Vec::new(),
    })
}

pub async fn confirm_mfa_reset(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> Result<ConfirmPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(&state, &actor, "users") };
    actor.require(Capability::ManageUsers).map_err(page_err)?;
    let user = state.kw.get_user(&actor, UserId::parse(&id).map_err(page_err)?).await.map_err(page_err)?;
    Ok(ConfirmPage {
        chrome: chrome(&state, &actor, "users"),
        csrf_token: csrf_of(&actor),
        heading: format!("Reset MFA for {}?", user.full_name),
        question: format!(
            "This removes {}'s authenticator and backup codes and signs them out everywhere. They set up MFA again at their next sign-in where the policy requires it.",
            user.full_name
        ),
        action: format!("/settings/users/{}/mfa-reset", user.id),
        button: "Reset MFA",
        button_class: "danger",
        cancel: format!("/settings/users/{}", user.id),
        fields: Vec::new(),
    })
}

pub async fn mfa_reset(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    act(&state, &f.actor, &id, "mfa_reset", async |id| state.kw.reset_mfa(&f.actor, id).await).await
}

pub async fn deactivate(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    act(&state, &f.actor, &id, "deactivated", async |id| state.kw.deactivate_user(&f.actor, id).await).await
}

pub async fn reactivate(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    act(&state, &f.actor, &id, "reactivated", async |id| state.kw.reactivate_user(&f.actor, id).await).await
}
