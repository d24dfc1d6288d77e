-- Keyward schema, version 8: the audit log's keyed hash chain. Each event gets its position
-- (`seq`, from 1), the id of the master key its chain key was derived from, and
-- chain = HMAC-SHA256(k, previous chain ‖ canonical(event)) in hex. `audit_head` holds the last
-- position and chain value: appends lock its one row (PostgreSQL) or run under SQLite's single
-- writer, so positions are handed out in commit order with no gaps. Events from before this
-- migration have no position yet; the first Keyward process that opens the database chains
-- them, in time order, before anything else is written (docs/audit.md).

ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN key_id TEXT;
ALTER TABLE audit_events ADD COLUMN chain TEXT;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id, at);

CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    chain TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, chain) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
