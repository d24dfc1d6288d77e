//! Logs and metrics: the tracing subscriber, the Prometheus recorder and the per-request
//! counters and latency histograms.

use crate::config::{Config, LogFormat};
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
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
    let route = route_label(req.extensions().get::<MatchedPath>().map(MatchedPath::as_str)).to_owned();
    let method = method_label(req.method()).to_owned();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(start.elapsed().as_secs_f64());
    res
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
