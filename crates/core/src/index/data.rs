//! The index's memory: users, memberships, resources, shares and API tokens with interned ids
//! (u32) and small vectors, plus the reverse maps a lookup needs. Pure data: loading and
//! applying changes feed it rows the store read; nothing here does I/O.

use crate::access::{Grant, Level, Subject};
use crate::model::{ApiToken, Resource, Share, User};
use crate::policy::SecurityPolicy;
use crate::types::{ResourceId, TeamId, UserId};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::hash::Hash;
use time::OffsetDateTime;

/// Ids of one kind, interned to dense u32 numbers (never reused while the process lives).
#[derive(Debug, Default)]
pub(crate) struct Ids<T: Copy + Eq + Hash> {
    by_id: HashMap<T, u32>,
    ids: Vec<T>,
}

impl<T: Copy + Eq + Hash> Ids<T> {
    pub(crate) fn get(&self, id: &T) -> Option<u32> {
        self.by_id.get(id).copied()
    }
    pub(crate) fn intern(&mut self, id: T) -> u32 {
        if let Some(n) = self.by_id.get(&id) {
            return *n;
        }
        let n = self.ids.len() as u32;
        self.ids.push(id);
        self.by_id.insert(id, n);
        n
    }
    pub(crate) fn id(&self, n: u32) -> T {
        self.ids[n as usize]
    }
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// Who a share is for, interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    User(u32),
    Team(u32),
    All,
}

/// A share as the index keeps it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShareFact {
    pub who: Who,
    pub level: Level,
    pub expires_at: Option<OffsetDateTime>,
}

/// A user and what hangs off them.
#[derive(Debug)]
pub(crate) struct UserEntry {
    /// The row as read (the password hash is never kept in memory).
    pub user: User,
    pub teams: SmallVec<[u32; 4]>,
    /// Resources the user owns, and resources shared with the user directly (for lookups).
    pub owned: Vec<u32>,
    pub shared: Vec<u32>,
    /// Hashes of the user's API tokens.
    pub tokens: SmallVec<[Box<str>; 1]>,
}

/// A resource with its shares.
#[derive(Debug)]
pub(crate) struct ResourceEntry {
    pub resource: Resource,
    pub shares: Vec<ShareFact>,
    /// For a project: its workspaces.
    pub workspaces: Vec<u32>,
}

/// An API token and whose it is.
#[derive(Debug, Clone)]
pub(crate) struct TokenEntry {
    pub token: ApiToken,
    pub user: u32,
}

/// The whole memory. `IndexData` is changed only through `put_*` / `remove_*`, which keep the
/// reverse maps in step.
#[derive(Debug, Default)]
pub(crate) struct IndexData {
    pub users: Ids<UserId>,
    pub user: Vec<Option<UserEntry>>,
    pub teams: Ids<TeamId>,
    /// Members of each team, and resources holding a share to each team.
    pub team_members: Vec<SmallVec<[u32; 8]>>,
    pub team_shared: Vec<Vec<u32>>,
    pub resources: Ids<ResourceId>,
    pub resource: Vec<Option<ResourceEntry>>,
    /// Data sources with an all-users share.
    pub all_users_shared: Vec<u32>,
    pub tokens: HashMap<Box<str>, TokenEntry>,
    /// Every resource id in order (an admin's lookup walks it).
    pub ordered: std::collections::BTreeSet<ResourceId>,
    pub policy: SecurityPolicy,
    pub shares: usize,
}

fn slot<T>(v: &mut Vec<Option<T>>, n: u32) -> &mut Option<T> {
    let i = n as usize;
    if v.len() <= i {
        v.resize_with(i + 1, || None);
    }
    &mut v[i]
}

fn grow<T: Default>(v: &mut Vec<T>, n: u32) -> &mut T {
    let i = n as usize;
    if v.len() <= i {
        v.resize_with(i + 1, T::default);
    }
    &mut v[i]
}

fn remove_from<T: PartialEq>(v: &mut impl AsMut<[T]>, len_fix: impl FnOnce(usize), x: &T) {
    let s = v.as_mut();
    if let Some(pos) = s.iter().position(|y| y == x) {
        let last = s.len() - 1;
        s.swap(pos, last);
        len_fix(last);
    }
}

fn drop_value(v: &mut Vec<u32>, x: u32) {
    let mut len = v.len();
    remove_from(v, |l| len = l, &x);
    v.truncate(len);
}

impl IndexData {
    fn user_mut(&mut self, n: u32) -> Option<&mut UserEntry> {
        self.user.get_mut(n as usize).and_then(Option::as_mut)
    }

