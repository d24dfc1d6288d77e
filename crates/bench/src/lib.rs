//! The benchmark world: its sizes and its rows, made the same way for the store (the
//! `keyward-bench` binary seeds them) and for memory (the criterion suite builds an index of
//! them). Every id is derived from its row's number, so a measurement can name any user or
//! resource without reading it back.

use keyward_core::access::{Kind, Level, Subject, Visibility};
use keyward_core::index::AuthzIndex;
use keyward_core::model::{Quotas, Resource, Share, Team, User};
use keyward_core::types::{Email, FullName, ResourceId, Role, ShareId, TeamId, UserId, UserStatus};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How many shares each resource gets in the big world; the small world has the first one.
pub const SHARES_PER_RESOURCE: usize = 10;

/// The password every seeded user has (its hash is computed once and stored for everyone).
pub const PASSWORD: &str = "Bench-User-Passw0rd!";

/// The sizes of a world.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub users: usize,
    pub teams: usize,
    pub resources: usize,
    pub events: usize,
}

impl Sizes {
    /// Issue 12's world: 100,000 users, 10,000 teams of about 20, 100,000 resources,
    /// 1,000,000 shares, 1,000,000 audit events.
    pub const FULL: Sizes = Sizes { users: 100_000, teams: 10_000, resources: 100_000, events: 1_000_000 };
    /// A tenth of it, for `--quick`.
    pub const QUICK: Sizes = Sizes { users: 10_000, teams: 1_000, resources: 10_000, events: 100_000 };
    /// A hundredth, to try the benchmark itself out.
    pub const TINY: Sizes = Sizes { users: 1_000, teams: 100, resources: 1_000, events: 1_000 };

    /// The share count of the small world (one share per resource).
    pub fn small_shares(&self) -> usize {
        self.resources
    }

    /// The share count of the big world.
    pub fn big_shares(&self) -> usize {
        self.resources * SHARES_PER_RESOURCE
    }
}

fn id(class: u128, i: usize) -> Uuid {
    // A version-7 layout (version nibble 7, variant 10) with the class and the row number in
    // the low bits, so ids sort by row number within a class.
    Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0000 | (class << 48) | i as u128)
}

pub fn user_id(i: usize) -> UserId {
    UserId(id(1, i))
}

pub fn team_id(i: usize) -> TeamId {
    TeamId(id(2, i))
}

pub fn resource_id(i: usize) -> ResourceId {
    ResourceId(id(3, i))
}

fn share_id(r: usize, k: usize) -> ShareId {
    ShareId(id(4, r * SHARES_PER_RESOURCE + k))
}

pub fn email(i: usize) -> String {
    format!("user{i}@bench.example")
}

/// User `i`: active, one of the three non-admin roles, with the shared password hash.
pub fn user(i: usize, password_hash: &str, now: OffsetDateTime) -> User {
    let role = [Role::Developer, Role::DataScientist, Role::Viewer][i % 3];
    let email = Email::parse(&email(i)).expect("a valid email");
    let name = FullName::parse(&format!("Bench User {i}")).expect("a valid name");
    User {
        id: user_id(i),
        status: UserStatus::Active,
        password_hash: Some(password_hash.to_owned()),
        ..User::invited(&email, &name, role, now)
    }
}

pub fn team(i: usize, now: OffsetDateTime) -> Team {
    Team {
        id: team_id(i),
        name: format!("Bench team {i}"),
        description: String::new(),
        lead_id: None,
        quotas: Quotas::default(),
        created_at: now,
        updated_at: now,
    }
}

/// The two teams user `u` belongs to (distinct when there are two teams or more): every team
/// gets about `2 × users / teams` members.
pub fn teams_of(s: &Sizes, u: usize) -> Vec<usize> {
    let a = u % s.teams;
    if s.teams < 2 {
        return vec![a];
    }
    let b = (a + 1 + (u / s.teams) % (s.teams - 1)) % s.teams;
    vec![a, b]
}

/// Every (team, user) membership.
pub fn memberships(s: &Sizes) -> Vec<(TeamId, UserId)> {
    (0..s.users).flat_map(|u| teams_of(s, u).into_iter().map(move |t| (team_id(t), user_id(u)))).collect()
}

