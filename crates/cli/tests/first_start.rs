//! The first start as a newcomer does it: `keyward serve` on an empty data directory prints a
//! one-time set-up link on standard output (never in a log line), the link creates the first
//! admin, and then it is dead. On SQLite and PostgreSQL.

use keyward_testkit::{PgDatabase, postgres_admin_url};
use reqwest::StatusCode;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_keyward");
const EMAIL: &str = "grace@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";

/// `keyward serve` with its output collected line by line.
struct Server {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

fn start(dir: &std::path::Path, db: Option<&str>, port: u16) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve").arg("--data-dir").arg(dir).args(["--listen", &format!("127.0.0.1:{port}")]);
    if let Some(url) = db {
        cmd.args(["--database-url", url]);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run keyward serve");
    let lines = Arc::new(Mutex::new(Vec::new()));
    for stream in [Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>, Box::new(child.stderr.take().unwrap())] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
    }
    Server { child, lines }
}

/// Waits for the server to answer and for the set-up link on its output (if `link`).
async fn ready(server: &Server, base: &str, link: bool) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let up = reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status() == StatusCode::OK);
        let found =
            server.output().iter().find_map(|l| l.trim().strip_prefix(&format!("{base}/setup/")).map(|t| format!("{base}/setup/{t}")));
        if up && (found.is_some() || !link) {
            return found;
        }
        assert!(Instant::now() < deadline, "keyward serve did not start with a set-up link: {:#?}", server.output());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn first_start(db: Option<&str>) {
    let dir = std::env::temp_dir().join(format!("keyward-first-{}", uuid::Uuid::now_v7().simple()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let server = start(&dir, db, port);
    let link = ready(&server, &base, true).await.expect("the set-up link");
    let token = link.rsplit('/').next().unwrap().to_owned();

    let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // The start page asks for the token; the link fills it in.
    let home = http.get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Create the first admin") && home.contains("Set-up token"), "{home}");
    let page = http.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Create the first admin") && page.contains(&token), "the link's page carries the token");

    // A wrong token creates nothing.
    let form = |token: &str| {
        [
            ("token", token.to_owned()),
            ("full_name", "Grace Hopper".into()),
            ("email", EMAIL.into()),
            ("password", PASSWORD.into()),
            ("password_confirm", PASSWORD.into()),
        ]
    };
    let res = http.post(format!("{base}/setup")).form(&form("not-the-token")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = http.post(format!("{base}/setup")).form(&form(&token)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
    let me = http.get(format!("{base}/api/v1/me")).send().await.unwrap().json::<serde_json::Value>().await.unwrap();
    assert_eq!(me["role"], "admin", "the new admin is signed in: {me}");

    // The link is dead now, and so is the form behind it.
    assert_eq!(reqwest::get(&link).await.unwrap().status(), StatusCode::GONE);
    let res = reqwest::Client::new().post(format!("{base}/setup")).form(&form(&token)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    let login = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);

    // The token was printed once, by itself, and never in a log line (nor the request log).
    let output = server.output();
    let with_token: Vec<_> = output.iter().filter(|l| l.contains(&token)).collect();
    assert_eq!(with_token.len(), 1, "{output:#?}");
    assert_eq!(with_token[0].trim(), link);
    drop(server);

    // A restart with an admin prints no link.
    let server = start(&dir, db, port);
    assert_eq!(ready(&server, &base, false).await, None);
    assert!(!server.output().iter().any(|l| l.contains("/setup/")), "{:#?}", server.output());
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn first_start_on_sqlite() {
    first_start(None).await;
}

#[tokio::test]
async fn first_start_on_postgres() {
    let Some(admin_url) = postgres_admin_url() else { return };
    let db = PgDatabase::create(&admin_url).await;
    first_start(Some(&db.url)).await;
}
