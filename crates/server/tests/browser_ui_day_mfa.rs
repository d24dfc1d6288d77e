//! MFA enrollment that forgives (issue 10, point 2): a wrong code keeps the same key and QR
//! code and says the code was wrong; leaving and coming back continues the same enrollment with
//! one "Continue setting up MFA" action; only "Start over" makes a new key.

#[path = "support/browser.rs"]
mod browser_support;
mod common;
#[path = "support/ui_day.rs"]
mod ui_day;

use anyhow::{Result, ensure};
use browser_support::{Browser, run};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, totp_code};
use fantoccini::Locator;
use time::OffsetDateTime;

/// A 6-digit code that the authenticator does not show around `at`.
fn wrong_code(secret: &str, at: OffsetDateTime) -> String {
    let near: Vec<String> = [-30, 0, 30].iter().map(|s| totp_code(secret, at + time::Duration::seconds(*s))).collect();
    (0..10).map(|d| d.to_string().repeat(6)).find(|c| !near.contains(c)).expect("some code differs")
}

/// The key and the QR code the enrollment page shows.
async fn shown(b: &Browser) -> Result<(String, String)> {
    b.wait_for_heading("Scan the QR code").await?;
    let key = b.text_of("mfa-secret").await?;
    let qr = b.wait(Locator::Css(".qr"), "the QR code").await?.html(true).await?;
    Ok((key, qr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_or_leaving_keeps_the_same_key_until_start_over() {
    run(|b| async move {
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;
        b.open("/account/security").await?;
        b.click_button("Enable MFA").await?;
        let (key, qr) = shown(&b).await?;
        let secret: String = key.split_whitespace().collect();

        // A wrong code: said so, beside the same key and QR code.
        b.fill("code", &wrong_code(&secret, b.app.clock_now())).await?;
        b.click_button("Verify code").await?;
        let error = b.text_of("mfa-error").await?;
        ensure!(error.contains("That code is not right"), "{error}");
        ensure!(shown(&b).await? == (key.clone(), qr.clone()), "a wrong code keeps the key and QR code");

        // Leaving and coming back: one action continues the same enrollment.
        b.open("/").await?;
        b.open("/account/security").await?;
        b.wait_for_heading("Multi-factor authentication").await?;
        let primaries = b.texts("section[aria-labelledby=mfa-h] .primary").await?;
        ensure!(primaries == ["Continue setting up MFA"], "one primary action: {primaries:?}");
        ui_day::screenshots(&b, "mfa-pending").await?;
        b.click_link("Continue setting up MFA").await?;
        ensure!(shown(&b).await?.0 == key, "continuing shows the key already scanned");
        b.client.refresh().await?;
        ensure!(shown(&b).await?.0 == key, "a reload does not start over");

        // Only Start over makes a new key.
        b.click_button("Start over").await?;
        let deadline = std::time::Instant::now() + browser_support::WAIT;
        let (new_key, new_qr) = loop {
            let now = shown(&b).await?;
            if now.0 != key || std::time::Instant::now() > deadline {
                break now;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        ensure!(new_key != key && new_qr != qr, "Start over makes a new key");
        let secret: String = new_key.split_whitespace().collect();
        b.fill("code", &totp_code(&secret, b.app.clock_now())).await?;
        b.click_button("Verify code").await?;
        b.wait_for_heading("Save your backup codes").await?;
        b.set_checked("saved", true).await?;
        b.click_button("Activate MFA").await?;
        b.wait_for_text("MFA is on. From now on, sign-in asks for a code from your app.").await?;
        Ok(())
    })
    .await;
}
