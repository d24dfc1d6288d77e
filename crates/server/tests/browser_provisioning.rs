//! Browser test for Settings → Provisioning: an admin makes a SCIM token (shown once, good at
//! /scim/v2), sets how SCIM decides roles, and revokes the token. The harness is `support/browser.rs`.

#[path = "support/browser.rs"]
mod browser_support;
mod common;

use anyhow::ensure;
use browser_support::run;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::StatusCode;

async fn scim_users_status(base: &str, token: &str) -> StatusCode {
    reqwest::Client::new().get(format!("{base}/scim/v2/Users")).bearer_auth(token).send().await.expect("request").status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_makes_uses_and_revokes_a_scim_token() {
    run(|admin| async move {
        admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        admin.wait_for_heading("Welcome, Ada Lovelace").await?;
        admin.click_link("Settings").await?;
        admin.click_link("Provisioning").await?;
        admin.wait_for_heading("Provisioning (SCIM)").await?;
        ensure!(
            admin.text_of("scim-base").await? == format!("{}/scim/v2", admin.app.kw.settings().public_url),
            "the page names the SCIM base URL"
        );
        ensure!(admin.shows_text("No SCIM tokens.").await?);

        admin.fill("scim-token-name", "Okta").await?;
        admin.click_button("Create SCIM token").await?;
        let token = admin.value_of("new-scim-token").await?;
        ensure!(token.starts_with("kwscim_"), "the new token is shown: {token:?}");
        ensure!(scim_users_status(&admin.app.base, &token).await == StatusCode::OK, "the token works at /scim/v2");

        admin.open("/settings/provisioning").await?;
        admin.wait_for_heading("Provisioning (SCIM)").await?;
        ensure!(admin.shows_cell("Okta").await?, "the token is listed by its client's name");
        ensure!(admin.client.find_all(fantoccini::Locator::Id("new-scim-token")).await?.is_empty(), "and never shown again");

        admin.select("scim-default-role", "Developer").await?;
        admin.fill("scim-role-attribute", "userType").await?;
        admin.fill("scim-group-roles", "Platform Admins = admin").await?;
        admin.click_button("Save").await?;
        admin.wait_for_text("Saved.").await?;
        ensure!(admin.selected("scim-default-role").await? == "Developer");
        ensure!(admin.value_of("scim-group-roles").await? == "Platform Admins = admin");
        admin.fill("scim-group-roles", "Nobody = root").await?;
        admin.click_button("Save").await?;
        admin.wait_for_text("'root' is not a role; use admin, developer, data_scientist or viewer.").await?;

        admin.click_button("Revoke").await?;
        admin.wait_for_text("The SCIM token was revoked.").await?;
        ensure!(scim_users_status(&admin.app.base, &token).await == StatusCode::UNAUTHORIZED, "a revoked token is refused");
        Ok(())
    })
    .await;
}
