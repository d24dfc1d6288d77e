//! The SCIM tables: provisioning clients' tokens, and the SCIM attributes of users and groups.

use crate::convert::{get, get_opt_time, get_opt_uuid, get_time, get_uuid, ms, opt_ms};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::model::{ScimToken, ScimUserAttrs};
use keyward_core::store::ScimStore;
use keyward_core::types::{TeamId, UserId};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

fn token_from_row(row: &AnyRow) -> Result<ScimToken> {
    Ok(ScimToken {
        id: get_uuid(row, "id")?,
        name: get(row, "name")?,
        token_hash: get(row, "token_hash")?,
        created_at: get_time(row, "created_at")?,
        created_by: get_opt_uuid(row, "created_by")?.map(UserId),
        last_used_at: get_opt_time(row, "last_used_at")?,
    })
}

const TOKEN_COLUMNS: &str = "id, name, token_hash, created_at, created_by, last_used_at";

fn attrs_from_row(row: &AnyRow) -> Result<ScimUserAttrs> {
    Ok(ScimUserAttrs {
        user_id: UserId(get_uuid(row, "user_id")?),
        user_name: get(row, "user_name")?,
        external_id: get(row, "external_id")?,
        display_name: get(row, "display_name")?,
        given_name: get(row, "given_name")?,
        family_name: get(row, "family_name")?,
        email_type: get(row, "email_type")?,
        email_primary: get::<Option<i64>>(row, "email_primary")?.map(|b| b != 0),
        deleted_at: get_opt_time(row, "deleted_at")?,
    })
}

const ATTR_COLUMNS: &str = "user_id, user_name, external_id, display_name, given_name, family_name, email_type, email_primary, deleted_at";

#[async_trait]
impl ScimStore for SqlTx {
    async fn insert_scim_token(&mut self, t: &ScimToken) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO scim_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)")))
            .bind(t.id.to_string())
            .bind(&t.name)
            .bind(&t.token_hash)
            .bind(ms(t.created_at))
            .bind(t.created_by.map(|u| u.to_string()))
            .bind(opt_ms(t.last_used_at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn scim_token_by_hash(&mut self, hash: &str) -> Result<Option<ScimToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE token_hash = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(token_from_row)
            .transpose()
    }

    async fn scim_tokens(&mut self) -> Result<Vec<ScimToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM scim_tokens ORDER BY created_at, id");
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.c()).await.map_err(db_err)?.iter().map(token_from_row).collect()
    }

    async fn delete_scim_token(&mut self, id: uuid::Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM scim_tokens WHERE id = $1").bind(id.to_string()).execute(self.c()).await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_scim_token(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE scim_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(ms(at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn scim_user_attrs(&mut self) -> Result<Vec<ScimUserAttrs>> {
        let sql = format!("SELECT {ATTR_COLUMNS} FROM scim_users");
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.c()).await.map_err(db_err)?.iter().map(attrs_from_row).collect()
    }

    async fn scim_user_attrs_of(&mut self, user: UserId) -> Result<Option<ScimUserAttrs>> {
        let sql = format!("SELECT {ATTR_COLUMNS} FROM scim_users WHERE user_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.to_string())
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(attrs_from_row)
            .transpose()
    }

    async fn put_scim_user_attrs(&mut self, a: &ScimUserAttrs) -> Result<()> {
        sqlx::query(
            "INSERT INTO scim_users (user_id, user_name, user_name_key, external_id, display_name, given_name, family_name, email_type, email_primary, deleted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (user_id) DO UPDATE SET user_name = excluded.user_name, user_name_key = excluded.user_name_key, \
             external_id = excluded.external_id, display_name = excluded.display_name, given_name = excluded.given_name, \
             family_name = excluded.family_name, email_type = excluded.email_type, email_primary = excluded.email_primary, \
             deleted_at = excluded.deleted_at",
        )
        .bind(a.user_id.to_string())
        .bind(&a.user_name)
        .bind(keyward_core::types::email_key(&a.user_name))
        .bind(&a.external_id)
        .bind(&a.display_name)
        .bind(&a.given_name)
        .bind(&a.family_name)
        .bind(&a.email_type)
        .bind(a.email_primary.map(i64::from))
        .bind(opt_ms(a.deleted_at))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn scim_group_external_ids(&mut self) -> Result<Vec<(TeamId, String)>> {
        let rows = sqlx::query("SELECT team_id, external_id FROM scim_groups WHERE external_id IS NOT NULL")
            .fetch_all(self.c())
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| Ok((TeamId(get_uuid(r, "team_id")?), get(r, "external_id")?))).collect()
    }

    async fn put_scim_group_external_id(&mut self, team: TeamId, external_id: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO scim_groups (team_id, external_id) VALUES ($1, $2) ON CONFLICT (team_id) DO UPDATE SET external_id = excluded.external_id",
        )
        .bind(team.to_string())
        .bind(external_id)
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(())
    }
}
