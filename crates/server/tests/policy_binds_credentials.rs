//! The security policy binds every credential on every request: past a user's MFA deadline
//! their existing sessions and API tokens are restricted like a new sign-in, tokens minted
//! without MFA end by the deadline, and a lower absolute session timeout shortens live sessions.
//! Over HTTP, on both engines.

mod common;

use common::{Client, Engine, TestApp, spawn_app, totp_code};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

engine_tests!(
    past_the_deadline_existing_sessions_and_tokens_may_only_enroll,
    tokens_minted_without_required_mfa_end_by_the_deadline,
    a_lower_absolute_timeout_shortens_live_sessions,
);

const PW: &str = "Plover-Quartz-42!";

async fn put_policy(admin: &Client, mfa: Value, sessions: Value) -> (StatusCode, Value) {
    let body = json!({
        "mfa": mfa,
        "password": { "min_length": 8, "require_uppercase": true, "require_lowercase": true, "require_digit": true, "require_special": true, "block_common": true },
        "sessions": sessions,
    });
    admin.send(reqwest::Method::PUT, "/api/v1/policies/security", Some(body)).await
}

fn default_sessions() -> Value {
    json!({ "idle_timeout_minutes": 60, "absolute_timeout_hours": 12 })
}

/// A bearer-token client for a token the user `c` mints.
async fn token_of(app: &TestApp, c: &Client, body: Value) -> (Client, Value) {
    let (status, created) = c.post("/api/v1/me/tokens", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let mut bot = app.client();
    bot.bearer = created["token"].as_str().map(str::to_owned);
    (bot, created)
}

fn restricted(answer: (StatusCode, Value), what: &str) {
    assert_eq!(answer.0, StatusCode::FORBIDDEN, "{what}: {}", answer.1);
    assert_eq!(answer.1["error"]["code"], "mfa_setup_required", "{what}");
}

async fn past_the_deadline_existing_sessions_and_tokens_may_only_enroll(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (_, e) = admin.post("/api/v1/me/mfa/totp", json!({})).await;
    admin.post("/api/v1/me/mfa/totp/activate", json!({ "code": totp_code(e["secret"].as_str().unwrap(), app.clock_now()) })).await;
    let una = app.user(&admin, "una@example.com", "Una", "developer", PW).await;
    let mut una_phone = app.client();
    assert_eq!(una_phone.login("una@example.com", PW).await.0, StatusCode::OK);
    let (bot, _) = token_of(&app, &una, json!({ "name": "ci" })).await;
    assert_eq!(bot.get("/api/v1/users").await.0, StatusCode::OK);

    // MFA for everyone, a week's grace: nothing changes yet for Una's session and token.
    assert_eq!(
        put_policy(&admin, json!({ "mode": "all", "roles": [], "grace_period_days": 7 }), default_sessions()).await.0,
        StatusCode::OK
    );
    assert_eq!(una.get("/api/v1/users").await.0, StatusCode::OK);
    assert_eq!(bot.get("/api/v1/users").await.0, StatusCode::OK);
    // No grace left: the very next request of each is restricted, as a new sign-in would be.
    assert_eq!(
        put_policy(&admin, json!({ "mode": "all", "roles": [], "grace_period_days": 0 }), default_sessions()).await.0,
        StatusCode::OK
    );
    restricted(una.get("/api/v1/users").await, "Una's session");
    restricted(una.post("/api/v1/me/tokens", json!({ "name": "sneaky" })).await, "minting a token");
    restricted(bot.get("/api/v1/users").await, "Una's API token");
    restricted(bot.post("/api/v1/resources", json!({ "kind": "app", "name": "x" })).await, "a change by token");
    assert_eq!(admin.get("/api/v1/users").await.0, StatusCode::OK, "the admin has MFA: unaffected");
    // Web pages send the session to enrollment.
    let page = una.http.get(format!("{}/settings/users", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/account/security");
    // Sign-out, enrollment and the account itself stay reachable, by session and by token.
    assert_eq!(una_phone.post("/api/v1/auth/logout", json!({})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(una_phone.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(una.get("/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(bot.get("/api/v1/me/mfa").await.1["required"], true);
    let (status, e) = una.post("/api/v1/me/mfa/totp", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        una.post("/api/v1/me/mfa/totp/activate", json!({ "code": totp_code(e["secret"].as_str().unwrap(), app.clock_now()) })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(una.get("/api/v1/users").await.0, StatusCode::OK, "after enrolling, the session is a full one");
    assert_eq!(bot.get("/api/v1/users").await.0, StatusCode::OK, "and so is the token");
}

fn time_of(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().expect("a time"), &Rfc3339).unwrap()
}

async fn tokens_minted_without_required_mfa_end_by_the_deadline(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let una = app.user(&admin, "una@example.com", "Una", "developer", PW).await;
    assert_eq!(
        put_policy(&admin, json!({ "mode": "roles", "roles": ["developer"], "grace_period_days": 7 }), default_sessions()).await.0,
        StatusCode::OK
    );
    let deadline = app.clock_now() + Duration::days(7);

    let (forever, created) = token_of(&app, &una, json!({ "name": "no expiry" })).await;
    assert!((time_of(&created["expires_at"]) - deadline).abs() < Duration::seconds(2), "{created}");
    let (_, created) = token_of(&app, &una, json!({ "name": "a month", "expires_in_days": 30 })).await;
    assert!((time_of(&created["expires_at"]) - deadline).abs() < Duration::seconds(2), "{created}");
    let (_, created) = token_of(&app, &una, json!({ "name": "a day", "expires_in_days": 1 })).await;
    assert!(time_of(&created["expires_at"]) < deadline, "a shorter expiry stays");
    let (_, list) = una.get("/api/v1/me/tokens").await;
    assert!(list["items"].as_array().unwrap().iter().all(|t| time_of(&t["expires_at"]) <= deadline), "{list}");
    // Admins are not required here: their tokens keep the expiry asked for.
    let (_, created) = token_of(&app, &admin, json!({ "name": "admin" })).await;
    assert!(created["expires_at"].is_null(), "{created}");

    assert_eq!(forever.get("/api/v1/me").await.0, StatusCode::OK);
    app.advance(Duration::days(7) + Duration::minutes(1));
    assert_eq!(forever.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "the token ended at the deadline");
}

async fn a_lower_absolute_timeout_shortens_live_sessions(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let early = app.admin().await;
    // Three hours of activity keep the session alive under the default twelve-hour limit.
    for _ in 0..4 {
        app.advance(Duration::minutes(45));
        assert_eq!(early.get("/api/v1/me").await.0, StatusCode::OK);
    }
    let late = app.admin().await;
    let (_, sessions) = late.get("/api/v1/me/sessions").await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 2);
    let (status, body) = put_policy(
        &late,
        json!({ "mode": "off", "roles": [], "grace_period_days": 7 }),
        json!({ "idle_timeout_minutes": 60, "absolute_timeout_hours": 2 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(early.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "a session older than the new limit ends");
    assert_eq!(late.get("/api/v1/me").await.0, StatusCode::OK);
    let (_, sessions) = late.get("/api/v1/me/sessions").await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1, "{sessions}");
    app.advance(Duration::minutes(50));
    assert_eq!(late.get("/api/v1/me").await.0, StatusCode::OK);
    app.advance(Duration::minutes(50));
    assert_eq!(late.get("/api/v1/me").await.0, StatusCode::OK);
    app.advance(Duration::minutes(25));
    assert_eq!(late.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "new sessions end after two hours too");
}
