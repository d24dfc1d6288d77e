//! Keyward's storage: the core's `Store` and storage traits on sqlx's `Any` driver, one code path
//! for SQLite (the embedded default) and PostgreSQL (scale-out), with the migrations. Each
//! module owns one table (or a few that change together) and implements its trait on `SqlTx`.

mod audit;
mod authz;
mod chain;
mod convert;
mod directory;
mod index_rows;
mod jobs;
mod links;
mod mfa;
#[cfg(test)]
mod migration_tests;
mod resources;
mod reviews;
mod scim;
mod service_accounts;
mod sessions;
mod settings;
mod shares;
mod sign_ins;
mod sso;
mod teams;
mod throttles;
mod tokens;
mod tx;
#[cfg(test)]
mod unflushed_tests;
mod users;

use async_trait::async_trait;
use keyward_core::chain::ChainKeys;
use keyward_core::store::{ChangeListener, CommitHook, IndexRow, Store, Tx};
use keyward_core::{Error, Result};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Connection, Executor};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tx::SqlTx;

/// One migration's SQL: one text that both engines run, or one per engine where they need
/// different things (both kept in step by the tests, which run every migration on both engines).
enum MigrationSql {
    Both(&'static str),
    Each { sqlite: &'static str, postgres: &'static str },
}

impl MigrationSql {
    fn on(&self, engine: Engine) -> &'static str {
        match (self, engine) {
            (MigrationSql::Both(sql), _) => sql,
            (MigrationSql::Each { sqlite, .. }, Engine::Sqlite) => sqlite,
            (MigrationSql::Each { postgres, .. }, Engine::Postgres) => postgres,
        }
    }
}

/// The migrations, in order; append only, never edit one that has shipped.
const MIGRATIONS: &[(i64, &str, MigrationSql)] = &[
    (1, "foundation", MigrationSql::Both(include_str!("../migrations/0001_foundation.sql"))),
    (2, "mfa", MigrationSql::Both(include_str!("../migrations/0002_mfa.sql"))),
    (3, "teams_resources", MigrationSql::Both(include_str!("../migrations/0003_teams_resources.sql"))),
    (4, "authz_generation", MigrationSql::Both(include_str!("../migrations/0004_authz_generation.sql"))),
    (5, "throttle_pending", MigrationSql::Both(include_str!("../migrations/0005_throttle_pending.sql"))),
    (7, "sharing", MigrationSql::Both(include_str!("../migrations/0007_sharing.sql"))),
    (8, "audit_chain", MigrationSql::Both(include_str!("../migrations/0008_audit_chain.sql"))),
    (9, "access_reviews", MigrationSql::Both(include_str!("../migrations/0009_access_reviews.sql"))),
    (10, "authz_index", MigrationSql::Both(include_str!("../migrations/0010_authz_index.sql"))),
    (11, "service_accounts", MigrationSql::Both(include_str!("../migrations/0011_service_accounts.sql"))),
    (12, "scim", MigrationSql::Both(include_str!("../migrations/0012_scim.sql"))),
    (13, "sso", MigrationSql::Both(include_str!("../migrations/0013_sso.sql"))),
    (
        14,
        "directory_search",
        MigrationSql::Each {
            sqlite: include_str!("../migrations/0014_directory_search.sqlite.sql"),
            postgres: include_str!("../migrations/0014_directory_search.postgres.sql"),
        },
    ),
];

/// The migrations as `engine` runs them, up to `last` (included).
fn migrator(engine: Engine, last: i64) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .filter(|(version, _, _)| *version <= last)
        .map(|(version, name, sql)| {
            Migration::new(*version, Cow::Borrowed(*name), MigrationType::Simple, sqlx::SqlSafeStr::into_sql_str(sql.on(engine)), false)
        })
        .collect::<Vec<_>>();
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}

/// Which engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine of a database URL, or a clear error naming what is accepted.
    pub fn of(url: &str) -> Result<Engine> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err(Error::invalid("invalid_database_url", "The database URL must start with sqlite: or postgres://."))
        }
    }
}

