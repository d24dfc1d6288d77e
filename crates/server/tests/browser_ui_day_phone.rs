//! Phones, 390 CSS pixels wide (issue 10, point 9): Users, a Team, a Resource with its Share
//! dialog open, and Activity fit the screen (tables scroll inside their own box), and the
//! Settings navigation is a menu.

#[path = "support/browser.rs"]
mod browser_support;
mod common;
#[path = "support/ui_day.rs"]
mod ui_day;

use anyhow::{Result, ensure};
use browser_support::{Browser, run};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD};
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;

const PW: &str = "Plover-Quartz-42!";

async fn fits(b: &Browser, page: &str) -> Result<()> {
    let wide = ui_day::wider_than_the_screen(b).await?;
    ensure!(wide.is_empty(), "{page} at 390 px: wider than the screen: {wide:#?}");
    ui_day::screenshot(b, page).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_pages_fit_a_phone_and_settings_is_a_menu() {
    run(|b| async move {
        let api = b.app.admin().await;
        let devi = b.app.user(&api, "devi.with.a.long.address@example.com", "Devi Rao", "developer", PW).await;
        let (_, me) = devi.get("/api/v1/me").await;
        let (status, team) = api.post("/api/v1/teams", json!({ "name": "Platform", "member_ids": [me["id"]], "lead_id": me["id"] })).await;
        ensure!(status == StatusCode::CREATED, "{team}");
        let team = team["id"].as_str().unwrap_or_default().to_owned();
        let (status, app) = api.post("/api/v1/resources", json!({ "kind": "app", "name": "Billing Dashboard", "team_id": team })).await;
        ensure!(status == StatusCode::CREATED, "{app}");
        let app = app["id"].as_str().unwrap_or_default().to_owned();

        ui_day::resize(&b, ui_day::PHONE).await?;
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;

        b.open("/settings/users").await?;
        b.wait_for_heading("Users").await?;
        ensure!(!b.client.find(Locator::Css("nav.sidenav")).await?.is_displayed().await?, "the side menu is folded away");
        fits(&b, "users").await?;

        // Settings navigation: one menu button, which opens the list.
        b.open_menu("details.settings-menu", "the Settings menu").await?;
        b.wait(Locator::XPath("//details[@open]//a[normalize-space()='Activity']"), "Activity in the Settings menu").await?.click().await?;
        b.wait_for_heading("Activity").await?;
        fits(&b, "activity").await?;

        b.open(&format!("/settings/teams/{team}")).await?;
        b.wait_for_heading("Platform").await?;
        fits(&b, "team").await?;
        let save = b.wait(Locator::XPath("//button[normalize-space()='Save quotas']"), "Save quotas").await?;
        save.click().await?;
        b.wait_for_text("The quotas were saved.").await?;

        b.open(&format!("/resources/{app}")).await?;
        b.wait_for_heading("Billing Dashboard App").await?;
        let summary =
            b.wait(Locator::XPath("//details[@id='share-dialog']/summary[normalize-space()='Share']"), "the Share button").await?;
        summary.click().await?;
        let dialog = b.wait(Locator::Css("#share-dialog[open] .dialog"), "the Share dialog").await?;
        ensure!(dialog.is_displayed().await?, "the Share dialog opened");
        let (x, _, w, _) = dialog.rectangle().await?;
        ensure!(x >= 0.0 && x + w <= 390.0, "the dialog opens inside the screen: x {x}, width {w}");
        fits(&b, "resource-share").await?;
        Ok(())
    })
    .await;
}
