//! Guesses are counted before they are evaluated: bursts of parallel sign-ins and codes get no
//! more than the free budget evaluated, and every place that takes a secret (turning MFA off,
//! new backup codes, the current password, the enrollment code) is throttled and audited.
//! Over HTTP, on both engines.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Client, Engine, TestApp, spawn_app, totp_code};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

engine_tests!(
    sixty_parallel_sign_ins_evaluate_at_most_the_free_budget,
    sixty_parallel_codes_evaluate_at_most_the_free_budget,
    forty_wrong_codes_at_mfa_disable_are_refused_before_the_fortieth,
    every_secret_checked_in_a_session_is_throttled_and_audited,
    a_right_password_gives_its_attempt_back,
    right_passwords_in_a_burst_wait_for_the_evaluated_ones_instead_of_being_refused,
);

/// The free budget of an account.
const FREE: usize = 5;

/// Enrolls the client's user in MFA; answers the secret.
async fn enroll(app: &TestApp, c: &Client) -> String {
    let (_, e) = c.post("/api/v1/me/mfa/totp", json!({})).await;
    let secret = e["secret"].as_str().unwrap().to_owned();
    let (status, body) = c.post("/api/v1/me/mfa/totp/activate", json!({ "code": totp_code(&secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    secret
}

/// Posts `bodies` to `path` all at once (wrong guesses), and `last` once `FREE` answers are in
/// (so it comes after the budget); answers every (status, Retry-After, is_last).
async fn burst(app: &TestApp, path: &str, bodies: Vec<Value>, last: Value) -> Vec<(StatusCode, Option<u64>, bool)> {
    let http = reqwest::Client::new();
    let url = format!("{}{path}", app.base);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let send = |body: Value, is_last: bool| {
        let (http, url, tx) = (http.clone(), url.clone(), tx.clone());
        tokio::spawn(async move {
            let res = http.post(url).json(&body).send().await.expect("request");
            let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
            let _ = tx.send((res.status(), retry, is_last));
        });
    };
    let total = bodies.len() + 1;
    for body in bodies {
        send(body, false);
    }
    let mut answers = Vec::new();
    while answers.len() < FREE {
        answers.push(rx.recv().await.expect("an answer"));
    }
    send(last, true);
    while answers.len() < total {
        answers.push(rx.recv().await.expect("an answer"));
    }
    answers
}

/// Asserts at most the free budget was evaluated (answered `wrong`), none got in, and every
/// other attempt was refused with a Retry-After; answers how many were evaluated.
fn assert_budget_held(answers: &[(StatusCode, Option<u64>, bool)], wrong: StatusCode) -> usize {
    let evaluated = answers.iter().filter(|a| a.0 == wrong).count();
    assert!(evaluated <= FREE, "{evaluated} guesses were evaluated in one burst: {answers:?}");
    assert!(answers.iter().all(|a| a.0 != StatusCode::OK), "nothing gets in: {answers:?}");
    for (status, retry, _) in answers.iter().filter(|a| a.0 != wrong) {
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
        assert!(retry.is_some_and(|s| s >= 1), "429 carries Retry-After");
    }
    let last = answers.iter().find(|a| a.2).unwrap();
    assert_eq!(last.0, StatusCode::TOO_MANY_REQUESTS, "the right secret after the budget is refused too");
    evaluated
}

async fn sixty_parallel_sign_ins_evaluate_at_most_the_free_budget(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.init_admin().await;
    let wrong = (0..59).map(|i| json!({ "email": ADMIN_EMAIL, "password": format!("Wrong-{i}-Password!") })).collect();
    let answers = burst(&app, "/api/v1/auth/login", wrong, json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })).await;
    let evaluated = assert_budget_held(&answers, StatusCode::UNAUTHORIZED);

    // After the delay the real user gets in; only evaluated failures left records behind.
    app.advance(Duration::minutes(16));
    let admin = app.admin().await;
    let (_, me) = admin.get("/api/v1/me").await;
    let (_, logins) = admin.get(&format!("/api/v1/users/{}/logins", me["id"].as_str().unwrap())).await;
    let failed: Vec<&Value> = logins["items"].as_array().unwrap().iter().filter(|l| l["success"] == false).collect();
    assert_eq!(failed.len(), evaluated, "refused attempts write no history rows: {failed:?}");
    assert!(failed.iter().all(|l| l["reason"] == "bad_password"));
    let (_, audit) = admin.get("/api/v1/audit?action=auth.login_failed").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), evaluated, "nor audit events");
}

