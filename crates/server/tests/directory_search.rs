//! The directory search (`GET /api/v1/users?q=`) as people use it: a part of an email or of a
//! name in any case, one and two characters, `%`, `_` and `\` taken literally, pages that give
//! every match once in email order, `q` with the role, status and team filters, an index that
//! follows renames, email changes and deletions, a randomized comparison with a plain filter
//! of the same users, and control characters refused; on both engines.

mod common;

use common::{Client, Engine, TestApp, spawn_app};
use keyward_core::model::User;
use keyward_core::types::{Email, FullName, Role, UserId, UserStatus};
use keyward_testkit::engine_tests;
use reqwest::StatusCode;
use serde_json::{Value, json};

engine_tests!(
    parts_of_emails_and_names_in_any_case,
    short_queries_and_wildcards_taken_literally,
    pages_give_every_match_once_in_email_order,
    q_combines_with_role_status_and_team,
    the_index_follows_renames_email_changes_and_deletions,
    randomized_searches_match_a_plain_filter,
    control_characters_are_refused,
    a_common_q_with_a_rare_filter,
);

/// Writes people straight through the store (quicker than inviting each one over HTTP).
async fn seed(app: &TestApp, people: &[(String, String, Role, UserStatus)]) -> Vec<UserId> {
    let now = app.clock_now();
    let mut tx = app.kw.unchecked_write().await.expect("a write");
    let mut ids = Vec::new();
    for (email, name, role, status) in people {
        let u = User {
            status: *status,
            ..User::invited(&Email::parse(email).expect("an email"), &FullName::parse(name).expect("a name"), *role, now)
        };
        tx.insert_user(&u).await.expect("insert");
        ids.push(u.id);
    }
    tx.commit().await.expect("commit");
    ids
}

fn person(email: &str, name: &str) -> (String, String, Role, UserStatus) {
    (email.to_owned(), name.to_owned(), Role::Developer, UserStatus::Active)
}

/// Percent-encodes a query value (every byte but ASCII letters and digits).
fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The emails of every match of `query` (`q=…&role=…`), page by page of `limit`, in the
/// order the pages give them.
async fn search_all(c: &Client, query: &str, limit: usize) -> Vec<String> {
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let path = match &cursor {
            None => format!("/api/v1/users?{query}&limit={limit}"),
            Some(k) => format!("/api/v1/users?{query}&limit={limit}&cursor={}", enc(k)),
        };
        let (status, page) = c.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= limit, "{path}: a page holds at most the limit");
        found.extend(items.iter().map(|u| u["email"].as_str().expect("email").to_owned()));
        match page["next_cursor"].as_str() {
            Some(k) => {
                assert_eq!(items.len(), limit, "{path}: a page before the last one is full");
                cursor = Some(k.to_owned());
            }
            None => return found,
        }
    }
    panic!("{query}: more than 1000 pages");
}

/// Every match of `q`, asked in pages of 1 and of 200, which must agree. Behind `fillers`, a
/// page of 1 reaches the users after them through the trigram index (its walk over the
/// email order stops after 20 users per row of the page), a page of 200 walks past them.
async fn search(c: &Client, q: &str) -> Vec<String> {
    let query = format!("q={}", enc(q));
    let found = search_all(c, &query, 200).await;
    assert_eq!(search_all(c, &query, 1).await, found, "{q}: pages of 1 and of 200");
    found
}

