//! The first admin (`keyward init`) and single-use links that set a password (set-up and
//! invitation links).

use crate::Keyward;
use crate::context::RequestMeta;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, LinkPurpose, OneTimeLink, User};
use crate::password::Password;
use crate::secret::{new_token, token_hash};
use crate::services::auth::SignedIn;
use crate::store::{LockKey, Tx};
use crate::types::{Email, FullName, Role, UserId, UserStatus};
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// How long the first admin's set-up link lives.
pub const SETUP_LINK_TTL: Duration = Duration::hours(24);

/// What `keyward init` made. `Debug` leaves the link out: it is a credential.
pub struct InitOutcome {
    /// The first admin.
    pub user: User,
    /// The one-time set-up link, when no password was given.
    pub setup_link: Option<String>,
}

impl std::fmt::Debug for InitOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitOutcome")
            .field("user", &self.user.id)
            .field("setup_link", &self.setup_link.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// A valid link and the person it is for.
#[derive(Debug)]
pub struct LinkInfo {
    /// The link as stored.
    pub link: OneTimeLink,
    /// The account it is for.
    pub user: User,
}

impl Keyward {
    /// Whether any admin exists (start-up says how to create one when none does).
    pub async fn admin_exists(&self) -> Result<bool> {
        Ok(self.store.read().await?.count_admins().await? > 0)
    }

    /// Creates the first admin. Refuses, changing nothing, when any admin exists.
    pub async fn init_admin(&self, email: &str, full_name: &str, password: Option<&Password>) -> Result<InitOutcome> {
        self.init_admin_via(email, full_name, password, "init").await
    }

    /// `init_admin`, with the audit event saying how it was done (`init`: the command line;
    /// `setup_link`: the first start's set-up page).
    pub async fn init_admin_via(&self, email: &str, full_name: &str, password: Option<&Password>, via: &str) -> Result<InitOutcome> {
        let email = Email::parse(email)?;
        let name = FullName::parse(full_name)?;
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let policy = self.security_policy(tx.as_mut()).await?;
        drop(tx);
        let hash = match password {
            Some(pw) => {
                policy.password.check(pw, &[email.as_str(), name.as_str()])?;
                Some(self.hasher.hash(pw, self.salt()).await?)
            }
            None => None,
        };

        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        if tx.count_admins().await? > 0 {
            return Err(Error::conflict("admin_exists", "An admin already exists; init changed nothing. Sign in as that admin instead."));
        }
        if tx.user_by_email(&email.key()).await?.is_some() {
            return Err(Error::conflict("email_taken", "A user with this email already exists."));
        }
        let user = match hash {
            Some(hash) => User { status: UserStatus::Active, password_hash: Some(hash), ..User::invited(&email, &name, Role::Admin, now) },
            None => User::invited(&email, &name, Role::Admin, now),
        };
        tx.insert_user(&user).await?;
        tx.insert_audit(
            &AuditEvent::cli("user.create", now)
                .target("user", user.id)
                .details(json!({ "email": user.email, "role": "admin", "via": via })),
        )
        .await?;
        let setup_link = match user.status {
            UserStatus::Invited => Some(self.issue_link(tx.as_mut(), &user, LinkPurpose::Setup, SETUP_LINK_TTL, None, now).await?),
            _ => None,
        };
        tx.commit().await?;
        Ok(InitOutcome { user, setup_link })
    }

    /// Stores a new single-use link for `user` and answers its URL. Only the hash is kept.
    pub(crate) async fn issue_link(
        &self,
        tx: &mut dyn Tx,
        user: &User,
        purpose: LinkPurpose,
        ttl: Duration,
        by: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<String> {
        let token = new_token(self.random.as_ref());
        tx.insert_link(&OneTimeLink {
            id: uuid::Uuid::now_v7(),
            user_id: user.id,
            purpose,
            token_hash: token_hash(&token),
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
            created_by: by,
        })
        .await?;
        let path = match purpose {
            LinkPurpose::PasswordReset => "reset-password",
            LinkPurpose::Setup | LinkPurpose::Invitation => "invite",
        };
        Ok(format!("{}/{path}/{token}", self.settings.public_url))
    }

    /// The set-up or invitation link behind `token`, if it can still be used.
    pub async fn invitation(&self, token: &str) -> Result<LinkInfo> {
        let mut tx = self.store.read().await?;
        let info = find_link(tx.as_mut(), token, &[LinkPurpose::Setup, LinkPurpose::Invitation], self.clock.now()).await?;
        Ok(info)
    }

    /// Sets the password of an invited user from their link, activates them and signs them in.
    pub async fn accept_invitation(&self, meta: &RequestMeta, token: &str, password: &Password) -> Result<SignedIn> {
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let info = find_link(tx.as_mut(), token, &[LinkPurpose::Setup, LinkPurpose::Invitation], now).await?;
        let policy = self.security_policy(tx.as_mut()).await?;
        drop(tx);
        policy.password.check(password, &[&info.user.email, &info.user.full_name])?;
        let hash = self.hasher.hash(password, self.salt()).await?;

        let mut tx = self.store.write().await?;
        if !tx.use_link(info.link.id, now).await? {
            return Err(used(info.link.purpose));
        }
        let mut user = tx.user_by_id(info.user.id).await?.ok_or(Error::NotFound("Invitation"))?;
        if user.status != UserStatus::Invited {
            return Err(used(info.link.purpose));
        }
        user.status = UserStatus::Active;
        user.password_hash = Some(hash);
        user.updated_at = now;
        tx.update_user(&user).await?;
        tx.insert_audit(
            &AuditEvent::anonymous(meta, Some(user.id), "invitation.accept", now)
                .target("user", user.id)
                .details(json!({ "purpose": info.link.purpose.as_str() })),
        )
        .await?;
        let deadline = policy.mfa.deadline(&user);
        let signed_in = self.start_session(tx.as_mut(), meta, user, now, &policy, deadline).await?;
        tx.commit().await?;
        Ok(signed_in)
    }
}

fn used(purpose: LinkPurpose) -> Error {
    match purpose {
        LinkPurpose::PasswordReset => Error::conflict("reset_link_used", "This reset link has already been used. Ask for a new one."),
        LinkPurpose::Setup | LinkPurpose::Invitation => {
            Error::conflict("invitation_used", "This link has already been used. Ask an admin for a new invitation.")
        }
    }
}

fn expired(purpose: LinkPurpose) -> Error {
    match purpose {
        LinkPurpose::PasswordReset => Error::conflict("reset_link_expired", "This reset link has expired. Ask for a new one."),
        LinkPurpose::Setup | LinkPurpose::Invitation => {
            Error::conflict("invitation_expired", "This link has expired. Ask an admin to send a new one.")
        }
    }
}

/// Looks a link up by its token and checks that it is of an accepted purpose, unused and
/// unexpired. Unknown tokens answer 404 named after the first accepted purpose.
pub(crate) async fn find_link(tx: &mut dyn Tx, token: &str, purposes: &[LinkPurpose], now: OffsetDateTime) -> Result<LinkInfo> {
    let not_found = || match purposes.first() {
        Some(LinkPurpose::PasswordReset) => Error::NotFound("Reset link"),
        _ => Error::NotFound("Invitation"),
    };
    let link = tx.link_by_hash(&token_hash(token)).await?.filter(|l| purposes.contains(&l.purpose)).ok_or_else(not_found)?;
    if link.used_at.is_some() {
        return Err(used(link.purpose));
    }
    if now >= link.expires_at {
        return Err(expired(link.purpose));
    }
    let user = tx.user_by_id(link.user_id).await?.ok_or_else(not_found)?;
    Ok(LinkInfo { link, user })
}