async fn sixty_parallel_codes_evaluate_at_most_the_free_budget(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let secret = enroll(&app, &admin).await;
    app.advance(Duration::seconds(30));
    // One code step per guess (each password step gives its attempt back).
    let mut tokens = Vec::new();
    for _ in 0..60 {
        let mut c = app.client();
        let (status, body) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "sign-ins with the right password are never throttled: {body}");
        tokens.push(body["mfa_token"].as_str().unwrap().to_owned());
    }
    let right = tokens.pop().unwrap();
    let wrong = tokens
        .into_iter()
        .enumerate()
        // TOTP-shaped and backup-code-shaped guesses alike.
        .map(|(i, t)| json!({ "mfa_token": t, "code": if i % 2 == 0 { format!("{:06}", i * 7919 % 1_000_000) } else { format!("abcd-efgh-ijkl-{i:04}") } }))
        .collect();
    let code = totp_code(&secret, app.clock_now());
    let answers = burst(&app, "/api/v1/auth/login/mfa", wrong, json!({ "mfa_token": right, "code": code })).await;
    assert_budget_held(&answers, StatusCode::BAD_REQUEST);
    app.advance(Duration::minutes(16));
    let mut c = app.client();
    let (_, body) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, body) =
        c.post("/api/v1/auth/login/mfa", json!({ "mfa_token": body["mfa_token"], "code": totp_code(&secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::OK, "after the delay the right code gets in: {body}");
}

async fn forty_wrong_codes_at_mfa_disable_are_refused_before_the_fortieth(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let secret = enroll(&app, &admin).await;
    app.advance(Duration::seconds(30));
    let (first, evaluated) = guess(&app, &admin, "/api/v1/me/mfa/totp/disable", |i| json!({ "code": format!("{:06}", 100_000 + i) })).await;
    assert!(first <= FREE, "40 wrong codes at MFA disable: refused from the {}th on", first + 1);
    // A stolen session with the right code must wait too; the owner gets through after the delay.
    let (status, _) = admin.post("/api/v1/me/mfa/totp/disable", json!({ "code": totp_code(&secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(admin.get("/api/v1/me").await.1["mfa_enabled"], true);
    let (_, failures) = admin.get("/api/v1/audit?action=mfa.disable_failed&limit=100").await;
    let failures = failures["items"].as_array().unwrap();
    assert_eq!(failures.len(), evaluated, "each evaluated wrong code is audited");
    assert_eq!(failures[0]["ip"], "127.0.0.1");
    app.advance(Duration::minutes(16));
    let (status, body) = admin.post("/api/v1/me/mfa/totp/disable", json!({ "code": totp_code(&secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// Sends 40 wrong secrets to `path` as `c`; after each refusal the clock moves past the delay
/// and guessing goes on, so the delays grow to the longest (and real time passing in a slow run
/// cannot end the last one). Answers after how many wrong secrets the first refusal came, and
/// how many were evaluated in all.
async fn guess(app: &TestApp, c: &Client, path: &str, body: impl Fn(usize) -> Value) -> (usize, usize) {
    let (mut first, mut evaluated, mut wait) = (None, 0, None);
    for i in 0..40 {
        if let Some(secs) = wait.take() {
            app.advance(Duration::seconds(secs));
        }
        let (status, answer) = c.post(path, body(i)).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(answer["error"]["code"], "too_many_attempts");
            first.get_or_insert(evaluated);
            wait = answer["error"]["details"]["retry_after_seconds"].as_i64();
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {answer}");
            evaluated += 1;
        }
    }
    (first.unwrap_or_else(|| panic!("{path}: 40 wrong secrets and never refused")), evaluated)
}

/// Lets failures age out of the throttle's one-hour window, keeping the sessions alive.
async fn past_the_window(app: &TestApp, sessions: &[&Client]) {
    for _ in 0..3 {
        app.advance(Duration::minutes(25));
        for c in sessions {
            assert_eq!(c.get("/api/v1/me").await.0, StatusCode::OK);
        }
    }
}

async fn every_secret_checked_in_a_session_is_throttled_and_audited(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let user = app.user(&admin, "una@example.com", "Una", "developer", "Plover-Quartz-42!").await;
    let audited = |action: &'static str| {
        let app = &app;
        async move { app.admin().await.get(&format!("/api/v1/audit?action={action}&limit=100")).await.1["items"].as_array().unwrap().len() }
    };

    // The enrollment code.
    let (_, e) = user.post("/api/v1/me/mfa/totp", json!({})).await;
    let (n, evaluated) = guess(&app, &user, "/api/v1/me/mfa/totp/activate", |i| json!({ "code": format!("{:06}", 200_000 + i) })).await;
    assert!(n <= FREE, "enrollment code refused after {n}");
    assert_eq!(audited("mfa.verify_failed").await, evaluated);
    past_the_window(&app, &[&user]).await;
    let secret = e["secret"].as_str().unwrap();
    let (status, _) = user.post("/api/v1/me/mfa/totp/activate", json!({ "code": totp_code(secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::OK);

    // New backup codes.
    app.advance(Duration::seconds(30));
    let (n, evaluated) = guess(&app, &user, "/api/v1/me/mfa/backup-codes", |i| json!({ "code": format!("{:06}", 300_000 + i) })).await;
    assert!(n <= FREE, "backup codes refused after {n}");
    assert_eq!(audited("mfa.backup_codes_regenerate_failed").await, evaluated);
    past_the_window(&app, &[&user]).await;

    // The current password.
    let (n, evaluated) = guess(
        &app,
        &user,
        "/api/v1/me/password",
        |i| json!({ "current_password": format!("Not-It-{i}-Password"), "new_password": "Another-Good-9-Phrase" }),
    )
    .await;
    assert!(n <= FREE, "password change refused after {n}");
    // The throttle is the account's: the owner's sign-in waits as well, then works.
    let mut c = app.client();
    assert_eq!(c.login("una@example.com", "Plover-Quartz-42!").await.0, StatusCode::TOO_MANY_REQUESTS);
    let admin = app.admin().await;
    let (_, audit) = admin.get("/api/v1/audit?action=user.password_change_failed&limit=100").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), evaluated);
    assert!(!audit.to_string().contains("Not-It-"), "no password in the audit log");
    app.advance(Duration::minutes(16));
    let (status, _) =
        user.post("/api/v1/me/password", json!({ "current_password": "Plover-Quartz-42!", "new_password": "Another-Good-9-Phrase" })).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn a_right_password_gives_its_attempt_back(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let secret = enroll(&app, &admin).await;
    // Four wrong passwords, then many right ones (with the code step left undone): the right
    // ones do not use up the budget, so the fifth wrong guess is still evaluated...
    let mut c = app.client();
    for i in 0..4 {
        assert_eq!(c.login(ADMIN_EMAIL, &format!("Wrong-{i}-Password!")).await.0, StatusCode::UNAUTHORIZED);
    }
    for _ in 0..10 {
        let (status, body) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("mfa_required")));
    }
    assert_eq!(c.login(ADMIN_EMAIL, "Wrong-5-Password!").await.0, StatusCode::UNAUTHORIZED);
    // ...and it starts the delay, as it always did.
    assert_eq!(c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Once the delay is over, the code step gets one attempt, and the right code clears it all.
    app.advance(Duration::seconds(2));
    let (_, body) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.advance(Duration::seconds(30));
    let (status, _) =
        c.post("/api/v1/auth/login/mfa", json!({ "mfa_token": body["mfa_token"], "code": totp_code(&secret, app.clock_now()) })).await;
    assert_eq!(status, StatusCode::OK);
    for i in 0..4 {
        assert_eq!(app.client().login(ADMIN_EMAIL, &format!("Again-{i}-Wrong!")).await.0, StatusCode::UNAUTHORIZED);
    }
}

async fn right_passwords_in_a_burst_wait_for_the_evaluated_ones_instead_of_being_refused(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.init_admin().await;
    let http = reqwest::Client::new();
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let (http, url) = (http.clone(), format!("{}/api/v1/auth/login", app.base));
            // Four wrong passwords among twenty right ones: never enough to lock the account.
            let password = if i % 6 == 0 { format!("Wrong-{i}-Password!") } else { ADMIN_PASSWORD.to_owned() };
            tokio::spawn(async move {
                (i % 6 == 0, http.post(url).json(&json!({ "email": ADMIN_EMAIL, "password": password })).send().await.unwrap().status())
            })
        })
        .collect();
    for t in tasks {
        let (wrong, status) = t.await.unwrap();
        assert_eq!(status, if wrong { StatusCode::UNAUTHORIZED } else { StatusCode::OK }, "wrong: {wrong}");
    }
}
