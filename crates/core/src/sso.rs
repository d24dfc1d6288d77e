//! Single sign-on's domain: the identity providers an admin configures, the link between a
//! provider's subject and an account, the sign-ins under way, and the verified claims the
//! server's OIDC layer hands the core (the core never speaks HTTP or parses tokens).

use crate::types::{Role, SessionId, TeamId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// An OpenID Provider as configured. The client secret is stored sealed only
/// (`SealedKind::SsoClientSecret`) and never leaves the core in clear but to the OIDC layer.
#[derive(Clone, PartialEq, Eq)]
pub struct SsoProvider {
    /// The provider's id.
    pub id: uuid::Uuid,
    /// The provider's name in URLs (`/auth/oidc/{slug}/start`): lowercase letters, digits, `-`.
    pub slug: String,
    /// The name on the button: "Sign in with {name}".
    pub name: String,
    /// The issuer URL; discovery is read from `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// Keyward's client id at the provider.
    pub client_id: String,
    /// The client secret, sealed.
    pub client_secret_sealed: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The ID token claim that lists the user's groups.
    pub groups_claim: String,
    /// Whether its button shows and its sign-ins are accepted.
    pub enabled: bool,
    /// Creates an account at the first sign-in of someone unknown.
    pub jit: bool,
    /// The role of an account created just in time (when no mapping gives one).
    pub default_role: Role,
    /// The provider's `amr` (`mfa`, `otp`, `hwk`) satisfies Keyward's MFA policy.
    pub trust_mfa: bool,
    /// A first sign-in may link to an existing account with the same, verified, email.
    pub link_by_email: bool,
    /// Group → team and/or role mappings, applied at every sign-in.
    pub mappings: Vec<GroupMapping>,
    /// Email domains whose people must sign in through this provider (no password, no reset).
    pub required_domains: Vec<String>,
    /// When an admin added it.
    pub created_at: OffsetDateTime,
    /// When an admin last changed it.
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for SsoProvider {
    // Why by hand: not even the sealed secret goes to a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoProvider").field("id", &self.id).field("slug", &self.slug).field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl SsoProvider {
    /// Whether the provider requires SSO of this email address (by its domain).
    pub fn requires(&self, email: &str) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_lowercase()).unwrap_or_default();
        self.enabled && !domain.is_empty() && self.required_domains.contains(&domain)
    }
}

/// A provider group → a team and/or a role, applied at every sign-in through the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMapping {
    /// The group's name as the provider's groups claim lists it.
    pub group: String,
    /// The team its members join (and leave when they leave the group).
    #[serde(default)]
    pub team_id: Option<TeamId>,
    /// The role its members get (the highest of all their groups' roles wins).
    #[serde(default)]
    pub role: Option<Role>,
}

/// An account's link to a provider's subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoIdentity {
    /// The provider.
    pub provider_id: uuid::Uuid,
    /// The provider's `sub` for this person (stable; never an email).
    pub subject: String,
    /// The Keyward account it signs in to.
    pub user_id: UserId,
    /// When the link was made (the first sign-in).
    pub created_at: OffsetDateTime,
    /// The last sign-in through it.
    pub last_login_at: Option<OffsetDateTime>,
}

/// A sign-in under way: what the callback must find again. Single use, short-lived.
#[derive(Clone)]
pub struct SsoLogin {
    /// SHA-256 of the `state` (the state itself lives in the browser's cookie and the URL).
    pub state_hash: String,
    /// The provider the sign-in went to.
    pub provider_id: uuid::Uuid,
    /// The nonce the ID token must carry back.
    pub nonce: String,
    /// The PKCE verifier; why stored server-side: the browser only ever sees the challenge.
    pub pkce_verifier: String,
    /// Where to go after signing in (a path on this site).
    pub next_url: String,
    /// When the sign-in started.
    pub created_at: OffsetDateTime,
    /// After this the callback is refused.
    pub expires_at: OffsetDateTime,
    /// When the callback used it (once only).
    pub used_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for SsoLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoLogin").field("provider_id", &self.provider_id).field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// A session opened through a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSession {
    /// The Keyward session.
    pub session_id: SessionId,
    /// The provider it came through (its end-session URL at sign-out).
    pub provider_id: uuid::Uuid,
    /// The provider's second factor satisfied Keyward's MFA policy for this session.
    pub mfa_satisfied: bool,
    /// When it was opened.
    pub created_at: OffsetDateTime,
}

/// What a verified ID token says, as the server's OIDC layer read it (signature, issuer,
/// audience, expiry and nonce already checked).
#[derive(Debug, Clone, Default)]
pub struct SsoClaims {
    /// The provider's `sub`.
    pub subject: String,
    /// The `email` claim, if any.
    pub email: Option<String>,
    /// The provider vouches for the email (`email_verified: true`).
    pub email_verified: bool,
    /// The `name` claim, if any.
    pub name: Option<String>,
    /// The groups listed in the provider's groups claim.
    pub groups: Vec<String>,
    /// Authentication methods (`amr`): `pwd`, `mfa`, `otp`, `hwk`, …
    pub amr: Vec<String>,
}

impl SsoClaims {
    /// Whether the provider says a second factor was used.
    pub fn strong_auth(&self) -> bool {
        self.amr.iter().any(|m| matches!(m.as_str(), "mfa" | "otp" | "hwk"))
    }
}
