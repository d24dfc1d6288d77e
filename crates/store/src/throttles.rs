//! Counting attempts at a secret before they are evaluated: one statement raises a key's
//! counter unless the key is locked, so concurrent attempts can never all see a free counter.

use crate::convert::{ms, time_of};
use crate::db_err;
use keyward_core::Result;
use keyward_core::model::Throttle;
use keyward_core::store::ThrottleRaise;
use sqlx::AnyConnection;
use time::OffsetDateTime;

/// Why one statement: on PostgreSQL the upsert takes the key's row lock (held until the
/// transaction ends) and evaluates its `WHERE` on the newest row version; on SQLite writers are
/// serialised. Either way the check and the raise cannot be separated by another attempt. The
/// time of the last failure moves only when the window starts over; `failed` moves it when the
/// attempt turns out wrong, so attempts that turn out right do not keep old failures alive.
pub async fn raise(c: &mut AnyConnection, key: &str, now: OffsetDateTime, window_start: OffsetDateTime) -> Result<ThrottleRaise> {
    let raised: Option<(i64, i64)> = sqlx::query_as(
        "INSERT INTO throttles (key, failures, last_failure_at, locked_until) VALUES ($1, 1, $2, NULL) \
         ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN throttles.last_failure_at > $3 THEN throttles.failures + 1 ELSE 1 END, \
             last_failure_at = CASE WHEN throttles.last_failure_at > $3 THEN throttles.last_failure_at ELSE $2 END, \
             locked_until = NULL \
         WHERE throttles.locked_until IS NULL OR throttles.locked_until <= $2 \
         RETURNING failures, last_failure_at",
    )
    .bind(key)
    .bind(ms(now))
    .bind(ms(window_start))
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    if let Some((failures, last)) = raised {
        let throttle = Throttle { key: key.to_owned(), failures, last_failure_at: time_of(last)?, locked_until: None };
        return Ok(ThrottleRaise::Counted(throttle));
    }
    let (until,): (Option<i64>,) =
        sqlx::query_as("SELECT locked_until FROM throttles WHERE key = $1").bind(key).fetch_one(c).await.map_err(db_err)?;
    Ok(ThrottleRaise::Locked { until: time_of(until.unwrap_or_else(|| ms(now)))? })
}

/// Takes one attempt back; the lock goes when fewer than `free` remain or when it is still the
/// one this attempt set (`lock_set`: nobody counted after it).
pub async fn refund(c: &mut AnyConnection, key: &str, free: i64, lock_set: Option<OffsetDateTime>) -> Result<()> {
    sqlx::query(
        "UPDATE throttles SET failures = failures - 1, \
             locked_until = CASE WHEN failures - 1 < $2 OR locked_until = $3 THEN NULL ELSE locked_until END \
         WHERE key = $1 AND failures > 0",
    )
    .bind(key)
    .bind(free)
    .bind(lock_set.map(ms))
    .execute(c)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Dates the key's last failure at `at` (an attempt counted earlier turned out wrong).
pub async fn failed(c: &mut AnyConnection, key: &str, at: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE throttles SET last_failure_at = $2 WHERE key = $1 AND last_failure_at < $2")
        .bind(key)
        .bind(ms(at))
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(())
}
