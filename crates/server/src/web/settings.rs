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
use keyward_core::model::rfc3339;
use keyward_core::password::PasswordPolicy;
use keyward_core::policy::Capability;
use keyward_core::policy::{MfaMode, MfaPolicy, SecurityPolicy, SessionPolicy};
use keyward_core::services::activity_views::{ActivityRow, SignInDay};
use keyward_core::store::{AuditFilter, UserFilter};
use keyward_core::types::Role;
use keyward_core::wording::KNOWN_ACTIONS;
use serde::Deserialize;
use std::collections::HashMap;

pub(super) const PAGE: i64 = 50;

pub(super) fn chrome(state: &AppState, actor: &Actor, page: &'static str) -> Chrome {
    Chrome::for_actor(state, actor, "settings", page)
}

pub struct EventRow {
    pub(super) at: String,
    /// RFC 3339, for the `<time>` element.
    pub(super) at_iso: String,
    pub(super) sentence: String,
    pub(super) action: String,
    pub(super) ip: String,
}

impl EventRow {
    pub(super) fn of(r: ActivityRow) -> EventRow {
        EventRow {
            at: show_time(Some(r.record.event.at)),
            at_iso: rfc3339(r.record.event.at),
            sentence: r.sentence,
            action: r.record.event.action,
            ip: r.record.event.ip.unwrap_or_default(),
        }
    }
}

/// The Activity page's filters, as the query string carries them. Dates are UTC days, both
/// ends included.
#[derive(Deserialize, Default, Clone, serde::Serialize)]
pub struct ActivityQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    since: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    until: String,
    /// An email (or a user id).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    actor: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    target_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    target_id: String,
    #[serde(default, skip_serializing)]
    cursor: String,
}

/// What a view tab sets (label, action, target type).
const VIEWS: [(&str, &str, &str); 4] = [
    ("Everything", "", ""),
    ("Sign-ins", "auth.login", ""),
    ("Failed sign-ins", "auth.login_failed", ""),
    ("Resource changes", "", "resource"),
];

/// Kinds of target the filter offers (value, label).
const TARGET_TYPES: [(&str, &str); 7] = [
    ("user", "A person"),
    ("team", "A team"),
    ("resource", "A resource"),
    ("api_token", "An API token"),
    ("session", "A session"),
    ("access_review", "An access review"),
    ("policy", "A policy"),
];

pub struct ChartDay {
    day: String,
    sign_ins: i64,
    failed: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_activity.html")]
pub struct ActivityPage {
    chrome: Chrome,
    q: ActivityQuery,
    error: Option<String>,
    /// (label, href, current)
    views: Vec<(&'static str, String, bool)>,
    actions: &'static [(&'static str, &'static str)],
    target_types: [(&'static str, &'static str); 7],
    /// Emails offered by the actor field.
    people: Vec<String>,
    events: Vec<EventRow>,
    /// The filters as a query string (no cursor), for paging and the views.
    filter_qs: String,
    /// The filters in the export endpoint's names.
    export_qs: String,
    next_cursor: Option<String>,
    chart_svg: String,
    chart: Vec<ChartDay>,
    total_sign_ins: i64,
    total_failed: i64,
}

/// A `YYYY-MM-DD` filter date; 400 naming the field otherwise.
fn filter_day(field: &'static str, s: &str) -> Result<Option<time::Date>, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, format).map(Some).map_err(|_| Error::invalid_field(field, "invalid_date", "Dates are written YYYY-MM-DD."))
}

/// The audit filter a query asks for, and the export endpoint's query string for it.
async fn audit_filter(state: &AppState, actor: &Actor, q: &ActivityQuery) -> Result<(AuditFilter, String), Error> {
    let since = filter_day("since", &q.since)?.map(|d| d.midnight().assume_utc());
    // The until day is included: events before the next day's midnight.
    let until = filter_day("until", &q.until)?.map(|d| (d + time::Duration::days(1)).midnight().assume_utc());
    let actor_id = match q.actor.trim() {
        "" => None,
        who => Some(state.kw.audit_actor(actor, who).await?),
    };
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = AuditFilter {
        actor_id,
        action: some(&q.action),
        since,
        until,
        target_type: some(&q.target_type),
        target_id: some(&q.target_id),
        before: some(&q.cursor),
        limit: PAGE + 1,
    };
    let mut export: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("since", filter.since.map(rfc3339)),
        ("until", filter.until.map(rfc3339)),
        ("actor_id", filter.actor_id.map(|a| a.to_string())),
        ("action", filter.action.clone()),
        ("target_type", filter.target_type.clone()),
        ("target_id", filter.target_id.clone()),
    ] {
        if let Some(v) = v {
            export.push((k, v));
        }
    }
    Ok((filter, serde_urlencoded::to_string(&export).unwrap_or_default()))
}

/// The chart of sign-ins (and failed ones) per day, drawn as SVG on the server: one pair of
/// bars per day, the scale on the left. Only numbers and dates reach the markup.
fn chart_svg(days: &[SignInDay]) -> String {
    let (w, h, left, bottom, top) = (640.0_f64, 180.0_f64, 36.0_f64, 24.0_f64, 8.0_f64);
    let max = days.iter().map(|d| d.sign_ins.max(d.failed)).max().unwrap_or(0).max(1);
    let slot = (w - left) / days.len().max(1) as f64;
    let bar = (slot / 2.0 - 1.0).max(1.0);
    let scale = |n: i64| (h - bottom - top) * n as f64 / max as f64;
    let mut out = String::new();
    let first = days.first().map(|d| d.day.to_string()).unwrap_or_default();
    let last = days.last().map(|d| d.day.to_string()).unwrap_or_default();
    let total: i64 = days.iter().map(|d| d.sign_ins).sum();
    let failed: i64 = days.iter().map(|d| d.failed).sum();
    out.push_str(&format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"chart-title chart-desc\">\
         <title id=\"chart-title\">Sign-ins and failed sign-ins per day</title>\
         <desc id=\"chart-desc\">From {first} to {last}: {total} sign-ins and {failed} failed sign-ins; the busiest day had {max}.</desc>"
    ));
    let axis = h - bottom;
    out.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{axis}\" x2=\"{w}\" y2=\"{axis}\" class=\"axis\"/>\
         <text x=\"{x}\" y=\"{y}\" class=\"tick\" text-anchor=\"end\">{max}</text>\
         <text x=\"{x}\" y=\"{axis}\" class=\"tick\" text-anchor=\"end\">0</text>",
        x = left - 4.0,
        y = top + 10.0,
    ));
    for (i, d) in days.iter().enumerate() {
        let x = left + slot * i as f64;
        let (hs, hf) = (scale(d.sign_ins), scale(d.failed));
        out.push_str(&format!(
            "<rect class=\"ok\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{hs:.1}\"><title>{}: {} sign-ins</title></rect>\
             <rect class=\"failed\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{hf:.1}\"><title>{}: {} failed sign-ins</title></rect>",
            axis - hs,
            d.day,
            d.sign_ins,
            x + bar,
            axis - hf,
            d.day,
            d.failed,
        ));
        // A date under every seventh day and under the last, none too close to it.
        let last = i + 1 == days.len();
        if last || (i % 7 == 0 && i + 4 < days.len()) {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"{}\">{:02}-{:02}</text>",
                if last { w } else { x },
                h - 6.0,
                if last { "end" } else { "start" },
                u8::from(d.day.month()),
                d.day.day()
            ));
        }
    }
    out.push_str("</svg>");
    out
}

