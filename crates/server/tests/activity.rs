//! The Activity views over HTTP on both engines: events read as sentences with names; the
//! filters (time, who, action, what) narrow the page, survive paging and reach the export
//! links; the sign-ins chart counts per day; a resource's page shows its history and a team's
//! page its quota use as bars.

mod common;

use common::{ADMIN_EMAIL, Client, Engine, TestApp, spawn_app};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

const PW: &str = "Plover-Quartz-42!";

engine_tests!(
    events_read_as_sentences_and_filter,
    paging_keeps_the_filters,
    the_chart_counts_sign_ins_per_day,
    history_and_quota_bars,
    the_user_page_shows_sign_ins_and_last_active,
);

/// A page as an admin's browser gets it: its status and HTML.
async fn page(c: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = c.http.get(format!("{}{path}", app.base)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Text between `start` and the next `end` for each occurrence, HTML entities decoded.
fn all_between(html: &str, start: &str, end: &str) -> Vec<String> {
    html.split(start)
        .skip(1)
        .map(|rest| {
            rest.split(end)
                .next()
                .unwrap_or_default()
                .replace("&#39;", "'")
                .replace("&#34;", "\"")
                .replace("&#38;", "&")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

fn sentences(html: &str) -> Vec<String> {
    all_between(html, "<span class=\"sentence\">", "</span>")
}

/// The href of the element with this id, decoded.
fn href(html: &str, id: &str) -> String {
    all_between(html, &format!("id=\"{id}\" download href=\""), "\"").into_iter().next().unwrap_or_else(|| panic!("no #{id} in:\n{html}"))
}

async fn id_of(c: &Client) -> String {
    c.get("/api/v1/me").await.1["id"].as_str().unwrap().to_owned()
}

async fn events_read_as_sentences_and_filter(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let dana = app.user(&admin, "dana@example.com", "Dana Scully", "developer", PW).await;
    let dana_id = id_of(&dana).await;
    let mut stranger = app.client();
    assert_eq!(stranger.login("dana@example.com", "Not-Her-Password-1!").await.0, StatusCode::UNAUTHORIZED);

    let (status, _) = admin.patch(&format!("/api/v1/users/{dana_id}"), json!({ "role": "viewer" })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, team) = admin.post("/api/v1/teams", json!({ "name": "Data", "description": "", "member_ids": [dana_id] })).await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let (status, ds) = admin.post("/api/v1/resources", json!({ "kind": "data_source", "name": "Sales DB" })).await;
    assert_eq!(status, StatusCode::CREATED, "{ds}");
    let ds_id = ds["id"].as_str().unwrap();
    let share = json!({ "subject": { "type": "team", "id": team["id"] }, "level": "edit", "expires_at": null });
    let (status, body) = admin.post(&format!("/api/v1/resources/{ds_id}/shares"), share).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Everything: names, not ids; actions in words; only what changed.
    let (status, html) = page(&admin, &app, "/settings/activity").await;
    assert_eq!(status, StatusCode::OK);
    let all = sentences(&html);
    for expected in [
        "Ada Lovelace changed Dana Scully's role from Developer to Viewer",
        "Ada Lovelace created data source Sales DB",
        "Ada Lovelace created team Data",
        "Ada Lovelace invited dana@example.com as Developer",
        "Dana Scully accepted their invitation",
        "Failed sign-in as Dana Scully (bad password)",
        "Ada Lovelace signed in",
    ] {
        assert!(all.iter().any(|s| s == expected), "no {expected:?} in {all:#?}");
    }
    assert!(
        all.iter().any(|s| s.starts_with("Ada Lovelace shared Sales DB with team Data (edit)")),
        "the share reads as a sentence: {all:#?}"
    );
    assert!(!all.iter().any(|s| s.contains(&dana_id) || s.contains(ds_id)), "ids never show: {all:#?}");

    // Who: the events Dana caused, and nobody else's.
    let (_, html) = page(&admin, &app, "/settings/activity?actor=dana%40example.com").await;
    let hers = sentences(&html);
    assert!(
        !hers.is_empty() && hers.iter().all(|s| s.starts_with("Dana Scully") || s.starts_with("Failed sign-in as Dana Scully")),
        "{hers:#?}"
    );
    // Who and what, and the export carries both.
    let (_, html) = page(&admin, &app, "/settings/activity?actor=dana%40example.com&action=auth.login_failed").await;
    assert_eq!(sentences(&html), ["Failed sign-in as Dana Scully (bad password)"]);
    let csv_href = href(&html, "export-csv");
    assert!(csv_href.contains(&format!("actor_id={dana_id}")) && csv_href.contains("action=auth.login_failed"), "{csv_href}");
    let csv_text = admin.http.get(format!("{}{csv_href}", app.base)).send().await.unwrap().text().await.unwrap();
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv_text.as_bytes()).records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{csv_href}\n{csv_text}");
    assert!(rows[0].iter().any(|c| c == "auth.login_failed") && rows[0].iter().any(|c| c == dana_id), "{csv_text}");

    // What: the Resource changes view holds the creation, the share and the visibility change.
    let (_, html) = page(&admin, &app, "/settings/activity?target_type=resource").await;
    let changes = sentences(&html);
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert!(changes.iter().all(|s| s.contains("Sales DB")), "{changes:#?}");
    assert!(html.contains("aria-current=\"page\">Resource changes</a>"), "the view is marked current");

    // When: today holds them all, tomorrow none; the until day is included.
    let today = app.clock_now().date();
    let (_, html) = page(&admin, &app, &format!("/settings/activity?since={today}&until={today}&action=auth.login")).await;
    assert!(!sentences(&html).is_empty());
    assert!(href(&html, "export-jsonl").contains("since="), "the export carries the time range");
    let tomorrow = today + Duration::days(1);
    let (_, html) = page(&admin, &app, &format!("/settings/activity?since={tomorrow}")).await;
    assert!(sentences(&html).is_empty() && html.contains("No events match."));

    // Filters in words when they cannot be read.
    let (status, html) = page(&admin, &app, "/settings/activity?since=yesterday").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Dates are written YYYY-MM-DD."), "{html}");
    let (_, html) = page(&admin, &app, "/settings/activity?actor=nobody%40example.com").await;
    assert!(html.contains("No user has this email."));
    // The action filter lists actions in words.
    assert!(html.contains(">Failed sign-in</option>"));

    // Admins only.
    let (status, _) = page(&dana, &app, "/settings/activity").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn paging_keeps_the_filters(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (_, r) = admin.post("/api/v1/resources", json!({ "kind": "workflow", "name": "etl-0" })).await;
    let id = r["id"].as_str().unwrap().to_owned();
    for i in 1..=55 {
        let (status, _) = admin.patch(&format!("/api/v1/resources/{id}"), json!({ "name": format!("etl-{i}") })).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, html) = page(&admin, &app, "/settings/activity?target_type=resource").await;
    let first = sentences(&html);
    assert_eq!(first.len(), 50);
    assert_eq!(first[0], "Ada Lovelace changed etl-55's name from \u{201c}etl-54\u{201d} to \u{201c}etl-55\u{201d}");
    let older = all_between(&html, "<a id=\"older\" href=\"", "\"").pop().expect("an Older events link");
    assert!(older.contains("target_type=resource") && older.contains("cursor="), "{older}");
    let (_, html) = page(&admin, &app, &older).await;
    let rest = sentences(&html);
    assert_eq!(rest.len(), 6, "55 changes and the creation, 50 a page: {rest:#?}");
    assert_eq!(rest.last().unwrap(), "Ada Lovelace created workflow etl-55");
    assert!(!html.contains("id=\"older\""), "the last page");
}

/// The numbers of the chart's table: (day, sign-ins, failed), newest first.
fn chart_rows(html: &str) -> Vec<(String, i64, i64)> {
    let table = all_between(html, "<table id=\"chart-numbers\">", "</table>").pop().expect("the chart's numbers");
    all_between(&table, "<tr><td>", "</tr>")
        .into_iter()
        .map(|row| {
            let cells: Vec<String> = row.split("</td><td>").map(|c| c.trim_end_matches("</td>").to_owned()).collect();
            (cells[0].clone(), cells[1].parse().unwrap(), cells[2].parse().unwrap())
        })
        .collect()
}

async fn the_chart_counts_sign_ins_per_day(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    // Noon of the next day, so that the day does not change under the test.
    let now = app.clock_now();
    app.advance((now.date() + Duration::days(1)).midnight().assume_utc() + Duration::hours(12) - now);
    let admin = app.admin().await;
    let mut other = app.client();
    for _ in 0..2 {
        assert_eq!(other.login(ADMIN_EMAIL, "Not-The-Password-9!").await.0, StatusCode::UNAUTHORIZED);
    }
    let day_one = app.clock_now().date();
    app.advance(Duration::days(1));
    let admin2 = app.admin().await;
    assert_eq!(other.login(ADMIN_EMAIL, "Still-Not-It-9!").await.0, StatusCode::UNAUTHORIZED);
    let (status, html) = page(&admin2, &app, "/settings/activity").await;
    assert_eq!(status, StatusCode::OK);
    let rows = chart_rows(&html);
    assert_eq!(rows.len(), 30, "every one of the last 30 days");
    let day_two = day_one + Duration::days(1);
    assert_eq!(rows[0], (day_two.to_string(), 1, 1), "today: one sign-in, one failure");
    assert_eq!(rows[1], (day_one.to_string(), 1, 2), "yesterday: one sign-in, two failures");
    assert!(rows[2..].iter().all(|r| r.1 == 0 && r.2 == 0), "{rows:?}");
    assert!(html.contains("<svg class=\"chart\"") && html.contains("role=\"img\""), "an SVG chart drawn on the server");
    assert!(html.contains("2 sign-ins and 3 failed sign-ins"), "the chart's description holds the totals");

    // A month later the first day has left the chart.
    app.advance(Duration::days(29));
    let admin3 = app.admin().await;
    let (_, html) = page(&admin3, &app, "/settings/activity").await;
    let rows = chart_rows(&html);
    assert_eq!(rows.last().unwrap(), &(day_two.to_string(), 1, 1));
    drop(admin);
}

async fn history_and_quota_bars(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (_, team) = admin.post("/api/v1/teams", json!({ "name": "Platform", "description": "" })).await;
    let team_id = team["id"].as_str().unwrap().to_owned();
    let quotas = json!({ "max_cpu_millis": 4000, "max_memory_mib": null, "max_storage_gib": null, "max_apps": 2, "max_workflows": null, "max_workspaces": null });
    let (status, body) = admin.send(reqwest::Method::PUT, &format!("/api/v1/teams/{team_id}/quotas"), Some(quotas)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, r) =
        admin.post("/api/v1/resources", json!({ "kind": "app", "name": "Billing", "team_id": team_id, "cpu_millis": 1000 })).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap();
    assert_eq!(admin.patch(&format!("/api/v1/resources/{id}"), json!({ "name": "Billing App" })).await.0, StatusCode::OK);

    let (_, html) = page(&admin, &app, &format!("/resources/{id}")).await;
    let history = sentences(&html);
    assert_eq!(
        history,
        [
            "Ada Lovelace changed Billing App's name from \u{201c}Billing\u{201d} to \u{201c}Billing App\u{201d}",
            "Ada Lovelace created app Billing App in team Platform",
        ]
    );
    // Someone who may only view the resource does not see its history.
    let viewer = app.user(&admin, "vic@example.com", "Vic", "developer", PW).await;
    let vic_id = id_of(&viewer).await;
    let share = json!({ "subject": { "type": "user", "id": vic_id }, "level": "view", "expires_at": null });
    assert_eq!(admin.post(&format!("/api/v1/resources/{id}/shares"), share).await.0, StatusCode::CREATED);
    let (status, html) = page(&viewer, &app, &format!("/resources/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("id=\"history\""));

    // The team's quota use as bars, with the numbers as text: 1 of 2 apps is half.
    let (_, html) = page(&admin, &app, &format!("/settings/teams/{team_id}")).await;
    assert!(html.contains("aria-label=\"50% of the limit\""), "{html}");
    assert!(html.contains("aria-label=\"25% of the limit\""), "1000 of 4000 millicores");
}

async fn the_user_page_shows_sign_ins_and_last_active(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let dana = app.user(&admin, "dana@example.com", "Dana Scully", "developer", PW).await;
    let dana_id = id_of(&dana).await;
    let mut stranger = app.client();
    assert_eq!(stranger.login("dana@example.com", "Not-Her-Password-1!").await.0, StatusCode::UNAUTHORIZED);
    let mut phone = app.client();
    assert_eq!(phone.login("dana@example.com", PW).await.0, StatusCode::OK);

    // Last active is written at most once a minute per session.
    let last_active = async || admin.get(&format!("/api/v1/users/{dana_id}")).await.1["last_active_at"].clone();
    let before = last_active().await;
    assert!(before.is_string(), "a sign-in counts as activity");
    app.advance(Duration::seconds(30));
    assert_eq!(phone.get("/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(last_active().await, before, "not written again within the minute");
    app.advance(Duration::seconds(31));
    assert_eq!(phone.get("/api/v1/me").await.0, StatusCode::OK);
    let after = last_active().await;
    assert_ne!(after, before, "written again once the minute has passed");

    // The user page: sign-in history (the failure with its reason) and the last active time.
    let (status, html) = page(&admin, &app, &format!("/settings/users/{dana_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Sign-in history") && html.contains("Failed (bad password)") && html.contains("Signed in"), "{html}");
    let shown = time::OffsetDateTime::parse(after.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    let minute =
        format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", shown.year(), u8::from(shown.month()), shown.day(), shown.hour(), shown.minute());
    assert!(html.contains(&format!("<dt>Last active</dt><dd>{minute}</dd>")), "last active {minute} in:\n{html}");
}
