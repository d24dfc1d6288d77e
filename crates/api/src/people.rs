//! People: users, invitations, sign-in history, the audit log, teams and quotas.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::present;

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
    /// `user`, `anonymous`, `cli`, `system` or `scim` (a provisioning client, named in `details.scim_client`).
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
