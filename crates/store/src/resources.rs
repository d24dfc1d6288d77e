//! The `resources`, `shares` and `credentials` tables.

use crate::convert::{get, get_opt_time, get_opt_uuid, get_time, get_uuid, ms, opt_ms};
use crate::db_err;
use keyward_core::access::{Grant, Kind, Level, Subject};
use keyward_core::model::{CredentialsInfo, Resource, SealedValue, Share};
use keyward_core::types::{ResourceId, TeamId, UserId};
use keyward_core::{Error, Result};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

/// The columns `resource_from_row` reads.
pub(crate) const RESOURCE_COLUMNS: &str =
    "id, kind, name, owner_id, team_id, project_id, cpu_millis, memory_mib, storage_gib, created_at, updated_at";

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
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

pub async fn insert(c: &mut AnyConnection, r: &Resource) -> Result<()> {
    sqlx::query(
        "INSERT INTO resources (id, kind, name, owner_id, team_id, project_id, cpu_millis, memory_mib, storage_gib, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
    .execute(c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn update(c: &mut AnyConnection, r: &Resource) -> Result<()> {
    sqlx::query(
        "UPDATE resources SET name = $2, team_id = $3, cpu_millis = $4, memory_mib = $5, storage_gib = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(r.id.to_string())
    .bind(&r.name)
    .bind(r.team_id.map(|t| t.to_string()))
    .bind(r.cpu_millis)
    .bind(r.memory_mib)
    .bind(r.storage_gib)
    .bind(ms(r.updated_at))
    .execute(c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn delete(c: &mut AnyConnection, id: ResourceId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM resources WHERE id = $1").bind(id.to_string()).execute(c).await.map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

pub async fn by_id(c: &mut AnyConnection, id: ResourceId) -> Result<Option<Resource>> {
    let row = sqlx::query("SELECT id, kind, name, owner_id, team_id, project_id, cpu_millis, memory_mib, storage_gib, created_at, updated_at FROM resources WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(c)
        .await
        .map_err(db_err)?;
    row.as_ref().map(resource_from_row).transpose()
}

pub async fn workspace_count(c: &mut AnyConnection, project: ResourceId) -> Result<i64> {
    let row: (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM resources WHERE project_id = $1")
        .bind(project.to_string())
        .fetch_one(c)
        .await
        .map_err(db_err)?;
    Ok(row.0)
}

pub async fn candidates(
    c: &mut AnyConnection,
    user: UserId,
    all: bool,
    kind: Option<Kind>,
    after: Option<ResourceId>,
    limit: i64,
) -> Result<Vec<Resource>> {
    let rows = sqlx::query(
        "SELECT r.id, r.kind, r.name, r.owner_id, r.team_id, r.project_id, r.cpu_millis, r.memory_mib, r.storage_gib, r.created_at, r.updated_at FROM resources r \
         WHERE ($2 = 1 OR r.owner_id = $1 OR EXISTS (SELECT 1 FROM shares s WHERE (s.resource_id = r.id OR s.resource_id = r.project_id) \
               AND (s.subject_type = 'all_users' OR (s.subject_type = 'user' AND s.subject_id = $1) \
                    OR (s.subject_type = 'team' AND s.subject_id IN (SELECT m.team_id FROM team_members m WHERE m.user_id = $1))))) \
           AND ($3 IS NULL OR r.kind = $3) AND ($4 IS NULL OR r.id > $4) \
         ORDER BY r.id LIMIT $5",
    )
    .bind(user.to_string())
    .bind(i64::from(all))
    .bind(kind.map(|k| k.as_str()))
    .bind(after.map(|a| a.to_string()))
    .bind(limit)
    .fetch_all(c)
    .await
    .map_err(db_err)?;
    rows.iter().map(resource_from_row).collect()
}

pub(crate) fn level(s: &str) -> Result<Level> {
    match s {
        "view" => Ok(Level::View),
        "edit" => Ok(Level::Edit),
        other => Err(Error::internal_msg(format!("unknown share level {other}"))),
    }
}

pub(crate) fn subject(kind: &str, id: &str) -> Result<Subject> {
    let bad = || Error::internal_msg(format!("bad share subject {kind}:{id}"));
    match kind {
        "user" => Ok(Subject::User(UserId::parse(id).map_err(|_| bad())?)),
        "team" => Ok(Subject::Team(TeamId::parse(id).map_err(|_| bad())?)),
        "all_users" => Ok(Subject::AllUsers),
        _ => Err(bad()),
    }
}

fn subject_columns(s: &Subject) -> (&'static str, String) {
    match s {
        Subject::User(u) => ("user", u.to_string()),
        Subject::Team(t) => ("team", t.to_string()),
        Subject::AllUsers => ("all_users", String::new()),
    }
}

pub async fn shares_of(c: &mut AnyConnection, resource: ResourceId) -> Result<Vec<Share>> {
    let rows = sqlx::query("SELECT resource_id, subject_type, subject_id, level, expires_at, created_at FROM shares WHERE resource_id = $1 ORDER BY subject_type, subject_id")
        .bind(resource.to_string())
        .fetch_all(c)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(Share {
                resource_id: ResourceId(get_uuid(r, "resource_id")?),
                subject: subject(&get::<String>(r, "subject_type")?, &get::<String>(r, "subject_id")?)?,
                level: level(&get::<String>(r, "level")?)?,
                expires_at: get_opt_time(r, "expires_at")?,
                created_at: get_time(r, "created_at")?,
            })
        })
        .collect()
}

pub async fn grants_for(c: &mut AnyConnection, resource: ResourceId, project: Option<ResourceId>, user: UserId) -> Result<Vec<Grant>> {
    let rows = sqlx::query(
        "SELECT resource_id, subject_type, subject_id, level, expires_at FROM shares \
         WHERE (resource_id = $1 OR resource_id = $2) \
           AND (subject_type = 'all_users' OR (subject_type = 'user' AND subject_id = $3) \
                OR (subject_type = 'team' AND subject_id IN (SELECT team_id FROM team_members WHERE user_id = $3)))",
    )
    .bind(resource.to_string())
    .bind(project.map(|p| p.to_string()))
    .bind(user.to_string())
    .fetch_all(c)
    .await
    .map_err(db_err)?;
    let own = resource.to_string();
    rows.iter()
        .map(|r| {
            Ok(Grant {
                subject: subject(&get::<String>(r, "subject_type")?, &get::<String>(r, "subject_id")?)?,
                level: level(&get::<String>(r, "level")?)?,
                expires_at: get_opt_time(r, "expires_at")?,
                via_project: get::<String>(r, "resource_id")? != own,
            })
        })
        .collect()
}

pub async fn replace_shares(c: &mut AnyConnection, resource: ResourceId, shares: &[Share]) -> Result<()> {
    sqlx::query("DELETE FROM shares WHERE resource_id = $1").bind(resource.to_string()).execute(&mut *c).await.map_err(db_err)?;
    for s in shares {
        let (kind, id) = subject_columns(&s.subject);
        sqlx::query(
            "INSERT INTO shares (resource_id, subject_type, subject_id, level, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(resource.to_string())
        .bind(kind)
        .bind(id)
        .bind(s.level.as_str())
        .bind(opt_ms(s.expires_at))
        .bind(ms(s.created_at))
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

pub async fn put_credentials(c: &mut AnyConnection, resource: ResourceId, sealed: &str, by: UserId, at: OffsetDateTime) -> Result<()> {
    sqlx::query(
        "INSERT INTO credentials (resource_id, sealed, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (resource_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(resource.to_string())
    .bind(sealed)
    .bind(ms(at))
    .bind(by.to_string())
    .execute(c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn credentials_info(c: &mut AnyConnection, resource: ResourceId) -> Result<Option<CredentialsInfo>> {
    let row = sqlx::query("SELECT updated_at, updated_by FROM credentials WHERE resource_id = $1")
        .bind(resource.to_string())
        .fetch_optional(c)
        .await
        .map_err(db_err)?;
    row.map(|r| Ok(CredentialsInfo { updated_at: get_time(&r, "updated_at")?, updated_by: get_opt_uuid(&r, "updated_by")?.map(UserId) }))
        .transpose()
}

pub async fn sealed_values(c: &mut AnyConnection) -> Result<Vec<SealedValue>> {
    let mut out = Vec::new();
    let totp: Vec<(String, String)> = sqlx::query_as("SELECT user_id, secret FROM mfa_totp").fetch_all(&mut *c).await.map_err(db_err)?;
    out.extend(totp.into_iter().map(|(key, sealed)| SealedValue { table: "mfa_totp", key, sealed }));
    let creds: Vec<(String, String)> =
        sqlx::query_as("SELECT resource_id, sealed FROM credentials").fetch_all(&mut *c).await.map_err(db_err)?;
    out.extend(creds.into_iter().map(|(key, sealed)| SealedValue { table: "credentials", key, sealed }));
    Ok(out)
}

pub async fn update_sealed(c: &mut AnyConnection, v: &SealedValue) -> Result<()> {
    let q = match v.table {
        "mfa_totp" => "UPDATE mfa_totp SET secret = $2 WHERE user_id = $1",
        "credentials" => "UPDATE credentials SET sealed = $2 WHERE resource_id = $1",
        other => return Err(Error::internal_msg(format!("no sealed values in {other}"))),
    };
    sqlx::query(q).bind(&v.key).bind(&v.sealed).execute(c).await.map_err(db_err)?;
    Ok(())
}
