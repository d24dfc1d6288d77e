//! The `teams` and `team_members` tables, and a team's usage of its quotas.

use crate::convert::{get, get_opt_uuid, get_time, get_uuid, ms};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::Result;
use keyward_core::index::Change;
use keyward_core::model::{Quotas, Team, Usage, User};
use keyward_core::store::TeamStore;
use keyward_core::types::{TeamId, UserId};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

const TEAM_COLUMNS: &str = "t.id, t.name, t.description, t.lead_id, t.max_cpu_millis, t.max_memory_mib, t.max_storage_gib, t.max_apps, t.max_workflows, t.max_workspaces, t.created_at, t.updated_at";

pub fn team_from_row(row: &AnyRow) -> Result<Team> {
    Ok(Team {
        id: TeamId(get_uuid(row, "id")?),
        name: get(row, "name")?,
        description: get(row, "description")?,
        lead_id: get_opt_uuid(row, "lead_id")?.map(UserId),
        quotas: Quotas {
            max_cpu_millis: get(row, "max_cpu_millis")?,
            max_memory_mib: get(row, "max_memory_mib")?,
            max_storage_gib: get(row, "max_storage_gib")?,
            max_apps: get(row, "max_apps")?,
            max_workflows: get(row, "max_workflows")?,
            max_workspaces: get(row, "max_workspaces")?,
        },
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

#[async_trait]
impl TeamStore for SqlTx {
    async fn insert_team(&mut self, t: &Team) -> Result<()> {
        sqlx::query(
            "INSERT INTO teams (id, name, name_key, description, lead_id, max_cpu_millis, max_memory_mib, max_storage_gib, max_apps, max_workflows, max_workspaces, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(t.id.to_string())
        .bind(&t.name)
        .bind(t.name.to_lowercase())
        .bind(&t.description)
        .bind(t.lead_id.map(|u| u.to_string()))
        .bind(t.quotas.max_cpu_millis)
        .bind(t.quotas.max_memory_mib)
        .bind(t.quotas.max_storage_gib)
        .bind(t.quotas.max_apps)
        .bind(t.quotas.max_workflows)
        .bind(t.quotas.max_workspaces)
        .bind(ms(t.created_at))
        .bind(ms(t.updated_at))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn update_team(&mut self, t: &Team) -> Result<()> {
        sqlx::query("UPDATE teams SET name = $2, name_key = $3, description = $4, lead_id = $5, updated_at = $6 WHERE id = $1")
            .bind(t.id.to_string())
            .bind(&t.name)
            .bind(t.name.to_lowercase())
            .bind(&t.description)
            .bind(t.lead_id.map(|u| u.to_string()))
            .bind(ms(t.updated_at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn set_quotas(&mut self, team: TeamId, q: &Quotas, at: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "UPDATE teams SET max_cpu_millis = $2, max_memory_mib = $3, max_storage_gib = $4, max_apps = $5, max_workflows = $6, max_workspaces = $7, updated_at = $8 WHERE id = $1",
        )
        .bind(team.to_string())
        .bind(q.max_cpu_millis)
        .bind(q.max_memory_mib)
        .bind(q.max_storage_gib)
        .bind(q.max_apps)
        .bind(q.max_workflows)
        .bind(q.max_workspaces)
        .bind(ms(at))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn delete_team(&mut self, team: TeamId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM teams WHERE id = $1").bind(team.to_string()).execute(self.c()).await.map_err(db_err)?;
        self.changed(Change::Team(team));
        Ok(done.rows_affected() > 0)
    }

    async fn team_by_id(&mut self, id: TeamId) -> Result<Option<Team>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {TEAM_COLUMNS} FROM teams t WHERE t.id = $1"));
        let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(self.c()).await.map_err(db_err)?;
        row.as_ref().map(team_from_row).transpose()
    }

    async fn list_teams(&mut self) -> Result<Vec<Team>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {TEAM_COLUMNS} FROM teams t ORDER BY t.name_key LIMIT 1000"));
        let rows = sqlx::query(sql).fetch_all(self.c()).await.map_err(db_err)?;
        rows.iter().map(team_from_row).collect()
    }

    async fn team_members(&mut self, team: TeamId) -> Result<Vec<User>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY u.email_key",
            crate::users::COLUMNS
        )))
        .bind(team.to_string())
        .fetch_all(self.c())
        .await
        .map_err(db_err)?;
        rows.iter().map(crate::users::from_row).collect()
    }

    async fn add_member(&mut self, team: TeamId, user: UserId, at: OffsetDateTime) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO team_members (team_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT (team_id, user_id) DO NOTHING",
        )
        .bind(team.to_string())
        .bind(user.to_string())
        .bind(ms(at))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        self.changed(Change::User(user));
        Ok(done.rows_affected() > 0)
    }

    async fn remove_member(&mut self, team: TeamId, user: UserId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team.to_string())
            .bind(user.to_string())
            .execute(self.c())
            .await
            .map_err(db_err)?;
        self.changed(Change::User(user));
        Ok(done.rows_affected() > 0)
    }

    async fn teams_of(&mut self, user: UserId) -> Result<Vec<TeamId>> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT team_id FROM team_members WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_all(self.c())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(|(t,)| TeamId::parse(&t).map_err(|_| keyward_core::Error::internal_msg("bad team id"))).collect()
    }

    async fn teams_of_users(&mut self, users: &[UserId]) -> Result<Vec<(UserId, Team)>> {
        let mut out = Vec::new();
        // One query per user keeps every statement static; directory pages are at most 200 users.
        for user in users {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {TEAM_COLUMNS} FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = $1 ORDER BY t.name_key"
            ));
            let rows = sqlx::query(sql).bind(user.to_string()).fetch_all(self.c()).await.map_err(db_err)?;
            for row in &rows {
                out.push((*user, team_from_row(row)?));
            }
        }
        Ok(out)
    }

    async fn team_usage(&mut self, team: TeamId) -> Result<Usage> {
        let row: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(cpu_millis), 0) AS BIGINT), CAST(COALESCE(SUM(memory_mib), 0) AS BIGINT), CAST(COALESCE(SUM(storage_gib), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN kind = 'app' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN kind = 'workflow' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN kind = 'workspace' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM resources WHERE team_id = $1",
        )
        .bind(team.to_string())
        .fetch_one(self.c())
        .await
        .map_err(db_err)?;
        Ok(Usage { cpu_millis: row.0, memory_mib: row.1, storage_gib: row.2, apps: row.3, workflows: row.4, workspaces: row.5 })
    }

    async fn team_resource_count(&mut self, team: TeamId) -> Result<i64> {
        let row: (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM resources WHERE team_id = $1")
            .bind(team.to_string())
            .fetch_one(self.c())
            .await
            .map_err(db_err)?;
        Ok(row.0)
    }
}
