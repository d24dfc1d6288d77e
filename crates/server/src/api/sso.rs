//! Single sign-on, the admin's side: the identity providers (`/api/v1/sso/providers`).

use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::{CreateSsoProviderRequest, ErrorBody, Page, SsoGroupMapping, SsoProviderBody, UpdateSsoProviderRequest};
use keyward_core::model::rfc3339;
use keyward_core::services::sso_admin::SsoProviderInput;
use keyward_core::sso::{GroupMapping, SsoProvider};
use keyward_core::types::{Role, TeamId};

/// The redirect URI of a provider, as it must be registered at the provider.
pub fn callback_url(state: &AppState, slug: &str) -> String {
    format!("{}/auth/oidc/{slug}/callback", state.config.public_url())
}

pub(crate) fn body_of(state: &AppState, p: &SsoProvider) -> SsoProviderBody {
    SsoProviderBody {
        id: p.id.to_string(),
        name: p.name.clone(),
        slug: p.slug.clone(),
        issuer: p.issuer.clone(),
        client_id: p.client_id.clone(),
        scopes: p.scopes.clone(),
        groups_claim: p.groups_claim.clone(),
        enabled: p.enabled,
        jit: p.jit,
        default_role: p.default_role.as_str().to_owned(),
        trust_mfa: p.trust_mfa,
        link_by_email: p.link_by_email,
        mappings: p
            .mappings
            .iter()
            .map(|m| SsoGroupMapping {
                group: m.group.clone(),
                team_id: m.team_id.map(|t| t.to_string()),
                role: m.role.map(|r| r.as_str().to_owned()),
            })
            .collect(),
        required_domains: p.required_domains.clone(),
        callback_url: callback_url(state, &p.slug),
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
    }
}

fn mappings_of(v: Vec<SsoGroupMapping>) -> keyward_core::Result<Vec<GroupMapping>> {
    v.into_iter()
        .map(|m| {
            Ok(GroupMapping {
                group: m.group,
                team_id: m
                    .team_id
                    .filter(|t| !t.is_empty())
                    .map(|t| TeamId::parse(&t))
                    .transpose()
                    .map_err(|_| keyward_core::Error::invalid_field("mappings", "unknown_team", "A mapping's team_id is not a team id."))?,
                role: m.role.filter(|r| !r.is_empty()).map(|r| Role::parse(&r)).transpose()?,
            })
        })
        .collect()
}

fn provider_id(id: &str) -> keyward_core::Result<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| keyward_core::Error::NotFound("identity provider"))
}

/// The identity providers (admins; never the client secrets).
#[utoipa::path(get, path = "/api/v1/sso/providers", tag = "sso",
    responses((status = 200, body = Page<SsoProviderBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_providers(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Page<SsoProviderBody>>> {
    let items = state.kw.sso_providers(&actor).await?.iter().map(|p| body_of(&state, p)).collect();
    Ok(Json(Page { items, next_cursor: None }))
}

/// Adds an identity provider (admins). The client secret is sealed and never shown back.
#[utoipa::path(post, path = "/api/v1/sso/providers", tag = "sso", request_body = CreateSsoProviderRequest,
    responses((status = 201, body = SsoProviderBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_provider(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiJson(b): ApiJson<CreateSsoProviderRequest>,
) -> ApiResult<(StatusCode, Json<SsoProviderBody>)> {
    let input = SsoProviderInput {
        name: b.name,
        slug: b.slug,
        issuer: b.issuer,
        client_id: b.client_id,
        client_secret: Some(b.client_secret),
        scopes: b.scopes.unwrap_or_else(|| vec!["email".into(), "profile".into()]),
        groups_claim: b.groups_claim.unwrap_or_else(|| "groups".into()),
        enabled: b.enabled.unwrap_or(true),
        jit: b.jit.unwrap_or(false),
        default_role: b.default_role.as_deref().map(Role::parse).transpose()?.unwrap_or(Role::Viewer),
        trust_mfa: b.trust_mfa.unwrap_or(false),
        link_by_email: b.link_by_email.unwrap_or(false),
        mappings: mappings_of(b.mappings.unwrap_or_default())?,
        required_domains: b.required_domains.unwrap_or_default(),
    };
    let p = state.kw.create_sso_provider(&actor, input).await?;
    Ok((StatusCode::CREATED, Json(body_of(&state, &p))))
}

/// One identity provider (admins).
#[utoipa::path(get, path = "/api/v1/sso/providers/{id}", tag = "sso", params(("id" = String, Path)),
    responses((status = 200, body = SsoProviderBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_provider(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SsoProviderBody>> {
    let p = state.kw.sso_provider(&actor, provider_id(&id)?).await?;
    Ok(Json(body_of(&state, &p)))
}

/// Changes an identity provider (admins): fields left out stay; a client secret left out stays.
#[utoipa::path(patch, path = "/api/v1/sso/providers/{id}", tag = "sso", params(("id" = String, Path)), request_body = UpdateSsoProviderRequest,
    responses((status = 200, body = SsoProviderBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_provider(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UpdateSsoProviderRequest>,
) -> ApiResult<Json<SsoProviderBody>> {
    let id = provider_id(&id)?;
    let current = state.kw.sso_provider(&actor, id).await?;
    let mut input = SsoProviderInput::of(&current);
    input.name = b.name.unwrap_or(input.name);
    input.slug = b.slug.unwrap_or(input.slug);
    input.issuer = b.issuer.unwrap_or(input.issuer);
    input.client_id = b.client_id.unwrap_or(input.client_id);
    input.client_secret = b.client_secret;
    input.scopes = b.scopes.unwrap_or(input.scopes);
    input.groups_claim = b.groups_claim.unwrap_or(input.groups_claim);
    input.enabled = b.enabled.unwrap_or(input.enabled);
    input.jit = b.jit.unwrap_or(input.jit);
    if let Some(r) = b.default_role {
        input.default_role = Role::parse(&r)?;
    }
    input.trust_mfa = b.trust_mfa.unwrap_or(input.trust_mfa);
    input.link_by_email = b.link_by_email.unwrap_or(input.link_by_email);
    if let Some(m) = b.mappings {
        input.mappings = mappings_of(m)?;
    }
    input.required_domains = b.required_domains.unwrap_or(input.required_domains);
    let p = state.kw.update_sso_provider(&actor, id, input).await?;
    Ok(Json(body_of(&state, &p)))
}

/// Deletes an identity provider (admins): the accounts stay, their links to it go.
#[utoipa::path(delete, path = "/api/v1/sso/providers/{id}", tag = "sso", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_provider(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.kw.delete_sso_provider(&actor, provider_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
