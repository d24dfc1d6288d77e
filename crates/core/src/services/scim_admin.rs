//! SCIM provisioning, the admin's side: the provisioning clients' bearer tokens (made, listed,
//! revoked; good for `/scim/v2` only) and how SCIM decides roles; and turning a token into
//! the `ScimClient` that acts.

use crate::Keyward;
use crate::context::{Actor, RequestMeta};
use crate::error::{Error, Result};
use crate::model::{AuditEvent, ScimToken};
use crate::policy::Capability;
use crate::secret::{new_token, token_hash};
use crate::types::{Label, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The settings key of `ScimSettings`.
pub const SCIM_SETTINGS_KEY: &str = "scim_settings";

/// The acting provisioning client of a SCIM request, loaded fresh for every request.
#[derive(Debug, Clone)]
pub struct ScimClient {
    /// The SCIM token the request came with.
    pub token: ScimToken,
    /// Where the request came from.
    pub meta: RequestMeta,
}

/// A new token: the secret is shown once and never stored.
#[derive(Debug)]
pub struct NewScimToken {
    /// The token as stored (its hash, never the secret).
    pub token: ScimToken,
    /// The bearer secret for the identity provider, shown once.
    pub secret: String,
}

/// How SCIM decides a provisioned user's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimSettings {
    /// The role of a user SCIM creates when neither the attribute nor a group names one.
    pub default_role: Role,
    /// The user attribute that carries a role name (`roles` for the first of `roles[].value`,
    /// or a top-level attribute such as `userType`); `None`: roles do not come from an attribute.
    #[serde(default)]
    pub role_attribute: Option<String>,
    /// Group (displayName) → role: a member of a mapped group gets the highest such role, at
    /// every change of that group's members.
    #[serde(default)]
    pub group_roles: Vec<GroupRole>,
}

/// One group → role mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRole {
    /// The group's displayName (compared without regard to case).
    pub group: String,
    /// The role its members get.
    pub role: Role,
}

impl Default for ScimSettings {
    fn default() -> Self {
        // Why viewer: a provider that sends no role must not hand out more than the least.
        ScimSettings { default_role: Role::Viewer, role_attribute: None, group_roles: Vec::new() }
    }
}

impl ScimSettings {
    /// The role a value of the role attribute names (`admin`, `developer`, `data_scientist`,
    /// `viewer`, or their labels), or a 400 naming the attribute.
    pub fn role_of_value(value: &str) -> Result<Role> {
        let v = value.trim();
        Role::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(v) || r.label().eq_ignore_ascii_case(v)).ok_or_else(|| {
            Error::invalid_field(
                "role",
                "invalid_role",
                format!(
                    "'{}' is not a Keyward role; use admin, developer, data_scientist or viewer.",
                    v.chars().take(40).collect::<String>()
                ),
            )
        })
    }

    /// The highest role the mapped groups among `groups` (display names) give, if any maps.
    pub fn role_of_groups<'a>(&self, groups: impl IntoIterator<Item = &'a str>) -> Option<Role> {
        let names: Vec<String> = groups.into_iter().map(str::to_lowercase).collect();
        // Role::ALL lists the roles from the most to the least access.
        let rank = |r: Role| Role::ALL.iter().position(|x| *x == r).unwrap_or(usize::MAX);
        self.group_roles.iter().filter(|m| names.contains(&m.group.to_lowercase())).map(|m| m.role).min_by_key(|r| rank(*r))
    }

    fn validate(&self) -> Result<()> {
        if let Some(a) = &self.role_attribute
            && (a.trim().is_empty() || a.chars().count() > 200 || a.chars().any(char::is_control))
        {
            return Err(Error::invalid_field("role_attribute", "invalid_role_attribute", "The role attribute must be an attribute name."));
        }
        if self.group_roles.len() > 200
            || self
                .group_roles
                .iter()
                .any(|m| m.group.trim().is_empty() || m.group.chars().count() > 200 || m.group.chars().any(char::is_control))
        {
            return Err(Error::invalid_field(
                "group_roles",
                "invalid_group_roles",
                "Each mapping needs a group name of at most 200 characters without control characters (at most 200 mappings).",
            ));
        }
        Ok(())
    }
}

