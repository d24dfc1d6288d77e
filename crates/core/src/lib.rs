//! Keyward's core: domain types, the policy of who may do what, the service functions every
//! face (JSON API, web pages, command line) calls, the errors, and the storage traits.

#![deny(missing_docs)]

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
/// Its parts are private: the faces (API, pages, command line) reach storage only through the
/// service methods, so every rule and audit event has one home.
#[derive(Clone)]
pub struct Keyward {
    /// Where every record lives: users, sessions, teams, resources, shares, audit events, settings.
    store: Arc<dyn Store>,
    /// The source of "now" (a manual clock in tests).
    clock: Arc<dyn Clock>,
    /// The source of random bytes for tokens, salts and secrets.
    random: Arc<dyn Random>,
    /// Argon2id hashing and verification of passwords, bounded in concurrency.
    hasher: PasswordHasher,
    /// Delivers invitation, reset and notice emails (SMTP or the outbox directory).
    mailer: Arc<dyn mail::Mailer>,
    /// The keys that seal secrets at rest (TOTP secrets, data-source credentials).
    keys: Arc<crypto::Keyring>,
    /// This node's authorization index (answers checks and token authentications from memory).
    index: Arc<index::AuthzIndex>,
    /// When each API token's use was last written.
    activity: Arc<activity::Activity>,
    /// What the core takes from the configuration (public URL, platform name, invitation lifetime).
    settings: CoreSettings,
}

impl Keyward {
    /// Assembles the core from its parts; the authorization index starts empty (a serving node
    /// loads it, see `index::sync::Node`).
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        hasher: PasswordHasher,
        mailer: Arc<dyn mail::Mailer>,
        keys: Arc<crypto::Keyring>,
        settings: CoreSettings,
    ) -> Keyward {
        Keyward { store, clock, random, hasher, mailer, keys, index: Arc::default(), activity: Arc::default(), settings }
    }

    /// The current time on this node's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// Whether the database answers (the readiness probe).
    pub async fn ping(&self) -> Result<()> {
        self.store.ping().await
    }

    /// The source of randomness (the first admin's set-up token).
    pub fn random(&self) -> &dyn Random {
        self.random.as_ref()
    }

    /// This node's authorization index: the server starts its sync; tests compare its answers
    /// with the database's.
    pub fn index(&self) -> &Arc<index::AuthzIndex> {
        &self.index
    }

    /// The settings the core was given (public address, platform name, invitation lifetime).
    pub fn settings(&self) -> &CoreSettings {
        &self.settings
    }

    /// A write transaction straight on the store, past every permission check and rule of the
    /// services. Only for seeding tests and benchmarks with data no service writes as fast (or
    /// at all, such as rows older versions left behind); nothing the API, the pages or the
    /// command line run calls it.
    pub async fn unchecked_write(&self) -> Result<Box<dyn store::Tx>> {
        self.store.write().await
    }

    /// 16 random bytes for a password salt.
    fn salt(&self) -> [u8; 16] {
        let mut salt = [0u8; 16];
        self.random.fill(&mut salt);
        salt
    }
}
