//! Teams: members, lead, quotas and usage.

use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use crate::wire;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::{CreateTeamRequest, ErrorBody, Page, Quotas, Team, TeamUsage, UpdateTeamRequest};
use keyward_core::model;
use keyward_core::services::teams::TeamChanges;
use keyward_core::types::{TeamId, TeamName, UserId};

/// Every team (any signed-in user).
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", responses((status = 200, body = Page<Team>)))]
pub async fn list_teams(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Page<Team>>> {
    let teams = state.kw.list_teams(&actor).await?;
    Ok(Json(Page { items: teams.iter().map(|t| wire::team(t, None)).collect(), next_cursor: None }))
}

/// Creates a team (admins); the lead must be a member.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = CreateTeamRequest,
    responses((status = 201, body = Team), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "team_name_taken")))]
pub async fn create_team(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<CreateTeamRequest>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let lead = body.lead_id.as_deref().map(UserId::parse).transpose()?;
    let members = body.member_ids.unwrap_or_default().iter().map(|m| UserId::parse(m)).collect::<Result<Vec<_>, _>>()?;
    let view = state.kw.create_team(&actor, &body.name, body.description.as_deref().unwrap_or(""), lead, &members).await?;
    Ok((StatusCode::CREATED, Json(wire::team(&view.team, Some(&view.members)))))
}

/// A team with its members.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = String, Path)), responses((status = 200, body = Team), (status = 404, body = ErrorBody)))]
pub async fn get_team(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<Team>> {
    let view = state.kw.get_team(&actor, TeamId::parse(&id)?).await?;
    Ok(Json(wire::team(&view.team, Some(&view.members))))
}

/// Renames, describes or sets the lead (admins); the lead may change the description.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = String, Path)), request_body = UpdateTeamRequest,
    responses((status = 200, body = Team), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_team(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateTeamRequest>,
) -> ApiResult<Json<Team>> {
    let changes = TeamChanges {
        name: body.name.as_deref().map(TeamName::parse).transpose()?,
        description: body.description,
        lead_id: body.lead_id.map(|l| l.as_deref().map(UserId::parse).transpose()).transpose()?,
    };
    let team = state.kw.update_team(&actor, TeamId::parse(&id)?, changes).await?;
    Ok(Json(wire::team(&team, None)))
}

/// Deletes a team (admins); refused while it owns resources.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "team_has_resources")))]
pub async fn delete_team(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.kw.delete_team(&actor, TeamId::parse(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a member (admins, or the team's lead).
#[utoipa::path(put, path = "/api/v1/teams/{id}/members/{user_id}", tag = "teams", params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = Team), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_member(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<Json<Team>> {
    let view = state.kw.add_team_member(&actor, TeamId::parse(&id)?, UserId::parse(&user)?).await?;
    Ok(Json(wire::team(&view.team, Some(&view.members))))
}

/// Removes a member (admins, or the team's lead).
#[utoipa::path(delete, path = "/api/v1/teams/{id}/members/{user_id}", tag = "teams", params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = Team), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<Json<Team>> {
    let view = state.kw.remove_team_member(&actor, TeamId::parse(&id)?, UserId::parse(&user)?).await?;
    Ok(Json(wire::team(&view.team, Some(&view.members))))
}

/// Sets the quotas (admins); `null` is unlimited.
#[utoipa::path(put, path = "/api/v1/teams/{id}/quotas", tag = "teams", params(("id" = String, Path)), request_body = Quotas,
    responses((status = 200, body = Team), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_quotas(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(q): ApiJson<Quotas>,
) -> ApiResult<Json<Team>> {
    let quotas = model::Quotas {
        max_cpu_millis: q.max_cpu_millis,
        max_memory_mib: q.max_memory_mib,
        max_storage_gib: q.max_storage_gib,
        max_apps: q.max_apps,
        max_workflows: q.max_workflows,
        max_workspaces: q.max_workspaces,
    };
    let team = state.kw.set_team_quotas(&actor, TeamId::parse(&id)?, quotas).await?;
    Ok(Json(wire::team(&team, None)))
}

/// Current use against each quota (admins, and the team's lead).
#[utoipa::path(get, path = "/api/v1/teams/{id}/usage", tag = "teams", params(("id" = String, Path)),
    responses((status = 200, body = TeamUsage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn usage(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<TeamUsage>> {
    let (team, usage) = state.kw.team_usage(&actor, TeamId::parse(&id)?).await?;
    Ok(Json(wire::usage(&team.quotas, &usage)))
}
