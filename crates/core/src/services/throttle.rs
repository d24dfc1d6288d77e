//! Growing delays after failed attempts at a secret (a password, a TOTP or backup code), per
//! account, per source address and per device cookie.
//!
//! Attempts are counted *before* they are evaluated: `reserve` raises every counter of the
//! attempt in one write transaction (one statement per key, see `Tx::raise_throttle`), so a
//! burst of parallel guesses gets at most the free budget evaluated; an attempt that turns out
//! right gives its count back (`succeeded`, `refund`). Why in the database: the counters must
//! survive restarts and hold across several nodes.

use crate::clock::Clock;
use crate::model::Throttle;
use crate::store::{Store, ThrottleRaise, ThrottleSettle, Tx};
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

/// Attempts still being evaluated after this long are taken as abandoned (their client went
/// away before they settled); they stay counted as failures.
const PENDING_TTL: Duration = Duration::seconds(30);
/// How long an attempt waits for attempts still being evaluated before it is refused.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why an attempt cannot be counted now.
struct Blocked {
    retry_after_secs: u64,
    /// Attempts are still being evaluated on a blocking key: if they turn out right, the block
    /// may go away, so waiting for them is better than refusing a right secret.
    settling: bool,
}

/// Whether `t` has attempts still being evaluated at `now` (not abandoned).
fn settling(t: &Throttle, now: OffsetDateTime) -> bool {
    t.pending > 0 && t.pending_at.is_some_and(|at| at > now - PENDING_TTL)
}

/// Whether key `t` (with `free` free failures) takes no attempt at `now`: it is locked, or
/// attempts are still being evaluated and they already use up the free budget. The same rule
/// as the `WHERE` of `Tx::raise_throttle`.
fn blocked(t: &Throttle, free: i64, now: OffsetDateTime) -> Option<Blocked> {
    let settling = settling(t, now);
    let counted = if t.last_failure_at > now - WINDOW { t.failures } else { 0 };
    let locked = t.locked_until.filter(|until| *until > now);
    (locked.is_some() || (settling && counted >= free))
        .then(|| Blocked { retry_after_secs: locked.map_or(1, |until| seconds_until(until, now)), settling })
}

/// An attempt counted before it is evaluated; `failed`, `succeeded` or `refund` settles it
/// (one never settled, say because the client went away, stays counted as a failure).
#[derive(Debug, Clone)]
pub struct Reservation {
    account: String,
    /// Each key and its free budget.
    keys: Vec<(String, i64)>,
    now: OffsetDateTime,
}

/// Counts the attempt against every key before it is evaluated, or answers 429 when a key is
/// locked (then nothing is counted). While attempts are being evaluated, no more than the free
/// budget are counted: later attempts wait for them (up to `MAX_WAIT`) and are refused if
/// those turn out wrong and earn a delay, or go on if they turn out right.
///
/// A refused attempt costs a read while a lock is visible (a few while it waits), or one
/// rolled-back statement when it raced the lock: never an audit or history row (refusals are
/// counted in the metrics).
pub async fn reserve(store: &dyn Store, clock: &dyn Clock, keys: &ThrottleKeys) -> Result<Reservation> {
    let started = tokio::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        let block = match try_reserve(store, keys, clock.now()).await? {
            Ok(reserved) => return Ok(reserved),
            Err(block) => block,
        };
        if !block.settling || started.elapsed() >= MAX_WAIT {
            return Err(Error::Throttled { retry_after_secs: block.retry_after_secs });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(50));
    }
}

/// One try: a read that finds a visible block, then the counting transaction.
async fn try_reserve(store: &dyn Store, keys: &ThrottleKeys, now: OffsetDateTime) -> Result<Result<Reservation, Blocked>> {
    let names: Vec<&str> = keys.keys.iter().map(|(key, _)| key.as_str()).collect();
    let found_throttles = store.read().await?.throttles(&names).await?;
    let mut found: Option<Blocked> = None;
    for t in &found_throttles {
        let Some(free) = keys.keys.iter().find(|(key, _)| *key == t.key).map(|(_, free)| *free) else { continue };
        if let Some(b) = blocked(t, free, now) {
            found = Some(match found {
                // Refused at once if any key's block stands whatever is pending.
                Some(f) => Blocked { retry_after_secs: f.retry_after_secs.max(b.retry_after_secs), settling: f.settling && b.settling },
                None => b,
            });
        }
    }
    if let Some(b) = found {
        return Ok(Err(b));
    }
    // Why not waiting for the disk: the count is seen at once by every concurrent attempt,
    // which is what it is for; a database crash that undoes it also cuts off the attempt it
    // counts before any answer, and the attempt's outcome, committed durably, makes it durable.
    let mut tx = store.write_unflushed().await?;
    let mut reserved = Reservation { account: keys.account.clone(), keys: Vec::with_capacity(keys.keys.len()), now };
    for (key, free) in &keys.keys {
        match tx.raise_throttle(key, *free, now, now - WINDOW, now - PENDING_TTL).await? {
            // Dropping the transaction takes back what was counted on the other keys.
            ThrottleRaise::Blocked(t) => {
                return Ok(Err(blocked(&t, *free, now).unwrap_or(Blocked { retry_after_secs: 1, settling: true })));
            }
            ThrottleRaise::Counted(_) => reserved.keys.push((key.clone(), *free)),
        }
    }
    tx.commit().await?;
    Ok(Ok(reserved))
}

/// The attempt was wrong: it stays counted, as a failure at `now` (the time it was found wrong),
/// and earns the delay of the failures settled so far, from then: the delay follows the
/// failure, as it always did; attempts still being evaluated are not failures yet.
pub async fn failed(tx: &mut dyn Tx, reserved: &Reservation, now: OffsetDateTime) -> Result<()> {
    for (key, free) in &reserved.keys {
        let Some(t) = tx.settle_throttle(key, ThrottleSettle::Failed { at: now }).await? else { continue };
        let pending = if settling(&t, now) { t.pending } else { 0 };
        if let Some(d) = delay(t.failures - pending, *free) {
            tx.settle_throttle(key, ThrottleSettle::Locked { until: now + d }).await?;
        }
    }
    Ok(())
}

/// After a complete sign-in: clears the account's counter and gives back the attempt on the
/// others (the source's failures stay: one good account must not launder an address's failures).
pub async fn succeeded(tx: &mut dyn Tx, reserved: &Reservation) -> Result<()> {
    for (key, free) in &reserved.keys {
        let settle = if *key == reserved.account {
            ThrottleSettle::Cleared { pending_since: reserved.now - PENDING_TTL }
        } else {
            ThrottleSettle::Refunded { free: *free }
        };
        tx.settle_throttle(key, settle).await?;
    }
    Ok(())
}

/// Gives back the attempt on every key: it was right, but does not clear earlier failures (a
/// known password must not reset the throttle on guessing codes).
pub async fn refund(tx: &mut dyn Tx, reserved: &Reservation) -> Result<()> {
    for (key, free) in &reserved.keys {
        tx.settle_throttle(key, ThrottleSettle::Refunded { free: *free }).await?;
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
