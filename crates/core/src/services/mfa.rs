//! TOTP multi-factor authentication (RFC 6238: SHA-1, 6 digits, 30 s, one step of drift):
//! enrollment, backup codes, the sign-in code step, turning it off, and the admin's reset.

use crate::Keyward;
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, TotpRecord, User};
use crate::policy::Capability;
use crate::secret::token_hash;
use crate::services::throttle::{self, Reservation, ThrottleKeys};
use crate::store::Tx;
use crate::types::{UserId, email_key};
use serde_json::json;
use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Totp};

/// How many backup codes a user gets.
pub const BACKUP_CODES: usize = 10;

/// What enrollment shows: the key for manual entry, the URI, and a QR code of it.
#[derive(Debug)]
pub struct Enrollment {
    /// Base32, as authenticator apps take it.
    pub secret_base32: String,
    /// The `otpauth://` URI that authenticator apps read.
    pub otpauth_uri: String,
    /// A QR code of that URI, as SVG.
    pub qr_svg: String,
}

/// A user's MFA state, for their Security tab.
#[derive(Debug)]
pub struct MfaStatus {
    /// MFA is on: sign-in asks for a code.
    pub enabled: bool,
    /// Enrollment started (and perhaps the code verified) but not activated.
    pub pending: bool,
    /// A correct code was entered for the pending enrollment; activating comes next.
    pub verified: bool,
    /// Unused backup codes (0 while MFA is off).
    pub backup_codes_left: i64,
    /// When the policy requires MFA for this user by, if it does and they have none.
    pub deadline: Option<OffsetDateTime>,
    /// The policy requires MFA of this user's role.
    pub required: bool,
}

fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(secret)
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|e| Error::internal_msg(format!("totp: {e:?}")))
}

/// What an authenticator app is given: the key, its otpauth URI and that URI as a QR code.
fn enrollment_of(t: &Totp) -> Result<Enrollment> {
    let uri = t.to_url().map_err(|e| Error::internal_msg(format!("otpauth: {e:?}")))?;
    let qr = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| Error::internal_msg(format!("qr: {e}")))?;
    let qr_svg = qr.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build();
    Ok(Enrollment { secret_base32: t.secret().to_base32(), otpauth_uri: uri, qr_svg })
}

/// The time step a code matches at `now`, if any (one step of drift either way).
pub(crate) fn matching_step(t: &Totp, code: &str, now: OffsetDateTime) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    t.check(&code, now.unix_timestamp().max(0) as u64).map(|s| s as i64)
}

/// A backup code: 16 characters of base32 (80 bits) in groups of four.
fn new_backup_code(random: &dyn crate::clock::Random) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    let chars: Vec<char> = bytes.iter().map(|b| ALPHABET[(b & 31) as usize] as char).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The stored form of a backup code. Why SHA-256 suffices: 80 random bits cannot be guessed
/// offline, and a fast hash keeps checking ten codes cheap.
pub(crate) fn backup_hash(code: &str) -> String {
    let normal: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    token_hash(&normal)
}

fn aad(user: UserId) -> String {
    crate::model::SealedKind::TotpSecret.aad(&user.to_string())
}

impl Keyward {
    pub(crate) fn totp_of(&self, record: &TotpRecord, user: &User) -> Result<Totp> {
        let secret = self.keys.open(&record.sealed_secret, &aad(user.id))?;
        totp(secret, &self.settings.platform_name, &user.email)
    }

