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
