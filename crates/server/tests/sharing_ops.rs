//! Sharing without lost updates, over HTTP on both engines: one share added or removed at a
//! time (concurrent adds all kept), the list replaced only under a matching `If-Match`, a
//! data source's visibility as its own fact, one encoding per value (unknown levels and bad
//! times are 400s naming their field), and a deleted team's shares gone with it.

mod common;

use common::{Client, Engine, TestApp, spawn_app};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use time::Duration;

const PW: &str = "Plover-Quartz-42!";

engine_tests!(
    concurrent_adds_are_all_kept_and_one_share_goes_at_a_time,
    replacing_the_list_needs_the_etag_it_was_read_with,
    unknown_levels_and_bad_times_are_refused_naming_their_field,
    visibility_is_its_own_fact_and_never_deletes_a_share,
    deleting_a_team_removes_its_shares_and_pages_still_work,
);

/// A signed-in user of `role` and their id.
async fn person(app: &TestApp, admin: &Client, email: &str, role: &str) -> (Client, String) {
    let c = app.user(admin, email, email.split('@').next().unwrap_or("x"), role, PW).await;
    let (_, me) = c.get("/api/v1/me").await;
    (c, me["id"].as_str().unwrap().to_owned())
}

async fn create(c: &Client, kind: &str, name: &str) -> String {
    let (status, body) = c.post("/api/v1/resources", json!({ "kind": kind, "name": name })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn user_share(id: &str, level: &str) -> Value {
    json!({ "subject": { "type": "user", "id": id }, "level": level })
}

async fn check(admin: &Client, user: &str, action: &str, resource: &str) -> bool {
    let (status, body) = admin.post("/api/v1/authz/check", json!({ "user_id": user, "action": action, "resource_id": resource })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["allowed"].as_bool().unwrap()
}

/// GET …/shares: the list and its ETag.
async fn shares(c: &Client, id: &str) -> (Vec<Value>, String) {
    let res = c.http.get(format!("{}/api/v1/resources/{id}/shares", c.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers().get("etag").expect("an ETag").to_str().unwrap().to_owned();
    (res.json::<Vec<Value>>().await.unwrap(), etag)
}

/// PUT …/shares with an optional If-Match.
async fn put(c: &Client, id: &str, list: Value, if_match: Option<&str>) -> (StatusCode, Value) {
    let mut req = c.http.put(format!("{}/api/v1/resources/{id}/shares", c.base)).json(&list);
    if let Some(csrf) = &c.csrf {
        req = req.header("x-csrf-token", csrf);
    }
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

async fn concurrent_adds_are_all_kept_and_one_share_goes_at_a_time(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (owner, _) = person(&app, &admin, "own@example.com", "developer").await;
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(person(&app, &admin, &format!("p{n}@example.com"), "developer").await.1);
    }
    let id = create(&owner, "app", "shared-at-once").await;
    let owner = Arc::new(owner);
    let tasks: Vec<_> = ids
        .iter()
        .map(|u| {
            let (owner, id, u) = (owner.clone(), id.clone(), u.clone());
            tokio::spawn(async move { owner.post(&format!("/api/v1/resources/{id}/shares"), user_share(&u, "view")).await })
        })
        .collect();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert!(body["id"].is_string() && body["level"] == "view", "{body}");
    }
    let (list, _) = shares(&owner, &id).await;
    assert_eq!(list.len(), 10, "ten people shared with at once: every share kept");
    for u in &ids {
        assert!(check(&admin, u, "view", &id).await);
    }

    // Raising a share keeps its id; the others stay as they were.
    let first = list.iter().find(|s| s["subject"]["id"] == ids[0].as_str()).unwrap().clone();
    let (status, raised) = owner.post(&format!("/api/v1/resources/{id}/shares"), user_share(&ids[0], "edit")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!((raised["id"].clone(), raised["level"].clone()), (first["id"].clone(), json!("edit")));
    assert!(check(&admin, &ids[0], "edit", &id).await);

    // Removing one by its id removes that one only.
    let sid = first["id"].as_str().unwrap();
    assert_eq!(owner.delete(&format!("/api/v1/resources/{id}/shares/{sid}")).await.0, StatusCode::NO_CONTENT);
    assert!(!check(&admin, &ids[0], "view", &id).await);
    assert_eq!(shares(&owner, &id).await.0.len(), 9);
    let (status, body) = owner.delete(&format!("/api/v1/resources/{id}/shares/{sid}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "gone already: {body}");
    assert_eq!(body["error"]["code"], "share_not_found");
    assert_eq!(owner.delete(&format!("/api/v1/resources/{id}/shares/not-an-id")).await.0, StatusCode::BAD_REQUEST);
    let (peer, _) = person(&app, &admin, "peer@example.com", "developer").await;
    let other = list.iter().find(|s| s["subject"]["id"] == ids[1].as_str()).unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(peer.delete(&format!("/api/v1/resources/{id}/shares/{other}")).await.0, StatusCode::NOT_FOUND, "invisible: 404");
    let (reader, reader_id) = person(&app, &admin, "r@example.com", "developer").await;
    owner.post(&format!("/api/v1/resources/{id}/shares"), user_share(&reader_id, "view")).await;
    assert_eq!(reader.delete(&format!("/api/v1/resources/{id}/shares/{other}")).await.0, StatusCode::FORBIDDEN, "view cannot share");
    let page = reader.http.get(format!("{}/resources/{id}?why={}", reader.base, ids[1])).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(!page.contains("why-answer") && !page.contains("Why can X do this?"), "only those who may share ask why");
    let page = owner.http.get(format!("{}/resources/{id}?why={}", owner.base, ids[1])).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"why-answer\"") && page.contains("Shared with them at View only."), "the owner asks why");

    let (_, audit) = admin.get("/api/v1/audit?action=resource.share_add").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 12, "each add is audited");
    let (_, audit) = admin.get("/api/v1/audit?action=resource.share_remove").await;
    assert_eq!(audit["items"][0]["details"]["share"]["id"], sid);

    let (_, doc) = admin.get("/api/openapi.json").await;
    let paths = &doc["paths"];
    for (path, method) in [("/api/v1/resources/{id}/shares", "post"), ("/api/v1/resources/{id}/shares/{share_id}", "delete")] {
        assert!(paths[path][method].is_object(), "{method} {path} is in the OpenAPI document");
    }
    assert!(paths["/api/v1/resources/{id}/shares"]["put"]["responses"]["412"].is_object());
}

async fn replacing_the_list_needs_the_etag_it_was_read_with(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (owner, _) = person(&app, &admin, "o@example.com", "developer").await;
    let (editor, editor_id) = person(&app, &admin, "e@example.com", "developer").await;
    let (_, a) = person(&app, &admin, "a@example.com", "developer").await;
    let (_, b) = person(&app, &admin, "b@example.com", "developer").await;
    let id = create(&owner, "dashboard", "kpis").await;
    owner.post(&format!("/api/v1/resources/{id}/shares"), user_share(&editor_id, "edit")).await;

    let (read, tag) = shares(&owner, &id).await;
    // Meanwhile the editor adds someone.
    assert_eq!(editor.post(&format!("/api/v1/resources/{id}/shares"), user_share(&a, "view")).await.0, StatusCode::CREATED);
    let mut mine = read.clone();
    mine.push(user_share(&b, "view"));
    let (status, body) = put(&owner, &id, json!(mine), Some(&tag)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    assert_eq!(body["error"]["code"], "precondition_failed");
    assert!(check(&admin, &a, "view", &id).await, "the concurrent change is not lost");
    assert!(!check(&admin, &b, "view", &id).await, "and nothing changed");

    let (read, tag) = shares(&owner, &id).await;
    assert_eq!(read.len(), 2);
    let mut mine = read.clone();
    mine.push(user_share(&b, "view"));
    let res = owner
        .http
        .put(format!("{}/api/v1/resources/{id}/shares", owner.base))
        .header("x-csrf-token", owner.csrf.clone().unwrap())
        .header("if-match", &tag)
        .json(&mine)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let new_tag = res.headers().get("etag").unwrap().to_str().unwrap().to_owned();
    assert_ne!(new_tag, tag);
    let after: Vec<Value> = res.json().await.unwrap();
    assert_eq!(after.len(), 3);
    let kept = |list: &[Value], who: &str| list.iter().find(|s| s["subject"]["id"] == who).map(|s| s["id"].clone());
    assert_eq!(kept(&after, &a), kept(&read, &a), "a subject that stays keeps its share id");
    assert_eq!(shares(&owner, &id).await.1, new_tag, "GET answers the same ETag");
    assert_eq!(put(&owner, &id, json!([user_share(&editor_id, "edit")]), Some("*")).await.0, StatusCode::OK, "* matches");
    assert_eq!(put(&owner, &id, json!([user_share(&editor_id, "edit")]), None).await.0, StatusCode::OK, "without If-Match as before");
    assert_eq!(shares(&owner, &id).await.0.len(), 1);

    // Two replacements sent at once with the same ETag: one wins, the other is told.
    let (read, tag) = shares(&owner, &id).await;
    let owner = Arc::new(owner);
    let tasks: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .map(|who| {
            let (owner, id, tag) = (owner.clone(), id.clone(), tag.clone());
            let mut list = read.clone();
            list.push(user_share(&who, "view"));
            tokio::spawn(async move { put(&owner, &id, json!(list), Some(&tag)).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED], "If-Match holds under concurrency");
    assert_eq!(shares(&owner, &id).await.0.len(), 2);
}

async fn unknown_levels_and_bad_times_are_refused_naming_their_field(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (owner, _) = person(&app, &admin, "o@example.com", "developer").await;
    let (_, u) = person(&app, &admin, "u@example.com", "developer").await;
    let id = create(&owner, "report", "q3").await;
    let past = (app.clock_now() - Duration::hours(1)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let cases = [
        (json!({ "subject": { "type": "user", "id": u }, "level": "admin" }), "level", "invalid_level"),
        (json!({ "subject": { "type": "user", "id": u }, "level": "full" }), "level", "invalid_level"),
        (json!({ "subject": { "type": "user", "id": u }, "level": "view", "expires_at": "tomorrow" }), "expires_at", "invalid_time"),
        (json!({ "subject": { "type": "user", "id": u }, "level": "view", "expires_at": past }), "expires_at", "invalid_expiry"),
        (json!({ "subject": { "type": "group", "id": u }, "level": "view" }), "subject", "invalid_subject"),
        (json!({ "subject": { "type": "user" }, "level": "view" }), "subject", "invalid_subject"),
        (json!({ "subject": { "type": "all_users" }, "level": "view" }), "subject", "all_users_not_allowed"),
    ];
    for (body, field, code) in cases {
        let (status, answer) = owner.post(&format!("/api/v1/resources/{id}/shares"), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}");
        assert_eq!(answer["error"]["details"]["field"], field, "{body}");
        let (status, answer) = put(&owner, &id, json!([body]), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "PUT {answer}");
        assert_eq!(answer["error"]["details"]["field"], field);
    }
    assert!(shares(&owner, &id).await.0.is_empty(), "nothing changed, never a silent view");
    assert!(!check(&admin, &u, "view", &id).await);
}

async fn visibility_is_its_own_fact_and_never_deletes_a_share(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (owner, _) = person(&app, &admin, "o@example.com", "developer").await;
    let (member, member_id) = person(&app, &admin, "m@example.com", "developer").await;
    let (_, other) = person(&app, &admin, "x@example.com", "developer").await;
    let id = create(&owner, "data_source", "warehouse").await;
    let path = format!("/api/v1/resources/{id}");
    let visibility = async || owner.get(&path).await.1["visibility"].clone();
    assert_eq!(visibility().await, "private");

    let (status, _) = owner.post(&format!("{path}/shares"), user_share(&member_id, "edit")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(visibility().await, "specific", "a specific share makes a private data source specific");
    let (_, audit) = admin.get("/api/v1/audit?action=resource.share_add").await;
    assert_eq!(audit["items"][0]["details"]["visibility"], json!({ "before": "private", "after": "specific" }));
    assert!(check(&admin, &member_id, "edit", &id).await);
    assert!(!check(&admin, &other, "use", &id).await);

    let (status, body) = owner.patch(&path, json!({ "visibility": "all_users" })).await;
    assert_eq!((status, body["visibility"].clone()), (StatusCode::OK, json!("all_users")));
    assert!(check(&admin, &other, "use", &id).await, "all users use it");
    assert!(!check(&admin, &member_id, "edit", &id).await, "the specific edit share is dormant: view like everyone");
    let (list, _) = shares(&owner, &id).await;
    assert_eq!(list.len(), 2, "the specific share is kept, beside the all-users share: {list:?}");
    let (status, body) = owner.post(&format!("{path}/shares"), user_share(&other, "view")).await;
    assert_eq!(status, StatusCode::CONFLICT, "no dormant share by accident: {body}");
    assert_eq!(body["error"]["code"], "visibility_all_users");

    assert_eq!(owner.patch(&path, json!({ "visibility": "specific" })).await.0, StatusCode::OK);
    assert!(check(&admin, &member_id, "edit", &id).await, "Specific brings the share back");
    assert!(!check(&admin, &other, "use", &id).await);
    assert_eq!(owner.patch(&path, json!({ "visibility": "private" })).await.0, StatusCode::OK);
    assert!(!check(&admin, &member_id, "use", &id).await, "private: owner and admins");
    assert_eq!(shares(&owner, &id).await.0.len(), 2, "and still nothing deleted");
    assert_eq!(visibility().await, "private");

    let (status, _) = owner.post(&format!("{path}/shares"), json!({ "subject": { "type": "all_users" }, "level": "view" })).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(visibility().await, "all_users", "an all-users share sets All Users");
    let (status, body) = owner.patch(&path, json!({ "visibility": "public" })).await;
    assert_eq!((status, body["error"]["details"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("visibility")));
    let app_id = create(&owner, "app", "not-a-data-source").await;
    let (status, body) = owner.patch(&format!("/api/v1/resources/{app_id}"), json!({ "visibility": "private" })).await;
    assert_eq!((status, body["error"]["code"].clone()), (StatusCode::BAD_REQUEST, json!("not_a_data_source")));
    assert!(owner.get(&format!("/api/v1/resources/{app_id}")).await.1.get("visibility").is_none());
    owner.patch(&path, json!({ "visibility": "specific" })).await;
    assert_eq!(member.patch(&path, json!({ "visibility": "all_users" })).await.0, StatusCode::OK, "an editor may share");
    let (viewer, viewer_id) = person(&app, &admin, "v@example.com", "viewer").await;
    owner.patch(&path, json!({ "visibility": "specific" })).await;
    owner.post(&format!("{path}/shares"), user_share(&viewer_id, "view")).await;
    assert_eq!(
        viewer.patch(&path, json!({ "visibility": "all_users" })).await.0,
        StatusCode::NOT_FOUND,
        "a viewer never sees data sources"
    );
}

async fn deleting_a_team_removes_its_shares_and_pages_still_work(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (owner, _) = person(&app, &admin, "o@example.com", "developer").await;
    let (_, member) = person(&app, &admin, "m@example.com", "developer").await;
    let (_, solo) = person(&app, &admin, "s@example.com", "developer").await;
    let (status, team) = admin.post("/api/v1/teams", json!({ "name": "Short-lived", "member_ids": [member] })).await;
    assert_eq!(status, StatusCode::CREATED);
    let team = team["id"].as_str().unwrap().to_owned();
    let id = create(&owner, "app", "web").await;
    owner.post(&format!("/api/v1/resources/{id}/shares"), json!({ "subject": { "type": "team", "id": team }, "level": "edit" })).await;
    owner.post(&format!("/api/v1/resources/{id}/shares"), user_share(&solo, "view")).await;
    assert!(check(&admin, &member, "edit", &id).await);

    assert_eq!(admin.delete(&format!("/api/v1/teams/{team}")).await.0, StatusCode::NO_CONTENT);
    let (list, _) = shares(&owner, &id).await;
    assert_eq!(list.len(), 1, "the team's share went with it: {list:?}");
    assert_eq!(list[0]["subject"]["id"], solo.as_str());
    assert!(!check(&admin, &member, "view", &id).await);
    let (_, audit) = admin.get("/api/v1/audit?action=team.delete").await;
    let removed = &audit["items"][0]["details"]["shares_removed"];
    assert_eq!(removed.as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(removed[0]["resource_id"], id.as_str());

    // A share left behind by older versions (its team deleted) breaks neither page nor form.
    {
        use keyward_core::access::{Level, Subject};
        use keyward_core::model::Share;
        use keyward_core::types::{ResourceId, ShareId, TeamId};
        let rid = ResourceId::parse(&id).unwrap();
        let mut tx = app.kw.unchecked_write().await.unwrap();
        let orphan = Share {
            id: ShareId::new(),
            resource_id: rid,
            subject: Subject::Team(TeamId::new()),
            level: Level::View,
            expires_at: None,
            created_at: app.clock_now(),
        };
        tx.upsert_share(&orphan).await.unwrap();
        tx.commit().await.unwrap();
    }
    let page = owner.http.get(format!("{}/resources/{id}", owner.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Someone no longer here"));
    let form = [("csrf_token", owner.csrf.clone().unwrap()), ("subject", format!("user:{member}")), ("level", "view".into())];
    let res = owner.http.post(format!("{}/resources/{id}/shares/add", owner.base)).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the Share form still works");
    assert!(check(&admin, &member, "view", &id).await);
}
