//! The server-rendered web UI. Pages call the same core service functions as the API; forms
//! work without JavaScript and carry the session's CSRF token.

mod account;
mod first_admin;
mod invitations;
mod overview;
mod provisioning;
mod resource_page;
mod resources;
mod reviews;
mod service_accounts;
mod session;
mod settings;
mod sharing;
mod sso;
mod sso_settings;
mod teams;
mod users;

use crate::error::describe;
use crate::extract::{check_csrf, request_meta};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use keyward_core::{Actor, AuthVia, Error};
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use crate::origin::safe_next;

/// Every page route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(account::home))
        .route("/setup", post(first_admin::submit))
        .route("/setup/{token}", get(first_admin::link_page))
        .route("/login", get(session::login_page).post(session::login_submit))
        .route("/login/mfa", post(session::login_mfa_submit))
        .route("/auth/oidc/{provider}/start", get(sso::start))
        .route("/auth/oidc/{provider}/callback", get(sso::callback))
        .route("/settings/sso", get(sso_settings::list).post(sso_settings::create))
        .route("/settings/sso/{id}", get(sso_settings::show).post(sso_settings::update))
        .route("/settings/sso/{id}/delete", post(sso_settings::delete))
        .route("/account/mfa/start", post(account::mfa_start))
        .route("/account/mfa/setup", get(account::mfa_setup))
        .route("/account/mfa/verify", post(account::mfa_verify))
        .route("/account/mfa/activate", post(account::mfa_activate))
        .route("/account/mfa/backup-codes", post(account::mfa_backup_codes))
        .route("/account/mfa/disable", post(account::mfa_disable))
        .route("/settings/users/{id}/mfa-reset", get(users::confirm_mfa_reset).post(users::mfa_reset))
        .route("/logout", post(session::logout))
        .route("/invite/{token}", get(session::invite_page).post(session::invite_submit))
        .route("/account", get(account::profile))
        .route("/account/profile", post(account::save_profile))
        .route("/account/password", post(account::change_password))
        .route("/account/security", get(account::security))
        .route("/account/tokens", post(account::create_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/account/sessions/{id}/end", post(account::end_session))
        .route("/settings", get(overview::landing))
        .route("/settings/users", get(users::list))
        .route("/settings/users/invite", get(invitations::invite_form).post(invitations::invite_submit))
        .route("/settings/users/{id}", get(users::show))
        .route("/settings/users/{id}/role", get(users::confirm_role).post(users::update_role))
        .route("/settings/users/{id}/access-end", post(users::access_end))
        .route("/settings/users/{id}/deactivate", get(users::confirm_deactivate).post(users::deactivate))
        .route("/settings/users/{id}/reactivate", get(users::confirm_reactivate).post(users::reactivate))
        .route("/settings/invitations/{id}/resend", post(invitations::resend))
        .route("/settings/invitations/{id}/revoke", get(invitations::confirm_revoke).post(invitations::revoke))
        .route("/forgot-password", get(session::forgot_page).post(session::forgot_submit))
        .route("/reset-password/{token}", get(session::reset_page).post(session::reset_submit))
        .route("/settings/teams", get(teams::list).post(teams::create))
        .route("/settings/teams/{id}", get(teams::show))
        .route("/settings/teams/{id}/edit", post(teams::edit))
        .route("/settings/teams/{id}/members", post(teams::add_member))
        .route("/settings/teams/{id}/members/{user_id}/remove", get(teams::confirm_remove_member).post(teams::remove_member))
        .route("/settings/teams/{id}/quotas", post(teams::quotas))
        .route("/settings/teams/{id}/delete", post(teams::delete))
        .route("/settings/security", get(settings::security).post(settings::save_security))
        .route("/settings/activity", get(settings::activity))
        .route("/settings/service-accounts", get(service_accounts::list).post(service_accounts::create))
        .route("/settings/service-accounts/{id}/tokens", post(service_accounts::create_token))
        .route("/settings/service-accounts/{id}/tokens/{token_id}/revoke", post(service_accounts::revoke_token))
        .route("/settings/service-accounts/{id}/delete", post(service_accounts::delete))
        .route("/settings/provisioning", get(provisioning::show))
        .route("/settings/provisioning/tokens", post(provisioning::create_token))
        .route("/settings/provisioning/tokens/{id}/revoke", post(provisioning::revoke_token))
        .route("/settings/provisioning/roles", post(provisioning::save_roles))
        .route("/settings/access-reviews", get(reviews::list).post(reviews::open))
        .route("/settings/access-reviews/policy", post(reviews::save_policy))
        .route("/settings/access-reviews/{id}", get(reviews::show))
        .route("/settings/access-reviews/{id}/decide", post(reviews::decide))
        .route("/settings/access-reviews/{id}/complete", post(reviews::complete))
        .route("/settings/access-reviews/{id}/report.csv", get(reviews::report))
        .route("/resources", get(resources::list).post(resources::create))
        .route("/resources/{id}", get(resource_page::show))
        .route("/resources/{id}/edit", post(resources::edit))
        .route("/resources/{id}/shares/add", post(sharing::add_share))
        .route("/resources/{id}/shares/{share_id}/remove", post(sharing::remove_share))
        .route("/resources/{id}/visibility", post(sharing::visibility))
        .route("/resources/{id}/credentials", post(sharing::credentials))
        .route("/resources/{id}/delete", post(resources::delete))
        .route("/static/keyward.css", get(stylesheet))
        .route("/static/keyward.js", get(script))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")],
        include_str!("../../static/keyward.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")],
        include_str!("../../static/keyward.js"),
    )
}

