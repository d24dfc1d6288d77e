//! The storage of access data: teams, resources, shares, and the authorization index's change
//! log and node leases.

use crate::access::{Grant, Kind, Subject, Visibility};
use crate::error::Result;
use crate::model::{ApiToken, CredentialsInfo, Quotas, Resource, SealedValue, Share, Team, Usage, User};
use crate::types::{ResourceId, ShareId, TeamId, TokenId, UserId};
use async_trait::async_trait;
use time::OffsetDateTime;

/// The `teams` and `team_members` tables, and a team's usage of its quotas.
#[async_trait]
pub trait TeamStore: Send {
    /// Creates a team with its quotas; a name another team has (ignoring case) is a `team_name_taken` conflict.
    async fn insert_team(&mut self, team: &Team) -> Result<()>;
    /// Writes a team's name, description and lead (quotas: `set_quotas`); a taken name is a `team_name_taken` conflict.
    async fn update_team(&mut self, team: &Team) -> Result<()>;
    /// Writes a team's quotas and `updated_at`.
    async fn set_quotas(&mut self, team: TeamId, quotas: &Quotas, at: OffsetDateTime) -> Result<()>;
    /// Deletes a team and its memberships, as an access-data change; false when there was none.
    async fn delete_team(&mut self, team: TeamId) -> Result<bool>;
    /// One team; `None` when there is none.
    async fn team_by_id(&mut self, id: TeamId) -> Result<Option<Team>>;
    /// Every team by name, ignoring case (at most 1000).
    async fn list_teams(&mut self) -> Result<Vec<Team>>;
    /// A team's members, whatever their status, by email.
    async fn team_members(&mut self, team: TeamId) -> Result<Vec<User>>;
    /// Adds a member; false when already one.
    async fn add_member(&mut self, team: TeamId, user: UserId, at: OffsetDateTime) -> Result<bool>;
    /// Removes a member; false when not one.
    async fn remove_member(&mut self, team: TeamId, user: UserId) -> Result<bool>;
    /// The teams a user is in.
    async fn teams_of(&mut self, user: UserId) -> Result<Vec<TeamId>>;
    /// The teams of many users at once, as (user, team) pairs.
    async fn teams_of_users(&mut self, users: &[UserId]) -> Result<Vec<(UserId, Team)>>;
    /// What a team's resources use: CPU, memory and storage summed, apps, workflows and workspaces counted.
    async fn team_usage(&mut self, team: TeamId) -> Result<Usage>;
    /// How many resources belong to a team.
    async fn team_resource_count(&mut self, team: TeamId) -> Result<i64>;
}

/// The `resources` and `credentials` tables, and the sealed values key rotation re-seals.
#[async_trait]
pub trait ResourceStore: Send {
    /// Creates a resource, as an access-data change.
    async fn insert_resource(&mut self, resource: &Resource) -> Result<()>;
    /// Writes a resource's name, team, sizes and visibility (not its kind, owner or project), as an access-data change.
    async fn update_resource(&mut self, resource: &Resource) -> Result<()>;
    /// Deletes a resource with its shares and credentials, as an access-data change; false when there was none.
    async fn delete_resource(&mut self, id: ResourceId) -> Result<bool>;
    /// One resource; `None` when there is none.
    async fn resource_by_id(&mut self, id: ResourceId) -> Result<Option<Resource>>;
    /// Workspaces of a project.
    async fn workspace_count(&mut self, project: ResourceId) -> Result<i64>;
    /// The workspaces of a project, by id, at most `limit`.
    async fn workspaces_of(&mut self, project: ResourceId, limit: i64) -> Result<Vec<Resource>>;
    /// Resources `user` might see: owned, or shared with the user, their teams or everyone
    /// (directly or through a workspace's project); every resource when `all`. The caller
    /// still decides each one.
    async fn candidate_resources(
        &mut self,
        user: UserId,
        all: bool,
        kind: Option<Kind>,
        after: Option<ResourceId>,
        limit: i64,
    ) -> Result<Vec<Resource>>;
    /// Sets a resource's visibility (and `updated_at`) and nothing else.
    async fn set_visibility(&mut self, resource: ResourceId, visibility: Visibility, at: OffsetDateTime) -> Result<()>;
    /// Stores a resource's sealed credentials, replacing any, with who wrote them and when.
    async fn put_credentials(&mut self, resource: ResourceId, sealed: &str, by: UserId, at: OffsetDateTime) -> Result<()>;
    /// When and by whom a resource's credentials were last written (never the value); `None` when it has none.
    async fn credentials_info(&mut self, resource: ResourceId) -> Result<Option<CredentialsInfo>>;
    /// Every sealed value (key rotation).
    async fn sealed_values(&mut self) -> Result<Vec<SealedValue>>;
    /// Writes back one value sealed again under the new key.
    async fn update_sealed(&mut self, value: &SealedValue) -> Result<()>;
}

