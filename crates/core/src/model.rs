//! The records the core keeps: users, sessions, API tokens, one-time links, sign-in attempts,
//! throttles and audit events. The store persists them as they are.

use crate::types::{EventId, Role, SessionId, TokenId, UserId, UserKind, UserStatus};
use time::OffsetDateTime;

/// A person on the platform, or a service account (`kind`).
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub kind: UserKind,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub status: UserStatus,
    /// Argon2id PHC string; `None` until the user sets a password.
    pub password_hash: Option<String>,
    pub mfa_enabled: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub last_active_at: Option<OffsetDateTime>,
    /// After this moment the account no longer has access (offboarding).
    pub access_expires_at: Option<OffsetDateTime>,
    /// When the role last changed (starts an MFA grace period when it changes into a required role).
    pub role_changed_at: Option<OffsetDateTime>,
}

impl User {
    /// A new user who has not set a password yet (an invitation, or the first admin's set-up).
    pub fn invited(email: &crate::types::Email, name: &crate::types::FullName, role: Role, now: OffsetDateTime) -> User {
        User {
            id: UserId::new(),
            kind: UserKind::Person,
            email: email.as_str().to_owned(),
            full_name: name.as_str().to_owned(),
            role,
            status: UserStatus::Invited,
            password_hash: None,
            mfa_enabled: false,
            created_at: now,
            updated_at: now,
            last_active_at: None,
            access_expires_at: None,
            role_changed_at: None,
        }
    }

    /// Whether the account may act at `now`: active and not past its access end date.
    pub fn can_act(&self, now: OffsetDateTime) -> bool {
        self.status == UserStatus::Active && self.access_expires_at.is_none_or(|t| now < t)
    }

    /// Whether this is a service account (no password, no sign-in, scoped tokens only).
    pub fn is_service(&self) -> bool {
        self.kind == UserKind::Service
    }
}

/// A service account: a non-human principal with a role and scoped API tokens.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub user: User,
    pub description: Option<String>,
}

/// A signed-in browser or client. The token itself is never stored, only its hash.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub token_hash: String,
    pub csrf_token: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    /// The absolute end of the session.
    pub expires_at: OffsetDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// A session that may only enroll in MFA (the policy's grace period is over).
    pub mfa_pending: bool,
}

/// A bearer token for programmatic access.
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub token_hash: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    /// A service account's token may do only what these open (and its role allows); `None`: a
    /// person's token, bounded by the role alone.
    pub scopes: Option<Vec<crate::scope::Scope>>,
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// The first admin's set-up link printed by `keyward init`.
    Setup,
    /// An invitation to join.
    Invitation,
    /// A forgotten-password reset.
    PasswordReset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Setup => "setup",
            LinkPurpose::Invitation => "invitation",
            LinkPurpose::PasswordReset => "password_reset",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "setup" => Some(LinkPurpose::Setup),
            "invitation" => Some(LinkPurpose::Invitation),
            "password_reset" => Some(LinkPurpose::PasswordReset),
            _ => None,
        }
    }
}

/// A single-use link (set-up, invitation, reset); only the hash of its token is stored.
#[derive(Debug, Clone)]
pub struct OneTimeLink {
    pub id: uuid::Uuid,
    pub user_id: UserId,
    pub purpose: LinkPurpose,
    pub token_hash: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    pub created_by: Option<UserId>,
}

/// A user's TOTP authenticator: pending until verified and activated.
#[derive(Debug, Clone)]
pub struct TotpRecord {
    pub user_id: UserId,
    /// The secret, sealed with the server's key.
    pub sealed_secret: String,
    /// A correct code was entered for this secret.
    pub verified: bool,
    pub enabled: bool,
    /// The last time step accepted; only later steps are accepted (no replay).
    pub last_step: Option<i64>,
    pub created_at: OffsetDateTime,
    pub enabled_at: Option<OffsetDateTime>,
}

/// The step between a correct password and a correct code: a short-lived single-use token.
#[derive(Debug, Clone)]
pub struct MfaChallenge {
    pub id: uuid::Uuid,
    pub user_id: UserId,
    pub token_hash: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// One recorded sign-in attempt.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    pub id: uuid::Uuid,
    pub at: OffsetDateTime,
    pub email: String,
    pub user_id: Option<UserId>,
    pub success: bool,
    /// `ok`, `bad_password`, `unknown_email`, `not_active`, `throttled`, …
    pub reason: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Failure counter behind the growing sign-in delays, per account or per source address.
#[derive(Debug, Clone)]
pub struct Throttle {
    pub key: String,
    pub failures: i64,
    pub last_failure_at: OffsetDateTime,
    pub locked_until: Option<OffsetDateTime>,
    /// How many of `failures` are attempts still being evaluated (presumed wrong until settled).
    pub pending: i64,
    /// When the last of those was counted.
    pub pending_at: Option<OffsetDateTime>,
}

/// Who caused an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    /// Someone not signed in (a sign-in attempt, a set-up link).
    Anonymous,
    /// The operator's command line acting on the database.
    Cli,
    /// Keyward itself (background jobs).
    System,
    /// An identity provider's provisioning client (SCIM); the details name the client.
    Scim,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Anonymous => "anonymous",
            ActorKind::Cli => "cli",
            ActorKind::System => "system",
            ActorKind::Scim => "scim",
        }
    }
}

