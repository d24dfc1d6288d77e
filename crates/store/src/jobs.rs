//! The `job_leases` table: one node runs each background job when it is due.

use crate::convert::ms;
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::store::JobStore;
use time::OffsetDateTime;

#[async_trait]
impl JobStore for SqlTx {
    async fn take_lease(&mut self, name: &str, holder: &str, now: OffsetDateTime, until: OffsetDateTime) -> Result<bool> {
        // The row exists from the first attempt on; then one conditional UPDATE decides the winner
        // (both engines serialise concurrent updates of one row).
        sqlx::query("INSERT INTO job_leases (name, holder, expires_at, next_run_at) VALUES ($1, '', 0, 0) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .execute(self.c())
            .await
            .map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE job_leases SET holder = $2, expires_at = $4 WHERE name = $1 AND next_run_at <= $3 AND (expires_at <= $3 OR holder = $2)",
        )
        .bind(name)
        .bind(holder)
        .bind(ms(now))
        .bind(ms(until))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_lease(&mut self, name: &str, holder: &str, now: OffsetDateTime, next: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE job_leases SET expires_at = $3, next_run_at = $4 WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .bind(ms(now))
            .bind(ms(next))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
