//! Sharing a resource. Every change is one transaction with its audit event, so two people
//! sharing at once both keep their change: add (or raise) shares, remove one share, replace
//! the whole list only when it is still the one the caller read (`If-Match`), and a data
//! source's visibility, which never deletes a share (DESIGN.md §2).

use crate::Keyward;
use crate::access::{Action, Decision, Kind, Level, Subject, Visibility};
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, Resource, Share, User, rfc3339};
use crate::policy::Capability;
use crate::services::resources::Visible;
use crate::store::{LockKey, Tx};
use crate::types::{ResourceId, ShareId, UserId, UserStatus};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use time::OffsetDateTime;

/// The most shares one resource may have.
pub const MAX_SHARES: usize = 1000;

/// A share as asked for.
#[derive(Debug, Clone)]
pub struct ShareRequest {
    /// Whom to share with.
    pub subject: Subject,
    /// `View` or `Edit` (`Level::parse_share`).
    pub level: Level,
    /// When the share ends; `None`: until removed.
    pub expires_at: Option<OffsetDateTime>,
}

/// A resource's sharing state as read: its visibility, its shares, and the ETag of both.
#[derive(Debug, Clone)]
pub struct SharesView {
    /// The resource's visibility.
    pub visibility: Visibility,
    /// Its shares.
    pub shares: Vec<Share>,
    /// The ETag of both (`etag`), for `If-Match`.
    pub etag: String,
}

/// The ETag of a sharing state (a quoted strong validator): it changes whenever a share is
/// added, removed or changed, or the visibility changes.
pub fn etag(visibility: Visibility, shares: &[Share]) -> String {
    let mut lines: Vec<String> = shares
        .iter()
        .map(|s| format!("{}|{}|{}|{}", s.id, s.subject, s.level, s.expires_at.map_or(-1, |t| t.unix_timestamp_nanos() / 1_000_000)))
        .collect();
    lines.sort();
    let mut hash = Sha256::new();
    hash.update(visibility.as_str());
    for l in lines {
        hash.update(b"\n");
        hash.update(l.as_bytes());
    }
    format!("\"{}\"", hex::encode(&hash.finalize()[..16]))
}

/// Whether an `If-Match` header value matches `current` (`*`, or one of a list of ETags).
fn if_match_holds(if_match: &str, current: &str) -> bool {
    if_match.split(',').map(str::trim).any(|t| t == "*" || t == current)
}

/// What a data source's whole list of shares says about its visibility (the migration's rule):
/// an all-users share makes it All Users, other shares Specific, none Private.
fn implied_by_list(shares: &[Share]) -> Visibility {
    if shares.iter().any(|s| s.subject == Subject::AllUsers) {
        Visibility::AllUsers
    } else if shares.is_empty() {
        Visibility::Private
    } else {
        Visibility::Specific
    }
}

/// Refuses a share that could not be given: a level other than view or edit, an end in the
/// past, an unknown (or not yet joined) user, an unknown team, all users on anything but a
/// data source. Each error names its field.
async fn check_request(tx: &mut dyn Tx, resource: &Resource, w: &ShareRequest, now: OffsetDateTime) -> Result<()> {
    if !w.level.is_share_level() {
        return Err(Error::invalid_field("level", "invalid_level", "A share's level is view or edit."));
    }
    if w.expires_at.is_some_and(|t| t <= now) {
        return Err(Error::invalid_field("expires_at", "invalid_expiry", "expires_at must be in the future."));
    }
    match &w.subject {
        Subject::User(u) => {
            tx.user_by_id(*u)
                .await?
                .filter(|u| u.status != UserStatus::Invited && !u.is_service())
                .ok_or_else(|| Error::invalid_field("subject", "unknown_user", "No such user to share with."))?;
        }
        Subject::Team(t) => {
            tx.team_by_id(*t).await?.ok_or_else(|| Error::invalid_field("subject", "unknown_team", "No such team to share with."))?;
        }
        Subject::AllUsers if resource.kind != Kind::DataSource => {
            return Err(Error::invalid_field("subject", "all_users_not_allowed", "Only data sources can be shared with all users."));
        }
        Subject::AllUsers => {}
    }
    Ok(())
}

