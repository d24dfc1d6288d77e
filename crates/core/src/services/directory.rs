//! Reading about other people: the user directory, a user's sign-in history, the audit log.

use crate::Keyward;
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{AuditRecord, LoginAttempt, User};
use crate::policy::Capability;
use crate::store::{AuditFilter, UserFilter};
use crate::types::{UserId, UserStatus};

/// The most items one page of a list may hold.
pub const MAX_PAGE: i64 = 200;

/// Clamps a requested page size to 1..=MAX_PAGE (default 50).
pub fn page_size(limit: Option<i64>) -> Result<i64> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid_field("limit", "invalid_limit", format!("limit must be between 1 and {MAX_PAGE}."))),
    }
}

impl Keyward {
    /// The teams of each of `users` (for the directory: teams are public to signed-in users).
    pub async fn teams_of_users(
        &self,
        actor: &Actor,
        users: &[UserId],
    ) -> Result<std::collections::HashMap<UserId, Vec<crate::model::Team>>> {
        actor.require(Capability::SeeDirectory)?;
        let pairs = self.store.read().await?.teams_of_users(users).await?;
        let mut out: std::collections::HashMap<UserId, Vec<crate::model::Team>> = std::collections::HashMap::new();
        for (u, t) in pairs {
            out.entry(u).or_default().push(t);
        }
        Ok(out)
    }

    /// The directory: every signed-in user may see it (to share with people). Admins see every
    /// account and filter as they like; everyone else sees active users only, and may not filter
    /// by role or by a status other than `active` (400 `filter_not_allowed`).
    pub async fn list_users(&self, actor: &Actor, mut filter: UserFilter) -> Result<Vec<User>> {
        actor.require(Capability::SeeDirectory)?;
        // Why refused: no name or email holds a control character, and PostgreSQL refuses a
        // NUL in text outright (which would answer 500 to what the client sent).
        let control = |s: &Option<String>| s.as_deref().is_some_and(|s| s.chars().any(char::is_control));
        if control(&filter.q) {
            return Err(Error::invalid_field("q", "invalid_query", "The search text must not hold control characters."));
        }
        if control(&filter.after) {
            return Err(Error::invalid_field(
                "cursor",
                "invalid_cursor",
                "The cursor is not valid; use next_cursor from the previous page.",
            ));
        }
        if !actor.can(Capability::ManageUsers) {
            // Why: who holds which role tells an attacker whom to aim at (the admins), and who
            // was invited or deactivated is the organisation's business, not the directory's.
            if filter.role.is_some() {
                return Err(Error::invalid_field("role", "filter_not_allowed", "Only admins may filter users by role."));
            }
            if filter.status.is_some_and(|s| s != UserStatus::Active) {
                return Err(Error::invalid_field("status", "filter_not_allowed", "Only admins may filter users by status."));
            }
            filter.status = Some(UserStatus::Active);
        }
        // One more than a page: callers ask for a row past the page to tell whether another follows.
        filter.limit = filter.limit.clamp(1, MAX_PAGE + 1);
        self.store.read().await?.list_users(&filter).await
    }

    /// One user; 404 when there is none, and for non-admins also when the account is invited or
    /// deactivated (the directory does not show those to them; anyone may read themself).
    pub async fn get_user(&self, actor: &Actor, id: UserId) -> Result<User> {
        actor.require(Capability::SeeDirectory)?;
        let user = self.store.read().await?.user_by_id(id).await?.filter(|u| !u.is_service()).ok_or(Error::NotFound("User"))?;
        if user.status != UserStatus::Active && user.id != actor.user.id && !actor.can(Capability::ManageUsers) {
            return Err(Error::NotFound("User"));
        }
        Ok(user)
    }

    /// A user's sign-in attempts, newest first: admins for anyone, users for themselves.
    pub async fn login_history(&self, actor: &Actor, id: UserId, limit: i64) -> Result<Vec<LoginAttempt>> {
        if actor.user.id != id {
            actor.require(Capability::ManageUsers)?;
        }
        let mut tx = self.store.read().await?;
        tx.user_by_id(id).await?.filter(|u| !u.is_service()).ok_or(Error::NotFound("User"))?;
        tx.login_attempts_of(id, limit.clamp(1, MAX_PAGE)).await
    }

    /// The audit log, newest first (admins).
    pub async fn audit_events(&self, actor: &Actor, mut filter: AuditFilter) -> Result<Vec<AuditRecord>> {
        actor.require(Capability::ReadAudit)?;
        // One more than a page: callers ask for a row past the page to tell whether another follows.
        filter.limit = filter.limit.clamp(1, MAX_PAGE + 1);
        self.store.read().await?.list_audit(&filter).await
    }
}
