//! The `one_time_links` table: invitations, password resets and email changes.

use crate::convert::{get, get_opt_time, get_opt_uuid, get_time, get_uuid, ms, opt_ms};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::model::{LinkPurpose, OneTimeLink};
use keyward_core::store::LinkStore;
use keyward_core::types::UserId;
use keyward_core::{Error, Result};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

/// The columns `link_from_row` reads.
const COLUMNS: &str = "id, user_id, purpose, token_hash, created_at, expires_at, used_at, created_by";

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

#[async_trait]
impl LinkStore for SqlTx {
    async fn insert_link(&mut self, l: &OneTimeLink) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO one_time_links ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")))
            .bind(l.id.to_string())
            .bind(l.user_id.to_string())
            .bind(l.purpose.as_str())
            .bind(&l.token_hash)
            .bind(ms(l.created_at))
            .bind(ms(l.expires_at))
            .bind(opt_ms(l.used_at))
            .bind(l.created_by.map(|u| u.to_string()))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn link_by_hash(&mut self, hash: &str) -> Result<Option<OneTimeLink>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM one_time_links WHERE token_hash = $1")))
            .bind(hash)
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?;
        row.as_ref().map(link_from_row).transpose()
    }

    /// Marks a link used only if it was not; the `used_at IS NULL` guard makes a second use lose.
    async fn use_link(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool> {
        let done = sqlx::query("UPDATE one_time_links SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
            .bind(id.to_string())
            .bind(ms(at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn latest_link(&mut self, user: UserId, purpose: LinkPurpose) -> Result<Option<OneTimeLink>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM one_time_links WHERE user_id = $1 AND purpose = $2 ORDER BY created_at DESC, id DESC LIMIT 1"
        )))
        .bind(user.to_string())
        .bind(purpose.as_str())
        .fetch_optional(self.c())
        .await
        .map_err(db_err)?;
        row.as_ref().map(link_from_row).transpose()
    }

    async fn delete_unused_links(&mut self, user: UserId, purpose: LinkPurpose) -> Result<u64> {
        let done = sqlx::query("DELETE FROM one_time_links WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
            .bind(user.to_string())
            .bind(purpose.as_str())
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
