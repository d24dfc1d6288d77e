//! The audit log as evidence, over HTTP on both engines: the keyed chain names a changed,
//! removed, reordered or forged event; two nodes writing at once keep one chain; events from
//! before the chain are chained at start-up; every change is logged; CSV and JSON Lines exports
//! hold the same events, with formulas neutralised.

mod common;

use common::{ADMIN_PASSWORD, Client, Engine, TestApp, spawn_app};
use keyward_core::chain::{StoredEvent, canonical};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection, Row};

const PW: &str = "Plover-Quartz-42!";
const FORMULA: &str = "=HYPERLINK(\"http://x\")";

engine_tests!(
    verify_names_changed_removed_reordered_and_forged_events,
    two_nodes_writing_at_once_keep_one_chain,
    events_from_before_the_chain_are_chained_at_start,
    every_change_is_logged_and_exports_agree,
    activity_page_exports_with_its_filters,
    a_full_page_of_two_hundred_keeps_its_next_cursor,
);

async fn db(app: &TestApp) -> AnyConnection {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(&app.database_url).await.expect("connect to the test database")
}

async fn exec(c: &mut AnyConnection, sql: &str, binds: &[Value]) {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for b in binds {
        q = match b {
            Value::Number(n) => q.bind(n.as_i64().unwrap()),
            Value::String(s) => q.bind(s.clone()),
            Value::Null => q.bind(None::<String>),
            other => panic!("cannot bind {other}"),
        };
    }
    q.execute(c).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The stored event at position `seq`.
async fn stored(c: &mut AnyConnection, seq: i64) -> StoredEvent {
    let r = sqlx::query(
        "SELECT seq, id, at, actor_kind, actor_id, action, target_type, target_id, ip, user_agent, details, key_id, chain \
         FROM audit_events WHERE seq = $1",
    )
    .bind(seq)
    .fetch_one(c)
    .await
    .unwrap();
    StoredEvent {
        seq: r.get("seq"),
        id: r.get("id"),
        at_ms: r.get("at"),
        actor_kind: r.get("actor_kind"),
        actor_id: r.get("actor_id"),
        action: r.get("action"),
        target_type: r.get("target_type"),
        target_id: r.get("target_id"),
        ip: r.get("ip"),
        user_agent: r.get("user_agent"),
        details: r.get("details"),
        key_id: r.get("key_id"),
        chain: r.get("chain"),
        ..StoredEvent::default()
    }
}

/// Writes a stored event back as it was.
async fn put_back(c: &mut AnyConnection, e: &StoredEvent) {
    sqlx::query(
        "INSERT INTO audit_events (seq, id, at, actor_kind, actor_id, action, target_type, target_id, ip, user_agent, details, key_id, chain) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(e.seq)
    .bind(&e.id)
    .bind(e.at_ms)
    .bind(&e.actor_kind)
    .bind(&e.actor_id)
    .bind(&e.action)
    .bind(&e.target_type)
    .bind(&e.target_id)
    .bind(&e.ip)
    .bind(&e.user_agent)
    .bind(&e.details)
    .bind(&e.key_id)
    .bind(&e.chain)
    .execute(c)
    .await
    .unwrap();
}

async fn head(c: &mut AnyConnection) -> i64 {
    sqlx::query("SELECT seq FROM audit_head WHERE id = 1").fetch_one(c).await.unwrap().get(0)
}

async fn verify(admin: &Client) -> Value {
    let (status, body) = admin.get("/api/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A few events: the admin renames themself `n` times.
async fn changes(c: &Client, n: usize, tag: &str) {
    for i in 0..n {
        let (status, body) = c.patch("/api/v1/me", json!({ "full_name": format!("{tag} {i}") })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

async fn verify_names_changed_removed_reordered_and_forged_events(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    changes(&admin, 6, "Ada").await;
    let intact = verify(&admin).await;
    assert_eq!(intact["ok"], true, "{intact}");
    let mut c = db(&app).await;
    let total = head(&mut c).await;
    assert!(total >= 8, "user.create, auth.login and six updates: {total}");
    assert_eq!(intact["events_checked"], total);

    // Changed behind the server's back: named.
    let third = stored(&mut c, 3).await;
    exec(&mut c, "UPDATE audit_events SET details = $1 WHERE seq = 3", &[json!("{\"full_name\":\"Mallory\"}")]).await;
    let v = verify(&admin).await;
    assert_eq!(
        (v["ok"].clone(), v["first_bad_event_id"].clone(), v["events_checked"].clone()),
        (json!(false), json!(third.id), json!(2)),
        "{v}"
    );
    exec(&mut c, "UPDATE audit_events SET details = $1 WHERE seq = 3", &[json!(third.details)]).await;
    assert_eq!(verify(&admin).await["ok"], true, "restored");

    // Removed: the next one is named.
    let fourth = stored(&mut c, 4).await;
    let fifth = stored(&mut c, 5).await;
    exec(&mut c, "DELETE FROM audit_events WHERE seq = 4", &[]).await;
    let v = verify(&admin).await;
    assert_eq!((v["ok"].clone(), v["first_bad_event_id"].clone()), (json!(false), json!(fifth.id)), "{v}");
    put_back(&mut c, &fourth).await;
    assert_eq!(verify(&admin).await["ok"], true, "restored");

    // Two swapped: the one now out of place is named.
    let second = stored(&mut c, 2).await;
    exec(&mut c, "UPDATE audit_events SET seq = -2 WHERE seq = 2", &[]).await;
    exec(&mut c, "UPDATE audit_events SET seq = 2 WHERE seq = 5", &[]).await;
    exec(&mut c, "UPDATE audit_events SET seq = 5 WHERE seq = -2", &[]).await;
    let v = verify(&admin).await;
    assert_eq!((v["ok"].clone(), v["first_bad_event_id"].clone()), (json!(false), json!(fifth.id)), "{v}");
    exec(&mut c, "UPDATE audit_events SET seq = -5 WHERE id = $1", &[json!(fifth.id)]).await;
    exec(&mut c, "UPDATE audit_events SET seq = 2 WHERE id = $1", &[json!(second.id)]).await;
    exec(&mut c, "UPDATE audit_events SET seq = 5 WHERE id = $1", &[json!(fifth.id)]).await;
    assert_eq!(verify(&admin).await["ok"], true, "restored");

    // The chain recomputed without the key (here: under another key, head included): caught.
    let mut prev = stored(&mut c, 2).await.chain;
    let wrong_key = [7u8; 32];
    for seq in 3..=total {
        let mut e = stored(&mut c, seq).await;
        if seq == 3 {
            e.details = "{\"full_name\":\"Mallory\"}".into();
        }
        let prev_bytes: Vec<u8> = (0..prev.len()).step_by(2).map(|i| u8::from_str_radix(&prev[i..i + 2], 16).unwrap()).collect();
        let mac = keyward_core::crypto::hmac_sha256(&wrong_key, &[&prev_bytes, &canonical(&e)]);
        e.chain = mac.iter().map(|b| format!("{b:02x}")).collect();
        exec(&mut c, "UPDATE audit_events SET details = $1, chain = $2 WHERE seq = $3", &[json!(e.details), json!(e.chain), json!(seq)])
            .await;
        prev = e.chain;
    }
    exec(&mut c, "UPDATE audit_head SET chain = $1 WHERE id = 1", &[json!(prev)]).await;
    let v = verify(&admin).await;
    assert_eq!((v["ok"].clone(), v["first_bad_event_id"].clone()), (json!(false), json!(third.id)), "{v}");

    // On a fresh log: the end cut off, and an event slipped in outside the chain.
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    changes(&admin, 2, "Ada").await;
    let mut c = db(&app).await;
    let last = head(&mut c).await;
    exec(&mut c, "DELETE FROM audit_events WHERE seq = $1", &[json!(last)]).await;
    let v = verify(&admin).await;
    assert_eq!(v["ok"], false, "{v}");
    assert!(v["problem"].as_str().unwrap().contains("end"), "{v}");
    assert!(v.get("first_bad_event_id").is_none(), "{v}");
    let new_end = stored(&mut c, last - 1).await.chain;
    exec(&mut c, "UPDATE audit_head SET seq = $1, chain = $2 WHERE id = 1", &[json!(last - 1), json!(new_end)]).await;
    assert_eq!(verify(&admin).await["ok"], true, "whoever also moves the head back cuts the end unseen (docs/audit.md)");
    exec(
        &mut c,
        "INSERT INTO audit_events (id, at, actor_kind, action, details) VALUES ($1, $2, 'user', 'user.update', '{}')",
        &[json!("0190f000-0000-7000-8000-000000000000"), json!(1)],
    )
    .await;
    let v = verify(&admin).await;
    assert_eq!((v["ok"].clone(), v["first_bad_event_id"].clone()), (json!(false), json!("0190f000-0000-7000-8000-000000000000")), "{v}");

    // A value of the wrong type (SQLite lets a column hold one) is named, not a server error.
    if engine == Engine::Sqlite {
        let mut c = db(&app).await;
        exec(&mut c, "DELETE FROM audit_events WHERE seq IS NULL", &[]).await;
        let second = stored(&mut c, 2).await;
        exec(&mut c, "UPDATE audit_events SET at = 'yesterday' WHERE seq = 2", &[]).await;
        let v = verify(&admin).await;
        assert_eq!((v["ok"].clone(), v["first_bad_event_id"].clone()), (json!(false), json!(second.id)), "{v}");
    }

    // Admins only.
    let viewer = app.user(&admin, "vic@example.com", "Vic", "viewer", PW).await;
    assert_eq!(viewer.get("/api/v1/audit/verify").await.0, StatusCode::FORBIDDEN);
}

async fn two_nodes_writing_at_once_keep_one_chain(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let node2 = app.second_node().await;
    let a = app.admin().await;
    let b = node2.admin().await;
    tokio::join!(changes(&a, 12, "A"), changes(&a, 12, "AA"), changes(&b, 12, "B"), changes(&b, 12, "BB"));
    let v = verify(&b).await;
    assert_eq!(v["ok"], true, "{v}");
    let mut c = db(&app).await;
    let rows = sqlx::query("SELECT seq FROM audit_events ORDER BY seq").fetch_all(&mut c).await.unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "one position each, no gaps");
    assert!(seqs.len() >= 48 + 3, "{}", seqs.len());
    assert_eq!(v["events_checked"], seqs.len());
}

async fn events_from_before_the_chain_are_chained_at_start(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let mut c = db(&app).await;
    // Events as an older Keyward wrote them: no position, no chain.
    for (i, id) in ["0180f000-0000-7000-8000-000000000001", "0180f000-0000-7000-8000-000000000002"].iter().enumerate() {
        exec(
            &mut c,
            "INSERT INTO audit_events (id, at, actor_kind, action, details) VALUES ($1, $2, 'system', 'user.expire', '{}')",
            &[json!(id), json!(1_600_000_000_000i64 + i as i64)],
        )
        .await;
    }
    assert_eq!(verify(&admin).await["ok"], false, "unchained events are outside the chain");
    let before = head(&mut c).await;
    let node2 = app.second_node().await;
    assert_eq!(head(&mut c).await, before + 2, "opening the database chained them");
    let v = verify(&node2.admin().await).await;
    assert_eq!(v["ok"], true, "{v}");
}

async fn every_change_is_logged_and_exports_agree(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    // An invitation, accepted by someone whose name is a spreadsheet formula.
    let _mallory = app.user(&admin, "mallory@example.com", FORMULA, "developer", PW).await;
    let mut browser = Client {
        http: reqwest::Client::builder().cookie_store(true).user_agent(FORMULA).build().unwrap(),
        base: app.base.clone(),
        csrf: None,
        bearer: None,
    };
    assert_eq!(browser.login("mallory@example.com", "Wrong-Password-1!").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.login("mallory@example.com", PW).await.0, StatusCode::OK);
    let (_, me) = browser.get("/api/v1/me").await;
    let mallory_id = me["id"].as_str().unwrap().to_owned();
    let (status, _) = admin.patch(&format!("/api/v1/users/{mallory_id}"), json!({ "role": "data_scientist" })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, r) = browser.post("/api/v1/resources", json!({ "kind": "workflow", "name": "Nightly" })).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let (status, _) = browser.patch(&format!("/api/v1/resources/{}", r["id"].as_str().unwrap()), json!({ "name": "Nightly ETL" })).await;
    assert_eq!(status, StatusCode::OK);

    for action in
        ["invitation.create", "invitation.accept", "auth.login_failed", "auth.login", "user.update", "resource.create", "resource.update"]
    {
        let (_, page) = admin.get(&format!("/api/v1/audit?action={action}")).await;
        assert!(!page["items"].as_array().unwrap().is_empty(), "no {action} event");
    }
    let (_, roles) = admin.get(&format!("/api/v1/audit?action=user.update&target_type=user&target_id={mallory_id}")).await;
    assert_eq!(roles["items"][0]["details"]["role"], json!({ "before": "developer", "after": "data_scientist" }));

    // Admins only.
    for path in ["/api/v1/audit/export?format=csv", "/api/v1/audit/export?format=jsonl", "/api/v1/audit/verify"] {
        assert_eq!(browser.get(path).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    let page = browser.http.get(format!("{}/settings/activity", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    // Each refusal of a person is in the log, with what they asked for.
    let (_, denied) = admin.get(&format!("/api/v1/audit?action=access.denied&actor_id={mallory_id}")).await;
    let asked: Vec<&str> = denied["items"].as_array().unwrap().iter().filter_map(|e| e["details"]["request"].as_str()).collect();
    for what in ["GET /api/v1/audit/export", "GET /api/v1/audit/verify", "GET /settings/activity"] {
        assert!(asked.contains(&what), "{what} not audited: {denied}");
    }
    assert_eq!(admin.get("/api/v1/audit/export?format=xml").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get("/api/v1/audit/export?since=yesterday").await.0, StatusCode::BAD_REQUEST);
    // An empty or malformed actor id is refused, on the export as on the list; so is an empty value of any
    // parameter that names an id or one of a list (left out is what means "any").
    for path in [
        "/api/v1/audit/export?actor_id=",
        "/api/v1/audit?actor_id=",
        "/api/v1/audit/export?actor_id=nobody",
        "/api/v1/audit/export?format=",
        "/api/v1/users?team_id=",
        "/api/v1/resources?kind=",
    ] {
        assert_eq!(admin.get(path).await.0, StatusCode::BAD_REQUEST, "{path}");
    }

    let get = |q: &str| {
        let url = format!("{}/api/v1/audit/export?{q}", app.base);
        let http = admin.http.clone();
        async move {
            let res = http.get(url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
            assert!(disposition.starts_with("attachment;"), "{disposition}");
            res.text().await.unwrap()
        }
    };
    let csv_text = get("format=csv").await;
    let jsonl_text = get("format=jsonl").await;

    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, keyward_core::export::COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let csv_events: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| (r[col("seq")].to_owned(), r[col("id")].to_owned(), r[col("action")].to_owned(), r[col("at")].to_owned()))
        .collect();
    let lines: Vec<Value> = jsonl_text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let json_events: Vec<(String, String, String, String)> = lines
        .iter()
        .map(|l| {
            (l["seq"].to_string(), l["id"].as_str().unwrap().into(), l["action"].as_str().unwrap().into(), l["at"].as_str().unwrap().into())
        })
        .collect();
    // The JSONL export came second: it also holds the CSV export's own event, and no more.
    assert_eq!(json_events.len(), csv_events.len() + 1);
    assert_eq!(json_events[..csv_events.len()], csv_events[..]);
    assert_eq!(json_events.last().unwrap().2, "audit.export");
    assert!(csv_events.iter().any(|e| e.2 == "auth.login_failed") && csv_events.iter().any(|e| e.2 == "resource.update"));
    for (r, l) in rows.iter().zip(&lines) {
        assert_eq!(serde_json::from_str::<Value>(&r[col("details")]).unwrap(), l["details"], "the same details");
        assert!(l["at"].as_str().unwrap().ends_with('Z'), "UTC RFC 3339");
    }

    // The formula never reaches the CSV as one; JSON Lines carries the exact value.
    assert!(rows.iter().flat_map(|r| r.iter()).all(|cell| !cell.starts_with(['=', '+', '-', '@', '\t', '\r'])), "{csv_text}");
    let failed = rows.iter().find(|r| &r[col("action")] == "auth.login_failed").unwrap();
    assert_eq!(&failed[col("user_agent")], format!("'{FORMULA}"));
    let signed_in = rows.iter().find(|r| &r[col("action")] == "resource.create").unwrap();
    assert_eq!(&signed_in[col("actor_name")], format!("'{FORMULA}"));
    assert!(lines.iter().any(|l| l["user_agent"] == FORMULA));

    // Filters, and no secret anywhere in the file.
    let only_failed = get("format=jsonl&action=auth.login_failed").await;
    assert_eq!(only_failed.lines().count(), 1, "{only_failed}");
    let none = get("format=csv&since=2999-01-01T00:00:00Z").await;
    assert_eq!(none.lines().count(), 1, "only the header: {none}");
    for secret in [PW, ADMIN_PASSWORD, "Wrong-Password-1!"] {
        assert!(!csv_text.contains(secret) && !jsonl_text.contains(secret), "a password reached the export");
    }
    let (_, exports) = admin.get("/api/v1/audit?action=audit.export").await;
    assert_eq!(exports["items"].as_array().unwrap().len(), 4, "every export is audited: {exports}");
    assert_eq!(verify(&admin).await["ok"], true);
}

async fn activity_page_exports_with_its_filters(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let mut other = app.client();
    assert_eq!(other.login(common::ADMIN_EMAIL, "Not-The-Password-9!").await.0, StatusCode::UNAUTHORIZED);
    let page =
        admin.http.get(format!("{}/settings/activity?action=auth.login_failed", app.base)).send().await.unwrap().text().await.unwrap();
    let href = |format: &str| {
        let marker = format!("/api/v1/audit/export?format={format}&amp;action=auth.login_failed");
        assert!(page.contains(&marker), "no {format} export link with the filter in:\n{page}");
        marker.replace("&amp;", "&")
    };
    let csv_text = admin.http.get(format!("{}{}", app.base, href("csv"))).send().await.unwrap().text().await.unwrap();
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv_text.as_bytes()).records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{csv_text}");
    assert_eq!(&rows[0][7], "auth.login_failed");
    let jsonl = admin.http.get(format!("{}{}", app.base, href("jsonl"))).send().await.unwrap().text().await.unwrap();
    assert_eq!(jsonl.lines().count(), 1, "{jsonl}");
}

async fn a_full_page_of_two_hundred_keeps_its_next_cursor(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let (status, t) = admin.post("/api/v1/teams", json!({ "name": "Paging", "description": "" })).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let team = t["id"].as_str().unwrap();
    // 201 changes of one team, each an audited event.
    for i in 0..201 {
        let (status, body) = admin.patch(&format!("/api/v1/teams/{team}"), json!({ "description": format!("v{i}") })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let filter = format!("target_type=team&target_id={team}&action=team.update");
    let (status, page) = admin.get(&format!("/api/v1/audit?{filter}&limit=200")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 200);
    let cursor = page["next_cursor"].as_str().expect("a full page of the largest size still says more follow");
    let (_, rest) = admin.get(&format!("/api/v1/audit?{filter}&limit=200&cursor={cursor}")).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(rest["next_cursor"], Value::Null);
}
