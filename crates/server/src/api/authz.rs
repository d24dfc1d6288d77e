//! The authorization API the platform asks: check, batch check, explain and lookup.

use crate::api::cursor;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::state::AppState;
use crate::wire;
use axum::Json;
use axum::extract::State;
use keyward_api::{CheckBatchRequest, CheckBatchResponse, CheckRequest, CheckResponse, ErrorBody, Explanation, Page};
use keyward_core::Error;
use keyward_core::access::{Action, Kind};
use keyward_core::services::authz::{self, CheckResult};
use keyward_core::types::{ResourceId, UserId};
use serde::Deserialize;
use utoipa::IntoParams;

fn check_request(c: &CheckRequest) -> Result<authz::CheckRequest, Error> {
    Ok(authz::CheckRequest {
        user_id: UserId::parse(&c.user_id)?,
        action: c.action.parse::<Action>()?,
        resource_id: ResourceId::parse(&c.resource_id)?,
    })
}

fn check_response(r: CheckResult) -> CheckResponse {
    CheckResponse { allowed: r.allowed, level: r.level.as_str().to_owned(), reason: r.reason }
}

/// May this user do this to this resource? (admins and their API tokens)
#[utoipa::path(post, path = "/api/v1/authz/check", tag = "authz", request_body = CheckRequest,
    responses((status = 200, body = CheckResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn check(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<CheckRequest>,
) -> ApiResult<Json<CheckResponse>> {
    Ok(Json(check_response(state.kw.check(&actor, &check_request(&body)?).await?)))
}

/// Up to 1000 checks, answered in the same order.
#[utoipa::path(post, path = "/api/v1/authz/check-batch", tag = "authz", request_body = CheckBatchRequest,
    responses((status = 200, body = CheckBatchResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn check_batch(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<CheckBatchRequest>,
) -> ApiResult<Json<CheckBatchResponse>> {
    let reqs = body.checks.iter().map(check_request).collect::<Result<Vec<_>, _>>()?;
    let results = state.kw.check_batch(&actor, &reqs).await?;
    Ok(Json(CheckBatchResponse { results: results.into_iter().map(check_response).collect() }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExplainQuery {
    user_id: String,
    resource_id: String,
}

/// Every path that gives the user access: shares, teams, the project, ownership, admin; and
/// whether the role capped it.
#[utoipa::path(get, path = "/api/v1/authz/explain", tag = "authz", params(ExplainQuery),
    responses((status = 200, body = Explanation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn explain(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<ExplainQuery>,
) -> ApiResult<Json<Explanation>> {
    let (_, decision) = state.kw.explain(&actor, UserId::parse(&q.user_id)?, ResourceId::parse(&q.resource_id)?).await?;
    Ok(Json(wire::explanation(&decision)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The user whose access is asked about.
    user_id: String,
    /// `view`, `read_logs`, `use`, `edit`, `run`, `share` or `delete`.
    action: String,
    /// Only resources of this kind.
    kind: Option<String>,
    /// 1–1000, default 100.
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The resources a user may act on, ids ascending, paged (admins and their API tokens).
#[utoipa::path(get, path = "/api/v1/authz/lookup", tag = "authz", params(LookupQuery),
    responses((status = 200, body = Page<String>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn lookup(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> ApiResult<Json<Page<String>>> {
    let limit = match q.limit {
        None => 100,
        Some(n) if (1..=authz::MAX_LOOKUP as i64).contains(&n) => n as usize,
        Some(_) => return Err(Error::invalid_field("limit", "invalid_limit", "limit must be between 1 and 1000.").into()),
    };
    let after = cursor(q.cursor.as_deref())?.map(|c| ResourceId::parse(&c)).transpose()?;
    let kind = q.kind.as_deref().map(str::parse::<Kind>).transpose()?;
    let ids = state.kw.lookup(&actor, UserId::parse(&q.user_id)?, q.action.parse::<Action>()?, kind, after, limit + 1).await?;
    let next_cursor = (ids.len() > limit).then(|| ids[limit - 1].to_string());
    Ok(Json(Page { items: ids.into_iter().take(limit).map(|id| id.to_string()).collect(), next_cursor }))
}
