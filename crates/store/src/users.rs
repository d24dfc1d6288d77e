//! The `users` table.

use crate::convert::{get, get_bool, get_opt_time, get_time, get_uuid, ms, opt_ms};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::index::Change;
use keyward_core::model::User;
use keyward_core::store::UserFilter;
use keyward_core::store::UserStore;
use keyward_core::types::{Role, UserId, UserKind, UserStatus};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

/// The columns `from_row` reads.
pub(crate) const COLUMNS: &str = "id, email, full_name, role, status, password_hash, mfa_enabled, created_at, updated_at, last_active_at, access_expires_at, role_changed_at, kind";

pub fn from_row(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: UserId(get_uuid(row, "id")?),
        kind: UserKind::parse(&get::<String>(row, "kind")?)?,
        email: get(row, "email")?,
        full_name: get(row, "full_name")?,
        role: Role::parse(&get::<String>(row, "role")?)?,
        status: UserStatus::parse(&get::<String>(row, "status")?)?,
        password_hash: get(row, "password_hash")?,
        mfa_enabled: get_bool(row, "mfa_enabled")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        last_active_at: get_opt_time(row, "last_active_at")?,
        access_expires_at: get_opt_time(row, "access_expires_at")?,
        role_changed_at: get_opt_time(row, "role_changed_at")?,
    })
}

#[async_trait]
impl UserStore for SqlTx {
    async fn insert_user(&mut self, u: &User) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, email, email_key, full_name, role, status, password_hash, mfa_enabled, created_at, updated_at, last_active_at, access_expires_at, role_changed_at, kind) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(u.id.to_string())
        .bind(&u.email)
        .bind(keyward_core::types::email_key(&u.email))
        .bind(&u.full_name)
        .bind(u.role.as_str())
        .bind(u.status.as_str())
        .bind(&u.password_hash)
        .bind(i64::from(u.mfa_enabled))
        .bind(ms(u.created_at))
        .bind(ms(u.updated_at))
        .bind(opt_ms(u.last_active_at))
        .bind(opt_ms(u.access_expires_at))
        .bind(opt_ms(u.role_changed_at))
        .bind(u.kind.as_str())
        .execute(self.c())
        .await
        .map_err(db_err)?;
        self.changed(Change::User(u.id));
        Ok(())
    }

    async fn update_user(&mut self, u: &User) -> Result<()> {
        sqlx::query(
            "UPDATE users SET email = $2, email_key = $3, full_name = $4, role = $5, status = $6, password_hash = $7, \
             mfa_enabled = $8, updated_at = $9, last_active_at = $10, access_expires_at = $11, role_changed_at = $12 WHERE id = $1",
        )
        .bind(u.id.to_string())
        .bind(&u.email)
        .bind(keyward_core::types::email_key(&u.email))
        .bind(&u.full_name)
        .bind(u.role.as_str())
        .bind(u.status.as_str())
        .bind(&u.password_hash)
        .bind(i64::from(u.mfa_enabled))
        .bind(ms(u.updated_at))
        .bind(opt_ms(u.last_active_at))
        .bind(opt_ms(u.access_expires_at))
        .bind(opt_ms(u.role_changed_at))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        self.changed(Change::User(u.id));
        Ok(())
    }

    async fn user_by_id(&mut self, id: UserId) -> Result<Option<User>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?;
        row.as_ref().map(from_row).transpose()
    }

    async fn user_by_email(&mut self, key: &str) -> Result<Option<User>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE email_key = $1")))
            .bind(key)
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?;
        row.as_ref().map(from_row).transpose()
    }

    async fn count_lasting_admins(&mut self, except: Option<UserId>) -> Result<i64> {
        let row: (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM users WHERE kind = 'person' AND role = 'admin' AND status = 'active' AND access_expires_at IS NULL AND ($1 IS NULL OR id <> $1)",
        )
        .bind(except.map(|u| u.to_string()))
        .fetch_one(self.c())
        .await
        .map_err(db_err)?;
        Ok(row.0)
    }

    async fn delete_invited_user(&mut self, id: UserId) -> Result<bool> {
        self.changed(Change::User(id));
        let done = sqlx::query("DELETE FROM users WHERE id = $1 AND status = 'invited'")
            .bind(id.to_string())
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn users_past_access_end(&mut self, now: OffsetDateTime) -> Result<Vec<User>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM users WHERE status = 'active' AND access_expires_at IS NOT NULL AND access_expires_at <= $1 \
             ORDER BY access_expires_at LIMIT 500"
        )))
        .bind(ms(now))
        .fetch_all(self.c())
        .await
        .map_err(db_err)?;
        rows.iter().map(from_row).collect()
    }

    async fn count_admins(&mut self) -> Result<i64> {
        let row: (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM users WHERE kind = 'person' AND role = 'admin'")
            .fetch_one(self.c())
            .await
            .map_err(db_err)?;
        Ok(row.0)
    }

    async fn list_users(&mut self, f: &UserFilter) -> Result<Vec<User>> {
        crate::directory::list_users(self, f).await
    }

    async fn touch_user(&mut self, id: UserId, at: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE users SET last_active_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(ms(at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn inactive_users(&mut self, cutoff: OffsetDateTime) -> Result<Vec<User>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM users WHERE kind = 'person' AND status = 'active' AND COALESCE(last_active_at, created_at) < $1 \
             ORDER BY COALESCE(last_active_at, created_at), id LIMIT 1000",
            COLUMNS
        )))
        .bind(ms(cutoff))
        .fetch_all(self.c())
        .await
        .map_err(db_err)?;
        rows.iter().map(from_row).collect()
    }

    async fn departures(&mut self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<User>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM users WHERE status = 'active' AND access_expires_at IS NOT NULL \
             AND access_expires_at >= $1 AND access_expires_at < $2 ORDER BY access_expires_at, id LIMIT 1000",
            COLUMNS
        )))
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(self.c())
        .await
        .map_err(db_err)?;
        rows.iter().map(from_row).collect()
    }
}
