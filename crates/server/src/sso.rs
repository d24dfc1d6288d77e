//! OIDC sign-in, the protocol side (the `openidconnect` crate): provider discovery and keys,
//! cached per provider and fetched again on an unknown signing key (rotation); the
//! authorization request with PKCE, `state` and `nonce`; the code exchange and the ID token's
//! checks (signature, issuer, audience, expiry on Keyward's clock, nonce). The core gets the
//! verified claims; the rules of who signs in are the core's (`services::sso`).

use axum::body::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use keyward_core::Keyward;
use keyward_core::sso::{SsoClaims, SsoLogin, SsoProvider};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse, IssuerUrl, LogoutRequest,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a provider's discovery document and keys are used before they are fetched again.
const CACHE_FOR: Duration = Duration::from_secs(3600);
/// The most a provider's answer may weigh.
const MAX_BODY: usize = 1024 * 1024;
/// How long Keyward waits for a provider.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a sign-in through a provider failed, in words for the person (the cause goes to the log).
#[derive(Debug)]
pub struct OidcError {
    /// `provider_unreachable`, `provider_refused`, `token_invalid`.
    pub code: &'static str,
    pub message: String,
}

impl OidcError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        OidcError { code, message: message.into() }
    }
}

#[derive(Debug)]
pub struct HttpError(String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

struct Cached {
    issuer: String,
    metadata: ProviderMetadataWithLogout,
    fetched: Instant,
}

/// The OIDC layer: an HTTP client (rustls on ring; no redirects followed, as OAuth 2.0 asks of
/// token requests) and the cache of discovery documents.
pub struct Oidc {
    http: HyperClient<Https, Full<Bytes>>,
    cache: Mutex<HashMap<uuid::Uuid, Cached>>,
}

/// What a sign-in needs to remember until the callback.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl Oidc {
    pub fn new() -> anyhow::Result<Oidc> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .build();
        // Why no pooled connections: sign-ins are rare, and a provider that closed an idle
        // connection would fail the next (non-idempotent, so not retried) token request.
        let http = HyperClient::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build(connector);
        Ok(Oidc { http, cache: Mutex::new(HashMap::new()) })
    }

    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = req.into_parts();
        let req = axum::http::Request::from_parts(parts, Full::new(body.into()));
        let res = tokio::time::timeout(TIMEOUT, self.http.request(req))
            .await
            .map_err(|_| HttpError("the provider did not answer in time".into()))?
            .map_err(|e| HttpError(format!("cannot reach the provider: {}", error_chain(&e))))?;
        let (parts, body) = res.into_parts();
        let body = tokio::time::timeout(TIMEOUT, Limited::new(body, MAX_BODY).collect())
            .await
            .map_err(|_| HttpError("the provider's answer did not arrive in time".into()))?
            .map_err(|e| HttpError(format!("cannot read the provider's answer: {e}")))?
            .to_bytes();
        Ok(axum::http::Response::from_parts(parts, body.to_vec()))
    }

    /// The provider's discovery document and keys: cached, unless `fresh`.
    async fn metadata(&self, p: &SsoProvider, fresh: bool) -> Result<ProviderMetadataWithLogout, OidcError> {
        if !fresh
            && let Ok(cache) = self.cache.lock()
            && let Some(c) = cache.get(&p.id).filter(|c| c.issuer == p.issuer && c.fetched.elapsed() < CACHE_FOR)
        {
            return Ok(c.metadata.clone());
        }
        let issuer = IssuerUrl::new(p.issuer.clone())
            .map_err(|_| OidcError::new("provider_unreachable", "The provider's issuer URL is not valid."))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, self).await.map_err(|e| {
            tracing::warn!(provider = %p.slug, error = %error_chain(&e), "OIDC discovery failed");
            OidcError::new(
                "provider_unreachable",
                format!(
                    "{} cannot be reached right now (its discovery document or keys could not be read). Try again later, or ask an admin.",
                    p.name
                ),
            )
        })?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(p.id, Cached { issuer: p.issuer.clone(), metadata: metadata.clone(), fetched: Instant::now() });
        }
        Ok(metadata)
    }

    /// Builds the authorization request: PKCE (S256), a random `state` and `nonce`, and the
    /// provider's scopes besides `openid`.
    pub async fn start(&self, p: &SsoProvider, redirect_uri: &str) -> Result<Started, OidcError> {
        let metadata = self.metadata(p, false).await?;
        let client = CoreClient::from_provider_metadata(metadata, ClientId::new(p.client_id.clone()), None).set_redirect_uri(
            RedirectUrl::new(redirect_uri.to_owned())
                .map_err(|_| OidcError::new("provider_refused", "Keyward's public URL is not valid."))?,
        );
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for s in &p.scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
        let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code (with the PKCE verifier) and checks the ID token; answers its claims.
    /// An unknown signing key fetches the provider's keys again once (key rotation).
    pub async fn finish(
        &self,
        kw: &Keyward,
        p: &SsoProvider,
        redirect_uri: &str,
        code: &str,
        login: &SsoLogin,
    ) -> Result<SsoClaims, OidcError> {
        let secret = kw.open_client_secret(p).map_err(|e| {
            tracing::error!(provider = %p.slug, error = %e, "cannot open the provider's client secret");
            OidcError::new(
                "provider_refused",
                "This identity provider's settings cannot be used (its client secret cannot be read). Ask an admin.",
            )
        })?;
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|_| OidcError::new("provider_refused", "Keyward's public URL is not valid."))?;
        let metadata = self.metadata(p, false).await?;
        let client =
            CoreClient::from_provider_metadata(metadata, ClientId::new(p.client_id.clone()), Some(ClientSecret::new(secret.clone())))
                .set_redirect_uri(redirect.clone());
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| OidcError::new("provider_refused", format!("{} has no token endpoint.", p.name)))?;
        let tokens =
            request.set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone())).request_async(self).await.map_err(|e| {
                tracing::warn!(provider = %p.slug, error = %error_chain(&e), "OIDC code exchange refused");
                OidcError::new(
                    "provider_refused",
                    format!("{} refused to complete the sign-in (the code may have expired or been used already). Start again.", p.name),
                )
            })?;
        let id_token = tokens.id_token().ok_or_else(|| OidcError::new("token_invalid", format!("{} sent no ID token.", p.name)))?.clone();
        let nonce = Nonce::new(login.nonce.clone());
        // Why Keyward's clock: expiry is judged by the same clock as every other deadline.
        let at = kw.now().unix_timestamp();
        let now = move || chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
        let verified = {
            let verifier = client.id_token_verifier().set_time_fn(now);
            id_token.claims(&verifier, &nonce).map(|_| ())
        };
        if let Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) = verified {
            let fresh = self.metadata(p, true).await?;
            let client = CoreClient::from_provider_metadata(fresh, ClientId::new(p.client_id.clone()), Some(ClientSecret::new(secret)))
                .set_redirect_uri(redirect);
            let verifier = client.id_token_verifier().set_time_fn(now);
            id_token.claims(&verifier, &nonce).map_err(|e| token_invalid(p, &e))?;
        } else {
            verified.map_err(|e| token_invalid(p, &e))?;
        }
        claims_of(&id_token.to_string(), &p.groups_claim)
            .ok_or_else(|| OidcError::new("token_invalid", format!("{}'s ID token could not be read.", p.name)))
    }

    /// The provider's end-session URL, when it has one: back to Keyward's sign-in page after.
    pub async fn end_session_url(&self, p: &SsoProvider, after: &str) -> Option<String> {
        let metadata = self.metadata(p, false).await.ok()?;
        let endpoint = metadata.additional_metadata().end_session_endpoint.clone()?;
        let mut req = LogoutRequest::from(endpoint).set_client_id(ClientId::new(p.client_id.clone()));
        if let Ok(after) = PostLogoutRedirectUrl::new(after.to_owned()) {
            req = req.set_post_logout_redirect_uri(after);
        }
        Some(req.http_get_url().to_string())
    }
}

