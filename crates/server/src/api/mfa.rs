//! The caller's MFA (enrollment, backup codes, turning off), an admin's reset, and the
//! security policy.

use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller, EnrollingCaller};
use crate::state::AppState;
use crate::wire;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::{BackupCodes, CodeRequest, ErrorBody, MfaStatus, SecurityPolicy, TotpEnrollment, User};
use keyward_core::model::rfc3339;
use keyward_core::types::UserId;

/// Starts TOTP enrollment: a new secret, its otpauth URI and a QR code. MFA is not on until
/// `activate` gets a correct code.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp", tag = "me", responses((status = 200, body = TotpEnrollment), (status = 409, body = ErrorBody)))]
pub async fn start_totp(State(state): State<AppState>, EnrollingCaller(actor): EnrollingCaller) -> ApiResult<Json<TotpEnrollment>> {
    let e = state.kw.start_totp(&actor).await?;
    Ok(Json(TotpEnrollment { secret: e.secret_base32, otpauth_uri: e.otpauth_uri, qr_svg: e.qr_svg }))
}

/// Turns MFA on with a correct code and answers 10 single-use backup codes (shown once).
#[utoipa::path(post, path = "/api/v1/me/mfa/totp/activate", tag = "me", request_body = CodeRequest,
    responses((status = 200, body = BackupCodes), (status = 400, body = ErrorBody, description = "invalid_mfa_code"), (status = 409, body = ErrorBody),
              (status = 429, body = ErrorBody, description = "Too many wrong codes for the account; see Retry-After")))]
pub async fn activate_totp(
    State(state): State<AppState>,
    EnrollingCaller(actor): EnrollingCaller,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<Json<BackupCodes>> {
    Ok(Json(BackupCodes { backup_codes: state.kw.enroll_with_code(&actor, &body.code).await? }))
}

/// The caller's MFA state.
#[utoipa::path(get, path = "/api/v1/me/mfa", tag = "me", responses((status = 200, body = MfaStatus)))]
pub async fn mfa_status(State(state): State<AppState>, EnrollingCaller(actor): EnrollingCaller) -> ApiResult<Json<MfaStatus>> {
    let s = state.kw.mfa_status(&actor).await?;
    Ok(Json(MfaStatus {
        enabled: s.enabled,
        pending: s.pending,
        backup_codes_left: s.backup_codes_left,
        required: s.required,
        deadline: s.deadline.map(rfc3339),
    }))
}

/// New backup codes (the old ones stop working); needs a current code.
#[utoipa::path(post, path = "/api/v1/me/mfa/backup-codes", tag = "me", request_body = CodeRequest,
    responses((status = 200, body = BackupCodes), (status = 400, body = ErrorBody),
              (status = 429, body = ErrorBody, description = "Too many wrong codes for the account; see Retry-After")))]
pub async fn regenerate_backup_codes(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<Json<BackupCodes>> {
    Ok(Json(BackupCodes { backup_codes: state.kw.regenerate_backup_codes(&actor, &body.code).await? }))
}

/// Turns MFA off; needs a current code and is refused while the policy requires MFA.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp/disable", tag = "me", request_body = CodeRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody, description = "mfa_required_by_policy"),
              (status = 429, body = ErrorBody, description = "Too many wrong codes for the account; see Retry-After")))]
pub async fn disable_totp(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<StatusCode> {
    state.kw.disable_totp(&actor, &body.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a user's MFA after a lost device (admins); every session of the user ends.
#[utoipa::path(post, path = "/api/v1/users/{id}/mfa-reset", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reset_mfa(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<User>> {
    let user = state.kw.reset_mfa(&actor, UserId::parse(&id)?).await?;
    Ok(Json(wire::user(&user, true)))
}

/// The security policy (admins).
#[utoipa::path(get, path = "/api/v1/policies/security", tag = "policies", responses((status = 200, body = SecurityPolicy), (status = 403, body = ErrorBody)))]
pub async fn get_policy(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<SecurityPolicy>> {
    Ok(Json(wire::policy(&state.kw.get_security_policy(&actor).await?)))
}

/// Replaces the security policy (admins). It acts on every session and API token from its next request.
#[utoipa::path(put, path = "/api/v1/policies/security", tag = "policies", request_body = SecurityPolicy,
    responses((status = 200, body = SecurityPolicy), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_policy(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<SecurityPolicy>,
) -> ApiResult<Json<SecurityPolicy>> {
    let policy = state.kw.put_security_policy(&actor, wire::policy_from(body)?).await?;
    Ok(Json(wire::policy(&policy)))
}
