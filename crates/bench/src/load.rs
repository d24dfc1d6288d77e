//! An in-process HTTP load generator: N tasks, each on its own keep-alive connection, sending
//! requests back to back for a while and recording each one's latency.
//!
//! Each task writes its requests as HTTP/1.1 bytes straight to its socket and reads each answer
//! with `httparse` (head) and `Content-Length` (body): no connection pool, no dispatch task, no
//! JSON value per request. Why so lean: the generator shares the machine's two cores with the
//! server, and every cycle it spends is one the server does not get. reqwest (with a
//! `serde_json::Value` per request) cost the generator about three times the server's own CPU
//! per request, and that showed in T and in every tail latency.

use indicatif::ProgressBar;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a load run measured (after its warm-up).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub ok: u64,
    pub failed: u64,
    /// The first failure's status and body start, to say why.
    pub first_failure: Option<String>,
    pub seconds: f64,
    /// Every answer, the warm-up's included.
    pub answered: u64,
    /// The server's CPU time per answer, in microseconds, over the whole run (warm-up included).
    pub server_cpu_us: Option<f64>,
    /// The part of `server_cpu_us` spent hashing passwords.
    pub hashing_cpu_us: Option<f64>,
    /// PostgreSQL's CPU time per answer (every local `postgres` process), when the server runs on it.
    pub database_cpu_us: Option<f64>,
    /// The load generator's own CPU time per answer.
    pub client_cpu_us: Option<f64>,
    /// Latencies of the successful requests, in microseconds, sorted.
    latencies: Vec<u32>,
}

impl Stats {
    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.seconds.max(1e-9)
    }

    /// The `p`th percentile latency (0–100), in milliseconds.
    pub fn pct_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * (self.latencies.len() - 1) as f64).round() as usize;
        f64::from(self.latencies[i.min(self.latencies.len() - 1)]) / 1000.0
    }
}

/// One request of a load run: the generator adds `Host`, `Content-Length` and the bearer.
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub token: Option<Arc<str>>,
    pub json: Option<String>,
    /// `X-Forwarded-For`, for a simulated client address.
    pub forwarded_for: Option<String>,
}

impl Request {
    pub fn get(path: impl Into<String>, token: Option<&Arc<str>>) -> Request {
        Request { method: "GET", path: path.into(), token: token.cloned(), json: None, forwarded_for: None }
    }

    pub fn post(path: impl Into<String>, token: Option<&Arc<str>>, json: String) -> Request {
        Request { method: "POST", path: path.into(), token: token.cloned(), json: Some(json), forwarded_for: None }
    }

    /// Its bytes on the wire, into `out`.
    fn write(&self, host: &str, out: &mut Vec<u8>) {
        use std::io::Write as _;
        out.clear();
        let _ = write!(out, "{} {} HTTP/1.1\r\nhost: {host}\r\n", self.method, self.path);
        if let Some(t) = &self.token {
            let _ = write!(out, "authorization: Bearer {t}\r\n");
        }
        if let Some(ip) = &self.forwarded_for {
            let _ = write!(out, "x-forwarded-for: {ip}\r\n");
        }
        match &self.json {
            Some(body) => {
                let _ = write!(out, "content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
            }
            None => out.extend_from_slice(b"\r\n"),
        }
    }
}

/// Builds the `n`th request of a run.
pub type MakeRequest = Arc<dyn Fn(u64) -> Request + Send + Sync>;

/// One keep-alive connection and its read buffer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> Result<Conn, String> {
        let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn { stream, buf: Vec::with_capacity(16 * 1024) })
    }

    /// Sends `req` and reads its whole answer: `Ok` for a 2xx, otherwise why not. An `Err`
    /// leaves the connection unusable.
    async fn exchange(&mut self, req: &[u8]) -> Result<Result<(), String>, String> {
        self.stream.write_all(req).await.map_err(|e| e.to_string())?;
        self.buf.clear();
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut head = httparse::Response::new(&mut headers);
            match head.parse(&self.buf).map_err(|e| e.to_string())? {
                httparse::Status::Complete(head_len) => {
                    let status = head.code.unwrap_or(0);
                    let mut length = None;
                    for h in head.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            length = std::str::from_utf8(h.value).ok().and_then(|v| v.trim().parse::<usize>().ok());
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            return Err("a chunked answer (the generator reads Content-Length bodies only)".into());
                        }
                    }
                    let total = head_len + length.ok_or("an answer without Content-Length")?;
                    while self.buf.len() < total {
                        self.fill().await?;
                    }
                    let outcome = if (200..300).contains(&status) {
                        Ok(())
                    } else {
                        let body = &self.buf[head_len..total];
                        Err(format!("{status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)])))
                    };
                    // Why no pipelining: one request in flight per connection, so nothing follows.
                    self.buf.drain(..total);
                    return Ok(outcome);
                }
                httparse::Status::Partial => self.fill().await?,
            }
        }
    }

    async fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// Sends requests from `connections` tasks for `warmup + duration`, counting only those that
/// start after the warm-up; the bar advances by the second.
pub async fn run(base: String, connections: usize, warmup: Duration, duration: Duration, make: MakeRequest, bar: ProgressBar) -> Stats {
    let addr = base.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let counter = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (make, counter, addr) = (make.clone(), counter.clone(), addr.clone());
            tokio::spawn(async move {
                let mut stats = Stats::default();
                let mut wire = Vec::with_capacity(4096);
                // One connection per task, kept alive; opened again after a failure.
                let mut conn: Option<Conn> = None;
                loop {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    make(n).write(&addr, &mut wire);
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let opened = match conn.take() {
                        Some(c) => Ok(c),
                        None => Conn::open(&addr).await,
                    };
                    let outcome = match opened {
                        Ok(mut c) => match c.exchange(&wire).await {
                            Ok(answer) => {
                                conn = Some(c);
                                answer
                            }
                            Err(broken) => Err(broken),
                        },
                        Err(e) => Err(e),
                    };
                    stats.answered += 1;
                    if sent < measure_from {
                        continue;
                    }
                    match outcome {
                        Ok(()) => {
                            stats.ok += 1;
                            stats.latencies.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                        }
                        Err(why) => {
                            stats.failed += 1;
                            stats.first_failure.get_or_insert(why);
                        }
                    }
                }
                stats
            })
        })
        .collect();
    let ticker = {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                bar.tick();
            }
        })
    };
    let mut all = Stats::default();
    for w in workers {
        if let Ok(s) = w.await {
            all.ok += s.ok;
            all.failed += s.failed;
            all.answered += s.answered;
            if all.first_failure.is_none() {
                all.first_failure = s.first_failure;
            }
            all.latencies.extend(s.latencies);
        }
    }
    ticker.abort();
    // The measured window: from the end of the warm-up to the last answer.
    all.seconds = (start.elapsed() - warmup).as_secs_f64().max(1e-3);
    all.latencies.sort_unstable();
    all
}
