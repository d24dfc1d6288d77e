//! The `sessions` and `api_tokens` tables.

use crate::convert::{get, get_opt_time, get_time, get_uuid, ms, opt_ms};
use crate::db_err;
use keyward_core::Result;
use keyward_core::model::{ApiToken, Session};
use keyward_core::scope::Scope;
use keyward_core::types::{SessionId, TokenId, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

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

pub async fn insert(c: &mut AnyConnection, s: &Session) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, token_hash, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent, mfa_pending) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
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
    .execute(c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn by_hash(c: &mut AnyConnection, hash: &str) -> Result<Option<Session>> {
    let row = sqlx::query("SELECT id, user_id, token_hash, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent, mfa_pending FROM sessions WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(c)
        .await
        .map_err(db_err)?;
    row.as_ref().map(session_from_row).transpose()
}

pub async fn touch(c: &mut AnyConnection, id: SessionId, at: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(ms(at))
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn clear_mfa_pending(c: &mut AnyConnection, id: SessionId) -> Result<()> {
    sqlx::query("UPDATE sessions SET mfa_pending = 0 WHERE id = $1").bind(id.to_string()).execute(c).await.map_err(db_err)?;
    Ok(())
}

pub async fn of_user(c: &mut AnyConnection, user: UserId) -> Result<Vec<Session>> {
    let rows = sqlx::query("SELECT id, user_id, token_hash, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent, mfa_pending FROM sessions WHERE user_id = $1 ORDER BY created_at DESC")
        .bind(user.to_string())
        .fetch_all(c)
        .await
        .map_err(db_err)?;
    rows.iter().map(session_from_row).collect()
}

pub async fn delete(c: &mut AnyConnection, id: SessionId, user: UserId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete_of_user(c: &mut AnyConnection, user: UserId, keep: Option<SessionId>) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)")
        .bind(user.to_string())
        .bind(keep.map(|k| k.to_string()))
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected())
}

/// The columns `token_from_row` reads.
pub(crate) const TOKEN_COLUMNS: &str = "id, user_id, name, token_hash, created_at, expires_at, last_used_at, scopes";

pub(crate) fn token_from_row(row: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: TokenId(get_uuid(row, "id")?),
        user_id: UserId(get_uuid(row, "user_id")?),
        name: get(row, "name")?,
        token_hash: get(row, "token_hash")?,
        created_at: get_time(row, "created_at")?,
        expires_at: get_opt_time(row, "expires_at")?,
        last_used_at: get_opt_time(row, "last_used_at")?,
        scopes: get::<Option<String>>(row, "scopes")?.map(|s| Scope::parse_list(&s)).transpose()?,
    })
}

pub async fn insert_token(c: &mut AnyConnection, t: &ApiToken) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at, last_used_at, scopes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(t.id.to_string())
    .bind(t.user_id.to_string())
    .bind(&t.name)
    .bind(&t.token_hash)
    .bind(ms(t.created_at))
    .bind(opt_ms(t.expires_at))
    .bind(opt_ms(t.last_used_at))
    .bind(t.scopes.as_deref().map(Scope::join))
    .execute(c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn token_by_hash(c: &mut AnyConnection, hash: &str) -> Result<Option<ApiToken>> {
    let row = sqlx::query(
        "SELECT id, user_id, name, token_hash, created_at, expires_at, last_used_at, scopes FROM api_tokens WHERE token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(c)
    .await
    .map_err(db_err)?;
    row.as_ref().map(token_from_row).transpose()
}

pub async fn touch_token(c: &mut AnyConnection, id: TokenId, at: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(ms(at))
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn tokens_of(c: &mut AnyConnection, user: UserId) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query("SELECT id, user_id, name, token_hash, created_at, expires_at, last_used_at, scopes FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC")
        .bind(user.to_string())
        .fetch_all(c)
        .await
        .map_err(db_err)?;
    rows.iter().map(token_from_row).collect()
}

pub async fn delete_token(c: &mut AnyConnection, id: TokenId, user: UserId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete_tokens_of(c: &mut AnyConnection, user: UserId) -> Result<u64> {
    let done = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1").bind(user.to_string()).execute(c).await.map_err(db_err)?;
    Ok(done.rows_affected())
}
