//! The storage the core needs, as traits; `keyward-store` implements them on SQLite and
//! PostgreSQL. A service takes one `Tx` per request: a read connection, or one write
//! transaction that holds the change and its audit event together.

use crate::access::{Grant, Kind, Level, Subject};
use crate::chain::StoredEvent;
use crate::error::Result;
use crate::model::{
    ApiToken, AuditEvent, AuditRecord, LinkPurpose, LoginAttempt, MfaChallenge, OneTimeLink, ServiceAccount, Session, Throttle, TotpRecord,
    User,
};
use crate::model::{CredentialsInfo, Quotas, Resource, SealedValue, Share, Team, Usage};
use crate::review::{Review, ReviewId, ReviewItem};
use crate::types::{ResourceId, Role, SessionId, ShareId, TeamId, TokenId, UserId, UserStatus};
use async_trait::async_trait;
use time::OffsetDateTime;

/// A database: hands out read connections and write transactions.
#[async_trait]
pub trait Store: Send + Sync {
    /// A connection for reads (no transaction).
    async fn read(&self) -> Result<Box<dyn Tx>>;
    /// A write transaction. On SQLite writers are serialised (they wait, never fail with
    /// "database is locked"); dropping it without `commit` rolls it back.
    async fn write(&self) -> Result<Box<dyn Tx>>;
    /// Whether the database answers.
    async fn ping(&self) -> Result<()>;
    /// `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;
    /// Sets what runs after every committed transaction that changed access data.
    fn set_commit_hook(&self, hook: std::sync::Arc<dyn CommitHook>);
    /// A listener told of every committed change by the database (PostgreSQL's NOTIFY); `None`
    /// where there is none (SQLite: nodes poll the change log).
    async fn change_listener(&self) -> Result<Option<Box<dyn ChangeListener>>>;
    /// Streams every user, then every resource, team membership and share (each table in its
    /// own order) into `sink`: what the authorization index loads at start-up, one query per
    /// table, from one snapshot.
    async fn stream_index_rows(&self, sink: &mut (dyn FnMut(IndexRow) -> Result<()> + Send)) -> Result<()>;
}

/// A row of the bulk the authorization index loads at start-up (`Store::stream_index_rows`).
#[derive(Debug, Clone)]
pub enum IndexRow {
    /// A user, without the password hash.
    User(User),
    /// A resource.
    Resource(Resource),
    /// A team membership.
    Member(TeamId, UserId),
    /// A share as the index keeps it (no id, no creation time).
    Share { resource: ResourceId, subject: Subject, level: Level, expires_at: Option<OffsetDateTime> },
}

/// Runs after a transaction that changed access data has committed (the index's sync).
#[async_trait]
pub trait CommitHook: Send + Sync {
    /// The transaction committed as change-log sequence `seq`.
    async fn committed(&self, seq: i64);
}

/// Waits for the database to say that changes were committed.
#[async_trait]
pub trait ChangeListener: Send {
    /// Returns when a change was committed somewhere (perhaps more than one).
    async fn next(&mut self) -> Result<()>;
}

/// A node's lease, as the `nodes` table keeps it (wall-clock unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLease {
    pub id: String,
    pub started_at: i64,
    pub lease_until: i64,
    pub applied_seq: i64,
    /// Loaded and caught up: writers wait for it.
    pub ready: bool,
}

/// The key a page of shares continues after: resource id, subject type, subject id.
pub type ShareKey = (ResourceId, String, String);

/// A named lock taken inside a write transaction, held until it ends (serialises races such as
/// two admins demoting each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKey {
    /// Changes that could remove the last active admin.
    Admins,
    /// Changes to one team's resources (quota checks).
    Team(TeamId),
    /// Changes to one resource's shares and visibility (so that `If-Match` compares and writes
    /// one state).
    Shares(ResourceId),
}

/// Filters of the user directory.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Case-insensitive part of the name or email.
    pub q: Option<String>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    /// Only members of this team.
    pub team: Option<TeamId>,
    /// Only users whose email key sorts after this (the cursor).
    pub after: Option<String>,
    pub limit: i64,
    /// Only users without MFA.
    pub mfa_off: bool,
    /// Only users not active since this time (never active: not since they were created).
    pub inactive_since: Option<OffsetDateTime>,
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<UserId>,
    pub action: Option<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Only events about this kind of thing (`user`, `team`, `resource`, …).
    pub target_type: Option<String>,
    /// Only events about this thing.
    pub target_id: Option<String>,
    /// Only events whose id sorts before this (the cursor; newest first).
    pub before: Option<String>,
    pub limit: i64,
}

