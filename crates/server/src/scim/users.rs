//! `/scim/v2/Users`: users in SCIM's JSON, and back.

use crate::scim::{
    ListQuery, ScimCaller, ScimError, ScimResult, USER_SCHEMA, body_json, filter::get_ci, if_match, meta, patch, resource_answer, str_of,
};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keyward_core::services::scim::{ScimUser, ScimUserInput};
use keyward_core::services::scim_admin::ScimSettings;
use keyward_core::types::{Email, UserId};
use serde_json::{Value, json};
use std::collections::HashMap;

/// A user in SCIM's JSON.
pub fn to_json(u: &ScimUser, base: &str) -> Value {
    let etag = u.etag();
    let mut v = json!({
        "schemas": [USER_SCHEMA],
        "id": u.user.id.to_string(),
        "userName": u.attrs.user_name,
        "emails": [email_json(u)],
        "active": u.active(),
        "roles": [{ "value": u.user.role.as_str(), "display": u.user.role.label(), "primary": true }],
        "groups": u.groups.iter().map(|t| json!({ "value": t.id.to_string(), "display": t.name, "$ref": format!("{base}/Groups/{}", t.id) })).collect::<Vec<_>>(),
        "meta": meta("User", format!("{base}/Users/{}", u.user.id), u.user.created_at, u.user.updated_at, &etag),
    });
    if let Some(e) = &u.attrs.external_id {
        v["externalId"] = json!(e);
    }
    // The account's name is the display name (an admin may have changed it in Keyward).
    if u.attrs.display_name.is_some() {
        v["displayName"] = json!(u.user.full_name);
    }
    let mut name = serde_json::Map::new();
    if let Some(g) = &u.attrs.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &u.attrs.family_name {
        name.insert("familyName".into(), json!(f));
    }
    if !name.is_empty() {
        v["name"] = Value::Object(name);
    }
    v
}

/// The account's email, with the `type` and `primary` the provider gave it.
fn email_json(u: &ScimUser) -> Value {
    let mut e = json!({ "value": u.user.email });
    if let Some(t) = &u.attrs.email_type {
        e["type"] = json!(t);
    }
    if let Some(p) = u.attrs.email_primary {
        e["primary"] = json!(p);
    }
    e
}

/// What a provider sent, read as a user.
fn from_json(v: &Value, settings: &ScimSettings) -> ScimResult<ScimUserInput> {
    let user_name =
        str_of(v, "userName")?.filter(|s| !s.trim().is_empty()).ok_or_else(|| ScimError::bad("invalidValue", "userName is required."))?;
    let (given_name, family_name) = match get_ci(v, "name") {
        None | Some(Value::Null) => (None, None),
        Some(n @ Value::Object(_)) => (str_of(n, "givenName")?, str_of(n, "familyName")?),
        Some(_) => return Err(ScimError::bad("invalidValue", "name must be an object.")),
    };
    let (email, email_type, email_primary) = match get_ci(v, "emails") {
        None | Some(Value::Null) => (None, None, None),
        Some(Value::Array(items)) => {
            let truthy = |i: &Value| {
                matches!(get_ci(i, "primary"), Some(Value::Bool(true)))
                    || get_ci(i, "primary").and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case("true"))
            };
            let primary = items.iter().find(|i| truthy(i)).or_else(|| items.first());
            match primary {
                Some(i) => {
                    let flag = match get_ci(i, "primary") {
                        Some(Value::Bool(b)) => Some(*b),
                        Some(Value::String(s)) => Some(s.eq_ignore_ascii_case("true")),
                        _ => None,
                    };
                    (str_of(i, "value")?, str_of(i, "type")?, flag)
                }
                None => (None, None, None),
            }
        }
        Some(_) => return Err(ScimError::bad("invalidValue", "emails must be an array.")),
    };
    // Without an email, a userName that is an address serves (Okta's and Entra's usual setup).
    let email = email.or_else(|| Email::parse(&user_name).ok().map(|_| user_name.clone())).ok_or_else(|| {
        ScimError::bad("invalidValue", "An email is required: send emails with a primary value, or a userName that is an email address.")
    })?;
    let active = match get_ci(v, "active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        // Entra ID sends "True" and "False" as strings in PATCH operations.
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(ScimError::bad("invalidValue", "active must be true or false.")),
    };
    let role = match settings.role_attribute.as_deref() {
        None => None,
        Some(attr) => role_value(v, attr)?,
    };
    Ok(ScimUserInput {
        user_name,
        external_id: str_of(v, "externalId")?,
        display_name: str_of(v, "displayName")?,
        given_name,
        family_name,
        email,
        email_type,
        email_primary,
        active,
        role,
    })
}

