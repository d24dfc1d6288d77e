//! `SqlTx`: one pooled connection, plain for reads or inside a transaction for writes, and the
//! `Tx` trait on it (each method delegates to the module that owns the table).

use crate::{Engine, audit, chain, db_err, links, mfa, resources, sessions, teams, users};
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::access::{Grant, Kind};
use keyward_core::chain::{ChainKeys, StoredEvent};
use keyward_core::model::{
    ApiToken, AuditEvent, AuditRecord, LinkPurpose, LoginAttempt, MfaChallenge, OneTimeLink, Session, Throttle, TotpRecord, User,
};
use keyward_core::model::{CredentialsInfo, Quotas, Resource, SealedValue, Share, Team, Usage};
use keyward_core::store::{AuditFilter, LockKey, Tx, UserFilter};
use keyward_core::types::{ResourceId, SessionId, TeamId, TokenId, UserId};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Transaction};
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
    _writer: Option<OwnedMutexGuard<()>>,
    /// The audit chain's keys, and the events this transaction wrote, in order: they are
    /// chained and inserted at commit (`chain::append`), so no write path can skip the chain.
    chain: Arc<ChainKeys>,
    pending_audit: Vec<StoredEvent>,
}

/// Moves the access-data generation on (see `Tx::authz_generation`). Called by every store
/// method that changes what a cached decision or token depends on, so no write path can forget it.
async fn bump(c: &mut AnyConnection) -> Result<()> {
    sqlx::query("UPDATE authz_generation SET value = value + 1 WHERE id = 1").execute(c).await.map_err(db_err)?;
    Ok(())
}

impl SqlTx {
    pub fn plain(conn: PoolConnection<Any>, engine: Engine, chain: Arc<ChainKeys>) -> Self {
        SqlTx { conn: Conn::Plain(conn), engine, _writer: None, chain, pending_audit: Vec::new() }
    }

    pub fn transaction(tx: Transaction<'static, Any>, engine: Engine, writer: Option<OwnedMutexGuard<()>>, chain: Arc<ChainKeys>) -> Self {
        SqlTx { conn: Conn::Tx(tx), engine, _writer: writer, chain, pending_audit: Vec::new() }
    }

    fn c(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Conn::Plain(c) => c,
            Conn::Tx(t) => t,
        }
    }
}

#[async_trait]
impl Tx for SqlTx {
    async fn commit(self: Box<Self>) -> Result<()> {
        let SqlTx { conn, engine, chain, mut pending_audit, .. } = *self;
        match conn {
            Conn::Plain(_) => Ok(()),
            Conn::Tx(mut t) => {
                if !pending_audit.is_empty() {
                    chain::append(&mut t, engine, &chain, &mut pending_audit).await?;
                }
                t.commit().await.map_err(db_err)
            }
        }
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

    async fn insert_user(&mut self, user: &User) -> Result<()> {
        users::insert(self.c(), user).await
    }
    async fn update_user(&mut self, user: &User) -> Result<()> {
        users::update(self.c(), user).await?;
        bump(self.c()).await
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
        users::delete_invited(self.c(), id).await
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
        sessions::insert_token(self.c(), token).await
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
        bump(self.c()).await?;
        Ok(done)
    }
    async fn delete_api_tokens_of(&mut self, user: UserId) -> Result<u64> {
        let done = sessions::delete_tokens_of(self.c(), user).await?;
        bump(self.c()).await?;
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
    async fn put_throttle(&mut self, throttle: &Throttle) -> Result<()> {
        links::put_throttle(self.c(), throttle).await
    }
    async fn clear_throttle(&mut self, key: &str) -> Result<()> {
        links::clear_throttle(self.c(), key).await
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
        bump(self.c()).await?;
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
        bump(self.c()).await?;
        Ok(done)
    }
    async fn remove_member(&mut self, team: TeamId, user: UserId) -> Result<bool> {
        let done = teams::remove_member(self.c(), team, user).await?;
        bump(self.c()).await?;
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
        resources::insert(self.c(), resource).await
    }
    async fn update_resource(&mut self, resource: &Resource) -> Result<()> {
        resources::update(self.c(), resource).await?;
        bump(self.c()).await
    }
    async fn delete_resource(&mut self, id: ResourceId) -> Result<bool> {
        let done = resources::delete(self.c(), id).await?;
        bump(self.c()).await?;
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
        resources::shares_of(self.c(), resource).await
    }
    async fn grants_for(&mut self, resource: ResourceId, project: Option<ResourceId>, user: UserId) -> Result<Vec<Grant>> {
        resources::grants_for(self.c(), resource, project, user).await
    }
    async fn replace_shares(&mut self, resource: ResourceId, shares: &[Share]) -> Result<()> {
        resources::replace_shares(self.c(), resource, shares).await?;
        bump(self.c()).await
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

    async fn authz_generation(&mut self) -> Result<i64> {
        let row: (i64,) = sqlx::query_as("SELECT value FROM authz_generation WHERE id = 1").fetch_one(self.c()).await.map_err(db_err)?;
        Ok(row.0)
    }

    async fn setting(&mut self, key: &str) -> Result<Option<String>> {
        links::setting(self.c(), key).await
    }
    async fn put_setting(&mut self, key: &str, value: &str, at: OffsetDateTime) -> Result<()> {
        links::put_setting(self.c(), key, value, at).await
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
}