    /// Puts (or replaces) a user's row, keeping their teams, resources and tokens.
    pub(crate) fn put_user(&mut self, mut user: User) {
        user.password_hash = None;
        let n = self.users.intern(user.id);
        match slot(&mut self.user, n) {
            Some(e) => e.user = user,
            s @ None => {
                *s = Some(UserEntry { user, teams: SmallVec::new(), owned: Vec::new(), shared: Vec::new(), tokens: SmallVec::new() })
            }
        }
    }

    /// Forgets a user (deleted); their memberships and tokens go with them.
    pub(crate) fn remove_user(&mut self, id: UserId) {
        let Some(n) = self.users.get(&id) else { return };
        self.set_teams(id, &[]);
        self.set_tokens(id, Vec::new());
        if let Some(s) = self.user.get_mut(n as usize) {
            *s = None;
        }
    }

    /// Sets the teams a user is in.
    pub(crate) fn set_teams(&mut self, user: UserId, teams: &[TeamId]) {
        let u = self.users.intern(user);
        let new: SmallVec<[u32; 4]> = teams.iter().map(|t| self.teams.intern(*t)).collect();
        let old = self.user_mut(u).map(|e| std::mem::take(&mut e.teams)).unwrap_or_default();
        for t in &old {
            let members = grow(&mut self.team_members, *t);
            let mut len = members.len();
            remove_from(members, |l| len = l, &u);
            members.truncate(len);
        }
        for t in &new {
            grow(&mut self.team_members, *t).push(u);
        }
        if let Some(e) = self.user_mut(u) {
            e.teams = new;
        }
    }

    /// Replaces the API tokens of a user.
    pub(crate) fn set_tokens(&mut self, user: UserId, tokens: Vec<ApiToken>) {
        let u = self.users.intern(user);
        let old = self.user_mut(u).map(|e| std::mem::take(&mut e.tokens)).unwrap_or_default();
        for h in old {
            self.tokens.remove(&h);
        }
        let mut hashes = SmallVec::new();
        for token in tokens {
            let h: Box<str> = token.token_hash.as_str().into();
            hashes.push(h.clone());
            self.tokens.insert(h, TokenEntry { token, user: u });
        }
        if let Some(e) = self.user_mut(u) {
            e.tokens = hashes;
        }
    }

    fn who(&mut self, s: &Subject) -> Who {
        match s {
            Subject::User(u) => Who::User(self.users.intern(*u)),
            Subject::Team(t) => Who::Team(self.teams.intern(*t)),
            Subject::AllUsers => Who::All,
        }
    }

    /// Puts (or replaces) a resource and its shares.
    pub(crate) fn put_resource(&mut self, resource: Resource, shares: &[Share]) {
        let r = self.resources.intern(resource.id);
        self.remove_resource_links(r);
        let owner = self.users.intern(resource.owner_id);
        let project = resource.project_id.map(|p| self.resources.intern(p));
        let facts: Vec<ShareFact> =
            shares.iter().map(|s| ShareFact { who: self.who(&s.subject), level: s.level, expires_at: s.expires_at }).collect();
        for f in &facts {
            self.link_share(r, f.who);
        }
        self.shares += facts.len();
        if let Some(e) = self.user_mut(owner) {
            e.owned.push(r);
        }
        if let Some(p) = project
            && let Some(Some(pe)) = self.resource.get_mut(p as usize)
        {
            pe.workspaces.push(r);
        }
        let workspaces = match slot(&mut self.resource, r).take() {
            Some(old) => old.workspaces,
            None => Vec::new(),
        };
        self.ordered.insert(resource.id);
        *slot(&mut self.resource, r) = Some(ResourceEntry { resource, shares: facts, workspaces });
    }

    /// Notes resource `r` in the reverse map of a share's subject (for lookups).
    fn link_share(&mut self, r: u32, who: Who) {
        match who {
            Who::User(u) => {
                if let Some(e) = self.user_mut(u) {
                    e.shared.push(r);
                }
            }
            Who::Team(t) => grow(&mut self.team_shared, t).push(r),
            Who::All => self.all_users_shared.push(r),
        }
    }

    /// Adds one share to a resource already put: the bulk load, where shares come in table
    /// order rather than by resource. False when the index holds no such resource (created
    /// after the resources were read; the catch-up that follows puts it whole).
    pub(crate) fn add_share(&mut self, resource: ResourceId, subject: &Subject, level: Level, expires_at: Option<OffsetDateTime>) -> bool {
        let Some(r) = self.resources.get(&resource) else { return false };
        if !matches!(self.resource.get(r as usize), Some(Some(_))) {
            return false;
        }
        let who = self.who(subject);
        self.link_share(r, who);
        self.shares += 1;
        if let Some(Some(e)) = self.resource.get_mut(r as usize) {
            e.shares.push(ShareFact { who, level, expires_at });
        }
        true
    }

