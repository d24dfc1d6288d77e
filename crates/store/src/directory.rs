//! The user directory's query (`UserStore::list_users`): its filters, paging by email key, and
//! `q`, a part of an email or a name in any case, kept quick at 100,000 users by the trigram
//! indexes of migration 14 (SQLite: the FTS5 table `users_search`; PostgreSQL: pg_trgm).
//!
//! A page is the first `limit` users after the cursor, in email order, that pass every filter
//! and whose `email_key` or `LOWER(full_name)` holds `q` (lower-cased) as LIKE compares it. Every
//! path below answers exactly that page; they differ only in what they read to find it:
//!
//! - no `q`, or one of 1–2 characters (a trigram needs three): the email order is walked from
//!   the cursor until the page is full (common letters fill it after a few rows);
//! - a `q` of three characters or more: first the same walk, over a window of
//!   `WINDOW_PER_ROW × limit` users after the cursor (cheap, and it fills the page when `q` is
//!   common there); if the page is not full, matches are rarer than that, and the rest of the
//!   page comes from the trigram index after the window: its candidates, compared with LIKE as
//!   in the walk, sorted. A rare `q` then costs its few candidates instead of the whole table.
//!   On SQLite, whose planner has no statistics, the index is first asked how many candidates
//!   it holds (up to `MAX_CANDIDATES`): when a common `q` meets a rare filter (every email
//!   holds the company's domain, few users are deactivated), reading every candidate would
//!   cost more than walking on, so the walk goes on after the window as it always did.
//!   PostgreSQL's planner weighs the filters' own indexes against the trigram ones itself.
//!
//! Each condition is written only when its filter is set (never `$n IS NULL OR …`), so the
//! planners can seek on the email key and use the indexes.

use crate::Engine;
use crate::convert::ms;
use crate::db_err;
use crate::tx::SqlTx;
use crate::users::{COLUMNS, from_row};
use keyward_core::Result;
use keyward_core::model::User;
use keyward_core::store::UserFilter;

/// Users of the email order the walk looks at, per row of the page, before it hands over to the
/// trigram index: past that, matches are rarer than one in 20 and the index is the quicker way.
const WINDOW_PER_ROW: i64 = 20;

/// SQLite: past this many candidates, reading them all (about 1.2 µs each, sorted) costs more
/// than walking the rest of 100,000 users (about 0.5 µs each) at worst: the walk goes on instead.
const MAX_CANDIDATES: i64 = 20_000;

/// A value bound to a statement.
enum Arg {
    Text(String),
    Int(i64),
}

/// A statement being written, with its arguments in placeholder order.
struct Statement {
    sql: String,
    args: Vec<Arg>,
}

impl Statement {
    fn new(sql: &str) -> Statement {
        Statement { sql: sql.to_owned(), args: Vec::new() }
    }

    /// Adds an argument and answers its placeholder.
    fn arg(&mut self, value: Arg) -> String {
        self.args.push(value);
        format!("${}", self.args.len())
    }

    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    async fn rows(self, tx: &mut SqlTx) -> Result<Vec<sqlx::any::AnyRow>> {
        // Why not persistent on PostgreSQL: a named statement is planned once for any argument
        // after a few runs, and a LIKE whose pattern the planner cannot see gets the plan of an
        // average pattern (a scan for a rare `q`, or a sort of every match of a common one).
        let persistent = tx.engine() == Engine::Sqlite;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql)).persistent(persistent);
        for a in self.args {
            query = match a {
                Arg::Text(s) => query.bind(s),
                Arg::Int(n) => query.bind(n),
            };
        }
        query.fetch_all(tx.c()).await.map_err(db_err)
    }
}

/// `q` as the directory compares it.
struct Search {
    /// `q` lower-cased (Rust's Unicode lower case, as ever).
    lower: String,
    /// The LIKE pattern: `%q%` with `\`, `%` and `_` escaped, so that they are taken literally.
    like: String,
}

