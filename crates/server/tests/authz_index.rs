//! The in-memory authorization index against the database, on both engines:
//! - model-based: random sequences of changes written through the store; after each one, the
//!   index answers every (user, resource) pair and every token exactly as the database path does;
//! - across nodes: random changes through random nodes, each followed by checks through other
//!   nodes, every answer equal to the rule evaluated on the database at that moment.

mod common;

use common::{Client, Engine, TestApp, spawn_app};
use keyward_core::access::{Decision, Kind, Level, Subject, Visibility};
use keyward_core::model::{ApiToken, Quotas, Resource, Share, Team, User};
use keyward_core::secret::token_hash;
use keyward_core::types::{Email, FullName, ResourceId, Role, ShareId, TeamId, TokenId, UserId, UserStatus};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

engine_tests!(every_change_reaches_the_index, nodes_answer_exactly_after_each_acknowledged_change);

/// A small deterministic generator (xorshift): the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> Option<T> {
        (!v.is_empty()).then(|| v[self.below(v.len())])
    }
}

/// A decision in a form that does not depend on the order shares were read in.
fn normal(d: &Decision) -> (Level, bool, bool, Vec<String>) {
    let mut paths: Vec<String> = d.paths.iter().map(|p| format!("{p:?}")).collect();
    paths.sort();
    (d.level, d.capped, d.inactive, paths)
}

const ROLES: [Role; 4] = [Role::Admin, Role::Developer, Role::DataScientist, Role::Viewer];

