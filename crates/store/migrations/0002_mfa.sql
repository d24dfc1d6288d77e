-- Keyward schema, version 2: TOTP multi-factor authentication, backup codes, the sign-in code
-- step, sessions restricted to MFA enrollment, and when a user's role last changed (the start of
-- an MFA grace period).

ALTER TABLE users ADD COLUMN role_changed_at BIGINT;
ALTER TABLE sessions ADD COLUMN mfa_pending BIGINT NOT NULL DEFAULT 0;

-- The secret is sealed with the server's key (never stored in plain text).
CREATE TABLE mfa_totp (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    verified BIGINT NOT NULL DEFAULT 0,
    enabled BIGINT NOT NULL DEFAULT 0,
    last_step BIGINT,
    created_at BIGINT NOT NULL,
    enabled_at BIGINT
);

CREATE TABLE mfa_backup_codes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX mfa_backup_codes_user ON mfa_backup_codes (user_id);

CREATE TABLE mfa_challenges (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
