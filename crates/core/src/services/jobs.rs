//! Background jobs: access end dates, offboarding of inactive users, the quarterly access
//! review, reminders, and revoking what was not reviewed by the due date. On several nodes a
//! lease row lets one node at a time run them once per interval; each unit of work is its own
//! transaction, so a node that stops mid-run leaves nothing half done.

use crate::Keyward;
use crate::error::Result;
use crate::mail::{self, ReminderKind};
use crate::model::{AuditEvent, User};
use crate::review::{self, ItemDecision, REMINDER_EVERY, Review, ReviewStatus};
use crate::services::reviews::{By, DecisionRequest};
use crate::services::users::is_lasting_admin;
use crate::store::{LockKey, UserFilter};
use crate::types::{Role, UserId, UserStatus};
use serde_json::json;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// The lease every node competes for.
const JOBS_LEASE: &str = "jobs";
/// When scheduling of quarterly reviews began (the first one opens at the next quarter).
const SCHEDULE_SINCE_KEY: &str = "review_schedule_since";

/// What one run of the jobs did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JobReport {
    /// False when another node holds the lease or the interval has not passed.
    pub ran: bool,
    /// Users deactivated because their access end date passed.
    pub expired: usize,
    /// Users deactivated by the offboarding policy for being inactive.
    pub deactivated_inactive: usize,
    /// The period (`2026-Q4`) of the quarterly review opened, if one was.
    pub opened_review: Option<String>,
    /// Reminder emails sent to reviewers.
    pub reminders: usize,
    /// Overdue reviews completed by revoking their undecided items.
    pub auto_completed: usize,
}

impl Keyward {
    /// Runs every job once if this node (`holder`) wins the lease and the interval has passed.
    pub async fn run_jobs(&self, holder: &str, interval: std::time::Duration) -> Result<JobReport> {
        let now = self.clock.now();
        let every: Duration = Duration::try_from(interval).unwrap_or(Duration::minutes(1));
        // The lease outlives a slow run (five intervals, at least a minute) but not a dead node.
        let hold: Duration = std::cmp::max(every * 5i32, Duration::minutes(1));
        let mut tx = self.store.write().await?;
        let won = tx.take_lease(JOBS_LEASE, holder, now, now + hold).await?;
        tx.commit().await?;
        if !won {
            return Ok(JobReport::default());
        }
        let report = self.jobs_once().await;
        let mut tx = self.store.write().await?;
        tx.release_lease(JOBS_LEASE, holder, self.clock.now(), now + every).await?;
        tx.commit().await?;
        report
    }

