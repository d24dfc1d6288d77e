//! Nothing secret in logs or files: every flow that carries a secret (sign-in on the API and the
//! pages, a mistyped password, invitations with and without email, a password reset, a password
//! change, MFA enrollment and sign-in with a code and a backup code, API tokens, data-source
//! credentials, SCIM and service-account tokens) runs with the server's logs captured at trace level; then neither the logs nor
//! any file in the data directory, read as bytes, holds any of the secrets used. Its own test
//! binary, because it installs the process's log subscriber.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Client, Engine, TestApp, link_token, spawn_app_with, totp_code};
use keyward_server::config::SmtpSecurity;
use keyward_testkit::engine_tests;
use keyward_testkit::smtp::SmtpServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, OnceLock};
use time::Duration;

engine_tests!(no_secret_reaches_the_logs_or_the_data_directory,);

/// Everything every server in this process logged, as the `keyward serve` text format writes it.
fn captured() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        // Trace level for the server side; the test's own HTTP client (reqwest) is not the server.
        let filter = tracing_subscriber::EnvFilter::new("trace,reqwest=off,cookie_store=off,hyper_util::client=off");
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || Buffer(sink.clone()))
            .try_init()
            .expect("the only log subscriber of this test binary");
        logs
    })
    .clone()
}

struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The secrets a run used, by kind.
#[derive(Default)]
struct Secrets(Vec<(&'static str, String)>);

impl Secrets {
    fn add(&mut self, kind: &'static str, value: impl Into<String>) {
        let value = value.into();
        assert!(value.len() >= 6, "{kind}: too short to scan for: {value:?}");
        self.0.push((kind, value));
    }
}

/// Whether `needle` occurs in `hay`; six-digit codes only where no other letter or digit
/// touches them (a timestamp's microseconds are not a TOTP code).
fn occurs(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    let code = n.len() == 6 && n.iter().all(u8::is_ascii_digit);
    hay.windows(n.len()).enumerate().any(|(i, w)| {
        w == n
            && (!code
                || (!hay.get(i.wrapping_sub(1)).is_some_and(u8::is_ascii_alphanumeric)
                    && !hay.get(i + n.len()).is_some_and(u8::is_ascii_alphanumeric)))
    })
}

fn session_token(res: &reqwest::Response) -> Option<String> {
    res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let (name, rest) = c.split_once('=')?;
        let value = rest.split(';').next()?;
        (name.ends_with("keyward_session") && !value.is_empty()).then(|| value.to_owned())
    })
}

