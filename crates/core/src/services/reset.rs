//! Forgotten passwords: a single-use link by email, valid one hour, and setting a new password
//! with it. The answer never says whether the email exists; a reset never bypasses MFA.

use crate::Keyward;
use crate::context::RequestMeta;
use crate::error::Result;
use crate::mail;
use crate::model::{AuditEvent, LinkPurpose};
use crate::password::Password;
use crate::services::setup::{LinkInfo, find_link};
use crate::types::{Email, UserStatus};
use serde_json::json;
use time::Duration;

/// How long a reset link lives.
pub const RESET_LINK_TTL: Duration = Duration::hours(1);
/// At most one reset email per account in this interval (no mail bombing).
const RESET_EMAIL_INTERVAL: Duration = Duration::minutes(1);

impl Keyward {
    /// Sends a reset link to an active account with this email. Answers the same, in the same
    /// time, whether or not the account exists: the email goes out in the background.
    pub async fn request_password_reset(&self, meta: &RequestMeta, email: &str) -> Result<()> {
        let email = Email::parse(email)?;
        self.refuse_if_sso_required(email.as_str()).await?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let user = tx.user_by_email(&email.key()).await?.filter(|u| u.status == UserStatus::Active && !u.is_service());
        let Some(user) = user else {
            tx.insert_audit(
                &AuditEvent::anonymous(meta, None, "password_reset.request", now).details(json!({ "email": email.key(), "sent": false })),
            )
            .await?;
            return tx.commit().await;
        };
        if tx.latest_link(user.id, LinkPurpose::PasswordReset).await?.is_some_and(|l| now - l.created_at < RESET_EMAIL_INTERVAL) {
            return Ok(());
        }
        tx.delete_unused_links(user.id, LinkPurpose::PasswordReset).await?;
        let link = self.issue_link(tx.as_mut(), &user, LinkPurpose::PasswordReset, RESET_LINK_TTL, None, now).await?;
        tx.insert_audit(
            &AuditEvent::anonymous(meta, Some(user.id), "password_reset.request", now)
                .target("user", user.id)
                .details(json!({ "email": email.key(), "sent": true })),
        )
        .await?;
        tx.commit().await?;
        let msg = mail::password_reset(&self.settings.platform_name, &user.email, &user.full_name, &link, now + RESET_LINK_TTL);
        let mailer = self.mailer.clone();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&msg).await {
                tracing::error!(error = %e, "could not send the password reset email");
            }
        });
        Ok(())
    }

    /// Sets a new password from a reset link. Every session and API token of the user ends;
    /// the user then signs in as usual (MFA included).
    pub async fn confirm_password_reset(&self, meta: &RequestMeta, token: &str, new_password: &Password) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let info = find_reset_link(tx.as_mut(), token, now).await?;
        let policy = self.security_policy(tx.as_mut()).await?;
        drop(tx);
        self.refuse_if_sso_required(&info.user.email).await?;
        policy.password.check(new_password, &[&info.user.email, &info.user.full_name])?;
        let hash = self.hasher.hash(new_password, self.salt()).await?;
        let mut tx = self.store.write().await?;
        if !tx.use_link(info.link.id, now).await? {
            return Err(crate::Error::conflict("reset_link_used", "This reset link has already been used. Ask for a new one."));
        }
        let (user, ended) = crate::services::account::replace_password(tx.as_mut(), info.user.id, hash, None, now).await?;
        tx.insert_audit(&AuditEvent::anonymous(meta, Some(user.id), "password_reset.complete", now).target("user", user.id).details(ended))
            .await?;
        tx.commit().await
    }

    /// The reset link behind `token`, if it can still be used (for the reset page).
    pub async fn reset_link(&self, token: &str) -> Result<LinkInfo> {
        let mut tx = self.store.read().await?;
        find_reset_link(tx.as_mut(), token, self.clock.now()).await
    }
}

/// A usable reset link of an active account. Why the status: a reset sets the password of an
/// active account only; deactivation voids the links, and this refuses any a race let through.
async fn find_reset_link(tx: &mut dyn crate::store::Tx, token: &str, now: time::OffsetDateTime) -> Result<LinkInfo> {
    let info = find_link(tx, token, &[LinkPurpose::PasswordReset], now).await?;
    if info.user.status != UserStatus::Active {
        return Err(crate::Error::NotFound("Reset link"));
    }
    Ok(info)
}
