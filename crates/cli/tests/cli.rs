//! The `keyward` binary end to end, as an operator uses it: `init --password-stdin`, `serve`,
//! sign in, a second `init` refused, data kept across a restart; on SQLite and PostgreSQL.

use keyward_testkit::{PgDatabase, postgres_admin_url};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_keyward");
const EMAIL: &str = "ops@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first: serve must shut down gracefully on it.
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn storage_args(dir: &Path, db: Option<&str>) -> Vec<String> {
    let mut args = vec!["--data-dir".to_owned(), dir.display().to_string()];
    if let Some(url) = db {
        args.push("--database-url".into());
        args.push(url.into());
    }
    args
}

fn init(dir: &Path, db: Option<&str>, password: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["init", "--admin-email", EMAIL, "--full-name", "Grace Hopper"]).args(storage_args(dir, db));
    if password.is_some() {
        cmd.arg("--password-stdin");
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run keyward init");
    if let Some(pw) = password {
        child.stdin.take().unwrap().write_all(format!("{pw}\n").as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn serve(dir: &Path, db: Option<&str>) -> (Server, String) {
    let port = free_port();
    let child = Command::new(BIN)
        .arg("serve")
        .args(storage_args(dir, db))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run keyward serve");
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status() == StatusCode::OK) {
            return (server, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("keyward serve did not become ready at {base}");
}

/// Signs in; answers the status and, on success, a client with the session cookie and the
/// session's CSRF token.
async fn sign_in(base: &str, password: &str) -> (StatusCode, Option<(reqwest::Client, String)>) {
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let res = http.post(format!("{base}/api/v1/auth/login")).json(&json!({ "email": EMAIL, "password": password })).send().await.unwrap();
    let status = res.status();
    if status != StatusCode::OK {
        return (status, None);
    }
    let body: Value = res.json().await.unwrap();
    (status, Some((http, body["csrf_token"].as_str().unwrap_or_default().to_owned())))
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("keyward-cli-{}", uuid::Uuid::now_v7().simple()))
}

async fn operator_journey(db: Option<&str>) {
    let dir = temp_dir();
    let out = init(&dir, db, Some(PASSWORD));
    assert!(out.status.success(), "init: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created"));
    if db.is_none() {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the data directory is private to its owner");
        assert!(dir.join("keyward.db").is_file());
    }

    let again = init(&dir, db, Some("Another-Good-9-Phrase"));
    assert!(!again.status.success(), "a second init must refuse");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"), "{}", String::from_utf8_lossy(&again.stderr));

    let (server, base) = serve(&dir, db).await;
    let (status, client) = sign_in(&base, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let me: Value = client.unwrap().0.get(format!("{base}/api/v1/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(sign_in(&base, "Another-Good-9-Phrase").await.0, StatusCode::UNAUTHORIZED, "the refused init changed nothing");
    drop(server);

    let (_server, base) = serve(&dir, db).await;
    assert_eq!(sign_in(&base, PASSWORD).await.0, StatusCode::OK, "data survives a restart");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn operator_journey_on_sqlite() {
    operator_journey(None).await;
}

#[tokio::test]
async fn operator_journey_on_postgres() {
    let Some(admin_url) = postgres_admin_url() else { return };
    let db = PgDatabase::create(&admin_url).await;
    operator_journey(Some(&db.url)).await;
}

#[test]
fn init_without_a_password_prints_a_one_time_link() {
    let dir = temp_dir();
    let out = init(&dir, None, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("http://127.0.0.1:8080/invite/"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn weak_passwords_and_bad_configuration_are_refused_with_reasons() {
    let dir = temp_dir();
    let out = init(&dir, None, Some("password"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("uppercase") && err.contains("special character"), "{err}");

    let out = Command::new(BIN).args(["serve", "--listen", "nowhere"]).args(storage_args(&dir, None)).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen"), "{}", String::from_utf8_lossy(&out.stderr));

    let file = dir.join("bad.toml");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nlisten_port = 9\n").unwrap();
    let out = Command::new(BIN).args(["serve", "--config", file.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen_port"), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn break_glass_commands_reset_mfa_and_set_a_password() {
    let dir = temp_dir();
    assert!(init(&dir, None, Some(PASSWORD)).status.success());
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = Command::new(BIN)
            .args(args)
            .args(storage_args(&dir, None))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    };
    let out = run(&["users", "set-password", EMAIL, "--password-stdin"], Some("weak\n"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("uppercase"));
    let out = run(&["users", "set-password", EMAIL, "--password-stdin"], Some("Fresh-Lantern-84!\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["users", "reset-mfa", EMAIL], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("MFA removed"));
    let out = run(&["users", "reset-mfa", "nobody@example.com"], None);
    assert!(!out.status.success(), "an unknown user is an error");

    let (_server, base) = serve(&dir, None).await;
    assert_eq!(sign_in(&base, PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    let (status, client) = sign_in(&base, "Fresh-Lantern-84!").await;
    assert_eq!(status, StatusCode::OK);
    let audit: Value =
        client.unwrap().0.get(format!("{base}/api/v1/audit?action=user.password_set")).send().await.unwrap().json().await.unwrap();
    assert_eq!(audit["items"][0]["actor_kind"], "cli", "audited as the command line");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn keys_rotate_reseals_every_secret() {
    let dir = temp_dir();
    assert!(init(&dir, None, Some(PASSWORD)).status.success());
    let (server, base) = serve(&dir, None).await;
    let (client, csrf) = sign_in(&base, PASSWORD).await.1.unwrap();
    let enrollment: Value =
        client.post(format!("{base}/api/v1/me/mfa/totp")).header("x-csrf-token", &csrf).send().await.unwrap().json().await.unwrap();
    let secret = enrollment["secret"].as_str().unwrap().to_owned();
    // An identity provider's client secret is sealed too, and re-sealed with the rest.
    let res = client
        .post(format!("{base}/api/v1/sso/providers"))
        .header("x-csrf-token", &csrf)
        .json(&json!({ "name": "Okta", "slug": "okta", "issuer": "https://idp.example.com", "client_id": "kw", "client_secret": "s3cret" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    drop(server);

    let key_file = dir.join("keyward.key");
    let before = std::fs::read_to_string(&key_file).unwrap();
    let out = Command::new(BIN).args(["keys", "rotate"]).args(storage_args(&dir, None)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 secret(s) re-sealed"), "{}", String::from_utf8_lossy(&out.stdout));
    let after = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(after.lines().count(), 2, "the new key comes first, the old one stays");
    assert_eq!(after.lines().nth(1).unwrap(), before.trim());
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // The re-sealed secret still opens: activation with a code from it works.
    let (_server, base) = serve(&dir, None).await;
    let (client, csrf) = sign_in(&base, PASSWORD).await.1.unwrap();
    let code = keyward_testkit::totp_code(&secret, time::OffsetDateTime::now_utc());
    let res = client
        .post(format!("{base}/api/v1/me/mfa/totp/activate"))
        .header("x-csrf-token", &csrf)
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}
