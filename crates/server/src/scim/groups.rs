//! `/scim/v2/Groups`: teams as SCIM groups, their members as the group's members.

use crate::scim::{
    GROUP_SCHEMA, ListQuery, ScimCaller, ScimError, ScimResult, body_json, filter::get_ci, if_match, meta, patch, resource_answer, str_of,
};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keyward_core::services::scim_groups::{ScimGroup, ScimGroupInput};
use keyward_core::types::{TeamId, UserId};
use serde_json::{Value, json};
use std::collections::HashMap;

/// A group in SCIM's JSON.
pub fn to_json(g: &ScimGroup, base: &str) -> Value {
    let etag = g.etag();
    let mut v = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.team.id.to_string(),
        "displayName": g.team.name,
        "members": g.members.iter().map(|u| json!({ "value": u.id.to_string(), "$ref": format!("{base}/Users/{}", u.id) })).collect::<Vec<_>>(),
        "meta": meta("Group", format!("{base}/Groups/{}", g.team.id), g.team.created_at, g.team.updated_at, &etag),
    });
    if let Some(e) = &g.external_id {
        v["externalId"] = json!(e);
    }
    v
}

fn from_json(v: &Value) -> ScimResult<ScimGroupInput> {
    let display_name = str_of(v, "displayName")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ScimError::bad("invalidValue", "displayName is required."))?;
    let members = match get_ci(v, "members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| {
                let id = str_of(m, "value")?.ok_or_else(|| ScimError::bad("invalidValue", "Each member needs a value (the user's id)."))?;
                UserId::parse(&id).map_err(|_| ScimError::bad("invalidValue", "A member's value is not the id of a Keyward user."))
            })
            .collect::<ScimResult<Vec<_>>>()?,
        Some(_) => return Err(ScimError::bad("invalidValue", "members must be an array.")),
    };
    Ok(ScimGroupInput { display_name, external_id: str_of(v, "externalId")?, members })
}

fn team_id(id: &str) -> ScimResult<TeamId> {
    TeamId::parse(id).map_err(|_| ScimError::new(StatusCode::NOT_FOUND, None, "Group not found."))
}

/// Lists groups (teams): `filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`.
#[utoipa::path(get, path = "/scim/v2/Groups", tag = "scim",
    params(("filter" = Option<String>, Query), ("startIndex" = Option<i64>, Query), ("count" = Option<i64>, Query),
           ("attributes" = Option<String>, Query), ("excludedAttributes" = Option<String>, Query)),
    responses((status = 200, description = "ListResponse", content_type = "application/scim+json", body = serde_json::Value),
              (status = 400, description = "invalidFilter or invalidValue"), (status = 401, description = "Not a SCIM token")))]
pub async fn list_groups(
    State(state): State<AppState>,
    ScimCaller(client, base): ScimCaller,
    Query(params): Query<HashMap<String, String>>,
) -> ScimResult<Response> {
    let q = ListQuery::from_params(&params)?;
    let groups = state.kw.scim_groups(&client).await?;
    Ok(q.answer(groups.iter().map(|g| to_json(g, &base)).collect()))
}

/// Searches groups with a SearchRequest body.
#[utoipa::path(post, path = "/scim/v2/Groups/.search", tag = "scim", request_body(content = serde_json::Value, content_type = "application/scim+json"),
    responses((status = 200, description = "ListResponse", content_type = "application/scim+json", body = serde_json::Value),
              (status = 400, description = "invalidFilter or invalidValue"), (status = 401, description = "Not a SCIM token")))]
pub async fn search_groups(State(state): State<AppState>, ScimCaller(client, base): ScimCaller, body: Bytes) -> ScimResult<Response> {
    let q = ListQuery::from_search(&body_json(&body)?)?;
    let groups = state.kw.scim_groups(&client).await?;
    Ok(q.answer(groups.iter().map(|g| to_json(g, &base)).collect()))
}

/// Creates a team from a group, with its members.
#[utoipa::path(post, path = "/scim/v2/Groups", tag = "scim", request_body(content = serde_json::Value, content_type = "application/scim+json"),
    responses((status = 201, description = "The group", content_type = "application/scim+json", body = serde_json::Value),
              (status = 400, description = "invalidValue or invalidSyntax"), (status = 401, description = "Not a SCIM token"),
              (status = 409, description = "uniqueness: a team has this name")))]
