//! Bringing stored email keys to the current normalisation (`types::email_key`: NFC, case
//! folded, IDNA domains). Keys stored before it were the address in lower case, which differs
//! for a few non-ASCII addresses; re-keyed once per database, so that those people can still
//! sign in and cannot be invited a second time.

use crate::Keyward;
use crate::error::{Error, Result};
use crate::model::AuditEvent;
use crate::store::UserFilter;
use crate::types::email_key;
use serde_json::json;

/// The settings key that records which normalisation the stored keys follow.
const MARK: &str = "email_key_version";
const VERSION: &str = "2";
const PAGE: i64 = 500;

impl Keyward {
    /// Re-keys users whose stored key predates the normalisation; answers how many changed. Does
    /// nothing once the database is marked done. Two accounts that turn out to be one address
    /// keep their old keys and are named in a warning: an admin decides which one stays.
    pub async fn normalise_email_keys(&self) -> Result<usize> {
        if self.store.read().await?.setting(MARK).await?.as_deref() == Some(VERSION) {
            return Ok(0);
        }
        let mut stale = Vec::new();
        let mut after = None;
        loop {
            let page =
                self.store.read().await?.list_users(&UserFilter { after: after.clone(), limit: PAGE, ..UserFilter::default() }).await?;
            // The keys of that time: the address in lower case.
            after = page.last().map(|u| u.email.to_lowercase());
            stale.extend(page.iter().filter(|u| email_key(&u.email) != u.email.to_lowercase()).map(|u| u.id));
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        let mut changed = 0;
        for id in stale {
            let now = self.clock.now();
            let mut tx = self.store.write().await?;
            let Some(user) = tx.user_by_id(id).await? else { continue };
            let key = email_key(&user.email);
            // `update_user` stores the key of the address as it is normalised now.
            match tx.update_user(&user).await {
                Ok(()) => {}
                Err(Error::Conflict { .. }) => {
                    tracing::warn!(user = %id, "another account has the same normalised email; this one keeps its old key until an admin resolves it");
                    continue;
                }
                Err(e) => return Err(e),
            }
            tx.insert_audit(&AuditEvent::system("user.email_key_normalise", now).target("user", id).details(json!({ "email_key": key })))
                .await?;
            tx.commit().await?;
            changed += 1;
        }
        let mut tx = self.store.write().await?;
        tx.put_setting(MARK, VERSION, self.clock.now()).await?;
        tx.commit().await?;
        Ok(changed)
    }
}
