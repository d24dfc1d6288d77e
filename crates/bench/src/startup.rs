//! `keyward-bench --startup DIR`: only the start-up with the big world, repeated, to profile
//! and compare the index load. The world (users, teams, memberships, resources, every share;
//! no audit events, which the load does not read) is seeded once into `DIR` and kept there,
//! so that later runs, of later builds, start at once on the same data. PostgreSQL keeps it in
//! the database `keyward_bench_startup` on the benchmark's server.

use crate::seed;
use anyhow::Context;
use indicatif::ProgressBar;
use keyward_bench::Sizes;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The database the PostgreSQL world lives in (kept between runs, like the SQLite directory).
const PG_DATABASE: &str = "keyward_bench_startup";

/// Seeds `dir` once (SQLite in `dir/sqlite`, or PostgreSQL with its keys in `dir/postgres`),
/// then starts the server `runs` times and prints each start-up and the index load.
pub async fn run(
    bin: &(PathBuf, Vec<String>),
    dir: &Path,
    postgres: Option<&str>,
    sizes: Sizes,
    password_hash: &str,
    runs: usize,
) -> anyhow::Result<()> {
    let wanted = format!("{} users, {} teams, {} resources, {} shares", sizes.users, sizes.teams, sizes.resources, sizes.big_shares());
    let (data, url) = kept_world(dir, postgres, PG_DATABASE, &wanted, async |app, parallel, _| {
        seed::admin_token(app).await?;
        let bar = ProgressBar::new(seed::small_world_rows(&sizes) + (sizes.big_shares() - sizes.small_shares()) as u64);
        seed::small_world(app, &sizes, password_hash, parallel, &bar).await?;
        seed::big_shares(app, &sizes, parallel, &bar).await?;
        bar.finish_and_clear();
        Ok(())
    })
    .await?;
    let engine = if url.is_some() { "PostgreSQL" } else { "SQLite" };
    for i in 1..=runs {
        let server = crate::server::Server::start(&bin.0, &bin.1, &data, url.as_deref()).await?;
        let load = server.index_load_ms().map_or_else(|| "?".to_owned(), |ms| format!("{:.2} s", ms as f64 / 1000.0));
        println!(
            "{engine}, {wanted}: start-up {:.2} s (index load {load}), RSS {:.0} MiB [run {i}/{runs}]",
            server.startup.as_secs_f64(),
            server.rss_mib()
        );
        server.stop().await?;
    }
    Ok(())
}

/// A world seeded once and kept: SQLite in `dir/sqlite`, or PostgreSQL in the database
/// `pg_database` on the server of `postgres` with its keys in `dir/postgres`. `seed` runs (with
/// the store, its writers in parallel and the data directory) only when the kept world is not
/// already `wanted`; answers the data directory and the PostgreSQL URL.
pub async fn kept_world(
    dir: &Path,
    postgres: Option<&str>,
    pg_database: &str,
    wanted: &str,
    seed: impl AsyncFnOnce(&keyward_server::App, usize, &Path) -> anyhow::Result<()>,
) -> anyhow::Result<(PathBuf, Option<String>)> {
    let (data, url) = match postgres {
        None => (dir.join("sqlite"), None),
        Some(base) => (dir.join("postgres"), Some(database(base, pg_database).await?)),
    };
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let marker = data.join("bench-world");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted) {
        anyhow::ensure!(
            std::fs::read_dir(&data)?.next().is_none(),
            "{} holds another world; remove it first (or give another directory)",
            data.display()
        );
        let started = Instant::now();
        eprintln!("seeding {wanted} into {} (once)", data.display());
        let parallel = if url.is_some() { 4 } else { 1 };
        let app = seed::open(&data, url.as_deref()).await?;
        seed(&app, parallel, &data).await?;
        drop(app);
        std::fs::write(&marker, wanted)?;
        eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok((data, url))
}

/// The URL of the kept PostgreSQL database `name` on the server of `base`, created when missing.
async fn database(base: &str, name: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut c = sqlx::postgres::PgConnection::connect(base).await.context("cannot reach PostgreSQL")?;
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1").bind(name).fetch_optional(&mut c).await?;
    if exists.is_none() {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await?;
    }
    Ok(crate::database_url(base, name))
}