impl Keyward {
    /// Creates a provisioning client's token (admins); the secret is in the answer only.
    pub async fn create_scim_token(&self, actor: &Actor, name: &str) -> Result<NewScimToken> {
        actor.require(Capability::ManageUsers)?;
        let name = Label::parse("name", name)?;
        let now = self.clock.now();
        // A prefix tells a SCIM token from an API token at a glance (and in a secret scanner).
        let secret = format!("kwscim_{}", new_token(self.random.as_ref()));
        let token = ScimToken {
            id: uuid::Uuid::now_v7(),
            name: name.as_str().to_owned(),
            token_hash: token_hash(&secret),
            created_at: now,
            created_by: Some(actor.user.id),
            last_used_at: None,
        };
        let mut tx = self.store.write().await?;
        tx.insert_scim_token(&token).await?;
        tx.insert_audit(
            &AuditEvent::by(actor, "scim.token_create", now).target("scim_token", token.id).details(json!({ "name": token.name })),
        )
        .await?;
        tx.commit().await?;
        Ok(NewScimToken { token, secret })
    }

    /// Every provisioning client's token (admins; never the secrets).
    pub async fn scim_tokens(&self, actor: &Actor) -> Result<Vec<ScimToken>> {
        actor.require(Capability::ManageUsers)?;
        self.store.read().await?.scim_tokens().await
    }

    /// Revokes a provisioning client's token (admins): its next request is refused.
    pub async fn revoke_scim_token(&self, actor: &Actor, id: uuid::Uuid) -> Result<()> {
        actor.require(Capability::ManageUsers)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        if !tx.delete_scim_token(id).await? {
            return Err(Error::NotFound("SCIM token"));
        }
        tx.insert_audit(&AuditEvent::by(actor, "scim.token_revoke", now).target("scim_token", id)).await?;
        tx.commit().await
    }

    /// How SCIM decides roles (admins).
    pub async fn scim_settings(&self, actor: &Actor) -> Result<ScimSettings> {
        actor.require(Capability::ManageUsers)?;
        self.read_scim_settings(self.store.read().await?.as_mut()).await
    }

    pub(crate) async fn read_scim_settings(&self, tx: &mut dyn crate::store::Tx) -> Result<ScimSettings> {
        match tx.setting(SCIM_SETTINGS_KEY).await? {
            Some(s) => serde_json::from_str(&s).map_err(Error::internal),
            None => Ok(ScimSettings::default()),
        }
    }

    /// Replaces how SCIM decides roles (admins).
    pub async fn put_scim_settings(&self, actor: &Actor, settings: ScimSettings) -> Result<ScimSettings> {
        actor.require(Capability::ManageUsers)?;
        settings.validate()?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let text = serde_json::to_string(&settings).map_err(Error::internal)?;
        tx.put_setting(SCIM_SETTINGS_KEY, &text, now).await?;
        let after = serde_json::to_value(&settings).map_err(Error::internal)?;
        tx.insert_audit(&AuditEvent::by(actor, "scim.settings_update", now).target("settings", SCIM_SETTINGS_KEY).details(after)).await?;
        tx.commit().await?;
        Ok(settings)
    }

    /// The provisioning client behind a SCIM bearer token, or 401. Only SCIM tokens are looked
    /// at: an API token (or a session) never reaches SCIM, and a SCIM token never reaches the API.
    pub async fn authenticate_scim(&self, token: &str, meta: RequestMeta) -> Result<ScimClient> {
        let now = self.clock.now();
        let hash = token_hash(token);
        let found = self.store.read().await?.scim_token_by_hash(&hash).await?.ok_or(Error::Unauthenticated)?;
        // Last use is written at most once a minute, so a busy provider does not write per request.
        if found.last_used_at.is_none_or(|t| now - t > time::Duration::minutes(1)) {
            let mut tx = self.store.write().await?;
            tx.touch_scim_token(found.id, now).await?;
            tx.commit().await?;
        }
        Ok(ScimClient { token: found, meta })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_mapped_group_role_wins() {
        let s = ScimSettings {
            default_role: Role::Viewer,
            role_attribute: None,
            group_roles: vec![
                GroupRole { group: "Engineers".into(), role: Role::Developer },
                GroupRole { group: "Admins".into(), role: Role::Admin },
            ],
        };
        assert_eq!(s.role_of_groups(["engineers", "other"]), Some(Role::Developer));
        assert_eq!(s.role_of_groups(["Engineers", "admins"]), Some(Role::Admin));
        assert_eq!(s.role_of_groups(["other"]), None);
        assert_eq!(ScimSettings::role_of_value("Data Scientist").ok(), Some(Role::DataScientist));
        assert!(ScimSettings::role_of_value("root").is_err());
    }
}