fn no_duplicates(wanted: &[ShareRequest]) -> Result<()> {
    let mut seen = HashSet::new();
    if wanted.iter().all(|w| seen.insert(w.subject.clone())) {
        Ok(())
    } else {
        Err(Error::invalid_field("subject", "duplicate_subject", "Each user or team may appear once."))
    }
}

/// Shares as they appear in audit events (never anything secret).
pub(crate) fn shares_json(shares: &[Share]) -> serde_json::Value {
    shares
        .iter()
        .map(|s| {
            let (kind, id) = s.subject.parts();
            json!({
                "id": s.id.to_string(), "resource_id": s.resource_id.to_string(), "subject": { "type": kind, "id": id },
                "level": s.level.as_str(), "expires_at": s.expires_at.map(rfc3339),
            })
        })
        .collect()
}

impl Keyward {
    /// The sharing state of a resource (those who may share it: owner, admins, editors).
    pub async fn get_shares(&self, actor: &Actor, id: ResourceId) -> Result<SharesView> {
        let mut tx = self.store.read().await?;
        let v = self.visible(tx.as_mut(), actor, id).await?;
        Self::require_action(&v, Action::Share)?;
        let shares = tx.shares_of(id).await?;
        Ok(SharesView { visibility: v.resource.visibility, etag: etag(v.resource.visibility, &shares), shares })
    }

