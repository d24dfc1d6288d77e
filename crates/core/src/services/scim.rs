//! SCIM provisioning, the users: what an identity provider reads, creates, replaces and deletes
//! at `/scim/v2/Users`. The protocol's JSON (filters, PATCH) is the server's; here are the rules:
//! `active: false` ends every session and token at once, a delete deactivates (what the user
//! owns stays) and hides the user from SCIM, roles come from the configured attribute, and each
//! change is audited with the provisioning client as actor.

use crate::Keyward;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, ScimUserAttrs, Team, User};
use crate::services::scim_admin::{ScimClient, ScimSettings};
use crate::services::users::ensure_an_admin_remains;
use crate::store::{LockKey, Tx};
use crate::types::{Email, FullName, UserId, UserStatus};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A user as SCIM shows them.
#[derive(Debug, Clone)]
pub struct ScimUser {
    /// The Keyward account.
    pub user: User,
    /// Stored, or made up for a user SCIM never wrote (userName = email).
    pub attrs: ScimUserAttrs,
    /// The teams the user is in, shown as SCIM groups.
    pub groups: Vec<Team>,
}

impl ScimUser {
    /// Whether the account is active for SCIM (an invitation not yet accepted counts as active).
    pub fn active(&self) -> bool {
        self.user.status != UserStatus::Deactivated
    }

    /// The weak ETag (`meta.version`) of this state: any change to what SCIM shows changes it.
    pub fn etag(&self) -> String {
        let mut groups: Vec<String> = self.groups.iter().map(|t| t.id.to_string()).collect();
        groups.sort();
        let u = &self.user;
        let parts = format!(
            "{}|{}|{}|{}|{}|{}|{:?}|{:?}|{}",
            u.updated_at.unix_timestamp_nanos(),
            u.email,
            u.full_name,
            u.role.as_str(),
            u.status.as_str(),
            u.access_expires_at.map(|t| t.unix_timestamp()).unwrap_or_default(),
            self.attrs,
            groups,
            self.user.id
        );
        etag_of(&parts)
    }
}

/// A weak ETag of a canonical text.
pub(crate) fn etag_of(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!("W/\"{}\"", hex::encode(&digest[..10]))
}

/// Refuses with 412 when the caller's `If-Match` names another version.
pub(crate) fn check_if_match(current: &str, if_match: Option<&str>) -> Result<()> {
    match if_match {
        None => Ok(()),
        Some(sent)
            if sent
                .split(',')
                .map(str::trim)
                .any(|e| e == "*" || e == current || e.trim_start_matches("W/") == current.trim_start_matches("W/")) =>
        {
            Ok(())
        }
        Some(_) => Err(Error::PreconditionFailed("The resource changed since it was read (If-Match): read it again and retry.")),
    }
}

/// What a provider sends for a user (POST, PUT, or a PATCH applied to the current state).
#[derive(Debug, Clone, Default)]
pub struct ScimUserInput {
    /// `userName`.
    pub user_name: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `name.givenName`.
    pub given_name: Option<String>,
    /// `name.familyName`.
    pub family_name: Option<String>,
    /// The primary email (or the userName when it is an address).
    pub email: String,
    /// The `type` and `primary` sent with that email.
    pub email_type: Option<String>,
    /// See `email_type`.
    pub email_primary: Option<bool>,
    /// `active`: false deactivates the account (through `end_access`).
    pub active: bool,
    /// What the configured role attribute carries, when it is there.
    pub role: Option<String>,
}

impl ScimUserInput {
    fn full_name(&self) -> Result<FullName> {
        let joined = [self.given_name.as_deref(), self.family_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        let name = self.display_name.clone().filter(|s| !s.trim().is_empty()).or(Some(joined).filter(|s| !s.trim().is_empty()));
        FullName::parse(name.as_deref().unwrap_or(&self.user_name))
    }

    fn attrs(&self, user: UserId) -> Result<ScimUserAttrs> {
        let clean = |field: &'static str, v: &Option<String>| -> Result<Option<String>> {
            match v {
                Some(s) if s.chars().count() > 300 || s.chars().any(char::is_control) => Err(Error::invalid_field(
                    field,
                    "invalid_value",
                    format!("{field} must be at most 300 characters, without control characters."),
                )),
                other => Ok(other.clone()),
            }
        };
        let user_name = self.user_name.trim();
        if user_name.is_empty() {
            return Err(Error::invalid_field("userName", "invalid_value", "userName is required."));
        }
        Ok(ScimUserAttrs {
            user_id: user,
            user_name: clean("userName", &Some(user_name.to_owned()))?.unwrap_or_default(),
            external_id: clean("externalId", &self.external_id)?,
            display_name: clean("displayName", &self.display_name)?,
            given_name: clean("name.givenName", &self.given_name)?,
            family_name: clean("name.familyName", &self.family_name)?,
            email_type: clean("emails.type", &self.email_type)?,
            email_primary: self.email_primary,
            deleted_at: None,
        })
    }
}

