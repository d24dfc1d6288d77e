//! Keyward's HTTP server: the JSON API, the web pages, configuration and start-up. Handlers are
//! thin: they extract, call one core service function, and map the result.

pub mod api;
pub mod app;
pub mod client_addr;
pub mod config;
pub mod datadir;
pub mod error;
pub mod extract;
pub mod files;
pub mod first_admin;
pub mod keys;
pub mod mailer;
pub mod origin;
pub mod refusals;
pub mod scim;
pub mod sso;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod wire;

pub use app::{App, open};
pub use config::{Config, Overrides};
