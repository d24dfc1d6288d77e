//! Single sign-on, the admin's side: the OpenID Providers people sign in through.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One provider group → a team and/or a role, applied at every sign-in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoGroupMapping {
    /// The group's name as the groups claim carries it (compared without regard to case).
    pub group: String,
    /// The team its members are put in (and taken out of when they leave the group).
    #[serde(default)]
    pub team_id: Option<String>,
    /// `admin`, `developer`, `data_scientist` or `viewer`: the highest mapped role wins.
    #[serde(default)]
    pub role: Option<String>,
}

/// An identity provider as Keyward shows it (never the client secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SsoProviderBody {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    pub enabled: bool,
    pub jit: bool,
    pub default_role: String,
    pub trust_mfa: bool,
    pub link_by_email: bool,
    pub mappings: Vec<SsoGroupMapping>,
    pub required_domains: Vec<String>,
    /// The redirect URI to register at the provider.
    pub callback_url: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A new identity provider.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSsoProviderRequest {
    /// The name on the sign-in button ("Sign in with …").
    pub name: String,
    /// The provider's name in URLs: lowercase letters, digits and '-'.
    pub slug: String,
    /// The issuer URL exactly as the provider states it (https; plain http only to localhost).
    pub issuer: String,
    pub client_id: String,
    /// Stored sealed; never shown back.
    pub client_secret: String,
    /// Scopes besides `openid` (default: `email`, `profile`).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// The ID token claim that lists the user's groups (default `groups`).
    #[serde(default)]
    pub groups_claim: Option<String>,
    /// Shown on the sign-in page (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Create an account at the first sign-in of someone unknown (default false).
    #[serde(default)]
    pub jit: Option<bool>,
    /// The role of accounts created at sign-in (default `viewer`).
    #[serde(default)]
    pub default_role: Option<String>,
    /// The provider's `amr` (`mfa`, `otp`, `hwk`) satisfies Keyward's MFA policy (default false).
    #[serde(default)]
    pub trust_mfa: Option<bool>,
    /// A first sign-in may link to the existing account with the same verified email (default false).
    #[serde(default)]
    pub link_by_email: Option<bool>,
    #[serde(default)]
    pub mappings: Option<Vec<SsoGroupMapping>>,
    /// Email domains whose people must sign in through this provider.
    #[serde(default)]
    pub required_domains: Option<Vec<String>>,
}

/// Changes to an identity provider: fields left out stay as they are.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSsoProviderRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    /// A new client secret (left out: the stored one stays).
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub groups_claim: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub jit: Option<bool>,
    #[serde(default)]
    pub default_role: Option<String>,
    #[serde(default)]
    pub trust_mfa: Option<bool>,
    #[serde(default)]
    pub link_by_email: Option<bool>,
    #[serde(default)]
    pub mappings: Option<Vec<SsoGroupMapping>>,
    #[serde(default)]
    pub required_domains: Option<Vec<String>>,
}
