//! A second node in its own process, paused with SIGSTOP past its lease: writers through the
//! first node are not held up for longer than the lease, and the paused node, once resumed,
//! never answers from its stale memory. On PostgreSQL: on SQLite every node shares one file
//! lock, so a paused process that holds it stops every writer, lease or not (one SQLite file
//! serves one node in production; docs/architecture.md).

use keyward_testkit::{Engine, TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_keyward");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    a_paused_node_neither_stalls_writers_nor_answers_stale(Engine::Postgres).await
}

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = signal("CONT", &self.0);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(name: &str, child: &Child) -> std::io::Result<std::process::ExitStatus> {
    Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status()
}

/// Starts `keyward serve` on the test app's database; answers once it serves.
async fn second_process(app: &TestApp) -> (Node, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("keyward-node-{}", uuid::Uuid::now_v7().simple()));
    let node = Node(
        Command::new(BIN)
            .args([
                "serve",
                "--data-dir",
                &dir.display().to_string(),
                "--database-url",
                &app.database_url,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start keyward serve"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return (node, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the second node did not start");
}

async fn check(base: &str, token: &str, user: &str, resource: &str) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/authz/check"))
        .bearer_auth(token)
        .json(&json!({ "user_id": user, "action": "view", "resource_id": resource }))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("check");
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn a_paused_node_neither_stalls_writers_nor_answers_stale(engine: Engine) {
    let Some(a) = spawn_app(engine).await else { return };
    let admin = a.admin().await;
    let (_, t) = admin.post("/api/v1/me/tokens", json!({ "name": "cluster" })).await;
    let token = t["token"].as_str().unwrap().to_owned();
    let dana = a.user(&admin, "dana@example.com", "Dana", "developer", "Plover-Quartz-42!").await;
    let (_, me) = dana.get("/api/v1/me").await;
    let dana_id = me["id"].as_str().unwrap().to_owned();
    let (_, app) = admin.post("/api/v1/resources", json!({ "kind": "app", "name": "Ledger" })).await;
    let app_id = app["id"].as_str().unwrap().to_owned();
    let share = |level: Option<&str>| match level {
        Some(l) => json!([{ "subject": { "type": "user", "id": dana_id }, "level": l }]),
        None => json!([]),
    };
    let (status, _) = admin.send(reqwest::Method::PUT, &format!("/api/v1/resources/{app_id}/shares"), Some(share(Some("view")))).await;
    assert_eq!(status, StatusCode::OK);

    let (b, base) = second_process(&a).await;
    assert_eq!(check(&base, &token, &dana_id, &app_id).await["allowed"], true);

    for round in 0..2 {
        signal("STOP", &b.0).expect("SIGSTOP");
        // The writer waits for the paused node at most until its lease runs out.
        let started = Instant::now();
        let (status, _) = admin.send(reqwest::Method::PUT, &format!("/api/v1/resources/{app_id}/shares"), Some(share(None))).await;
        assert_eq!(status, StatusCode::OK);
        let waited = started.elapsed();
        assert!(waited < Duration::from_secs(5), "round {round}: a paused node held the writer for {waited:?}");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        signal("CONT", &b.0).expect("SIGCONT");
        // At once after resuming: the share is gone there too.
        let got = check(&base, &token, &dana_id, &app_id).await;
        assert_eq!(got["allowed"], false, "round {round}: the resumed node answered from stale memory: {got}");
        // And it keeps up with the next change as a live node again.
        let (status, _) = admin.send(reqwest::Method::PUT, &format!("/api/v1/resources/{app_id}/shares"), Some(share(Some("view")))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(check(&base, &token, &dana_id, &app_id).await["allowed"], true, "round {round}");
    }
    drop(b);
}
