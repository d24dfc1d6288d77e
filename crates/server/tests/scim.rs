//! SCIM 2.0 provisioning at /scim/v2, replaying the requests Okta and Entra ID send (from their
//! public SCIM guides): tokens scoped to SCIM, users and groups created, changed and removed,
//! `active: false` ending access at once on every node, filters, pages, ETags, roles from an
//! attribute or a group, the SCIM error schema, and the audit trail; on both engines.

mod common;

use common::{Client, Engine, TestApp, spawn_app};
use keyward_testkit::engine_tests;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PW: &str = "Plover-Quartz-42!";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

engine_tests!(
    scim_tokens_reach_scim_and_nothing_else,
    okta_provisions_links_and_deactivates,
    entra_provisions_patches_and_deletes,
    filters_pages_and_etags,
    roles_come_from_the_attribute_or_the_groups,
    discovery_and_errors_speak_scim,
    deactivation_ends_access_on_every_node,
);

/// A SCIM request with the token; answers status, ETag and the JSON body.
async fn scim(
    app_base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{app_base}/scim/v2{path}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/scim+json").body(b.to_string());
    }
    if let Some(m) = if_match {
        req = req.header("if-match", m);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let etag = res.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
    if status != StatusCode::NO_CONTENT {
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert!(ct.starts_with("application/scim+json"), "SCIM answers in its media type, got {ct:?} for {path}");
    }
    let text = res.text().await.expect("body");
    (status, etag, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") })
}

struct Idp {
    base: String,
    token: String,
}

impl Idp {
    async fn new(app: &TestApp, admin: &Client, name: &str) -> Idp {
        let (status, t) = admin.post("/api/v1/scim/tokens", json!({ "name": name })).await;
        assert_eq!(status, StatusCode::CREATED, "{t}");
        Idp { base: app.base.clone(), token: t["token"].as_str().expect("token").to_owned() }
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, _, b) = scim(&self.base, &self.token, Method::GET, path, None, None).await;
        (s, b)
    }
    async fn send(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, b) = scim(&self.base, &self.token, method, path, Some(body), None).await;
        (s, b)
    }
    async fn delete(&self, path: &str) -> StatusCode {
        scim(&self.base, &self.token, Method::DELETE, path, None, None).await.0
    }
}

fn patch(ops: Value) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops })
}

