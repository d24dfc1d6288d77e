-- Keyward schema, version 11: service accounts and scoped API tokens.
--
-- A service account is a row of `users` of kind 'service': it holds a role and API tokens like
-- a person, so the authorization index and token authentication need nothing new, but it has no
-- password, no email that reaches anyone, and never signs in. People are kind 'person'.
-- `api_tokens.scopes` lists what a token may do (space-separated, e.g. 'authz:check users:read');
-- NULL means a person's token, bounded by its owner's role alone.

ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'person';
ALTER TABLE users ADD COLUMN description TEXT;
ALTER TABLE api_tokens ADD COLUMN scopes TEXT;
