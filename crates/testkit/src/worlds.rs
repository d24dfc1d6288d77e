//! Random worlds of users, roles, teams, projects, workspaces, shares, expiries and
//! deactivations, and a small, obviously correct reference evaluator of DESIGN.md §2 that
//! shares nothing with the core. The property tests compare the core's answers with it.

use keyward_core::access::{Action, Kind, Level};
use keyward_core::types::Role;
use proptest::prelude::*;

#[derive(Debug, Clone)]
pub struct U {
    pub role: Role,
    pub active: bool,
}

/// A data source's visibility, as DESIGN.md §2 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V {
    Private,
    AllUsers,
    Specific,
}

#[derive(Debug, Clone)]
pub struct R {
    pub kind: Kind,
    pub owner: usize,
    /// For workspaces: index of a project resource.
    pub project: Option<usize>,
    /// Data sources: who may use it; every other kind is `Specific` (its shares apply).
    pub visibility: V,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S {
    User(usize),
    Team(usize),
    All,
}

#[derive(Debug, Clone)]
pub struct Sh {
    pub resource: usize,
    pub subject: S,
    pub edit: bool,
    /// Minutes from now; negative is expired, None is forever.
    pub expires_in: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct World {
    pub users: Vec<U>,
    /// teams[t] = member user indexes.
    pub teams: Vec<Vec<usize>>,
    pub resources: Vec<R>,
    pub shares: Vec<Sh>,
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Admin), Just(Role::Developer), Just(Role::DataScientist), Just(Role::Viewer)]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

pub fn world() -> impl Strategy<Value = World> {
    (1usize..6, 0usize..4, 1usize..7).prop_flat_map(|(nu, nt, nr)| {
        let users = prop::collection::vec((role(), prop::bool::weighted(0.85)).prop_map(|(role, active)| U { role, active }), nu);
        let teams = prop::collection::vec(prop::collection::vec(0..nu, 0..nu + 1), nt);
        let vis = prop_oneof![Just(V::Private), Just(V::AllUsers), Just(V::Specific)];
        let resources = prop::collection::vec((kind(), 0..nu, 0..nr, vis), nr);
        let subject = prop_oneof![(0..nu).prop_map(S::User), (0..nt.max(1)).prop_map(S::Team), Just(S::All)];
        let shares = prop::collection::vec((0..nr, subject, any::<bool>(), prop::option::of(-120i64..120)), 0..10);
        (users, teams, resources, shares).prop_map(move |(users, teams, raw, shares)| {
            // A workspace points at a project when one exists; otherwise it becomes a project.
            let kinds: Vec<Kind> = raw.iter().map(|r| r.0).collect();
            let projects: Vec<usize> = kinds.iter().enumerate().filter(|(_, k)| **k == Kind::Project).map(|(i, _)| i).collect();
            let resources = raw
                .iter()
                .map(|(k, owner, p, v)| {
                    let visibility = if *k == Kind::DataSource { *v } else { V::Specific };
                    match k {
                        Kind::Workspace if !projects.is_empty() => {
                            R { kind: *k, owner: *owner, project: Some(projects[p % projects.len()]), visibility }
                        }
                        Kind::Workspace => R { kind: Kind::Project, owner: *owner, project: None, visibility },
                        _ => R { kind: *k, owner: *owner, project: None, visibility },
                    }
                })
                .collect();
            // One share per resource and subject, as the store keeps them (the last one wins).
            let mut kept: Vec<Sh> = Vec::new();
            for (resource, subject, edit, expires_in) in
                shares.into_iter().filter(|(_, s, _, _)| !matches!(s, S::Team(t) if *t >= teams.len()))
            {
                kept.retain(|k| !(k.resource == resource && k.subject == subject));
                kept.push(Sh { resource, subject, edit, expires_in });
            }
            let shares = kept;
            World { users, teams, resources, shares }
        })
    })
}

/// The reference: DESIGN.md §2 read literally, with nothing shared with the core.
pub fn reference(w: &World, u: usize, r: usize) -> u8 {
    let user = &w.users[u];
    let res = &w.resources[r];
    if !user.active {
        return 0;
    }
    if user.role == Role::Admin {
        return 3;
    }
    let mut best = if res.owner == u { 3 } else { 0 };
    // The owner of a workspace's project has full access to it.
    if res.kind == Kind::Workspace && res.project.is_some_and(|p| w.resources[p].owner == u) {
        best = 3;
    }
    // On a data source only the shares its visibility names count.
    let specific = res.kind != Kind::DataSource || res.visibility == V::Specific;
    for s in &w.shares {
        let on_it = s.resource == r || (res.kind == Kind::Workspace && Some(s.resource) == res.project);
        let live = s.expires_in.is_none_or(|m| m > 0);
        let me = match s.subject {
            S::User(x) => x == u && specific,
            S::Team(t) => w.teams[t].contains(&u) && specific,
            S::All => res.kind == Kind::DataSource && res.visibility == V::AllUsers,
        };
        if on_it && live && me {
            best = best.max(if s.edit { 2 } else { 1 });
        }
    }
    if user.role == Role::Viewer {
        best = if res.kind == Kind::DataSource { 0 } else { best.min(1) };
    }
    best
}

pub fn reference_allows(level: u8, action: Action, kind: Kind) -> bool {
    let applies = match action {
        Action::ReadLogs | Action::Run => kind == Kind::Workflow,
        Action::Use => kind == Kind::DataSource,
        _ => true,
    };
    let needs = match action {
        Action::View | Action::ReadLogs | Action::Use => 1,
        Action::Edit | Action::Run | Action::Share => 2,
        Action::Delete => 3,
    };
    applies && level >= needs
}

pub fn level_number(l: Level) -> u8 {
    match l {
        Level::None => 0,
        Level::View => 1,
        Level::Edit => 2,
        Level::Full => 3,
    }
}
