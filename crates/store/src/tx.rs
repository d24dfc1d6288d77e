//! `SqlTx`: one pooled connection, plain for reads or inside a transaction for writes, and the
//! `Tx` trait on it (each method delegates to the module that owns the table).

use crate::{
    Engine, audit, authz, chain, db_err, links, mfa, resources, reviews, scim, service_accounts, sessions, shares, teams, throttles, users,
};
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::access::{Grant, Kind, Subject, Visibility};
use keyward_core::chain::{ChainKeys, StoredEvent};
use keyward_core::index::Change;
use keyward_core::model::{
    ApiToken, AuditEvent, AuditRecord, LinkPurpose, LoginAttempt, MfaChallenge, OneTimeLink, ServiceAccount, Session, Throttle, TotpRecord,
    User,
};
use keyward_core::model::{CredentialsInfo, Quotas, Resource, SealedValue, Share, Team, Usage};
use keyward_core::review::{Review, ReviewId, ReviewItem};
use keyward_core::store::ReviewFacts;
use keyward_core::store::{AuditFilter, LockKey, ThrottleRaise, ThrottleSettle, Tx, UserFilter};
use keyward_core::store::{CommitHook, NodeLease, ShareKey};
use keyward_core::types::{ResourceId, SessionId, ShareId, TeamId, TokenId, UserId};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Transaction};
use std::collections::BTreeSet;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::OwnedMutexGuard;

enum Conn {
    Plain(PoolConnection<Any>),
    Tx(Transaction<'static, Any>),
}

pub struct SqlTx {
    conn: Conn,
    engine: Engine,
    /// Held until the transaction ends (SQLite's single writer).
    writer: Option<OwnedMutexGuard<()>>,
    /// What this transaction changed in the access data: recorded in the change log at commit
    /// by the store methods themselves, so no write path can forget it.
    changes: BTreeSet<Change>,
    /// Told after commit (the index's sync).
    hook: Option<Arc<dyn CommitHook>>,
    /// The audit chain's keys, and the events this transaction wrote, in order: they are
    /// chained and inserted at commit (`chain::append`), so no write path can skip the chain.
    chain: Arc<ChainKeys>,
    pending_audit: Vec<StoredEvent>,
}

impl SqlTx {
    pub fn plain(conn: PoolConnection<Any>, engine: Engine, chain: Arc<ChainKeys>) -> Self {
        SqlTx { conn: Conn::Plain(conn), engine, writer: None, changes: BTreeSet::new(), hook: None, chain, pending_audit: Vec::new() }
    }

    pub fn transaction(
        tx: Transaction<'static, Any>,
        engine: Engine,
        writer: Option<OwnedMutexGuard<()>>,
        chain: Arc<ChainKeys>,
        hook: Option<Arc<dyn CommitHook>>,
    ) -> Self {
        SqlTx { conn: Conn::Tx(tx), engine, writer, changes: BTreeSet::new(), hook, chain, pending_audit: Vec::new() }
    }

    /// Notes a change to access data, for the change log.
    fn changed(&mut self, change: Change) {
        self.changes.insert(change);
    }

    pub(crate) fn c(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Conn::Plain(c) => c,
            Conn::Tx(t) => t,
        }
    }
}

#[async_trait]
impl Tx for SqlTx {
    async fn commit(self: Box<Self>) -> Result<()> {
        let SqlTx { conn, engine, writer, changes, hook, chain, mut pending_audit } = *self;
        let Conn::Tx(mut t) = conn else { return Ok(()) };
        // Both ordering points sit at the very end, always in this order (the access-data
        // sequence, then the audit head), so two writers can never wait on each other in a cycle.
        let seq = if changes.is_empty() { None } else { Some(authz::record(&mut t, engine, &changes, OffsetDateTime::now_utc()).await?) };
        if !pending_audit.is_empty() {
            chain::append(&mut t, engine, &chain, &mut pending_audit).await?;
        }
        t.commit().await.map_err(db_err)?;
        // The next writer may go while this one waits for the nodes to apply its change.
        drop(writer);
        if let (Some(seq), Some(hook)) = (seq, hook) {
            hook.committed(seq).await;
        }
        Ok(())
    }

