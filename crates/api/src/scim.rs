//! SCIM provisioning, the admin's side: provisioning clients' tokens and how SCIM decides roles.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScimTokenRequest {
    /// Which provisioning client this is for (e.g. "Okta").
    pub name: String,
}

/// A new SCIM token: `token` is shown here once and never again; it is good for `/scim/v2` only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedScimToken {
    pub id: String,
    pub name: String,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScimTokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub created_by: Option<String>,
    pub last_used_at: Option<String>,
}

/// One group → role mapping.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimGroupRole {
    /// The group's displayName (compared without regard to case).
    pub group: String,
    /// `admin`, `developer`, `data_scientist` or `viewer`.
    pub role: String,
}

/// How SCIM decides a provisioned user's role.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimSettingsBody {
    /// The role of a new user when nothing else names one.
    pub default_role: String,
    /// The user attribute that carries a role (`roles`, `userType`, …); null: none.
    #[serde(default)]
    pub role_attribute: Option<String>,
    /// Members of a mapped group get the highest mapped role, at every change of its members.
    #[serde(default)]
    pub group_roles: Vec<ScimGroupRole>,
}
