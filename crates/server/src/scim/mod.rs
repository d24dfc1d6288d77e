//! The SCIM 2.0 server at `/scim/v2` (RFC 7643/7644) for identity providers' provisioning:
//! Users, Groups (= teams) and the discovery documents. Only a SCIM token (Settings →
//! Provisioning, or `POST /api/v1/scim/tokens`) reaches it; errors use the SCIM error schema.
//! The JSON here is the protocol's; every rule is the core's (`services::scim*`).

mod discovery;
pub mod filter;
mod groups;
mod patch;
mod users;

use crate::error::describe;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::Error;
use keyward_core::services::scim_admin::ScimClient;
use serde_json::{Value, json};
use std::collections::HashMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// SCIM's media type.
pub const SCIM_JSON: &str = "application/scim+json";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(crate) const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// The most resources one page holds.
const MAX_COUNT: usize = 1000;

/// Every SCIM route, for the API's router (so that they are in the OpenAPI document).
pub fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::search_users))
        .routes(routes!(users::get_user, users::replace_user, users::patch_user, users::delete_user))
        .routes(routes!(groups::list_groups, groups::create_group))
        .routes(routes!(groups::search_groups))
        .routes(routes!(groups::get_group, groups::replace_group, groups::patch_group, groups::delete_group))
        .routes(routes!(discovery::search_all))
        .routes(routes!(discovery::service_provider_config))
        .routes(routes!(discovery::resource_types))
        .routes(routes!(discovery::resource_type_one))
        .routes(routes!(discovery::schemas))
        .routes(routes!(discovery::schema))
}

/// A SCIM error answer (RFC 7644 §3.12).
#[derive(Debug)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into() }
    }
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }
}

impl From<Error> for ScimError {
    fn from(e: Error) -> Self {
        // The one error mapping decides status and sentence (and logs internal causes); SCIM
        // adds its scimType.
        let d = describe(&e);
        let scim_type = match &e {
            Error::Invalid { .. } | Error::PasswordPolicy(_) => Some("invalidValue"),
            Error::Conflict { code, .. } if code.ends_with("_taken") => Some("uniqueness"),
            _ => None,
        };
        ScimError { status: d.status, scim_type, detail: d.message }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({ "schemas": [ERROR_SCHEMA], "status": self.status.as_u16().to_string(), "detail": self.detail });
        if let Some(t) = self.scim_type {
            body["scimType"] = Value::String(t.to_owned());
        }
        let mut res = scim_json(self.status, &body, None);
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"keyward-scim\""));
        }
        res
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

/// A SCIM JSON answer, with its ETag when it is one resource.
pub fn scim_json(status: StatusCode, body: &Value, etag: Option<&str>) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
        res.headers_mut().insert(header::ETAG, tag);
    }
    res
}

/// Answers 404 in SCIM's shape for any path under `/scim/v2` that is not a SCIM endpoint.
pub async fn not_found() -> Response {
    ScimError::new(StatusCode::NOT_FOUND, None, "There is no such SCIM endpoint.").into_response()
}

/// The provisioning client calling: a SCIM bearer token, and nothing else (no session, no API token).
pub struct ScimCaller(pub ScimClient, pub String);

impl FromRequestParts<AppState> for ScimCaller {
    type Rejection = ScimError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let meta = crate::extract::request_meta(parts);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or_else(|| ScimError::new(StatusCode::UNAUTHORIZED, None, "Send a SCIM token as Authorization: Bearer <token>."))?;
        let client = state.kw.authenticate_scim(token, meta).await.map_err(|e| match e {
            Error::Unauthenticated => ScimError::new(StatusCode::UNAUTHORIZED, None, "This is not a valid SCIM token."),
            other => other.into(),
        })?;
        Ok(ScimCaller(client, base_url(state, &parts.headers)))
    }
}

/// Where `/scim/v2` is reached: the configured public URL, or the request's host.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let root = match (&state.config.public_url, headers.get(header::HOST).and_then(|h| h.to_str().ok())) {
        (Some(_), _) | (None, None) => state.config.public_url(),
        (None, Some(host)) if host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']')) => {
            format!("http://{host}")
        }
        (None, Some(_)) => state.config.public_url(),
    };
    format!("{root}/scim/v2")
}

/// The `If-Match` header, if any.
pub fn if_match(headers: &HeaderMap) -> Option<String> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Reads a JSON body (SCIM's or plain JSON), or answers 400 `invalidSyntax`.
pub fn body_json(body: &[u8]) -> ScimResult<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ScimError::bad("invalidSyntax", "The body must be a JSON object.")),
        Err(_) => Err(ScimError::bad("invalidSyntax", "The body is not valid JSON.")),
    }
}

