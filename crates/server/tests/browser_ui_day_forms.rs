//! Forms that keep what was typed and speak in words (issue 10, point 7), and quotas that say
//! when they are below what is in use (point 8): the quota form after an error, the over-quota
//! warning in red, what a team lead may do, and the live checklist of the password rules.

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

async fn sign_in_as_admin(b: &Browser) -> Result<()> {
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    b.wait_for_heading("Welcome, Ada Lovelace").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_keep_typed_values_speak_in_labels_and_warn_below_use() {
    run(|b| async move {
        let api = b.app.admin().await;
        let (status, team) = api.post("/api/v1/teams", json!({ "name": "Platform" })).await;
        ensure!(status == StatusCode::CREATED, "{team}");
        let team = team["id"].as_str().unwrap_or_default().to_owned();
        let (status, body) =
            api.post("/api/v1/resources", json!({ "kind": "app", "name": "billing", "team_id": team, "cpu_millis": 500 })).await;
        ensure!(status == StatusCode::CREATED, "{body}");
        sign_in_as_admin(&b).await?;
        b.open(&format!("/settings/teams/{team}")).await?;
        b.wait_for_heading("Platform").await?;
        let lead = b.text_of("lead-may").await?;
        ensure!(lead.contains("The team lead adds and removes members"), "{lead}");

        // A value the server refuses: the error uses the label, and every typed value stays.
        b.fill("max_cpu_millis", "10000000000000").await?;
        b.fill("max_apps", "7").await?;
        b.click_button("Save quotas").await?;
        let error = b.wait(Locator::Css(".alert.error"), "the quota error").await?.text().await?;
        ensure!(error.contains("Max CPU (millicores)"), "the error names the field by its label: {error}");
        ensure!(!error.contains("max_cpu_millis"), "never the field's name: {error}");
        ensure!(b.value_of("max_cpu_millis").await? == "10000000000000", "the typed value is kept");
        ensure!(b.value_of("max_apps").await? == "7", "the other typed values are kept");

        // A limit below what is in use: saved, said in words, and red.
        b.fill("max_cpu_millis", "250").await?;
        b.fill("max_apps", "").await?;
        b.click_button("Save quotas").await?;
        b.wait_for_text("The quotas were saved.").await?;
        let over = b.text_of("over-quota").await?;
        ensure!(over.contains("500 millicores in use, above the limit of 250: new resources will be refused."), "{over}");
        let red = b.client.execute("return getComputedStyle(document.querySelector('#usage tr.over td')).color", vec![]).await?;
        ensure!(red == json!("rgb(180, 35, 24)"), "the over-quota row is red: {red}");
        ui_day::screenshots(&b, "team").await?;

        // New resource: refused for its CPU, everything typed is still there, said in labels.
        b.open("/resources").await?;
        b.wait_for_heading("Resources").await?;
        b.wait(Locator::XPath("//summary[normalize-space()='New resource']"), "New resource").await?.click().await?;
        b.fill("new-name", "ledger").await?;
        b.select("new-team", "Platform").await?;
        b.fill("new-cpu", "2000000000").await?;
        b.click_button("Create").await?;
        let error = b.wait(Locator::Css(".alert.error"), "the error").await?.text().await?;
        ensure!(error.contains("CPU (millicores)") && !error.contains("cpu_millis"), "{error}");
        ensure!(b.value_of("new-name").await? == "ledger", "the name is kept");
        ensure!(b.value_of("new-cpu").await? == "2000000000", "the CPU is kept");
        ensure!(b.selected("new-team").await? == "Platform", "the team is kept");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_rules_are_ticked_while_typing() {
    run(|b| async move {
        sign_in_as_admin(&b).await?;
        b.open("/account").await?;
        b.wait_for_heading("Change password").await?;
        let states = async |b: &Browser| -> Result<Vec<String>> {
            let v = b
                .client
                .execute(
                    "return [...document.querySelectorAll('ul.password-rules li')].map(li => li.dataset.check + '=' + li.className)",
                    vec![],
                )
                .await?;
            Ok(v.as_array().cloned().unwrap_or_default().iter().map(|s| s.as_str().unwrap_or_default().to_owned()).collect())
        };
        b.fill("new_password", "abc").await?;
        let now = states(&b).await?;
        ensure!(now.contains(&"lower=met".to_owned()) && now.contains(&"upper=unmet".to_owned()), "{now:?}");
        ensure!(now.iter().any(|s| s.starts_with("min:") && s.ends_with("=unmet")), "{now:?}");
        let status =
            b.wait(Locator::Css(".password-rules-status"), "the spoken status").await?.prop("textContent").await?.unwrap_or_default();
        ensure!(status.contains("not met yet"), "{status}");

        b.fill("new_password", "Plover-Quartz-42!").await?;
        let now = states(&b).await?;
        ensure!(now.iter().filter(|s| !s.starts_with("server")).all(|s| s.ends_with("=met")), "{now:?}");

        // The server's word, after a wrong current password: in a sentence, never a field name.
        b.fill("current_password", "Wrong-Horse-7-Battery").await?;
        b.click_button("Change password").await?;
        let error = b.wait(Locator::Css(".alert.error"), "the error").await?.text().await?;
        ensure!(error.contains("The current password is incorrect."), "{error}");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_lists_every_problem_at_once_and_keeps_what_was_typed() {
    run(|b| async move {
        sign_in_as_admin(&b).await?;
        b.open("/settings/users/invite").await?;
        b.wait_for_heading("Invite User").await?;
        // Both pass the browser's own checks; the server refuses both: an address without a
        // domain name, and a name holding a text-direction override.
        b.fill("email", "ann@localhost").await?;
        b.fill("full_name", "Ann \u{202E}Smith").await?;
        b.click_button("Invite User").await?;
        b.wait_for_text("Please fix these:").await?;
        let problems = b.texts(".alert.error li").await?;
        ensure!(problems.len() == 2, "{problems:?}");
        ensure!(problems[0].contains("not a valid email address"), "{problems:?}");
        ensure!(problems[1].contains("full name"), "{problems:?}");
        ensure!(b.value_of("email").await? == "ann@localhost", "the address typed stays");
        Ok(())
    })
    .await;
}
