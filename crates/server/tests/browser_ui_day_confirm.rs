//! Confirm what cannot be undone quietly (issue 10, point 5): changing a role (demoting
//! yourself warns that you lose Settings), revoking an invitation and removing a team member
//! ask first; a security policy that restricts people at once says how many before it
//! applies; a deadline already reached reads "now".

#[path = "support/browser.rs"]
mod browser_support;
mod common;
#[path = "support/ui_day.rs"]
mod ui_day;

use anyhow::{Context, Result, ensure};
use browser_support::{Browser, run};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::json;

const PW: &str = "Plover-Quartz-42!";

async fn sign_in_as_admin(b: &Browser) -> Result<()> {
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    b.wait_for_heading("Welcome, Ada Lovelace").await?;
    Ok(())
}

/// The id of the user with `email`, from the API.
async fn user_id(b: &Browser, email: &str) -> Result<String> {
    let admin = b.app.admin().await;
    let (status, body) = admin.get(&format!("/api/v1/users?q={email}")).await;
    ensure!(status == StatusCode::OK, "{body}");
    Ok(body["items"][0]["id"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_changes_ask_first_and_demoting_yourself_warns_about_settings() {
    run(|b| async move {
        let api = b.app.admin().await;
        b.app.user(&api, "devi@example.com", "Devi Rao", "developer", PW).await;
        b.app.user(&api, "bea@example.com", "Bea Admin", "admin", PW).await;
        sign_in_as_admin(&b).await?;

        // Another person: asked first; Cancel changes nothing.
        let devi = user_id(&b, "devi@example.com").await?;
        b.open(&format!("/settings/users/{devi}")).await?;
        b.wait_for_heading("Devi Rao").await?;
        b.select("role", "Viewer").await?;
        b.click_button("Update Role").await?;
        b.wait_for_heading("Change Devi Rao's role to Viewer?").await?;
        ui_day::screenshots(&b, "confirm-role").await?;
        b.click_link("Cancel").await?;
        b.wait_for_heading("Devi Rao").await?;
        ensure!(b.text_of("user-role").await? == "Developer", "Cancel changed nothing");
        b.select("role", "Viewer").await?;
        b.click_button("Update Role").await?;
        b.click_button("Change role").await?;
        b.wait_for_text("The role was updated. It applies from the user's next request.").await?;
        ensure!(b.text_of("user-role").await? == "Viewer");

        // Yourself: the question says you lose Settings.
        let ada = user_id(&b, ADMIN_EMAIL).await?;
        b.open(&format!("/settings/users/{ada}")).await?;
        b.wait_for_heading("Ada Lovelace").await?;
        b.select("role", "Developer").await?;
        b.click_button("Update Role").await?;
        b.wait_for_heading("Change your own role to Developer?").await?;
        let question = b.texts("main p").await?.join(" ");
        ensure!(question.contains("You will lose Settings"), "{question}");
        b.click_button("Change role").await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;
        ensure!(b.text_of("my-role").await? == "Developer", "the demotion applied once confirmed");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_invitation_and_removing_a_member_ask_first() {
    run(|b| async move {
        let api = b.app.admin().await;
        let (status, body) = api
            .post(
                "/api/v1/invitations",
                json!({ "email": "ivy@example.com", "full_name": "Ivy Invited", "role": "viewer", "send_email": false }),
            )
            .await;
        ensure!(status == StatusCode::CREATED, "{body}");
        b.app.user(&api, "devi@example.com", "Devi Rao", "developer", PW).await;
        let devi = user_id(&b, "devi@example.com").await?;
        let (status, body) = api.post("/api/v1/teams", json!({ "name": "Platform", "member_ids": [devi] })).await;
        ensure!(status == StatusCode::CREATED, "{body}");
        let team = body["id"].as_str().unwrap_or_default().to_owned();
        sign_in_as_admin(&b).await?;

        b.open("/settings/users").await?;
        b.click_link("Revoke").await?;
        b.wait_for_heading("Revoke the invitation for Ivy Invited?").await?;
        b.click_link("Cancel").await?;
        b.wait_for_heading("Users").await?;
        ensure!(b.shows_cell("ivy@example.com").await?, "Cancel keeps the invitation");
        b.click_link("Revoke").await?;
        b.click_button("Revoke invitation").await?;
        b.wait_for_text("The invitation was revoked; its link no longer works.").await?;
        ensure!(!b.shows_cell("ivy@example.com").await?, "the invitation is gone");

        b.open(&format!("/settings/teams/{team}")).await?;
        b.wait_for_heading("Platform").await?;
        b.click_link("Remove").await?;
        b.wait_for_heading("Remove Devi Rao from Platform?").await?;
        b.click_button("Remove from team").await?;
        b.wait_for_heading("Platform").await?;
        ensure!(!b.shows_cell("devi@example.com").await?, "Devi left the team");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_restricts_people_at_once_says_how_many_first() {
    run(|b| async move {
        let api = b.app.admin().await;
        b.app.user(&api, "devi@example.com", "Devi Rao", "developer", PW).await;
        b.app.user(&api, "dan@example.com", "Dan Dev", "developer", PW).await;
        sign_in_as_admin(&b).await?;
        b.open("/settings/security").await?;
        b.wait_for_heading("Security Policies").await?;
        b.set_checked("mfa_all", true).await?;
        b.fill("grace", "0").await?;
        b.click_button("Save Policy").await?;
        let warning = b.text_of("policy-confirm").await?;
        // Ada, Devi and Dan have no MFA: with no grace period all three are restricted at once.
        ensure!(warning.contains("restricts 3 users at once"), "{warning}");
        ensure!(b.value_of("grace").await? == "0", "the form keeps the values to save");
        ui_day::screenshots(&b, "policy-confirm").await?;
        b.click_button("Save and restrict 3 users").await?;
        // The path, not the heading: the policy page has a "Multi-factor authentication" section
        // too, so waiting for the heading could pass before the browser left it.
        b.wait_for_path("/account/security").await.context("the admin herself must now set up MFA first")?;
        b.wait_for_heading("Multi-factor authentication").await?;
        let state = b.text_of("mfa-state").await?;
        ensure!(state.contains("set it up by now."), "a deadline already reached reads now, not a past time: {state}");
        Ok(())
    })
    .await;
}
