-- Keyward schema, version 12: SCIM provisioning. The bearer tokens of provisioning clients (only
-- their hashes), and the SCIM attributes of users and groups (teams) that Keyward keeps nowhere
-- else, so that an identity provider reads back what it wrote. A user deleted over SCIM keeps
-- their (deactivated) account; `deleted_at` hides them from SCIM.

CREATE TABLE scim_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    last_used_at BIGINT
);

CREATE TABLE scim_users (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    user_name_key TEXT NOT NULL UNIQUE,
    external_id TEXT,
    display_name TEXT,
    given_name TEXT,
    family_name TEXT,
    email_type TEXT,
    email_primary BIGINT,
    deleted_at BIGINT
);

CREATE TABLE scim_groups (
    team_id TEXT PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    external_id TEXT
);
