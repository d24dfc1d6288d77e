//! The operator's commands end to end with the real binary: `keyward backup` under concurrent
//! writes and `keyward restore` into a new directory (the key comes along: a sealed TOTP secret
//! still signs in), and `keyward audit verify` / `export` read straight from the database, on
//! SQLite and PostgreSQL.

use keyward_testkit::{PgDatabase, postgres_admin_url};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_keyward");
const EMAIL: &str = "ops@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";

struct Server(Child);

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

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("keyward-ops-{}", uuid::Uuid::now_v7().simple()))
}

fn storage(dir: &Path, db: Option<&str>) -> Vec<String> {
    let mut args = vec!["--data-dir".to_owned(), dir.display().to_string()];
    if let Some(url) = db {
        args.extend(["--database-url".to_owned(), url.to_owned()]);
    }
    args
}

/// Runs `keyward ARGS… --data-dir DIR [--database-url URL]`.
fn run(args: &[&str], dir: &Path, db: Option<&str>) -> Output {
    Command::new(BIN).args(args).args(storage(dir, db)).stdin(Stdio::null()).output().expect("run keyward")
}

fn text(o: &Output) -> String {
    format!("status {}\nstdout: {}\nstderr: {}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn init(dir: &Path, db: Option<&str>) {
    let mut child = Command::new(BIN)
        .args(["init", "--admin-email", EMAIL, "--full-name", "Grace Hopper", "--password-stdin"])
        .args(storage(dir, db))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

async fn serve(dir: &Path, db: Option<&str>) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(BIN)
        .arg("serve")
        .args(storage(dir, db))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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

/// Signs in with the password: the status body and a client holding the session cookie.
async fn sign_in(base: &str) -> (Value, reqwest::Client) {
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let res = http.post(format!("{base}/api/v1/auth/login")).json(&json!({ "email": EMAIL, "password": PASSWORD })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    (res.json().await.unwrap(), http)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_writes_restores_with_its_key() {
    let (dir, restored) = (temp_dir(), temp_dir());
    init(&dir, None);
    let (server, base) = serve(&dir, None).await;
    let (body, http) = sign_in(&base).await;
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    // A sealed secret: the TOTP secret of the admin's authenticator.
    let enrollment: Value =
        http.post(format!("{base}/api/v1/me/mfa/totp")).header("x-csrf-token", &csrf).send().await.unwrap().json().await.unwrap();
    let secret = enrollment["secret"].as_str().unwrap().to_owned();
    let code = keyward_testkit::totp_code(&secret, time::OffsetDateTime::now_utc());
    let res = http
        .post(format!("{base}/api/v1/me/mfa/totp/activate"))
        .header("x-csrf-token", &csrf)
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Writes keep coming while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, writes, http, base, csrf) = (stop.clone(), writes.clone(), http.clone(), base.clone(), csrf.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = writes.load(Ordering::Relaxed);
                let res = http
                    .patch(format!("{base}/api/v1/me"))
                    .header("x-csrf-token", &csrf)
                    .json(&json!({ "full_name": format!("Grace {n}") }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                writes.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while writes.load(Ordering::Relaxed) < 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let file = dir.with_extension("backup.db");
    let during = writes.load(Ordering::Relaxed);
    let out = {
        let (dir, file) = (dir.clone(), file.clone());
        tokio::task::spawn_blocking(move || run(&["backup", "--out", file.to_str().unwrap()], &dir, None)).await.unwrap()
    };
    let after = writes.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(after > during, "writes went on during the backup ({during} → {after})");
    let key_copy = PathBuf::from(format!("{}.key", file.display()));
    assert_eq!((mode(&file), mode(&key_copy)), (0o600, 0o600));
    assert_eq!(std::fs::read(&key_copy).unwrap(), std::fs::read(dir.join("keyward.key")).unwrap());
    assert!(!run(&["backup", "--out", file.to_str().unwrap()], &dir, None).status.success(), "never overwrites a backup");

    // Restore into a new directory: checked on the way in.
    let out = run(&["restore", file.to_str().unwrap()], &restored, None);
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("is intact") && said.contains("1 sealed secret(s) open"), "{said}");
    assert_eq!(mode(&restored.join("keyward.db")), 0o600);
    let again = run(&["restore", file.to_str().unwrap()], &restored, None);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("--force"), "{}", text(&again));
    drop(server);

    let (server, base) = serve(&restored, None).await;
    let live = run(&["restore", file.to_str().unwrap(), "--force"], &restored, None);
    assert!(!live.status.success() && String::from_utf8_lossy(&live.stderr).contains("stop it"), "{}", text(&live));
    // Signs in, and the sealed TOTP secret opens: a code from the authenticator completes it.
    let (body, http) = sign_in(&base).await;
    assert_eq!(body["status"], "mfa_required", "{body}");
    let code = keyward_testkit::totp_code(&secret, time::OffsetDateTime::now_utc() + time::Duration::seconds(30));
    let res = http
        .post(format!("{base}/api/v1/auth/login/mfa"))
        .json(&json!({ "mfa_token": body["mfa_token"], "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    let me: Value = http.get(format!("{base}/api/v1/me")).send().await.unwrap().json().await.unwrap();
    assert!(me["full_name"].as_str().unwrap().starts_with("Grace"), "{me}");
    let verify = run(&["audit", "verify"], &restored, None);
    assert!(verify.status.success(), "{}", text(&verify));
    let log = run(&["audit", "export", "--format", "jsonl"], &restored, None);
    let actions: Vec<String> = String::from_utf8_lossy(&log.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(actions.contains(&"backup.create".to_owned()) && actions.contains(&"backup.restore".to_owned()), "{actions:?}");
    drop(server);

    // With --force on a stopped directory, the replaced files are kept aside.
    let out = run(&["restore", file.to_str().unwrap(), "--force"], &restored, None);
    assert!(out.status.success(), "{}", text(&out));
    let aside: Vec<_> = std::fs::read_dir(&restored)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("pre-restore-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert!(aside[0].path().join("keyward.db").is_file() && aside[0].path().join("keyward.key").is_file());

    // Without its key the backup is refused.
    std::fs::remove_file(&key_copy).unwrap();
    let keyless = run(&["restore", file.to_str().unwrap()], &temp_dir(), None);
    assert!(!keyless.status.success() && String::from_utf8_lossy(&keyless.stderr).contains("no key"), "{}", text(&keyless));
    for p in [&dir, &restored] {
        let _ = std::fs::remove_dir_all(p);
    }
    let _ = std::fs::remove_file(&file);
}

#[test]
fn postgres_is_backed_up_with_its_own_tools_and_an_empty_directory_not_at_all() {
    let dir = temp_dir();
    let url = Some("postgres://keyward@127.0.0.1:1/keyward");
    let out = run(&["backup", "--out", "/tmp/never.db"], &dir, url);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("pg_dump"), "{}", text(&out));
    let out = run(&["restore", "/tmp/never.db"], &dir, url);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("pg_restore"), "{}", text(&out));
    let out = run(&["backup", "--out", "/tmp/never.db"], &dir, None);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no database"), "{}", text(&out));
    assert!(!dir.join("keyward.db").exists(), "nothing was created");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn audit_from_the_command_line(db: Option<&str>) {
    let dir = temp_dir();
    init(&dir, db);
    let (server, base) = serve(&dir, db).await;
    let (body, http) = sign_in(&base).await;
    for name in ["Grace B. Hopper", "Grace Brewster Hopper"] {
        let res = http
            .patch(format!("{base}/api/v1/me"))
            .header("x-csrf-token", body["csrf_token"].as_str().unwrap())
            .json(&json!({ "full_name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    drop(server);

    let out = run(&["audit", "verify"], &dir, db);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("intact"), "{}", text(&out));

    let file = dir.join("audit.jsonl");
    let out = run(&["audit", "export", "--format", "jsonl", "--out", file.to_str().unwrap()], &dir, db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1, "no progress bar when not on a terminal: {}", text(&out));
    assert_eq!(mode(&file), 0o600);
    let lines: Vec<Value> = std::fs::read_to_string(&file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().any(|l| l["action"] == "auth.login") && lines.iter().filter(|l| l["action"] == "user.update").count() == 2);

    let out = run(&["audit", "export", "--format", "csv", "--action", "user.update"], &dir, db);
    assert!(out.status.success(), "{}", text(&out));
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(out.stdout.as_slice()).records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{}", text(&out));
    let out = run(&["audit", "export", "--format", "csv", "--since", "last week"], &dir, db);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--since"), "{}", text(&out));

    // Exports are audited as the command line; rotating the key keeps old events verifiable.
    let out = run(&["keys", "rotate"], &dir, db);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&["audit", "verify"], &dir, db);
    assert!(out.status.success(), "{}", text(&out));
    let file = dir.join("all.jsonl");
    assert!(run(&["audit", "export", "--format", "jsonl", "--out", file.to_str().unwrap()], &dir, db).status.success());
    let lines: Vec<Value> = std::fs::read_to_string(&file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.iter().filter(|l| l["action"] == "audit.export" && l["actor_kind"] == "cli").count(), 2, "the two before this one");
    let rotated = lines.iter().find(|l| l["action"] == "keys.rotate").unwrap();
    assert_ne!(rotated["key_id"], lines[0]["key_id"], "events after the rotation are chained under the new key");

    // Without the old key, the first event chained under it is named, and the exit status says so.
    let key_file = dir.join("keyward.key");
    let keys = std::fs::read_to_string(&key_file).unwrap();
    std::fs::write(&key_file, format!("{}\n", keys.lines().next().unwrap())).unwrap();
    let out = run(&["audit", "verify"], &dir, db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let first = lines[0]["id"].as_str().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains(first), "names the first event {first}: {}", text(&out));
    std::fs::write(&key_file, keys).unwrap();

    // On a terminal, writing to a file draws a progress bar on standard error.
    let file = dir.join("tty.csv");
    let cmd = format!(
        "{BIN} audit export --format csv --out {} {}",
        file.display(),
        storage(&dir, db).iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ")
    );
    let out = Command::new("script").args(["-qec", &cmd, "/dev/null"]).stdin(Stdio::null()).output().expect("script(1) from util-linux");
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("events"), "a progress bar: {}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_from_the_command_line_on_sqlite() {
    audit_from_the_command_line(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_from_the_command_line_on_postgres() {
    let Some(admin_url) = postgres_admin_url() else { return };
    let db = PgDatabase::create(&admin_url).await;
    audit_from_the_command_line(Some(&db.url)).await;
}
