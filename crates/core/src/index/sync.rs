//! Keeping every node's index exact. The guarantee (docs/architecture.md): a change acknowledged
//! to its caller holds on every node for every request that starts after the acknowledgement.
//!
//! - Every write transaction that changes access data ends by taking the next change-log
//!   sequence and recording what it changed (the store does it, so no write path can forget).
//! - After commit, the writer's own node catches up from the change log, then the writer waits
//!   until every other ready node with a live lease has applied the sequence, or its lease ran out.
//! - Nodes learn of changes by PostgreSQL NOTIFY (SQLite: by polling the log), reload what
//!   changed, and record the sequence they applied in their lease row.
//! - A node renews a short lease every `RENEW`; memory answers only inside it. A node whose lease
//!   lapsed (a pause, a partition) answers from the database until it has renewed and caught up.

use super::data::IndexData;
use super::{AuthzIndex, Change, wall_ms};
use crate::error::Result;
use crate::model::Share;
use crate::policy::{SECURITY_POLICY_KEY, SecurityPolicy};
use crate::store::{CommitHook, IndexRow, NodeLease, Store, Tx};
use crate::types::{ResourceId, TeamId, UserId};
use async_trait::async_trait;
use smallvec::SmallVec;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a lease lasts, and how often it is renewed.
pub const LEASE_MS: i64 = 1000;
/// How often a node renews its lease.
pub const RENEW: Duration = Duration::from_millis(200);
/// Memory stops answering this long before the lease others see runs out (clock slack).
const MARGIN_MS: i64 = 150;
/// How often the change log is read without being told (SQLite; a backstop on PostgreSQL).
const POLL: Duration = Duration::from_millis(50);
/// Rows read per page when loading and catching up.
const PAGE: i64 = 20_000;
/// Shares between two progress lines of the load.
const PROGRESS: usize = 200_000;

/// One node's index and its place among the nodes.
pub struct Node {
    /// The node's name in the `nodes` table (`node-<uuid>`), fresh at each start.
    pub id: String,
    index: Arc<AuthzIndex>,
    store: Arc<dyn Store>,
    started_at: i64,
    /// Serialises catching up (the commit hook, the listener and the lease loop all do it).
    catching_up: tokio::sync::Mutex<()>,
    /// Another node had a live lease at the last renewal: acknowledge at once after applying.
    others_alive: AtomicBool,
    /// Set by `stop`: the loops end and the lease is not renewed again.
    stopped: AtomicBool,
    /// Serialises writing the lease row (renewals and `stop`).
    lease_row: tokio::sync::Mutex<()>,
}

/// The commit hook: the writer's node catches up, then the writer waits for the other nodes.
pub struct Cluster {
    store: Arc<dyn Store>,
    node: Option<Arc<Node>>,
}

impl Cluster {
    /// A writer that holds no index (the command line): it only waits for the nodes.
    pub fn writer_only(store: Arc<dyn Store>) -> Arc<Cluster> {
        Arc::new(Cluster { store, node: None })
    }

    /// The hook of a serving node.
    pub fn for_node(node: Arc<Node>) -> Arc<Cluster> {
        Arc::new(Cluster { store: node.store.clone(), node: Some(node) })
    }
}

#[async_trait]
impl CommitHook for Cluster {
    async fn committed(&self, seq: i64) {
        let me = match &self.node {
            Some(node) => {
                if let Err(e) = node.catch_up().await {
                    // Memory may now be behind: stop answering from it until the lease loop
                    // has caught up again.
                    node.index.set_usable_until(0);
                    tracing::warn!(error = %e, "could not apply a committed change to the index");
                }
                if node.others_alive.load(Ordering::Acquire) {
                    node.acknowledge().await;
                }
                node.id.as_str()
            }
            None => "",
        };
        if let Err(e) = wait_for_nodes(self.store.as_ref(), seq, me).await {
            tracing::warn!(error = %e, "could not learn whether every node applied a change");
        }
    }
}

