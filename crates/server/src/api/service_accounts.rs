//! Service accounts and their scoped tokens (admins only; every change audited).

use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use crate::wire;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::{
    CreateServiceAccountRequest, CreateServiceTokenRequest, CreatedServiceToken, ErrorBody, Page, ServiceAccount, ServiceToken,
};
use keyward_core::model::rfc3339;
use keyward_core::services::service_accounts::NewServiceAccount;
use keyward_core::types::{Role, TokenId, UserId};

/// Every service account.
#[utoipa::path(get, path = "/api/v1/service-accounts", tag = "service-accounts",
    responses((status = 200, body = Page<ServiceAccount>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_service_accounts(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Page<ServiceAccount>>> {
    let accounts = state.kw.service_accounts(&actor).await?;
    Ok(Json(Page { items: accounts.iter().map(wire::service_account).collect(), next_cursor: None }))
}

/// Creates a service account: no password, no sign-in; it acts only through scoped tokens.
#[utoipa::path(post, path = "/api/v1/service-accounts", tag = "service-accounts", request_body = CreateServiceAccountRequest,
    responses((status = 201, body = ServiceAccount), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_service_account(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<CreateServiceAccountRequest>,
) -> ApiResult<(StatusCode, Json<ServiceAccount>)> {
    let new =
        NewServiceAccount { name: body.name, description: body.description, role: body.role.as_deref().map(Role::parse).transpose()? };
    let account = state.kw.create_service_account(&actor, &new).await?;
    Ok((StatusCode::CREATED, Json(wire::service_account(&account))))
}

/// One service account.
#[utoipa::path(get, path = "/api/v1/service-accounts/{id}", tag = "service-accounts", params(("id" = String, Path)),
    responses((status = 200, body = ServiceAccount), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_service_account(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ServiceAccount>> {
    let account = state.kw.service_account(&actor, UserId::parse(&id)?).await?;
    Ok(Json(wire::service_account(&account)))
}

/// Deletes a service account; every token of it stops working at once, on every node.
#[utoipa::path(delete, path = "/api/v1/service-accounts/{id}", tag = "service-accounts", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_service_account(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.kw.delete_service_account(&actor, UserId::parse(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A service account's tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/service-accounts/{id}/tokens", tag = "service-accounts", params(("id" = String, Path)),
    responses((status = 200, body = Page<ServiceToken>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_service_tokens(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Page<ServiceToken>>> {
    let tokens = state.kw.service_tokens(&actor, UserId::parse(&id)?).await?;
    Ok(Json(Page { items: tokens.iter().map(wire::service_token).collect(), next_cursor: None }))
}

/// Creates a scoped token for a service account; the token is in this answer only.
#[utoipa::path(post, path = "/api/v1/service-accounts/{id}/tokens", tag = "service-accounts", params(("id" = String, Path)),
    request_body = CreateServiceTokenRequest,
    responses((status = 201, body = CreatedServiceToken), (status = 400, body = ErrorBody, description = "invalid_scope, scopes_required, invalid_expiry"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_service_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreateServiceTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedServiceToken>)> {
    let new = state.kw.create_service_token(&actor, UserId::parse(&id)?, &body.name, &body.scopes, body.expires_in_days).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedServiceToken {
            id: new.token.id.to_string(),
            name: new.token.name.clone(),
            scopes: new.token.scopes.iter().flatten().map(|s| s.as_str().to_owned()).collect(),
            token: new.secret,
            expires_at: new.token.expires_at.map(rfc3339),
        }),
    ))
}

/// Revokes one token of a service account, at once on every node.
#[utoipa::path(delete, path = "/api/v1/service-accounts/{id}/tokens/{token_id}", tag = "service-accounts",
    params(("id" = String, Path), ("token_id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_service_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, token_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.kw.revoke_service_token(&actor, UserId::parse(&id)?, TokenId::parse(&token_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
