//! The state every handler shares.

use crate::config::Config;
use crate::first_admin::FirstAdmin;
use keyward_core::Keyward;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    /// The core, shared: axum clones the state for every request, so this is one counter, not
    /// the core's every part (and its settings' strings) copied per request.
    pub kw: Arc<Keyward>,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    /// The first start's set-up token, while no admin exists.
    pub first_admin: Arc<FirstAdmin>,
    /// OIDC sign-in's cache of the providers' discovery documents and keys.
    pub oidc: Arc<crate::sso::Oidc>,
}
