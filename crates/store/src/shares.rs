//! The `shares` table: one row per resource and subject, each with a stable id. Subjects and
//! levels are stored in the core's one encoding (`Subject::parts`, `Level::as_str`).

use crate::convert::{get, get_opt_time, get_time, get_uuid, ms, opt_ms};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::access::{Grant, Level, Subject};
use keyward_core::index::Change;
use keyward_core::model::Share;
use keyward_core::store::ShareStore;
use keyward_core::types::{ResourceId, ShareId, UserId};
use keyward_core::{Error, Result};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// The columns every read of a share selects, for `share_from_row`.
pub(crate) const COLUMNS: &str = "id, resource_id, subject_type, subject_id, level, expires_at, created_at";

fn level(row: &AnyRow) -> Result<Level> {
    Level::parse_share(&get::<String>(row, "level")?).map_err(|_| Error::internal_msg("unknown stored share level"))
}

pub(crate) fn subject(row: &AnyRow) -> Result<Subject> {
    let (kind, id) = (get::<String>(row, "subject_type")?, get::<String>(row, "subject_id")?);
    Subject::from_parts(&kind, Some(&id)).map_err(|_| Error::internal_msg(format!("bad stored share subject {kind}:{id}")))
}

pub(crate) fn share_from_row(row: &AnyRow) -> Result<Share> {
    Ok(Share {
        id: ShareId(get_uuid(row, "id")?),
        resource_id: ResourceId(get_uuid(row, "resource_id")?),
        subject: subject(row)?,
        level: level(row)?,
        expires_at: get_opt_time(row, "expires_at")?,
        created_at: get_time(row, "created_at")?,
    })
}

/// The subject as its two columns; `subject_id` is '' for all users (the key stays unique).
fn columns(s: &Subject) -> (&'static str, String) {
    let (kind, id) = s.parts();
    (kind, id.unwrap_or_default())
}

async fn insert(c: &mut AnyConnection, s: &Share) -> Result<()> {
    let (kind, id) = columns(&s.subject);
    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO shares ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)")))
        .bind(s.id.to_string())
        .bind(s.resource_id.to_string())
        .bind(kind)
        .bind(id)
        .bind(s.level.as_str())
        .bind(opt_ms(s.expires_at))
        .bind(ms(s.created_at))
        .execute(c)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl ShareStore for SqlTx {
    async fn shares_of(&mut self, resource: ResourceId) -> Result<Vec<Share>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM shares WHERE resource_id = $1 ORDER BY subject_type, subject_id"));
        let rows = sqlx::query(sql).bind(resource.to_string()).fetch_all(self.c()).await.map_err(db_err)?;
        rows.iter().map(share_from_row).collect()
    }

    async fn grants_for(&mut self, resource: ResourceId, project: Option<ResourceId>, user: UserId) -> Result<Vec<Grant>> {
        let rows = sqlx::query(
            "SELECT resource_id, subject_type, subject_id, level, expires_at FROM shares \
             WHERE (resource_id = $1 OR resource_id = $2) \
               AND (subject_type = 'all_users' OR (subject_type = 'user' AND subject_id = $3) \
                    OR (subject_type = 'team' AND subject_id IN (SELECT team_id FROM team_members WHERE user_id = $3)))",
        )
        .bind(resource.to_string())
        .bind(project.map(|p| p.to_string()))
        .bind(user.to_string())
        .fetch_all(self.c())
        .await
        .map_err(db_err)?;
        let own = resource.to_string();
        rows.iter()
            .map(|r| {
                Ok(Grant {
                    subject: subject(r)?,
                    level: level(r)?,
                    expires_at: get_opt_time(r, "expires_at")?,
                    via_project: get::<String>(r, "resource_id")? != own,
                })
            })
            .collect()
    }

    async fn replace_shares(&mut self, resource: ResourceId, shares: &[Share]) -> Result<()> {
        sqlx::query("DELETE FROM shares WHERE resource_id = $1").bind(resource.to_string()).execute(self.c()).await.map_err(db_err)?;
        for s in shares {
            insert(self.c(), &Share { resource_id: resource, ..s.clone() }).await?;
        }
        self.changed(Change::Resource(resource));
        Ok(())
    }

    /// Inserts the share, or changes the level and end of the subject's existing share (which keeps
    /// its id and creation time); answers the share as stored. One statement, so two concurrent
    /// requests for the same subject cannot both insert.
    async fn upsert_share(&mut self, s: &Share) -> Result<Share> {
        let (kind, id) = columns(&s.subject);
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO shares ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (resource_id, subject_type, subject_id) DO UPDATE SET level = excluded.level, expires_at = excluded.expires_at \
             RETURNING {COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(s.id.to_string())
            .bind(s.resource_id.to_string())
            .bind(kind)
            .bind(id)
            .bind(s.level.as_str())
            .bind(opt_ms(s.expires_at))
            .bind(ms(s.created_at))
            .fetch_one(self.c())
            .await
            .map_err(db_err)?;
        self.changed(Change::Resource(s.resource_id));
        share_from_row(&row)
    }

    /// Deletes share `id` of `resource`; answers it, or `None` when there was none.
    async fn delete_share(&mut self, resource: ResourceId, id: ShareId) -> Result<Option<Share>> {
        let sql = sqlx::AssertSqlSafe(format!("DELETE FROM shares WHERE resource_id = $1 AND id = $2 RETURNING {COLUMNS}"));
        let row = sqlx::query(sql).bind(resource.to_string()).bind(id.to_string()).fetch_optional(self.c()).await.map_err(db_err)?;
        self.changed(Change::Resource(resource));
        row.as_ref().map(share_from_row).transpose()
    }

    /// Deletes every share of `subject`; answers them.
    async fn delete_subject_shares(&mut self, subject: &Subject) -> Result<Vec<Share>> {
        let (kind, id) = columns(subject);
        let sql = sqlx::AssertSqlSafe(format!("DELETE FROM shares WHERE subject_type = $1 AND subject_id = $2 RETURNING {COLUMNS}"));
        let rows = sqlx::query(sql).bind(kind).bind(id).fetch_all(self.c()).await.map_err(db_err)?;
        let gone = rows.iter().map(share_from_row).collect::<Result<Vec<_>>>()?;
        for s in &gone {
            self.changed(Change::Resource(s.resource_id));
        }
        Ok(gone)
    }
}
