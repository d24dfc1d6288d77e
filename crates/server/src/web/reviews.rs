//! Settings → Access Reviews: open and past reviews with the review policy (admins), one
//! review with Keep / Revoke per item and in bulk, reassigning, Complete and the report; and
//! the security overview that is the admins' Settings landing page.

use super::settings::chrome;
use super::{Chrome, CsrfForm, PageActor, PageError, csrf_of, show_time};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::policy::Capability;
use keyward_core::review::{ItemDecision, ItemId, ItemKind, ReviewItem, ReviewPolicy, ReviewStatus};
use keyward_core::services::reviews::{DecisionRequest, ReviewView};
use keyward_core::types::{Role, UserId};
use keyward_core::{Actor, Error};
use serde::Deserialize;
use std::collections::HashMap;

/// One review in the list.
pub struct ReviewRow {
    id: String,
    title: String,
    due: String,
    overdue: bool,
    items: usize,
    undecided: usize,
    completed: String,
}

fn title(v: &ReviewView) -> String {
    match &v.review.period {
        Some(p) => format!("Quarterly review {p}"),
        None => format!("Review opened {}", show_time(Some(v.review.opened_at))),
    }
}

fn row(v: &ReviewView, now: time::OffsetDateTime) -> ReviewRow {
    ReviewRow {
        id: v.review.id.to_string(),
        title: title(v),
        due: show_time(Some(v.review.due_at)),
        overdue: v.review.overdue(now),
        items: v.items.len(),
        undecided: v.undecided(),
        completed: show_time(v.review.completed_at),
    }
}

/// A person leaving soon.
pub struct Departure {
    id: String,
    name: String,
    email: String,
    ends: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_reviews.html")]
pub struct ReviewsPage {
    chrome: Chrome,
    csrf_token: String,
    admin: bool,
    notice: Option<String>,
    error: Option<String>,
    open: Vec<ReviewRow>,
    past: Vec<ReviewRow>,
    policy: ReviewPolicy,
    departures: Vec<Departure>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
    #[serde(default)]
    show: String,
}

async fn reviews_page(state: &AppState, actor: &Actor, notice: Option<String>, error: Option<String>) -> Result<ReviewsPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(state, actor, "access-reviews") };
    let admin = actor.can(Capability::ReadAudit);
    let now = state.kw.now();
    let views = state.kw.list_reviews(actor).await.map_err(page_err)?;
    let (policy, departures) = if admin {
        (state.kw.get_review_policy(actor).await.map_err(page_err)?, state.kw.departures(actor).await.map_err(page_err)?)
    } else {
        (ReviewPolicy::default(), Vec::new())
    };
    Ok(ReviewsPage {
        chrome: chrome(state, actor, "access-reviews"),
        csrf_token: csrf_of(actor),
        admin,
        notice,
        error,
        open: views.iter().filter(|v| v.review.status == ReviewStatus::Open).map(|v| row(v, now)).collect(),
        past: views.iter().filter(|v| v.review.status == ReviewStatus::Completed).map(|v| row(v, now)).collect(),
        policy,
        departures: departures
            .into_iter()
            .map(|u| Departure { id: u.id.to_string(), ends: show_time(u.access_expires_at), name: u.full_name, email: u.email })
            .collect(),
    })
}

pub async fn list(State(state): State<AppState>, PageActor(actor): PageActor, Query(q): Query<Done>) -> Result<ReviewsPage, PageError> {
    let notice = match q.done.as_deref() {
        Some("policy") => Some("The review policy was saved.".to_owned()),
        _ => None,
    };
    reviews_page(&state, &actor, notice, None).await
}

/// Opens a review now.
pub async fn open(State(state): State<AppState>, f: CsrfForm<HashMap<String, String>>) -> Response {
    match state.kw.open_review(&f.actor).await {
        Ok(v) => Redirect::to(&format!("/settings/access-reviews/{}?done=opened", v.review.id)).into_response(),
        Err(e) => error_on_list(&state, &f.actor, &e).await,
    }
}

async fn error_on_list(state: &AppState, actor: &Actor, e: &Error) -> Response {
    if matches!(e, Error::Forbidden) {
        return PageError { error: Error::Forbidden, chrome: chrome(state, actor, "access-reviews") }.into_response();
    }
    match reviews_page(state, actor, None, Some(super::say(e))).await {
        Ok(page) => (describe(e).status, page).into_response(),
        Err(pe) => pe.into_response(),
    }
}

