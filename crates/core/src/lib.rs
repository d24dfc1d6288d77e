//! Keyward's core: domain types, the policy of who may do what, the service functions every
//! face (JSON API, web pages, command line) calls, the errors, and the storage traits.

pub mod access;
pub mod activity;
pub mod audience;
pub mod audit;
pub mod chain;
pub mod clock;
pub mod context;
pub mod crypto;
pub mod device;
pub mod error;
pub mod export;
pub mod index;
pub mod mail;
pub mod model;
pub mod password;
pub mod policy;
pub mod review;
pub mod review_items;
pub mod scope;
pub mod secret;
pub mod services;
pub mod sso;
pub mod store;
pub mod text;
pub mod types;
pub mod wording;

pub use context::{Actor, AuthVia, RequestMeta};
pub use error::{Error, Result};

use clock::{Clock, Random};
use password::PasswordHasher;
use std::sync::Arc;
use store::Store;

/// Settings the core needs from the configuration.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// The address people reach Keyward at, for links in messages (no trailing slash).
    pub public_url: String,
    /// The platform's name in messages and pages.
    pub platform_name: String,
    /// How long an invitation link lives.
    pub invitation_ttl: time::Duration,
}

/// The core: every service function is a method on it, taking the acting principal first.
#[derive(Clone)]
pub struct Keyward {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub hasher: PasswordHasher,
    pub mailer: Arc<dyn mail::Mailer>,
    /// The keys that seal secrets at rest (TOTP secrets, data-source credentials).
    pub keys: Arc<crypto::Keyring>,
    /// This node's authorization index (answers checks and token authentications from memory).
    pub index: Arc<index::AuthzIndex>,
    /// When each API token's use was last written.
    pub activity: Arc<activity::Activity>,
    pub settings: CoreSettings,
}

impl Keyward {
    /// The current time on this node's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// 16 random bytes for a password salt.
    fn salt(&self) -> [u8; 16] {
        let mut salt = [0u8; 16];
        self.random.fill(&mut salt);
        salt
    }
}
