-- Keyward schema, version 7: sharing without lost updates, and visibility as its own fact.
--
-- 1. Every share gets a stable id, so that one share can be removed by itself
--    (DELETE /api/v1/resources/{id}/shares/{share_id}). Existing shares get ids numbered in a
--    fixed order (valid UUID text, as every id); new ones get UUIDv7 ids from the server.
-- 2. Shares of teams that no longer exist are removed (deleting a team now removes its shares
--    in the same transaction; before, they were left behind and broke the resource's page).
-- 3. Resources get a visibility: for data sources Private / All Users / Specific Users/Teams,
--    worked out from their shares (an all-users share: all_users; other shares: specific; none:
--    private); every other kind is `specific` (its shares apply).

DELETE FROM shares WHERE subject_type = 'team' AND subject_id NOT IN (SELECT id FROM teams);

CREATE TABLE shares_v7 (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    level TEXT NOT NULL,
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    CONSTRAINT shares_resource_subject_key UNIQUE (resource_id, subject_type, subject_id)
);

INSERT INTO shares_v7 (id, resource_id, subject_type, subject_id, level, expires_at, created_at)
SELECT '00000000-0000-7000-8000-' || substr('000000000000', 1, 12 - length(CAST(n AS TEXT))) || CAST(n AS TEXT),
       resource_id, subject_type, subject_id, level, expires_at, created_at
FROM (SELECT s.resource_id, s.subject_type, s.subject_id, s.level, s.expires_at, s.created_at,
             ROW_NUMBER() OVER (ORDER BY s.resource_id, s.subject_type, s.subject_id) AS n
      FROM shares s) numbered;

DROP TABLE shares;
ALTER TABLE shares_v7 RENAME TO shares;
CREATE INDEX shares_subject ON shares (subject_type, subject_id);

ALTER TABLE resources ADD COLUMN visibility TEXT NOT NULL DEFAULT 'specific';

UPDATE resources SET visibility = CASE
    WHEN EXISTS (SELECT 1 FROM shares s WHERE s.resource_id = resources.id AND s.subject_type = 'all_users') THEN 'all_users'
    WHEN EXISTS (SELECT 1 FROM shares s WHERE s.resource_id = resources.id) THEN 'specific'
    ELSE 'private'
END
WHERE kind = 'data_source';
