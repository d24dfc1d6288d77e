//! Growing delays after failed sign-ins, per account and per source address.
//!
//! Why in the database: the counters must survive restarts and hold across several nodes.

use crate::Result;
use crate::model::Throttle;
use crate::store::Tx;
use time::{Duration, OffsetDateTime};

/// Failures allowed before delays start, per account.
const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures allowed before delays start, per source address (many people can share one).
const SOURCE_FREE_FAILURES: i64 = 20;
/// The longest delay; with doubling delays this keeps any account far under 100 tries an hour.
const MAX_DELAY: Duration = Duration::minutes(15);
/// Failures older than this no longer count.
const WINDOW: Duration = Duration::hours(1);

/// The throttle keys of one sign-in attempt.
pub struct ThrottleKeys {
    pub account: String,
    pub source: Option<String>,
}

impl ThrottleKeys {
    pub fn new(email_key: &str, ip: Option<&str>) -> Self {
        ThrottleKeys { account: format!("account:{email_key}"), source: ip.map(|ip| format!("source:{ip}")) }
    }

    fn all(&self) -> impl Iterator<Item = (&str, i64)> {
        std::iter::once((self.account.as_str(), ACCOUNT_FREE_FAILURES)).chain(self.source.as_deref().map(|s| (s, SOURCE_FREE_FAILURES)))
    }
}

/// Seconds until an attempt is allowed again, if any key is locked.
pub async fn retry_after(tx: &mut dyn Tx, keys: &ThrottleKeys, now: OffsetDateTime) -> Result<Option<u64>> {
    let mut wait: Option<u64> = None;
    for (key, _) in keys.all() {
        if let Some(t) = tx.throttle(key).await?
            && let Some(until) = t.locked_until
            && until > now
        {
            let secs = (until - now).whole_seconds().max(0) as u64 + 1;
            wait = Some(wait.map_or(secs, |w| w.max(secs)));
        }
    }
    Ok(wait)
}

/// Counts one failure against every key, doubling the delay past the free failures.
pub async fn record_failure(tx: &mut dyn Tx, keys: &ThrottleKeys, now: OffsetDateTime) -> Result<()> {
    for (key, free) in keys.all() {
        let previous = tx.throttle(key).await?.filter(|t| now - t.last_failure_at < WINDOW);
        let failures = previous.map_or(0, |t| t.failures) + 1;
        let locked_until = (failures >= free).then(|| {
            let exp = (failures - free).min(20) as u32;
            let delay = Duration::seconds(1i64 << exp).min(MAX_DELAY);
            now + delay
        });
        tx.put_throttle(&Throttle { key: key.to_owned(), failures, last_failure_at: now, locked_until }).await?;
    }
    Ok(())
}

/// Clears the account's counter after a successful sign-in (the source's stays: one good
/// account must not launder an address's failures).
pub async fn record_success(tx: &mut dyn Tx, keys: &ThrottleKeys) -> Result<()> {
    tx.clear_throttle(&keys.account).await
}
