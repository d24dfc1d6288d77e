//! Resources, shares, credentials and access decisions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::present;

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
    /// Data sources: `private`, `all_users` or `specific` (needs the right to share it). No
    /// share is deleted by a change: the shares that do not apply stay, dormant.
    pub visibility: Option<String>,
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
    /// Data sources: who may use it: `private` (owner and admins), `all_users` (everyone, at
    /// the all-users share's level) or `specific` (the user and team shares).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
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

/// A share as asked for: in `POST …/shares` (one) and `PUT …/shares` (the whole list).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareEntry {
    /// Ignored when sent (a list read with GET can be sent back as it is): a subject that stays
    /// keeps its share's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub subject: ShareSubject,
    /// `view` or `edit`.
    pub level: String,
    /// RFC 3339; the share stops counting then. Must be in the future.
    pub expires_at: Option<String>,
}

/// A share as stored, with its stable id (for `DELETE …/shares/{share_id}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShareInfo {
    pub id: String,
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
    /// `admin`, `owner`, `project_owner` (the owner of a workspace's project), `user_share`,
    /// `team_share` or `all_users_share`.
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
