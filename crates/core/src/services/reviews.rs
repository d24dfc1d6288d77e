//! Access reviews: opening one (on demand or by the schedule), deciding keep or revoke per
//! item, reassigning items, and completing — which applies each revoke in its own transaction.

use crate::Keyward;
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, User};
use crate::policy::Capability;
use crate::review::{self, ItemDecision, ItemId, ItemKind, REVIEW_POLICY_KEY, Review, ReviewId, ReviewItem, ReviewPolicy, ReviewStatus};
use crate::store::Tx;
use crate::types::{Role, UserId, UserStatus};
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// A review with the items the viewer may see.
#[derive(Debug, Clone)]
pub struct ReviewView {
    /// The review.
    pub review: Review,
    /// Its items that the viewer may see (all of them for an admin, their own for a reviewer).
    pub items: Vec<ReviewItem>,
    /// Whether the viewer is an admin (sees every item, may reassign and complete).
    pub admin: bool,
    /// Who is looking.
    pub viewer: UserId,
    /// Another lasting admin exists besides the viewer (then nobody decides on their own access).
    pub another_admin: bool,
}

impl ReviewView {
    /// Whether the viewer may decide `item` now: the review is open, the item is theirs (or
    /// they are an admin), and it is not about their own access while someone else could decide.
    pub fn may_decide(&self, item: &ReviewItem) -> bool {
        self.review.status == ReviewStatus::Open
            && item.applied_at.is_none()
            && (self.admin || item.reviewer_id == Some(self.viewer))
            && !(item.user_id == Some(self.viewer) && self.another_admin)
    }

    /// Items still without a decision.
    pub fn undecided(&self) -> usize {
        self.items.iter().filter(|i| i.decision.is_none()).count()
    }
}

/// One decision as a reviewer gives it.
#[derive(Debug, Clone)]
pub struct DecisionRequest {
    /// Keep or revoke.
    pub decision: ItemDecision,
    /// Why, in the reviewer's words (at most 1000 characters).
    pub note: Option<String>,
    /// For an admin item revoked: the role they keep (default developer).
    pub demote_to: Option<Role>,
}

/// Who acts on a review: a person, or the schedule (Keyward itself).
pub(crate) enum By<'a> {
    Person(&'a Actor),
    System,
}

impl By<'_> {
    pub(crate) fn event(&self, action: &str, at: OffsetDateTime) -> AuditEvent {
        match self {
            By::Person(a) => AuditEvent::by(a, action, at),
            By::System => AuditEvent::system(action, at),
        }
    }
    pub(crate) fn user(&self) -> Option<UserId> {
        match self {
            By::Person(a) => Some(a.user.id),
            By::System => None,
        }
    }
}

impl Keyward {
    /// The review policy in force (the defaults until an admin saves one).
    pub(crate) async fn review_policy(&self, tx: &mut dyn Tx) -> Result<ReviewPolicy> {
        match tx.setting(REVIEW_POLICY_KEY).await? {
            Some(json) => serde_json::from_str(&json).map_err(Error::internal),
            None => Ok(ReviewPolicy::default()),
        }
    }

    /// The review and offboarding policy (admins).
    pub async fn get_review_policy(&self, actor: &Actor) -> Result<ReviewPolicy> {
        actor.require(Capability::ReadAudit)?;
        let mut tx = self.store.read().await?;
        self.review_policy(tx.as_mut()).await
    }

    /// Saves the review and offboarding policy (admins), audited with what changed.
    pub async fn put_review_policy(&self, actor: &Actor, policy: ReviewPolicy) -> Result<ReviewPolicy> {
        actor.require(Capability::ManagePolicies)?;
        policy.validate()?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let before = self.review_policy(tx.as_mut()).await?;
        if before == policy {
            return Ok(policy);
        }
        tx.put_setting(REVIEW_POLICY_KEY, &serde_json::to_string(&policy).map_err(Error::internal)?, now).await?;
        tx.insert_audit(&AuditEvent::by(actor, "policy.reviews_update", now).details(json!({ "before": before, "after": policy }))).await?;
        tx.commit().await?;
        Ok(policy)
    }

    /// Opens a review now (admins), with its items; reviewers are told by email.
    pub async fn open_review(&self, actor: &Actor) -> Result<ReviewView> {
        actor.require(Capability::ReadAudit)?;
        let view = self.open_review_as(By::Person(actor), None).await?;
        self.remind(&view.review, crate::mail::ReminderKind::Opened).await?;
        Ok(view)
    }