pub async fn create_group(
    State(state): State<AppState>,
    ScimCaller(client, base): ScimCaller,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> ScimResult<Response> {
    let input = from_json(&body_json(&body)?)?;
    let group = state.kw.scim_create_group(&client, input).await?;
    let mut res = resource_answer(StatusCode::CREATED, to_json(&group, &base), &group.etag(), &params);
    if let Ok(loc) = axum::http::HeaderValue::from_str(&format!("{base}/Groups/{}", group.team.id)) {
        res.headers_mut().insert(axum::http::header::LOCATION, loc);
    }
    Ok(res)
}

/// One group.
#[utoipa::path(get, path = "/scim/v2/Groups/{id}", tag = "scim", params(("id" = String, Path)),
    responses((status = 200, description = "The group", content_type = "application/scim+json", body = serde_json::Value),
              (status = 401, description = "Not a SCIM token"), (status = 404, description = "No such group")))]
pub async fn get_group(
    State(state): State<AppState>,
    ScimCaller(client, base): ScimCaller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ScimResult<Response> {
    let group = state.kw.scim_group(&client, team_id(&id)?).await?;
    Ok(resource_answer(StatusCode::OK, to_json(&group, &base), &group.etag(), &params))
}

/// Replaces a group: name, externalId and members. `If-Match` → 412 when stale.
#[utoipa::path(put, path = "/scim/v2/Groups/{id}", tag = "scim", params(("id" = String, Path)),
    request_body(content = serde_json::Value, content_type = "application/scim+json"),
    responses((status = 200, description = "The group", content_type = "application/scim+json", body = serde_json::Value),
              (status = 400, description = "invalidValue"), (status = 401, description = "Not a SCIM token"), (status = 404, description = "No such group"),
              (status = 409, description = "uniqueness, or the last admin"), (status = 412, description = "If-Match names an older version")))]
pub async fn replace_group(
    State(state): State<AppState>,
    ScimCaller(client, base): ScimCaller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<Response> {
    let id = team_id(&id)?;
    let input = from_json(&body_json(&body)?)?;
    let group = state.kw.scim_replace_group(&client, id, input, if_match(&headers).as_deref()).await?;
    Ok(resource_answer(StatusCode::OK, to_json(&group, &base), &group.etag(), &params))
}

/// Changes a group with PATCH operations: rename, add or remove members (Okta's and Entra's shapes).
#[utoipa::path(patch, path = "/scim/v2/Groups/{id}", tag = "scim", params(("id" = String, Path)),
    request_body(content = serde_json::Value, content_type = "application/scim+json"),
    responses((status = 200, description = "The group", content_type = "application/scim+json", body = serde_json::Value),
              (status = 400, description = "invalidSyntax, invalidPath, noTarget or invalidValue"), (status = 401, description = "Not a SCIM token"),
              (status = 404, description = "No such group"), (status = 409, description = "uniqueness, or the last admin"),
              (status = 412, description = "If-Match names an older version")))]
pub async fn patch_group(
    State(state): State<AppState>,
    ScimCaller(client, base): ScimCaller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<Response> {
    let id = team_id(&id)?;
    let ops = body_json(&body)?;
    let sent = if_match(&headers);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = state.kw.scim_group(&client, id).await?;
        let mut doc = to_json(&current, &base);
        patch::apply(&mut doc, &ops).map_err(|e| ScimError::bad(e.scim_type, e.detail))?;
        let input = from_json(&doc)?;
        // As for users: the write names the version the operations applied to, and is tried
        // again on the new state when the client sent no If-Match of its own.
        let expected = sent.clone().unwrap_or_else(|| current.etag());
        match state.kw.scim_replace_group(&client, id, input, Some(&expected)).await {
            Ok(group) => return Ok(resource_answer(StatusCode::OK, to_json(&group, &base), &group.etag(), &params)),
            Err(keyward_core::Error::PreconditionFailed(_)) if sent.is_none() && attempt < 5 => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Deletes a group's team (and every share with it); refused while the team owns resources.
#[utoipa::path(delete, path = "/scim/v2/Groups/{id}", tag = "scim", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, description = "Not a SCIM token"), (status = 404, description = "No such group"),
              (status = 409, description = "The team owns resources"), (status = 412, description = "If-Match names an older version")))]
pub async fn delete_group(
    State(state): State<AppState>,
    ScimCaller(client, _): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    state.kw.scim_delete_group(&client, team_id(&id)?, if_match(&headers).as_deref()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
