//! The storage of records and configuration: the audit log, access reviews, job leases,
//! settings and SCIM provisioning.

use crate::chain::StoredEvent;
use crate::error::Result;
use crate::model::{AuditEvent, AuditRecord, ScimToken, ScimUserAttrs, Team, User};
use crate::review::{Review, ReviewId, ReviewItem};
use crate::types::{ResourceId, TeamId, UserId};
use async_trait::async_trait;
use time::OffsetDateTime;

/// Filters of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only events by this actor.
    pub actor_id: Option<UserId>,
    /// Only events of this action (`auth.login`, …).
    pub action: Option<String>,
    /// Only events at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only events before this time.
    pub until: Option<OffsetDateTime>,
    /// Only events about this kind of thing (`user`, `team`, `resource`, …).
    pub target_type: Option<String>,
    /// Only events about this thing.
    pub target_id: Option<String>,
    /// Only events whose id sorts before this (the cursor; newest first).
    pub before: Option<String>,
    /// At most this many events.
    pub limit: i64,
}

/// The audit log: writing events, reading them, its chain, and the activity views.
/// `insert_audit` only queues an event: the store places it in the chain when the transaction
/// commits, under one ordering lock.
#[async_trait]
pub trait AuditStore: Send {
    /// Queues an event to be chained and written at commit; an error outside a write transaction.
    async fn insert_audit(&mut self, event: &AuditEvent) -> Result<()>;
    /// Events matching `filter`, newest first, each with its actor's email.
    async fn list_audit(&mut self, filter: &AuditFilter) -> Result<Vec<AuditRecord>>;
    /// The last chained position and its chain value (0 and `chain::GENESIS` for an empty log).
    async fn audit_head(&mut self) -> Result<(i64, String)>;
    /// Stored events in sequence order with positions in `after_seq + 1 ..= upto_seq` that match
    /// `filter` (its cursor and limit aside), at most `limit`.
    async fn audit_page(&mut self, filter: &AuditFilter, after_seq: i64, upto_seq: i64, limit: i64) -> Result<Vec<StoredEvent>>;
    /// How many events up to `upto_seq` match `filter` (its cursor and limit aside).
    async fn count_audit(&mut self, filter: &AuditFilter, upto_seq: i64) -> Result<i64>;
    /// The id of the first event with no place in the chain (written behind Keyward's back).
    async fn first_unchained_audit_event(&mut self) -> Result<Option<String>>;
    /// The names of the people, teams and resources `refs` holds, read in one query (ids that
    /// no longer exist are left out).
    async fn audit_names(&mut self, refs: &crate::wording::References) -> Result<crate::wording::Names>;
    /// Sign-ins and failed sign-ins in the audit log per UTC day from `since`, counted by the
    /// database: (days since 1970-01-01, sign-ins, failed sign-ins), days without any left out.
    async fn sign_ins_per_day(&mut self, since: OffsetDateTime) -> Result<Vec<(i64, i64, i64)>>;
}

/// Access reviews and their items.
#[async_trait]
pub trait ReviewStore: Send {
    /// What a new access review is built from, read in one go.
    async fn review_facts(&mut self, now: OffsetDateTime) -> Result<ReviewFacts>;
    /// Stores a new review; a second one for the same period is a `review_exists` conflict.
    async fn insert_review(&mut self, review: &Review) -> Result<()>;
    /// Writes the review's mutable fields (status, completion, reminders).
    async fn update_review(&mut self, review: &Review) -> Result<()>;
    /// One review; `None` when there is none.
    async fn review_by_id(&mut self, id: ReviewId) -> Result<Option<Review>>;
    /// Reviews newest first; only open ones when `open_only`.
    async fn list_reviews(&mut self, open_only: bool, limit: i64) -> Result<Vec<Review>>;
    /// Adds an item at `position` (the order the review lists its items in).
    async fn insert_review_item(&mut self, item: &ReviewItem, position: i64) -> Result<()>;
    /// Writes an item's decision, reviewer and outcome.
    async fn update_review_item(&mut self, item: &ReviewItem) -> Result<()>;
    /// A review's items, by their `position`.
    async fn review_items(&mut self, review: ReviewId) -> Result<Vec<ReviewItem>>;
}

