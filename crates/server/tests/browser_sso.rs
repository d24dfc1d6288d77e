//! Browser test of OIDC sign-in through a real OpenID Provider (npm `oidc-provider`, started by
//! the testkit): an admin adds the provider on Settings → Single Sign-On with a group mapping to
//! a team and a role; a person clicks "Sign in with Test IdP", signs in at the provider and is
//! back in Keyward in the team with the role; taken out of the group at the provider, they are
//! out of the team at their next sign-in. Sign-out offers the provider's own sign-out.

#[path = "support/browser.rs"]
mod browser_support;
mod common;

use anyhow::{Context, ensure};
use browser_support::{Browser, run};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD};
use fantoccini::Locator;
use keyward_testkit::idp::{self, IdpUser, TestIdp};
use serde_json::json;

/// Signs in at the provider's login form as `login` (any password), if it asks.
async fn provider_login(b: &Browser, login: &str) -> anyhow::Result<()> {
    let field = b.wait(Locator::Css("input[name=login]"), "the provider's login form").await?;
    field.send_keys(login).await?;
    b.client.find(Locator::Css("input[name=password]")).await?.send_keys("any password").await?;
    b.click_button("Sign-in").await
}

/// The team's members' emails and the person's role, as an admin's API client reads them.
async fn standing(admin: &common::Client, team_id: &str, email: &str) -> anyhow::Result<(Vec<String>, String)> {
    let (_, team) = admin.get(&format!("/api/v1/teams/{team_id}")).await;
    let members = team["members"].as_array().context("members")?.iter().filter_map(|m| m["email"].as_str().map(str::to_owned)).collect();
    let (_, users) = admin.get(&format!("/api/v1/users?q={email}")).await;
    let role = users["items"][0]["role"].as_str().unwrap_or_default().to_owned();
    Ok((members, role))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_the_provider_puts_people_in_their_mapped_team_and_takes_them_out() {
    run(|admin| async move {
        let base = admin.app.base.clone();
        let Some(provider) = TestIdp::start(&format!("{base}/auth/oidc/test/callback"), &format!("{base}/login?signed_out=1"), 3600) else {
            return Ok(());
        };
        provider.set_users(&[IdpUser {
            login: "alice",
            email: "alice@corp.example",
            email_verified: true,
            groups: &["engineers"],
            amr: &["pwd"],
        }]);
        let api = admin.app.admin().await;
        let (_, team) = api.post("/api/v1/teams", json!({ "name": "Data Platform", "description": "" })).await;
        let team_id = team["id"].as_str().context("team id")?.to_owned();

        admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        admin.wait_for_heading("Welcome, Ada Lovelace").await?;
        admin.open("/settings/sso").await?;
        admin.wait_for_heading("Single Sign-On (OIDC)").await?;
        admin.fill("sso-name", "Test IdP").await?;
        admin.fill("sso-slug", "test").await?;
        admin.fill("sso-issuer", &provider.issuer).await?;
        admin.fill("sso-client-id", idp::CLIENT_ID).await?;
        admin.fill("sso-client-secret", idp::CLIENT_SECRET).await?;
        admin.fill("sso-scopes", "email profile groups").await?;
        admin.set_checked("sso-jit", true).await?;
        admin.fill("sso-mappings", "engineers = Data Platform, developer").await?;
        admin.click_button("Add provider").await?;
        admin.wait_for_text("Saved.").await?;
        ensure!(admin.shows_cell("test").await?, "the provider is listed");

        // A person signs in through the provider and lands in the mapped team, with the role.
        let alice = admin.another().await?;
        alice.open("/login").await?;
        alice.click_link("Sign in with Test IdP").await?;
        provider_login(&alice, "alice").await?;
        alice.wait_for_heading("Welcome, alice").await?;
        let (members, role) = standing(&api, &team_id, "alice@corp.example").await?;
        ensure!(members == ["alice@corp.example"], "in the mapped team at once: {members:?}");
        ensure!(role == "developer", "with the mapped role: {role}");

        // Signing out offers the provider's own sign-out.
        alice.sign_out().await?;
        let link = alice.wait(Locator::Css("#provider-sign-out a"), "the provider's sign-out link").await?;
        let href = link.attr("href").await?.unwrap_or_default();
        ensure!(href.starts_with(&format!("{}/session/end", provider.issuer)), "the end-session endpoint: {href}");

        // Out of the group at the provider: out of the team at the next sign-in.
        provider.set_users(&[IdpUser { login: "alice", email: "alice@corp.example", email_verified: true, groups: &[], amr: &["pwd"] }]);
        alice.click_link("Sign in with Test IdP").await?;
        // The provider may remember her; it asks again only if it does not.
        if alice.client.find(Locator::Css("input[name=login]")).await.is_ok() {
            provider_login(&alice, "alice").await?;
        }
        alice.wait_for_heading("Welcome, alice").await?;
        let (members, role) = standing(&api, &team_id, "alice@corp.example").await?;
        ensure!(members.is_empty(), "no longer in the team: {members:?}");
        ensure!(role == "viewer", "back to the default role: {role}");
        drop(provider);
        Ok(())
    })
    .await;
}
