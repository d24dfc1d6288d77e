//! Web hardening over HTTP, on both engines: post-sign-in destinations stay on this site,
//! anonymous state changes are refused cross-site,
//! links die with a deactivation, the directory keeps invited and deactivated people private.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Client, Engine, TestApp, link_token, spawn_app, spawn_app_with};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PW: &str = "Plover-Quartz-42!";
const EVIL: &str = "https://evil.example";

engine_tests!(
    sign_in_only_returns_to_this_site,
    anonymous_changes_are_refused_cross_site,
    cross_site_refusals_on_the_pages,
    links_die_with_a_deactivation,
    links_die_with_an_access_end_date,
    the_directory_shows_non_admins_active_people_only,
);

/// A client with redirects off, signed in through the sign-in page.
async fn page_sign_in(app: &TestApp, next: &str) -> (Client, reqwest::Response) {
    let c = app.client();
    let res = c
        .http
        .post(format!("{}/login", app.base))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("next", next)])
        .send()
        .await
        .unwrap();
    (c, res)
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

async fn sign_in_only_returns_to_this_site(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.init_admin().await;
    for (next, want) in [
        ("/resources?kind=app", "/resources?kind=app"),
        ("/settings/users", "/settings/users"),
        (&format!("{}/account", app.base) as &str, "/account"),
    ] {
        let (_, res) = page_sign_in(&app, next).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&res), want, "{next}");
    }
    for next in [
        "//evil.example/",
        "/\\evil.example",
        "\\/evil.example",
        "/%5Cevil.example",
        "/%2F%2Fevil.example",
        "/%252F%252Fevil.example",
        "/%09/evil.example",
        "/\t/evil.example",
        " //evil.example",
        "/%0d%0aSet-Cookie:%20x=1",
        "https://evil.example/",
        "http://evil.example@127.0.0.1/",
        "javascript:alert(1)",
        "///evil.example",
    ] {
        let (_, res) = page_sign_in(&app, next).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location(&res), "/", "{next:?} must not leave the site");
    }

    // Signed in already, the sign-in page sends the browser on: the same rules, and no 500 for
    // a destination that cannot be a header value (a CR/LF, a raw control character).
    let (c, _) = page_sign_in(&app, "/").await;
    for (query, want) in [
        ("next=%2Fresources", "/resources"),
        ("next=%2F%0d%0aSet-Cookie:%20x%3D1", "/"),
        ("next=%2F%00", "/"),
        ("next=%2F%2Fevil.example", "/"),
        ("next=%2F%5Cevil.example", "/"),
        ("next=https%3A%2F%2Fevil.example", "/"),
    ] {
        let res = c.http.get(format!("{}/login?{query}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{query}");
        assert_eq!(location(&res), want, "{query}");
    }
    // The form carries only a cleaned destination too.
    let page = app.client().http.get(format!("{}/login?next=%2F%2Fevil.example", app.base)).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(!html.contains("evil.example"), "{html}");
}

/// Sends `body` as JSON to `path` with extra headers, without cookies.
async fn post_from(app: &TestApp, path: &str, body: Value, headers: &[(&str, &str)]) -> (StatusCode, Value, bool) {
    let mut req = reqwest::Client::new().post(format!("{}{path}", app.base)).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let sets_cookie = res.headers().get("set-cookie").is_some();
    (status, res.json().await.unwrap_or(Value::Null), sets_cookie)
}

