//! The platform's resources: creating them (by role, within team quotas), reading what the
//! caller may see, changing and deleting them. Every answer goes through `access::decide`.

use crate::Keyward;
use crate::access::{self, Action, Decision, Kind, Level, Visibility};
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, Resource, Usage, User};
use crate::policy::Capability;
use crate::store::{LockKey, Tx};
use crate::types::{ResourceId, TeamId};
use serde_json::json;
use time::OffsetDateTime;

/// A new resource as asked for.
#[derive(Debug, Clone)]
pub struct NewResource {
    /// What kind of resource it is.
    pub kind: Kind,
    /// Its name: 1 to 200 characters, no control characters.
    pub name: String,
    /// The team that will own it (needs membership, or admin, and room in its quotas).
    pub team_id: Option<TeamId>,
    /// A workspace's project (required for a workspace, refused for other kinds).
    pub project_id: Option<ResourceId>,
    /// CPU it will demand, in thousandths of a core.
    pub cpu_millis: i64,
    /// Memory it will demand, in MiB.
    pub memory_mib: i64,
    /// Storage it will demand, in GiB.
    pub storage_gib: i64,
}

/// Changes to a resource; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ResourceChanges {
    /// A new name.
    pub name: Option<String>,
    /// `Some(None)` takes the resource out of its team.
    pub team_id: Option<Option<TeamId>>,
    /// A new CPU demand, in thousandths of a core.
    pub cpu_millis: Option<i64>,
    /// A new memory demand, in MiB.
    pub memory_mib: Option<i64>,
    /// A new storage demand, in GiB.
    pub storage_gib: Option<i64>,
    /// A data source's visibility (needs the right to share it).
    pub visibility: Option<Visibility>,
}

/// A resource with the caller's access to it.
#[derive(Debug, Clone)]
pub struct Visible {
    /// The resource.
    pub resource: Resource,
    /// The caller's decision on it.
    pub decision: Decision,
}

impl Visible {
    /// Whether the caller may do `action` to the resource (`access::allows`).
    pub fn may(&self, action: Action) -> bool {
        access::allows(&self.decision, action, self.resource.kind)
    }
}

fn name(s: &str) -> Result<String> {
    // Lengths count what was sent, so the limit the API documents is the one applied.
    let (sent, s) = (s.chars().count(), s.trim());
    if let Some(c) = crate::text::forbidden_char(s) {
        return Err(Error::invalid_field("name", "invalid_name", crate::text::forbidden_message("name", c)));
    }
    if s.is_empty() || sent > 200 {
        return Err(Error::invalid_field("name", "invalid_name", "The name must be 1 to 200 characters, without control characters."));
    }
    Ok(s.to_owned())
}

fn demand(field: &'static str, v: i64) -> Result<i64> {
    if !(0..=1_000_000_000).contains(&v) {
        return Err(Error::invalid_field(field, "invalid_demand", format!("{field} must be between 0 and 10^9.")));
    }
    Ok(v)
}

/// Who may create a kind of resource (DESIGN.md §1).
fn create_capability(kind: Kind) -> Capability {
    match kind {
        Kind::App => Capability::DeployApps,
        Kind::DataSource => Capability::CreateDataSources,
        Kind::Project | Kind::Workspace | Kind::Workflow | Kind::Model | Kind::Dashboard | Kind::Report => Capability::CreateWorkflows,
    }
}

/// What one resource adds to its team's usage.
fn usage_of(r: &Resource) -> Usage {
    Usage {
        cpu_millis: r.cpu_millis,
        memory_mib: r.memory_mib,
        storage_gib: r.storage_gib,
        apps: i64::from(r.kind == Kind::App),
        workflows: i64::from(r.kind == Kind::Workflow),
        workspaces: i64::from(r.kind == Kind::Workspace),
    }
}