/// One audit event, written in the same transaction as the change it records.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub id: EventId,
    pub at: OffsetDateTime,
    pub actor_kind: ActorKind,
    pub actor_id: Option<UserId>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// JSON, never holding a secret.
    pub details: serde_json::Value,
}

/// An audit event as read back, with the actor's email for display.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub event: AuditEvent,
    pub actor_email: Option<String>,
}

/// RFC 3339 text of a time, as the API shows times.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Limits on what a team's resources may use together; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quotas {
    pub max_cpu_millis: Option<i64>,
    pub max_memory_mib: Option<i64>,
    pub max_storage_gib: Option<i64>,
    pub max_apps: Option<i64>,
    pub max_workflows: Option<i64>,
    pub max_workspaces: Option<i64>,
}

/// What a team's resources use together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu_millis: i64,
    pub memory_mib: i64,
    pub storage_gib: i64,
    pub apps: i64,
    pub workflows: i64,
    pub workspaces: i64,
}

/// A team.
#[derive(Debug, Clone)]
pub struct Team {
    pub id: crate::types::TeamId,
    pub name: String,
    pub description: String,
    /// Must be a member.
    pub lead_id: Option<UserId>,
    pub quotas: Quotas,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A resource of the platform, registered so that access to it can be decided.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: crate::types::ResourceId,
    pub kind: crate::access::Kind,
    pub name: String,
    pub owner_id: UserId,
    pub team_id: Option<crate::types::TeamId>,
    /// The project of a workspace.
    pub project_id: Option<crate::types::ResourceId>,
    pub cpu_millis: i64,
    pub memory_mib: i64,
    pub storage_gib: i64,
    /// Who may use it (data sources); `Specific` for every other kind.
    pub visibility: crate::access::Visibility,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A share as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub id: crate::types::ShareId,
    pub resource_id: crate::types::ResourceId,
    pub subject: crate::access::Subject,
    pub level: crate::access::Level,
    pub expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// When a data source's credentials were last set (the credentials themselves never leave the store sealed).
#[derive(Debug, Clone)]
pub struct CredentialsInfo {
    pub updated_at: OffsetDateTime,
    pub updated_by: Option<UserId>,
}

/// A sealed value somewhere in the database, for key rotation.
#[derive(Debug, Clone)]
pub struct SealedValue {
    /// What kind of secret it is (where it lives, what it is bound to).
    pub kind: SealedKind,
    /// The row's key (user id or resource id).
    pub key: String,
    pub sealed: String,
}

/// The kinds of secret sealed at rest. Each is bound (as AEAD associated data) to the row it
/// belongs to, by one function, so sealing, opening and key rotation cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedKind {
    /// A user's TOTP secret (`mfa_totp`), bound to the user id.
    TotpSecret,
    /// A data source's credentials (`credentials`), bound to the resource id.
    Credentials,
    /// An identity provider's OIDC client secret (`sso_providers`), bound to the provider id.
    SsoClientSecret,
}

impl SealedKind {
    /// The associated data a secret of this kind is sealed with, for the row `key`.
    pub fn aad(self, key: &str) -> String {
        match self {
            SealedKind::TotpSecret => format!("mfa_totp:{key}"),
            SealedKind::Credentials => format!("credentials:{key}"),
            SealedKind::SsoClientSecret => format!("sso_client_secret:{key}"),
        }
    }
}

/// The bearer token of an identity provider's provisioning client (SCIM). Only its hash is
/// stored; it is good for `/scim/v2` and nothing else.
#[derive(Debug, Clone)]
pub struct ScimToken {
    pub id: uuid::Uuid,
    pub name: String,
    pub token_hash: String,
    pub created_at: OffsetDateTime,
    pub created_by: Option<UserId>,
    pub last_used_at: Option<OffsetDateTime>,
}

/// What SCIM knows of a user beyond the account itself: the provider's names for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserAttrs {
    pub user_id: UserId,
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The `type` and `primary` the provider gave the account's email.
    pub email_type: Option<String>,
    pub email_primary: Option<bool>,
    /// Deleted over SCIM: the account stays (deactivated) and SCIM no longer shows it.
    pub deleted_at: Option<OffsetDateTime>,
}
