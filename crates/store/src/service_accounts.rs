//! Service accounts: the `users` rows of kind 'service', with their description.

use crate::convert::get;
use crate::tx::SqlTx;
use crate::{db_err, users};
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::index::Change;
use keyward_core::model::{ServiceAccount, User};
use keyward_core::store::{ServiceAccountStore, UserStore};
use keyward_core::types::UserId;
use sqlx::any::AnyRow;

fn from_row(row: &AnyRow) -> Result<ServiceAccount> {
    Ok(ServiceAccount { user: users::from_row(row)?, description: get(row, "description")? })
}

#[async_trait]
impl ServiceAccountStore for SqlTx {
    async fn insert_service_account(&mut self, user: &User, description: Option<&str>) -> Result<()> {
        // Why through `insert_user`: it notes the change for the index like every user write.
        self.insert_user(user).await?;
        sqlx::query("UPDATE users SET description = $2 WHERE id = $1")
            .bind(user.id.to_string())
            .bind(description)
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn service_accounts(&mut self) -> Result<Vec<ServiceAccount>> {
        let sql = format!("SELECT {}, description FROM users WHERE kind = 'service' ORDER BY full_name, id", users::COLUMNS);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.c()).await.map_err(db_err)?;
        rows.iter().map(from_row).collect()
    }

    async fn service_account(&mut self, id: UserId) -> Result<Option<ServiceAccount>> {
        let sql = format!("SELECT {}, description FROM users WHERE kind = 'service' AND id = $1", users::COLUMNS);
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(self.c()).await.map_err(db_err)?;
        row.as_ref().map(from_row).transpose()
    }

    /// Deletes the account; its tokens go with it (the foreign key cascades).
    async fn delete_service_account(&mut self, id: UserId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1 AND kind = 'service'")
            .bind(id.to_string())
            .execute(self.c())
            .await
            .map_err(db_err)?;
        // Why both: the row and every token of it leave each node's index with this commit.
        self.changed(Change::User(id));
        self.changed(Change::Tokens(id));
        Ok(done.rows_affected() > 0)
    }
}
