//! SCIM provisioning, the admin's side: provisioning clients' tokens and how SCIM decides roles.

use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::{CreateScimTokenRequest, CreatedScimToken, ErrorBody, Page, ScimGroupRole, ScimSettingsBody, ScimTokenInfo};
use keyward_core::model::rfc3339;
use keyward_core::services::scim_admin::{GroupRole, ScimSettings};
use keyward_core::types::Role;

/// Creates a provisioning client's SCIM token (admins); the token is in this answer only, and
/// is good for `/scim/v2` only.
#[utoipa::path(post, path = "/api/v1/scim/tokens", tag = "scim", request_body = CreateScimTokenRequest,
    responses((status = 201, body = CreatedScimToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<CreateScimTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedScimToken>)> {
    let new = state.kw.create_scim_token(&actor, &body.name).await?;
    Ok((StatusCode::CREATED, Json(CreatedScimToken { id: new.token.id.to_string(), name: new.token.name, token: new.secret })))
}

/// The provisioning clients' SCIM tokens (admins; never the secrets).
#[utoipa::path(get, path = "/api/v1/scim/tokens", tag = "scim",
    responses((status = 200, body = Page<ScimTokenInfo>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_tokens(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Page<ScimTokenInfo>>> {
    let tokens = state.kw.scim_tokens(&actor).await?;
    let items = tokens
        .into_iter()
        .map(|t| ScimTokenInfo {
            id: t.id.to_string(),
            name: t.name,
            created_at: rfc3339(t.created_at),
            created_by: t.created_by.map(|u| u.to_string()),
            last_used_at: t.last_used_at.map(rfc3339),
        })
        .collect();
    Ok(Json(Page { items, next_cursor: None }))
}

/// Revokes a SCIM token (admins): the provisioning client's next request is refused.
#[utoipa::path(delete, path = "/api/v1/scim/tokens/{id}", tag = "scim", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| keyward_core::Error::NotFound("SCIM token"))?;
    state.kw.revoke_scim_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn body_of(s: &ScimSettings) -> ScimSettingsBody {
    ScimSettingsBody {
        default_role: s.default_role.as_str().to_owned(),
        role_attribute: s.role_attribute.clone(),
        group_roles: s.group_roles.iter().map(|m| ScimGroupRole { group: m.group.clone(), role: m.role.as_str().to_owned() }).collect(),
    }
}

/// How SCIM decides roles (admins).
#[utoipa::path(get, path = "/api/v1/scim/settings", tag = "scim",
    responses((status = 200, body = ScimSettingsBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_settings(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<ScimSettingsBody>> {
    Ok(Json(body_of(&state.kw.scim_settings(&actor).await?)))
}

/// Replaces how SCIM decides roles (admins): a default role, a role attribute, group → role mappings.
#[utoipa::path(put, path = "/api/v1/scim/settings", tag = "scim", request_body = ScimSettingsBody,
    responses((status = 200, body = ScimSettingsBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<ScimSettingsBody>,
) -> ApiResult<Json<ScimSettingsBody>> {
    let settings = ScimSettings {
        default_role: Role::parse(&body.default_role)?,
        role_attribute: body.role_attribute.filter(|a| !a.trim().is_empty()),
        group_roles: body
            .group_roles
            .into_iter()
            .map(|m| Ok(GroupRole { group: m.group, role: Role::parse(&m.role)? }))
            .collect::<keyward_core::Result<Vec<_>>>()?,
    };
    Ok(Json(body_of(&state.kw.put_scim_settings(&actor, settings).await?)))
}