async fn every_change_reaches_the_index(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.init_admin().await;
    let kw = &app.kw;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut users: Vec<UserId> = Vec::new();
    let mut teams: Vec<TeamId> = Vec::new();
    let mut resources: Vec<(ResourceId, Kind)> = Vec::new();
    let mut tokens: Vec<(String, UserId)> = Vec::new();
    let mut compared = 0;
    for step in 0..100 {
        let now = app.clock_now();
        let mut tx = kw.unchecked_write().await.unwrap();
        // One to three changes per transaction.
        for _ in 0..1 + rng.below(3) {
            match rng.below(10) {
                0 | 1 if users.len() < 12 => {
                    let id = UserId::new();
                    let email = Email::parse(&format!("m{step}-{}@example.com", users.len())).unwrap();
                    let name = FullName::parse("Model User").unwrap();
                    let role = ROLES[rng.below(4)];
                    tx.insert_user(&User { id, status: UserStatus::Active, ..User::invited(&email, &name, role, now) }).await.unwrap();
                    users.push(id);
                }
                2 => {
                    if let Some(u) = rng.pick(&users) {
                        let mut user = tx.user_by_id(u).await.unwrap().unwrap();
                        match rng.below(3) {
                            0 => user.role = ROLES[rng.below(4)],
                            1 => user.status = if user.status == UserStatus::Active { UserStatus::Deactivated } else { UserStatus::Active },
                            _ => {
                                user.access_expires_at = [None, Some(now - Duration::hours(1)), Some(now + Duration::days(3))][rng.below(3)]
                            }
                        }
                        tx.update_user(&user).await.unwrap();
                    }
                }
                3 => {
                    let id = TeamId::new();
                    let team = Team {
                        id,
                        name: format!("team-{step}-{}", teams.len()),
                        description: String::new(),
                        lead_id: None,
                        quotas: Quotas::default(),
                        created_at: now,
                        updated_at: now,
                    };
                    tx.insert_team(&team).await.unwrap();
                    teams.push(id);
                }
                4 => {
                    if let (Some(t), Some(u)) = (rng.pick(&teams), rng.pick(&users)) {
                        if rng.below(2) == 0 {
                            tx.add_member(t, u, now).await.unwrap();
                        } else {
                            tx.remove_member(t, u).await.unwrap();
                        }
                    }
                }
                5 => {
                    if let Some(t) = rng.pick(&teams).filter(|_| rng.below(3) == 0) {
                        tx.delete_team(t).await.unwrap();
                        teams.retain(|x| *x != t);
                    }
                }
                6 if resources.len() < 16 => {
                    if let Some(owner) = rng.pick(&users) {
                        let projects: Vec<ResourceId> = resources.iter().filter(|(_, k)| *k == Kind::Project).map(|(r, _)| *r).collect();
                        let mut kind = Kind::ALL[rng.below(Kind::ALL.len())];
                        let project = if kind == Kind::Workspace { rng.pick(&projects) } else { None };
                        if kind == Kind::Workspace && project.is_none() {
                            kind = Kind::Project;
                        }
                        let r = Resource {
                            id: ResourceId::new(),
                            kind,
                            name: format!("r{step}"),
                            owner_id: owner,
                            team_id: None,
                            project_id: project,
                            cpu_millis: 0,
                            memory_mib: 0,
                            storage_gib: 0,
                            visibility: Visibility::initial(kind),
                            created_at: now,
                            updated_at: now,
                        };
                        tx.insert_resource(&r).await.unwrap();
                        resources.push((r.id, kind));
                    }
                }
                8 if rng.below(2) == 0 => {
                    // A resource goes, unless workspaces still point at it.
                    if let Some((r, _)) = rng.pick(&resources)
                        && tx.workspace_count(r).await.unwrap() == 0
                    {
                        tx.delete_resource(r).await.unwrap();
                        resources.retain(|(x, _)| *x != r);
                    }
                }
                0..=8 => {
                    if let Some((r, _)) = rng.pick(&resources) {
                        let mut shares: Vec<Share> = Vec::new();
                        for _ in 0..rng.below(4) {
                            let subject = match rng.below(3) {
                                0 => rng.pick(&users).map(Subject::User),
                                1 => rng.pick(&teams).map(Subject::Team),
                                _ => Some(Subject::AllUsers),
                            };
                            let Some(subject) = subject else { continue };
                            shares.retain(|s| s.subject != subject);
                            shares.push(Share {
                                id: ShareId::new(),
                                resource_id: r,
                                subject,
                                level: if rng.below(2) == 0 { Level::View } else { Level::Edit },
                                expires_at: [None, Some(now - Duration::minutes(5)), Some(now + Duration::hours(2))][rng.below(3)],
                                created_at: now,
                            });
                        }
                        tx.replace_shares(r, &shares).await.unwrap();
                        if let Some((ds, Kind::DataSource)) = rng.pick(&resources) {
                            let to = [Visibility::Private, Visibility::AllUsers, Visibility::Specific][rng.below(3)];
                            tx.set_visibility(ds, to, now).await.unwrap();
                        }
                    }
                }
                _ => {
                    if let Some(u) = rng.pick(&users) {
                        if rng.below(3) == 0 {
                            tx.delete_api_tokens_of(u).await.unwrap();
                            tokens.retain(|(_, owner)| *owner != u);
                        } else {
                            let secret = format!("model-token-{step}-{}", tokens.len());
                            let t = ApiToken {
                                id: TokenId::new(),
                                user_id: u,
                                name: "model".into(),
                                token_hash: token_hash(&secret),
                                created_at: now,
                                expires_at: None,
                                last_used_at: None,
                                scopes: None,
                            };
                            tx.insert_api_token(&t).await.unwrap();
                            tokens.push((t.token_hash, u));
                        }
                    }
                }
            }
        }
        tx.commit().await.unwrap();
        // The change is acknowledged: the index must answer exactly as the database does.
        let now = app.clock_now();
        for u in &users {
            for (r, _) in &resources {
                let from_index = answered(|| kw.index().decision(*u, *r, now)).await;
                let from_db = kw.decide_from_database(*u, *r).await.unwrap();
                match (from_index, from_db) {
                    (Ok((a, ka)), Ok((res, b))) => {
                        assert_eq!(ka, res.kind);
                        assert_eq!(normal(&a), normal(&b), "step {step}: user {u} resource {r}");
                    }
                    (a, b) => assert_eq!(a.err(), b.err(), "step {step}: user {u} resource {r}"),
                }
                compared += 1;
            }
        }
        for (hash, owner) in &tokens {
            let (token, user) = answered(|| kw.index().token(hash)).await.expect("the token is in the index");
            assert_eq!((token.user_id, user.id), (*owner, *owner));
        }
    }
    assert!(compared > 1000, "compared {compared} decisions");
    let stats = kw.index().stats();
    assert!(stats.applied_seq > 0, "{stats:?}");
}

