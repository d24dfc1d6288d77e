//! The property test of DESIGN.md §2: in 10,000 random worlds (with data-source visibility and
//! owners of projects) the core's decision equals the reference evaluator of
//! `keyward_testkit::worlds`. Zero mismatches.

use keyward_core::access::{self, Action, Facts, Grant, Kind, Level, Subject, Visibility};
use keyward_core::types::{TeamId, UserId};
use keyward_testkit::worlds::{S, V, level_number, reference, reference_allows, world};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn core_matches_the_reference(w in world()) {
        let now = OffsetDateTime::now_utc();
        let user_ids: Vec<UserId> = (0..w.users.len()).map(|_| UserId(Uuid::now_v7())).collect();
        let team_ids: Vec<TeamId> = (0..w.teams.len()).map(|_| TeamId(Uuid::now_v7())).collect();
        for (u, user) in w.users.iter().enumerate() {
            let teams: Vec<TeamId> = w.teams.iter().enumerate().filter(|(_, m)| m.contains(&u)).map(|(t, _)| team_ids[t]).collect();
            for (r, res) in w.resources.iter().enumerate() {
                // As the store does: every share on the resource and on its project.
                let grants: Vec<Grant> = w.shares.iter()
                    .filter(|s| s.resource == r || (res.kind == Kind::Workspace && Some(s.resource) == res.project))
                    .map(|s| Grant {
                        subject: match s.subject { S::User(x) => Subject::User(user_ids[x]), S::Team(t) => Subject::Team(team_ids[t]), S::All => Subject::AllUsers },
                        level: if s.edit { Level::Edit } else { Level::View },
                        expires_at: s.expires_in.map(|m| now + Duration::minutes(m)),
                        via_project: s.resource != r,
                    })
                    .collect();
                let visibility = match res.visibility { V::Private => Visibility::Private, V::AllUsers => Visibility::AllUsers, V::Specific => Visibility::Specific };
                let project_owner_id = res.project.map(|p| user_ids[w.resources[p].owner]);
                let d = access::decide(&Facts {
                    user_id: user_ids[u], role: user.role, can_act: user.active, teams: &teams,
                    kind: res.kind, owner_id: user_ids[res.owner], project_owner_id, visibility, grants: &grants, now,
                });
                let expected = reference(&w, u, r);
                prop_assert_eq!(level_number(d.level), expected, "user {} resource {} in {:?}", u, r, w);
                for action in Action::ALL {
                    prop_assert_eq!(access::allows(&d, action, res.kind), reference_allows(expected, action, res.kind), "{:?}", action);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    /// The same worlds through the in-memory index (the path every check takes on a serving
    /// node): the index only gathers facts, and its answers equal the reference's.
    #[test]
    fn index_matches_the_reference(w in world()) {
        use keyward_core::index::AuthzIndex;
        use keyward_core::model::{Resource, Share, User};
        use keyward_core::types::{Email, FullName, ResourceId, UserStatus};
        let now = OffsetDateTime::now_utc();
        let user_ids: Vec<UserId> = (0..w.users.len()).map(|_| UserId(Uuid::now_v7())).collect();
        let team_ids: Vec<TeamId> = (0..w.teams.len()).map(|_| TeamId(Uuid::now_v7())).collect();
        let resource_ids: Vec<ResourceId> = (0..w.resources.len()).map(|_| ResourceId(Uuid::now_v7())).collect();
        let users: Vec<User> = w.users.iter().enumerate().map(|(i, u)| {
            let email = Email::parse(&format!("u{i}@example.com")).unwrap();
            let name = FullName::parse(&format!("User {i}")).unwrap();
            let status = if u.active { UserStatus::Active } else { UserStatus::Deactivated };
            User { id: user_ids[i], status, ..User::invited(&email, &name, u.role, now) }
        }).collect();
        let memberships: Vec<(TeamId, UserId)> = w.teams.iter().enumerate()
            .flat_map(|(t, m)| m.iter().map(move |u| (t, *u)))
            .map(|(t, u)| (team_ids[t], user_ids[u]))
            .collect();
        let resources: Vec<Resource> = w.resources.iter().enumerate().map(|(i, r)| Resource {
            id: resource_ids[i], kind: r.kind, name: format!("r{i}"), owner_id: user_ids[r.owner], team_id: None,
            project_id: r.project.map(|p| resource_ids[p]), cpu_millis: 0, memory_mib: 0, storage_gib: 0,
            visibility: match r.visibility { V::Private => Visibility::Private, V::AllUsers => Visibility::AllUsers, V::Specific => Visibility::Specific },
            created_at: now, updated_at: now,
        }).collect();
        let shares: Vec<Share> = w.shares.iter().map(|s| Share {
            id: keyward_core::types::ShareId::new(),
            resource_id: resource_ids[s.resource],
            subject: match s.subject { S::User(x) => Subject::User(user_ids[x]), S::Team(t) => Subject::Team(team_ids[t]), S::All => Subject::AllUsers },
            level: if s.edit { Level::Edit } else { Level::View },
            expires_at: s.expires_in.map(|m| now + Duration::minutes(m)),
            created_at: now,
        }).collect();
        let index = AuthzIndex::from_rows(users, &memberships, resources, &shares, Vec::new());
        for (u, uid) in user_ids.iter().enumerate() {
            for (r, res) in w.resources.iter().enumerate() {
                let (d, kind) = index.decision(*uid, resource_ids[r], now).expect("the index answers").expect("both exist");
                prop_assert_eq!(kind, res.kind);
                let expected = reference(&w, u, r);
                prop_assert_eq!(level_number(d.level), expected, "user {} resource {} in {:?}", u, r, w);
                for action in Action::ALL {
                    prop_assert_eq!(access::allows(&d, action, res.kind), reference_allows(expected, action, res.kind), "{:?}", action);
                }
            }
        }
    }
}
