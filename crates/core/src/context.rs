//! Who is acting: the signed-in user, how they proved it, and where the request came from.

use crate::error::{Error, Result};
use crate::model::User;
use crate::policy::{Capability, role_can};
use crate::types::{SessionId, TokenId};

/// Where a request came from, for sign-in records and audit events.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The client's address (behind trusted proxies, the one they name).
    pub ip: Option<String>,
    /// The client's user agent, cut to 300 characters.
    pub user_agent: Option<String>,
    /// The device cookie the request carried, unverified (only sign-in looks at it).
    pub device: Option<String>,
}

/// How the actor proved who they are.
#[derive(Debug, Clone)]
pub enum AuthVia {
    /// A browser or client session; state changes need its CSRF token. `mfa_pending`: the
    /// session may only enroll in MFA (the policy's grace period is over).
    Session {
        /// The session's id.
        id: SessionId,
        /// The token a cookie-authenticated change must send in `X-CSRF-Token`.
        csrf_token: String,
        /// The session may only enroll in MFA.
        mfa_pending: bool,
    },
    /// An API token (bearer); `scopes` for a service account's token (already checked against
    /// the request when the actor was built).
    Token {
        /// The token's id.
        id: TokenId,
        /// A service account's scopes; `None` for a person's token.
        scopes: Option<Vec<crate::scope::Scope>>,
    },
    /// The operator's command line, acting on the database directly.
    Cli,
}

/// The acting principal, loaded fresh from the database for every request.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user acting, as read for this request.
    pub user: User,
    /// How they proved who they are.
    pub via: AuthVia,
    /// Where the request came from.
    pub meta: RequestMeta,
    /// The policy requires MFA of this user by then, and they have none yet (for a banner).
    pub mfa_deadline: Option<time::OffsetDateTime>,
    /// The policy requires MFA of this user, their deadline has passed and they have none: like
    /// a new sign-in, this credential (session or API token) may only enroll and sign out.
    pub mfa_restricted: bool,
}

impl Actor {
    /// Refuses with 403 unless the actor's role has `cap`.
    pub fn require(&self, cap: Capability) -> Result<()> {
        if role_can(self.user.role, cap) { Ok(()) } else { Err(Error::Forbidden) }
    }

    /// Whether the actor's role has `cap` (for pages deciding which controls to show).
    pub fn can(&self, cap: Capability) -> bool {
        role_can(self.user.role, cap)
    }

    /// Whether the actor sees a person's account details (role, status, activity, end date):
    /// admins see everyone's, everyone sees their own; others see what sharing needs (name,
    /// email, teams). The one place this is decided, for the API and the pages.
    pub fn sees_account_of(&self, user: crate::types::UserId) -> bool {
        self.can(Capability::ManageUsers) || self.user.id == user
    }

    /// Whether this credential may only enroll in MFA (and sign out): the session was opened
    /// that way, or the policy's deadline passed since.
    pub fn mfa_pending(&self) -> bool {
        self.mfa_restricted || matches!(self.via, AuthVia::Session { mfa_pending: true, .. })
    }

    /// The session this request came with, if any.
    pub fn session_id(&self) -> Option<SessionId> {
        match &self.via {
            AuthVia::Session { id, .. } => Some(*id),
            _ => None,
        }
    }
}