impl Search {
    fn new(q: &str) -> Search {
        let lower = q.to_lowercase();
        let like = format!("%{}%", lower.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        Search { lower, like }
    }

    /// Whether a trigram index can look `q` up: it needs three characters.
    fn has_trigrams(&self) -> bool {
        self.lower.chars().count() >= 3
    }

    /// `q` as an FTS5 phrase: the trigram tokenizer turns it into its three-character pieces,
    /// which must follow each other (a double quote inside is written twice).
    fn phrase(&self) -> String {
        format!("\"{}\"", self.lower.replace('"', "\"\""))
    }
}

/// One page of the directory (see the module's comment for how it is found).
pub(crate) async fn list_users(tx: &mut SqlTx, f: &UserFilter) -> Result<Vec<User>> {
    let search = f.q.as_deref().map(Search::new);
    let after = f.after.as_deref();
    let rows = match &search {
        Some(s) if s.has_trigrams() => match window_end(tx, after, f.limit.saturating_mul(WINDOW_PER_ROW)).await? {
            // Fewer users than a window are left: walking them all is the quick way.
            None => walk(tx.engine(), f, search.as_ref(), after, None, f.limit).rows(tx).await?,
            Some(end) => {
                let mut rows = walk(tx.engine(), f, search.as_ref(), after, Some(&end), f.limit).rows(tx).await?;
                let missing = f.limit - rows.len() as i64;
                if missing > 0 {
                    let rest = if tx.engine() == Engine::Sqlite && candidates(tx, s).await? >= MAX_CANDIDATES {
                        walk(tx.engine(), f, search.as_ref(), Some(&end), None, missing)
                    } else {
                        indexed(tx.engine(), f, s, &end, missing)
                    };
                    rows.extend(rest.rows(tx).await?);
                }
                rows
            }
        },
        _ => walk(tx.engine(), f, search.as_ref(), after, None, f.limit).rows(tx).await?,
    };
    rows.iter().map(from_row).collect()
}

/// The email key `window` users after `after` (all users, whatever the filters), or `None` when
/// fewer are left.
async fn window_end(tx: &mut SqlTx, after: Option<&str>, window: i64) -> Result<Option<String>> {
    let mut st = Statement::new("SELECT email_key FROM users");
    if let Some(a) = after {
        let p = st.arg(Arg::Text(a.to_owned()));
        st.push(&format!(" WHERE email_key > {p}"));
    }
    let offset = st.arg(Arg::Int(window - 1));
    st.push(&format!(" ORDER BY email_key LIMIT 1 OFFSET {offset}"));
    let rows = st.rows(tx).await?;
    rows.first().map(|r| crate::convert::get::<String>(r, "email_key")).transpose()
}

/// SQLite: how many users the trigram index holds as candidates for `q`, `MAX_CANDIDATES` at most.
async fn candidates(tx: &mut SqlTx, search: &Search) -> Result<i64> {
    let mut st = Statement::new("");
    let (phrase, cap) = (st.arg(Arg::Text(search.phrase())), st.arg(Arg::Int(MAX_CANDIDATES)));
    st.push(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT 1 FROM users_search WHERE users_search MATCH {phrase} LIMIT {cap})"
    ));
    let rows = st.rows(tx).await?;
    rows.first().map_or(Ok(0), |r| crate::convert::get::<i64>(r, "n"))
}

/// The walk: users after `after` (up to `upto`, included) in email order, filtered, `limit` at most.
fn walk(engine: Engine, f: &UserFilter, search: Option<&Search>, after: Option<&str>, upto: Option<&str>, limit: i64) -> Statement {
    let mut st = match (engine, upto) {
        // The window on PostgreSQL: its users are read by the email key's range alone (OFFSET 0
        // keeps that query apart), so that it stays a walk of at most a window. Left to itself,
        // the planner may look a rare `q` up in the trigram indexes here, and again after the
        // window; or, without statistics, a common one (every match, sorted).
        (Engine::Postgres, Some(u)) => {
            let mut st = Statement::new("");
            let mut range = Vec::new();
            if let Some(a) = after {
                range.push(format!("email_key > {}", st.arg(Arg::Text(a.to_owned()))));
            }
            range.push(format!("email_key <= {}", st.arg(Arg::Text(u.to_owned()))));
            st.push(&format!("SELECT {COLUMNS} FROM (SELECT * FROM users WHERE {} OFFSET 0) AS users WHERE ", range.join(" AND ")));
            conditions(&mut st, engine, f, search, None);
            st
        }
        _ => {
            let mut st = Statement::new(&format!("SELECT {COLUMNS} FROM users WHERE "));
            conditions(&mut st, engine, f, search, after);
            if let Some(u) = upto {
                let p = st.arg(Arg::Text(u.to_owned()));
                st.push(&format!(" AND email_key <= {p}"));
            }
            st
        }
    };
    let p = st.arg(Arg::Int(limit));
    st.push(&format!(" ORDER BY email_key LIMIT {p}"));
    st
}