    async fn lock(&mut self, key: LockKey) -> Result<()> {
        match self.engine {
            // SQLite already serialises every writer.
            Engine::Sqlite => Ok(()),
            // Two-int keys: class 7201 holds the named locks, the second int the instance.
            Engine::Postgres => {
                let (class, instance) = match key {
                    LockKey::Admins => ("admins", String::new()),
                    LockKey::Team(t) => ("team", t.to_string()),
                    LockKey::Shares(r) => ("shares", r.to_string()),
                };
                sqlx::query("SELECT pg_advisory_xact_lock(7201, hashtext($1 || ':' || $2))")
                    .bind(class)
                    .bind(instance)
                    .execute(self.c())
                    .await
                    .map(|_| ())
                    .map_err(db_err)
            }
        }
    }

    async fn insert_scim_token(&mut self, token: &keyward_core::model::ScimToken) -> Result<()> {
        scim::insert_token(self.c(), token).await
    }
    async fn scim_token_by_hash(&mut self, token_hash: &str) -> Result<Option<keyward_core::model::ScimToken>> {
        scim::token_by_hash(self.c(), token_hash).await
    }
    async fn scim_tokens(&mut self) -> Result<Vec<keyward_core::model::ScimToken>> {
        scim::tokens(self.c()).await
    }
    async fn delete_scim_token(&mut self, id: uuid::Uuid) -> Result<bool> {
        scim::delete_token(self.c(), id).await
    }
    async fn touch_scim_token(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<()> {
        scim::touch_token(self.c(), id, at).await
    }
    async fn scim_user_attrs(&mut self) -> Result<Vec<keyward_core::model::ScimUserAttrs>> {
        scim::user_attrs(self.c()).await
    }
    async fn scim_user_attrs_of(&mut self, user: UserId) -> Result<Option<keyward_core::model::ScimUserAttrs>> {
        scim::user_attrs_of(self.c(), user).await
    }
    async fn put_scim_user_attrs(&mut self, attrs: &keyward_core::model::ScimUserAttrs) -> Result<()> {
        scim::put_user_attrs(self.c(), attrs).await
    }
    async fn scim_group_external_ids(&mut self) -> Result<Vec<(TeamId, String)>> {
        scim::group_external_ids(self.c()).await
    }
    async fn put_scim_group_external_id(&mut self, team: TeamId, external_id: Option<&str>) -> Result<()> {
        scim::put_group_external_id(self.c(), team, external_id).await
    }

    async fn insert_user(&mut self, user: &User) -> Result<()> {
        users::insert(self.c(), user).await?;
        self.changed(Change::User(user.id));
        Ok(())
    }
    async fn update_user(&mut self, user: &User) -> Result<()> {
        users::update(self.c(), user).await?;
        self.changed(Change::User(user.id));
        Ok(())
    }
    async fn user_by_id(&mut self, id: UserId) -> Result<Option<User>> {
        users::by_id(self.c(), id).await
    }
    async fn user_by_email(&mut self, email_key: &str) -> Result<Option<User>> {
        users::by_email(self.c(), email_key).await
    }
    async fn count_lasting_admins(&mut self, except: Option<UserId>) -> Result<i64> {
        users::count_lasting_admins(self.c(), except).await
    }
    async fn delete_invited_user(&mut self, id: UserId) -> Result<bool> {
        self.changed(Change::User(id));
        users::delete_invited(self.c(), id).await
    }
    async fn insert_service_account(&mut self, user: &User, description: Option<&str>) -> Result<()> {
        service_accounts::insert(self.c(), user, description).await?;
        self.changed(Change::User(user.id));
        Ok(())
    }
    async fn service_accounts(&mut self) -> Result<Vec<ServiceAccount>> {
        service_accounts::list(self.c()).await
    }
    async fn service_account(&mut self, id: UserId) -> Result<Option<ServiceAccount>> {
        service_accounts::by_id(self.c(), id).await
    }
    async fn delete_service_account(&mut self, id: UserId) -> Result<bool> {
        let done = service_accounts::delete(self.c(), id).await?;
        // Why both: the row and every token of it leave each node's index with this commit.
        self.changed(Change::User(id));
        self.changed(Change::Tokens(id));
        Ok(done)
    }
    async fn users_past_access_end(&mut self, now: OffsetDateTime) -> Result<Vec<User>> {
        users::past_access_end(self.c(), now).await
    }
    async fn count_admins(&mut self) -> Result<i64> {
        users::count_admins(self.c()).await
    }
    async fn list_users(&mut self, filter: &UserFilter) -> Result<Vec<User>> {
        users::list(self.c(), filter).await
    }
    async fn touch_user(&mut self, id: UserId, at: OffsetDateTime) -> Result<()> {
        users::touch(self.c(), id, at).await
    }

    async fn insert_session(&mut self, session: &Session) -> Result<()> {
        sessions::insert(self.c(), session).await
    }
    async fn session_by_hash(&mut self, token_hash: &str) -> Result<Option<Session>> {
        sessions::by_hash(self.c(), token_hash).await
    }
    async fn touch_session(&mut self, id: SessionId, at: OffsetDateTime) -> Result<()> {
        sessions::touch(self.c(), id, at).await
    }
    async fn sessions_of(&mut self, user: UserId) -> Result<Vec<Session>> {
        sessions::of_user(self.c(), user).await
    }
    async fn delete_session(&mut self, id: SessionId, user: UserId) -> Result<bool> {
        sessions::delete(self.c(), id, user).await
    }
    async fn delete_sessions_of(&mut self, user: UserId, keep: Option<SessionId>) -> Result<u64> {
        sessions::delete_of_user(self.c(), user, keep).await
    }

    async fn clear_session_mfa_pending(&mut self, id: SessionId) -> Result<()> {
        sessions::clear_mfa_pending(self.c(), id).await
    }

    async fn totp(&mut self, user: UserId) -> Result<Option<TotpRecord>> {
        mfa::totp(self.c(), user).await
    }
    async fn put_totp(&mut self, record: &TotpRecord) -> Result<()> {
        mfa::put_totp(self.c(), record).await
    }
    async fn delete_totp(&mut self, user: UserId) -> Result<bool> {
        mfa::delete_totp(self.c(), user).await
    }
    async fn advance_totp_step(&mut self, user: UserId, step: i64) -> Result<bool> {
        mfa::advance_step(self.c(), user, step).await
    }
    async fn replace_backup_codes(&mut self, user: UserId, hashes: &[String], at: OffsetDateTime) -> Result<()> {
        mfa::replace_backup_codes(self.c(), user, hashes, at).await
    }
    async fn use_backup_code(&mut self, user: UserId, hash: &str, at: OffsetDateTime) -> Result<bool> {
        mfa::use_backup_code(self.c(), user, hash, at).await
    }
    async fn unused_backup_codes(&mut self, user: UserId) -> Result<i64> {
        mfa::unused_backup_codes(self.c(), user).await
    }
    async fn delete_backup_codes(&mut self, user: UserId) -> Result<u64> {
        mfa::delete_backup_codes(self.c(), user).await
    }
    async fn insert_challenge(&mut self, challenge: &MfaChallenge) -> Result<()> {
        mfa::insert_challenge(self.c(), challenge).await
    }
    async fn challenge_by_hash(&mut self, token_hash: &str) -> Result<Option<MfaChallenge>> {
        mfa::challenge_by_hash(self.c(), token_hash).await
    }
    async fn use_challenge(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool> {
        mfa::use_challenge(self.c(), id, at).await
    }

    async fn insert_api_token(&mut self, token: &ApiToken) -> Result<()> {
        sessions::insert_token(self.c(), token).await?;
        self.changed(Change::Tokens(token.user_id));
        Ok(())
    }
    async fn api_token_by_hash(&mut self, token_hash: &str) -> Result<Option<ApiToken>> {
        sessions::token_by_hash(self.c(), token_hash).await
    }
    async fn touch_api_token(&mut self, id: TokenId, at: OffsetDateTime) -> Result<()> {
        sessions::touch_token(self.c(), id, at).await
    }
    async fn api_tokens_of(&mut self, user: UserId) -> Result<Vec<ApiToken>> {
        sessions::tokens_of(self.c(), user).await
    }
    async fn delete_api_token(&mut self, id: TokenId, user: UserId) -> Result<bool> {
        let done = sessions::delete_token(self.c(), id, user).await?;
        self.changed(Change::Tokens(user));
        Ok(done)
    }
    async fn delete_api_tokens_of(&mut self, user: UserId) -> Result<u64> {
        let done = sessions::delete_tokens_of(self.c(), user).await?;
        self.changed(Change::Tokens(user));
        Ok(done)
    }

    async fn insert_link(&mut self, link: &OneTimeLink) -> Result<()> {
        links::insert(self.c(), link).await
    }
    async fn link_by_hash(&mut self, token_hash: &str) -> Result<Option<OneTimeLink>> {
        links::by_hash(self.c(), token_hash).await
    }
    async fn use_link(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool> {
        links::mark_used(self.c(), id, at).await
    }
    async fn latest_link(&mut self, user: UserId, purpose: LinkPurpose) -> Result<Option<OneTimeLink>> {
        links::latest(self.c(), user, purpose).await
    }
    async fn delete_unused_links(&mut self, user: UserId, purpose: LinkPurpose) -> Result<u64> {
        links::delete_unused(self.c(), user, purpose).await
    }

    async fn insert_login_attempt(&mut self, attempt: &LoginAttempt) -> Result<()> {
        audit::insert_attempt(self.c(), attempt).await
    }
    async fn login_attempts_of(&mut self, user: UserId, limit: i64) -> Result<Vec<LoginAttempt>> {
        audit::attempts_of(self.c(), user, limit).await
    }
    async fn throttle(&mut self, key: &str) -> Result<Option<Throttle>> {
        links::throttle(self.c(), key).await
    }

    async fn insert_audit(&mut self, event: &AuditEvent) -> Result<()> {
        match self.conn {
            Conn::Tx(_) => {
                self.pending_audit.push(StoredEvent::of(event));
                Ok(())
            }
            // An event must commit with the change it records, so it needs a write transaction.
            Conn::Plain(_) => Err(keyward_core::Error::internal_msg("an audit event was written outside a write transaction")),
        }
    }
    async fn list_audit(&mut self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        audit::list(self.c(), filter).await
    }

    async fn insert_team(&mut self, team: &Team) -> Result<()> {
        teams::insert(self.c(), team).await
    }
    async fn update_team(&mut self, team: &Team) -> Result<()> {
        teams::update(self.c(), team).await
    }
    async fn set_quotas(&mut self, team: TeamId, quotas: &Quotas, at: OffsetDateTime) -> Result<()> {
        teams::set_quotas(self.c(), team, quotas, at).await
    }
    async fn delete_team(&mut self, team: TeamId) -> Result<bool> {
        let done = teams::delete(self.c(), team).await?;
        self.changed(Change::Team(team));
        Ok(done)
    }
    async fn team_by_id(&mut self, id: TeamId) -> Result<Option<Team>> {
        teams::by_id(self.c(), id).await
    }
    async fn list_teams(&mut self) -> Result<Vec<Team>> {
        teams::list(self.c()).await
    }
    async fn team_members(&mut self, team: TeamId) -> Result<Vec<User>> {
        teams::members(self.c(), team).await
    }
    async fn add_member(&mut self, team: TeamId, user: UserId, at: OffsetDateTime) -> Result<bool> {
        let done = teams::add_member(self.c(), team, user, at).await?;
        self.changed(Change::User(user));
        Ok(done)
    }
    async fn remove_member(&mut self, team: TeamId, user: UserId) -> Result<bool> {
        let done = teams::remove_member(self.c(), team, user).await?;
        self.changed(Change::User(user));
        Ok(done)
    }
    async fn teams_of(&mut self, user: UserId) -> Result<Vec<TeamId>> {
        teams::teams_of(self.c(), user).await
    }
    async fn teams_of_users(&mut self, users: &[UserId]) -> Result<Vec<(UserId, Team)>> {
        teams::teams_of_users(self.c(), users).await
    }
    async fn team_usage(&mut self, team: TeamId) -> Result<Usage> {
        teams::usage(self.c(), team).await
    }
    async fn team_resource_count(&mut self, team: TeamId) -> Result<i64> {
        teams::resource_count(self.c(), team).await
    }

    async fn insert_resource(&mut self, resource: &Resource) -> Result<()> {
        resources::insert(self.c(), resource).await?;
        self.changed(Change::Resource(resource.id));
        Ok(())
    }
    async fn update_resource(&mut self, resource: &Resource) -> Result<()> {
        resources::update(self.c(), resource).await?;
        self.changed(Change::Resource(resource.id));
        Ok(())
    }
    async fn delete_resource(&mut self, id: ResourceId) -> Result<bool> {
        let done = resources::delete(self.c(), id).await?;
        self.changed(Change::Resource(id));
        Ok(done)
    }
    async fn resource_by_id(&mut self, id: ResourceId) -> Result<Option<Resource>> {
        resources::by_id(self.c(), id).await
    }
    async fn workspace_count(&mut self, project: ResourceId) -> Result<i64> {
        resources::workspace_count(self.c(), project).await
    }
    async fn candidate_resources(
        &mut self,
        user: UserId,
        all: bool,
        kind: Option<Kind>,
        after: Option<ResourceId>,
        limit: i64,
    ) -> Result<Vec<Resource>> {
        resources::candidates(self.c(), user, all, kind, after, limit).await
    }
    async fn shares_of(&mut self, resource: ResourceId) -> Result<Vec<Share>> {
        shares::shares_of(self.c(), resource).await
    }
    async fn grants_for(&mut self, resource: ResourceId, project: Option<ResourceId>, user: UserId) -> Result<Vec<Grant>> {
        shares::grants_for(self.c(), resource, project, user).await
    }
    async fn replace_shares(&mut self, resource: ResourceId, shares: &[Share]) -> Result<()> {
        shares::replace_shares(self.c(), resource, shares).await?;
        self.changed(Change::Resource(resource));
        Ok(())
    }
    async fn put_credentials(&mut self, resource: ResourceId, sealed: &str, by: UserId, at: OffsetDateTime) -> Result<()> {
        resources::put_credentials(self.c(), resource, sealed, by, at).await
    }
    async fn credentials_info(&mut self, resource: ResourceId) -> Result<Option<CredentialsInfo>> {
        resources::credentials_info(self.c(), resource).await
    }
    async fn sealed_values(&mut self) -> Result<Vec<SealedValue>> {
        resources::sealed_values(self.c()).await
    }
    async fn update_sealed(&mut self, value: &SealedValue) -> Result<()> {
        resources::update_sealed(self.c(), value).await
    }

    async fn setting(&mut self, key: &str) -> Result<Option<String>> {
        links::setting(self.c(), key).await
    }
    async fn put_setting(&mut self, key: &str, value: &str, at: OffsetDateTime) -> Result<()> {
        links::put_setting(self.c(), key, value, at).await?;
        if key == keyward_core::policy::SECURITY_POLICY_KEY {
            self.changed(Change::Policy);
        }
        Ok(())
    }

    // access reviews, offboarding and job leases
    async fn review_facts(&mut self, now: OffsetDateTime) -> Result<ReviewFacts> {
        reviews::facts(self.c(), now).await
    }
    async fn insert_review(&mut self, review: &Review) -> Result<()> {
        reviews::insert(self.c(), review).await
    }
    async fn update_review(&mut self, review: &Review) -> Result<()> {
        reviews::update(self.c(), review).await
    }
    async fn review_by_id(&mut self, id: ReviewId) -> Result<Option<Review>> {
        reviews::by_id(self.c(), id).await
    }
    async fn list_reviews(&mut self, open_only: bool, limit: i64) -> Result<Vec<Review>> {
        reviews::list(self.c(), open_only, limit).await
    }
    async fn insert_review_item(&mut self, item: &ReviewItem, position: i64) -> Result<()> {
        reviews::insert_item(self.c(), item, position).await
    }
    async fn update_review_item(&mut self, item: &ReviewItem) -> Result<()> {
        reviews::update_item(self.c(), item).await
    }
    async fn review_items(&mut self, review: ReviewId) -> Result<Vec<ReviewItem>> {
        reviews::items(self.c(), review).await
    }
    async fn inactive_users(&mut self, cutoff: OffsetDateTime) -> Result<Vec<User>> {
        reviews::inactive_users(self.c(), cutoff).await
    }
    async fn departures(&mut self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<User>> {
        reviews::departures(self.c(), from, to).await
    }
    async fn count_failed_sign_ins(&mut self, since: OffsetDateTime) -> Result<i64> {
        reviews::count_failed_sign_ins(self.c(), since).await
    }
    async fn take_lease(&mut self, name: &str, holder: &str, now: OffsetDateTime, until: OffsetDateTime) -> Result<bool> {
        reviews::take_lease(self.c(), name, holder, now, until).await
    }
    async fn release_lease(&mut self, name: &str, holder: &str, now: OffsetDateTime, next_run_at: OffsetDateTime) -> Result<()> {
        reviews::release_lease(self.c(), name, holder, now, next_run_at).await
    }

    // the authorization index
    async fn authz_seq(&mut self) -> Result<i64> {
        authz::seq(self.c()).await
    }
    async fn authz_changes_after(&mut self, seq: i64, limit: i64) -> Result<Vec<(i64, Change)>> {
        authz::changes_after(self.c(), seq, limit).await
    }
    async fn users_page(&mut self, after: Option<UserId>, limit: i64) -> Result<Vec<User>> {
        authz::users_page(self.c(), after, limit).await
    }
    async fn memberships_page(&mut self, after: Option<(TeamId, UserId)>, limit: i64) -> Result<Vec<(TeamId, UserId)>> {
        authz::memberships_page(self.c(), after, limit).await
    }
    async fn resources_page(&mut self, after: Option<ResourceId>, limit: i64) -> Result<Vec<Resource>> {
        authz::resources_page(self.c(), after, limit).await
    }
    async fn shares_page(&mut self, after: Option<ShareKey>, limit: i64) -> Result<Vec<Share>> {
        authz::shares_page(self.c(), after, limit).await
    }
    async fn api_tokens_page(&mut self, after: Option<TokenId>, limit: i64) -> Result<Vec<ApiToken>> {
        authz::tokens_page(self.c(), after, limit).await
    }
    async fn put_node(&mut self, node: &NodeLease) -> Result<()> {
        authz::put_node(self.c(), node).await
    }
    async fn remove_node(&mut self, id: &str) -> Result<()> {
        authz::remove_node(self.c(), id).await
    }
    async fn live_nodes(&mut self, now_ms: i64) -> Result<Vec<NodeLease>> {
        authz::live_nodes(self.c(), now_ms).await
    }
    async fn prune_authz_changes(&mut self, before: OffsetDateTime) -> Result<u64> {
        authz::prune(self.c(), before).await
    }
    // sharing (task C): single-share operations, team shares on team deletion, workspaces of a project
    async fn upsert_share(&mut self, share: &Share) -> Result<Share> {
        let stored = shares::upsert(self.c(), share).await?;
        self.changed(Change::Resource(share.resource_id));
        Ok(stored)
    }
    async fn delete_share(&mut self, resource: ResourceId, id: ShareId) -> Result<Option<Share>> {
        let gone = shares::delete(self.c(), resource, id).await?;
        self.changed(Change::Resource(resource));
        Ok(gone)
    }
    async fn delete_subject_shares(&mut self, subject: &Subject) -> Result<Vec<Share>> {
        let gone = shares::delete_of_subject(self.c(), subject).await?;
        for s in &gone {
            self.changed(Change::Resource(s.resource_id));
        }
        Ok(gone)
    }
    async fn workspaces_of(&mut self, project: ResourceId, limit: i64) -> Result<Vec<Resource>> {
        resources::workspaces_of(self.c(), project, limit).await
    }
    async fn set_visibility(&mut self, resource: ResourceId, visibility: Visibility, at: OffsetDateTime) -> Result<()> {
        resources::set_visibility(self.c(), resource, visibility, at).await?;
        self.changed(Change::Resource(resource));
        Ok(())
    }

    // audit chain and export (the audit area)
    async fn audit_head(&mut self) -> Result<(i64, String)> {
        chain::head(self.c()).await
    }
    async fn audit_page(&mut self, filter: &AuditFilter, after_seq: i64, upto_seq: i64, limit: i64) -> Result<Vec<StoredEvent>> {
        let engine = self.engine;
        chain::page(self.c(), engine, filter, after_seq, upto_seq, limit).await
    }
    async fn count_audit(&mut self, filter: &AuditFilter, upto_seq: i64) -> Result<i64> {
        chain::count(self.c(), filter, upto_seq).await
    }
    async fn first_unchained_audit_event(&mut self) -> Result<Option<String>> {
        chain::first_unchained(self.c()).await
    }
    async fn audit_names(&mut self, refs: &keyward_core::wording::References) -> Result<keyward_core::wording::Names> {
        audit::names(self.c(), refs).await
    }
    async fn sign_ins_per_day(&mut self, since: OffsetDateTime) -> Result<Vec<(i64, i64, i64)>> {
        audit::sign_ins_per_day(self.c(), since).await
    }

    // authentication hardening: attempts counted before they are evaluated
    async fn raise_throttle(
        &mut self,
        key: &str,
        free: i64,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
        pending_since: OffsetDateTime,
    ) -> Result<ThrottleRaise> {
        throttles::raise(self.c(), key, free, now, window_start, pending_since).await
    }
    async fn settle_throttle(&mut self, key: &str, settle: ThrottleSettle) -> Result<Option<Throttle>> {
        throttles::settle(self.c(), key, settle).await
    }
}
