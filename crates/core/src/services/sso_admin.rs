//! Single sign-on, the admin's side: identity providers made, listed, changed and deleted, with
//! their rules checked here (slug, issuer, scopes, mappings, SSO-required domains). The client
//! secret is sealed at once and never shown back or audited.

use crate::Keyward;
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, SealedKind};
use crate::policy::Capability;
use crate::sso::{GroupMapping, SsoProvider};
use crate::store::Tx;
use crate::types::{Label, Role};
use serde_json::json;

/// A provider as an admin writes it. `client_secret`: `None` keeps the stored one (a change
/// that does not touch it); a new provider needs one.
#[derive(Clone)]
pub struct SsoProviderInput {
    /// The name on the button.
    pub name: String,
    /// The name in URLs.
    pub slug: String,
    /// The issuer URL.
    pub issuer: String,
    /// Keyward's client id at the provider.
    pub client_id: String,
    /// A new client secret in clear (sealed before it is stored), or `None` to keep the stored one.
    pub client_secret: Option<String>,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The ID token claim that lists the user's groups.
    pub groups_claim: String,
    /// Whether its button shows and its sign-ins are accepted.
    pub enabled: bool,
    /// Create an account at the first sign-in of someone unknown.
    pub jit: bool,
    /// The role of an account created just in time.
    pub default_role: Role,
    /// The provider's `amr` satisfies Keyward's MFA policy.
    pub trust_mfa: bool,
    /// A first sign-in may link to an existing account by verified email.
    pub link_by_email: bool,
    /// Group → team and/or role mappings.
    pub mappings: Vec<GroupMapping>,
    /// Email domains whose people must sign in through this provider.
    pub required_domains: Vec<String>,
}

impl std::fmt::Debug for SsoProviderInput {
    // Why by hand: the client secret in clear must never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoProviderInput").field("slug", &self.slug).field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl SsoProviderInput {
    /// The input that leaves `p` as it is.
    pub fn of(p: &SsoProvider) -> SsoProviderInput {
        SsoProviderInput {
            name: p.name.clone(),
            slug: p.slug.clone(),
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            client_secret: None,
            scopes: p.scopes.clone(),
            groups_claim: p.groups_claim.clone(),
            enabled: p.enabled,
            jit: p.jit,
            default_role: p.default_role,
            trust_mfa: p.trust_mfa,
            link_by_email: p.link_by_email,
            mappings: p.mappings.clone(),
            required_domains: p.required_domains.clone(),
        }
    }
}

fn plain_text(field: &'static str, v: &str, max: usize, what: &str) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(Error::invalid_field(
            field,
            "invalid_sso_provider",
            format!("{what} must be 1 to {max} characters without control characters."),
        ));
    }
    Ok(v.to_owned())
}

/// Why only https (or plain http to this very machine): the issuer's documents decide whose
/// signatures Keyward trusts, so they must not travel where someone could change them.
fn issuer_of(v: &str) -> Result<String> {
    let v = plain_text("issuer", v, 500, "The issuer URL")?;
    let rest = v.strip_prefix("https://").or_else(|| {
        ["http://localhost", "http://127.0.0.1", "http://[::1]"]
            .iter()
            .find(|p| v.strip_prefix(**p).is_some_and(|r| r.is_empty() || r.starts_with(':') || r.starts_with('/')))
            .map(|_| "loopback")
    });
    match rest {
        Some(r) if !r.is_empty() && !v.contains(char::is_whitespace) && !v.contains(['?', '#']) => Ok(v),
        _ => Err(Error::invalid_field(
            "issuer",
            "invalid_issuer",
            "The issuer must be an https:// URL without query or fragment (plain http only to localhost), as the provider states it.",
        )),
    }
}

fn slug_of(v: &str) -> Result<String> {
    let ok = !v.is_empty()
        && v.len() <= 40
        && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if !ok {
        return Err(Error::invalid_field(
            "slug",
            "invalid_slug",
            "The slug must be 1 to 40 lowercase letters, digits or '-' (not first or last).",
        ));
    }
    Ok(v.to_owned())
}

fn scopes_of(v: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        let s = s.trim();
        // RFC 6749 §3.3: scope tokens are printable ASCII without space, '"' or '\'.
        if s.is_empty() || s.len() > 100 || !s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\') {
            return Err(Error::invalid_field(
                "scopes",
                "invalid_scopes",
                "Each scope must be 1 to 100 printable characters without spaces or quotes.",
            ));
        }
        if s != "openid" && !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    if out.len() > 20 {
        return Err(Error::invalid_field("scopes", "invalid_scopes", "At most 20 scopes."));
    }
    Ok(out)
}

