//! The API's conventions over HTTP: errors in one shape and never 500 for input, operations
//! endpoints, the set-up link, the directory, and concurrency on the embedded database.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Engine, spawn_app};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

engine_tests!(
    bad_input_gets_clear_4xx_errors,
    operations_endpoints_answer,
    setup_link_sets_the_password_once,
    setup_link_expires_after_a_day,
    directory_searches_and_pages,
    concurrent_sign_ins_and_calls_never_fail,
);

async fn raw(
    app: &common::TestApp,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", app.base)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn assert_error_shape(body: &Value) {
    let e = &body["error"];
    assert!(e["code"].as_str().is_some_and(|c| !c.is_empty() && c.chars().all(|c| c.is_ascii_lowercase() || c == '_')), "{body}");
    assert!(e["message"].as_str().is_some_and(|m| m.ends_with('.')), "{body}");
}

async fn bad_input_gets_clear_4xx_errors(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.init_admin().await;
    use reqwest::Method;
    let login = "/api/v1/auth/login";
    // (what, content type, body, expected status, expected code)
    type Case = (&'static str, Option<&'static str>, Vec<u8>, StatusCode, &'static str);
    let cases: Vec<Case> = vec![
        ("malformed", Some("application/json"), b"{\"email\": ".to_vec(), StatusCode::BAD_REQUEST, "malformed_json"),
        (
            "unknown field",
            Some("application/json"),
            br#"{"email":"a@b.co","password":"x","admin":true}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        ("wrong type", Some("application/json"), br#"{"email":42,"password":"x"}"#.to_vec(), StatusCode::BAD_REQUEST, "invalid_body"),
        ("missing field", Some("application/json"), br#"{"email":"a@b.co"}"#.to_vec(), StatusCode::BAD_REQUEST, "invalid_body"),
        (
            "no content type",
            None,
            br#"{"email":"a@b.co","password":"x"}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "bad email",
            Some("application/json"),
            br#"{"email":"not an email","password":"x"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_email",
        ),
        (
            "oversized",
            Some("application/json"),
            format!("{{\"email\":\"{}\",\"password\":\"x\"}}", "a".repeat(2 * 1024 * 1024)).into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (what, ct, body, status, code) in cases {
        let (got, answer) = raw(&app, Method::POST, login, ct, body).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{what}");
        assert_error_shape(&answer);
    }

    let admin = app.admin().await;
    let (status, body) = admin.get("/api/v1/users/not-a-uuid").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_id");
    let (status, body) = admin.get(&format!("/api/v1/users/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "user_not_found");
    let (status, body) = admin.get("/api/v1/users?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_limit");
    let (status, body) = admin.get("/api/v1/users?limit=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_query");
    let (status, body) = admin.get("/api/v1/users?role=root").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_role");
    let (status, body) = admin.get("/api/v1/audit?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_time");
    let (status, body) = admin.get("/api/v1/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_shape(&body);
    let (status, body) = admin.patch("/api/v1/me", json!({ "full_name": "   " })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_full_name");
    let (_, me) = admin.get("/api/v1/me").await;
    assert_eq!(me["full_name"], "Ada Lovelace", "a refused change changes nothing");

    let anonymous = app.client();
    let (status, body) = anonymous.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
}

async fn operations_endpoints_answer(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let c = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let res = c.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.headers().contains_key("x-request-id"), "{path} carries a request id");
    }
    let mut admin = app.admin().await;
    let _ = admin.login(ADMIN_EMAIL, "Wrong-Password-1!").await;
    let metrics = c.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("http_request_duration_seconds_bucket"), "latency histogram");
    assert!(metrics.contains("keyward_sign_ins_total{outcome=\"ok\"}"), "{metrics}");
    assert!(metrics.contains("keyward_sign_ins_total{outcome=\"invalid_credentials\"}"), "{metrics}");

    let doc: Value = c.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in ["/api/v1/auth/login", "/api/v1/me", "/api/v1/me/tokens", "/api/v1/me/sessions", "/api/v1/users", "/api/v1/audit"] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI documents {path}");
    }
    let page = c.get(format!("{}/login", app.base)).send().await.unwrap();
    assert_eq!(page.headers()["x-frame-options"], "DENY", "pages cannot be framed");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["cache-control"], "no-store", "pages that may show secrets are not cached");
    let css = c.get(format!("{}/static/keyward.css", app.base)).send().await.unwrap();
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    let docs = c.get(format!("{}/api/docs/", app.base)).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    let html = docs.text().await.unwrap();
    assert!(!html.contains("https://"), "the docs page loads nothing from the internet");
}

async fn setup_link_sets_the_password_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let outcome = app.kw.init_admin(ADMIN_EMAIL, "Ada Lovelace", None).await.unwrap();
    let link = outcome.setup_link.expect("init without a password prints a set-up link");
    assert!(link.starts_with(&format!("{}/invite/", app.base)), "{link}");
    let token = link.rsplit('/').next().unwrap().to_owned();

    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains(ADMIN_EMAIL));

    let mut c = app.client();
    assert_eq!(c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.0, StatusCode::UNAUTHORIZED, "no password yet");
    let (status, body) = c.post("/api/v1/invitations/accept", json!({ "token": token, "password": "abc" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "password_policy");
    let rules: Vec<&str> = body["error"]["details"]["rules"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["min_length", "uppercase", "digit", "special", "not_common"]);

    let (status, body) = c.post("/api/v1/invitations/accept", json!({ "token": token, "password": ADMIN_PASSWORD })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    c.csrf = body["csrf_token"].as_str().map(str::to_owned);
    let (_, me) = c.get("/api/v1/me").await;
    assert_eq!(me["role"], "admin");
    assert_eq!(me["status"], "active");

    let (status, body) = c.post("/api/v1/invitations/accept", json!({ "token": token, "password": "Other-Good-8-Phrase" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "invitation_used");
    let (status, body) = c.post("/api/v1/invitations/accept", json!({ "token": "made-up", "password": ADMIN_PASSWORD })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let mut again = app.client();
    assert_eq!(again.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.0, StatusCode::OK);
}

async fn setup_link_expires_after_a_day(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let link = app.kw.init_admin(ADMIN_EMAIL, "Ada Lovelace", None).await.unwrap().setup_link.unwrap();
    let token = link.rsplit('/').next().unwrap().to_owned();
    app.advance(Duration::hours(24) + Duration::seconds(1));
    let (status, body) = app.client().post("/api/v1/invitations/accept", json!({ "token": token, "password": ADMIN_PASSWORD })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "invitation_expired");
}

async fn directory_searches_and_pages(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (status, page) = admin.get("/api/v1/users?q=LOVE").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["email"], ADMIN_EMAIL);
    assert_eq!(page["items"][0]["role"], "admin", "admins see roles");
    let (_, none) = admin.get("/api/v1/users?q=%25").await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0, "LIKE wildcards are matched literally");
    let (_, page) = admin.get("/api/v1/users?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_null(), "one user: no next page");
    let (_, filtered) = admin.get("/api/v1/users?status=deactivated").await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 0);
}

async fn concurrent_sign_ins_and_calls_never_fail(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let admin = std::sync::Arc::new(admin);
    let mut tasks = Vec::new();
    // Sign-ins of one account queue behind the ones being checked (the throttle counts them
    // before they settle) and give up after ten seconds: 24 password hashes fit in that on a
    // loaded 2-core machine, as 50 may not, and still put every write path under contention.
    for i in 0..SIGN_INS {
        let base = app.base.clone();
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            let mut c =
                common::Client { http: reqwest::Client::builder().cookie_store(true).build().unwrap(), base, csrf: None, bearer: None };
            let (s1, b1) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
            let (s2, b2) = admin.post("/api/v1/me/tokens", json!({ "name": format!("t{i}") })).await;
            let (s3, b3) = c.get("/api/v1/me/sessions").await;
            vec![(s1, b1), (s2, b2), (s3, b3)]
        }));
    }
    for t in tasks {
        for (status, body) in t.await.unwrap() {
            assert!(status.is_success(), "{status}: {body}");
        }
    }
    let (_, tokens) = admin.get("/api/v1/me/tokens").await;
    assert_eq!(tokens["items"].as_array().unwrap().len(), SIGN_INS);
}

const SIGN_INS: usize = 24;
