//! The `access_reviews` and `access_review_items` tables, and the facts a new review is built
//! from.

use crate::convert::{get, get_opt_time, get_opt_uuid, get_time, get_uuid, ms, opt_ms};
use crate::tx::SqlTx;
use crate::{db_err, shares, users};
use async_trait::async_trait;
use keyward_core::review::{ItemContext, Review, ReviewId, ReviewItem};
use keyward_core::store::ReviewFacts;
use keyward_core::store::{ReviewStore, TeamStore};
use keyward_core::types::{ResourceId, Role, TeamId, UserId};
use keyward_core::{Error, Result};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use std::collections::HashMap;
use time::OffsetDateTime;

const REVIEW_COLUMNS: &str =
    "id, period, status, opened_at, opened_by, due_at, completed_at, completed_by, audit_position, reminded_at, overdue_notified_at";
const ITEM_COLUMNS: &str = "id, review_id, kind, user_id, team_id, resource_id, reviewer_id, context, decision, note, demote_to, \
     decided_by, decided_at, outcome, applied_at";

fn review_from_row(row: &AnyRow) -> Result<Review> {
    Ok(Review {
        id: get_uuid(row, "id")?,
        period: get(row, "period")?,
        status: get::<String>(row, "status")?.parse()?,
        opened_at: get_time(row, "opened_at")?,
        opened_by: get_opt_uuid(row, "opened_by")?.map(UserId),
        due_at: get_time(row, "due_at")?,
        completed_at: get_opt_time(row, "completed_at")?,
        completed_by: get_opt_uuid(row, "completed_by")?.map(UserId),
        audit_position: get(row, "audit_position")?,
        reminded_at: get_opt_time(row, "reminded_at")?,
        overdue_notified_at: get_opt_time(row, "overdue_notified_at")?,
    })
}

fn item_from_row(row: &AnyRow) -> Result<ReviewItem> {
    let context: String = get(row, "context")?;
    Ok(ReviewItem {
        id: get_uuid(row, "id")?,
        review_id: get_uuid(row, "review_id")?,
        kind: get::<String>(row, "kind")?.parse()?,
        user_id: get_opt_uuid(row, "user_id")?.map(UserId),
        team_id: get_opt_uuid(row, "team_id")?.map(TeamId),
        resource_id: get_opt_uuid(row, "resource_id")?.map(ResourceId),
        reviewer_id: get_opt_uuid(row, "reviewer_id")?.map(UserId),
        context: serde_json::from_str::<ItemContext>(&context).map_err(Error::internal)?,
        decision: get::<Option<String>>(row, "decision")?.map(|d| d.parse()).transpose()?,
        note: get(row, "note")?,
        demote_to: get::<Option<String>>(row, "demote_to")?.map(|r| Role::parse(&r)).transpose()?,
        decided_by: get_opt_uuid(row, "decided_by")?.map(UserId),
        decided_at: get_opt_time(row, "decided_at")?,
        outcome: get(row, "outcome")?,
        applied_at: get_opt_time(row, "applied_at")?,
    })
}

async fn counts<K: std::hash::Hash + Eq>(
    c: &mut AnyConnection,
    sql: &'static str,
    key: impl Fn(uuid::Uuid) -> K,
) -> Result<HashMap<K, i64>> {
    let rows = sqlx::query(sql).fetch_all(c).await.map_err(db_err)?;
    rows.iter().map(|r| Ok((key(get_uuid(r, "k")?), get::<i64>(r, "n")?))).collect()
}

