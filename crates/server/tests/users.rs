//! People: invitations by email or link, accepting, roles that act at once, deactivation, the
//! last admin, the directory, forgotten passwords and access end dates; on both engines.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Engine, link_token, spawn_app};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

const PW: &str = "Plover-Quartz-42!";

engine_tests!(
    invitation_by_email_lands_in_the_outbox,
    invitation_without_email_gives_a_single_use_link,
    duplicate_emails_are_conflicts,
    invitations_expire_and_can_be_resent_or_revoked,
    only_admins_invite_and_role_changes_act_at_once,
    deactivation_ends_access_at_once_and_reactivation_restores_it,
    the_last_admin_cannot_be_removed,
    two_admins_demoting_each_other_leave_one,
    directory_shows_what_sharing_needs,
    forgotten_password_by_email,
    access_end_date_takes_access_away,
);

async fn invitation_by_email_lands_in_the_outbox(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (status, body) =
        admin.post("/api/v1/invitations", json!({ "email": "Bob@Example.com", "full_name": "Bob Builder", "role": "developer" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("accept_url").is_none(), "an emailed link is not in the answer");
    assert_eq!(body["email_sent"], true);
    assert!(body["expires_at"].as_str().is_some());

    let mail = app.wait_for_outbox(1).await;
    assert_eq!(mail.len(), 1);
    let eml = &mail[0];
    assert!(eml.contains("To: \"Bob Builder\" <Bob@Example.com>"), "{eml}");
    assert!(eml.contains("multipart/alternative") && eml.contains("text/plain") && eml.contains("text/html"), "{eml}");
    assert!(eml.contains("Ada Lovelace has invited you to join Keyward as Developer"), "{eml}");
    let token = link_token(eml, "invite").expect("the message carries the link");

    let mut bob = app.client();
    let (status, _) = bob.post("/api/v1/invitations/accept", json!({ "token": token, "password": PW })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = bob.login("bob@example.com", PW).await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = bob.get("/api/v1/me").await;
    assert_eq!(me["role"], "developer");
}

async fn invitation_without_email_gives_a_single_use_link(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (status, body) = admin
        .post(
            "/api/v1/invitations",
            json!({ "email": "dan@example.com", "full_name": "Dan", "role": "data_scientist", "send_email": false }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let url = body["accept_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/invite/", app.base)));
    assert!(app.outbox().is_empty());
    let token = link_token(url, "invite").unwrap();

    let page = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert!(page.contains("dan@example.com") && page.contains("Data Scientist"));

    let (status, body) = app.client().post("/api/v1/invitations/accept", json!({ "token": token, "password": "weak" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "password_policy");
    let rules: Vec<&str> = body["error"]["details"]["rules"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["min_length", "uppercase", "digit", "special", "not_common"]);

    let mut dan = app.client();
    let (status, body) = dan.post("/api/v1/invitations/accept", json!({ "token": token, "password": PW })).await;
    assert_eq!(status, StatusCode::OK);
    dan.csrf = body["csrf_token"].as_str().map(str::to_owned);
    let (_, me) = dan.get("/api/v1/me").await;
    assert_eq!(me["role"], "data_scientist");
    assert_eq!(me["status"], "active");
    let (status, body) = app.client().post("/api/v1/invitations/accept", json!({ "token": token, "password": PW })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "invitation_used");
}

async fn duplicate_emails_are_conflicts(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let invite = |email: &'static str| {
        admin.post("/api/v1/invitations", json!({ "email": email, "full_name": "X", "role": "viewer", "send_email": false }))
    };
    assert_eq!(invite("eve@example.com").await.0, StatusCode::CREATED);
    let (status, body) = invite("EVE@example.com").await;
    assert_eq!(status, StatusCode::CONFLICT, "a pending invitation holds the email");
    assert_eq!(body["error"]["code"], "email_taken");
    assert_eq!(invite("ADA@EXAMPLE.COM").await.0, StatusCode::CONFLICT, "an existing user holds the email");
    let (status, body) = admin.post("/api/v1/invitations", json!({ "email": "x@example.com", "full_name": "X", "role": "root" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_role");
    let (_, pending) = admin.get("/api/v1/invitations").await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 1, "refused invitations change nothing");
}

async fn invitations_expire_and_can_be_resent_or_revoked(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (_, first) = admin
        .post("/api/v1/invitations", json!({ "email": "fay@example.com", "full_name": "Fay", "role": "viewer", "send_email": false }))
        .await;
    let id = first["id"].as_str().unwrap().to_owned();
    let old = link_token(first["accept_url"].as_str().unwrap(), "invite").unwrap();
    app.advance(Duration::days(7) + Duration::seconds(1));
    let (status, body) = app.client().post("/api/v1/invitations/accept", json!({ "token": old, "password": PW })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "invitation_expired");
    let page = reqwest::get(first["accept_url"].as_str().unwrap()).await.unwrap();
    assert_eq!(page.status(), StatusCode::CONFLICT);
    assert!(page.text().await.unwrap().contains("expired"));

    let admin = app.admin().await;
    let (status, resent) = admin.post(&format!("/api/v1/invitations/{id}/resend"), json!({ "send_email": false })).await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    let new = link_token(resent["accept_url"].as_str().unwrap(), "invite").unwrap();
    assert_ne!(new, old);
    let (status, _) = admin.post(&format!("/api/v1/invitations/{id}/resend"), json!({ "send_email": false })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.client().post("/api/v1/invitations/accept", json!({ "token": new, "password": PW })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a resend kills the previous link: {body}");

    let (_, listed) = admin.get("/api/v1/invitations").await;
    assert_eq!(listed["items"][0]["email"], "fay@example.com");
    let (status, _) = admin.delete(&format!("/api/v1/invitations/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listed) = admin.get("/api/v1/invitations").await;
    assert!(listed["items"].as_array().unwrap().is_empty());
    let (status, _) = admin.delete(&format!("/api/v1/invitations/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn only_admins_invite_and_role_changes_act_at_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let dev = app.user(&admin, "gus@example.com", "Gus", "developer", PW).await;
    let invite = json!({ "email": "hal@example.com", "full_name": "Hal", "role": "viewer", "send_email": false });
    let (status, body) = dev.post("/api/v1/invitations", invite.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(dev.patch(&format!("/api/v1/users/{}", uuid::Uuid::now_v7()), json!({ "role": "admin" })).await.0, StatusCode::FORBIDDEN);

    let (_, me) = dev.get("/api/v1/me").await;
    let id = me["id"].as_str().unwrap().to_owned();
    let (status, body) = admin.patch(&format!("/api/v1/users/{id}"), json!({ "role": "admin" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, me) = dev.get("/api/v1/me").await;
    assert_eq!(me["role"], "admin", "the same session sees the new role on its very next request");
    assert_eq!(dev.post("/api/v1/invitations", invite.clone()).await.0, StatusCode::CREATED);

    assert_eq!(admin.patch(&format!("/api/v1/users/{id}"), json!({ "role": "developer" })).await.0, StatusCode::OK);
    let invite2 = json!({ "email": "ivy@example.com", "full_name": "Ivy", "role": "viewer", "send_email": false });
    assert_eq!(dev.post("/api/v1/invitations", invite2).await.0, StatusCode::FORBIDDEN, "refused on the very next request");
    let (_, events) = admin.get("/api/v1/audit?action=user.update").await;
    assert_eq!(events["items"].as_array().unwrap().len(), 2);
    assert_eq!(events["items"][0]["details"]["role"]["after"], "developer");
}

async fn deactivation_ends_access_at_once_and_reactivation_restores_it(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let mut jo = app.user(&admin, "jo@example.com", "Jo", "developer", PW).await;
    let (_, token) = jo.post("/api/v1/me/tokens", json!({ "name": "cli" })).await;
    let mut bot = app.client();
    bot.bearer = token["token"].as_str().map(str::to_owned);
    assert_eq!(bot.get("/api/v1/me").await.0, StatusCode::OK);
    let (_, me) = jo.get("/api/v1/me").await;
    let id = me["id"].as_str().unwrap().to_owned();

    let (status, user) = admin.post(&format!("/api/v1/users/{id}/deactivate"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["status"], "deactivated");
    assert_eq!(jo.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "the session ends at once");
    assert_eq!(bot.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "the API token ends at once");
    let (status, body) = jo.login("jo@example.com", PW).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_credentials");
    let (_, listed) = admin.get("/api/v1/users?status=deactivated").await;
    assert_eq!(listed["items"][0]["email"], "jo@example.com");

    let (status, user) = admin.post(&format!("/api/v1/users/{id}/reactivate"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["status"], "active");
    assert_eq!(jo.login("jo@example.com", PW).await.0, StatusCode::OK);
    let (_, me) = jo.get("/api/v1/me").await;
    assert_eq!(me["role"], "developer", "nothing lost");

    let (_, admin_me) = admin.get("/api/v1/me").await;
    let (status, body) = admin.post(&format!("/api/v1/users/{}/deactivate", admin_me["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "cannot_deactivate_self");
    assert_eq!(jo.post(&format!("/api/v1/users/{id}/deactivate"), json!({})).await.0, StatusCode::FORBIDDEN);
}

async fn the_last_admin_cannot_be_removed(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (_, me) = admin.get("/api/v1/me").await;
    let id = me["id"].as_str().unwrap();
    let (status, body) = admin.patch(&format!("/api/v1/users/{id}"), json!({ "role": "developer" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "last_admin");
    let (status, _) = admin.patch(&format!("/api/v1/users/{id}"), json!({ "access_expires_at": "2030-01-01T00:00:00Z" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "expiring the last admin is refused too");
    let (_, me) = admin.get("/api/v1/me").await;
    assert_eq!(me["role"], "admin");
    assert!(me.get("access_expires_at").is_none());

    // With a second admin, a deactivation of the first (by the second) goes through.
    let second = app.user(&admin, "kim@example.com", "Kim", "admin", PW).await;
    assert_eq!(second.post(&format!("/api/v1/users/{id}/deactivate"), json!({})).await.0, StatusCode::OK);
    let (_, kim) = second.get("/api/v1/me").await;
    let (status, _) = second.patch(&format!("/api/v1/users/{}", kim["id"].as_str().unwrap()), json!({ "role": "viewer" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "now Kim is the last admin");
}

async fn two_admins_demoting_each_other_leave_one(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let ada = app.admin().await;
    let lee = app.user(&ada, "lee@example.com", "Lee", "admin", PW).await;
    let (_, ada_me) = ada.get("/api/v1/me").await;
    let (_, lee_me) = lee.get("/api/v1/me").await;
    for _ in 0..5 {
        let (lee_path, ada_path) =
            (format!("/api/v1/users/{}", lee_me["id"].as_str().unwrap()), format!("/api/v1/users/{}", ada_me["id"].as_str().unwrap()));
        let a = ada.patch(&lee_path, json!({ "role": "developer" }));
        let b = lee.patch(&ada_path, json!({ "role": "developer" }));
        let ((sa, _), (sb, _)) = tokio::join!(a, b);
        let ok = [sa, sb].iter().filter(|s| **s == StatusCode::OK).count();
        let (_, admins) = ada.get("/api/v1/users?role=admin&status=active").await;
        let remaining = admins["items"].as_array().map_or(0, |a| a.len());
        let (_, admins_by_lee) = lee.get("/api/v1/users?role=admin&status=active").await;
        let remaining = remaining.max(admins_by_lee["items"].as_array().map_or(0, |a| a.len()));
        assert_eq!(remaining, 1, "exactly one admin remains ({sa}, {sb})");
        assert_eq!(ok, 1, "exactly one demotion succeeds ({sa}, {sb})");
        // Restore: whoever is still admin promotes the other back.
        let (winner, loser_id) =
            if sa == StatusCode::OK { (&ada, lee_me["id"].as_str().unwrap()) } else { (&lee, ada_me["id"].as_str().unwrap()) };
        assert_eq!(winner.patch(&format!("/api/v1/users/{loser_id}"), json!({ "role": "admin" })).await.0, StatusCode::OK);
    }
}

async fn directory_shows_what_sharing_needs(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let viewer = app.user(&admin, "mo@example.com", "Mo Viewer", "viewer", PW).await;
    let _ = app.user(&admin, "ned@example.com", "Ned Smith", "developer", PW).await;
    let (status, found) = viewer.get("/api/v1/users?q=smith").await;
    assert_eq!(status, StatusCode::OK);
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["full_name"], "Ned Smith");
    assert!(items[0].get("role").is_none() && items[0].get("last_active_at").is_none(), "non-admins see names, emails and teams only");
    assert!(items[0]["teams"].is_array());

    let (_, page1) = admin.get("/api/v1/users?limit=1").await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 1);
    let cursor = page1["next_cursor"].as_str().expect("more pages").to_owned();
    let (_, page2) = admin.get(&format!("/api/v1/users?limit=1&cursor={cursor}")).await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_ne!(page1["items"][0]["id"], page2["items"][0]["id"]);
    let (_, all) = admin.get("/api/v1/users?limit=10").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    let (_, devs) = admin.get("/api/v1/users?role=developer").await;
    assert_eq!(devs["items"].as_array().unwrap().len(), 1);
}

async fn forgotten_password_by_email(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let c = app.client();
    let (s_unknown, b_unknown) = c.post("/api/v1/password-reset", json!({ "email": "nobody@example.com" })).await;
    let (s_known, b_known) = c.post("/api/v1/password-reset", json!({ "email": ADMIN_EMAIL })).await;
    assert_eq!(s_unknown, StatusCode::ACCEPTED);
    assert_eq!((s_known, &b_known), (s_unknown, &b_unknown), "the same answer for unknown emails");
    let mail = app.wait_for_outbox(1).await;
    assert_eq!(mail.len(), 1, "only the real account gets a message");
    let token = link_token(&mail[0], "reset-password").unwrap();

    let page = reqwest::get(format!("{}/reset-password/{token}", app.base)).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let (status, body) = c.post("/api/v1/password-reset/confirm", json!({ "token": token, "new_password": "short" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "password_policy");
    let (status, _) = c.post("/api/v1/password-reset/confirm", json!({ "token": token, "new_password": "Brand-New-Quill-77" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(admin.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "every session ends");
    let (status, body) = c.post("/api/v1/password-reset/confirm", json!({ "token": token, "new_password": "Another-New-Quill-78" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "reset_link_used");
    let mut again = app.client();
    assert_eq!(again.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        again.login(ADMIN_EMAIL, "Brand-New-Quill-77").await.0,
        StatusCode::OK,
        "a reset does not sign in: sign-in applies as usual"
    );

    app.advance(Duration::minutes(2));
    let _ = c.post("/api/v1/password-reset", json!({ "email": ADMIN_EMAIL })).await;
    let mail = app.wait_for_outbox(2).await;
    let token = link_token(&mail[1], "reset-password").unwrap();
    app.advance(Duration::hours(1) + Duration::seconds(1));
    let (status, body) = c.post("/api/v1/password-reset/confirm", json!({ "token": token, "new_password": "Third-New-Quill-79" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "reset_link_expired");
}

async fn access_end_date_takes_access_away(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let pat = app.user(&admin, "pat@example.com", "Pat", "developer", PW).await;
    let (_, me) = pat.get("/api/v1/me").await;
    let id = me["id"].as_str().unwrap().to_owned();
    let end = (app.clock_now() + Duration::hours(2)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, body) = admin.patch(&format!("/api/v1/users/{id}"), json!({ "access_expires_at": end })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_expires_at"].as_str().is_some());
    app.advance(Duration::minutes(30));
    assert_eq!(pat.get("/api/v1/me").await.0, StatusCode::OK);
    app.advance(Duration::hours(2));
    assert_eq!(pat.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "no access past the end date");
    assert_eq!(app.kw.expire_access().await.unwrap(), 1, "the job deactivates the account");
    let admin = app.admin().await; // the earlier session timed out while the clock moved
    let (_, user) = admin.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(user["status"], "deactivated");
    let (_, events) = admin.get("/api/v1/audit?action=user.expire").await;
    assert_eq!(events["items"][0]["actor_kind"], "system");

    let (status, _) = admin.patch(&format!("/api/v1/users/{id}"), json!({ "access_expires_at": "not a time" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = admin.post(&format!("/api/v1/users/{id}/reactivate"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("access_expires_at").is_none(), "reactivation removes an end date already past");
}
