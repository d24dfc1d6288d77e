//! Sign-in, sessions, CSRF, API tokens and throttling, over HTTP, on both engines.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Engine, spawn_app};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

engine_tests!(
    sign_in_sets_a_safe_cookie_and_me_says_admin,
    wrong_password_and_unknown_email_answer_alike,
    cookie_changes_need_the_csrf_token,
    api_tokens_work_as_bearer_and_can_be_revoked,
    expired_api_tokens_stop_working,
    logout_ends_the_session_on_the_server,
    sessions_are_listed_and_can_be_ended,
    idle_and_absolute_timeouts_end_sessions,
    repeated_failures_are_throttled_and_the_user_gets_back_in,
    password_change_ends_other_sessions_and_tokens,
    sign_ins_are_recorded_and_audited,
);

async fn sign_in_sets_a_safe_cookie_and_me_says_admin(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.init_admin().await;
    let res = app
        .client()
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookies: Vec<String> = res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let cookie = cookies.iter().find(|c| c.starts_with("keyward_session=")).expect("a session cookie").clone();
    let device = cookies.iter().find(|c| c.starts_with("keyward_device=")).expect("a device cookie");
    assert!(device.contains("HttpOnly") && device.contains("SameSite=Lax") && device.contains("Max-Age="), "{device}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let token = cookie.split(';').next().unwrap().trim_start_matches("keyward_session=");
    assert!(token.len() >= 43, "a session token carries at least 256 bits");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert!(body["csrf_token"].as_str().unwrap().len() >= 32);

    let admin = app.admin().await;
    let (status, me) = admin.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["status"], "active");
    assert_eq!(me["mfa_enabled"], false);
}

