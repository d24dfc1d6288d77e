//! What every answer carries (Content-Security-Policy, HSTS under https, the `__Host-` session
//! cookie), no 500 from header-borne input, bounded metric labels and the metrics token, and owner-only files in the data
//! directory; over HTTP, on both engines where storage is involved.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Client, Engine, TestApp, spawn_app, spawn_app_with};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

engine_tests!(files_in_the_data_directory_are_private, header_borne_input_never_causes_a_server_error);

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
    // The answer also sets the device cookie; the session cookie is the one that matters here.
    let cookies: Vec<String> = res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let cookie = cookies.iter().find(|c| c.contains("keyward_session=")).cloned().unwrap_or_default();
    assert!(cookie.starts_with("__Host-keyward_session="), "{cookies:?}");
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

/// A client signed in as the first admin through the sign-in page.
async fn page_sign_in(app: &TestApp) -> Client {
    let c = app.client();
    let res = c
        .http
        .post(format!("{}/login", app.base))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    c
}

/// Sends raw bytes and answers the status code of the reply.
async fn raw_status(app: &TestApp, request: &[u8]) -> u16 {
    let addr = app.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        let n = s.read(&mut buf[got..]).await.unwrap();
        if n == 0 {
            break;
        }
        got += n;
    }
    let line = String::from_utf8_lossy(&buf[..got]).into_owned();
    line.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status line: {line:?}"))
}

async fn header_borne_input_never_causes_a_server_error(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (_, token) = admin.post("/api/v1/me/tokens", json!({ "name": "probe" })).await;
    let token = token["token"].as_str().unwrap().to_owned();
    let session = page_sign_in(&app).await;
    let huge = "a".repeat(60_000);
    let headers: Vec<(&str, Vec<u8>)> = vec![
        ("host", b"evil.example:99999".to_vec()),
        ("host", b"[::1".to_vec()),
        ("origin", b"null".to_vec()),
        ("origin", b"\xff\xfe://x".to_vec()),
        ("origin", format!("http://{}", "o".repeat(5000)).into_bytes()),
        ("cookie", b"keyward_session=%%%; keyward_session=; ;;=;".to_vec()),
        ("cookie", format!("keyward_session={huge}").into_bytes()),
        ("cookie", b"keyward_session=\xff\xfe\xfd".to_vec()),
        ("x-forwarded-for", b"999.1.1.1, ::ffff:not-an-ip, \xff".to_vec()),
        ("x-forwarded-proto", b"gopher".to_vec()),
        ("x-forwarded-host", b"evil.example".to_vec()),
        ("forwarded", b"for=\"[::1\";proto=http;by=;".to_vec()),
        ("accept-language", b"*;q=x, zz-ZZZZ-\xff, ;;;".to_vec()),
        ("accept-language", huge.clone().into_bytes()),
        ("user-agent", b"\xc3\x28\xa0\xa1".to_vec()),
        ("user-agent", huge.clone().into_bytes()),
        ("authorization", b"Bearer \xff\xfe".to_vec()),
        ("authorization", b"Bearer".to_vec()),
        ("authorization", format!("Bearer {huge}").into_bytes()),
        ("x-csrf-token", b"\xff".to_vec()),
        ("x-request-id", b"\xff\xfe".to_vec()),
        ("sec-fetch-site", b"\xff".to_vec()),
        ("content-type", b"application/json; charset=\xff".to_vec()),
        ("if-none-match", huge.clone().into_bytes()),
    ];
    let routes: [(reqwest::Method, &str); 13] = [
        (reqwest::Method::GET, "/"),
        (reqwest::Method::GET, "/login?next=%2Fresources"),
        (reqwest::Method::GET, "/login?next=%2F%0d%0aX%3A%20y%00"),
        (reqwest::Method::POST, "/login"),
        (reqwest::Method::GET, "/settings/users"),
        (reqwest::Method::GET, "/api/v1/me"),
        (reqwest::Method::POST, "/api/v1/auth/login"),
        (reqwest::Method::POST, "/api/v1/password-reset"),
        (reqwest::Method::GET, "/invite/not-a-token"),
        (reqwest::Method::GET, "/healthz"),
        (reqwest::Method::GET, "/metrics"),
        (reqwest::Method::GET, "/api/openapi.json"),
        (reqwest::Method::GET, "/static/keyward.css"),
    ];
    let mut tried = 0;
    for (name, value) in &headers {
        for (method, path) in &routes {
            for (client, bearer) in [(&admin.http, None), (&session.http, None), (&admin.http, Some(&token))] {
                let mut req = client.request(method.clone(), format!("{}{path}", app.base));
                if let Some(t) = bearer {
                    req = req.bearer_auth(t);
                }
                let value = reqwest::header::HeaderValue::from_bytes(value).unwrap();
                req = req.header(*name, value);
                if method == reqwest::Method::POST {
                    req = req.header("content-type", "application/json").body(r#"{"email":"a@example.com","password":"x"}"#);
                }
                let res = req.send().await.unwrap();
                assert!(res.status().as_u16() < 500, "{method} {path} with {name}: {}", res.status());
                tried += 1;
            }
        }
    }
    assert!(tried > 900);

    // Bytes no client library would send: raw header bytes, a header without a value, CR/LF
    // in a redirect destination.
    for request in [
        &b"GET /login?next=/%0d%0aX:%20y HTTP/1.1\r\nHost: \xff\xfe\r\nCookie: keyward_session=\xff\r\nConnection: close\r\n\r\n"[..],
        &b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: \x80\x81\x82\r\nX-Forwarded-For:\r\nConnection: close\r\n\r\n"[..],
        &b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nOrigin: \xff\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"[..],
        &b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: \xff \xff\r\nConnection: close\r\n\r\n"[..],
    ] {
        let status = raw_status(&app, request).await;
        assert!(status < 500, "{} → {status}", String::from_utf8_lossy(request));
    }
    assert_eq!(admin.get("/api/v1/me").await.0, StatusCode::OK, "the server still serves");
}
