-- Keyward schema, version 4: a counter that every change affecting access decisions or API
-- tokens bumps in its own transaction. Nodes cache decisions and tokens only as long as the
-- counter they were computed under is still the current one, so a change holds on every node
-- as soon as it commits.

CREATE TABLE authz_generation (
    id BIGINT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO authz_generation (id, value) VALUES (1, 0);