fn enc(filter: &str) -> String {
    url::form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

async fn scim_tokens_reach_scim_and_nothing_else(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let idp = Idp::new(&app, &admin, "Okta").await;
    let (status, list) = admin.get("/api/v1/scim/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"][0]["name"], "Okta");
    assert!(!list.to_string().contains(&idp.token), "the secret is shown once only");
    assert_eq!(idp.get("/Users").await.0, StatusCode::OK);

    // The SCIM token is refused by the rest of the API.
    let mut as_scim = app.client();
    as_scim.bearer = Some(idp.token.clone());
    assert_eq!(as_scim.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(as_scim.get("/api/v1/users").await.0, StatusCode::UNAUTHORIZED);

    // An API token (even an admin's) and a session are refused by SCIM.
    let (_, api) = admin.post("/api/v1/me/tokens", json!({ "name": "script" })).await;
    let api_token = api["token"].as_str().unwrap();
    let (status, _, body) = scim(&app.base, api_token, Method::GET, "/Users", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["schemas"][0], ERROR_SCHEMA);
    assert_eq!(body["status"], "401");
    assert_eq!(admin.get("/scim/v2/Users").await.0, StatusCode::UNAUTHORIZED, "a session cookie is no SCIM credential");

    // Only admins make SCIM tokens.
    let dev = app.user(&admin, "dev@example.com", "Dev Person", "developer", PW).await;
    assert_eq!(dev.post("/api/v1/scim/tokens", json!({ "name": "mine" })).await.0, StatusCode::FORBIDDEN);
    assert_eq!(dev.get("/api/v1/scim/tokens").await.0, StatusCode::FORBIDDEN);

    // Revoked: the next request is refused.
    let id = list["items"][0]["id"].as_str().unwrap();
    assert_eq!(admin.delete(&format!("/api/v1/scim/tokens/{id}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(idp.get("/Users").await.0, StatusCode::UNAUTHORIZED);
}

async fn okta_provisions_links_and_deactivates(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let idp = Idp::new(&app, &admin, "Okta").await;
    // An existing account, signed in with a session and an API token.
    let mut bob = app.user(&admin, "bob@example.com", "Bob Builder", "developer", PW).await;
    let (_, t) = bob.post("/api/v1/me/tokens", json!({ "name": "cli" })).await;
    let mut bob_token = app.client();
    bob_token.bearer = Some(t["token"].as_str().unwrap().to_owned());
    assert_eq!(bob_token.get("/api/v1/me").await.0, StatusCode::OK);

    // Okta looks the user up by userName before creating: the existing account is found.
    let (status, found) = idp.get(&format!("/Users?filter={}&startIndex=1&count=100", enc(r#"userName eq "bob@example.com""#))).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["totalResults"], 1);
    let bob_id = found["Resources"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(found["Resources"][0]["active"], true);

    // A new person, as Okta creates them.
    let (status, _) = idp.get(&format!("/Users?filter={}&startIndex=1&count=100", enc(r#"userName eq "carol@example.com""#))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, carol) = idp
        .send(
            Method::POST,
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "carol@example.com",
                "name": { "givenName": "Carol", "familyName": "Danvers" },
                "emails": [{ "primary": true, "value": "carol@example.com", "type": "work" }],
                "displayName": "Carol Danvers",
                "locale": "en-US",
                "externalId": "00u1abcd",
                "groups": [],
                "password": "ignored-Passw0rd!",
                "active": true
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{carol}");
    let carol_id = carol["id"].as_str().unwrap().to_owned();
    assert_eq!(carol["userName"], "carol@example.com");
    assert_eq!(carol["externalId"], "00u1abcd");
    assert_eq!(carol["name"]["givenName"], "Carol");
    assert_eq!(carol["meta"]["resourceType"], "User");
    assert!(carol.get("password").is_none(), "no password is kept or returned");
    let (_, in_keyward) = admin.get(&format!("/api/v1/users/{carol_id}")).await;
    assert_eq!(in_keyward["full_name"], "Carol Danvers");
    assert_eq!(in_keyward["role"], "viewer", "the default role");
    assert_eq!(in_keyward["status"], "active");
    // The same again is a uniqueness conflict.
    let (status, dup) = idp
        .send(
            Method::POST,
            "/Users",
            json!({ "userName": "carol@example.com", "emails": [{ "value": "carol@example.com", "primary": true }], "active": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(dup["scimType"], "uniqueness");

    // Okta's profile push: a PUT of the whole user.
    let (status, put) = idp
        .send(
            Method::PUT,
            &format!("/Users/{carol_id}"),
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": carol_id, "userName": "carol@example.com",
                "name": { "givenName": "Carol", "familyName": "Marvel" }, "displayName": "Carol Marvel",
                "emails": [{ "primary": true, "value": "carol@example.com", "type": "work" }], "active": true
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["displayName"], "Carol Marvel");

    // Okta's groups: create, rename, add and remove members.
    let (status, group) = idp
        .send(
            Method::POST,
            "/Groups",
            json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    let (status, g) = idp
        .send(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            patch(json!([{ "op": "replace", "value": { "id": gid, "displayName": "Platform Engineering" } }])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert_eq!(g["displayName"], "Platform Engineering");
    let (status, g) = idp
        .send(Method::PATCH, &format!("/Groups/{gid}"), patch(json!([{ "op": "add", "path": "members", "value": [{ "value": bob_id, "display": "bob@example.com" }, { "value": carol_id, "display": "carol@example.com" }] }])))
        .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert_eq!(g["members"].as_array().unwrap().len(), 2);
    let (_, team) = admin.get(&format!("/api/v1/teams/{gid}")).await;
    assert_eq!(team["name"], "Platform Engineering");
    assert_eq!(team["members"].as_array().unwrap().len(), 2, "{team}");
    let (status, g) = idp
        .send(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            patch(json!([{ "op": "remove", "path": format!("members[value eq \"{carol_id}\"]") }])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert_eq!(g["members"], json!([{ "value": bob_id, "$ref": format!("{}/scim/v2/Users/{bob_id}", app.base) }]));
    let (_, bob_scim) = idp.get(&format!("/Users/{bob_id}")).await;
    assert_eq!(bob_scim["groups"][0]["display"], "Platform Engineering");

    // Okta deactivates: every session and token of Bob ends at once.
    let (status, off) =
        idp.send(Method::PATCH, &format!("/Users/{bob_id}"), patch(json!([{ "op": "replace", "value": { "active": false } }]))).await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["active"], false);
    assert_eq!(bob.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "the session ended");
    assert_eq!(bob_token.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "the API token ended");
    assert_eq!(bob.login("bob@example.com", PW).await.0, StatusCode::UNAUTHORIZED, "and no new sign-in");
    // Reactivated by Okta: the password works again.
    let (status, on) =
        idp.send(Method::PATCH, &format!("/Users/{bob_id}"), patch(json!([{ "op": "replace", "value": { "active": true } }]))).await;
    assert_eq!(status, StatusCode::OK, "{on}");
    assert_eq!(bob.login("bob@example.com", PW).await.0, StatusCode::OK);

    // Every change is audited with the provisioning client as actor.
    let (_, events) = admin.get("/api/v1/audit?action=scim.user_deactivate").await;
    let e = &events["items"][0];
    assert_eq!(e["actor_kind"], "scim", "{events}");
    assert_eq!(e["details"]["scim_client"]["name"], "Okta");
    assert_eq!(e["target_id"], bob_id.as_str());
    assert_eq!(e["details"]["sessions_ended"], 1);
    assert_eq!(e["details"]["tokens_revoked"], 1);
    let (_, created) = admin.get("/api/v1/audit?action=scim.user_create").await;
    assert_eq!(created["items"][0]["details"]["scim_client"]["name"], "Okta");
    assert!(!created.to_string().contains("ignored-Passw0rd!"), "nothing a provider sends as a password reaches the log");
}

async fn entra_provisions_patches_and_deletes(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let idp = Idp::new(&app, &admin, "Entra ID").await;
    // Entra's connectivity test: a filter on a random attribute value finds nothing.
    let (status, none) = idp.get(&format!("/Users?filter={}", enc(r#"userName eq "non-existent-user-7f3c""#))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none["totalResults"], 0);
    assert_eq!(none["Resources"], json!([]));

    let (status, dana) = idp
        .send(
            Method::POST,
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "dana",
                "userName": "dana@contoso.example",
                "active": true,
                "emails": [{ "primary": true, "type": "work", "value": "dana@contoso.example" }],
                "meta": { "resourceType": "User" },
                "name": { "formatted": "Dana Scully", "familyName": "Scully", "givenName": "Dana" },
                "roles": [],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Research" }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dana}");
    let id = dana["id"].as_str().unwrap().to_owned();
    let (_, u) = admin.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(u["full_name"], "Dana Scully", "given and family name make the name");

    // Entra's PATCH: capitalised ops, paths, filtered paths, "False" as a string.
    let (status, p) = idp
        .send(
            Method::PATCH,
            &format!("/Users/{id}"),
            patch(json!([
                { "op": "Replace", "path": "displayName", "value": "Dana K. Scully" },
                { "op": "Add", "path": "emails[type eq \"work\"].value", "value": "dana.scully@contoso.example" },
                { "op": "Replace", "path": "name.familyName", "value": "Scully-Mulder" },
                { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "701984" },
            ])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["displayName"], "Dana K. Scully");
    assert_eq!(p["emails"][0]["value"], "dana.scully@contoso.example");
    assert_eq!(p["name"]["familyName"], "Scully-Mulder");
    let (_, u) = admin.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(u["email"], "dana.scully@contoso.example");
    assert_eq!(u["full_name"], "Dana K. Scully");

    // Groups, as Entra sends them: members added, then removed by value.
    let (status, g) = idp.send(Method::POST, "/Groups", json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "externalId": "8aa1", "displayName": "Research", "members": [] })).await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    let gid = g["id"].as_str().unwrap().to_owned();
    let (status, found) = idp.get(&format!("/Groups?filter={}&excludedAttributes=members", enc(r#"displayName eq "research""#))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["totalResults"], 1);
    assert!(found["Resources"][0].get("members").is_none(), "excludedAttributes leaves members out");
    let (status, _) = idp
        .send(Method::PATCH, &format!("/Groups/{gid}"), patch(json!([{ "op": "Add", "path": "members", "value": [{ "value": id }] }])))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, team) = admin.get(&format!("/api/v1/teams/{gid}")).await;
    assert_eq!(team["members"][0]["id"], id.as_str(), "{team}");
    let (status, g) = idp
        .send(Method::PATCH, &format!("/Groups/{gid}"), patch(json!([{ "op": "Remove", "path": "members", "value": [{ "value": id }] }])))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(g["members"], json!([]));

    // Entra's deactivation.
    let (status, off) =
        idp.send(Method::PATCH, &format!("/Users/{id}"), patch(json!([{ "op": "Replace", "path": "active", "value": "False" }]))).await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["active"], false);
    let (_, u) = admin.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(u["status"], "deactivated");

    // A user who owns a resource is deleted: the account is deactivated, the resource stays.
    let (status, erin) = idp.send(Method::POST, "/Users", json!({ "userName": "erin@contoso.example", "active": true, "emails": [{ "primary": true, "value": "erin@contoso.example" }], "displayName": "Erin" })).await;
    assert_eq!(status, StatusCode::CREATED, "{erin}");
    let erin_id = erin["id"].as_str().unwrap().to_owned();
    let (status, r) = admin.post("/api/v1/resources", json!({ "kind": "app", "name": "erin-app" })).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(idp.delete(&format!("/Users/{erin_id}")).await, StatusCode::NO_CONTENT);
    let (status, gone) = idp.get(&format!("/Users/{erin_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(gone["schemas"][0], ERROR_SCHEMA);
    let (_, u) = admin.get(&format!("/api/v1/users/{erin_id}")).await;
    assert_eq!(u["status"], "deactivated", "the account stays, deactivated");
    let rid = r["id"].as_str().unwrap();
    assert_eq!(admin.get(&format!("/api/v1/resources/{rid}")).await.0, StatusCode::OK, "resources stay");
    assert_eq!(idp.delete(&format!("/Users/{erin_id}")).await, StatusCode::NOT_FOUND);
    // A rejoiner comes back to the same account.
    let (status, back) = idp
        .send(
            Method::POST,
            "/Users",
            json!({ "userName": "erin@contoso.example", "active": true, "emails": [{ "primary": true, "value": "erin@contoso.example" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{back}");
    assert_eq!(back["id"], erin_id.as_str());
    assert_eq!(back["active"], true);

    // The group deleted by Entra: the team goes.
    assert_eq!(idp.delete(&format!("/Groups/{gid}")).await, StatusCode::NO_CONTENT);
    assert_eq!(admin.get(&format!("/api/v1/teams/{gid}")).await.0, StatusCode::NOT_FOUND);
}

async fn filters_pages_and_etags(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let idp = Idp::new(&app, &admin, "Okta").await;
    for (user, given) in [("ann", "Ann"), ("andy", "Andy"), ("bea", "Bea"), ("anton", "Anton"), ("cy", "Cy")] {
        let (status, b) = idp
            .send(Method::POST, "/Users", json!({ "userName": format!("{user}@corp.example"), "name": { "givenName": given, "familyName": "Test" }, "emails": [{ "value": format!("{user}@corp.example"), "primary": true }], "active": true }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{b}");
    }
    let (_, all) = idp.get("/Users").await;
    assert_eq!(all["totalResults"], 6, "five and the admin");
    let (_, page) = idp.get("/Users?startIndex=2&count=2").await;
    assert_eq!(page["totalResults"], 6);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
    assert_eq!(page["Resources"][0]["id"], all["Resources"][1]["id"]);
    let (_, none) = idp.get("/Users?count=0").await;
    assert_eq!(none["totalResults"], 6);
    assert_eq!(none["Resources"], json!([]));

    let names = |v: &Value| -> Vec<String> {
        v["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap().to_owned()).collect()
    };
    let (_, sw) = idp.get(&format!("/Users?filter={}", enc(r#"userName sw "AN""#))).await;
    assert_eq!(names(&sw), ["ann@corp.example", "andy@corp.example", "anton@corp.example"]);
    let (_, and) = idp.get(&format!("/Users?filter={}", enc(r#"userName sw "an" and name.givenName co "to""#))).await;
    assert_eq!(names(&and), ["anton@corp.example"]);
    let (_, eq) = idp.get(&format!("/Users?filter={}&attributes=userName", enc(r#"emails.value eq "bea@corp.example""#))).await;
    assert_eq!(names(&eq), ["bea@corp.example"]);
    assert!(eq["Resources"][0].get("emails").is_none() && eq["Resources"][0]["id"].is_string(), "attributes keeps id and what was asked");
    let (status, bad) = idp.get(&format!("/Users?filter={}", enc(r#"userName eq"#))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["scimType"], "invalidFilter");
    // The same query as a search.
    let (status, searched) = idp
        .send(
            Method::POST,
            "/Users/.search",
            json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"b\"", "count": 10 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{searched}");
    assert_eq!(names(&searched), ["bea@corp.example"]);

    // ETags: the header is meta.version; a stale If-Match is refused with 412.
    let bea = searched["Resources"][0]["id"].as_str().unwrap().to_owned();
    let (status, etag, body) = scim(&app.base, &idp.token, Method::GET, &format!("/Users/{bea}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    let etag = etag.expect("an ETag");
    assert_eq!(body["meta"]["version"], etag.as_str());
    let rename = |name: &str| json!({ "userName": "bea@corp.example", "displayName": name, "emails": [{ "value": "bea@corp.example", "primary": true }], "active": true });
    let (status, new_etag, _) =
        scim(&app.base, &idp.token, Method::PUT, &format!("/Users/{bea}"), Some(rename("Bea One")), Some(&etag)).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(new_etag.as_deref(), Some(etag.as_str()), "a change gives a new version");
    let (status, _, stale) = scim(&app.base, &idp.token, Method::PUT, &format!("/Users/{bea}"), Some(rename("Bea Two")), Some(&etag)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale["schemas"][0], ERROR_SCHEMA);
    let (status, _, _) = scim(
        &app.base,
        &idp.token,
        Method::PATCH,
        &format!("/Users/{bea}"),
        Some(patch(json!([{ "op": "replace", "path": "active", "value": false }]))),
        Some(&etag),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = scim(&app.base, &idp.token, Method::DELETE, &format!("/Users/{bea}"), None, Some(&etag)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (_, u) = admin.get(&format!("/api/v1/users/{bea}")).await;
    assert_eq!((u["full_name"].as_str(), u["status"].as_str()), (Some("Bea One"), Some("active")), "nothing stale was applied");
}

async fn roles_come_from_the_attribute_or_the_groups(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let idp = Idp::new(&app, &admin, "Okta").await;
    let (status, s) = admin
        .send(Method::PUT, "/api/v1/scim/settings", Some(json!({ "default_role": "viewer", "role_attribute": "userType", "group_roles": [{ "group": "Engineers", "role": "developer" }] })))
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    let (status, bad) = admin.send(Method::PUT, "/api/v1/scim/settings", Some(json!({ "default_role": "root" }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    let (status, fay) = idp.send(Method::POST, "/Users", json!({ "userName": "fay@corp.example", "userType": "Data Scientist", "emails": [{ "value": "fay@corp.example", "primary": true }], "active": true })).await;
    assert_eq!(status, StatusCode::CREATED, "{fay}");
    assert_eq!(fay["roles"][0]["value"], "data_scientist", "from the role attribute");
    let (status, wrong) = idp.send(Method::POST, "/Users", json!({ "userName": "gus@corp.example", "userType": "superuser", "emails": [{ "value": "gus@corp.example", "primary": true }] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong["scimType"], "invalidValue");
    let (_, gus) = idp
        .send(
            Method::POST,
            "/Users",
            json!({ "userName": "gus@corp.example", "emails": [{ "value": "gus@corp.example", "primary": true }] }),
        )
        .await;
    let gus_id = gus["id"].as_str().unwrap().to_owned();
    assert_eq!(gus["roles"][0]["value"], "viewer", "the default role");

    // Joining the mapped group makes Gus a developer; leaving it takes him back to the default.
    let (status, g) = idp.send(Method::POST, "/Groups", json!({ "displayName": "Engineers", "members": [{ "value": gus_id }] })).await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    let gid = g["id"].as_str().unwrap().to_owned();
    let (_, u) = admin.get(&format!("/api/v1/users/{gus_id}")).await;
    assert_eq!(u["role"], "developer");
    let (status, _) = idp
        .send(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            patch(json!([{ "op": "remove", "path": format!("members[value eq \"{gus_id}\"]") }])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, u) = admin.get(&format!("/api/v1/users/{gus_id}")).await;
    assert_eq!(u["role"], "viewer");
    let (_, events) = admin.get("/api/v1/audit?action=scim.user_role").await;
    assert_eq!(events["items"].as_array().unwrap().len(), 2, "{events}");
    assert_eq!(events["items"][0]["actor_kind"], "scim");

    // SCIM cannot take away the last admin.
    let (_, me) = admin.get("/api/v1/me").await;
    let admin_id = me["id"].as_str().unwrap();
    let (status, last) =
        idp.send(Method::PATCH, &format!("/Users/{admin_id}"), patch(json!([{ "op": "replace", "path": "active", "value": false }]))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{last}");
    assert_eq!(admin.get("/api/v1/me").await.0, StatusCode::OK);
}

async fn discovery_and_errors_speak_scim(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let idp = Idp::new(&app, &admin, "Tester").await;
    let (status, spc) = idp.get("/ServiceProviderConfig").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], false);
    let (_, types) = idp.get("/ResourceTypes").await;
    let endpoints: Vec<&str> = types["Resources"].as_array().unwrap().iter().map(|t| t["endpoint"].as_str().unwrap()).collect();
    assert_eq!(endpoints, ["/Users", "/Groups"]);
    assert_eq!(idp.get("/ResourceTypes/User").await.1["schema"], "urn:ietf:params:scim:schemas:core:2.0:User");
    let (_, schemas) = idp.get("/Schemas").await;
    assert_eq!(schemas["totalResults"], 2);
    let (status, one) = idp.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["name"], "Group");

    for (status, body) in
        [idp.get("/NoSuchThing").await, idp.get("/Users/not-an-id").await, idp.get(&format!("/Groups/{}", uuid::Uuid::now_v7())).await]
    {
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
        assert_eq!(body["status"], "404");
    }
    let (status, _, body) = scim(&app.base, &idp.token, Method::POST, "/Users", Some(Value::String("{ nope".into())), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["scimType"], "invalidSyntax");
    let (status, body) = idp.send(Method::POST, "/Users", json!({ "emails": [] })).await;
    assert_eq!((status, body["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidValue")));
    let (status, body) = idp.send(Method::POST, "/Users", json!({ "userName": "no-email-here" })).await;
    assert_eq!((status, body["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidValue")));
    let (status, body) = idp
        .send(
            Method::PATCH,
            &format!("/Users/{}", admin.get("/api/v1/me").await.1["id"].as_str().unwrap()),
            patch(json!([{ "op": "jump" }])),
        )
        .await;
    assert_eq!((status, body["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidSyntax")));
}

async fn deactivation_ends_access_on_every_node(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let idp = Idp::new(&app, &admin, "Okta").await;
    let hal = app.user(&admin, "hal@example.com", "Hal Jordan", "developer", PW).await;
    let (_, t) = hal.post("/api/v1/me/tokens", json!({ "name": "cli" })).await;
    let node2 = app.second_node().await;
    // Hal's session cookie and token, used against the second node.
    let hal2 = Client { http: hal.http.clone(), base: node2.base.clone(), csrf: hal.csrf.clone(), bearer: None };
    let token2 =
        Client { http: reqwest::Client::new(), base: node2.base.clone(), csrf: None, bearer: t["token"].as_str().map(str::to_owned) };
    assert_eq!(hal2.get("/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(token2.get("/api/v1/me").await.0, StatusCode::OK);
    let (_, found) = idp.get(&format!("/Users?filter={}", enc(r#"userName eq "hal@example.com""#))).await;
    let id = found["Resources"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) =
        idp.send(Method::PATCH, &format!("/Users/{id}"), patch(json!([{ "op": "replace", "path": "active", "value": false }]))).await;
    assert_eq!(status, StatusCode::OK);
    // The very next request on the other node is refused, with no wait.
    assert_eq!(hal2.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(token2.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(hal.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}
