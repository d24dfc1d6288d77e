//! What a restored database must show before it is trusted: its audit chain verifies and every
//! sealed secret opens with the keys at hand (so the key came along with the backup).

use crate::Keyward;
use crate::chain::Verification;
use crate::error::Result;

/// The findings of `check_restored`.
#[derive(Debug)]
pub struct RestoreCheck {
    /// What verifying the audit chain found.
    pub audit: Verification,
    /// Sealed secrets (TOTP secrets, data-source credentials) that opened.
    pub secrets_opened: usize,
    /// Sealed secrets that did not open: the key they were sealed with is missing.
    pub secrets_unopened: usize,
}

impl Keyward {
    /// Records an operator's action on the whole database (`backup.create`, `backup.restore`),
    /// audited as the command line.
    pub async fn record_operation(&self, action: &str, details: serde_json::Value) -> Result<()> {
        let mut tx = self.store.write().await?;
        tx.insert_audit(&crate::model::AuditEvent::cli(action, self.clock.now()).target("database", "keyward").details(details)).await?;
        tx.commit().await
    }

    /// Checks a database as the operator's command line finds it (after a restore): the audit
    /// chain, and that each sealed secret opens. Reads only; nothing is changed or shown.
    pub async fn check_restored(&self) -> Result<RestoreCheck> {
        let audit = self.verify_audit_log().await?;
        let values = self.store.read().await?.sealed_values().await?;
        let opened = values.iter().filter(|v| self.keys.open(&v.sealed, &v.kind.aad(&v.key)).is_ok()).count();
        Ok(RestoreCheck { audit, secrets_opened: opened, secrets_unopened: values.len() - opened })
    }
}