/// How long a pooled connection may sit idle before it is pinged again when handed out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// The URL without TLS, for a PostgreSQL URL whose host is a loopback address and which leaves
/// the TLS mode to its default (no `sslmode` in the URL, no `PGSSLMODE`); `None` for any other.
///
/// Why: the default, "prefer", encrypts when the server offers TLS, and on a connection that
/// never leaves the machine that buys nothing (anyone who can read loopback traffic can read the
/// server's memory) while costing both sides CPU on every statement: about 0.7 ms of a sign-in's
/// 20 round trips (docs/performance.md). "prefer" also accepts plain text already, so this asks
/// for nothing the URL did not allow; `sslmode=prefer` or `require` in the URL keeps TLS.
fn loopback_without_tls(url: &str) -> Option<String> {
    let mut parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") || std::env::var_os("PGSSLMODE").is_some() {
        return None;
    }
    if parsed.query_pairs().any(|(key, _)| matches!(&*key, "sslmode" | "ssl-mode" | "host")) {
        return None;
    }
    let loopback = match parsed.host()? {
        // A `postgres:` URL's host is opaque to the url crate: an address comes as its text.
        url::Host::Domain(name) => {
            name.eq_ignore_ascii_case("localhost")
                || name.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if !loopback {
        return None;
    }
    parsed.query_pairs_mut().append_pair("sslmode", "disable");
    Some(parsed.to_string())
}

/// A connected database with the schema applied.
pub struct SqlStore {
    pool: AnyPool,
    engine: Engine,
    /// Why: SQLite has one writer; queueing writers here makes them wait their turn instead of
    /// failing with "database is locked".
    writer: Option<Arc<Mutex<()>>>,
    /// Runs after each commit that changed access data (the index's sync).
    hook: std::sync::RwLock<Option<Arc<dyn CommitHook>>>,
    /// For PostgreSQL's LISTEN, which needs a connection of its own.
    url: String,
    /// The audit chain's keys: every write transaction chains its events with them at commit.
    chain: Arc<ChainKeys>,
}

impl SqlStore {
    /// Connects to `url`, applies pending migrations, chains audit events from before the chain
    /// existed (`chain`'s current key), and answers the store.
    pub async fn connect(url: &str, max_connections: u32, chain: ChainKeys) -> Result<SqlStore> {
        install_default_drivers();
        let engine = Engine::of(url)?;
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            // Why only idle connections are pinged: a ping on every hand-out was a round trip
            // more per statement group (five per sign-in); a connection back in the pool a moment
            // ago was just working, and one idle for longer (perhaps across a database restart)
            // is still tested, and replaced if it does not answer.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_PING {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            });
        if engine == Engine::Sqlite {
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers work beside the writer; FULL sync makes each commit of
                    // security data durable; the busy timeout covers other processes (the CLI).
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            });
        }
        let (pool, url) = match loopback_without_tls(url) {
            Some(plain) => match options.clone().connect(&plain).await {
                Ok(pool) => (pool, plain),
                // Say a server whose pg_hba.conf takes only TLS connections: as the URL says.
                Err(e) => {
                    tracing::info!(error = %e, "PostgreSQL refused a plain loopback connection; connecting as the URL says (TLS preferred)");
                    (options.connect(url).await.map_err(db_err)?, url.to_owned())
                }
            },
            None => (options.connect(url).await.map_err(db_err)?, url.to_owned()),
        };
        let store = SqlStore {
            pool,
            engine,
            writer: (engine == Engine::Sqlite).then(|| Arc::new(Mutex::new(()))),
            chain: Arc::new(chain),
            hook: std::sync::RwLock::new(None),
            url,
        };
        store.migrate().await?;
        store.chain_backlog().await?;
        Ok(store)
    }

    /// Chains the audit events written before the chain existed, once, before anything else.
    async fn chain_backlog(&self) -> Result<()> {
        let (mut tx, _writer) = self.begin_write(false).await?;
        let n = chain::chain_backlog(&mut tx, self.engine, &self.chain).await?;
        tx.commit().await.map_err(db_err)?;
        if n > 0 {
            tracing::info!(events = n, "chained audit events written before the audit chain existed");
        }
        Ok(())
    }

    /// A write transaction and, on SQLite, the writer's turn; `unflushed`: see `Store::write_unflushed`.
    async fn begin_write(
        &self,
        unflushed: bool,
    ) -> Result<(sqlx::Transaction<'static, sqlx::Any>, Option<tokio::sync::OwnedMutexGuard<()>>)> {
        let guard = match &self.writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let tx = match self.engine {
            // IMMEDIATE takes the write lock at BEGIN, so a transaction never fails half-way
            // when it upgrades from reading to writing.
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            // `LOCAL`: for this transaction only, so the pooled connection stays durable; sent
            // with the BEGIN, in the same round trip.
            Engine::Postgres if unflushed => self.pool.begin_with("BEGIN; SET LOCAL synchronous_commit = off").await,
            Engine::Postgres => self.pool.begin().await,
        }
        .map_err(db_err)?;
        Ok((tx, guard))
    }

    async fn migrate(&self) -> Result<()> {
        migrator(self.engine, i64::MAX).run(&self.pool).await.map_err(Error::internal)
    }

    /// Which engine this store runs on.
    pub fn engine_kind(&self) -> Engine {
        self.engine
    }

    /// Writes a consistent copy of a SQLite database to `path` (`VACUUM INTO`), while other
    /// connections keep reading and writing: the copy is one read transaction's snapshot.
    /// `path` must not exist or be empty.
    pub async fn backup_into(&self, path: &std::path::Path) -> Result<()> {
        if self.engine != Engine::Sqlite {
            return Err(Error::invalid(
                "backup_needs_sqlite",
                "Only a SQLite database can be backed up by Keyward; use pg_dump for PostgreSQL.",
            ));
        }
        let target = path.to_str().ok_or_else(|| Error::invalid("invalid_path", "The backup path must be valid UTF-8."))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }

    async fn write_tx(&self, unflushed: bool) -> Result<Box<dyn Tx>> {
        let (tx, guard) = self.begin_write(unflushed).await?;
        let hook = self.hook.read().unwrap_or_else(|p| p.into_inner()).clone();
        Ok(Box::new(SqlTx::transaction(tx, self.engine, guard, self.chain.clone(), hook)))
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn read(&self) -> Result<Box<dyn Tx>> {
        let conn = self.pool.acquire().await.map_err(db_err)?;
        Ok(Box::new(SqlTx::plain(conn, self.engine, self.chain.clone())))
    }

    async fn write(&self) -> Result<Box<dyn Tx>> {
        self.write_tx(false).await
    }

    async fn write_unflushed(&self) -> Result<Box<dyn Tx>> {
        self.write_tx(true).await
    }

    async fn ping(&self) -> Result<()> {
        self.pool.execute("SELECT 1").await.map(|_| ()).map_err(db_err)
    }

    fn engine(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    fn set_commit_hook(&self, hook: Arc<dyn CommitHook>) {
        *self.hook.write().unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    async fn change_listener(&self) -> Result<Option<Box<dyn ChangeListener>>> {
        if self.engine != Engine::Postgres {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(&self.url).await.map_err(db_err)?;
        listener.listen("keyward_authz").await.map_err(db_err)?;
        Ok(Some(Box::new(PgChanges(listener))))
    }

    async fn stream_index_rows(&self, sink: &mut (dyn FnMut(IndexRow) -> Result<()> + Send)) -> Result<()> {
        index_rows::stream(&self.url, self.engine, sink).await
    }
}

/// PostgreSQL's NOTIFY on the `keyward_authz` channel.
struct PgChanges(sqlx::postgres::PgListener);

#[async_trait]
impl ChangeListener for PgChanges {
    async fn next(&mut self) -> Result<()> {
        self.0.recv().await.map(|_| ()).map_err(db_err)
    }
}

/// Maps a database error: a unique violation is a conflict the client caused; anything else is
/// ours and goes to the log.
pub(crate) fn db_err(e: sqlx::Error) -> Error {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        return unique_conflict(d.constraint(), d.message());
    }
    Error::internal(e)
}

/// The conflict a unique violation means, by the constraint that refused it: PostgreSQL names
/// the constraint, SQLite names the columns ("UNIQUE constraint failed: users.email_key").
fn unique_conflict(constraint: Option<&str>, message: &str) -> Error {
    let what = constraint.map_or_else(|| message.rsplit_once("failed:").map_or("", |(_, c)| c.trim()).to_owned(), str::to_owned);
    match what.as_str() {
        "users_email_key_key" | "users.email_key" => Error::conflict("email_taken", "A user or invitation with this email already exists."),
        "scim_users_user_name_key_key" | "scim_users.user_name_key" => {
            Error::conflict("user_name_taken", "A user with this userName already exists.")
        }
        "sso_providers_slug_key" | "sso_providers.slug" => {
            Error::conflict("slug_taken", "Another identity provider already uses this slug.")
        }
        "teams_name_key_key" | "teams.name_key" => Error::conflict("team_name_taken", "A team with this name already exists."),
        "access_reviews_period_key" | "access_reviews.period" => {
            Error::conflict("review_exists", "This quarter's access review is already open.")
        }
        "shares_resource_subject_key" | "shares.resource_id, shares.subject_type, shares.subject_id" => {
            Error::conflict("share_exists", "This resource is already shared with them.")
        }
        _ => Error::conflict("already_exists", "Something with the same unique value already exists."),
    }
}

#[cfg(test)]
mod unique_tests {
    use super::{loopback_without_tls, unique_conflict};
    use keyward_core::Error;

    #[test]
    fn a_loopback_url_that_leaves_tls_to_its_default_connects_without_it() {
        let plain = |url: &str| loopback_without_tls(url);
        assert_eq!(
            plain("postgres://kw:secret@127.0.0.1:5432/keyward").as_deref(),
            Some("postgres://kw:secret@127.0.0.1:5432/keyward?sslmode=disable")
        );
        assert_eq!(
            plain("postgresql://localhost/keyward?application_name=kw").as_deref(),
            Some("postgresql://localhost/keyward?application_name=kw&sslmode=disable")
        );
        assert_eq!(plain("postgres://[::1]:5433/keyward").as_deref(), Some("postgres://[::1]:5433/keyward?sslmode=disable"));
        // Another host, a TLS mode chosen in the URL, a socket or host given as a parameter,
        // SQLite: as the URL says.
        assert_eq!(plain("postgres://db.internal/keyward"), None);
        assert_eq!(plain("postgres://10.0.0.5/keyward"), None);
        assert_eq!(plain("postgres://127.0.0.1/keyward?sslmode=require"), None);
        assert_eq!(plain("postgres://127.0.0.1/keyward?sslmode=prefer"), None);
        assert_eq!(plain("postgres://127.0.0.1/keyward?ssl-mode=verify-full"), None);
        assert_eq!(plain("postgres://127.0.0.1/keyward?host=/var/run/postgresql"), None);
        assert_eq!(plain("postgres:///keyward"), None);
        assert_eq!(plain("sqlite:///var/lib/keyward/keyward.db"), None);
    }

    fn code(e: Error) -> &'static str {
        match e {
            Error::Conflict { code, .. } => code,
            _ => "not a conflict",
        }
    }

    #[test]
    fn conflicts_are_named_by_their_constraint_on_both_engines() {
        assert_eq!(code(unique_conflict(Some("users_email_key_key"), "")), "email_taken");
        assert_eq!(code(unique_conflict(None, "UNIQUE constraint failed: users.email_key")), "email_taken");
        assert_eq!(code(unique_conflict(Some("teams_name_key_key"), "")), "team_name_taken");
        assert_eq!(code(unique_conflict(None, "UNIQUE constraint failed: teams.name_key")), "team_name_taken");
        assert_eq!(code(unique_conflict(None, "UNIQUE constraint failed: access_reviews.period")), "review_exists");
        assert_eq!(code(unique_conflict(None, "UNIQUE constraint failed: something.else")), "already_exists");
    }
}
