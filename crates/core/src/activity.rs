//! Remembering when each API token was last written as used, so that the write happens at most
//! once a minute per token and off the request's path (a token authentication runs no SQL in the
//! steady state).

use crate::types::TokenId;
use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// Last-used times are written at most this often.
pub const TOUCH_EVERY: Duration = Duration::minutes(1);

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Activity {
    written: Mutex<HashMap<TokenId, OffsetDateTime>>,
}

impl Activity {
    /// Whether the token's use at `now` should be written (and notes that it is being written).
    /// `stored` is the last-used time the caller read, if any.
    pub fn due(&self, token: TokenId, stored: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        let last = written.get(&token).copied().max(stored);
        if last.is_some_and(|t| now - t < TOUCH_EVERY) {
            return false;
        }
        if written.len() > 100_000 {
            written.clear();
        }
        written.insert(token, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_a_minute() {
        let a = Activity::default();
        let t = TokenId::new();
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        assert!(a.due(t, None, now));
        assert!(!a.due(t, None, now + Duration::seconds(30)));
        assert!(a.due(t, None, now + Duration::seconds(61)));
        assert!(!a.due(TokenId::new(), Some(now), now + Duration::seconds(1)));
    }
}
