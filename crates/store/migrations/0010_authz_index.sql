-- Keyward schema, version 10: the change log that feeds every node's in-memory authorization
-- index, and the nodes that hold one.
--
-- Every transaction that changes users, API tokens, team membership, teams, resources, shares
-- or the security policy takes the next value of `authz_generation` at its end (a row lock held
-- until it commits, so sequence order is commit order) and writes one row per changed thing
-- here, in the same transaction. Nodes read the rows after the sequence they have applied.

CREATE TABLE authz_changes (
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (seq, kind, key)
);
CREATE INDEX authz_changes_at ON authz_changes (at);

-- A node answers from memory only while it holds a live lease; a writer waits after commit
-- until every ready node with a live lease has applied its change (or the lease ran out).
-- Times are wall-clock unix milliseconds.
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    applied_seq BIGINT NOT NULL,
    ready BIGINT NOT NULL DEFAULT 0
);
