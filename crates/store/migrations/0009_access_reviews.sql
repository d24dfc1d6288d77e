-- Keyward schema, version 9: access reviews with their items, and the leases that let one node
-- at a time run each background job.

CREATE TABLE access_reviews (
    id TEXT PRIMARY KEY,
    -- '2026-Q4' for a quarter's scheduled review: unique, so two nodes cannot both open it.
    period TEXT UNIQUE,
    status TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    opened_by TEXT,
    due_at BIGINT NOT NULL,
    completed_at BIGINT,
    completed_by TEXT,
    audit_position TEXT,
    reminded_at BIGINT,
    overdue_notified_at BIGINT
);
CREATE INDEX access_reviews_status ON access_reviews (status, opened_at);

-- No foreign keys to users, teams or resources: a review is a record, and keeps its items
-- (with the names in `context`) when what they named is gone.
CREATE TABLE access_review_items (
    id TEXT PRIMARY KEY,
    review_id TEXT NOT NULL REFERENCES access_reviews (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT,
    team_id TEXT,
    resource_id TEXT,
    reviewer_id TEXT,
    context TEXT NOT NULL,
    decision TEXT,
    note TEXT,
    demote_to TEXT,
    decided_by TEXT,
    decided_at BIGINT,
    outcome TEXT,
    applied_at BIGINT
);
CREATE INDEX access_review_items_review ON access_review_items (review_id, position);
CREATE INDEX access_review_items_reviewer ON access_review_items (reviewer_id, review_id);

CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    next_run_at BIGINT NOT NULL
);
