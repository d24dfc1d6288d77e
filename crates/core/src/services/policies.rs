//! The security policy (admins): who must use MFA and with what grace period, the password
//! rules, and session lifetimes. Changes act on every credential at its next request.

use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::AuditEvent;
use crate::password::Password;
use crate::policy::{Capability, SECURITY_POLICY_KEY, SecurityPolicy};
use crate::{Keyward, model::User};
use serde_json::json;

impl Keyward {
    /// The policy in force (admins).
    pub async fn get_security_policy(&self, actor: &Actor) -> Result<SecurityPolicy> {
        actor.require(Capability::ManagePolicies)?;
        let mut tx = self.store.read().await?;
        self.security_policy(tx.as_mut()).await
    }

    /// The password rules in force, in words (for anyone choosing a password, signed in or not).
    pub async fn password_rules(&self) -> Result<Vec<String>> {
        let mut tx = self.store.read().await?;
        Ok(self.security_policy(tx.as_mut()).await?.password.describe())
    }

    /// The password rules in force, each with what a live checklist tests (see
    /// `PasswordPolicy::checklist`).
    pub async fn password_checklist(&self) -> Result<Vec<(String, String)>> {
        let mut tx = self.store.read().await?;
        Ok(self.security_policy(tx.as_mut()).await?.password.checklist())
    }

    /// Checks a password against the policy in force; `personal` are the words (email, name) it
    /// must not contain. Every failed rule is listed at once.
    pub async fn check_password(&self, password: &crate::password::Password, personal: &[&str]) -> Result<()> {
        let mut tx = self.store.read().await?;
        let policy = self.security_policy(tx.as_mut()).await?;
        drop(tx);
        policy.password.check(password, personal)
    }

    /// How many active users without MFA `new` would restrict at once (their deadline already
    /// past under it, and not under the policy in force): the Security Policies page asks
    /// before saving such a change.
    pub async fn restricted_at_once(&self, actor: &Actor, new: &SecurityPolicy) -> Result<usize> {
        actor.require(Capability::ManagePolicies)?;
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let before = self.security_policy(tx.as_mut()).await?;
        let after = new.mfa.clone().settle(&before.mfa, now)?;
        let filter = crate::store::UserFilter {
            q: None,
            role: None,
            status: Some(crate::types::UserStatus::Active),
            team: None,
            after: None,
            limit: i64::MAX,
            mfa_off: true,
            inactive_since: None,
        };
        let users = tx.list_users(&filter).await?;
        let past = |d: Option<time::OffsetDateTime>| d.is_some_and(|d| now >= d);
        Ok(users.iter().filter(|u| !u.mfa_enabled && past(after.deadline(u)) && !past(before.mfa.deadline(u))).count())
    }

    /// Replaces the policy (admins), after checking every value; audited with before and after.
    pub async fn put_security_policy(&self, actor: &Actor, new: SecurityPolicy) -> Result<SecurityPolicy> {
        actor.require(Capability::ManagePolicies)?;
        new.password.validate()?;
        new.sessions.validate()?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let before = self.security_policy(tx.as_mut()).await?;
        let policy = SecurityPolicy { mfa: new.mfa.settle(&before.mfa, now)?, ..new };
        let text = serde_json::to_string(&policy).map_err(Error::internal)?;
        tx.put_setting(SECURITY_POLICY_KEY, &text, now).await?;
        tx.insert_audit(
            &AuditEvent::by(actor, "policy.update", now).target("policy", "security").details(json!({ "before": before, "after": policy })),
        )
        .await?;
        tx.commit().await?;
        Ok(policy)
    }

    /// Break-glass for the operator: sets a user's password on the database directly (audited
    /// as the command line). Every session and API token of the user ends.
    pub async fn cli_set_password(&self, email: &str, password: &Password) -> Result<User> {
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let user = tx.user_by_email(&crate::types::email_key(email)).await?.ok_or(Error::NotFound("User"))?;
        let policy = self.security_policy(tx.as_mut()).await?;
        drop(tx);
        policy.password.check(password, &[&user.email, &user.full_name])?;
        let hash = self.hasher.hash(password, self.salt()).await?;
        let mut tx = self.store.write().await?;
        let (user, mut ended) = crate::services::account::replace_password(tx.as_mut(), user.id, hash, None, now).await?;
        ended["via"] = json!("keyward users set-password");
        tx.insert_audit(&AuditEvent::cli("user.password_set", now).target("user", user.id).details(ended)).await?;
        tx.commit().await?;
        Ok(user)
    }
}
