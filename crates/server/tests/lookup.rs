//! The lookup API (`GET /api/v1/authz/lookup`), the platform's "what may this user see?", over
//! HTTP on both engines: the right resources for each action and kind, ids ascending, pages
//! that join up, and bad input refused.

mod common;

use common::{Client, Engine, TestApp, spawn_app};
use keyward_core::access::{Kind, Level, Subject, Visibility};
use keyward_core::model::{Resource, Share};
use keyward_core::types::{ResourceId, ShareId, UserId};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PW: &str = "Plover-Quartz-42!";

engine_tests!(lookup_lists_what_each_action_allows_in_id_order, a_full_page_of_a_thousand_keeps_its_next_cursor,);

async fn person(app: &TestApp, admin: &Client, email: &str, role: &str) -> (Client, String) {
    let c = app.user(admin, email, email.split('@').next().unwrap_or("x"), role, PW).await;
    let (_, me) = c.get("/api/v1/me").await;
    (c, me["id"].as_str().unwrap().to_owned())
}

async fn create(c: &Client, kind: &str, name: &str) -> String {
    let (status, r) = c.post("/api/v1/resources", json!({ "kind": kind, "name": name })).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    r["id"].as_str().unwrap().to_owned()
}

async fn share(c: &Client, id: &str, shares: Value) {
    let (status, body) = c.send(reqwest::Method::PUT, &format!("/api/v1/resources/{id}/shares"), Some(shares)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Every id of the lookup, following the cursor with pages of `limit`.
async fn all_pages(admin: &Client, query: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/authz/lookup?{query}&limit={limit}&cursor={c}"),
            None => format!("/api/v1/authz/lookup?{query}&limit={limit}"),
        };
        let (status, page) = admin.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        let items: Vec<String> = page["items"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        assert!(items.len() <= limit, "{path}: a page holds at most its limit");
        out.extend(items);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn lookup_lists_what_each_action_allows_in_id_order(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (dev, dev_id) = person(&app, &admin, "dev@example.com", "developer").await;
    let (_, other_id) = person(&app, &admin, "ola@example.com", "developer").await;
    let (status, t) = admin.post("/api/v1/teams", json!({ "name": "Pipelines", "description": "", "member_ids": [dev_id] })).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let team = t["id"].as_str().unwrap().to_owned();

    let own = create(&dev, "app", "mine").await;
    let viewed = create(&admin, "app", "viewed").await;
    share(&admin, &viewed, json!([{ "subject": { "type": "user", "id": dev_id }, "level": "view" }])).await;
    let edited = create(&admin, "workflow", "edited").await;
    share(&admin, &edited, json!([{ "subject": { "type": "team", "id": team }, "level": "edit" }])).await;
    let others = create(&admin, "app", "someone else's").await;
    share(&admin, &others, json!([{ "subject": { "type": "user", "id": other_id }, "level": "edit" }])).await;
    let _unshared = create(&admin, "workflow", "nobody's").await;

    let q = format!("user_id={dev_id}");
    let view = all_pages(&admin, &format!("{q}&action=view"), 100).await;
    assert_eq!(view, sorted(vec![own.clone(), viewed.clone(), edited.clone()]), "what the user may view, ids ascending");
    assert_eq!(all_pages(&admin, &format!("{q}&action=edit"), 100).await, sorted(vec![own.clone(), edited.clone()]));
    assert_eq!(all_pages(&admin, &format!("{q}&action=delete"), 100).await, vec![own.clone()], "only the owner deletes");
    assert_eq!(all_pages(&admin, &format!("{q}&action=view&kind=workflow"), 100).await, vec![edited.clone()]);
    assert_eq!(all_pages(&admin, &format!("{q}&action=view&kind=data_source"), 100).await, Vec::<String>::new());
    assert_eq!(all_pages(&admin, &format!("{q}&action=view"), 1).await, view, "pages of one join up to the same list");
    assert_eq!(all_pages(&admin, &format!("{q}&action=view"), 2).await, view);
    // The admin's own lookup covers everything.
    let (_, me) = admin.get("/api/v1/me").await;
    let everything = all_pages(&admin, &format!("user_id={}&action=delete", me["id"].as_str().unwrap()), 2).await;
    assert_eq!(everything.len(), 5, "{everything:?}");

    // Taken out of the team, the user loses what the team gave, at once.
    let (status, _) = admin.delete(&format!("/api/v1/teams/{team}/members/{dev_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all_pages(&admin, &format!("{q}&action=view"), 100).await, sorted(vec![own.clone(), viewed.clone()]));
    // Deactivated, they may do nothing.
    assert_eq!(admin.post(&format!("/api/v1/users/{dev_id}/deactivate"), json!({})).await.0, StatusCode::OK);
    assert_eq!(all_pages(&admin, &format!("{q}&action=view"), 100).await, Vec::<String>::new());

    // Bad input is refused with a clear error.
    for (path, code) in [
        (format!("/api/v1/authz/lookup?{q}&action=view&limit=0"), "invalid_limit"),
        (format!("/api/v1/authz/lookup?{q}&action=view&limit=1001"), "invalid_limit"),
        (format!("/api/v1/authz/lookup?{q}&action=fly"), ""),
        (format!("/api/v1/authz/lookup?{q}&action=view&kind=spaceship"), ""),
        (format!("/api/v1/authz/lookup?{q}&action=view&kind="), ""),
        (format!("/api/v1/authz/lookup?{q}&action=view&cursor=not-an-id"), ""),
        (format!("/api/v1/authz/lookup?{q}"), ""),
        ("/api/v1/authz/lookup?user_id=nope&action=view".to_owned(), ""),
    ] {
        let (status, body) = admin.get(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        if !code.is_empty() {
            assert_eq!(body["error"]["code"], code, "{path}: {body}");
        }
    }
    let (status, _) = admin.get(&format!("/api/v1/authz/lookup?user_id={}&action=view", UserId::new())).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown user");
    // Only admins (and their tokens) ask about others.
    let (status, _) = dev.get(&format!("/api/v1/authz/lookup?user_id={other_id}&action=view")).await;
    assert!(status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED, "{status}");
}

async fn a_full_page_of_a_thousand_keeps_its_next_cursor(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (_, dev_id) = person(&app, &admin, "dev@example.com", "developer").await;
    let dev = UserId::parse(&dev_id).unwrap();
    let (_, me) = admin.get("/api/v1/me").await;
    let owner = UserId::parse(me["id"].as_str().unwrap()).unwrap();
    // 1,001 resources shared with the user, written straight to the store (through the change
    // log, as every write is), so that one full page of 1,000 leaves exactly one behind.
    let now = app.clock_now();
    let mut ids: Vec<String> = Vec::new();
    let mut tx = app.kw.unchecked_write().await.unwrap();
    for i in 0..1001 {
        let id = ResourceId::new();
        tx.insert_resource(&Resource {
            id,
            kind: Kind::App,
            name: format!("app {i}"),
            owner_id: owner,
            team_id: None,
            project_id: None,
            cpu_millis: 0,
            memory_mib: 0,
            storage_gib: 0,
            visibility: Visibility::Specific,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
        let share = Share {
            id: ShareId::new(),
            resource_id: id,
            subject: Subject::User(dev),
            level: Level::View,
            expires_at: None,
            created_at: now,
        };
        tx.upsert_share(&share).await.unwrap();
        ids.push(id.to_string());
    }
    tx.commit().await.unwrap();
    ids.sort();

    let (status, page) = admin.get(&format!("/api/v1/authz/lookup?user_id={dev_id}&action=view&limit=1000")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let first: Vec<&str> = page["items"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(first.len(), 1000);
    assert_eq!(page["next_cursor"].as_str(), Some(ids[999].as_str()), "a full page of the largest size still says more follow");
    let (_, rest) = admin.get(&format!("/api/v1/authz/lookup?user_id={dev_id}&action=view&limit=1000&cursor={}", ids[999])).await;
    assert_eq!(rest["items"], json!([ids[1000]]));
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(all_pages(&admin, &format!("user_id={dev_id}&action=view"), 1000).await, ids);
}
