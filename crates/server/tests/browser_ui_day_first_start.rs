//! The first start in the browser (issue 10, point 11): with no admin yet, `/` asks for the
//! set-up token, the link `keyward serve` printed fills it in, the first admin is created and
//! signed in, and then the link is dead.

#[path = "support/browser.rs"]
mod browser_support;
mod common;
#[path = "support/ui_day.rs"]
mod ui_day;

use browser_support::run_fresh;
use fantoccini::Locator;

const PASSWORD: &str = "Correct-Horse-7-Battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_admin_is_created_from_the_set_up_link() {
    run_fresh(|b| async move {
        let link = b.app.setup_link.clone().expect("no admin exists, so the server made a set-up link");

        // The start page asks for the token; a wrong one is refused and what was typed stays.
        b.open("/").await?;
        b.wait_for_heading("Create the first admin").await?;
        ui_day::screenshots(&b, "first-admin").await?;
        b.open("/login").await?;
        b.wait_for_heading("Create the first admin").await?;
        assert_eq!(b.path().await?, "/", "nobody can sign in yet: sign-in leads to the set-up page");
        b.fill("token", "not-the-token").await?;
        b.fill("full_name", "Grace Hopper").await?;
        b.fill("email", "grace@example.com").await?;
        b.fill("password", PASSWORD).await?;
        b.fill("password_confirm", PASSWORD).await?;
        b.click_button("Create admin and sign in").await?;
        let error = b.text_of("setup-error").await?;
        assert!(error.contains("The set-up token is not right"), "{error}");
        assert_eq!(b.value_of("full_name").await?, "Grace Hopper");
        assert_eq!(b.value_of("email").await?, "grace@example.com");

        // The link fills the token in; a mismatch and the policy's failures are said at once.
        b.open_url(&link).await?;
        b.wait_for_heading("Create the first admin").await?;
        assert!(b.client.find_all(Locator::Id("token")).await?.is_empty(), "the link carries the token: it is not asked for");
        b.fill("full_name", "Grace Hopper").await?;
        b.fill("email", "grace@example.com").await?;
        b.fill("password", "short").await?;
        b.fill("password_confirm", "other").await?;
        b.click_button("Create admin and sign in").await?;
        let error = b.text_of("setup-error").await?;
        assert!(error.contains("The two passwords do not match."), "{error}");
        assert!(error.contains("uppercase"), "the policy's failures come with the mismatch: {error}");
        assert_eq!(b.value_of("email").await?, "grace@example.com");

        b.fill("password", PASSWORD).await?;
        b.fill("password_confirm", PASSWORD).await?;
        b.click_button("Create admin and sign in").await?;
        b.wait_for_heading("Welcome, Grace Hopper").await?;
        assert_eq!(b.text_of("my-role").await?, "Admin");

        // Once an admin exists the link is dead and `/` is the ordinary start.
        b.sign_out().await?;
        b.open_url(&link).await?;
        b.wait_for_heading("This link cannot be used").await?;
        b.wait_for_text("An admin already exists, so the set-up link no longer works. Sign in instead.").await?;
        b.open("/").await?;
        b.wait_for_heading("Sign in").await?;
        b.sign_in("grace@example.com", PASSWORD).await?;
        b.wait_for_heading("Welcome, Grace Hopper").await?;
        Ok(())
    })
    .await;
}