/// The SCIM attributes of a user SCIM never wrote.
fn default_attrs(u: &User) -> ScimUserAttrs {
    ScimUserAttrs {
        user_id: u.id,
        user_name: u.email.clone(),
        external_id: None,
        display_name: Some(u.full_name.clone()),
        given_name: None,
        family_name: None,
        email_type: Some("work".to_owned()),
        email_primary: Some(true),
        deleted_at: None,
    }
}

pub(crate) async fn all_users(tx: &mut dyn Tx) -> Result<Vec<User>> {
    let mut out: Vec<User> = Vec::new();
    loop {
        let page = tx.users_page(out.last().map(|u| u.id), 1000).await?;
        let done = page.len() < 1000;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// Every user SCIM shows (not those deleted over SCIM), with their teams, in id order.
pub(crate) async fn load_users(tx: &mut dyn Tx) -> Result<Vec<ScimUser>> {
    let users = all_users(tx).await?;
    let mut attrs: HashMap<UserId, ScimUserAttrs> = tx.scim_user_attrs().await?.into_iter().map(|a| (a.user_id, a)).collect();
    let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
    let mut teams: HashMap<UserId, Vec<Team>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for (u, t) in tx.teams_of_users(chunk).await? {
            teams.entry(u).or_default().push(t);
        }
    }
    Ok(users
        .into_iter()
        .filter_map(|u| {
            let a = attrs.remove(&u.id).unwrap_or_else(|| default_attrs(&u));
            if a.deleted_at.is_some() {
                return None;
            }
            let groups = teams.remove(&u.id).unwrap_or_default();
            Some(ScimUser { user: u, attrs: a, groups })
        })
        .collect())
}

/// One user as SCIM shows them, or 404 (also for a user deleted over SCIM).
pub(crate) async fn load_user(tx: &mut dyn Tx, id: UserId) -> Result<ScimUser> {
    let user = tx.user_by_id(id).await?.ok_or(Error::NotFound("User"))?;
    let attrs = tx.scim_user_attrs_of(id).await?.unwrap_or_else(|| default_attrs(&user));
    if attrs.deleted_at.is_some() {
        return Err(Error::NotFound("User"));
    }
    let groups = tx.teams_of_users(&[id]).await?.into_iter().map(|(_, t)| t).collect();
    Ok(ScimUser { user, attrs, groups })
}

impl Keyward {
    /// How SCIM decides roles, for the server's reading of a request.
    pub async fn scim_settings_for(&self, _client: &ScimClient) -> Result<ScimSettings> {
        self.read_scim_settings(self.store.read().await?.as_mut()).await
    }

    /// Every user SCIM shows.
    pub async fn scim_users(&self, _client: &ScimClient) -> Result<Vec<ScimUser>> {
        load_users(self.store.read().await?.as_mut()).await
    }

    /// One user, or 404.
    pub async fn scim_user(&self, _client: &ScimClient, id: UserId) -> Result<ScimUser> {
        load_user(self.store.read().await?.as_mut(), id).await
    }

    /// Creates a user (active without a password: they sign in through the provider, or set
    /// one by a reset); a user deleted over SCIM earlier with this email comes back, with what
    /// they owned.
    pub async fn scim_create_user(&self, client: &ScimClient, input: ScimUserInput) -> Result<ScimUser> {
        let email = Email::parse(&input.email)?;
        let name = input.full_name()?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        let settings = self.read_scim_settings(tx.as_mut()).await?;
        let role = match &input.role {
            Some(v) => ScimSettings::role_of_value(v)?,
            None => settings.default_role,
        };
        if let Some(existing) = tx.user_by_email(&email.key()).await? {
            let deleted = tx.scim_user_attrs_of(existing.id).await?.is_some_and(|a| a.deleted_at.is_some());
            if !deleted {
                return Err(Error::conflict("email_taken", "A user with this email already exists."));
            }
            drop(tx);
            let revived = ScimUserInput { role: Some(role.as_str().to_owned()), ..input };
            return self.scim_write_user(client, existing.id, revived, None, true).await;
        }
        let mut user = User::invited(&email, &name, role, now);
        user.status = if input.active { UserStatus::Active } else { UserStatus::Deactivated };
        let attrs = input.attrs(user.id)?;
        tx.insert_user(&user).await?;
        tx.put_scim_user_attrs(&attrs).await?;
        tx.insert_audit(
            &AuditEvent::scim(
                client,
                "scim.user_create",
                now,
                json!({
                    "email": user.email, "user_name": attrs.user_name, "role": role.as_str(), "active": input.active,
                }),
            )
            .target("user", user.id),
        )
        .await?;
        let view = load_user(tx.as_mut(), user.id).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Replaces a user with what the provider sends (PUT, or PATCH applied by the server).
    pub async fn scim_replace_user(
        &self,
        client: &ScimClient,
        id: UserId,
        input: ScimUserInput,
        if_match: Option<&str>,
    ) -> Result<ScimUser> {
        self.scim_write_user(client, id, input, if_match, false).await
    }

    async fn scim_write_user(
        &self,
        client: &ScimClient,
        id: UserId,
        input: ScimUserInput,
        if_match: Option<&str>,
        revive: bool,
    ) -> Result<ScimUser> {
        let email = Email::parse(&input.email)?;
        let name = input.full_name()?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        let current = if revive {
            let user = tx.user_by_id(id).await?.ok_or(Error::NotFound("User"))?;
            ScimUser { attrs: default_attrs(&user), user, groups: Vec::new() }
        } else {
            load_user(tx.as_mut(), id).await?
        };
        check_if_match(&current.etag(), if_match)?;
        let before = current.user.clone();
        let mut after = before.clone();
        let mut diff = Map::new();
        if email.key() != crate::types::email_key(&before.email) || email.as_str() != before.email {
            after.email = email.as_str().to_owned();
            diff.insert("email".into(), json!({ "before": before.email, "after": after.email }));
        }
        if name.as_str() != before.full_name {
            after.full_name = name.as_str().to_owned();
            diff.insert("full_name".into(), json!({ "before": before.full_name, "after": after.full_name }));
        }
        if let Some(v) = &input.role {
            let role = ScimSettings::role_of_value(v)?;
            if role != before.role {
                after.role = role;
                after.role_changed_at = Some(now);
                diff.insert("role".into(), json!({ "before": before.role.as_str(), "after": role.as_str() }));
            }
        }
        let deactivate = !input.active && before.status != UserStatus::Deactivated;
        if deactivate {
            after.status = UserStatus::Deactivated;
        } else if input.active && before.status == UserStatus::Deactivated {
            after.status = UserStatus::Active;
            // Like a reactivation by an admin: an end date already past would take access away again.
            after.access_expires_at = before.access_expires_at.filter(|t| *t > now);
        }
        if after.status != before.status {
            diff.insert("active".into(), json!({ "before": before.status != UserStatus::Deactivated, "after": input.active }));
        }
        let attrs = input.attrs(id)?;
        if attrs != current.attrs {
            diff.insert("scim_attributes_changed".into(), Value::Bool(true));
        }
        if diff.is_empty() {
            return Ok(current);
        }
        ensure_an_admin_remains(tx.as_mut(), &before, &after).await?;
        after.updated_at = now;
        if deactivate {
            // Why at once: the provider says this person left; every session, token and link ends
            // in this transaction, and the change log tells every node's index before the answer.
            let (sessions, tokens, links) = self.end_access(tx.as_mut(), &after).await?;
            diff.insert("sessions_ended".into(), json!(sessions));
            diff.insert("tokens_revoked".into(), json!(tokens));
            diff.insert("links_voided".into(), json!(links));
        } else {
            tx.update_user(&after).await?;
        }
        tx.put_scim_user_attrs(&attrs).await?;
        let action = match (revive, deactivate) {
            (true, _) => "scim.user_create",
            (false, true) => "scim.user_deactivate",
            (false, false) => "scim.user_update",
        };
        if revive {
            diff.insert("restored".into(), Value::Bool(true));
        }
        tx.insert_audit(&AuditEvent::scim(client, action, now, Value::Object(diff)).target("user", id)).await?;
        let view = load_user(tx.as_mut(), id).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Deletes a user for SCIM: the account is deactivated (sessions and tokens end; what they
    /// own stays) and SCIM no longer shows it.
    pub async fn scim_delete_user(&self, client: &ScimClient, id: UserId, if_match: Option<&str>) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        let current = load_user(tx.as_mut(), id).await?;
        check_if_match(&current.etag(), if_match)?;
        let before = current.user.clone();
        let mut details = json!({ "email": before.email });
        if before.status != UserStatus::Deactivated {
            let after = User { status: UserStatus::Deactivated, updated_at: now, ..before.clone() };
            ensure_an_admin_remains(tx.as_mut(), &before, &after).await?;
            let (sessions, tokens, links) = self.end_access(tx.as_mut(), &after).await?;
            details = json!({ "email": before.email, "sessions_ended": sessions, "tokens_revoked": tokens, "links_voided": links });
        }
        tx.put_scim_user_attrs(&ScimUserAttrs { deleted_at: Some(now), ..current.attrs }).await?;
        tx.insert_audit(&AuditEvent::scim(client, "scim.user_delete", now, details).target("user", id)).await?;
        tx.commit().await
    }
}
