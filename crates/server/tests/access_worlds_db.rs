//! Random worlds through the real stack (data-source visibility and project owners included):
//! written to SQLite or PostgreSQL, asked through the check-batch API, and compared with the
//! reference evaluator. Zero mismatches.

mod common;

use common::{Engine, spawn_app};
use keyward_core::access::{Action, Kind, Level, Subject, Visibility};
use keyward_core::model::{Quotas, Resource, Share, Team, User};
use keyward_core::types::{Email, FullName, ResourceId, ShareId, TeamId, UserId, UserStatus};
use keyward_testkit::engine_tests;
use keyward_testkit::worlds::{S, V, World, level_number, reference, reference_allows, world};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

/// Worlds per engine: each is written to a fresh database state and checked in full.
const WORLDS: usize = 25;

engine_tests!(random_worlds_through_the_database_match_the_reference);

async fn random_worlds_through_the_database_match_the_reference(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let seed = [7u8; 32];
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let mut checked = 0;
    let mut written = Vec::new();
    for n in 0..WORLDS {
        let w = world().new_tree(&mut runner).expect("a world").current();
        let (users, resources) = write_world(&app, &w, n).await;
        checked += check_world(&admin, &w, &users, &resources, &format!("world {n}")).await;
        written.push((w, users, resources));
    }
    assert!(checked > WORLDS, "checked {checked} decisions");
    // A node started now loads every world at once (the start-up load, not the changes):
    // it answers exactly the same.
    let fresh = app.second_node().await;
    let admin = fresh.admin().await;
    for (n, (w, users, resources)) in written.iter().enumerate() {
        check_world(&admin, w, users, resources, &format!("world {n}, loaded at start-up")).await;
    }
}

/// Asks every (user, resource, action) of `w` through the check-batch API and compares each
/// answer with the reference evaluator; answers how many were checked.
async fn check_world(admin: &common::Client, w: &World, users: &[UserId], resources: &[ResourceId], what: &str) -> usize {
    let mut checks = Vec::new();
    for (u, uid) in users.iter().enumerate() {
        for (r, rid) in resources.iter().enumerate() {
            for action in Action::ALL {
                checks.push((
                    u,
                    r,
                    action,
                    json!({ "user_id": uid.to_string(), "action": action.as_str(), "resource_id": rid.to_string() }),
                ));
            }
        }
    }
    let (status, body) =
        admin.post("/api/v1/authz/check-batch", json!({ "checks": checks.iter().map(|c| c.3.clone()).collect::<Vec<_>>() })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for ((u, r, action, _), got) in checks.iter().zip(body["results"].as_array().unwrap()) {
        let expected = reference(w, *u, *r);
        let level = match got["level"].as_str().unwrap() {
            "none" => Level::None,
            "view" => Level::View,
            "edit" => Level::Edit,
            _ => Level::Full,
        };
        assert_eq!(level_number(level), expected, "{what}, user {u}, resource {r}: {w:?}");
        assert_eq!(got["allowed"].as_bool().unwrap(), reference_allows(expected, *action, w.resources[*r].kind), "{what} {action:?}");
    }
    checks.len()
}

/// Writes a world straight to the store; answers the ids of its users and resources.
async fn write_world(app: &common::TestApp, w: &World, n: usize) -> (Vec<UserId>, Vec<ResourceId>) {
    let now = app.clock_now();
    let mut tx = app.kw.unchecked_write().await.unwrap();
    let users: Vec<UserId> = (0..w.users.len()).map(|_| UserId::new()).collect();
    for (i, u) in w.users.iter().enumerate() {
        let email = Email::parse(&format!("w{n}u{i}@example.com")).unwrap();
        let name = FullName::parse(&format!("World {n} user {i}")).unwrap();
        let status = if u.active { UserStatus::Active } else { UserStatus::Deactivated };
        tx.insert_user(&User { id: users[i], status, ..User::invited(&email, &name, u.role, now) }).await.unwrap();
    }
    let teams: Vec<TeamId> = (0..w.teams.len()).map(|_| TeamId::new()).collect();
    for (t, members) in w.teams.iter().enumerate() {
        tx.insert_team(&Team {
            id: teams[t],
            name: format!("w{n}t{t}"),
            description: String::new(),
            lead_id: None,
            quotas: Quotas::default(),
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
        for m in members {
            tx.add_member(teams[t], users[*m], now).await.unwrap();
        }
    }
    let resources: Vec<ResourceId> = (0..w.resources.len()).map(|_| ResourceId::new()).collect();
    // Projects before the workspaces that point at them.
    let mut order: Vec<usize> = (0..w.resources.len()).collect();
    order.sort_by_key(|i| w.resources[*i].kind == Kind::Workspace);
    for i in order {
        let r = &w.resources[i];
        tx.insert_resource(&Resource {
            id: resources[i],
            kind: r.kind,
            name: format!("w{n}r{i}"),
            owner_id: users[r.owner],
            team_id: None,
            project_id: r.project.map(|p| resources[p]),
            cpu_millis: 0,
            memory_mib: 0,
            storage_gib: 0,
            visibility: match r.visibility {
                V::Private => Visibility::Private,
                V::AllUsers => Visibility::AllUsers,
                V::Specific => Visibility::Specific,
            },
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    }
    for (i, rid) in resources.iter().enumerate() {
        // Later shares of the same subject replace earlier ones, as a PUT would.
        let mut shares: Vec<Share> = Vec::new();
        for s in w.shares.iter().filter(|s| s.resource == i) {
            let subject = match s.subject {
                S::User(u) => Subject::User(users[u]),
                S::Team(t) => Subject::Team(teams[t]),
                S::All => Subject::AllUsers,
            };
            shares.retain(|x| x.subject != subject);
            shares.push(Share {
                id: ShareId::new(),
                resource_id: *rid,
                subject,
                level: if s.edit { Level::Edit } else { Level::View },
                expires_at: s.expires_in.map(|m| now + Duration::minutes(m)),
                created_at: now,
            });
        }
        tx.replace_shares(*rid, &shares).await.unwrap();
    }
    tx.commit().await.unwrap();
    (users, resources)
}