    async fn jobs_once(&self) -> Result<JobReport> {
        let mut report = JobReport { ran: true, expired: self.expire_access().await?, ..JobReport::default() };
        report.deactivated_inactive = self.deactivate_inactive().await?;
        report.opened_review = self.open_quarterly_review().await?;
        let (reminders, completed) = self.review_reminders_and_deadlines().await?;
        report.reminders = reminders;
        report.auto_completed = completed;
        // The change log keeps a day (wall-clock time): a node away for longer reloads its index.
        let mut tx = self.store.write().await?;
        tx.prune_authz_changes(OffsetDateTime::now_utc() - Duration::days(1)).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Offboarding: with the policy on, deactivates users inactive for its number of days
    /// (never the last active admin). One transaction, audited per user.
    async fn deactivate_inactive(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let Some(days) = self.review_policy(tx.as_mut()).await?.deactivate_inactive_after_days else { return Ok(0) };
        tx.lock(LockKey::Admins).await?;
        let inactive = tx.inactive_users(now - Duration::days(days.into())).await?;
        let mut done = 0;
        for user in inactive {
            let after = User { status: UserStatus::Deactivated, updated_at: now, ..user.clone() };
            if is_lasting_admin(&user) && tx.count_lasting_admins(Some(user.id)).await? == 0 {
                tracing::warn!(user = %user.id, "not deactivating the last active admin for inactivity");
                continue;
            }
            let (sessions, tokens, links) = self.end_access(tx.as_mut(), &after).await?;
            let last = user.last_active_at.map(crate::model::rfc3339);
            tx.insert_audit(&AuditEvent::system("user.deactivate_inactive", now).target("user", user.id).details(json!({
                "inactive_days": days, "last_active_at": last, "sessions_ended": sessions, "tokens_revoked": tokens, "links_voided": links,
            })))
            .await?;
            done += 1;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Opens this quarter's review if the schedule owes one; the period's unique key means two
    /// nodes can never both open it.
    async fn open_quarterly_review(&self) -> Result<Option<String>> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let policy = self.review_policy(tx.as_mut()).await?;
        let since = match tx.setting(SCHEDULE_SINCE_KEY).await?.and_then(|s| s.parse::<i64>().ok()) {
            Some(s) => OffsetDateTime::from_unix_timestamp(s).unwrap_or(now),
            None => {
                tx.put_setting(SCHEDULE_SINCE_KEY, &now.unix_timestamp().to_string(), now).await?;
                now
            }
        };
        tx.commit().await?;
        let Some(period) = review::quarter_due(since, now).filter(|_| policy.quarterly) else { return Ok(None) };
        let mut tx = self.store.read().await?;
        let exists = tx.list_reviews(false, 50).await?.iter().any(|r| r.period.as_deref() == Some(&period));
        drop(tx);
        if exists {
            return Ok(None);
        }
        match self.open_review_as(By::System, Some(period.clone())).await {
            Ok(view) => {
                self.remind(&view.review, ReminderKind::Opened).await?;
                tracing::info!(period, items = view.items.len(), "opened the quarterly access review");
                Ok(Some(period))
            }
            // Another node opened it first.
            Err(crate::Error::Conflict { code: "review_exists", .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Weekly and overdue reminders, and, with the policy on, revoking what is undecided at
    /// the due date (then completing the review).
    async fn review_reminders_and_deadlines(&self) -> Result<(usize, usize)> {
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let policy = self.review_policy(tx.as_mut()).await?;
        let open = tx.list_reviews(true, 200).await?;
        drop(tx);
        let (mut sent, mut completed) = (0, 0);
        for mut r in open {
            if r.overdue(now) && policy.revoke_undecided_at_due {
                self.revoke_undecided(&r).await?;
                self.complete_review_as(By::System, r.id).await?;
                completed += 1;
                continue;
            }
            let kind = if r.overdue(now) && r.overdue_notified_at.is_none() {
                r.overdue_notified_at = Some(now);
                ReminderKind::Overdue
            } else if r.reminded_at.is_none_or(|t| now - t >= REMINDER_EVERY) && !r.overdue(now) {
                ReminderKind::Weekly
            } else {
                continue;
            };
            r.reminded_at = Some(now);
            let mut tx = self.store.write().await?;
            tx.update_review(&r).await?;
            tx.commit().await?;
            sent += self.remind(&r, kind).await?;
        }
        Ok((sent, completed))
    }

    /// Marks every undecided item of `r` revoked by the schedule.
    async fn revoke_undecided(&self, r: &Review) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let req = DecisionRequest { decision: ItemDecision::Revoke, note: Some("Not reviewed by the due date.".into()), demote_to: None };
        let mut n = 0;
        for mut item in tx.review_items(r.id).await?.into_iter().filter(|i| i.decision.is_none()) {
            item.decision = Some(req.decision);
            item.note = req.note.clone();
            item.demote_to = (item.kind == review::ItemKind::Admin).then_some(Role::Developer);
            item.decided_at = Some(now);
            tx.update_review_item(&item).await?;
            n += 1;
        }
        tx.insert_audit(
            &AuditEvent::system("access_review.revoke_undecided", now).target("access_review", r.id).details(json!({ "items": n })),
        )
        .await?;
        tx.commit().await
    }

    /// Emails each reviewer with undecided items of `r` (items without a named reviewer go to
    /// every active admin); answers how many messages went out. Mail failures are logged.
    pub(crate) async fn remind(&self, r: &Review, kind: ReminderKind) -> Result<usize> {
        if r.status != ReviewStatus::Open {
            return Ok(0);
        }
        let mut tx = self.store.read().await?;
        let items = tx.review_items(r.id).await?;
        let admins = tx
            .list_users(&UserFilter { role: Some(Role::Admin), status: Some(UserStatus::Active), limit: 1000, ..UserFilter::default() })
            .await?;
        let mut open: BTreeMap<UserId, usize> = BTreeMap::new();
        for item in items.iter().filter(|i| i.decision.is_none()) {
            match item.reviewer_id {
                Some(reviewer) => *open.entry(reviewer).or_default() += 1,
                None => admins.iter().for_each(|a| *open.entry(a.id).or_default() += 1),
            }
        }
        let mut sent = 0;
        let link = format!("{}/settings/access-reviews/{}", self.settings.public_url, r.id);
        for (reviewer, count) in open {
            let Some(user) = tx.user_by_id(reviewer).await?.filter(|u| u.status == UserStatus::Active) else { continue };
            let msg = mail::review_reminder(&self.settings.platform_name, &user.email, &user.full_name, kind, count, r.due_at, &link);
            match self.mailer.send(&msg).await {
                Ok(()) => sent += 1,
                Err(e) => tracing::error!(error = %e, to = %user.email, "could not send an access review reminder"),
            }
        }
        Ok(sent)
    }
}