#[async_trait]
impl ReviewStore for SqlTx {
    async fn review_facts(&mut self, now: OffsetDateTime) -> Result<ReviewFacts> {
        let user_rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM users WHERE kind = 'person' AND status = 'active' ORDER BY email_key",
            users::COLUMNS
        )))
        .fetch_all(self.c())
        .await
        .map_err(db_err)?;
        let users = user_rows.iter().map(users::from_row).collect::<Result<Vec<_>>>()?;
        let teams = self.list_teams().await?;
        let memberships = sqlx::query("SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id")
            .fetch_all(self.c())
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| Ok((TeamId(get_uuid(r, "team_id")?), UserId(get_uuid(r, "user_id")?))))
            .collect::<Result<Vec<_>>>()?;
        let share_rows = sqlx::query(
            "SELECT r.id, r.name, s.subject_type, s.subject_id FROM shares s JOIN resources r ON r.id = s.resource_id \
             WHERE r.kind = 'data_source' AND s.level = 'edit' AND (s.expires_at IS NULL OR s.expires_at > $1) \
               AND ((r.visibility = 'specific' AND s.subject_type <> 'all_users') OR (r.visibility = 'all_users' AND s.subject_type = 'all_users')) \
             ORDER BY r.name, r.id, s.subject_type, s.subject_id",
        )
        .bind(ms(now))
        .fetch_all(self.c())
        .await
        .map_err(db_err)?;
        let data_source_edit_shares = share_rows
            .iter()
            .map(|r| {
                let subject = shares::subject(r)?;
                Ok((ResourceId(get_uuid(r, "id")?), get::<String>(r, "name")?, subject))
            })
            .collect::<Result<Vec<_>>>()?;
        let last_sign_ins = sqlx::query(
            "SELECT user_id, CAST(MAX(at) AS BIGINT) AS at FROM login_attempts WHERE success = 1 AND user_id IS NOT NULL GROUP BY user_id",
        )
        .fetch_all(self.c())
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| Ok((UserId(get_uuid(r, "user_id")?), get_time(r, "at")?)))
        .collect::<Result<HashMap<_, _>>>()?;
        let owned_resources =
            counts(self.c(), "SELECT owner_id AS k, CAST(COUNT(*) AS BIGINT) AS n FROM resources GROUP BY owner_id", UserId).await?;
        let team_resources = counts(
            self.c(),
            "SELECT team_id AS k, CAST(COUNT(*) AS BIGINT) AS n FROM resources WHERE team_id IS NOT NULL GROUP BY team_id",
            TeamId,
        )
        .await?;
        let team_shares = counts(
            self.c(),
            "SELECT subject_id AS k, CAST(COUNT(DISTINCT resource_id) AS BIGINT) AS n FROM shares WHERE subject_type = 'team' GROUP BY subject_id",
            TeamId,
        )
        .await?;
        Ok(ReviewFacts { users, teams, memberships, data_source_edit_shares, last_sign_ins, owned_resources, team_resources, team_shares })
    }

    async fn insert_review(&mut self, r: &Review) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO access_reviews ({REVIEW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(r.id.to_string())
        .bind(&r.period)
        .bind(r.status.as_str())
        .bind(ms(r.opened_at))
        .bind(r.opened_by.map(|u| u.to_string()))
        .bind(ms(r.due_at))
        .bind(opt_ms(r.completed_at))
        .bind(r.completed_by.map(|u| u.to_string()))
        .bind(&r.audit_position)
        .bind(opt_ms(r.reminded_at))
        .bind(opt_ms(r.overdue_notified_at))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn update_review(&mut self, r: &Review) -> Result<()> {
        sqlx::query(
            "UPDATE access_reviews SET status = $2, due_at = $3, completed_at = $4, completed_by = $5, audit_position = $6, \
             reminded_at = $7, overdue_notified_at = $8 WHERE id = $1",
        )
        .bind(r.id.to_string())
        .bind(r.status.as_str())
        .bind(ms(r.due_at))
        .bind(opt_ms(r.completed_at))
        .bind(r.completed_by.map(|u| u.to_string()))
        .bind(&r.audit_position)
        .bind(opt_ms(r.reminded_at))
        .bind(opt_ms(r.overdue_notified_at))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn review_by_id(&mut self, id: ReviewId) -> Result<Option<Review>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {REVIEW_COLUMNS} FROM access_reviews WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?;
        row.as_ref().map(review_from_row).transpose()
    }

    async fn list_reviews(&mut self, open_only: bool, limit: i64) -> Result<Vec<Review>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REVIEW_COLUMNS} FROM access_reviews WHERE ($1 = 0 OR status = 'open') ORDER BY opened_at DESC, id DESC LIMIT $2"
        )))
        .bind(i64::from(open_only))
        .bind(limit)
        .fetch_all(self.c())
        .await
        .map_err(db_err)?;
        rows.iter().map(review_from_row).collect()
    }

    async fn insert_review_item(&mut self, i: &ReviewItem, position: i64) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO access_review_items (position, {ITEM_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        )))
        .bind(position)
        .bind(i.id.to_string())
        .bind(i.review_id.to_string())
        .bind(i.kind.as_str())
        .bind(i.user_id.map(|u| u.to_string()))
        .bind(i.team_id.map(|t| t.to_string()))
        .bind(i.resource_id.map(|r| r.to_string()))
        .bind(i.reviewer_id.map(|u| u.to_string()))
        .bind(serde_json::to_string(&i.context).map_err(Error::internal)?)
        .bind(i.decision.map(|d| d.as_str()))
        .bind(&i.note)
        .bind(i.demote_to.map(|r| r.as_str()))
        .bind(i.decided_by.map(|u| u.to_string()))
        .bind(opt_ms(i.decided_at))
        .bind(&i.outcome)
        .bind(opt_ms(i.applied_at))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn update_review_item(&mut self, i: &ReviewItem) -> Result<()> {
        sqlx::query(
            "UPDATE access_review_items SET reviewer_id = $2, decision = $3, note = $4, demote_to = $5, decided_by = $6, \
             decided_at = $7, outcome = $8, applied_at = $9 WHERE id = $1",
        )
        .bind(i.id.to_string())
        .bind(i.reviewer_id.map(|u| u.to_string()))
        .bind(i.decision.map(|d| d.as_str()))
        .bind(&i.note)
        .bind(i.demote_to.map(|r| r.as_str()))
        .bind(i.decided_by.map(|u| u.to_string()))
        .bind(opt_ms(i.decided_at))
        .bind(&i.outcome)
        .bind(opt_ms(i.applied_at))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn review_items(&mut self, review: ReviewId) -> Result<Vec<ReviewItem>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLUMNS} FROM access_review_items WHERE review_id = $1 ORDER BY position"
        )))
        .bind(review.to_string())
        .fetch_all(self.c())
        .await
        .map_err(db_err)?;
        rows.iter().map(item_from_row).collect()
    }
}