/// The value of the configured role attribute: `roles` (the primary, or first, value), or any
/// attribute, top-level or in an extension (`urn:…:User:attr`).
fn role_value(v: &Value, attr: &str) -> ScimResult<Option<String>> {
    let name = crate::scim::filter::strip_urn(attr);
    let found =
        get_ci(v, name).or_else(|| v.as_object()?.iter().filter(|(k, _)| k.starts_with("urn:")).find_map(|(_, ext)| get_ci(ext, name)));
    Ok(match found {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(items)) => {
            let primary = items.iter().find(|i| matches!(get_ci(i, "primary"), Some(Value::Bool(true)))).or_else(|| items.first());
            match primary {
                Some(Value::String(s)) => Some(s.clone()),
                Some(i) => str_of(i, "value")?,
                None => None,
            }
        }
        Some(_) => return Err(ScimError::bad("invalidValue", format!("{attr} must be a string or a list of roles."))),
    })
}

fn user_id(id: &str) -> ScimResult<UserId> {
    // An id that is not one of ours names nothing here.
    UserId::parse(id).map_err(|_| ScimError::new(StatusCode::NOT_FOUND, None, "User not found."))
}

/// Lists users: `filter` (`eq co sw ew pr gt ge lt le`, `and or not`), `startIndex`, `count`,
/// `attributes`, `excludedAttributes`.
#[utoipa::path(get, path = "/scim/v2/Users", tag = "scim",
    params(("filter" = Option<String>, Query), ("startIndex" = Option<i64>, Query), ("count" = Option<i64>, Query),
           ("attributes" = Option<String>, Query), ("excludedAttributes" = Option<String>, Query)),
    responses((status = 200, description = "ListResponse", content_type = "application/scim+json", body = serde_json::Value),
              (status = 400, description = "invalidFilter or invalidValue"), (status = 401, description = "Not a SCIM token")))]
pub async fn list_users(
    State(state): State<AppState>,
    ScimCaller(client, base): ScimCaller,
    Query(params): Query<HashMap<String, String>>,
) -> ScimResult<Response> {
    let q = ListQuery::from_params(&params)?;
    let users = state.kw.scim_users(&client).await?;
    Ok(q.answer(users.iter().map(|u| to_json(u, &base)).collect()))
}

/// Searches users with a SearchRequest body.
#[utoipa::path(post, path = "/scim/v2/Users/.search", tag = "scim", request_body(content = serde_json::Value, content_type = "application/scim+json"),
    responses((status = 200, description = "ListResponse", content_type = "application/scim+json", body = serde_json::Value),
              (status = 400, description = "invalidFilter or invalidValue"), (status = 401, description = "Not a SCIM token")))]
pub async fn search_users(State(state): State<AppState>, ScimCaller(client, base): ScimCaller, body: Bytes) -> ScimResult<Response> {
    let q = ListQuery::from_search(&body_json(&body)?)?;
    let users = state.kw.scim_users(&client).await?;
    Ok(q.answer(users.iter().map(|u| to_json(u, &base)).collect()))
}

/// Creates a user.
#[utoipa::path(post, path = "/scim/v2/Users", tag = "scim", request_body(content = serde_json::Value, content_type = "application/scim+json"),
    responses((status = 201, description = "The user", content_type = "application/scim+json", body = serde_json::Value),
              (status = 400, description = "invalidValue or invalidSyntax"), (status = 401, description = "Not a SCIM token"),
              (status = 409, description = "uniqueness: the userName or email is taken")))]
pub async fn create_user(
    State(state): State<AppState>,
    ScimCaller(client, base): ScimCaller,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> ScimResult<Response> {
    let settings = state.kw.scim_settings_for(&client).await?;
    let input = from_json(&body_json(&body)?, &settings)?;
    let user = state.kw.scim_create_user(&client, input).await?;
    let mut res = resource_answer(StatusCode::CREATED, to_json(&user, &base), &user.etag(), &params);
    if let Ok(loc) = axum::http::HeaderValue::from_str(&format!("{base}/Users/{}", user.user.id)) {
        res.headers_mut().insert(axum::http::header::LOCATION, loc);
    }
    Ok(res)
}

/// One user.
#[utoipa::path(get, path = "/scim/v2/Users/{id}", tag = "scim", params(("id" = String, Path)),
    responses((status = 200, description = "The user", content_type = "application/scim+json", body = serde_json::Value),
              (status = 401, description = "Not a SCIM token"), (status = 404, description = "No such user")))]
