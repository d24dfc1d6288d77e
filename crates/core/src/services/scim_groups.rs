//! SCIM provisioning, the groups: a SCIM Group is a team, its members the team's members.
//! Changes of members apply the configured group → role mappings to the users they touch, and
//! each change is audited with the provisioning client as actor.

use crate::Keyward;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, Quotas, Team, User};
use crate::services::scim::{check_if_match, etag_of, load_users};
use crate::services::scim_admin::{ScimClient, ScimSettings};
use crate::services::users::ensure_an_admin_remains;
use crate::store::{LockKey, Tx};
use crate::types::{TeamId, TeamName, UserId};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

/// A team as SCIM shows it.
#[derive(Debug, Clone)]
pub struct ScimGroup {
    /// The Keyward team.
    pub team: Team,
    /// The provider's own id for the group (`externalId`).
    pub external_id: Option<String>,
    /// The members SCIM shows (not users deleted over SCIM).
    pub members: Vec<User>,
}

impl ScimGroup {
    /// The weak ETag (`meta.version`) of this state.
    pub fn etag(&self) -> String {
        let mut members: Vec<String> = self.members.iter().map(|u| u.id.to_string()).collect();
        members.sort();
        etag_of(&format!(
            "{}|{}|{:?}|{:?}|{}",
            self.team.id,
            self.team.name,
            self.external_id,
            members,
            self.team.updated_at.unix_timestamp_nanos()
        ))
    }
}

/// What a provider sends for a group.
#[derive(Debug, Clone, Default)]
pub struct ScimGroupInput {
    /// `displayName`: the team's name.
    pub display_name: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// The members, by Keyward user id.
    pub members: Vec<UserId>,
}

async fn visible_users(tx: &mut dyn Tx) -> Result<HashMap<UserId, User>> {
    Ok(load_users(tx).await?.into_iter().map(|v| (v.user.id, v.user)).collect())
}

async fn load_group(tx: &mut dyn Tx, id: TeamId, visible: &HashMap<UserId, User>) -> Result<ScimGroup> {
    let team = tx.team_by_id(id).await?.ok_or(Error::NotFound("Group"))?;
    let external_id = tx.scim_group_external_ids().await?.into_iter().find(|(t, _)| *t == id).map(|(_, e)| e);
    let members = tx.team_members(id).await?.into_iter().filter(|u| visible.contains_key(&u.id)).collect();
    Ok(ScimGroup { team, external_id, members })
}

fn external(v: &Option<String>) -> Result<Option<String>> {
    match v {
        Some(s) if s.chars().count() > 300 || s.chars().any(char::is_control) => Err(Error::invalid_field(
            "externalId",
            "invalid_value",
            "externalId must be at most 300 characters, without control characters.",
        )),
        other => Ok(other.clone()),
    }
}

impl Keyward {
    /// Every team, as SCIM groups.
    pub async fn scim_groups(&self, _client: &ScimClient) -> Result<Vec<ScimGroup>> {
        let mut tx = self.store.read().await?;
        let visible = visible_users(tx.as_mut()).await?;
        let externals: HashMap<TeamId, String> = tx.scim_group_external_ids().await?.into_iter().collect();
        let mut out = Vec::new();
        for team in tx.list_teams().await? {
            let members = tx.team_members(team.id).await?.into_iter().filter(|u| visible.contains_key(&u.id)).collect();
            out.push(ScimGroup { external_id: externals.get(&team.id).cloned(), team, members });
        }
        out.sort_by_key(|g| g.team.id);
        Ok(out)
    }

    /// One team as a SCIM group, or 404.
    pub async fn scim_group(&self, _client: &ScimClient, id: TeamId) -> Result<ScimGroup> {
        let mut tx = self.store.read().await?;
        let visible = visible_users(tx.as_mut()).await?;
        load_group(tx.as_mut(), id, &visible).await
    }