/// Every read and write the core makes, within one connection or transaction.
#[async_trait]
pub trait Tx: Send {
    /// Makes the transaction's changes durable (a no-op for read connections).
    async fn commit(self: Box<Self>) -> Result<()>;
    /// Takes `key` until the transaction ends.
    async fn lock(&mut self, key: LockKey) -> Result<()>;

    // SCIM provisioning: clients' tokens, and the SCIM attributes of users and groups
    async fn insert_scim_token(&mut self, token: &crate::model::ScimToken) -> Result<()>;
    async fn scim_token_by_hash(&mut self, token_hash: &str) -> Result<Option<crate::model::ScimToken>>;
    async fn scim_tokens(&mut self) -> Result<Vec<crate::model::ScimToken>>;
    async fn delete_scim_token(&mut self, id: uuid::Uuid) -> Result<bool>;
    async fn touch_scim_token(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<()>;
    /// Every user's SCIM attributes (users never written over SCIM have none).
    async fn scim_user_attrs(&mut self) -> Result<Vec<crate::model::ScimUserAttrs>>;
    async fn scim_user_attrs_of(&mut self, user: UserId) -> Result<Option<crate::model::ScimUserAttrs>>;
    /// Creates or replaces a user's SCIM attributes; a userName taken by another is a conflict.
    async fn put_scim_user_attrs(&mut self, attrs: &crate::model::ScimUserAttrs) -> Result<()>;
    /// The provider's `externalId` of each team that has one.
    async fn scim_group_external_ids(&mut self) -> Result<Vec<(TeamId, String)>>;
    async fn put_scim_group_external_id(&mut self, team: TeamId, external_id: Option<&str>) -> Result<()>;

    // users
    async fn insert_user(&mut self, user: &User) -> Result<()>;
    async fn update_user(&mut self, user: &User) -> Result<()>;
    async fn user_by_id(&mut self, id: UserId) -> Result<Option<User>>;
    async fn user_by_email(&mut self, email_key: &str) -> Result<Option<User>>;
    /// Active admins without an access end date, leaving out `except`.
    async fn count_lasting_admins(&mut self, except: Option<UserId>) -> Result<i64>;
    /// Deletes a user that never became active (a revoked invitation); false when none.
    async fn delete_invited_user(&mut self, id: UserId) -> Result<bool>;
    /// Creates a service account (a user row of kind service) with its description.
    async fn insert_service_account(&mut self, user: &User, description: Option<&str>) -> Result<()>;
    /// Every service account, by name.
    async fn service_accounts(&mut self) -> Result<Vec<ServiceAccount>>;
    /// One service account; `None` for a person or no one.
    async fn service_account(&mut self, id: UserId) -> Result<Option<ServiceAccount>>;
    /// Deletes a service account and its tokens; false when there was none.
    async fn delete_service_account(&mut self, id: UserId) -> Result<bool>;
    /// Active users whose access end date has passed.
    async fn users_past_access_end(&mut self, now: OffsetDateTime) -> Result<Vec<User>>;
    async fn count_admins(&mut self) -> Result<i64>;
    async fn list_users(&mut self, filter: &UserFilter) -> Result<Vec<User>>;
    async fn touch_user(&mut self, id: UserId, at: OffsetDateTime) -> Result<()>;

    // sessions
    async fn insert_session(&mut self, session: &Session) -> Result<()>;
    async fn session_by_hash(&mut self, token_hash: &str) -> Result<Option<Session>>;
    async fn touch_session(&mut self, id: SessionId, at: OffsetDateTime) -> Result<()>;
    async fn sessions_of(&mut self, user: UserId) -> Result<Vec<Session>>;
    /// Ends one session of `user`; false when there was none.
    async fn delete_session(&mut self, id: SessionId, user: UserId) -> Result<bool>;
    /// Ends every session of `user` but `keep`; answers how many ended.
    async fn delete_sessions_of(&mut self, user: UserId, keep: Option<SessionId>) -> Result<u64>;

    // API tokens
    async fn insert_api_token(&mut self, token: &ApiToken) -> Result<()>;
    async fn api_token_by_hash(&mut self, token_hash: &str) -> Result<Option<ApiToken>>;
    async fn touch_api_token(&mut self, id: TokenId, at: OffsetDateTime) -> Result<()>;
    async fn api_tokens_of(&mut self, user: UserId) -> Result<Vec<ApiToken>>;
    async fn delete_api_token(&mut self, id: TokenId, user: UserId) -> Result<bool>;
    async fn delete_api_tokens_of(&mut self, user: UserId) -> Result<u64>;

    /// Lifts the MFA-enrollment restriction of a session.
    async fn clear_session_mfa_pending(&mut self, id: SessionId) -> Result<()>;

    // MFA
    async fn totp(&mut self, user: UserId) -> Result<Option<TotpRecord>>;
    /// Inserts or replaces the user's authenticator.
    async fn put_totp(&mut self, record: &TotpRecord) -> Result<()>;
    async fn delete_totp(&mut self, user: UserId) -> Result<bool>;
    /// Records `step` as used if it is later than the last one; false when it is not (a replay,
    /// or a concurrent submission that won).
    async fn advance_totp_step(&mut self, user: UserId, step: i64) -> Result<bool>;
    /// Replaces the user's backup codes with these hashes.
    async fn replace_backup_codes(&mut self, user: UserId, hashes: &[String], at: OffsetDateTime) -> Result<()>;
    /// Uses the unused backup code with this hash; false when there is none.
    async fn use_backup_code(&mut self, user: UserId, hash: &str, at: OffsetDateTime) -> Result<bool>;
    async fn unused_backup_codes(&mut self, user: UserId) -> Result<i64>;
    async fn delete_backup_codes(&mut self, user: UserId) -> Result<u64>;
    async fn insert_challenge(&mut self, challenge: &MfaChallenge) -> Result<()>;
    async fn challenge_by_hash(&mut self, token_hash: &str) -> Result<Option<MfaChallenge>>;
    /// Marks a challenge used; false when it was used already.
    async fn use_challenge(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool>;

    // one-time links
    async fn insert_link(&mut self, link: &OneTimeLink) -> Result<()>;
    async fn link_by_hash(&mut self, token_hash: &str) -> Result<Option<OneTimeLink>>;
    /// Marks the link used; false when it was used already (a race lost).
    async fn use_link(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool>;
    /// The newest link of `purpose` for `user`.
    async fn latest_link(&mut self, user: UserId, purpose: LinkPurpose) -> Result<Option<OneTimeLink>>;
    /// Deletes the unused links of `purpose` for `user` (a resend kills the old link).
    async fn delete_unused_links(&mut self, user: UserId, purpose: LinkPurpose) -> Result<u64>;

    // sign-in attempts and throttles
    async fn insert_login_attempt(&mut self, attempt: &LoginAttempt) -> Result<()>;
    async fn login_attempts_of(&mut self, user: UserId, limit: i64) -> Result<Vec<LoginAttempt>>;
    async fn throttle(&mut self, key: &str) -> Result<Option<Throttle>>;

    // audit
    async fn insert_audit(&mut self, event: &AuditEvent) -> Result<()>;
    async fn list_audit(&mut self, filter: &AuditFilter) -> Result<Vec<AuditRecord>>;

    // teams
    async fn insert_team(&mut self, team: &Team) -> Result<()>;
    async fn update_team(&mut self, team: &Team) -> Result<()>;
    async fn set_quotas(&mut self, team: TeamId, quotas: &Quotas, at: OffsetDateTime) -> Result<()>;
    async fn delete_team(&mut self, team: TeamId) -> Result<bool>;
    async fn team_by_id(&mut self, id: TeamId) -> Result<Option<Team>>;
    async fn list_teams(&mut self) -> Result<Vec<Team>>;
    async fn team_members(&mut self, team: TeamId) -> Result<Vec<User>>;
    /// Adds a member; false when already one.
    async fn add_member(&mut self, team: TeamId, user: UserId, at: OffsetDateTime) -> Result<bool>;
    /// Removes a member; false when not one.
    async fn remove_member(&mut self, team: TeamId, user: UserId) -> Result<bool>;
    /// The teams a user is in.
    async fn teams_of(&mut self, user: UserId) -> Result<Vec<TeamId>>;
    /// The teams of many users at once, as (user, team) pairs.
    async fn teams_of_users(&mut self, users: &[UserId]) -> Result<Vec<(UserId, Team)>>;
    async fn team_usage(&mut self, team: TeamId) -> Result<Usage>;
    async fn team_resource_count(&mut self, team: TeamId) -> Result<i64>;

    // resources and shares
    async fn insert_resource(&mut self, resource: &Resource) -> Result<()>;
    async fn update_resource(&mut self, resource: &Resource) -> Result<()>;
    async fn delete_resource(&mut self, id: ResourceId) -> Result<bool>;
    async fn resource_by_id(&mut self, id: ResourceId) -> Result<Option<Resource>>;
    /// Workspaces of a project.
    async fn workspace_count(&mut self, project: ResourceId) -> Result<i64>;
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
    async fn shares_of(&mut self, resource: ResourceId) -> Result<Vec<Share>>;
    /// The shares on `resource` (and `project`) whose subject is `user`, one of the user's
    /// teams, or everyone: what a decision needs.
    async fn grants_for(&mut self, resource: ResourceId, project: Option<ResourceId>, user: UserId) -> Result<Vec<Grant>>;
    async fn replace_shares(&mut self, resource: ResourceId, shares: &[Share]) -> Result<()>;
    async fn put_credentials(&mut self, resource: ResourceId, sealed: &str, by: UserId, at: OffsetDateTime) -> Result<()>;
    async fn credentials_info(&mut self, resource: ResourceId) -> Result<Option<CredentialsInfo>>;
    /// Every sealed value (key rotation).
    async fn sealed_values(&mut self) -> Result<Vec<SealedValue>>;
    async fn update_sealed(&mut self, value: &SealedValue) -> Result<()>;

    // settings
    async fn setting(&mut self, key: &str) -> Result<Option<String>>;
    async fn put_setting(&mut self, key: &str, value: &str, at: OffsetDateTime) -> Result<()>;

    // authentication hardening: attempts counted before they are evaluated
    /// Counts one more attempt against `key` in one statement, unless the key is locked at
    /// `now` or has attempts pending with its `free` budget used up: answers the key as counted
    /// (its row stays locked until the transaction ends), or as found (nothing counted).
    /// Failures whose last one is at or before `window_start` start over; attempts pending
    /// since before `pending_since` are abandoned.
    async fn raise_throttle(
        &mut self,
        key: &str,
        free: i64,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
        pending_since: OffsetDateTime,
    ) -> Result<ThrottleRaise>;
    /// Settles one attempt counted by `raise_throttle` once it has been evaluated (or locks the
    /// key); answers the key as it then stands, if it exists.
    async fn settle_throttle(&mut self, key: &str, settle: ThrottleSettle) -> Result<Option<Throttle>>;
    // access reviews, offboarding and job leases
    /// What a new access review is built from, read in one go.
    async fn review_facts(&mut self, now: OffsetDateTime) -> Result<ReviewFacts>;
    async fn insert_review(&mut self, review: &Review) -> Result<()>;
    /// Writes the review's mutable fields (status, completion, reminders).
    async fn update_review(&mut self, review: &Review) -> Result<()>;
    async fn review_by_id(&mut self, id: ReviewId) -> Result<Option<Review>>;
    /// Reviews newest first; only open ones when `open_only`.
    async fn list_reviews(&mut self, open_only: bool, limit: i64) -> Result<Vec<Review>>;
    /// Adds an item at `position` (the order the review lists its items in).
    async fn insert_review_item(&mut self, item: &ReviewItem, position: i64) -> Result<()>;
    /// Writes an item's decision, reviewer and outcome.
    async fn update_review_item(&mut self, item: &ReviewItem) -> Result<()>;
    async fn review_items(&mut self, review: ReviewId) -> Result<Vec<ReviewItem>>;
    /// Active users whose last activity (or creation, if never active) is before `cutoff`.
    async fn inactive_users(&mut self, cutoff: OffsetDateTime) -> Result<Vec<User>>;
    /// Active users whose access ends between `from` and `to`, soonest first.
    async fn departures(&mut self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<User>>;
    /// Failed sign-in attempts since `since`.
    async fn count_failed_sign_ins(&mut self, since: OffsetDateTime) -> Result<i64>;
    /// Takes the lease of job `name` for `holder` until `until`, if it is due (`next_run_at` has
    /// come) and nobody else holds it; false otherwise. Several nodes: one wins.
    async fn take_lease(&mut self, name: &str, holder: &str, now: OffsetDateTime, until: OffsetDateTime) -> Result<bool>;
    /// Gives the lease back and says when the job is next due.
    async fn release_lease(&mut self, name: &str, holder: &str, now: OffsetDateTime, next_run_at: OffsetDateTime) -> Result<()>;
    // the authorization index: its change log, loading it, and the nodes that hold it
    /// The sequence of the last committed change to access data.
    async fn authz_seq(&mut self) -> Result<i64>;
    /// Changes after `seq`, in order, at most `limit` rows.
    async fn authz_changes_after(&mut self, seq: i64, limit: i64) -> Result<Vec<(i64, crate::index::Change)>>;
    async fn users_page(&mut self, after: Option<UserId>, limit: i64) -> Result<Vec<User>>;
    async fn memberships_page(&mut self, after: Option<(TeamId, UserId)>, limit: i64) -> Result<Vec<(TeamId, UserId)>>;
    async fn resources_page(&mut self, after: Option<ResourceId>, limit: i64) -> Result<Vec<Resource>>;
    async fn shares_page(&mut self, after: Option<ShareKey>, limit: i64) -> Result<Vec<Share>>;
    async fn api_tokens_page(&mut self, after: Option<TokenId>, limit: i64) -> Result<Vec<ApiToken>>;
    /// Inserts or replaces a node's lease row.
    async fn put_node(&mut self, node: &NodeLease) -> Result<()>;
    async fn remove_node(&mut self, id: &str) -> Result<()>;
    /// Every node with a live lease at `now_ms`.
    async fn live_nodes(&mut self, now_ms: i64) -> Result<Vec<NodeLease>>;
    /// Deletes change-log rows older than `before` (nodes that far behind reload).
    async fn prune_authz_changes(&mut self, before: OffsetDateTime) -> Result<u64>;
    // sharing (task C): single-share operations, team shares on team deletion, workspaces of a project
    /// Adds a share, or changes the level and end of the subject's share on that resource (it
    /// keeps its id); answers the share as stored.
    async fn upsert_share(&mut self, share: &Share) -> Result<Share>;
    /// Removes share `id` of `resource`; answers it, or `None` when there was none.
    async fn delete_share(&mut self, resource: ResourceId, id: ShareId) -> Result<Option<Share>>;
    /// Removes every share whose subject is `subject` (a team being deleted); answers them.
    async fn delete_subject_shares(&mut self, subject: &Subject) -> Result<Vec<Share>>;
    /// The workspaces of a project, by id, at most `limit`.
    async fn workspaces_of(&mut self, project: ResourceId, limit: i64) -> Result<Vec<Resource>>;
    /// Sets a resource's visibility (and `updated_at`) and nothing else.
    async fn set_visibility(&mut self, resource: ResourceId, visibility: crate::access::Visibility, at: OffsetDateTime) -> Result<()>;
    // audit chain and export (the audit area). `insert_audit` only queues an event: the store
    // places it in the chain when the transaction commits, under one ordering lock.
    /// The last chained position and its chain value (0 and `chain::GENESIS` for an empty log).
    async fn audit_head(&mut self) -> Result<(i64, String)>;
    /// Stored events in sequence order with positions in `after_seq + 1 ..= upto_seq` that match
    /// `filter` (its cursor and limit aside), at most `limit`.
    async fn audit_page(&mut self, filter: &AuditFilter, after_seq: i64, upto_seq: i64, limit: i64) -> Result<Vec<StoredEvent>>;
    /// How many events up to `upto_seq` match `filter` (its cursor and limit aside).
    async fn count_audit(&mut self, filter: &AuditFilter, upto_seq: i64) -> Result<i64>;
    /// The id of the first event with no place in the chain (written behind Keyward's back).
    async fn first_unchained_audit_event(&mut self) -> Result<Option<String>>;
    // activity views
    /// The names of the people, teams and resources `refs` holds, read in one query (ids that
    /// no longer exist are left out).
    async fn audit_names(&mut self, refs: &crate::wording::References) -> Result<crate::wording::Names>;
    /// Sign-ins and failed sign-ins in the audit log per UTC day from `since`, counted by the
    /// database: (days since 1970-01-01, sign-ins, failed sign-ins), days without any left out.
    async fn sign_ins_per_day(&mut self, since: OffsetDateTime) -> Result<Vec<(i64, i64, i64)>>;
}

/// What raising a throttle's counter found.
#[derive(Debug, Clone)]
pub enum ThrottleRaise {
    /// The attempt is counted: the key as it now stands (not locked).
    Counted(Throttle),
    /// The key is locked, or its budget is held by pending attempts; nothing was counted.
    Blocked(Throttle),
}

/// How an attempt counted by `Tx::raise_throttle` turned out.
#[derive(Debug, Clone, Copy)]
pub enum ThrottleSettle {
    /// Wrong: it stays counted, as a failure at `at`.
    Failed { at: OffsetDateTime },
    /// Right: its count goes back, and the lock with it when fewer than `free` remain.
    Refunded { free: i64 },
    /// A complete sign-in: the key's failures are cleared but for other attempts still being
    /// evaluated (pending since `pending_since`).
    Cleared { pending_since: OffsetDateTime },
    /// Not an attempt: the key is locked until at least `until` (the delay a failure earned).
    Locked { until: OffsetDateTime },
}

/// The facts a new access review is built from.
#[derive(Debug, Clone, Default)]
pub struct ReviewFacts {
    /// Every active user.
    pub users: Vec<User>,
    pub teams: Vec<crate::model::Team>,
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
