//! Access reviews, the review policy and the review report.

use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use keyward_api::{
    AccessReview, AccessReviewContext, AccessReviewItem, DecideItemRequest, DecideItemsRequest, ErrorBody, Page, ReassignItemRequest,
    ReviewPolicy,
};
use keyward_core::Error;
use keyward_core::export::neutralise;
use keyward_core::model::rfc3339;
use keyward_core::review::{self, ItemDecision, ReviewItem};
use keyward_core::services::reviews::{DecisionRequest, ReviewView};
use keyward_core::types::{Role, UserId};
use uuid::Uuid;

fn parse_id(s: &str, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(s).map_err(|_| Error::invalid("invalid_id", format!("That is not a valid {what} id.")))
}

fn item(i: &ReviewItem) -> AccessReviewItem {
    let c = &i.context;
    AccessReviewItem {
        id: i.id.to_string(),
        kind: i.kind.as_str().to_owned(),
        user_id: i.user_id.map(|u| u.to_string()),
        team_id: i.team_id.map(|t| t.to_string()),
        resource_id: i.resource_id.map(|r| r.to_string()),
        reviewer_id: i.reviewer_id.map(|u| u.to_string()),
        decision: i.decision.map(|d| d.as_str().to_owned()),
        note: i.note.clone(),
        demote_to: i.demote_to.map(|r| r.as_str().to_owned()),
        decided_by: i.decided_by.map(|u| u.to_string()),
        decided_at: i.decided_at.map(rfc3339),
        outcome: i.outcome.clone(),
        context: AccessReviewContext {
            user_name: c.user_name.clone(),
            user_email: c.user_email.clone(),
            user_role: c.user_role.clone(),
            team_name: c.team_name.clone(),
            resource_name: c.resource_name.clone(),
            subject: c.subject.clone(),
            last_sign_in_at: c.last_sign_in_at.clone(),
            last_active_at: c.last_active_at.clone(),
            reaches: c.reaches.clone(),
        },
    }
}

pub(crate) fn review(v: &ReviewView, now: time::OffsetDateTime) -> AccessReview {
    let r = &v.review;
    AccessReview {
        id: r.id.to_string(),
        status: r.status.as_str().to_owned(),
        period: r.period.clone(),
        opened_at: rfc3339(r.opened_at),
        opened_by: r.opened_by.map(|u| u.to_string()),
        due_at: rfc3339(r.due_at),
        overdue: r.overdue(now),
        completed_at: r.completed_at.map(rfc3339),
        completed_by: r.completed_by.map(|u| u.to_string()),
        audit_position: r.audit_position.clone(),
        undecided: v.undecided(),
        items: v.items.iter().map(item).collect(),
    }
}

fn decision(decision: &str, note: Option<String>, demote_to: Option<&str>) -> Result<DecisionRequest, Error> {
    Ok(DecisionRequest { decision: decision.parse::<ItemDecision>()?, note, demote_to: demote_to.map(Role::parse).transpose()? })
}

/// Access reviews, newest first: all for admins; for other reviewers the open ones holding their items.
#[utoipa::path(get, path = "/api/v1/access-reviews", tag = "access-reviews", responses((status = 200, body = Page<AccessReview>), (status = 401, body = ErrorBody)))]
pub async fn list_reviews(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Page<AccessReview>>> {
    let now = state.kw.now();
    let views = state.kw.list_reviews(&actor).await?;
    Ok(Json(Page { items: views.iter().map(|v| review(v, now)).collect(), next_cursor: None }))
}

/// Opens an access review now (admins); reviewers are emailed.
#[utoipa::path(post, path = "/api/v1/access-reviews", tag = "access-reviews",
    responses((status = 201, body = AccessReview), (status = 403, body = ErrorBody)))]
pub async fn open_review(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<(StatusCode, Json<AccessReview>)> {
    let view = state.kw.open_review(&actor).await?;
    Ok((StatusCode::CREATED, Json(review(&view, state.kw.now()))))
}

/// One access review with the items the caller may see.
#[utoipa::path(get, path = "/api/v1/access-reviews/{id}", tag = "access-reviews", params(("id" = Uuid, Path)),
    responses((status = 200, body = AccessReview), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_review(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<AccessReview>> {
    let view = state.kw.get_review(&actor, parse_id(&id, "access review")?).await?;
    Ok(Json(review(&view, state.kw.now())))
}

/// Decides keep or revoke on one item (its reviewer or an admin).
#[utoipa::path(post, path = "/api/v1/access-reviews/{id}/items/{item_id}", tag = "access-reviews",
    params(("id" = Uuid, Path), ("item_id" = Uuid, Path)), request_body = DecideItemRequest,
    responses((status = 200, body = AccessReviewItem), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "review_completed or self_review")))]
pub async fn decide_item(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, item_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<DecideItemRequest>,
) -> ApiResult<Json<AccessReviewItem>> {
    let req = decision(&body.decision, body.note, body.demote_to.as_deref())?;
    let items = [parse_id(&item_id, "review item")?];
    let decided = state.kw.decide_items(&actor, parse_id(&id, "access review")?, &items, &req).await?;
    let first = decided.first().ok_or(Error::NotFound("Review item"))?;
    Ok(Json(item(first)))
}

