//! The first start: while no admin exists, `keyward serve` prints a one-time set-up link and
//! `/` asks for its token to create the first admin in the browser. Only the token's hash is
//! kept, in this process's memory; a restart prints a new link and the old one stops working.

use keyward_core::Keyward;
use keyward_core::clock::Random;
use keyward_core::secret::{new_token, token_hash};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use subtle::ConstantTimeEq;

/// The set-up token of this process, by its hash.
#[derive(Default)]
pub struct FirstAdmin {
    hash: Mutex<Option<String>>,
    /// Set once an admin is known to exist: from then on no set-up is offered, without asking
    /// the database on every visit to `/`.
    done: AtomicBool,
}

impl FirstAdmin {
    /// Makes a new set-up token (the one before it stops working) and answers it.
    pub fn issue(&self, random: &dyn Random) -> String {
        let token = new_token(random);
        *self.hash.lock().unwrap_or_else(|p| p.into_inner()) = Some(token_hash(&token));
        token
    }

    /// Whether `token` is this process's set-up token. Why constant time: the comparison must
    /// not tell a guesser how much of the hash matched.
    pub fn accepts(&self, token: &str) -> bool {
        let held = self.hash.lock().unwrap_or_else(|p| p.into_inner());
        held.as_ref().is_some_and(|h| bool::from(h.as_bytes().ct_eq(token_hash(token.trim()).as_bytes())))
    }

    /// Forgets the token: an admin exists.
    pub fn close(&self) {
        self.done.store(true, Ordering::Relaxed);
        *self.hash.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Whether the first admin is still to be created (asks the database until one exists).
    pub async fn needed(&self, kw: &Keyward) -> keyward_core::Result<bool> {
        if self.done.load(Ordering::Relaxed) {
            return Ok(false);
        }
        if kw.admin_exists().await? {
            self.close();
            return Ok(false);
        }
        Ok(true)
    }
}
