//! Teams, resources, sharing, quotas, credentials and the check API over HTTP on both engines:
//! every rule shown allowing and denying.

mod common;

use common::{Client, Engine, TestApp, spawn_app};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

const PW: &str = "Plover-Quartz-42!";

engine_tests!(
    leads_manage_members_and_nothing_more,
    who_may_create_what_follows_the_roles,
    team_shares_give_each_member_what_their_role_allows,
    workspaces_inherit_and_workflow_viewers_read_logs,
    data_sources_keep_credentials_sealed_and_visibility_rules,
    deactivation_denies_and_reactivation_restores,
    quotas_are_enforced_also_under_concurrency,
    check_batch_explain_and_time_bound_shares,
    changes_through_one_node_hold_on_another_at_once,
);

/// A signed-in user of `role` and their id.
async fn person(app: &TestApp, admin: &Client, email: &str, role: &str) -> (Client, String) {
    let c = app.user(admin, email, email.split('@').next().unwrap_or("x"), role, PW).await;
    let (_, me) = c.get("/api/v1/me").await;
    let id = me["id"].as_str().unwrap().to_owned();
    (c, id)
}

async fn team(admin: &Client, name: &str, lead: Option<&str>, members: &[&str]) -> String {
    let (status, t) = admin.post("/api/v1/teams", json!({ "name": name, "description": "", "lead_id": lead, "member_ids": members })).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    t["id"].as_str().unwrap().to_owned()
}

async fn create(c: &Client, body: Value) -> (StatusCode, Value) {
    c.post("/api/v1/resources", body).await
}

async fn share(c: &Client, id: &str, shares: Value) -> (StatusCode, Value) {
    c.send(reqwest::Method::PUT, &format!("/api/v1/resources/{id}/shares"), Some(shares)).await
}

