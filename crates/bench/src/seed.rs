//! Seeding through the store's own write paths, in large transactions: each one records its
//! access-data changes in the change log and chains its audit events at commit, exactly as the
//! server's writes do, so the world the server loads is one it could have written itself.

use futures_util::StreamExt;
use indicatif::ProgressBar;
use keyward_bench::{SHARES_PER_RESOURCE, Sizes, memberships, resource, share, team, user};
use keyward_core::RequestMeta;
use keyward_core::clock::SystemClock;
use keyward_core::model::AuditEvent;
use keyward_core::password::Password;
use keyward_core::services::auth::LoginOutcome;
use keyward_server::{App, Config};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;

/// Rows written per transaction.
const PER_TRANSACTION: usize = 10_000;

pub const ADMIN_EMAIL: &str = "bench-admin@bench.example";
const ADMIN_PASSWORD: &str = "Bench-Admin-Passw0rd!";

/// The store as the server opens it (same data directory, same keys).
pub async fn open(dir: &Path, database_url: Option<&str>) -> anyhow::Result<App> {
    let config = Config { data_dir: dir.to_path_buf(), database_url: database_url.map(str::to_owned), ..Config::default() };
    keyward_server::open(config, Arc::new(SystemClock)).await
}

/// Creates the first admin and answers an API token of theirs (checks are asked by admins).
pub async fn admin_token(app: &App) -> anyhow::Result<String> {
    let kw = &app.kw;
    let pw = Password::new(ADMIN_PASSWORD);
    kw.init_admin(ADMIN_EMAIL, "Bench Admin", Some(&pw)).await?;
    let LoginOutcome::SignedIn(signed) = kw.login(&RequestMeta::default(), ADMIN_EMAIL, &pw).await? else {
        anyhow::bail!("the bench admin unexpectedly has MFA")
    };
    let actor = kw.authenticate_session(&signed.token, RequestMeta::default()).await?;
    Ok(kw.create_token(&actor, "bench", None).await?.secret)
}

/// Runs `write` over `0..n` in transactions of `PER_TRANSACTION`, `parallel` of them at once
/// (PostgreSQL takes concurrent writers; SQLite has one writer, so 1 there).
async fn batched<F>(app: &App, n: usize, parallel: usize, bar: &ProgressBar, write: F) -> anyhow::Result<()>
where
    F: for<'a> Fn(
        &'a mut dyn keyward_core::store::Tx,
        usize,
    ) -> std::pin::Pin<Box<dyn Future<Output = keyward_core::Result<()>> + Send + 'a>>,
{
    let write = &write;
    let chunks = (0..n).step_by(PER_TRANSACTION).map(|start| start..(start + PER_TRANSACTION).min(n));
    let mut runs = futures_util::stream::iter(chunks.map(|range| async move {
        let len = range.len() as u64;
        let mut tx = app.kw.unchecked_write().await?;
        for i in range {
            write(tx.as_mut(), i).await?;
        }
        tx.commit().await?;
        bar.inc(len);
        anyhow::Ok(())
    }))
    .buffer_unordered(parallel.max(1));
    while let Some(done) = runs.next().await {
        done?;
    }
    Ok(())
}

/// Users `0..n` (all with `password_hash`).
pub async fn users(app: &App, n: usize, password_hash: &str, parallel: usize, bar: &ProgressBar) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let hash = password_hash.to_owned();
    bar.set_message("users");
    batched(app, n, parallel, bar, |tx, i| {
        let u = user(i, &hash, now);
        Box::pin(async move { tx.insert_user(&u).await })
    })
    .await
}

/// Users (all with `password_hash`), teams, memberships, resources and the first share of each
/// resource: the small world.
pub async fn small_world(app: &App, s: &Sizes, password_hash: &str, parallel: usize, bar: &ProgressBar) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    users(app, s.users, password_hash, parallel, bar).await?;
    bar.set_message("teams");
    batched(app, s.teams, parallel, bar, |tx, i| {
        let t = team(i, now);
        Box::pin(async move { tx.insert_team(&t).await })
    })
    .await?;
    bar.set_message("memberships");
    let members = memberships(s);
    batched(app, members.len(), parallel, bar, |tx, i| {
        let (t, u) = members[i];
        Box::pin(async move { tx.add_member(t, u, now).await.map(|_| ()) })
    })
    .await?;
    bar.set_message("resources");
    batched(app, s.resources, parallel, bar, |tx, i| {
        let r = resource(s, i, now);
        Box::pin(async move { tx.insert_resource(&r).await })
    })
    .await?;
    bar.set_message("shares");
    batched(app, s.resources, parallel, bar, |tx, r| {
        let sh = share(s, r, 0, now);
        Box::pin(async move { tx.upsert_share(&sh).await.map(|_| ()) })
    })
    .await
}

/// The rows `small_world` writes.
pub fn small_world_rows(s: &Sizes) -> u64 {
    (s.users + s.teams + memberships(s).len() + s.resources * 2) as u64
}

/// The other nine shares of each resource: the big world.
pub async fn big_shares(app: &App, s: &Sizes, parallel: usize, bar: &ProgressBar) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    bar.set_message("shares");
    let per = SHARES_PER_RESOURCE - 1;
    batched(app, s.resources * per, parallel, bar, |tx, i| {
        let sh = share(s, i / per, 1 + i % per, now);
        Box::pin(async move { tx.upsert_share(&sh).await.map(|_| ()) })
    })
    .await
}

/// `s.events` audit events by the admin, chained at each commit as in production.
pub async fn events(app: &App, s: &Sizes, token: &str, parallel: usize, bar: &ProgressBar) -> anyhow::Result<()> {
    let kw = &app.kw;
    let meta = RequestMeta { ip: Some("203.0.113.7".into()), user_agent: Some("keyward-bench".into()), ..RequestMeta::default() };
    let actor = kw.authenticate_token(token, meta.clone(), "GET", "/api/v1/me").await?;
    bar.set_message("audit events");
    batched(app, s.events, parallel, bar, |tx, i| {
        let e = AuditEvent::by(&actor, "resource.update", OffsetDateTime::now_utc())
            .target("resource", keyward_bench::resource_id(i % s.resources))
            .details(json!({ "name": { "before": format!("Bench resource {i}"), "after": format!("Bench resource {i} (nightly)") } }));
        let e = AuditEvent { ip: meta.ip.clone(), user_agent: meta.user_agent.clone(), ..e };
        Box::pin(async move { tx.insert_audit(&e).await })
    })
    .await
}
