//! The `keyward` binary and its data directory: with a permissive umask and a directory open to
//! everyone, every file it writes is still 0600, and start-up warns about the directory.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_keyward");
const EMAIL: &str = "ops@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";

/// Runs `sh -c 'umask 000; exec keyward …'`, so the process starts with the most open umask.
fn keyward_with_open_umask(args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg("umask 000; exec \"$0\" \"$@\"").arg(BIN).args(args);
    cmd
}

/// A running server, stopped (SIGTERM, then kill) when dropped, also when an assertion fails.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        for _ in 0..200 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn modes(dir: &Path) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::metadata(&path).unwrap();
        if meta.is_dir() {
            out.extend(modes(&path));
        } else {
            out.push((path.display().to_string(), meta.permissions().mode() & 0o777));
        }
    }
    out
}

#[tokio::test]
async fn files_are_private_whatever_the_umask_and_an_open_directory_is_reported() {
    let dir = std::env::temp_dir().join(format!("keyward-cli-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = dir.display().to_string();

    let mut init =
        keyward_with_open_umask(&["init", "--admin-email", EMAIL, "--full-name", "Grace Hopper", "--password-stdin", "--data-dir", &d])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    init.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    let out = init.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.with_extension("log");
    let server = keyward_with_open_umask(&["serve", "--data-dir", &d, "--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(server);
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..200 {
        if reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status() == StatusCode::OK) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "keyward serve did not become ready");

    // Writes and mail: a sign-in, an invitation by email, a reset request.
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let res = http.post(format!("{base}/api/v1/auth/login")).json(&json!({ "email": EMAIL, "password": PASSWORD })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csrf = res.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
    let res = http
        .post(format!("{base}/api/v1/invitations"))
        .header("x-csrf-token", &csrf)
        .json(&json!({ "email": "bo@example.com", "full_name": "Bo", "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = reqwest::Client::new().post(format!("{base}/api/v1/password-reset")).json(&json!({ "email": EMAIL })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    for _ in 0..100 {
        // Count finished messages only: a message being written is a hidden `.tmp` file first.
        let done = std::fs::read_dir(dir.join("outbox"))
            .map(|d| d.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "eml")).count())
            .unwrap_or(0);
        if done >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let files = modes(&dir);
    for want in ["keyward.db", "keyward.db-wal", "keyward.db-shm", "keyward.key"] {
        assert!(files.iter().any(|(p, _)| p.ends_with(want)), "{want} missing: {files:?}");
    }
    assert_eq!(files.iter().filter(|(p, _)| p.ends_with(".eml")).count(), 2, "{files:?}");
    for (path, mode) in &files {
        assert_eq!(*mode, 0o600, "{path} has mode {mode:o}");
    }

    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("the data directory is open to group or others"), "{logged}");
    assert!(logged.contains("email written to the outbox"), "{logged}");
    assert!(!logged.contains("/invite/") && !logged.contains("/reset-password/"), "no link in the log: {logged}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&log);
}
