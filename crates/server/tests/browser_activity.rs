//! Browser test for Settings → Activity: the admin filters the page by who and what, reads the
//! events as sentences, and the Export button fetches a CSV holding exactly the filtered
//! events; at 390px wide nothing on the page is wider than the screen.

#[path = "support/browser.rs"]
mod browser_support;
mod common;

use anyhow::{Context, ensure};
use browser_support::run;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD};
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;

const PW: &str = "Plover-Quartz-42!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activity_page_filters_and_exports() {
    run(|admin| async move {
        // Dana exists and someone failed to sign in as her twice; Ada failed once.
        let api = admin.app.admin().await;
        let dana = admin.app.user(&api, "dana@example.com", "Dana Scully", "developer", PW).await;
        let (_, me) = dana.get("/api/v1/me").await;
        let dana_id = me["id"].as_str().unwrap_or_default().to_owned();
        let mut someone = admin.app.client();
        for (email, pw) in [("dana@example.com", "Guess-One-1!"), ("dana@example.com", "Guess-Two-2!"), (ADMIN_EMAIL, "Guess-Three-3!")] {
            ensure!(someone.login(email, pw).await.0 == StatusCode::UNAUTHORIZED, "a wrong password is refused");
        }
        let (status, _) = api.patch(&format!("/api/v1/users/{dana_id}"), json!({ "role": "viewer" })).await;
        ensure!(status == StatusCode::OK);

        admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        admin.wait_for_heading("Welcome, Ada Lovelace").await?;
        admin.click_link("Settings").await?;
        admin.click_link("Activity").await?;
        admin.wait_for_heading("Activity").await?;
        admin.wait(Locator::Css("svg.chart[role='img']"), "the sign-ins chart").await?;
        ensure!(admin.text_of("total-failed").await? == "3", "three failed sign-ins in the chart's totals");
        let all = admin.texts("#events .sentence").await?;
        ensure!(all.iter().any(|s| s == "Ada Lovelace changed Dana Scully's role from Developer to Viewer"), "{all:#?}");

        // Who: Dana; what: failed sign-ins.
        admin.fill("actor", "dana@example.com").await?;
        admin.select("action", "Failed sign-in").await?;
        admin.click_button("Filter").await?;
        // The export link carries the person only once the filtered page is there.
        admin.wait(Locator::XPath("//a[@id='export-csv' and contains(@href, 'actor_id=')]"), "the filtered page").await?;
        let shown = admin.texts("#events .sentence").await?;
        ensure!(shown == ["Failed sign-in as Dana Scully (bad password)"; 2], "only Dana's failed sign-ins: {shown:#?}");
        ensure!(admin.value_of("actor").await? == "dana@example.com", "the filter stays filled in");

        // Export: the CSV the button asks for holds those two events and nothing else.
        let export = admin.wait(Locator::Id("export-csv"), "the CSV export button").await?;
        ensure!(export.is_displayed().await?, "the Export button shows");
        let csv_text = admin
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(document.getElementById('export-csv').href).then(r => r.text()).then(done, e => done('failed: ' + e));",
                vec![],
            )
            .await?
            .as_str()
            .context("the CSV as text")?
            .to_owned();
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let header = reader.headers()?.clone();
        let col = |name: &str| header.iter().position(|h| h == name).with_context(|| format!("no {name} column in {header:?}"));
        let (action, actor) = (col("action")?, col("actor_id")?);
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
        ensure!(rows.len() == 2, "two events exported: {csv_text}");
        ensure!(rows.iter().all(|r| &r[action] == "auth.login_failed" && r[actor] == dana_id), "{csv_text}");

        // On a phone-sized screen nothing is wider than the screen.
        admin.client.set_window_size(390, 844).await?;
        admin.open("/settings/activity").await?;
        admin.wait_for_heading("Activity").await?;
        let wide = admin
            .client
            .execute(
                "const w = document.documentElement.clientWidth;
                 return [...document.querySelectorAll('main *')]
                   .filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('table'))
                   .map(e => e.tagName + '#' + e.id + '.' + e.className);",
                vec![],
            )
            .await?;
        ensure!(wide.as_array().is_some_and(Vec::is_empty), "elements wider than 390px: {wide}");
        Ok(())
    })
    .await;
}
