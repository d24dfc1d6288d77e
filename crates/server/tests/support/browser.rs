//! The browser-test harness: a headless Chromium driven over WebDriver (chromedriver +
//! fantoccini), used the way a person uses the pages. Each test file includes it with
//! `#[path = "support/browser.rs"] mod browser_support;`.
//!
//! `run` starts one chromedriver and one server per test; `Browser::another` opens a second,
//! independent browser (its own session and profile) on the same server. Without chromedriver
//! the tests are skipped, except under `CI=true`, where that is a failure.
#![allow(dead_code)]

use anyhow::{Context, Result};
use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use keyward_testkit::{Engine, TestApp, spawn_app};
use serde_json::{Value, json};
use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long to wait for something to appear on a page.
pub const WAIT: Duration = Duration::from_secs(10);
const CHROMIUM: &str = "/usr/bin/chromium";

/// Starts chromedriver, a server with the first admin and a browser; runs `test`; then closes
/// every browser the test opened and stops chromedriver, whether the test passed, failed or
/// panicked.
pub async fn run<F, Fut>(test: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    run_with(true, test).await
}

/// `run` on a server where no admin exists yet: the first start, with its set-up link in
/// `app.setup_link`.
pub async fn run_fresh<F, Fut>(test: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    run_with(false, test).await
}

async fn run_with<F, Fut>(with_admin: bool, test: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let Some(driver) = Chromedriver::start().await else { return };
    let app = spawn_app(Engine::Sqlite).await.expect("SQLite always runs");
    if with_admin {
        app.init_admin().await;
    }
    let launcher = Launcher { port: driver.port, profiles: driver.profiles.clone(), sessions: Arc::default() };
    let first = launcher.open(Arc::new(app)).await.expect("start a Chromium session");
    // A task of its own turns a panicking assertion into a value, so the sessions still close.
    let outcome = tokio::spawn(test(first)).await;
    let sessions = std::mem::take(&mut *launcher.sessions.lock().unwrap_or_else(|p| p.into_inner()));
    let mut closed = Ok(());
    for (name, client) in sessions {
        if !matches!(outcome, Ok(Ok(()))) {
            describe_page(&name, &client).await;
        }
        let result = client.close().await;
        if closed.is_ok() {
            closed = result.with_context(|| format!("close the WebDriver session of {name}"));
        }
    }
    drop(driver);
    match outcome {
        Ok(Ok(())) => closed.expect("close the WebDriver sessions"),
        Ok(Err(e)) => panic!("{e:#}"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Prints where a browser is and what it shows, to explain a failure.
async fn describe_page(name: &str, client: &Client) {
    let url = client.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("unknown ({e})"));
    let text = match client.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(e) => format!("unknown ({e})"),
    };
    eprintln!("--- {name} was at {url}, showing:\n{text}\n---");
}

/// Opens browser sessions on one chromedriver and remembers them for the cleanup.
#[derive(Clone)]
struct Launcher {
    port: u16,
    /// The directory holding one Chromium profile per session.
    profiles: PathBuf,
    sessions: Arc<Mutex<Vec<(String, Client)>>>,
}

impl Launcher {
    /// A new headless Chromium session with a fresh profile of its own: no cookies are shared.
    async fn open(&self, app: Arc<TestApp>) -> Result<Browser> {
        let n = self.sessions.lock().unwrap_or_else(|p| p.into_inner()).len();
        let name = format!("browser {}", char::from(b'A' + n as u8));
        let profile = self.profiles.join(format!("profile-{n}"));
        std::fs::create_dir_all(&profile).context("create the Chromium profile directory")?;
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
        .chain([format!("--user-data-dir={}", profile.display())]);
        let mut caps = Capabilities::new();
        caps.insert("goog:chromeOptions".into(), json!({ "binary": CHROMIUM, "args": args.collect::<Vec<_>>() }));
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .with_context(|| format!("start a Chromium session for {name}"))?;
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).push((name, client.clone()));
        Ok(Browser { client, app, launcher: self.clone() })
    }
}

/// One browser session on the test's server.
pub struct Browser {
    pub client: Client,
    pub app: Arc<TestApp>,
    launcher: Launcher,
}

impl Browser {
    /// A second, independent browser on the same server: another session with its own profile.
    pub async fn another(&self) -> Result<Browser> {
        self.launcher.open(self.app.clone()).await
    }

