//! Accessibility basics (issue 10, point 10): a skip link, the first field of a form focused,
//! notices announced, and axe-core (npm, installed by .ci/axe.sh, injected at test time) finds
//! no serious or critical violation on the main pages, at desktop and phone widths.

#[path = "support/browser.rs"]
mod browser_support;
mod common;
#[path = "support/ui_day.rs"]
mod ui_day;

use anyhow::{Result, ensure};
use browser_support::{Browser, run, run_fresh};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD};
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;

const PW: &str = "Plover-Quartz-42!";

/// The id of the focused element.
async fn focused(b: &Browser) -> Result<String> {
    Ok(b.client
        .execute("return document.activeElement ? document.activeElement.id : ''", vec![])
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

async fn check(b: &Browser, axe: &str, page: &str) -> Result<()> {
    for size in [ui_day::DESKTOP, ui_day::PHONE] {
        ui_day::resize(b, size).await?;
        // The page's own resize handler runs now, before the check, not at the browser's leisure.
        b.client.execute("window.dispatchEvent(new Event('resize'))", vec![]).await?;
        let found = ui_day::axe_violations(b, axe).await?;
        ensure!(found.is_empty(), "{page} at {} px: {found:#?}", size.0);
    }
    ui_day::resize(b, ui_day::DESKTOP).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_pages_have_no_serious_accessibility_violations() {
    let Some(axe) = ui_day::axe_source() else { return };
    run(|b| async move {
        let api = b.app.admin().await;
        let devi = b.app.user(&api, "devi@example.com", "Devi Rao", "developer", PW).await;
        let (_, me) = devi.get("/api/v1/me").await;
        let (status, team) = api.post("/api/v1/teams", json!({ "name": "Platform", "member_ids": [me["id"]] })).await;
        ensure!(status == StatusCode::CREATED, "{team}");
        let team = team["id"].as_str().unwrap_or_default().to_owned();
        let (status, app) = api.post("/api/v1/resources", json!({ "kind": "app", "name": "Billing Dashboard", "team_id": team })).await;
        ensure!(status == StatusCode::CREATED, "{app}");
        let app = app["id"].as_str().unwrap_or_default().to_owned();

        // Sign-in: the first field has the focus; the skip link is the first stop of the keyboard.
        b.open("/login").await?;
        b.wait_for_heading("Sign in").await?;
        ensure!(focused(&b).await? == "email", "the first field is focused");
        check(&b, &axe, "sign-in").await?;
        let first = b
            .client
            .execute(
                "return document.querySelector('a[href], button, input:not([type=hidden]), select, textarea, summary').textContent",
                vec![],
            )
            .await?;
        ensure!(first == json!("Skip to content"), "the skip link is the first stop of the keyboard: {first}");

        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;
        let pages = [
            ("/", "Welcome, Ada Lovelace"),
            ("/settings/users", "Users"),
            (&format!("/settings/teams/{team}") as &str, "Platform"),
            ("/resources", "Resources"),
            (&format!("/resources/{app}"), "Billing Dashboard App"),
            ("/settings/activity", "Activity"),
            ("/settings/security", "Security Policies"),
            ("/settings/service-accounts", "Service Accounts"),
            ("/settings/provisioning", "Provisioning (SCIM)"),
            ("/settings/sso", "Single Sign-On (OIDC)"),
            ("/account", "Account Settings"),
        ];
        for (path, heading) in pages {
            b.open(path).await?;
            b.wait_for_heading(heading).await?;
            check(&b, &axe, path).await?;
            ui_day::screenshots(&b, &format!("page{}", path.replace('/', "-"))).await?;
        }

        // A notice is announced: it sits in a live region.
        b.open("/settings/users/invite").await?;
        b.wait_for_heading("Invite User").await?;
        ensure!(focused(&b).await? == "email", "the first field of Invite User is focused");
        b.open("/account/security").await?;
        b.fill("token-name", "ci bot").await?;
        b.click_button("Create token").await?;
        b.wait(Locator::Css(".alert.success"), "the new-token notice").await?;
        let live = b
            .client
            .execute("return document.querySelector('.alert.success').closest('[aria-live],[role=status],[role=alert]') !== null", vec![])
            .await?;
        ensure!(live == json!(true), "the new-token notice is announced");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_admin_page_has_no_serious_accessibility_violations() {
    let Some(axe) = ui_day::axe_source() else { return };
    run_fresh(|b| async move {
        b.open("/").await?;
        b.wait_for_heading("Create the first admin").await?;
        ensure!(focused(&b).await? == "token", "the first field is focused");
        check(&b, &axe, "first admin").await?;
        Ok(())
    })
    .await;
}
