//! The `sessions` table.

use crate::convert::{get, get_time, get_uuid, ms};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::model::Session;
use keyward_core::store::SessionStore;
use keyward_core::types::{SessionId, UserId};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

/// The columns `session_from_row` reads.
const COLUMNS: &str = "id, user_id, token_hash, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent, mfa_pending";

fn session_from_row(row: &AnyRow) -> Result<Session> {
    Ok(Session {
        id: SessionId(get_uuid(row, "id")?),
        user_id: UserId(get_uuid(row, "user_id")?),
        token_hash: get(row, "token_hash")?,
        csrf_token: get(row, "csrf_token")?,
        created_at: get_time(row, "created_at")?,
        last_seen_at: get_time(row, "last_seen_at")?,
        expires_at: get_time(row, "expires_at")?,
        ip: get(row, "ip")?,
        user_agent: get(row, "user_agent")?,
        mfa_pending: crate::convert::get_bool(row, "mfa_pending")?,
    })
}

#[async_trait]
impl SessionStore for SqlTx {
    async fn insert_session(&mut self, s: &Session) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")))
            .bind(s.id.to_string())
            .bind(s.user_id.to_string())
            .bind(&s.token_hash)
            .bind(&s.csrf_token)
            .bind(ms(s.created_at))
            .bind(ms(s.last_seen_at))
            .bind(ms(s.expires_at))
            .bind(&s.ip)
            .bind(&s.user_agent)
            .bind(i64::from(s.mfa_pending))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn session_by_hash(&mut self, hash: &str) -> Result<Option<Session>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM sessions WHERE token_hash = $1")))
            .bind(hash)
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(&mut self, id: SessionId, at: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(ms(at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn clear_session_mfa_pending(&mut self, id: SessionId) -> Result<()> {
        sqlx::query("UPDATE sessions SET mfa_pending = 0 WHERE id = $1").bind(id.to_string()).execute(self.c()).await.map_err(db_err)?;
        Ok(())
    }

    async fn sessions_of(&mut self, user: UserId) -> Result<Vec<Session>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY created_at DESC")))
            .bind(user.to_string())
            .fetch_all(self.c())
            .await
            .map_err(db_err)?;
        rows.iter().map(session_from_row).collect()
    }

    async fn delete_session(&mut self, id: SessionId, user: UserId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_sessions_of(&mut self, user: UserId, keep: Option<SessionId>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)")
            .bind(user.to_string())
            .bind(keep.map(|k| k.to_string()))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