    /// Starts (or restarts) enrollment with a new 160-bit secret; MFA is not active yet.
    pub async fn start_totp(&self, actor: &Actor) -> Result<Enrollment> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        if tx.totp(actor.user.id).await?.is_some_and(|t| t.enabled) {
            return Err(Error::conflict("mfa_already_enabled", "MFA is already on. Turn it off first to enroll a new authenticator."));
        }
        let mut secret = vec![0u8; 20];
        self.random.fill(&mut secret);
        let t = totp(secret.clone(), &self.settings.platform_name, &actor.user.email)?;
        let record = TotpRecord {
            user_id: actor.user.id,
            sealed_secret: self.keys.seal(self.random.as_ref(), &secret, &aad(actor.user.id))?,
            verified: false,
            enabled: false,
            last_step: None,
            created_at: now,
            enabled_at: None,
        };
        tx.put_totp(&record).await?;
        tx.insert_audit(&AuditEvent::by(actor, "mfa.enroll_start", now).target("user", actor.user.id)).await?;
        tx.commit().await?;
        enrollment_of(&t)
    }

    /// The enrollment started and not yet on, shown as it was when it started (the same key and
    /// QR code), so that the entry already scanned stays good; `None` without one.
    pub async fn pending_totp(&self, actor: &Actor) -> Result<Option<Enrollment>> {
        let record = self.store.read().await?.totp(actor.user.id).await?.filter(|t| !t.enabled);
        match record {
            Some(record) => Ok(Some(enrollment_of(&self.totp_of(&record, &actor.user)?)?)),
            None => Ok(None),
        }
    }

    /// Checks the first code of a pending enrollment and answers 10 new backup codes (shown
    /// once); MFA turns on with `activate_totp`. Wrong codes count toward the account's throttle
    /// and are audited, like every code.
    pub async fn verify_totp(&self, actor: &Actor, code: &str) -> Result<Vec<String>> {
        let now = self.clock.now();
        let not_started =
            || Error::conflict("mfa_not_started", "Start MFA enrollment first (Enable MFA), then enter the code from your app.");
        self.store.read().await?.totp(actor.user.id).await?.filter(|t| !t.enabled).ok_or_else(not_started)?;
        let reserved = self.reserve_code(actor).await?;
        let mut tx = self.store.write().await?;
        let mut record = tx.totp(actor.user.id).await?.filter(|t| !t.enabled).ok_or_else(not_started)?;
        let Some(step) = matching_step(&self.totp_of(&record, &actor.user)?, code, now) else {
            return Err(self.wrong_code(tx, &reserved, actor, "mfa.verify_failed", now).await?);
        };
        throttle::refund(tx.as_mut(), &reserved).await?;
        record.verified = true;
        record.last_step = Some(step);
        tx.put_totp(&record).await?;
        let codes = self.new_backup_codes(tx.as_mut(), actor.user.id, now).await?;
        tx.insert_audit(&AuditEvent::by(actor, "mfa.verify", now).target("user", actor.user.id)).await?;
        tx.commit().await?;
        Ok(codes)
    }

    async fn new_backup_codes(&self, tx: &mut dyn Tx, user: UserId, now: OffsetDateTime) -> Result<Vec<String>> {
        let codes: Vec<String> = (0..BACKUP_CODES).map(|_| new_backup_code(self.random.as_ref())).collect();
        let hashes: Vec<String> = codes.iter().map(|c| backup_hash(c)).collect();
        tx.replace_backup_codes(user, &hashes, now).await?;
        Ok(codes)
    }

    /// Turns MFA on after a verified code. A session restricted to enrollment becomes a full one.
    pub async fn activate_totp(&self, actor: &Actor) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let mut record = tx
            .totp(actor.user.id)
            .await?
            .filter(|t| t.verified && !t.enabled)
            .ok_or_else(|| Error::conflict("mfa_not_verified", "Enter a correct code from your app before activating MFA."))?;
        record.enabled = true;
        record.enabled_at = Some(now);
        tx.put_totp(&record).await?;
        let mut user = tx.user_by_id(actor.user.id).await?.ok_or(Error::Unauthenticated)?;
        user.mfa_enabled = true;
        user.updated_at = now;
        tx.update_user(&user).await?;
        if let Some(session) = actor.session_id() {
            tx.clear_session_mfa_pending(session).await?;
        }
        tx.insert_audit(&AuditEvent::by(actor, "mfa.activate", now).target("user", actor.user.id)).await?;
        tx.commit().await
    }

    /// Verifies the code and turns MFA on in one go (the API's activate).
    pub async fn enroll_with_code(&self, actor: &Actor, code: &str) -> Result<Vec<String>> {
        let codes = self.verify_totp(actor, code).await?;
        self.activate_totp(actor).await?;
        Ok(codes)
    }

    /// Replaces the backup codes; needs a current code (counted and audited like every code).
    pub async fn regenerate_backup_codes(&self, actor: &Actor, code: &str) -> Result<Vec<String>> {
        let now = self.clock.now();
        self.require_mfa_on(actor).await?;
        let reserved = self.reserve_code(actor).await?;
        let mut tx = self.store.write().await?;
        if !self.current_code_ok(tx.as_mut(), &actor.user, code, now).await? {
            return Err(self.wrong_code(tx, &reserved, actor, "mfa.backup_codes_regenerate_failed", now).await?);
        }
        throttle::refund(tx.as_mut(), &reserved).await?;
        let codes = self.new_backup_codes(tx.as_mut(), actor.user.id, now).await?;
        tx.insert_audit(&AuditEvent::by(actor, "mfa.backup_codes_regenerate", now).target("user", actor.user.id)).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns MFA off; needs a current code, and is refused while a policy requires MFA. Why
    /// counted: a stolen session must not be able to guess its way to turning MFA off.
    pub async fn disable_totp(&self, actor: &Actor, code: &str) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        if self.security_policy(tx.as_mut()).await?.mfa.requires(actor.user.role) {
            return Err(Error::conflict(
                "mfa_required_by_policy",
                "The security policy requires MFA for your role, so it cannot be turned off.",
            ));
        }
        drop(tx);
        self.require_mfa_on(actor).await?;
        let reserved = self.reserve_code(actor).await?;
        let mut tx = self.store.write().await?;
        if !self.current_code_ok(tx.as_mut(), &actor.user, code, now).await? {
            return Err(self.wrong_code(tx, &reserved, actor, "mfa.disable_failed", now).await?);
        }
        throttle::refund(tx.as_mut(), &reserved).await?;
        self.remove_mfa(tx.as_mut(), actor.user.id, now).await?;
        tx.insert_audit(&AuditEvent::by(actor, "mfa.disable", now).target("user", actor.user.id)).await?;
        tx.commit().await
    }

    /// 409 unless the actor has MFA on (checked before an attempt is counted).
    async fn require_mfa_on(&self, actor: &Actor) -> Result<()> {
        match self.store.read().await?.totp(actor.user.id).await? {
            Some(t) if t.enabled => Ok(()),
            _ => Err(Error::conflict("mfa_not_enabled", "MFA is not on.")),
        }
    }

    /// Counts an attempt at a code against the actor's account before it is checked, or
    /// answers 429 (see `throttle`).
    async fn reserve_code(&self, actor: &Actor) -> Result<Reservation> {
        throttle::reserve(self.store.as_ref(), self.clock.as_ref(), &ThrottleKeys::account(&email_key(&actor.user.email))).await
    }

    /// Audits a wrong code as `action` and commits (the attempt stays counted); answers the
    /// error for the caller.
    async fn wrong_code(
        &self,
        mut tx: Box<dyn Tx>,
        reserved: &Reservation,
        actor: &Actor,
        action: &str,
        now: OffsetDateTime,
    ) -> Result<Error> {
        throttle::failed(tx.as_mut(), reserved, self.clock.now()).await?;
        tx.insert_audit(&AuditEvent::by(actor, action, now).target("user", actor.user.id).details(json!({ "reason": "bad_code" }))).await?;
        tx.commit().await?;
        Ok(Error::invalid_field(
            "code",
            "invalid_mfa_code",
            "That code is not right (or was used already). Enter the current code from your app.",
        ))
    }

    /// Whether `code` is the user's current TOTP code, not used before (it is then spent).
    async fn current_code_ok(&self, tx: &mut dyn Tx, user: &User, code: &str, now: OffsetDateTime) -> Result<bool> {
        let record = tx.totp(user.id).await?.filter(|t| t.enabled).ok_or_else(|| Error::conflict("mfa_not_enabled", "MFA is not on."))?;
        match matching_step(&self.totp_of(&record, user)?, code, now) {
            Some(step) => tx.advance_totp_step(user.id, step).await,
            None => Ok(false),
        }
    }

    /// Removes a user's MFA and ends every session and API token of theirs; answers the user and
    /// what ended, for the audit event (the admin's reset and the command line's share this).
    async fn reset_mfa_in(&self, tx: &mut dyn Tx, user: UserId, now: OffsetDateTime) -> Result<(User, serde_json::Value)> {
        let user = self.remove_mfa(tx, user, now).await?;
        let sessions = tx.delete_sessions_of(user.id, None).await?;
        let tokens = tx.delete_api_tokens_of(user.id).await?;
        Ok((user, json!({ "sessions_ended": sessions, "tokens_revoked": tokens })))
    }

    /// Removes a user's authenticator and backup codes.
    async fn remove_mfa(&self, tx: &mut dyn Tx, user: UserId, now: OffsetDateTime) -> Result<User> {
        tx.delete_totp(user).await?;
        tx.delete_backup_codes(user).await?;
        let mut u = tx.user_by_id(user).await?.ok_or(Error::NotFound("User"))?;
        u.mfa_enabled = false;
        u.updated_at = now;
        tx.update_user(&u).await?;
        Ok(u)
    }

    /// An admin's reset for a lost device: MFA removed, every session and API token ended. The
    /// user enrolls again at the next sign-in where the policy requires it.
    pub async fn reset_mfa(&self, actor: &Actor, id: UserId) -> Result<User> {
        actor.require(Capability::ManageUsers)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.user_by_id(id).await?.filter(|u| !u.is_service()).ok_or(Error::NotFound("User"))?;
        let (user, ended) = self.reset_mfa_in(tx.as_mut(), id, now).await?;
        tx.insert_audit(&AuditEvent::by(actor, "mfa.reset", now).target("user", id).details(ended)).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The actor's MFA state.
    pub async fn mfa_status(&self, actor: &Actor) -> Result<MfaStatus> {
        let mut tx = self.store.read().await?;
        let record = tx.totp(actor.user.id).await?;
        let left = tx.unused_backup_codes(actor.user.id).await?;
        let policy = self.security_policy(tx.as_mut()).await?;
        let enabled = record.as_ref().is_some_and(|r| r.enabled);
        Ok(MfaStatus {
            enabled,
            pending: record.as_ref().is_some_and(|r| !r.enabled),
            verified: record.as_ref().is_some_and(|r| r.verified && !r.enabled),
            backup_codes_left: if enabled { left } else { 0 },
            deadline: if enabled { None } else { policy.mfa.deadline(&actor.user) },
            required: policy.mfa.requires(actor.user.role),
        })
    }

    /// Break-glass for the operator: removes a user's MFA and ends their sessions, acting on the
    /// database directly (audited as the command line).
    pub async fn cli_reset_mfa(&self, email: &str) -> Result<User> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let user = tx.user_by_email(&crate::types::email_key(email)).await?.ok_or(Error::NotFound("User"))?;
        let (user, mut ended) = self.reset_mfa_in(tx.as_mut(), user.id, now).await?;
        ended["via"] = json!("keyward users reset-mfa");
        tx.insert_audit(&AuditEvent::cli("mfa.reset", now).target("user", user.id).details(ended)).await?;
        tx.commit().await?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn codes_match_rfc_6238_with_one_step_of_drift() {
        // RFC 6238 appendix B, SHA-1 seed, truncated to 6 digits: T=59 → 287082.
        let t = totp(b"12345678901234567890".to_vec(), "Keyward", "a@example.com").unwrap();
        let at = |s: i64| OffsetDateTime::from_unix_timestamp(s).unwrap();
        assert_eq!(matching_step(&t, "287082", at(59)), Some(1));
        assert_eq!(matching_step(&t, "287082", at(89)), Some(1), "one step later still matches");
        assert_eq!(matching_step(&t, "287082", at(120)), None, "two steps later does not");
        assert_eq!(matching_step(&t, "28708", at(59)), None);
        assert_eq!(matching_step(&t, "abcdef", at(59)), None);
    }

    #[test]
    fn backup_codes_are_distinct_and_forgiving_in_form() {
        let a = new_backup_code(&OsRandom);
        assert_eq!(a.len(), 19);
        assert_ne!(a, new_backup_code(&OsRandom));
        assert_eq!(backup_hash(&a), backup_hash(&a.to_uppercase().replace('-', " ")));
    }
}