async fn wrong_password_and_unknown_email_answer_alike(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.init_admin().await;
    let mut c = app.client();
    let (s1, b1) = c.login(ADMIN_EMAIL, "Wrong-Password-1!").await;
    let (s2, b2) = c.login("nobody@example.com", "Wrong-Password-1!").await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!(s2, StatusCode::UNAUTHORIZED);
    assert_eq!(b1, b2, "the answer must not reveal whether the email exists");
    assert_eq!(b1["error"]["code"], "invalid_credentials");
    let (status, _) = c.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn cookie_changes_need_the_csrf_token(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let mut admin = app.admin().await;
    let csrf = admin.csrf.take();
    let (status, body) = admin.post("/api/v1/me/tokens", json!({ "name": "ci" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "csrf_token_invalid");
    admin.csrf = Some("not-the-token".into());
    let (status, _) = admin.post("/api/v1/me/tokens", json!({ "name": "ci" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, tokens) = admin.get("/api/v1/me/tokens").await;
    assert_eq!(tokens["items"].as_array().unwrap().len(), 0, "a refused request changes nothing");
    admin.csrf = csrf;
    let (status, _) = admin.post("/api/v1/me/tokens", json!({ "name": "ci" })).await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn api_tokens_work_as_bearer_and_can_be_revoked(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (status, created) = admin.post("/api/v1/me/tokens", json!({ "name": "deploy bot", "expires_in_days": 30 })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("kw_"));

    let mut bot = app.client();
    bot.bearer = Some(secret.clone());
    let (status, me) = bot.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], ADMIN_EMAIL);
    // A bearer token needs no CSRF token: browsers never send it on their own.
    let (status, _) = bot.patch("/api/v1/me", json!({ "full_name": "Ada King" })).await;
    assert_eq!(status, StatusCode::OK);

    let (_, list) = admin.get("/api/v1/me/tokens").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "deploy bot");
    assert!(items[0].get("token").is_none(), "the secret is never listed");
    assert!(!list.to_string().contains(&secret));

    let id = created["id"].as_str().unwrap();
    let (status, _) = admin.delete(&format!("/api/v1/me/tokens/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = bot.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = admin.delete(&format!("/api/v1/me/tokens/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, body) = admin.post("/api/v1/me/tokens", json!({ "name": "", "expires_in_days": 0 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

async fn expired_api_tokens_stop_working(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (_, created) = admin.post("/api/v1/me/tokens", json!({ "name": "short", "expires_in_days": 1 })).await;
    let mut bot = app.client();
    bot.bearer = created["token"].as_str().map(str::to_owned);
    assert_eq!(bot.get("/api/v1/me").await.0, StatusCode::OK);
    app.advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(bot.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

async fn logout_ends_the_session_on_the_server(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    // Keep the raw cookie to replay it after logout.
    let cookie = admin.http.get(format!("{}/api/v1/me", app.base)).send().await.unwrap();
    assert_eq!(cookie.status(), StatusCode::OK);
    let (_, sessions) = admin.get("/api/v1/me/sessions").await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1);
    let (status, _) = admin.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = admin.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let other = app.admin().await;
    let (_, sessions) = other.get("/api/v1/me/sessions").await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1, "the ended session is gone from the server");
}

async fn sessions_are_listed_and_can_be_ended(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let laptop = app.admin().await;
    let phone = app.admin().await;
    let (_, list) = laptop.get("/api/v1/me/sessions").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let other = items.iter().find(|s| s["current"] == false).unwrap();
    let (status, _) = laptop.delete(&format!("/api/v1/me/sessions/{}", other["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(phone.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(laptop.get("/api/v1/me").await.0, StatusCode::OK);
    let (status, body) = laptop.delete("/api/v1/me/sessions/not-a-uuid").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_id");
}

async fn idle_and_absolute_timeouts_end_sessions(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    // Default idle timeout is 60 minutes: activity every 50 minutes keeps the session...
    for _ in 0..5 {
        app.advance(Duration::minutes(50));
        assert_eq!(admin.get("/api/v1/me").await.0, StatusCode::OK);
    }
    // ...until the absolute limit of 12 hours.
    for _ in 0..10 {
        app.advance(Duration::minutes(50));
        let _ = admin.get("/api/v1/me").await;
    }
    assert_eq!(admin.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    let idle = app.admin().await;
    app.advance(Duration::minutes(61));
    assert_eq!(idle.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

async fn repeated_failures_are_throttled_and_the_user_gets_back_in(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.init_admin().await;
    let mut c = app.client();
    let mut first_429 = None;
    for i in 0..100 {
        let res = c
            .http
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({ "email": ADMIN_EMAIL, "password": format!("Wrong-{i}-Password!") }))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = res.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
            assert!(retry >= 1);
            first_429 = Some(i);
            break;
        }
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let first = first_429.expect("100 wrong passwords in a row must be throttled before they end");
    assert!(first <= 10, "throttled after {first} failures");
    // The right password is refused too while the delay runs, and so is an unknown email's
    // look-alike: the answer says nothing about the account.
    let (status, body) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "too_many_attempts");
    // Once the delay has passed the real user gets in.
    app.advance(Duration::minutes(16));
    let (status, _) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

async fn password_change_ends_other_sessions_and_tokens(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let other = app.admin().await;
    let (_, created) = admin.post("/api/v1/me/tokens", json!({ "name": "t" })).await;
    let mut bot = app.client();
    bot.bearer = created["token"].as_str().map(str::to_owned);

    let (status, body) =
        admin.post("/api/v1/me/password", json!({ "current_password": "wrong", "new_password": "Another-Good-9-Phrase" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_current_password");
    let (status, body) = admin.post("/api/v1/me/password", json!({ "current_password": ADMIN_PASSWORD, "new_password": "short" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "password_policy");
    assert_eq!(other.get("/api/v1/me").await.0, StatusCode::OK, "refused changes end nothing");

    let (status, _) =
        admin.post("/api/v1/me/password", json!({ "current_password": ADMIN_PASSWORD, "new_password": "Another-Good-9-Phrase" })).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(admin.get("/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(other.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(bot.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    let mut c = app.client();
    assert_eq!(c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(c.login(ADMIN_EMAIL, "Another-Good-9-Phrase").await.0, StatusCode::OK);
}

async fn sign_ins_are_recorded_and_audited(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.init_admin().await;
    let mut c = app.client();
    let _ = c.login(ADMIN_EMAIL, "Wrong-Password-1!").await;
    let admin = app.admin().await;
    let (_, me) = admin.get("/api/v1/me").await;
    let (status, logins) = admin.get(&format!("/api/v1/users/{}/logins", me["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    let items = logins["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["success"], true, "newest first");
    assert_eq!(items[1]["success"], false);
    assert_eq!(items[1]["reason"], "bad_password");
    assert_eq!(items[1]["ip"], "127.0.0.1");

    let (status, audit) = admin.get("/api/v1/audit?action=auth.login_failed").await;
    assert_eq!(status, StatusCode::OK);
    let failed = audit["items"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["target_id"], me["id"]);
    assert!(!audit.to_string().contains("Wrong-Password"), "no password in the audit log");
    let (_, all) = admin.get("/api/v1/audit").await;
    let actions: Vec<&str> = all["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"user.create"), "{actions:?}");
    assert!(actions.contains(&"auth.login"), "{actions:?}");

    // Settings → Activity shows the failed sign-in to admins.
    let page =
        admin.http.get(format!("{}/settings/activity?action=auth.login_failed", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("auth.login_failed") && page.contains("(bad password)"), "the Activity page lists the failed sign-in");
}
