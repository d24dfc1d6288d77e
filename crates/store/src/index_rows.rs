//! The authorization index's start-up read: every user, resource, team membership and share,
//! streamed by one query each on a connection of the engine's own driver, in one read
//! transaction (one snapshot).
//!
//! Why not the pool's `Any` connections: `Any` turns each row into owned values (a `String` per
//! text column) before it can be read, and these are over a million rows; the engine's own rows
//! lend their text, and only what the index keeps is read (no password hashes, no share ids).
//!
//! Why memberships and shares come packed, one row per user and per resource: each row crosses
//! the driver at a cost of its own (on SQLite, a hand-over from the thread that runs SQLite, a
//! copy and an allocation per value, which on a busy machine also wait for the scheduler), and
//! shares are ten times as many as resources. The database joins them into one text (fields
//! split by a space, items by a comma: ids, levels, kinds and numbers hold neither) and the
//! loader splits it; anything else it finds is an error, never skipped.

use crate::convert::time_of;
use crate::{Engine, db_err};
use futures_util::TryStreamExt;
use keyward_core::access::{Level, Subject, Visibility};
use keyward_core::model::{Resource, User};
use keyward_core::store::IndexRow;
use keyward_core::types::{ResourceId, Role, TeamId, UserId, UserKind, UserStatus};
use keyward_core::{Error, Result};
use sqlx::{ColumnIndex, Connection, Decode, Row, Type};
use std::str::FromStr;
use time::OffsetDateTime;

const USERS: &str = "SELECT id, email, full_name, role, status, mfa_enabled, created_at, updated_at, last_active_at, access_expires_at, role_changed_at, kind FROM users";
const RESOURCES: &str = "SELECT id, kind, name, owner_id, team_id, project_id, cpu_millis, memory_mib, storage_gib, visibility, created_at, updated_at FROM resources";
const SQLITE_MEMBERS: &str = "SELECT user_id, group_concat(team_id, ',') FROM team_members GROUP BY user_id";
const PG_MEMBERS: &str = "SELECT user_id, string_agg(team_id, ',') FROM team_members GROUP BY user_id";
const SQLITE_SHARES: &str = "SELECT resource_id, group_concat(subject_type || ' ' || subject_id || ' ' || level || ' ' || \
     COALESCE(CAST(expires_at AS TEXT), ''), ',') FROM shares GROUP BY resource_id";
const PG_SHARES: &str = "SELECT resource_id, string_agg(subject_type || ' ' || subject_id || ' ' || level || ' ' || \
     COALESCE(CAST(expires_at AS TEXT), ''), ',') FROM shares GROUP BY resource_id";

/// Rows SQLite's thread may hand over at once (more than sqlx's 50, few enough to stay in cache).
const ROW_CHANNEL: usize = 256;

type Sink<'a> = &'a mut (dyn FnMut(IndexRow) -> Result<()> + Send);

/// Runs `sql` on connection `c` and has `decode` give what each row holds to `sink`.
macro_rules! each {
    ($c:ident, $sql:expr, $decode:ident, $sink:ident) => {{
        let mut rows = sqlx::query($sql).fetch(&mut $c);
        while let Some(row) = rows.try_next().await.map_err(db_err)? {
            $decode(&row, &mut *$sink)?;
        }
    }};
}

/// Streams the users, resources, memberships and shares of the database at `url`, in that order.
pub async fn stream(url: &str, engine: Engine, sink: Sink<'_>) -> Result<()> {
    match engine {
        Engine::Sqlite => {
            // Why read-only: this connection only ever reads, whatever the URL's mode allows.
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(db_err)?.read_only(true).row_buffer_size(ROW_CHANNEL);
            let mut c = sqlx::sqlite::SqliteConnection::connect_with(&options).await.map_err(db_err)?;
            sqlx::raw_sql("BEGIN").execute(&mut c).await.map_err(db_err)?;
            each!(c, USERS, user, sink);
            each!(c, RESOURCES, resource, sink);
            each!(c, SQLITE_MEMBERS, members, sink);
            each!(c, SQLITE_SHARES, shares, sink);
            c.close().await.map_err(db_err)
        }
        Engine::Postgres => {
            let mut c = sqlx::postgres::PgConnection::connect(url).await.map_err(db_err)?;
            sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut c).await.map_err(db_err)?;
            each!(c, USERS, user, sink);
            each!(c, RESOURCES, resource, sink);
            each!(c, PG_MEMBERS, members, sink);
            each!(c, PG_SHARES, shares, sink);
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
fn user<'r, R: Row>(row: &'r R, sink: Sink<'_>) -> Result<()>
where
    usize: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    sink(IndexRow::User(User {
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
fn resource<'r, R: Row>(row: &'r R, sink: Sink<'_>) -> Result<()>
where
    usize: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    Option<&'r str>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    sink(IndexRow::Resource(Resource {
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

/// A user's teams: `team,team,…`.
fn members<'r, R: Row>(row: &'r R, sink: Sink<'_>) -> Result<()>
where
    usize: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
{
    let user = UserId(uuid(text(row, 0)?)?);
    for team in text(row, 1)?.split(',') {
        sink(IndexRow::Member(TeamId(uuid(team)?), user))?;
    }
    Ok(())
}

/// A resource's shares: `subject_type subject_id level expires_at,…` (the id and the end empty
/// when there is none).
fn shares<'r, R: Row>(row: &'r R, sink: Sink<'_>) -> Result<()>
where
    usize: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
{
    let resource = ResourceId(uuid(text(row, 0)?)?);
    for packed in text(row, 1)?.split(',') {
        let bad = || Error::internal_msg(format!("bad stored share of resource {resource}"));
        let mut f = packed.splitn(4, ' ');
        let (Some(kind), Some(id), Some(level), Some(end)) = (f.next(), f.next(), f.next(), f.next()) else { return Err(bad()) };
        let subject = Subject::from_parts(kind, Some(id)).map_err(|_| bad())?;
        let level = Level::parse_share(level).map_err(|_| bad())?;
        let expires_at = match end {
            "" => None,
            ms => Some(time_of(ms.parse::<i64>().map_err(|_| bad())?)?),
        };
        sink(IndexRow::Share { resource, subject, level, expires_at })?;
    }
    Ok(())
}