/// Waits until every ready node with a live lease (but `me`) has applied `seq`, or its lease
/// has run out.
pub async fn wait_for_nodes(store: &dyn Store, seq: i64, me: &str) -> Result<()> {
    let mut pause = Duration::from_micros(500);
    loop {
        let now = wall_ms();
        let behind: Vec<NodeLease> =
            store.read().await?.live_nodes(now).await?.into_iter().filter(|n| n.ready && n.id != me && n.applied_seq < seq).collect();
        if behind.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

impl Node {
    /// Registers the node, loads the whole index, becomes ready and starts the loops that keep
    /// it exact. Answers once memory may answer.
    pub async fn start(store: Arc<dyn Store>, index: Arc<AuthzIndex>) -> Result<Arc<Node>> {
        let id = format!("node-{}", uuid::Uuid::now_v7().simple());
        let node = Arc::new(Node {
            id,
            index,
            store,
            started_at: wall_ms(),
            catching_up: tokio::sync::Mutex::new(()),
            others_alive: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            lease_row: tokio::sync::Mutex::new(()),
        });
        node.renew(false).await?;
        node.load().await?;
        // Ready first, then catch up: a writer that commits after this sees the node and waits
        // for it; one that committed before is in the log the catch-up reads.
        let start = wall_ms();
        node.renew(true).await?;
        node.catch_up().await?;
        node.index.set_usable_until(start + LEASE_MS - MARGIN_MS);
        node.acknowledge().await;
        let lease = node.clone();
        tokio::spawn(async move { lease.lease_loop().await });
        let listen = node.clone();
        tokio::spawn(async move { listen.listen_loop().await });
        Ok(node)
    }

    /// Leaves the cluster: writers stop waiting for this node at once.
    pub async fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.index.set_usable_until(0);
        let _row = self.lease_row.lock().await;
        if let Ok(mut tx) = self.store.write().await
            && tx.remove_node(&self.id).await.is_ok()
        {
            let _ = tx.commit().await;
        }
    }

    async fn renew(&self, ready: bool) -> Result<()> {
        let _row = self.lease_row.lock().await;
        if self.stopped.load(Ordering::Acquire) {
            return Ok(());
        }
        let now = wall_ms();
        let mut tx = self.store.write().await?;
        let lease = NodeLease {
            id: self.id.clone(),
            started_at: self.started_at,
            lease_until: now + LEASE_MS,
            applied_seq: self.index.applied_seq(),
            ready,
        };
        tx.put_node(&lease).await?;
        let others = tx.live_nodes(now).await?.iter().any(|n| n.id != self.id);
        tx.commit().await?;
        self.others_alive.store(others, Ordering::Release);
        Ok(())
    }

    /// Records the applied sequence in the lease row, for writers waiting on this node.
    async fn acknowledge(&self) {
        if let Err(e) = self.renew(true).await {
            tracing::warn!(error = %e, "could not acknowledge applied changes");
        }
    }

    async fn lease_loop(self: Arc<Self>) {
        while !self.stopped.load(Ordering::Acquire) {
            tokio::time::sleep(RENEW).await;
            if self.stopped.load(Ordering::Acquire) {
                return;
            }
            let start = wall_ms();
            let lapsed = !self.index.usable();
            if lapsed {
                self.index.set_usable_until(0);
            }
            match self.renew(true).await {
                Ok(()) => {
                    // After a lapse, writers went on without this node: catch up before memory answers.
                    if lapsed && let Err(e) = self.catch_up().await {
                        tracing::warn!(error = %e, "could not catch up after the lease lapsed");
                        continue;
                    }
                    if lapsed {
                        self.acknowledge().await;
                        tracing::info!(node = %self.id, "lease renewed after a lapse; the index caught up");
                    }
                    self.index.set_usable_until(start + LEASE_MS - MARGIN_MS);
                }
                Err(e) => tracing::warn!(error = %e, "could not renew the node's lease"),
            }
        }
    }

    async fn listen_loop(self: Arc<Self>) {
        let mut listener = match self.store.change_listener().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "no change notifications; polling the change log");
                None
            }
        };
        while !self.stopped.load(Ordering::Acquire) {
            match listener.as_mut() {
                Some(l) => {
                    if tokio::time::timeout(POLL * 4, l.next()).await.is_ok_and(|r| r.is_err()) {
                        listener = None;
                    }
                }
                None => tokio::time::sleep(POLL).await,
            }
            let behind = match self.store.read().await {
                Ok(mut tx) => tx.authz_seq().await.map(|s| s > self.index.applied_seq()).unwrap_or(false),
                Err(_) => false,
            };
            if behind {
                match self.catch_up().await {
                    Ok(()) => self.acknowledge().await,
                    Err(e) => tracing::warn!(error = %e, "could not apply committed changes"),
                }
            }
        }
    }

    /// Reads the change log after the applied sequence and applies it, page by page.
    pub async fn catch_up(&self) -> Result<()> {
        let _one = self.catching_up.lock().await;
        loop {
            let mut tx = self.store.read().await?;
            let applied = self.index.applied_seq();
            let (rows, more) = whole_transactions(tx.as_mut(), applied).await?;
            let Some(last) = rows.last().map(|(s, _)| *s) else { return Ok(()) };
            // Sequences have no gaps, so a gap means the rows this node needed were pruned (it
            // was away for longer than the log keeps): it reloads everything instead.
            if rows.first().is_some_and(|(first, _)| *first > applied + 1) {
                drop(tx);
                tracing::warn!(node = %self.id, applied, "the change log no longer holds what this node missed; reloading the index");
                self.load().await?;
                continue;
            }
            let changes: BTreeSet<Change> = rows.iter().map(|(_, c)| *c).collect();
            apply(&self.index, tx.as_mut(), &changes).await?;
            self.index.set_applied(last);
            if !more {
                return Ok(());
            }
        }
    }

    /// Loads everything afresh, streaming page by page, and logs progress.
    async fn load(&self) -> Result<()> {
        let started = std::time::Instant::now();
        let mut tx = self.store.read().await?;
        // The sequence first: whatever commits while loading is applied again by the catch-up.
        let seq = tx.authz_seq().await?;
        let data = load_all(self.store.as_ref(), tx.as_mut()).await?;
        let (users, resources, shares) = (data.user.len(), data.ordered.len(), data.shares);
        self.index.replace(data, seq);
        tracing::info!(users, resources, shares, seq, ms = started.elapsed().as_millis() as u64, "authorization index loaded");
        Ok(())
    }
}

