//! The `api_tokens` table.

use crate::convert::{get, get_opt_time, get_time, get_uuid, ms, opt_ms};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::index::Change;
use keyward_core::model::ApiToken;
use keyward_core::scope::Scope;
use keyward_core::store::ApiTokenStore;
use keyward_core::types::{TokenId, UserId};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

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

#[async_trait]
impl ApiTokenStore for SqlTx {
    async fn insert_api_token(&mut self, t: &ApiToken) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")))
            .bind(t.id.to_string())
            .bind(t.user_id.to_string())
            .bind(&t.name)
            .bind(&t.token_hash)
            .bind(ms(t.created_at))
            .bind(opt_ms(t.expires_at))
            .bind(opt_ms(t.last_used_at))
            .bind(t.scopes.as_deref().map(Scope::join))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        self.changed(Change::Tokens(t.user_id));
        Ok(())
    }

    async fn api_token_by_hash(&mut self, hash: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1")))
            .bind(hash)
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn touch_api_token(&mut self, id: TokenId, at: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(ms(at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn api_tokens_of(&mut self, user: UserId) -> Result<Vec<ApiToken>> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC")))
                .bind(user.to_string())
                .fetch_all(self.c())
                .await
                .map_err(db_err)?;
        rows.iter().map(token_from_row).collect()
    }

    async fn delete_api_token(&mut self, id: TokenId, user: UserId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(self.c())
            .await
            .map_err(db_err)?;
        self.changed(Change::Tokens(user));
        Ok(done.rows_affected() > 0)
    }

    async fn delete_api_tokens_of(&mut self, user: UserId) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM api_tokens WHERE user_id = $1").bind(user.to_string()).execute(self.c()).await.map_err(db_err)?;
        self.changed(Change::Tokens(user));
        Ok(done.rows_affected())
    }
}
