//! Single sign-on's storage: OpenID providers, the identities linked to accounts, sign-ins under
//! way, and the sessions they opened.

use crate::error::Result;
use crate::types::{SessionId, UserId};
use async_trait::async_trait;
use time::OffsetDateTime;

/// Single sign-on's tables: providers, identities, sign-ins under way and the sessions they
/// opened. A supertrait of `Tx`: call these on any `&mut dyn Tx`.
#[async_trait]
pub trait SsoStore: Send {
    /// Adds a provider (its client secret already sealed); a slug taken is a conflict.
    async fn insert_sso_provider(&mut self, provider: &crate::sso::SsoProvider) -> Result<()>;
    /// Writes every field but `id` and `created_at`.
    async fn update_sso_provider(&mut self, provider: &crate::sso::SsoProvider) -> Result<()>;
    /// Deletes a provider with its identities, sign-ins and session marks; false when none.
    async fn delete_sso_provider(&mut self, id: uuid::Uuid) -> Result<bool>;
    /// Every provider, by name.
    async fn sso_providers(&mut self) -> Result<Vec<crate::sso::SsoProvider>>;
    /// One provider by id; `None` when there is none.
    async fn sso_provider(&mut self, id: uuid::Uuid) -> Result<Option<crate::sso::SsoProvider>>;
    /// The provider named by this slug in its sign-in URLs; `None` when there is none.
    async fn sso_provider_by_slug(&mut self, slug: &str) -> Result<Option<crate::sso::SsoProvider>>;
    /// The account linked to this subject at this provider; `None` when none is.
    async fn sso_identity(&mut self, provider: uuid::Uuid, subject: &str) -> Result<Option<crate::sso::SsoIdentity>>;
    /// Links a subject to an account; a subject already linked is a conflict.
    async fn insert_sso_identity(&mut self, identity: &crate::sso::SsoIdentity) -> Result<()>;
    /// Records when this identity last signed in.
    async fn touch_sso_identity(&mut self, provider: uuid::Uuid, subject: &str, at: OffsetDateTime) -> Result<()>;
    /// The identities an account has, at every provider.
    async fn sso_identities_of(&mut self, user: UserId) -> Result<Vec<crate::sso::SsoIdentity>>;
    /// Records a sign-in under way (its state, nonce and PKCE verifier), until the callback uses it.
    async fn insert_sso_login(&mut self, login: &crate::sso::SsoLogin) -> Result<()>;
    /// Marks the sign-in with this state hash used and answers it; `None` when there is none or
    /// it was used already (a replayed callback, or a concurrent one that won).
    async fn use_sso_login(&mut self, state_hash: &str, at: OffsetDateTime) -> Result<Option<crate::sso::SsoLogin>>;
    /// Deletes sign-ins that expired before `before`; answers how many.
    async fn prune_sso_logins(&mut self, before: OffsetDateTime) -> Result<u64>;
    /// Marks a Keyward session as opened through a provider (for sign-out and trusted MFA).
    async fn insert_sso_session(&mut self, session: &crate::sso::SsoSession) -> Result<()>;
    /// The provider mark of a session; `None` for a password session.
    async fn sso_session(&mut self, session: SessionId) -> Result<Option<crate::sso::SsoSession>>;
}
