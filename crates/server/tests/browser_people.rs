//! Browser tests for people: an invitation accepted in a second browser, a role change and a
//! deactivation as the changed person sees them, and MFA enrollment and sign-in with a code.
//!
//! The admin and the other person each use a browser of their own (separate WebDriver sessions
//! and profiles). The harness is `support/browser.rs`.

#[path = "support/browser.rs"]
mod browser_support;
mod common;

use anyhow::{Result, ensure};
use browser_support::{Browser, run};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, totp_code};
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;
use time::OffsetDateTime;

/// A password every policy in these tests accepts.
const PW: &str = "Plover-Quartz-42!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_without_email_then_accept_in_a_second_browser() {
    run(|admin| async move {
        sign_in_as_admin(&admin).await?;
        open_users(&admin).await?;
        admin.click_link("Invite User").await?;
        admin.wait_for_heading("Invite User").await?;
        admin.fill("email", "grace@example.com").await?;
        admin.fill("full_name", "Grace Hopper").await?;
        admin.select("role", "Developer").await?;
        assert_eq!(admin.selected("role").await?, "Developer");
        admin.set_checked("send_email", false).await?;
        admin.click_button("Invite User").await?;

        let link = admin.value_of("invite-link").await?;
        assert!(link.starts_with(&format!("{}/invite/", admin.app.base)), "the page shows the invitation link: {link:?}");
        admin.wait_for_heading("Invitation for grace@example.com").await?;
        admin.click_button("Copy link").await?;
        admin.wait(Locator::XPath("//button[@data-copy='invite-link'][normalize-space()='Copied']"), "the button saying Copied").await?;
        assert!(admin.app.outbox().is_empty(), "no email was sent");

        let grace = admin.another().await?;
        grace.open_url(&link).await?;
        grace.wait_for_heading("Welcome to Keyward").await?;
        assert!(grace.shows_text("Set a password for grace@example.com (Grace Hopper, Developer).").await?);

        grace.fill("password", PW).await?;
        grace.fill("password_confirm", "Plover-Quartz-43!").await?;
        grace.click_button("Set password and sign in").await?;
        grace.wait_for_text("The two passwords do not match.").await?;

        grace.fill("password", "password").await?;
        grace.fill("password_confirm", "password").await?;
        grace.click_button("Set password and sign in").await?;
        grace.wait(Locator::Css(".alert.error li"), "the failed password rules").await?;
        assert_eq!(
            grace.texts(".alert.error li").await?,
            [
                "Include at least one uppercase letter.",
                "Include at least one number.",
                "Include at least one special character.",
                "Choose a password that is not common or easy to guess (such as your name or email).",
            ],
        );
        assert!(grace.path().await?.starts_with("/invite/"), "still on the invitation page");

        grace.fill("password", PW).await?;
        grace.fill("password_confirm", PW).await?;
        grace.click_button("Set password and sign in").await?;
        grace.wait_for_heading("Welcome, Grace Hopper").await?;
        assert_eq!(grace.path().await?, "/");
        assert_eq!(grace.text_of("my-role").await?, "Developer");

        open_users(&admin).await?;
        let row = "//table[@id='users']//tr[td[normalize-space()='grace@example.com']]/td";
        admin.wait(Locator::XPath(row), "Grace's row in the users table").await?;
        let cells = admin.client.find_all(Locator::XPath(row)).await?;
        let mut texts = Vec::new();
        for cell in &cells[..4] {
            texts.push(cell.text().await?);
        }
        assert_eq!(texts, ["Grace Hopper", "grace@example.com", "Developer", "active"]);
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_change_shows_on_the_users_next_page() {
    run(|admin| async move {
        let api = admin.app.admin().await;
        let _ = admin.app.user(&api, "devi@example.com", "Devi Rao", "developer", PW).await;
        let devi = admin.another().await?;
        devi.sign_in("devi@example.com", PW).await?;
        devi.wait_for_heading("Welcome, Devi Rao").await?;
        assert_eq!(devi.text_of("my-role").await?, "Developer");
        assert!(!devi.shows_text("Activity").await?, "only admins see the Activity tile");

        sign_in_as_admin(&admin).await?;
        open_user(&admin, "Devi Rao").await?;
        assert_eq!(admin.text_of("user-role").await?, "Developer");
        admin.select("role", "Admin").await?;
        admin.click_button("Update Role").await?;
        admin.wait_for_heading("Change Devi Rao's role to Admin?").await?;
        admin.click_button("Change role").await?;
        admin.wait_for_text("The role was updated. It applies from the user's next request.").await?;
        assert_eq!(admin.text_of("user-role").await?, "Admin");
        assert_eq!(admin.selected("role").await?, "Admin");

        devi.open("/").await?;
        devi.wait_for_heading("Welcome, Devi Rao").await?;
        assert_eq!(devi.text_of("my-role").await?, "Admin", "the new role shows on the next page");
        assert!(devi.shows_text("Activity").await?, "with it the Activity tile");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_user_next_page_is_sign_in() {
    run(|admin| async move {
        let api = admin.app.admin().await;
        let _ = admin.app.user(&api, "omar@example.com", "Omar Haddad", "developer", PW).await;
        let omar = admin.another().await?;
        omar.sign_in("omar@example.com", PW).await?;
        omar.wait_for_heading("Welcome, Omar Haddad").await?;

        sign_in_as_admin(&admin).await?;
        open_user(&admin, "Omar Haddad").await?;
        assert_eq!(admin.text_of("user-status").await?, "active");
        admin.open_menu("details.actions-menu", "the Actions menu").await?;
        admin.click_link("Deactivate").await?;
        admin.wait_for_heading("Deactivate Omar Haddad?").await?;
        admin.click_button("Deactivate").await?;
        admin.wait_for_text("The user was deactivated: every session and API token ended.").await?;
        assert_eq!(admin.text_of("user-status").await?, "deactivated");
        admin.open_menu("details.actions-menu", "the Actions menu").await?;
        admin.wait(Locator::LinkText("Reactivate"), "the Reactivate action").await?;

        omar.open("/account").await?;
        omar.wait_for_heading("Sign in").await?;
        assert_eq!(omar.path().await?, "/login", "the session ended with the deactivation");
        omar.sign_in("omar@example.com", PW).await?;
        omar.wait(Locator::Id("login-error"), "the sign-in error").await?;
        assert_eq!(omar.path().await?, "/login", "a deactivated user cannot sign in again");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_mfa_then_sign_in_with_a_code() {
    run(|b| async move {
        sign_in_as_admin(&b).await?;
        b.open_profile_menu().await?;
        b.click_link("Account Settings").await?;
        b.wait_for_heading("Account Settings").await?;
        b.click_link("Security").await?;
        b.wait_for_heading("Multi-factor authentication").await?;
        assert!(b.text_of("mfa-state").await?.starts_with("MFA is off."));
        let secret = enroll_mfa(&b).await?;
        b.sign_out().await?;

        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        b.wait_for_heading("Enter your code").await?;
        b.fill("code", &wrong_code(&secret, b.app.clock_now())).await?;
        b.click_button("Verify").await?;
        assert_eq!(b.text_of("mfa-error").await?, "That code is not right (or was used already).");
        b.wait_for_heading("Enter your code").await?;

        // The code of the enrollment's time step is spent: the next one is a new code.
        b.app.advance(time::Duration::seconds(30));
        b.fill("code", &totp_code(&secret, b.app.clock_now())).await?;
        b.click_button("Verify").await?;
        b.wait_for_heading("Welcome, Ada Lovelace").await?;
        assert_eq!(b.path().await?, "/");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_grace_period_lands_on_enrollment_only() {
    run(|b| async move {
        let api = b.app.admin().await;
        // Invited first: once the policy is saved, the admin (without MFA) may only enroll too.
        let _ = b.app.user(&api, "vera@example.com", "Vera Lind", "viewer", PW).await;
        let policy = json!({
            "mfa": { "mode": "all", "roles": [], "grace_period_days": 0 },
            "password": { "min_length": 8, "require_uppercase": true, "require_lowercase": true, "require_digit": true, "require_special": true, "block_common": true },
            "sessions": { "idle_timeout_minutes": 60, "absolute_timeout_hours": 12 }
        });
        let (status, body) = api.send(reqwest::Method::PUT, "/api/v1/policies/security", Some(policy)).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        b.sign_in("vera@example.com", PW).await?;
        b.wait_for_heading("Multi-factor authentication").await?;
        assert_eq!(b.path().await?, "/account/security");
        // `p#mfa-banner`: the top bar also carries the id on a broken Settings link (see the report).
        let banner = b.wait(Locator::Css("p#mfa-banner"), "the MFA banner").await?.text().await?;
        assert!(banner.contains("requires multi-factor authentication before you can continue"), "{banner}");
        b.wait(Locator::XPath("//button[normalize-space()='Enable MFA']"), "the Enable MFA button").await?;
        assert!(!b.shows_text("API tokens").await?, "the restricted session only enrolls");

        for path in ["/", "/settings/users"] {
            b.open(path).await?;
            b.wait_for_heading("Multi-factor authentication").await?;
            assert_eq!(b.path().await?, "/account/security", "{path} leads back to enrollment");
        }

        enroll_mfa(&b).await?;
        b.open("/").await?;
        b.wait_for_heading("Welcome, Vera Lind").await?;
        assert_eq!(b.path().await?, "/");
        assert_eq!(b.text_of("my-role").await?, "Viewer");
        ensure!(b.client.find_all(Locator::Id("mfa-banner")).await?.is_empty(), "no banner once MFA is on");
        Ok(())
    })
    .await;
}

async fn sign_in_as_admin(b: &Browser) -> Result<()> {
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    b.wait_for_heading("Welcome, Ada Lovelace").await?;
    Ok(())
}

/// Settings → Users, from the top bar.
async fn open_users(b: &Browser) -> Result<()> {
    b.click_link("Settings").await?;
    b.wait(Locator::Css("nav.sidenav"), "the Settings side menu").await?;
    b.click_link("Users").await?;
    b.wait_for_heading("Users").await?;
    b.wait_for_path("/settings/users").await
}

/// Settings → Users → the user named `name`.
async fn open_user(b: &Browser, name: &str) -> Result<()> {
    open_users(b).await?;
    b.click_link(name).await?;
    b.wait_for_heading(name).await?;
    Ok(())
}

/// From the Security tab: Enable MFA, the code for the key shown, the backup codes, Activate
/// MFA. Answers the key (base32, without the spaces of its groups).
async fn enroll_mfa(b: &Browser) -> Result<String> {
    b.click_button("Enable MFA").await?;
    b.wait_for_heading("Scan the QR code").await?;
    let shown = b.text_of("mfa-secret").await?;
    ensure!(shown.split(' ').all(|g| (1..=4).contains(&g.len())), "the key is shown in groups of 4: {shown:?}");
    let secret: String = shown.split_whitespace().collect();
    b.fill("code", &totp_code(&secret, b.app.clock_now())).await?;
    b.click_button("Verify code").await?;
    b.wait_for_heading("Save your backup codes").await?;
    let codes = b.texts("#backup-codes li").await?;
    ensure!(codes.len() == 10, "10 backup codes, not {codes:?}");
    ensure!(codes.iter().all(|c| !c.trim().is_empty()), "every backup code is shown: {codes:?}");
    b.set_checked("saved", true).await?;
    b.click_button("Activate MFA").await?;
    b.wait_for_text("MFA is on. From now on, sign-in asks for a code from your app.").await?;
    let state = b.text_of("mfa-state").await?;
    ensure!(state.contains("MFA is on") && state.contains("10 backup codes left"), "{state:?}");
    Ok(secret)
}

/// A 6-digit code that the authenticator does not show around `at`.
fn wrong_code(secret: &str, at: OffsetDateTime) -> String {
    let near: Vec<String> = [-30, 0, 30].iter().map(|s| totp_code(secret, at + time::Duration::seconds(*s))).collect();
    (0..10).map(|d| d.to_string().repeat(6)).find(|c| !near.contains(c)).expect("some code differs")
}