/// Saves the review and offboarding policy.
pub async fn save_policy(State(state): State<AppState>, f: CsrfForm<HashMap<String, String>>) -> Response {
    let on = |k: &str| f.form.get(k).is_some_and(|v| v == "on");
    let number = |k: &'static str, label: &str| -> Result<Option<u32>, Error> {
        match f.form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Error::invalid_field(k, "invalid_number", format!("{label} must be a whole number of days."))),
        }
    };
    let policy = (|| -> Result<ReviewPolicy, Error> {
        Ok(ReviewPolicy {
            quarterly: on("quarterly"),
            due_days: number("due_days", "Due in")?.unwrap_or(14),
            inactive_days: number("inactive_days", "Inactive after")?.unwrap_or(90),
            revoke_undecided_at_due: on("revoke_undecided_at_due"),
            deactivate_inactive_after_days: if on("deactivate_inactive") {
                Some(number("deactivate_inactive_after_days", "Deactivate after")?.unwrap_or(90))
            } else {
                None
            },
        })
    })();
    match policy {
        Ok(p) => match state.kw.put_review_policy(&f.actor, p).await {
            Ok(_) => Redirect::to("/settings/access-reviews?done=policy").into_response(),
            Err(e) => error_on_list(&state, &f.actor, &e).await,
        },
        Err(e) => error_on_list(&state, &f.actor, &e).await,
    }
}

/// One item as the review page shows it.
pub struct ItemRow {
    id: String,
    kind: &'static str,
    who: String,
    email: String,
    what: String,
    reaches: String,
    last_sign_in: String,
    reviewer: String,
    reviewer_id: String,
    decision: String,
    note: String,
    outcome: String,
    revoke_means: &'static str,
    /// The viewer may decide it now.
    decidable: bool,
    mine: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_review.html")]
pub struct ReviewPage {
    chrome: Chrome,
    csrf_token: String,
    id: String,
    title: String,
    open: bool,
    admin: bool,
    due: String,
    overdue: bool,
    completed: String,
    audit_position: String,
    show: String,
    notice: Option<String>,
    error: Option<String>,
    items: Vec<ItemRow>,
    total: usize,
    undecided: usize,
    /// (id, name) of the people items can be handed to.
    reviewers: Vec<(String, String)>,
    roles: Vec<(&'static str, &'static str)>,
}

fn item_row(i: &ReviewItem, view: &ReviewView, names: &HashMap<UserId, String>) -> ItemRow {
    let c = &i.context;
    let who = match (i.kind, c.subject.as_deref()) {
        (ItemKind::DataSourceShare, Some("team")) => format!("Team {}", c.team_name.clone().unwrap_or_default()),
        (ItemKind::DataSourceShare, Some("all_users")) => "All users".to_owned(),
        _ => c.user_name.clone().unwrap_or_default(),
    };
    let what = match i.kind {
        ItemKind::Admin => "Admin role".to_owned(),
        ItemKind::InactiveUser => format!("Inactive {}", c.user_role.clone().unwrap_or_default()),
        ItemKind::TeamMembership => format!("Member of {}", c.team_name.clone().unwrap_or_default()),
        ItemKind::DataSourceShare => format!("Edit on {}", c.resource_name.clone().unwrap_or_default()),
    };
    let mine = i.reviewer_id == Some(view.viewer) || (i.reviewer_id.is_none() && view.admin);
    ItemRow {
        id: i.id.to_string(),
        kind: i.kind.label(),
        who,
        email: c.user_email.clone().unwrap_or_default(),
        what,
        reaches: c.reaches.clone(),
        last_sign_in: match (&c.last_sign_in_at, &c.last_active_at) {
            (Some(t), _) => show_rfc3339(t),
            (None, Some(t)) => format!("none recorded (last active {})", show_rfc3339(t)),
            (None, None) => "never".to_owned(),
        },
        reviewer: match i.reviewer_id {
            Some(r) if r == view.viewer => "You".to_owned(),
            Some(r) => names.get(&r).cloned().unwrap_or_else(|| "another reviewer".to_owned()),
            None => "Admins".to_owned(),
        },
        reviewer_id: i.reviewer_id.map(|r| r.to_string()).unwrap_or_default(),
        decision: match (i.decision, i.demote_to) {
            (Some(ItemDecision::Revoke), Some(role)) => format!("Revoke (demote to {})", role.label()),
            (Some(ItemDecision::Revoke), None) => "Revoke".to_owned(),
            (Some(ItemDecision::Keep), _) => "Keep".to_owned(),
            (None, _) => "Undecided".to_owned(),
        },
        note: i.note.clone().unwrap_or_default(),
        outcome: i.outcome.clone().unwrap_or_default(),
        revoke_means: i.kind.revoke_means(),
        decidable: view.may_decide(i),
        mine,
    }
}

async fn review_page(
    state: &AppState,
    actor: &Actor,
    id: &str,
    show: &str,
    notice: Option<String>,
    error: Option<String>,
) -> Result<ReviewPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(state, actor, "access-reviews") };
    let id = parse_review(id).map_err(page_err)?;
    let view = state.kw.get_review(actor, id).await.map_err(page_err)?;
    let reviewers = if view.admin { state.kw.reviewer_candidates(actor).await.map_err(page_err)? } else { Vec::new() };
    let names: HashMap<UserId, String> = reviewers.iter().map(|u| (u.id, u.full_name.clone())).collect();
    let open = view.review.status == ReviewStatus::Open;
    let all: Vec<ItemRow> = view.items.iter().map(|i| item_row(i, &view, &names)).collect();
    let total = all.len();
    let items = all
        .into_iter()
        .filter(|r| match show {
            "mine" => r.mine,
            "undecided" => r.decision == "Undecided",
            _ => true,
        })
        .collect();
    Ok(ReviewPage {
        chrome: chrome(state, actor, "access-reviews"),
        csrf_token: csrf_of(actor),
        id: view.review.id.to_string(),
        title: title(&view),
        open,
        admin: view.admin,
        due: show_time(Some(view.review.due_at)),
        overdue: view.review.overdue(state.kw.now()),
        completed: show_time(view.review.completed_at),
        audit_position: view.review.audit_position.clone().unwrap_or_default(),
        show: show.to_owned(),
        notice,
        error,
        items,
        total,
        undecided: view.undecided(),
        reviewers: reviewers.into_iter().map(|u| (u.id.to_string(), u.full_name)).collect(),
        roles: Role::ALL.into_iter().filter(|r| *r != Role::Admin).map(|r| (r.as_str(), r.label())).collect(),
    })
}

