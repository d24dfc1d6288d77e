//! What a signed-in user does to their own account: name, password, API tokens, sessions.

use crate::Keyward;
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{ApiToken, AuditEvent, Session, User};
use crate::password::Password;
use crate::secret::{new_token, token_hash};
use crate::services::auth::session_live;
use crate::services::throttle::{self, ThrottleKeys};
use crate::types::{FullName, Label, SessionId, TokenId, email_key};
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// The longest lifetime an API token may be given.
pub const MAX_TOKEN_DAYS: i64 = 3650;

/// A new API token; `secret` is shown once.
#[derive(Debug)]
pub struct NewToken {
    /// The token as stored (its hash, never the secret).
    pub token: ApiToken,
    /// The bearer secret, shown to its owner once and never again.
    pub secret: String,
}

impl Keyward {
    /// Changes the actor's display name.
    pub async fn update_me(&self, actor: &Actor, full_name: &str) -> Result<User> {
        let name = FullName::parse(full_name)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let mut user = tx.user_by_id(actor.user.id).await?.ok_or(Error::Unauthenticated)?;
        let before = std::mem::replace(&mut user.full_name, name.as_str().to_owned());
        user.updated_at = now;
        tx.update_user(&user).await?;
        tx.insert_audit(
            &AuditEvent::by(actor, "user.update", now)
                .target("user", user.id)
                .details(json!({ "full_name": { "before": before, "after": user.full_name } })),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Changes the actor's password (the current one is required). Every other session and
    /// every API token of the user ends, so a stolen credential stops working. Wrong current
    /// passwords count toward the account's throttle (a stolen session must not guess it) and
    /// are audited.
    pub async fn change_password(&self, actor: &Actor, current: &Password, new: &Password) -> Result<()> {
        let now = self.clock.now();
        let keys = ThrottleKeys::account(&email_key(&actor.user.email));
        let reserved = throttle::reserve(self.store.as_ref(), self.clock.as_ref(), &keys).await?;
        if !self.hasher.verify(current, actor.user.password_hash.as_deref()).await? {
            let mut tx = self.store.write().await?;
            throttle::failed(tx.as_mut(), &reserved, self.clock.now()).await?;
            tx.insert_audit(
                &AuditEvent::by(actor, "user.password_change_failed", now)
                    .target("user", actor.user.id)
                    .details(json!({ "reason": "bad_current_password" })),
            )
            .await?;
            tx.commit().await?;
            return Err(Error::invalid_field("current_password", "invalid_current_password", "The current password is incorrect."));
        }
        let mut tx = self.store.read().await?;
        let policy = self.security_policy(tx.as_mut()).await?;
        drop(tx);
        // The current password was right: its attempt does not count.
        if let Err(e) = policy.password.check(new, &[&actor.user.email, &actor.user.full_name]) {
            let mut tx = self.store.write().await?;
            throttle::refund(tx.as_mut(), &reserved).await?;
            tx.commit().await?;
            return Err(e);
        }
        let hash = self.hasher.hash(new, self.salt()).await?;
        let mut tx = self.store.write().await?;
        throttle::refund(tx.as_mut(), &reserved).await?;
        let (user, ended) = replace_password(tx.as_mut(), actor.user.id, hash, actor.session_id(), now).await?;
        tx.insert_audit(&AuditEvent::by(actor, "user.password_change", now).target("user", user.id).details(ended)).await?;
        tx.commit().await
    }

    /// Creates an API token for the actor.
    pub async fn create_token(&self, actor: &Actor, name: &str, expires_in_days: Option<i64>) -> Result<NewToken> {
        let name = Label::parse("name", name)?;
        if let Some(days) = expires_in_days
            && !(1..=MAX_TOKEN_DAYS).contains(&days)
        {
            return Err(Error::invalid_field(
                "expires_in_days",
                "invalid_expiry",
                format!("expires_in_days must be between 1 and {MAX_TOKEN_DAYS}."),
            ));
        }
        let now = self.clock.now();
        // Why capped: a user the policy requires MFA of, who has none, must not keep a token
        // that outlives their grace period (past it, it would be restricted anyway; capped, it
        // stays dead even if the policy is relaxed and tightened again).
        let expires_at = [expires_in_days.map(|d| now + Duration::days(d)), actor.mfa_deadline].into_iter().flatten().min();
        // Why a prefix: secret scanners and people can tell a Keyward token at a glance.
        let secret = format!("kw_{}", new_token(self.random.as_ref()));
        let token = ApiToken {
            id: TokenId::new(),
            user_id: actor.user.id,
            name: name.as_str().to_owned(),
            token_hash: token_hash(&secret),
            created_at: now,
            expires_at,
            last_used_at: None,
            scopes: None,
        };
        let mut tx = self.store.write().await?;
        tx.insert_api_token(&token).await?;
        tx.insert_audit(
            &AuditEvent::by(actor, "token.create", now)
                .target("api_token", token.id)
                .details(json!({ "name": token.name, "expires_at": token.expires_at.map(crate::model::rfc3339) })),
        )
        .await?;
        tx.commit().await?;
        Ok(NewToken { token, secret })
    }

    /// The actor's API tokens (never their secrets).
    pub async fn my_tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>> {
        self.store.read().await?.api_tokens_of(actor.user.id).await
    }

    /// Revokes one of the actor's API tokens; another user's token answers 404.
    pub async fn revoke_token(&self, actor: &Actor, id: TokenId) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        if !tx.delete_api_token(id, actor.user.id).await? {
            return Err(Error::NotFound("Token"));
        }
        tx.insert_audit(&AuditEvent::by(actor, "token.revoke", now).target("api_token", id)).await?;
        tx.commit().await
    }

    /// The actor's live sessions, newest first.
    pub async fn my_sessions(&self, actor: &Actor) -> Result<Vec<Session>> {
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let policy = self.security_policy(tx.as_mut()).await?;
        let sessions = tx.sessions_of(actor.user.id).await?;
        Ok(sessions.into_iter().filter(|s| session_live(s, &policy, now)).collect())
    }

    /// Ends one of the actor's sessions; another user's session answers 404.
    pub async fn end_session(&self, actor: &Actor, id: SessionId) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        if !tx.delete_session(id, actor.user.id).await? {
            return Err(Error::NotFound("Session"));
        }
        tx.insert_audit(&AuditEvent::by(actor, "session.revoke", now).target("session", id)).await?;
        tx.commit().await
    }
}

/// Stores a new password hash and ends every session (but `keep`) and every API token of the
/// user, so that a stolen credential stops working; answers the user and what ended, for the audit.
pub(crate) async fn replace_password(
    tx: &mut dyn crate::store::Tx,
    user: crate::types::UserId,
    hash: String,
    keep: Option<SessionId>,
    now: OffsetDateTime,
) -> Result<(User, serde_json::Value)> {
    let mut user = tx.user_by_id(user).await?.ok_or(Error::NotFound("User"))?;
    user.password_hash = Some(hash);
    user.updated_at = now;
    tx.update_user(&user).await?;
    let sessions = tx.delete_sessions_of(user.id, keep).await?;
    let tokens = tx.delete_api_tokens_of(user.id).await?;
    Ok((user, json!({ "sessions_ended": sessions, "tokens_revoked": tokens })))
}
