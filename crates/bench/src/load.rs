//! An in-process HTTP load generator: N tasks, each on its own keep-alive connection, sending
//! requests back to back for a while and recording each one's latency.

use indicatif::ProgressBar;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What a load run measured (after its warm-up).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub ok: u64,
    pub failed: u64,
    /// The first failure's status and body start, to say why.
    pub first_failure: Option<String>,
    pub seconds: f64,
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

/// Builds the `n`th request of a run.
pub type MakeRequest = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;

/// Sends requests from `connections` tasks for `warmup + duration`, counting only those that
/// start after the warm-up; the bar advances by the second.
pub async fn run(connections: usize, warmup: Duration, duration: Duration, make: MakeRequest, bar: ProgressBar) -> Stats {
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let counter = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (make, counter) = (make.clone(), counter.clone());
            tokio::spawn(async move {
                // One client per task: its own connection, kept alive.
                let http = reqwest::Client::builder().tcp_nodelay(true).pool_max_idle_per_host(1).build().expect("an HTTP client");
                let mut stats = Stats::default();
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let result = make(&http, n).send().await;
                    let outcome = match result {
                        Ok(r) => {
                            let status = r.status();
                            match r.bytes().await {
                                Ok(_) if status.is_success() => Ok(()),
                                Ok(body) => Err(format!("{status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)]))),
                                Err(e) => Err(e.to_string()),
                            }
                        }
                        Err(e) => Err(e.to_string()),
                    };
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
