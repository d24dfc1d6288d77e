//! Service accounts: the `users` rows of kind 'service', with their description.

use crate::convert::get;
use crate::{db_err, users};
use keyward_core::Result;
use keyward_core::model::{ServiceAccount, User};
use keyward_core::types::UserId;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

fn from_row(row: &AnyRow) -> Result<ServiceAccount> {
    Ok(ServiceAccount { user: users::from_row(row)?, description: get(row, "description")? })
}

pub async fn insert(c: &mut AnyConnection, user: &User, description: Option<&str>) -> Result<()> {
    users::insert(&mut *c, user).await?;
    sqlx::query("UPDATE users SET description = $2 WHERE id = $1")
        .bind(user.id.to_string())
        .bind(description)
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn list(c: &mut AnyConnection) -> Result<Vec<ServiceAccount>> {
    let sql = format!("SELECT {}, description FROM users WHERE kind = 'service' ORDER BY full_name, id", users::COLUMNS);
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(c).await.map_err(db_err)?;
    rows.iter().map(from_row).collect()
}

pub async fn by_id(c: &mut AnyConnection, id: UserId) -> Result<Option<ServiceAccount>> {
    let sql = format!("SELECT {}, description FROM users WHERE kind = 'service' AND id = $1", users::COLUMNS);
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(c).await.map_err(db_err)?;
    row.as_ref().map(from_row).transpose()
}

/// Deletes the account; its tokens go with it (the foreign key cascades).
pub async fn delete(c: &mut AnyConnection, id: UserId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM users WHERE id = $1 AND kind = 'service'").bind(id.to_string()).execute(c).await.map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}
