//! A real OpenID Provider for the SSO tests: npm `oidc-provider` run by `oidc/idp.mjs` on a
//! random port, its test users in a JSON file the test rewrites between sign-ins, stopped on
//! drop. Without Node or the npm module the tests are skipped, except under `CI=true`, where
//! that is a failure (`.ci/oidc-provider.sh` installs the module).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const CLIENT_ID: &str = "keyward";
pub const CLIENT_SECRET: &str = "keyward-test-secret";

/// A running provider.
pub struct TestIdp {
    /// The issuer URL (`http://127.0.0.1:<port>`).
    pub issuer: String,
    child: Child,
    users_file: PathBuf,
}

/// One test user at the provider (the login is its subject).
pub struct IdpUser<'a> {
    pub login: &'a str,
    pub email: &'a str,
    pub email_verified: bool,
    pub groups: &'a [&'a str],
    /// How the provider says they authenticated (`pwd`, `mfa`, …).
    pub amr: &'a [&'a str],
}

fn skip_or_fail(why: &str) -> Option<TestIdp> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but the test OpenID Provider cannot run: {why}");
    }
    eprintln!("skipped: {why}");
    None
}

impl TestIdp {
    /// Starts the provider with one client whose redirect URI is `redirect_uri` (and
    /// `post_logout` after its sign-out); ID tokens live `id_token_ttl` seconds.
    pub fn start(redirect_uri: &str, post_logout: &str, id_token_ttl: u64) -> Option<TestIdp> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc");
        if Command::new("node").arg("--version").output().is_err() {
            return skip_or_fail("node is not installed (Node 20 or later)");
        }
        if !dir.join("node_modules/oidc-provider/package.json").exists() {
            let script = dir.join("../../../.ci/oidc-provider.sh");
            let ok = Command::new("bash").arg(script).stdout(Stdio::null()).status().is_ok_and(|s| s.success());
            if !ok {
                return skip_or_fail("npm oidc-provider could not be installed (.ci/oidc-provider.sh)");
            }
        }
        let users_file = std::env::temp_dir().join(format!("keyward-idp-{}.json", uuid::Uuid::now_v7().simple()));
        std::fs::write(&users_file, json!({ "users": {}, "tamper_id_token": false }).to_string()).expect("write the IdP users file");
        let mut child = Command::new("node")
            .arg(dir.join("idp.mjs"))
            .env("IDP_USERS_FILE", &users_file)
            .env("IDP_CLIENT_ID", CLIENT_ID)
            .env("IDP_CLIENT_SECRET", CLIENT_SECRET)
            .env("IDP_REDIRECT_URIS", redirect_uri)
            .env("IDP_POST_LOGOUT_REDIRECT_URIS", post_logout)
            .env("IDP_ID_TOKEN_TTL", id_token_ttl.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node idp.mjs");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("the IdP's stdout"));
        stdout.read_line(&mut line).expect("the IdP's first line");
        // Why drained: a closed pipe would end the process at its next write.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let issuer = serde_json::from_str::<Value>(&line).ok().and_then(|v| v["issuer"].as_str().map(str::to_owned));
        let Some(issuer) = issuer else {
            let _ = child.kill();
            panic!("the test OpenID Provider did not start (it printed {line:?})");
        };
        Some(TestIdp { issuer, child, users_file })
    }

    /// Replaces the provider's users (read afresh at every sign-in).
    pub fn set_users(&self, users: &[IdpUser<'_>]) {
        self.write(users, false);
    }

    /// Replaces the users and makes the token endpoint send ID tokens with a changed payload.
    pub fn set_users_tampering(&self, users: &[IdpUser<'_>]) {
        self.write(users, true);
    }

    fn write(&self, users: &[IdpUser<'_>], tamper: bool) {
        let map: serde_json::Map<String, Value> = users
            .iter()
            .map(|u| {
                let v = json!({ "email": u.email, "email_verified": u.email_verified, "name": u.login, "groups": u.groups, "amr": u.amr });
                (u.login.to_owned(), v)
            })
            .collect();
        std::fs::write(&self.users_file, json!({ "users": map, "tamper_id_token": tamper }).to_string()).expect("write the IdP users file");
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.users_file);
    }
}

/// Drives a sign-in through the provider as a browser would, with `http` (a cookie-keeping
/// client that follows no redirects): from Keyward's `start_url` to the provider, its login
/// form as `login`, and back; answers the callback URL Keyward is sent to, not yet followed.
pub async fn authorize(http: &reqwest::Client, start_url: &str, login: &str) -> String {
    let mut url = start_url.to_owned();
    for _ in 0..12 {
        let res = http.get(&url).send().await.expect("a step of the sign-in");
        let status = res.status();
        if status.is_redirection() {
            let next = res.headers().get("location").and_then(|l| l.to_str().ok()).expect("a redirect's Location").to_owned();
            let next = if next.starts_with('/') { format!("{}{next}", origin(&url)) } else { next };
            if next.contains("/auth/oidc/") && next.contains("/callback") {
                return next;
            }
            url = next;
            continue;
        }
        let body = res.text().await.unwrap_or_default();
        assert!(status.is_success() && url.contains("/interaction/"), "unexpected answer {status} at {url}: {body}");
        let res = http.post(&url).form(&[("prompt", "login"), ("login", login), ("password", "any")]).send().await.expect("the login form");
        assert!(res.status().is_redirection(), "the provider's login answered {}", res.status());
        let next = res.headers().get("location").and_then(|l| l.to_str().ok()).expect("Location after login").to_owned();
        url = if next.starts_with('/') { format!("{}{next}", origin(&url)) } else { next };
    }
    panic!("the sign-in did not come back to Keyward");
}

fn origin(url: &str) -> String {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url[after..].find('/').map_or(url.len(), |i| after + i);
    url[..end].to_owned()
}