/// The HTTP client `openidconnect` calls (a struct rather than a closure, so that the futures
/// stay `Send` for axum).
impl<'c> openidconnect::AsyncHttpClient<'c> for Oidc {
    type Error = HttpError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

fn token_invalid(p: &SsoProvider, e: &ClaimsVerificationError) -> OidcError {
    tracing::warn!(provider = %p.slug, error = %e, "OIDC ID token refused");
    let what = match e {
        ClaimsVerificationError::Expired(_) => "has expired",
        ClaimsVerificationError::InvalidNonce(_) => "was not issued for this sign-in",
        ClaimsVerificationError::InvalidAudience(_) => "was issued for another application",
        ClaimsVerificationError::InvalidIssuer(_) => "comes from another issuer",
        ClaimsVerificationError::SignatureVerification(_) => "has no valid signature",
        _ => "failed its checks",
    };
    OidcError::new("token_invalid", format!("The ID token from {} {what}, so Keyward did not sign you in. Start again.", p.name))
}

/// The claims of an ID token whose signature was verified: subject, email, groups (from the
/// configured claim: a list of strings, or one string) and `amr`.
pub fn claims_of(jwt: &str, groups_claim: &str) -> Option<SsoClaims> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let strings = |x: Option<&serde_json::Value>| -> Vec<String> {
        match x {
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|g| g.as_str().map(str::to_owned)).take(1000).collect(),
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    Some(SsoClaims {
        subject: v.get("sub")?.as_str()?.to_owned(),
        email: v.get("email").and_then(|e| e.as_str()).map(str::to_owned),
        // Some providers send "true" as a string.
        email_verified: matches!(v.get("email_verified"), Some(serde_json::Value::Bool(true)))
            || v.get("email_verified").and_then(|e| e.as_str()) == Some("true"),
        name: v.get("name").and_then(|e| e.as_str()).map(str::to_owned),
        groups: strings(v.get(groups_claim)),
        amr: strings(v.get("amr")),
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}
