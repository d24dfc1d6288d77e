//! Access reviews, offboarding, the background jobs' lease and the security overview, over
//! HTTP on both engines.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Client, Engine, TestApp, spawn_app};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration as StdDuration;
use time::Duration;

const PW: &str = "Plover-Quartz-42!";

engine_tests!(
    a_review_holds_admins_inactive_users_memberships_and_data_source_edits,
    revoking_a_membership_and_completing_removes_it,
    completing_needs_every_decision_and_applies_each_revoke,
    leads_review_their_teams_memberships_and_nothing_else,
    nobody_reviews_their_own_access,
    bad_input_changes_nothing,
    two_nodes_run_the_jobs_and_each_review_opens_once,
    undecided_items_are_revoked_at_the_due_date_when_the_policy_says_so,
    offboarding_deactivates_inactive_users_and_shows_departures,
);

async fn person(app: &TestApp, admin: &Client, email: &str, role: &str) -> (Client, String) {
    let c = app.user(admin, email, &email.split('@').next().unwrap_or("x").to_uppercase(), role, PW).await;
    let (_, me) = c.get("/api/v1/me").await;
    (c, me["id"].as_str().unwrap().to_owned())
}

async fn team(admin: &Client, name: &str, lead: Option<&str>, members: &[&str]) -> String {
    let (status, t) = admin.post("/api/v1/teams", json!({ "name": name, "description": "", "lead_id": lead, "member_ids": members })).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    t["id"].as_str().unwrap().to_owned()
}

async fn open(admin: &Client) -> Value {
    let (status, review) = admin.post("/api/v1/access-reviews", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{review}");
    review
}

fn items<'a>(review: &'a Value, kind: &str) -> Vec<&'a Value> {
    review["items"].as_array().unwrap().iter().filter(|i| i["kind"] == kind).collect()
}

async fn decide(c: &Client, review: &str, item: &str, decision: &str) -> (StatusCode, Value) {
    c.post(&format!("/api/v1/access-reviews/{review}/items/{item}"), json!({ "decision": decision })).await
}

