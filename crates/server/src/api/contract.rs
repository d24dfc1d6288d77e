//! Completes the OpenAPI document in one place rather than on each handler: what every
//! operation can answer besides its success (decided from the operation's shape), ids typed as
//! UUIDs, and the constraints the server applies to request fields (the core's own lists of
//! values, the same ranges and lengths it checks). A client generated from the document then
//! knows every status it can meet and every value it may send.

use serde_json::{Value, json};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// Paths whose operations are throttled (sign-in, second factors, passwords): they can answer 429.
const THROTTLED: &[&str] =
    &["/api/v1/auth/", "/api/v1/me/mfa", "/api/v1/me/password", "/api/v1/invitations/accept", "/api/v1/password-reset"];

/// The document as served: the error statuses each API operation can answer added, ids typed
/// as UUIDs and the constraints of request fields and query parameters stated.
pub fn complete(mut openapi: OpenApi) -> Value {
    statuses(&mut openapi);
    let mut doc = serde_json::to_value(&openapi).unwrap_or_default();
    constrain(&mut doc);
    doc
}

fn statuses(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let throttled = THROTTLED.iter().any(|p| path.starts_with(p));
        let ops =
            [(&mut item.get, false), (&mut item.post, true), (&mut item.put, true), (&mut item.patch, true), (&mut item.delete, true)];
        for (op, writes) in ops {
            if let Some(op) = op.as_mut() {
                complete_operation(op, path, writes, throttled);
            }
        }
    }
}

fn complete_operation(op: &mut Operation, path: &str, writes: bool, throttled: bool) {
    let conditional = op
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case("if-match")));
    let has_body = op.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| error_response(description));
    };
    add("400", "invalid input: the body, a parameter or the query is not as expected (`field` names it)");
    add("401", "unauthenticated: no valid session or API token, or wrong credentials");
    add("403", "forbidden, csrf_token_invalid or mfa_setup_required");
    if path.contains('{') {
        add("404", "the thing named in the path does not exist or is not visible to the caller");
    }
    if writes {
        add("409", "conflict with the current state (a name taken, a last admin, a state that forbids it)");
    }
    if conditional {
        add("412", "precondition_failed: it changed since the ETag was read");
    }
    if has_body {
        add("413", "payload_too_large");
        add("415", "unsupported_media_type: the body must be application/json");
    }
    if throttled {
        add("429", "too_many_attempts: wait `retry_after_seconds` (also in Retry-After)");
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
}

