//! Settings → Service Accounts in a real browser: an admin creates a service account, gives it
//! a token with ticked scopes (shown once), the token works only within them, and revoking it
//! from the page ends it.

#[path = "support/browser.rs"]
mod browser_support;
mod common;

use browser_support::run;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD};
use fantoccini::Locator;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_service_account_and_a_scoped_token_from_the_page() {
    run(|b| async move {
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;
        b.open("/settings/users").await?;
        b.click_link("Service Accounts").await?;
        b.wait_for_heading("Service Accounts").await?;
        b.wait_for_text("No service accounts yet.").await?;

        b.fill("sa-name", "Platform gateway").await?;
        b.fill("sa-description", "Asks for access decisions").await?;
        b.select("sa-role", "Admin").await?;
        b.click_button("Create Service Account").await?;
        b.wait_for_text("The service account was created. Give it a token with the scopes it needs.").await?;
        b.wait_for_heading("Platform gateway").await?;

        b.wait(Locator::Css("section.service-account details > summary"), "Create Token").await?.click().await?;
        b.wait(Locator::Css("form.create-token input[name='name']"), "the token name").await?.send_keys("directory reader").await?;
        b.wait(Locator::Css("form.create-token input[name='scope_users:read']"), "the users:read scope").await?.click().await?;
        b.click_button("Create Token").await?;
        let secret = b.value_of("new-service-token").await?;
        anyhow::ensure!(secret.starts_with("kw_"), "the new token is shown: {secret:?}");

        // The token reads the directory, and nothing outside its scope.
        let mut bot = b.app.client();
        bot.bearer = Some(secret.clone());
        assert_eq!(bot.get("/api/v1/users").await.0, StatusCode::OK);
        let (status, body) = bot.get("/api/v1/audit").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "insufficient_scope");

        // Shown once: the page opened again lists the token by name and scope, never its secret.
        b.open("/settings/service-accounts").await?;
        b.wait_for_heading("Platform gateway").await?;
        anyhow::ensure!(b.shows_cell("directory reader").await?, "the token is listed");
        anyhow::ensure!(b.shows_cell("users:read").await?, "with its scope");
        let page = b.client.source().await?;
        anyhow::ensure!(!page.contains(&secret), "the secret is not on the page again");

        b.click_button("Revoke").await?;
        b.wait_for_text("The token was revoked; it no longer works.").await?;
        assert_eq!(bot.get("/api/v1/users").await.0, StatusCode::UNAUTHORIZED);

        b.click_button("Delete Platform gateway").await?;
        b.wait_for_text("The service account was deleted; its tokens no longer work.").await?;
        b.wait(Locator::XPath("//p[normalize-space()='No service accounts yet.']"), "the empty list").await?;
        Ok(())
    })
    .await;
}
