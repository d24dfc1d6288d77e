//! Counting attempts at a secret before they are evaluated: one statement raises a key's
//! counter unless the key is locked, so concurrent attempts can never all see a free counter;
//! another settles the attempt once it has been evaluated.

use crate::convert::ms;
use crate::convert::{get, get_opt_time, get_time};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::model::Throttle;
use keyward_core::store::{ThrottleRaise, ThrottleSettle, ThrottleStore};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

/// The columns `throttle_from_row` reads.
const COLUMNS: &str = "key, failures, last_failure_at, locked_until, pending, pending_at";

fn throttle_from_row(r: &AnyRow) -> Result<Throttle> {
    Ok(Throttle {
        key: get(r, "key")?,
        failures: get(r, "failures")?,
        last_failure_at: get_time(r, "last_failure_at")?,
        locked_until: get_opt_time(r, "locked_until")?,
        pending: get(r, "pending")?,
        pending_at: get_opt_time(r, "pending_at")?,
    })
}

#[async_trait]
impl ThrottleStore for SqlTx {
    async fn throttles(&mut self, keys: &[&str]) -> Result<Vec<Throttle>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = (1..=keys.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT {COLUMNS} FROM throttles WHERE key IN ({placeholders})");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for key in keys {
            query = query.bind(*key);
        }
        let rows = query.fetch_all(self.c()).await.map_err(db_err)?;
        rows.iter().map(throttle_from_row).collect()
    }

    /// Why one statement: on PostgreSQL the upsert takes the key's row lock (held until the
    /// transaction ends) and evaluates its `WHERE` on the newest row version; on SQLite writers are
    /// serialised. Either way the check and the raise cannot be separated by another attempt. The
    /// key takes no more attempts while it is locked, or while attempts are pending and the free
    /// budget is used up. The time of the last failure moves only when the window starts over
    /// (settling a wrong attempt moves it), so attempts that turn out right keep no failure alive.
    async fn raise_throttle(
        &mut self,
        key: &str,
        free: i64,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
        pending_since: OffsetDateTime,
    ) -> Result<ThrottleRaise> {
        let raised = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO throttles ({COLUMNS}) VALUES ($1, 1, $2, NULL, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN throttles.last_failure_at > $3 THEN throttles.failures + 1 ELSE 1 END, \
                 last_failure_at = CASE WHEN throttles.last_failure_at > $3 THEN throttles.last_failure_at ELSE $2 END, \
                 locked_until = NULL, \
                 pending = CASE WHEN throttles.pending_at > $4 THEN throttles.pending + 1 ELSE 1 END, \
                 pending_at = $2 \
             WHERE (throttles.locked_until IS NULL OR throttles.locked_until <= $2) \
               AND NOT (throttles.pending > 0 AND throttles.pending_at > $4 \
                        AND (CASE WHEN throttles.last_failure_at > $3 THEN throttles.failures ELSE 0 END) >= $5) \
             RETURNING {COLUMNS}"
        )))
        .bind(key)
        .bind(ms(now))
        .bind(ms(window_start))
        .bind(ms(pending_since))
        .bind(free)
        .fetch_optional(self.c())
        .await
        .map_err(db_err)?;
        if let Some(row) = raised {
            return Ok(ThrottleRaise::Counted(throttle_from_row(&row)?));
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM throttles WHERE key = $1")))
            .bind(key)
            .fetch_one(self.c())
            .await
            .map_err(db_err)?;
        Ok(ThrottleRaise::Blocked(throttle_from_row(&row)?))
    }

    /// Settles one counted attempt (see `ThrottleSettle`); answers the key as it then stands.
    async fn settle_throttle(&mut self, key: &str, settle: ThrottleSettle) -> Result<Option<Throttle>> {
        const ONE_LESS: &str = "CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END";
        let query = match settle {
            ThrottleSettle::Failed { at } => sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE throttles SET pending = {ONE_LESS}, \
                     last_failure_at = CASE WHEN last_failure_at < $2 THEN $2 ELSE last_failure_at END \
                 WHERE key = $1 RETURNING {COLUMNS}"
            )))
            .bind(key)
            .bind(ms(at)),
            ThrottleSettle::Refunded { free } => sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE throttles SET pending = {ONE_LESS}, \
                     failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END, \
                     locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END \
                 WHERE key = $1 RETURNING {COLUMNS}"
            )))
            .bind(key)
            .bind(free),
            // What stays counted: the other attempts still being evaluated.
            ThrottleSettle::Cleared { pending_since } => sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE throttles SET \
                     failures = CASE WHEN pending > 1 AND pending_at > $2 THEN pending - 1 ELSE 0 END, \
                     pending = CASE WHEN pending > 1 AND pending_at > $2 THEN pending - 1 ELSE 0 END, \
                     locked_until = NULL \
                 WHERE key = $1 RETURNING {COLUMNS}"
            )))
            .bind(key)
            .bind(ms(pending_since)),
            ThrottleSettle::Locked { until } => sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE throttles SET locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until >= $2 THEN locked_until ELSE $2 END \
                 WHERE key = $1 RETURNING {COLUMNS}"
            )))
            .bind(key)
            .bind(ms(until)),
        };
        query.fetch_optional(self.c()).await.map_err(db_err)?.as_ref().map(throttle_from_row).transpose()
    }
}
