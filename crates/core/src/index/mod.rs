//! The authorization index: each node's memory of users, memberships, resources, shares and
//! API tokens, so that a check, a batch, an explain and a token authentication run no SQL in the
//! steady state. `access::decide` stays the one rule: the index only gathers its facts.
//!
//! It changes only through the change log (`sync`): every write transaction that touches access
//! data records what it changed in the same transaction, and nodes reload those things. A node
//! answers from memory only while it holds a live lease and has caught up (`usable`); otherwise
//! callers take the database path.

mod change;
mod data;
pub mod sync;

pub use change::Change;

use crate::access::{self, Action, Decision, Facts, Kind};
use crate::model::{ApiToken, Resource, User};
use crate::policy::SecurityPolicy;
use crate::types::{ResourceId, UserId};
use data::IndexData;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

/// Wall-clock unix milliseconds (leases are about real time, whatever the core's clock says).
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// What a decision could not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// No such user (or deleted).
    User,
    /// No such resource (or deleted).
    Resource,
}

/// Sizes of what the index holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// Users held.
    pub users: usize,
    /// Teams known (by membership or share).
    pub teams: usize,
    /// Resources held.
    pub resources: usize,
    /// Shares held.
    pub shares: usize,
    /// API tokens held.
    pub tokens: usize,
    /// The last change-log sequence applied.
    pub applied_seq: i64,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct AuthzIndex {
    data: RwLock<IndexData>,
    /// The last change-log sequence applied.
    applied: AtomicI64,
    /// Wall-clock ms until which memory may answer (0: not loaded, or the lease lapsed).
    usable_until: AtomicI64,
}

