//! Inviting people: the invitation (an invited user and a single-use link), resending,
//! revoking, and the email that carries the link.

use crate::Keyward;
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::mail;
use crate::model::{AuditEvent, LinkPurpose, User};
use crate::policy::Capability;
use crate::store::UserFilter;
use crate::types::{Email, FullName, Role, TeamId, UserId, UserStatus};
use serde_json::json;
use time::OffsetDateTime;

/// An invitation as made or resent. `Debug` leaves the link out: it is a credential.
pub struct Invited {
    /// The invited account (status invited).
    pub user: User,
    /// The link; shown to the admin only when no email was sent (or sending failed).
    pub link: String,
    /// When the link stops working.
    pub expires_at: OffsetDateTime,
    /// Whether the invitation email went out.
    pub email_sent: bool,
}

impl std::fmt::Debug for Invited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invited")
            .field("user", &self.user.id)
            .field("link", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("email_sent", &self.email_sent)
            .finish()
    }
}

/// A pending invitation as listed.
#[derive(Debug)]
pub struct Pending {
    /// The invited account.
    pub user: User,
    /// When the latest link stops working (`None`: no link found).
    pub expires_at: Option<OffsetDateTime>,
    /// The admin who issued the latest link.
    pub invited_by: Option<UserId>,
}

/// Every problem with an invitation's fields, all at once (the form lists them together, so a
/// person fixes them in one go); empty when `invite` would accept them.
pub fn invitation_problems(email: &str, full_name: &str, role: &str) -> Vec<Error> {
    [Email::parse(email).err(), FullName::parse(full_name).err(), Role::parse(role).err()].into_iter().flatten().collect()
}

impl Keyward {
    /// Invites a person (admins): a user in the `invited` state and a single-use link that
    /// expires; emails it when `send_email`.
    pub async fn invite(
        &self,
        actor: &Actor,
        email: &str,
        full_name: &str,
        role: &str,
        teams: &[TeamId],
        send_email: bool,
    ) -> Result<Invited> {
        actor.require(Capability::ManageUsers)?;
        if let Some(first) = invitation_problems(email, full_name, role).into_iter().next() {
            return Err(first);
        }
        let (email, name, role) = (Email::parse(email)?, FullName::parse(full_name)?, Role::parse(role)?);
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        if tx.user_by_email(&email.key()).await?.is_some() {
            return Err(Error::conflict("email_taken", "A user or invitation with this email already exists."));
        }
        let user = User::invited(&email, &name, role, now);
        tx.insert_user(&user).await?;
        for team in teams {
            tx.team_by_id(*team).await?.ok_or_else(|| Error::invalid_field("team_ids", "unknown_team", "team_ids: no such team."))?;
            tx.add_member(*team, user.id, now).await?;
        }
        let ttl = self.settings.invitation_ttl;
        let link = self.issue_link(tx.as_mut(), &user, LinkPurpose::Invitation, ttl, Some(actor.user.id), now).await?;
        tx.insert_audit(&AuditEvent::by(actor, "invitation.create", now).target("user", user.id).details(json!({
            "email": user.email, "role": role.as_str(), "send_email": send_email,
            "team_ids": teams.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        })))
        .await?;
        tx.commit().await?;
        let email_sent = send_email && self.send_invitation(actor, &user, &link, now + ttl).await;
        Ok(Invited { user, link, expires_at: now + ttl, email_sent })
    }

    /// Sends the invitation email; a failure is logged and reported as `false` so the admin can
    /// hand the link over another way (the invitation itself stands).
    async fn send_invitation(&self, actor: &Actor, user: &User, link: &str, expires: OffsetDateTime) -> bool {
        let msg = mail::invitation(
            &self.settings.platform_name,
            &user.email,
            &user.full_name,
            &actor.user.full_name,
            user.role.label(),
            link,
            expires,
        );
        match self.mailer.send(&msg).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, to = %user.email, "could not send the invitation email");
                false
            }
        }
    }

    /// Pending invitations with their expiry (admins), oldest first.
    pub async fn pending_invitations(&self, actor: &Actor) -> Result<Vec<Pending>> {
        actor.require(Capability::ManageUsers)?;
        let mut tx = self.store.read().await?;
        let users = tx.list_users(&UserFilter { status: Some(UserStatus::Invited), limit: 200, ..UserFilter::default() }).await?;
        let mut out = Vec::with_capacity(users.len());
        for user in users {
            let link = tx.latest_link(user.id, LinkPurpose::Invitation).await?;
            out.push(Pending { expires_at: link.as_ref().map(|l| l.expires_at), invited_by: link.and_then(|l| l.created_by), user });
        }
        Ok(out)
    }

    /// A new link for a pending invitation; the old link stops working.
    pub async fn resend_invitation(&self, actor: &Actor, id: UserId, send_email: bool) -> Result<Invited> {
        actor.require(Capability::ManageUsers)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let user = tx.user_by_id(id).await?.filter(|u| u.status == UserStatus::Invited).ok_or(Error::NotFound("Invitation"))?;
        tx.delete_unused_links(id, LinkPurpose::Invitation).await?;
        let ttl = self.settings.invitation_ttl;
        let link = self.issue_link(tx.as_mut(), &user, LinkPurpose::Invitation, ttl, Some(actor.user.id), now).await?;
        tx.insert_audit(&AuditEvent::by(actor, "invitation.resend", now).target("user", id).details(json!({ "send_email": send_email })))
            .await?;
        tx.commit().await?;
        let email_sent = send_email && self.send_invitation(actor, &user, &link, now + ttl).await;
        Ok(Invited { user, link, expires_at: now + ttl, email_sent })
    }

    /// Withdraws a pending invitation; its link stops working.
    pub async fn revoke_invitation(&self, actor: &Actor, id: UserId) -> Result<()> {
        actor.require(Capability::ManageUsers)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let user = tx.user_by_id(id).await?.filter(|u| u.status == UserStatus::Invited).ok_or(Error::NotFound("Invitation"))?;
        tx.delete_invited_user(id).await?;
        tx.insert_audit(&AuditEvent::by(actor, "invitation.revoke", now).target("user", id).details(json!({ "email": user.email })))
            .await?;
        tx.commit().await
    }
}
