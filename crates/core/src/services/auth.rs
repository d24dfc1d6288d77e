//! Sign-in, sessions and bearer tokens: turning a secret into an `Actor`, and back out again.

use crate::Keyward;
use crate::context::{Actor, AuthVia, RequestMeta};
use crate::device;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, LoginAttempt, Session, User};
use crate::password::Password;
use crate::policy::{MfaPolicy, SECURITY_POLICY_KEY, SecurityPolicy};
use crate::scope::Scope;
use crate::secret::{new_token, token_hash};
use crate::services::throttle::{self, ThrottleKeys};
use crate::store::Tx;
use crate::types::{Email, SessionId, email_key};
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// Activity timestamps are written at most this often (a write per request would be waste).
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// A new session: the token goes into the cookie and is never seen again.
#[derive(Debug)]
pub struct SignedIn {
    /// The session's secret for the cookie; only its hash is stored.
    pub token: String,
    /// The session as stored.
    pub session: Session,
    /// Who signed in.
    pub user: User,
    /// The policy requires MFA of this user by then, and they have none yet.
    pub mfa_deadline: Option<OffsetDateTime>,
    /// A new device cookie for this browser (see `crate::device`).
    pub device_cookie: String,
}

impl SignedIn {
    /// `ok`, or `mfa_setup_required` for a session that may only enroll.
    pub fn status(&self) -> &'static str {
        if self.session.mfa_pending { "mfa_setup_required" } else { "ok" }
    }
}

/// What a correct password leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in (perhaps restricted to MFA enrollment).
    SignedIn(Box<SignedIn>),
    /// The user has MFA: the code step comes next, with this single-use token.
    MfaRequired {
        /// The challenge's secret, which the code step sends back; only its hash is stored.
        mfa_token: String,
    },
}

impl Keyward {
    /// Signs in with email and password. Failures say nothing about whether the email exists
    /// and take comparable time either way; they are recorded and throttled. The attempt is
    /// counted before the password is checked, so parallel guesses get no more than sequential ones.
    pub async fn login(&self, meta: &RequestMeta, email: &str, password: &Password) -> Result<LoginOutcome> {
        let email = Email::parse(email)?;
        // Why before the password: these people's passwords are not what lets them in.
        self.refuse_if_sso_required(email.as_str()).await?;
        let key = email.key();
        let now = self.clock.now();
        let keys = self.sign_in_keys(meta, &key, now);
        let reserved = throttle::reserve(self.store.as_ref(), self.clock.as_ref(), &keys).await.inspect_err(|e| {
            if matches!(e, Error::Throttled { .. }) {
                metrics_outcome("throttled");
            }
        })?;

        let user = self.store.read().await?.user_by_email(&key).await?;
        let password_ok = self.hasher.verify(password, user.as_ref().and_then(|u| u.password_hash.as_deref())).await?;
        let failure = match &user {
            None => Some("unknown_email"),
            // Why explicit: a service account has no password, and must stay out of sign-in even
            // if one were ever stored for it.
            Some(u) if u.is_service() => Some("service_account"),
            Some(_) if !password_ok => Some("bad_password"),
            Some(u) if !u.can_act(now) => Some("not_active"),
            Some(_) => None,
        };

        let mut tx = self.store.write().await?;
        if let Some(reason) = failure {
            throttle::failed(tx.as_mut(), &reserved, self.clock.now()).await?;
            self.record_attempt(tx.as_mut(), meta, &key, user.as_ref(), false, reason, now).await?;
            tx.commit().await?;
            metrics_outcome(reason);
            return Err(Error::InvalidCredentials);
        }
        let user = user.ok_or(Error::InvalidCredentials)?;
        if user.mfa_enabled {
            // The account's failures are cleared only when the code is right too: a known
            // password must not reset the throttle on guessing codes.
            throttle::refund(tx.as_mut(), &reserved).await?;
            let outcome = self.start_challenge(tx.as_mut(), &user, now).await?;
            tx.insert_audit(&AuditEvent::anonymous(meta, Some(user.id), "auth.mfa_challenge", now).target("user", user.id)).await?;
            tx.commit().await?;
            metrics_outcome("mfa_required");
            return Ok(outcome);
        }
        let policy = self.security_policy(tx.as_mut()).await?;
        let deadline = policy.mfa.deadline(&user);
        let setup_only = deadline.is_some_and(|d| now >= d);
        throttle::succeeded(tx.as_mut(), &reserved).await?;
        self.record_attempt(tx.as_mut(), meta, &key, Some(&user), true, if setup_only { "ok_mfa_setup_required" } else { "ok" }, now)
            .await?;
        let signed_in = self.start_session(tx.as_mut(), meta, user, now, &policy, deadline).await?;
        tx.commit().await?;
        metrics_outcome("ok");
        Ok(LoginOutcome::SignedIn(Box::new(signed_in)))
    }