pub async fn activity(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(q): Query<ActivityQuery>,
) -> Result<ActivityPage, PageError> {
    let page_err = |error| PageError { error, chrome: chrome(&state, &actor, "activity") };
    actor.require(Capability::ReadAudit).map_err(page_err)?;
    let days = state.kw.sign_in_chart(&actor, 30).await.map_err(page_err)?;
    let people = state
        .kw
        .list_users(&actor, UserFilter { limit: 200, ..UserFilter::default() })
        .await
        .map_err(page_err)?
        .into_iter()
        .map(|u| u.email)
        .collect();
    let (mut error, mut events, mut export_qs) = (None, Vec::new(), String::new());
    match audit_filter(&state, &actor, &q).await {
        Ok((filter, qs)) => {
            export_qs = qs;
            events = state.kw.activity(&actor, filter).await.map_err(page_err)?;
        }
        Err(Error::Forbidden) => return Err(page_err(Error::Forbidden)),
        Err(e) => error = Some(describe(&e).message),
    }
    let next_cursor = if events.len() as i64 > PAGE {
        events.truncate(PAGE as usize);
        events.last().map(|e| e.record.event.id.to_string())
    } else {
        None
    };
    let filter_qs = serde_urlencoded::to_string(&q).unwrap_or_default();
    let views = VIEWS
        .iter()
        .map(|(label, action, target)| {
            let mut v = ActivityQuery { action: (*action).into(), target_type: (*target).into(), ..q.clone() };
            v.target_id = if *target == q.target_type { q.target_id.clone() } else { String::new() };
            let current = q.action == *action && q.target_type == *target;
            (*label, format!("/settings/activity?{}", serde_urlencoded::to_string(&v).unwrap_or_default()), current)
        })
        .collect();
    Ok(ActivityPage {
        chrome: chrome(&state, &actor, "activity"),
        chart_svg: chart_svg(&days),
        total_sign_ins: days.iter().map(|d| d.sign_ins).sum(),
        total_failed: days.iter().map(|d| d.failed).sum(),
        chart: days.iter().rev().map(|d| ChartDay { day: d.day.to_string(), sign_ins: d.sign_ins, failed: d.failed }).collect(),
        q,
        error,
        views,
        actions: KNOWN_ACTIONS,
        target_types: TARGET_TYPES,
        people,
        events: events.into_iter().map(EventRow::of).collect(),
        filter_qs,
        export_qs,
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
