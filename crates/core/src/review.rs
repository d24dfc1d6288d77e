//! Access reviews (DESIGN.md §6): the records, the review policy an admin sets, and the pure
//! rules — which quarter a moment falls in, who reviews which item, what a revoke does.

use crate::error::{Error, Result};
use crate::types::{ResourceId, Role, TeamId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::{Duration, Month, OffsetDateTime};

/// A review's id.
pub type ReviewId = uuid::Uuid;
/// A review item's id.
pub type ItemId = uuid::Uuid;

/// What an item puts up for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A user holding the admin role; revoke demotes them.
    Admin,
    /// An active user who has not been active for longer than the threshold; revoke deactivates.
    InactiveUser,
    /// A user's membership of a team; revoke removes it.
    TeamMembership,
    /// A share giving edit on a data source; revoke removes the share.
    DataSourceShare,
}

impl ItemKind {
    /// Every kind, in the order a review lists them.
    pub const ALL: [ItemKind; 4] = [ItemKind::Admin, ItemKind::InactiveUser, ItemKind::TeamMembership, ItemKind::DataSourceShare];

    /// The stable name used by the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Admin => "admin",
            ItemKind::InactiveUser => "inactive_user",
            ItemKind::TeamMembership => "team_membership",
            ItemKind::DataSourceShare => "data_source_share",
        }
    }

    /// How the pages name the kind.
    pub fn label(self) -> &'static str {
        match self {
            ItemKind::Admin => "Admin privileges",
            ItemKind::InactiveUser => "Inactive user",
            ItemKind::TeamMembership => "Team membership",
            ItemKind::DataSourceShare => "Edit on a data source",
        }
    }

    /// What revoking the item does, in words.
    pub fn revoke_means(self) -> &'static str {
        match self {
            ItemKind::Admin => "demote to another role",
            ItemKind::InactiveUser => "deactivate the user",
            ItemKind::TeamMembership => "remove from the team",
            ItemKind::DataSourceShare => "remove the share",
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ItemKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ItemKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            Error::invalid_field(
                "kind",
                "invalid_item_kind",
                "The kind must be admin, inactive_user, team_membership or data_source_share.",
            )
        })
    }
}

/// A reviewer's decision on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemDecision {
    /// The access stays.
    Keep,
    /// The access goes when the review is completed (what that means depends on the item's kind).
    Revoke,
}

impl ItemDecision {
    /// The decision's text (`keep`, `revoke`), as the API and the store use it.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemDecision::Keep => "keep",
            ItemDecision::Revoke => "revoke",
        }
    }
}

impl FromStr for ItemDecision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "keep" => Ok(ItemDecision::Keep),
            "revoke" => Ok(ItemDecision::Revoke),
            _ => Err(Error::invalid_field("decision", "invalid_decision", "The decision must be keep or revoke.")),
        }
    }
}

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStatus {
    /// Items may still be decided.
    Open,
    /// Every item decided and applied; the review is closed.
    Completed,
}

impl ReviewStatus {
    /// The status's text (`open`, `completed`), as the API and the store use it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Open => "open",
            ReviewStatus::Completed => "completed",
        }
    }
}

impl FromStr for ReviewStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "open" => Ok(ReviewStatus::Open),
            "completed" => Ok(ReviewStatus::Completed),
            _ => Err(Error::invalid_field("status", "invalid_review_status", "The status must be open or completed.")),
        }
    }
}

/// One access review.
#[derive(Debug, Clone)]
pub struct Review {
    /// The review's id.
    pub id: ReviewId,
    /// `2026-Q4` for the quarter's scheduled review (at most one each); `None` when opened on demand.
    pub period: Option<String>,
    /// Open or completed.
    pub status: ReviewStatus,
    /// When it was opened (its items were gathered then).
    pub opened_at: OffsetDateTime,
    /// `None`: opened by the schedule.
    pub opened_by: Option<UserId>,
    /// When it is due; open past this, it is overdue.
    pub due_at: OffsetDateTime,
    /// When it was completed.
    pub completed_at: Option<OffsetDateTime>,
    /// The admin who completed it; `None` when Keyward did (revoking undecided items at the due date).
    pub completed_by: Option<UserId>,
    /// The audit event that recorded the completion: ties the report to the log.
    pub audit_position: Option<String>,
    /// When reviewers were last reminded (the opening message counts).
    pub reminded_at: Option<OffsetDateTime>,
    /// When reviewers were told the review is overdue.
    pub overdue_notified_at: Option<OffsetDateTime>,
}

