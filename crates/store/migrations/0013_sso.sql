-- Keyward schema, version 13: OIDC single sign-on. The identity providers an admin configured
-- (the client secret only sealed), the link between a provider's subject and a Keyward account,
-- and the sign-ins under way (state, nonce and PKCE verifier kept server-side, single use).
-- Lists (scopes, group mappings, SSO-required domains) are JSON text, read and written whole.

CREATE TABLE sso_providers (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    scopes TEXT NOT NULL,
    groups_claim TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    jit BIGINT NOT NULL,
    default_role TEXT NOT NULL,
    trust_mfa BIGINT NOT NULL,
    link_by_email BIGINT NOT NULL,
    mappings TEXT NOT NULL,
    required_domains TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sso_identities (
    provider_id TEXT NOT NULL REFERENCES sso_providers (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT,
    PRIMARY KEY (provider_id, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (user_id);

CREATE TABLE sso_logins (
    state_hash TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES sso_providers (id) ON DELETE CASCADE,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_url TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- The sessions a provider opened: which provider (to offer its sign-out), and whether its
-- `amr` satisfied Keyward's MFA policy (a trusted provider's second factor).
CREATE TABLE sso_sessions (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    provider_id TEXT NOT NULL REFERENCES sso_providers (id) ON DELETE CASCADE,
    mfa_satisfied BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
