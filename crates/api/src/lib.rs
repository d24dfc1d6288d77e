//! Keyward's wire types: every request and response body of the JSON API, and the error body.
//!
//! These are plain serde structs; the core converts its domain types into them and the server
//! publishes their schemas in the OpenAPI document.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error answer: `{"error": {"code", "message", "details"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable machine code, a sentence for people, and optional structured details.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// A page of a list: `next_cursor` is null on the last page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// `ok`, `mfa_required` or `mfa_setup_required`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_deadline: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TeamRef {
    pub id: String,
    pub name: String,
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: String,
    pub email: String,
    pub full_name: String,
    /// `admin`, `developer`, `data_scientist` or `viewer`; shown to admins and the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `active`, `deactivated` or `invited`; shown to admins and the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_enabled: Option<bool>,
    pub teams: Vec<TeamRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_active_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    pub full_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    pub name: String,
    pub expires_in_days: Option<i64>,
}

/// A new API token: `token` is shown here once and never again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    pub token: String,
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    pub id: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// True for the session that made this request.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    pub token: String,
    pub password: String,
}

/// One recorded sign-in attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRecord {
    pub at: String,
    pub success: bool,
    pub reason: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// One audit event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    pub id: String,
    pub at: String,
    /// `user`, `anonymous`, `cli` or `system`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationRequest {
    pub email: String,
    pub full_name: String,
    /// `admin`, `developer`, `data_scientist` or `viewer`.
    pub role: String,
    /// Teams the person joins.
    pub team_ids: Option<Vec<String>>,
    /// Email the link to the person (default true); when false the answer carries `accept_url`.
    pub send_email: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendInvitationRequest {
    pub send_email: Option<bool>,
}

/// An invitation as made or resent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    /// The invited user's id.
    pub id: String,
    pub email: String,
    pub full_name: String,
    pub role: String,
    pub expires_at: Option<String>,
    /// Present only when no email was sent (or sending failed): hand it over yourself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_sent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<String>,
}

/// Changes to a user (admins). `access_expires_at: null` removes the end date.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub role: Option<String>,
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub access_expires_at: Option<Option<String>>,
}

/// Tells a field sent as `null` (Some(None)) from a field left out (None).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    pub token: String,
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Status {
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaLoginRequest {
    pub mfa_token: String,
    /// A 6-digit code from the authenticator app, or a backup code.
    pub code: String,
}

/// What MFA enrollment shows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpEnrollment {
    /// The key in base32 for manual entry.
    pub secret: String,
    pub otpauth_uri: String,
    /// A QR code of `otpauth_uri`, as SVG.
    pub qr_svg: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    pub code: String,
}

/// Single-use backup codes, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BackupCodes {
    pub backup_codes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaStatus {
    pub enabled: bool,
    /// Enrollment started but not activated.
    pub pending: bool,
    pub backup_codes_left: i64,
    /// Whether the security policy requires MFA for the caller.
    pub required: bool,
    /// The end of the caller's grace period, when required and not yet enrolled.
    pub deadline: Option<String>,
}

/// The security policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityPolicy {
    pub mfa: MfaPolicy,
    pub password: PasswordPolicy,
    pub sessions: SessionPolicy,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaPolicy {
    /// `off`, `all` or `roles`.
    pub mode: String,
    /// With `roles`: which roles must use MFA.
    #[serde(default)]
    pub roles: Vec<String>,
    pub grace_period_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicy {
    pub min_length: u32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_digit: bool,
    pub require_special: bool,
    /// The common-password blocklist; it cannot be turned off.
    pub block_common: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPolicy {
    pub idle_timeout_minutes: u32,
    pub absolute_timeout_hours: u32,
}

/// A team.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub description: String,
    pub lead_id: Option<String>,
    pub quotas: Quotas,
    /// Present when the team is read one at a time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<User>>,
    pub created_at: String,
}

/// A team's quotas; `null` is unlimited.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    pub max_cpu_millis: Option<i64>,
    pub max_memory_mib: Option<i64>,
    pub max_storage_gib: Option<i64>,
    pub max_apps: Option<i64>,
    pub max_workflows: Option<i64>,
    pub max_workspaces: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamRequest {
    pub name: String,
    pub description: Option<String>,
    pub lead_id: Option<String>,
    pub member_ids: Option<Vec<String>>,
}

/// Changes to a team; `lead_id: null` removes the lead.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeamRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub lead_id: Option<Option<String>>,
}

/// One quota: what is in use and the limit (`null`: unlimited).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuotaUse {
    pub used: i64,
    pub limit: Option<i64>,
}

/// A team's use of each quota.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TeamUsage {
    pub cpu_millis: QuotaUse,
    pub memory_mib: QuotaUse,
    pub storage_gib: QuotaUse,
    pub apps: QuotaUse,
    pub workflows: QuotaUse,
    pub workspaces: QuotaUse,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateResourceRequest {
    /// `app`, `project`, `workspace`, `workflow`, `data_source`, `model`, `dashboard` or `report`.
    pub kind: String,
    pub name: String,
    pub team_id: Option<String>,
    /// Workspaces only: the project they belong to.
    pub project_id: Option<String>,
    pub cpu_millis: Option<i64>,
    pub memory_mib: Option<i64>,
    pub storage_gib: Option<i64>,
}

/// Changes to a resource; `team_id: null` takes it out of its team.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateResourceRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub team_id: Option<Option<String>>,
    pub cpu_millis: Option<i64>,
    pub memory_mib: Option<i64>,
    pub storage_gib: Option<i64>,
}

/// A resource, with the caller's access to it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Resource {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub owner_id: String,
    pub team_id: Option<String>,
    pub project_id: Option<String>,
    pub cpu_millis: i64,
    pub memory_mib: i64,
    pub storage_gib: i64,
    pub created_at: String,
    pub updated_at: String,
    /// The caller's level: `view`, `edit` or `full`.
    pub access: String,
    /// Data sources: when the credentials were last set (they are never returned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_updated_at: Option<String>,
}

/// Who a share is for: a user, a team, or (data sources) all users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareSubject {
    /// `user`, `team` or `all_users`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareEntry {
    pub subject: ShareSubject,
    /// `view` or `edit`.
    pub level: String,
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CredentialsStatus {
    pub set: bool,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub user_id: String,
    /// `view`, `read_logs`, `use`, `edit`, `run`, `share` or `delete`.
    pub action: String,
    pub resource_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckResponse {
    pub allowed: bool,
    /// `none`, `view`, `edit` or `full`.
    pub level: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBatchRequest {
    pub checks: Vec<CheckRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckBatchResponse {
    pub results: Vec<CheckResponse>,
}

/// One way a user gets access.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessPath {
    /// `admin`, `owner`, `user_share`, `team_share` or `all_users_share`.
    pub source: String,
    pub level: String,
    pub team_id: Option<String>,
    /// True when the share is on the workspace's project.
    pub via_project: bool,
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    pub level: String,
    pub paths: Vec<AccessPath>,
    /// True when the viewer role lowered the level.
    pub capped_by_role: bool,
    /// True when the user is deactivated or past their access end date.
    pub inactive: bool,
}
