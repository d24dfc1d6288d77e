//! The Content-Security-Policy in a real browser: script injected into a page does not run,
//! while the pages and the Swagger UI at /api/docs still work under it.

#[path = "support/browser.rs"]
mod browser_support;
mod common;

use browser_support::run;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD};
use fantoccini::Locator;

/// Injects an inline event handler and an inline script into the open page, as an HTML
/// injection would, and answers what ran: 0 nothing, 1 the handler, 2 the script.
const INJECT: &str = r#"
const done = arguments[arguments.length - 1];
window.__kw_injected = 0;
const holder = document.createElement("div");
holder.innerHTML = '<img src="/no-such-image.png" onerror="window.__kw_injected = 1">';
document.body.appendChild(holder);
const script = document.createElement("script");
script.textContent = "window.__kw_injected = 2";
document.body.appendChild(script);
setTimeout(() => done(window.__kw_injected), 700);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_script_does_not_run_and_the_pages_still_work() {
    run(|b| async move {
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;
        for (path, heading) in [("/", "Welcome, Ada Lovelace"), ("/settings/users", "Users"), ("/login", "Sign in")] {
            b.open(path).await?;
            if path != "/login" {
                b.wait_for_heading(heading).await?;
            }
            let ran = b.client.execute_async(INJECT, vec![]).await?;
            assert_eq!(ran, serde_json::json!(0), "{path}: injected script ran ({ran})");
        }

        // The menu (a details element) and the forms still work under the policy.
        b.open("/").await?;
        b.open_profile_menu().await?;
        b.click_button("Sign out").await?;
        b.wait_for_text("You have signed out.").await?;

        // The Swagger UI renders the API under its own policy.
        b.open("/api/docs/").await?;
        b.wait(Locator::Css(".opblock"), "the operations of the Swagger UI").await?;
        let title = b.texts(".info .title").await?;
        assert!(title.iter().any(|t| t.starts_with("Keyward API")), "{title:?}");
        let paths = b.texts(".opblock-summary-path").await?;
        assert!(paths.iter().any(|p| p.contains("/api/v1/auth/login")), "the operations are listed: {paths:?}");
        Ok(())
    })
    .await;
}
