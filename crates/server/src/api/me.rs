//! The caller's own account: profile, password, API tokens, sessions.

use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller, EnrollingCaller};
use crate::state::AppState;
use crate::wire;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::{
    ChangePasswordRequest, CreateTokenRequest, CreatedToken, ErrorBody, Page, SessionInfo, TokenInfo, UpdateMeRequest, User,
};
use keyward_core::model::rfc3339;
use keyward_core::password::Password;
use keyward_core::types::{SessionId, TokenId};

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn get_me(State(state): State<AppState>, EnrollingCaller(actor): EnrollingCaller) -> ApiResult<Json<User>> {
    let teams = state.kw.teams_of_users(&actor, &[actor.user.id]).await?;
    Ok(Json(wire::user_with_teams(&actor.user, true, teams.get(&actor.user.id).map_or(&[][..], Vec::as_slice))))
}

/// Changes the caller's display name.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", request_body = UpdateMeRequest, responses((status = 200, body = User), (status = 400, body = ErrorBody)))]
pub async fn update_me(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<UpdateMeRequest>,
) -> ApiResult<Json<User>> {
    let user = state.kw.update_me(&actor, &body.full_name).await?;
    Ok(Json(wire::user(&user, true)))
}

/// Changes the caller's password; every other session and every API token of the caller ends.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", request_body = ChangePasswordRequest,
    responses((status = 204), (status = 400, body = ErrorBody, description = "invalid_current_password or password_policy"),
              (status = 429, body = ErrorBody, description = "Too many wrong current passwords for the account; see Retry-After")))]
pub async fn change_password(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    state.kw.change_password(&actor, &Password::new(body.current_password), &Password::new(body.new_password)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates an API token; the token is in this answer only.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "me", request_body = CreateTokenRequest, responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let new = state.kw.create_token(&actor, &body.name, body.expires_in_days).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: new.token.id.to_string(),
            name: new.token.name,
            token: new.secret,
            expires_at: new.token.expires_at.map(rfc3339),
        }),
    ))
}

/// The caller's API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "me", responses((status = 200, body = Page<TokenInfo>)))]
pub async fn list_tokens(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Page<TokenInfo>>> {
    let tokens = state.kw.my_tokens(&actor).await?;
    Ok(Json(Page { items: tokens.iter().map(wire::token).collect(), next_cursor: None }))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "me", params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.kw.revoke_token(&actor, TokenId::parse(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's live sessions.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me", responses((status = 200, body = Page<SessionInfo>)))]
pub async fn list_sessions(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Page<SessionInfo>>> {
    let sessions = state.kw.my_sessions(&actor).await?;
    let current = actor.session_id();
    Ok(Json(Page { items: sessions.iter().map(|s| wire::session(s, current)).collect(), next_cursor: None }))
}

/// Ends one of the caller's sessions.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me", params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn end_session(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.kw.end_session(&actor, SessionId::parse(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