/// The `shares` table: who a resource is shared with, at which level.
#[async_trait]
pub trait ShareStore: Send {
    /// A resource's own shares (not its project's), expired ones included, by subject.
    async fn shares_of(&mut self, resource: ResourceId) -> Result<Vec<Share>>;
    /// The shares on `resource` (and `project`) whose subject is `user`, one of the user's
    /// teams, or everyone: what a decision needs.
    async fn grants_for(&mut self, resource: ResourceId, project: Option<ResourceId>, user: UserId) -> Result<Vec<Grant>>;
    /// Replaces every share of `resource` with `shares`, as an access-data change.
    async fn replace_shares(&mut self, resource: ResourceId, shares: &[Share]) -> Result<()>;
    /// Adds a share, or changes the level and end of the subject's share on that resource (it
    /// keeps its id); answers the share as stored.
    async fn upsert_share(&mut self, share: &Share) -> Result<Share>;
    /// Removes share `id` of `resource`; answers it, or `None` when there was none.
    async fn delete_share(&mut self, resource: ResourceId, id: ShareId) -> Result<Option<Share>>;
    /// Removes every share whose subject is `subject` (a team being deleted); answers them.
    async fn delete_subject_shares(&mut self, subject: &Subject) -> Result<Vec<Share>>;
}

/// A node's lease, as the `nodes` table keeps it (wall-clock unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLease {
    /// The node's name (`node-<uuid>`, new at each start).
    pub id: String,
    /// When the node started.
    pub started_at: i64,
    /// When the lease runs out unless renewed; after that the node counts as gone.
    pub lease_until: i64,
    /// The last change-log sequence the node's index has applied.
    pub applied_seq: i64,
    /// Loaded and caught up: writers wait for it.
    pub ready: bool,
}

/// The authorization index's storage: its change log, loading it, and the nodes that hold it.
#[async_trait]
pub trait IndexStore: Send {
    /// The sequence of the last committed change to access data.
    async fn authz_seq(&mut self) -> Result<i64>;
    /// Changes after `seq`, in order, at most `limit` rows.
    async fn authz_changes_after(&mut self, seq: i64, limit: i64) -> Result<Vec<(i64, crate::index::Change)>>;
    /// Users by id after `after`, at most `limit`: people and service accounts, whatever their status.
    async fn users_page(&mut self, after: Option<UserId>, limit: i64) -> Result<Vec<User>>;
    /// API tokens by id after `after`, at most `limit`; expired ones included.
    async fn api_tokens_page(&mut self, after: Option<TokenId>, limit: i64) -> Result<Vec<ApiToken>>;
    /// Inserts or replaces a node's lease row.
    async fn put_node(&mut self, node: &NodeLease) -> Result<()>;
    /// Deletes a node's lease row (the node is stopping).
    async fn remove_node(&mut self, id: &str) -> Result<()>;
    /// Every node with a live lease at `now_ms`.
    async fn live_nodes(&mut self, now_ms: i64) -> Result<Vec<NodeLease>>;
    /// Deletes change-log rows older than `before` (nodes that far behind reload).
    async fn prune_authz_changes(&mut self, before: OffsetDateTime) -> Result<u64>;
}
