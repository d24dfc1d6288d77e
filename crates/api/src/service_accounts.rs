//! Service accounts and their scoped tokens.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/service-accounts`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceAccountRequest {
    pub name: String,
    pub description: Option<String>,
    /// The role its tokens act with (`admin`, `developer`, `data_scientist`, `viewer`); default
    /// `admin`, which the check API needs. Each token's scopes narrow it further.
    pub role: Option<String>,
}

/// A service account: a non-human principal with no password that never signs in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceAccount {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub role: String,
    pub created_at: String,
    pub last_active_at: Option<String>,
}

/// `POST /api/v1/service-accounts/{id}/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceTokenRequest {
    pub name: String,
    /// At least one of `authz:check`, `authz:explain`, `authz:lookup`, `users:read`,
    /// `teams:read`, `audit:read`.
    pub scopes: Vec<String>,
    pub expires_in_days: Option<i64>,
}

/// A service account's token (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceToken {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// A new service token: `token` is shown here once and never again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedServiceToken {
    pub id: String,
    pub name: String,
    pub token: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
}
