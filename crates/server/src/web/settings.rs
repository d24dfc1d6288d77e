//! Settings pages: Users, Teams, Security Policies, Activity, Access Reviews.

use super::{Chrome, PageActor, PageError, show_time};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use keyward_core::Actor;
use keyward_core::policy::Capability;
use keyward_core::store::AuditFilter;
use serde::Deserialize;

pub(super) const PAGE: i64 = 50;

pub(super) fn chrome(state: &AppState, actor: &Actor, page: &'static str) -> Chrome {
    Chrome::for_actor(state, actor, "settings", page)
}

pub struct EventRow {
    at: String,
    actor: String,
    action: String,
    target: String,
    ip: String,
    details: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_activity.html")]
pub struct ActivityPage {
    chrome: Chrome,
    action: String,
    events: Vec<EventRow>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
pub struct ActivityQuery {
    #[serde(default)]
    action: String,
    cursor: Option<String>,
}

pub async fn activity(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(q): Query<ActivityQuery>,
) -> Result<ActivityPage, PageError> {
    let filter = AuditFilter {
        action: Some(q.action.trim().to_owned()).filter(|s| !s.is_empty()),
        before: q.cursor.filter(|c| !c.is_empty()),
        limit: PAGE + 1,
        ..AuditFilter::default()
    };
    let mut events =
        state.kw.audit_events(&actor, filter).await.map_err(|error| PageError { error, chrome: chrome(&state, &actor, "activity") })?;
    let next_cursor = if events.len() as i64 > PAGE {
        events.truncate(PAGE as usize);
        events.last().map(|e| e.event.id.to_string())
    } else {
        None
    };
    Ok(ActivityPage {
        chrome: chrome(&state, &actor, "activity"),
        action: q.action,
        events: events
            .into_iter()
            .map(|r| EventRow {
                at: show_time(Some(r.event.at)),
                actor: r.actor_email.unwrap_or_else(|| r.event.actor_kind.as_str().to_owned()),
                action: r.event.action,
                target: match (r.event.target_type, r.event.target_id) {
                    (Some(t), Some(id)) => format!("{t} {id}"),
                    _ => String::new(),
                },
                ip: r.event.ip.unwrap_or_default(),
                details: r.event.details.to_string(),
            })
            .collect(),
        next_cursor,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_security.html")]
pub struct SecurityPolicyPage {
    chrome: Chrome,
    mfa_mode: String,
    grace_days: u32,
    password_rules: Vec<String>,
    idle_minutes: u32,
    absolute_hours: u32,
}

pub async fn security(State(state): State<AppState>, PageActor(actor): PageActor) -> Result<SecurityPolicyPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(&state, &actor, "security") };
    actor.require(Capability::ManagePolicies).map_err(page_err)?;
    let mut tx = state.kw.store.read().await.map_err(page_err)?;
    let policy = state.kw.security_policy(tx.as_mut()).await.map_err(page_err)?;
    Ok(SecurityPolicyPage {
        chrome: chrome(&state, &actor, "security"),
        mfa_mode: policy.mfa.mode,
        grace_days: policy.mfa.grace_period_days,
        password_rules: policy.password.describe(),
        idle_minutes: policy.sessions.idle_timeout_minutes,
        absolute_hours: policy.sessions.absolute_timeout_hours,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_pending.html")]
pub struct PendingPage {
    chrome: Chrome,
    heading: &'static str,
    text: &'static str,
}

pub async fn teams(State(state): State<AppState>, PageActor(actor): PageActor) -> PendingPage {
    PendingPage {
        chrome: chrome(&state, &actor, "teams"),
        heading: "Teams",
        text: "Teams, team leads and quotas are not available in this version of Keyward yet.",
    }
}

pub async fn access_reviews(State(state): State<AppState>, PageActor(actor): PageActor) -> PendingPage {
    PendingPage {
        chrome: chrome(&state, &actor, "access-reviews"),
        heading: "Access Reviews",
        text: "Quarterly access reviews are not available in this version of Keyward yet.",
    }
}
