//! Settings pages: Users, Teams, Security Policies, Activity, Access Reviews.

use super::{Chrome, CsrfForm, PageActor, PageError, csrf_of, show_time};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::Actor;
use keyward_core::Error;
use keyward_core::password::PasswordPolicy;
use keyward_core::policy::{MfaMode, MfaPolicy, SecurityPolicy, SessionPolicy};
use keyward_core::store::AuditFilter;
use keyward_core::types::Role;
use serde::Deserialize;
use std::collections::HashMap;

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
    csrf_token: String,
    notice: Option<String>,
    error: Option<String>,
    mfa_all: bool,
    /// (value, label, checked)
    roles: Vec<(&'static str, &'static str, bool)>,
    grace_days: u32,
    password: PasswordPolicy,
    idle_minutes: u32,
    absolute_hours: u32,
    /// The submitted policy would restrict this many users at once: asked before saving.
    restricts: Option<usize>,
}

fn policy_page(
    state: &AppState,
    actor: &Actor,
    policy: &SecurityPolicy,
    notice: Option<String>,
    error: Option<String>,
) -> SecurityPolicyPage {
    SecurityPolicyPage {
        chrome: chrome(state, actor, "security"),
        csrf_token: csrf_of(actor),
        notice,
        error,
        mfa_all: policy.mfa.mode == MfaMode::All,
        roles: Role::ALL
            .iter()
            .map(|r| (r.as_str(), r.label(), policy.mfa.mode == MfaMode::Roles && policy.mfa.roles.contains(r)))
            .collect(),
        grace_days: policy.mfa.grace_period_days,
        password: policy.password.clone(),
        idle_minutes: policy.sessions.idle_timeout_minutes,
        absolute_hours: policy.sessions.absolute_timeout_hours,
        restricts: None,
    }
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

pub async fn security(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(q): Query<SavedQuery>,
) -> Result<SecurityPolicyPage, PageError> {
    let policy =
        state.kw.get_security_policy(&actor).await.map_err(|error| PageError { error, chrome: chrome(&state, &actor, "security") })?;
    let notice = q.saved.map(|_| "The policy was saved. It applies to every session and API token from its next request.".to_owned());
    Ok(policy_page(&state, &actor, &policy, notice, None))
}

/// The label the Security Policies form shows for a number field.
fn number_label(field: &str) -> &'static str {
    match field {
        "grace_period_days" => "Grace period (days)",
        "min_length" => "Minimum length",
        "idle_timeout_minutes" => "Sign out after inactivity (minutes)",
        "absolute_timeout_hours" => "Sign out after sign-in in any case (hours)",
        _ => "This field",
    }
}

/// Reads the Security Policies form: checkboxes come as `name=on` when ticked.
fn policy_from_form(form: &HashMap<String, String>) -> Result<SecurityPolicy, Error> {
    let on = |k: &str| form.get(k).is_some_and(|v| v == "on");
    let number = |k: &'static str| -> Result<u32, Error> {
        form.get(k)
            .map(|v| v.trim())
            .unwrap_or("")
            .parse::<u32>()
            .map_err(|_| Error::invalid_field(k, "invalid_number", format!("{} must be a whole number.", number_label(k))))
    };
    let roles: Vec<Role> = Role::ALL.into_iter().filter(|r| on(&format!("mfa_role_{}", r.as_str()))).collect();
    let mode = if on("mfa_all") {
        MfaMode::All
    } else if roles.is_empty() {
        MfaMode::Off
    } else {
        MfaMode::Roles
    };
    let password = if form.get("preset").is_some_and(|p| p == "nist") {
        PasswordPolicy::nist()
    } else {
        PasswordPolicy {
            min_length: number("min_length")?,
            require_uppercase: on("require_uppercase"),
            require_lowercase: on("require_lowercase"),
            require_digit: on("require_digit"),
            require_special: on("require_special"),
            block_common: true,
        }
    };
    Ok(SecurityPolicy {
        mfa: MfaPolicy {
            mode,
            roles: if mode == MfaMode::Roles { roles } else { Vec::new() },
            grace_period_days: number("grace_period_days")?,
            required_since: Default::default(),
        },
        password,
        sessions: SessionPolicy {
            idle_timeout_minutes: number("idle_timeout_minutes")?,
            absolute_timeout_hours: number("absolute_timeout_hours")?,
        },
    })
}

pub async fn save_security(State(state): State<AppState>, f: CsrfForm<HashMap<String, String>>) -> Response {
    // The count the admin saw and confirmed; a different count (other values, other users) asks again.
    let confirmed = f.form.get("confirm_restricted").and_then(|v| v.parse::<usize>().ok());
    let policy = policy_from_form(&f.form);
    if let Ok(policy) = &policy {
        match state.kw.restricted_at_once(&f.actor, policy).await {
            Ok(n) if n > 0 && confirmed != Some(n) => {
                return SecurityPolicyPage { restricts: Some(n), ..policy_page(&state, &f.actor, policy, None, None) }.into_response();
            }
            Ok(_) => {}
            Err(Error::Forbidden) => {
                return PageError { error: Error::Forbidden, chrome: chrome(&state, &f.actor, "security") }.into_response();
            }
            Err(e) => return (describe(&e).status, policy_page(&state, &f.actor, policy, None, Some(super::say(&e)))).into_response(),
        }
    }
    let result = match policy {
        Ok(policy) => state.kw.put_security_policy(&f.actor, policy).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to("/settings/security?saved=1").into_response(),
        Err(Error::Forbidden) => PageError { error: Error::Forbidden, chrome: chrome(&state, &f.actor, "security") }.into_response(),
        Err(e) => match state.kw.get_security_policy(&f.actor).await {
            Ok(current) => (describe(&e).status, policy_page(&state, &f.actor, &current, None, Some(super::say(&e)))).into_response(),
            Err(error) => PageError { error, chrome: chrome(&state, &f.actor, "security") }.into_response(),
        },
    }
}
