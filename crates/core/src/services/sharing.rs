//! Sharing resources with users, teams or everyone, and sealed data-source credentials.

use crate::Keyward;
use crate::access::{Action, Kind, Level, Subject};
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, CredentialsInfo, Share};
use crate::types::{ResourceId, UserStatus};
use serde_json::json;
use std::collections::HashSet;
use time::OffsetDateTime;

/// The most shares one resource may have.
pub const MAX_SHARES: usize = 1000;

/// A share as asked for.
#[derive(Debug, Clone)]
pub struct ShareRequest {
    pub subject: Subject,
    pub level: Level,
    pub expires_at: Option<OffsetDateTime>,
}

fn aad(resource: ResourceId) -> String {
    format!("credentials:{resource}")
}

impl Keyward {
    /// The shares of a resource (those who may share it: owner, admins, editors).
    pub async fn get_shares(&self, actor: &Actor, id: ResourceId) -> Result<Vec<Share>> {
        let mut tx = self.store.read().await?;
        let v = self.visible(tx.as_mut(), actor, id).await?;
        Self::require_action(&v, Action::Share)?;
        tx.shares_of(id).await
    }

    /// Replaces the shares of a resource, after checking every one of them.
    pub async fn put_shares(&self, actor: &Actor, id: ResourceId, wanted: Vec<ShareRequest>) -> Result<Vec<Share>> {
        if wanted.len() > MAX_SHARES {
            return Err(Error::invalid_field("shares", "too_many_shares", format!("At most {MAX_SHARES} shares per resource.")));
        }
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let v = self.visible(tx.as_mut(), actor, id).await?;
        Self::require_action(&v, Action::Share)?;
        let mut seen = HashSet::new();
        let mut shares = Vec::with_capacity(wanted.len());
        for w in wanted {
            if !seen.insert(w.subject.clone()) {
                return Err(Error::invalid_field("shares", "duplicate_subject", "Each user or team may appear once."));
            }
            if !matches!(w.level, Level::View | Level::Edit) {
                return Err(Error::invalid_field("level", "invalid_level", "A share's level is view or edit."));
            }
            if w.expires_at.is_some_and(|t| t <= now) {
                return Err(Error::invalid_field("expires_at", "invalid_expiry", "expires_at must be in the future."));
            }
            match &w.subject {
                Subject::User(u) => {
                    tx.user_by_id(*u)
                        .await?
                        .filter(|u| u.status != UserStatus::Invited)
                        .ok_or_else(|| Error::invalid_field("subject", "unknown_user", "No such user to share with."))?;
                }
                Subject::Team(t) => {
                    tx.team_by_id(*t)
                        .await?
                        .ok_or_else(|| Error::invalid_field("subject", "unknown_team", "No such team to share with."))?;
                }
                Subject::AllUsers if v.resource.kind != Kind::DataSource => {
                    return Err(Error::invalid_field(
                        "subject",
                        "all_users_not_allowed",
                        "Only data sources can be shared with all users.",
                    ));
                }
                Subject::AllUsers => {}
            }
            shares.push(Share { resource_id: id, subject: w.subject, level: w.level, expires_at: w.expires_at, created_at: now });
        }
        let before = tx.shares_of(id).await?;
        tx.replace_shares(id, &shares).await?;
        tx.insert_audit(
            &AuditEvent::by(actor, "resource.share", now)
                .target("resource", id)
                .details(json!({ "before": shares_json(&before), "after": shares_json(&shares) })),
        )
        .await?;
        tx.commit().await?;
        Ok(shares)
    }

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
            let aad = match v.table {
                "mfa_totp" => format!("mfa_totp:{}", v.key),
                _ => format!("credentials:{}", v.key),
            };
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

pub(crate) fn shares_json(shares: &[Share]) -> serde_json::Value {
    shares
        .iter()
        .map(|s| {
            let (kind, id) = match &s.subject {
                Subject::User(u) => ("user", Some(u.to_string())),
                Subject::Team(t) => ("team", Some(t.to_string())),
                Subject::AllUsers => ("all_users", None),
            };
            json!({ "subject": { "type": kind, "id": id }, "level": s.level.as_str(), "expires_at": s.expires_at.map(crate::model::rfc3339) })
        })
        .collect()
}
