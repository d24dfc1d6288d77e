//! ASVS 5.0 requirements that held but had no test of their own (see docs/security.md, "ASVS
//! 5.0 level 2"): passwords are taken exactly as typed, long and of any characters (6.2.8,
//! 6.2.9); password fields are masked and leave paste and password managers alone (6.2.6,
//! 6.2.7); every sign-in makes a new session token, whatever cookie the browser brought (7.2.4);
//! a password reset does not get past MFA (6.4.3).

mod common;

use common::{Engine, link_token, spawn_app, totp_code};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::json;

engine_tests!(
    long_passwords_of_any_characters_are_verified_exactly_as_typed,
    every_sign_in_makes_a_new_session_token,
    a_password_reset_does_not_get_past_mfa,
);

/// 70 characters with spaces, accents and an em dash.
const LONG: &str = "Plover quartz 42! Ünïcødé lanterns drift — over the harbour at dawn 9";

async fn long_passwords_of_any_characters_are_verified_exactly_as_typed(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    assert!(LONG.chars().count() >= 64);
    let admin = app.admin().await;
    app.user(&admin, "lin@example.com", "Lin Hale", "viewer", LONG).await;
    assert_eq!(app.client().login("lin@example.com", LONG).await.0, StatusCode::OK);
    let mut last_char_dropped = LONG.to_owned();
    last_char_dropped.pop();
    // Neither truncated, case-folded, trimmed nor normalised: each near miss is a wrong password
    // (four, inside the account's free budget of five failures).
    for near in [LONG.to_lowercase(), last_char_dropped, format!("{LONG} "), LONG.replace('—', "-")] {
        let (status, body) = app.client().login("lin@example.com", &near).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{near:?}: {body}");
    }
    assert_eq!(app.client().login("lin@example.com", LONG).await.0, StatusCode::OK);
}

async fn a_password_reset_does_not_get_past_mfa(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (_, e) = admin.post("/api/v1/me/mfa/totp", json!({})).await;
    let code = totp_code(e["secret"].as_str().unwrap(), app.clock_now());
    assert_eq!(admin.post("/api/v1/me/mfa/totp/activate", json!({ "code": code })).await.0, StatusCode::OK);

    let c = app.client();
    assert_eq!(c.post("/api/v1/password-reset", json!({ "email": common::ADMIN_EMAIL })).await.0, StatusCode::ACCEPTED);
    let mail = app.wait_for_outbox(1).await;
    let token = link_token(mail.last().expect("a reset message"), "reset-password").expect("a reset link");
    let (status, body) = c.post("/api/v1/password-reset/confirm", json!({ "token": token, "new_password": "Brand-New-Quill-77" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("csrf_token").is_none(), "a reset opens no session: {body}");
    assert_eq!(c.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = app.client().login(common::ADMIN_EMAIL, "Brand-New-Quill-77").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "mfa_required", "the new password still needs the second factor");
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("keyward_session=").map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
}

async fn every_sign_in_makes_a_new_session_token(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.admin().await;
    let http = reqwest::Client::new();
    let sign_in = |cookie: String| {
        http.post(format!("{}/api/v1/auth/login", app.base))
            .header(COOKIE, cookie)
            .json(&json!({ "email": common::ADMIN_EMAIL, "password": common::ADMIN_PASSWORD }))
            .send()
    };
    // A cookie planted before sign-in (session fixation) is never adopted.
    let planted = "keyward_session=attacker-chosen-value".to_owned();
    let first = sign_in(planted).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let first = session_cookie(&first).expect("a session cookie");
    assert_ne!(first, "attacker-chosen-value");
    assert!(first.len() >= 32, "a long random token");
    let planted_me =
        http.get(format!("{}/api/v1/me", app.base)).header(COOKIE, "keyward_session=attacker-chosen-value").send().await.unwrap();
    assert_eq!(planted_me.status(), StatusCode::UNAUTHORIZED);
    // Signing in again, with the first session's cookie, makes another token.
    let second = sign_in(format!("keyward_session={first}")).await.unwrap();
    let second = session_cookie(&second).expect("a session cookie");
    assert_ne!(second, first);
    let me = http.get(format!("{}/api/v1/me", app.base)).header(COOKIE, format!("keyward_session={second}")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}

#[test]
fn password_fields_are_masked_and_leave_paste_and_password_managers_alone() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut fields = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let html = std::fs::read_to_string(&path).unwrap().to_lowercase();
        let name = path.display().to_string();
        for (i, _) in html.match_indices("<input") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            let named_password =
                ["name=\"password\"", "name=\"new_password\"", "name=\"current_password\""].iter().any(|n| tag.contains(n));
            if named_password {
                assert!(tag.contains("type=\"password\""), "{name}: a password field must be masked: {tag}");
                assert!(!tag.contains("autocomplete=\"off\""), "{name}: password managers must be allowed: {tag}");
                fields += 1;
            }
        }
        assert!(!html.contains("onpaste") && !html.contains("oncopy"), "{name}: paste must not be blocked");
    }
    assert!(fields >= 5, "the password fields were found ({fields})");
    let script = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static/keyward.js")).unwrap();
    assert!(!script.contains("paste"), "the script does not interfere with pasting");
}
