//! Invitations (admins) and forgotten passwords (anyone).

use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller, Meta};
use crate::origin::SameOrigin;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::{
    CreateInvitationRequest, ErrorBody, Invitation, Page, PasswordResetConfirm, PasswordResetRequest, ResendInvitationRequest, Status,
};
use keyward_core::model::rfc3339;
use keyward_core::password::Password;
use keyward_core::services::invitations::Invited;
use keyward_core::types::{TeamId, UserId};

fn invited(i: Invited) -> Invitation {
    Invitation {
        id: i.user.id.to_string(),
        email: i.user.email,
        full_name: i.user.full_name,
        role: i.user.role.as_str().to_owned(),
        expires_at: Some(rfc3339(i.expires_at)),
        // Why only then: a link in the answer is a credential; when it was emailed, it stays in the mail.
        accept_url: (!i.email_sent).then_some(i.link),
        email_sent: Some(i.email_sent),
        invited_by: None,
    }
}

/// Invites a person by email (admins).
#[utoipa::path(post, path = "/api/v1/invitations", tag = "users", request_body = CreateInvitationRequest,
    responses((status = 201, body = Invitation, description = "accept_url only when no email was sent"),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "email_taken")))]
pub async fn create_invitation(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<CreateInvitationRequest>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let teams = body.team_ids.unwrap_or_default().iter().map(|t| TeamId::parse(t)).collect::<Result<Vec<_>, _>>()?;
    let i = state.kw.invite(&actor, &body.email, &body.full_name, &body.role, &teams, body.send_email.unwrap_or(true)).await?;
    Ok((StatusCode::CREATED, Json(invited(i))))
}

/// Pending invitations with their expiry (admins).
#[utoipa::path(get, path = "/api/v1/invitations", tag = "users", responses((status = 200, body = Page<Invitation>), (status = 403, body = ErrorBody)))]
pub async fn list_invitations(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Page<Invitation>>> {
    let pending = state.kw.pending_invitations(&actor).await?;
    let items = pending
        .into_iter()
        .map(|p| Invitation {
            id: p.user.id.to_string(),
            email: p.user.email,
            full_name: p.user.full_name,
            role: p.user.role.as_str().to_owned(),
            expires_at: p.expires_at.map(rfc3339),
            accept_url: None,
            email_sent: None,
            invited_by: p.invited_by.map(|u| u.to_string()),
        })
        .collect();
    Ok(Json(Page { items, next_cursor: None }))
}

/// A new link for a pending invitation; the old one stops working.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/resend", tag = "users", params(("id" = String, Path)), request_body = ResendInvitationRequest,
    responses((status = 200, body = Invitation), (status = 404, body = ErrorBody)))]
pub async fn resend_invitation(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResendInvitationRequest>,
) -> ApiResult<Json<Invitation>> {
    let i = state.kw.resend_invitation(&actor, UserId::parse(&id)?, body.send_email.unwrap_or(true)).await?;
    Ok(Json(invited(i)))
}

/// Withdraws a pending invitation.
#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_invitation(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.kw.revoke_invitation(&actor, UserId::parse(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Emails a single-use reset link (valid one hour). The answer is the same for unknown emails.
#[utoipa::path(post, path = "/api/v1/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202, body = Status), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "cross_site_request: sent by a browser from another site")))]
pub async fn request_reset(
    _: SameOrigin,
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> ApiResult<(StatusCode, Json<Status>)> {
    state.kw.request_password_reset(&meta, &body.email).await?;
    Ok((StatusCode::ACCEPTED, Json(Status { status: "If an account with this email exists, a reset link is on its way.".into() })))
}

/// Sets a new password from a reset link; every session and API token of the user ends.
#[utoipa::path(post, path = "/api/v1/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirm,
    responses((status = 200, body = Status), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "cross_site_request: sent by a browser from another site"),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn confirm_reset(
    _: SameOrigin,
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PasswordResetConfirm>,
) -> ApiResult<Json<Status>> {
    state.kw.confirm_password_reset(&meta, &body.token, &Password::new(body.new_password)).await?;
    Ok(Json(Status { status: "ok".into() }))
}