/// Signs in on the API with `password` (and a code when MFA asks), keeping every secret seen.
async fn sign_in(app: &TestApp, email: &str, password: &str, code: Option<&str>, s: &mut Secrets) -> Client {
    let mut c = app.client();
    let res =
        c.http.post(format!("{}/api/v1/auth/login", app.base)).json(&json!({ "email": email, "password": password })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut token = session_token(&res);
    let mut body: Value = res.json().await.unwrap();
    if body["status"] == "mfa_required" {
        let mfa_token = body["mfa_token"].as_str().unwrap().to_owned();
        s.add("MFA step token", &mfa_token);
        let code = code.expect("a code for MFA");
        let res = c
            .http
            .post(format!("{}/api/v1/auth/login/mfa", app.base))
            .json(&json!({ "mfa_token": mfa_token, "code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        token = session_token(&res);
        body = res.json().await.unwrap();
    }
    s.add("session token", token.expect("a session cookie"));
    c.csrf = body["csrf_token"].as_str().map(str::to_owned);
    c
}

/// Runs every flow with a secret and answers the secrets used. `mail` reads message `n`.
async fn run_flows(app: &TestApp, mail: &(dyn Fn(usize) -> Option<String> + Sync)) -> Secrets {
    let wait_mail = async |n: usize| {
        for _ in 0..200 {
            if let Some(m) = mail(n) {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("message {n} never arrived");
    };
    let mut s = Secrets::default();
    app.init_admin().await;
    s.add("password", ADMIN_PASSWORD);
    let admin = sign_in(app, ADMIN_EMAIL, ADMIN_PASSWORD, None, &mut s).await;

    // An identity provider's client secret: sealed at rest, never shown back or audited.
    let sso_secret = "Oidc-Client-Secret-7Hq2-zz";
    s.add("SSO client secret", sso_secret);
    let (status, p) = admin
        .post(
            "/api/v1/sso/providers",
            json!({ "name": "Okta", "slug": "okta", "issuer": "https://idp.example.com", "client_id": "kw", "client_secret": sso_secret }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");

    // A mistyped password is a secret too.
    let typo = "Correct-Horse-7-Batery";
    s.add("mistyped password", typo);
    assert_eq!(app.client().login(ADMIN_EMAIL, typo).await.0, StatusCode::UNAUTHORIZED);

    // Invitation by email, accepted on the page.
    let (status, _) =
        admin.post("/api/v1/invitations", json!({ "email": "bea@example.com", "full_name": "Bea", "role": "developer" })).await;
    assert_eq!(status, StatusCode::CREATED);
    let invite = link_token(&wait_mail(0).await, "invite").expect("invitation link");
    s.add("invitation link token", &invite);
    let bea_pw = "Lantern-Orchid-93!";
    s.add("password", bea_pw);
    let page = app.client();
    assert_eq!(page.http.get(format!("{}/invite/{invite}", app.base)).send().await.unwrap().status(), StatusCode::OK);
    let res = page
        .http
        .post(format!("{}/invite/{invite}", app.base))
        .form(&[("password", bea_pw), ("password_confirm", bea_pw)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    s.add("session token", session_token(&res).unwrap());

    // Invitation without email: the link comes back in the answer only.
    let (status, body) = admin
        .post("/api/v1/invitations", json!({ "email": "cy@example.com", "full_name": "Cy", "role": "viewer", "send_email": false }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let cy_link = link_token(body["accept_url"].as_str().unwrap(), "invite").unwrap();
    s.add("invitation link token", &cy_link);
    let cy_pw = "Walrus-Meadow-58#";
    s.add("password", cy_pw);
    let (status, _) = app.client().post("/api/v1/invitations/accept", json!({ "token": cy_link, "password": cy_pw })).await;
    assert_eq!(status, StatusCode::OK);

    // A forgotten password, reset on the page; then a password change on the API.
    assert_eq!(app.client().post("/api/v1/password-reset", json!({ "email": "bea@example.com" })).await.0, StatusCode::ACCEPTED);
    let reset = link_token(&wait_mail(1).await, "reset-password").expect("reset link");
    s.add("reset link token", &reset);
    let bea_new = "Quartz-Harbor-71$";
    s.add("password", bea_new);
    let res = app
        .client()
        .http
        .post(format!("{}/reset-password/{reset}", app.base))
        .form(&[("password", bea_new), ("password_confirm", bea_new)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let bea = sign_in(app, "bea@example.com", bea_new, None, &mut s).await;
    let bea_final = "Meadow-Violin-26&";
    s.add("password", bea_final);
    let (status, body) = bea.post("/api/v1/me/password", json!({ "current_password": bea_new, "new_password": bea_final })).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // MFA: enroll, activate with a code, sign in with a code, then with a backup code.
    let bea = sign_in(app, "bea@example.com", bea_final, None, &mut s).await;
    let (_, e) = bea.post("/api/v1/me/mfa/totp", json!({})).await;
    let secret = e["secret"].as_str().unwrap().to_owned();
    s.add("TOTP secret", &secret);
    s.add("TOTP secret (lower case)", secret.to_lowercase());
    let code = totp_code(&secret, app.clock_now());
    s.add("TOTP code", &code);
    let (status, codes) = bea.post("/api/v1/me/mfa/totp/activate", json!({ "code": code })).await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let backup: Vec<String> = codes["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    for c in &backup {
        s.add("backup code", c);
    }
    app.advance(Duration::seconds(31));
    let code = totp_code(&secret, app.clock_now());
    s.add("TOTP code", &code);
    sign_in(app, "bea@example.com", bea_final, Some(&code), &mut s).await;
    let bea = sign_in(app, "bea@example.com", bea_final, Some(&backup[3]), &mut s).await;

    // An API token, used; and sealed data-source credentials.
    let (status, t) = bea.post("/api/v1/me/tokens", json!({ "name": "ci" })).await;
    assert_eq!(status, StatusCode::CREATED);
    let api_token = t["token"].as_str().unwrap().to_owned();
    s.add("API token", &api_token);
    let mut bot = app.client();
    bot.bearer = Some(api_token);
    let (status, ds) = bot.post("/api/v1/resources", json!({ "kind": "data_source", "name": "warehouse" })).await;
    assert_eq!(status, StatusCode::CREATED, "{ds}");
    let db_password = "Sealed-Warehouse-Pa55-9xq";
    let key = "AKIAZ7EXAMPLEKEY4242";
    s.add("credential", db_password);
    s.add("credential", key);
    let (status, body) = bot
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/resources/{}/credentials", ds["id"].as_str().unwrap()),
            Some(json!({ "password": db_password, "access_key": key })),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");

    // A SCIM provisioning token, used; and a service account's scoped token, used.
    let (status, t) = admin.post("/api/v1/scim/tokens", json!({ "name": "idp" })).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let scim_token = t["token"].as_str().unwrap().to_owned();
    s.add("SCIM token", &scim_token);
    let mut idp = app.client();
    idp.bearer = Some(scim_token);
    let (status, users) = idp.get("/scim/v2/Users?count=5").await;
    assert_eq!(status, StatusCode::OK, "{users}");
    let (status, sa) = admin.post("/api/v1/service-accounts", json!({ "name": "gateway" })).await;
    assert_eq!(status, StatusCode::CREATED, "{sa}");
    let (status, t) = admin
        .post(
            &format!("/api/v1/service-accounts/{}/tokens", sa["id"].as_str().unwrap()),
            json!({ "name": "gw", "scopes": ["authz:check"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let sa_token = t["token"].as_str().unwrap().to_owned();
    s.add("service account token", &sa_token);
    let mut gateway = app.client();
    gateway.bearer = Some(sa_token);
    let (status, _) = gateway.get("/api/v1/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the check-only token reads no directory");
    s
}

/// Every file under `dir`, read as bytes, by path.
fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

async fn no_secret_reaches_the_logs_or_the_data_directory(engine: Engine) {
    let logs = captured();
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let Some(app) = spawn_app_with(engine, |c| {
        c.smtp_host = Some("127.0.0.1".into());
        c.smtp_port = Some(port);
        c.smtp_security = SmtpSecurity::None;
    })
    .await
    else {
        return;
    };
    let mail = |n: usize| smtp.received().get(n).map(|m| m.data.clone());
    let secrets = run_flows(&app, &mail).await;
    assert!(secrets.0.len() > 30, "every flow ran");

    let logged = logs.lock().unwrap().clone();
    let text = String::from_utf8_lossy(&logged);
    // The capture works and saw the flows: requests, the redacted link paths, the mail.
    for expected in ["finished processing request", "/invite/[redacted]", "/reset-password/[redacted]", "email sent"] {
        assert!(text.contains(expected), "the logs should show {expected:?}");
    }
    let mut found = Vec::new();
    for (kind, value) in &secrets.0 {
        if occurs(&logged, value) {
            found.push(format!("{kind} {value:?} in the logs"));
        }
        for (path, bytes) in files(&app.data_dir) {
            if occurs(&bytes, value) {
                found.push(format!("{kind} {value:?} in {path}"));
            }
        }
    }
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_holds_the_links_and_the_logs_do_not() {
    let logs = captured();
    let Some(app) = spawn_app_with(Engine::Sqlite, |_| {}).await else { return };
    let outbox = |n: usize| app.outbox().get(n).cloned();
    let secrets = run_flows(&app, &outbox).await;
    let logged = logs.lock().unwrap().clone();
    assert!(String::from_utf8_lossy(&logged).contains("email written to the outbox"));
    let mut found = Vec::new();
    for (kind, value) in &secrets.0 {
        if occurs(&logged, value) {
            found.push(format!("{kind} {value:?} in the logs"));
        }
        for (path, bytes) in files(&app.data_dir) {
            // A message in the outbox carries its own link: that is the message.
            let own_link = path.ends_with(".eml") && kind.ends_with("link token");
            if !own_link && occurs(&bytes, value) {
                found.push(format!("{kind} {value:?} in {path}"));
            }
        }
    }
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}