impl Review {
    /// Open past its due date.
    pub fn overdue(&self, now: OffsetDateTime) -> bool {
        self.status == ReviewStatus::Open && now >= self.due_at
    }
}

/// What a reviewer sees of an item: names and facts as they were when the review opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemContext {
    /// The user's full name.
    pub user_name: Option<String>,
    /// The user's email.
    pub user_email: Option<String>,
    /// The user's role, as the UI names it.
    pub user_role: Option<String>,
    /// The team's name (memberships and team shares).
    pub team_name: Option<String>,
    /// The resource's name (shares).
    pub resource_name: Option<String>,
    /// For shares: `user`, `team` or `all_users`.
    pub subject: Option<String>,
    /// When the user last signed in successfully.
    pub last_sign_in_at: Option<String>,
    /// When the user was last active (any request).
    pub last_active_at: Option<String>,
    /// What the access reaches, in words ("Full access to every resource and setting").
    pub reaches: String,
}

/// One thing to keep or revoke.
#[derive(Debug, Clone)]
pub struct ReviewItem {
    /// The item's id.
    pub id: ItemId,
    /// The review it belongs to.
    pub review_id: ReviewId,
    /// What the item puts up for review.
    pub kind: ItemKind,
    /// The user whose access it is (for a share to a team or to all users: none).
    pub user_id: Option<UserId>,
    /// The team of a membership, or of a share to a team.
    pub team_id: Option<TeamId>,
    /// The data source of a share.
    pub resource_id: Option<ResourceId>,
    /// Who should decide; `None`: any admin.
    pub reviewer_id: Option<UserId>,
    /// Names and facts as they were when the review opened.
    pub context: ItemContext,
    /// Keep or revoke; `None` until decided.
    pub decision: Option<ItemDecision>,
    /// The reviewer's note on the decision.
    pub note: Option<String>,
    /// For an admin item revoked: the role they keep.
    pub demote_to: Option<Role>,
    /// Who decided.
    pub decided_by: Option<UserId>,
    /// When it was decided.
    pub decided_at: Option<OffsetDateTime>,
    /// What completing did: `applied`, or why it could not (`skipped: …`).
    pub outcome: Option<String>,
    /// When completing the review carried the decision out (kept items too).
    pub applied_at: Option<OffsetDateTime>,
}

/// The settings key under which the review policy is stored.
pub const REVIEW_POLICY_KEY: &str = "review_policy";

/// How access reviews and offboarding run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewPolicy {
    /// Open a review by itself at the start of every quarter.
    #[serde(default = "yes")]
    pub quarterly: bool,
    /// Days from opening to the due date.
    #[serde(default = "due_days")]
    pub due_days: u32,
    /// A user not active for this many days is put up for review (and, with the offboarding
    /// policy, counted as inactive).
    #[serde(default = "inactive_days")]
    pub inactive_days: u32,
    /// At the due date, revoke every item still undecided and complete the review.
    #[serde(default)]
    pub revoke_undecided_at_due: bool,
    /// Offboarding: deactivate users inactive for this many days (off when `None`).
    #[serde(default)]
    pub deactivate_inactive_after_days: Option<u32>,
}

fn yes() -> bool {
    true
}
fn due_days() -> u32 {
    14
}
fn inactive_days() -> u32 {
    90
}

impl Default for ReviewPolicy {
    fn default() -> Self {
        ReviewPolicy {
            quarterly: true,
            due_days: 14,
            inactive_days: 90,
            revoke_undecided_at_due: false,
            deactivate_inactive_after_days: None,
        }
    }
}

