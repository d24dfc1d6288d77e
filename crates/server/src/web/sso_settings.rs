//! Settings → Single Sign-On: the OpenID Providers people sign in through (added, changed,
//! deleted), with their group mappings and SSO-required domains. The client secret is a
//! write-only field: left blank, the stored one stays.

use super::settings::chrome;
use super::{Chrome, CsrfForm, PageActor, PageError, csrf_of, say};
use crate::error::describe;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keyward_core::services::sso_admin::SsoProviderInput;
use keyward_core::sso::{GroupMapping, SsoProvider};
use keyward_core::types::Role;
use keyward_core::{Actor, Error};
use serde::Deserialize;

pub struct ProviderRow {
    id: String,
    name: String,
    slug: String,
    issuer: String,
    enabled: bool,
}

/// The provider form's fields, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct ProviderForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    groups_claim: String,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    jit: Option<String>,
    #[serde(default)]
    default_role: String,
    #[serde(default)]
    trust_mfa: Option<String>,
    #[serde(default)]
    link_by_email: Option<String>,
    #[serde(default)]
    mappings: String,
    #[serde(default)]
    required_domains: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_sso.html")]
pub struct SsoPage {
    chrome: Chrome,
    csrf_token: String,
    providers: Vec<ProviderRow>,
    /// The provider being edited (its id), or none for the list with the form to add one.
    editing: Option<String>,
    /// The callback URL to register at the provider (with the slug typed so far).
    callback_base: String,
    form: ProviderForm,
    roles: Vec<(&'static str, &'static str)>,
    notice: Option<String>,
    error: Option<String>,
}

impl ProviderForm {
    fn blank() -> ProviderForm {
        ProviderForm {
            scopes: "email profile".into(),
            groups_claim: "groups".into(),
            enabled: Some("on".into()),
            default_role: "viewer".into(),
            ..Default::default()
        }
    }

