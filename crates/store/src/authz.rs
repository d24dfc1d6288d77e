//! The authorization index's tables: the change log (`authz_changes`, sequenced by
//! `authz_generation`), the users and API-token pages, and the `nodes` lease rows.

use crate::convert::{get, get_bool, ms};
use crate::tokens::{TOKEN_COLUMNS, token_from_row};
use crate::tx::SqlTx;
use crate::{Engine, db_err, users};
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::index::Change;
use keyward_core::model::{ApiToken, User};
use keyward_core::store::{IndexStore, NodeLease};
use keyward_core::types::{TokenId, UserId};
use sqlx::{AnyConnection, AssertSqlSafe};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Ends a write transaction's part in the change log: takes the next sequence (a row lock held
/// to commit, so sequence order is commit order), records each change, and on PostgreSQL
/// notifies the nodes (delivered at commit). Answers the sequence.
pub async fn record(c: &mut AnyConnection, engine: Engine, changes: &BTreeSet<Change>, now: OffsetDateTime) -> Result<i64> {
    let (seq,): (i64,) = sqlx::query_as("UPDATE authz_generation SET value = value + 1 WHERE id = 1 RETURNING value")
        .fetch_one(&mut *c)
        .await
        .map_err(db_err)?;
    for change in changes {
        let (kind, key) = change.columns();
        sqlx::query("INSERT INTO authz_changes (seq, kind, key, at) VALUES ($1, $2, $3, $4)")
            .bind(seq)
            .bind(kind)
            .bind(key)
            .bind(ms(now))
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    if engine == Engine::Postgres {
        sqlx::query("SELECT pg_notify('keyward_authz', $1)").bind(seq.to_string()).execute(&mut *c).await.map_err(db_err)?;
    }
    Ok(seq)
}

pub async fn seq(c: &mut AnyConnection) -> Result<i64> {
    let (v,): (i64,) = sqlx::query_as("SELECT value FROM authz_generation WHERE id = 1").fetch_one(c).await.map_err(db_err)?;
    Ok(v)
}

pub async fn changes_after(c: &mut AnyConnection, seq: i64, limit: i64) -> Result<Vec<(i64, Change)>> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT seq, kind, key FROM authz_changes WHERE seq > $1 ORDER BY seq, kind, key LIMIT $2")
            .bind(seq)
            .bind(limit)
            .fetch_all(c)
            .await
            .map_err(db_err)?;
    Ok(rows.into_iter().filter_map(|(s, kind, key)| Change::from_columns(&kind, &key).map(|c| (s, c))).collect())
}

// The pages below are keyset pages: after the first, each starts where the last ended with a
// row-value comparison, which both engines answer with a range scan of the key's index (an
// `$1 IS NULL OR …` form made every page scan the table from its start).

pub async fn users_page(c: &mut AnyConnection, after: Option<UserId>, limit: i64) -> Result<Vec<User>> {
    let cols = users::COLUMNS;
    let rows = match after {
        None => sqlx::query(AssertSqlSafe(format!("SELECT {cols} FROM users ORDER BY id LIMIT $1"))).bind(limit).fetch_all(c).await,
        Some(a) => {
            sqlx::query(AssertSqlSafe(format!("SELECT {cols} FROM users WHERE id > $1 ORDER BY id LIMIT $2")))
                .bind(a.to_string())
                .bind(limit)
                .fetch_all(c)
                .await
        }
    }
    .map_err(db_err)?;
    rows.iter().map(users::from_row).collect()
}

pub async fn tokens_page(c: &mut AnyConnection, after: Option<TokenId>, limit: i64) -> Result<Vec<ApiToken>> {
    let rows = match after {
        None => {
            sqlx::query(AssertSqlSafe(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id LIMIT $1")))
                .bind(limit)
                .fetch_all(c)
                .await
        }
        Some(a) => {
            sqlx::query(AssertSqlSafe(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id > $1 ORDER BY id LIMIT $2")))
                .bind(a.to_string())
                .bind(limit)
                .fetch_all(c)
                .await
        }
    }
    .map_err(db_err)?;
    rows.iter().map(token_from_row).collect()
}

pub async fn put_node(c: &mut AnyConnection, n: &NodeLease) -> Result<()> {
    sqlx::query(
        "INSERT INTO nodes (id, started_at, lease_until, applied_seq, ready) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET lease_until = $3, applied_seq = $4, ready = $5",
    )
    .bind(&n.id)
    .bind(n.started_at)
    .bind(n.lease_until)
    .bind(n.applied_seq)
    .bind(i64::from(n.ready))
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    // Rows of nodes long gone are swept here (a lease dead for a minute means a dead node).
    sqlx::query("DELETE FROM nodes WHERE lease_until < $1").bind(n.lease_until - 60_000).execute(c).await.map_err(db_err)?;
    Ok(())
}

pub async fn remove_node(c: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM nodes WHERE id = $1").bind(id).execute(c).await.map_err(db_err)?;
    Ok(())
}

pub async fn live_nodes(c: &mut AnyConnection, now_ms: i64) -> Result<Vec<NodeLease>> {
    let rows = sqlx::query("SELECT id, started_at, lease_until, applied_seq, ready FROM nodes WHERE lease_until > $1")
        .bind(now_ms)
        .fetch_all(c)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(NodeLease {
                id: get(r, "id")?,
                started_at: get(r, "started_at")?,
                lease_until: get(r, "lease_until")?,
                applied_seq: get(r, "applied_seq")?,
                ready: get_bool(r, "ready")?,
            })
        })
        .collect()
}

pub async fn prune(c: &mut AnyConnection, before: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query("DELETE FROM authz_changes WHERE at < $1").bind(ms(before)).execute(c).await.map_err(db_err)?;
    Ok(done.rows_affected())
}

#[async_trait]
impl IndexStore for SqlTx {
    async fn authz_seq(&mut self) -> Result<i64> {
        seq(self.c()).await
    }
    async fn authz_changes_after(&mut self, seq: i64, limit: i64) -> Result<Vec<(i64, Change)>> {
        changes_after(self.c(), seq, limit).await
    }
    async fn users_page(&mut self, after: Option<UserId>, limit: i64) -> Result<Vec<User>> {
        users_page(self.c(), after, limit).await
    }
    async fn api_tokens_page(&mut self, after: Option<TokenId>, limit: i64) -> Result<Vec<ApiToken>> {
        tokens_page(self.c(), after, limit).await
    }
    async fn put_node(&mut self, node: &NodeLease) -> Result<()> {
        put_node(self.c(), node).await
    }
    async fn remove_node(&mut self, id: &str) -> Result<()> {
        remove_node(self.c(), id).await
    }
    async fn live_nodes(&mut self, now_ms: i64) -> Result<Vec<NodeLease>> {
        live_nodes(self.c(), now_ms).await
    }
    async fn prune_authz_changes(&mut self, before: OffsetDateTime) -> Result<u64> {
        prune(self.c(), before).await
    }
}