async fn anonymous_changes_are_refused_cross_site(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.admin().await;
    let own = app.base.clone();
    let login = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD });
    let refusals: [&[(&str, &str)]; 5] = [
        &[("origin", EVIL)],
        &[("origin", "null")],
        &[("sec-fetch-site", "cross-site")],
        &[("origin", &own), ("sec-fetch-site", "cross-site")],
        &[("origin", "http://127.0.0.1:1")],
    ];
    for headers in refusals {
        let (status, body, cookie) = post_from(&app, "/api/v1/auth/login", login.clone(), headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}: {body}");
        assert_eq!(body["error"]["code"], "cross_site_request", "{body}");
        assert!(!cookie, "no session for a cross-site sign-in");
    }
    // Non-browser clients (no Origin, no fetch metadata) and the site's own pages pass.
    for headers in [&[][..], &[("origin", own.as_str())][..], &[("origin", own.as_str()), ("sec-fetch-site", "same-origin")][..]] {
        let (status, body, cookie) = post_from(&app, "/api/v1/auth/login", login.clone(), headers).await;
        assert_eq!(status, StatusCode::OK, "{headers:?}: {body}");
        assert!(cookie);
    }

    // The MFA step, password reset (request and confirm), invitation accept.
    let (status, body, _) =
        post_from(&app, "/api/v1/auth/login/mfa", json!({ "mfa_token": "x", "code": "123456" }), &[("origin", EVIL)]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("cross_site_request")));
    let (status, body, _) = post_from(&app, "/api/v1/password-reset", json!({ "email": ADMIN_EMAIL }), &[("origin", EVIL)]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("cross_site_request")));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.outbox().is_empty(), "a refused reset request sends nothing");
    let (status, _, _) = post_from(&app, "/api/v1/password-reset", json!({ "email": ADMIN_EMAIL }), &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let reset = link_token(&app.wait_for_outbox(1).await[0], "reset-password").unwrap();
    let confirm = json!({ "token": reset, "new_password": "Brand-New-Quill-77" });
    let (status, body, _) = post_from(&app, "/api/v1/password-reset/confirm", confirm.clone(), &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("cross_site_request")));
    assert_eq!(post_from(&app, "/api/v1/password-reset/confirm", confirm, &[]).await.0, StatusCode::OK, "the link was not used up");

    let admin = {
        let mut c = app.client();
        assert_eq!(c.login(ADMIN_EMAIL, "Brand-New-Quill-77").await.0, StatusCode::OK);
        c
    };
    let (_, inv) = admin
        .post("/api/v1/invitations", json!({ "email": "bo@example.com", "full_name": "Bo", "role": "viewer", "send_email": false }))
        .await;
    let token = link_token(inv["accept_url"].as_str().unwrap(), "invite").unwrap();
    let accept = json!({ "token": token, "password": PW });
    let (status, body, cookie) = post_from(&app, "/api/v1/invitations/accept", accept.clone(), &[("origin", EVIL)]).await;
    assert_eq!((status, body["error"]["code"].as_str(), cookie), (StatusCode::FORBIDDEN, Some("cross_site_request"), false));
    assert_eq!(post_from(&app, "/api/v1/invitations/accept", accept, &[("origin", &own)]).await.0, StatusCode::OK);

    // Changes by a signed-in caller keep their own guard (the CSRF token) and are not affected.
    let (status, _) = admin.patch("/api/v1/me", json!({ "full_name": "Ada L." })).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_public_url_the_address_the_browser_used_counts() {
    // Zero configuration: public_url defaults to http://<listen>, which is not what a browser
    // opened (localhost, a LAN name); the browser's own address (Host) is then accepted too.
    let Some(app) = spawn_app_with(Engine::Sqlite, |c| c.public_url = None).await else { return };
    app.init_admin().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let login = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD });
    let localhost = format!("http://localhost:{port}");
    let host = format!("localhost:{port}");
    let (status, body, _) =
        post_from(&app, "/api/v1/auth/login", login.clone(), &[("host", &host), ("origin", &localhost), ("sec-fetch-site", "same-origin")])
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body, _) = post_from(&app, "/api/v1/auth/login", login.clone(), &[("host", &host), ("origin", EVIL)]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("cross_site_request")));
    let other = format!("http://localhost:{}", port.parse::<u16>().unwrap() + 1);
    let (status, _, _) = post_from(&app, "/api/v1/auth/login", login, &[("host", &host), ("origin", &other)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another port is another origin");

    // With public_url configured (the test servers set it), only that origin counts.
    let Some(app) = spawn_app(Engine::Sqlite).await else { return };
    app.init_admin().await;
    let (status, _, _) = post_from(
        &app,
        "/api/v1/auth/login",
        json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        &[("host", &host), ("origin", &localhost)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Posts a form to a page from `origin` (none when empty); answers the status, the body and
/// whether a session cookie was set.
async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)], origin: &str) -> (StatusCode, String, bool) {
    let mut req = app.client().http.post(format!("{}{path}", app.base)).form(form);
    if !origin.is_empty() {
        req = req.header("origin", origin).header("sec-fetch-site", if origin == app.base { "same-origin" } else { "cross-site" });
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap_or("").contains("keyward_session=") && !v.to_str().unwrap_or("").contains("keyward_session=;"));
    (status, res.text().await.unwrap(), cookie)
}

async fn cross_site_refusals_on_the_pages(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    // The first admin's set-up link (keyward init without a password) is an invitation page.
    let setup = app.kw.init_admin(ADMIN_EMAIL, "Ada Lovelace", None).await.unwrap().setup_link.unwrap();
    let setup = link_token(&setup, "invite").unwrap();
    let set_pw = [("password", ADMIN_PASSWORD), ("password_confirm", ADMIN_PASSWORD)];
    let (status, html, cookie) = post_form(&app, &format!("/invite/{setup}"), &set_pw, EVIL).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("another site") && !cookie, "{html}");
    let (status, _, cookie) = post_form(&app, &format!("/invite/{setup}"), &set_pw, &app.base).await;
    assert_eq!((status, cookie), (StatusCode::SEE_OTHER, true), "the same form from Keyward's own page works");

    let login = [("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("next", "/")];
    let (status, html, cookie) = post_form(&app, "/login", &login, EVIL).await;
    assert_eq!((status, cookie), (StatusCode::FORBIDDEN, false), "{html}");
    assert_eq!(post_form(&app, "/login", &login, "").await.0, StatusCode::SEE_OTHER, "no browser headers: a script");
    let (status, _, cookie) = post_form(&app, "/login", &login, &app.base).await;
    assert_eq!((status, cookie), (StatusCode::SEE_OTHER, true));

    let (status, ..) = post_form(&app, "/login/mfa", &[("mfa_token", "x"), ("code", "123456")], EVIL).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ..) = post_form(&app, "/forgot-password", &[("email", ADMIN_EMAIL)], EVIL).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.outbox().is_empty(), "a refused reset request sends nothing");
    assert_eq!(post_form(&app, "/forgot-password", &[("email", ADMIN_EMAIL)], &app.base).await.0, StatusCode::OK);
    let reset = link_token(&app.wait_for_outbox(1).await[0], "reset-password").unwrap();
    let new_pw = [("password", "Brand-New-Quill-77"), ("password_confirm", "Brand-New-Quill-77")];
    let (status, ..) = post_form(&app, &format!("/reset-password/{reset}"), &new_pw, EVIL).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ..) = post_form(&app, &format!("/reset-password/{reset}"), &new_pw, &app.base).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the link survived the refused attempt");
}