async fn check(admin: &Client, user: &str, action: &str, resource: &str) -> Value {
    let (status, body) = admin.post("/api/v1/authz/check", json!({ "user_id": user, "action": action, "resource_id": resource })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn leads_manage_members_and_nothing_more(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (lead, lead_id) = person(&app, &admin, "lea@example.com", "developer").await;
    let (member, member_id) = person(&app, &admin, "max@example.com", "developer").await;
    let (_, new_id) = person(&app, &admin, "nia@example.com", "viewer").await;
    let t = team(&admin, "Data Platform", Some(&lead_id), &[&lead_id, &member_id]).await;

    let (status, body) = lead.send(reqwest::Method::PUT, &format!("/api/v1/teams/{t}/members/{new_id}"), None).await;
    assert_eq!(status, StatusCode::OK, "the lead adds a member: {body}");
    assert_eq!(body["members"].as_array().unwrap().len(), 3);
    let (status, _) = member.send(reqwest::Method::PUT, &format!("/api/v1/teams/{t}/members/{new_id}"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a plain member cannot");
    assert_eq!(member.delete(&format!("/api/v1/teams/{t}/members/{new_id}")).await.0, StatusCode::FORBIDDEN);
    let quotas = json!({ "max_cpu_millis": 1000, "max_memory_mib": null, "max_storage_gib": null, "max_apps": null, "max_workflows": null, "max_workspaces": null });
    let (status, _) = lead.send(reqwest::Method::PUT, &format!("/api/v1/teams/{t}/quotas"), Some(quotas.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the lead cannot set quotas");
    assert_eq!(lead.patch(&format!("/api/v1/teams/{t}"), json!({ "description": "Pipelines" })).await.0, StatusCode::OK);
    assert_eq!(lead.patch(&format!("/api/v1/teams/{t}"), json!({ "name": "Renamed" })).await.0, StatusCode::FORBIDDEN);
    assert_eq!(lead.get(&format!("/api/v1/teams/{t}/usage")).await.0, StatusCode::OK);
    assert_eq!(member.get(&format!("/api/v1/teams/{t}/usage")).await.0, StatusCode::FORBIDDEN);
    let (status, body) = admin.send(reqwest::Method::PUT, &format!("/api/v1/teams/{t}/quotas"), Some(quotas)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(lead.delete(&format!("/api/v1/teams/{t}/members/{new_id}")).await.0, StatusCode::OK);

    let (status, body) = admin.post("/api/v1/teams", json!({ "name": "data platform" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "team names are unique in any case: {body}");
    let (status, body) = admin.post("/api/v1/teams", json!({ "name": "Other", "lead_id": new_id, "member_ids": [] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "lead_not_member");
    let (_, dir) = member.get(&format!("/api/v1/users?team_id={t}")).await;
    assert_eq!(dir["items"].as_array().unwrap().len(), 2, "the directory filters by team");
    assert_eq!(dir["items"][0]["teams"][0]["name"], "Data Platform");

    let (status, _) = create(&member, json!({ "kind": "app", "name": "svc", "team_id": t })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = admin.delete(&format!("/api/v1/teams/{t}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "a team that owns resources stays: {body}");
    assert_eq!(body["error"]["code"], "team_has_resources");
}

async fn who_may_create_what_follows_the_roles(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (viewer, _) = person(&app, &admin, "val@example.com", "viewer").await;
    let (ds, _) = person(&app, &admin, "dee@example.com", "data_scientist").await;
    let (dev, dev_id) = person(&app, &admin, "dan@example.com", "developer").await;
    let (outsider, _) = person(&app, &admin, "oz@example.com", "developer").await;
    let t = team(&admin, "Apps", None, &[&dev_id]).await;

    assert_eq!(create(&viewer, json!({ "kind": "workflow", "name": "w" })).await.0, StatusCode::FORBIDDEN);
    assert_eq!(create(&ds, json!({ "kind": "app", "name": "a" })).await.0, StatusCode::FORBIDDEN);
    assert_eq!(create(&ds, json!({ "kind": "data_source", "name": "d" })).await.0, StatusCode::FORBIDDEN);
    assert_eq!(create(&ds, json!({ "kind": "workflow", "name": "w" })).await.0, StatusCode::CREATED);
    let (status, app_res) = create(&dev, json!({ "kind": "app", "name": "web", "team_id": t, "cpu_millis": 500 })).await;
    assert_eq!(status, StatusCode::CREATED, "{app_res}");
    assert_eq!(app_res["access"], "full");
    assert_eq!(create(&outsider, json!({ "kind": "app", "name": "x", "team_id": t })).await.0, StatusCode::FORBIDDEN, "not a member");
    let (status, body) = create(&dev, json!({ "kind": "workspace", "name": "ws" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "project_required");
    assert_eq!(create(&dev, json!({ "kind": "rocket", "name": "r" })).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(create(&dev, json!({ "kind": "app", "name": "neg", "cpu_millis": -5 })).await.0, StatusCode::BAD_REQUEST);

    let id = app_res["id"].as_str().unwrap();
    let (status, body) = outsider.get(&format!("/api/v1/resources/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "unshared: an outsider gets 404");
    assert_eq!(body["error"]["code"], "resource_not_found");
    assert_eq!(outsider.patch(&format!("/api/v1/resources/{id}"), json!({ "name": "pwned" })).await.0, StatusCode::NOT_FOUND);
    let (_, listed) = outsider.get("/api/v1/resources").await;
    assert!(listed["items"].as_array().unwrap().is_empty());
    let (_, mine) = dev.get("/api/v1/resources?kind=app").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (_, all) = admin.get("/api/v1/resources").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "admins see everything");
}

async fn team_shares_give_each_member_what_their_role_allows(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (owner, _) = person(&app, &admin, "own@example.com", "developer").await;
    let (dev, dev_id) = person(&app, &admin, "tdev@example.com", "developer").await;
    let (viewer, viewer_id) = person(&app, &admin, "tview@example.com", "viewer").await;
    let (outsider, _) = person(&app, &admin, "out@example.com", "developer").await;
    let t = team(&admin, "Analytics", None, &[&dev_id, &viewer_id]).await;
    let (_, res) = create(&owner, json!({ "kind": "app", "name": "dash-app" })).await;
    let id = res["id"].as_str().unwrap();

    assert_eq!(share(&dev, id, json!([])).await.0, StatusCode::NOT_FOUND, "no access yet, not even to its existence");
    let (status, body) = share(&owner, id, json!([{ "subject": { "type": "team", "id": t }, "level": "edit" }])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        dev.patch(&format!("/api/v1/resources/{id}"), json!({ "name": "renamed" })).await.0,
        StatusCode::OK,
        "the team's developer edits"
    );
    let (status, seen) = viewer.get(&format!("/api/v1/resources/{id}")).await;
    assert_eq!(status, StatusCode::OK, "the team's viewer views");
    assert_eq!(seen["access"], "view", "capped at view");
    assert_eq!(viewer.patch(&format!("/api/v1/resources/{id}"), json!({ "name": "nope" })).await.0, StatusCode::FORBIDDEN);
    assert_eq!(outsider.get(&format!("/api/v1/resources/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(dev.delete(&format!("/api/v1/resources/{id}")).await.0, StatusCode::FORBIDDEN, "delete needs full access");
    let (status, _) = share(&viewer, id, json!([])).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot share");
    let (_, shares) = dev.get(&format!("/api/v1/resources/{id}/shares")).await;
    assert_eq!(shares[0]["subject"]["type"], "team");
    let (status, body) = share(&owner, id, json!([{ "subject": { "type": "all_users" }, "level": "view" }])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "all users is for data sources: {body}");
    let (status, _) =
        share(&owner, id, json!([{ "subject": { "type": "user", "id": uuid::Uuid::now_v7().to_string() }, "level": "view" }])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown user");
    assert_eq!(check(&admin, &viewer_id, "edit", id).await["allowed"], false);
    assert_eq!(check(&admin, &dev_id, "edit", id).await["allowed"], true);
}

async fn workspaces_inherit_and_workflow_viewers_read_logs(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (owner, _) = person(&app, &admin, "po@example.com", "data_scientist").await;
    let (reader, reader_id) = person(&app, &admin, "rd@example.com", "developer").await;
    let (_, project) = create(&owner, json!({ "kind": "project", "name": "churn" })).await;
    let pid = project["id"].as_str().unwrap();
    let (status, ws) = create(&owner, json!({ "kind": "workspace", "name": "exp-1", "project_id": pid })).await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    let wsid = ws["id"].as_str().unwrap();
    assert_eq!(reader.get(&format!("/api/v1/resources/{wsid}")).await.0, StatusCode::NOT_FOUND);
    share(&owner, pid, json!([{ "subject": { "type": "user", "id": reader_id }, "level": "view" }])).await;
    let (status, seen) = reader.get(&format!("/api/v1/resources/{wsid}")).await;
    assert_eq!(status, StatusCode::OK, "the workspace inherits its project's share");
    assert_eq!(seen["access"], "view");
    assert_eq!(
        create(&reader, json!({ "kind": "workspace", "name": "mine", "project_id": pid })).await.0,
        StatusCode::FORBIDDEN,
        "view is not enough to add a workspace"
    );
    let explained = admin.get(&format!("/api/v1/authz/explain?user_id={reader_id}&resource_id={wsid}")).await.1;
    assert_eq!(explained["paths"][0]["source"], "user_share");
    assert_eq!(explained["paths"][0]["via_project"], true);
    assert_eq!(owner.delete(&format!("/api/v1/resources/{pid}")).await.1["error"]["code"], "project_has_workspaces");

    let (_, wf) = create(&owner, json!({ "kind": "workflow", "name": "nightly" })).await;
    let wfid = wf["id"].as_str().unwrap();
    share(&owner, wfid, json!([{ "subject": { "type": "user", "id": reader_id }, "level": "view" }])).await;
    assert_eq!(check(&admin, &reader_id, "read_logs", wfid).await["allowed"], true);
    let run = check(&admin, &reader_id, "run", wfid).await;
    assert_eq!(run["allowed"], false);
    assert_eq!(run["level"], "view");
    assert_eq!(check(&admin, &reader_id, "edit", wfid).await["allowed"], false);
}

async fn data_sources_keep_credentials_sealed_and_visibility_rules(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (owner, _) = person(&app, &admin, "dso@example.com", "developer").await;
    let (_, other_id) = person(&app, &admin, "dsx@example.com", "developer").await;
    let (_, viewer_id) = person(&app, &admin, "dsv@example.com", "viewer").await;
    let (_, ds) = create(&owner, json!({ "kind": "data_source", "name": "warehouse" })).await;
    let id = ds["id"].as_str().unwrap();
    let secret = "s3cr3t-Pa55word-for-the-warehouse";
    let (status, body) = owner
        .send(reqwest::Method::PUT, &format!("/api/v1/resources/{id}/credentials"), Some(json!({ "user": "etl", "password": secret })))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["set"], true);
    let (_, got) = owner.get(&format!("/api/v1/resources/{id}")).await;
    assert!(got["credentials_updated_at"].is_string());
    assert!(!got.to_string().contains(secret), "credentials never come back");
    let (_, audit) = admin.get("/api/v1/audit?action=resource.credentials_set").await;
    assert!(!audit.to_string().contains(secret) && !audit.to_string().contains("password"));
    if engine == Engine::Sqlite {
        for entry in walk(&app.data_dir) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "plain text in {}", entry.display());
        }
    }
    let (status, _) =
        owner.send(reqwest::Method::PUT, &format!("/api/v1/resources/{id}/credentials"), Some(json!(["not", "an", "object"]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    assert_eq!(check(&admin, &other_id, "use", id).await["allowed"], false, "private: another developer may not use it");
    share(&owner, id, json!([{ "subject": { "type": "all_users" }, "level": "view" }])).await;
    assert_eq!(check(&admin, &other_id, "use", id).await["allowed"], true, "all users: a developer may");
    let v = check(&admin, &viewer_id, "use", id).await;
    assert_eq!(v["allowed"], false, "a viewer never uses data sources");
    assert!(v["reason"].as_str().unwrap().contains("viewer"), "{v}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

async fn deactivation_denies_and_reactivation_restores(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (owner, owner_id) = person(&app, &admin, "leaver@example.com", "developer").await;
    let (_, peer_id) = person(&app, &admin, "peer@example.com", "developer").await;
    let (_, res) = create(&owner, json!({ "kind": "model", "name": "scorer" })).await;
    let id = res["id"].as_str().unwrap();
    share(&owner, id, json!([{ "subject": { "type": "user", "id": peer_id }, "level": "view" }])).await;
    assert_eq!(check(&admin, &owner_id, "delete", id).await["allowed"], true);
    admin.post(&format!("/api/v1/users/{owner_id}/deactivate"), json!({})).await;
    let denied = check(&admin, &owner_id, "view", id).await;
    assert_eq!(denied["allowed"], false, "a deactivated user is denied");
    assert_eq!(denied["level"], "none");
    assert_eq!(admin.get(&format!("/api/v1/resources/{id}")).await.1["owner_id"], owner_id.as_str(), "owned resources stay");
    assert_eq!(check(&admin, &peer_id, "view", id).await["allowed"], true, "and stay shared");
    admin.post(&format!("/api/v1/users/{owner_id}/reactivate"), json!({})).await;
    assert_eq!(check(&admin, &owner_id, "delete", id).await["allowed"], true, "reactivation restores access");
}

async fn quotas_are_enforced_also_under_concurrency(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (dev, dev_id) = person(&app, &admin, "q@example.com", "developer").await;
    let t = team(&admin, "Quota", None, &[&dev_id]).await;
    let quotas = |apps: Option<i64>, cpu: Option<i64>| json!({ "max_cpu_millis": cpu, "max_memory_mib": null, "max_storage_gib": null, "max_apps": apps, "max_workflows": null, "max_workspaces": null });
    admin.send(reqwest::Method::PUT, &format!("/api/v1/teams/{t}/quotas"), Some(quotas(Some(2), None))).await;
    for n in 0..2 {
        assert_eq!(create(&dev, json!({ "kind": "app", "name": format!("a{n}"), "team_id": t })).await.0, StatusCode::CREATED);
    }
    let (status, body) = create(&dev, json!({ "kind": "app", "name": "a3", "team_id": t })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "quota_exceeded");
    assert_eq!(body["error"]["details"]["quota"], "max_apps");
    assert_eq!(body["error"]["details"]["used"], 2);
    assert_eq!(body["error"]["details"]["limit"], 2);
    assert!(body["error"]["message"].as_str().unwrap().contains("max_apps"));

    admin.send(reqwest::Method::PUT, &format!("/api/v1/teams/{t}/quotas"), Some(quotas(None, Some(5000)))).await;
    let dev = std::sync::Arc::new(dev);
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let dev = dev.clone();
            let t = t.clone();
            tokio::spawn(async move {
                create(&dev, json!({ "kind": "workflow", "name": format!("w{n}"), "team_id": t, "cpu_millis": 1000 })).await.0
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let status = task.await.unwrap();
        assert!(status == StatusCode::CREATED || status == StatusCode::CONFLICT, "{status}");
        created += usize::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 5, "exactly five fit in 5000 millicores");
    let (_, usage) = admin.get(&format!("/api/v1/teams/{t}/usage")).await;
    assert_eq!(usage["cpu_millis"]["used"], 5000);
    assert_eq!(usage["cpu_millis"]["limit"], 5000);
    assert_eq!(usage["workflows"]["used"], 5);
    let (_, list) = dev.get("/api/v1/resources?kind=workflow").await;
    let wid = list["items"][0]["id"].as_str().unwrap();
    let (status, _) = dev.patch(&format!("/api/v1/resources/{wid}"), json!({ "cpu_millis": 1001 })).await;
    assert_eq!(status, StatusCode::CONFLICT, "resizing past the quota is refused too");
}

async fn check_batch_explain_and_time_bound_shares(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (owner, owner_id) = person(&app, &admin, "ow@example.com", "developer").await;
    let (guest, guest_id) = person(&app, &admin, "gu@example.com", "developer").await;
    let (_, res) = create(&owner, json!({ "kind": "dashboard", "name": "kpis" })).await;
    let id = res["id"].as_str().unwrap();
    let until = (app.clock_now() + Duration::hours(1)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, body) =
        share(&owner, id, json!([{ "subject": { "type": "user", "id": guest_id }, "level": "edit", "expires_at": until }])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, batch) = admin
        .post(
            "/api/v1/authz/check-batch",
            json!({ "checks": [
                { "user_id": guest_id, "action": "edit", "resource_id": id },
                { "user_id": owner_id, "action": "delete", "resource_id": id },
                { "user_id": guest_id, "action": "delete", "resource_id": id },
                { "user_id": uuid::Uuid::now_v7().to_string(), "action": "view", "resource_id": id },
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let allowed: Vec<bool> = batch["results"].as_array().unwrap().iter().map(|r| r["allowed"].as_bool().unwrap()).collect();
    assert_eq!(allowed, [true, true, false, false], "answers come in the order asked");
    let (status, body) = guest.post("/api/v1/authz/check", json!({ "user_id": guest_id, "action": "view", "resource_id": id })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins ask: {body}");
    let (status, body) = admin.post("/api/v1/authz/check", json!({ "user_id": guest_id, "action": "fly", "resource_id": id })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_action");
    let (_, explained) = admin.get(&format!("/api/v1/authz/explain?user_id={owner_id}&resource_id={id}")).await;
    assert_eq!(explained["paths"][0]["source"], "owner");
    let (_, explained) = admin.get(&format!("/api/v1/authz/explain?user_id={guest_id}&resource_id={id}")).await;
    assert_eq!(explained["paths"][0]["level"], "edit");
    assert!(explained["paths"][0]["expires_at"].is_string());

    app.advance(Duration::hours(1) + Duration::seconds(1));
    let admin = app.admin().await;
    let after = check(&admin, &guest_id, "view", id).await;
    assert_eq!(after["allowed"], false, "a time-bound share stops counting at its end");
    let guest = app.user(&admin, "gu2@example.com", "gu2", "developer", PW).await;
    let _ = guest;
}

async fn changes_through_one_node_hold_on_another_at_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let node_b = app.second_node().await;
    let admin_a = app.admin().await;
    let (owner, _) = person(&app, &admin_a, "n1@example.com", "developer").await;
    let (peer, peer_id) = person(&app, &admin_a, "n2@example.com", "developer").await;
    let (_, res) = create(&owner, json!({ "kind": "app", "name": "multi-node" })).await;
    let id = res["id"].as_str().unwrap().to_owned();
    // The platform asks node B with an admin's API token.
    let (_, token) = admin_a.post("/api/v1/me/tokens", json!({ "name": "platform" })).await;
    let mut platform = node_b.client();
    platform.bearer = token["token"].as_str().map(str::to_owned);
    let ask =
        |action: &'static str| platform.post("/api/v1/authz/check", json!({ "user_id": peer_id, "action": action, "resource_id": id }));
    for _ in 0..3 {
        assert_eq!(ask("view").await.1["allowed"], false, "node B remembers the answer");
    }
    share(&owner, &id, json!([{ "subject": { "type": "user", "id": peer_id }, "level": "edit" }])).await;
    assert_eq!(ask("edit").await.1["allowed"], true, "a share made through node A holds on node B at once");
    admin_a.patch(&format!("/api/v1/users/{peer_id}"), json!({ "role": "viewer" })).await;
    assert_eq!(ask("edit").await.1["allowed"], false, "a role change through node A holds on node B at once");
    assert_eq!(ask("view").await.1["allowed"], true);
    admin_a.post(&format!("/api/v1/users/{peer_id}/deactivate"), json!({})).await;
    assert_eq!(ask("view").await.1["allowed"], false, "a deactivation through node A holds on node B at once");
    let _ = peer;
    // Revoking the platform's token on node A ends it on node B at once.
    let (_, tokens) = admin_a.get("/api/v1/me/tokens").await;
    admin_a.delete(&format!("/api/v1/me/tokens/{}", tokens["items"][0]["id"].as_str().unwrap())).await;
    assert_eq!(ask("view").await.0, StatusCode::UNAUTHORIZED);
}