    /// Creates a team from a group.
    pub async fn scim_create_group(&self, client: &ScimClient, input: ScimGroupInput) -> Result<ScimGroup> {
        let name = TeamName::parse(&input.display_name)?;
        let external_id = external(&input.external_id)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        let team = Team {
            id: TeamId::new(),
            name: name.as_str().to_owned(),
            description: String::new(),
            lead_id: None,
            quotas: Quotas::default(),
            created_at: now,
            updated_at: now,
        };
        tx.insert_team(&team).await?;
        tx.put_scim_group_external_id(team.id, external_id.as_deref()).await?;
        let visible = visible_users(tx.as_mut()).await?;
        let (added, _) = self.set_members(client, tx.as_mut(), &team, &input.members, &visible).await?;
        tx.insert_audit(
            &AuditEvent::scim(client, "scim.group_create", now, json!({ "name": team.name, "members_added": ids(&added) }))
                .target("team", team.id),
        )
        .await?;
        let view = load_group(tx.as_mut(), team.id, &visible).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Replaces a group: its name, externalId and members (PUT, or PATCH applied by the server).
    pub async fn scim_replace_group(
        &self,
        client: &ScimClient,
        id: TeamId,
        input: ScimGroupInput,
        if_match: Option<&str>,
    ) -> Result<ScimGroup> {
        let name = TeamName::parse(&input.display_name)?;
        let external_id = external(&input.external_id)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        tx.lock(LockKey::Team(id)).await?;
        let visible = visible_users(tx.as_mut()).await?;
        let current = load_group(tx.as_mut(), id, &visible).await?;
        check_if_match(&current.etag(), if_match)?;
        let mut team = current.team.clone();
        team.name = name.as_str().to_owned();
        let (added, removed) = self.set_members(client, tx.as_mut(), &team, &input.members, &visible).await?;
        if removed.iter().any(|u| team.lead_id == Some(*u)) {
            // A lead who leaves the team stops being its lead, as when an admin removes them.
            team.lead_id = None;
        }
        let renamed = team.name != current.team.name;
        if renamed || external_id != current.external_id || team.lead_id != current.team.lead_id || !added.is_empty() || !removed.is_empty()
        {
            team.updated_at = now;
            tx.update_team(&team).await?;
            tx.put_scim_group_external_id(id, external_id.as_deref()).await?;
            tx.insert_audit(
                &AuditEvent::scim(
                    client,
                    "scim.group_update",
                    now,
                    json!({
                        "name": { "before": current.team.name, "after": team.name },
                        "members_added": ids(&added), "members_removed": ids(&removed),
                    }),
                )
                .target("team", id),
            )
            .await?;
        }
        let view = load_group(tx.as_mut(), id, &visible).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Deletes a group's team and every share with it; refused (409) while it owns resources.
    pub async fn scim_delete_group(&self, client: &ScimClient, id: TeamId, if_match: Option<&str>) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        tx.lock(LockKey::Team(id)).await?;
        let visible = visible_users(tx.as_mut()).await?;
        let current = load_group(tx.as_mut(), id, &visible).await?;
        check_if_match(&current.etag(), if_match)?;
        let owned = tx.team_resource_count(id).await?;
        if owned > 0 {
            return Err(Error::conflict(
                "team_has_resources",
                format!("The team owns {owned} resource(s); move or delete them in Keyward first."),
            ));
        }
        let members: Vec<UserId> = tx.team_members(id).await?.iter().map(|u| u.id).collect();
        let shares = tx.delete_subject_shares(&crate::access::Subject::Team(id)).await?;
        tx.delete_team(id).await?;
        let settings = self.read_scim_settings(tx.as_mut()).await?;
        for u in &members {
            apply_group_roles(tx.as_mut(), client, &settings, *u, Some(&current.team.name), now).await?;
        }
        tx.insert_audit(
            &AuditEvent::scim(
                client,
                "scim.group_delete",
                now,
                json!({
                    "name": current.team.name, "members": members.len(),
                    "shares_removed": crate::services::shares::shares_json(&shares),
                }),
            )
            .target("team", id),
        )
        .await?;
        tx.commit().await
    }

    /// Makes `wanted` the members of `team` (among the users SCIM shows; others are refused),
    /// then applies the group → role mappings to everyone added or removed.
    async fn set_members(
        &self,
        client: &ScimClient,
        tx: &mut dyn Tx,
        team: &Team,
        wanted: &[UserId],
        visible: &HashMap<UserId, User>,
    ) -> Result<(Vec<UserId>, Vec<UserId>)> {
        let now = self.clock.now();
        let wanted: BTreeSet<UserId> = wanted.iter().copied().collect();
        if let Some(unknown) = wanted.iter().find(|u| !visible.contains_key(u)) {
            return Err(Error::invalid_field("members", "unknown_user", format!("members: there is no user {unknown}.")));
        }
        let have: BTreeSet<UserId> = tx.team_members(team.id).await?.iter().map(|u| u.id).filter(|u| visible.contains_key(u)).collect();
        let added: Vec<UserId> = wanted.difference(&have).copied().collect();
        let removed: Vec<UserId> = have.difference(&wanted).copied().collect();
        for u in &added {
            tx.add_member(team.id, *u, now).await?;
        }
        for u in &removed {
            tx.remove_member(team.id, *u).await?;
        }
        let settings = self.read_scim_settings(tx).await?;
        for u in added.iter().chain(&removed) {
            apply_group_roles(tx, client, &settings, *u, removed.contains(u).then_some(team.name.as_str()), now).await?;
        }
        Ok((added, removed))
    }
}

fn ids(users: &[UserId]) -> Vec<String> {
    users.iter().map(|u| u.to_string()).collect()
}

/// Gives `user` the role their mapped groups give now; one who just left (`left`) every mapped
/// group falls back to the default role. Nothing happens without mappings.
async fn apply_group_roles(
    tx: &mut dyn Tx,
    client: &ScimClient,
    settings: &ScimSettings,
    user: UserId,
    left: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<()> {
    if settings.group_roles.is_empty() {
        return Ok(());
    }
    let Some(before) = tx.user_by_id(user).await? else { return Ok(()) };
    let teams: Vec<String> = tx.teams_of_users(&[user]).await?.into_iter().map(|(_, t)| t.name).collect();
    let role = match settings.role_of_groups(teams.iter().map(String::as_str)) {
        Some(r) => r,
        None if left.is_some_and(|g| settings.role_of_groups([g]).is_some()) => settings.default_role,
        None => return Ok(()),
    };
    if role == before.role {
        return Ok(());
    }
    let after = User { role, role_changed_at: Some(now), updated_at: now, ..before.clone() };
    ensure_an_admin_remains(tx, &before, &after).await?;
    tx.update_user(&after).await?;
    tx.insert_audit(
        &AuditEvent::scim(
            client,
            "scim.user_role",
            now,
            json!({ "role": { "before": before.role.as_str(), "after": role.as_str() }, "by": "group_mapping" }),
        )
        .target("user", user),
    )
    .await
}