/// Asks for a reset link for `email` and answers its token (waiting for message `n` in the outbox).
async fn reset_link(app: &TestApp, email: &str, n: usize) -> String {
    let (status, _) = app.client().post("/api/v1/password-reset", json!({ "email": email })).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mail = app.wait_for_outbox(n).await;
    assert_eq!(mail.len(), n);
    link_token(&mail[n - 1], "reset-password").unwrap()
}

async fn assert_link_refused(app: &TestApp, token: &str) {
    let page = reqwest::get(format!("{}/reset-password/{token}", app.base)).await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND, "the reset page refuses the link");
    let (status, body) =
        app.client().post("/api/v1/password-reset/confirm", json!({ "token": token, "new_password": "Brand-New-Quill-77" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let mut c = app.client();
    assert_eq!(c.login("bob@example.com", PW).await.0, StatusCode::OK, "the password stayed as it was");
}

async fn links_die_with_a_deactivation(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let bob = app.user(&admin, "bob@example.com", "Bob", "developer", PW).await;
    let (_, me) = bob.get("/api/v1/me").await;
    let id = me["id"].as_str().unwrap().to_owned();
    let token = reset_link(&app, "bob@example.com", 1).await;

    let (status, _) = admin.post(&format!("/api/v1/users/{id}/deactivate"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, audit) = admin.get("/api/v1/audit?action=user.deactivate").await;
    assert_eq!(audit["items"][0]["details"]["links_voided"], 1, "{audit}");
    let (status, _) = admin.post(&format!("/api/v1/users/{id}/reactivate"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_link_refused(&app, &token).await;

    // A link asked for after the reactivation works as usual.
    app.advance(time::Duration::minutes(2));
    let fresh = reset_link(&app, "bob@example.com", 2).await;
    let (status, _) =
        app.client().post("/api/v1/password-reset/confirm", json!({ "token": fresh, "new_password": "Brand-New-Quill-77" })).await;
    assert_eq!(status, StatusCode::OK);
}

async fn links_die_with_an_access_end_date(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let bob = app.user(&admin, "bob@example.com", "Bob", "developer", PW).await;
    let (_, me) = bob.get("/api/v1/me").await;
    let id = me["id"].as_str().unwrap().to_owned();
    let end = app.clock_now() + time::Duration::minutes(30);
    let end = end.format(&time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(admin.patch(&format!("/api/v1/users/{id}"), json!({ "access_expires_at": end })).await.0, StatusCode::OK);
    let token = reset_link(&app, "bob@example.com", 1).await;
    app.advance(time::Duration::minutes(31));
    assert_eq!(app.kw.expire_access().await.unwrap(), 1);
    assert_eq!(admin.post(&format!("/api/v1/users/{id}/reactivate"), json!({})).await.0, StatusCode::OK);
    assert_link_refused(&app, &token).await;
}

async fn the_directory_shows_non_admins_active_people_only(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let viewer = app.user(&admin, "mo@example.com", "Mo Viewer", "viewer", PW).await;
    let _ned = app.user(&admin, "ned@example.com", "Ned Smith", "developer", PW).await;
    let dan = app.user(&admin, "dan@example.com", "Dan Gone", "developer", PW).await;
    let (_, dan_me) = dan.get("/api/v1/me").await;
    let dan_id = dan_me["id"].as_str().unwrap().to_owned();
    assert_eq!(admin.post(&format!("/api/v1/users/{dan_id}/deactivate"), json!({})).await.0, StatusCode::OK);
    let (_, ivy) = admin
        .post(
            "/api/v1/invitations",
            json!({ "email": "ivy@example.com", "full_name": "Ivy Invited", "role": "admin", "send_email": false }),
        )
        .await;
    let ivy_id = ivy["id"].as_str().unwrap().to_owned();
    let emails = |page: &Value| -> Vec<String> {
        let mut v: Vec<String> = page["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect();
        v.sort();
        v
    };

    let (status, all) = viewer.get("/api/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emails(&all), ["ada@example.com", "mo@example.com", "ned@example.com"], "active people only");
    let (status, found) = viewer.get("/api/v1/users?q=example.com&limit=200").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emails(&found).len(), 3);
    for query in ["role=admin", "role=viewer", "status=deactivated", "status=invited", "status=active&role=admin"] {
        let (status, body) = viewer.get(&format!("/api/v1/users?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["code"], "filter_not_allowed", "{query}");
    }
    assert_eq!(viewer.get("/api/v1/users?status=active").await.0, StatusCode::OK, "what they see anyway");
    for id in [&dan_id, &ivy_id] {
        let (status, body) = viewer.get(&format!("/api/v1/users/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"]["code"], "user_not_found");
    }
    let (_, mo) = viewer.get("/api/v1/me").await;
    assert_eq!(viewer.get(&format!("/api/v1/users/{}", mo["id"].as_str().unwrap())).await.0, StatusCode::OK);

    // The page: no invited or deactivated people, no filters.
    let html = viewer.http.get(format!("{}/settings/users", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("ned@example.com") && !html.contains("dan@example.com") && !html.contains("ivy@example.com"), "{html}");
    let res = viewer.http.get(format!("{}/settings/users?status=deactivated", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(!res.text().await.unwrap().contains("dan@example.com"));

    // Admins see and filter everything, as before.
    let (_, everyone) = admin.get("/api/v1/users?limit=200").await;
    assert_eq!(emails(&everyone).len(), 5);
    let (_, gone) = admin.get("/api/v1/users?status=deactivated").await;
    assert_eq!(emails(&gone), ["dan@example.com"]);
    let (_, invited) = admin.get("/api/v1/users?status=invited").await;
    assert_eq!(emails(&invited), ["ivy@example.com"]);
    let (_, admins) = admin.get("/api/v1/users?role=admin").await;
    assert_eq!(emails(&admins), ["ada@example.com", "ivy@example.com"]);
    assert_eq!(admin.get(&format!("/api/v1/users/{dan_id}")).await.0, StatusCode::OK);
    assert_eq!(admin.get(&format!("/api/v1/users/{ivy_id}")).await.0, StatusCode::OK);
    let html = admin.http.get(format!("{}/settings/users?status=deactivated", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("dan@example.com"));
}