/// Signs `c` in again after the clock moved past the session timeouts.
async fn sign_in_again(c: &mut Client, email: &str, password: &str) {
    let (status, body) = c.login(email, password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A world: Ada (admin), Dev (developer, lead of Platform), Vic (viewer, member of Platform,
/// never active again), and a data source Dev shares at edit with Vic's team.
struct World {
    admin: Client,
    dev: Client,
    dev_id: String,
    vic_id: String,
    team_id: String,
}

async fn world(app: &TestApp) -> World {
    let mut admin = app.admin().await;
    let (mut dev, dev_id) = person(app, &admin, "dev@example.com", "developer").await;
    let (_vic, vic_id) = person(app, &admin, "vic@example.com", "viewer").await;
    let team_id = team(&admin, "Platform", Some(&dev_id), &[&dev_id, &vic_id]).await;
    let (status, ds) = dev.post("/api/v1/resources", json!({ "kind": "data_source", "name": "Warehouse" })).await;
    assert_eq!(status, StatusCode::CREATED, "{ds}");
    let ds = ds["id"].as_str().unwrap();
    let (status, body) = dev
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/resources/{ds}/shares"),
            Some(json!([{ "subject": { "type": "team", "id": team_id }, "level": "edit" }])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A hundred days pass; Ada and Dev come back, Vic does not.
    app.advance(Duration::days(100));
    sign_in_again(&mut admin, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    sign_in_again(&mut dev, "dev@example.com", PW).await;
    World { admin, dev, dev_id, vic_id, team_id }
}

async fn a_review_holds_admins_inactive_users_memberships_and_data_source_edits(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let w = world(&app).await;
    let review = open(&w.admin).await;
    assert_eq!(review["status"], "open");
    assert!(review["period"].is_null(), "opened on demand");
    let admins = items(&review, "admin");
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0]["context"]["user_email"], ADMIN_EMAIL);
    assert!(admins[0]["context"]["last_sign_in_at"].is_string(), "the reviewer sees the last sign-in");
    let inactive = items(&review, "inactive_user");
    assert_eq!(inactive.len(), 1, "only Vic was away for more than 90 days: {review}");
    assert_eq!(inactive[0]["user_id"], w.vic_id.as_str());
    let memberships = items(&review, "team_membership");
    assert_eq!(memberships.len(), 2);
    let vic_membership = memberships.iter().find(|i| i["user_id"] == w.vic_id.as_str()).unwrap();
    assert_eq!(vic_membership["reviewer_id"], w.dev_id.as_str(), "the team's lead reviews its memberships");
    let dev_membership = memberships.iter().find(|i| i["user_id"] == w.dev_id.as_str()).unwrap();
    assert!(dev_membership["reviewer_id"].is_null(), "a lead never reviews their own membership");
    let shares = items(&review, "data_source_share");
    assert_eq!(shares.len(), 1);
    assert_eq!(shares[0]["team_id"], w.team_id.as_str());
    assert!(shares[0]["context"]["reaches"].as_str().unwrap().contains("Warehouse"));

    // Only admins open reviews and read every item; the audit log records the opening.
    let (status, _) = w.dev.post("/api/v1/access-reviews", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, log) = w.admin.get("/api/v1/audit?action=access_review.open").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
}

async fn revoking_a_membership_and_completing_removes_it(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let w = world(&app).await;
    let review = open(&w.admin).await;
    let id = review["id"].as_str().unwrap();
    let vic_membership = items(&review, "team_membership").into_iter().find(|i| i["user_id"] == w.vic_id.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Dev, the lead, revokes Vic's membership; Ada keeps everything else in one bulk decision.
    let (status, item) = decide(&w.dev, id, &vic_membership, "revoke").await;
    assert_eq!(status, StatusCode::OK, "{item}");
    assert_eq!(item["decision"], "revoke");
    let rest: Vec<String> = review["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .filter(|i| *i != vic_membership)
        .filter(|i| items(&review, "admin").iter().all(|a| a["id"] != i.as_str()))
        .collect();
    let (status, body) = w
        .admin
        .post(&format!("/api/v1/access-reviews/{id}/decisions"), json!({ "item_ids": rest, "decision": "keep", "note": "still needed" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (_, team) = w.admin.get(&format!("/api/v1/teams/{}", w.team_id)).await;
    assert_eq!(team["members"].as_array().unwrap().len(), 2, "nothing is applied before completion");

    // Ada's own admin item: with no other admin she may decide it herself.
    let ada_item = items(&review, "admin")[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = decide(&w.admin, id, &ada_item, "keep").await;
    assert_eq!(status, StatusCode::OK);

    let (status, done) = w.admin.post(&format!("/api/v1/access-reviews/{id}/complete"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    assert!(done["audit_position"].is_string());
    let outcome = done["items"].as_array().unwrap().iter().find(|i| i["id"] == vic_membership.as_str()).unwrap()["outcome"].clone();
    assert_eq!(outcome, "revoked");

    let (_, team) = w.admin.get(&format!("/api/v1/teams/{}", w.team_id)).await;
    let members: Vec<&str> = team["members"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(members, vec![w.dev_id.as_str()], "Vic left the team");
    let (_, log) = w.admin.get("/api/v1/audit?action=team.member_remove").await;
    let event = &log["items"][0];
    assert_eq!(event["details"]["via"]["access_review"], id, "{log}");

    // The report ties the review to the audit log.
    let res = w.admin.http.get(format!("{}/api/v1/access-reviews/{id}/report", w.admin.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[5], "audit_position");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), done["items"].as_array().unwrap().len());
    assert!(rows.iter().all(|r| &r[5] == done["audit_position"].as_str().unwrap()));
    assert!(rows.iter().any(|r| &r[19] == "revoked" && &r[9] == "vic@example.com"));
}

async fn completing_needs_every_decision_and_applies_each_revoke(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let w = world(&app).await;
    let review = open(&w.admin).await;
    let id = review["id"].as_str().unwrap();
    let (status, body) = w.admin.post(&format!("/api/v1/access-reviews/{id}/complete"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "review_incomplete");
    // Revoke everything: Vic is deactivated, the share goes, Ada (the last admin) stays.
    let all: Vec<&str> = review["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    let (status, body) =
        w.admin.post(&format!("/api/v1/access-reviews/{id}/decisions"), json!({ "item_ids": all, "decision": "revoke" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, done) = w.admin.post(&format!("/api/v1/access-reviews/{id}/complete"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let outcome = |kind: &str| items(&done, kind).iter().map(|i| i["outcome"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(outcome("admin"), vec!["skipped: the last active admin stays"]);
    assert_eq!(outcome("inactive_user"), vec!["revoked"]);
    assert_eq!(outcome("data_source_share"), vec!["revoked"]);
    let (_, vic) = w.admin.get(&format!("/api/v1/users/{}", w.vic_id)).await;
    assert_eq!(vic["status"], "deactivated");
    let (_, me) = w.admin.get("/api/v1/me").await;
    assert_eq!(me["role"], "admin");
    // A completed review no longer changes.
    let item = review["items"][0]["id"].as_str().unwrap();
    let (status, body) = decide(&w.admin, id, item, "keep").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = w.admin.post(&format!("/api/v1/access-reviews/{id}/complete"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn leads_review_their_teams_memberships_and_nothing_else(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let w = world(&app).await;
    let review = open(&w.admin).await;
    let id = review["id"].as_str().unwrap();
    let (status, list) = w.dev.get("/api/v1/access-reviews").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (status, mine) = w.dev.get(&format!("/api/v1/access-reviews/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["team_membership"], "the lead sees only the items assigned to them");
    let admin_item = items(&review, "admin")[0]["id"].as_str().unwrap();
    let (status, _) = decide(&w.dev, id, admin_item, "revoke").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = w.dev.post(&format!("/api/v1/access-reviews/{id}/complete"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = w.dev.get(&format!("/api/v1/access-reviews/{id}/report")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An admin hands an item to Dev; then Dev may decide it.
    let share_item = items(&review, "data_source_share")[0]["id"].as_str().unwrap();
    let (status, body) =
        w.admin.post(&format!("/api/v1/access-reviews/{id}/items/{share_item}/reviewer"), json!({ "reviewer_id": w.dev_id })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = decide(&w.dev, id, share_item, "keep").await;
    assert_eq!(status, StatusCode::OK);
    // Someone with nothing to review sees nothing.
    let outsider = app.user(&w.admin, "out@example.com", "Out", "developer", PW).await;
    let (_, list) = outsider.get("/api/v1/access-reviews").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let (status, _) = outsider.get(&format!("/api/v1/access-reviews/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn nobody_reviews_their_own_access(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let bea = app.user(&admin, "bea@example.com", "Bea", "admin", PW).await;
    let review = open(&admin).await;
    let id = review["id"].as_str().unwrap();
    let ada_item = items(&review, "admin").into_iter().find(|i| i["context"]["user_email"] == ADMIN_EMAIL).unwrap()["id"].clone();
    let (status, body) = decide(&admin, id, ada_item.as_str().unwrap(), "keep").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "self_review");
    let (status, _) = decide(&bea, id, ada_item.as_str().unwrap(), "keep").await;
    assert_eq!(status, StatusCode::OK, "another admin decides");
}

async fn bad_input_changes_nothing(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let review = open(&admin).await;
    let id = review["id"].as_str().unwrap();
    let item = review["items"][0]["id"].as_str().unwrap();
    for (path, body, code) in [
        (format!("/api/v1/access-reviews/{id}/items/{item}"), json!({ "decision": "maybe" }), "invalid_decision"),
        (format!("/api/v1/access-reviews/{id}/items/{item}"), json!({ "decision": "revoke", "demote_to": "admin" }), "invalid_demote_to"),
        (format!("/api/v1/access-reviews/{id}/items/{item}"), json!({ "decision": "keep", "note": "x".repeat(1001) }), "invalid_note"),
        (format!("/api/v1/access-reviews/not-an-id/items/{item}"), json!({ "decision": "keep" }), "invalid_id"),
        (format!("/api/v1/access-reviews/{id}/decisions"), json!({ "item_ids": [], "decision": "keep" }), "invalid_items"),
    ] {
        let (status, body) = admin.post(&path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], code, "{body}");
    }
    let (status, _) =
        admin.post(&format!("/api/v1/access-reviews/{id}/items/{}", uuid::Uuid::now_v7()), json!({ "decision": "keep" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, after) = admin.get(&format!("/api/v1/access-reviews/{id}")).await;
    assert!(after["items"].as_array().unwrap().iter().all(|i| i["decision"].is_null()), "nothing was decided");
    let (status, body) = admin
        .send(reqwest::Method::PUT, "/api/v1/policies/reviews", Some(json!({ "quarterly": true, "due_days": 0, "inactive_days": 90, "revoke_undecided_at_due": false, "deactivate_inactive_after_days": null })))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, policy) = admin.get("/api/v1/policies/reviews").await;
    assert_eq!(policy["due_days"], 14);
}

/// Moves both nodes' clocks to the start of the next quarter and a day.
fn next_quarter(apps: &[&TestApp]) {
    let now = apps[0].clock_now();
    let (_, start) = keyward_core::review::quarter_of(now);
    let next = start + Duration::days(95);
    let (_, next_start) = keyward_core::review::quarter_of(next);
    for a in apps {
        a.advance(next_start - now + Duration::days(1));
    }
}

async fn two_nodes_run_the_jobs_and_each_review_opens_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let node2 = app.second_node().await;
    let every = StdDuration::from_secs(60);
    // The first run stamps when scheduling began: no review for the quarter Keyward was installed in.
    app.kw.run_jobs("a", every).await.unwrap();
    let (_, list) = admin.get("/api/v1/access-reviews").await;
    assert!(list["items"].as_array().unwrap().is_empty());

    next_quarter(&[&app, &node2]);
    let (a, b) = tokio::join!(app.kw.run_jobs("a", every), node2.kw.run_jobs("b", every));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.ran ^ b.ran, "exactly one node runs the jobs: {a:?} {b:?}");
    assert!(a.opened_review.is_some() || b.opened_review.is_some());
    // Within the interval neither node runs them again, and no second review opens.
    assert!(!app.kw.run_jobs("a", every).await.unwrap().ran);
    assert!(!node2.kw.run_jobs("b", every).await.unwrap().ran);
    let mut admin = admin;
    sign_in_again(&mut admin, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, list) = admin.get("/api/v1/access-reviews").await;
    let reviews = list["items"].as_array().unwrap();
    assert_eq!(reviews.len(), 1, "{list}");
    assert!(reviews[0]["period"].as_str().unwrap().contains("-Q"));
    // The next interval runs again, and the quarter's review still opens once.
    app.advance(Duration::minutes(2));
    node2.advance(Duration::minutes(2));
    let (a, b) = tokio::join!(app.kw.run_jobs("a", every), node2.kw.run_jobs("b", every));
    assert!(a.unwrap().opened_review.is_none() && b.unwrap().opened_review.is_none());
    let (_, list) = admin.get("/api/v1/access-reviews").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Reviewers were told: the admin got the opening reminder (from whichever node opened it).
    let mut mail = Vec::new();
    for _ in 0..100 {
        mail = [app.outbox(), node2.outbox()].concat();
        if !mail.is_empty() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert!(mail.iter().any(|m| m.contains("Access review") && m.contains(ADMIN_EMAIL)), "{mail:?}");
}

async fn undecided_items_are_revoked_at_the_due_date_when_the_policy_says_so(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let w = world(&app).await;
    let (status, body) = w
        .admin
        .send(reqwest::Method::PUT, "/api/v1/policies/reviews", Some(json!({ "quarterly": false, "due_days": 7, "inactive_days": 90, "revoke_undecided_at_due": true, "deactivate_inactive_after_days": null })))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let review = open(&w.admin).await;
    let id = review["id"].as_str().unwrap();
    // Everything is kept except Vic's membership, which nobody decides.
    let vic_membership = items(&review, "team_membership").into_iter().find(|i| i["user_id"] == w.vic_id.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let keep: Vec<&str> =
        review["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).filter(|i| *i != vic_membership).collect();
    let (status, body) =
        w.admin.post(&format!("/api/v1/access-reviews/{id}/decisions"), json!({ "item_ids": keep, "decision": "keep" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.advance(Duration::days(8));
    let report = app.kw.run_jobs("a", StdDuration::from_secs(60)).await.unwrap();
    assert_eq!(report.auto_completed, 1, "{report:?}");
    let mut admin = w.admin;
    sign_in_again(&mut admin, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, done) = admin.get(&format!("/api/v1/access-reviews/{id}")).await;
    assert_eq!(done["status"], "completed");
    let item = done["items"].as_array().unwrap().iter().find(|i| i["id"] == vic_membership.as_str()).unwrap();
    assert_eq!(item["decision"], "revoke");
    assert_eq!(item["outcome"], "revoked");
    let (_, team) = admin.get(&format!("/api/v1/teams/{}", w.team_id)).await;
    assert_eq!(team["members"].as_array().unwrap().len(), 1);
}

async fn offboarding_deactivates_inactive_users_and_shows_departures(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let mut admin = app.admin().await;
    let (_, gus_id) = person(&app, &admin, "gus@example.com", "developer").await;
    let (_, hal_id) = person(&app, &admin, "hal@example.com", "developer").await;
    let ends = keyward_core::model::rfc3339(app.clock_now() + Duration::days(33));
    let (status, body) = admin.patch(&format!("/api/v1/users/{hal_id}"), json!({ "access_expires_at": ends })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Off by default: a month without activity deactivates nobody.
    app.advance(Duration::days(31));
    app.kw.run_jobs("a", StdDuration::from_secs(60)).await.unwrap();
    sign_in_again(&mut admin, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, gus) = admin.get(&format!("/api/v1/users/{gus_id}")).await;
    assert_eq!(gus["status"], "active");
    // Hal leaves in two days: the overview and the Access Reviews page list him.
    for page in ["/settings", "/settings/access-reviews"] {
        let html = admin.http.get(format!("{}{page}", admin.base)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("HAL"), "{page} lists the departure: {html}");
    }
    let (status, body) = admin
        .send(reqwest::Method::PUT, "/api/v1/policies/reviews", Some(json!({ "quarterly": true, "due_days": 14, "inactive_days": 90, "revoke_undecided_at_due": false, "deactivate_inactive_after_days": 30 })))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.advance(Duration::minutes(2));
    let report = app.kw.run_jobs("a", StdDuration::from_secs(60)).await.unwrap();
    assert_eq!(report.deactivated_inactive, 2, "Gus and Hal were away 31 days; Ada is active: {report:?}");
    let (_, gus) = admin.get(&format!("/api/v1/users/{gus_id}")).await;
    assert_eq!(gus["status"], "deactivated");
    let (_, log) = admin.get("/api/v1/audit?action=user.deactivate_inactive").await;
    assert_eq!(log["items"].as_array().unwrap().len(), 2);
}
