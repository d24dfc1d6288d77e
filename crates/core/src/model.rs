//! The records the core keeps: users, sessions, API tokens, one-time links, sign-in attempts,
//! throttles and audit events. The store persists them as they are.

use crate::types::{EventId, Role, SessionId, TokenId, UserId, UserKind, UserStatus};
use time::OffsetDateTime;

/// A person on the platform, or a service account (`kind`).
#[derive(Debug, Clone)]
pub struct User {
    /// The account's id, for life.
    pub id: UserId,
    /// A person, or a service account.
    pub kind: UserKind,
    /// The address as typed (trimmed); uniqueness and lookups go through `email_key`.
    pub email: String,
    /// The name people see in lists and messages.
    pub full_name: String,
    /// The one role, which the role matrix (`policy::role_can`) reads on every request.
    pub role: Role,
    /// Invited, active or deactivated; only an active account may act.
    pub status: UserStatus,
    /// Argon2id PHC string; `None` until the user sets a password.
    pub password_hash: Option<String>,
    /// Whether an activated TOTP authenticator guards the sign-in.
    pub mfa_enabled: bool,
    /// When the account was created (invited).
    pub created_at: OffsetDateTime,
    /// When the row last changed.
    pub updated_at: OffsetDateTime,
    /// The last sign-in, session or token use, written at most once a minute.
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
    /// The account row behind it (kind `Service`).
    pub user: User,
    /// What the account is for, as its creator wrote it.
    pub description: Option<String>,
}

/// A signed-in browser or client. The token itself is never stored, only its hash.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session's id (shown in listings; not its secret).
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// SHA-256 of the cookie's token (`secret::token_hash`).
    pub token_hash: String,
    /// What a cookie-authenticated change must send in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When the session was opened (the absolute timeout counts from here).
    pub created_at: OffsetDateTime,
    /// Its last use, written at most once a minute (the idle timeout counts from here).
    pub last_seen_at: OffsetDateTime,
    /// The absolute end of the session.
    pub expires_at: OffsetDateTime,
    /// The client address at sign-in, for the owner's session list.
    pub ip: Option<String>,
    /// The browser's user agent at sign-in, for the owner's session list.
    pub user_agent: Option<String>,
    /// A session that may only enroll in MFA (the policy's grace period is over).
    pub mfa_pending: bool,
}

/// A bearer token for programmatic access.
#[derive(Debug, Clone)]
pub struct ApiToken {
    /// The token's id (shown in listings; not its secret).
    pub id: TokenId,
    /// Whose token it is; it acts as that user.
    pub user_id: UserId,
    /// The label its owner gave it.
    pub name: String,
    /// SHA-256 of the bearer secret (`secret::token_hash`).
    pub token_hash: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// After this moment it no longer authenticates; `None`: until revoked.
    pub expires_at: Option<OffsetDateTime>,
    /// Its last use, written at most once a minute.
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
    /// The purpose's stored text (`setup`, `invitation`, `password_reset`).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Setup => "setup",
            LinkPurpose::Invitation => "invitation",
            LinkPurpose::PasswordReset => "password_reset",
        }
    }
    /// Reads the stored text back; `None` for any other.
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
    /// The link's id (not its secret).
    pub id: uuid::Uuid,
    /// The account the link acts on.
    pub user_id: UserId,
    /// What the link is for.
    pub purpose: LinkPurpose,
    /// SHA-256 of the token in the link (`secret::token_hash`).
    pub token_hash: String,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// After this moment the link no longer works.
    pub expires_at: OffsetDateTime,
    /// When it was used; a used link never works again.
    pub used_at: Option<OffsetDateTime>,
    /// The admin who invited; `None` for set-up and reset links.
    pub created_by: Option<UserId>,
}

/// A user's TOTP authenticator: pending until verified and activated.
#[derive(Debug, Clone)]
pub struct TotpRecord {
    /// Whose authenticator it is.
    pub user_id: UserId,
    /// The secret, sealed with the server's key.
    pub sealed_secret: String,
    /// A correct code was entered for this secret.
    pub verified: bool,
    /// Active: sign-in asks for its codes.
    pub enabled: bool,
    /// The last time step accepted; only later steps are accepted (no replay).
    pub last_step: Option<i64>,
    /// When enrollment began.
    pub created_at: OffsetDateTime,
    /// When it was activated.
    pub enabled_at: Option<OffsetDateTime>,
}

