//! Teams: members, an optional lead, quotas and their usage. Admins run teams; a team's lead
//! adds and removes its members and edits its description.

use crate::Keyward;
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, Quotas, Team, Usage, User};
use crate::policy::Capability;
use crate::store::{LockKey, Tx};
use crate::types::{TeamId, TeamName, UserId, UserStatus};
use serde_json::json;

/// A team with its members.
#[derive(Debug)]
pub struct TeamView {
    /// The team.
    pub team: Team,
    /// Its members.
    pub members: Vec<User>,
}

/// What an admin or lead may change.
#[derive(Debug, Default)]
pub struct TeamChanges {
    /// A new name (admins).
    pub name: Option<TeamName>,
    /// A new description (admins and the team's lead).
    pub description: Option<String>,
    /// `Some(None)` removes the lead.
    pub lead_id: Option<Option<UserId>>,
}

/// A free-text description (teams, service accounts): at most 1000 characters as sent.
pub(crate) fn description(s: &str) -> Result<String> {
    let (sent, s) = (s.chars().count(), s.trim());
    // Line breaks and tabs are text (a browser's text area sends CR LF); other controls are not.
    if sent > 1000 || s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(Error::invalid_field("description", "invalid_description", "The description must be at most 1000 characters."));
    }
    Ok(s.to_owned())
}

/// Checks a quota value: unlimited, or 0 up to a trillion.
pub fn quota(field: &'static str, v: Option<i64>) -> Result<Option<i64>> {
    match v {
        Some(n) if !(0..=1_000_000_000_000).contains(&n) => {
            Err(Error::invalid_field(field, "invalid_quota", format!("{field} must be null (unlimited) or between 0 and 10^12.")))
        }
        other => Ok(other),
    }
}

async fn team_or_404(tx: &mut dyn Tx, id: TeamId) -> Result<Team> {
    tx.team_by_id(id).await?.ok_or(Error::NotFound("Team"))
}

async fn user_for_team(tx: &mut dyn Tx, id: UserId, field: &'static str) -> Result<User> {
    tx.user_by_id(id)
        .await?
        .filter(|u| u.status != UserStatus::Invited && !u.is_service())
        .ok_or_else(|| Error::invalid_field(field, "unknown_user", format!("{field}: no such user.")))
}

impl Keyward {
    /// Creates a team (admins) with members and an optional lead, who must be a member.
    pub async fn create_team(&self, actor: &Actor, name: &str, desc: &str, lead: Option<UserId>, members: &[UserId]) -> Result<TeamView> {
        actor.require(Capability::ManageTeams)?;
        let name = TeamName::parse(name)?;
        let desc = description(desc)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let mut member_ids: Vec<UserId> = members.to_vec();
        member_ids.sort();
        member_ids.dedup();
        for id in &member_ids {
            user_for_team(tx.as_mut(), *id, "member_ids").await?;
        }
        if let Some(l) = lead
            && !member_ids.contains(&l)
        {
            return Err(Error::invalid_field("lead_id", "lead_not_member", "The team lead must be one of the members."));
        }
        let team = Team {
            id: TeamId::new(),
            name: name.as_str().to_owned(),
            description: desc,
            lead_id: lead,
            quotas: Quotas::default(),
            created_at: now,
            updated_at: now,
        };
        tx.insert_team(&team).await?;
        for id in &member_ids {
            tx.add_member(team.id, *id, now).await?;
        }
        tx.insert_audit(
            &AuditEvent::by(actor, "team.create", now)
                .target("team", team.id)
                .details(json!({ "name": team.name, "lead_id": lead.map(|l| l.to_string()), "members": member_ids.iter().map(|m| m.to_string()).collect::<Vec<_>>() })),
        )
        .await?;
        let members = tx.team_members(team.id).await?;
        tx.commit().await?;
        Ok(TeamView { team, members })
    }

    /// Every team (any signed-in user: teams are what people share with).
    pub async fn list_teams(&self, actor: &Actor) -> Result<Vec<Team>> {
        actor.require(Capability::SeeDirectory)?;
        self.store.read().await?.list_teams().await
    }

    /// A team with its members.
    pub async fn get_team(&self, actor: &Actor, id: TeamId) -> Result<TeamView> {
        actor.require(Capability::SeeDirectory)?;
        let mut tx = self.store.read().await?;
        let team = team_or_404(tx.as_mut(), id).await?;
        let members = tx.team_members(id).await?;
        Ok(TeamView { team, members })
    }

    /// Whether the actor may manage the members of `team`: admins, and the team's lead.
    pub fn may_manage_members(actor: &Actor, team: &Team) -> bool {
        actor.can(Capability::ManageTeams) || team.lead_id == Some(actor.user.id)
    }