/// The index's answer. Memory answers only while its node holds a fresh lease; on a loaded
/// machine a renewal can come late, and then the server asks the database instead, so the test
/// waits for the lease (a few seconds at most) rather than treating the pause as a wrong answer.
async fn answered<T>(ask: impl Fn() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(answer) = ask() {
            return answer;
        }
        assert!(std::time::Instant::now() < deadline, "the serving node's index does not answer");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// An API client on one node with the admin's token.
fn on(node: &TestApp, token: &str) -> Client {
    let mut c = node.client();
    c.bearer = Some(token.to_owned());
    c
}

async fn nodes_answer_exactly_after_each_acknowledged_change(engine: Engine) {
    let Some(a) = spawn_app(engine).await else { return };
    let admin = a.admin().await;
    let (status, t) = admin.post("/api/v1/me/tokens", json!({ "name": "cluster" })).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let token = t["token"].as_str().unwrap().to_owned();
    let (b, c) = (a.second_node().await, a.second_node().await);
    let nodes = [&a, &b, &c];
    let clients: Vec<Client> = nodes.iter().map(|n| on(n, &token)).collect();
    let mut people = Vec::new();
    for (i, role) in ["developer", "data_scientist", "viewer"].iter().enumerate() {
        let p = a.user(&admin, &format!("p{i}@example.com"), &format!("Person {i}"), role, "Plover-Quartz-42!").await;
        let (_, me) = p.get("/api/v1/me").await;
        people.push((me["id"].as_str().unwrap().to_owned(), p));
    }
    let (status, team) = admin.post("/api/v1/teams", json!({ "name": "Crew", "member_ids": [people[0].0] })).await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team = team["id"].as_str().unwrap().to_owned();
    let mut resources = Vec::new();
    for kind in ["app", "data_source", "workflow"] {
        let (status, r) = admin.post("/api/v1/resources", json!({ "kind": kind, "name": kind })).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        resources.push(r["id"].as_str().unwrap().to_owned());
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for step in 0..45 {
        let writer = &clients[rng.below(3)];
        let (who, _) = &people[rng.below(people.len())];
        let resource = &resources[rng.below(resources.len())];
        let (status, body) = match rng.below(5) {
            0 => {
                let role = ["developer", "data_scientist", "viewer"][rng.below(3)];
                writer.patch(&format!("/api/v1/users/{who}"), json!({ "role": role })).await
            }
            1 => writer.post(&format!("/api/v1/users/{who}/{}", ["deactivate", "reactivate"][rng.below(2)]), json!({})).await,
            2 => {
                let level = ["view", "edit"][rng.below(2)];
                let shares = match rng.below(3) {
                    0 => json!([]),
                    1 => json!([{ "subject": { "type": "user", "id": who }, "level": level }]),
                    _ => json!([{ "subject": { "type": "team", "id": team }, "level": level }]),
                };
                writer.send(reqwest::Method::PUT, &format!("/api/v1/resources/{resource}/shares"), Some(shares)).await
            }
            3 => writer.send(reqwest::Method::PUT, &format!("/api/v1/teams/{team}/members/{who}"), None).await,
            _ => writer.delete(&format!("/api/v1/teams/{team}/members/{who}")).await,
        };
        assert!(status.is_success() || status == StatusCode::NOT_FOUND || status == StatusCode::CONFLICT, "step {step}: {status} {body}");
        // The change was acknowledged: every node now answers as the database does.
        let reader = rng.below(3);
        assert!(nodes[reader].kw.index().usable(), "node {reader} answers from memory");
        let mut checks = Vec::new();
        for (who, _) in &people {
            for r in &resources {
                checks.push(json!({ "user_id": who, "action": "view", "resource_id": r }));
            }
        }
        let (status, got) = clients[reader].post("/api/v1/authz/check-batch", json!({ "checks": checks })).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        let mut i = 0;
        for (who, _) in &people {
            for r in &resources {
                let truth = a.kw.decide_from_database(UserId::parse(who).unwrap(), ResourceId::parse(r).unwrap()).await.unwrap().unwrap().1;
                assert_eq!(got["results"][i]["level"], truth.level.as_str(), "step {step}, node {reader}, user {who}, resource {r}");
                i += 1;
            }
        }
    }
}
