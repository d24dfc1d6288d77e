//! The Users list an admin works from (issue 10, point 6): MFA and Teams columns, an Actions
//! menu on each row, invited people listed once with Resend / New link / Revoke laid out
//! evenly, and the "MFA off" and "Inactive 90 days" filters.

#[path = "support/browser.rs"]
mod browser_support;
mod common;
#[path = "support/ui_day.rs"]
mod ui_day;

use anyhow::{Result, ensure};
use browser_support::{Browser, run};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, totp_code};
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;

const PW: &str = "Plover-Quartz-42!";

/// The texts of the cells of the row whose Email cell reads `email`.
async fn row(b: &Browser, email: &str) -> Result<Vec<String>> {
    b.texts(&format!("#users tr[data-email='{email}'] td")).await
}

/// The column index of the header `name` in the Users table.
async fn column(b: &Browser, name: &str) -> Result<usize> {
    let headers = b.texts("#users thead th").await?;
    headers.iter().position(|h| h == name).ok_or_else(|| anyhow::anyhow!("no column {name:?} in {headers:?}"))
}

/// Waits until the filtered list has loaded (the old page also reads "Users", so its heading
/// cannot tell them apart), then for its table.
async fn filtered_by(b: &Browser, query: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !b.client.current_url().await?.query().unwrap_or_default().contains(query) {
        anyhow::ensure!(std::time::Instant::now() < deadline, "the list filtered by {query} did not load");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    b.wait(Locator::Css("#users thead th"), "the Users table").await?;
    Ok(())
}

async fn emails(b: &Browser) -> Result<Vec<String>> {
    let col = column(b, "Email").await?;
    let mut out = Vec::new();
    for r in b.client.find_all(Locator::Css("#users tbody tr")).await? {
        let cells = r.find_all(Locator::Css("td")).await?;
        out.push(cells[col].text().await?);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_list_shows_mfa_teams_actions_and_invitations_once() {
    run(|b| async move {
        let api = b.app.admin().await;
        let devi = b.app.user(&api, "devi@example.com", "Devi Rao", "developer", PW).await;
        let (_, me) = devi.get("/api/v1/me").await;
        let (status, body) = api.post("/api/v1/teams", json!({ "name": "Platform", "member_ids": [me["id"]] })).await;
        ensure!(status == StatusCode::CREATED, "{body}");
        let (status, body) =
            api.post("/api/v1/invitations", json!({ "email": "ivy@example.com", "full_name": "Ivy Invited", "role": "viewer", "send_email": false })).await;
        ensure!(status == StatusCode::CREATED, "{body}");
        // Devi turns MFA on.
        let (status, enrollment) = devi.post("/api/v1/me/mfa/totp", json!({})).await;
        ensure!(status == StatusCode::OK, "{enrollment}");
        let code = totp_code(enrollment["secret"].as_str().unwrap_or_default(), b.app.clock_now());
        let (status, body) = devi.post("/api/v1/me/mfa/totp/activate", json!({ "code": code })).await;
        ensure!(status == StatusCode::OK, "{body}");

        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;
        b.open("/settings/users").await?;
        b.wait_for_heading("Users").await?;
        ui_day::screenshots(&b, "users").await?;

        let (mfa, teams, status_col) = (column(&b, "MFA").await?, column(&b, "Teams").await?, column(&b, "Status").await?);
        column(&b, "Actions").await?;
        let ada = row(&b, ADMIN_EMAIL).await?;
        let devi_row = row(&b, "devi@example.com").await?;
        ensure!(ada[mfa] == "Off" && devi_row[mfa] == "On", "{ada:?} {devi_row:?}");
        ensure!(devi_row[teams] == "Platform", "{devi_row:?}");

        // Ivy is listed once, as invited, with her three actions side by side and of one width.
        ensure!(emails(&b).await?.iter().filter(|e| *e == "ivy@example.com").count() == 1, "an invited person is listed once");
        ensure!(!b.shows_text("Pending invitations").await?, "no second list of invitations");
        let ivy = row(&b, "ivy@example.com").await?;
        ensure!(ivy[status_col].starts_with("invited"), "{ivy:?}");
        let widths = b
            .client
            .execute(
                "return [...document.querySelectorAll(\"#users tr[data-email='ivy@example.com'] .even-actions > *\")].map(e => [e.textContent.trim(), Math.round(e.getBoundingClientRect().width)])",
                vec![],
            )
            .await?;
        let widths = widths.as_array().cloned().unwrap_or_default();
        let labels: Vec<_> = widths.iter().map(|w| w[0].as_str().unwrap_or_default().to_owned()).collect();
        ensure!(labels == ["Resend", "New link", "Revoke"], "{labels:?}");
        ensure!(widths.iter().all(|w| w[1] == widths[0][1]), "evenly laid out: {widths:?}");

        // A row's Actions menu.
        b.open_menu("#users tr[data-email='devi@example.com'] details.row-menu", "Devi's Actions menu").await?;
        let items = b.texts("#users tr[data-email='devi@example.com'] details.row-menu[open] .menu a").await?;
        ensure!(items == ["Change role", "Deactivate", "Reset MFA"], "{items:?}");
        let ada_items = b
            .client
            .execute("return [...document.querySelectorAll(\"#users tr[data-email='ada@example.com'] details.row-menu .menu a\")].map(a => a.textContent.trim())", vec![])
            .await?;
        ensure!(ada_items == json!(["Change role", "Deactivate"]), "no Reset MFA without MFA: {ada_items}");
        let deactivate = "//tr[@data-email='devi@example.com']//details[@open]//a[normalize-space()='Deactivate']";
        b.wait(Locator::XPath(deactivate), "Deactivate in Devi's menu").await?.click().await?;
        b.wait_for_heading("Deactivate Devi Rao?").await?;

        // Filters: MFA off, then inactive for 90 days.
        b.open("/settings/users").await?;
        b.set_checked("mfa_off", true).await?;
        b.click_button("Search").await?;
        filtered_by(&b, "mfa_off=1").await?;
        let shown = emails(&b).await?;
        ensure!(shown.contains(&ADMIN_EMAIL.to_owned()) && !shown.contains(&"devi@example.com".to_owned()), "{shown:?}");
        ensure!(b.client.find(Locator::Id("mfa_off")).await?.is_selected().await?, "the filter stays ticked");

        // 91 days on, Ada signs in again; Devi has not been seen since.
        b.app.advance(time::Duration::days(91));
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;
        b.open("/settings/users").await?;
        b.set_checked("inactive", true).await?;
        b.click_button("Search").await?;
        filtered_by(&b, "inactive=").await?;
        let shown = emails(&b).await?;
        ensure!(!shown.contains(&ADMIN_EMAIL.to_owned()), "Ada is active right now: {shown:?}");
        ensure!(shown.contains(&"devi@example.com".to_owned()), "Devi has not been seen for 91 days: {shown:?}");
        Ok(())
    })
    .await;
}
