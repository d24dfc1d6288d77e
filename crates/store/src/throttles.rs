//! Counting attempts at a secret before they are evaluated: one statement raises a key's
//! counter unless the key is locked, so concurrent attempts can never all see a free counter;
//! another settles the attempt once it has been evaluated.

use crate::convert::{ms, opt_ms};
use crate::db_err;
use crate::links::throttle_from_row;
use keyward_core::Result;
use keyward_core::store::{ThrottleRaise, ThrottleSettle};
use sqlx::AnyConnection;
use time::OffsetDateTime;

/// Why one statement: on PostgreSQL the upsert takes the key's row lock (held until the
/// transaction ends) and evaluates its `WHERE` on the newest row version; on SQLite writers are
/// serialised. Either way the check and the raise cannot be separated by another attempt. The
/// time of the last failure moves only when the window starts over (settling a wrong attempt
/// moves it), so attempts that turn out right do not keep old failures alive.
pub async fn raise(
    c: &mut AnyConnection,
    key: &str,
    now: OffsetDateTime,
    window_start: OffsetDateTime,
    pending_since: OffsetDateTime,
) -> Result<ThrottleRaise> {
    let raised = sqlx::query(
        "INSERT INTO throttles (key, failures, last_failure_at, locked_until, pending, pending_at) VALUES ($1, 1, $2, NULL, 1, $2) \
         ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN throttles.last_failure_at > $3 THEN throttles.failures + 1 ELSE 1 END, \
             last_failure_at = CASE WHEN throttles.last_failure_at > $3 THEN throttles.last_failure_at ELSE $2 END, \
             locked_until = NULL, \
             pending = CASE WHEN throttles.pending_at > $4 THEN throttles.pending + 1 ELSE 1 END, \
             pending_at = $2 \
         WHERE throttles.locked_until IS NULL OR throttles.locked_until <= $2 \
         RETURNING key, failures, last_failure_at, locked_until, pending, pending_at",
    )
    .bind(key)
    .bind(ms(now))
    .bind(ms(window_start))
    .bind(ms(pending_since))
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    if let Some(row) = raised {
        return Ok(ThrottleRaise::Counted(throttle_from_row(&row)?));
    }
    let row = sqlx::query("SELECT key, failures, last_failure_at, locked_until, pending, pending_at FROM throttles WHERE key = $1")
        .bind(key)
        .fetch_one(c)
        .await
        .map_err(db_err)?;
    Ok(ThrottleRaise::Locked(throttle_from_row(&row)?))
}

/// Settles one counted attempt (see `ThrottleSettle`).
pub async fn settle(c: &mut AnyConnection, key: &str, settle: ThrottleSettle) -> Result<()> {
    let one_less = "CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END";
    let query = match settle {
        ThrottleSettle::Failed { at } => sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE throttles SET pending = {one_less}, \
                 last_failure_at = CASE WHEN last_failure_at < $2 THEN $2 ELSE last_failure_at END \
             WHERE key = $1"
        )))
        .bind(key)
        .bind(ms(at)),
        ThrottleSettle::Refunded { free, lock_set } => sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE throttles SET pending = {one_less}, \
                 failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END, \
                 locked_until = CASE WHEN failures - 1 < $2 OR locked_until = $3 THEN NULL ELSE locked_until END \
             WHERE key = $1"
        )))
        .bind(key)
        .bind(free)
        .bind(opt_ms(lock_set)),
        // What stays counted: the other attempts still being evaluated.
        ThrottleSettle::Cleared { pending_since } => sqlx::query(
            "UPDATE throttles SET \
                 failures = CASE WHEN pending > 1 AND pending_at > $2 THEN pending - 1 ELSE 0 END, \
                 pending = CASE WHEN pending > 1 AND pending_at > $2 THEN pending - 1 ELSE 0 END, \
                 locked_until = NULL \
             WHERE key = $1",
        )
        .bind(key)
        .bind(ms(pending_since)),
    };
    query.execute(c).await.map_err(db_err)?;
    Ok(())
}
