//! The discovery documents: `ServiceProviderConfig`, `ResourceTypes` and `Schemas` (RFC 7643
//! §5–7), describing exactly what this server keeps and returns.

use crate::scim::{GROUP_SCHEMA, LIST_SCHEMA, ScimCaller, ScimError, ScimResult, USER_SCHEMA, scim_json};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

fn attr(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": false, "description": description, "required": false,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
    })
}

fn with(mut v: Value, changes: Value) -> Value {
    if let (Some(o), Value::Object(c)) = (v.as_object_mut(), changes) {
        o.extend(c);
    }
    v
}

fn user_schema(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA, "name": "User", "description": "A Keyward account",
        "attributes": [
            with(attr("userName", "string", "The provider's unique name for the user"), json!({ "required": true, "uniqueness": "server" })),
            with(attr("name", "complex", "The user's name"), json!({ "subAttributes": [
                attr("givenName", "string", "Given name"),
                attr("familyName", "string", "Family name"),
            ] })),
            attr("displayName", "string", "The name Keyward shows"),
            with(attr("emails", "complex", "The account's email: the primary value (Keyward keeps one)"), json!({
                "multiValued": true, "required": true, "subAttributes": [
                    with(attr("value", "string", "The address"), json!({ "required": true })),
                    attr("type", "string", "work, home, other, … (kept as sent)"),
                    attr("primary", "boolean", "The address Keyward uses"),
                ] })),
            with(attr("active", "boolean", "false deactivates the account at once (sessions and tokens end)"), json!({ "required": true })),
            with(attr("roles", "complex", "The Keyward role (set through the configured role attribute or group mappings)"), json!({
                "multiValued": true, "mutability": "readOnly", "subAttributes": [
                    with(attr("value", "string", "admin, developer, data_scientist or viewer"), json!({ "mutability": "readOnly" })),
                    with(attr("display", "string", "The role's name"), json!({ "mutability": "readOnly" })),
                    with(attr("primary", "boolean", "Always true"), json!({ "mutability": "readOnly" })),
                ] })),
            with(attr("groups", "complex", "The teams the user is in"), json!({
                "multiValued": true, "mutability": "readOnly", "subAttributes": [
                    with(attr("value", "string", "The team's id"), json!({ "mutability": "readOnly" })),
                    with(attr("$ref", "reference", "The group's URI"), json!({ "mutability": "readOnly", "referenceTypes": ["Group"] })),
                    with(attr("display", "string", "The team's name"), json!({ "mutability": "readOnly" })),
                ] })),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}") },
    })
}

fn group_schema(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA, "name": "Group", "description": "A Keyward team",
        "attributes": [
            with(attr("displayName", "string", "The team's name (unique without regard to case)"), json!({ "required": true, "uniqueness": "server" })),
            with(attr("members", "complex", "The team's members"), json!({
                "multiValued": true, "subAttributes": [
                    with(attr("value", "string", "The user's id"), json!({ "mutability": "immutable", "caseExact": true })),
                    with(attr("$ref", "reference", "The user's URI"), json!({ "mutability": "immutable", "referenceTypes": ["User"] })),
                ] })),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP_SCHEMA}") },
    })
}

fn resource_type(base: &str, name: &str, endpoint: &str, schema: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": name, "name": name, "endpoint": endpoint, "description": format!("Keyward {name}s"), "schema": schema,
        "schemaExtensions": [],
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}") },
    })
}

fn list(items: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({ "schemas": [LIST_SCHEMA], "totalResults": items.len(), "startIndex": 1, "itemsPerPage": items.len(), "Resources": items }),
        None,
    )
}

/// What this SCIM server supports.
#[utoipa::path(get, path = "/scim/v2/ServiceProviderConfig", tag = "scim",
    responses((status = 200, content_type = "application/scim+json", body = serde_json::Value), (status = 401, description = "Not a SCIM token")))]
pub async fn service_provider_config(ScimCaller(_, base): ScimCaller) -> Response {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/keyward/keyward/blob/main/docs/sso.md",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": 1000 },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "SCIM token",
            "description": "A SCIM token made in Settings → Provisioning, sent as Authorization: Bearer", "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig") },
    });
    scim_json(StatusCode::OK, &body, None)
}

/// A search across every resource type at once: not supported (501, RFC 7644 §3.4.3).
#[utoipa::path(post, path = "/scim/v2/.search", tag = "scim", request_body(content = serde_json::Value, content_type = "application/scim+json"),
    responses((status = 501, description = "Search /Users/.search or /Groups/.search instead"), (status = 401, description = "Not a SCIM token")))]
pub async fn search_all(ScimCaller(..): ScimCaller) -> ScimError {
    ScimError::new(StatusCode::NOT_IMPLEMENTED, None, "Search one resource type at a time: POST /Users/.search or /Groups/.search.")
}

/// The resource types: User and Group.
#[utoipa::path(get, path = "/scim/v2/ResourceTypes", tag = "scim",
    responses((status = 200, content_type = "application/scim+json", body = serde_json::Value), (status = 401, description = "Not a SCIM token")))]
pub async fn resource_types(ScimCaller(_, base): ScimCaller) -> Response {
    list(vec![resource_type(&base, "User", "/Users", USER_SCHEMA), resource_type(&base, "Group", "/Groups", GROUP_SCHEMA)])
}

/// One resource type.
#[utoipa::path(get, path = "/scim/v2/ResourceTypes/{id}", tag = "scim", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/scim+json", body = serde_json::Value), (status = 401, description = "Not a SCIM token"), (status = 404, description = "No such resource type")))]
pub async fn resource_type_one(ScimCaller(_, base): ScimCaller, Path(id): Path<String>) -> ScimResult<Response> {
    match id.as_str() {
        "User" => Ok(scim_json(StatusCode::OK, &resource_type(&base, "User", "/Users", USER_SCHEMA), None)),
        "Group" => Ok(scim_json(StatusCode::OK, &resource_type(&base, "Group", "/Groups", GROUP_SCHEMA), None)),
        _ => Err(ScimError::new(StatusCode::NOT_FOUND, None, "There is no such resource type.")),
    }
}

/// The schemas of User and Group, as this server keeps them.
#[utoipa::path(get, path = "/scim/v2/Schemas", tag = "scim",
    responses((status = 200, content_type = "application/scim+json", body = serde_json::Value), (status = 401, description = "Not a SCIM token")))]
pub async fn schemas(ScimCaller(_, base): ScimCaller) -> Response {
    list(vec![user_schema(&base), group_schema(&base)])
}

/// One schema.
#[utoipa::path(get, path = "/scim/v2/Schemas/{id}", tag = "scim", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/scim+json", body = serde_json::Value), (status = 401, description = "Not a SCIM token"), (status = 404, description = "No such schema")))]
pub async fn schema(ScimCaller(_, base): ScimCaller, Path(id): Path<String>) -> ScimResult<Response> {
    match id.as_str() {
        USER_SCHEMA => Ok(scim_json(StatusCode::OK, &user_schema(&base), None)),
        GROUP_SCHEMA => Ok(scim_json(StatusCode::OK, &group_schema(&base), None)),
        _ => Err(ScimError::new(StatusCode::NOT_FOUND, None, "There is no such schema.")),
    }
}
