//! Ownership that inherits and teams that own, over HTTP on both engines: a project's owner has
//! full access to every workspace in it (capped by role, shown by `explain`), no answer counts
//! workspaces the caller may not see, and moving a resource into or out of a team needs rights
//! on that team and room in the receiving team's quotas, also under concurrency.

mod common;

use common::{Client, Engine, TestApp, spawn_app};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

const PW: &str = "Plover-Quartz-42!";

engine_tests!(project_owners_have_full_access_to_every_workspace, moving_between_teams_needs_rights_on_them_and_room);

async fn person(app: &TestApp, admin: &Client, email: &str, role: &str) -> (Client, String) {
    let c = app.user(admin, email, email.split('@').next().unwrap_or("x"), role, PW).await;
    let (_, me) = c.get("/api/v1/me").await;
    (c, me["id"].as_str().unwrap().to_owned())
}

async fn create(c: &Client, body: Value) -> (StatusCode, Value) {
    c.post("/api/v1/resources", body).await
}

async fn check(admin: &Client, user: &str, action: &str, resource: &str) -> Value {
    let (status, body) = admin.post("/api/v1/authz/check", json!({ "user_id": user, "action": action, "resource_id": resource })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn project_owners_have_full_access_to_every_workspace(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (owner, owner_id) = person(&app, &admin, "po@example.com", "data_scientist").await;
    let (editor, editor_id) = person(&app, &admin, "ed@example.com", "developer").await;
    let (_, project) = create(&owner, json!({ "kind": "project", "name": "churn" })).await;
    let pid = project["id"].as_str().unwrap();
    let share = json!({ "subject": { "type": "user", "id": editor_id }, "level": "edit" });
    assert_eq!(owner.post(&format!("/api/v1/resources/{pid}/shares"), share).await.0, StatusCode::CREATED);
    let (status, ws) = create(&editor, json!({ "kind": "workspace", "name": "editor's", "project_id": pid })).await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    let wsid = ws["id"].as_str().unwrap();

    let (status, seen) = owner.get(&format!("/api/v1/resources/{wsid}")).await;
    assert_eq!(status, StatusCode::OK, "the project's owner sees a workspace someone else made");
    assert_eq!(seen["access"], "full");
    assert_eq!(check(&admin, &owner_id, "delete", wsid).await["allowed"], true);
    let (_, listed) = owner.get("/api/v1/resources?kind=workspace").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "and finds it in the list");
    let (_, explained) = admin.get(&format!("/api/v1/authz/explain?user_id={owner_id}&resource_id={wsid}")).await;
    assert_eq!(explained["paths"][0]["source"], "project_owner", "{explained}");
    assert_eq!(explained["paths"][0]["via_project"], true);
    assert!(check(&admin, &owner_id, "view", wsid).await["reason"].as_str().unwrap().contains("owner of the workspace's project"));
    assert_eq!(check(&admin, &editor_id, "delete", wsid).await["allowed"], true, "its creator owns it too");

    let (status, body) = owner.delete(&format!("/api/v1/resources/{pid}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "project_has_workspaces");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.chars().any(|c| c.is_ascii_digit()), "no count of workspaces: {message}");

    admin.patch(&format!("/api/v1/users/{owner_id}"), json!({ "role": "viewer" })).await;
    let capped = check(&admin, &owner_id, "edit", wsid).await;
    assert_eq!((capped["allowed"].clone(), capped["level"].clone()), (json!(false), json!("view")), "still capped by role: {capped}");
}

async fn moving_between_teams_needs_rights_on_them_and_room(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (dev, dev_id) = person(&app, &admin, "dev@example.com", "developer").await;
    let (lead, lead_id) = person(&app, &admin, "lead@example.com", "developer").await;
    let (outsider, outsider_id) = person(&app, &admin, "out@example.com", "developer").await;
    let team = async |name: &str, lead: Option<&str>, members: &[&str]| {
        let (status, t) = admin.post("/api/v1/teams", json!({ "name": name, "lead_id": lead, "member_ids": members })).await;
        assert_eq!(status, StatusCode::CREATED, "{t}");
        t["id"].as_str().unwrap().to_owned()
    };
    let a = team("Alpha", None, &[&dev_id]).await;
    let b = team("Beta", Some(&lead_id), &[&lead_id]).await;
    let quotas = |apps: i64| json!({ "max_cpu_millis": null, "max_memory_mib": null, "max_storage_gib": null, "max_apps": apps, "max_workflows": null, "max_workspaces": null });
    admin.send(reqwest::Method::PUT, &format!("/api/v1/teams/{b}/quotas"), Some(quotas(1))).await;
    assert_eq!(create(&lead, json!({ "kind": "app", "name": "beta-app", "team_id": b })).await.0, StatusCode::CREATED);
    let (_, app_a) = create(&dev, json!({ "kind": "app", "name": "alpha-app", "team_id": a })).await;
    let id = app_a["id"].as_str().unwrap();
    let path = format!("/api/v1/resources/{id}");
    let share = json!({ "subject": { "type": "user", "id": outsider_id }, "level": "edit" });
    dev.post(&format!("{path}/shares"), share).await;

    let (status, body) = outsider.patch(&path, json!({ "team_id": null })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "edit on the app is not enough to take it out of Alpha: {body}");
    assert_eq!(outsider.patch(&path, json!({ "team_id": b })).await.0, StatusCode::FORBIDDEN, "nor to put it in Beta");
    assert_eq!(dev.patch(&path, json!({ "team_id": b })).await.0, StatusCode::FORBIDDEN, "a member of Alpha is not one of Beta");
    assert_eq!(admin.get(&path).await.1["team_id"], a.as_str(), "nothing moved");

    admin.send(reqwest::Method::PUT, &format!("/api/v1/teams/{b}/members/{dev_id}"), None).await;
    let (status, body) = dev.patch(&path, json!({ "team_id": b })).await;
    assert_eq!(status, StatusCode::CONFLICT, "Beta is full: {body}");
    assert_eq!(body["error"]["code"], "quota_exceeded");
    assert_eq!(body["error"]["details"], json!({ "quota": "max_apps", "used": 1, "requested": 1, "limit": 1 }));

    // Two apps moved into Beta at once with room for one: exactly one gets in.
    admin.send(reqwest::Method::PUT, &format!("/api/v1/teams/{b}/quotas"), Some(quotas(2))).await;
    let (_, second) = create(&dev, json!({ "kind": "app", "name": "alpha-2", "team_id": a })).await;
    let dev = Arc::new(dev);
    let tasks: Vec<_> = [id.to_owned(), second["id"].as_str().unwrap().to_owned()]
        .into_iter()
        .map(|r| {
            let (dev, b) = (dev.clone(), b.clone());
            tokio::spawn(async move { dev.patch(&format!("/api/v1/resources/{r}"), json!({ "team_id": b })).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "the quota holds under concurrency");
    let (_, usage) = lead.get(&format!("/api/v1/teams/{b}/usage")).await;
    assert_eq!(usage["apps"]["used"], 2);

    let moved = if admin.get(&path).await.1["team_id"] == b.as_str() { id.to_owned() } else { second["id"].as_str().unwrap().to_owned() };
    assert_eq!(
        lead.patch(&format!("/api/v1/resources/{moved}"), json!({ "team_id": null })).await.0,
        StatusCode::NOT_FOUND,
        "the lead cannot see it"
    );
    assert_eq!(
        dev.patch(&format!("/api/v1/resources/{moved}"), json!({ "team_id": null })).await.0,
        StatusCode::OK,
        "a member takes it out"
    );
}
