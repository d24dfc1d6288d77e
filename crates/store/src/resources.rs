//! The `resources` and `credentials` tables (shares are in `shares.rs`).

use crate::convert::{get, get_opt_uuid, get_time, get_uuid, ms};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::access::{Kind, Visibility};
use keyward_core::index::Change;
use keyward_core::model::{CredentialsInfo, Resource, SealedKind, SealedValue};
use keyward_core::store::ResourceStore;
use keyward_core::types::{ResourceId, TeamId, UserId};
use keyward_core::{Error, Result};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

/// The columns every read of a resource selects, for `resource_from_row`.
pub(crate) const COLUMNS: &str = "r.id, r.kind, r.name, r.owner_id, r.team_id, r.project_id, r.cpu_millis, r.memory_mib, r.storage_gib, r.visibility, r.created_at, r.updated_at";

pub(crate) fn resource_from_row(row: &AnyRow) -> Result<Resource> {
    Ok(Resource {
        id: ResourceId(get_uuid(row, "id")?),
        kind: get::<String>(row, "kind")?.parse()?,
        name: get(row, "name")?,
        owner_id: UserId(get_uuid(row, "owner_id")?),
        team_id: get_opt_uuid(row, "team_id")?.map(TeamId),
        project_id: get_opt_uuid(row, "project_id")?.map(ResourceId),
        cpu_millis: get(row, "cpu_millis")?,
        memory_mib: get(row, "memory_mib")?,
        storage_gib: get(row, "storage_gib")?,
        visibility: get::<String>(row, "visibility")?.parse::<Visibility>().map_err(|_| Error::internal_msg("bad stored visibility"))?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

#[async_trait]
impl ResourceStore for SqlTx {
    async fn insert_resource(&mut self, r: &Resource) -> Result<()> {
        sqlx::query(
            "INSERT INTO resources (id, kind, name, owner_id, team_id, project_id, cpu_millis, memory_mib, storage_gib, created_at, updated_at, visibility) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(r.id.to_string())
        .bind(r.kind.as_str())
        .bind(&r.name)
        .bind(r.owner_id.to_string())
        .bind(r.team_id.map(|t| t.to_string()))
        .bind(r.project_id.map(|p| p.to_string()))
        .bind(r.cpu_millis)
        .bind(r.memory_mib)
        .bind(r.storage_gib)
        .bind(ms(r.created_at))
        .bind(ms(r.updated_at))
        .bind(r.visibility.as_str())
        .execute(self.c())
        .await
        .map_err(db_err)?;
        self.changed(Change::Resource(r.id));
        Ok(())
    }

    async fn update_resource(&mut self, r: &Resource) -> Result<()> {
        sqlx::query(
            "UPDATE resources SET name = $2, team_id = $3, cpu_millis = $4, memory_mib = $5, storage_gib = $6, updated_at = $7, visibility = $8 WHERE id = $1",
        )
        .bind(r.id.to_string())
        .bind(&r.name)
        .bind(r.team_id.map(|t| t.to_string()))
        .bind(r.cpu_millis)
        .bind(r.memory_mib)
        .bind(r.storage_gib)
        .bind(ms(r.updated_at))
        .bind(r.visibility.as_str())
        .execute(self.c())
        .await
        .map_err(db_err)?;
        self.changed(Change::Resource(r.id));
        Ok(())
    }

    async fn delete_resource(&mut self, id: ResourceId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM resources WHERE id = $1").bind(id.to_string()).execute(self.c()).await.map_err(db_err)?;
        self.changed(Change::Resource(id));
        Ok(done.rows_affected() > 0)
    }

    async fn resource_by_id(&mut self, id: ResourceId) -> Result<Option<Resource>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM resources r WHERE r.id = $1"));
        let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(self.c()).await.map_err(db_err)?;
        row.as_ref().map(resource_from_row).transpose()
    }

    async fn workspace_count(&mut self, project: ResourceId) -> Result<i64> {
        let row: (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM resources WHERE project_id = $1")
            .bind(project.to_string())
            .fetch_one(self.c())
            .await
            .map_err(db_err)?;
        Ok(row.0)
    }

    async fn candidate_resources(
        &mut self,
        user: UserId,
        all: bool,
        kind: Option<Kind>,
        after: Option<ResourceId>,
        limit: i64,
    ) -> Result<Vec<Resource>> {
        // Why the project-owner arm: the owner of a project has full access to its workspaces.
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM resources r \
             WHERE ($2 = 1 OR r.owner_id = $1 \
                   OR EXISTS (SELECT 1 FROM resources p WHERE p.id = r.project_id AND p.owner_id = $1) OR EXISTS (SELECT 1 FROM shares s WHERE (s.resource_id = r.id OR s.resource_id = r.project_id) \
                   AND (s.subject_type = 'all_users' OR (s.subject_type = 'user' AND s.subject_id = $1) \
                        OR (s.subject_type = 'team' AND s.subject_id IN (SELECT m.team_id FROM team_members m WHERE m.user_id = $1))))) \
               AND ($3 IS NULL OR r.kind = $3) AND ($4 IS NULL OR r.id > $4) \
             ORDER BY r.id LIMIT $5"
        ));
        let rows = sqlx::query(sql)
            .bind(user.to_string())
            .bind(i64::from(all))
            .bind(kind.map(|k| k.as_str()))
            .bind(after.map(|a| a.to_string()))
            .bind(limit)
            .fetch_all(self.c())
            .await
            .map_err(db_err)?;
        rows.iter().map(resource_from_row).collect()
    }

    async fn set_visibility(&mut self, id: ResourceId, visibility: Visibility, at: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE resources SET visibility = $2, updated_at = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(visibility.as_str())
            .bind(ms(at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        self.changed(Change::Resource(id));
        Ok(())
    }

    /// The workspaces of `project`, by id, at most `limit`.
    async fn workspaces_of(&mut self, project: ResourceId, limit: i64) -> Result<Vec<Resource>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM resources r WHERE r.project_id = $1 ORDER BY r.id LIMIT $2"));
        let rows = sqlx::query(sql).bind(project.to_string()).bind(limit).fetch_all(self.c()).await.map_err(db_err)?;
        rows.iter().map(resource_from_row).collect()
    }

    async fn put_credentials(&mut self, resource: ResourceId, sealed: &str, by: UserId, at: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "INSERT INTO credentials (resource_id, sealed, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (resource_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(resource.to_string())
        .bind(sealed)
        .bind(ms(at))
        .bind(by.to_string())
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn credentials_info(&mut self, resource: ResourceId) -> Result<Option<CredentialsInfo>> {
        let row = sqlx::query("SELECT updated_at, updated_by FROM credentials WHERE resource_id = $1")
            .bind(resource.to_string())
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?;
        row.map(|r| {
            Ok(CredentialsInfo { updated_at: get_time(&r, "updated_at")?, updated_by: get_opt_uuid(&r, "updated_by")?.map(UserId) })
        })
        .transpose()
    }

    async fn sealed_values(&mut self) -> Result<Vec<SealedValue>> {
        let mut out = Vec::new();
        let totp: Vec<(String, String)> =
            sqlx::query_as("SELECT user_id, secret FROM mfa_totp").fetch_all(self.c()).await.map_err(db_err)?;
        out.extend(totp.into_iter().map(|(key, sealed)| SealedValue { kind: SealedKind::TotpSecret, key, sealed }));
        let creds: Vec<(String, String)> =
            sqlx::query_as("SELECT resource_id, sealed FROM credentials").fetch_all(self.c()).await.map_err(db_err)?;
        out.extend(creds.into_iter().map(|(key, sealed)| SealedValue { kind: SealedKind::Credentials, key, sealed }));
        let sso: Vec<(String, String)> =
            sqlx::query_as("SELECT id, client_secret FROM sso_providers").fetch_all(self.c()).await.map_err(db_err)?;
        out.extend(sso.into_iter().map(|(key, sealed)| SealedValue { kind: SealedKind::SsoClientSecret, key, sealed }));
        Ok(out)
    }

    async fn update_sealed(&mut self, v: &SealedValue) -> Result<()> {
        let q = match v.kind {
            SealedKind::TotpSecret => "UPDATE mfa_totp SET secret = $2 WHERE user_id = $1",
            SealedKind::Credentials => "UPDATE credentials SET sealed = $2 WHERE resource_id = $1",
            SealedKind::SsoClientSecret => "UPDATE sso_providers SET client_secret = $2 WHERE id = $1",
        };
        sqlx::query(q).bind(&v.key).bind(&v.sealed).execute(self.c()).await.map_err(db_err)?;
        Ok(())
    }
}