    /// Renames, describes or sets the lead (admins); a lead may change the description only.
    pub async fn update_team(&self, actor: &Actor, id: TeamId, changes: TeamChanges) -> Result<Team> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let before = team_or_404(tx.as_mut(), id).await?;
        let admin = actor.can(Capability::ManageTeams);
        // A lead may change the description and nothing else.
        let lead_describing = before.lead_id == Some(actor.user.id) && changes.name.is_none() && changes.lead_id.is_none();
        if !admin && !lead_describing {
            return Err(Error::Forbidden);
        }
        let mut after = before.clone();
        if let Some(n) = changes.name {
            after.name = n.as_str().to_owned();
        }
        if let Some(d) = changes.description {
            after.description = description(&d)?;
        }
        if let Some(lead) = changes.lead_id {
            if let Some(l) = lead
                && !tx.team_members(id).await?.iter().any(|m| m.id == l)
            {
                return Err(Error::invalid_field("lead_id", "lead_not_member", "The team lead must be one of the members."));
            }
            after.lead_id = lead;
        }
        after.updated_at = now;
        tx.update_team(&after).await?;
        tx.insert_audit(&AuditEvent::by(actor, "team.update", now).target("team", id).details(json!({
            "name": { "before": before.name, "after": after.name },
            "description_changed": before.description != after.description,
            "lead_id": { "before": before.lead_id.map(|l| l.to_string()), "after": after.lead_id.map(|l| l.to_string()) },
        })))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a team (admins) and, in the same transaction, every share with it; refused while
    /// it owns resources.
    pub async fn delete_team(&self, actor: &Actor, id: TeamId) -> Result<()> {
        actor.require(Capability::ManageTeams)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Team(id)).await?;
        let team = team_or_404(tx.as_mut(), id).await?;
        let owned = tx.team_resource_count(id).await?;
        if owned > 0 {
            return Err(Error::conflict("team_has_resources", format!("The team owns {owned} resource(s); move or delete them first.")));
        }
        let members = tx.team_members(id).await?.len();
        // Why here: a share with a team that is gone would give nothing, yet break every later
        // change to that resource's shares; it goes with the team, audited.
        let shares = tx.delete_subject_shares(&crate::access::Subject::Team(id)).await?;
        tx.delete_team(id).await?;
        tx.insert_audit(&AuditEvent::by(actor, "team.delete", now).target("team", id).details(json!({
            "name": team.name, "members": members,
            "shares_removed": crate::services::shares::shares_json(&shares),
        })))
        .await?;
        tx.commit().await
    }

    /// Adds a member (admins, or the team's lead).
    pub async fn add_team_member(&self, actor: &Actor, id: TeamId, user: UserId) -> Result<TeamView> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let team = team_or_404(tx.as_mut(), id).await?;
        if !Self::may_manage_members(actor, &team) {
            return Err(Error::Forbidden);
        }
        user_for_team(tx.as_mut(), user, "user_id").await?;
        if tx.add_member(id, user, now).await? {
            tx.insert_audit(
                &AuditEvent::by(actor, "team.member_add", now).target("team", id).details(json!({ "user_id": user.to_string() })),
            )
            .await?;
        }
        let members = tx.team_members(id).await?;
        tx.commit().await?;
        Ok(TeamView { team, members })
    }

    /// Removes a member (admins, or the team's lead); a lead who leaves stops being lead.
    pub async fn remove_team_member(&self, actor: &Actor, id: TeamId, user: UserId) -> Result<TeamView> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let mut team = team_or_404(tx.as_mut(), id).await?;
        if !Self::may_manage_members(actor, &team) {
            return Err(Error::Forbidden);
        }
        if !tx.remove_member(id, user).await? {
            return Err(Error::NotFound("Member"));
        }
        let lead_removed = team.lead_id == Some(user);
        if lead_removed {
            team.lead_id = None;
            team.updated_at = now;
            tx.update_team(&team).await?;
        }
        tx.insert_audit(
            &AuditEvent::by(actor, "team.member_remove", now)
                .target("team", id)
                .details(json!({ "user_id": user.to_string(), "lead_removed": lead_removed })),
        )
        .await?;
        let members = tx.team_members(id).await?;
        tx.commit().await?;
        Ok(TeamView { team, members })
    }

    /// Sets the quotas (admins only; not the lead).
    pub async fn set_team_quotas(&self, actor: &Actor, id: TeamId, quotas: Quotas) -> Result<Team> {
        actor.require(Capability::ManageTeams)?;
        let q = Quotas {
            max_cpu_millis: quota("max_cpu_millis", quotas.max_cpu_millis)?,
            max_memory_mib: quota("max_memory_mib", quotas.max_memory_mib)?,
            max_storage_gib: quota("max_storage_gib", quotas.max_storage_gib)?,
            max_apps: quota("max_apps", quotas.max_apps)?,
            max_workflows: quota("max_workflows", quotas.max_workflows)?,
            max_workspaces: quota("max_workspaces", quotas.max_workspaces)?,
        };
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Team(id)).await?;
        let mut team = team_or_404(tx.as_mut(), id).await?;
        let before = team.quotas;
        tx.set_quotas(id, &q, now).await?;
        team.quotas = q;
        team.updated_at = now;
        tx.insert_audit(
            &AuditEvent::by(actor, "team.quotas", now)
                .target("team", id)
                .details(json!({ "before": quotas_json(&before), "after": quotas_json(&q) })),
        )
        .await?;
        tx.commit().await?;
        Ok(team)
    }

    /// Current use against each quota (admins, and the team's lead).
    pub async fn team_usage(&self, actor: &Actor, id: TeamId) -> Result<(Team, Usage)> {
        let mut tx = self.store.read().await?;
        let team = team_or_404(tx.as_mut(), id).await?;
        if !Self::may_manage_members(actor, &team) {
            return Err(Error::Forbidden);
        }
        let usage = tx.team_usage(id).await?;
        Ok((team, usage))
    }
}

fn quotas_json(q: &Quotas) -> serde_json::Value {
    json!({
        "max_cpu_millis": q.max_cpu_millis, "max_memory_mib": q.max_memory_mib, "max_storage_gib": q.max_storage_gib,
        "max_apps": q.max_apps, "max_workflows": q.max_workflows, "max_workspaces": q.max_workspaces,
    })
}
