//! Service accounts (issue 9, point 11): admins create them and give them scoped tokens; a token
//! does only what both its scopes and its account's role allow, on every endpoint; revoking a
//! token or deleting the account ends it on the next request, on every node; a service account
//! never signs in and is not a person in the directory; every change is audited. Over HTTP, on
//! both engines.

mod common;

use common::{Client, Engine, TestApp, spawn_app};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};

engine_tests!(
    a_check_token_checks_but_gets_403_everywhere_else,
    a_token_does_only_what_both_its_scopes_and_its_role_allow,
    revoking_a_token_or_deleting_the_account_ends_it_on_the_next_request_on_every_node,
    service_accounts_cannot_sign_in_and_are_not_people,
    service_accounts_and_their_tokens_are_admin_only_checked_and_audited,
);

/// Creates a service account as `admin`; answers its id.
async fn service_account(admin: &Client, name: &str, role: Option<&str>) -> String {
    let mut body = json!({ "name": name, "description": "The platform's gateway" });
    if let Some(r) = role {
        body["role"] = json!(r);
    }
    let (status, created) = admin.post("/api/v1/service-accounts", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// A bearer client for a new token of service account `id` with `scopes`, and the token's id.
async fn token(app: &TestApp, admin: &Client, id: &str, scopes: &[&str]) -> (Client, String) {
    let (status, created) =
        admin.post(&format!("/api/v1/service-accounts/{id}/tokens"), json!({ "name": "gateway", "scopes": scopes })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["token"].as_str().unwrap().starts_with("kw_"));
    let mut bot = app.client();
    bot.bearer = created["token"].as_str().map(str::to_owned);
    (bot, created["id"].as_str().unwrap().to_owned())
}

/// An app of the admin's, and the admin's user id.
async fn resource_and_admin_id(admin: &Client) -> (String, String) {
    let (status, r) = admin.post("/api/v1/resources", json!({ "kind": "app", "name": "ledger" })).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let (_, me) = admin.get("/api/v1/me").await;
    (r["id"].as_str().unwrap().to_owned(), me["id"].as_str().unwrap().to_owned())
}

fn refused_for_scope(answer: (StatusCode, Value), what: &str) {
    assert_eq!(answer.0, StatusCode::FORBIDDEN, "{what}: {}", answer.1);
    assert_eq!(answer.1["error"]["code"], "insufficient_scope", "{what}: {}", answer.1);
    assert!(answer.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
}

async fn a_check_token_checks_but_gets_403_everywhere_else(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (resource, admin_id) = resource_and_admin_id(&admin).await;
    let sa = service_account(&admin, "Platform gateway", None).await;
    let (bot, _) = token(&app, &admin, &sa, &["authz:check"]).await;

    let (status, decision) =
        bot.post("/api/v1/authz/check", json!({ "user_id": admin_id, "action": "edit", "resource_id": resource })).await;
    assert_eq!(status, StatusCode::OK, "{decision}");
    assert_eq!(decision["allowed"], true);
    let (status, batch) = bot
        .post("/api/v1/authz/check-batch", json!({ "checks": [{ "user_id": admin_id, "action": "view", "resource_id": resource }] }))
        .await;
    assert_eq!(status, StatusCode::OK, "{batch}");

    let users = bot.get("/api/v1/users").await;
    assert_eq!(users.1["error"]["details"]["required_scope"], "users:read");
    refused_for_scope(users, "the directory");
    refused_for_scope(bot.get(&format!("/api/v1/authz/explain?user_id={admin_id}&resource_id={resource}")).await, "explain");
    refused_for_scope(bot.get("/api/v1/me").await, "the account's own profile");
    refused_for_scope(bot.post("/api/v1/me/tokens", json!({ "name": "unscoped" })).await, "minting an unscoped token");
    refused_for_scope(bot.get("/api/v1/service-accounts").await, "managing service accounts");
    refused_for_scope(bot.post("/api/v1/resources", json!({ "kind": "app", "name": "x" })).await, "creating a resource");
    refused_for_scope(bot.get(&format!("/api/v1/resources/{resource}")).await, "reading a resource");
    refused_for_scope(bot.get("/api/v1/audit").await, "the audit log");

    // Each refusal is audited against the service account, naming the request.
    let (_, denied) = admin.get(&format!("/api/v1/audit?action=access.denied&actor_id={sa}&limit=100")).await;
    let requests: Vec<&str> = denied["items"].as_array().unwrap().iter().filter_map(|e| e["details"]["request"].as_str()).collect();
    assert!(requests.contains(&"GET /api/v1/users"), "{requests:?}");
    assert!(requests.contains(&"POST /api/v1/me/tokens"), "{requests:?}");
    // An auditor tells the machine's calls from a person's.
    for e in denied["items"].as_array().unwrap() {
        assert_eq!(e["actor_kind"], "service", "{e}");
    }
}

async fn a_token_does_only_what_both_its_scopes_and_its_role_allow(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (resource, admin_id) = resource_and_admin_id(&admin).await;
    let check = json!({ "user_id": admin_id, "action": "view", "resource_id": resource });

    // A viewer's role may read the directory but not ask about anyone's access: the scope alone
    // does not open the check API.
    let viewer = service_account(&admin, "Directory sync", Some("viewer")).await;
    let (bot, _) = token(&app, &admin, &viewer, &["authz:check", "users:read"]).await;
    let (status, body) = bot.post("/api/v1/authz/check", check.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(bot.get("/api/v1/users").await.0, StatusCode::OK);

    // An admin's role may do everything: the scopes keep it to reading users and teams.
    let reader = service_account(&admin, "Reporting", Some("admin")).await;
    let (bot, _) = token(&app, &admin, &reader, &["users:read", "teams:read"]).await;
    let (status, users) = bot.get("/api/v1/users").await;
    assert_eq!(status, StatusCode::OK, "{users}");
    assert_eq!(bot.get("/api/v1/teams").await.0, StatusCode::OK);
    assert_eq!(bot.get(&format!("/api/v1/users/{admin_id}")).await.0, StatusCode::OK);
    refused_for_scope(bot.patch(&format!("/api/v1/users/{admin_id}"), json!({ "role": "viewer" })).await, "changing a role");
    refused_for_scope(bot.post(&format!("/api/v1/users/{admin_id}/deactivate"), json!({})).await, "deactivating");
    refused_for_scope(bot.post("/api/v1/teams", json!({ "name": "Shadow" })).await, "creating a team");
    refused_for_scope(bot.post("/api/v1/authz/check", check).await, "a check without authz:check");
    let (_, me) = admin.get("/api/v1/me").await;
    assert_eq!(me["role"], "admin", "nothing changed");
}

async fn revoking_a_token_or_deleting_the_account_ends_it_on_the_next_request_on_every_node(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let node2 = app.second_node().await;
    let admin = app.admin().await;
    let (resource, admin_id) = resource_and_admin_id(&admin).await;
    let check = json!({ "user_id": admin_id, "action": "view", "resource_id": resource });
    let sa = service_account(&admin, "Gateway", None).await;
    let (bot, token_id) = token(&app, &admin, &sa, &["authz:check"]).await;
    let (kept, _) = token(&app, &admin, &sa, &["authz:check"]).await;
    let mut bot2 = node2.client();
    bot2.bearer = bot.bearer.clone();
    let mut kept2 = node2.client();
    kept2.bearer = kept.bearer.clone();
    assert_eq!(bot.post("/api/v1/authz/check", check.clone()).await.0, StatusCode::OK);
    assert_eq!(bot2.post("/api/v1/authz/check", check.clone()).await.0, StatusCode::OK);

    let (status, listed) = admin.get(&format!("/api/v1/service-accounts/{sa}/tokens")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert_eq!(listed["items"][0]["scopes"], json!(["authz:check"]));
    assert!(!listed.to_string().contains(bot.bearer.as_deref().unwrap()), "the secret is never listed");

    assert_eq!(admin.delete(&format!("/api/v1/service-accounts/{sa}/tokens/{token_id}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(bot.post("/api/v1/authz/check", check.clone()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(bot2.post("/api/v1/authz/check", check.clone()).await.0, StatusCode::UNAUTHORIZED, "the other node too");
    assert_eq!(kept2.post("/api/v1/authz/check", check.clone()).await.0, StatusCode::OK, "the other token lives");

    assert_eq!(admin.delete(&format!("/api/v1/service-accounts/{sa}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(kept.post("/api/v1/authz/check", check.clone()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(kept2.post("/api/v1/authz/check", check).await.0, StatusCode::UNAUTHORIZED, "the other node too");
    assert_eq!(admin.get(&format!("/api/v1/service-accounts/{sa}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(admin.delete(&format!("/api/v1/service-accounts/{sa}")).await.0, StatusCode::NOT_FOUND);
}

async fn service_accounts_cannot_sign_in_and_are_not_people(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let sa = service_account(&admin, "Gateway", None).await;
    let (bot, _) = token(&app, &admin, &sa, &["users:read"]).await;
    let email = format!("{}@service-accounts.invalid", sa.replace('-', ""));

    // No sign-in, no reset link, whatever password is tried.
    for pw in ["", "Plover-Quartz-42!"] {
        let (status, body) = app.client().login(&email, pw).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, _) = app.client().post("/api/v1/password-reset", json!({ "email": email })).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(app.outbox().iter().all(|m| !m.contains("service-accounts.invalid")), "no reset mail");

    // Not a person: not in the directory, not managed as a user, not a team member.
    let (_, users) = admin.get("/api/v1/users").await;
    assert!(users["items"].as_array().unwrap().iter().all(|u| u["id"] != sa.as_str()), "{users}");
    let (_, users) = bot.get("/api/v1/users?q=service").await;
    assert_eq!(users["items"], json!([]));
    assert_eq!(admin.get(&format!("/api/v1/users/{sa}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(admin.patch(&format!("/api/v1/users/{sa}"), json!({ "role": "viewer" })).await.0, StatusCode::NOT_FOUND);
    assert_eq!(admin.post(&format!("/api/v1/users/{sa}/mfa-reset"), json!({})).await.0, StatusCode::NOT_FOUND);
    let (status, body) = admin.post("/api/v1/teams", json!({ "name": "Ops", "member_ids": [sa] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // The MFA policy is for people: a service token keeps working when every person needs MFA now.
    let policy = json!({
        "mfa": { "mode": "all", "roles": [], "grace_period_days": 0 },
        "password": { "min_length": 8, "require_uppercase": true, "require_lowercase": true, "require_digit": true, "require_special": true, "block_common": true },
        "sessions": { "idle_timeout_minutes": 60, "absolute_timeout_hours": 12 },
    });
    assert_eq!(admin.send(reqwest::Method::PUT, "/api/v1/policies/security", Some(policy)).await.0, StatusCode::OK);
    assert_eq!(bot.get("/api/v1/users").await.0, StatusCode::OK);
}

async fn service_accounts_and_their_tokens_are_admin_only_checked_and_audited(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let dev = app.user(&admin, "dev@example.com", "Dev", "developer", "Plover-Quartz-42!").await;
    let (status, body) = dev.post("/api/v1/service-accounts", json!({ "name": "Mine" })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    assert_eq!(dev.get("/api/v1/service-accounts").await.0, StatusCode::FORBIDDEN);

    let sa = service_account(&admin, "Gateway", None).await;
    assert_eq!(dev.get(&format!("/api/v1/service-accounts/{sa}/tokens")).await.0, StatusCode::FORBIDDEN);
    let tokens = format!("/api/v1/service-accounts/{sa}/tokens");
    for (body, code) in [
        (json!({ "name": "t", "scopes": ["admin"] }), "invalid_scope"),
        (json!({ "name": "t", "scopes": [] }), "scopes_required"),
        (json!({ "name": "t", "scopes": ["authz:check"], "expires_in_days": 0 }), "invalid_expiry"),
        (json!({ "name": "", "scopes": ["authz:check"] }), "invalid_name"),
    ] {
        let (status, answer) = admin.post(&tokens, body).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{answer}");
    }
    let (status, _) = admin.post("/api/v1/service-accounts", json!({ "name": "" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = admin.post("/api/v1/service-accounts", json!({ "name": "x", "role": "root" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = admin
        .post(&format!("/api/v1/service-accounts/{}/tokens", uuid::Uuid::now_v7()), json!({ "name": "t", "scopes": ["authz:check"] }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, me) = admin.get("/api/v1/me").await;
    let (status, _) = admin
        .post(&format!("/api/v1/service-accounts/{}/tokens", me["id"].as_str().unwrap()), json!({ "name": "t", "scopes": ["authz:check"] }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a person is not a service account");

    let (bot, token_id) = token(&app, &admin, &sa, &["authz:check", "audit:read"]).await;
    let secret = bot.bearer.clone().unwrap();
    assert_eq!(admin.delete(&format!("{tokens}/{token_id}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(admin.delete(&format!("/api/v1/service-accounts/{sa}")).await.0, StatusCode::NO_CONTENT);

    let (status, audit) = admin.get("/api/v1/audit?limit=100").await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for want in ["service_account.create", "service_account.token_create", "service_account.token_revoke", "service_account.delete"] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    let created = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "service_account.token_create").unwrap();
    assert_eq!(created["details"]["scopes"], "authz:check audit:read");
    assert_eq!(created["target_id"], token_id.as_str());
    assert!(!audit.to_string().contains(&secret), "the token never reaches the audit log");
    let (status, verify) = admin.get("/api/v1/audit/verify").await;
    assert_eq!((status, verify["ok"].as_bool()), (StatusCode::OK, Some(true)), "{verify}");

    let (_, doc) = app.client().get("/api/openapi.json").await;
    for path in [
        "/api/v1/service-accounts",
        "/api/v1/service-accounts/{id}",
        "/api/v1/service-accounts/{id}/tokens",
        "/api/v1/service-accounts/{id}/tokens/{token_id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} in the OpenAPI document");
    }
}
