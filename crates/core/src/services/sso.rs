//! Single sign-on, the sign-in's rules: the sign-ins under way (state, nonce, PKCE verifier,
//! single use), who a provider's subject is (linked, linked by verified email when allowed,
//! created just in time, or refused), the group mappings applied at every sign-in, the MFA
//! policy against the provider's `amr`, and the SSO-required email domains. The server's OIDC
//! layer checks the tokens and hands over verified claims.

use crate::Keyward;
use crate::context::RequestMeta;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, User};
use crate::secret::token_hash;
use crate::services::auth::LoginOutcome;
use crate::sso::{SsoClaims, SsoIdentity, SsoLogin, SsoProvider, SsoSession};
use crate::store::{LockKey, Tx};
use crate::types::{Email, FullName, Role, SessionId, TeamId, UserStatus};
use serde_json::json;
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

/// How long a sign-in may stay at the provider before the callback.
pub const SSO_LOGIN_TTL: Duration = Duration::minutes(10);

/// A refusal of a sign-in through a provider: a 403 page with a sentence saying what to do.
fn refused(code: &'static str, message: impl Into<String>) -> Error {
    Error::conflict(code, message)
}

/// The refusal of a password sign-in or reset for an email whose domain requires SSO.
pub fn sso_required_error(p: &SsoProvider) -> Error {
    Error::invalid_field(
        "email",
        "sso_required",
        format!("People with this email sign in through {0}: use the \u{201c}Sign in with {0}\u{201d} button on the sign-in page.", p.name),
    )
}

impl Keyward {
    /// The enabled providers, as the sign-in page lists them: (slug, name).
    pub async fn sign_in_providers(&self) -> Result<Vec<(String, String)>> {
        let providers = self.store.read().await?.sso_providers().await?;
        Ok(providers.into_iter().filter(|p| p.enabled).map(|p| (p.slug, p.name)).collect())
    }

    /// An enabled provider by slug (anyone: the sign-in starts here), or 404.
    pub async fn sso_provider_for_sign_in(&self, slug: &str) -> Result<SsoProvider> {
        self.store.read().await?.sso_provider_by_slug(slug).await?.filter(|p| p.enabled).ok_or(Error::NotFound("Identity provider"))
    }

    /// The provider whose sign-in opened `session`, if one did (to offer its sign-out).
    pub async fn sso_provider_of_session(&self, session: SessionId) -> Result<Option<SsoProvider>> {
        let mut tx = self.store.read().await?;
        let Some(s) = tx.sso_session(session).await? else { return Ok(None) };
        tx.sso_provider(s.provider_id).await
    }

