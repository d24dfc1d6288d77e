//! Browser test for access reviews: the admin opens a review from Settings → Access Reviews,
//! the team's lead revokes a membership from their own browser, the admin keeps the rest in
//! bulk and completes the review from the page; the membership is gone.

#[path = "support/browser.rs"]
mod browser_support;
mod common;

use anyhow::ensure;
use browser_support::{run, xpath_literal};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD};
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;

const PW: &str = "Plover-Quartz-42!";

/// The row of the review table whose text mentions `who` and `what`.
fn row(who: &str, what: &str) -> String {
    format!("//table[@id='review-items']//tr[td[contains(., {})] and td[contains(., {})]]", xpath_literal(who), xpath_literal(what))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_is_completed_from_the_page() {
    run(|admin| async move {
        // The people: Lea leads Platform, where Vic is a member.
        let api = admin.app.admin().await;
        let lea = admin.app.user(&api, "lea@example.com", "Lea Lead", "developer", PW).await;
        let (_, me) = lea.get("/api/v1/me").await;
        let lea_id = me["id"].as_str().unwrap_or_default().to_owned();
        let vic = admin.app.user(&api, "vic@example.com", "Vic Viewer", "viewer", PW).await;
        let (_, me) = vic.get("/api/v1/me").await;
        let vic_id = me["id"].as_str().unwrap_or_default().to_owned();
        let (status, team) = api
            .post("/api/v1/teams", json!({ "name": "Platform", "description": "", "lead_id": lea_id, "member_ids": [lea_id, vic_id] }))
            .await;
        ensure!(status == StatusCode::CREATED, "create the team: {team}");

        // Ada lands on the security overview, goes to Access Reviews and opens one.
        admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        admin.wait_for_heading("Welcome, Ada Lovelace").await?;
        admin.click_link("Settings").await?;
        admin.wait_for_heading("Security overview").await?;
        let mfa = admin.text_of("admins-without-mfa").await?;
        ensure!(mfa.contains("1 admin without MFA: Ada Lovelace"), "the overview names admins without MFA: {mfa}");
        admin.click_link("Access Reviews").await?;
        admin.wait_for_heading("Access Reviews").await?;
        admin.click_button("Open review now").await?;
        admin.wait_for_text("The review is open; reviewers have been emailed.").await?;
        let review_path = admin.path().await?;

        // Lea, in her own browser, finds the items assigned to her and revokes Vic's membership.
        let lead = admin.another().await?;
        lead.sign_in("lea@example.com", PW).await?;
        lead.wait_for_heading("Welcome, Lea Lead").await?;
        lead.click_link("Settings").await?;
        lead.click_link("Access Reviews").await?;
        lead.wait_for_heading("Access Reviews").await?;
        lead.wait(Locator::Css("#open-reviews a"), "the open review").await?.click().await?;
        lead.wait_for_path(&review_path).await?;
        lead.wait(Locator::XPath(&row("Vic Viewer", "Member of Platform")), "Vic's membership").await?;
        ensure!(lead.texts("#review-items tbody tr").await?.len() == 1, "the lead sees only her team's memberships");
        let revoke = format!("{}//button[normalize-space()='Revoke']", row("Vic Viewer", "Member of Platform"));
        lead.wait(Locator::XPath(&revoke), "the Revoke button").await?.click().await?;
        lead.wait_for_text("Saved.").await?;
        lead.wait(
            Locator::XPath(&format!("{}/td[contains(@class,'decision')][contains(., 'Revoke')]", row("Vic Viewer", "Member of Platform"))),
            "the decision",
        )
        .await?;

        // Ada keeps everything still undecided in one go, then completes the review.
        admin.open(&format!("{review_path}?show=undecided")).await?;
        admin.wait(Locator::Css("#review-items"), "the items").await?;
        for checkbox in admin.client.find_all(Locator::Css("#review-items input[type=checkbox]")).await? {
            checkbox.click().await?;
        }
        admin.fill("note", "Reviewed with the team leads").await?;
        admin.click_button("Keep selected").await?;
        admin.wait_for_text("Saved.").await?;
        admin.open(&review_path).await?;
        let progress = admin.text_of("progress").await?;
        ensure!(progress.ends_with("3 of 3 decided"), "every item is decided: {progress}");
        admin.click_button("Complete review").await?;
        admin.wait_for_text("The review is complete: every revoke was applied and recorded in the audit log.").await?;
        admin
            .wait(
                Locator::XPath(&format!("{}/td[normalize-space()='revoked']", row("Vic Viewer", "Member of Platform"))),
                "the applied revoke",
            )
            .await?;
        admin.wait(Locator::LinkText("Download report (CSV)"), "the report link").await?;

        let (_, team) = api.get(&format!("/api/v1/teams/{}", team["id"].as_str().unwrap_or_default())).await;
        let members: Vec<&str> =
            team["members"].as_array().map(|m| m.iter().filter_map(|m| m["email"].as_str()).collect()).unwrap_or_default();
        ensure!(members == ["lea@example.com"], "Vic left the team: {members:?}");
        Ok(())
    })
    .await;
}
