-- pixyproxy schema version 6 (SQLite). Mirrors ../mysql/006_tokens.sql.
-- API tokens: only a SHA-256 of each is stored; token_id is the token's public name.

CREATE TABLE IF NOT EXISTS api_tokens (
    id            INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    token_id      TEXT     NOT NULL UNIQUE CHECK (length(token_id) = 16),
    username      TEXT     NOT NULL REFERENCES roster (username)
                           ON UPDATE RESTRICT ON DELETE CASCADE,
    token_hash    TEXT     NOT NULL CHECK (length(token_hash) = 64),
    label         TEXT     NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    created_at    TEXT     NOT NULL,
    expires_at    TEXT     NOT NULL,
    last_used_at  TEXT     NULL
);

CREATE INDEX IF NOT EXISTS ix_api_tokens_username ON api_tokens (username, id);
