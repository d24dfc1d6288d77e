//! Applying an access review's revokes: each in its own transaction with its usual audit event
//! (marked with the review), and the item's outcome.

use crate::Keyward;
use crate::access::Subject;
use crate::error::{Error, Result};
use crate::model::User;
use crate::review::{ItemKind, Review, ReviewItem};
use crate::services::reviews::By;
use crate::services::users::ensure_an_admin_remains;
use crate::store::{LockKey, Tx};
use crate::types::{Role, UserStatus};
use serde_json::json;
use time::OffsetDateTime;

impl Keyward {
    /// Applies one revoke in its own transaction: the change, its usual audit event (marked
    /// with the review), and the item's outcome. What can no longer be applied is skipped with
    /// the reason (the last admin stays; a membership or share already gone).
    pub(crate) async fn apply_revoke(&self, by: &By<'_>, review: &Review, mut item: ReviewItem) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Admins).await?;
        let via = json!({ "access_review": review.id.to_string(), "item_id": item.id.to_string() });
        let outcome = match item.kind {
            ItemKind::Admin | ItemKind::InactiveUser => match item.user_id {
                Some(u) => match tx.user_by_id(u).await? {
                    Some(user) => self.revoke_user(tx.as_mut(), by, &item, user, &via, now).await?,
                    None => "skipped: the user no longer exists".into(),
                },
                None => "skipped: no user".into(),
            },
            ItemKind::TeamMembership => match (item.team_id, item.user_id) {
                (Some(team), Some(user)) if tx.remove_member(team, user).await? => {
                    if let Some(mut t) = tx.team_by_id(team).await?.filter(|t| t.lead_id == Some(user)) {
                        t.lead_id = None;
                        t.updated_at = now;
                        tx.update_team(&t).await?;
                    }
                    let details = json!({ "user_id": user.to_string(), "via": via });
                    tx.insert_audit(&by.event("team.member_remove", now).target("team", team).details(details)).await?;
                    "revoked".into()
                }
                _ => "skipped: no longer a member".into(),
            },
            ItemKind::DataSourceShare => {
                let subject = match (item.context.subject.as_deref(), item.user_id, item.team_id) {
                    (Some("user"), Some(u), _) => Some(Subject::User(u)),
                    (Some("team"), _, Some(t)) => Some(Subject::Team(t)),
                    (Some("all_users"), _, _) => Some(Subject::AllUsers),
                    _ => None,
                };
                match (item.resource_id, subject) {
                    (Some(resource), Some(subject)) => {
                        tx.lock(LockKey::Shares(resource)).await?;
                        let found = tx.shares_of(resource).await?.into_iter().find(|s| s.subject == subject);
                        match found {
                            None => "skipped: the share no longer exists".into(),
                            Some(share) => {
                                tx.delete_share(resource, share.id).await?;
                                let gone = crate::services::shares::shares_json(std::slice::from_ref(&share))[0].clone();
                                let details = json!({ "share": gone, "via": via });
                                tx.insert_audit(&by.event("resource.share_remove", now).target("resource", resource).details(details))
                                    .await?;
                                "revoked".into()
                            }
                        }
                    }
                    _ => "skipped: the share is unknown".into(),
                }
            }
        };
        item.outcome = Some(outcome);
        item.applied_at = Some(now);
        tx.update_review_item(&item).await?;
        tx.commit().await
    }

    /// Demotes (admin item) or deactivates (inactive user) as the item says, keeping the last admin.
    async fn revoke_user(
        &self,
        tx: &mut dyn Tx,
        by: &By<'_>,
        item: &ReviewItem,
        before: User,
        via: &serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<String> {
        let mut after = before.clone();
        if item.kind == ItemKind::Admin {
            if before.role != Role::Admin {
                return Ok("skipped: no longer an admin".into());
            }
            after.role = item.demote_to.unwrap_or(Role::Developer);
            after.role_changed_at = Some(now);
        } else {
            if before.status != UserStatus::Active {
                return Ok("skipped: no longer active".into());
            }
            after.status = UserStatus::Deactivated;
        }
        after.updated_at = now;
        if let Err(Error::Conflict { .. }) = ensure_an_admin_remains(tx, &before, &after).await {
            return Ok("skipped: the last active admin stays".into());
        }
        let event = if item.kind == ItemKind::Admin {
            tx.update_user(&after).await?;
            let role = json!({ "before": before.role.as_str(), "after": after.role.as_str() });
            by.event("user.update", now).details(json!({ "role": role, "via": via }))
        } else {
            let (sessions, tokens, links) = self.end_access(tx, &after).await?;
            by.event("user.deactivate", now)
                .details(json!({ "sessions_ended": sessions, "tokens_revoked": tokens, "links_voided": links, "via": via }))
        };
        tx.insert_audit(&event.target("user", before.id)).await?;
        Ok("revoked".into())
    }
}
