//! What every answer carries (Content-Security-Policy, HSTS under https, the `__Host-` session
//! cookie), bounded metric labels and the metrics token, and owner-only files in the data
//! directory; over HTTP, on both engines where storage is involved.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Engine, spawn_app, spawn_app_with};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

engine_tests!(files_in_the_data_directory_are_private,);

#[tokio::test]
async fn every_page_has_a_policy_without_inline_script() {
    let Some(app) = spawn_app(Engine::Sqlite).await else { return };
    let admin = app.admin().await;
    for path in ["/login", "/", "/settings/users", "/account/security", "/resources", "/api/v1/me", "/no/such/page", "/static/keyward.js"] {
        let res = admin.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        let csp = res.headers().get("content-security-policy").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        for directive in ["script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"] {
            assert!(csp.split(';').any(|d| d.trim() == directive), "{path}: {directive} missing from {csp:?}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert!(res.headers().get("strict-transport-security").is_none(), "no HSTS over plain http");
    }
    // The Swagger page keeps working under its own, relaxed styles policy.
    let res = reqwest::get(format!("{}/api/docs/", app.base)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-eval"), "{csp}");
}

#[test]
fn templates_hold_no_inline_script_or_style() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let html = std::fs::read_to_string(&path).unwrap().to_lowercase();
        let name = path.display().to_string();
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            assert!(tag.contains(" src="), "{name}: inline <script>");
        }
        assert!(!html.contains("<style"), "{name}: <style> element");
        assert!(!html.contains(" style="), "{name}: style attribute");
        assert!(!html.contains("javascript:"), "{name}: javascript: URL");
        let bytes = html.as_bytes();
        for (i, _) in html.match_indices(" on") {
            let attr: String = html[i + 1..].chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            let after = bytes.get(i + 1 + attr.len()).copied();
            assert!(!(attr.len() > 2 && after == Some(b'=')), "{name}: event handler attribute {attr}=");
        }
        checked += 1;
    }
    assert!(checked > 20, "the templates were read from {}", dir.display());
}

#[tokio::test]
async fn under_https_the_cookie_is_host_only_and_hsts_is_sent() {
    let Some(app) = spawn_app_with(Engine::Sqlite, |c| c.public_url = Some("https://keyward.example".into())).await else { return };
    app.init_admin().await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-keyward_session="), "{cookie}");
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(attrs.contains(&"Secure") && attrs.contains(&"Path=/") && attrs.contains(&"HttpOnly"), "{cookie}");
    assert!(!cookie.to_lowercase().contains("domain="), "{cookie}");
    let token = attrs[0].trim_start_matches("__Host-keyward_session=").to_owned();

    let me = |name: &str| http.get(format!("{}/api/v1/me", app.base)).header("cookie", format!("{name}={token}")).send();
    assert_eq!(me("__Host-keyward_session").await.unwrap().status(), StatusCode::OK);
    assert_eq!(me("keyward_session").await.unwrap().status(), StatusCode::UNAUTHORIZED, "only the prefixed name counts under https");
    let page = http.get(format!("{}/", app.base)).header("cookie", format!("__Host-keyward_session={token}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the pages read the prefixed cookie too");
    let doc: serde_json::Value = http.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["components"]["securitySchemes"]["session"]["name"], "__Host-keyward_session");
}

/// The distinct values of `label` on the `http_requests_total` lines of a Prometheus text.
fn label_values(text: &str, label: &str) -> std::collections::BTreeSet<String> {
    let key = format!("{label}=\"");
    text.lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .filter_map(|l| l.find(&key).map(|i| l[i + key.len()..].split('"').next().unwrap_or_default().to_owned()))
        .collect()
}

