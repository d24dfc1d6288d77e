//! The authorization index's start-up read: every user, resource, team membership and share,
//! streamed by one query each on a connection of the engine's own driver, in one read
//! transaction (one snapshot).
//!
//! Why not the pool's `Any` connections: `Any` turns each row into owned values (a `String` per
//! text column) before it can be read, and these are over a million rows; the engine's own rows
//! lend their text, and only what the index keeps is read (no password hashes, no share ids).
//! Why a large row channel: SQLite runs on a thread of its own that hands rows over in batches
//! of this size, and on a busy machine every hand-over waits for the scheduler.

use crate::convert::time_of;
use crate::{Engine, db_err};
use futures_util::TryStreamExt;
use keyward_core::access::{Level, Subject, Visibility};
use keyward_core::model::{Resource, User};
use keyward_core::store::IndexRow;
use keyward_core::types::{ResourceId, Role, TeamId, UserId, UserKind, UserStatus};
use keyward_core::{Error, Result};
use sqlx::{ColumnIndex, Connection, Database, Decode, Row, Type};
use std::str::FromStr;
use time::OffsetDateTime;

const USERS: &str = "SELECT id, email, full_name, role, status, mfa_enabled, created_at, updated_at, last_active_at, access_expires_at, role_changed_at, kind FROM users";
const RESOURCES: &str = "SELECT id, kind, name, owner_id, team_id, project_id, cpu_millis, memory_mib, storage_gib, visibility, created_at, updated_at FROM resources";
const MEMBERS: &str = "SELECT team_id, user_id FROM team_members";
// No ORDER BY: a scan in table order, no sort and no index walk; the index adds shares one by one.
const SHARES: &str = "SELECT resource_id, subject_type, subject_id, level, expires_at FROM shares";

/// Rows SQLite's thread may hand over at once.
const ROW_CHANNEL: usize = 4096;

/// Runs `sql` on connection `c` and gives each row, decoded by `decode`, to `sink`.
macro_rules! each {
    ($c:ident, $sql:expr, $decode:ident, $sink:ident) => {{
        let mut rows = sqlx::query($sql).fetch(&mut $c);
        while let Some(row) = rows.try_next().await.map_err(db_err)? {
            $sink($decode(&row)?)?;
        }
    }};
}

/// Streams the users, resources, memberships and shares of the database at `url`, in that order.
pub async fn stream(url: &str, engine: Engine, sink: &mut (dyn FnMut(IndexRow) -> Result<()> + Send)) -> Result<()> {
    match engine {
        Engine::Sqlite => {
            // Why read-only: this connection only ever reads, whatever the URL's mode allows.
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(db_err)?.read_only(true).row_buffer_size(ROW_CHANNEL);
            let mut c = sqlx::sqlite::SqliteConnection::connect_with(&options).await.map_err(db_err)?;
            sqlx::raw_sql("BEGIN").execute(&mut c).await.map_err(db_err)?;
            each!(c, USERS, user, sink);
            each!(c, RESOURCES, resource, sink);
            each!(c, MEMBERS, member, sink);
            each!(c, SHARES, share, sink);
            c.close().await.map_err(db_err)
        }
        Engine::Postgres => {
            let mut c = sqlx::postgres::PgConnection::connect(url).await.map_err(db_err)?;
            sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut c).await.map_err(db_err)?;
            each!(c, USERS, user, sink);
            each!(c, RESOURCES, resource, sink);
            each!(c, MEMBERS, member, sink);
            each!(c, SHARES, share, sink);
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

fn opt_text<'r, R: Row>(row: &'r R, i: usize) -> Result<Option<&'r str>>
where
    usize: ColumnIndex<R>,
    Option<&'r str>: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get::<Option<&str>, _>(i).map_err(Error::internal)
}

fn int<'r, R: Row>(row: &'r R, i: usize) -> Result<i64>
where
    usize: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get::<i64, _>(i).map_err(Error::internal)
}

fn opt_time<'r, R: Row>(row: &'r R, i: usize) -> Result<Option<OffsetDateTime>>
where
    usize: ColumnIndex<R>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get::<Option<i64>, _>(i).map_err(Error::internal)?.map(time_of).transpose()
}

fn uuid(s: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::try_parse(s).map_err(Error::internal)
}

/// A user as `users::from_row` reads one, without the password hash (the index never keeps it).
fn user<'r, R: Row>(row: &'r R) -> Result<IndexRow>
where
    usize: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(IndexRow::User(User {
        id: UserId(uuid(text(row, 0)?)?),
        email: text(row, 1)?.to_owned(),
        full_name: text(row, 2)?.to_owned(),
        role: Role::parse(text(row, 3)?)?,
        status: UserStatus::parse(text(row, 4)?)?,
        password_hash: None,
        mfa_enabled: int(row, 5)? != 0,
        created_at: time_of(int(row, 6)?)?,
        updated_at: time_of(int(row, 7)?)?,
        last_active_at: opt_time(row, 8)?,
        access_expires_at: opt_time(row, 9)?,
        role_changed_at: opt_time(row, 10)?,
        kind: UserKind::parse(text(row, 11)?)?,
    }))
}

/// A resource as `resources::resource_from_row` reads one.
fn resource<'r, R: Row>(row: &'r R) -> Result<IndexRow>
where
    usize: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    Option<&'r str>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(IndexRow::Resource(Resource {
        id: ResourceId(uuid(text(row, 0)?)?),
        kind: text(row, 1)?.parse()?,
        name: text(row, 2)?.to_owned(),
        owner_id: UserId(uuid(text(row, 3)?)?),
        team_id: opt_text(row, 4)?.map(uuid).transpose()?.map(TeamId),
        project_id: opt_text(row, 5)?.map(uuid).transpose()?.map(ResourceId),
        cpu_millis: int(row, 6)?,
        memory_mib: int(row, 7)?,
        storage_gib: int(row, 8)?,
        visibility: text(row, 9)?.parse::<Visibility>().map_err(|_| Error::internal_msg("bad stored visibility"))?,
        created_at: time_of(int(row, 10)?)?,
        updated_at: time_of(int(row, 11)?)?,
    }))
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
