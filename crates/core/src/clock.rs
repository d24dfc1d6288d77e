//! Time and randomness as inputs, so that tests can move time instead of sleeping.

use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// The source of "now" for every service function.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// The real clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that starts at the real time and moves only when told; for tests.
#[derive(Debug)]
pub struct ManualClock {
    offset: Mutex<Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock { offset: Mutex::new(Duration::ZERO) }
    }
}

impl ManualClock {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut off = self.offset.lock().unwrap_or_else(|p| p.into_inner());
        *off += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        let off = *self.offset.lock().unwrap_or_else(|p| p.into_inner());
        OffsetDateTime::now_utc() + off
    }
}

/// The source of random bytes for tokens, salts and secrets.
pub trait Random: Send + Sync {
    /// Fills `buf` with random bytes (unpredictable: they become secrets).
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        use rand::TryRngCore;
        // Why: tokens and secrets must come straight from the OS CSPRNG; failure here is fatal.
        #[allow(clippy::expect_used)]
        rand::rngs::OsRng.try_fill_bytes(buf).expect("the operating system's random number generator failed");
    }
}
