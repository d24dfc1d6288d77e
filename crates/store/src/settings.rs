//! The `settings` table: keyed values such as the security policy.

use crate::convert::ms;
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::index::Change;
use keyward_core::store::SettingsStore;
use time::OffsetDateTime;

#[async_trait]
impl SettingsStore for SqlTx {
    async fn setting(&mut self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(self.c()).await.map_err(db_err)?;
        Ok(row.map(|r| r.0))
    }

    async fn put_setting(&mut self, key: &str, value: &str, at: OffsetDateTime) -> Result<()> {
        sqlx::query("INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
            .bind(key)
            .bind(value)
            .bind(ms(at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        if key == keyward_core::policy::SECURITY_POLICY_KEY {
            self.changed(Change::Policy);
        }
        Ok(())
    }
}