/// The next page of the change log after `applied`, cut at a transaction's edge: a page that
/// ended inside one transaction's changes would mark it applied with the rest unread. Answers
/// whether more may follow.
async fn whole_transactions(tx: &mut dyn Tx, applied: i64) -> Result<(Vec<(i64, Change)>, bool)> {
    let mut limit = PAGE;
    loop {
        let mut rows = tx.authz_changes_after(applied, limit).await?;
        if (rows.len() as i64) < limit {
            return Ok((rows, false));
        }
        let last = rows.last().map(|(s, _)| *s).unwrap_or(applied);
        let cut = rows.iter().position(|(s, _)| *s == last).unwrap_or(0);
        if cut > 0 {
            rows.truncate(cut);
            return Ok((rows, true));
        }
        // One transaction filled the whole page: read it whole.
        limit *= 2;
    }
}

/// Reads every user, membership, resource, share and token into a new index memory: all but
/// the tokens streamed by the store (one query per table, one snapshot) and put in place as
/// they come; the few tokens page by page.
pub(crate) async fn load_all(store: &dyn Store, tx: &mut dyn Tx) -> Result<IndexData> {
    let started = std::time::Instant::now();
    let mut d = IndexData::default();
    let mut teams: HashMap<UserId, SmallVec<[TeamId; 4]>> = HashMap::new();
    let (mut resources, mut shares, mut announced) = (0usize, 0usize, false);
    store
        .stream_index_rows(&mut |row| {
            if !announced && matches!(row, IndexRow::Member(..) | IndexRow::Share { .. }) {
                announced = true;
                let (users, ms) = (d.user.len(), started.elapsed().as_millis() as u64);
                tracing::info!(users, resources, ms, "loading the authorization index: users and resources read");
            }
            match row {
                IndexRow::User(u) => d.put_user(u),
                IndexRow::Resource(r) => {
                    d.put_resource(r, &[]);
                    resources += 1;
                }
                IndexRow::Member(t, u) => teams.entry(u).or_default().push(t),
                IndexRow::Share { resource, subject, level, expires_at } => {
                    d.add_share(resource, &subject, level, expires_at);
                    shares += 1;
                    if shares.is_multiple_of(PROGRESS) {
                        tracing::info!(shares, ms = started.elapsed().as_millis() as u64, "loading the authorization index");
                    }
                }
            }
            Ok(())
        })
        .await?;
    d.link_workspaces();
    for (u, ts) in teams {
        d.set_teams(u, &ts);
    }
    let mut tokens: HashMap<UserId, Vec<crate::model::ApiToken>> = HashMap::new();
    let mut after = None;
    loop {
        let page = tx.api_tokens_page(after, PAGE).await?;
        after = page.last().map(|t| t.id);
        let n = page.len() as i64;
        page.into_iter().for_each(|t| tokens.entry(t.user_id).or_default().push(t));
        if n < PAGE {
            break;
        }
    }
    for (u, ts) in tokens {
        d.set_tokens(u, ts);
    }
    d.policy = policy(tx).await?;
    d.shrink();
    Ok(d)
}