    /// Opens a review in one transaction: the review, every item, the audit event.
    pub(crate) async fn open_review_as(&self, by: By<'_>, period: Option<String>) -> Result<ReviewView> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let policy = self.review_policy(tx.as_mut()).await?;
        let review = Review {
            id: uuid::Uuid::now_v7(),
            period,
            status: ReviewStatus::Open,
            opened_at: now,
            opened_by: by.user(),
            due_at: now + Duration::days(policy.due_days.into()),
            completed_at: None,
            completed_by: None,
            audit_position: None,
            reminded_at: Some(now),
            overdue_notified_at: None,
        };
        tx.insert_review(&review).await?;
        let facts = tx.review_facts(now).await?;
        let items = crate::review_items::build_items(&facts, &policy, review.id, now);
        for (position, item) in items.iter().enumerate() {
            tx.insert_review_item(item, position as i64).await?;
        }
        let count = |k: ItemKind| items.iter().filter(|i| i.kind == k).count();
        tx.insert_audit(&by.event("access_review.open", now).target("access_review", review.id).details(json!({
            "period": review.period,
            "due_at": crate::model::rfc3339(review.due_at),
            "items": items.len(),
            "admins": count(ItemKind::Admin),
            "inactive_users": count(ItemKind::InactiveUser),
            "team_memberships": count(ItemKind::TeamMembership),
            "data_source_shares": count(ItemKind::DataSourceShare),
        })))
        .await?;
        tx.commit().await?;
        Ok(ReviewView { review, items, admin: true, viewer: by.user().unwrap_or_default(), another_admin: true })
    }

    /// Reviews newest first: every review for admins; for others, the open reviews holding
    /// items assigned to them.
    pub async fn list_reviews(&self, actor: &Actor) -> Result<Vec<ReviewView>> {
        let admin = actor.can(Capability::ReadAudit);
        let mut tx = self.store.read().await?;
        let reviews = tx.list_reviews(!admin, 200).await?;
        let mut out = Vec::with_capacity(reviews.len());
        for review in reviews {
            let mut items = tx.review_items(review.id).await?;
            if !admin {
                items.retain(|i| i.reviewer_id == Some(actor.user.id));
                if items.is_empty() {
                    continue;
                }
            }
            out.push(ReviewView { review, items, admin, viewer: actor.user.id, another_admin: true });
        }
        Ok(out)
    }

    /// One review: every item for admins, the items assigned to a reviewer for them, 404 else.
    pub async fn get_review(&self, actor: &Actor, id: ReviewId) -> Result<ReviewView> {
        let mut tx = self.store.read().await?;
        self.review_view(tx.as_mut(), actor, id).await
    }

    async fn review_view(&self, tx: &mut dyn Tx, actor: &Actor, id: ReviewId) -> Result<ReviewView> {
        let admin = actor.can(Capability::ReadAudit);
        let review = tx.review_by_id(id).await?.ok_or(Error::NotFound("Access review"))?;
        let mut items = tx.review_items(id).await?;
        if !admin {
            items.retain(|i| i.reviewer_id == Some(actor.user.id));
            // Why 404: a reviewer learns nothing of reviews that hold nothing for them.
            if items.is_empty() || review.status != ReviewStatus::Open {
                return Err(Error::NotFound("Access review"));
            }
        }
        let another_admin = tx.count_lasting_admins(Some(actor.user.id)).await? > 0;
        Ok(ReviewView { review, items, admin, viewer: actor.user.id, another_admin })
    }

    /// Decides keep or revoke on items of an open review (the assigned reviewer, or an admin);
    /// nobody decides on their own access while another admin could.
    pub async fn decide_items(&self, actor: &Actor, review: ReviewId, items: &[ItemId], req: &DecisionRequest) -> Result<Vec<ReviewItem>> {
        if items.is_empty() || items.len() > 10_000 {
            return Err(Error::invalid_field("item_ids", "invalid_items", "Choose 1 to 10,000 items."));
        }
        let note = review::parse_note(req.note.as_deref())?;
        if req.demote_to == Some(Role::Admin) {
            return Err(Error::invalid_field("demote_to", "invalid_demote_to", "Demoting keeps a role other than admin."));
        }
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let view = self.review_view(tx.as_mut(), actor, review).await?;
        if view.review.status != ReviewStatus::Open {
            return Err(Error::conflict("review_completed", "This access review is completed; its decisions can no longer change."));
        }
        let mut decided = Vec::with_capacity(items.len());
        for id in items {
            let mut item = view.items.iter().find(|i| i.id == *id).cloned().ok_or(Error::NotFound("Review item"))?;
            if !view.may_decide(&item) {
                return Err(if item.user_id == Some(actor.user.id) {
                    Error::conflict("self_review", "You cannot decide on your own access; another reviewer must.")
                } else {
                    Error::NotFound("Review item")
                });
            }
            item.decision = Some(req.decision);
            item.note = note.clone();
            item.demote_to =
                (item.kind == ItemKind::Admin && req.decision == ItemDecision::Revoke).then(|| req.demote_to.unwrap_or(Role::Developer));
            item.decided_by = Some(actor.user.id);
            item.decided_at = Some(now);
            tx.update_review_item(&item).await?;
            decided.push(item);
        }
        tx.insert_audit(&AuditEvent::by(actor, "access_review.decide", now).target("access_review", review).details(json!({
            "decision": req.decision.as_str(),
            "items": decided.iter().map(|i| json!({ "id": i.id.to_string(), "kind": i.kind.as_str(), "user_id": i.user_id.map(|u| u.to_string()) })).collect::<Vec<_>>(),
            "note": note,
            "demote_to": decided.iter().find_map(|i| i.demote_to).map(Role::as_str),
        })))
        .await?;
        tx.commit().await?;
        Ok(decided)
    }

