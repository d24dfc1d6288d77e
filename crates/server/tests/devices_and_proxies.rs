//! Shared addresses and proxies: device cookies keep known browsers signing in while their
//! address is locked, and `trusted_proxies` decides whose forwarding headers name the client.
//! Over HTTP, on both engines.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Engine, TestApp, spawn_app, spawn_app_with};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};
use time::Duration;

engine_tests!(
    a_shared_address_under_attack_does_not_lock_out_known_devices,
    a_device_cookie_that_fails_repeatedly_is_locked_by_its_own_counter,
    trusted_proxies_name_the_client_and_others_are_not_believed,
);

const PW: &str = "Plover-Quartz-42!";

/// A sign-in with these extra headers and no cookie jar; answers the status and the device
/// cookie the answer sets, if any.
async fn sign_in(app: &TestApp, email: &str, password: &str, headers: &[(&str, &[u8])]) -> (StatusCode, Option<String>) {
    let mut req =
        reqwest::Client::new().post(format!("{}/api/v1/auth/login", app.base)).json(&json!({ "email": email, "password": password }));
    for (name, value) in headers {
        req = req.header(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_bytes(value).unwrap());
    }
    let res = req.send().await.expect("request");
    let device = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("keyward_device=").map(|rest| rest.split(';').next().unwrap_or("").to_owned()));
    (res.status(), device)
}

fn device(cookie: &str) -> String {
    format!("keyward_device={cookie}")
}

