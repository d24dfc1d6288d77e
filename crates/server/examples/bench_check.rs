//! Benchmark: the check API against the trivial endpoint, on the embedded SQLite store with a
//! large world (by default 1,000,000 shares). Prints requests per second of each and the ratio.
//!
//! `cargo run --release -p keyward-server --example bench_check -- [shares] [seconds] [connections]`
//!
//! Three figures: the trivial endpoint; checks of ever-new (user, resource) pairs (each one read
//! from the database); and checks cycling through 10,000 pairs (answered from the node's memory
//! while the access data does not change).
//!
//! `BENCH_DB_CONNECTIONS=N` sets the database pool size.
//!
//! The load comes from this process on loopback, so on a small machine client and server share
//! the cores; the ratio between the two endpoints is the figure to watch.

use keyward_core::clock::SystemClock;
use keyward_core::password::Password;
use keyward_server::Config;
use serde_json::json;
use sqlx::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const USERS: i64 = 10_000;
const TEAMS: i64 = 1_000;
const RESOURCES: i64 = 100_000;

fn arg(n: usize, default: u64) -> u64 {
    std::env::args().nth(n).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn uid(prefix: &str, i: i64) -> String {
    format!("00000000-0000-7000-{prefix}-{i:012}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let shares = arg(1, 1_000_000) as i64;
    let seconds = arg(2, 10);
    let connections = arg(3, 32) as usize;
    let dir = std::env::temp_dir().join(format!("keyward-bench-{}", uuid::Uuid::now_v7().simple()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let pool =
        std::env::var("BENCH_DB_CONNECTIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(Config::default().database_max_connections);
    let config =
        Config { data_dir: dir.clone(), public_url: Some(format!("http://{addr}")), database_max_connections: pool, ..Config::default() };
    let app = keyward_server::open(config.clone(), Arc::new(SystemClock)).await?;
    app.kw.init_admin("bench@example.com", "Bench Admin", Some(&Password::new("Bench-Admin-Passw0rd!"))).await?;

    let started = Instant::now();
    seed(&config.database_url(), shares).await?;
    println!("seeded {USERS} users, {TEAMS} teams, {RESOURCES} resources, {shares} shares in {:.1}s", started.elapsed().as_secs_f64());

    tokio::spawn(async move { app.serve(listener, std::future::pending()).await });
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": "bench@example.com", "password": "Bench-Admin-Passw0rd!" }))
        .send()
        .await?
        .json()
        .await?;
    let csrf = login["csrf_token"].as_str().unwrap_or_default().to_owned();
    let token: serde_json::Value = http
        .post(format!("{base}/api/v1/me/tokens"))
        .header("x-csrf-token", &csrf)
        .json(&json!({ "name": "bench" }))
        .send()
        .await?
        .json()
        .await?;
    let token = token["token"].as_str().unwrap_or_default().to_owned();

    // With BENCH_HOLD_SECONDS set, serve for an outside load generator (such as wrk) instead.
    if let Some(hold) = std::env::var("BENCH_HOLD_SECONDS").ok().and_then(|s| s.parse::<u64>().ok()) {
        println!("serving {base} for {hold}s; token {token}");
        println!("sample check body: {}", json!({ "user_id": uid("8000", 31), "action": "view", "resource_id": uid("a000", 17) }));
        tokio::time::sleep(Duration::from_secs(hold)).await;
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    let trivial = load(&base, "/healthz", None, seconds, connections, 0).await;
    let cold = load(&base, "/api/v1/authz/check", Some(token.clone()), seconds, connections, 0).await;
    let hot = load(&base, "/api/v1/authz/check", Some(token), seconds, connections, 10_000).await;
    println!("GET /healthz                                   {trivial:>10.0} requests/s");
    println!(
        "POST /api/v1/authz/check, random pairs         {cold:>10.0} requests/s  ({:.1} % of trivial)",
        100.0 * cold / trivial.max(1.0)
    );
    println!("POST /api/v1/authz/check, 10,000 hot pairs     {hot:>10.0} requests/s  ({:.1} % of trivial)", 100.0 * hot / trivial.max(1.0));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Writes the world straight into SQLite in a few large statements.
async fn seed(url: &str, shares: i64) -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await?;
    sqlx::query("PRAGMA synchronous = OFF").execute(&mut c).await?;
    let series = |n: i64| format!("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {})", n - 1);
    let statements = [
        format!(
            "{} INSERT INTO users (id, email, email_key, full_name, role, status, mfa_enabled, created_at, updated_at) \
             SELECT printf('00000000-0000-7000-8000-%012d', i), 'u' || i || '@bench.example', 'u' || i || '@bench.example', 'User ' || i, \
             CASE i % 3 WHEN 0 THEN 'developer' WHEN 1 THEN 'data_scientist' ELSE 'viewer' END, 'active', 0, 0, 0 FROM n",
            series(USERS)
        ),
        format!(
            "{} INSERT INTO teams (id, name, name_key, description, created_at, updated_at) SELECT printf('00000000-0000-7000-9000-%012d', i), 't' || i, 't' || i, '', 0, 0 FROM n",
            series(TEAMS)
        ),
        format!(
            "{} INSERT INTO team_members (team_id, user_id, added_at) SELECT printf('00000000-0000-7000-9000-%012d', i % {TEAMS}), printf('00000000-0000-7000-8000-%012d', i), 0 FROM n",
            series(USERS)
        ),
        format!(
            "{} INSERT INTO resources (id, kind, name, owner_id, cpu_millis, memory_mib, storage_gib, created_at, updated_at) \
             SELECT printf('00000000-0000-7000-a000-%012d', i), CASE i % 4 WHEN 0 THEN 'app' WHEN 1 THEN 'workflow' WHEN 2 THEN 'data_source' ELSE 'dashboard' END, \
             'r' || i, printf('00000000-0000-7000-8000-%012d', i % {USERS}), 0, 0, 0, 0, 0 FROM n",
            series(RESOURCES)
        ),
        format!(
            "{} INSERT OR IGNORE INTO shares (id, resource_id, subject_type, subject_id, level, created_at) \
             SELECT printf('00000000-0000-7000-b000-%012d', i), printf('00000000-0000-7000-a000-%012d', i % {RESOURCES}), CASE WHEN i % 5 = 0 THEN 'team' ELSE 'user' END, \
             CASE WHEN i % 5 = 0 THEN printf('00000000-0000-7000-9000-%012d', (i * 7 + i / {RESOURCES}) % {TEAMS}) ELSE printf('00000000-0000-7000-8000-%012d', (i * 13 + (i / {RESOURCES}) * 997) % {USERS}) END, \
             CASE WHEN i % 2 = 0 THEN 'view' ELSE 'edit' END, 0 FROM n",
            series(shares)
        ),
    ];
    for s in statements {
        sqlx::query(sqlx::AssertSqlSafe(s)).execute(&mut c).await?;
    }
    sqlx::query("ANALYZE").execute(&mut c).await?;
    let (n,): (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM shares").fetch_one(&mut c).await?;
    println!("{n} distinct shares stored");
    Ok(())
}

/// Sends requests from `connections` workers for `seconds`; answers requests per second. With
/// `hot` > 0 the checks cycle through that many (user, resource) pairs, as a platform asking
/// about its active users does; with 0 every check is a new pair.
async fn load(base: &str, path: &str, token: Option<String>, seconds: u64, connections: usize, hot: i64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..connections)
        .map(|w| {
            let (base, path, token, done) = (base.to_owned(), path.to_owned(), token.clone(), done.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut i = w as i64 * 7919;
                while Instant::now() < deadline {
                    i = if hot > 0 { (i + 1) % hot } else { i + 1 };
                    let req = match &token {
                        None => http.get(format!("{base}{path}")),
                        Some(t) => http.post(format!("{base}{path}")).bearer_auth(t).json(&json!({
                            "user_id": uid("8000", (i * 31) % USERS), "action": "view", "resource_id": uid("a000", (i * 17) % RESOURCES)
                        })),
                    };
                    if matches!(req.send().await, Ok(r) if r.status().is_success()) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let start = Instant::now();
    for w in workers {
        let _ = w.await;
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}