fn domains_of(v: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for d in v {
        let d = d.trim().trim_start_matches('@').to_lowercase();
        let ok = d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'))
            && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !ok {
            return Err(Error::invalid_field(
                "required_domains",
                "invalid_domain",
                format!("'{}' is not an email domain such as example.com.", d.chars().take(60).collect::<String>()),
            ));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    if out.len() > 100 {
        return Err(Error::invalid_field("required_domains", "invalid_domain", "At most 100 domains."));
    }
    Ok(out)
}

async fn mappings_of(tx: &mut dyn Tx, v: &[GroupMapping]) -> Result<Vec<GroupMapping>> {
    if v.len() > 200 {
        return Err(Error::invalid_field("mappings", "invalid_mappings", "At most 200 group mappings."));
    }
    let mut out = Vec::new();
    for m in v {
        let group = plain_text("mappings", &m.group, 200, "Each mapping's group")?;
        if m.team_id.is_none() && m.role.is_none() {
            return Err(Error::invalid_field(
                "mappings",
                "invalid_mappings",
                format!("The mapping of '{group}' needs a team, a role or both."),
            ));
        }
        if let Some(team) = m.team_id
            && tx.team_by_id(team).await?.is_none()
        {
            return Err(Error::invalid_field(
                "mappings",
                "unknown_team",
                format!("The mapping of '{group}' names a team that does not exist."),
            ));
        }
        out.push(GroupMapping { group, team_id: m.team_id, role: m.role });
    }
    Ok(out)
}

/// What an audit event says of a provider: everything but the secret.
fn audit_view(p: &SsoProvider) -> serde_json::Value {
    json!({
        "name": p.name, "slug": p.slug, "issuer": p.issuer, "client_id": p.client_id, "scopes": p.scopes,
        "groups_claim": p.groups_claim, "enabled": p.enabled, "jit": p.jit, "default_role": p.default_role.as_str(),
        "trust_mfa": p.trust_mfa, "link_by_email": p.link_by_email, "mappings": p.mappings, "required_domains": p.required_domains,
    })
}

pub(crate) fn secret_aad(id: uuid::Uuid) -> String {
    SealedKind::SsoClientSecret.aad(&id.to_string())
}

impl Keyward {
    /// Every identity provider (admins; never the secrets).
    pub async fn sso_providers(&self, actor: &Actor) -> Result<Vec<SsoProvider>> {
        actor.require(Capability::ManageUsers)?;
        self.store.read().await?.sso_providers().await
    }

    /// One identity provider (admins).
    pub async fn sso_provider(&self, actor: &Actor, id: uuid::Uuid) -> Result<SsoProvider> {
        actor.require(Capability::ManageUsers)?;
        self.store.read().await?.sso_provider(id).await?.ok_or(Error::NotFound("identity provider"))
    }

    /// Adds an identity provider (admins).
    pub async fn create_sso_provider(&self, actor: &Actor, input: SsoProviderInput) -> Result<SsoProvider> {
        actor.require(Capability::ManageUsers)?;
        let id = uuid::Uuid::now_v7();
        let Some(secret) = input.client_secret.as_deref() else {
            return Err(Error::invalid_field("client_secret", "invalid_sso_provider", "A new identity provider needs its client secret."));
        };
        let sealed = self.seal_client_secret(id, secret)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let provider = checked(tx.as_mut(), id, &input, sealed, now, now).await?;
        tx.insert_sso_provider(&provider).await?;
        tx.insert_audit(&AuditEvent::by(actor, "sso.provider_create", now).target("sso_provider", id).details(audit_view(&provider)))
            .await?;
        tx.commit().await?;
        Ok(provider)
    }

    /// Changes an identity provider (admins); a `None` secret keeps the stored one.
    pub async fn update_sso_provider(&self, actor: &Actor, id: uuid::Uuid, input: SsoProviderInput) -> Result<SsoProvider> {
        actor.require(Capability::ManageUsers)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let before = tx.sso_provider(id).await?.ok_or(Error::NotFound("identity provider"))?;
        let sealed = match input.client_secret.as_deref() {
            Some(s) => self.seal_client_secret(id, s)?,
            None => before.client_secret_sealed.clone(),
        };
        let after = checked(tx.as_mut(), id, &input, sealed, before.created_at, now).await?;
        tx.update_sso_provider(&after).await?;
        tx.insert_audit(&AuditEvent::by(actor, "sso.provider_update", now).target("sso_provider", id).details(
            json!({ "before": audit_view(&before), "after": audit_view(&after), "secret_changed": input.client_secret.is_some() }),
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes an identity provider (admins): its links to accounts go with it; the accounts stay.
    pub async fn delete_sso_provider(&self, actor: &Actor, id: uuid::Uuid) -> Result<()> {
        actor.require(Capability::ManageUsers)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let before = tx.sso_provider(id).await?.ok_or(Error::NotFound("identity provider"))?;
        tx.delete_sso_provider(id).await?;
        tx.insert_audit(&AuditEvent::by(actor, "sso.provider_delete", now).target("sso_provider", id).details(audit_view(&before))).await?;
        tx.commit().await
    }

    fn seal_client_secret(&self, id: uuid::Uuid, secret: &str) -> Result<String> {
        if secret.is_empty() || secret.len() > 2000 || secret.chars().any(char::is_control) {
            return Err(Error::invalid_field(
                "client_secret",
                "invalid_sso_provider",
                "The client secret must be 1 to 2000 characters without control characters.",
            ));
        }
        self.keys.seal(self.random.as_ref(), secret.as_bytes(), &secret_aad(id))
    }

    /// The provider's client secret in clear, for the OIDC layer's token request only.
    pub fn open_client_secret(&self, p: &SsoProvider) -> Result<String> {
        let plain = self.keys.open(&p.client_secret_sealed, &secret_aad(p.id))?;
        String::from_utf8(plain).map_err(Error::internal)
    }
}

/// The provider `input` describes, every rule checked (teams exist, no domain required by two
/// providers).
async fn checked(
    tx: &mut dyn Tx,
    id: uuid::Uuid,
    input: &SsoProviderInput,
    sealed: String,
    created_at: time::OffsetDateTime,
    now: time::OffsetDateTime,
) -> Result<SsoProvider> {
    let name = Label::parse("name", &input.name)?;
    let groups_claim = plain_text("groups_claim", &input.groups_claim, 100, "The groups claim")?;
    let client_id = plain_text("client_id", &input.client_id, 500, "The client id")?;
    let required_domains = domains_of(&input.required_domains)?;
    for other in tx.sso_providers().await?.iter().filter(|o| o.id != id) {
        if let Some(d) = required_domains.iter().find(|d| other.required_domains.contains(d)) {
            return Err(Error::conflict("domain_taken", format!("The domain {d} already requires sign-in through {}.", other.name)));
        }
    }
    Ok(SsoProvider {
        id,
        slug: slug_of(&input.slug)?,
        name: name.as_str().to_owned(),
        issuer: issuer_of(&input.issuer)?,
        client_id,
        client_secret_sealed: sealed,
        scopes: scopes_of(&input.scopes)?,
        groups_claim,
        enabled: input.enabled,
        jit: input.jit,
        default_role: input.default_role,
        trust_mfa: input.trust_mfa,
        link_by_email: input.link_by_email,
        mappings: mappings_of(tx, &input.mappings).await?,
        required_domains,
        created_at,
        updated_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_or_loopback_http() {
        assert!(issuer_of("https://login.example.com/tenant/v2.0").is_ok());
        assert!(issuer_of("http://127.0.0.1:4000").is_ok());
        assert!(issuer_of("http://localhost/realms/x").is_ok());
        assert!(issuer_of("http://idp.example.com").is_err());
        assert!(issuer_of("http://localhost.evil.com").is_err());
        assert!(issuer_of("https://").is_err());
        assert!(issuer_of("https://x.example.com/?a=b").is_err());
    }

    #[test]
    fn slugs_scopes_and_domains_follow_their_rules() {
        assert!(slug_of("okta-prod").is_ok());
        assert!(slug_of("Okta").is_err());
        assert!(slug_of("-x").is_err());
        assert_eq!(scopes_of(&["openid".into(), "email".into(), "email".into()]).ok(), Some(vec!["email".to_owned()]));
        assert!(scopes_of(&["a b".into()]).is_err());
        assert_eq!(domains_of(&["@Example.COM".into()]).ok(), Some(vec!["example.com".to_owned()]));
        assert!(domains_of(&["localhost".into()]).is_err());
    }
}
