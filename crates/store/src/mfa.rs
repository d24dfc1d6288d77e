//! The `mfa_totp`, `mfa_backup_codes` and `mfa_challenges` tables.

use crate::convert::{get, get_bool, get_opt_time, get_time, get_uuid, ms, opt_ms};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::model::{MfaChallenge, TotpRecord};
use keyward_core::store::MfaStore;
use keyward_core::types::UserId;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

/// The columns `totp_from_row` reads.
const TOTP_COLUMNS: &str = "user_id, secret, verified, enabled, last_step, created_at, enabled_at";

fn totp_from_row(row: &AnyRow) -> Result<TotpRecord> {
    Ok(TotpRecord {
        user_id: UserId(get_uuid(row, "user_id")?),
        sealed_secret: get(row, "secret")?,
        verified: get_bool(row, "verified")?,
        enabled: get_bool(row, "enabled")?,
        last_step: get(row, "last_step")?,
        created_at: get_time(row, "created_at")?,
        enabled_at: get_opt_time(row, "enabled_at")?,
    })
}

/// The columns `challenge_from_row` reads.
const CHALLENGE_COLUMNS: &str = "id, user_id, token_hash, created_at, expires_at, used_at";

fn challenge_from_row(r: &AnyRow) -> Result<MfaChallenge> {
    Ok(MfaChallenge {
        id: get_uuid(r, "id")?,
        user_id: UserId(get_uuid(r, "user_id")?),
        token_hash: get(r, "token_hash")?,
        created_at: get_time(r, "created_at")?,
        expires_at: get_time(r, "expires_at")?,
        used_at: get_opt_time(r, "used_at")?,
    })
}

#[async_trait]
impl MfaStore for SqlTx {
    async fn totp(&mut self, user: UserId) -> Result<Option<TotpRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOTP_COLUMNS} FROM mfa_totp WHERE user_id = $1")))
            .bind(user.to_string())
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?;
        row.as_ref().map(totp_from_row).transpose()
    }

    async fn put_totp(&mut self, t: &TotpRecord) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO mfa_totp ({TOTP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, verified = excluded.verified, enabled = excluded.enabled, \
             last_step = excluded.last_step, created_at = excluded.created_at, enabled_at = excluded.enabled_at"
        )))
        .bind(t.user_id.to_string())
        .bind(&t.sealed_secret)
        .bind(i64::from(t.verified))
        .bind(i64::from(t.enabled))
        .bind(t.last_step)
        .bind(ms(t.created_at))
        .bind(opt_ms(t.enabled_at))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn delete_totp(&mut self, user: UserId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1").bind(user.to_string()).execute(self.c()).await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    /// One conditional update: of concurrent submissions of the same step, exactly one changes the row.
    async fn advance_totp_step(&mut self, user: UserId, step: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE mfa_totp SET last_step = $2 WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)")
            .bind(user.to_string())
            .bind(step)
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn replace_backup_codes(&mut self, user: UserId, hashes: &[String], at: OffsetDateTime) -> Result<()> {
        self.delete_backup_codes(user).await?;
        for hash in hashes {
            sqlx::query("INSERT INTO mfa_backup_codes (id, user_id, code_hash, created_at, used_at) VALUES ($1, $2, $3, $4, NULL)")
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(user.to_string())
                .bind(hash)
                .bind(ms(at))
                .execute(self.c())
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    async fn use_backup_code(&mut self, user: UserId, hash: &str, at: OffsetDateTime) -> Result<bool> {
        let done = sqlx::query("UPDATE mfa_backup_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
            .bind(user.to_string())
            .bind(hash)
            .bind(ms(at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() >= 1)
    }

    async fn unused_backup_codes(&mut self, user: UserId) -> Result<i64> {
        let row: (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.to_string())
            .fetch_one(self.c())
            .await
            .map_err(db_err)?;
        Ok(row.0)
    }

    async fn delete_backup_codes(&mut self, user: UserId) -> Result<u64> {
        let done = sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1")
            .bind(user.to_string())
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn insert_challenge(&mut self, ch: &MfaChallenge) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO mfa_challenges ({CHALLENGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)")))
            .bind(ch.id.to_string())
            .bind(ch.user_id.to_string())
            .bind(&ch.token_hash)
            .bind(ms(ch.created_at))
            .bind(ms(ch.expires_at))
            .bind(opt_ms(ch.used_at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn challenge_by_hash(&mut self, hash: &str) -> Result<Option<MfaChallenge>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CHALLENGE_COLUMNS} FROM mfa_challenges WHERE token_hash = $1")))
            .bind(hash)
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?;
        row.as_ref().map(challenge_from_row).transpose()
    }

    async fn use_challenge(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool> {
        let done = sqlx::query("UPDATE mfa_challenges SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
            .bind(id.to_string())
            .bind(ms(at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}
