//! The Activity views: audit events worded as sentences with the names they refer to, the
//! sign-ins chart's daily counts, and a resource's history.

use crate::Keyward;
use crate::context::Actor;
use crate::error::Result;
use crate::model::AuditRecord;
use crate::policy::Capability;
use crate::store::{AuditFilter, Tx};
use crate::types::ResourceId;
use crate::wording::{References, references, sentence};
use time::{Date, Duration, OffsetDateTime};

/// Most events one view lists at once.
const MAX_ROWS: i64 = 200;

/// One event of a view and its sentence.
#[derive(Debug, Clone)]
pub struct ActivityRow {
    /// The event as read, with the actor's email.
    pub record: AuditRecord,
    /// What happened, in words, with the names it refers to resolved.
    pub sentence: String,
}

/// Sign-ins and failed sign-ins of one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInDay {
    /// The UTC day.
    pub day: Date,
    /// Successful sign-ins that day.
    pub sign_ins: i64,
    /// Failed sign-ins that day.
    pub failed: i64,
}

/// Words `records`, resolving every name they refer to in one read.
async fn worded(tx: &mut dyn Tx, records: Vec<AuditRecord>) -> Result<Vec<ActivityRow>> {
    let mut refs = References::default();
    for r in &records {
        references(&r.event, &mut refs);
    }
    let names = tx.audit_names(&refs).await?;
    Ok(records.into_iter().map(|record| ActivityRow { sentence: sentence(&record.event, &names), record }).collect())
}

impl Keyward {
    /// The audit log as sentences, newest first, filtered (admins).
    pub async fn activity(&self, actor: &Actor, mut filter: AuditFilter) -> Result<Vec<ActivityRow>> {
        actor.require(Capability::ReadAudit)?;
        filter.limit = filter.limit.clamp(1, MAX_ROWS);
        let mut tx = self.store.read().await?;
        let records = tx.list_audit(&filter).await?;
        worded(tx.as_mut(), records).await
    }

    /// The user an Activity filter names by email (or id); 400 naming `actor` when there is none
    /// (admins).
    pub async fn audit_actor(&self, actor: &Actor, who: &str) -> Result<crate::types::UserId> {
        actor.require(Capability::ReadAudit)?;
        let who = who.trim();
        let mut tx = self.store.read().await?;
        let found = match crate::types::UserId::parse(who) {
            Ok(id) => tx.user_by_id(id).await?,
            Err(_) => tx.user_by_email(&crate::text::email_key(who)).await?,
        };
        found.map(|u| u.id).ok_or_else(|| crate::Error::invalid_field("actor", "unknown_user", "No user has this email."))
    }

    /// Sign-ins and failed sign-ins per UTC day for the last `days` days, today last; every
    /// day is there, with zeros when nothing happened (admins).
    pub async fn sign_in_chart(&self, actor: &Actor, days: i64) -> Result<Vec<SignInDay>> {
        actor.require(Capability::ReadAudit)?;
        let days = days.clamp(1, 366);
        let today = self.clock.now().to_offset(time::UtcOffset::UTC).date();
        let first = today - Duration::days(days - 1);
        let since = first.midnight().assume_utc();
        let counts = self.store.read().await?.sign_ins_per_day(since).await?;
        let epoch = OffsetDateTime::UNIX_EPOCH.date();
        Ok((0..days)
            .map(|i| {
                let day = first + Duration::days(i);
                let n = (day - epoch).whole_days();
                let (sign_ins, failed) = counts.iter().find(|c| c.0 == n).map_or((0, 0), |c| (c.1, c.2));
                SignInDay { day, sign_ins, failed }
            })
            .collect())
    }

    /// A resource's creation and change history (sharing, credentials and visibility included),
    /// newest first: for admins and for those who may share it (they decide who has access).
    pub async fn resource_history(&self, actor: &Actor, id: ResourceId, limit: i64) -> Result<Vec<ActivityRow>> {
        let mut tx = self.store.read().await?;
        let v = self.visible(tx.as_mut(), actor, id).await?;
        if !actor.can(Capability::ReadAudit) && !v.may(crate::access::Action::Share) {
            return Err(crate::Error::Forbidden);
        }
        let filter = AuditFilter {
            target_type: Some("resource".into()),
            target_id: Some(id.to_string()),
            limit: limit.clamp(1, MAX_ROWS),
            ..AuditFilter::default()
        };
        let records = tx.list_audit(&filter).await?;
        worded(tx.as_mut(), records).await
    }
}
