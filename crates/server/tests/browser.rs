//! Browser tests: a headless Chromium, driven over WebDriver (chromedriver + fantoccini), uses the
//! web pages the way a person would.
//!
//! Each test starts its own chromedriver and server (the harness is `support/browser.rs`).
//! Without chromedriver the tests are skipped, except under `CI=true`, where that is a failure.

#[path = "support/browser.rs"]
mod browser_support;
mod common;

use browser_support::run;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD};
use fantoccini::Locator;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_shows_the_home_page() {
    run(|b| async move {
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
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
        b.sign_in(ADMIN_EMAIL, "Wrong-Horse-7-Battery").await?;
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
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
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
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
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