/// The signed-in user as the page frame shows them.
#[derive(Clone)]
pub struct Me {
    pub full_name: String,
    pub email: String,
    pub initials: String,
    pub csrf_token: String,
}

/// What the frame around every page needs.
#[derive(Clone)]
pub struct Chrome {
    pub platform_name: String,
    pub me: Option<Me>,
    /// `home`, `settings` or `account`: which main tab is current.
    pub section: &'static str,
    /// The current settings page.
    pub page: &'static str,
    /// A reminder that the policy requires MFA by a date (or now).
    pub mfa_banner: Option<String>,
    /// Show the admins' settings pages (policies, activity, reviews) in the menu.
    pub admin_settings: bool,
}

impl Chrome {
    pub fn anonymous(state: &AppState) -> Chrome {
        Chrome {
            platform_name: state.config.platform_name.clone(),
            me: None,
            section: "",
            page: "",
            mfa_banner: None,
            admin_settings: false,
        }
    }

    pub fn for_actor(state: &AppState, actor: &Actor, section: &'static str, page: &'static str) -> Chrome {
        let initials: String =
            actor.user.full_name.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect::<String>().to_uppercase();
        Chrome {
            platform_name: state.config.platform_name.clone(),
            me: Some(Me {
                full_name: actor.user.full_name.clone(),
                email: actor.user.email.clone(),
                initials: if initials.is_empty() { "?".into() } else { initials },
                csrf_token: csrf_of(actor),
            }),
            section,
            page,
            admin_settings: actor.can(keyward_core::policy::Capability::ManagePolicies),
            mfa_banner: if actor.mfa_pending() {
                Some("The security policy requires multi-factor authentication before you can continue.".into())
            } else {
                actor.mfa_deadline.map(|d| {
                    format!("The security policy requires multi-factor authentication: set it up by {}.", show_deadline(d, state.kw.now()))
                })
            },
        }
    }
}

/// The actor's CSRF token, for hidden form fields.
pub fn csrf_of(actor: &Actor) -> String {
    match &actor.via {
        AuthVia::Session { csrf_token, .. } => csrf_token.clone(),
        AuthVia::Token { .. } | AuthVia::Cli => String::new(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub heading: String,
    pub message: String,
    pub kind: &'static str,
    pub back_href: String,
    pub back_label: String,
}

/// "Are you sure?" before something that cannot be undone quietly: the question, and a form
/// that does it.
#[derive(Template, WebTemplate)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub chrome: Chrome,
    pub csrf_token: String,
    pub heading: String,
    pub question: String,
    pub action: String,
    pub button: &'static str,
    pub button_class: &'static str,
    pub cancel: String,
    /// Hidden fields the confirmed form carries (name, value).
    pub fields: Vec<(String, String)>,
}

/// A failed page request: the sign-in page for a missing session, otherwise a page in words.
pub struct PageError {
    pub error: Error,
    pub chrome: Chrome,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.error, Error::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        let d = describe(&self.error);
        let heading = match d.status {
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::CONFLICT => "Cannot do that",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            s if s.is_client_error() => "Please check your input",
            _ => "Something went wrong",
        };
        // The message fills the whole page, also when the failed page was a settings page.
        let page = MessagePage {
            chrome: Chrome { section: "", ..self.chrome },
            heading: heading.into(),
            message: in_words(&d.message),
            kind: "error",
            back_href: "/".into(),
            back_label: "Back to the start".into(),
        };
        let mut res = (d.status, page).into_response();
        crate::refusals::mark(&mut res, &self.error);
        res
    }
}

/// The signed-in user of a page; without a valid session the browser goes to the sign-in page,
/// and a session restricted to MFA enrollment goes to enrollment.
pub struct PageActor(pub Actor);

impl FromRequestParts<AppState> for PageActor {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let actor = page_actor(parts, state).await?;
        if actor.mfa_pending() {
            return Err(Redirect::to("/account/security").into_response());
        }
        Ok(PageActor(actor))
    }
}