/// The trigram index's way: the users after `after` whose texts hold every trigram of `q`,
/// filtered and compared as in the walk, sorted, `limit` at most.
fn indexed(engine: Engine, f: &UserFilter, search: &Search, after: &str, limit: i64) -> Statement {
    let mut st = match engine {
        Engine::Sqlite => {
            // CROSS JOIN keeps the index's candidates as the outer loop (SQLite never reorders
            // it), so the planner cannot prefer walking the email order to reach them.
            let mut st = Statement::new("");
            let phrase = st.arg(Arg::Text(search.phrase()));
            st.push(&format!(
                "SELECT {COLUMNS} FROM (SELECT k.user_id FROM users_search s JOIN users_search_keys k ON k.n = s.rowid \
                 WHERE users_search MATCH {phrase}) AS hits CROSS JOIN users ON users.id = hits.user_id WHERE "
            ));
            st
        }
        // OFFSET 0 keeps the inner query a query of its own: planned for its matches alone
        // (the trigram indexes), not for the LIMIT of the outer one (a walk in email order).
        Engine::Postgres => Statement::new(&format!("SELECT {COLUMNS} FROM (SELECT {COLUMNS}, email_key FROM users WHERE ")),
    };
    conditions(&mut st, engine, f, Some(search), Some(after));
    if engine == Engine::Postgres {
        st.push(" OFFSET 0) AS hits");
    }
    let p = st.arg(Arg::Int(limit));
    st.push(&format!(" ORDER BY email_key LIMIT {p}"));
    st
}

/// The filters, `q` and the cursor, as conditions joined by AND.
fn conditions(st: &mut Statement, engine: Engine, f: &UserFilter, search: Option<&Search>, after: Option<&str>) {
    st.push("kind = 'person'");
    if let Some(s) = search {
        let p = st.arg(Arg::Text(s.like.clone()));
        st.push(&format!(" AND (email_key LIKE {p} ESCAPE '\\' OR LOWER(full_name) LIKE {p} ESCAPE '\\')"));
    }
    // SQLite's unary `+` keeps it from answering through the (role, status) index: without
    // statistics it would read every user of the role and sort them, where the walk stops after
    // one page. PostgreSQL's planner weighs that itself (and has no `+` for text).
    let plus = if engine == Engine::Sqlite { "+" } else { "" };
    if let Some(r) = f.role {
        let p = st.arg(Arg::Text(r.as_str().to_owned()));
        st.push(&format!(" AND {plus}role = {p}"));
    }
    if let Some(s) = f.status {
        let p = st.arg(Arg::Text(s.as_str().to_owned()));
        st.push(&format!(" AND {plus}status = {p}"));
    }
    if let Some(a) = after {
        let p = st.arg(Arg::Text(a.to_owned()));
        st.push(&format!(" AND email_key > {p}"));
    }
    if let Some(t) = f.team {
        let p = st.arg(Arg::Text(t.to_string()));
        st.push(&format!(" AND id IN (SELECT m.user_id FROM team_members m WHERE m.team_id = {p})"));
    }
    if f.mfa_off {
        st.push(" AND mfa_enabled = 0");
    }
    if let Some(t) = f.inactive_since {
        let p = st.arg(Arg::Int(ms(t)));
        st.push(&format!(" AND COALESCE(last_active_at, created_at) < {p}"));
    }
}