/// An RFC 3339 time as the tables show times.
fn show_rfc3339(t: &str) -> String {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).map_or_else(|_| t.to_owned(), |t| show_time(Some(t)))
}

fn parse_review(id: &str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(id).map_err(|_| Error::invalid("invalid_id", "That is not a valid access review id."))
}

pub async fn show(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<ReviewPage, PageError> {
    let notice = match q.done.as_deref() {
        Some("opened") => Some("The review is open; reviewers have been emailed.".to_owned()),
        Some("decided") => Some("Saved.".to_owned()),
        Some("reassigned") => Some("The item was handed to another reviewer.".to_owned()),
        Some("completed") => Some("The review is complete: every revoke was applied and recorded in the audit log.".to_owned()),
        _ => None,
    };
    review_page(&state, &actor, &id, &q.show, notice, None).await
}

/// The review form: Keep / Revoke on one item (`single` = `<item>:<decision>`), on the ticked
/// items (`decision`), or handing one item to another reviewer (`reassign` = `<item>`).
pub async fn decide(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    let get = |k: &str| f.form.iter().find(|(name, _)| name == k).map(|(_, v)| v.clone());
    let show = get("show").unwrap_or_default();
    let result: Result<&str, Error> = async {
        let review = parse_review(&id)?;
        let item_id = |s: &str| ItemId::parse_str(s).map_err(|_| Error::invalid("invalid_id", "That is not a valid review item id."));
        if let Some(item) = get("reassign") {
            let reviewer = get(&format!("reviewer:{item}")).filter(|r| !r.is_empty()).map(|r| UserId::parse(&r)).transpose()?;
            state.kw.reassign_item(&f.actor, review, item_id(&item)?, reviewer).await?;
            return Ok("reassigned");
        }
        let (items, decision) = match get("single").and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned()))) {
            Some((item, decision)) => (vec![item_id(&item)?], decision),
            None => {
                let ticked = f.form.iter().filter(|(k, _)| k == "item_id").map(|(_, v)| item_id(v)).collect::<Result<Vec<_>, _>>()?;
                if ticked.is_empty() {
                    return Err(Error::invalid_field("item_id", "no_items", "Tick the items to decide first."));
                }
                (ticked, get("decision").unwrap_or_default())
            }
        };
        let req = DecisionRequest {
            decision: decision.parse()?,
            note: get("note"),
            demote_to: get("demote_to").filter(|r| !r.is_empty()).map(|r| Role::parse(&r)).transpose()?,
        };
        state.kw.decide_items(&f.actor, review, &items, &req).await?;
        Ok("decided")
    }
    .await;
    match result {
        Ok(done) => Redirect::to(&format!("/settings/access-reviews/{id}?done={done}&show={}", super::urlencode(&show))).into_response(),
        Err(e) => error_on_review(&state, &f.actor, &id, &show, &e).await,
    }
}

async fn error_on_review(state: &AppState, actor: &Actor, id: &str, show: &str, e: &Error) -> Response {
    match review_page(state, actor, id, show, None, Some(super::say(e))).await {
        Ok(page) => (describe(e).status, page).into_response(),
        Err(pe) => pe.into_response(),
    }
}

/// Completes the review.
pub async fn complete(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<HashMap<String, String>>) -> Response {
    let done = match parse_review(&id) {
        Ok(review) => state.kw.complete_review(&f.actor, review).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/settings/access-reviews/{id}?done=completed")).into_response(),
        Err(e) => error_on_review(&state, &f.actor, &id, "", &e).await,
    }
}

/// The review as CSV.
pub async fn report(State(state): State<AppState>, PageActor(actor): PageActor, Path(id): Path<String>) -> Response {
    let result = async {
        actor.require(Capability::ReadAudit)?;
        let view = state.kw.get_review(&actor, parse_review(&id)?).await?;
        crate::api::reviews::report_download(&view)
    }
    .await;
    result.unwrap_or_else(|error| PageError { error, chrome: chrome(&state, &actor, "access-reviews") }.into_response())
}
