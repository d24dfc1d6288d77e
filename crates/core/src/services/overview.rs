//! The security overview on the admins' Settings landing page: what needs attention now, each
//! with where it is fixed; and the departures of the coming days.

use crate::Keyward;
use crate::context::Actor;
use crate::error::Result;
use crate::model::User;
use crate::policy::Capability;
use crate::review::Review;
use crate::store::UserFilter;
use crate::types::{Role, UserStatus};
use time::Duration;

/// How far ahead the departures view looks.
pub const DEPARTURES_AHEAD: Duration = Duration::days(7);

/// What needs an admin's attention.
#[derive(Debug, Clone)]
pub struct SecurityOverview {
    /// Active admins who have not turned MFA on.
    pub admins_without_mfa: Vec<User>,
    /// Open access reviews (due or overdue).
    pub open_reviews: Vec<Review>,
    /// Active users whose access end date has passed (the job deactivates them shortly).
    pub past_end_date: Vec<User>,
    /// Active users not active for longer than the review policy's threshold.
    pub inactive: Vec<User>,
    /// That threshold, in days.
    pub inactive_days: u32,
    /// Failed sign-ins in the last 24 hours.
    pub failed_sign_ins_24h: i64,
    /// Active users whose access ends in the next seven days.
    pub departures: Vec<User>,
}

impl Keyward {
    /// The security overview (admins).
    pub async fn security_overview(&self, actor: &Actor) -> Result<SecurityOverview> {
        actor.require(Capability::ReadAudit)?;
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let policy = self.review_policy(tx.as_mut()).await?;
        let admins = tx
            .list_users(&UserFilter { role: Some(Role::Admin), status: Some(UserStatus::Active), limit: 1000, ..UserFilter::default() })
            .await?;
        let open_reviews = tx.list_reviews(true, 50).await?;
        let inactive = tx.inactive_users(now - Duration::days(policy.inactive_days.into())).await?;
        Ok(SecurityOverview {
            admins_without_mfa: admins.into_iter().filter(|a| !a.mfa_enabled).collect(),
            open_reviews,
            past_end_date: tx.users_past_access_end(now).await?,
            inactive,
            inactive_days: policy.inactive_days,
            failed_sign_ins_24h: tx.count_failed_sign_ins(now - Duration::hours(24)).await?,
            departures: tx.departures(now, now + DEPARTURES_AHEAD).await?,
        })
    }

    /// Active users whose access ends in the next seven days, soonest first (admins).
    pub async fn departures(&self, actor: &Actor) -> Result<Vec<User>> {
        actor.require(Capability::ManageUsers)?;
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        tx.departures(now, now + DEPARTURES_AHEAD).await
    }
}
