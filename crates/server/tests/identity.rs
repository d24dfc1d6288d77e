//! One person, one account: emails are compared normalised (NFC, case folded, IDNA domains),
//! and names and emails with invisible, control or direction-changing characters are refused
//! with a 400 naming the field. Over HTTP, on both engines.

mod common;

use common::{Client, Engine, spawn_app};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};

engine_tests!(
    one_person_one_account_however_the_email_is_typed,
    invisible_and_direction_characters_are_refused_by_field,
    keys_stored_before_normalisation_are_brought_up_to_date,
);

const PW: &str = "Plover-Quartz-42!";

async fn invite(admin: &Client, email: &str, name: &str) -> (StatusCode, Value) {
    admin.post("/api/v1/invitations", json!({ "email": email, "full_name": name, "role": "viewer", "send_email": false })).await
}

async fn one_person_one_account_however_the_email_is_typed(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let precomposed = "jos\u{e9}@example.com";
    let decomposed = "jose\u{301}@example.com";
    assert_ne!(precomposed, decomposed);
    let _ = app.user(&admin, precomposed, "Jos\u{e9}", "viewer", PW).await;
    for same in [decomposed, "JOS\u{c9}@EXAMPLE.COM", "Jose\u{301}@Example.com"] {
        let (status, body) = invite(&admin, same, "Another Jos\u{e9}").await;
        assert_eq!(status, StatusCode::CONFLICT, "{same:?}: {body}");
        assert_eq!(body["error"]["code"], "email_taken");
    }
    for typed in [precomposed, decomposed, "JOSE\u{301}@EXAMPLE.com"] {
        let mut c = app.client();
        let (status, body) = c.login(typed, PW).await;
        assert_eq!(status, StatusCode::OK, "sign in as {typed:?}: {body}");
        assert_eq!(c.get("/api/v1/me").await.1["email"], precomposed, "the one account");
    }

    // Internationalised domains compare in their ASCII (punycode) form.
    let _ = app.user(&admin, "bob@b\u{fc}cher.example", "Bob", "viewer", PW).await;
    let (status, body) = invite(&admin, "bob@xn--bcher-kva.example", "Bob Again").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("email_taken")), "{body}");
    assert_eq!(app.client().login("BOB@XN--BCHER-KVA.EXAMPLE", PW).await.0, StatusCode::OK);
    assert_eq!(app.client().login("bob@B\u{dc}CHER.example", PW).await.0, StatusCode::OK);

    // Full case folding: STRASSE and straße are one address.
    let _ = app.user(&admin, "strasse@example.com", "Sven", "viewer", PW).await;
    assert_eq!(invite(&admin, "stra\u{df}e@example.com", "Sven Two").await.0, StatusCode::CONFLICT);

    let (_, users) = admin.get("/api/v1/users?limit=100").await;
    assert_eq!(users["items"].as_array().unwrap().len(), 4, "{users}");
}

/// Asserts a 400 about `field` whose message names the character's code point.
fn refused(answer: (StatusCode, Value), field: &str, what: &str) {
    let (status, body) = answer;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    assert_eq!(body["error"]["details"]["field"], field, "{what}: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("U+"), "{what}: {body}");
}

async fn invisible_and_direction_characters_are_refused_by_field(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let cases = [
        ("zo\u{200b}e@example.com", "Zoe", "email", "a zero-width space"),
        ("zoe@exam\u{202e}elpm.com", "Zoe", "email", "a right-to-left override"),
        ("zoe\u{2066}@example.com", "Zoe", "email", "an isolate"),
        ("\u{feff}zoe@example.com", "Zoe", "email", "a byte-order mark"),
        ("zoe@example.com", "Zo\u{202e}e", "full_name", "an override in a name"),
        ("zoe@example.com", "Zo\u{ad}e", "full_name", "a soft hyphen"),
        ("zoe@example.com", "Zoe\u{2069}", "full_name", "a closing isolate"),
        ("zoe@example.com", "Zoe\u{200d}", "full_name", "a zero-width joiner"),
        ("zoe@example.com", "Zoe\u{7}", "full_name", "a control character"),
    ];
    for (email, name, field, what) in cases {
        refused(invite(&admin, email, name).await, field, what);
    }
    let (_, pending) = admin.get("/api/v1/invitations").await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 0, "nothing was created: {pending}");
    assert_eq!(invite(&admin, "zoe@example.com", "Zo\u{eb} \u{5d6}\u{5d5}\u{5d0}").await.0, StatusCode::CREATED, "other scripts are fine");

    refused(admin.patch("/api/v1/me", json!({ "full_name": "Ada\u{2067}" })).await, "full_name", "renaming oneself");
    assert_eq!(admin.get("/api/v1/me").await.1["full_name"], "Ada Lovelace", "unchanged");
    refused(admin.post("/api/v1/teams", json!({ "name": "Ops\u{202e}" })).await, "name", "a team name");
    refused(admin.post("/api/v1/me/tokens", json!({ "name": "ci\u{200b}" })).await, "name", "a token name");
    let (status, body) = app.client().login("ad\u{200b}a@example.com", "Correct-Horse-7-Battery").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

async fn keys_stored_before_normalisation_are_brought_up_to_date(engine: Engine) {
    use sqlx::Connection;
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let _ = app.user(&admin, "mara@example.com", "Mara", "viewer", PW).await;
    let _ = app.user(&admin, "ole@example.com", "Ole", "viewer", PW).await;
    // As an older version stored them: the address as typed (decomposed), keyed in lower case.
    let mut db = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    for (old, new) in [("mara@example.com", "Mari\u{301}a@B\u{fc}cher.example"), ("ole@example.com", "O\u{308}le@example.com")] {
        sqlx::query("UPDATE users SET email = $1, email_key = $2 WHERE email_key = $3")
            .bind(new)
            .bind(new.to_lowercase())
            .bind(old)
            .execute(&mut db)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM settings WHERE key = 'email_key_version'").execute(&mut db).await.unwrap();
    // Another account already holds Ole's normalised key: it stays for an admin to resolve.
    let _ = app.user(&admin, "\u{f6}le@example.com", "\u{d6}le", "viewer", PW).await;
    drop(db);

    let node = app.second_node().await;
    let mut c = node.client();
    let (status, body) = c.login("mar\u{ed}a@xn--bcher-kva.example", PW).await;
    assert_eq!(status, StatusCode::OK, "the re-keyed account signs in with any form of its address: {body}");
    let node_admin = node.admin().await;
    let (status, _) = invite(&node_admin, "MARI\u{301}A@b\u{fc}cher.example", "Mar\u{ed}a Two").await;
    assert_eq!(status, StatusCode::CONFLICT, "and cannot be invited twice");
    let (_, audit) = node_admin.get("/api/v1/audit?action=user.email_key_normalise").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "audited; the clashing account is left alone: {audit}");
    assert_eq!(node.client().login("\u{f6}le@example.com", PW).await.0, StatusCode::OK);
}
