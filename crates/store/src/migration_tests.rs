//! Migrations on databases that already hold rows (both engines). Migration 7: every share gets
//! a stable id, shares of deleted teams go, and each data source's visibility is worked out from
//! its shares. Migration 14: the directory's trigram index holds the users already there.

use crate::{Engine, SqlStore, migrator};
use keyward_core::access::{Subject, Visibility};
use keyward_core::types::{ResourceId, TeamId, UserId};
use sqlx::{AnyPool, Connection};
use std::collections::HashSet;

/// Drops the test's PostgreSQL database (and nothing else) when the test is done.
async fn drop_database(url: &str) {
    if let (Ok(admin), Some((_, name))) = (std::env::var("KEYWARD_TEST_DATABASE_URL"), url.rsplit_once('/'))
        && name.starts_with("kw_m_")
        && let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await
    {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut conn).await;
    }
}

/// A fresh database URL on `engine` (`None`, after saying why, when PostgreSQL is not set up
/// outside CI).
pub(crate) async fn fresh(engine: &str) -> Option<String> {
    sqlx::any::install_default_drivers();
    if engine == "sqlite" {
        let dir = std::env::temp_dir().join(format!("keyward-migrate-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        return Some(format!("sqlite://{}?mode=rwc", dir.join("m.db").display()));
    }
    let Some(admin) = std::env::var("KEYWARD_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty()) else {
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "CI=true but KEYWARD_TEST_DATABASE_URL is not set");
        eprintln!("skipped: set KEYWARD_TEST_DATABASE_URL to run this test on PostgreSQL");
        return None;
    };
    let name = format!("kw_m_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::AnyConnection::connect(&admin).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

async fn run(pool: &AnyPool, engine: &str, up_to: i64) {
    let engine = if engine == "sqlite" { Engine::Sqlite } else { Engine::Postgres };
    migrator(engine, up_to).run(pool).await.expect("migrate");
}

async fn exec(pool: &AnyPool, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.expect("statement");
}

async fn migrates_existing_shares(engine: &str) {
    let Some(url) = fresh(engine).await else { return };
    let pool = AnyPool::connect(&url).await.expect("pool");
    run(&pool, engine, 4).await;
    let (owner, member, team, gone) = (UserId::new(), UserId::new(), TeamId::new(), TeamId::new());
    let [ds_all, ds_specific, ds_private, app] = [(); 4].map(|_| ResourceId::new());
    for u in [owner, member] {
        exec(&pool, format!("INSERT INTO users (id, email, email_key, full_name, role, status, created_at, updated_at) VALUES ('{u}', '{u}@x.io', '{u}@x.io', 'U', 'developer', 'active', 0, 0)")).await;
    }
    exec(
        &pool,
        format!("INSERT INTO teams (id, name, name_key, description, created_at, updated_at) VALUES ('{team}', 'T', 't', '', 0, 0)"),
    )
    .await;
    for (r, kind) in [(ds_all, "data_source"), (ds_specific, "data_source"), (ds_private, "data_source"), (app, "app")] {
        exec(&pool, format!("INSERT INTO resources (id, kind, name, owner_id, cpu_millis, memory_mib, storage_gib, created_at, updated_at) VALUES ('{r}', '{kind}', 'r', '{owner}', 0, 0, 0, 0, 0)")).await;
    }
    let share = |r: ResourceId, kind: &str, id: String| {
        format!("INSERT INTO shares (resource_id, subject_type, subject_id, level, created_at) VALUES ('{r}', '{kind}', '{id}', 'view', 0)")
    };
    exec(&pool, share(ds_all, "all_users", String::new())).await;
    exec(&pool, share(ds_all, "user", member.to_string())).await;
    exec(&pool, share(ds_specific, "team", team.to_string())).await;
    exec(&pool, share(app, "user", member.to_string())).await;
    exec(&pool, share(app, "team", gone.to_string())).await;
    pool.close().await;

    let store = SqlStore::connect(&url, 2, keys()).await.expect("the rest of the migrations");
    let mut tx = keyward_core::store::Store::read(&store).await.expect("read");
    let vis = async |tx: &mut Box<dyn keyward_core::store::Tx>, r| tx.resource_by_id(r).await.unwrap().unwrap().visibility;
    assert_eq!(vis(&mut tx, ds_all).await, Visibility::AllUsers);
    assert_eq!(vis(&mut tx, ds_specific).await, Visibility::Specific);
    assert_eq!(vis(&mut tx, ds_private).await, Visibility::Private);
    assert_eq!(vis(&mut tx, app).await, Visibility::Specific, "other kinds: their shares apply");
    let mut ids = HashSet::new();
    for r in [ds_all, ds_specific, app] {
        for s in tx.shares_of(r).await.unwrap() {
            assert!(ids.insert(s.id), "share ids are unique");
            assert_ne!(s.subject, Subject::Team(gone), "the deleted team's share is gone");
        }
    }
    assert_eq!(ids.len(), 4, "every other share is kept");
    drop(tx);
    store.close().await;
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    let twice = format!(
        "INSERT INTO shares (id, resource_id, subject_type, subject_id, level, created_at) VALUES ('{}', '{app}', 'user', '{member}', 'edit', 0)",
        uuid::Uuid::now_v7()
    );
    assert!(sqlx::query(sqlx::AssertSqlSafe(twice)).execute(&mut conn).await.is_err(), "one share per resource and subject, still");
    conn.close().await.ok();
    remove(engine, &url).await;
}

/// Removes the test's database.
pub(crate) async fn remove(engine: &str, url: &str) {
    if engine == "postgres" {
        drop_database(url).await;
    } else if let Some(dir) = url.strip_prefix("sqlite://").and_then(|p| std::path::Path::new(p).parent()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

pub(crate) fn keys() -> keyward_core::chain::ChainKeys {
    let ring = keyward_core::crypto::Keyring::new(vec![keyward_core::crypto::Key::from_bytes(&[7u8; 32]).expect("a key")]).expect("a ring");
    keyward_core::chain::ChainKeys::from_keyring(&ring)
}

async fn indexes_existing_users(engine: &str) {
    let Some(url) = fresh(engine).await else { return };
    let pool = AnyPool::connect(&url).await.expect("pool");
    run(&pool, engine, 13).await;
    for i in 0..50 {
        exec(&pool, format!("INSERT INTO users (id, email, email_key, full_name, role, status, created_at, updated_at) VALUES ('{}', 'U{i:02}@X.io', 'u{i:02}@x.io', 'Person Number {i:02}', 'developer', 'active', 0, 0)", UserId::new())).await;
    }
    pool.close().await;

    let store = SqlStore::connect(&url, 2, keys()).await.expect("migration 14");
    let mut tx = keyward_core::store::Store::read(&store).await.expect("read");
    // Pages of one: the walk looks at the first 20 users only, later ones come from the index.
    let mut found = async |q: &str| {
        let filter = keyward_core::store::UserFilter { q: Some(q.to_owned()), limit: 1, ..Default::default() };
        tx.list_users(&filter).await.expect("list").into_iter().map(|u| u.email).collect::<Vec<_>>()
    };
    assert_eq!(found("u42@").await, ["U42@X.io"], "a part of an email");
    assert_eq!(found("NUMBER 37").await, ["U37@X.io"], "a part of a name");
    assert_eq!(found("u07@").await, ["U07@X.io"], "inside the walk's window");
    drop(tx);
    store.close().await;

    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    let check = if engine == "sqlite" {
        // FTS5 compares its index with the rows it holds, and fails the statement if they differ.
        "INSERT INTO users_search (users_search) VALUES ('integrity-check')"
    } else {
        "SELECT 1 FROM pg_indexes WHERE indexname = 'users_full_name_trgm'"
    };
    let done = sqlx::query(check).execute(&mut conn).await.expect("the index is whole");
    if engine == "postgres" {
        assert_eq!(done.rows_affected(), 1, "the trigram index exists");
    }
    conn.close().await.ok();
    remove(engine, &url).await;
}

#[tokio::test]
async fn migration_14_on_sqlite() {
    indexes_existing_users("sqlite").await;
}

#[tokio::test]
async fn migration_14_on_postgres() {
    indexes_existing_users("postgres").await;
}

#[tokio::test]
async fn migration_7_on_sqlite() {
    migrates_existing_shares("sqlite").await;
}

#[tokio::test]
async fn migration_7_on_postgres() {
    migrates_existing_shares("postgres").await;
}