impl ReviewPolicy {
    /// Checks the values a person chose.
    pub fn validate(&self) -> Result<()> {
        if !(1..=90).contains(&self.due_days) {
            return Err(Error::invalid_field("due_days", "invalid_review_policy", "The review period must be 1 to 90 days."));
        }
        if !(7..=730).contains(&self.inactive_days) {
            return Err(Error::invalid_field("inactive_days", "invalid_review_policy", "The inactivity threshold must be 7 to 730 days."));
        }
        if self.deactivate_inactive_after_days.is_some_and(|d| !(7..=730).contains(&d)) {
            return Err(Error::invalid_field(
                "deactivate_inactive_after_days",
                "invalid_review_policy",
                "Deactivating inactive users must wait 7 to 730 days.",
            ));
        }
        Ok(())
    }
}

/// The quarter `t` falls in, as `2026-Q4`, and when that quarter started.
pub fn quarter_of(t: OffsetDateTime) -> (String, OffsetDateTime) {
    let t = t.to_offset(time::UtcOffset::UTC);
    let q = (u8::from(t.month()) - 1) / 3;
    let month = Month::try_from(q * 3 + 1).unwrap_or(Month::January);
    let start = time::Date::from_calendar_date(t.year(), month, 1).map(|d| d.midnight().assume_utc()).unwrap_or(t);
    (format!("{}-Q{}", t.year(), q + 1), start)
}

/// Whether the schedule owes a review for the quarter of `now`: the quarter began after Keyward
/// started scheduling (`since`), so an installation's first review opens at the next quarter
/// rather than the moment it is installed.
pub fn quarter_due(since: OffsetDateTime, now: OffsetDateTime) -> Option<String> {
    let (period, start) = quarter_of(now);
    (since <= start).then_some(period)
}

/// How often reviewers with open items are reminded while a review is open.
pub const REMINDER_EVERY: Duration = Duration::days(7);

/// Whether a note is acceptable: at most 1000 characters, no control characters but newlines.
pub fn parse_note(note: Option<&str>) -> Result<Option<String>> {
    let sent = note.map_or(0, |n| n.chars().count());
    let Some(n) = note.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(None) };
    if sent > 1000 || n.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(Error::invalid_field("note", "invalid_note", "A note must be at most 1000 characters of text."));
    }
    Ok(Some(n.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn quarters() {
        assert_eq!(quarter_of(datetime!(2026-11-29 15:00 UTC)), ("2026-Q4".into(), datetime!(2026-10-01 0:00 UTC)));
        assert_eq!(quarter_of(datetime!(2026-01-01 0:00 UTC)), ("2026-Q1".into(), datetime!(2026-01-01 0:00 UTC)));
        assert_eq!(quarter_of(datetime!(2026-06-30 23:59 UTC)).0, "2026-Q2");
        assert_eq!(quarter_of(datetime!(2026-07-01 0:00 UTC)).0, "2026-Q3");
    }

    #[test]
    fn the_first_review_waits_for_the_next_quarter() {
        let installed = datetime!(2026-11-29 15:00 UTC);
        assert_eq!(quarter_due(installed, datetime!(2026-12-31 0:00 UTC)), None);
        assert_eq!(quarter_due(installed, datetime!(2027-01-01 0:00 UTC)), Some("2027-Q1".into()));
        assert_eq!(quarter_due(installed, datetime!(2027-02-15 0:00 UTC)), Some("2027-Q1".into()));
    }

    #[test]
    fn policy_limits() {
        assert!(ReviewPolicy::default().validate().is_ok());
        assert!(ReviewPolicy { due_days: 0, ..Default::default() }.validate().is_err());
        assert!(ReviewPolicy { inactive_days: 3, ..Default::default() }.validate().is_err());
        assert!(ReviewPolicy { deactivate_inactive_after_days: Some(1), ..Default::default() }.validate().is_err());
        let from_empty: ReviewPolicy = serde_json::from_str("{}").unwrap();
        assert_eq!(from_empty, ReviewPolicy::default());
    }

    #[test]
    fn notes() {
        assert_eq!(parse_note(Some("  ")).unwrap(), None);
        assert_eq!(parse_note(Some(" left in May ")).unwrap().as_deref(), Some("left in May"));
        assert!(parse_note(Some("a\u{0}b")).is_err());
        assert!(parse_note(Some(&"x".repeat(1001))).is_err());
    }
}
