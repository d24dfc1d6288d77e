//! The bulk of the authorization index's start-up read: every team membership and every share,
//! streamed by one query each on a connection of the engine's own driver, in one read
//! transaction (one snapshot).
//!
//! Why not the pool's `Any` connections: `Any` turns each row into owned values (a `String` per
//! text column) before it can be read, and these are about a million rows; the engine's own
//! rows lend their text, and only the ids, subject, level and end a decision needs are read.

use crate::convert::time_of;
use crate::{Engine, db_err};
use futures_util::TryStreamExt;
use keyward_core::access::{Level, Subject};
use keyward_core::store::IndexRow;
use keyward_core::types::{ResourceId, TeamId, UserId};
use keyward_core::{Error, Result};
use sqlx::{ColumnIndex, Connection, Database, Decode, Row, Type};
use std::str::FromStr;

const MEMBERS: &str = "SELECT team_id, user_id FROM team_members";
// No ORDER BY: a scan in table order, no sort and no index walk; the index adds shares one by one.
const SHARES: &str = "SELECT resource_id, subject_type, subject_id, level, expires_at FROM shares";

/// Streams the memberships, then the shares, of the database at `url`.
pub async fn stream(url: &str, engine: Engine, sink: &mut (dyn FnMut(IndexRow) -> Result<()> + Send)) -> Result<()> {
    match engine {
        Engine::Sqlite => {
            // Why read-only: this connection only ever reads, whatever the URL's mode allows.
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(db_err)?.read_only(true);
            let mut c = sqlx::sqlite::SqliteConnection::connect_with(&options).await.map_err(db_err)?;
            sqlx::raw_sql("BEGIN").execute(&mut c).await.map_err(db_err)?;
            let mut rows = sqlx::query(MEMBERS).fetch(&mut c);
            while let Some(row) = rows.try_next().await.map_err(db_err)? {
                sink(member(&row)?)?;
            }
            drop(rows);
            let mut rows = sqlx::query(SHARES).fetch(&mut c);
            while let Some(row) = rows.try_next().await.map_err(db_err)? {
                sink(share(&row)?)?;
            }
            drop(rows);
            c.close().await.map_err(db_err)
        }
        Engine::Postgres => {
            let mut c = sqlx::postgres::PgConnection::connect(url).await.map_err(db_err)?;
            sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut c).await.map_err(db_err)?;
            let mut rows = sqlx::query(MEMBERS).fetch(&mut c);
            while let Some(row) = rows.try_next().await.map_err(db_err)? {
                sink(member(&row)?)?;
            }
            drop(rows);
            let mut rows = sqlx::query(SHARES).fetch(&mut c);
            while let Some(row) = rows.try_next().await.map_err(db_err)? {
                sink(share(&row)?)?;
            }
            drop(rows);
            c.close().await.map_err(db_err)
        }
    }
}

fn text<'r, R: Row>(row: &'r R, i: usize) -> Result<&'r str>
where
    usize: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get::<&str, _>(i).map_err(Error::internal)
}

fn uuid(s: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::try_parse(s).map_err(Error::internal)
}

fn member<'r, R: Row>(row: &'r R) -> Result<IndexRow>
where
    usize: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(IndexRow::Member(TeamId(uuid(text(row, 0)?)?), UserId(uuid(text(row, 1)?)?)))
}

fn share<'r, R: Row>(row: &'r R) -> Result<IndexRow>
where
    usize: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    R::Database: Database,
{
    let (kind, id) = (text(row, 1)?, text(row, 2)?);
    let subject = Subject::from_parts(kind, Some(id)).map_err(|_| Error::internal_msg(format!("bad stored share subject {kind}:{id}")))?;
    let level = Level::parse_share(text(row, 3)?).map_err(|_| Error::internal_msg("unknown stored share level"))?;
    let expires_at = row.try_get::<Option<i64>, _>(4).map_err(Error::internal)?.map(time_of).transpose()?;
    Ok(IndexRow::Share { resource: ResourceId(uuid(text(row, 0)?)?), subject, level, expires_at })
}