/// Decides many items at once (bulk keep or revoke).
#[utoipa::path(post, path = "/api/v1/access-reviews/{id}/decisions", tag = "access-reviews", params(("id" = Uuid, Path)),
    request_body = DecideItemsRequest,
    responses((status = 200, body = Page<AccessReviewItem>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide_items(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecideItemsRequest>,
) -> ApiResult<Json<Page<AccessReviewItem>>> {
    let req = decision(&body.decision, body.note, body.demote_to.as_deref())?;
    let ids = body.item_ids.iter().map(|i| parse_id(i, "review item")).collect::<Result<Vec<_>, _>>()?;
    let decided = state.kw.decide_items(&actor, parse_id(&id, "access review")?, &ids, &req).await?;
    Ok(Json(Page { items: decided.iter().map(item).collect(), next_cursor: None }))
}

/// Gives an item to another reviewer (admins).
#[utoipa::path(post, path = "/api/v1/access-reviews/{id}/items/{item_id}/reviewer", tag = "access-reviews",
    params(("id" = Uuid, Path), ("item_id" = Uuid, Path)), request_body = ReassignItemRequest,
    responses((status = 200, body = AccessReviewItem), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reassign_item(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, item_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ReassignItemRequest>,
) -> ApiResult<Json<AccessReviewItem>> {
    let reviewer = body.reviewer_id.as_deref().map(UserId::parse).transpose()?;
    let done = state.kw.reassign_item(&actor, parse_id(&id, "access review")?, parse_id(&item_id, "review item")?, reviewer).await?;
    Ok(Json(item(&done)))
}

/// Completes a review (admins): applies every revoke, each in its own transaction, audited.
#[utoipa::path(post, path = "/api/v1/access-reviews/{id}/complete", tag = "access-reviews", params(("id" = Uuid, Path)),
    responses((status = 200, body = AccessReview), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "review_incomplete or review_completed")))]
pub async fn complete_review(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AccessReview>> {
    let view = state.kw.complete_review(&actor, parse_id(&id, "access review")?).await?;
    Ok(Json(review(&view, state.kw.now())))
}

/// The review as a CSV report, with the audit event of its completion (admins).
#[utoipa::path(get, path = "/api/v1/access-reviews/{id}/report", tag = "access-reviews", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn report(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<impl IntoResponse> {
    actor.require(keyward_core::policy::Capability::ReadAudit)?;
    let view = state.kw.get_review(&actor, parse_id(&id, "access review")?).await?;
    Ok(report_download(&view)?)
}

/// The report as a file download.
pub(crate) fn report_download(view: &ReviewView) -> Result<axum::response::Response, Error> {
    let csv = report_csv(view)?;
    let name =
        format!("attachment; filename=\"access-review-{}.csv\"", view.review.period.clone().unwrap_or_else(|| view.review.id.to_string()));
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, name)], csv).into_response())
}

/// The report's stable columns (docs/access-reviews.md).
pub const REPORT_COLUMNS: [&str; 20] = [
    "review_id",
    "period",
    "opened_at",
    "due_at",
    "completed_at",
    "audit_position",
    "item_id",
    "kind",
    "user_id",
    "user_email",
    "user_name",
    "team",
    "resource",
    "reaches",
    "reviewer_id",
    "decision",
    "note",
    "decided_by",
    "decided_at",
    "outcome",
];

/// Renders a review as CSV, every cell neutralised against spreadsheet formulas.
pub(crate) fn report_csv(view: &ReviewView) -> Result<String, Error> {
    let r = &view.review;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(REPORT_COLUMNS).map_err(Error::internal)?;
    let opt = |s: Option<String>| s.unwrap_or_default();
    for i in &view.items {
        let row = [
            r.id.to_string(),
            opt(r.period.clone()),
            rfc3339(r.opened_at),
            rfc3339(r.due_at),
            opt(r.completed_at.map(rfc3339)),
            opt(r.audit_position.clone()),
            i.id.to_string(),
            i.kind.as_str().to_owned(),
            opt(i.user_id.map(|u| u.to_string())),
            opt(i.context.user_email.clone()),
            opt(i.context.user_name.clone()),
            opt(i.context.team_name.clone()),
            opt(i.context.resource_name.clone()),
            i.context.reaches.clone(),
            opt(i.reviewer_id.map(|u| u.to_string())),
            opt(i.decision.map(|d| d.as_str().to_owned())),
            opt(i.note.clone()),
            opt(i.decided_by.map(|u| u.to_string())),
            opt(i.decided_at.map(rfc3339)),
            opt(i.outcome.clone()),
        ];
        w.write_record(row.iter().map(|c| neutralise(c).into_owned())).map_err(Error::internal)?;
    }
    String::from_utf8(w.into_inner().map_err(|e| Error::internal_msg(e.to_string()))?).map_err(Error::internal)
}

/// The review and offboarding policy (admins).
#[utoipa::path(get, path = "/api/v1/policies/reviews", tag = "policies", responses((status = 200, body = ReviewPolicy), (status = 403, body = ErrorBody)))]
pub async fn get_policy(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<ReviewPolicy>> {
    Ok(Json(policy(&state.kw.get_review_policy(&actor).await?)))
}

/// Replaces the review and offboarding policy (admins).
#[utoipa::path(put, path = "/api/v1/policies/reviews", tag = "policies", request_body = ReviewPolicy,
    responses((status = 200, body = ReviewPolicy), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_policy(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<ReviewPolicy>,
) -> ApiResult<Json<ReviewPolicy>> {
    let wanted = review::ReviewPolicy {
        quarterly: body.quarterly,
        due_days: body.due_days,
        inactive_days: body.inactive_days,
        revoke_undecided_at_due: body.revoke_undecided_at_due,
        deactivate_inactive_after_days: body.deactivate_inactive_after_days,
    };
    Ok(Json(policy(&state.kw.put_review_policy(&actor, wanted).await?)))
}

fn policy(p: &review::ReviewPolicy) -> ReviewPolicy {
    ReviewPolicy {
        quarterly: p.quarterly,
        due_days: p.due_days,
        inactive_days: p.inactive_days,
        revoke_undecided_at_due: p.revoke_undecided_at_due,
        deactivate_inactive_after_days: p.deactivate_inactive_after_days,
    }
}
