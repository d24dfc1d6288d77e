//! Service accounts: non-human principals that admins create for the platform, each with a role
//! and scoped API tokens. They have no password and never sign in; what their tokens may do is
//! decided where a token becomes an actor (`authenticate_token`).

use crate::Keyward;
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{ApiToken, AuditEvent, ServiceAccount, User};
use crate::policy::Capability;
use crate::scope::Scope;
use crate::secret::{new_token, token_hash};
use crate::services::account::{MAX_TOKEN_DAYS, NewToken};
use crate::types::{Email, FullName, Label, Role, TokenId, UserId, UserKind, UserStatus};
use serde_json::json;
use time::Duration;

/// What an admin asks for when creating a service account.
#[derive(Debug, Clone)]
pub struct NewServiceAccount {
    /// Its display name: 1 to 200 characters.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The role its tokens act with (default admin: the check API needs it; scopes narrow it).
    pub role: Option<Role>,
}

/// The description as the teams' (one rule for free text), none when blank.
fn description(s: Option<&str>) -> Result<Option<String>> {
    Ok(s.map(crate::services::teams::description).transpose()?.filter(|s| !s.is_empty()))
}

impl Keyward {
    /// Creates a service account (admins only). It is active at once, has no password and
    /// reaches nothing until it is given a scoped token.
    pub async fn create_service_account(&self, actor: &Actor, new: &NewServiceAccount) -> Result<ServiceAccount> {
        actor.require(Capability::ManageUsers)?;
        let name = FullName::parse(&new.name).map_err(|_| {
            Error::invalid_field("name", "invalid_name", "The name must be 1 to 200 characters, without control characters.")
        })?;
        let description = description(new.description.as_deref())?;
        let role = new.role.unwrap_or(Role::Admin);
        let now = self.clock.now();
        let id = UserId::new();
        // Why an address under `.invalid` (RFC 2606): the row needs a unique email, and this one
        // can never receive mail, so no reset or invitation link can reach anyone.
        let email = Email::parse(&format!("{}@service-accounts.invalid", id.0.simple()))?;
        let user = User {
            id,
            kind: UserKind::Service,
            status: UserStatus::Active,
            last_active_at: None,
            ..User::invited(&email, &name, role, now)
        };
        let mut tx = self.store.write().await?;
        tx.insert_service_account(&user, description.as_deref()).await?;
        tx.insert_audit(
            &AuditEvent::by(actor, "service_account.create", now)
                .target("user", user.id)
                .details(json!({ "name": user.full_name, "role": role.as_str() })),
        )
        .await?;
        tx.commit().await?;
        Ok(ServiceAccount { user, description })
    }

    /// Every service account (admins only).
    pub async fn service_accounts(&self, actor: &Actor) -> Result<Vec<ServiceAccount>> {
        actor.require(Capability::ManageUsers)?;
        self.store.read().await?.service_accounts().await
    }

    /// One service account (admins only); a person's id answers 404.
    pub async fn service_account(&self, actor: &Actor, id: UserId) -> Result<ServiceAccount> {
        actor.require(Capability::ManageUsers)?;
        self.store.read().await?.service_account(id).await?.ok_or(Error::NotFound("Service account"))
    }

    /// Deletes a service account; its tokens stop working on every node with this commit.
    pub async fn delete_service_account(&self, actor: &Actor, id: UserId) -> Result<()> {
        actor.require(Capability::ManageUsers)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let account = tx.service_account(id).await?.ok_or(Error::NotFound("Service account"))?;
        let tokens = tx.api_tokens_of(id).await?.len();
        tx.delete_service_account(id).await?;
        tx.insert_audit(
            &AuditEvent::by(actor, "service_account.delete", now)
                .target("user", id)
                .details(json!({ "name": account.user.full_name, "tokens_revoked": tokens })),
        )
        .await?;
        tx.commit().await
    }

    /// Creates a scoped token for a service account; the secret is in the answer only.
    pub async fn create_service_token(
        &self,
        actor: &Actor,
        id: UserId,
        name: &str,
        scopes: &[String],
        expires_in_days: Option<i64>,
    ) -> Result<NewToken> {
        actor.require(Capability::ManageUsers)?;
        let name = Label::parse("name", name)?;
        let mut scopes = scopes.iter().map(|s| s.parse::<Scope>()).collect::<Result<Vec<_>>>()?;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(Error::invalid_field("scopes", "scopes_required", "Choose at least one scope for the token."));
        }
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
        let mut tx = self.store.write().await?;
        tx.service_account(id).await?.ok_or(Error::NotFound("Service account"))?;
        // Why a prefix: secret scanners and people can tell a Keyward token at a glance.
        let secret = format!("kw_{}", new_token(self.random.as_ref()));
        let token = ApiToken {
            id: TokenId::new(),
            user_id: id,
            name: name.as_str().to_owned(),
            token_hash: token_hash(&secret),
            created_at: now,
            expires_at: expires_in_days.map(|d| now + Duration::days(d)),
            last_used_at: None,
            scopes: Some(scopes),
        };
        tx.insert_api_token(&token).await?;
        tx.insert_audit(&AuditEvent::by(actor, "service_account.token_create", now).target("api_token", token.id).details(json!({
            "service_account_id": id.to_string(),
            "name": token.name,
            "scopes": token.scopes.as_deref().map(Scope::join),
            "expires_at": token.expires_at.map(crate::model::rfc3339),
        })))
        .await?;
        tx.commit().await?;
        Ok(NewToken { token, secret })
    }

    /// A service account's tokens (never their secrets).
    pub async fn service_tokens(&self, actor: &Actor, id: UserId) -> Result<Vec<ApiToken>> {
        actor.require(Capability::ManageUsers)?;
        let mut tx = self.store.read().await?;
        tx.service_account(id).await?.ok_or(Error::NotFound("Service account"))?;
        tx.api_tokens_of(id).await
    }

    /// Revokes one token of a service account; it stops working on every node with this commit.
    pub async fn revoke_service_token(&self, actor: &Actor, id: UserId, token: TokenId) -> Result<()> {
        actor.require(Capability::ManageUsers)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.service_account(id).await?.ok_or(Error::NotFound("Service account"))?;
        if !tx.delete_api_token(token, id).await? {
            return Err(Error::NotFound("Token"));
        }
        tx.insert_audit(
            &AuditEvent::by(actor, "service_account.token_revoke", now)
                .target("api_token", token)
                .details(json!({ "service_account_id": id.to_string() })),
        )
        .await?;
        tx.commit().await
    }
}
