//! `keyward-bench --search DIR`: only the directory search (`GET /api/v1/users?q=`), at the
//! world's user count. The users (and the admin who asks) are seeded once into `DIR` and kept
//! there (PostgreSQL: the database `keyward_bench_search`), so that a later build measures the
//! same rows, and its first start shows what its migrations cost on them. Each kind of query
//! then runs back to back on one connection (no queueing: each figure is what one search costs).

use crate::load::{self, MakeRequest};
use crate::seed;
use crate::startup::kept_world;
use anyhow::Context;
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The database the PostgreSQL users live in (kept between runs, like the SQLite directory).
const PG_DATABASE: &str = "keyward_bench_search";

/// The query string of a kind of search's `n`th request.
type Query = Arc<dyn Fn(u64) -> String + Send + Sync>;

/// The kinds of search measured: what is asked, and its requests.
fn cases(users: usize) -> Vec<(String, Query)> {
    // Users whose number has the most digits: `user<i>` is a part of their email only.
    let (low, span) = (users / 10, users - users / 10);
    let one = move |n: u64| low + (n as usize).wrapping_mul(37) % span;
    vec![
        ("q=user<i>: one match (part of an email)".into(), Arc::new(move |n| format!("q=user{}", one(n)))),
        ("q=Bench User <i>: one match (part of a name, mixed case)".into(), Arc::new(move |n| format!("q=Bench%20User%20{}", one(n)))),
        ("q=nobody<n>: no match".into(), Arc::new(|n| format!("q=nobody{n}"))),
        (
            "q=user<(37n) mod users>: the full benchmark's query (1 to 1,111 matches)".into(),
            Arc::new(move |n| format!("q=user{}", (n as usize).wrapping_mul(37) % users)),
        ),
        ("q=bench: every user matches, first page".into(), Arc::new(|_| "q=bench".into())),
        ("q=bench, a later page (cursor)".into(), Arc::new(move |n| format!("q=bench&cursor=user{}%40bench.example", one(n)))),
        ("q=user9: 11 % match, all at the end of the email order".into(), Arc::new(|_| "q=user9".into())),
        ("q=<two digits>: two characters".into(), Arc::new(|n| format!("q={:02}", n % 100))),
        ("q=<one digit>: one character".into(), Arc::new(|n| format!("q={}", n % 10))),
        ("q=bench&role=admin: every user matches q, one the role".into(), Arc::new(|_| "q=bench&role=admin".into())),
        ("no q: the first page of the directory".into(), Arc::new(|_| String::new())),
    ]
}

/// Seeds `dir` once (SQLite in `dir/sqlite`, or PostgreSQL with its keys in `dir/postgres`),
/// then starts the server and times each kind of search for `seconds`.
pub async fn run(
    bin: &(PathBuf, Vec<String>),
    dir: &Path,
    postgres: Option<&str>,
    users: usize,
    password_hash: &str,
    seconds: f64,
) -> anyhow::Result<()> {
    let (data, url) = kept_world(dir, postgres, PG_DATABASE, &format!("{users} users"), async |app, parallel, data| {
        let token = seed::admin_token(app).await?;
        seed::users(app, users, password_hash, parallel, &ProgressBar::hidden()).await?;
        std::fs::write(data.join("bench-token"), token)?;
        Ok(())
    })
    .await?;
    let token = std::fs::read_to_string(data.join("bench-token")).context("the admin's token of the seeded world")?;
    let engine = if url.is_some() { "PostgreSQL" } else { "SQLite" };
    let server = crate::server::Server::start(&bin.0, &bin.1, &data, url.as_deref()).await?;
    println!("\n## Directory search, {engine}, {users} users (start-up {:.2} s)\n", server.startup.as_secs_f64());
    println!("| query | requests | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    for (what, path) in cases(users) {
        let token: Arc<str> = token.trim().into();
        let make: MakeRequest = Arc::new(move |n| load::Request::get(format!("/api/v1/users?{}", path(n)), Some(&token)));
        let s =
            load::run(server.base.clone(), 1, Duration::from_millis(300), Duration::from_secs_f64(seconds), make, ProgressBar::hidden())
                .await;
        anyhow::ensure!(s.failed == 0, "{what}: {} failed: {}", s.failed, s.first_failure.as_deref().unwrap_or("?"));
        println!("| {what} | {} | {:.2} ms | {:.2} ms | {:.2} ms |", s.ok, s.pct_ms(50.0), s.pct_ms(99.0), s.pct_ms(100.0));
    }
    server.stop().await
}