    fn of(p: &SsoProvider, teams: &[(String, String)]) -> ProviderForm {
        let team_name = |id: String| teams.iter().find(|(t, _)| *t == id).map_or(id.clone(), |(_, n)| n.clone());
        ProviderForm {
            name: p.name.clone(),
            slug: p.slug.clone(),
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            client_secret: String::new(),
            scopes: p.scopes.join(" "),
            groups_claim: p.groups_claim.clone(),
            enabled: p.enabled.then(|| "on".into()),
            jit: p.jit.then(|| "on".into()),
            default_role: p.default_role.as_str().into(),
            trust_mfa: p.trust_mfa.then(|| "on".into()),
            link_by_email: p.link_by_email.then(|| "on".into()),
            mappings: p
                .mappings
                .iter()
                .map(|m| {
                    let team = m.team_id.map(|t| team_name(t.to_string())).unwrap_or_default();
                    match m.role {
                        Some(r) => format!("{} = {team}, {}", m.group, r.as_str()),
                        None => format!("{} = {team}", m.group),
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
            required_domains: p.required_domains.join("\n"),
        }
    }

    /// The input the form describes: mapping lines "group = team name[, role]" (team may be
    /// blank), domains and scopes separated by spaces, commas or lines.
    fn input(&self, teams: &[(String, String)]) -> keyward_core::Result<SsoProviderInput> {
        let words =
            |s: &str| s.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).map(str::to_owned).collect::<Vec<_>>();
        let mut mappings = Vec::new();
        for line in self.mappings.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let bad = || {
                Error::invalid_field(
                    "mappings",
                    "invalid_mappings",
                    format!("Write each mapping as: group = team name, role (either may be blank). Not: {line}"),
                )
            };
            let (group, rhs) = line.rsplit_once('=').ok_or_else(bad)?;
            let (team, role) = match rhs.rsplit_once(',') {
                Some((t, r)) => (t.trim(), Some(r.trim()).filter(|r| !r.is_empty())),
                None => (rhs.trim(), None),
            };
            let team_id = match team {
                "" => None,
                name => Some(
                    teams
                        .iter()
                        .find(|(_, n)| n.eq_ignore_ascii_case(name))
                        .map(|(id, _)| keyward_core::types::TeamId::parse(id))
                        .transpose()?
                        .ok_or_else(|| Error::invalid_field("mappings", "unknown_team", format!("There is no team named {name}.")))?,
                ),
            };
            let role = role.map(keyward_core::services::scim_admin::ScimSettings::role_of_value).transpose()?;
            mappings.push(GroupMapping { group: group.trim().to_owned(), team_id, role });
        }
        Ok(SsoProviderInput {
            name: self.name.clone(),
            slug: self.slug.trim().to_owned(),
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_secret: Some(self.client_secret.clone()).filter(|s| !s.is_empty()),
            scopes: words(&self.scopes),
            groups_claim: self.groups_claim.clone(),
            enabled: self.enabled.is_some(),
            jit: self.jit.is_some(),
            default_role: Role::parse(&self.default_role)?,
            trust_mfa: self.trust_mfa.is_some(),
            link_by_email: self.link_by_email.is_some(),
            mappings,
            required_domains: words(&self.required_domains),
        })
    }
}

async fn teams(state: &AppState, actor: &Actor) -> Result<Vec<(String, String)>, Error> {
    Ok(state.kw.list_teams(actor).await?.into_iter().map(|t| (t.id.to_string(), t.name)).collect())
}

async fn page(
    state: &AppState,
    actor: &Actor,
    editing: Option<String>,
    form: ProviderForm,
    notice: Option<String>,
    error: Option<&Error>,
) -> Result<SsoPage, PageError> {
    let fail = |error| PageError { error, chrome: chrome(state, actor, "sso") };
    let providers = state.kw.sso_providers(actor).await.map_err(fail)?;
    Ok(SsoPage {
        chrome: chrome(state, actor, "sso"),
        csrf_token: csrf_of(actor),
        providers: providers
            .iter()
            .map(|p| ProviderRow {
                id: p.id.to_string(),
                name: p.name.clone(),
                slug: p.slug.clone(),
                issuer: p.issuer.clone(),
                enabled: p.enabled,
            })
            .collect(),
        editing,
        callback_base: format!("{}/auth/oidc/", state.config.public_url()),
        form,
        roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        notice,
        error: error.map(say),
    })
}

fn with_status(e: &Error, p: Result<SsoPage, PageError>) -> Response {
    match p {
        Ok(p) => (describe(e).status, p).into_response(),
        Err(pe) => pe.into_response(),
    }
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn notice_of(q: &DoneQuery) -> Option<String> {
    match q.done.as_deref() {
        Some("saved") => Some("Saved.".to_owned()),
        Some("deleted") => Some("The identity provider was deleted.".to_owned()),
        _ => None,
    }
}

pub async fn list(State(state): State<AppState>, PageActor(actor): PageActor, Query(q): Query<DoneQuery>) -> Result<SsoPage, PageError> {
    page(&state, &actor, None, ProviderForm::blank(), notice_of(&q), None).await
}

pub async fn create(State(state): State<AppState>, f: CsrfForm<ProviderForm>) -> Response {
    let result = match teams(&state, &f.actor).await {
        Ok(teams) => match f.form.input(&teams) {
            Ok(input) => state.kw.create_sso_provider(&f.actor, input).await.map(|_| ()),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/settings/sso?done=saved").into_response(),
        Err(e) => {
            let form = ProviderForm { client_secret: String::new(), ..f.form };
            with_status(&e, page(&state, &f.actor, None, form, None, Some(&e)).await)
        }
    }
}

fn id_of(id: &str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(id).map_err(|_| Error::NotFound("identity provider"))
}

pub async fn show(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let found = async {
        let p = state.kw.sso_provider(&actor, id_of(&id)?).await?;
        Ok::<_, Error>(ProviderForm::of(&p, &teams(&state, &actor).await?))
    };
    match found.await {
        Ok(form) => page(&state, &actor, Some(id), form, notice_of(&q), None).await.into_response(),
        Err(error) => PageError { error, chrome: chrome(&state, &actor, "sso") }.into_response(),
    }
}

pub async fn update(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<ProviderForm>) -> Response {
    let result = async {
        let pid = id_of(&id)?;
        let input = f.form.input(&teams(&state, &f.actor).await?)?;
        state.kw.update_sso_provider(&f.actor, pid, input).await
    };
    match result.await {
        Ok(p) => Redirect::to(&format!("/settings/sso/{}?done=saved", p.id)).into_response(),
        Err(e) => {
            let form = ProviderForm { client_secret: String::new(), ..f.form.clone() };
            with_status(&e, page(&state, &f.actor, Some(id), form, None, Some(&e)).await)
        }
    }
}

pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, f: CsrfForm<super::session::Empty>) -> Response {
    let result = match id_of(&id) {
        Ok(pid) => state.kw.delete_sso_provider(&f.actor, pid).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/settings/sso?done=deleted").into_response(),
        Err(e) => PageError { error: e, chrome: chrome(&state, &f.actor, "sso") }.into_response(),
    }
}
