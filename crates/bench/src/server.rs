//! The real server (`keyward serve`) as a child process: started on a random port, timed until
//! it answers, measured through `/proc`, stopped with SIGTERM.

use anyhow::{Context, bail};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The server to start: the binary named by `KEYWARD_BENCH_SERVER` (such as a built
/// `keyward`), or this executable itself in its `--serve` mode, which runs the same server code
/// as `keyward serve` from the same build (`cargo run` holds the build directory, so the
/// benchmark cannot build the `keyward` binary itself while it runs).
pub fn binary() -> anyhow::Result<(PathBuf, Vec<String>)> {
    if let Some(bin) = std::env::var_os("KEYWARD_BENCH_SERVER") {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            bail!("KEYWARD_BENCH_SERVER names {}, which is not a file", bin.display());
        }
        return Ok((bin, vec!["serve".into()]));
    }
    Ok((std::env::current_exe()?, vec!["--serve".into()]))
}

/// The `--serve` mode: the real server, configured from `KEYWARD_*` as `keyward serve` is,
/// until SIGTERM.
pub async fn serve() -> anyhow::Result<()> {
    let config = keyward_server::Config::load(None, &keyward_server::Overrides::default())?;
    // Logs as `keyward serve` writes them (the index load reports its progress and time).
    keyward_server::telemetry::init_logging(&config);
    let listener = tokio::net::TcpListener::bind(config.listen_addr()?).await?;
    let addr = listener.local_addr()?;
    let app = keyward_server::open(config, std::sync::Arc::new(keyward_core::clock::SystemClock)).await?;
    println!("Keyward listening on http://{addr}");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    app.serve(listener, async move {
        term.recv().await;
    })
    .await
}

/// A running server.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub base: String,
    /// From spawning the process to the first answer of `/healthz` (the authorization index is
    /// loaded before the first request is served).
    pub startup: Duration,
    /// Whether it runs on PostgreSQL (else on its embedded SQLite).
    pub postgres: bool,
    /// The last lines the server wrote, shown when something fails.
    log: Arc<Mutex<VecDeque<String>>>,
}

/// The CPU time process `pid` has used so far (user and system, every thread), in seconds; 0
/// when it is gone.
pub fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// The user and system CPU time of a `/proc/…/stat` line, in seconds.
fn stat_cpu_seconds(stat: &str) -> f64 {
    // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: Vec<f64> = after.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks.iter().sum::<f64>() / per_second
}

/// The CPU time used so far by every process of this machine named `postgres` (the server, its
/// backends and background workers), in seconds: 0 when PostgreSQL runs elsewhere. Processes
/// that ended between two readings take their time with them, so a difference is a floor.
pub fn postgres_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0.0 };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == "postgres"))
        .map(cpu_seconds)
        .sum()
}

/// A memory figure of `/proc/PID/status`, in KiB.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn port_of(line: &str) -> Option<u16> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let digits: String = rest[rest.find(':')? + 1..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl Server {
    /// Starts `bin serve` on `data_dir` (and `database_url` when given) and waits until it answers.
    pub async fn start(bin: &Path, args: &[String], data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<Server> {
        let started = Instant::now();
        let mut cmd = Command::new(bin);
        // The server refuses any KEYWARD_ variable it does not know: the benchmark's own
        // settings are for this process only.
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(|n| n.starts_with("KEYWARD_BENCH_")) {
                cmd.env_remove(name);
            }
        }
        cmd.args(args)
            .env("KEYWARD_DATA_DIR", data_dir)
            .env("KEYWARD_LISTEN", "127.0.0.1:0")
            .env("KEYWARD_LOG_FORMAT", "text")
            .env("KEYWARD_LOG_LEVEL", "info")
            // The sign-in load names its clients in X-Forwarded-For, as a proxy in front would:
            // each simulated person has their own address, so the per-source throttle sees people.
            .env("KEYWARD_TRUSTED_PROXIES", "127.0.0.1")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = database_url {
            cmd.env("KEYWARD_DATABASE_URL", url);
        }
        let mut child = cmd.spawn().with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id();
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let streams: [Box<dyn Read + Send>; 2] =
            [Box::new(child.stdout.take().context("no stdout")?), Box::new(child.stderr.take().context("no stderr")?)];
        for stream in streams {
            let (log, port_tx) = (log.clone(), port_tx.clone());
            // Drained for the server's whole life, so that it never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(port) = port_of(&line) {
                        let _ = port_tx.send(port);
                    }
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    if log.len() == 40 {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            });
        }
        drop(port_tx);
        let mut server = Server { child, pid, base: String::new(), startup: Duration::ZERO, postgres: database_url.is_some(), log };
        let port = tokio::task::spawn_blocking(move || port_rx.recv_timeout(Duration::from_secs(120))).await?;
        let Ok(port) = port else { bail!("the server did not say where it listens:\n{}", server.last_lines()) };
        server.base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", server.base)).send().await
                && r.status().is_success()
            {
                break;
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("the server stopped ({status}):\n{}", server.last_lines());
            }
            if started.elapsed() > Duration::from_secs(600) {
                bail!("the server did not answer within 10 minutes:\n{}", server.last_lines());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.startup = started.elapsed();
        Ok(server)
    }

    /// The index load's own time as the server logged it (`authorization index loaded … ms=N`).
    pub fn index_load_ms(&self) -> Option<u64> {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let line = log.iter().rev().find(|l| l.contains("authorization index loaded"))?;
        let rest = &line[line.find(" ms=")? + 4..];
        rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
    }

    pub fn last_lines(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Resident memory now, in MiB.
    pub fn rss_mib(&self) -> f64 {
        status_kib(self.pid, "VmRSS:") as f64 / 1024.0
    }

    /// The CPU time the server has used so far (user and system, every thread), in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid)
    }

    /// The part of `cpu_seconds` spent by the server's password-hashing threads (`keyward-hash-N`).
    pub fn hashing_cpu_seconds(&self) -> f64 {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{}/task", self.pid)) else { return 0.0 };
        dir.filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|task| std::fs::read_to_string(task.join("comm")).is_ok_and(|c| c.starts_with("keyward-hash")))
            .map(|task| stat_cpu_seconds(&std::fs::read_to_string(task.join("stat")).unwrap_or_default()))
            .sum()
    }

    /// The peak resident memory so far, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        status_kib(self.pid, "VmHWM:") as f64 / 1024.0
    }

    /// Asks the server to stop (SIGTERM: it finishes in-flight requests and leaves the cluster)
    /// and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                self.child.wait()?;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_port_is_read_from_the_listening_line() {
        let line = "2026-11-29T18:00:00Z  INFO keyward: Keyward listening on http://127.0.0.1:41234 address=127.0.0.1:41234";
        assert_eq!(super::port_of(line), Some(41234));
        assert_eq!(super::port_of("database ready"), None);
    }
}
