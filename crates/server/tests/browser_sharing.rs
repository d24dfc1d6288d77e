//! Browser tests for teams and resources: an app shared with a team from the Share dialog as
//! the owner and then seen by a member in a second browser, a team created from Settings →
//! Teams, and a data source's Permissions and write-only credentials.
//!
//! People, teams and resources that a test only needs to exist are made through the API; what
//! the test is about is done in the browser. The harness is `support/browser.rs`.

#[path = "support/browser.rs"]
mod browser_support;
mod common;

use anyhow::{Context, Result, ensure};
use browser_support::{Browser, run, xpath_literal};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Client};
use fantoccini::Locator;
use fantoccini::elements::Element;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A password every policy in these tests accepts.
const PW: &str = "Plover-Quartz-42!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_an_app_with_a_team_at_view_from_the_dialog() {
    run(|owner| async move {
        let api = owner.app.admin().await;
        // Both developers: a developer may edit apps, so a missing Edit control is the share's level.
        let (owner_api, _) = person(&owner, &api, "owen@example.com", "Owen Park", "developer").await?;
        let (_, member_id) = person(&owner, &api, "mina@example.com", "Mina Cho", "developer").await?;
        let (status, team) = api.post("/api/v1/teams", json!({ "name": "Billing Team", "member_ids": [member_id] })).await;
        ensure!(status == StatusCode::CREATED, "create the team: {team}");
        let team_id = team["id"].as_str().context("the team's id")?.to_owned();
        let (status, app) = owner_api.post("/api/v1/resources", json!({ "kind": "app", "name": "Billing Dashboard" })).await;
        ensure!(status == StatusCode::CREATED, "create the app: {app}");
        let app_path = format!("/resources/{}", app["id"].as_str().context("the app's id")?);

        owner.sign_in("owen@example.com", PW).await?;
        owner.wait_for_heading("Welcome, Owen Park").await?;
        open_resource(&owner, "Billing Dashboard").await?;
        owner.wait_for_path(&app_path).await?;
        assert_eq!(owner.text_of("my-access").await?, "Full");
        owner.wait(Locator::Id("edit-resource"), "the owner's Edit form").await?;
        owner.wait(Locator::Id("no-shares"), "the empty list of shares").await?;

        open_share_dialog(&owner).await?;
        let dialog = owner.client.find(Locator::Css("#share-dialog .dialog")).await?;
        assert_eq!(dialog.find(Locator::Css("h2")).await?.text().await?, "Share Billing Dashboard");
        let teams = "//fieldset[@id='share-subjects']//label[input[starts-with(@value, 'team:')]]";
        assert_eq!(owner.client.find(Locator::XPath(teams)).await?.text().await?, "Billing Team", "the team in Teams and users");
        let tick = owner.client.find(Locator::XPath(&format!("{teams}/input"))).await?;
        assert_eq!(tick.attr("value").await?.as_deref(), Some(format!("team:{team_id}").as_str()));
        tick.click().await?;
        ensure!(tick.is_selected().await?, "Billing Team is ticked");
        ensure!(level(&owner, "View only").await?.is_selected().await?, "View only is the level chosen first");
        ensure!(!level(&owner, "Edit").await?.is_selected().await?, "Edit is not chosen");
        let share = "//*[@id='share-dialog']//form//button[@type='submit'][normalize-space()='Share']";
        owner.wait(Locator::XPath(share), "the Share button of the dialog").await?.click().await?;

        owner.wait_for_text("Shared. It applies on their very next request.").await?;
        owner.wait_for_path(&app_path).await?;
        owner.wait(Locator::Id("shares"), "the table of shares").await?;
        assert_eq!(owner.texts("#shares tbody tr").await?.len(), 1, "one share");
        let cells = owner.texts("#shares tbody td").await?;
        assert_eq!(cells[..3], ["Team Billing Team", "View only", "—"]);
        let heading = owner.client.find(Locator::Id("sharing-h")).await?.text().await?;
        assert_eq!(heading, "Shared with");
        ensure!(owner.client.find(Locator::Id("share-dialog")).await?.attr("open").await?.is_none(), "the new page has the dialog shut");

        let member = owner.another().await?;
        member.sign_in("mina@example.com", PW).await?;
        member.wait_for_heading("Welcome, Mina Cho").await?;
        member.click_link("Resources").await?;
        member.wait_for_heading("Resources").await?;
        member.wait(Locator::Id("resources"), "the resources table").await?;
        assert_eq!(member.texts("#resources tbody td:first-child").await?, ["Billing Dashboard"]);
        member.click_link("Billing Dashboard").await?;
        member.wait_for_path(&app_path).await?;
        assert_eq!(member.text_of("my-access").await?, "View only");
        ensure!(member.client.find_all(Locator::Id("edit-resource")).await?.is_empty(), "no Edit form at View only");
        ensure!(member.client.find_all(Locator::Id("share-dialog")).await?.is_empty(), "no Share dialog at View only");
        let share_controls = "//button[normalize-space()='Share'] | //summary[normalize-space()='Share']";
        ensure!(member.client.find_all(Locator::XPath(share_controls)).await?.is_empty(), "no Share button at View only");
        ensure!(member.client.find_all(Locator::Id("shares")).await?.is_empty(), "a viewer does not see who else has it");
        ensure!(!member.shows_text("Delete App").await?, "no Delete button at View only");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_a_team_from_settings() {
    run(|b| async move {
        let api = b.app.admin().await;
        let (_, lena_id) = person(&b, &api, "lena@example.com", "Lena Fischer", "developer").await?;

        sign_in_as_admin(&b).await?;
        open_teams(&b).await?;
        assert!(b.shows_text("No teams yet.").await?);
        b.wait(Locator::XPath("//details[summary[normalize-space()='Create Team']]/summary"), "the Create Team button")
            .await?
            .click()
            .await?;
        let name = b.wait(Locator::Id("team-name"), "the Team name field").await?;
        ensure!(name.is_displayed().await?, "Create Team opened the form");
        b.fill("team-name", "Data Platform").await?;
        b.fill("team-description", "Pipelines and the warehouse").await?;
        let tick = format!(
            "//fieldset[legend[normalize-space()='Members']]//label[contains(normalize-space(), {})]/input",
            xpath_literal("Lena Fischer")
        );
        let checkbox = b.wait(Locator::XPath(&tick), "Lena Fischer's Members checkbox").await?;
        assert_eq!(checkbox.attr("value").await?.as_deref(), Some(lena_id.as_str()));
        checkbox.click().await?;
        ensure!(checkbox.is_selected().await?, "Lena Fischer is ticked");
        b.select("team-lead", "Lena Fischer").await?;
        b.fill("max_apps", "2").await?;
        b.click_button("Create Team").await?;

        b.wait_for_heading("Data Platform").await?;
        b.wait_for_text("The team was created.").await?;
        ensure!(b.path().await?.starts_with("/settings/teams/"), "the team's page: {}", b.path().await?);
        assert_eq!(b.text_of("team-lead-name").await?, "Lena Fischer");
        let row = "//table[@id='members']/tbody/tr";
        b.wait(Locator::XPath(row), "the members table").await?;
        assert_eq!(b.client.find_all(Locator::XPath(row)).await?.len(), 1, "one member");
        let name_cell = b.client.find(Locator::XPath(&format!("{row}/td[1]"))).await?;
        assert_eq!(name_cell.text().await?, "Lena Fischer Lead");
        assert_eq!(name_cell.find(Locator::Css(".tag")).await?.text().await?, "Lead");
        assert_eq!(b.client.find(Locator::XPath(&format!("{row}/td[2]"))).await?.text().await?, "lena@example.com");
        b.wait(Locator::Id("usage"), "the Quotas and usage table").await?;
        assert_eq!(row_cells(&b, "usage", "Max apps").await?, ["Max apps", "0", "2"]);
        assert_eq!(row_cells(&b, "usage", "Max workflows").await?, ["Max workflows", "0", "Unlimited"]);
        assert_eq!(b.value_of("max_apps").await?, "2", "the quota form shows the limit");

        b.click_link("← Teams").await?;
        b.wait_for_path("/settings/teams").await?;
        assert_eq!(b.texts("#teams tbody td").await?, ["Data Platform", "Pipelines and the warehouse"]);
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_source_permissions_and_credentials() {
    run(|b| async move {
        let api = b.app.admin().await;
        let (dara, _) = person(&b, &api, "dara@example.com", "Dara Singh", "developer").await?;
        let (status, ds) = dara.post("/api/v1/resources", json!({ "kind": "data_source", "name": "Warehouse" })).await;
        ensure!(status == StatusCode::CREATED, "create the data source: {ds}");
        let id = ds["id"].as_str().context("the data source's id")?.to_owned();

        b.sign_in("dara@example.com", PW).await?;
        b.wait_for_heading("Welcome, Dara Singh").await?;
        open_resource(&b, "Warehouse").await?;
        b.wait_for_heading("Permissions").await?;
        ensure!(visibility(&b, "Private (owner and admins)").await?.is_selected().await?, "a new data source is Private");
        ensure!(!visibility(&b, "All Users").await?.is_selected().await?, "not All Users");
        assert_eq!(b.text_of("credentials-state").await?, "Credentials remain encrypted. Not set.");

        visibility(&b, "All Users").await?.click().await?;
        b.click_button("Save permissions").await?;
        b.wait_for_text("Saved.").await?;
        b.wait_for_path(&format!("/resources/{id}")).await?;
        ensure!(visibility(&b, "All Users").await?.is_selected().await?, "All Users is saved");
        ensure!(!visibility(&b, "Private (owner and admins)").await?.is_selected().await?, "no longer Private");
        let (_, shares) = dara.get(&format!("/api/v1/resources/{id}/shares")).await;
        ensure!(shares.to_string().contains("all_users"), "shared with all users: {shares}");

        let secret = "Hunter2-secret";
        b.fill("credentials", &format!(r#"{{"user":"etl","password":"{secret}"}}"#)).await?;
        let before = b.app.clock_now();
        b.click_button("Save credentials").await?;
        b.wait_for_text("The credentials were saved, encrypted.").await?;
        let after = b.app.clock_now();
        let state = b.text_of("credentials-state").await?;
        let expected = [before, after].map(|t| format!("Credentials remain encrypted. Set, last changed at {}.", minute(t)));
        ensure!(expected.contains(&state), "{state:?} is not one of {expected:?}");
        assert_eq!(b.value_of("credentials").await?, "", "the field is write-only");
        let source = b.client.source().await?;
        ensure!(!source.contains(secret), "the page never shows the secret");
        let (_, got) = dara.get(&format!("/api/v1/resources/{id}")).await;
        ensure!(got["credentials_updated_at"].is_string(), "the credentials are set: {got}");
        Ok(())
    })
    .await;
}

/// A person invited through the API who has set `PW`; answers their API client and id.
async fn person(b: &Browser, admin: &Client, email: &str, name: &str, role: &str) -> Result<(Client, String)> {
    let client = b.app.user(admin, email, name, role, PW).await;
    let (status, me): (StatusCode, Value) = client.get("/api/v1/me").await;
    ensure!(status == StatusCode::OK, "{me}");
    let id = me["id"].as_str().context("the person's id")?.to_owned();
    Ok((client, id))
}

async fn sign_in_as_admin(b: &Browser) -> Result<()> {
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    b.wait_for_heading("Welcome, Ada Lovelace").await?;
    Ok(())
}

/// Settings → Teams, from the top bar.
async fn open_teams(b: &Browser) -> Result<()> {
    b.click_link("Settings").await?;
    b.wait(Locator::Css("nav.sidenav"), "the Settings side menu").await?;
    b.click_link("Teams").await?;
    b.wait_for_heading("Teams").await?;
    b.wait_for_path("/settings/teams").await
}

/// Resources, from the top bar, then the resource named `name`.
async fn open_resource(b: &Browser, name: &str) -> Result<()> {
    b.click_link("Resources").await?;
    b.wait_for_heading("Resources").await?;
    b.wait_for_path("/resources").await?;
    b.click_link(name).await?;
    b.wait(Locator::Id("my-access"), &format!("the page of {name}")).await?;
    let heading = b.client.find(Locator::Css("h1")).await?.text().await?;
    ensure!(heading.starts_with(name), "the page of {name}, not {heading:?}");
    Ok(())
}

/// Clicks the Share button at the top of an app's page and waits for its dialog.
async fn open_share_dialog(b: &Browser) -> Result<()> {
    let summary = b.wait(Locator::XPath("//details[@id='share-dialog']/summary[normalize-space()='Share']"), "the Share button").await?;
    summary.click().await.context("click Share")?;
    let dialog = b.wait(Locator::Css("#share-dialog[open] .dialog"), "the Share dialog").await?;
    ensure!(dialog.is_displayed().await?, "the Share dialog did not open");
    Ok(())
}

/// The radio button labelled `label` in the Share dialog's Permission.
async fn level(b: &Browser, label: &str) -> Result<Element> {
    let xpath = format!(
        "//*[@id='share-dialog']//fieldset[legend[normalize-space()='Permission']]//label[normalize-space()={}]/input",
        xpath_literal(label)
    );
    b.wait(Locator::XPath(&xpath), &format!("the level {label:?}")).await
}

/// The radio button labelled `label` in a data source's Permissions.
async fn visibility(b: &Browser, label: &str) -> Result<Element> {
    let xpath = format!(
        "//fieldset[legend[normalize-space()='Who may use this data source']]//label[normalize-space()={}]/input",
        xpath_literal(label)
    );
    b.wait(Locator::XPath(&xpath), &format!("the choice {label:?}")).await
}

/// The texts of the cells of the row of table `#table` whose first cell reads `first`.
async fn row_cells(b: &Browser, table: &str, first: &str) -> Result<Vec<String>> {
    let xpath = format!("//table[@id={}]/tbody/tr[td[1][normalize-space()={}]]/td", xpath_literal(table), xpath_literal(first));
    let mut out = Vec::new();
    for cell in b.client.find_all(Locator::XPath(&xpath)).await? {
        out.push(cell.text().await?);
    }
    ensure!(!out.is_empty(), "no row {first:?} in #{table}");
    Ok(out)
}

/// A time as the pages show it, to the minute.
fn minute(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}
