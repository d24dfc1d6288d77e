//! The storage the core needs, as traits; `keyward-store` implements them on SQLite and
//! PostgreSQL. A service takes one `Tx` per request: a read connection, or one write
//! transaction that holds the change and its audit event together.
//!
//! The storage is split into one trait per aggregate (`UserStore`, `TeamStore`, `AuditStore`,
//! …), each implemented beside its table's SQL; `Tx` is all of them plus the transaction's own
//! operations. Callers write `use keyward_core::store::prelude::*;` to call any of them.

mod access;
mod people;
mod records;
mod sso;

pub use access::{IndexStore, NodeLease, ResourceStore, ShareStore, TeamStore};
pub use people::{
    ApiTokenStore, LinkStore, MfaStore, ServiceAccountStore, SessionStore, SignInStore, ThrottleRaise, ThrottleSettle, ThrottleStore,
    UserFilter, UserStore,
};
pub use records::{AuditFilter, AuditStore, JobStore, ReviewFacts, ReviewStore, ScimStore, SettingsStore};
pub use sso::SsoStore;

use crate::access::{Level, Subject};
use crate::error::Result;
use crate::model::{Resource, User};
use crate::types::{ResourceId, TeamId, UserId};
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
    /// A write transaction whose commit does not wait for the disk (PostgreSQL's asynchronous
    /// commit): every other connection sees it at once, and a database crash in the next
    /// moments may undo it whole, never in part; any later durable commit makes it durable with
    /// its own. Only for bookkeeping that may be lost with a crash. On SQLite, as `write`.
    async fn write_unflushed(&self) -> Result<Box<dyn Tx>>;
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
    Share {
        /// The resource shared.
        resource: ResourceId,
        /// Who it is shared with.
        subject: Subject,
        /// The level granted.
        level: Level,
        /// When the share stops counting, if ever.
        expires_at: Option<OffsetDateTime>,
    },
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

/// One connection or transaction: every storage trait, and the transaction's own operations.
#[async_trait]
pub trait Tx:
    UserStore
    + ServiceAccountStore
    + SessionStore
    + ApiTokenStore
    + MfaStore
    + LinkStore
    + SignInStore
    + ThrottleStore
    + TeamStore
    + ResourceStore
    + ShareStore
    + IndexStore
    + AuditStore
    + ReviewStore
    + JobStore
    + SettingsStore
    + ScimStore
    + SsoStore
    + Send
{
    /// Makes the transaction's changes durable (a no-op for read connections).
    async fn commit(self: Box<Self>) -> Result<()>;
    /// Takes `key` until the transaction ends.
    async fn lock(&mut self, key: LockKey) -> Result<()>;
}

/// Every storage trait, for callers: `use keyward_core::store::prelude::*;`.
pub mod prelude {
    pub use super::{
        ApiTokenStore, AuditStore, IndexStore, JobStore, LinkStore, MfaStore, ResourceStore, ReviewStore, ScimStore, ServiceAccountStore,
        SessionStore, SettingsStore, ShareStore, SignInStore, SsoStore, Store, TeamStore, ThrottleStore, Tx, UserStore,
    };
}
