//! Sealed data-source credentials. (Shares themselves are changed in `shares.rs`; the check
//! and explain API is in `authz.rs`.)

use crate::Keyward;
use crate::access::{Action, Kind};
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, CredentialsInfo};
use crate::types::ResourceId;
use serde_json::json;

fn aad(resource: ResourceId) -> String {
    crate::model::SealedKind::Credentials.aad(&resource.to_string())
}

impl Keyward {
    /// Stores a data source's credentials sealed with the server's key. They are never returned.
    pub async fn put_credentials(&self, actor: &Actor, id: ResourceId, credentials: &serde_json::Value) -> Result<CredentialsInfo> {
        if !credentials.is_object() {
            return Err(Error::invalid_field("credentials", "invalid_credentials", "Credentials must be a JSON object."));
        }
        let plain = serde_json::to_vec(credentials).map_err(Error::internal)?;
        if plain.len() > 64 * 1024 {
            return Err(Error::invalid_field("credentials", "invalid_credentials", "Credentials must be at most 64 KiB."));
        }
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let v = self.visible(tx.as_mut(), actor, id).await?;
        if v.resource.kind != Kind::DataSource {
            return Err(Error::invalid_field("kind", "not_a_data_source", "Only data sources have credentials."));
        }
        Self::require_action(&v, Action::Edit)?;
        let sealed = self.keys.seal(self.random.as_ref(), &plain, &aad(id))?;
        tx.put_credentials(id, &sealed, actor.user.id, now).await?;
        // Why no details: not even the field names of credentials go to the log.
        tx.insert_audit(&AuditEvent::by(actor, "resource.credentials_set", now).target("resource", id)).await?;
        tx.commit().await?;
        Ok(CredentialsInfo { updated_at: now, updated_by: Some(actor.user.id) })
    }

    /// A resource the actor may see and, for a data source, when its credentials were last set
    /// (never the credentials), read on one connection with one access decision.
    pub async fn resource_details(
        &self,
        actor: &Actor,
        id: ResourceId,
    ) -> Result<(crate::services::resources::Visible, Option<CredentialsInfo>)> {
        let mut tx = self.store.read().await?;
        let v = self.visible(tx.as_mut(), actor, id).await?;
        let creds = if v.resource.kind == Kind::DataSource { tx.credentials_info(id).await? } else { None };
        Ok((v, creds))
    }

    /// Re-seals every sealed value under the keyring's current key (after a new key was put
    /// first); answers how many values were re-sealed. Acts on the database directly.
    pub async fn reseal_all(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let values = tx.sealed_values().await?;
        for mut v in values.clone() {
            let aad = v.kind.aad(&v.key);
            let plain = self.keys.open(&v.sealed, &aad)?;
            v.sealed = self.keys.seal(self.random.as_ref(), &plain, &aad)?;
            tx.update_sealed(&v).await?;
        }
        tx.insert_audit(
            &AuditEvent::cli("keys.rotate", now).details(json!({ "resealed": values.len(), "key_id": self.keys.current().id_hex() })),
        )
        .await?;
        tx.commit().await?;
        Ok(values.len())
    }
}
