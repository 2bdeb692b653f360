-- Bearer tokens of the HTTP API (issue 16 item 5). Each service schema holds its own copy, written
-- by `rcm tokens` through the admin connection, so a service never reads another schema. Only the
-- SHA-256 of the secret is kept: the secret is 32 random bytes, so a fast hash is enough (nothing
-- to brute-force, unlike a password) and a lookup stays one index probe per request.
CREATE TABLE api_tokens (
    token_id      text        PRIMARY KEY,               -- the first 12 hex digits of the hash: safe to show
    token_hash    text        NOT NULL UNIQUE,           -- sha256 hex of the whole secret
    name          text        NOT NULL,                  -- the operator or calling system (the audit actor)
    scope         text        NOT NULL CHECK (scope IN ('read', 'operate', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text        NOT NULL,
    revoked_at    timestamptz,
    revoked_by    text,
    revoke_reason text,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX api_tokens_name ON api_tokens (name);