/// Refuses when adding `extra` to `team`'s usage passes a quota. Call with the team's lock held,
/// so that concurrent requests cannot together pass it.
async fn check_quotas(tx: &mut dyn Tx, team: TeamId, extra: Usage) -> Result<()> {
    let quotas = tx.team_by_id(team).await?.ok_or(Error::NotFound("Team"))?.quotas;
    let used = tx.team_usage(team).await?;
    let checks = [
        ("max_cpu_millis", quotas.max_cpu_millis, used.cpu_millis, extra.cpu_millis),
        ("max_memory_mib", quotas.max_memory_mib, used.memory_mib, extra.memory_mib),
        ("max_storage_gib", quotas.max_storage_gib, used.storage_gib, extra.storage_gib),
        ("max_apps", quotas.max_apps, used.apps, extra.apps),
        ("max_workflows", quotas.max_workflows, used.workflows, extra.workflows),
        ("max_workspaces", quotas.max_workspaces, used.workspaces, extra.workspaces),
    ];
    for (quota, limit, used, requested) in checks {
        if let Some(limit) = limit
            && requested > 0
            && used + requested > limit
        {
            return Err(Error::QuotaExceeded { quota, used, requested, limit });
        }
    }
    Ok(())
}

impl Keyward {
    /// The kinds of resource the actor's role may create (pages offer only these).
    pub fn creatable_kinds(actor: &Actor) -> Vec<Kind> {
        Kind::ALL.into_iter().filter(|k| actor.can(create_capability(*k))).collect()
    }

    /// The decision for `user` on `resource`, from the database as it is now.
    pub(crate) async fn decision(&self, tx: &mut dyn Tx, user: &User, resource: &Resource, now: OffsetDateTime) -> Result<Decision> {
        let grants = tx.grants_for(resource.id, resource.project_id, user.id).await?;
        // The user's real teams (the rule tests a grant's team against them), not ids read back
        // from the grants.
        let teams: Vec<TeamId> = tx.teams_of(user.id).await?;
        // Why: the owner of a project has full access to its workspaces (DESIGN.md §2 rule 3).
        let project_owner_id = match (resource.kind, resource.project_id) {
            (Kind::Workspace, Some(p)) => tx.resource_by_id(p).await?.map(|p| p.owner_id),
            _ => None,
        };
        let decision = access::decide(&access::Facts {
            user_id: user.id,
            role: user.role,
            can_act: user.can_act(now),
            teams: &teams,
            kind: resource.kind,
            owner_id: resource.owner_id,
            project_owner_id,
            visibility: resource.visibility,
            grants: &grants,
            now,
        });
        Ok(decision)
    }

    /// The resource if the actor may see it; 404 otherwise (its existence is not revealed).
    pub(crate) async fn visible(&self, tx: &mut dyn Tx, actor: &Actor, id: ResourceId) -> Result<Visible> {
        let now = self.clock.now();
        let resource = tx.resource_by_id(id).await?.ok_or(Error::NotFound("Resource"))?;
        let decision = self.decision(tx, &actor.user, &resource, now).await?;
        if decision.level < Level::View {
            return Err(Error::NotFound("Resource"));
        }
        Ok(Visible { resource, decision })
    }

    /// Refuses `action` with 403 (the resource is visible, so its existence is no secret).
    pub(crate) fn require_action(v: &Visible, action: Action) -> Result<()> {
        if v.may(action) { Ok(()) } else { Err(Error::Forbidden) }
    }

