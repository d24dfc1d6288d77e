-- Keyward schema, version 14 on SQLite: a trigram index for the directory search (`q`, a part
-- of an email or a name). PostgreSQL gets pg_trgm indexes instead (0014_directory_search.postgres.sql).
--
-- `users_search` is an FTS5 table with the trigram tokenizer over exactly the two texts the
-- search compares: `email_key` and `LOWER(full_name)`. The directory asks it for the users whose
-- texts hold every three-character piece of `q`, in order (an FTS5 phrase), then compares those
-- users with LIKE as before, so its answers are the scan's answers (the tokenizer folds case more
-- widely than LIKE: it only ever lets more users through to the comparison, never fewer).
--
-- Its rows are numbered by `users_search_keys`, not by the rowid of `users`: `users` has a TEXT
-- primary key, and VACUUM may renumber the rowids of such a table.
--
-- Triggers keep both in step with `users`, so that no write path (the store, the command line,
-- an operator's SQL) can leave the index behind.

CREATE TABLE users_search_keys (
    n INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE users_search USING fts5(email, name, tokenize = 'trigram');

INSERT INTO users_search_keys (user_id) SELECT id FROM users;
INSERT INTO users_search (rowid, email, name)
    SELECT k.n, u.email_key, LOWER(u.full_name) FROM users u JOIN users_search_keys k ON k.user_id = u.id;

CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search_keys (user_id) VALUES (new.id);
    INSERT INTO users_search (rowid, email, name)
        VALUES ((SELECT n FROM users_search_keys WHERE user_id = new.id), new.email_key, LOWER(new.full_name));
END;

CREATE TRIGGER users_search_update AFTER UPDATE OF id, email_key, full_name ON users
WHEN old.id IS NOT new.id OR old.email_key IS NOT new.email_key OR old.full_name IS NOT new.full_name
BEGIN
    UPDATE users_search_keys SET user_id = new.id WHERE user_id = old.id;
    UPDATE users_search SET email = new.email_key, name = LOWER(new.full_name)
        WHERE rowid = (SELECT n FROM users_search_keys WHERE user_id = new.id);
END;

CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search WHERE rowid = (SELECT n FROM users_search_keys WHERE user_id = old.id);
    DELETE FROM users_search_keys WHERE user_id = old.id;
END;