    /// The throttle keys of a sign-in attempt for `email_key`: the account, and the device when
    /// the request carries a valid device cookie for this account, otherwise the source address.
    pub(crate) fn sign_in_keys(&self, meta: &RequestMeta, email_key: &str, now: OffsetDateTime) -> ThrottleKeys {
        let device = meta.device.as_deref().and_then(|c| device::verify(&self.keys, c, email_key, now));
        ThrottleKeys::sign_in(email_key, meta.ip.as_deref(), device.as_deref())
    }

    /// Opens a session for `user` inside `tx` (sign-in, accepting a link), under `policy` (the
    /// one in force). A passed `mfa_deadline` restricts the session to MFA enrollment.
    pub(crate) async fn start_session(
        &self,
        tx: &mut dyn Tx,
        meta: &RequestMeta,
        user: User,
        now: OffsetDateTime,
        policy: &SecurityPolicy,
        mfa_deadline: Option<OffsetDateTime>,
    ) -> Result<SignedIn> {
        let mfa_pending = mfa_deadline.is_some_and(|d| now >= d);
        let token = new_token(self.random.as_ref());
        let session = Session {
            id: SessionId::new(),
            user_id: user.id,
            token_hash: token_hash(&token),
            csrf_token: new_token(self.random.as_ref()),
            created_at: now,
            last_seen_at: now,
            expires_at: now + Duration::hours(policy.sessions.absolute_timeout_hours.into()),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            mfa_pending,
        };
        tx.insert_session(&session).await?;
        tx.touch_user(user.id, now).await?;
        let device_cookie = device::issue(&self.keys, self.random.as_ref(), &email_key(&user.email), now)?;
        Ok(SignedIn { token, session, user, mfa_deadline, device_cookie })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_attempt(
        &self,
        tx: &mut dyn Tx,
        meta: &RequestMeta,
        email_key: &str,
        user: Option<&User>,
        success: bool,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let user_id = user.map(|u| u.id);
        tx.insert_login_attempt(&LoginAttempt {
            id: uuid::Uuid::now_v7(),
            at: now,
            email: email_key.to_owned(),
            user_id,
            success,
            reason: reason.to_owned(),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
        })
        .await?;
        let action = if success { "auth.login" } else { "auth.login_failed" };
        let mut event = AuditEvent::anonymous(meta, user_id, action, now).details(json!({ "email": email_key, "reason": reason }));
        if let Some(id) = user_id {
            event = event.target("user", id);
        }
        tx.insert_audit(&event).await
    }

    /// The actor behind a session token, or 401. Reads the user and the policy fresh: a role
    /// change, a deactivation, a shorter session limit or a passed MFA deadline acts on the very
    /// next request.
    pub async fn authenticate_session(&self, token: &str, meta: RequestMeta) -> Result<Actor> {
        let now = self.clock.now();
        let hash = token_hash(token);
        let mut tx = self.store.read().await?;
        let session = tx.session_by_hash(&hash).await?.ok_or(Error::Unauthenticated)?;
        let policy = self.security_policy(tx.as_mut()).await?;
        if !session_live(&session, &policy, now) {
            drop(tx);
            let mut tx = self.store.write().await?;
            tx.delete_session(session.id, session.user_id).await?;
            tx.commit().await?;
            return Err(Error::Unauthenticated);
        }
        let user = tx.user_by_id(session.user_id).await?.ok_or(Error::Unauthenticated)?;
        drop(tx);
        if !user.can_act(now) {
            return Err(Error::Unauthenticated);
        }
        let (mut mfa_deadline, mut mfa_restricted) = mfa_standing(&policy.mfa, &user, now);
        // A trusted provider's second factor satisfied the policy for this session.
        if mfa_deadline.is_some() && self.session_mfa_by_provider(session.id).await? {
            (mfa_deadline, mfa_restricted) = (None, false);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            let mut tx = self.store.write().await?;
            // User first, as deactivation locks the user and then the sessions (no deadlock).
            tx.touch_user(user.id, now).await?;
            tx.touch_session(session.id, now).await?;
            tx.commit().await?;
        }
        Ok(Actor {
            user,
            via: AuthVia::Session { id: session.id, csrf_token: session.csrf_token, mfa_pending: session.mfa_pending },
            meta,
            mfa_deadline,
            mfa_restricted,
        })
    }

    /// The actor behind an API token, or 401. Answered from the node's index when it may
    /// answer (no SQL), otherwise from the database; the last-used time is written at most once a
    /// minute, off the request's path. A token of a user past their MFA deadline is restricted
    /// like their sessions.
    ///
    /// `method` and `route` (the route's template) name the API operation the token is used for:
    /// a service account's token must hold the scope that opens it, or the request is refused
    /// here with 403, before any service runs; the services then check the role as for anyone,
    /// so the token does only what both its scopes and its owner's role allow.
    pub async fn authenticate_token(&self, token: &str, meta: RequestMeta, method: &str, route: &str) -> Result<Actor> {
        let now = self.clock.now();
        let hash = token_hash(token);
        let (api_token, user, mfa_policy) = match (self.index.token(&hash), self.index.policy()) {
            (Some(found), Some(policy)) => {
                let (t, u) = found.ok_or(Error::Unauthenticated)?;
                (t, u, policy.mfa)
            }
            _ => {
                let mut tx = self.store.read().await?;
                let api_token = tx.api_token_by_hash(&hash).await?.ok_or(Error::Unauthenticated)?;
                let user = tx.user_by_id(api_token.user_id).await?.ok_or(Error::Unauthenticated)?;
                let policy = self.security_policy(tx.as_mut()).await?;
                (api_token, user, policy.mfa)
            }
        };
        if api_token.expires_at.is_some_and(|t| now >= t) || !user.can_act(now) {
            return Err(Error::Unauthenticated);
        }
        // Why a service account's token without scopes is refused everywhere: its role alone
        // must never be what bounds it.
        if user.is_service() || api_token.scopes.is_some() {
            let needed = Scope::for_operation(method, route);
            let held = api_token.scopes.as_deref().unwrap_or_default();
            if !needed.is_some_and(|n| held.contains(&n)) {
                // Why audited here: the refusal comes before any handler, where the refusal
                // layer would otherwise learn who was refused.
                let via = AuthVia::Token { id: api_token.id, scopes: api_token.scopes.clone() };
                let actor = Actor { user, via, meta, mfa_deadline: None, mfa_restricted: false };
                if let Err(e) = self.record_refusal(&actor, &format!("{method} {route}")).await {
                    tracing::warn!(error = %e, "could not audit a refused request");
                }
                return Err(Error::InsufficientScope(needed));
            }
        }
        let (mfa_deadline, mfa_restricted) = mfa_standing(&mfa_policy, &user, now);
        if self.activity.due(api_token.id, api_token.last_used_at, now) {
            let kw = self.clone();
            let (token_id, user_id) = (api_token.id, user.id);
            tokio::spawn(async move {
                let result = async {
                    let mut tx = kw.store.write().await?;
                    // Why the user first: deleting an account locks its row and then, by cascade,
                    // its tokens' rows; the same order here cannot deadlock with it (PostgreSQL
                    // aborted the delete with a 500 when this task held the token row first).
                    tx.touch_user(user_id, now).await?;
                    tx.touch_api_token(token_id, now).await?;
                    tx.commit().await
                }
                .await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "could not record an API token's last use");
                }
            });
        }
        Ok(Actor { user, via: AuthVia::Token { id: api_token.id, scopes: api_token.scopes }, meta, mfa_deadline, mfa_restricted })
    }

    /// Ends the actor's session on the server.
    pub async fn logout(&self, actor: &Actor) -> Result<()> {
        let Some(id) = actor.session_id() else { return Ok(()) };
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.delete_session(id, actor.user.id).await?;
        tx.insert_audit(&AuditEvent::by(actor, "auth.logout", now).target("session", id)).await?;
        tx.commit().await
    }

    /// The security policy in force (the defaults until an admin saves one).
    pub async fn security_policy(&self, tx: &mut dyn Tx) -> Result<SecurityPolicy> {
        match tx.setting(SECURITY_POLICY_KEY).await? {
            Some(json) => serde_json::from_str(&json).map_err(Error::internal),
            None => Ok(SecurityPolicy::default()),
        }
    }
}

