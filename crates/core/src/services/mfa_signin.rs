//! The sign-in code step: after a correct password, a short-lived single-use token, then a TOTP
//! or backup code. Each code attempt is counted against the account (and the source address or
//! device cookie) before it is checked.

use crate::Keyward;
use crate::context::RequestMeta;
use crate::error::{Error, Result};
use crate::model::{MfaChallenge, User};
use crate::secret::{new_token, token_hash};
use crate::services::auth::{LoginOutcome, SignedIn};
use crate::services::mfa::{backup_hash, matching_step};
use crate::services::throttle;
use crate::store::Tx;
use crate::types::email_key;
use time::{Duration, OffsetDateTime};

/// How long the step between password and code lasts.
pub const CHALLENGE_TTL: Duration = Duration::minutes(5);

impl Keyward {
    /// Issues the single-use token of the code step, after a correct password.
    pub(crate) async fn start_challenge(&self, tx: &mut dyn Tx, user: &User, now: OffsetDateTime) -> Result<LoginOutcome> {
        let token = new_token(self.random.as_ref());
        tx.insert_challenge(&MfaChallenge {
            id: uuid::Uuid::now_v7(),
            user_id: user.id,
            token_hash: token_hash(&token),
            created_at: now,
            expires_at: now + CHALLENGE_TTL,
            used_at: None,
        })
        .await?;
        Ok(LoginOutcome::MfaRequired { mfa_token: token })
    }

    /// Completes a sign-in with a TOTP code or a backup code. Each code is accepted once, also
    /// under concurrent submissions; every attempt is counted toward the account's throttle
    /// before the code is checked, so a burst of guesses gets no more than the free budget.
    pub async fn login_mfa(&self, meta: &RequestMeta, mfa_token: &str, code: &str) -> Result<SignedIn> {
        let now = self.clock.now();
        let expired =
            || Error::conflict("mfa_token_invalid", "The sign-in step has expired or was used. Sign in again with your password.");
        let mut tx = self.store.read().await?;
        let challenge = tx
            .challenge_by_hash(&token_hash(mfa_token))
            .await?
            .filter(|c| c.used_at.is_none() && now < c.expires_at)
            .ok_or_else(expired)?;
        let user = tx.user_by_id(challenge.user_id).await?.filter(|u| u.can_act(now)).ok_or_else(expired)?;
        drop(tx);
        let key = email_key(&user.email);
        let keys = self.sign_in_keys(meta, &key, now);
        let reserved = throttle::reserve(self.store.as_ref(), self.clock.as_ref(), &keys).await?;

        let mut tx = self.store.write().await?;
        let user = tx.user_by_id(user.id).await?.filter(|u| u.can_act(now)).ok_or_else(expired)?;
        let accepted = match tx.totp(user.id).await?.filter(|t| t.enabled) {
            None => false,
            Some(record) => match matching_step(&self.totp_of(&record, &user)?, code, now) {
                Some(step) => tx.advance_totp_step(user.id, step).await?,
                None => tx.use_backup_code(user.id, &backup_hash(code), now).await?,
            },
        };
        if !accepted {
            throttle::failed(tx.as_mut(), &reserved, self.clock.now()).await?;
            self.record_attempt(tx.as_mut(), meta, &key, Some(&user), false, "bad_mfa_code", now).await?;
            tx.commit().await?;
            return Err(Error::invalid_field("code", "invalid_mfa_code", "That code is not right (or was used already)."));
        }
        if !tx.use_challenge(challenge.id, now).await? {
            return Err(expired());
        }
        throttle::succeeded(tx.as_mut(), &reserved).await?;
        self.record_attempt(tx.as_mut(), meta, &key, Some(&user), true, "ok", now).await?;
        let policy = self.security_policy(tx.as_mut()).await?;
        // No deadline: the code just given is the policy's second factor.
        let signed_in = self.start_session(tx.as_mut(), meta, user, now, &policy, None).await?;
        tx.commit().await?;
        Ok(signed_in)
    }
}
