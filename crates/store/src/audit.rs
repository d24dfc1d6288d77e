//! The `audit_events` table (append-only; written by `chain::append` at commit): the
//! `AuditStore` trait, with the chain's reads in `chain.rs`.

use crate::convert::{get, get_opt_uuid, get_time, get_uuid, ms};
use crate::tx::SqlTx;
use crate::{chain, db_err};
use async_trait::async_trait;
use keyward_core::chain::StoredEvent;
use keyward_core::model::{ActorKind, AuditEvent, AuditRecord};
use keyward_core::store::{AuditFilter, AuditStore};
use keyward_core::types::{EventId, UserId};
use keyward_core::wording::{Names, References};
use keyward_core::{Error, Result};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

fn actor_kind(s: &str) -> Result<ActorKind> {
    s.parse()
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

/// Ids resolved per kind at most: a page of events names far fewer.
const MAX_NAMES: usize = 500;

#[async_trait]
impl AuditStore for SqlTx {
    async fn insert_audit(&mut self, event: &AuditEvent) -> Result<()> {
        self.queue_audit(event)
    }

    async fn list_audit(&mut self, f: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let sql = format!(
            "SELECT e.id, e.at, e.actor_kind, e.actor_id, e.action, e.target_type, e.target_id, e.ip, e.user_agent, e.details, u.email AS actor_email \
             FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id \
             WHERE {} AND ($7 IS NULL OR e.id < $7) ORDER BY e.id DESC LIMIT $8",
            crate::chain::FILTER
        );
        let rows = crate::chain::bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), f)
            .bind(f.before.clone())
            .bind(f.limit)
            .fetch_all(self.c())
            .await
            .map_err(db_err)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn audit_names(&mut self, refs: &References) -> Result<Names> {
        let sets: [(&str, &str, Vec<&String>); 3] = [
            ("u", "SELECT 'u' AS k, id, full_name AS name FROM users", refs.users.iter().take(MAX_NAMES).collect()),
            ("t", "SELECT 't' AS k, id, name FROM teams", refs.teams.iter().take(MAX_NAMES).collect()),
            ("r", "SELECT 'r' AS k, id, name FROM resources", refs.resources.iter().take(MAX_NAMES).collect()),
        ];
        // One statement for the three kinds; only numbered placeholders are generated, the ids are bound.
        let mut parts = Vec::new();
        let mut n = 0;
        for (_, select, ids) in &sets {
            if ids.is_empty() {
                continue;
            }
            let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", n + i + 1)).collect();
            n += ids.len();
            parts.push(format!("{select} WHERE id IN ({})", marks.join(", ")));
        }
        let mut out = Names::default();
        if parts.is_empty() {
            return Ok(out);
        }
        let sql = parts.join(" UNION ALL ");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (_, _, ids) in &sets {
            for id in ids {
                q = q.bind((*id).clone());
            }
        }
        for row in q.fetch_all(self.c()).await.map_err(db_err)? {
            let (k, id, name): (String, String, String) = (get(&row, "k")?, get(&row, "id")?, get(&row, "name")?);
            let map = match k.as_str() {
                "u" => &mut out.users,
                "t" => &mut out.teams,
                _ => &mut out.resources,
            };
            map.insert(id, name);
        }
        Ok(out)
    }

    async fn sign_ins_per_day(&mut self, since: OffsetDateTime) -> Result<Vec<(i64, i64, i64)>> {
        // Times are unix milliseconds on both engines, so integer division gives the UTC day on both.
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT CAST(at / 86400000 AS BIGINT) AS day, \
             CAST(SUM(CASE WHEN action = 'auth.login' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN action = 'auth.login_failed' THEN 1 ELSE 0 END) AS BIGINT) \
             FROM audit_events WHERE action IN ('auth.login', 'auth.login_failed') AND at >= $1 \
             GROUP BY CAST(at / 86400000 AS BIGINT) ORDER BY day",
        )
        .bind(ms(since))
        .fetch_all(self.c())
        .await
        .map_err(db_err)?;
        Ok(rows)
    }

    async fn audit_head(&mut self) -> Result<(i64, String)> {
        chain::head(self.c()).await
    }

    async fn audit_page(&mut self, filter: &AuditFilter, after_seq: i64, upto_seq: i64, limit: i64) -> Result<Vec<StoredEvent>> {
        let engine = self.engine();
        chain::page(self.c(), engine, filter, after_seq, upto_seq, limit).await
    }

    async fn count_audit(&mut self, filter: &AuditFilter, upto_seq: i64) -> Result<i64> {
        chain::count(self.c(), filter, upto_seq).await
    }

    async fn first_unchained_audit_event(&mut self) -> Result<Option<String>> {
        chain::first_unchained(self.c()).await
    }
}
