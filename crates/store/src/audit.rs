//! The `audit_events` (append-only; written by `chain::append`) and `login_attempts` tables.

use crate::convert::{get, get_bool, get_opt_uuid, get_time, get_uuid, ms};
use crate::db_err;
use keyward_core::model::{ActorKind, AuditEvent, AuditRecord, LoginAttempt};
use keyward_core::store::AuditFilter;
use keyward_core::types::{EventId, UserId};
use keyward_core::{Error, Result};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

fn actor_kind(s: &str) -> Result<ActorKind> {
    match s {
        "user" => Ok(ActorKind::User),
        "anonymous" => Ok(ActorKind::Anonymous),
        "cli" => Ok(ActorKind::Cli),
        "system" => Ok(ActorKind::System),
        "scim" => Ok(ActorKind::Scim),
        other => Err(Error::internal_msg(format!("unknown actor kind {other}"))),
    }
}

fn event_from_row(row: &AnyRow) -> Result<AuditRecord> {
    let details: String = get(row, "details")?;
    Ok(AuditRecord {
        event: AuditEvent {
            id: EventId(get_uuid(row, "id")?),
            at: get_time(row, "at")?,
            actor_kind: actor_kind(&get::<String>(row, "actor_kind")?)?,
            actor_id: get_opt_uuid(row, "actor_id")?.map(UserId),
            action: get(row, "action")?,
            target_type: get(row, "target_type")?,
            target_id: get(row, "target_id")?,
            ip: get(row, "ip")?,
            user_agent: get(row, "user_agent")?,
            details: serde_json::from_str(&details).map_err(Error::internal)?,
        },
        actor_email: get(row, "actor_email")?,
    })
}

pub async fn list(c: &mut AnyConnection, f: &AuditFilter) -> Result<Vec<AuditRecord>> {
    let sql = format!(
        "SELECT e.id, e.at, e.actor_kind, e.actor_id, e.action, e.target_type, e.target_id, e.ip, e.user_agent, e.details, u.email AS actor_email \
         FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id \
         WHERE {} AND ($7 IS NULL OR e.id < $7) ORDER BY e.id DESC LIMIT $8",
        crate::chain::FILTER
    );
    let rows = crate::chain::bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), f)
        .bind(f.before.clone())
        .bind(f.limit)
        .fetch_all(c)
        .await
        .map_err(db_err)?;
    rows.iter().map(event_from_row).collect()
}

pub async fn insert_attempt(c: &mut AnyConnection, a: &LoginAttempt) -> Result<()> {
    sqlx::query(
        "INSERT INTO login_attempts (id, at, email, user_id, success, reason, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.id.to_string())
    .bind(ms(a.at))
    .bind(&a.email)
    .bind(a.user_id.map(|u| u.to_string()))
    .bind(i64::from(a.success))
    .bind(&a.reason)
    .bind(&a.ip)
    .bind(&a.user_agent)
    .execute(c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn attempts_of(c: &mut AnyConnection, user: UserId, limit: i64) -> Result<Vec<LoginAttempt>> {
    let rows = sqlx::query("SELECT id, at, email, user_id, success, reason, ip, user_agent FROM login_attempts WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2")
        .bind(user.to_string())
        .bind(limit)
        .fetch_all(c)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(LoginAttempt {
                id: get_uuid(r, "id")?,
                at: get_time(r, "at")?,
                email: get(r, "email")?,
                user_id: get_opt_uuid(r, "user_id")?.map(UserId),
                success: get_bool(r, "success")?,
                reason: get(r, "reason")?,
                ip: get(r, "ip")?,
                user_agent: get(r, "user_agent")?,
            })
        })
        .collect()
}
