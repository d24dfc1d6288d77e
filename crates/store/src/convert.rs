//! Conversions at the storage boundary: times as unix milliseconds, ids as text.

use keyward_core::{Error, Result};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use uuid::Uuid;

pub fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn opt_ms(t: Option<OffsetDateTime>) -> Option<i64> {
    t.map(ms)
}

pub fn time_of(ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(Error::internal)
}

pub fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(Error::internal)
}

pub fn get_time(row: &AnyRow, col: &str) -> Result<OffsetDateTime> {
    time_of(get::<i64>(row, col)?)
}

pub fn get_opt_time(row: &AnyRow, col: &str) -> Result<Option<OffsetDateTime>> {
    get::<Option<i64>>(row, col)?.map(time_of).transpose()
}

pub fn get_uuid(row: &AnyRow, col: &str) -> Result<Uuid> {
    Uuid::parse_str(&get::<String>(row, col)?).map_err(Error::internal)
}

pub fn get_opt_uuid(row: &AnyRow, col: &str) -> Result<Option<Uuid>> {
    get::<Option<String>>(row, col)?.map(|s| Uuid::parse_str(&s).map_err(Error::internal)).transpose()
}

pub fn get_bool(row: &AnyRow, col: &str) -> Result<bool> {
    Ok(get::<i64>(row, col)? != 0)
}
