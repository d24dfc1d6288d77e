//! The audit log's chain on disk: placing queued events in the chain at commit under one
//! ordering lock, chaining events from before the chain existed, and reading the log in
//! sequence order (verify, export).

use crate::convert::{get, opt_ms};
use crate::{Engine, db_err};
use keyward_core::Result;
use keyward_core::chain::{ChainKeys, StoredEvent};
use keyward_core::store::AuditFilter;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// Rows chained per statement batch when catching up on events from before the chain.
const BACKLOG_BATCH: i64 = 1000;

/// Takes the ordering lock and answers the head. Why a row lock on PostgreSQL: it is held until
/// COMMIT, so transactions place their events one after another, in commit order, even when
/// several nodes write at once; SQLite's single writer already gives the same.
async fn lock_head(c: &mut AnyConnection, engine: Engine) -> Result<(i64, String)> {
    let sql = match engine {
        Engine::Postgres => "SELECT seq, chain FROM audit_head WHERE id = 1 FOR UPDATE",
        Engine::Sqlite => "SELECT seq, chain FROM audit_head WHERE id = 1",
    };
    let row: (i64, String) = sqlx::query_as(sql).fetch_one(c).await.map_err(db_err)?;
    Ok(row)
}

async fn set_head(c: &mut AnyConnection, seq: i64, chain: &str) -> Result<()> {
    sqlx::query("UPDATE audit_head SET seq = $1, chain = $2 WHERE id = 1").bind(seq).bind(chain).execute(c).await.map_err(db_err)?;
    Ok(())
}

/// The head without taking the lock (readers).
pub async fn head(c: &mut AnyConnection) -> Result<(i64, String)> {
    let row: (i64, String) = sqlx::query_as("SELECT seq, chain FROM audit_head WHERE id = 1").fetch_one(c).await.map_err(db_err)?;
    Ok(row)
}

/// Places `events` (queued during the transaction, in order) at the end of the chain and
/// writes them. Runs just before COMMIT, inside the transaction.
pub async fn append(c: &mut AnyConnection, engine: Engine, keys: &ChainKeys, events: &mut [StoredEvent]) -> Result<()> {
    let (mut seq, mut prev) = lock_head(c, engine).await?;
    let count = events.len();
    for (i, e) in events.iter_mut().enumerate() {
        seq += 1;
        keys.link(e, seq, &prev);
        prev.clone_from(&e.chain);
        if engine == Engine::Postgres && i + 1 == count {
            // Why one statement: the last event and the new head go in one round trip (every
            // audited write, a sign-in's included, pays one less).
            return insert_last(c, e).await;
        }
        insert(c, e).await?;
    }
    set_head(c, seq, &prev).await
}

/// An event's insert, binds `$1` to `$13` (`bind_event`).
macro_rules! insert_event {
    () => {
        "INSERT INTO audit_events (id, at, actor_kind, actor_id, action, target_type, target_id, ip, user_agent, details, seq, key_id, chain) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    };
}
const INSERT: &str = insert_event!();
/// The same, making the event the head (PostgreSQL: a data-modifying `WITH`).
const INSERT_LAST: &str = concat!("WITH inserted AS (", insert_event!(), ") UPDATE audit_head SET seq = $11, chain = $13 WHERE id = 1");

async fn insert(c: &mut AnyConnection, e: &StoredEvent) -> Result<()> {
    bind_event(sqlx::query(INSERT), e).execute(c).await.map_err(db_err)?;
    Ok(())
}

/// Inserts `e` and makes it the head, in one statement.
async fn insert_last(c: &mut AnyConnection, e: &StoredEvent) -> Result<()> {
    bind_event(sqlx::query(INSERT_LAST), e).execute(c).await.map_err(db_err)?;
    Ok(())
}

/// Binds an event's thirteen values, in `INSERT`'s order.
fn bind_event<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    e: &'q StoredEvent,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(&e.id)
        .bind(e.at_ms)
        .bind(&e.actor_kind)
        .bind(&e.actor_id)
        .bind(&e.action)
        .bind(&e.target_type)
        .bind(&e.target_id)
        .bind(&e.ip)
        .bind(&e.user_agent)
        .bind(&e.details)
        .bind(e.seq)
        .bind(&e.key_id)
        .bind(&e.chain)
}

const COLUMNS: &str = "e.seq, e.id, e.at, e.actor_kind, e.actor_id, e.action, e.target_type, e.target_id, e.ip, e.user_agent, \
     e.details, COALESCE(e.key_id, '') AS key_id, COALESCE(e.chain, '') AS chain, u.email AS actor_email, u.full_name AS actor_name";

fn stored_from_row(row: &AnyRow) -> Result<StoredEvent> {
    Ok(StoredEvent {
        seq: get::<Option<i64>>(row, "seq")?.unwrap_or(0),
        id: get(row, "id")?,
        at_ms: get(row, "at")?,
        actor_kind: get(row, "actor_kind")?,
        actor_id: get(row, "actor_id")?,
        action: get(row, "action")?,
        target_type: get(row, "target_type")?,
        target_id: get(row, "target_id")?,
        ip: get(row, "ip")?,
        user_agent: get(row, "user_agent")?,
        details: get(row, "details")?,
        key_id: get(row, "key_id")?,
        chain: get(row, "chain")?,
        actor_email: get(row, "actor_email")?,
        actor_name: get(row, "actor_name")?,
    })
}

/// The filter's conditions on `audit_events e`, with binds `$1` to `$6` (see `bind_filter`).
pub const FILTER: &str = "($1 IS NULL OR e.actor_id = $1) AND ($2 IS NULL OR e.action = $2) \
     AND ($3 IS NULL OR e.at >= $3) AND ($4 IS NULL OR e.at < $4) \
     AND ($5 IS NULL OR e.target_type = $5) AND ($6 IS NULL OR e.target_id = $6)";

