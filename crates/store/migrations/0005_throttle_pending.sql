-- Keyward schema, version 5: attempts at a secret are counted before they are evaluated.
-- `pending` is how many of a throttle's `failures` are attempts still being evaluated (presumed
-- wrong until they settle), and `pending_at` when the last of them was counted: an attempt that
-- meets a lock only such attempts set waits for them instead of being refused at once.

ALTER TABLE throttles ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE throttles ADD COLUMN pending_at BIGINT;