pub fn resource(s: &Sizes, r: usize, now: OffsetDateTime) -> Resource {
    let kinds = [Kind::App, Kind::Workflow, Kind::DataSource, Kind::Dashboard, Kind::Model, Kind::Report];
    Resource {
        id: resource_id(r),
        kind: kinds[r % kinds.len()],
        name: format!("Bench resource {r}"),
        owner_id: user_id((r * 3) % s.users),
        team_id: r.is_multiple_of(2).then(|| team_id(r % s.teams)),
        project_id: None,
        cpu_millis: 0,
        memory_mib: 0,
        storage_gib: 0,
        visibility: Visibility::Specific,
        created_at: now,
        updated_at: now,
    }
}

/// Share `k` (0–9) of resource `r`: two in ten go to a team, the rest to users (all distinct
/// subjects on one resource); odd ones grant edit, even ones view; the last one expires in a year.
pub fn share(s: &Sizes, r: usize, k: usize, now: OffsetDateTime) -> Share {
    let subject = if k % 5 == 2 {
        Subject::Team(team_id((r * 31 + k * 101) % s.teams))
    } else {
        Subject::User(user_id((r * 7919 + k * 1009) % s.users))
    };
    Share {
        id: share_id(r, k),
        resource_id: resource_id(r),
        subject,
        level: if k % 2 == 1 { Level::Edit } else { Level::View },
        expires_at: (k == SHARES_PER_RESOURCE - 1).then(|| now + Duration::days(365)),
        created_at: now,
    }
}

/// The pair a load generator asks about on its `n`th request: spread over every user and
/// resource, so that nothing is answered from a small hot set.
pub fn pair(s: &Sizes, n: u64) -> (UserId, ResourceId) {
    let n = n as usize;
    (user_id(n.wrapping_mul(31) % s.users), resource_id(n.wrapping_mul(17) % s.resources))
}

/// The whole world in memory as an index (with `shares_per_resource` shares each), as a node
/// holds it after loading; for in-process measurements.
pub fn index(s: &Sizes, shares_per_resource: usize, password_hash: &str) -> AuthzIndex {
    let now = OffsetDateTime::now_utc();
    let users = (0..s.users).map(|i| user(i, password_hash, now)).collect();
    let resources = (0..s.resources).map(|r| resource(s, r, now)).collect();
    let shares: Vec<Share> =
        (0..s.resources).flat_map(|r| (0..shares_per_resource).map(move |k| (r, k))).map(|(r, k)| share(s, r, k, now)).collect();
    AuthzIndex::from_rows(users, &memberships(s), resources, &shares, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn teams_have_about_twenty_members_and_users_two_distinct_teams() {
        let s = Sizes::QUICK;
        let mut size = vec![0usize; s.teams];
        for u in 0..s.users {
            let t = teams_of(&s, u);
            assert_eq!(t.len(), 2);
            assert_ne!(t[0], t[1]);
            t.iter().for_each(|t| size[*t] += 1);
        }
        assert!(size.iter().all(|n| (15..=25).contains(n)), "team sizes {:?}", &size[..10]);
    }

    #[test]
    fn the_shares_of_a_resource_have_distinct_subjects() {
        let now = OffsetDateTime::now_utc();
        for s in [Sizes::QUICK, Sizes::FULL] {
            for r in [0, 1, 7, s.resources - 1] {
                let subjects: HashSet<_> = (0..SHARES_PER_RESOURCE).map(|k| format!("{:?}", share(&s, r, k, now).subject)).collect();
                assert_eq!(subjects.len(), SHARES_PER_RESOURCE);
            }
        }
    }

    #[test]
    fn the_index_of_a_world_answers_for_its_shares() {
        let s = Sizes { users: 200, teams: 20, resources: 100, events: 0 };
        let index = index(&s, SHARES_PER_RESOURCE, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA");
        let now = OffsetDateTime::now_utc();
        let sh = share(&s, 5, 3, now);
        let Subject::User(u) = sh.subject else { panic!("share 3 goes to a user") };
        let (decision, _) = index.decision(u, resource_id(5), now).expect("usable").expect("both exist");
        assert!(decision.level >= Level::View);
        assert_eq!(index.stats().shares, s.resources * SHARES_PER_RESOURCE);
    }
}
