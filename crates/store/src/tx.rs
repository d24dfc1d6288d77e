//! `SqlTx`: one pooled connection, plain for reads or inside a transaction for writes, and its
//! transaction plumbing (commit, locks, the change log and audit queue). Each storage trait is
//! implemented on it in the module that owns the table (`impl UserStore for SqlTx` in
//! `users.rs`, …).

use crate::{Engine, authz, chain, db_err};
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::chain::{ChainKeys, StoredEvent};
use keyward_core::index::Change;
use keyward_core::model::AuditEvent;
use keyward_core::store::{CommitHook, LockKey, Tx};
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
    pub(crate) fn changed(&mut self, change: Change) {
        self.changes.insert(change);
    }

    /// The engine this connection talks to.
    pub(crate) fn engine(&self) -> Engine {
        self.engine
    }

    /// Queues an audit event; `commit` chains and writes it.
    pub(crate) fn queue_audit(&mut self, event: &AuditEvent) -> Result<()> {
        match self.conn {
            Conn::Tx(_) => {
                self.pending_audit.push(StoredEvent::of(event));
                Ok(())
            }
            // An event must commit with the change it records, so it needs a write transaction.
            Conn::Plain(_) => Err(keyward_core::Error::internal_msg("an audit event was written outside a write transaction")),
        }
    }

    /// The connection, for the statements of the storage traits.
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
}
