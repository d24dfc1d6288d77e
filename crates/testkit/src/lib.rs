//! The test harness: `spawn_app` starts a real Keyward server on a random port with a fresh
//! database (SQLite always; PostgreSQL when `KEYWARD_TEST_DATABASE_URL` is set), and a small
//! HTTP client that keeps cookies and the CSRF token.

pub mod idp;
pub mod smtp;
pub mod worlds;

use keyward_core::clock::ManualClock;
use keyward_server::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use time::Duration;

pub const ADMIN_EMAIL: &str = "ada@example.com";
pub const ADMIN_PASSWORD: &str = "Correct-Horse-7-Battery";

/// The database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Runs each named test function once per engine: `mod sqlite { fn name() }` and
/// `mod postgres { fn name() }`.
#[macro_export]
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name($crate::Engine::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name($crate::Engine::Postgres).await } )*
        }
    };
}

/// The PostgreSQL server for tests (`KEYWARD_TEST_DATABASE_URL`), or `None` after saying why
/// the test is skipped. Under CI (`CI=true`) a missing database is a failure, not a skip.
pub fn postgres_admin_url() -> Option<String> {
    let url = std::env::var("KEYWARD_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty());
    if url.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but KEYWARD_TEST_DATABASE_URL is not set: the PostgreSQL tests cannot be skipped under CI");
        }
        eprintln!("skipped: set KEYWARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run this test on PostgreSQL");
    }
    url
}

/// A running server and what a test needs to reach it.
pub struct TestApp {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub kw: keyward_core::Keyward,
    pub data_dir: std::path::PathBuf,
    /// The database this node uses (a second node may share it).
    pub database_url: String,
    /// The first start's set-up link, as `keyward serve` prints it (no admin existed at start).
    pub setup_link: Option<String>,
    _pg: Option<PgDatabase>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Starts a server on `engine`, or answers `None` (after saying why) when PostgreSQL is not
/// configured outside CI. Under CI a missing database is a failure.
pub async fn spawn_app(engine: Engine) -> Option<TestApp> {
    spawn_app_with(engine, |_| {}).await
}

/// `spawn_app` with changes to the configuration (SMTP, say).
pub async fn spawn_app_with(engine: Engine, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let data_dir = std::env::temp_dir().join(format!("keyward-test-{}", uuid::Uuid::now_v7().simple()));
    let (database_url, pg) = match engine {
        Engine::Sqlite => (None, None),
        Engine::Postgres => {
            let admin_url = postgres_admin_url()?;
            let db = PgDatabase::create(&admin_url).await;
            (Some(db.url.clone()), Some(db))
        }
    };
    let config = Config { data_dir: data_dir.clone(), listen: "127.0.0.1:0".into(), database_url, ..test_config() };
    Some(start(config, configure, pg).await)
}

/// The configuration every test node starts from: background jobs run once at start-up and
/// then only when a test calls `kw.run_jobs` (so a test that moves the clock decides when).
fn test_config() -> Config {
    Config { jobs_interval_seconds: 24 * 3600, ..Config::default() }
}

/// Opens and serves a node with `config` on a random port.
async fn start(config: Config, configure: impl FnOnce(&mut Config), pg: Option<PgDatabase>) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a random port");
    let addr = listener.local_addr().expect("local address");
    let mut config = Config { public_url: Some(format!("http://{addr}")), ..config };
    configure(&mut config);
    let database_url = config.database_url();
    let data_dir = config.data_dir.clone();
    let clock = Arc::new(ManualClock::default());
    let app = keyward_server::open(config, clock.clone()).await.expect("open the app");
    let kw = app.kw.clone();
    let setup_link = app.first_admin_link().await.expect("the set-up link");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = app
            .serve(listener, async {
                let _ = rx.await;
            })
            .await;
    });
    TestApp { base: format!("http://{addr}"), clock, kw, data_dir, database_url, setup_link, _pg: pg, shutdown: Some(tx) }
}

impl TestApp {
    /// Another node on the same database, as a scale-out deployment runs them.
    pub async fn second_node(&self) -> TestApp {
        let data_dir = std::env::temp_dir().join(format!("keyward-test-{}", uuid::Uuid::now_v7().simple()));
        // Nodes of one deployment share the master key (KEYWARD_MASTER_KEY), as the README says.
        let key = std::fs::read_to_string(self.data_dir.join("keyward.key")).expect("the first node's key file");
        let master_key = key.lines().next().map(keyward_server::config::Secret::from);
        let config =
            Config { data_dir, listen: "127.0.0.1:0".into(), database_url: Some(self.database_url.clone()), master_key, ..test_config() };
        start(config, |_| {}, None).await
    }