/// A field's or parameter's constraint.
enum Rule {
    /// One of these strings.
    OneOf(Vec<&'static str>),
    /// An integer in this range.
    Range(i64, i64),
    /// Text of 1 to this many characters, with at least one that is not a space and none of the
    /// control or invisible characters the core refuses (see `core::text::forbidden_char`).
    Text(u32),
    /// Text of at most this many characters (may be empty).
    Note(u32),
    /// An RFC 3339 time.
    Time,
    /// Text of at most this many characters without control characters; blank means none.
    Plain(u32),
    /// Text of any length without control characters.
    NoControl,
    /// Text of 1 to this many characters without control characters, not blank.
    Line(u32),
    /// At most this many items.
    Items(u32),
    /// From `.0` to `.1` items.
    Count(u32, u32),
    /// At least one item.
    NonEmpty,
    /// An email address (`format: email`; the core also accepts internationalised addresses).
    Email,
}

/// The characters the core refuses in names (control, direction and invisible characters of
/// the Basic Multilingual Plane), as a regular-expression class body.
const REFUSED: &str = "\\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2028-\\u202E\\u2060-\\u206F\\u3164\\uFEFF\\uFFA0\\uFFF0-\\uFFFB";

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

/// The request fields' rules: (schema, property, rule).
fn field_rules() -> Vec<(&'static str, &'static str, Rule)> {
    use Rule::*;
    use keyward_core::access::{Action, Kind, Level};
    use keyward_core::audience::Visibility;
    use keyward_core::policy::MfaMode;
    use keyward_core::types::Role;
    let roles = || OneOf(names(&Role::ALL, Role::as_str));
    let demotions = || OneOf(names(&Role::ALL[1..], Role::as_str));
    let decisions = || OneOf(vec!["keep", "revoke"]);
    vec![
        ("CheckRequest", "action", OneOf(names(&Action::ALL, Action::as_str))),
        ("CheckBatchRequest", "checks", Items(keyward_core::services::authz::MAX_BATCH as u32)),
        ("CreateResourceRequest", "kind", OneOf(names(&Kind::ALL, Kind::as_str))),
        ("CreateResourceRequest", "name", Text(200)),
        ("CreateResourceRequest", "cpu_millis", Range(0, 1_000_000_000)),
        ("CreateResourceRequest", "memory_mib", Range(0, 1_000_000_000)),
        ("CreateResourceRequest", "storage_gib", Range(0, 1_000_000_000)),
        ("UpdateResourceRequest", "name", Text(200)),
        ("UpdateResourceRequest", "cpu_millis", Range(0, 1_000_000_000)),
        ("UpdateResourceRequest", "memory_mib", Range(0, 1_000_000_000)),
        ("UpdateResourceRequest", "storage_gib", Range(0, 1_000_000_000)),
        ("UpdateResourceRequest", "visibility", OneOf(names(&Visibility::ALL, Visibility::as_str))),
        ("ShareSubject", "type", OneOf(vec!["user", "team", "all_users"])),
        ("ShareEntry", "level", OneOf(names(&[Level::View, Level::Edit], Level::as_str))),
        ("ShareEntry", "expires_at", Time),
        ("CreateTeamRequest", "name", Text(100)),
        ("CreateTeamRequest", "description", Note(1000)),
        ("UpdateTeamRequest", "name", Text(100)),
        ("UpdateTeamRequest", "description", Note(1000)),
        ("Quotas", "max_cpu_millis", Range(0, 1_000_000_000_000)),
        ("Quotas", "max_memory_mib", Range(0, 1_000_000_000_000)),
        ("Quotas", "max_storage_gib", Range(0, 1_000_000_000_000)),
        ("Quotas", "max_apps", Range(0, 1_000_000_000_000)),
        ("Quotas", "max_workflows", Range(0, 1_000_000_000_000)),
        ("Quotas", "max_workspaces", Range(0, 1_000_000_000_000)),
        ("CreateTokenRequest", "name", Text(100)),
        ("CreateTokenRequest", "expires_in_days", Range(1, keyward_core::services::account::MAX_TOKEN_DAYS)),
        ("UpdateMeRequest", "full_name", Text(200)),
        ("UpdateUserRequest", "full_name", Text(200)),
        ("UpdateUserRequest", "role", roles()),
        ("UpdateUserRequest", "access_expires_at", Time),
        ("CreateInvitationRequest", "full_name", Text(200)),
        ("CreateInvitationRequest", "role", roles()),
        ("MfaPolicy", "mode", OneOf(names(&[MfaMode::Off, MfaMode::All, MfaMode::Roles], MfaMode::as_str))),
        ("MfaPolicy", "roles", roles()),
        ("MfaPolicy", "grace_period_days", Range(0, 90)),
        ("PasswordPolicy", "min_length", Range(8, 128)),
        ("SessionPolicy", "idle_timeout_minutes", Range(5, 1440)),
        ("SessionPolicy", "absolute_timeout_hours", Range(1, 720)),
        ("ReviewPolicy", "due_days", Range(1, 90)),
        ("ReviewPolicy", "inactive_days", Range(7, 730)),
        ("ReviewPolicy", "deactivate_inactive_after_days", Range(7, 730)),
        ("DecideItemRequest", "decision", decisions()),
        ("DecideItemRequest", "demote_to", demotions()),
        ("DecideItemRequest", "note", Note(1000)),
        ("DecideItemsRequest", "decision", decisions()),
        ("DecideItemsRequest", "demote_to", demotions()),
        ("DecideItemsRequest", "note", Note(1000)),
        ("DecideItemsRequest", "item_ids", Count(1, 10_000)),
        ("LoginRequest", "email", Email),
        ("CreateScimTokenRequest", "name", Text(100)),
        ("ScimSettingsBody", "default_role", roles()),
        ("ScimSettingsBody", "role_attribute", Plain(200)),
        ("ScimSettingsBody", "group_roles", Items(200)),
        ("ScimGroupRole", "group", Line(200)),
        ("ScimGroupRole", "role", roles()),
        ("CreateSsoProviderRequest", "name", Text(100)),
        ("CreateSsoProviderRequest", "default_role", roles()),
        ("CreateSsoProviderRequest", "mappings", Items(200)),
        ("CreateSsoProviderRequest", "required_domains", Items(100)),
        ("CreateSsoProviderRequest", "scopes", Items(20)),
        ("UpdateSsoProviderRequest", "name", Text(100)),
        ("UpdateSsoProviderRequest", "default_role", roles()),
        ("UpdateSsoProviderRequest", "mappings", Items(200)),
        ("UpdateSsoProviderRequest", "required_domains", Items(100)),
        ("UpdateSsoProviderRequest", "scopes", Items(20)),
        ("SsoGroupMapping", "group", Line(200)),
        ("SsoGroupMapping", "role", roles()),
        ("CreateServiceAccountRequest", "name", Text(200)),
        ("CreateServiceAccountRequest", "description", Note(1000)),
        ("CreateServiceAccountRequest", "role", roles()),
        ("CreateServiceTokenRequest", "name", Text(100)),
        ("CreateServiceTokenRequest", "scopes", OneOf(names(&keyward_core::scope::Scope::ALL, keyward_core::scope::Scope::as_str))),
        ("CreateServiceTokenRequest", "scopes", NonEmpty),
        ("CreateServiceTokenRequest", "expires_in_days", Range(1, keyward_core::services::account::MAX_TOKEN_DAYS)),
        ("PasswordResetRequest", "email", Email),
        ("CreateInvitationRequest", "email", Email),
    ]
}

/// The query parameters' rules: (path, parameter, rule).
fn query_rules() -> Vec<(&'static str, &'static str, Rule)> {
    use Rule::*;
    use keyward_core::access::{Action, Kind};
    use keyward_core::services::directory::MAX_PAGE;
    use keyward_core::types::Role;
    let page = || Range(1, MAX_PAGE);
    let kinds = || OneOf(names(&Kind::ALL, Kind::as_str));
    vec![
        ("/api/v1/audit", "limit", page()),
        ("/api/v1/audit", "since", Time),
        ("/api/v1/audit", "until", Time),
        ("/api/v1/audit/export", "format", OneOf(vec!["csv", "jsonl"])),
        ("/api/v1/audit/export", "since", Time),
        ("/api/v1/audit/export", "until", Time),
        ("/api/v1/resources", "limit", page()),
        ("/api/v1/resources", "kind", kinds()),
        ("/api/v1/users", "limit", page()),
        ("/api/v1/users", "q", NoControl),
        ("/api/v1/users", "role", OneOf(names(&Role::ALL, Role::as_str))),
        ("/api/v1/users", "status", OneOf(vec!["invited", "active", "deactivated"])),
        ("/api/v1/users/{id}/logins", "limit", page()),
        ("/api/v1/authz/lookup", "limit", Range(1, keyward_core::services::authz::MAX_LOOKUP as i64)),
        ("/api/v1/authz/lookup", "action", OneOf(names(&Action::ALL, Action::as_str))),
        ("/api/v1/authz/lookup", "kind", kinds()),
    ]
}

/// Applies `rule` to a JSON schema object (for an array, to its items).
fn apply(schema: &mut Value, rule: &Rule) {
    use Rule::*;
    let Some(obj) = schema.as_object_mut() else { return };
    let nullable = obj.get("type").and_then(Value::as_array).is_some_and(|t| t.iter().any(|v| v == "null"));
    if obj.get("type").is_some_and(|t| t == "array" || t.as_array().is_some_and(|a| a.iter().any(|v| v == "array"))) {
        match rule {
            Items(n) => {
                obj.insert("maxItems".into(), json!(n));
                return;
            }
            Count(lo, hi) => {
                obj.insert("minItems".into(), json!(lo));
                obj.insert("maxItems".into(), json!(hi));
                return;
            }
            NonEmpty => {
                obj.insert("minItems".into(), json!(1));
                return;
            }
            _ => {}
        }
        if let Some(items) = obj.get_mut("items") {
            apply(items, rule);
        }
        return;
    }
    match rule {
        OneOf(values) => {
            let mut values: Vec<Value> = values.iter().map(|v| json!(v)).collect();
            if nullable {
                values.push(Value::Null);
            }
            obj.insert("enum".into(), Value::Array(values));
        }
        Range(lo, hi) => {
            obj.insert("minimum".into(), json!(lo));
            obj.insert("maximum".into(), json!(hi));
        }
        Text(max) => {
            obj.insert("minLength".into(), json!(1));
            obj.insert("maxLength".into(), json!(max));
            obj.insert("pattern".into(), json!(format!("^[^{REFUSED}]*[^\\s{REFUSED}][^{REFUSED}]*$")));
        }
        Note(max) => {
            obj.insert("maxLength".into(), json!(max));
            // Line breaks and tabs are text; other control characters are refused.
            obj.insert("pattern".into(), json!("^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"));
        }
        Time => {
            obj.insert("format".into(), json!("date-time"));
        }
        Line(max) => {
            obj.insert("minLength".into(), json!(1));
            obj.insert("maxLength".into(), json!(max));
            obj.insert(
                "pattern".into(),
                json!("^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"),
            );
        }
        Plain(max) => {
            obj.insert("maxLength".into(), json!(max));
            obj.insert("pattern".into(), json!("^[^\\u0000-\\u001F\\u007F-\\u009F]*$"));
        }
        NoControl => {
            obj.insert("pattern".into(), json!("^[^\\u0000-\\u001F\\u007F-\\u009F]*$"));
        }
        Email => {
            obj.insert("maxLength".into(), json!(254));
            obj.insert("format".into(), json!("email"));
        }
        Items(_) | Count(..) | NonEmpty => {}
    }
}

/// Whether a field or parameter holds ids (an audit event's `target_id` may also name a thing
/// that has no id, such as `security` for the security policy).
fn is_id(name: &str) -> bool {
    name != "target_id" && (name == "id" || name.ends_with("_id") || name.ends_with("_ids"))
}

/// Types every id as a UUID (an array of ids: its items).
fn uuid(schema: &mut Value) {
    if let Some(items) = schema.get_mut("items") {
        return uuid(items);
    }
    if let Some(obj) = schema.as_object_mut()
        && obj.get("$ref").is_none()
    {
        obj.insert("format".into(), json!("uuid"));
    }
}

fn constrain(doc: &mut Value) {
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for (_, schema) in schemas.iter_mut() {
            if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
                for (name, prop) in props.iter_mut() {
                    if is_id(name) {
                        uuid(prop);
                    }
                }
            }
        }
        for (schema, field, rule) in field_rules() {
            if let Some(prop) = schemas.get_mut(schema).and_then(|s| s.pointer_mut(&format!("/properties/{field}"))) {
                apply(prop, &rule);
            }
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    let rules = query_rules();
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (_, op) in item.iter_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else { continue };
            for p in params {
                let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let Some(schema) = p.get_mut("schema") else { continue };
                if is_id(&name) {
                    uuid(schema);
                }
                for (_, _, rule) in rules.iter().filter(|(on, param, _)| *on == path && *param == name) {
                    apply(schema, rule);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        let (_, openapi) = crate::api::router().split_for_parts();
        complete(openapi)
    }

    #[test]
    fn ids_are_uuids_and_fields_carry_the_servers_rules() {
        let doc = document();
        let schema = |name: &str, field: &str| doc.pointer(&format!("/components/schemas/{name}/properties/{field}")).cloned().unwrap();
        assert_eq!(schema("CheckRequest", "user_id")["format"], "uuid");
        assert_eq!(schema("CheckRequest", "action")["enum"], json!(["view", "read_logs", "use", "edit", "run", "share", "delete"]));
        assert_eq!(schema("CreateTeamRequest", "name")["maxLength"], 100);
        assert_eq!(schema("CreateTeamRequest", "member_ids")["items"]["format"], "uuid");
        assert_eq!(schema("UpdateResourceRequest", "visibility")["enum"], json!(["private", "all_users", "specific", null]));
        assert_eq!(schema("SessionPolicy", "idle_timeout_minutes")["maximum"], 1440);
        let share = &doc["paths"]["/api/v1/resources/{id}/shares/{share_id}"]["delete"];
        assert!(share["parameters"].as_array().unwrap().iter().all(|p| p["schema"]["format"] == "uuid"));
        let statuses: Vec<&String> = share["responses"].as_object().unwrap().keys().collect();
        assert_eq!(statuses, ["204", "400", "401", "403", "404", "409"]);
        let limit =
            doc["paths"]["/api/v1/users"]["get"]["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "limit").cloned().unwrap();
        assert_eq!((limit["schema"]["minimum"].clone(), limit["schema"]["maximum"].clone()), (json!(1), json!(200)));
        assert!(doc["paths"]["/api/v1/auth/login"]["post"]["responses"]["429"].is_object());
    }

    #[test]
    fn a_name_pattern_accepts_what_the_core_accepts() {
        let doc = document();
        let pattern = doc.pointer("/components/schemas/CreateTeamRequest/properties/name/pattern").unwrap().as_str().unwrap().to_owned();
        // The pattern is written for ECMA regular expressions; Rust's regex spells \uXXXX as \x{XXXX}.
        let ecma = regex::Regex::new(r"\\u([0-9A-F]{4})").unwrap();
        let rust = regex::Regex::new(&ecma.replace_all(&pattern, r"\x{$1}")).unwrap();
        for (name, ok) in
            [("Data", true), ("  Data  ", true), ("Équipe Ω", true), ("   ", false), ("a\u{200B}b", false), ("a\u{0007}", false)]
        {
            assert_eq!(rust.is_match(name), ok, "{name:?}");
            assert_eq!(keyward_core::types::TeamName::parse(name).is_ok(), ok, "{name:?}");
        }
        assert_eq!(doc.pointer("/components/schemas/LoginRequest/properties/email/format").unwrap(), "email");
    }
}
