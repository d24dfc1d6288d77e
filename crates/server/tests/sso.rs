//! OIDC sign-in over HTTP on both engines, through a real OpenID Provider (npm `oidc-provider`,
//! started by the testkit): just-in-time accounts and group mappings at every sign-in; a wrong
//! `state`, a replayed callback or code, a tampered and an expired ID token refused with a page;
//! linking only by a verified email the provider may link; JIT off refused; SSO-required domains
//! refusing passwords; the provider's `amr` satisfying the MFA policy only when trusted; the
//! providers' API (secret never shown, every change audited).

mod common;

use common::{Engine, TestApp, spawn_app, totp_code};
use keyward_testkit::engine_tests;
use keyward_testkit::idp::{self, IdpUser, TestIdp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

const PW: &str = "Plover-Quartz-42!";

engine_tests!(
    first_sign_in_creates_the_account_and_mappings_follow_the_groups,
    a_wrong_state_is_refused,
    a_replayed_callback_and_a_replayed_code_are_refused,
    a_tampered_id_token_is_refused,
    an_expired_id_token_is_refused,
    linking_needs_a_verified_email_and_the_providers_permission,
    without_jit_an_unknown_person_is_refused,
    a_deactivated_account_is_refused,
    sso_required_domains_refuse_passwords_and_resets,
    a_trusted_providers_mfa_replaces_keywards_code_step,
    a_trusted_providers_mfa_satisfies_the_enrollment_policy,
    providers_api_never_shows_the_secret_and_audits_changes,
);

struct World {
    app: TestApp,
    idp: TestIdp,
    admin: common::Client,
    provider_id: String,
    team_id: String,
}

fn user<'a>(login: &'a str, email: &'a str, groups: &'a [&'a str]) -> IdpUser<'a> {
    IdpUser { login, email, email_verified: true, groups, amr: &["pwd"] }
}

/// A server, a provider whose ID tokens live `ttl` seconds, and the provider configured in
/// Keyward (slug `test`) with JIT on and `engineers` → team "Data Platform" as developer.
async fn world(engine: Engine, ttl: u64, extra: Value) -> Option<World> {
    let app = spawn_app(engine).await?;
    let idp = TestIdp::start(&format!("{}/auth/oidc/test/callback", app.base), &format!("{}/login?signed_out=1", app.base), ttl)?;
    let admin = app.admin().await;
    let (status, team) = admin.post("/api/v1/teams", json!({ "name": "Data Platform", "description": "" })).await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team_id = team["id"].as_str().unwrap().to_owned();
    let mut body = json!({
        "name": "Test IdP", "slug": "test", "issuer": idp.issuer, "client_id": idp::CLIENT_ID, "client_secret": idp::CLIENT_SECRET,
        "scopes": ["email", "profile", "groups"], "jit": true, "default_role": "viewer",
        "mappings": [{ "group": "engineers", "team_id": team_id, "role": "developer" }],
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, p) = admin.post("/api/v1/sso/providers", body).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    Some(World { provider_id: p["id"].as_str().unwrap().to_owned(), app, idp, admin, team_id })
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Signs in as `login` at the provider and answers (status, Location, body) of Keyward's
/// callback, with the client that followed it.
async fn sign_in(w: &World, login: &str) -> (StatusCode, String, String, reqwest::Client) {
    let http = browser();
    let callback = idp::authorize(&http, &format!("{}/auth/oidc/test/start", w.app.base), login).await;
    let (status, location, body) = get(&http, &callback).await;
    (status, location, body, http)
}

async fn get(http: &reqwest::Client, url: &str) -> (StatusCode, String, String) {
    let res = http.get(url).send().await.unwrap();
    let status = res.status();
    let location = res.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned();
    (status, location, res.text().await.unwrap())
}

/// Who the client's session is (`GET /api/v1/me`).
async fn me(w: &World, http: &reqwest::Client) -> (StatusCode, Value) {
    let res = http.get(format!("{}/api/v1/me", w.app.base)).send().await.unwrap();
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

async fn members(w: &World) -> Vec<String> {
    let (status, team) = w.admin.get(&format!("/api/v1/teams/{}", w.team_id)).await;
    assert_eq!(status, StatusCode::OK, "{team}");
    team["members"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap_or_default().to_owned()).collect()
}

async fn first_sign_in_creates_the_account_and_mappings_follow_the_groups(engine: Engine) {
    let Some(w) = world(engine, 3600, json!({})).await else { return };
    w.idp.set_users(&[user("alice", "alice@corp.example", &["engineers"])]);
    let (status, location, body, http) = sign_in(&w, "alice").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location, "/");
    let (status, me1) = me(&w, &http).await;
    assert_eq!(status, StatusCode::OK, "{me1}");
    assert_eq!(me1["email"], "alice@corp.example");
    assert_eq!(me1["role"], "developer", "the mapping's role");
    assert_eq!(members(&w).await, vec!["alice@corp.example".to_owned()]);

    // Out of the group at the provider: the next sign-in takes her out of the team and the role.
    w.idp.set_users(&[user("alice", "alice@corp.example", &[])]);
    let (status, _, body, http) = sign_in(&w, "alice").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, me2) = me(&w, &http).await;
    assert_eq!(me2["id"], me1["id"], "matched by the provider's subject: the same account");
    assert_eq!(me2["role"], "viewer", "no mapped group: the default role");
    assert!(members(&w).await.is_empty());

    let (_, audit) = w.admin.get("/api/v1/audit?limit=100").await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for a in ["sso.user_create", "sso.team_add", "sso.team_remove", "sso.user_role"] {
        assert!(actions.contains(&a), "{a} audited: {actions:?}");
    }
}

async fn a_wrong_state_is_refused(engine: Engine) {
    let Some(w) = world(engine, 3600, json!({})).await else { return };
    w.idp.set_users(&[user("alice", "alice@corp.example", &["engineers"])]);
    let http = browser();
    let callback = idp::authorize(&http, &format!("{}/auth/oidc/test/start", w.app.base), "alice").await;
    let (head, query) = callback.split_once('?').unwrap();
    let forged: Vec<String> =
        query.split('&').map(|kv| if kv.starts_with("state=") { "state=forged-state-value".to_owned() } else { kv.to_owned() }).collect();
    let (status, _, body) = get(&http, &format!("{head}?{}", forged.join("&"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("cannot be completed"), "{body}");
    // The same callback from another browser (no state cookie) is refused too.
    let (status, _, _) = get(&browser(), &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(me(&w, &http).await.0, StatusCode::UNAUTHORIZED);
}

async fn a_replayed_callback_and_a_replayed_code_are_refused(engine: Engine) {
    let Some(w) = world(engine, 3600, json!({})).await else { return };
    w.idp.set_users(&[user("alice", "alice@corp.example", &["engineers"])]);
    let http = browser();
    let callback = idp::authorize(&http, &format!("{}/auth/oidc/test/start", w.app.base), "alice").await;
    assert_eq!(get(&http, &callback).await.0, StatusCode::SEE_OTHER);
    // The same callback again: its state was used.
    let other = browser();
    let start = other.get(format!("{}/auth/oidc/test/start", w.app.base)).send().await.unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let (status, _, body) = get(&http, &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The used code with a fresh, valid state of this browser: the provider refuses it.
    let fresh = idp::authorize(&http, &format!("{}/auth/oidc/test/start", w.app.base), "alice").await;
    let code = |url: &str| url.split(['?', '&']).find(|kv| kv.starts_with("code=")).unwrap().to_owned();
    let replayed = fresh.replace(&code(&fresh), &code(&callback));
    let (status, _, body) = get(&http, &replayed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("refused to complete"), "{body}");
}

async fn a_tampered_id_token_is_refused(engine: Engine) {
    let Some(w) = world(engine, 3600, json!({})).await else { return };
    w.idp.set_users_tampering(&[user("alice", "alice@corp.example", &["engineers"])]);
    let (status, _, body, http) = sign_in(&w, "alice").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("no valid signature"), "{body}");
    assert_eq!(me(&w, &http).await.0, StatusCode::UNAUTHORIZED);
    let (_, users) = w.admin.get("/api/v1/users?q=mallory").await;
    assert!(users["items"].as_array().unwrap().is_empty(), "no account from a forged token");
}

async fn an_expired_id_token_is_refused(engine: Engine) {
    let Some(w) = world(engine, 60, json!({})).await else { return };
    w.idp.set_users(&[user("alice", "alice@corp.example", &["engineers"])]);
    let http = browser();
    let callback = idp::authorize(&http, &format!("{}/auth/oidc/test/start", w.app.base), "alice").await;
    // Five minutes on Keyward's clock: the sign-in is still open, the one-minute token is not.
    w.app.advance(Duration::minutes(5));
    let (status, _, body) = get(&http, &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("has expired"), "{body}");
    assert_eq!(me(&w, &http).await.0, StatusCode::UNAUTHORIZED);
}

async fn linking_needs_a_verified_email_and_the_providers_permission(engine: Engine) {
    let Some(w) = world(engine, 3600, json!({ "jit": false })).await else { return };
    let bob = w.app.user(&w.admin, "bob@corp.example", "Bob", "viewer", PW).await;
    let (_, bob_me) = bob.get("/api/v1/me").await;
    w.idp.set_users(&[user("bob-sub", "bob@corp.example", &[])]);
    let (status, _, body, _) = sign_in(&w, "bob-sub").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "linking not allowed: {body}");
    assert!(body.contains("not allowed"), "{body}");

    let (status, _) = w.admin.patch(&format!("/api/v1/sso/providers/{}", w.provider_id), json!({ "link_by_email": true })).await;
    assert_eq!(status, StatusCode::OK);
    w.idp.set_users(&[IdpUser { email_verified: false, ..user("bob-sub", "bob@corp.example", &[]) }]);
    let (status, _, body, _) = sign_in(&w, "bob-sub").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an unverified email never links: {body}");

    w.idp.set_users(&[user("bob-sub", "bob@corp.example", &[])]);
    let (status, _, body, http) = sign_in(&w, "bob-sub").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(me(&w, &http).await.1["id"], bob_me["id"], "linked to Bob's account");

    // Someone invited who never set a password: the provider's verified email accepts it.
    let (status, inv) = w
        .admin
        .post("/api/v1/invitations", json!({ "email": "ivy@corp.example", "full_name": "Ivy", "role": "viewer", "send_email": false }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    w.idp.set_users(&[user("ivy-sub", "ivy@corp.example", &[])]);
    let (status, _, body, http) = sign_in(&w, "ivy-sub").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, ivy) = me(&w, &http).await;
    assert_eq!((ivy["email"].as_str(), ivy["status"].as_str()), (Some("ivy@corp.example"), Some("active")), "{ivy}");
}

async fn without_jit_an_unknown_person_is_refused(engine: Engine) {
    let Some(w) = world(engine, 3600, json!({ "jit": false })).await else { return };
    w.idp.set_users(&[user("carol", "carol@corp.example", &["engineers"])]);
    let (status, _, body, _) = sign_in(&w, "carol").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("no Keyward account"), "{body}");
    let (_, users) = w.admin.get("/api/v1/users?q=carol").await;
    assert!(users["items"].as_array().unwrap().is_empty());
}

async fn a_deactivated_account_is_refused(engine: Engine) {
    let Some(w) = world(engine, 3600, json!({})).await else { return };
    w.idp.set_users(&[user("alice", "alice@corp.example", &[])]);
    let (_, _, _, http) = sign_in(&w, "alice").await;
    let id = me(&w, &http).await.1["id"].as_str().unwrap().to_owned();
    let (status, body) = w.admin.post(&format!("/api/v1/users/{id}/deactivate"), json!({})).await;
    assert!(status.is_success(), "{body}");
    let (status, _, body, _) = sign_in(&w, "alice").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("deactivated"), "{body}");
}

async fn sso_required_domains_refuse_passwords_and_resets(engine: Engine) {
    let Some(w) = world(engine, 3600, json!({ "required_domains": ["corp.example"] })).await else { return };
    w.app.user(&w.admin, "bob@other.example", "Bob", "viewer", PW).await;
    let mut c = w.app.client();
    let (status, body) = c.login("someone@CORP.example", PW).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "sso_required", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("Sign in with Test IdP"), "{body}");
    let (status, body) = c.post("/api/v1/password-reset", json!({ "email": "dan@corp.example" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The sign-in page says so too, and offers the button.
    let http = browser();
    let res = http.post(format!("{}/login", w.app.base)).form(&[("email", "dan@corp.example"), ("password", PW)]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = res.text().await.unwrap();
    assert!(page.contains("Sign in with Test IdP"), "{page}");
    // Other domains keep their passwords.
    assert_eq!(w.app.client().login("bob@other.example", PW).await.0, StatusCode::OK);
    // A domain cannot be required by two providers.
    let (status, body) = w
        .admin
        .post(
            "/api/v1/sso/providers",
            json!({ "name": "Other", "slug": "other", "issuer": w.idp.issuer, "client_id": "x", "client_secret": "y", "required_domains": ["corp.example"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

async fn a_trusted_providers_mfa_replaces_keywards_code_step(engine: Engine) {
    let Some(w) = world(engine, 3600, json!({ "jit": false, "link_by_email": true })).await else { return };
    let erin = w.app.user(&w.admin, "erin@corp.example", "Erin", "viewer", PW).await;
    let (_, e) = erin.post("/api/v1/me/mfa/totp", json!({})).await;
    let secret = e["secret"].as_str().unwrap().to_owned();
    let (status, _) = erin.post("/api/v1/me/mfa/totp/activate", json!({ "code": totp_code(&secret, w.app.clock_now()) })).await;
    assert_eq!(status, StatusCode::OK);
    let with_mfa = IdpUser { amr: &["pwd", "mfa"], ..user("erin-sub", "erin@corp.example", &[]) };

    // Not trusted: Keyward's own code step follows, even though the provider says "mfa".
    w.idp.set_users(&[with_mfa]);
    let (status, _, body, http) = sign_in(&w, "erin-sub").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("mfa_token"), "the code step: {body}");
    assert_eq!(me(&w, &http).await.0, StatusCode::UNAUTHORIZED);

    // Trusted, and the provider used a second factor: signed in at once.
    let (status, _) = w.admin.patch(&format!("/api/v1/sso/providers/{}", w.provider_id), json!({ "trust_mfa": true })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, location, body, http) = sign_in(&w, "erin-sub").await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/"), "{body}");
    assert_eq!(me(&w, &http).await.1["email"], "erin@corp.example");

    // Trusted, but only a password at the provider: the code step again.
    w.idp.set_users(&[user("erin-sub", "erin@corp.example", &[])]);
    let (status, _, body, _) = sign_in(&w, "erin-sub").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("mfa_token"), "{body}");
}

async fn a_trusted_providers_mfa_satisfies_the_enrollment_policy(engine: Engine) {
    let Some(w) = world(engine, 3600, json!({})).await else { return };
    let policy = json!({
        "mfa": { "mode": "roles", "roles": ["developer"], "grace_period_days": 0 },
        "password": { "min_length": 8, "require_uppercase": true, "require_lowercase": true, "require_digit": true, "require_special": true, "block_common": true },
        "sessions": { "idle_timeout_minutes": 60, "absolute_timeout_hours": 12 }
    });
    let (status, body) = w.admin.send(reqwest::Method::PUT, "/api/v1/policies/security", Some(policy)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    w.idp.set_users(&[IdpUser { amr: &["pwd", "mfa"], ..user("alice", "alice@corp.example", &["engineers"]) }]);
    let base = w.app.base.clone();
    let users = |http: reqwest::Client| {
        let url = format!("{base}/api/v1/users");
        async move { http.get(url).send().await.unwrap().status() }
    };

    // Not trusted: a developer without Keyward MFA may only enroll.
    let (status, location, body, http) = sign_in(&w, "alice").await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/account/security"), "{body}");
    assert_eq!(users(http).await, StatusCode::FORBIDDEN);

    // Trusted, with a second factor at the provider: a full session, and it stays one.
    let (status, _) = w.admin.patch(&format!("/api/v1/sso/providers/{}", w.provider_id), json!({ "trust_mfa": true })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, location, body, http) = sign_in(&w, "alice").await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/"), "{body}");
    assert_eq!(users(http.clone()).await, StatusCode::OK);
    w.app.advance(Duration::minutes(2));
    assert_eq!(users(http).await, StatusCode::OK);
}

async fn providers_api_never_shows_the_secret_and_audits_changes(engine: Engine) {
    let Some(w) = world(engine, 3600, json!({})).await else { return };
    let (status, list) = w.admin.get("/api/v1/sso/providers").await;
    assert_eq!(status, StatusCode::OK);
    let text = list.to_string();
    assert!(!text.contains(idp::CLIENT_SECRET), "the secret is never shown: {text}");
    assert_eq!(list["items"][0]["callback_url"], format!("{}/auth/oidc/test/callback", w.app.base));
    let path = format!("/api/v1/sso/providers/{}", w.provider_id);
    let (status, p) = w.admin.patch(&path, json!({ "client_secret": "Rotated-Secret-1", "name": "Corp SSO" })).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["name"], "Corp SSO");
    for (body, field) in [
        (json!({ "issuer": "http://idp.example.com" }), "issuer"),
        (json!({ "slug": "Not A Slug" }), "slug"),
        (json!({ "required_domains": ["not a domain"] }), "required_domains"),
        (json!({ "mappings": [{ "group": "x" }] }), "mappings"),
    ] {
        let (status, e) = w.admin.patch(&path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["error"]["details"]["field"], field, "{e}");
    }
    let (_, audit) = w.admin.get("/api/v1/audit?limit=100").await;
    let text = audit.to_string();
    assert!(text.contains("sso.provider_create") && text.contains("sso.provider_update"), "{text}");
    assert!(!text.contains(idp::CLIENT_SECRET) && !text.contains("Rotated-Secret-1"), "no secret in the audit log");
    // Others may not see or change providers.
    let viewer = w.app.user(&w.admin, "vic@other.example", "Vic", "viewer", PW).await;
    assert_eq!(viewer.get("/api/v1/sso/providers").await.0, StatusCode::FORBIDDEN);
    assert_eq!(viewer.patch(&path, json!({ "enabled": false })).await.0, StatusCode::FORBIDDEN);
    let (status, _) = w.admin.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(w.admin.get(&path).await.0, StatusCode::NOT_FOUND);
    let (status, _, _) = get(&browser(), &format!("{}/auth/oidc/test/start", w.app.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
