//! Logs and metrics: the tracing subscriber, the Prometheus recorder and the per-request
//! counters and latency histograms.

use crate::config::{Config, LogFormat};
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, RwLock};
use std::time::Instant;
use tracing_subscriber::EnvFilter;

/// Starts logging as configured (text by default, JSON by setting). Call once, at start-up.
pub fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The process's Prometheus recorder (one per process; several servers in one test process
/// share it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts each request and times it, labelled by route pattern (never by raw path, which would
/// hold ids and tokens). Why every label is bounded: a label value per random path or invented
/// method would let any client grow the metrics without end (memory, and the scraper's store).
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = method_label(req.method());
    let res = next.run(req).await;
    let route = route_label(route.as_ref().map(MatchedPath::as_str));
    record(method, route, res.status().as_u16(), start.elapsed().as_secs_f64());
    res
}

/// The counter and histogram of one method and status on a route.
struct Series {
    method: &'static str,
    status: u16,
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

/// Counts one answer and records its latency. Why the series are kept by route: building a
/// metric's key (three owned labels, hashed, looked up in the recorder) on every request cost
/// more than answering a check; after the first answer of a kind this takes no allocation.
fn record(method: &'static str, route: &str, status: u16, seconds: f64) {
    static SERIES: LazyLock<RwLock<HashMap<String, Vec<Series>>>> = LazyLock::new(|| {
        // The recorder is installed before any series is made, or the series would be no-ops.
        let _ = metrics_handle();
        RwLock::default()
    });
    let found = |by_route: &HashMap<String, Vec<Series>>| {
        let s = by_route.get(route)?.iter().find(|s| s.method == method && s.status == status)?;
        s.requests.increment(1);
        s.duration.record(seconds);
        Some(())
    };
    if let Ok(by_route) = SERIES.read()
        && found(&by_route).is_some()
    {
        return;
    }
    let Ok(mut by_route) = SERIES.write() else { return };
    if found(&by_route).is_some() {
        return;
    }
    let labels = [("method", method.to_owned()), ("route", route.to_owned()), ("status", status.to_string())];
    let series = Series {
        method,
        status,
        requests: metrics::counter!("http_requests_total", &labels),
        duration: metrics::histogram!("http_request_duration_seconds", &labels),
    };
    series.requests.increment(1);
    series.duration.record(seconds);
    by_route.entry(route.to_owned()).or_default().push(series);
}

/// The route pattern, or `unmatched` for anything no route matched (fallbacks included).
fn route_label(matched: Option<&str>) -> &str {
    match matched {
        // axum names the catch-all of a nested fallback with a private wildcard.
        Some(p) if !p.contains("__private__") => p,
        _ => "unmatched",
    }
}

/// The standard methods by name; anything else is `OTHER`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts a sign-in outcome (`ok`, `invalid_credentials`, `throttled`, `error`).
pub fn count_login(outcome: &'static str) {
    metrics::counter!("keyward_sign_ins_total", "outcome" => outcome).increment(1);
}
