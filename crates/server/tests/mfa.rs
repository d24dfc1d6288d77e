//! MFA and security policies over HTTP on both engines: enrollment, the code step, replays,
//! backup codes, admin reset, enforcement with a grace period, and concurrency.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Client, Engine, TestApp, spawn_app, totp_code};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

const PW: &str = "Plover-Quartz-42!";

engine_tests!(
    enrollment_gives_a_key_a_qr_and_backup_codes,
    sign_in_needs_the_code_and_each_code_works_once,
    admin_reset_ends_sessions_and_removes_mfa,
    policy_for_all_with_grace_period,
    policy_with_no_grace_restricts_to_enrollment,
    policy_for_roles_leaves_others_alone,
    policy_values_are_checked_and_audited,
    turning_mfa_off_needs_a_code_and_no_policy,
    failed_codes_are_throttled,
    one_code_submitted_twenty_times_at_once_succeeds_once,
);

/// Enrolls the client's user; answers the secret and the backup codes.
async fn enroll(app: &TestApp, c: &Client) -> (String, Vec<String>) {
    let (status, e) = c.post("/api/v1/me/mfa/totp", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{e}");
    let secret = e["secret"].as_str().unwrap().to_owned();
    let (status, codes) = c.post("/api/v1/me/mfa/totp/activate", json!({ "code": totp_code(&secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let codes = codes["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    (secret, codes)
}

/// Password step, then the code step; answers the final status and body.
async fn sign_in_with_code(app: &TestApp, email: &str, password: &str, code: &str) -> (StatusCode, Value, Client) {
    let mut c = app.client();
    let (status, body) = c.login(email, password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "mfa_required");
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    let (status, body) = c.post("/api/v1/auth/login/mfa", json!({ "mfa_token": token, "code": code })).await;
    if status == StatusCode::OK {
        c.csrf = body["csrf_token"].as_str().map(str::to_owned);
    }
    (status, body, c)
}

async fn put_policy(admin: &Client, mfa: Value) -> (StatusCode, Value) {
    admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/policies/security",
            Some(json!({
                "mfa": mfa,
                "password": { "min_length": 8, "require_uppercase": true, "require_lowercase": true, "require_digit": true, "require_special": true, "block_common": true },
                "sessions": { "idle_timeout_minutes": 60, "absolute_timeout_hours": 12 }
            })),
        )
        .await
}

async fn enrollment_gives_a_key_a_qr_and_backup_codes(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (status, e) = admin.post("/api/v1/me/mfa/totp", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let secret = e["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = e["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains("issuer=Keyward") && uri.contains("ada%40example.com"), "{uri}");
    assert!(e["qr_svg"].as_str().unwrap().contains("<svg"));

    let (status, body) = admin.post("/api/v1/me/mfa/totp/activate", json!({ "code": "000000" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_mfa_code");
    assert_eq!(admin.get("/api/v1/me").await.1["mfa_enabled"], false, "a wrong code does not activate");

    let (status, codes) = admin.post("/api/v1/me/mfa/totp/activate", json!({ "code": totp_code(secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::OK);
    let codes: Vec<&str> = codes["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    assert_eq!(admin.get("/api/v1/me").await.1["mfa_enabled"], true);
    let (_, status) = admin.get("/api/v1/me/mfa").await;
    assert_eq!(status["backup_codes_left"], 10);
    let (status, _) = admin.post("/api/v1/me/mfa/totp", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "enrolling again needs MFA off first");
}

async fn sign_in_needs_the_code_and_each_code_works_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (secret, backup) = enroll(&app, &admin).await;

    let mut c = app.client();
    let (_, body) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(body["status"], "mfa_required");
    assert!(body.get("csrf_token").is_none());
    assert_eq!(c.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "no access before the code");

    // The code used to activate is spent: the same step is refused.
    let (status, body, _) = sign_in_with_code(&app, ADMIN_EMAIL, ADMIN_PASSWORD, &totp_code(&secret, app.clock_now())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    app.advance(Duration::seconds(30));
    let code = totp_code(&secret, app.clock_now());
    let (status, _, signed_in) = sign_in_with_code(&app, ADMIN_EMAIL, ADMIN_PASSWORD, &code).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(signed_in.get("/api/v1/me").await.1["email"], ADMIN_EMAIL);
    let (status, body, _) = sign_in_with_code(&app, ADMIN_EMAIL, ADMIN_PASSWORD, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the same code is refused at the next sign-in");
    assert_eq!(body["error"]["code"], "invalid_mfa_code");

    let (status, _, _) = sign_in_with_code(&app, ADMIN_EMAIL, ADMIN_PASSWORD, &backup[3].to_uppercase()).await;
    assert_eq!(status, StatusCode::OK, "a backup code works");
    let (status, _, _) = sign_in_with_code(&app, ADMIN_EMAIL, ADMIN_PASSWORD, &backup[3]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "…exactly once");
    let (_, state) = signed_in.get("/api/v1/me/mfa").await;
    assert_eq!(state["backup_codes_left"], 9);

    // An mfa_token is single-use and short-lived.
    let mut c = app.client();
    let (_, body) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    app.advance(Duration::minutes(6));
    let (status, body) = c.post("/api/v1/auth/login/mfa", json!({ "mfa_token": token, "code": totp_code(&secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "mfa_token_invalid");
}

async fn admin_reset_ends_sessions_and_removes_mfa(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let user = app.user(&admin, "una@example.com", "Una", "developer", PW).await;
    enroll(&app, &user).await;
    let (_, me) = user.get("/api/v1/me").await;
    assert_eq!(me["mfa_enabled"], true);
    let id = me["id"].as_str().unwrap();
    let dev = app.user(&admin, "vic@example.com", "Vic", "developer", PW).await;
    assert_eq!(dev.post(&format!("/api/v1/users/{id}/mfa-reset"), json!({})).await.0, StatusCode::FORBIDDEN);

    let (status, body) = admin.post(&format!("/api/v1/users/{id}/mfa-reset"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mfa_enabled"], false);
    assert_eq!(user.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "the user's sessions end");
    let mut again = app.client();
    let (status, body) = again.login("una@example.com", PW).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok", "with the policy off, no code is asked");
    let (_, events) = admin.get("/api/v1/audit?action=mfa.reset").await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
}

async fn policy_for_all_with_grace_period(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let _ = app.user(&admin, "wes@example.com", "Wes", "viewer", PW).await;
    let (status, body) = put_policy(&admin, json!({ "mode": "all", "roles": [], "grace_period_days": 7 })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut wes = app.client();
    let (status, body) = wes.login("wes@example.com", PW).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let deadline = body["mfa_deadline"].as_str().expect("a deadline inside the grace period");
    let deadline = time::OffsetDateTime::parse(deadline, &time::format_description::well_known::Rfc3339).unwrap();
    let days = (deadline - app.clock_now()).whole_hours();
    assert!((7 * 24 - 1..=7 * 24).contains(&days), "{days} hours");
    assert_eq!(wes.get("/api/v1/users").await.0, StatusCode::OK, "full access inside the grace period");
    let (_, state) = wes.get("/api/v1/me/mfa").await;
    assert_eq!(state["required"], true);

    app.advance(Duration::days(8));
    let mut late = app.client();
    let (_, body) = late.login("wes@example.com", PW).await;
    assert_eq!(body["status"], "mfa_setup_required", "after the grace period");
}

async fn policy_with_no_grace_restricts_to_enrollment(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let _ = app.user(&admin, "xan@example.com", "Xan", "developer", PW).await;
    assert_eq!(put_policy(&admin, json!({ "mode": "all", "roles": [], "grace_period_days": 0 })).await.0, StatusCode::OK);
    let (status, body) = admin.get("/api/v1/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the policy binds existing sessions too: {body}");
    assert_eq!(body["error"]["code"], "mfa_setup_required");

    let mut xan = app.client();
    let (status, body) = xan.login("xan@example.com", PW).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "mfa_setup_required");
    let (status, body) = xan.get("/api/v1/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "mfa_setup_required");
    assert_eq!(xan.post("/api/v1/me/tokens", json!({ "name": "sneaky" })).await.0, StatusCode::FORBIDDEN);
    assert_eq!(xan.get("/api/v1/me").await.0, StatusCode::OK);
    enroll(&app, &xan).await;
    assert_eq!(xan.get("/api/v1/users").await.0, StatusCode::OK, "after enrolling, the session is a full one");
}

async fn policy_for_roles_leaves_others_alone(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let _ = app.user(&admin, "yul@example.com", "Yul", "viewer", PW).await;
    assert_eq!(put_policy(&admin, json!({ "mode": "roles", "roles": ["admin"], "grace_period_days": 0 })).await.0, StatusCode::OK);
    let mut yul = app.client();
    let (_, body) = yul.login("yul@example.com", PW).await;
    assert_eq!(body["status"], "ok");
    assert!(body.get("mfa_deadline").is_none(), "a viewer signs in without MFA");
    let mut ada = app.client();
    let (_, body) = ada.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(body["status"], "mfa_setup_required", "admins must enroll");
}

async fn policy_values_are_checked_and_audited(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (_, before) = admin.get("/api/v1/policies/security").await;
    assert_eq!(before["mfa"]["mode"], "off");
    assert_eq!(before["password"]["min_length"], 8);
    for (bad, code) in [
        (json!({ "mode": "sometimes", "roles": [], "grace_period_days": 7 }), "invalid_mfa_mode"),
        (json!({ "mode": "roles", "roles": [], "grace_period_days": 7 }), "invalid_mfa_roles"),
        (json!({ "mode": "roles", "roles": ["root"], "grace_period_days": 7 }), "invalid_role"),
        (json!({ "mode": "all", "roles": [], "grace_period_days": 365 }), "invalid_grace_period"),
    ] {
        let (status, body) = put_policy(&admin, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], code);
    }
    let weak = json!({
        "mfa": { "mode": "off", "roles": [], "grace_period_days": 7 },
        "password": { "min_length": 8, "require_uppercase": false, "require_lowercase": true, "require_digit": true, "require_special": true, "block_common": true },
        "sessions": { "idle_timeout_minutes": 60, "absolute_timeout_hours": 12 }
    });
    let (status, body) = admin.send(reqwest::Method::PUT, "/api/v1/policies/security", Some(weak)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_password_policy");
    let nist = json!({
        "mfa": { "mode": "off", "roles": [], "grace_period_days": 7 },
        "password": { "min_length": 15, "require_uppercase": false, "require_lowercase": false, "require_digit": false, "require_special": false, "block_common": true },
        "sessions": { "idle_timeout_minutes": 30, "absolute_timeout_hours": 8 }
    });
    let (status, saved) = admin.send(reqwest::Method::PUT, "/api/v1/policies/security", Some(nist)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(admin.get("/api/v1/policies/security").await.1, saved);
    // The NIST profile in force: long passphrases without classes pass, short complex ones do not.
    let (_, inv) = admin
        .post("/api/v1/invitations", json!({ "email": "zed@example.com", "full_name": "Zed", "role": "viewer", "send_email": false }))
        .await;
    let token = common::link_token(inv["accept_url"].as_str().unwrap(), "invite").unwrap();
    let (status, body) = app.client().post("/api/v1/invitations/accept", json!({ "token": token, "password": "Sh0rt-Pass!" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) =
        app.client().post("/api/v1/invitations/accept", json!({ "token": token, "password": "correct violet stapler orbit" })).await;
    assert_eq!(status, StatusCode::OK);

    let viewer = app.user(&admin, "amy@example.com", "Amy", "viewer", "purple kettle drum anchor").await;
    assert_eq!(viewer.get("/api/v1/policies/security").await.0, StatusCode::FORBIDDEN);
    let (_, events) = admin.get("/api/v1/audit?action=policy.update").await;
    let e = &events["items"][0];
    assert_eq!(e["details"]["before"]["password"]["min_length"], 8);
    assert_eq!(e["details"]["after"]["password"]["min_length"], 15);
}

async fn turning_mfa_off_needs_a_code_and_no_policy(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (secret, _) = enroll(&app, &admin).await;
    app.advance(Duration::seconds(30));
    let (status, _) = admin.post("/api/v1/me/mfa/totp/disable", json!({ "code": "123456" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(put_policy(&admin, json!({ "mode": "roles", "roles": ["admin"], "grace_period_days": 7 })).await.0, StatusCode::OK);
    let (status, body) = admin.post("/api/v1/me/mfa/totp/disable", json!({ "code": totp_code(&secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "mfa_required_by_policy");
    assert_eq!(put_policy(&admin, json!({ "mode": "off", "roles": [], "grace_period_days": 7 })).await.0, StatusCode::OK);
    let (status, codes) = admin.post("/api/v1/me/mfa/backup-codes", json!({ "code": totp_code(&secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    app.advance(Duration::seconds(30));
    let (status, _) = admin.post("/api/v1/me/mfa/totp/disable", json!({ "code": totp_code(&secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(admin.get("/api/v1/me").await.1["mfa_enabled"], false);
}

async fn failed_codes_are_throttled(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (secret, _) = enroll(&app, &admin).await;
    let mut throttled = false;
    for _ in 0..10 {
        let mut c = app.client();
        let (status, body) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
        let token = body["mfa_token"].as_str().unwrap().to_owned();
        let (status, _) = c.post("/api/v1/auth/login/mfa", json!({ "mfa_token": token, "code": "999999" })).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    assert!(throttled, "wrong codes count toward the account's throttle");
    // Once the delay has passed, the right code gets in.
    app.advance(Duration::minutes(16));
    let (status, _, _) = sign_in_with_code(&app, ADMIN_EMAIL, ADMIN_PASSWORD, &totp_code(&secret, app.clock_now())).await;
    assert_eq!(status, StatusCode::OK);
}

async fn one_code_submitted_twenty_times_at_once_succeeds_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (secret, _) = enroll(&app, &admin).await;
    app.advance(Duration::seconds(30));
    let mut tokens = Vec::new();
    for _ in 0..20 {
        let mut c = app.client();
        let (_, body) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        tokens.push(body["mfa_token"].as_str().unwrap().to_owned());
    }
    let code = totp_code(&secret, app.clock_now());
    let base = app.base.clone();
    let attempts = tokens.into_iter().map(|token| {
        let base = base.clone();
        let code = code.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/api/v1/auth/login/mfa"))
                .json(&json!({ "mfa_token": token, "code": code }))
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let mut ok = 0;
    for a in attempts.collect::<Vec<_>>() {
        let status = a.await.unwrap();
        assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST || status == StatusCode::TOO_MANY_REQUESTS, "{status}");
        ok += usize::from(status == StatusCode::OK);
    }
    assert_eq!(ok, 1, "exactly one of twenty concurrent submissions of one code succeeds");
}