    /// Registers a resource. Who may create it follows the role matrix; a team resource needs
    /// membership (or admin) and room in the team's quotas.
    pub async fn create_resource(&self, actor: &Actor, new: NewResource) -> Result<Resource> {
        actor.require(create_capability(new.kind))?;
        let name = name(&new.name)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let mut team_id = new.team_id;
        let project_id = match (new.kind, new.project_id) {
            (Kind::Workspace, Some(p)) => {
                let project = self
                    .visible(tx.as_mut(), actor, p)
                    .await
                    .map_err(|_| Error::invalid_field("project_id", "unknown_project", "project_id: no such project."))?;
                if project.resource.kind != Kind::Project {
                    return Err(Error::invalid_field("project_id", "unknown_project", "project_id must name a project."));
                }
                Self::require_action(&project, Action::Edit)?;
                team_id = team_id.or(project.resource.team_id);
                Some(p)
            }
            (Kind::Workspace, None) => {
                return Err(Error::invalid_field(
                    "project_id",
                    "project_required",
                    "A workspace is always inside a project: give project_id.",
                ));
            }
            (_, Some(_)) => return Err(Error::invalid_field("project_id", "project_not_allowed", "Only workspaces belong to a project.")),
            (_, None) => None,
        };
        let resource = Resource {
            id: ResourceId::new(),
            kind: new.kind,
            name,
            owner_id: actor.user.id,
            team_id,
            project_id,
            cpu_millis: demand("cpu_millis", new.cpu_millis)?,
            memory_mib: demand("memory_mib", new.memory_mib)?,
            storage_gib: demand("storage_gib", new.storage_gib)?,
            visibility: Visibility::initial(new.kind),
            created_at: now,
            updated_at: now,
        };
        if let Some(team) = team_id {
            self.enter_team(tx.as_mut(), actor, team, usage_of(&resource)).await?;
        }
        tx.insert_resource(&resource).await?;
        tx.insert_audit(&AuditEvent::by(actor, "resource.create", now).target("resource", resource.id).details(json!({
            "kind": resource.kind.as_str(), "name": resource.name, "team_id": team_id.map(|t| t.to_string()),
            "project_id": project_id.map(|p| p.to_string()),
            "cpu_millis": resource.cpu_millis, "memory_mib": resource.memory_mib, "storage_gib": resource.storage_gib,
        })))
        .await?;
        tx.commit().await?;
        Ok(resource)
    }

    /// Takes the team's lock, checks the actor may put resources in it and that `extra` fits.
    async fn enter_team(&self, tx: &mut dyn Tx, actor: &Actor, team: TeamId, extra: Usage) -> Result<()> {
        tx.lock(LockKey::Team(team)).await?;
        tx.team_by_id(team).await?.ok_or_else(|| Error::invalid_field("team_id", "unknown_team", "team_id: no such team."))?;
        Self::require_team_rights(tx, actor, team).await?;
        check_quotas(tx, team, extra).await
    }

    /// Refuses unless the actor may put resources in `team` or take them out: admins, and the
    /// team's members (its lead is one).
    async fn require_team_rights(tx: &mut dyn Tx, actor: &Actor, team: TeamId) -> Result<()> {
        // Why: a team's resources count against its quotas and are the team's to manage, so
        // moving one in or out is for the team's people, not for anyone with edit on it.
        if actor.can(Capability::ManageTeams) || tx.teams_of(actor.user.id).await?.contains(&team) { Ok(()) } else { Err(Error::Forbidden) }
    }

    /// One resource the actor may see, with their access.
    pub async fn get_resource(&self, actor: &Actor, id: ResourceId) -> Result<Visible> {
        let mut tx = self.store.read().await?;
        self.visible(tx.as_mut(), actor, id).await
    }

    /// The resources the actor may see, by id, `limit` candidates at a time; answers the
    /// visible ones and the cursor of the next page.
    pub async fn list_resources(
        &self,
        actor: &Actor,
        kind: Option<Kind>,
        after: Option<ResourceId>,
        limit: i64,
    ) -> Result<(Vec<Visible>, Option<ResourceId>)> {
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let all = actor.user.role == crate::types::Role::Admin;
        let candidates = tx.candidate_resources(actor.user.id, all, kind, after, limit).await?;
        let next = (candidates.len() as i64 == limit).then(|| candidates.last().map(|r| r.id)).flatten();
        let mut out = Vec::new();
        for resource in candidates {
            let decision = self.decision(tx.as_mut(), &actor.user, &resource, now).await?;
            if decision.level >= Level::View {
                out.push(Visible { resource, decision });
            }
        }
        Ok((out, next))
    }

