//! The storage of people and their credentials: users, service accounts, sessions, API tokens,
//! MFA, one-time links, sign-in attempts and throttles.

use crate::error::Result;
use crate::model::{ApiToken, LinkPurpose, LoginAttempt, MfaChallenge, OneTimeLink, ServiceAccount, Session, Throttle, TotpRecord, User};
use crate::types::{Role, SessionId, TeamId, TokenId, UserId, UserStatus};
use async_trait::async_trait;
use time::OffsetDateTime;

/// Filters of the user directory.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Case-insensitive part of the name or email.
    pub q: Option<String>,
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only users with this status.
    pub status: Option<UserStatus>,
    /// Only members of this team.
    pub team: Option<TeamId>,
    /// Only users whose email key sorts after this (the cursor).
    pub after: Option<String>,
    /// At most this many users.
    pub limit: i64,
    /// Only users without MFA.
    pub mfa_off: bool,
    /// Only users not active since this time (never active: not since they were created).
    pub inactive_since: Option<OffsetDateTime>,
}

/// The `users` table: people (service accounts have their own trait).
#[async_trait]
pub trait UserStore: Send {
    /// Creates a user, as an access-data change; an email key already taken is an `email_taken` conflict.
    async fn insert_user(&mut self, user: &User) -> Result<()>;
    /// Writes a user's fields but id, kind and creation time, as an access-data change; a taken email is `email_taken`.
    async fn update_user(&mut self, user: &User) -> Result<()>;
    /// One user, person or service account, whatever their status; `None` when there is none.
    async fn user_by_id(&mut self, id: UserId) -> Result<Option<User>>;
    /// The user with this email key (`types::email_key`), whatever their status; `None` when there is none.
    async fn user_by_email(&mut self, email_key: &str) -> Result<Option<User>>;
    /// Active admins without an access end date, leaving out `except`.
    async fn count_lasting_admins(&mut self, except: Option<UserId>) -> Result<i64>;
    /// Deletes a user that never became active (a revoked invitation); false when none.
    async fn delete_invited_user(&mut self, id: UserId) -> Result<bool>;
    /// Active users whose access end date has passed.
    async fn users_past_access_end(&mut self, now: OffsetDateTime) -> Result<Vec<User>>;
    /// How many people have the admin role, whatever their status.
    async fn count_admins(&mut self) -> Result<i64>;
    /// People (no service accounts) matching `filter`, by email key.
    async fn list_users(&mut self, filter: &UserFilter) -> Result<Vec<User>>;
    /// Sets a user's last activity time (not an access-data change).
    async fn touch_user(&mut self, id: UserId, at: OffsetDateTime) -> Result<()>;
    /// Active users whose last activity (or creation, if never active) is before `cutoff`.
    async fn inactive_users(&mut self, cutoff: OffsetDateTime) -> Result<Vec<User>>;
    /// Active users whose access ends between `from` and `to`, soonest first.
    async fn departures(&mut self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<User>>;
}

/// Service accounts: `users` rows of kind service, with their description.
#[async_trait]
pub trait ServiceAccountStore: Send {
    /// Creates a service account (a user row of kind service) with its description.
    async fn insert_service_account(&mut self, user: &User, description: Option<&str>) -> Result<()>;
    /// Every service account, by name.
    async fn service_accounts(&mut self) -> Result<Vec<ServiceAccount>>;
    /// One service account; `None` for a person or no one.
    async fn service_account(&mut self, id: UserId) -> Result<Option<ServiceAccount>>;
    /// Deletes a service account and its tokens; false when there was none.
    async fn delete_service_account(&mut self, id: UserId) -> Result<bool>;
}

/// The `sessions` table: signed-in browsers.
#[async_trait]
pub trait SessionStore: Send {
    /// Stores a new session.
    async fn insert_session(&mut self, session: &Session) -> Result<()>;
    /// The session with this token hash, expired or not; `None` when there is none.
    async fn session_by_hash(&mut self, token_hash: &str) -> Result<Option<Session>>;
    /// Sets a session's last-seen time.
    async fn touch_session(&mut self, id: SessionId, at: OffsetDateTime) -> Result<()>;
    /// A user's sessions, expired ones included, newest first.
    async fn sessions_of(&mut self, user: UserId) -> Result<Vec<Session>>;
    /// Ends one session of `user`; false when there was none.
    async fn delete_session(&mut self, id: SessionId, user: UserId) -> Result<bool>;
    /// Ends every session of `user` but `keep`; answers how many ended.
    async fn delete_sessions_of(&mut self, user: UserId, keep: Option<SessionId>) -> Result<u64>;
    /// Lifts the MFA-enrollment restriction of a session.
    async fn clear_session_mfa_pending(&mut self, id: SessionId) -> Result<()>;
}

/// The `api_tokens` table: personal and service-account API tokens.
#[async_trait]
pub trait ApiTokenStore: Send {
    /// Stores a new token, as an access-data change.
    async fn insert_api_token(&mut self, token: &ApiToken) -> Result<()>;
    /// The token with this hash, expired or not; `None` when there is none.
    async fn api_token_by_hash(&mut self, token_hash: &str) -> Result<Option<ApiToken>>;
    /// Sets a token's last-used time (not an access-data change).
    async fn touch_api_token(&mut self, id: TokenId, at: OffsetDateTime) -> Result<()>;
    /// A user's tokens, expired ones included, newest first.
    async fn api_tokens_of(&mut self, user: UserId) -> Result<Vec<ApiToken>>;
    /// Deletes one token of `user`, as an access-data change; false when `user` has no such token.
    async fn delete_api_token(&mut self, id: TokenId, user: UserId) -> Result<bool>;
    /// Deletes every token of `user`, as an access-data change; answers how many.
    async fn delete_api_tokens_of(&mut self, user: UserId) -> Result<u64>;
}

/// MFA: authenticators, backup codes and sign-in challenges.
#[async_trait]
pub trait MfaStore: Send {
    /// The user's authenticator, confirmed or not; `None` when they have none.
    async fn totp(&mut self, user: UserId) -> Result<Option<TotpRecord>>;
    /// Inserts or replaces the user's authenticator.
    async fn put_totp(&mut self, record: &TotpRecord) -> Result<()>;
    /// Removes the user's authenticator; false when they had none.
    async fn delete_totp(&mut self, user: UserId) -> Result<bool>;
    /// Records `step` as used if it is later than the last one; false when it is not (a replay,
    /// or a concurrent submission that won).
    async fn advance_totp_step(&mut self, user: UserId, step: i64) -> Result<bool>;
    /// Replaces the user's backup codes with these hashes.
    async fn replace_backup_codes(&mut self, user: UserId, hashes: &[String], at: OffsetDateTime) -> Result<()>;
    /// Uses the unused backup code with this hash; false when there is none.
    async fn use_backup_code(&mut self, user: UserId, hash: &str, at: OffsetDateTime) -> Result<bool>;
    /// How many of the user's backup codes are still unused.
    async fn unused_backup_codes(&mut self, user: UserId) -> Result<i64>;
    /// Deletes every backup code of the user, used or not; answers how many.
    async fn delete_backup_codes(&mut self, user: UserId) -> Result<u64>;
    /// Stores a new sign-in MFA challenge.
    async fn insert_challenge(&mut self, challenge: &MfaChallenge) -> Result<()>;
    /// The challenge with this token hash, used or expired or not; `None` when there is none.
    async fn challenge_by_hash(&mut self, token_hash: &str) -> Result<Option<MfaChallenge>>;
    /// Marks a challenge used; false when it was used already.
    async fn use_challenge(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool>;
}

/// One-time links: invitations, password resets, email changes.
#[async_trait]
pub trait LinkStore: Send {
    /// Stores a new one-time link.
    async fn insert_link(&mut self, link: &OneTimeLink) -> Result<()>;
    /// The link with this token hash, used or expired or not; `None` when there is none.
    async fn link_by_hash(&mut self, token_hash: &str) -> Result<Option<OneTimeLink>>;
    /// Marks the link used; false when it was used already (a race lost).
    async fn use_link(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool>;
    /// The newest link of `purpose` for `user`.
    async fn latest_link(&mut self, user: UserId, purpose: LinkPurpose) -> Result<Option<OneTimeLink>>;
    /// Deletes the unused links of `purpose` for `user` (a resend kills the old link).
    async fn delete_unused_links(&mut self, user: UserId, purpose: LinkPurpose) -> Result<u64>;
}

/// The `login_attempts` table: every sign-in attempt, right or wrong.
#[async_trait]
pub trait SignInStore: Send {
    /// Records one sign-in attempt.
    async fn insert_login_attempt(&mut self, attempt: &LoginAttempt) -> Result<()>;
    /// A user's sign-in attempts, newest first, at most `limit`.
    async fn login_attempts_of(&mut self, user: UserId, limit: i64) -> Result<Vec<LoginAttempt>>;
    /// Failed sign-in attempts since `since`.
    async fn count_failed_sign_ins(&mut self, since: OffsetDateTime) -> Result<i64>;
}

/// Throttles: attempts at a secret counted before they are evaluated.
#[async_trait]
pub trait ThrottleStore: Send {
    /// The throttles of `keys` that exist (nothing was ever counted against the others), in one
    /// statement.
    async fn throttles(&mut self, keys: &[&str]) -> Result<Vec<Throttle>>;
    /// Counts one more attempt against `key` in one statement, unless the key is locked at
    /// `now` or has attempts pending with its `free` budget used up: answers the key as counted
    /// (its row stays locked until the transaction ends), or as found (nothing counted).
    /// Failures whose last one is at or before `window_start` start over; attempts pending
    /// since before `pending_since` are abandoned.
    async fn raise_throttle(
        &mut self,
        key: &str,
        free: i64,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
        pending_since: OffsetDateTime,
    ) -> Result<ThrottleRaise>;
    /// Settles one attempt counted by `raise_throttle` once it has been evaluated (or locks the
    /// key); answers the key as it then stands, if it exists.
    async fn settle_throttle(&mut self, key: &str, settle: ThrottleSettle) -> Result<Option<Throttle>>;
}

/// What raising a throttle's counter found.
#[derive(Debug, Clone)]
pub enum ThrottleRaise {
    /// The attempt is counted: the key as it now stands (not locked).
    Counted(Throttle),
    /// The key is locked, or its budget is held by pending attempts; nothing was counted.
    Blocked(Throttle),
}

/// How an attempt counted by `ThrottleStore::raise_throttle` turned out.
#[derive(Debug, Clone, Copy)]
pub enum ThrottleSettle {
    /// Wrong: it stays counted, as a failure at `at`.
    Failed {
        /// When it failed.
        at: OffsetDateTime,
    },
    /// Right: its count goes back, and the lock with it when fewer than `free` remain.
    Refunded {
        /// The key's free failures: below this count a failure earns no delay.
        free: i64,
    },
    /// A complete sign-in: the key's failures are cleared but for other attempts still being
    /// evaluated (pending since `pending_since`).
    Cleared {
        /// Attempts pending since before this are taken as abandoned and cleared too.
        pending_since: OffsetDateTime,
    },
    /// Not an attempt: the key is locked until at least `until` (the delay a failure earned).
    Locked {
        /// The lock's end, unless it already ends later.
        until: OffsetDateTime,
    },
}
