//! The JSON API under `/api/v1`, with its OpenAPI document generated from these handlers.

mod audit;
pub(crate) mod auth;
mod authz;
mod contract;
mod invitations;
mod me;
mod mfa;
mod ops;
mod resources;
pub(crate) mod reviews;
mod scim;
mod service_accounts;
mod shares;
pub(crate) mod sso;
mod teams;
pub(crate) mod users;

use crate::state::AppState;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use contract::complete as complete_contract;
pub use ops::{healthz, metrics, readyz};

#[derive(OpenApi)]
#[openapi(
    info(title = "Keyward API", description = "Users, roles, teams, sharing, MFA, activity and access reviews for a team platform."),
    components(schemas(keyward_api::ErrorBody, keyward_api::ErrorDetail)),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Sign-in and sessions"),
        (name = "me", description = "The caller's own account"),
        (name = "users", description = "The user directory"),
        (name = "audit", description = "The audit log"),
        (name = "policies", description = "Security policies"),
        (name = "teams", description = "Teams, leads and quotas"),
        (name = "resources", description = "The platform's resources, shares and credentials"),
        (name = "authz", description = "Access decisions for the platform"),
        (name = "ops", description = "Health and metrics"),
        (name = "access-reviews", description = "Quarterly access reviews"),
        (name = "service-accounts", description = "Service accounts for the platform and their scoped tokens"),
        (name = "sso", description = "Single sign-on: the OpenID Providers people sign in through"),
        (name = "scim", description = "SCIM 2.0 provisioning (/scim/v2, with a SCIM token) and its tokens and role settings"),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::extract::SESSION_COOKIE))));
    }
}

/// Names the session cookie in the document's `session` security scheme as this server sets it
/// (`__Host-keyward_session` under https).
pub fn name_session_cookie(openapi: &mut utoipa::openapi::OpenApi, name: &str) {
    use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(name))));
}

/// Every API route, and the OpenAPI document that describes them.
pub fn router() -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::login_mfa))
        .routes(routes!(auth::logout))
        .routes(routes!(mfa::start_totp))
        .routes(routes!(mfa::activate_totp))
        .routes(routes!(mfa::mfa_status))
        .routes(routes!(mfa::regenerate_backup_codes))
        .routes(routes!(mfa::disable_totp))
        .routes(routes!(mfa::reset_mfa))
        .routes(routes!(mfa::get_policy, mfa::put_policy))
        .routes(routes!(auth::accept_invitation))
        .routes(routes!(invitations::create_invitation, invitations::list_invitations))
        .routes(routes!(invitations::resend_invitation))
        .routes(routes!(invitations::revoke_invitation))
        .routes(routes!(invitations::request_reset))
        .routes(routes!(invitations::confirm_reset))
        .routes(routes!(me::get_me, me::update_me))
        .routes(routes!(me::change_password))
        .routes(routes!(me::create_token, me::list_tokens))
        .routes(routes!(me::revoke_token))
        .routes(routes!(me::list_sessions))
        .routes(routes!(me::end_session))
        .routes(routes!(users::list_users))
        .routes(routes!(users::get_user, users::update_user))
        .routes(routes!(users::deactivate_user))
        .routes(routes!(users::reactivate_user))
        .routes(routes!(users::user_logins))
        .routes(routes!(users::list_audit))
        .routes(routes!(teams::list_teams, teams::create_team))
        .routes(routes!(teams::get_team, teams::update_team, teams::delete_team))
        .routes(routes!(teams::add_member, teams::remove_member))
        .routes(routes!(teams::set_quotas))
        .routes(routes!(teams::usage))
        .routes(routes!(resources::create_resource, resources::list_resources))
        .routes(routes!(resources::get_resource, resources::update_resource, resources::delete_resource))
        .routes(routes!(resources::put_credentials))
        .routes(routes!(authz::check))
        .routes(routes!(authz::check_batch))
        .routes(routes!(authz::explain))
        .routes(routes!(authz::lookup))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        // access reviews
        .routes(routes!(reviews::list_reviews, reviews::open_review))
        .routes(routes!(reviews::get_review))
        .routes(routes!(reviews::decide_item))
        .routes(routes!(reviews::decide_items))
        .routes(routes!(reviews::reassign_item))
        .routes(routes!(reviews::complete_review))
        .routes(routes!(reviews::report))
        .routes(routes!(reviews::get_policy, reviews::put_policy))
        // sharing (task C): the list with its ETag, one share added or removed
        .routes(routes!(shares::get_shares, shares::put_shares, shares::add_share))
        .routes(routes!(shares::remove_share))
        // audit chain and export (the audit area)
        .routes(routes!(audit::verify))
        .routes(routes!(audit::export))
        // service accounts (issue 9, point 11)
        .routes(routes!(service_accounts::list_service_accounts, service_accounts::create_service_account))
        .routes(routes!(service_accounts::get_service_account, service_accounts::delete_service_account))
        .routes(routes!(service_accounts::list_service_tokens, service_accounts::create_service_token))
        .routes(routes!(service_accounts::revoke_service_token))
        // SCIM provisioning: the admin's side here, the protocol under /scim/v2
        .routes(routes!(scim::create_token, scim::list_tokens))
        .routes(routes!(scim::revoke_token))
        .routes(routes!(scim::get_settings, scim::put_settings))
        // single sign-on (OIDC): the providers; the sign-in itself is under /auth/oidc
        .routes(routes!(sso::list_providers, sso::create_provider))
        .routes(routes!(sso::get_provider, sso::update_provider, sso::delete_provider));
    crate::scim::routes(router)
}

/// Parses `?cursor=` into a value, or answers 400.
pub(crate) fn cursor(c: Option<&str>) -> Result<Option<String>, keyward_core::Error> {
    match c {
        None | Some("") => Ok(None),
        Some(s) if s.len() <= 400 && s.chars().all(|c| !c.is_control()) => Ok(Some(s.to_owned())),
        Some(_) => Err(keyward_core::Error::invalid_field(
            "cursor",
            "invalid_cursor",
            "The cursor is not valid; use next_cursor from the previous page.",
        )),
    }
}