    /// Creates the first admin, as `keyward init --password-stdin` does.
    pub async fn init_admin(&self) {
        let pw = keyward_core::password::Password::new(ADMIN_PASSWORD);
        self.kw.init_admin(ADMIN_EMAIL, "Ada Lovelace", Some(&pw)).await.expect("init admin");
    }

    /// A new client with its own cookie jar.
    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client"),
            base: self.base.clone(),
            csrf: None,
            bearer: None,
        }
    }

    /// A client signed in as the first admin (created if needed).
    pub async fn admin(&self) -> Client {
        if !self.kw.admin_exists().await.expect("admin exists") {
            self.init_admin().await;
        }
        let mut c = self.client();
        let (status, body) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        c
    }

    /// The server's current time.
    pub fn clock_now(&self) -> time::OffsetDateTime {
        use keyward_core::clock::Clock;
        self.clock.now()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Every message written to the outbox so far (no SMTP configured), oldest first, with
    /// quoted-printable soft line breaks removed.
    pub fn outbox(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.data_dir.join("outbox")) else { return Vec::new() };
        let mut files: Vec<_> =
            dir.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            // A message still being written lacks the closing MIME boundary (`--boundary--`).
            .filter(|s| s.trim_end().ends_with("--"))
            .map(|s| s.replace("=\r\n", "").replace("=\n", ""))
            .collect()
    }

    /// Waits up to five seconds for the outbox to hold `n` messages.
    pub async fn wait_for_outbox(&self, n: usize) -> Vec<String> {
        for _ in 0..100 {
            let got = self.outbox();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.outbox()
    }

    /// Invites a person as `admin` without email, accepts with `password`, and answers a
    /// client signed in as them.
    pub async fn user(&self, admin: &Client, email: &str, name: &str, role: &str, password: &str) -> Client {
        let (status, body) = admin
            .post("/api/v1/invitations", serde_json::json!({ "email": email, "full_name": name, "role": role, "send_email": false }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let token = link_token(body["accept_url"].as_str().expect("accept_url"), "invite").expect("token in accept_url");
        let mut c = self.client();
        let (status, body) = c.post("/api/v1/invitations/accept", serde_json::json!({ "token": token, "password": password })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        c.csrf = body["csrf_token"].as_str().map(str::to_owned);
        c
    }
}

/// The TOTP code an authenticator app shows at `at` for a base32 secret.
pub fn totp_code(secret_base32: &str, at: time::OffsetDateTime) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).expect("base32 secret");
    let t = totp_rs::Builder::new().with_secret(secret).build().expect("totp");
    t.generate(at.unix_timestamp() as u64).to_string()
}

/// The token of the first `/{kind}/<token>` link in `text` (kind: `invite`, `reset-password`).
pub fn link_token(text: &str, kind: &str) -> Option<String> {
    let marker = format!("/{kind}/");
    let start = text.find(&marker)? + marker.len();
    let token: String = text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    (!token.is_empty()).then_some(token)
}

/// An HTTP client for one person: cookies, and the CSRF token of its session.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Client {
    pub async fn login(&mut self, email: &str, password: &str) -> (StatusCode, Value) {
        let (status, body) =
            self.send(reqwest::Method::POST, "/api/v1/auth/login", Some(json!({ "email": email, "password": password }))).await;
        if status == StatusCode::OK {
            self.csrf = body["csrf_token"].as_str().map(str::to_owned);
        }
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Sends a request with the session's CSRF token (or bearer token) and answers the status
    /// and JSON body (`null` when empty).
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(csrf) = &self.csrf {
            req = req.header("x-csrf-token", csrf);
        }
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, value)
    }
}

/// A fresh PostgreSQL database for one test, dropped afterwards.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    /// The URL of the new database.
    pub url: String,
}

impl PgDatabase {
    /// Creates a fresh database on the server of `admin_url`.
    pub async fn create(admin_url: &str) -> PgDatabase {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let name = format!("kw_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::AnyConnection::connect(admin_url).await.expect("connect to KEYWARD_TEST_DATABASE_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create test database");
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
        PgDatabase { admin_url: admin_url.to_owned(), url: format!("{base}/{name}"), name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; the cleanup gets a small runtime of its own.
        let _ = std::thread::spawn(move || {
            use sqlx::Connection;
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin_url).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                            .execute(&mut conn)
                            .await;
                    }
                });
            }
        })
        .join();
    }
}