#[tokio::test]
async fn metric_labels_stay_bounded_and_the_token_guards_them() {
    let token = "m3trics-t0ken-for-the-scraper";
    let Some(app) = spawn_app_with(Engine::Sqlite, |c| c.metrics_token = Some(token.into())).await else { return };
    let http = reqwest::Client::new();
    let mut sent = Vec::new();
    for i in 0..50 {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let (method, path) = match i % 5 {
            0 => (reqwest::Method::from_bytes(format!("X{}", &id[20..]).to_uppercase().as_bytes()).unwrap(), format!("/p/{id}")),
            1 => (reqwest::Method::GET, format!("/{id}")),
            2 => (reqwest::Method::POST, format!("/api/v1/{id}/x")),
            3 => (reqwest::Method::from_bytes(format!("M{}", &id[24..]).to_uppercase().as_bytes()).unwrap(), "/healthz".into()),
            _ => (reqwest::Method::DELETE, format!("/static/{id}.css")),
        };
        let res = http.request(method.clone(), format!("{}{path}", app.base)).send().await.unwrap();
        assert!(res.status().as_u16() < 500);
        sent.push((method.to_string(), id));
    }
    let res = http.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    for wrong in ["Bearer wrong-token-of-some-length", &format!("Basic {token}"), &format!("Bearer {token}x"), "Bearer"] {
        let res = http.get(format!("{}/metrics", app.base)).header("authorization", wrong).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }
    let res = http.get(format!("{}/metrics", app.base)).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();

    let methods = label_values(&text, "method");
    let allowed = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"];
    assert!(methods.iter().all(|m| allowed.contains(&m.as_str())), "{methods:?}");
    assert!(methods.contains("OTHER"), "{methods:?}");
    let routes = label_values(&text, "route");
    assert!(routes.contains("unmatched"), "{routes:?}");
    assert!(routes.iter().all(|r| !r.contains("__private__")), "{routes:?}");
    for (method, id) in &sent {
        assert!(!text.contains(id.as_str()), "a raw path became a label: {id}");
        assert!(allowed.contains(&method.as_str()) || !text.contains(method.as_str()), "an invented method became a label: {method}");
    }
    assert!(routes.iter().all(|r| r == "unmatched" || r.starts_with('/')), "{routes:?}");
}

#[tokio::test]
async fn metrics_are_open_without_a_token() {
    let Some(app) = spawn_app(Engine::Sqlite).await else { return };
    let res = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// Every regular file under `dir`, with its mode.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u32)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        if meta.is_dir() {
            out.extend(files_under(&entry.path()));
        } else {
            out.push((entry.path(), meta.permissions().mode() & 0o777));
        }
    }
    out
}

async fn files_in_the_data_directory_are_private(engine: Engine) {
    // A directory open to everyone, made before start-up: the files inside stay private anyway.
    let Some(app) = spawn_app_with(engine, |c| {
        std::fs::create_dir_all(&c.data_dir).unwrap();
        std::fs::set_permissions(&c.data_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    })
    .await
    else {
        return;
    };
    let admin = app.admin().await;
    let (status, _) = admin
        .post("/api/v1/invitations", json!({ "email": "bo@example.com", "full_name": "Bo", "role": "viewer", "send_email": true }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(app.client().post("/api/v1/password-reset", json!({ "email": ADMIN_EMAIL })).await.0, StatusCode::ACCEPTED);
    for i in 0..5 {
        let (status, _) = admin.post("/api/v1/resources", json!({ "kind": "app", "name": format!("app-{i}") })).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    assert_eq!(app.wait_for_outbox(2).await.len(), 2);

    let files = files_under(&app.data_dir);
    let names: Vec<String> = files.iter().map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    let mut expected = vec!["keyward.key"];
    if engine == Engine::Sqlite {
        expected.extend(["keyward.db", "keyward.db-wal", "keyward.db-shm"]);
    }
    for want in expected {
        assert!(names.iter().any(|n| n == want), "{want} is missing from {names:?}");
    }
    assert_eq!(names.iter().filter(|n| n.ends_with(".eml")).count(), 2, "{names:?}");
    for (path, mode) in &files {
        assert_eq!(*mode, 0o600, "{} has mode {mode:o}", path.display());
    }
}