/// Like `PageActor`, but also for a session restricted to MFA enrollment (the pages that enroll).
pub struct EnrollingPageActor(pub Actor);

impl FromRequestParts<AppState> for EnrollingPageActor {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(EnrollingPageActor(page_actor(parts, state).await?))
    }
}

async fn page_actor(parts: &Parts, state: &AppState) -> Result<Actor, Response> {
    let jar = CookieJar::from_headers(&parts.headers);
    // Only a page can be returned to after signing in; a form posted with an expired session
    // starts over from the sign-in page (and a sign-out needs no sign-in at all).
    let login = || match (&parts.method, parts.uri.path()) {
        (&axum::http::Method::GET, _) => {
            let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            Redirect::to(&format!("/login?next={}", urlencode(next))).into_response()
        }
        (_, "/logout") => Redirect::to("/login?signed_out=1").into_response(),
        _ => Redirect::to("/login").into_response(),
    };
    let Some(cookie) = jar.get(state.config.session_cookie_name()) else { return Err(login()) };
    match state.kw.authenticate_session(cookie.value(), request_meta(parts)).await {
        Ok(actor) => {
            crate::refusals::note(parts, &actor);
            Ok(actor)
        }
        Err(Error::Unauthenticated) => Err(login()),
        Err(e) => Err(PageError { error: e, chrome: Chrome::anonymous(state) }.into_response()),
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf_token: String,
}

/// A form posted by a signed-in user, accepted only with the session's CSRF token. With
/// `ENROLLING`, a session restricted to MFA enrollment may post it too.
pub struct CsrfForm<T, const ENROLLING: bool = false> {
    pub actor: Actor,
    pub form: T,
}

impl<T: DeserializeOwned, const ENROLLING: bool> FromRequest<AppState> for CsrfForm<T, ENROLLING> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let actor = if ENROLLING {
            EnrollingPageActor::from_request_parts(&mut parts, state).await?.0
        } else {
            PageActor::from_request_parts(&mut parts, state).await?.0
        };
        let chrome = || Chrome::for_actor(state, &actor, "", "");
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state).await.map_err(IntoResponse::into_response)?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf_token: String::new() });
        if let Err(error) = check_csrf(&actor, &field.csrf_token) {
            return Err(PageError { error, chrome: chrome() }.into_response());
        }
        match serde_urlencoded::from_bytes::<T>(&bytes) {
            Ok(form) => Ok(CsrfForm { actor, form }),
            Err(e) => {
                Err(PageError { error: Error::invalid("invalid_form", format!("The form could not be read: {e}")), chrome: chrome() }
                    .into_response())
            }
        }
    }
}

/// The fields that the core's messages name, and the labels the forms show for them; longer
/// names first, so that `max_cpu_millis` is replaced before `cpu_millis`.
const LABELS: [(&str, &str); 16] = [
    ("max_cpu_millis", "Max CPU (millicores)"),
    ("max_memory_mib", "Max memory (MiB)"),
    ("max_storage_gib", "Max storage (GiB)"),
    ("max_workflows", "Max workflows"),
    ("max_workspaces", "Max workspaces"),
    ("max_apps", "Max apps"),
    ("cpu_millis", "CPU (millicores)"),
    ("memory_mib", "Memory (MiB)"),
    ("storage_gib", "Storage (GiB)"),
    ("expires_at", "Until"),
    ("project_id", "Project"),
    ("team_id", "Team"),
    ("lead_id", "Team lead"),
    ("reviewer_id", "Reviewer"),
    ("member_ids", "Members"),
    ("grace_period_days", "Grace period (days)"),
];

/// A message for a page: the field names of the core's messages become the forms' labels
/// ("max_cpu_millis must be …" reads "“Max CPU (millicores)” must be …").
pub fn in_words(message: &str) -> String {
    let mut out = message.to_owned();
    for (field, label) in LABELS {
        out = out.replace(field, &format!("“{label}”"));
    }
    out
}

/// What went wrong, for a page: the error's message in the forms' words.
pub fn say(e: &Error) -> String {
    in_words(&describe(e).message)
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).map(|q| q[2..].to_owned()).unwrap_or_default()
}

/// A deadline as shown to the person it binds: one already reached reads "now", never a time
/// in the past.
pub fn show_deadline(deadline: time::OffsetDateTime, now: time::OffsetDateTime) -> String {
    if deadline <= now { "now".into() } else { show_time(Some(deadline)) }
}

/// Short display of a time for tables.
pub fn show_time(t: Option<time::OffsetDateTime>) -> String {
    t.map(|t| {
        let t = t.to_offset(time::UtcOffset::UTC);
        format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
    })
    .unwrap_or_else(|| "—".into())
}
