//! The `login_attempts` table: every sign-in attempt, right or wrong.

use crate::convert::{get, get_bool, get_opt_uuid, get_time, get_uuid, ms};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::model::LoginAttempt;
use keyward_core::store::SignInStore;
use keyward_core::types::UserId;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

/// The columns `attempt_from_row` reads.
const COLUMNS: &str = "id, at, email, user_id, success, reason, ip, user_agent";

fn attempt_from_row(r: &AnyRow) -> Result<LoginAttempt> {
    Ok(LoginAttempt {
        id: get_uuid(r, "id")?,
        at: get_time(r, "at")?,
        email: get(r, "email")?,
        user_id: get_opt_uuid(r, "user_id")?.map(UserId),
        success: get_bool(r, "success")?,
        reason: get(r, "reason")?,
        ip: get(r, "ip")?,
        user_agent: get(r, "user_agent")?,
    })
}

#[async_trait]
impl SignInStore for SqlTx {
    async fn insert_login_attempt(&mut self, a: &LoginAttempt) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO login_attempts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")))
            .bind(a.id.to_string())
            .bind(ms(a.at))
            .bind(&a.email)
            .bind(a.user_id.map(|u| u.to_string()))
            .bind(i64::from(a.success))
            .bind(&a.reason)
            .bind(&a.ip)
            .bind(&a.user_agent)
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn login_attempts_of(&mut self, user: UserId, limit: i64) -> Result<Vec<LoginAttempt>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM login_attempts WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2"
        )))
        .bind(user.to_string())
        .bind(limit)
        .fetch_all(self.c())
        .await
        .map_err(db_err)?;
        rows.iter().map(attempt_from_row).collect()
    }

    async fn count_failed_sign_ins(&mut self, since: OffsetDateTime) -> Result<i64> {
        let row: (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM login_attempts WHERE success = 0 AND at >= $1")
            .bind(ms(since))
            .fetch_one(self.c())
            .await
            .map_err(db_err)?;
        Ok(row.0)
    }
}