    /// Gives back what growing one element at a time over-allocated (after a bulk load).
    pub(crate) fn shrink(&mut self) {
        for e in self.resource.iter_mut().flatten() {
            e.shares.shrink_to_fit();
            e.workspaces.shrink_to_fit();
        }
        for e in self.user.iter_mut().flatten() {
            e.owned.shrink_to_fit();
            e.shared.shrink_to_fit();
        }
        self.team_shared.iter_mut().for_each(Vec::shrink_to_fit);
        self.all_users_shared.shrink_to_fit();
    }

    /// Links every workspace to its project in one pass (after a bulk load, where a workspace
    /// may come before its project).
    pub(crate) fn link_workspaces(&mut self) {
        let mut links = Vec::new();
        for (i, e) in self.resource.iter().enumerate() {
            if let Some(p) = e.as_ref().and_then(|e| e.resource.project_id).and_then(|p| self.resources.get(&p)) {
                links.push((p, i as u32));
            }
        }
        for e in self.resource.iter_mut().flatten() {
            e.workspaces.clear();
        }
        for (p, w) in links {
            if let Some(Some(pe)) = self.resource.get_mut(p as usize) {
                pe.workspaces.push(w);
            }
        }
    }

    /// Takes a resource out of the reverse maps (its owner's, its shares', its project's).
    fn remove_resource_links(&mut self, r: u32) {
        let Some(Some(old)) = self.resource.get(r as usize) else { return };
        let owner = self.users.get(&old.resource.owner_id);
        let project = old.resource.project_id.and_then(|p| self.resources.get(&p));
        let shares = old.shares.clone();
        self.shares -= shares.len();
        if let Some(o) = owner
            && let Some(e) = self.user_mut(o)
        {
            drop_value(&mut e.owned, r);
        }
        for f in shares {
            match f.who {
                Who::User(u) => {
                    if let Some(e) = self.user_mut(u) {
                        drop_value(&mut e.shared, r);
                    }
                }
                Who::Team(t) => drop_value(grow(&mut self.team_shared, t), r),
                Who::All => drop_value(&mut self.all_users_shared, r),
            }
        }
        if let Some(p) = project
            && let Some(Some(pe)) = self.resource.get_mut(p as usize)
        {
            drop_value(&mut pe.workspaces, r);
        }
    }

    /// Forgets a resource (deleted); its shares go with it.
    pub(crate) fn remove_resource(&mut self, id: ResourceId) {
        let Some(r) = self.resources.get(&id) else { return };
        self.remove_resource_links(r);
        self.ordered.remove(&id);
        if let Some(s) = self.resource.get_mut(r as usize) {
            *s = None;
        }
    }

    /// The resources holding a share to `team` (to reload when the team goes).
    pub(crate) fn shared_with_team(&self, team: TeamId) -> Vec<ResourceId> {
        let Some(t) = self.teams.get(&team) else { return Vec::new() };
        self.team_shared.get(t as usize).map(|v| v.iter().map(|r| self.resources.id(*r)).collect()).unwrap_or_default()
    }

    /// The members of `team` as the index knows them.
    pub(crate) fn members_of(&self, team: TeamId) -> Vec<UserId> {
        let Some(t) = self.teams.get(&team) else { return Vec::new() };
        self.team_members.get(t as usize).map(|v| v.iter().map(|u| self.users.id(*u)).collect()).unwrap_or_default()
    }

    pub(crate) fn resource_entry(&self, id: ResourceId) -> Option<&ResourceEntry> {
        self.resources.get(&id).and_then(|n| self.resource.get(n as usize)).and_then(Option::as_ref)
    }

    pub(crate) fn resource_at(&self, n: u32) -> Option<&ResourceEntry> {
        self.resource.get(n as usize).and_then(Option::as_ref)
    }

    /// The user's team ids.
    pub(crate) fn team_ids(&self, e: &UserEntry) -> SmallVec<[TeamId; 4]> {
        e.teams.iter().map(|t| self.teams.id(*t)).collect()
    }

    /// The shares on `r` that reach the user `u` (their own, their teams', everyone's), as grants.
    pub(crate) fn grants_into(&self, r: &ResourceEntry, u: u32, teams: &[u32], via_project: bool, out: &mut Vec<Grant>) {
        for f in &r.shares {
            let subject = match f.who {
                Who::User(x) if x == u => Subject::User(self.users.id(x)),
                Who::Team(t) if teams.contains(&t) => Subject::Team(self.teams.id(t)),
                Who::All => Subject::AllUsers,
                _ => continue,
            };
            out.push(Grant { subject, level: f.level, expires_at: f.expires_at, via_project });
        }
    }
}