/// The facts a new access review is built from.
#[derive(Debug, Clone, Default)]
pub struct ReviewFacts {
    /// Every active user.
    pub users: Vec<User>,
    /// Every team by name, ignoring case (at most 1000, as `list_teams`).
    pub teams: Vec<Team>,
    /// (team, member) pairs.
    pub memberships: Vec<(TeamId, UserId)>,
    /// Live shares giving edit on a data source: (data source id, its name, the subject).
    pub data_source_edit_shares: Vec<(ResourceId, String, crate::access::Subject)>,
    /// Each user's last successful sign-in.
    pub last_sign_ins: std::collections::HashMap<UserId, OffsetDateTime>,
    /// How many resources each user owns.
    pub owned_resources: std::collections::HashMap<UserId, i64>,
    /// How many resources each team owns.
    pub team_resources: std::collections::HashMap<TeamId, i64>,
    /// On how many resources each team holds a share.
    pub team_shares: std::collections::HashMap<TeamId, i64>,
}

/// Leases of background jobs, so that one node runs each job when it is due.
#[async_trait]
pub trait JobStore: Send {
    /// Takes the lease of job `name` for `holder` until `until`, if it is due (`next_run_at` has
    /// come) and nobody else holds it; false otherwise. Several nodes: one wins.
    async fn take_lease(&mut self, name: &str, holder: &str, now: OffsetDateTime, until: OffsetDateTime) -> Result<bool>;
    /// Gives the lease back and says when the job is next due.
    async fn release_lease(&mut self, name: &str, holder: &str, now: OffsetDateTime, next_run_at: OffsetDateTime) -> Result<()>;
}

/// The `settings` table: keyed values such as the security policy.
#[async_trait]
pub trait SettingsStore: Send {
    /// The value stored under `key`; `None` when it was never set.
    async fn setting(&mut self, key: &str) -> Result<Option<String>>;
    /// Stores `value` under `key`; an access-data change when the key is the security policy's.
    async fn put_setting(&mut self, key: &str, value: &str, at: OffsetDateTime) -> Result<()>;
}

/// SCIM provisioning: clients' tokens, and the SCIM attributes of users and groups.
#[async_trait]
pub trait ScimStore: Send {
    /// Stores a new SCIM client's token.
    async fn insert_scim_token(&mut self, token: &ScimToken) -> Result<()>;
    /// The SCIM token with this hash; `None` when there is none.
    async fn scim_token_by_hash(&mut self, token_hash: &str) -> Result<Option<ScimToken>>;
    /// Every SCIM token, oldest first.
    async fn scim_tokens(&mut self) -> Result<Vec<ScimToken>>;
    /// Deletes a SCIM token; false when there was none.
    async fn delete_scim_token(&mut self, id: uuid::Uuid) -> Result<bool>;
    /// Sets a SCIM token's last-used time.
    async fn touch_scim_token(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<()>;
    /// Every user's SCIM attributes (users never written over SCIM have none).
    async fn scim_user_attrs(&mut self) -> Result<Vec<ScimUserAttrs>>;
    /// A user's SCIM attributes; `None` when SCIM never wrote them.
    async fn scim_user_attrs_of(&mut self, user: UserId) -> Result<Option<ScimUserAttrs>>;
    /// Creates or replaces a user's SCIM attributes; a userName taken by another is a conflict.
    async fn put_scim_user_attrs(&mut self, attrs: &ScimUserAttrs) -> Result<()>;
    /// The provider's `externalId` of each team that has one.
    async fn scim_group_external_ids(&mut self) -> Result<Vec<(TeamId, String)>>;
    /// Sets a team's SCIM `externalId`, or clears it with `None`.
    async fn put_scim_group_external_id(&mut self, team: TeamId, external_id: Option<&str>) -> Result<()>;
}