    /// Replaces the shares of a resource, after checking every one of them. With `if_match`,
    /// only when the sharing state is still the one with that ETag (412 otherwise). A subject
    /// that stays keeps its share's id; a data source's visibility follows the list.
    pub async fn put_shares(&self, actor: &Actor, id: ResourceId, wanted: Vec<ShareRequest>, if_match: Option<&str>) -> Result<SharesView> {
        if wanted.len() > MAX_SHARES {
            return Err(Error::invalid_field("shares", "too_many_shares", format!("At most {MAX_SHARES} shares per resource.")));
        }
        no_duplicates(&wanted)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Shares(id)).await?;
        let v = self.visible(tx.as_mut(), actor, id).await?;
        Self::require_action(&v, Action::Share)?;
        let before = tx.shares_of(id).await?;
        // Why inside the transaction: the comparison and the write must see the same state.
        if let Some(expected) = if_match
            && !if_match_holds(expected, &etag(v.resource.visibility, &before))
        {
            return Err(Error::PreconditionFailed("The shares changed since you read them: read them again and retry with the new ETag."));
        }
        let mut shares = Vec::with_capacity(wanted.len());
        for w in wanted {
            check_request(tx.as_mut(), &v.resource, &w, now).await?;
            let kept = before.iter().find(|b| b.subject == w.subject);
            shares.push(Share {
                id: kept.map_or_else(ShareId::new, |b| b.id),
                resource_id: id,
                subject: w.subject,
                level: w.level,
                expires_at: w.expires_at,
                created_at: kept.map_or(now, |b| b.created_at),
            });
        }
        let mut resource = v.resource;
        let visibility_before = resource.visibility;
        if resource.kind == Kind::DataSource {
            resource.visibility = implied_by_list(&shares);
        }
        tx.replace_shares(id, &shares).await?;
        if resource.visibility != visibility_before {
            tx.set_visibility(id, resource.visibility, now).await?;
        }
        tx.insert_audit(&AuditEvent::by(actor, "resource.share", now).target("resource", id).details(json!({
            "before": shares_json(&before), "after": shares_json(&shares),
            "visibility": { "before": visibility_before.as_str(), "after": resource.visibility.as_str() },
        })))
        .await?;
        tx.commit().await?;
        Ok(SharesView { visibility: resource.visibility, etag: etag(resource.visibility, &shares), shares })
    }

    /// Adds shares, or changes the level and end of a subject's existing share, in one
    /// transaction; other shares stay as they are. On a data source, an all-users share makes
    /// it All Users and a share with users or teams makes a Private one Specific (so nobody
    /// creates a share that would not apply). A data source visible to All Users takes user and
    /// team shares only with `to_specific` (the page's "Specific" picker): 409 otherwise.
    pub async fn add_shares(&self, actor: &Actor, id: ResourceId, wanted: Vec<ShareRequest>, to_specific: bool) -> Result<Vec<Share>> {
        if wanted.is_empty() {
            return Err(Error::invalid_field("subject", "no_subject", "Choose at least one team or user to share with."));
        }
        if wanted.len() > MAX_SHARES {
            return Err(Error::invalid_field("shares", "too_many_shares", format!("At most {MAX_SHARES} shares per resource.")));
        }
        no_duplicates(&wanted)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Shares(id)).await?;
        let v = self.visible(tx.as_mut(), actor, id).await?;
        Self::require_action(&v, Action::Share)?;
        for w in &wanted {
            check_request(tx.as_mut(), &v.resource, w, now).await?;
        }
        let mut resource = v.resource;
        let visibility_before = resource.visibility;
        if resource.kind == Kind::DataSource {
            let everyone = wanted.iter().any(|w| w.subject == Subject::AllUsers);
            if everyone && wanted.len() > 1 {
                return Err(Error::invalid_field(
                    "subject",
                    "mixed_subjects",
                    "Share with all users, or with specific users and teams, not both at once.",
                ));
            }
            if everyone {
                resource.visibility = Visibility::AllUsers;
            } else if visibility_before == Visibility::AllUsers && !to_specific {
                return Err(Error::conflict(
                    "visibility_all_users",
                    "This data source is visible to all users, so a share with specific users or teams would not apply. \
                     Set its visibility to specific first.",
                ));
            } else {
                resource.visibility = Visibility::Specific;
            }
        }
        let existing = tx.shares_of(id).await?;
        let added = wanted.iter().filter(|w| !existing.iter().any(|e| e.subject == w.subject)).count();
        if existing.len() + added > MAX_SHARES {
            return Err(Error::invalid_field("shares", "too_many_shares", format!("At most {MAX_SHARES} shares per resource.")));
        }
        let before: Vec<Share> = existing.into_iter().filter(|e| wanted.iter().any(|w| w.subject == e.subject)).collect();
        let mut stored = Vec::with_capacity(wanted.len());
        for w in wanted {
            let share = Share {
                id: ShareId::new(),
                resource_id: id,
                subject: w.subject,
                level: w.level,
                expires_at: w.expires_at,
                created_at: now,
            };
            stored.push(tx.upsert_share(&share).await?);
        }
        if resource.visibility != visibility_before {
            tx.set_visibility(id, resource.visibility, now).await?;
        }
        tx.insert_audit(&AuditEvent::by(actor, "resource.share_add", now).target("resource", id).details(json!({
            "before": shares_json(&before), "after": shares_json(&stored),
            "visibility": { "before": visibility_before.as_str(), "after": resource.visibility.as_str() },
        })))
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Removes one share; 404 when the resource has no share with that id. The visibility stays
    /// (Specific with nobody left is still Specific).
    pub async fn remove_share(&self, actor: &Actor, id: ResourceId, share: ShareId) -> Result<Share> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        tx.lock(LockKey::Shares(id)).await?;
        let v = self.visible(tx.as_mut(), actor, id).await?;
        Self::require_action(&v, Action::Share)?;
        let gone = tx.delete_share(id, share).await?.ok_or(Error::NotFound("Share"))?;
        tx.insert_audit(
            &AuditEvent::by(actor, "resource.share_remove", now)
                .target("resource", id)
                .details(json!({ "share": shares_json(std::slice::from_ref(&gone))[0] })),
        )
        .await?;
        tx.commit().await?;
        Ok(gone)
    }

    /// Sets a data source's visibility (those who may share it). No share is deleted: All
    /// Users makes the specific shares dormant and Specific brings them back. Choosing All
    /// Users without an all-users share adds one at view.
    pub async fn set_visibility(&self, actor: &Actor, id: ResourceId, to: Visibility) -> Result<Resource> {
        let changes = crate::services::resources::ResourceChanges { visibility: Some(to), ..Default::default() };
        self.update_resource(actor, id, changes).await
    }

    /// Moves `resource` to visibility `to` inside the caller's transaction (the caller stores
    /// the resource and writes the audit event); answers whether an all-users share was added.
    pub(crate) async fn change_visibility(
        &self,
        tx: &mut dyn Tx,
        resource: &mut Resource,
        to: Visibility,
        now: OffsetDateTime,
    ) -> Result<bool> {
        if resource.kind != Kind::DataSource {
            return Err(Error::invalid_field("visibility", "not_a_data_source", "Only data sources have a visibility."));
        }
        resource.visibility = to;
        if to != Visibility::AllUsers || tx.shares_of(resource.id).await?.iter().any(|s| s.subject == Subject::AllUsers) {
            return Ok(false);
        }
        let share = Share {
            id: ShareId::new(),
            resource_id: resource.id,
            subject: Subject::AllUsers,
            level: Level::View,
            expires_at: None,
            created_at: now,
        };
        tx.upsert_share(&share).await?;
        Ok(true)
    }

    /// Whether the actor may ask why someone has access to a resource: those who may share
    /// it, and admins.
    pub(crate) fn may_explain(actor: &Actor, v: &Visible) -> bool {
        // Why sharers: they decide who has access, so they may see what gives it.
        actor.can(Capability::CheckAccess) || v.may(Action::Share)
    }

    /// Why `user` may (or may not) act on a resource: every path, for the resource's page.
    pub async fn explain_access(&self, actor: &Actor, id: ResourceId, user: UserId) -> Result<(User, Decision)> {
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let v = self.visible(tx.as_mut(), actor, id).await?;
        if !Self::may_explain(actor, &v) {
            return Err(Error::Forbidden);
        }
        let u = tx.user_by_id(user).await?.filter(|u| u.status != UserStatus::Invited).ok_or(Error::NotFound("User"))?;
        let decision = self.decision(tx.as_mut(), &u, &v.resource, now).await?;
        Ok((u, decision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(subject: Subject, level: Level) -> Share {
        let t = OffsetDateTime::UNIX_EPOCH;
        Share { id: ShareId::new(), resource_id: ResourceId::new(), subject, level, expires_at: None, created_at: t }
    }

    #[test]
    fn etags_follow_the_state_and_if_match_reads_lists() {
        let a = share(Subject::AllUsers, Level::View);
        let b = share(Subject::User(UserId::new()), Level::Edit);
        let one = etag(Visibility::Specific, &[a.clone(), b.clone()]);
        assert_eq!(one, etag(Visibility::Specific, &[b.clone(), a.clone()]), "order does not matter");
        assert_ne!(one, etag(Visibility::AllUsers, &[a.clone(), b.clone()]), "the visibility is part of it");
        assert_ne!(one, etag(Visibility::Specific, &[a.clone(), Share { level: Level::View, ..b.clone() }]));
        assert!(if_match_holds(&format!("\"x\", {one}"), &one) && if_match_holds("*", &one) && !if_match_holds("\"x\"", &one));
        assert_eq!(implied_by_list(std::slice::from_ref(&b)), Visibility::Specific);
        assert_eq!(implied_by_list(&[a, b]), Visibility::AllUsers);
        assert_eq!(implied_by_list(&[]), Visibility::Private);
    }
}
