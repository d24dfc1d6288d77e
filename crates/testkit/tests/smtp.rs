//! Invitations over real SMTP: Keyward's SMTP transport (lettre) talks to a separate SMTP server
//! process listening on loopback, on both engines.

use keyward_testkit::{Engine, engine_tests, link_token, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

engine_tests!(invitation_by_email_reaches_the_smtp_server, access_review_reminders_reach_the_smtp_server);

struct Sink(Child);

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the SMTP server process; answers it, its port and the folder it writes messages to.
fn start_sink() -> (Sink, u16, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("keyward-smtp-{}", uuid::Uuid::now_v7().simple()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_smtp-sink")).arg(&dir).stdout(Stdio::piped()).spawn().expect("start smtp-sink");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("port line");
    let port = line.trim().parse().expect("a port");
    (Sink(child), port, dir)
}

async fn wait_for_message(dir: &std::path::Path) -> String {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(dir.join("0.eml")) {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no message reached the SMTP server");
}

async fn invitation_by_email_reaches_the_smtp_server(engine: Engine) {
    let (_sink, port, dir) = start_sink();
    let Some(app) = spawn_app_with(engine, |c| {
        c.smtp_host = Some("127.0.0.1".into());
        c.smtp_port = Some(port);
        c.smtp_security = keyward_server::config::SmtpSecurity::None;
        c.smtp_from = Some("Acme Platform <noreply@acme.example>".into());
        c.platform_name = "Acme Platform".into();
    })
    .await
    else {
        return;
    };
    let admin = app.admin().await;
    let (status, body) = admin
        .post("/api/v1/invitations", json!({ "email": "carol@example.com", "full_name": "Carol", "role": "viewer", "send_email": true }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("accept_url").is_none(), "an emailed link is not in the answer");
    assert_eq!(body["email_sent"], true);
    let message = wait_for_message(&dir).await.replace("=\r\n", "").replace("=\n", "");
    assert!(message.contains("X-Envelope-From: noreply@acme.example"), "{message}");
    assert!(message.contains("X-Envelope-To: carol@example.com"), "{message}");
    assert!(message.contains("multipart/alternative") && message.contains("text/html"), "{message}");
    assert!(message.contains("join Acme Platform as Viewer"), "{message}");
    let token = link_token(&message, "invite").expect("the link");
    let (status, _) = app.client().post("/api/v1/invitations/accept", json!({ "token": token, "password": "Plover-Quartz-42!" })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(app.outbox().is_empty(), "with SMTP configured nothing goes to the outbox");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn access_review_reminders_reach_the_smtp_server(engine: Engine) {
    let (_sink, port, dir) = start_sink();
    let Some(app) = spawn_app_with(engine, |c| {
        c.smtp_host = Some("127.0.0.1".into());
        c.smtp_port = Some(port);
        c.smtp_security = keyward_server::config::SmtpSecurity::None;
    })
    .await
    else {
        return;
    };
    let admin = app.admin().await;
    let (status, review) = admin.post("/api/v1/access-reviews", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{review}");
    let message = wait_for_message(&dir).await.replace("=\r\n", "").replace("=\n", "");
    assert!(message.contains("X-Envelope-To: ada@example.com"), "{message}");
    assert!(message.contains("Access review: 1 item to decide"), "{message}");
    assert!(message.contains(&format!("/settings/access-reviews/{}", review["id"].as_str().unwrap())), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
