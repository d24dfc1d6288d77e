-- Keyward schema, version 14 on PostgreSQL: trigram indexes for the directory search (`q`, a
-- part of an email or a name). SQLite gets an FTS5 table instead (0014_directory_search.sqlite.sql).
--
-- pg_trgm's GIN indexes serve `LIKE '%…%'` on exactly the two expressions the search compares,
-- `email_key` and `lower(full_name)`, so the query keeps its text and its answers. pg_trgm ships
-- with PostgreSQL (contrib) and is a trusted extension since PostgreSQL 13: the database's owner
-- may create it. Where Keyward's role may not, an administrator runs the CREATE EXTENSION once
-- beforehand (docs/operations.md).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX users_email_key_trgm ON users USING gin (email_key gin_trgm_ops);
CREATE INDEX users_full_name_trgm ON users USING gin (lower(full_name) gin_trgm_ops);

-- Statistics for the new expression (`lower(full_name)`) and the table as it is, so that the
-- planner weighs the indexes well from the first search on (autovacuum refreshes them later).
ANALYZE users;