/// The query of a list or search: filter, page, and which attributes to return.
#[derive(Debug, Default)]
pub struct ListQuery {
    pub filter: Option<filter::Filter>,
    pub start_index: usize,
    pub count: Option<usize>,
    pub attributes: Option<String>,
    pub excluded: Option<String>,
}

impl ListQuery {
    /// From query parameters (names without regard to case).
    pub fn from_params(params: &HashMap<String, String>) -> ScimResult<ListQuery> {
        let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        Self::build(get("filter"), get("startIndex"), get("count"), get("attributes"), get("excludedAttributes"))
    }

    /// From a `POST …/.search` body.
    pub fn from_search(body: &Value) -> ScimResult<ListQuery> {
        let text = |name: &str| match filter::get_ci(body, name) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Array(a)) => Some(a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")),
            _ => None,
        };
        if let Some(Value::Array(s)) = filter::get_ci(body, "schemas")
            && !s.iter().any(|x| x.as_str() == Some(SEARCH_SCHEMA))
        {
            return Err(ScimError::bad("invalidValue", "A search request's schemas must name the SearchRequest schema."));
        }
        Self::build(text("filter"), text("startIndex"), text("count"), text("attributes"), text("excludedAttributes"))
    }

    fn build(
        f: Option<String>,
        start: Option<String>,
        count: Option<String>,
        attributes: Option<String>,
        excluded: Option<String>,
    ) -> ScimResult<ListQuery> {
        let filter = match f.filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(filter::parse(&s).map_err(|e| ScimError::bad("invalidFilter", e.0))?),
            None => None,
        };
        let int = |v: Option<String>, name: &str| -> ScimResult<Option<i64>> {
            v.map(|s| s.trim().parse::<i64>().map_err(|_| ScimError::bad("invalidValue", format!("{name} must be an integer."))))
                .transpose()
        };
        // RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
        let start_index = int(start, "startIndex")?.unwrap_or(1).max(1) as usize;
        let count = int(count, "count")?.map(|c| (c.max(0) as usize).min(MAX_COUNT));
        Ok(ListQuery { filter, start_index, count, attributes, excluded })
    }

    /// The ListResponse of `resources` (already in SCIM JSON, in a stable order).
    pub fn answer(&self, resources: Vec<Value>) -> Response {
        let matching: Vec<Value> = match &self.filter {
            Some(f) => resources.into_iter().filter(|r| filter::matches(f, r)).collect(),
            None => resources,
        };
        let total = matching.len();
        let page: Vec<Value> = matching
            .into_iter()
            .skip(self.start_index - 1)
            .take(self.count.unwrap_or(MAX_COUNT))
            .map(|r| project(r, self.attributes.as_deref(), self.excluded.as_deref()))
            .collect();
        let body = json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": self.start_index,
            "itemsPerPage": page.len(),
            "Resources": page,
        });
        scim_json(StatusCode::OK, &body, None)
    }
}

/// Keeps only the attributes asked for (`attributes`), or drops those asked to be left out
/// (`excludedAttributes`); `id` and `schemas` always stay (RFC 7643 §7: returned "always").
pub fn project(v: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let names = |s: &str| -> Vec<String> {
        s.split(',')
            .map(|a| filter::strip_urn(a.trim()).split('.').next().unwrap_or("").to_ascii_lowercase())
            .filter(|a| !a.is_empty())
            .collect()
    };
    let Value::Object(mut obj) = v else { return v };
    let always = |k: &str| k == "id" || k == "schemas";
    if let Some(keep) = attributes.map(names).filter(|n| !n.is_empty()) {
        obj.retain(|k, _| always(k) || keep.contains(&k.to_ascii_lowercase()));
    } else if let Some(drop) = excluded.map(names) {
        obj.retain(|k, _| always(k) || !drop.contains(&k.to_ascii_lowercase()));
    }
    Value::Object(obj)
}

/// A resource answer honouring `attributes`/`excludedAttributes` of the query string.
pub fn resource_answer(status: StatusCode, v: Value, etag: &str, params: &HashMap<String, String>) -> Response {
    let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let v = project(v, get("attributes"), get("excludedAttributes"));
    scim_json(status, &v, Some(etag))
}

/// The `meta` of a resource.
pub fn meta(resource_type: &str, location: String, created: time::OffsetDateTime, modified: time::OffsetDateTime, etag: &str) -> Value {
    json!({
        "resourceType": resource_type,
        "created": keyward_core::model::rfc3339(created),
        "lastModified": keyward_core::model::rfc3339(modified),
        "location": location,
        "version": etag,
    })
}

/// A string member, if present and a string.
pub fn str_of(v: &Value, key: &str) -> ScimResult<Option<String>> {
    match filter::get_ci(v, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::bad("invalidValue", format!("{key} must be a string."))),
    }
}
