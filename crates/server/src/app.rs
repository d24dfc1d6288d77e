//! Putting it together: open the database, build the core and the router, serve until told to
//! stop.

use crate::client_addr::{TrustedProxies, client_addr};
use crate::config::{Config, ensure_data_dir};
use crate::error::error_response;
use crate::state::AppState;
use crate::telemetry::{metrics_handle, track};
use crate::{api, web};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use keyward_core::chain::ChainKeys;
use keyward_core::clock::{Clock, OsRandom, SystemClock};
use keyward_core::password::PasswordHasher;
use keyward_core::store::Store;
use keyward_core::{CoreSettings, Keyward};
use keyward_store::SqlStore;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::{SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer};
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

/// The largest request body accepted.
const BODY_LIMIT: usize = 1024 * 1024;

/// An opened Keyward: the core on its database, ready to serve.
pub struct App {
    pub kw: Keyward,
    pub config: Arc<Config>,
    store: Arc<SqlStore>,
    /// Whose forwarding headers name the client (`trusted_proxies`).
    proxies: Arc<TrustedProxies>,
    /// The first start's set-up token (see `first_admin`).
    first_admin: Arc<crate::first_admin::FirstAdmin>,
    /// The OpenID Providers' discovery documents and keys, cached (see `sso`).
    oidc: Arc<crate::sso::Oidc>,
    /// The data directory's shared lock, held while this process uses it (see `datadir`).
    _in_use: std::fs::File,
}

/// Opens the database named by `config` (creating the data directory and applying migrations).
pub async fn open(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
    ensure_data_dir(&config.data_dir)?;
    crate::files::warn_if_open(&config.data_dir);
    if let Some(db) = config.sqlite_file() {
        crate::files::protect_sqlite(&db)?;
    }
    let in_use = crate::datadir::hold_shared(&config.data_dir)?;
    let keys = Arc::new(crate::keys::load(&config)?);
    let store = Arc::new(
        SqlStore::connect(&config.database_url(), config.database_max_connections, ChainKeys::from_keyring(&keys))
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the database ({}): {e}: {}", config.database_description(), source_chain(&e)))?,
    );
    let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get());
    let kw = Keyward::new(
        store.clone(),
        clock,
        Arc::new(OsRandom),
        PasswordHasher::new(parallelism)?,
        crate::mailer::from_config(&config)?,
        keys,
        CoreSettings {
            public_url: config.public_url(),
            platform_name: config.platform_name.clone(),
            invitation_ttl: time::Duration::days(config.invitation_ttl_days.into()),
        },
    );
    let rekeyed = kw.normalise_email_keys().await.map_err(|e| anyhow::anyhow!("cannot normalise stored email keys: {e}"))?;
    if rekeyed > 0 {
        tracing::info!(users = rekeyed, "stored email keys brought to the current normalisation");
    }
    let proxies = Arc::new(TrustedProxies::parse(&config.trusted_proxies)?);
    // Until this process serves (and holds an index of its own), its writes only wait for the
    // serving nodes to apply them: the break-glass command line is a writer like any other.
    store.set_commit_hook(keyward_core::index::sync::Cluster::writer_only(store.clone()));
    let oidc = Arc::new(crate::sso::Oidc::new()?);
    Ok(App { kw, config: Arc::new(config), store, proxies, first_admin: Arc::default(), oidc, _in_use: in_use })
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(&s.to_string());
        out.push(' ');
        cur = s.source();
    }
    out
}

/// Opens with the real clock.
pub async fn open_default(config: Config) -> anyhow::Result<App> {
    open(config, Arc::new(SystemClock)).await
}

impl App {
    /// Writes a consistent copy of the (SQLite) database to `path` while it stays in use.
    pub async fn backup_database(&self, path: &std::path::Path) -> keyward_core::Result<()> {
        self.store.backup_into(path).await
    }

    /// The one-time link that creates the first admin in the browser, while no admin exists; a
    /// new call makes a new link and the one before stops working. It is a credential: print
    /// it for the operator, never log it.
    pub async fn first_admin_link(&self) -> anyhow::Result<Option<String>> {
        if !self.first_admin.needed(&self.kw).await.map_err(|e| anyhow::anyhow!("cannot read the users: {e}"))? {
            return Ok(None);
        }
        let token = self.first_admin.issue(self.kw.random());
        Ok(Some(format!("{}/setup/{token}", self.config.public_url())))
    }

