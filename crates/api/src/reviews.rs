//! Access reviews, their items and the review policy; the security overview.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An access review with the items the caller may see.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessReview {
    pub id: String,
    /// `open` or `completed`.
    pub status: String,
    /// `2026-Q4` for a quarter's scheduled review; null when opened on demand.
    pub period: Option<String>,
    pub opened_at: String,
    /// Null: opened by the schedule.
    pub opened_by: Option<String>,
    pub due_at: String,
    pub overdue: bool,
    pub completed_at: Option<String>,
    pub completed_by: Option<String>,
    /// The id of the audit event that recorded the completion (ties the report to the log).
    pub audit_position: Option<String>,
    /// Items without a decision.
    pub undecided: usize,
    pub items: Vec<AccessReviewItem>,
}

/// One thing to keep or revoke.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessReviewItem {
    pub id: String,
    /// `admin`, `inactive_user`, `team_membership` or `data_source_share`.
    pub kind: String,
    /// The user whose access it is (null for a share to a team or to all users).
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub resource_id: Option<String>,
    /// Who should decide; null: any admin.
    pub reviewer_id: Option<String>,
    /// Null, `keep` or `revoke`.
    pub decision: Option<String>,
    pub note: Option<String>,
    /// For an admin item revoked: the role they keep.
    pub demote_to: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    /// After completion: `kept`, `revoked`, or `skipped: <why>`.
    pub outcome: Option<String>,
    pub context: AccessReviewContext,
}

/// Names and facts as they were when the review opened.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessReviewContext {
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub user_role: Option<String>,
    pub team_name: Option<String>,
    pub resource_name: Option<String>,
    /// For shares: `user`, `team` or `all_users`.
    pub subject: Option<String>,
    pub last_sign_in_at: Option<String>,
    pub last_active_at: Option<String>,
    /// What the access reaches, in words.
    pub reaches: String,
}

/// A decision on one item.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideItemRequest {
    /// `keep` or `revoke`.
    pub decision: String,
    pub note: Option<String>,
    /// Admin items revoked: the role to keep (`developer` by default; not `admin`).
    pub demote_to: Option<String>,
}

/// One decision on many items at once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideItemsRequest {
    pub item_ids: Vec<String>,
    /// `keep` or `revoke`.
    pub decision: String,
    pub note: Option<String>,
    pub demote_to: Option<String>,
}

/// Gives an item to another reviewer; null hands it back to the admins.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignItemRequest {
    pub reviewer_id: Option<String>,
}

/// How access reviews and offboarding run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewPolicy {
    /// Open a review by itself at the start of every quarter.
    pub quarterly: bool,
    /// Days from opening to the due date (1–90).
    pub due_days: u32,
    /// Users not active for this many days are put up for review (7–730).
    pub inactive_days: u32,
    /// At the due date, revoke what is still undecided and complete the review.
    pub revoke_undecided_at_due: bool,
    /// Offboarding: deactivate users inactive for this many days (null: off).
    pub deactivate_inactive_after_days: Option<u32>,
}
