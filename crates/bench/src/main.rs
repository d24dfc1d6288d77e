//! `keyward-bench`: seeds a large world through the store, starts the real server (the
//! `keyward` binary) as a child process and measures it over HTTP, on SQLite and on PostgreSQL,
//! printing one table per engine with issue 12's aims beside the figures.
//!
//! `cargo run --release -p keyward-bench -- [--quick] [--engine sqlite|postgres]…`
//!
//! The load comes from this process on loopback, so client and server share the machine's
//! cores; ratios to the trivial endpoint (T) are the figures to compare across machines.

mod load;
mod search;
mod seed;
mod server;
mod startup;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use keyward_bench::{PASSWORD, Sizes, email, pair, user_id};
use load::{MakeRequest, Stats};
use serde_json::json;
use server::{Server, cpu_seconds, postgres_cpu_seconds};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator of the whole process (see the workspace Cargo.toml for why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Engine {
    Sqlite,
    Postgres,
}

/// Measures Keyward against issue 12's aims.
#[derive(Debug, Parser)]
#[command(name = "keyward-bench")]
struct Args {
    /// A world a tenth of the size (10k users, 1k teams, 10k resources, 100k shares, 100k
    /// events) and shorter runs: about three minutes for both engines.
    #[arg(long)]
    quick: bool,
    /// The engines to measure (repeat for both); by default SQLite, and PostgreSQL when its
    /// server answers (KEYWARD_BENCH_DATABASE_URL, or postgres://postgres@127.0.0.1:5432/postgres).
    #[arg(long, value_enum)]
    engine: Vec<Engine>,
    /// A tiny world (1,000 users), to try the benchmark itself out.
    #[arg(long, hide = true)]
    tiny: bool,
    /// Seconds of each load run (after a warm-up); 3 with --quick, 10 otherwise.
    #[arg(long)]
    seconds: Option<f64>,
    /// Concurrent connections of the check load.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Checks per batch request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Only the start-up with the big world: seeds it once into DIR (kept for later runs),
    /// then starts the server `--runs` times, printing each start-up and the index load.
    #[arg(long, value_name = "DIR")]
    startup: Option<PathBuf>,
    /// Only the directory search (`GET /api/v1/users?q=`) at the world's user count (100,000;
    /// 10,000 with --quick): the users are seeded once into DIR (kept for later runs), then each
    /// kind of query runs on one connection for --seconds (default 3).
    #[arg(long, value_name = "DIR", conflicts_with = "startup")]
    search: Option<PathBuf>,
    /// Server starts of `--startup`.
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

/// One line of the table.
struct Row {
    what: String,
    value: String,
    aim: String,
    met: Option<bool>,
}

#[derive(Default)]
struct Table {
    rows: Vec<Row>,
}

impl Table {
    fn info(&mut self, what: impl Into<String>, value: impl Into<String>) {
        self.rows.push(Row { what: what.into(), value: value.into(), aim: String::new(), met: None });
    }
    fn aim(&mut self, what: impl Into<String>, value: impl Into<String>, aim: impl Into<String>, met: bool) {
        self.rows.push(Row { what: what.into(), value: value.into(), aim: aim.into(), met: Some(met) });
    }
    fn print(&self, title: &str) {
        let w = self.rows.iter().map(|r| r.what.chars().count()).max().unwrap_or(0);
        let v = self.rows.iter().map(|r| r.value.chars().count()).max().unwrap_or(0);
        println!("\n## {title}\n");
        println!("| {:w$} | {:v$} | aim | |", "measure", "figure");
        println!("|{}|{}|---|---|", "-".repeat(w + 2), "-".repeat(v + 2));
        for r in &self.rows {
            let verdict = match r.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "",
            };
            println!("| {:w$} | {:v$} | {} | {} |", r.what, r.value, r.aim, verdict);
        }
    }
}

fn per_s(x: f64) -> String {
    let n = x.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}/s")
}

fn pct(a: f64, b: f64) -> f64 {
    100.0 * a / b.max(1e-9)
}