impl AuthzIndex {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, IndexData> {
        self.data.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, IndexData> {
        self.data.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether memory may answer now.
    pub fn usable(&self) -> bool {
        wall_ms() < self.usable_until.load(Ordering::Acquire)
    }

    /// Lets memory answer until `until` (wall-clock ms), or stops it (0).
    pub(crate) fn set_usable_until(&self, until: i64) {
        self.usable_until.store(until, Ordering::Release);
    }

    /// The last change-log sequence applied.
    pub fn applied_seq(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    pub(crate) fn set_applied(&self, seq: i64) {
        self.applied.fetch_max(seq, Ordering::AcqRel);
    }

    /// What the index holds.
    pub fn stats(&self) -> IndexStats {
        let d = self.read();
        IndexStats {
            users: d.user.iter().flatten().count(),
            teams: d.teams.len(),
            resources: d.resource.iter().flatten().count(),
            shares: d.shares,
            tokens: d.tokens.len(),
            applied_seq: self.applied_seq(),
        }
    }

    /// An index built from rows in memory that answers until dropped (property tests and
    /// benchmarks; a serving node loads through `sync::Node`).
    pub fn from_rows(
        users: Vec<User>,
        memberships: &[(crate::types::TeamId, UserId)],
        resources: Vec<Resource>,
        shares: &[crate::model::Share],
        tokens: Vec<ApiToken>,
    ) -> AuthzIndex {
        let mut d = IndexData::default();
        users.into_iter().for_each(|u| d.put_user(u));
        let mut teams: std::collections::HashMap<UserId, Vec<crate::types::TeamId>> = std::collections::HashMap::new();
        for (t, u) in memberships {
            teams.entry(*u).or_default().push(*t);
        }
        for (u, ts) in teams {
            d.set_teams(u, &ts);
        }
        let mut by_resource: std::collections::HashMap<ResourceId, Vec<crate::model::Share>> = std::collections::HashMap::new();
        for s in shares {
            by_resource.entry(s.resource_id).or_default().push(s.clone());
        }
        for r in resources {
            let shares = by_resource.remove(&r.id).unwrap_or_default();
            d.put_resource(r, &shares);
        }
        d.link_workspaces();
        let mut by_user: std::collections::HashMap<UserId, Vec<ApiToken>> = std::collections::HashMap::new();
        for t in tokens {
            by_user.entry(t.user_id).or_default().push(t);
        }
        for (u, ts) in by_user {
            d.set_tokens(u, ts);
        }
        let index = AuthzIndex::default();
        index.replace(d, 0);
        index.set_usable_until(i64::MAX);
        index
    }

    /// Replaces the whole memory (a fresh load) as of `seq`.
    pub(crate) fn replace(&self, data: IndexData, seq: i64) {
        *self.write() = data;
        self.applied.store(seq, Ordering::Release);
    }

    /// The decision for `user` on `resource` and the resource's kind; `None` when memory may not
    /// answer now.
    pub fn decision(&self, user: UserId, resource: ResourceId, now: OffsetDateTime) -> Option<Result<(Decision, Kind), Missing>> {
        if !self.usable() {
            return None;
        }
        let d = self.read();
        Some(decide_in(&d, user, resource, now))
    }

    /// Many decisions under one look at memory.
    pub fn decisions(
        &self,
        pairs: impl Iterator<Item = (UserId, ResourceId)>,
        now: OffsetDateTime,
    ) -> Option<Vec<Result<(Decision, Kind), Missing>>> {
        if !self.usable() {
            return None;
        }
        let d = self.read();
        Some(pairs.map(|(u, r)| decide_in(&d, u, r, now)).collect())
    }

    /// The decision with the resource itself (for `explain` and pages).
    pub fn resource_decision(
        &self,
        user: UserId,
        resource: ResourceId,
        now: OffsetDateTime,
    ) -> Option<Result<(Resource, Decision), Missing>> {
        if !self.usable() {
            return None;
        }
        let d = self.read();
        Some(
            decide_in(&d, user, resource, now)
                .map(|(decision, _)| {
                    let r = d.resource_entry(resource).map(|e| e.resource.clone());
                    (r, decision)
                })
                .and_then(|(r, decision)| r.map(|r| (r, decision)).ok_or(Missing::Resource)),
        )
    }

    /// An API token and its user by the token's hash; `None` when memory may not answer now,
    /// `Some(None)` when there is no such token.
    pub fn token(&self, hash: &str) -> Option<Option<(ApiToken, User)>> {
        if !self.usable() {
            return None;
        }
        let d = self.read();
        Some(d.tokens.get(hash).and_then(|t| {
            let user = d.user.get(t.user as usize)?.as_ref()?.user.clone();
            Some((t.token.clone(), user))
        }))
    }

    /// The security policy as of the last applied change; `None` when memory may not answer.
    pub fn policy(&self) -> Option<SecurityPolicy> {
        self.usable().then(|| self.read().policy.clone())
    }

    /// The resources (ids ascending, after `after`) on which `user` may do `action`, of `kind`
    /// if given, at most `limit`; `None` when memory may not answer, `Some(None)` for no such user.
    pub fn lookup(
        &self,
        user: UserId,
        action: Action,
        kind: Option<Kind>,
        after: Option<ResourceId>,
        limit: usize,
        now: OffsetDateTime,
    ) -> Option<Option<Vec<ResourceId>>> {
        if !self.usable() {
            return None;
        }
        let d = self.read();
        let Some(u) = d.users.get(&user) else { return Some(None) };
        let Some(e) = d.user.get(u as usize).and_then(Option::as_ref) else { return Some(None) };
        let mut out = Vec::new();
        let consider = |id: ResourceId, out: &mut Vec<ResourceId>| {
            let Some(re) = d.resource_entry(id) else { return };
            if kind.is_some_and(|k| re.resource.kind != k) {
                return;
            }
            if let Ok((decision, k)) = decide_in(&d, user, id, now)
                && access::allows(&decision, action, k)
            {
                out.push(id);
            }
        };
        if e.user.role == crate::types::Role::Admin {
            // An admin may reach everything: walk the resources in order, from the cursor.
            let from = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
            for id in d.ordered.range((from, std::ops::Bound::Unbounded)) {
                consider(*id, &mut out);
                if out.len() >= limit {
                    break;
                }
            }
            return Some(Some(out));
        }
        // Everyone else: what they own, what is shared with them, their teams or everyone, and
        // the workspaces of each of those projects.
        let mut candidates: Vec<u32> = e.owned.iter().chain(&e.shared).chain(&d.all_users_shared).copied().collect();
        for t in &e.teams {
            if let Some(v) = d.team_shared.get(*t as usize) {
                candidates.extend(v);
            }
        }
        let direct = candidates.len();
        for i in 0..direct {
            if let Some(pe) = d.resource_at(candidates[i]) {
                candidates.extend(&pe.workspaces);
            }
        }
        let mut ids: Vec<ResourceId> =
            candidates.into_iter().map(|r| d.resources.id(r)).filter(|id| after.is_none_or(|a| *id > a)).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            consider(id, &mut out);
            if out.len() >= limit {
                break;
            }
        }
        Some(Some(out))
    }

    /// Runs `f` on the memory for writing (the sync module's way in).
    pub(crate) fn with_data<T>(&self, f: impl FnOnce(&mut IndexData) -> T) -> T {
        f(&mut self.write())
    }

    /// Runs `f` on the memory for reading.
    pub(crate) fn peek<T>(&self, f: impl FnOnce(&IndexData) -> T) -> T {
        f(&self.read())
    }
}

/// Gathers the facts of one decision from memory and asks the rule.
fn decide_in(d: &IndexData, user: UserId, resource: ResourceId, now: OffsetDateTime) -> Result<(Decision, Kind), Missing> {
    let u = d.users.get(&user).ok_or(Missing::User)?;
    let ue = d.user.get(u as usize).and_then(Option::as_ref).ok_or(Missing::User)?;
    let re = d.resource_entry(resource).ok_or(Missing::Resource)?;
    let project = re.resource.project_id.and_then(|p| d.resource_entry(p));
    let mut grants = Vec::with_capacity(re.shares.len().min(8));
    d.grants_into(re, u, &ue.teams, false, &mut grants);
    if let Some(p) = project {
        d.grants_into(p, u, &ue.teams, true, &mut grants);
    }
    let teams = d.team_ids(ue);
    let decision = access::decide(&Facts {
        user_id: user,
        role: ue.user.role,
        can_act: ue.user.can_act(now),
        teams: &teams,
        kind: re.resource.kind,
        owner_id: re.resource.owner_id,
        project_owner_id: project.filter(|_| re.resource.kind == Kind::Workspace).map(|p| p.resource.owner_id),
        visibility: re.resource.visibility,
        grants: &grants,
        now,
    });
    Ok((decision, re.resource.kind))
}
