//! Browser tests: a headless Chromium, driven over WebDriver (chromedriver + fantoccini), uses the
//! web pages the way a person would.
//!
//! Each test starts its own chromedriver and server. Without chromedriver the tests are skipped,
//! except under `CI=true`, where that is a failure.

mod common;

use anyhow::{Context, Result};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Engine, TestApp, spawn_app};
use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long to wait for something to appear on a page.
const WAIT: Duration = Duration::from_secs(10);
const CHROMIUM: &str = "/usr/bin/chromium";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_shows_the_home_page() {
    run(|b| async move {
        b.sign_in(ADMIN_PASSWORD).await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;
        assert_eq!(b.path().await?, "/");
        assert_eq!(b.text_of("my-role").await?, "Admin");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_shows_a_message() {
    run(|b| async move {
        b.sign_in("Wrong-Horse-7-Battery").await?;
        let error = b.wait(Locator::Id("login-error"), "the sign-in error").await?;
        assert_eq!(error.text().await?, "The email or password is incorrect.");
        assert_eq!(b.path().await?, "/login");
        b.wait_for_heading("Sign in").await?;
        let email = b.client.find(Locator::Id("email")).await?;
        assert_eq!(email.prop("value").await?.as_deref(), Some(ADMIN_EMAIL), "the email is kept for another try");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_returns_to_sign_in() {
    run(|b| async move {
        b.sign_in(ADMIN_PASSWORD).await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;
        b.open_profile_menu().await?;
        b.click_button("Sign out").await?;
        b.wait_for_text("You have signed out.").await?;
        assert_eq!(b.path().await?, "/login");

        b.open("/account").await?;
        b.wait_for_heading("Sign in").await?;
        assert_eq!(b.path().await?, "/login", "Account Settings needs a session");
        assert!(!b.shows_text("You have signed out.").await?, "this is the redirect, not the sign-out page");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_api_token_from_account_settings() {
    run(|b| async move {
        b.sign_in(ADMIN_PASSWORD).await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;
        b.open_profile_menu().await?;
        b.click_link("Account Settings").await?;
        b.wait_for_heading("Account Settings").await?;
        b.click_link("Security").await?;
        b.wait_for_heading("API tokens").await?;
        assert_eq!(b.path().await?, "/account/security");

        b.fill("token-name", "ci bot").await?;
        b.click_button("Create token").await?;
        let new_token = b.wait(Locator::Id("new-token"), "the new token").await?;
        let token = new_token.prop("value").await?.unwrap_or_default();
        assert!(token.starts_with("kw_"), "the new token is shown: {token:?}");
        assert!(b.shows_cell("ci bot").await?, "the table lists the new token");

        let mut api = b.app.client();
        api.bearer = Some(token);
        let (status, me) = api.get("/api/v1/me").await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["email"], ADMIN_EMAIL);

        let revoke = "//tr[td[normalize-space()='ci bot']]//button[normalize-space()='Revoke']";
        b.wait(Locator::XPath(revoke), "the Revoke button of \"ci bot\"").await?.click().await?;
        b.wait_for_text("The token was revoked.").await?;
        b.wait_for_text("No API tokens.").await?;
        assert!(!b.shows_cell("ci bot").await?, "the revoked token is no longer listed");
        let (status, body) = api.get("/api/v1/me").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        Ok(())
    })
    .await;
}

/// Starts chromedriver, a server with the first admin and a browser session; runs `test`; then
/// closes the session and stops chromedriver whether the test passed, failed or panicked.
async fn run<F, Fut>(test: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let Some(driver) = Chromedriver::start().await else { return };
    let app = spawn_app(Engine::Sqlite).await.expect("SQLite always runs");
    app.init_admin().await;
    let client = driver.session().await;
    // A task of its own turns a panicking assertion into a value, so the session still closes.
    let outcome = tokio::spawn(test(Browser { client: client.clone(), app: Arc::new(app) })).await;
    if !matches!(outcome, Ok(Ok(()))) {
        describe_page(&client).await;
    }
    let closed = client.close().await;
    drop(driver);
    match outcome {
        Ok(Ok(())) => closed.expect("close the WebDriver session"),
        Ok(Err(e)) => panic!("{e:#}"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Prints where the browser is and what it shows, to explain a failure.
async fn describe_page(client: &Client) {
    let url = client.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("unknown ({e})"));
    let text = match client.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(e) => format!("unknown ({e})"),
    };
    eprintln!("--- the browser was at {url}, showing:\n{text}\n---");
}

/// One browser session on one server.
struct Browser {
    client: Client,
    app: Arc<TestApp>,
}

impl Browser {
    async fn open(&self, path: &str) -> Result<()> {
        self.client.goto(&format!("{}{path}", self.app.base)).await.with_context(|| format!("open {path}"))
    }

    /// The path of the page the browser shows.
    async fn path(&self) -> Result<String> {
        Ok(self.client.current_url().await?.path().to_owned())
    }

    /// Waits until `locator` finds an element; `what` names it in the error.
    async fn wait(&self, locator: Locator<'_>, what: &str) -> Result<Element> {
        self.client.wait().at_most(WAIT).for_element(locator).await.with_context(|| format!("waiting {WAIT:?} for {what}"))
    }

    /// Waits for an element whose whole text is `text`.
    async fn wait_for_text(&self, text: &str) -> Result<Element> {
        self.wait(Locator::XPath(&format!("//body//*[normalize-space()={}]", xpath_literal(text))), &format!("the text {text:?}")).await
    }

    /// Waits for a page heading that reads `text`.
    async fn wait_for_heading(&self, text: &str) -> Result<Element> {
        let xpath = format!("//*[self::h1 or self::h2][normalize-space()={}]", xpath_literal(text));
        self.wait(Locator::XPath(&xpath), &format!("the heading {text:?}")).await
    }

    /// Whether an element whose whole text is `text` is on the page now.
    async fn shows_text(&self, text: &str) -> Result<bool> {
        let found = self.client.find_all(Locator::XPath(&format!("//body//*[normalize-space()={}]", xpath_literal(text)))).await?;
        Ok(!found.is_empty())
    }

    /// Whether a table cell reads `text`.
    async fn shows_cell(&self, text: &str) -> Result<bool> {
        let found = self.client.find_all(Locator::XPath(&format!("//table//td[normalize-space()={}]", xpath_literal(text)))).await?;
        Ok(!found.is_empty())
    }

    async fn text_of(&self, id: &str) -> Result<String> {
        Ok(self.wait(Locator::Id(id), &format!("#{id}")).await?.text().await?)
    }

    /// Types `value` into the field with the given id.
    async fn fill(&self, id: &str, value: &str) -> Result<()> {
        let field = self.wait(Locator::Id(id), &format!("the field #{id}")).await?;
        field.clear().await?;
        field.send_keys(value).await.with_context(|| format!("type into #{id}"))
    }

    async fn click_button(&self, label: &str) -> Result<()> {
        let xpath = format!("//button[normalize-space()={}]", xpath_literal(label));
        let button = self.wait(Locator::XPath(&xpath), &format!("the button {label:?}")).await?;
        button.click().await.with_context(|| format!("click the button {label:?}"))
    }

    async fn click_link(&self, text: &str) -> Result<()> {
        let link = self.wait(Locator::LinkText(text), &format!("the link {text:?}")).await?;
        link.click().await.with_context(|| format!("click the link {text:?}"))
    }

    /// Opens the sign-in page and signs in as the first admin with `password`.
    async fn sign_in(&self, password: &str) -> Result<()> {
        self.open("/login").await?;
        self.fill("email", ADMIN_EMAIL).await?;
        self.fill("password", password).await?;
        self.click_button("Sign in").await
    }

    /// Clicks the avatar in the top bar, which opens the profile menu.
    async fn open_profile_menu(&self) -> Result<()> {
        let summary = self.wait(Locator::Css("details.profile > summary"), "the profile menu").await?;
        summary.click().await.context("open the profile menu")?;
        let menu = self.wait(Locator::Css("details.profile[open] .menu"), "the open profile menu").await?;
        anyhow::ensure!(menu.is_displayed().await?, "the profile menu did not open");
        Ok(())
    }
}

/// `text` as an XPath string literal.
fn xpath_literal(text: &str) -> String {
    if text.contains('\'') { format!("\"{text}\"") } else { format!("'{text}'") }
}

/// A chromedriver child process, in a process group of its own so that the Chromium it starts
/// is stopped with it.
struct Chromedriver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it is ready; `None` when it is not
    /// installed (a failure under `CI=true`).
    async fn start() -> Option<Chromedriver> {
        let Some(program) = find_chromedriver() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but chromedriver is not installed: apt-get install chromium chromium-driver");
            }
            eprintln!("skipped: chromedriver not found (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("find a free port").port();
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let profile = std::env::temp_dir().join(format!("keyward-chromium-{}", uuid::Uuid::now_v7().simple()));
        let mut driver = Chromedriver { child, port, profile };
        driver.wait_until_ready().await;
        Some(driver)
    }

    async fn wait_until_ready(&mut self) {
        let url = format!("http://127.0.0.1:{}/status", self.port);
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(res) = http.get(&url).send().await
                && res.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true)
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited before it was ready: {status}");
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer at {url} within 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new headless Chromium session with a fresh profile.
    async fn session(&self) -> Client {
        std::fs::create_dir_all(&self.profile).expect("create the Chromium profile directory");
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", self.profile.display())]);
        let mut caps = Capabilities::new();
        caps.insert("goog:chromeOptions".into(), json!({ "binary": CHROMIUM, "args": args.collect::<Vec<_>>() }));
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("start a Chromium session")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // Killing chromedriver alone leaves its Chromium running: end the whole group.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// chromedriver on the `PATH`, or where Debian puts it.
fn find_chromedriver() -> Option<PathBuf> {
    let on_path =
        std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("chromedriver")).find(|p| p.is_file()));
    on_path.or_else(|| Some(PathBuf::from("/usr/bin/chromedriver")).filter(|p| p.is_file()))
}
