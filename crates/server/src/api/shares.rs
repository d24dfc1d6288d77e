//! A resource's shares: read with an ETag, replaced under `If-Match`, one added (or raised) and
//! one removed. Each change is one transaction in the core.

use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use crate::wire;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use keyward_api::{ErrorBody, ShareEntry, ShareInfo};
use keyward_core::Error;
use keyward_core::services::shares::SharesView;
use keyward_core::types::{ResourceId, ShareId};

type WithEtag<T> = (StatusCode, [(header::HeaderName, HeaderValue); 1], Json<T>);

fn with_etag(status: StatusCode, view: SharesView) -> ApiResult<WithEtag<Vec<ShareInfo>>> {
    let etag = HeaderValue::from_str(&view.etag).map_err(Error::internal)?;
    Ok((status, [(header::ETAG, etag)], Json(view.shares.iter().map(wire::share).collect())))
}

/// The `If-Match` header, if sent; a value that is not text is a 400, never a 500.
fn if_match(headers: &HeaderMap) -> Result<Option<&str>, Error> {
    headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().map_err(|_| Error::invalid_field("If-Match", "invalid_if_match", "If-Match must be an ETag read from GET.")))
        .transpose()
}

/// The shares of a resource (owner, admins and editors), with the `ETag` of the list.
#[utoipa::path(get, path = "/api/v1/resources/{id}/shares", tag = "resources", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ShareInfo>, headers(("ETag" = String, description = "Send it back in If-Match to replace the list only if it did not change"))),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_shares(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<WithEtag<Vec<ShareInfo>>> {
    with_etag(StatusCode::OK, state.kw.get_shares(&actor, ResourceId::parse(&id)?).await?)
}

/// Replaces the shares of a resource. With `If-Match: <ETag of GET>` only when nobody changed
/// them meanwhile (412 `precondition_failed` otherwise). `all_users` is for data sources only;
/// a data source's visibility follows the list (an all-users share: all users; other shares:
/// specific; none: private).
#[utoipa::path(put, path = "/api/v1/resources/{id}/shares", tag = "resources",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag from GET")), request_body = Vec<ShareEntry>,
    responses((status = 200, body = Vec<ShareInfo>, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 412, body = ErrorBody, description = "precondition_failed: the shares changed since the GET")))]
pub async fn put_shares(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Vec<ShareEntry>>,
) -> ApiResult<WithEtag<Vec<ShareInfo>>> {
    let id = ResourceId::parse(&id)?;
    let wanted = body.iter().map(wire::share_from).collect::<Result<Vec<_>, _>>()?;
    with_etag(StatusCode::OK, state.kw.put_shares(&actor, id, wanted, if_match(&headers)?).await?)
}

/// Adds one share, or changes the level and end of the subject's share (it keeps its id);
/// other shares stay as they are. On a private data source a user or team share makes it
/// `specific`; an all-users share makes it `all_users`; a data source visible to all users
/// refuses user and team shares (409 `visibility_all_users`: set its visibility first).
#[utoipa::path(post, path = "/api/v1/resources/{id}/shares", tag = "resources", params(("id" = String, Path)), request_body = ShareEntry,
    responses((status = 201, body = ShareInfo), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_share(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ShareEntry>,
) -> ApiResult<(StatusCode, Json<ShareInfo>)> {
    let id = ResourceId::parse(&id)?;
    let wanted = wire::share_from(&body)?;
    let stored = state.kw.add_shares(&actor, id, vec![wanted], false).await?;
    let share = stored.first().ok_or_else(|| Error::internal_msg("no share stored"))?;
    Ok((StatusCode::CREATED, Json(wire::share(share))))
}

/// Removes one share (404 `share_not_found` when the resource has no share with that id).
#[utoipa::path(delete, path = "/api/v1/resources/{id}/shares/{share_id}", tag = "resources",
    params(("id" = String, Path), ("share_id" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_share(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, share_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.kw.remove_share(&actor, ResourceId::parse(&id)?, ShareId::parse(&share_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