    pub async fn open(&self, path: &str) -> Result<()> {
        self.client.goto(&format!("{}{path}", self.app.base)).await.with_context(|| format!("open {path}"))
    }

    /// Opens a full URL, such as a link from an invitation.
    pub async fn open_url(&self, url: &str) -> Result<()> {
        self.client.goto(url).await.with_context(|| format!("open {url}"))
    }

    /// The path of the page the browser shows.
    pub async fn path(&self) -> Result<String> {
        Ok(self.client.current_url().await?.path().to_owned())
    }

    /// Waits until the browser shows the page at `path`.
    pub async fn wait_for_path(&self, path: &str) -> Result<()> {
        let deadline = Instant::now() + WAIT;
        loop {
            let now = self.path().await?;
            if now == path {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "waited {WAIT:?} for the page {path}, the browser shows {now}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `locator` finds an element; `what` names it in the error.
    pub async fn wait(&self, locator: Locator<'_>, what: &str) -> Result<Element> {
        self.client.wait().at_most(WAIT).for_element(locator).await.with_context(|| format!("waiting {WAIT:?} for {what}"))
    }

    /// Waits for an element whose whole text is `text`.
    pub async fn wait_for_text(&self, text: &str) -> Result<Element> {
        self.wait(Locator::XPath(&format!("//body//*[normalize-space()={}]", xpath_literal(text))), &format!("the text {text:?}")).await
    }

    /// Waits for a page heading that reads `text`.
    pub async fn wait_for_heading(&self, text: &str) -> Result<Element> {
        let xpath = format!("//*[self::h1 or self::h2][normalize-space()={}]", xpath_literal(text));
        self.wait(Locator::XPath(&xpath), &format!("the heading {text:?}")).await
    }

    /// Whether an element whose whole text is `text` is on the page now.
    pub async fn shows_text(&self, text: &str) -> Result<bool> {
        let found = self.client.find_all(Locator::XPath(&format!("//body//*[normalize-space()={}]", xpath_literal(text)))).await?;
        Ok(!found.is_empty())
    }

    /// Whether a table cell reads `text`.
    pub async fn shows_cell(&self, text: &str) -> Result<bool> {
        let found = self.client.find_all(Locator::XPath(&format!("//table//td[normalize-space()={}]", xpath_literal(text)))).await?;
        Ok(!found.is_empty())
    }

    /// The texts of every element that `css` selects now, in page order.
    pub async fn texts(&self, css: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for e in self.client.find_all(Locator::Css(css)).await? {
            out.push(e.text().await?);
        }
        Ok(out)
    }

    /// The text of the element with the given id, once it is there.
    pub async fn text_of(&self, id: &str) -> Result<String> {
        Ok(self.wait(Locator::Id(id), &format!("#{id}")).await?.text().await?)
    }

    /// The value of the field with the given id, once it is there.
    pub async fn value_of(&self, id: &str) -> Result<String> {
        Ok(self.wait(Locator::Id(id), &format!("the field #{id}")).await?.prop("value").await?.unwrap_or_default())
    }

    /// Types `value` into the field with the given id.
    pub async fn fill(&self, id: &str, value: &str) -> Result<()> {
        let field = self.wait(Locator::Id(id), &format!("the field #{id}")).await?;
        field.clear().await?;
        field.send_keys(value).await.with_context(|| format!("type into #{id}"))
    }

    /// Chooses the option labelled `label` in the select with the given id.
    pub async fn select(&self, id: &str, label: &str) -> Result<()> {
        let select = self.wait(Locator::Id(id), &format!("the select #{id}")).await?;
        select.select_by_label(label).await.with_context(|| format!("choose {label:?} in #{id}"))
    }

    /// The label of the chosen option of the select with the given id.
    pub async fn selected(&self, id: &str) -> Result<String> {
        let option = self.wait(Locator::Css(&format!("#{id} option:checked")), &format!("the chosen option of #{id}")).await?;
        Ok(option.text().await?)
    }

    /// Ticks (`true`) or unticks the checkbox with the given id by clicking it when needed.
    pub async fn set_checked(&self, id: &str, checked: bool) -> Result<()> {
        let checkbox = self.wait(Locator::Id(id), &format!("the checkbox #{id}")).await?;
        if checkbox.is_selected().await? != checked {
            checkbox.click().await.with_context(|| format!("click the checkbox #{id}"))?;
        }
        anyhow::ensure!(checkbox.is_selected().await? == checked, "the checkbox #{id} did not change");
        Ok(())
    }

    pub async fn click_button(&self, label: &str) -> Result<()> {
        let xpath = format!("//button[normalize-space()={}]", xpath_literal(label));
        let button = self.wait(Locator::XPath(&xpath), &format!("the button {label:?}")).await?;
        self.click_and_follow(button, &format!("the button {label:?}")).await
    }

    pub async fn click_link(&self, text: &str) -> Result<()> {
        let link = self.wait(Locator::LinkText(text), &format!("the link {text:?}")).await?;
        self.click_and_follow(link, &format!("the link {text:?}")).await
    }

    /// Clicks `element`; when the click starts loading another page (a form posted, a link
    /// followed), waits until the old page is gone. Why: chromedriver answers the click before
    /// the next page has loaded, and what a test waits for next may also be on the old page
    /// (the same form with its errors, a heading both pages have), then read as it goes stale.
    async fn click_and_follow(&self, element: Element, what: &str) -> Result<()> {
        let old = self.client.find(Locator::Css("html")).await?;
        self.client
            .execute(
                "window.__kwLeaving = false; window.addEventListener('beforeunload', () => { window.__kwLeaving = true; }); return null;",
                vec![],
            )
            .await?;
        element.click().await.with_context(|| format!("click {what}"))?;
        // A form's submission starts its navigation in a task of its own, which may run after
        // chromedriver has answered the click: so the mark is watched for a moment before the
        // click is taken as one that stays on the page. An error means the old page is going.
        let settle = Instant::now() + Duration::from_millis(300);
        loop {
            let leaving = self.client.execute("return window.__kwLeaving === true", vec![]).await.map_or(true, |v| v == Value::Bool(true));
            if leaving {
                break;
            }
            if Instant::now() >= settle {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let deadline = Instant::now() + WAIT;
        // The old page's root element answers until that page is gone.
        while old.tag_name().await.is_ok() {
            anyhow::ensure!(Instant::now() < deadline, "waited {WAIT:?} for the page after clicking {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Opens the sign-in page and signs in with `email` and `password`.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<()> {
        self.open("/login").await?;
        self.fill("email", email).await?;
        self.fill("password", password).await?;
        self.click_button("Sign in").await
    }

    /// Signs out with the profile menu and waits for the sign-in page that says so.
    pub async fn sign_out(&self) -> Result<()> {
        self.open_profile_menu().await?;
        self.click_button("Sign out").await?;
        self.wait_for_text("You have signed out.").await?;
        Ok(())
    }

    /// Clicks the avatar in the top bar, which opens the profile menu.
    pub async fn open_profile_menu(&self) -> Result<()> {
        self.open_menu("details.profile", "the profile menu").await
    }

    /// Clicks the summary of the `<details>` that `css` selects and waits for its menu.
    pub async fn open_menu(&self, css: &str, what: &str) -> Result<()> {
        let summary = self.wait(Locator::Css(&format!("{css} > summary")), what).await?;
        summary.click().await.with_context(|| format!("open {what}"))?;
        let menu = self.wait(Locator::Css(&format!("{css}[open] .menu")), &format!("{what}, open")).await?;
        anyhow::ensure!(menu.is_displayed().await?, "{what} did not open");
        Ok(())
    }
}

/// `text` as an XPath string literal.
pub fn xpath_literal(text: &str) -> String {
    if text.contains('\'') { format!("\"{text}\"") } else { format!("'{text}'") }
}

/// A chromedriver child process, in a process group of its own so that the Chromium browsers
/// it starts are stopped with it.
struct Chromedriver {
    child: Child,
    port: u16,
    profiles: PathBuf,
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
        let profiles = std::env::temp_dir().join(format!("keyward-chromium-{}", uuid::Uuid::now_v7().simple()));
        let mut driver = Chromedriver { child, port, profiles };
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
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // Killing chromedriver alone leaves its Chromium running: end the whole group.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profiles);
    }
}

/// chromedriver on the `PATH`, or where Debian puts it.
fn find_chromedriver() -> Option<PathBuf> {
    let on_path =
        std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("chromedriver")).find(|p| p.is_file()));
    on_path.or_else(|| Some(PathBuf::from("/usr/bin/chromedriver")).filter(|p| p.is_file()))
}