    /// Gives an item to another reviewer (admins); `None` hands it back to the admins.
    pub async fn reassign_item(&self, actor: &Actor, review: ReviewId, item: ItemId, reviewer: Option<UserId>) -> Result<ReviewItem> {
        actor.require(Capability::ReadAudit)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let view = self.review_view(tx.as_mut(), actor, review).await?;
        if view.review.status != ReviewStatus::Open {
            return Err(Error::conflict("review_completed", "This access review is completed; its items can no longer change."));
        }
        let mut found = view.items.into_iter().find(|i| i.id == item).ok_or(Error::NotFound("Review item"))?;
        if let Some(r) = reviewer {
            let user = tx.user_by_id(r).await?.filter(|u| u.status == UserStatus::Active);
            if user.is_none() {
                return Err(Error::invalid_field("reviewer_id", "unknown_reviewer", "The reviewer must be an active user."));
            }
        }
        let before = found.reviewer_id;
        found.reviewer_id = reviewer;
        tx.update_review_item(&found).await?;
        tx.insert_audit(&AuditEvent::by(actor, "access_review.reassign", now).target("access_review", review).details(json!({
            "item_id": item.to_string(),
            "before": before.map(|u| u.to_string()),
            "after": reviewer.map(|u| u.to_string()),
        })))
        .await?;
        tx.commit().await?;
        Ok(found)
    }

    /// The people an admin may hand items to: active admins and active team leads.
    pub async fn reviewer_candidates(&self, actor: &Actor) -> Result<Vec<User>> {
        actor.require(Capability::ReadAudit)?;
        let mut tx = self.store.read().await?;
        let filter =
            crate::store::UserFilter { role: Some(Role::Admin), status: Some(UserStatus::Active), limit: 1000, ..Default::default() };
        let mut people = tx.list_users(&filter).await?;
        for team in tx.list_teams().await? {
            if let Some(lead) = team.lead_id.filter(|l| !people.iter().any(|p| p.id == *l))
                && let Some(u) = tx.user_by_id(lead).await?.filter(|u| u.status == UserStatus::Active)
            {
                people.push(u);
            }
        }
        people.sort_by_key(|p| p.full_name.to_lowercase());
        Ok(people)
    }

    /// Completes a review (admins): every item must be decided; each revoke is applied in its
    /// own transaction with its audit event, then the review is closed.
    pub async fn complete_review(&self, actor: &Actor, id: ReviewId) -> Result<ReviewView> {
        actor.require(Capability::ReadAudit)?;
        self.complete_review_as(By::Person(actor), id).await
    }

    pub(crate) async fn complete_review_as(&self, by: By<'_>, id: ReviewId) -> Result<ReviewView> {
        let mut tx = self.store.read().await?;
        let review = tx.review_by_id(id).await?.ok_or(Error::NotFound("Access review"))?;
        let items = tx.review_items(id).await?;
        drop(tx);
        if review.status != ReviewStatus::Open {
            return Err(Error::conflict("review_completed", "This access review is already completed."));
        }
        let undecided = items.iter().filter(|i| i.decision.is_none()).count();
        if undecided > 0 {
            return Err(Error::conflict(
                "review_incomplete",
                format!("{undecided} item(s) still need a decision (keep or revoke) before the review can be completed."),
            ));
        }
        // A node that stops half-way leaves applied items marked; completing again goes on
        // with the rest, so no revoke is lost or applied twice.
        for item in items.iter().filter(|i| i.decision == Some(ItemDecision::Revoke) && i.applied_at.is_none()) {
            self.apply_revoke(&by, &review, item.clone()).await?;
        }
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let mut review = tx.review_by_id(id).await?.ok_or(Error::NotFound("Access review"))?;
        if review.status != ReviewStatus::Open {
            return Err(Error::conflict("review_completed", "This access review is already completed."));
        }
        let mut items = tx.review_items(id).await?;
        for item in items.iter_mut().filter(|i| i.decision == Some(ItemDecision::Keep) && i.outcome.is_none()) {
            item.outcome = Some("kept".into());
            item.applied_at = Some(now);
            tx.update_review_item(item).await?;
        }
        let event = by.event("access_review.complete", now).target("access_review", id).details(json!({
            "items": items.len(),
            "kept": items.iter().filter(|i| i.decision == Some(ItemDecision::Keep)).count(),
            "revoked": items.iter().filter(|i| i.outcome.as_deref() == Some("revoked")).count(),
            "skipped": items.iter().filter(|i| i.outcome.as_deref().is_some_and(|o| o.starts_with("skipped"))).count(),
        }));
        review.status = ReviewStatus::Completed;
        review.completed_at = Some(now);
        review.completed_by = by.user();
        review.audit_position = Some(event.id.to_string());
        tx.update_review(&review).await?;
        tx.insert_audit(&event).await?;
        tx.commit().await?;
        Ok(ReviewView { review, items, admin: true, viewer: by.user().unwrap_or_default(), another_admin: true })
    }
}
