//! Benchmark: exporting a large audit log over HTTP. Seeds events through the store (each write
//! transaction chains its events at commit, as in production) on the embedded SQLite database,
//! starts the real server in a child process, exports CSV and JSON Lines over HTTP with an API
//! token, and prints events per second and the server's peak resident memory (VmHWM).
//!
//! `cargo run --release -p keyward-server --example bench_export -- [events]` (default 1,000,000)
//!
//! The child is this same binary run as `bench_export --serve DIR`: it opens the data directory
//! as `keyward serve` does and serves until its standard input closes.

use keyward_core::RequestMeta;
use keyward_core::clock::SystemClock;
use keyward_core::model::AuditEvent;
use keyward_core::password::Password;
use keyward_core::services::auth::LoginOutcome;
use keyward_server::Config;
use serde_json::json;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

const PER_TRANSACTION: usize = 5_000;

fn config(dir: &Path) -> Config {
    Config { data_dir: dir.to_path_buf(), listen: "127.0.0.1:0".into(), ..Config::default() }
}

/// The child: the real server on `dir`, its port on standard output.
async fn serve(dir: PathBuf) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = keyward_server::open(Config { public_url: Some(format!("http://{addr}")), ..config(&dir) }, Arc::new(SystemClock)).await?;
    println!("port {}", addr.port());
    let stdin_closed = async {
        let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
    };
    app.serve(listener, stdin_closed).await
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The CPU time a process has used so far, in seconds (user + system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let ticks = 100.0; // USER_HZ on Linux
    (field(11) + field(12)) / ticks
}

/// Seeds `n` events and answers an admin's API token.
async fn seed(dir: &Path, n: usize) -> anyhow::Result<String> {
    let app = keyward_server::open(config(dir), Arc::new(SystemClock)).await?;
    let kw = &app.kw;
    let pw = Password::new("Bench-Admin-Passw0rd!");
    kw.init_admin("bench@example.com", "Bench Admin", Some(&pw)).await?;
    let LoginOutcome::SignedIn(signed) = kw.login(&RequestMeta::default(), "bench@example.com", &pw).await? else {
        anyhow::bail!("the bench admin has no MFA")
    };
    let actor = kw.authenticate_session(&signed.token, RequestMeta::default()).await?;
    let token = kw.create_token(&actor, "bench", None).await?.secret;
    let started = Instant::now();
    let meta = RequestMeta {
        ip: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) bench".into()),
        ..RequestMeta::default()
    };
    let mut written = 0;
    while written < n {
        let mut tx = kw.unchecked_write().await?;
        for i in written..(written + PER_TRANSACTION).min(n) {
            let e = AuditEvent::by(&actor, "resource.update", kw.now())
                .target("resource", uuid::Uuid::now_v7())
                .details(json!({ "name": { "before": format!("Workflow {i}"), "after": format!("Workflow {i} (nightly)") } }));
            tx.insert_audit(&AuditEvent { ip: meta.ip.clone(), user_agent: meta.user_agent.clone(), ..e }).await?;
        }
        tx.commit().await?;
        written = (written + PER_TRANSACTION).min(n);
    }
    let secs = started.elapsed().as_secs_f64();
    println!("seeded {n} events through the store in {secs:.1}s ({:.0} events/s, chained at commit)", n as f64 / secs);
    Ok(token)
}

/// Exports over HTTP, reading the body as it streams; answers the events and the seconds.
async fn export(base: &str, token: &str, format: &str) -> anyhow::Result<(u64, f64)> {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut res = http.get(format!("{base}/api/v1/audit/export?format={format}")).bearer_auth(token).send().await?;
    anyhow::ensure!(res.status().is_success(), "export answered {}", res.status());
    let mut lines = 0u64;
    while let Some(chunk) = res.chunk().await? {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let header = u64::from(format == "csv");
    Ok((lines - header, started.elapsed().as_secs_f64()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        return serve(PathBuf::from(&args[2])).await;
    }
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("keyward-bench-export-{}", uuid::Uuid::now_v7().simple()));
    let token = seed(&dir, n).await?;
    let db = std::fs::metadata(dir.join("keyward.db")).map(|m| m.len()).unwrap_or(0);
    println!("database: {:.0} MB", db as f64 / 1e6);

    let mut child = Command::new(std::env::current_exe()?)
        .args(["--serve", &dir.display().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?).read_line(&mut line)?;
    let port: u16 = line.trim().strip_prefix("port ").and_then(|p| p.parse().ok()).ok_or_else(|| anyhow::anyhow!("child said {line:?}"))?;
    let base = format!("http://127.0.0.1:{port}");
    let pid = child.id();
    println!("server pid {pid}: VmRSS {} KiB after start-up", status_kib(pid, "VmRSS:"));

    for format in ["csv", "jsonl", "csv", "jsonl"] {
        let cpu = cpu_seconds(pid);
        let (events, secs) = export(&base, &token, format).await?;
        let cpu = cpu_seconds(pid) - cpu;
        println!(
            "export {format:5}: {events} events in {secs:.2}s = {:.0} events/s; server CPU {cpu:.2}s = {:.0} events per CPU-second; \
             server VmRSS {} KiB, peak (VmHWM) {} KiB",
            events as f64 / secs,
            events as f64 / cpu.max(0.01),
            status_kib(pid, "VmRSS:"),
            status_kib(pid, "VmHWM:")
        );
    }
    drop(child.stdin.take());
    child.wait()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
