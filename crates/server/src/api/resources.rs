//! The platform's resources, their shares and credentials, and the check API.

use crate::api::cursor;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::state::AppState;
use crate::wire;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::{CreateResourceRequest, CredentialsStatus, ErrorBody, Page, Resource, UpdateResourceRequest};
use keyward_core::access::{Kind, Visibility};
use keyward_core::model::rfc3339;
use keyward_core::services::directory::page_size;
use keyward_core::services::resources::{NewResource, ResourceChanges};
use keyward_core::types::{ResourceId, TeamId};
use serde::Deserialize;
use utoipa::IntoParams;

/// Registers a resource. Who may create what follows the role matrix; team resources must fit
/// the team's quotas.
#[utoipa::path(post, path = "/api/v1/resources", tag = "resources", request_body = CreateResourceRequest,
    responses((status = 201, body = Resource), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "quota_exceeded, with the quota, use and limit in details")))]
pub async fn create_resource(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(b): ApiJson<CreateResourceRequest>,
) -> ApiResult<(StatusCode, Json<Resource>)> {
    let new = NewResource {
        kind: b.kind.parse()?,
        name: b.name,
        team_id: b.team_id.as_deref().map(TeamId::parse).transpose()?,
        project_id: b.project_id.as_deref().map(ResourceId::parse).transpose()?,
        cpu_millis: b.cpu_millis.unwrap_or(0),
        memory_mib: b.memory_mib.unwrap_or(0),
        storage_gib: b.storage_gib.unwrap_or(0),
    };
    let r = state.kw.create_resource(&actor, new).await?;
    let v = state.kw.get_resource(&actor, r.id).await?;
    Ok((StatusCode::CREATED, Json(wire::resource(&v, None))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResourceQuery {
    kind: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The resources the caller may see.
#[utoipa::path(get, path = "/api/v1/resources", tag = "resources", params(ResourceQuery), responses((status = 200, body = Page<Resource>), (status = 400, body = ErrorBody)))]
pub async fn list_resources(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<ResourceQuery>,
) -> ApiResult<Json<Page<Resource>>> {
    let kind = q.kind.as_deref().map(str::parse::<Kind>).transpose()?;
    let after = cursor(q.cursor.as_deref())?.map(|c| ResourceId::parse(&c)).transpose()?;
    let (items, next) = state.kw.list_resources(&actor, kind, after, page_size(q.limit)?).await?;
    Ok(Json(Page { items: items.iter().map(|v| wire::resource(v, None)).collect(), next_cursor: next.map(|n| n.to_string()) }))
}

/// One resource; 404 when the caller may not see it.
#[utoipa::path(get, path = "/api/v1/resources/{id}", tag = "resources", params(("id" = String, Path)), responses((status = 200, body = Resource), (status = 404, body = ErrorBody)))]
pub async fn get_resource(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<Resource>> {
    let id = ResourceId::parse(&id)?;
    let (v, creds) = state.kw.resource_details(&actor, id).await?;
    Ok(Json(wire::resource(&v, creds.map(|c| c.updated_at))))
}

/// Renames, resizes or moves a resource (edit access; moving into or out of a team needs
/// membership of that team, or admin), or sets a data source's `visibility` (share access).
#[utoipa::path(patch, path = "/api/v1/resources/{id}", tag = "resources", params(("id" = String, Path)), request_body = UpdateResourceRequest,
    responses((status = 200, body = Resource), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_resource(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UpdateResourceRequest>,
) -> ApiResult<Json<Resource>> {
    let id = ResourceId::parse(&id)?;
    let changes = ResourceChanges {
        name: b.name,
        team_id: b.team_id.map(|t| t.as_deref().map(TeamId::parse).transpose()).transpose()?,
        cpu_millis: b.cpu_millis,
        memory_mib: b.memory_mib,
        storage_gib: b.storage_gib,
        visibility: b.visibility.as_deref().map(str::parse::<Visibility>).transpose()?,
    };
    state.kw.update_resource(&actor, id, changes).await?;
    Ok(Json(wire::resource(&state.kw.get_resource(&actor, id).await?, None)))
}

/// Deletes a resource (its owner or an admin).
#[utoipa::path(delete, path = "/api/v1/resources/{id}", tag = "resources", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_resource(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.kw.delete_resource(&actor, ResourceId::parse(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a data source's credentials (any JSON object). They are sealed and never returned.
#[utoipa::path(put, path = "/api/v1/resources/{id}/credentials", tag = "resources", params(("id" = String, Path)), request_body = serde_json::Value,
    responses((status = 200, body = CredentialsStatus), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_credentials(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Json<CredentialsStatus>> {
    let info = state.kw.put_credentials(&actor, ResourceId::parse(&id)?, &body).await?;
    Ok(Json(CredentialsStatus { set: true, updated_at: Some(rfc3339(info.updated_at)) }))
}