/// The step between a correct password and a correct code: a short-lived single-use token.
#[derive(Debug, Clone)]
pub struct MfaChallenge {
    /// The challenge's id.
    pub id: uuid::Uuid,
    /// The user who gave the right password.
    pub user_id: UserId,
    /// SHA-256 of the challenge's token (`secret::token_hash`).
    pub token_hash: String,
    /// When the password step succeeded.
    pub created_at: OffsetDateTime,
    /// After this moment the code step must start again from the password.
    pub expires_at: OffsetDateTime,
    /// When it was used; a used challenge never works again.
    pub used_at: Option<OffsetDateTime>,
}

/// One recorded sign-in attempt.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    /// The attempt's id.
    pub id: uuid::Uuid,
    /// When it was made.
    pub at: OffsetDateTime,
    /// The email as normalised for lookups (`email_key`), whether or not an account has it.
    pub email: String,
    /// The account of that email, if there is one.
    pub user_id: Option<UserId>,
    /// Whether it signed in.
    pub success: bool,
    /// `ok`, `bad_password`, `unknown_email`, `not_active`, `throttled`, …
    pub reason: String,
    /// The client address it came from.
    pub ip: Option<String>,
    /// The user agent it came with.
    pub user_agent: Option<String>,
}

/// Failure counter behind the growing sign-in delays, per account or per source address.
#[derive(Debug, Clone)]
pub struct Throttle {
    /// What is counted: `account:<email key>`, `source:<address>` or `device:<device id>`.
    pub key: String,
    /// Failures counted (within the window after `last_failure_at`), pending attempts included.
    pub failures: i64,
    /// When the last failure was counted.
    pub last_failure_at: OffsetDateTime,
    /// Until then every attempt on this key is refused with 429.
    pub locked_until: Option<OffsetDateTime>,
    /// How many of `failures` are attempts still being evaluated (presumed wrong until settled).
    pub pending: i64,
    /// When the last of those was counted.
    pub pending_at: Option<OffsetDateTime>,
}

/// Who caused an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A signed-in user (`actor_id`).
    User,
    /// Someone not signed in (a sign-in attempt, a set-up link).
    Anonymous,
    /// The operator's command line acting on the database.
    Cli,
    /// Keyward itself (background jobs).
    System,
    /// An identity provider's provisioning client (SCIM); the details name the client.
    Scim,
    /// A service account acting with one of its scoped API tokens.
    Service,
}

impl ActorKind {
    /// Every kind, in the order the audit documentation lists them.
    pub const ALL: [ActorKind; 6] =
        [ActorKind::User, ActorKind::Service, ActorKind::Anonymous, ActorKind::Cli, ActorKind::System, ActorKind::Scim];

    /// The kind's name as stored and exported (`user`, `service`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Anonymous => "anonymous",
            ActorKind::Cli => "cli",
            ActorKind::System => "system",
            ActorKind::Scim => "scim",
            ActorKind::Service => "service",
        }
    }
}

impl std::str::FromStr for ActorKind {
    type Err = crate::Error;

    /// The one parser of a stored actor kind; an unknown one is an error, never a guess.
    fn from_str(s: &str) -> crate::Result<Self> {
        ActorKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| crate::Error::internal_msg(format!("unknown actor kind {s}")))
    }
}

/// One audit event, written in the same transaction as the change it records.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// The event's id (time-ordered).
    pub id: EventId,
    /// When it happened.
    pub at: OffsetDateTime,
    /// What kind of actor caused it.
    pub actor_kind: ActorKind,
    /// The user who acted, or whom an anonymous attempt was about.
    pub actor_id: Option<UserId>,
    /// What happened, as `area.verb` (`auth.login`, `resource.share_add`, …).
    pub action: String,
    /// The kind of thing acted on (`user`, `team`, `resource`, `session`, …).
    pub target_type: Option<String>,
    /// The id of the thing acted on, as text.
    pub target_id: Option<String>,
    /// The client address of the request, if there was one.
    pub ip: Option<String>,
    /// The user agent of the request, if there was one.
    pub user_agent: Option<String>,
    /// JSON, never holding a secret.
    pub details: serde_json::Value,
}

/// An audit event as read back, with the actor's email for display.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// The event as written.
    pub event: AuditEvent,
    /// The acting user's email, when a user acted.
    pub actor_email: Option<String>,
}