    /// Records a sign-in going to the provider: the callback must bring `state` back, within
    /// `SSO_LOGIN_TTL`, once. Expired ones are cleared on the way.
    pub async fn begin_sso(&self, provider: &SsoProvider, state: &str, nonce: &str, pkce_verifier: &str, next: &str) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.prune_sso_logins(now).await?;
        tx.insert_sso_login(&SsoLogin {
            state_hash: token_hash(state),
            provider_id: provider.id,
            nonce: nonce.to_owned(),
            pkce_verifier: pkce_verifier.to_owned(),
            next_url: next.to_owned(),
            created_at: now,
            expires_at: now + SSO_LOGIN_TTL,
            used_at: None,
        })
        .await?;
        tx.commit().await
    }

    /// Takes the sign-in whose state came back (single use, for this provider, not expired).
    pub async fn take_sso_login(&self, provider: &SsoProvider, state: &str) -> Result<SsoLogin> {
        let now = self.clock.now();
        let invalid = || {
            refused(
                "sso_state_invalid",
                "This sign-in cannot be completed: it was already used, has expired, or did not start in this browser. Start again from the sign-in page.",
            )
        };
        let mut tx = self.store.write().await?;
        let login = tx.use_sso_login(&token_hash(state), now).await?.ok_or_else(invalid)?;
        tx.commit().await?;
        if login.provider_id != provider.id || now >= login.expires_at {
            return Err(invalid());
        }
        Ok(login)
    }

    /// Signs in the person the provider vouched for: the account linked to the subject, else
    /// (first sign-in) the account with the same verified email if the provider may link, else
    /// a new account if the provider creates them; then the group mappings, then the MFA policy.
    /// Every refusal is recorded as a failed sign-in and says what to do.
    pub async fn finish_sso(&self, meta: &RequestMeta, provider: &SsoProvider, claims: &SsoClaims) -> Result<LoginOutcome> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        let found = match self.sso_account(tx.as_mut(), meta, provider, claims, now).await {
            Ok(user) => user,
            Err(("error", _, _, error)) => return Err(error),
            Err((reason, email, user, error)) => {
                // Why a fresh transaction: the failure is recorded even though nothing else is.
                drop(tx);
                let mut tx = self.store.write().await?;
                self.record_attempt(tx.as_mut(), meta, &email, user.as_ref(), false, reason, now).await?;
                tx.commit().await?;
                return Err(error);
            }
        };
        let user = self.apply_mappings(tx.as_mut(), meta, provider, claims, found, now).await?;
        tx.touch_sso_identity(provider.id, &claims.subject, now).await?;
        let key = crate::types::email_key(&user.email);
        let strong = provider.trust_mfa && claims.strong_auth();
        if user.mfa_enabled && !strong {
            let outcome = self.start_challenge(tx.as_mut(), &user, now).await?;
            tx.insert_audit(
                &AuditEvent::anonymous(meta, Some(user.id), "auth.mfa_challenge", now)
                    .target("user", user.id)
                    .details(json!({ "sso_provider": provider.slug })),
            )
            .await?;
            tx.commit().await?;
            return Ok(outcome);
        }
        // Why: a trusted provider's second factor satisfies the policy; otherwise the policy's
        // enrollment deadline holds as for a password sign-in.
        let policy = self.security_policy(tx.as_mut()).await?;
        let deadline = if strong { None } else { policy.mfa.deadline(&user) };
        let setup_only = deadline.is_some_and(|d| now >= d);
        self.record_attempt(
            tx.as_mut(),
            meta,
            &key,
            Some(&user),
            true,
            if setup_only { "ok_sso_mfa_setup_required" } else { "ok_sso" },
            now,
        )
        .await?;
        let signed_in = self.start_session(tx.as_mut(), meta, user, now, &policy, deadline).await?;
        tx.insert_sso_session(&SsoSession {
            session_id: signed_in.session.id,
            provider_id: provider.id,
            mfa_satisfied: strong,
            created_at: now,
        })
        .await?;
        tx.commit().await?;
        Ok(LoginOutcome::SignedIn(Box::new(signed_in)))
    }

    /// The account the claims belong to, linked or created as the provider allows; or the
    /// reason, email key, known account and error of a refusal.
    async fn sso_account(
        &self,
        tx: &mut dyn Tx,
        meta: &RequestMeta,
        p: &SsoProvider,
        claims: &SsoClaims,
        now: OffsetDateTime,
    ) -> std::result::Result<User, (&'static str, String, Option<User>, Error)> {
        let internal = |e: Error| ("error", String::new(), None, e);
        let email = claims.email.as_deref().map(Email::parse).transpose().ok().flatten();
        let key = email.as_ref().map(Email::key).unwrap_or_default();
        let user = match tx.sso_identity(p.id, &claims.subject).await.map_err(internal)? {
            Some(identity) => tx.user_by_id(identity.user_id).await.map_err(internal)?,
            None => None,
        };
        let user = match user {
            Some(u) => u,
            None => {
                let Some(email) = email else {
                    let e = refused(
                        "sso_no_email",
                        format!(
                            "{} did not say your email address, so Keyward cannot tell who you are. Ask an admin to add the email scope.",
                            p.name
                        ),
                    );
                    return Err(("sso_no_email", key, None, e));
                };
                match tx.user_by_email(&key).await.map_err(internal)? {
                    Some(existing) => {
                        if !(p.link_by_email && claims.email_verified) || existing.is_service() {
                            let why = if !claims.email_verified { "sso_email_unverified" } else { "sso_link_not_allowed" };
                            let e = refused(
                                why,
                                format!(
                                    "An account with your email exists, but signing in to it through {} is not allowed (the email must be verified and an admin must allow linking). Sign in with your password, or ask an admin.",
                                    p.name
                                ),
                            );
                            return Err((why, key, Some(existing), e));
                        }
                        let mut existing = existing;
                        // An invitation not yet accepted is accepted by the provider's word.
                        if existing.status == UserStatus::Invited {
                            existing.status = UserStatus::Active;
                            existing.updated_at = now;
                            tx.update_user(&existing).await.map_err(internal)?;
                        }
                        self.link(tx, meta, p, claims, &existing, "linked", now).await.map_err(internal)?;
                        existing
                    }
                    None if p.jit => {
                        let user = create_jit(p, claims, &email, now).map_err(internal)?;
                        tx.insert_user(&user).await.map_err(internal)?;
                        self.link(tx, meta, p, claims, &user, "created", now).await.map_err(internal)?;
                        user
                    }
                    None => {
                        let e = refused(
                            "sso_no_account",
                            format!(
                                "There is no Keyward account for {} yet, and {} does not create accounts. Ask an admin to invite you.",
                                email.as_str(),
                                p.name
                            ),
                        );
                        return Err(("sso_no_account", key, None, e));
                    }
                }
            }
        };
        if !user.can_act(now) || user.is_service() {
            let e = refused("account_inactive", "This account is deactivated or its access has ended. Ask an admin.");
            return Err(("not_active", crate::types::email_key(&user.email), Some(user), e));
        }
        Ok(user)
    }

    #[allow(clippy::too_many_arguments)]
    async fn link(
        &self,
        tx: &mut dyn Tx,
        meta: &RequestMeta,
        p: &SsoProvider,
        claims: &SsoClaims,
        user: &User,
        how: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        tx.insert_sso_identity(&SsoIdentity {
            provider_id: p.id,
            subject: claims.subject.clone(),
            user_id: user.id,
            created_at: now,
            last_login_at: None,
        })
        .await?;
        let action = if how == "created" { "sso.user_create" } else { "sso.identity_link" };
        tx.insert_audit(
            &AuditEvent::anonymous(meta, Some(user.id), action, now)
                .target("user", user.id)
                .details(json!({ "sso_provider": p.slug, "subject": claims.subject, "email": user.email, "role": user.role.as_str() })),
        )
        .await
    }

    /// Applies the provider's group mappings: teams of the groups in the claim are joined, teams
    /// mapped by this provider whose group is no longer there are left; when the provider maps
    /// any role, the highest mapped role of the user's groups applies (the default role when
    /// none maps). Every change is audited.
    async fn apply_mappings(
        &self,
        tx: &mut dyn Tx,
        meta: &RequestMeta,
        p: &SsoProvider,
        claims: &SsoClaims,
        user: User,
        now: OffsetDateTime,
    ) -> Result<User> {
        let groups: BTreeSet<String> = claims.groups.iter().map(|g| g.to_lowercase()).collect();
        let matched: Vec<_> = p.mappings.iter().filter(|m| groups.contains(&m.group.to_lowercase())).collect();
        let managed: BTreeSet<TeamId> = p.mappings.iter().filter_map(|m| m.team_id).collect();
        let wanted: BTreeSet<TeamId> = matched.iter().filter_map(|m| m.team_id).collect();
        let have: BTreeSet<TeamId> = tx.teams_of(user.id).await?.into_iter().collect();
        let audit = |action: &str, details: serde_json::Value| {
            AuditEvent::anonymous(meta, Some(user.id), action, now).target("user", user.id).details(details)
        };
        for team in wanted.difference(&have) {
            // A mapped team deleted since the mapping was saved is skipped.
            if tx.team_by_id(*team).await?.is_some() && tx.add_member(*team, user.id, now).await? {
                tx.insert_audit(&audit("sso.team_add", json!({ "sso_provider": p.slug, "team_id": team.to_string() }))).await?;
            }
        }
        for team in managed.intersection(&have).filter(|t| !wanted.contains(t)) {
            if tx.remove_member(*team, user.id).await? {
                tx.insert_audit(&audit("sso.team_remove", json!({ "sso_provider": p.slug, "team_id": team.to_string() }))).await?;
            }
        }
        if !p.mappings.iter().any(|m| m.role.is_some()) {
            return Ok(user);
        }
        // Role::ALL lists the roles from the most to the least access.
        let rank = |r: Role| Role::ALL.iter().position(|x| *x == r).unwrap_or(usize::MAX);
        let role = matched.iter().filter_map(|m| m.role).min_by_key(|r| rank(*r)).unwrap_or(p.default_role);
        if role == user.role {
            return Ok(user);
        }
        let after = User { role, role_changed_at: Some(now), updated_at: now, ..user.clone() };
        crate::services::users::ensure_an_admin_remains(tx, &user, &after).await?;
        tx.update_user(&after).await?;
        tx.insert_audit(&audit(
            "sso.user_role",
            json!({ "sso_provider": p.slug, "role": { "before": user.role.as_str(), "after": role.as_str() }, "by": "group_mapping" }),
        ))
        .await?;
        Ok(after)
    }

    /// The enabled provider that requires SSO of `email`'s domain, if any.
    pub(crate) async fn sso_required_for(&self, tx: &mut dyn Tx, email: &str) -> Result<Option<SsoProvider>> {
        Ok(tx.sso_providers().await?.into_iter().find(|p| p.requires(email)))
    }

    /// Refuses a password sign-in or reset for `email` when its domain requires SSO.
    pub(crate) async fn refuse_if_sso_required(&self, email: &str) -> Result<()> {
        match self.sso_required_for(self.store.read().await?.as_mut(), email).await? {
            Some(p) => Err(sso_required_error(&p)),
            None => Ok(()),
        }
    }

    /// Whether the MFA policy was satisfied by a trusted provider for this session.
    pub(crate) async fn session_mfa_by_provider(&self, session: SessionId) -> Result<bool> {
        Ok(self.store.read().await?.sso_session(session).await?.is_some_and(|s| s.mfa_satisfied))
    }
}

/// A new active account for someone the provider vouched for (no password: they sign in
/// through the provider).
fn create_jit(p: &SsoProvider, claims: &SsoClaims, email: &Email, now: OffsetDateTime) -> Result<User> {
    let fallback = email.as_str().split('@').next().unwrap_or("User").to_owned();
    let name = claims.name.as_deref().and_then(|n| FullName::parse(n).ok()).map_or_else(|| FullName::parse(&fallback), Ok)?;
    let mut user = User::invited(email, &name, p.default_role, now);
    user.status = UserStatus::Active;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_second_factors_count_as_strong() {
        let c = |amr: &[&str]| SsoClaims { amr: amr.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        assert!(c(&["pwd", "mfa"]).strong_auth());
        assert!(c(&["hwk"]).strong_auth());
        assert!(c(&["otp"]).strong_auth());
        assert!(!c(&["pwd"]).strong_auth());
        assert!(!c(&[]).strong_auth());
    }
}