pub async fn get_user(
    State(state): State<AppState>,
    ScimCaller(client, base): ScimCaller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ScimResult<Response> {
    let user = state.kw.scim_user(&client, user_id(&id)?).await?;
    Ok(resource_answer(StatusCode::OK, to_json(&user, &base), &user.etag(), &params))
}

/// Replaces a user; `active: false` ends their sessions and tokens at once. `If-Match` → 412 when stale.
#[utoipa::path(put, path = "/scim/v2/Users/{id}", tag = "scim", params(("id" = String, Path)),
    request_body(content = serde_json::Value, content_type = "application/scim+json"),
    responses((status = 200, description = "The user", content_type = "application/scim+json", body = serde_json::Value),
              (status = 400, description = "invalidValue"), (status = 401, description = "Not a SCIM token"), (status = 404, description = "No such user"),
              (status = 409, description = "uniqueness, or the last admin"), (status = 412, description = "If-Match names an older version")))]
pub async fn replace_user(
    State(state): State<AppState>,
    ScimCaller(client, base): ScimCaller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<Response> {
    let id = user_id(&id)?;
    let settings = state.kw.scim_settings_for(&client).await?;
    let input = from_json(&body_json(&body)?, &settings)?;
    let user = state.kw.scim_replace_user(&client, id, input, if_match(&headers).as_deref()).await?;
    Ok(resource_answer(StatusCode::OK, to_json(&user, &base), &user.etag(), &params))
}

/// Changes a user with PATCH operations (as Okta and Entra ID send them).
#[utoipa::path(patch, path = "/scim/v2/Users/{id}", tag = "scim", params(("id" = String, Path)),
    request_body(content = serde_json::Value, content_type = "application/scim+json"),
    responses((status = 200, description = "The user", content_type = "application/scim+json", body = serde_json::Value),
              (status = 400, description = "invalidSyntax, invalidPath, noTarget or invalidValue"), (status = 401, description = "Not a SCIM token"),
              (status = 404, description = "No such user"), (status = 409, description = "uniqueness, or the last admin"),
              (status = 412, description = "If-Match names an older version")))]
pub async fn patch_user(
    State(state): State<AppState>,
    ScimCaller(client, base): ScimCaller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<Response> {
    let id = user_id(&id)?;
    let ops = body_json(&body)?;
    let sent = if_match(&headers);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = state.kw.scim_user(&client, id).await?;
        let settings = state.kw.scim_settings_for(&client).await?;
        let mut doc = to_json(&current, &base);
        // A role that comes from an attribute is patched through it; the shown `roles` is read-only.
        if settings.role_attribute.is_some() {
            doc.as_object_mut().map(|o| o.remove("roles"));
        }
        patch::apply(&mut doc, &ops).map_err(|e| ScimError::bad(e.scim_type, e.detail))?;
        let input = from_json(&doc, &settings)?;
        // The operations apply to the version read above: a change in between would be lost, so
        // the write names that version, and is tried again on the new state when the client
        // sent no If-Match of its own.
        let expected = sent.clone().unwrap_or_else(|| current.etag());
        match state.kw.scim_replace_user(&client, id, input, Some(&expected)).await {
            Ok(user) => return Ok(resource_answer(StatusCode::OK, to_json(&user, &base), &user.etag(), &params)),
            Err(keyward_core::Error::PreconditionFailed(_)) if sent.is_none() && attempt < 5 => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Deletes a user for SCIM: the account is deactivated (what they own stays) and no longer listed.
#[utoipa::path(delete, path = "/scim/v2/Users/{id}", tag = "scim", params(("id" = String, Path)),
    responses((status = 204, description = "Deactivated and hidden from SCIM"), (status = 401, description = "Not a SCIM token"),
              (status = 404, description = "No such user"), (status = 409, description = "The last admin"),
              (status = 412, description = "If-Match names an older version")))]
pub async fn delete_user(
    State(state): State<AppState>,
    ScimCaller(client, _): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    state.kw.scim_delete_user(&client, user_id(&id)?, if_match(&headers).as_deref()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
