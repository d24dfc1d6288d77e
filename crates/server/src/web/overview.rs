//! The security overview: the admins' Settings landing page.

use super::settings::chrome;
use super::{Chrome, PageActor, PageError, show_time};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::model::User;
use keyward_core::policy::Capability;

/// How many names a line lists.
const NAMES: usize = 10;

/// One thing that may need attention.
pub struct Line {
    id: &'static str,
    /// `warn` (needs attention), `fine`, or `` (for information).
    state: &'static str,
    count: usize,
    text: String,
    /// (href, label) of the people or reviews it concerns.
    links: Vec<(String, String)>,
    /// Where it is fixed.
    fix: Option<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_overview.html")]
pub struct OverviewPage {
    chrome: Chrome,
    lines: Vec<Line>,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 { one.to_owned() } else { many.to_owned() }
}

fn people(users: &[User], suffix: impl Fn(&User) -> String) -> Vec<(String, String)> {
    users.iter().take(NAMES).map(|u| (format!("/settings/users/{}", u.id), format!("{}{}", u.full_name, suffix(u)))).collect()
}

fn line(id: &'static str, count: usize, warn: bool, text: String, links: Vec<(String, String)>, fix: Option<(&str, &str)>) -> Line {
    Line {
        id,
        state: if count == 0 {
            "fine"
        } else if warn {
            "warn"
        } else {
            ""
        },
        count,
        text,
        links,
        fix: fix.filter(|_| count > 0).map(|(h, l)| (h.to_owned(), l.to_owned())),
    }
}

/// `/settings`: the overview for admins, the Users list for everyone else.
pub async fn landing(State(state): State<AppState>, PageActor(actor): PageActor) -> Response {
    if !actor.can(Capability::ReadAudit) {
        return Redirect::to("/settings/users").into_response();
    }
    let o = match state.kw.security_overview(&actor).await {
        Ok(o) => o,
        Err(error) => return PageError { error, chrome: chrome(&state, &actor, "overview") }.into_response(),
    };
    let now = state.kw.now();
    let overdue = o.open_reviews.iter().filter(|r| r.overdue(now)).count();
    let reviews = o
        .open_reviews
        .iter()
        .map(|r| {
            let name = r
                .period
                .clone()
                .map_or_else(|| format!("Review opened {}", show_time(Some(r.opened_at))), |p| format!("Quarterly review {p}"));
            (format!("/settings/access-reviews/{}", r.id), format!("{name} (due {})", show_time(Some(r.due_at))))
        })
        .collect();
    let n = |v: &[User]| v.len();
    let lines = vec![
        line(
            "admins-without-mfa",
            n(&o.admins_without_mfa),
            true,
            plural(n(&o.admins_without_mfa), "admin without MFA:", "admins without MFA:"),
            people(&o.admins_without_mfa, |_| String::new()),
            Some(("/settings/security", "Require MFA for admins")),
        ),
        line(
            "reviews",
            o.open_reviews.len(),
            overdue > 0,
            format!(
                "{} open{}:",
                plural(o.open_reviews.len(), "access review", "access reviews"),
                if overdue > 0 { format!(", {overdue} overdue") } else { String::new() }
            ),
            reviews,
            None,
        ),
        line(
            "past-end-date",
            n(&o.past_end_date),
            true,
            plural(n(&o.past_end_date), "active user past their access end date:", "active users past their access end date:"),
            people(&o.past_end_date, |_| String::new()),
            None,
        ),
        line(
            "inactive",
            n(&o.inactive),
            true,
            format!("{} for more than {} days:", plural(n(&o.inactive), "user inactive", "users inactive"), o.inactive_days),
            people(&o.inactive, |_| String::new()),
            Some(("/settings/access-reviews", "Review access")),
        ),
        line(
            "failed-sign-ins",
            o.failed_sign_ins_24h.max(0) as usize,
            true,
            plural(o.failed_sign_ins_24h.max(0) as usize, "failed sign-in in the last 24 hours.", "failed sign-ins in the last 24 hours."),
            Vec::new(),
            Some(("/settings/activity?action=auth.login_failed", "Failed sign-ins")),
        ),
        line(
            "departures",
            n(&o.departures),
            false,
            plural(n(&o.departures), "departure in the next 7 days:", "departures in the next 7 days:"),
            people(&o.departures, |u| format!(" ({})", show_time(u.access_expires_at))),
            None,
        ),
    ];
    OverviewPage { chrome: chrome(&state, &actor, "overview"), lines }.into_response()
}
