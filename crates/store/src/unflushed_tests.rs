//! `Store::write_unflushed` on PostgreSQL: its transaction commits without waiting for the disk,
//! is seen by other connections at once, and leaves the pooled connection durable afterwards.

use crate::SqlStore;
use crate::migration_tests::{fresh, keys, remove};
use keyward_core::store::Store;
use sqlx::Connection;

/// `synchronous_commit` in a transaction of the store's pool.
async fn synchronous_commit(tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> String {
    sqlx::query_scalar("SELECT current_setting('synchronous_commit')").fetch_one(&mut **tx).await.expect("show")
}

#[tokio::test]
async fn an_unflushed_write_relaxes_its_own_transaction_only() {
    let Some(url) = fresh("postgres").await else { return };
    // Two connections: the checks below hold both, so the one that ran the unflushed
    // transaction is among them whichever the pool handed out.
    let store = SqlStore::connect(&url, 2, keys()).await.expect("store");

    let (mut tx, _) = store.begin_write(true).await.expect("begin");
    assert_eq!(synchronous_commit(&mut tx).await, "off");
    drop(tx);
    let mut tx = store.write_unflushed().await.expect("begin");
    tx.put_setting("probe", "seen", time::OffsetDateTime::now_utc()).await.expect("write");
    tx.commit().await.expect("commit");

    // Seen at once by a connection of its own.
    let mut other = sqlx::AnyConnection::connect(&url).await.expect("connect");
    let seen: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'probe'").fetch_one(&mut other).await.expect("read");
    assert_eq!(seen, "seen");
    let _ = other.close().await;
    // Every connection of the pool is durable again.
    let (mut first, _) = store.begin_write(false).await.expect("begin");
    let (mut second, _) = store.begin_write(false).await.expect("begin");
    assert_eq!(synchronous_commit(&mut first).await, "on");
    assert_eq!(synchronous_commit(&mut second).await, "on");
    drop((first, second));
    store.close().await;
    remove("postgres", &url).await;
}
