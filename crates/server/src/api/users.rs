//! The user directory, a user's sign-in history, and the audit log.

use crate::api::cursor;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::state::AppState;
use crate::wire;
use axum::Json;
use axum::extract::{Path, State};
use keyward_api::{AuditEvent, ErrorBody, LoginRecord, Page, UpdateUserRequest, User};
use keyward_core::Error;
use keyward_core::services::directory::page_size;
use keyward_core::services::users::UserChanges;
use keyward_core::store::{AuditFilter, UserFilter};
use keyward_core::types::{FullName, Role, TeamId, UserId, UserStatus};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Part of a name or email, any case (`%`, `_` and `\` are plain characters; control
    /// characters are refused with 400 `invalid_query`).
    q: Option<String>,
    /// Admins only (others: 400 `filter_not_allowed`).
    role: Option<String>,
    /// `active`, `deactivated` or `invited`; admins only (others see active users and may send `active` alone).
    status: Option<String>,
    team_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The directory: every signed-in user sees the names, emails and teams of active users; admins
/// see every account with role, status and activity, and may filter by role and status.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    responses((status = 200, body = Page<User>), (status = 400, body = ErrorBody, description = "filter_not_allowed: role or status filter from a non-admin; invalid_query: control characters in q")))]
pub async fn list_users(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<Page<User>>> {
    let limit = page_size(q.limit)?;
    let filter = UserFilter {
        q: q.q.filter(|s| !s.trim().is_empty()).map(|s| s.trim().to_owned()),
        role: q.role.as_deref().map(Role::parse).transpose()?,
        status: q.status.as_deref().map(UserStatus::parse).transpose()?,
        team: q.team_id.as_deref().map(TeamId::parse).transpose()?,
        after: cursor(q.cursor.as_deref())?,
        limit: limit + 1,
        ..UserFilter::default()
    };
    let mut users = state.kw.list_users(&actor, filter).await?;
    let next_cursor = (users.len() as i64 > limit).then(|| {
        users.truncate(limit as usize);
        users.last().map(|u| keyward_core::types::email_key(&u.email))
    });
    let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
    let teams = state.kw.teams_of_users(&actor, &ids).await?;
    Ok(Json(Page {
        items: users
            .iter()
            .map(|u| wire::user_with_teams(u, actor.sees_account_of(u.id), teams.get(&u.id).map_or(&[][..], Vec::as_slice)))
            .collect(),
        next_cursor: next_cursor.flatten(),
    }))
}

/// One user; for non-admins only active users (and themself), others answer 404.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)), responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn get_user(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<User>> {
    let user = state.kw.get_user(&actor, UserId::parse(&id)?).await?;
    let full = actor.sees_account_of(user.id);
    let teams = state.kw.teams_of_users(&actor, &[user.id]).await?;
    Ok(Json(wire::user_with_teams(&user, full, teams.get(&user.id).map_or(&[][..], Vec::as_slice))))
}

/// Changes a user's role, name or access end date (admins). A role change acts on the user's
/// very next request.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UpdateUserRequest,
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "last_admin")))]
pub async fn update_user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateUserRequest>,
) -> ApiResult<Json<User>> {
    let id = UserId::parse(&id)?;
    let changes = UserChanges {
        role: body.role.as_deref().map(Role::parse).transpose()?,
        full_name: body.full_name.as_deref().map(FullName::parse).transpose()?,
        access_expires_at: match body.access_expires_at {
            None => None,
            Some(None) => Some(None),
            Some(Some(t)) => Some(parse_time("access_expires_at", Some(&t))?),
        },
    };
    let user = state.kw.update_user(&actor, id, changes).await?;
    Ok(Json(wire::user(&user, true)))
}

/// Deactivates a user: every session and API token ends at once; owned resources stay.
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn deactivate_user(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<User>> {
    let user = state.kw.deactivate_user(&actor, UserId::parse(&id)?).await?;
    Ok(Json(wire::user(&user, true)))
}

/// Reactivates a user with everything they had.
#[utoipa::path(post, path = "/api/v1/users/{id}/reactivate", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reactivate_user(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<User>> {
    let user = state.kw.reactivate_user(&actor, UserId::parse(&id)?).await?;
    Ok(Json(wire::user(&user, true)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    limit: Option<i64>,
}

/// A user's sign-in history, newest first (admins, or the user themself).
#[utoipa::path(get, path = "/api/v1/users/{id}/logins", tag = "users", params(("id" = String, Path), LimitQuery),
    responses((status = 200, body = Page<LoginRecord>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn user_logins(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> ApiResult<Json<Page<LoginRecord>>> {
    let attempts = state.kw.login_history(&actor, UserId::parse(&id)?, page_size(q.limit)?).await?;
    Ok(Json(Page { items: attempts.iter().map(wire::login).collect(), next_cursor: None }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    actor_id: Option<String>,
    action: Option<String>,
    /// RFC 3339; events at or after.
    since: Option<String>,
    /// RFC 3339; events before.
    until: Option<String>,
    /// Only events about this kind of thing (`user`, `team`, `resource`, …).
    target_type: Option<String>,
    target_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

pub(crate) fn parse_time(field: &'static str, s: Option<&str>) -> Result<Option<OffsetDateTime>, Error> {
    s.map(|s| {
        OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
            Error::invalid_field(field, "invalid_time", format!("{field} must be an RFC 3339 time such as 2026-01-31T12:00:00Z."))
        })
    })
    .transpose()
}

/// The audit log, newest first (admins).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditEvent>), (status = 403, body = ErrorBody)))]
pub async fn list_audit(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditEvent>>> {
    let limit = page_size(q.limit)?;
    let filter = AuditFilter {
        actor_id: q.actor_id.as_deref().map(UserId::parse).transpose()?,
        action: q.action.filter(|a| !a.is_empty()),
        since: parse_time("since", q.since.as_deref())?,
        until: parse_time("until", q.until.as_deref())?,
        target_type: q.target_type.filter(|t| !t.is_empty()),
        target_id: q.target_id.filter(|t| !t.is_empty()),
        before: cursor(q.cursor.as_deref())?,
        limit: limit + 1,
    };
    let mut events = state.kw.audit_events(&actor, filter).await?;
    let next_cursor = (events.len() as i64 > limit).then(|| {
        events.truncate(limit as usize);
        events.last().map(|e| e.event.id.to_string())
    });
    Ok(Json(Page { items: events.iter().map(wire::audit).collect(), next_cursor: next_cursor.flatten() }))
}