    /// Renames, resizes or moves a resource (edit access), or sets a data source's visibility
    /// (share access). Moving into or out of a team needs rights on that team (admin, or a
    /// member); moving in also needs room in its quotas, checked under its lock.
    pub async fn update_resource(&self, actor: &Actor, id: ResourceId, changes: ResourceChanges) -> Result<Resource> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        if changes.visibility.is_some() {
            tx.lock(LockKey::Shares(id)).await?;
        }
        let v = self.visible(tx.as_mut(), actor, id).await?;
        Self::require_action(&v, Action::Edit)?;
        let before = v.resource.clone();
        let mut after = before.clone();
        if let Some(n) = changes.name {
            after.name = name(&n)?;
        }
        if let Some(t) = changes.team_id {
            after.team_id = t;
        }
        let all_users_share_added = match changes.visibility {
            Some(to) => {
                Self::require_action(&v, Action::Share)?;
                self.change_visibility(tx.as_mut(), &mut after, to, now).await?
            }
            None => false,
        };
        if let Some(left) = before.team_id
            && after.team_id != Some(left)
        {
            Self::require_team_rights(tx.as_mut(), actor, left).await?;
        }
        after.cpu_millis = demand("cpu_millis", changes.cpu_millis.unwrap_or(before.cpu_millis))?;
        after.memory_mib = demand("memory_mib", changes.memory_mib.unwrap_or(before.memory_mib))?;
        after.storage_gib = demand("storage_gib", changes.storage_gib.unwrap_or(before.storage_gib))?;
        if let Some(team) = after.team_id {
            let (new, old) = (usage_of(&after), usage_of(&before));
            let extra = if before.team_id == Some(team) {
                Usage {
                    cpu_millis: new.cpu_millis - old.cpu_millis,
                    memory_mib: new.memory_mib - old.memory_mib,
                    storage_gib: new.storage_gib - old.storage_gib,
                    ..Usage::default()
                }
            } else {
                new
            };
            if before.team_id == Some(team) {
                tx.lock(LockKey::Team(team)).await?;
                check_quotas(tx.as_mut(), team, extra).await?;
            } else {
                self.enter_team(tx.as_mut(), actor, team, extra).await?;
            }
        }
        after.updated_at = now;
        tx.update_resource(&after).await?;
        tx.insert_audit(&AuditEvent::by(actor, "resource.update", now).target("resource", id).details(json!({
            "name": { "before": before.name, "after": after.name },
            "team_id": { "before": before.team_id.map(|t| t.to_string()), "after": after.team_id.map(|t| t.to_string()) },
            "cpu_millis": { "before": before.cpu_millis, "after": after.cpu_millis },
            "memory_mib": { "before": before.memory_mib, "after": after.memory_mib },
            "storage_gib": { "before": before.storage_gib, "after": after.storage_gib },
            "visibility": { "before": before.visibility.as_str(), "after": after.visibility.as_str(), "all_users_share_added": all_users_share_added },
        })))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a resource (its owner or an admin); a project goes only once its workspaces have.
    pub async fn delete_resource(&self, actor: &Actor, id: ResourceId) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let v = self.visible(tx.as_mut(), actor, id).await?;
        Self::require_action(&v, Action::Delete)?;
        if v.resource.kind == Kind::Project {
            // Why no number: it would count workspaces the caller may not see.
            if tx.workspace_count(id).await? > 0 {
                return Err(Error::conflict("project_has_workspaces", "The project still has workspaces; delete them first."));
            }
        }
        tx.delete_resource(id).await?;
        tx.insert_audit(
            &AuditEvent::by(actor, "resource.delete", now)
                .target("resource", id)
                .details(json!({ "kind": v.resource.kind.as_str(), "name": v.resource.name })),
        )
        .await?;
        tx.commit().await
    }
}
