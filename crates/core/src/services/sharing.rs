//! Sealed data-source credentials, and the check and explain API the platform asks. (Shares
//! themselves are changed in `shares.rs`.)

use crate::Keyward;
use crate::access::{self, Action, Decision, Kind, Level, Path, Subject};
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, CredentialsInfo, Resource};
use crate::policy::Capability;
use crate::types::{ResourceId, UserId};
use serde_json::json;

/// The most checks one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// One answer of the check API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub allowed: bool,
    pub level: Level,
    pub reason: String,
}

/// One check of a batch.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    pub user_id: UserId,
    pub action: Action,
    pub resource_id: ResourceId,
}

fn aad(resource: ResourceId) -> String {
    format!("credentials:{resource}")
}

/// A sentence saying why `decision` allows or refuses `action`.
pub fn reason(decision: &Decision, action: Action, kind: Kind) -> String {
    if decision.inactive {
        return "The user is deactivated or past their access end date.".into();
    }
    if !action.applies_to(kind) {
        return format!("The action {} does not apply to a {}.", action.as_str(), kind.as_str());
    }
    let best = decision.paths.iter().max_by_key(|p| access::path_level(p));
    let source = match best {
        None => "no share, team or ownership gives access".to_owned(),
        Some(Path::Admin) => "admin".into(),
        Some(Path::Owner) => "owner".into(),
        Some(Path::ProjectOwner) => "owner of the workspace's project".into(),
        Some(Path::Share { subject, level, via_project, .. }) => {
            let whom = match subject {
                Subject::User(_) => "shared with the user".to_owned(),
                Subject::Team(t) => format!("shared with team {t}"),
                Subject::AllUsers => "shared with all users".to_owned(),
            };
            format!("{whom} at {}{}", level.as_str(), if *via_project { " on the workspace's project" } else { "" })
        }
    };
    let cap = if decision.capped { "; capped by the viewer role" } else { "" };
    format!("{source}{cap}; effective level {}", decision.level.as_str())
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

    /// The check API: may `user` do `action` to `resource`? (admins and their tokens)
    pub async fn check(&self, actor: &Actor, req: &CheckRequest) -> Result<CheckResult> {
        actor.require(Capability::CheckAccess)?;
        let mut tx = self.store.read().await?;
        let generation = match actor.generation {
            Some(g) => g,
            None => tx.authz_generation().await?,
        };
        self.check_one(tx.as_mut(), generation, req).await
    }

    /// Many checks, answered in order (up to 1000).
    pub async fn check_batch(&self, actor: &Actor, reqs: &[CheckRequest]) -> Result<Vec<CheckResult>> {
        actor.require(Capability::CheckAccess)?;
        if reqs.len() > MAX_BATCH {
            return Err(Error::invalid_field("checks", "too_many_checks", format!("At most {MAX_BATCH} checks per batch.")));
        }
        let mut tx = self.store.read().await?;
        let generation = tx.authz_generation().await?;
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            out.push(self.check_one(tx.as_mut(), generation, r).await?);
        }
        Ok(out)
    }

    /// One check, answered from memory when the access data has not changed since (see
    /// `cache`), otherwise from the database. `generation` is read before any data.
    async fn check_one(&self, tx: &mut dyn crate::store::Tx, generation: i64, req: &CheckRequest) -> Result<CheckResult> {
        let now = self.clock.now();
        let (decision, kind) = match self.cache.decision(req.user_id, req.resource_id, generation, now) {
            Some(hit) => hit,
            None => {
                let refuse = |reason: &str| CheckResult { allowed: false, level: Level::None, reason: reason.to_owned() };
                let Some(user) = tx.user_by_id(req.user_id).await? else { return Ok(refuse("No such user.")) };
                let Some(resource) = tx.resource_by_id(req.resource_id).await? else { return Ok(refuse("No such resource.")) };
                let (decision, grants_end) = self.decision_with_end(tx, &user, &resource, now).await?;
                let until = crate::cache::earliest([grants_end, user.access_expires_at]);
                self.cache.put_decision(user.id, resource.id, generation, decision.clone(), resource.kind, until);
                (decision, resource.kind)
            }
        };
        Ok(CheckResult {
            allowed: access::allows(&decision, req.action, kind),
            level: decision.level,
            reason: reason(&decision, req.action, kind),
        })
    }

    /// Every path that gives `user` access to `resource`, and the role cap (admins).
    pub async fn explain(&self, actor: &Actor, user: UserId, resource: ResourceId) -> Result<(Resource, Decision)> {
        actor.require(Capability::CheckAccess)?;
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let u = tx.user_by_id(user).await?.ok_or(Error::NotFound("User"))?;
        let r = tx.resource_by_id(resource).await?.ok_or(Error::NotFound("Resource"))?;
        let decision = self.decision(tx.as_mut(), &u, &r, now).await?;
        Ok((r, decision))
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
