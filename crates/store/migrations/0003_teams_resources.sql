-- Keyward schema, version 3: teams with leads and quotas, the platform's resources, shares, and
-- sealed data-source credentials.

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    lead_id TEXT REFERENCES users (id),
    max_cpu_millis BIGINT,
    max_memory_mib BIGINT,
    max_storage_gib BIGINT,
    max_apps BIGINT,
    max_workflows BIGINT,
    max_workspaces BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE resources (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id),
    team_id TEXT REFERENCES teams (id),
    project_id TEXT REFERENCES resources (id),
    cpu_millis BIGINT NOT NULL,
    memory_mib BIGINT NOT NULL,
    storage_gib BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX resources_owner ON resources (owner_id);
CREATE INDEX resources_team ON resources (team_id);
CREATE INDEX resources_project ON resources (project_id);

-- subject_id is '' for all_users, so that the key stays unique on both engines.
CREATE TABLE shares (
    resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    level TEXT NOT NULL,
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (resource_id, subject_type, subject_id)
);
CREATE INDEX shares_subject ON shares (subject_type, subject_id);

-- Sealed with the server's key, bound to the resource id; never returned.
CREATE TABLE credentials (
    resource_id TEXT PRIMARY KEY REFERENCES resources (id) ON DELETE CASCADE,
    sealed TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT
);