/// Throughput and latency of a load run, and its failures if any.
fn load_figure(s: &Stats) -> String {
    let mut out = format!("{}, p50 {:.2} ms, p99 {:.2} ms", per_s(s.rate()), s.pct_ms(50.0), s.pct_ms(99.0));
    if let Some(cpu) = s.server_cpu_us {
        out.push_str(&format!(", CPU each: server {cpu:.0} µs"));
        if let Some(hashing) = s.hashing_cpu_us {
            out.push_str(&format!(" ({hashing:.0} µs hashing)"));
        }
        if let Some(db) = s.database_cpu_us {
            out.push_str(&format!(", PostgreSQL {db:.0} µs"));
        }
        if let Some(client) = s.client_cpu_us {
            out.push_str(&format!(", load generator {client:.0} µs"));
        }
    }
    if s.failed > 0 {
        out.push_str(&format!(" ({} failed: {})", s.failed, s.first_failure.as_deref().unwrap_or("?")));
    }
    out
}

struct Bench {
    args: Args,
    sizes: Sizes,
    warmup: Duration,
    duration: Duration,
    bin: (PathBuf, Vec<String>),
    password_hash: String,
    progress: MultiProgress,
    steps: ProgressBar,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--serve") {
        return server::serve().await;
    }
    let args = Args::parse();
    let sizes = if args.tiny {
        Sizes::TINY
    } else if args.quick {
        Sizes::QUICK
    } else {
        Sizes::FULL
    };
    let seconds = args.seconds.unwrap_or(if args.quick { 3.0 } else { 10.0 });
    let warmup = Duration::from_secs_f64(if args.quick { 0.5 } else { 1.0 });
    let bin = server::binary()?;
    let pg_base = std::env::var("KEYWARD_BENCH_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if let Some(dir) = &args.startup {
        let password_hash = hash_password(PASSWORD)?;
        let engines = if args.engine.is_empty() { vec![Engine::Sqlite] } else { args.engine.clone() };
        for engine in engines {
            let pg = (engine == Engine::Postgres).then_some(pg_base.as_str());
            startup::run(&bin, dir, pg, sizes, &password_hash, args.runs).await?;
        }
        return Ok(());
    }
    if let Some(dir) = &args.search {
        let password_hash = hash_password(PASSWORD)?;
        let engines = if args.engine.is_empty() { vec![Engine::Sqlite] } else { args.engine.clone() };
        for engine in engines {
            let pg = (engine == Engine::Postgres).then_some(pg_base.as_str());
            search::run(&bin, dir, pg, sizes.users, &password_hash, args.seconds.unwrap_or(3.0)).await?;
        }
        return Ok(());
    }
    let engines = if args.engine.is_empty() {
        let mut e = vec![Engine::Sqlite];
        if postgres_answers(&pg_base).await {
            e.push(Engine::Postgres);
        } else {
            eprintln!("PostgreSQL does not answer at the benchmark's URL: measuring SQLite only");
        }
        e
    } else {
        args.engine.clone()
    };
    let progress = MultiProgress::new();
    // Per engine: three server starts, eleven load runs and A; plus the in-process step.
    let steps = progress.add(ProgressBar::new(1 + 16 * engines.len() as u64));
    steps.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")?);
    steps.enable_steady_tick(Duration::from_millis(200));
    let password_hash = hash_password(PASSWORD)?;
    let bench = Bench { args, sizes, warmup, duration: Duration::from_secs_f64(seconds), bin, password_hash, progress, steps };

    let started = Instant::now();
    let mut tables = Vec::new();
    let mut common = Table::default();
    bench.steps.set_message("in-process decisions through the index");
    let (built, median_ns, p99_ns) = in_process(&bench.sizes, &bench.password_hash);
    bench.steps.inc(1);
    let shares = bench.sizes.big_shares();
    common.info(format!("index built in memory from rows, {shares} shares"), format!("{built:.1} s"));
    common.aim(
        format!("in-process decision through the index, {shares} shares"),
        format!("median {median_ns:.0} ns, p99 {p99_ns:.0} ns"),
        "≤ 1 µs median",
        median_ns <= 1000.0,
    );
    for engine in engines {
        let table = match engine {
            Engine::Sqlite => bench.engine_run("SQLite", None).await,
            Engine::Postgres => {
                let (url, name) = fresh_database(&pg_base).await?;
                let result = bench.engine_run("PostgreSQL", Some(&url)).await;
                drop_database(&pg_base, &name).await;
                result
            }
        }?;
        tables.push((engine, table));
    }
    bench.steps.finish_and_clear();
    let machine = format!(
        "{} cores, {} — {} world: {} users, {} teams, {} resources, {} / {} shares, {} audit events; load runs of {:.0} s, {} check connections",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        time::OffsetDateTime::now_utc().date(),
        if bench.args.tiny {
            "tiny"
        } else if bench.args.quick {
            "quick"
        } else {
            "full"
        },
        bench.sizes.users,
        bench.sizes.teams,
        bench.sizes.resources,
        bench.sizes.small_shares(),
        bench.sizes.big_shares(),
        bench.sizes.events,
        bench.duration.as_secs_f64(),
        bench.args.connections,
    );
    println!("\n{machine}");
    common.print("In process");
    for (engine, table) in &tables {
        table.print(match engine {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        });
    }
    println!("\nfinished in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

impl Bench {
    fn step(&self, msg: impl Into<String>) {
        self.steps.set_message(msg.into());
    }

    fn done(&self) {
        self.steps.inc(1);
    }

    async fn start(&self, dir: &Path, url: Option<&str>) -> anyhow::Result<Server> {
        let s = Server::start(&self.bin.0, &self.bin.1, dir, url).await?;
        self.done();
        Ok(s)
    }

    async fn load(&self, server: &Server, connections: usize, make: MakeRequest) -> Stats {
        let me = std::process::id();
        let (server_cpu, hashing_cpu, client_cpu) = (server.cpu_seconds(), server.hashing_cpu_seconds(), cpu_seconds(me));
        let database_cpu = server.postgres.then(postgres_cpu_seconds);
        let mut s = load::run(server.base.clone(), connections, self.warmup, self.duration, make, self.steps.clone()).await;
        let each = |seconds: f64| seconds * 1e6 / s.answered.max(1) as f64;
        s.server_cpu_us = Some(each(server.cpu_seconds() - server_cpu));
        s.hashing_cpu_us = Some(each(server.hashing_cpu_seconds() - hashing_cpu)).filter(|h| *h >= 1.0);
        s.database_cpu_us = database_cpu.map(|db| each(postgres_cpu_seconds() - db));
        s.client_cpu_us = Some(each(cpu_seconds(me) - client_cpu));
        self.done();
        s
    }

    /// The seeding bar for `rows` rows.
    fn seeding_bar(&self, rows: u64) -> ProgressBar {
        let bar = self.progress.add(ProgressBar::new(rows));
        bar.set_style(
            ProgressStyle::with_template("  seeding {msg:12} {bar:30} {pos}/{len} rows ({per_sec}, {eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    }

    /// The whole run on one engine: an empty server, the small world, the big world.
    async fn engine_run(&self, name: &str, url: Option<&str>) -> anyhow::Result<Table> {
        let dir = std::env::temp_dir().join(format!("keyward-bench-{}", uuid::Uuid::now_v7().simple()));
        let result = self.engine_run_in(name, &dir, url).await;
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    async fn engine_run_in(&self, name: &str, dir: &Path, url: Option<&str>) -> anyhow::Result<Table> {
        let s = self.sizes;
        let mut t = Table::default();
        let pg = url.is_some();
        // PostgreSQL takes writers side by side; SQLite has one.
        let parallel = if pg { 4 } else { 1 };

        // An empty world: the idle server.
        self.step(format!("{name}: the idle server"));
        let app = seed::open(dir, url).await?;
        let token = seed::admin_token(&app).await?;
        drop(app);
        let server = self.start(dir, url).await?;
        t.info("idle server (empty world): start-up, RSS", format!("{:.2} s, {:.0} MiB", server.startup.as_secs_f64(), server.rss_mib()));
        server.stop().await?;

        // The small world.
        self.step(format!("{name}: seeding the small world"));
        let started = Instant::now();
        let app = seed::open(dir, url).await?;
        let bar = self.seeding_bar(seed::small_world_rows(&s));
        seed::small_world(&app, &s, &self.password_hash, parallel, &bar).await?;
        let rows = bar.position();
        bar.finish_and_clear();
        drop(app);
        analyze(url).await?;
        let secs = started.elapsed().as_secs_f64();
        t.info(
            "seeding users, teams, memberships, resources, shares",
            format!("{rows} rows in {secs:.0} s ({})", per_s(rows as f64 / secs)),
        );
        let small = s.small_shares();
        self.step(format!("{name}: {small} shares"));
        let server = self.start(dir, url).await?;
        t.info(format!("start-up with {small} shares, RSS"), format!("{:.2} s, {:.0} MiB", server.startup.as_secs_f64(), server.rss_mib()));
        let (t_small, single_small, _) = self.checks(&server, &token, &mut t, small, None).await;
        server.stop().await?;

        // The big world.
        self.step(format!("{name}: seeding the big world"));
        let started = Instant::now();
        let app = seed::open(dir, url).await?;
        let bar = self.seeding_bar((s.big_shares() - s.small_shares() + s.events) as u64);
        seed::big_shares(&app, &s, parallel, &bar).await?;
        seed::events(&app, &s, &token, parallel, &bar).await?;
        let rows = bar.position();
        bar.finish_and_clear();
        drop(app);
        analyze(url).await?;
        let secs = started.elapsed().as_secs_f64();
        t.info("seeding shares and audit events (chained)", format!("{rows} rows in {secs:.0} s ({})", per_s(rows as f64 / secs)));
        let big = s.big_shares();
        self.step(format!("{name}: {big} shares"));
        let server = self.start(dir, url).await?;
        let startup = server.startup.as_secs_f64();
        let load = server.index_load_ms().map_or_else(String::new, |ms| format!(" (index load {:.2} s)", ms as f64 / 1000.0));
        t.aim(format!("start-up with {big} shares (index loaded)"), format!("{startup:.2} s{load}"), "≤ 3 s", startup <= 3.0);
        let rss = server.rss_mib();
        t.aim(format!("RSS after start-up, {big} shares"), format!("{rss:.0} MiB"), "< 300 MB", rss * 1.048_576 < 300.0);
        let floor = if pg { 60.0 } else { 70.0 };
        let (t_big, single_big, _) = self.checks(&server, &token, &mut t, big, Some(floor)).await;
        t.aim(
            format!("single checks: {big} vs {small} shares"),
            format!(
                "{:.0} % of the throughput, p99 {:.2} vs {:.2} ms",
                pct(single_big.rate(), single_small.rate()),
                single_big.pct_ms(99.0),
                single_small.pct_ms(99.0)
            ),
            "no slower than 1.5×",
            single_big.rate() * 1.5 >= single_small.rate(),
        );
        let _ = t_small;

        // Sign-ins against A, the raw Argon2id rate of this machine, measured just before and
        // just after them: a machine whose speed drifts (shared cores) moves both alike.
        self.step(format!("{name}: A (raw Argon2id verifications)"));
        let before = (argon2_rate(&self.password_hash, self.duration, false), argon2_rate(&self.password_hash, self.duration, true));
        self.done();
        self.step(format!("{name}: sign-ins"));
        let signins = self.load(&server, 16, sign_in(s)).await;
        self.step(format!("{name}: A again"));
        let after = (argon2_rate(&self.password_hash, self.duration, false), argon2_rate(&self.password_hash, self.duration, true));
        self.done();
        let (a, a_kept) = ((before.0 + after.0) / 2.0, (before.1 + after.1) / 2.0);
        let around = |b: f64, a: f64| format!("{} ({} before the sign-ins, {} after)", per_s((b + a) / 2.0), per_s(b), per_s(a));
        t.info(format!("A: Argon2id verifications on {} threads (argon2's verify_password)", threads()), around(before.0, after.0));
        t.info("A′: the same, each thread keeping its 19 MiB (as the server's hashing threads do)", around(before.1, after.1));
        t.aim(
            "sign-ins (POST /api/v1/auth/login, 16 connections)",
            format!("{} = {:.0} % of A, {:.0} % of A′", load_figure(&signins), pct(signins.rate(), a), pct(signins.rate(), a_kept)),
            "≥ 85 % of A",
            pct(signins.rate(), a) >= 85.0,
        );

        // Checks while sign-ins saturate the machine.
        self.step(format!("{name}: checks during a sign-in flood"));
        let flood = tokio::spawn(load::run(server.base.clone(), 16, self.warmup, self.duration, sign_in(s), ProgressBar::hidden()));
        let mut during = self.load(&server, self.args.connections, check(&token, s)).await;
        // The server's CPU in this run is mostly the flood's hashing: not the checks' cost.
        during.server_cpu_us = None;
        let flood = flood.await.context("the sign-in flood")?;
        t.aim(
            "checks during a sign-in flood",
            format!("{} = {:.0} % of T (sign-ins {})", load_figure(&during), pct(during.rate(), t_big), per_s(flood.rate())),
            "≥ 40 % of T, p99 ≤ 5 ms",
            pct(during.rate(), t_big) >= 40.0 && during.pct_ms(99.0) <= 5.0,
        );

        // The directory and lookups.
        self.step(format!("{name}: directory search"));
        let search = self.load(&server, 8, directory_search(&token, s)).await;
        t.info(format!("directory search (GET /api/v1/users?q=, {} users)", s.users), load_figure(&search));
        self.step(format!("{name}: lookups"));
        let lookups = self.load(&server, 8, lookup(&token, s)).await;
        t.aim(
            format!("lookup, first page (GET /api/v1/authz/lookup), {big} shares"),
            load_figure(&lookups),
            "p99 ≤ 20 ms",
            lookups.pct_ms(99.0) <= 20.0,
        );
        t.info("server peak RSS (VmHWM) after the whole run", format!("{:.0} MiB", server.peak_rss_mib()));
        server.stop().await?;
        Ok(t)
    }

    /// T, single checks and batch checks at `shares`; answers T's rate and the single checks'
    /// figures. With `floor`, the single checks are held to it (% of T) and to p99 ≤ 2 ms.
    async fn checks(&self, server: &Server, token: &str, t: &mut Table, shares: usize, floor: Option<f64>) -> (f64, Stats, Stats) {
        let c = self.args.connections;
        self.step(format!("T at {shares} shares"));
        let trivial = self.load(server, c, healthz()).await;
        t.info(format!("T: GET /healthz, {shares} shares"), load_figure(&trivial));
        self.step(format!("single checks at {shares} shares"));
        let single = self.load(server, c, check(token, self.sizes)).await;
        let ratio = pct(single.rate(), trivial.rate());
        let what = format!("single checks (POST /api/v1/authz/check), {shares} shares");
        let figure = format!("{} = {ratio:.0} % of T", load_figure(&single));
        match floor {
            Some(f) => {
                t.aim(what, figure, format!("≥ {f:.0} % of T, p99 ≤ 2 ms"), ratio >= f && single.pct_ms(99.0) <= 2.0);
                // With c connections the mean latency is at least c / throughput (Little's law):
                // one connection shows what a check costs without waiting behind the others.
                self.step(format!("single checks on one connection at {shares} shares"));
                let alone = self.load(server, 1, check(token, self.sizes)).await;
                t.info(format!("single checks, 1 connection (no queueing), {shares} shares"), load_figure(&alone));
            }
            None => t.info(what, figure),
        }
        self.step(format!("batch checks at {shares} shares"));
        let n = self.args.batch;
        let batch = self.load(server, c / 4, check_batch(token, self.sizes, n)).await;
        t.info(
            format!("batch checks ({n} per request, {} connections), {shares} shares", c / 4),
            format!(
                "{} requests = {} checks, {:.0} % of T",
                load_figure(&batch),
                per_s(batch.rate() * n as f64),
                pct(batch.rate(), trivial.rate())
            ),
        );
        (trivial.rate(), single, batch)
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn healthz() -> MakeRequest {
    Arc::new(|_| load::Request::get("/healthz", None))
}

/// The JSON of one check of pair `n`.
fn check_json(s: &Sizes, n: u64) -> String {
    let (u, r) = pair(s, n);
    format!(r#"{{"user_id":"{u}","action":"view","resource_id":"{r}"}}"#)
}

fn check(token: &str, s: Sizes) -> MakeRequest {
    let token: Arc<str> = token.into();
    Arc::new(move |n| load::Request::post("/api/v1/authz/check", Some(&token), check_json(&s, n)))
}

fn check_batch(token: &str, s: Sizes, size: usize) -> MakeRequest {
    let token: Arc<str> = token.into();
    Arc::new(move |n| {
        let checks: Vec<String> = (0..size as u64).map(|i| check_json(&s, n * size as u64 + i)).collect();
        load::Request::post("/api/v1/authz/check-batch", Some(&token), format!(r#"{{"checks":[{}]}}"#, checks.join(",")))
    })
}

fn sign_in(s: Sizes) -> MakeRequest {
    Arc::new(move |n| {
        let who = (n as usize).wrapping_mul(7) % s.users;
        let mut req = load::Request::post("/api/v1/auth/login", None, json!({ "email": email(who), "password": PASSWORD }).to_string());
        // Each sign-in from its own address (the server trusts loopback as its proxy).
        req.forwarded_for = Some(format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255));
        req
    })
}

fn directory_search(token: &str, s: Sizes) -> MakeRequest {
    let token: Arc<str> = token.into();
    Arc::new(move |n| load::Request::get(format!("/api/v1/users?q=user{}", (n as usize * 37) % s.users), Some(&token)))
}

fn lookup(token: &str, s: Sizes) -> MakeRequest {
    let token: Arc<str> = token.into();
    Arc::new(move |n| {
        load::Request::get(format!("/api/v1/authz/lookup?user_id={}&action=view", user_id((n as usize * 31) % s.users)), Some(&token))
    })
}

/// The PHC string every seeded user gets (Argon2id at the server's parameters).
fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::PasswordHasher as _;
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), b"keyward-bench-salt")
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// A: Argon2id verifications per second of `hash` on every core, through the argon2 crate's
/// `verify_password` (a fresh 19 MiB each time); with `keep`, A′: each thread reusing its
/// memory, the fastest this machine verifies (and the way the server's hashing threads do).
fn argon2_rate(hash: &str, duration: Duration, keep: bool) -> f64 {
    let started = Instant::now();
    let end = started + duration;
    let workers: Vec<_> = (0..threads())
        .map(|_| {
            let hash = hash.to_owned();
            std::thread::spawn(move || {
                let (mut n, mut memory) = (0u64, Vec::new());
                while Instant::now() < end {
                    let ok = if keep {
                        keyward_core::password::verify_in(PASSWORD, &hash, &mut memory)
                    } else {
                        argon2::PasswordVerifier::verify_password(&argon2::Argon2::default(), PASSWORD.as_bytes(), hash.as_str()).is_ok()
                    };
                    n += u64::from(ok);
                }
                n
            })
        })
        .collect();
    let total: u64 = workers.into_iter().map(|w| w.join().unwrap_or(0)).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

/// Builds the big world's index in memory and times single decisions through it: answers the
/// build's seconds and the median and p99 of one decision in nanoseconds.
fn in_process(s: &Sizes, password_hash: &str) -> (f64, f64, f64) {
    let started = Instant::now();
    let index = keyward_bench::index(s, keyward_bench::SHARES_PER_RESOURCE, password_hash);
    let built = started.elapsed().as_secs_f64();
    let now = time::OffsetDateTime::now_utc();
    let mut times = Vec::with_capacity(200_000);
    for n in 0..200_000u64 {
        let (u, r) = pair(s, n);
        let t = Instant::now();
        let d = index.decision(u, r, now);
        times.push(t.elapsed().as_nanos() as f64);
        std::hint::black_box(d);
    }
    times.sort_by(f64::total_cmp);
    (built, times[times.len() / 2], times[times.len() * 99 / 100])
}

async fn postgres_answers(url: &str) -> bool {
    use sqlx::Connection;
    matches!(tokio::time::timeout(Duration::from_secs(3), sqlx::postgres::PgConnection::connect(url)).await, Ok(Ok(_)))
}

/// On PostgreSQL, refreshes the planner's statistics after a bulk load, as autovacuum does on
/// a default server once a table has grown (some machines run without it; stale statistics
/// that still say "empty" send the directory search to a scan of 100,000 users).
async fn analyze(url: Option<&str>) -> anyhow::Result<()> {
    use sqlx::Connection;
    if let Some(url) = url {
        let mut c = sqlx::postgres::PgConnection::connect(url).await.context("cannot reach PostgreSQL")?;
        sqlx::query("ANALYZE").execute(&mut c).await?;
    }
    Ok(())
}

/// Creates an empty database on the server of `base`; answers its URL and name.
async fn fresh_database(base: &str) -> anyhow::Result<(String, String)> {
    use sqlx::Connection;
    let name = format!("keyward_bench_{}", uuid::Uuid::now_v7().simple());
    let mut c = sqlx::postgres::PgConnection::connect(base).await.context("cannot reach PostgreSQL")?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await?;
    Ok((database_url(base, &name), name))
}

/// The URL of database `name` on the server of `base`.
fn database_url(base: &str, name: &str) -> String {
    let (head, query) = base.split_once('?').map_or((base, None), |(h, q)| (h, Some(q)));
    let server = head.rsplit_once('/').map_or(head, |(s, _)| s);
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

async fn drop_database(base: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut c) = sqlx::postgres::PgConnection::connect(base).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut c).await;
    }
}
