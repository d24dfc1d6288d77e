//! The `one_time_links`, `throttles` and `settings` tables: small keyed records.

use crate::convert::{get, get_opt_time, get_opt_uuid, get_time, get_uuid, ms, opt_ms};
use crate::db_err;
use keyward_core::model::{LinkPurpose, OneTimeLink, Throttle};
use keyward_core::types::UserId;
use keyward_core::{Error, Result};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

fn link_from_row(row: &AnyRow) -> Result<OneTimeLink> {
    let purpose: String = get(row, "purpose")?;
    Ok(OneTimeLink {
        id: get_uuid(row, "id")?,
        user_id: UserId(get_uuid(row, "user_id")?),
        purpose: LinkPurpose::parse(&purpose).ok_or_else(|| Error::internal_msg(format!("unknown link purpose {purpose}")))?,
        token_hash: get(row, "token_hash")?,
        created_at: get_time(row, "created_at")?,
        expires_at: get_time(row, "expires_at")?,
        used_at: get_opt_time(row, "used_at")?,
        created_by: get_opt_uuid(row, "created_by")?.map(UserId),
    })
}

pub async fn insert(c: &mut AnyConnection, l: &OneTimeLink) -> Result<()> {
    sqlx::query("INSERT INTO one_time_links (id, user_id, purpose, token_hash, created_at, expires_at, used_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(l.id.to_string())
        .bind(l.user_id.to_string())
        .bind(l.purpose.as_str())
        .bind(&l.token_hash)
        .bind(ms(l.created_at))
        .bind(ms(l.expires_at))
        .bind(opt_ms(l.used_at))
        .bind(l.created_by.map(|u| u.to_string()))
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn by_hash(c: &mut AnyConnection, hash: &str) -> Result<Option<OneTimeLink>> {
    let row = sqlx::query(
        "SELECT id, user_id, purpose, token_hash, created_at, expires_at, used_at, created_by FROM one_time_links WHERE token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(c)
    .await
    .map_err(db_err)?;
    row.as_ref().map(link_from_row).transpose()
}

/// Marks a link used only if it was not; the `used_at IS NULL` guard makes a second use lose.
pub async fn mark_used(c: &mut AnyConnection, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query("UPDATE one_time_links SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
        .bind(id.to_string())
        .bind(ms(at))
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

pub async fn latest(c: &mut AnyConnection, user: UserId, purpose: LinkPurpose) -> Result<Option<OneTimeLink>> {
    let row = sqlx::query(
        "SELECT id, user_id, purpose, token_hash, created_at, expires_at, used_at, created_by FROM one_time_links \
         WHERE user_id = $1 AND purpose = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(user.to_string())
    .bind(purpose.as_str())
    .fetch_optional(c)
    .await
    .map_err(db_err)?;
    row.as_ref().map(link_from_row).transpose()
}

pub async fn delete_unused(c: &mut AnyConnection, user: UserId, purpose: LinkPurpose) -> Result<u64> {
    let done = sqlx::query("DELETE FROM one_time_links WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
        .bind(user.to_string())
        .bind(purpose.as_str())
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected())
}

pub async fn throttle(c: &mut AnyConnection, key: &str) -> Result<Option<Throttle>> {
    let row = sqlx::query("SELECT key, failures, last_failure_at, locked_until, pending, pending_at FROM throttles WHERE key = $1")
        .bind(key)
        .fetch_optional(c)
        .await
        .map_err(db_err)?;
    row.as_ref().map(throttle_from_row).transpose()
}

pub fn throttle_from_row(r: &AnyRow) -> Result<Throttle> {
    Ok(Throttle {
        key: get(r, "key")?,
        failures: get(r, "failures")?,
        last_failure_at: get_time(r, "last_failure_at")?,
        locked_until: get_opt_time(r, "locked_until")?,
        pending: get(r, "pending")?,
        pending_at: get_opt_time(r, "pending_at")?,
    })
}

pub async fn setting(c: &mut AnyConnection, key: &str) -> Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(c).await.map_err(db_err)?;
    Ok(row.map(|r| r.0))
}

pub async fn put_setting(c: &mut AnyConnection, key: &str, value: &str, at: OffsetDateTime) -> Result<()> {
    sqlx::query("INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
        .bind(key)
        .bind(value)
        .bind(ms(at))
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(())
}