/// Whether a session is still live under the policy in force. Why both limits: the stored
/// expiry holds the absolute timeout of the sign-in, and lowering the timeout in the policy must
/// shorten sessions already open.
pub(crate) fn session_live(session: &Session, policy: &SecurityPolicy, now: OffsetDateTime) -> bool {
    let idle = Duration::minutes(policy.sessions.idle_timeout_minutes.into());
    let absolute = Duration::hours(policy.sessions.absolute_timeout_hours.into());
    now < session.expires_at && now < session.created_at + absolute && now - session.last_seen_at <= idle
}

/// The user's MFA deadline under `policy` (when they have no MFA and it requires some), and
/// whether it has passed: then every credential of theirs may only enroll, like a new sign-in.
/// Service accounts are outside the MFA policy: they have no interactive factor, and their
/// scoped tokens are their only credential.
fn mfa_standing(policy: &MfaPolicy, user: &User, now: OffsetDateTime) -> (Option<OffsetDateTime>, bool) {
    let deadline = if user.mfa_enabled || user.is_service() { None } else { policy.deadline(user) };
    (deadline, deadline.is_some_and(|d| now >= d))
}

fn metrics_outcome(outcome: &str) {
    tracing::info!(target: "keyward::auth", outcome, "sign-in attempt");
}
