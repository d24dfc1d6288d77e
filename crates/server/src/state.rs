//! The state every handler shares.

use crate::config::Config;
use crate::first_admin::FirstAdmin;
use keyward_core::Keyward;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// What the handlers share, behind one reference count. Why one: axum clones the state several
/// times for every request (each extractor and layer that takes it), and two worker threads
/// counting the same five counters up and down showed as 5 % of the server's CPU.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of the state.
pub struct Shared {
    /// The core, shared with the server's jobs.
    pub kw: Arc<Keyward>,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    /// The first start's set-up token, while no admin exists.
    pub first_admin: Arc<FirstAdmin>,
    /// OIDC sign-in's cache of the providers' discovery documents and keys.
    pub oidc: Arc<crate::sso::Oidc>,
}