/// Twenty bad passwords from one address, each for a different (unknown) account, lock the
/// address; ten more, each after the delay, make the lock the longest (15 minutes), so that
/// real time passing in a slow run cannot end it. Checks the next attempt is refused.
async fn lock_the_address(app: &TestApp, headers: &[(&str, &[u8])]) {
    for i in 0..30 {
        if i >= 20 {
            app.advance(Duration::minutes(16));
        }
        let (status, _) = sign_in(app, &format!("nobody{i}@example.com"), "Wrong-Password-1!", headers).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let (status, _) = sign_in(app, "nobody-else@example.com", "Wrong-Password-1!", headers).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the address is locked");
}

async fn a_shared_address_under_attack_does_not_lock_out_known_devices(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let _ = app.user(&admin, "carol@example.com", "Carol", "developer", PW).await;
    let _ = app.user(&admin, "dave@example.com", "Dave", "developer", PW).await;
    let (status, carols) = sign_in(&app, "carol@example.com", PW, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let carols = carols.expect("a signed-in browser gets a device cookie");

    // The sign-in page sets it too.
    let form = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = form.post(format!("{}/login", app.base)).form(&[("email", "carol@example.com"), ("password", PW)]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<&str> = res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("keyward_device=") && c.contains("HttpOnly") && c.contains("SameSite=Lax")),
        "{cookies:?}"
    );

    lock_the_address(&app, &[]).await;
    // A browser that never signed in here is refused, with the right password too...
    assert_eq!(sign_in(&app, "dave@example.com", PW, &[]).await.0, StatusCode::TOO_MANY_REQUESTS);
    // ...and so is one with a device cookie of another account, or a forged one.
    let (status, _) = sign_in(&app, "dave@example.com", PW, &[("cookie", device(&carols).as_bytes())]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "Carol's device cookie does not vouch for Dave");
    let forged = device("v1.AAAAAAAAAAAAAAAAAAAAAA.1700000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(sign_in(&app, "carol@example.com", PW, &[("cookie", forged.as_bytes())]).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Carol's browser signs in.
    let (status, renewed) = sign_in(&app, "carol@example.com", PW, &[("cookie", device(&carols).as_bytes())]).await;
    assert_eq!(status, StatusCode::OK, "a known device is not blocked by its address's lock");
    assert!(renewed.is_some_and(|c| c != carols), "each sign-in renews the device cookie");
    // A device cookie does not get around the account's own throttle.
    let (status, _) = sign_in(&app, "carol@example.com", "Wrong-Password-1!", &[("cookie", device(&carols).as_bytes())]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn a_device_cookie_that_fails_repeatedly_is_locked_by_its_own_counter(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let _ = app.user(&admin, "carol@example.com", "Carol", "developer", PW).await;
    let laptop = sign_in(&app, "carol@example.com", PW, &[]).await.1.unwrap();
    let phone = sign_in(&app, "carol@example.com", PW, &[]).await.1.unwrap();
    lock_the_address(&app, &[]).await;

    // Failures with the laptop's cookie, while Carol keeps signing in on her phone (which
    // clears her account's counter): the laptop's cookie keeps its own count.
    let with = |cookie: &str| device(cookie);
    let mut phone = phone;
    for i in 0..15 {
        if i >= 5 {
            app.advance(Duration::minutes(16));
        }
        let (status, _) =
            sign_in(&app, "carol@example.com", &format!("Wrong-{i}-Password!"), &[("cookie", with(&laptop).as_bytes())]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
        if i % 4 == 3 || i >= 4 {
            let (status, renewed) = sign_in(&app, "carol@example.com", PW, &[("cookie", with(&phone).as_bytes())]).await;
            assert_eq!(status, StatusCode::OK, "the phone signs in after attempt {i}");
            phone = renewed.unwrap();
        }
    }
    let (status, _) = sign_in(&app, "carol@example.com", PW, &[("cookie", with(&laptop).as_bytes())]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the laptop's cookie is locked by its own counter");
    let (status, _) = sign_in(&app, "carol@example.com", PW, &[("cookie", with(&phone).as_bytes())]).await;
    assert_eq!(status, StatusCode::OK, "the phone is not: the account has had no failure since its last sign-in");
}

/// The audit events of failed sign-ins, as (email, ip).
async fn failed_sign_ins(app: &TestApp) -> Vec<(String, Value)> {
    let admin = app.admin().await;
    let (_, audit) = admin.get("/api/v1/audit?action=auth.login_failed&limit=200").await;
    audit["items"].as_array().unwrap().iter().map(|e| (e["details"]["email"].as_str().unwrap().to_owned(), e["ip"].clone())).collect()
}

fn ip_of<'a>(events: &'a [(String, Value)], email: &str) -> &'a Value {
    &events.iter().find(|(e, _)| e == email).unwrap_or_else(|| panic!("no failed sign-in for {email}: {events:?}")).1
}

async fn trusted_proxies_name_the_client_and_others_are_not_believed(engine: Engine) {
    // Without trusted proxies the headers are ignored: anyone could claim any address.
    let Some(plain) = spawn_app(engine).await else { return };
    plain.init_admin().await;
    sign_in(&plain, "spoof@example.com", "Wrong-Password-1!", &[("x-forwarded-for", b"203.0.113.9")]).await;
    assert_eq!(ip_of(&failed_sign_ins(&plain).await, "spoof@example.com"), "127.0.0.1");

    let Some(app) = spawn_app_with(engine, |c| c.trusted_proxies = vec!["127.0.0.1/32".into(), "10.0.0.0/8".into()]).await else {
        return;
    };
    app.init_admin().await;
    let cases: [(&str, &str, &[u8], &str); 6] = [
        ("xff@example.com", "x-forwarded-for", b"198.51.100.1, 203.0.113.9, 10.1.2.3", "203.0.113.9"),
        ("fwd@example.com", "forwarded", b"for=198.51.100.1, for=\"[2001:db8::17]:4711\";proto=https", "2001:db8::17"),
        ("garbage@example.com", "x-forwarded-for", b"garbage", "127.0.0.1"),
        ("bytes@example.com", "x-forwarded-for", b"\xff\xfe\x80", "127.0.0.1"),
        ("unknown@example.com", "forwarded", b"for=unknown;by=_hidden, ,", "127.0.0.1"),
        ("half@example.com", "x-forwarded-for", b"[2001:db8::1, 10.0.0.9", "10.0.0.9"),
    ];
    for (email, header, value, _) in &cases {
        let (status, _) = sign_in(&app, email, "Wrong-Password-1!", &[(header, value)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{email}: a malformed header never causes an error");
    }
    let events = failed_sign_ins(&app).await;
    for (email, _, _, ip) in &cases {
        assert_eq!(ip_of(&events, email), ip, "{email}");
    }

    // The per-source lock follows the client the proxy names: one office locked, not the next.
    let office: &[(&str, &[u8])] = &[("x-forwarded-for", b"203.0.113.50")];
    lock_the_address(&app, office).await;
    let (status, _) = sign_in(&app, "someone@example.com", "Wrong-Password-1!", &[("x-forwarded-for", b"203.0.113.51")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "another client behind the same proxy is not locked");
    let (status, _) = sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD, office).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
