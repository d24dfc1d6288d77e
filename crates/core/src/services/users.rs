//! Managing people (admins): role, name and access end date, deactivation and reactivation;
//! and the rule that an active admin always remains.

use crate::Keyward;
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, LinkPurpose, User};
use crate::policy::Capability;
use crate::store::{LockKey, Tx};
use crate::types::{FullName, Role, UserId, UserStatus};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The changes an admin asks for; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UserChanges {
    /// A new role (the last active admin cannot lose theirs).
    pub role: Option<Role>,
    /// A new display name.
    pub full_name: Option<FullName>,
    /// `Some(None)` removes the end date.
    pub access_expires_at: Option<Option<OffsetDateTime>>,
}

/// An admin that keeps access with no end date: the kind that must always remain.
pub(crate) fn is_lasting_admin(u: &User) -> bool {
    u.role == Role::Admin && u.status == UserStatus::Active && u.access_expires_at.is_none()
}

/// Refuses a change that would take `before` out of the lasting admins when no other remains.
/// Call with the admins lock held.
pub(crate) async fn ensure_an_admin_remains(tx: &mut dyn Tx, before: &User, after: &User) -> Result<()> {
    if is_lasting_admin(before) && !is_lasting_admin(after) && tx.count_lasting_admins(Some(before.id)).await? == 0 {
        return Err(Error::conflict(
            "last_admin",
            "This is the last active admin without an access end date; make another user an admin first.",
        ));
    }
    Ok(())
}

impl Keyward {
    /// Changes a user's role, name or access end date. A role change acts on the user's very
    /// next request.
    pub async fn update_user(&self, actor: &Actor, id: UserId, changes: UserChanges) -> Result<User> {
        actor.require(Capability::ManageUsers)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        let before = tx.user_by_id(id).await?.filter(|u| !u.is_service()).ok_or(Error::NotFound("User"))?;
        let mut after = before.clone();
        let mut diff = Map::new();
        if let Some(role) = changes.role
            && role != before.role
        {
            after.role = role;
            after.role_changed_at = Some(now);
            diff.insert("role".into(), json!({ "before": before.role.as_str(), "after": role.as_str() }));
        }
        if let Some(name) = changes.full_name
            && name.as_str() != before.full_name
        {
            after.full_name = name.as_str().to_owned();
            diff.insert("full_name".into(), json!({ "before": before.full_name, "after": after.full_name }));
        }
        if let Some(end) = changes.access_expires_at
            && end != before.access_expires_at
        {
            after.access_expires_at = end;
            let show = |t: Option<OffsetDateTime>| t.map(crate::model::rfc3339);
            diff.insert("access_expires_at".into(), json!({ "before": show(before.access_expires_at), "after": show(end) }));
        }
        if diff.is_empty() {
            return Ok(before);
        }
        ensure_an_admin_remains(tx.as_mut(), &before, &after).await?;
        after.updated_at = now;
        tx.update_user(&after).await?;
        tx.insert_audit(&AuditEvent::by(actor, "user.update", now).target("user", id).details(Value::Object(diff))).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deactivates a user: every session and API token ends at once; what they own stays.
    pub async fn deactivate_user(&self, actor: &Actor, id: UserId) -> Result<User> {
        actor.require(Capability::ManageUsers)?;
        if id == actor.user.id {
            return Err(Error::conflict("cannot_deactivate_self", "You cannot deactivate your own account; ask another admin."));
        }
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        let before = tx.user_by_id(id).await?.filter(|u| !u.is_service()).ok_or(Error::NotFound("User"))?;
        match before.status {
            UserStatus::Deactivated => return Ok(before),
            UserStatus::Invited => {
                return Err(Error::conflict(
                    "invitation_pending",
                    "This person has not accepted the invitation yet; revoke the invitation instead.",
                ));
            }
            UserStatus::Active => {}
        }
        let after = User { status: UserStatus::Deactivated, updated_at: now, ..before.clone() };
        ensure_an_admin_remains(tx.as_mut(), &before, &after).await?;
        let (sessions, tokens, links) = self.end_access(tx.as_mut(), &after).await?;
        tx.insert_audit(
            &AuditEvent::by(actor, "user.deactivate", now)
                .target("user", id)
                .details(json!({ "sessions_ended": sessions, "tokens_revoked": tokens, "links_voided": links })),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Stores `user` (no longer active) and ends all of its sessions and API tokens, and voids
    /// its unused links (reset, invitation, set-up). Why the links: a reset link mailed before
    /// the deactivation must not set a password, nor be waiting when the account is reactivated.
    pub(crate) async fn end_access(&self, tx: &mut dyn Tx, user: &User) -> Result<(u64, u64, u64)> {
        tx.update_user(user).await?;
        let sessions = tx.delete_sessions_of(user.id, None).await?;
        let tokens = tx.delete_api_tokens_of(user.id).await?;
        let mut links = 0;
        for purpose in [LinkPurpose::PasswordReset, LinkPurpose::Invitation, LinkPurpose::Setup] {
            links += tx.delete_unused_links(user.id, purpose).await?;
        }
        Ok((sessions, tokens, links))
    }

    /// Reactivates a user with everything they had; an access end date already past is removed.
    pub async fn reactivate_user(&self, actor: &Actor, id: UserId) -> Result<User> {
        actor.require(Capability::ManageUsers)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let before = tx.user_by_id(id).await?.filter(|u| !u.is_service()).ok_or(Error::NotFound("User"))?;
        if before.status != UserStatus::Deactivated {
            return Ok(before);
        }
        let cleared = before.access_expires_at.filter(|t| *t <= now);
        let after = User {
            status: UserStatus::Active,
            access_expires_at: if cleared.is_some() { None } else { before.access_expires_at },
            updated_at: now,
            ..before.clone()
        };
        tx.update_user(&after).await?;
        tx.insert_audit(
            &AuditEvent::by(actor, "user.reactivate", now)
                .target("user", id)
                .details(json!({ "access_end_removed": cleared.map(crate::model::rfc3339) })),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Background job: deactivates every user whose access end date has passed. Safe to run
    /// on several nodes at once (the admins lock serialises it; the status check makes it idempotent).
    pub async fn expire_access(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        let due = tx.users_past_access_end(now).await?;
        for user in &due {
            let after = User { status: UserStatus::Deactivated, updated_at: now, ..user.clone() };
            let (sessions, tokens, links) = self.end_access(tx.as_mut(), &after).await?;
            let expired_at = user.access_expires_at.map(crate::model::rfc3339);
            tx.insert_audit(&AuditEvent::system("user.expire", now).target("user", user.id).details(json!({
                "access_expires_at": expired_at, "sessions_ended": sessions, "tokens_revoked": tokens, "links_voided": links,
            })))
            .await?;
        }
        tx.commit().await?;
        Ok(due.len())
    }
}