/// 60 people whose emails sort before every other one here, and who match no query of the tests.
async fn fillers(app: &TestApp) {
    seed(app, &(0..60).map(|i| person(&format!("aa-filler-{i:02}@filler.test"), &format!("Filler {i:02}"))).collect::<Vec<_>>()).await;
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

async fn parts_of_emails_and_names_in_any_case(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    fillers(&app).await;
    seed(
        &app,
        &[
            person("grace.hopper@navy.example", "Grace Hopper"),
            person("alan@turing.example", "Alan Mathison Turing"),
            person("jose@example.org", "José Núñez"),
            person("emile@zola.example", "Émile Zola"),
            person("kg@example.net", "Katherine Johnson"),
        ],
    )
    .await;
    assert_eq!(search(&admin, "hopper").await, strings(&["grace.hopper@navy.example"]), "a part of an email and name");
    assert_eq!(search(&admin, "navy.ex").await, strings(&["grace.hopper@navy.example"]), "a part of the domain");
    assert_eq!(search(&admin, "GRACE.H").await, strings(&["grace.hopper@navy.example"]), "any case");
    assert_eq!(search(&admin, "MathISon").await, strings(&["alan@turing.example"]), "a part of a name only, mixed case");
    assert_eq!(search(&admin, "son tur").await, strings(&["alan@turing.example"]), "across a space of the name");
    assert_eq!(search(&admin, "Núñez").await, strings(&["jose@example.org"]), "non-ASCII letters");
    assert_eq!(search(&admin, "NÚÑEZ").await, strings(&["jose@example.org"]), "non-ASCII letters, upper case");
    assert_eq!(search(&admin, "mile zo").await, strings(&["emile@zola.example"]));
    // Names are lower-cased by the database, as they always were: PostgreSQL folds every letter,
    // SQLite A–Z only. (The trigram index folds É too; the comparison after it keeps the old answer.)
    let emile = search(&admin, "Émile").await;
    match engine {
        Engine::Sqlite => assert_eq!(emile, Vec::<String>::new(), "SQLite: É is not é"),
        Engine::Postgres => assert_eq!(emile, strings(&["emile@zola.example"])),
    }
    assert_eq!(search(&admin, "katherine j").await, strings(&["kg@example.net"]));
    assert_eq!(search(&admin, "example").await.len(), 6, "every seeded user and the admin (ada@example.com)");
    assert_eq!(search(&admin, "nobody-like-this").await, Vec::<String>::new(), "nothing matches");
    assert_eq!(search(&admin, "grace hopperx").await, Vec::<String>::new(), "every character counts");
    assert_eq!(search(&admin, "  hopper  ").await, strings(&["grace.hopper@navy.example"]), "spaces around q are trimmed");
}

async fn short_queries_and_wildcards_taken_literally(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    fillers(&app).await;
    seed(
        &app,
        &[
            person("pct@example.com", "Hundred 100% Sure"),
            person("pct2@example.com", "Ten 10 Percent"),
            person("under_score@example.com", "Under Score"),
            person("underxscore@example.com", "Under X Score"),
            person("back@example.com", "Back\\Slash Name"),
            person("backs@example.com", "Backslash Name"),
            person("quote@example.com", "Say \"Hi\" Now"),
            person("qz@example.com", "Q Z"),
        ],
    )
    .await;
    // One and two characters: too short for a trigram, the same answers.
    assert_eq!(search(&admin, "z").await, strings(&["qz@example.com"]));
    assert_eq!(search(&admin, "QZ").await, strings(&["qz@example.com"]));
    assert_eq!(search(&admin, "q z").await, strings(&["qz@example.com"]));
    // `%`, `_` and `\` are characters, never wildcards or escapes, in short and long queries.
    assert_eq!(search(&admin, "%").await, strings(&["pct@example.com"]));
    assert_eq!(search(&admin, "0%").await, strings(&["pct@example.com"]));
    assert_eq!(search(&admin, "100% s").await, strings(&["pct@example.com"]));
    assert_eq!(search(&admin, "1%0").await, Vec::<String>::new());
    assert_eq!(search(&admin, "_").await, strings(&["under_score@example.com"]));
    assert_eq!(search(&admin, "r_s").await, strings(&["under_score@example.com"]));
    assert_eq!(search(&admin, "under_").await, strings(&["under_score@example.com"]));
    assert_eq!(search(&admin, "\\").await, strings(&["back@example.com"]));
    assert_eq!(search(&admin, "k\\s").await, strings(&["back@example.com"]));
    assert_eq!(search(&admin, "\\slash").await, strings(&["back@example.com"]));
    assert_eq!(search(&admin, "\"hi\"").await, strings(&["quote@example.com"]), "a double quote too");
    assert_eq!(search(&admin, "\"").await, strings(&["quote@example.com"]));
}

async fn pages_give_every_match_once_in_email_order(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    // 400 others around 60 matches, so that a page of the walk often ends before the page is
    // full and the rest comes from the trigram index (a window is 20 users per row of a page).
    let mut people = Vec::new();
    for i in 0..400 {
        people.push(person(&format!("other{i:03}@noise.example"), &format!("Other Person {i}")));
    }
    let mut expected = Vec::new();
    for i in 0..60 {
        let email = format!("{}-{i}@paging.example", ["able", "other150", "other399z", "zed"][i % 4]);
        people.push(person(&email, &format!("Paging Member {i}")));
        expected.push(email);
    }
    seed(&app, &people).await;
    expected.sort();
    for limit in [1, 3, 7, 50, 200] {
        assert_eq!(search_all(&admin, "q=paging", limit).await, expected, "pages of {limit}: every match once, in email order");
        assert_eq!(search_all(&admin, "q=mBeR", limit).await, expected, "a part of the names, pages of {limit}");
    }
    let all = search_all(&admin, "q=e", 50).await;
    assert_eq!(all.len(), 461, "one character: every email here has an e");
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(all, sorted, "in email order, once each");
}

async fn q_combines_with_role_status_and_team(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let mut people = Vec::new();
    let roles = [Role::Developer, Role::Viewer, Role::DataScientist, Role::Admin];
    let statuses = [UserStatus::Active, UserStatus::Deactivated, UserStatus::Invited];
    for i in 0..36 {
        people.push((format!("mix{i:02}@combo.example"), format!("Combo Mix {i}"), roles[i % 4], statuses[i % 3]));
        people.push((format!("else{i:02}@combo.example"), format!("Someone Else {i}"), roles[i % 4], statuses[i % 3]));
    }
    let ids = seed(&app, &people).await;
    let want = |keep: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..36).filter(|i| keep(*i)).map(|i| format!("mix{i:02}@combo.example")).collect()
    };
    assert_eq!(search_all(&admin, "q=mix&role=viewer", 5).await, want(&|i| i % 4 == 1));
    assert_eq!(search_all(&admin, "q=combo%20mix&status=deactivated", 5).await, want(&|i| i % 3 == 1));
    assert_eq!(search_all(&admin, "q=MIX&role=admin&status=invited", 5).await, want(&|i| i % 4 == 3 && i % 3 == 2));
    assert_eq!(search_all(&admin, "q=mi&role=developer", 5).await, want(&|i| i.is_multiple_of(4)), "two characters");

    // Members: every fifth "mix" who is not invited (invited people join no team), and one other.
    let member = |i: usize| i.is_multiple_of(5) && i % 3 != 2;
    let members: Vec<String> = (0..36).filter(|i| member(*i)).map(|i| ids[2 * i].to_string()).chain([ids[1].to_string()]).collect();
    let (status, team) = admin.post("/api/v1/teams", json!({ "name": "Combo", "member_ids": members })).await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team_id = team["id"].as_str().expect("team id");
    assert_eq!(search_all(&admin, &format!("q=mix&team_id={team_id}"), 2).await, want(&member));
    assert_eq!(search_all(&admin, &format!("q=ix3&team_id={team_id}"), 2).await, want(&|i| member(i) && i / 10 == 3));

    // Everyone else sees active users only, with the same search.
    let dev = app.user(&admin, "dev@combo.example", "Dev Eloper", "developer", "Plover-Quartz-42!").await;
    assert_eq!(search_all(&dev, "q=mix", 4).await, want(&|i| i.is_multiple_of(3)));
}

