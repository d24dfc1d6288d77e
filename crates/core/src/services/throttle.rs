//! Growing delays after failed attempts at a secret (a password, a TOTP or backup code), per
//! account, per source address and per device cookie.
//!
//! Attempts are counted *before* they are evaluated: `reserve` raises every counter of the
//! attempt in one write transaction (one statement per key, see `Tx::raise_throttle`), so a
//! burst of parallel guesses gets at most the free budget evaluated; an attempt that turns out
//! right gives its count back (`succeeded`, `refund`). Why in the database: the counters must
//! survive restarts and hold across several nodes.

use crate::store::{Store, ThrottleRaise, Tx};
use crate::{Error, Result};
use time::{Duration, OffsetDateTime};

/// Failures allowed before delays start, per account.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures allowed before delays start, per source address (many people can share one).
pub const SOURCE_FREE_FAILURES: i64 = 20;
/// Failures allowed before delays start, per device cookie.
pub const DEVICE_FREE_FAILURES: i64 = 5;
/// The longest delay; with doubling delays this keeps any account far under 100 tries an hour.
const MAX_DELAY: Duration = Duration::minutes(15);
/// Failures older than this no longer count.
const WINDOW: Duration = Duration::hours(1);

/// The throttle keys of one attempt, each with its free budget, in one fixed order (so two
/// transactions never wait on each other's keys in a cycle).
#[derive(Debug, Clone)]
pub struct ThrottleKeys {
    account: String,
    keys: Vec<(String, i64)>,
}

impl ThrottleKeys {
    /// A sign-in attempt (password or code step) for the account `email_key`. With a valid
    /// device cookie for that account, the device's own counter stands in for the source
    /// address's: a shared address under attack does not lock out browsers that signed in before.
    pub fn sign_in(email_key: &str, ip: Option<&str>, device: Option<&str>) -> Self {
        let account = format!("account:{email_key}");
        let mut keys = vec![(account.clone(), ACCOUNT_FREE_FAILURES)];
        match (device, ip) {
            (Some(device), _) => keys.push((format!("device:{device}"), DEVICE_FREE_FAILURES)),
            (None, Some(ip)) => keys.push((format!("source:{ip}"), SOURCE_FREE_FAILURES)),
            (None, None) => {}
        }
        keys.sort();
        ThrottleKeys { account, keys }
    }

    /// A secret checked inside a signed-in session (turning MFA off, new backup codes, the
    /// current password, the enrollment code): the account's own counter, so a stolen session
    /// cannot guess more than a sign-in could.
    pub fn account(email_key: &str) -> Self {
        let account = format!("account:{email_key}");
        ThrottleKeys { keys: vec![(account.clone(), ACCOUNT_FREE_FAILURES)], account }
    }
}

/// The delay after `failures` counted failures against a key with `free` free ones.
fn delay(failures: i64, free: i64) -> Option<Duration> {
    (failures >= free).then(|| Duration::seconds(1i64 << (failures - free).min(20)).min(MAX_DELAY))
}

fn seconds_until(until: OffsetDateTime, now: OffsetDateTime) -> u64 {
    (until - now).whole_seconds().max(0) as u64 + 1
}

/// Seconds until an attempt is allowed again, if any key is locked (a read, no write).
pub async fn retry_after(tx: &mut dyn Tx, keys: &ThrottleKeys, now: OffsetDateTime) -> Result<Option<u64>> {
    let mut wait: Option<u64> = None;
    for (key, _) in &keys.keys {
        if let Some(t) = tx.throttle(key).await?
            && let Some(until) = t.locked_until
            && until > now
        {
            let secs = seconds_until(until, now);
            wait = Some(wait.map_or(secs, |w| w.max(secs)));
        }
    }
    Ok(wait)
}

/// An attempt counted before it is evaluated; `failed`, `succeeded` or `refund` settles it
/// (an attempt never settled, say because the client went away, stays counted).
#[derive(Debug, Clone)]
pub struct Reservation {
    account: String,
    /// Each key, its free budget, and the lock this attempt set on it.
    keys: Vec<(String, i64, Option<OffsetDateTime>)>,
}

