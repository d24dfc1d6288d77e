//! Browser tests for sharing as people do it: two people sharing the same app at once (both
//! shares kept), the Share dialog (several teams and users in one submit, focus, Escape, a
//! click outside, the viewer warning, every choice kept after an error), a data source's
//! Permissions (Specific → All Users → Specific keeps the team), and a workspace's inherited
//! access with "Why can X do this?".
//!
//! People, teams and resources a test only needs to exist are made through the API; what the
//! test is about is done in the browser. The harness is `support/browser.rs`.

#[path = "support/browser.rs"]
mod browser_support;
mod common;

use anyhow::{Context, Result, ensure};
use browser_support::{Browser, run, xpath_literal};
use common::Client;
use fantoccini::Locator;
use fantoccini::elements::Element;
use fantoccini::key::Key;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PW: &str = "Plover-Quartz-42!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_share_the_same_app_at_once_and_both_shares_are_kept() {
    run(|owner| async move {
        let api = owner.app.admin().await;
        let (owner_api, _) = person(&owner, &api, "owen@example.com", "Owen Park", "developer").await?;
        let (_, editor_id) = person(&owner, &api, "edda@example.com", "Edda Moss", "developer").await?;
        let (_, uma_id) = person(&owner, &api, "uma@example.com", "Uma Lee", "developer").await?;
        let (status, team) = api.post("/api/v1/teams", json!({ "name": "Ops", "member_ids": [uma_id] })).await;
        ensure!(status == StatusCode::CREATED, "{team}");
        let id = resource(&owner_api, "app", "Billing Dashboard").await?;
        let share = json!({ "subject": { "type": "user", "id": editor_id }, "level": "edit" });
        ensure!(owner_api.post(&format!("/api/v1/resources/{id}/shares"), share).await.0 == StatusCode::CREATED);

        let editor = owner.another().await?;
        for (b, email) in [(&owner, "owen@example.com"), (&editor, "edda@example.com")] {
            b.sign_in(email, PW).await?;
            b.wait(Locator::Css("nav.mainnav"), "the signed-in page").await?;
            b.open(&format!("/resources/{id}")).await?;
            open_share_dialog(b).await?;
        }
        pick(&owner, "Ops").await?.click().await?;
        pick(&editor, "Uma Lee").await?.click().await?;
        let (a, b) = (share_button(&owner).await?, share_button(&editor).await?);
        // Both submit at once: each is one add in the core, so neither overwrites the other.
        let (ra, rb) = tokio::join!(a.click(), b.click());
        ra.context("Owen's Share")?;
        rb.context("Edda's Share")?;
        for b in [&owner, &editor] {
            b.wait_for_text("Shared. It applies on their very next request.").await?;
        }
        owner.open(&format!("/resources/{id}")).await?;
        let who = owner.texts("#shares tbody td:first-child").await?;
        for name in ["Team Ops", "Uma Lee", "Edda Moss"] {
            ensure!(who.iter().any(|w| w == name), "{name} is kept: {who:?}");
        }
        let (_, list) = owner_api.get(&format!("/api/v1/resources/{id}/shares")).await;
        ensure!(list.as_array().map(Vec::len) == Some(3), "three shares: {list}");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_share_dialog_takes_several_warns_about_viewers_and_keeps_choices_after_an_error() {
    run(|b| async move {
        let api = b.app.admin().await;
        let (owner_api, _) = person(&b, &api, "owen@example.com", "Owen Park", "developer").await?;
        person(&b, &api, "vera@example.com", "Vera Viewer", "viewer").await?;
        person(&b, &api, "uma@example.com", "Uma Lee", "developer").await?;
        ensure!(api.post("/api/v1/teams", json!({ "name": "Ops" })).await.0 == StatusCode::CREATED);
        let id = resource(&owner_api, "dashboard", "Revenue").await?;
        b.sign_in("owen@example.com", PW).await?;
        b.wait(Locator::Css("nav.mainnav"), "the signed-in page").await?;
        b.open(&format!("/resources/{id}")).await?;

        open_share_dialog(&b).await?;
        ensure!(focus_in_dialog(&b).await?, "opening the dialog moves the focus into it");
        b.client.active_element().await?.send_keys(&Key::Escape).await?;
        ensure!(!dialog_open(&b).await?, "Escape closes the dialog");
        open_share_dialog(&b).await?;
        b.client.find(Locator::Css("h1")).await?.click().await?;
        ensure!(!dialog_open(&b).await?, "a click outside closes it");

        open_share_dialog(&b).await?;
        for name in ["Ops", "Vera Viewer", "Uma Lee"] {
            pick(&b, name).await?.click().await?;
        }
        level(&b, "Edit").await?.click().await?;
        let warning = b.wait(Locator::Id("share-warning"), "the warning").await?;
        ensure!(warning.is_displayed().await?, "choosing Edit for a viewer warns before saving");
        assert_eq!(warning.text().await?, "Vera Viewer is a Viewer: they will get View only, not Edit.");
        b.client.execute("document.getElementById('share-until').value = arguments[0]", vec![json!("2001-02-03T04:05")]).await?;
        share_button(&b).await?.click().await?;

        let error = b.wait(Locator::Id("share-error"), "the error in the dialog").await?;
        assert_eq!(error.text().await?, "Until must be in the future.");
        ensure!(dialog_open(&b).await?, "the dialog is open again after the error");
        ensure!(focus_in_dialog(&b).await?, "with the focus in it");
        for name in ["Ops", "Vera Viewer", "Uma Lee"] {
            ensure!(pick(&b, name).await?.is_selected().await?, "{name} is still chosen");
        }
        ensure!(level(&b, "Edit").await?.is_selected().await?, "Edit is still chosen");
        assert_eq!(b.value_of("share-until").await?, "2001-02-03T04:05", "Until keeps what was typed");
        ensure!(b.client.find(Locator::Id("share-warning")).await?.is_displayed().await?, "the warning is back too");
        let (_, saved) = owner_api.get(&format!("/api/v1/resources/{id}/shares")).await;
        ensure!(saved == json!([]), "nothing saved: {saved}");

        b.client.execute("document.getElementById('share-until').value = ''", vec![]).await?;
        share_button(&b).await?.click().await?;
        b.wait_for_text("Shared. It applies on their very next request.").await?;
        let rows = row_texts(&b, "shares").await?;
        ensure!(rows.contains(&vec!["Team Ops".to_owned(), "Edit".into(), "—".into()]), "{rows:?}");
        ensure!(rows.contains(&vec!["Uma Lee".to_owned(), "Edit".into(), "—".into()]), "{rows:?}");
        ensure!(rows.contains(&vec!["Vera Viewer".to_owned(), "Edit (viewer: view only)".into(), "—".into()]), "{rows:?}");

        let remove = "//table[@id='shares']//tr[td[1][normalize-space()='Uma Lee']]//button[normalize-space()='Remove']";
        b.wait(Locator::XPath(remove), "Remove on Uma Lee's row").await?.click().await?;
        b.wait_for_text("The share was removed.").await?;
        let rows = row_texts(&b, "shares").await?;
        ensure!(rows.len() == 2 && !rows.iter().any(|r| r[0] == "Uma Lee"), "only Uma Lee's share went: {rows:?}");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_share_is_kept_across_specific_all_users_and_back() {
    run(|b| async move {
        let api = b.app.admin().await;
        let (dara, _) = person(&b, &api, "dara@example.com", "Dara Singh", "developer").await?;
        ensure!(api.post("/api/v1/teams", json!({ "name": "Analysts" })).await.0 == StatusCode::CREATED);
        let id = resource(&dara, "data_source", "Warehouse").await?;
        b.sign_in("dara@example.com", PW).await?;
        b.wait(Locator::Css("nav.mainnav"), "the signed-in page").await?;
        b.open(&format!("/resources/{id}")).await?;
        b.wait_for_heading("Permissions").await?;
        ensure!(visibility(&b, "Private (owner and admins)").await?.is_selected().await?);
        ensure!(!picker_shown(&b).await?, "no picker while Private");

        visibility(&b, "Specific Users/Teams").await?.click().await?;
        ensure!(picker_shown(&b).await?, "choosing Specific shows the picker at once");
        b.click_button("Save permissions").await?;
        b.wait_for_text("Saved.").await?;
        b.open(&format!("/resources/{id}")).await?;
        ensure!(visibility(&b, "Specific Users/Teams").await?.is_selected().await?, "Specific with nobody added stays Specific");
        ensure!(picker_shown(&b).await?);
        b.wait(Locator::Id("no-shares"), "the empty list").await?;

        pick(&b, "Analysts").await?.click().await?;
        share_button(&b).await?.click().await?;
        b.wait_for_text("Shared. It applies on their very next request.").await?;
        ensure!(row_texts(&b, "shares").await?.iter().any(|r| r[0] == "Team Analysts"), "the team is listed");

        visibility(&b, "All Users").await?.click().await?;
        ensure!(!picker_shown(&b).await?, "All Users hides the specific list");
        b.click_button("Save permissions").await?;
        b.wait_for_text("Saved.").await?;
        ensure!(visibility(&b, "All Users").await?.is_selected().await?);
        ensure!(!picker_shown(&b).await?);
        assert_eq!(b.text_of("all-users-level").await?, "Every user may use this data source (View only).");
        let (_, shares) = dara.get(&format!("/api/v1/resources/{id}/shares")).await;
        ensure!(shares.to_string().contains("\"team\""), "the team share is kept while All Users: {shares}");

        visibility(&b, "Specific Users/Teams").await?.click().await?;
        b.click_button("Save permissions").await?;
        b.wait_for_text("Saved.").await?;
        ensure!(picker_shown(&b).await?);
        ensure!(row_texts(&b, "shares").await?.iter().any(|r| r[0] == "Team Analysts"), "Specific shows the team again");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_shows_where_its_access_comes_from_and_why() {
    run(|b| async move {
        let api = b.app.admin().await;
        let (paula, _) = person(&b, &api, "paula@example.com", "Paula Ruiz", "data_scientist").await?;
        let (eli, eli_id) = person(&b, &api, "eli@example.com", "Eli Stone", "developer").await?;
        let (status, team) = api.post("/api/v1/teams", json!({ "name": "Modelers", "member_ids": [eli_id] })).await;
        ensure!(status == StatusCode::CREATED, "{team}");
        let project = resource(&paula, "project", "churn").await?;
        let share = json!({ "subject": { "type": "team", "id": team["id"] }, "level": "edit" });
        ensure!(paula.post(&format!("/api/v1/resources/{project}/shares"), share).await.0 == StatusCode::CREATED);
        let (status, ws) = eli.post("/api/v1/resources", json!({ "kind": "workspace", "name": "exp-1", "project_id": project })).await;
        ensure!(status == StatusCode::CREATED, "{ws}");

        b.sign_in("eli@example.com", PW).await?;
        b.wait(Locator::Css("nav.mainnav"), "the signed-in page").await?;
        b.click_link("Resources").await?;
        b.click_link("exp-1").await?;
        b.wait_for_heading("Inherited access").await?;
        assert_eq!(b.text_of("project-owner").await?, "Paula Ruiz (Full)");
        assert_eq!(row_texts(&b, "inherited-shares").await?, [vec!["Team Modelers".to_owned(), "Edit".into(), "—".into()]]);

        b.wait_for_heading("Why can X do this?").await?;
        b.select("why-user", "Paula Ruiz (paula@example.com)").await?;
        b.click_button("Explain").await?;
        assert_eq!(b.text_of("why-level").await?, "Full");
        b.wait_for_text("Owns the project churn: full access to its workspaces.").await?;
        b.select("why-user", "Eli Stone").await?;
        b.click_button("Explain").await?;
        b.wait_for_text("Owns this workspace: full access.").await?;
        b.wait_for_text("In team Modelers, which has Edit on the project churn.").await?;
        Ok(())
    })
    .await;
}

/// A person invited through the API who has set `PW`; answers their API client and id.
async fn person(b: &Browser, admin: &Client, email: &str, name: &str, role: &str) -> Result<(Client, String)> {
    let client = b.app.user(admin, email, name, role, PW).await;
    let (status, me): (StatusCode, Value) = client.get("/api/v1/me").await;
    ensure!(status == StatusCode::OK, "{me}");
    Ok((client, me["id"].as_str().context("the person's id")?.to_owned()))
}

async fn resource(owner: &Client, kind: &str, name: &str) -> Result<String> {
    let (status, r) = owner.post("/api/v1/resources", json!({ "kind": kind, "name": name })).await;
    ensure!(status == StatusCode::CREATED, "create {name}: {r}");
    Ok(r["id"].as_str().context("the id")?.to_owned())
}

async fn open_share_dialog(b: &Browser) -> Result<()> {
    let summary = b.wait(Locator::XPath("//details[@id='share-dialog']/summary[normalize-space()='Share']"), "the Share button").await?;
    summary.click().await.context("click Share")?;
    let dialog = b.wait(Locator::Css("#share-dialog[open] .dialog"), "the Share dialog").await?;
    ensure!(dialog.is_displayed().await?, "the Share dialog did not open");
    Ok(())
}

async fn dialog_open(b: &Browser) -> Result<bool> {
    Ok(b.client.find(Locator::Id("share-dialog")).await?.attr("open").await?.is_some())
}

async fn focus_in_dialog(b: &Browser) -> Result<bool> {
    let inside =
        b.client.execute("return document.querySelector('#share-dialog .dialog').contains(document.activeElement)", vec![]).await?;
    Ok(inside == json!(true))
}

/// The checkbox of the team or user whose label starts with `name` in the share form.
async fn pick(b: &Browser, name: &str) -> Result<Element> {
    let xpath = format!("//fieldset[@id='share-subjects']//label[starts-with(normalize-space(), {})]/input", xpath_literal(name));
    b.wait(Locator::XPath(&xpath), &format!("{name} in Teams and users")).await
}

async fn level(b: &Browser, label: &str) -> Result<Element> {
    let xpath = format!(
        "//form[@id='share-form']//fieldset[legend[normalize-space()='Permission']]//label[normalize-space()={}]/input",
        xpath_literal(label)
    );
    b.wait(Locator::XPath(&xpath), &format!("the level {label:?}")).await
}

async fn share_button(b: &Browser) -> Result<Element> {
    b.wait(Locator::XPath("//form[@id='share-form']//button[@type='submit'][normalize-space()='Share']"), "the form's Share button").await
}

async fn visibility(b: &Browser, label: &str) -> Result<Element> {
    let xpath = format!(
        "//fieldset[legend[normalize-space()='Who may use this data source']]//label[normalize-space()={}]/input",
        xpath_literal(label)
    );
    b.wait(Locator::XPath(&xpath), &format!("the choice {label:?}")).await
}

async fn picker_shown(b: &Browser) -> Result<bool> {
    Ok(b.wait(Locator::Id("specific-picker"), "the Specific picker").await?.is_displayed().await?)
}

/// The first three cells of each row of table `#id`.
async fn row_texts(b: &Browser, id: &str) -> Result<Vec<Vec<String>>> {
    b.wait(Locator::Id(id), &format!("the table #{id}")).await?;
    let mut out = Vec::new();
    for row in b.client.find_all(Locator::Css(&format!("#{id} tbody tr"))).await? {
        let mut cells = Vec::new();
        for cell in row.find_all(Locator::Css("td")).await?.into_iter().take(3) {
            cells.push(cell.text().await?);
        }
        out.push(cells);
    }
    Ok(out)
}