async fn the_index_follows_renames_email_changes_and_deletions(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    fillers(&app).await;
    let ids = seed(&app, &[person("margaret@apollo.example", "Margaret Hamilton"), person("lin@kernel.example", "Linus Torvalds")]).await;

    // A rename through the API.
    let (status, body) = admin.patch(&format!("/api/v1/users/{}", ids[0]), json!({ "full_name": "Margaret Heafield" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(search(&admin, "heafield").await, strings(&["margaret@apollo.example"]), "found by the new name");
    assert_eq!(search(&admin, "hamilton").await, Vec::<String>::new(), "not by the old one");
    assert_eq!(search(&admin, "ha").await, Vec::<String>::new(), "nor by a short part of it");

    // An email change, as an identity provider makes it over SCIM.
    let (status, t) = admin.post("/api/v1/scim/tokens", json!({ "name": "idp" })).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let scim = |method: reqwest::Method, path: String, body: Value| {
        let token = t["token"].as_str().expect("token").to_owned();
        let url = format!("{}/scim/v2{path}", app.base);
        async move {
            let res = reqwest::Client::new()
                .request(method, url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .expect("SCIM request");
            let status = res.status();
            (status, res.json::<Value>().await.expect("JSON"))
        }
    };
    let (status, grace) = scim(
        reqwest::Method::POST,
        "/Users".into(),
        json!({ "userName": "grace@cobol.example", "name": { "givenName": "Grace", "familyName": "Hopper" },
                "emails": [{ "primary": true, "type": "work", "value": "grace@cobol.example" }], "active": true }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{grace}");
    assert_eq!(search(&admin, "cobol").await, strings(&["grace@cobol.example"]));
    let patch = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        { "op": "Add", "path": "emails[type eq \"work\"].value", "value": "rear.admiral@navy.example" } ] });
    let (status, body) = scim(reqwest::Method::PATCH, format!("/Users/{}", grace["id"].as_str().expect("id")), patch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(search(&admin, "admiral@").await, strings(&["rear.admiral@navy.example"]), "found by the new email");
    assert_eq!(search(&admin, "cobol").await, Vec::<String>::new(), "not by the old one");

    // A change written by an operator's own SQL, past the store: the index still follows.
    let mut tx = app.kw.unchecked_write().await.expect("write");
    let mut linus = tx.user_by_id(ids[1]).await.expect("read").expect("linus");
    linus.email = "linus@git.example".into();
    tx.update_user(&linus).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(search(&admin, "git.ex").await, strings(&["linus@git.example"]));
    assert_eq!(search(&admin, "kernel").await, Vec::<String>::new());
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
        sqlx::query(
            "UPDATE users SET full_name = 'Linus Benedict', email = 'lbt@linux.example', email_key = 'lbt@linux.example' WHERE id = $1",
        )
        .bind(ids[1].to_string())
        .execute(&mut conn)
        .await
        .expect("update by SQL");
        conn.close().await.ok();
    }
    assert_eq!(search(&admin, "benedict").await, strings(&["lbt@linux.example"]));
    assert_eq!(search(&admin, "linux.ex").await, strings(&["lbt@linux.example"]));
    assert_eq!(search(&admin, "torvalds").await, Vec::<String>::new());
    assert_eq!(search(&admin, "git.ex").await, Vec::<String>::new());

    // A revoked invitation deletes the invited account: its text is gone from the index.
    let (status, inv) = admin
        .post(
            "/api/v1/invitations",
            json!({ "email": "ghost@gone.example", "full_name": "Casper Ghost", "role": "viewer", "send_email": false }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    assert_eq!(search(&admin, "casper").await, strings(&["ghost@gone.example"]));
    let (status, _) = admin.delete(&format!("/api/v1/invitations/{}", inv["id"].as_str().expect("id"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(search(&admin, "casper").await, Vec::<String>::new(), "a deleted user is not found by old text");
    assert_eq!(search(&admin, "gone.example").await, Vec::<String>::new());
    // The address is free again, and a new account under it is found by its own name only.
    seed(&app, &[person("ghost@gone.example", "Friendly Spirit")]).await;
    assert_eq!(search(&admin, "gone.ex").await, strings(&["ghost@gone.example"]));
    assert_eq!(search(&admin, "casper").await, Vec::<String>::new());
    assert_eq!(search(&admin, "spirit").await, strings(&["ghost@gone.example"]));
}

/// A small deterministic generator (xorshift), so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn text(&mut self, alphabet: &[char], len: usize) -> String {
        (0..len).map(|_| alphabet[self.below(alphabet.len())]).collect()
    }
}

async fn randomized_searches_match_a_plain_filter(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Few letters, so that parts repeat across people; `%`, `_`, `\` and lower-case non-ASCII
    // letters among them (upper-case non-ASCII letters fold differently on the two engines,
    // as they always did: see docs/api.md).
    let name_chars: Vec<char> = "abcABC %_\\éñ".chars().collect();
    let local_chars: Vec<char> = "abc_.-".chars().collect();
    let roles = [Role::Developer, Role::Viewer, Role::DataScientist, Role::Admin];
    let statuses = [UserStatus::Active, UserStatus::Deactivated, UserStatus::Invited];
    let mut people = Vec::new();
    let mut emails = std::collections::HashSet::new();
    while people.len() < 300 {
        let (first, len) = (rng.text(&local_chars[..3], 1), 2 + rng.below(6));
        let local = format!("{first}{}", rng.text(&local_chars, len));
        let email = format!("{local}@{}.example", ["acme", "abc", "cab"][rng.below(3)]);
        if Email::parse(&email).is_err() || !emails.insert(email.clone()) {
            continue;
        }
        let (first, len) = (rng.text(&name_chars[..6], 1), 2 + rng.below(10));
        let name = format!("{first}{}", rng.text(&name_chars, len)).trim().to_owned();
        people.push((email, name, roles[rng.below(4)], statuses[rng.below(3)]));
    }
    seed(&app, &people).await;
    let mut everyone: Vec<(String, String, &str, &str)> =
        people.iter().map(|(e, n, r, s)| (e.to_lowercase(), n.clone(), r.as_str(), s.as_str())).collect();
    everyone.push(("ada@example.com".into(), "Ada Lovelace".into(), "admin", "active"));
    everyone.sort();

    for round in 0..120 {
        // A part of someone's text (any case), or made-up text, of 1 to 6 characters.
        let (e, n, _, _) = &everyone[rng.below(everyone.len())];
        let source: Vec<char> = if rng.below(2) == 0 { e.chars().collect() } else { n.chars().collect() };
        let len = 1 + rng.below(6);
        let q: String = if rng.below(4) == 0 || source.len() < len {
            rng.text(&name_chars, len)
        } else {
            let start = rng.below(source.len() - len + 1);
            let part: String = source[start..start + len].iter().collect();
            if rng.below(2) == 0 { part.to_ascii_uppercase() } else { part }
        };
        let q = q.trim().to_owned();
        if q.is_empty() {
            continue;
        }
        let role = (rng.below(3) == 0).then(|| ["developer", "viewer", "data_scientist", "admin"][rng.below(4)]);
        let status = (rng.below(3) == 0).then(|| ["active", "deactivated", "invited"][rng.below(3)]);
        let lower = q.to_lowercase();
        let expected: Vec<String> = everyone
            .iter()
            .filter(|(e, n, r, s)| {
                (e.contains(&lower) || n.to_ascii_lowercase().contains(&lower))
                    && role.is_none_or(|x| x == *r)
                    && status.is_none_or(|x| x == *s)
            })
            .map(|(e, ..)| e.clone())
            .collect();
        let mut query = format!("q={}", enc(&q));
        if let Some(r) = role {
            query.push_str(&format!("&role={r}"));
        }
        if let Some(s) = status {
            query.push_str(&format!("&status={s}"));
        }
        let limit = [1, 2, 5, 13, 200][rng.below(5)];
        let found = search_all(&admin, &query, limit).await;
        assert_eq!(found, expected, "round {round}: {query}, pages of {limit}");
    }
}

async fn control_characters_are_refused(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    for q in ["%00", "a%00bc", "ab%09cd", "%1B%5B"] {
        let (status, body) = admin.get(&format!("/api/v1/users?q={q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "q={q}: {body}");
        assert_eq!(body["error"]["code"], "invalid_query", "q={q}");
    }
    let (status, body) = admin.get("/api/v1/users?q=ada&cursor=a%00").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The People page says so too, instead of failing.
    let res = admin.http.get(format!("{}/settings/users?q=a%00b&cursor=x%00", app.base)).send().await.expect("page");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(search(&admin, "ada").await, strings(&["ada@example.com"]), "the search still works");
}

/// 20,100 people who all match `q`, four of them admins: past the window, SQLite finds more
/// candidates than it reads (20,000) and walks on; PostgreSQL's planner picks its own way.
async fn a_common_q_with_a_rare_filter(engine: Engine) {
    use sqlx::Connection;
    let Some(app) = spawn_app(engine).await else { return };
    let admin = app.admin().await;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
    for chunk in (0..20_100).collect::<Vec<usize>>().chunks(500) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| {
                let role = if [1, 7_000, 15_000, 20_099].contains(i) { "admin" } else { "viewer" };
                format!(
                    "('{}', 'p{i:05}@common.example', 'p{i:05}@common.example', 'Common Person {i}', '{role}', 'active', 0, 0)",
                    UserId::new()
                )
            })
            .collect();
        let sql =
            format!("INSERT INTO users (id, email, email_key, full_name, role, status, created_at, updated_at) VALUES {}", rows.join(", "));
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.expect("insert");
    }
    conn.close().await.ok();
    let admins = strings(&["p00001@common.example", "p07000@common.example", "p15000@common.example", "p20099@common.example"]);
    for limit in [1, 2, 50] {
        assert_eq!(search_all(&admin, "q=common&role=admin", limit).await, admins, "pages of {limit}");
        assert_eq!(search_all(&admin, "q=PERSON%202&role=admin", limit).await, admins[3..], "pages of {limit}");
    }
    let (_, first) = admin.get("/api/v1/users?q=common&limit=3").await;
    let emails: Vec<&str> = first["items"].as_array().expect("items").iter().map(|u| u["email"].as_str().expect("email")).collect();
    assert_eq!(emails, ["p00000@common.example", "p00001@common.example", "p00002@common.example"]);
}