async fn policy(tx: &mut dyn Tx) -> Result<SecurityPolicy> {
    Ok(match tx.setting(SECURITY_POLICY_KEY).await? {
        Some(json) => serde_json::from_str(&json).map_err(crate::Error::internal)?,
        None => SecurityPolicy::default(),
    })
}

/// What reloading a change read, applied under the write lock in one go.
enum Loaded {
    User(UserId, Option<crate::model::User>, Vec<TeamId>),
    Teams(UserId, Vec<TeamId>),
    Tokens(UserId, Vec<crate::model::ApiToken>),
    Resource(ResourceId, Option<(crate::model::Resource, Vec<Share>)>),
    Policy(SecurityPolicy),
}

/// Reloads each changed thing from the database and puts it into the index.
pub async fn apply(index: &AuthzIndex, tx: &mut dyn Tx, changes: &BTreeSet<Change>) -> Result<()> {
    let mut loaded = Vec::with_capacity(changes.len());
    let mut resources: BTreeSet<ResourceId> = BTreeSet::new();
    for c in changes {
        match *c {
            Change::User(u) => {
                let user = tx.user_by_id(u).await?;
                let teams = if user.is_some() { tx.teams_of(u).await? } else { Vec::new() };
                loaded.push(Loaded::User(u, user, teams));
            }
            Change::Tokens(u) => loaded.push(Loaded::Tokens(u, tx.api_tokens_of(u).await?)),
            Change::Team(t) => {
                let mut users: BTreeSet<UserId> = index.peek(|d| d.members_of(t)).into_iter().collect();
                users.extend(tx.team_members(t).await?.into_iter().map(|u| u.id));
                for u in users {
                    loaded.push(Loaded::Teams(u, tx.teams_of(u).await?));
                }
                resources.extend(index.peek(|d| d.shared_with_team(t)));
            }
            Change::Resource(r) => {
                resources.insert(r);
            }
            Change::Policy => loaded.push(Loaded::Policy(policy(tx).await?)),
        }
    }
    for r in resources {
        let row = match tx.resource_by_id(r).await? {
            Some(res) => Some((res, tx.shares_of(r).await?)),
            None => None,
        };
        loaded.push(Loaded::Resource(r, row));
    }
    index.with_data(|d| {
        for l in loaded {
            match l {
                Loaded::User(id, Some(user), teams) => {
                    d.put_user(user);
                    d.set_teams(id, &teams);
                }
                Loaded::User(id, None, _) => d.remove_user(id),
                Loaded::Teams(id, teams) => d.set_teams(id, &teams),
                Loaded::Tokens(id, tokens) => d.set_tokens(id, tokens),
                Loaded::Resource(_, Some((res, shares))) => d.put_resource(res, &shares),
                Loaded::Resource(id, None) => d.remove_resource(id),
                Loaded::Policy(p) => d.policy = p,
            }
        }
    });
    Ok(())
}