/// RFC 3339 text of a time, as the API shows times.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Limits on what a team's resources may use together; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quotas {
    /// The most CPU, in thousandths of a core, the team's resources may demand together.
    pub max_cpu_millis: Option<i64>,
    /// The most memory, in MiB, the team's resources may demand together.
    pub max_memory_mib: Option<i64>,
    /// The most storage, in GiB, the team's resources may demand together.
    pub max_storage_gib: Option<i64>,
    /// The most apps the team may own.
    pub max_apps: Option<i64>,
    /// The most workflows the team may own.
    pub max_workflows: Option<i64>,
    /// The most workspaces the team may own.
    pub max_workspaces: Option<i64>,
}

/// What a team's resources use together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU demanded, in thousandths of a core.
    pub cpu_millis: i64,
    /// Memory demanded, in MiB.
    pub memory_mib: i64,
    /// Storage demanded, in GiB.
    pub storage_gib: i64,
    /// Apps owned by the team.
    pub apps: i64,
    /// Workflows owned by the team.
    pub workflows: i64,
    /// Workspaces owned by the team.
    pub workspaces: i64,
}

/// A team.
#[derive(Debug, Clone)]
pub struct Team {
    /// The team's id.
    pub id: crate::types::TeamId,
    /// Its name, unique without regard to case.
    pub name: String,
    /// What the team is for (may be empty); its lead may edit it.
    pub description: String,
    /// Must be a member.
    pub lead_id: Option<UserId>,
    /// Limits on what its resources use together (admins set them).
    pub quotas: Quotas,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// A resource of the platform, registered so that access to it can be decided.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The resource's id.
    pub id: crate::types::ResourceId,
    /// What kind of resource it is; it never changes.
    pub kind: crate::access::Kind,
    /// The name people gave it.
    pub name: String,
    /// Its owner (the creator), who has full access.
    pub owner_id: UserId,
    /// The team that owns it, whose quotas it counts against.
    pub team_id: Option<crate::types::TeamId>,
    /// The project of a workspace.
    pub project_id: Option<crate::types::ResourceId>,
    /// CPU it demands, in thousandths of a core.
    pub cpu_millis: i64,
    /// Memory it demands, in MiB.
    pub memory_mib: i64,
    /// Storage it demands, in GiB.
    pub storage_gib: i64,
    /// Who may use it (data sources); `Specific` for every other kind.
    pub visibility: crate::access::Visibility,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// A share as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// The share's id, kept while the share exists.
    pub id: crate::types::ShareId,
    /// The resource shared.
    pub resource_id: crate::types::ResourceId,
    /// Whom it is shared with: a user, a team, or all users.
    pub subject: crate::access::Subject,
    /// `View` or `Edit`.
    pub level: crate::access::Level,
    /// After this moment the share no longer counts; `None`: until removed.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was first made.
    pub created_at: OffsetDateTime,
}

/// When a data source's credentials were last set (the credentials themselves never leave the store sealed).
#[derive(Debug, Clone)]
pub struct CredentialsInfo {
    /// When they were last set.
    pub updated_at: OffsetDateTime,
    /// Who set them (`None` when nobody signed in did).
    pub updated_by: Option<UserId>,
}

/// A sealed value somewhere in the database, for key rotation.
#[derive(Debug, Clone)]
pub struct SealedValue {
    /// What kind of secret it is (where it lives, what it is bound to).
    pub kind: SealedKind,
    /// The row's key (user id or resource id).
    pub key: String,
    /// The sealed text (`crypto`: version, key id, nonce, ciphertext in base64).
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
    /// The token's id (not its secret).
    pub id: uuid::Uuid,
    /// The label the admin gave it.
    pub name: String,
    /// SHA-256 of the bearer secret (`secret::token_hash`).
    pub token_hash: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// The admin who created it.
    pub created_by: Option<UserId>,
    /// Its last use, written at most once a minute.
    pub last_used_at: Option<OffsetDateTime>,
}

/// What SCIM knows of a user beyond the account itself: the provider's names for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserAttrs {
    /// The Keyward account these attributes belong to.
    pub user_id: UserId,
    /// The provider's `userName` (matched without regard to case).
    pub user_name: String,
    /// The provider's own id for the user (`externalId`).
    pub external_id: Option<String>,
    /// SCIM's `displayName`.
    pub display_name: Option<String>,
    /// SCIM's `name.givenName`.
    pub given_name: Option<String>,
    /// SCIM's `name.familyName`.
    pub family_name: Option<String>,
    /// The `type` and `primary` the provider gave the account's email.
    pub email_type: Option<String>,
    /// See `email_type`.
    pub email_primary: Option<bool>,
    /// Deleted over SCIM: the account stays (deactivated) and SCIM no longer shows it.
    pub deleted_at: Option<OffsetDateTime>,
}