/// Counts the attempt against every key before it is evaluated, or answers 429 when a key is
/// locked (then nothing is counted). The last free attempt sets the first delay, so every later
/// attempt of a burst is refused until the evaluated ones settle.
///
/// A refused attempt costs one read while a lock is visible, or one rolled-back statement when
/// it raced the lock: never an audit or history row (refusals are counted in the metrics).
pub async fn reserve(store: &dyn Store, keys: &ThrottleKeys, now: OffsetDateTime) -> Result<Reservation> {
    let mut read = store.read().await?;
    if let Some(secs) = retry_after(read.as_mut(), keys, now).await? {
        return Err(Error::Throttled { retry_after_secs: secs });
    }
    drop(read);
    let mut tx = store.write().await?;
    let mut reserved = Reservation { account: keys.account.clone(), keys: Vec::with_capacity(keys.keys.len()) };
    for (key, free) in &keys.keys {
        match tx.raise_throttle(key, now, now - WINDOW).await? {
            // Dropping the transaction takes back what was counted on the other keys.
            ThrottleRaise::Locked { until } => return Err(Error::Throttled { retry_after_secs: seconds_until(until, now) }),
            ThrottleRaise::Counted(mut t) => {
                let lock = delay(t.failures, *free).map(|d| now + d);
                if lock.is_some() {
                    t.locked_until = lock;
                    tx.put_throttle(&t).await?;
                }
                reserved.keys.push((key.clone(), *free, lock));
            }
        }
    }
    tx.commit().await?;
    Ok(reserved)
}

/// The attempt was wrong: it stays counted, and the failure is dated `now`.
pub async fn failed(tx: &mut dyn Tx, reserved: &Reservation, now: OffsetDateTime) -> Result<()> {
    for (key, _, _) in &reserved.keys {
        tx.throttle_failed(key, now).await?;
    }
    Ok(())
}

/// After a complete sign-in: clears the account's counter and gives back the attempt on the
/// others (the source's failures stay: one good account must not launder an address's failures).
pub async fn succeeded(tx: &mut dyn Tx, reserved: &Reservation) -> Result<()> {
    for (key, free, lock) in &reserved.keys {
        if *key == reserved.account {
            tx.clear_throttle(key).await?;
        } else {
            tx.refund_throttle(key, *free, *lock).await?;
        }
    }
    Ok(())
}

/// Gives back the attempt on every key: it was right, but does not clear earlier failures (a
/// known password must not reset the throttle on guessing codes).
pub async fn refund(tx: &mut dyn Tx, reserved: &Reservation) -> Result<()> {
    for (key, free, lock) in &reserved.keys {
        tx.refund_throttle(key, *free, *lock).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_after_the_free_failures_up_to_fifteen_minutes() {
        assert_eq!(delay(4, 5), None);
        assert_eq!(delay(5, 5), Some(Duration::seconds(1)));
        assert_eq!(delay(6, 5), Some(Duration::seconds(2)));
        assert_eq!(delay(12, 5), Some(Duration::seconds(128)));
        assert_eq!(delay(40, 5), Some(MAX_DELAY));
        assert_eq!(delay(19, 20), None);
    }

    #[test]
    fn keys_come_in_one_order_and_a_device_stands_in_for_the_source() {
        let k = ThrottleKeys::sign_in("ada@example.com", Some("10.0.0.1"), None);
        assert_eq!(k.keys, vec![("account:ada@example.com".into(), 5), ("source:10.0.0.1".into(), 20)]);
        let k = ThrottleKeys::sign_in("ada@example.com", Some("10.0.0.1"), Some("abc"));
        assert_eq!(k.keys, vec![("account:ada@example.com".into(), 5), ("device:abc".into(), 5)]);
        assert_eq!(ThrottleKeys::account("ada@example.com").keys.len(), 1);
    }
}