    /// The whole HTTP surface: API, OpenAPI document and docs page, pages, operations.
    pub fn router(&self) -> Router {
        let state = AppState::new(crate::state::Shared {
            kw: Arc::new(self.kw.clone()),
            config: self.config.clone(),
            metrics: metrics_handle(),
            first_admin: self.first_admin.clone(),
            oidc: self.oidc.clone(),
        });
        let (api_router, mut openapi) = api::router().split_for_parts();
        api::name_session_cookie(&mut openapi, self.config.session_cookie_name());
        let openapi = api::complete_contract(openapi);
        let request_id = HeaderName::from_static("x-request-id");
        let sensitive: Arc<[HeaderName]> = Arc::new([header::AUTHORIZATION, header::COOKIE, HeaderName::from_static("x-csrf-token")]);
        Router::new()
            .merge(api_router)
            .route("/metrics", get(api::metrics))
            .nest("/api/v1", Router::new().fallback(crate::extract::api_not_found))
            .nest("/scim/v2", Router::new().fallback(crate::scim::not_found))
            .merge(web::router())
            .layer(axum::middleware::from_fn_with_state(state.clone(), crate::refusals::audit))
            .with_state(state)
            // The docs page and its assets are served from the binary: nothing from the internet.
            .merge(SwaggerUi::new("/api/docs").external_url_unchecked("/api/openapi.json", openapi))
            .fallback(|| async { error_response(StatusCode::NOT_FOUND, "not_found", "There is nothing at this address.", None) })
            .layer(axum::middleware::from_fn_with_state(self.config.https(), security_headers))
            .layer(axum::middleware::from_fn_with_state(self.proxies.clone(), client_addr))
            .layer(axum::middleware::from_fn(track))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .layer(CatchPanicLayer::custom(|_| -> Response {
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Something went wrong on our side. It has been logged; try again later.",
                    None,
                )
            }))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %loggable_path(req.uri().path()), request_id = %id)
            }))
            .layer(SetSensitiveResponseHeadersLayer::new([header::SET_COOKIE]))
            .layer(SetSensitiveRequestHeadersLayer::from_shared(sensitive))
            .layer(PropagateRequestIdLayer::new(request_id.clone()))
            .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
    }

    /// Serves on `listener` until `shutdown` completes, then finishes in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = self.router();
        // The index is loaded before the first request, so every check is answered from memory.
        let node = keyward_core::index::sync::Node::start(self.store.clone(), self.kw.index().clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot load the authorization index: {e}"))?;
        self.store.set_commit_hook(keyward_core::index::sync::Cluster::for_node(node.clone()));
        let jobs = tokio::spawn(run_jobs(self.kw.clone(), std::time::Duration::from_secs(self.config.jobs_interval_seconds)));
        let upkeep = tokio::spawn(metrics_upkeep());
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await?;
        jobs.abort();
        upkeep.abort();
        node.stop().await;
        self.store.close().await;
        Ok(())
    }
}

/// The path as logs may show it: the single-use tokens in link paths are secrets.
pub(crate) fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in ["/invite/", "/reset-password/", "/setup/"] {
        if path.starts_with(prefix) && path.len() > prefix.len() {
            return format!("{prefix}[redacted]").into();
        }
    }
    path.into()
}

/// The Content-Security-Policy of every page. Why: no inline script or style runs (an injected
/// `<script>` or `onclick=` is inert), nothing loads from elsewhere, no page can be framed
/// (clickjacking), `<base>` cannot redirect relative URLs, and forms post only to Keyward.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The policy of the vendored Swagger UI at /api/docs: its scripts are files served from here,
/// but its React views set inline styles and its icons are data: images.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
    connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Headers every answer carries. Why: pages hold tokens and backup codes shown once, so nothing
/// is cached unless a handler says so; no page may be framed (clickjacking); no MIME sniffing;
/// the policy above; and under https, HSTS so that browsers never try plain HTTP again.
async fn security_headers(
    axum::extract::State(https): axum::extract::State<bool>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let docs = req.uri().path().starts_with("/api/docs");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(if docs { DOCS_CSP } else { CSP }));
    if https {
        // A year, this host only: Keyward does not speak for sibling subdomains.
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    res
}

/// Drains the request-latency histograms into their buckets every few seconds. Why: the
/// recorder keeps every sample until drained, and a server nobody scrapes would otherwise grow
/// by each request it answers.
async fn metrics_upkeep() {
    let handle = metrics_handle();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

/// Background jobs, every `every`: access end dates, offboarding, access reviews and their
/// reminders. Every node ticks; the jobs' lease lets one of them run each interval.
async fn run_jobs(kw: Keyward, every: std::time::Duration) {
    let node = format!("node-{}", uuid::Uuid::now_v7().simple());
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match kw.run_jobs(&node, every).await {
            Ok(r) if r.ran => {
                if r.expired > 0 {
                    tracing::info!(users = r.expired, "deactivated users past their access end date");
                }
                if r.deactivated_inactive > 0 {
                    tracing::info!(users = r.deactivated_inactive, "deactivated inactive users (offboarding policy)");
                }
                if r.reminders > 0 {
                    tracing::info!(messages = r.reminders, "sent access review reminders");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "background jobs failed; will retry"),
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn link_tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/invite/abc123"), "/invite/[redacted]");
        assert_eq!(loggable_path("/reset-password/xyz"), "/reset-password/[redacted]");
        assert_eq!(loggable_path("/setup/tok"), "/setup/[redacted]");
        assert_eq!(loggable_path("/api/v1/me"), "/api/v1/me");
    }
}