/// Binds the filter's six values, in `FILTER`'s order.
pub fn bind_filter<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    f: &AuditFilter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(f.actor_id.map(|a| a.to_string()))
        .bind(f.action.clone())
        .bind(opt_ms(f.since))
        .bind(opt_ms(f.until))
        .bind(f.target_type.clone())
        .bind(f.target_id.clone())
}

/// One stored event as the database packs it for `page`: a JSON array in `COLUMNS`' order.
type Packed = (
    i64,
    String,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// A page of the log in sequence order. Why the database packs the page into one value (each
/// event a JSON array on a line of its own): through the driver every row costs a hand-off
/// between threads and a decode per column, which held an export to about 50,000 events/s;
/// one value per page lets a million events stream several times faster (docs/operations.md).
pub async fn page(c: &mut AnyConnection, engine: Engine, f: &AuditFilter, after: i64, upto: i64, limit: i64) -> Result<Vec<StoredEvent>> {
    let (array, text, agg) = match engine {
        // No ORDER BY inside the aggregate: it would sort the page again (SQLite builds a
        // temporary tree for it); the events are put in order here instead.
        Engine::Sqlite => ("json_array", "", "group_concat(p.line, char(10))"),
        Engine::Postgres => ("json_build_array", "::text", "string_agg(p.line, chr(10))"),
    };
    let sql = format!(
        "SELECT {agg} AS page FROM (\
           SELECT e.seq AS seq, {array}(e.seq, e.id, e.at, e.actor_kind, e.actor_id, e.action, e.target_type, e.target_id, e.ip, \
             e.user_agent, e.details, COALESCE(e.key_id, ''), COALESCE(e.chain, ''), u.email, u.full_name){text} AS line \
           FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id \
           WHERE e.seq > $7 AND e.seq <= $8 AND {FILTER} ORDER BY e.seq LIMIT $9) p"
    );
    let row =
        bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), f).bind(after).bind(upto).bind(limit).fetch_one(c).await.map_err(db_err)?;
    let Some(packed) = get::<Option<String>>(&row, "page")? else { return Ok(Vec::new()) };
    let mut events = packed
        .split('\n')
        .map(|line| {
            let Ok(p) = serde_json::from_str::<Packed>(line) else { return lenient(line) };
            Ok(StoredEvent {
                seq: p.0,
                id: p.1,
                at_ms: p.2,
                actor_kind: p.3,
                actor_id: p.4,
                action: p.5,
                target_type: p.6,
                target_id: p.7,
                ip: p.8,
                user_agent: p.9,
                details: p.10,
                key_id: p.11,
                chain: p.12,
                actor_email: p.13,
                actor_name: p.14,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    events.sort_by_key(|e| e.seq);
    Ok(events)
}

/// A packed event whose values are not of their columns' types (possible only when the database
/// was written behind Keyward's back): read as well as it goes, so that verifying names it
/// instead of failing.
fn lenient(line: &str) -> Result<StoredEvent> {
    use serde_json::Value;
    let v: Vec<Value> = serde_json::from_str(line).map_err(keyward_core::Error::internal)?;
    let at = |i: usize| v.get(i).cloned().unwrap_or(Value::Null);
    let text = |i: usize| match at(i) {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let opt = |i: usize| match at(i) {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    };
    let int = |i: usize| match at(i) {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    };
    Ok(StoredEvent {
        seq: int(0),
        id: text(1),
        at_ms: int(2),
        actor_kind: text(3),
        actor_id: opt(4),
        action: text(5),
        target_type: opt(6),
        target_id: opt(7),
        ip: opt(8),
        user_agent: opt(9),
        details: text(10),
        key_id: text(11),
        chain: text(12),
        actor_email: opt(13),
        actor_name: opt(14),
    })
}

pub async fn count(c: &mut AnyConnection, f: &AuditFilter, upto: i64) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) AS n FROM audit_events e WHERE e.seq <= $7 AND {FILTER}");
    let row = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), f).bind(upto).fetch_one(c).await.map_err(db_err)?;
    get(&row, "n")
}

pub async fn first_unchained(c: &mut AnyConnection) -> Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM audit_events WHERE seq IS NULL ORDER BY at, id LIMIT 1").fetch_optional(c).await.map_err(db_err)?;
    Ok(row.map(|r| r.0))
}

/// Chains the events written before the chain existed (no position yet), in time order, after
/// whatever is chained already. Called when a database is opened, before anything else writes;
/// answers how many were chained. Why at start-up and not in the migration: the chain key is
/// derived from the master key, which the database never sees.
pub async fn chain_backlog(c: &mut AnyConnection, engine: Engine, keys: &ChainKeys) -> Result<u64> {
    let (mut seq, mut prev) = lock_head(c, engine).await?;
    let mut done = 0u64;
    loop {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id WHERE e.seq IS NULL ORDER BY e.at, e.id LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(BACKLOG_BATCH).fetch_all(&mut *c).await.map_err(db_err)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let mut e = stored_from_row(row)?;
            (e.actor_email, e.actor_name) = (None, None);
            seq += 1;
            keys.link(&mut e, seq, &prev);
            sqlx::query("UPDATE audit_events SET seq = $1, key_id = $2, chain = $3 WHERE id = $4")
                .bind(e.seq)
                .bind(&e.key_id)
                .bind(&e.chain)
                .bind(&e.id)
                .execute(&mut *c)
                .await
                .map_err(db_err)?;
            prev.clone_from(&e.chain);
            done += 1;
        }
    }
    if done > 0 {
        set_head(c, seq, &prev).await?;
    }
    Ok(done)
}
