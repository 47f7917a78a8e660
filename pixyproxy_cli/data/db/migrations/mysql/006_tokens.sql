-- pixyproxy schema version 6 (MySQL / MariaDB). Mirrors ../sqlite/006_tokens.sql.
-- API tokens: a client logs in once (POST /token) and sends Authorization: Bearer after
-- that. Only a SHA-256 of each token is stored (tokens are 256 random bits: a fast hash is
-- as good as a slow one, and costs nothing per request). token_id is the token's public
-- name (it is also written in the token itself); a token goes with its user.

CREATE TABLE IF NOT EXISTS api_tokens (
    id            BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    token_id      CHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    username      VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    token_hash    CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    label         VARCHAR(100)     NOT NULL,
    created_at    DATETIME(6)      NOT NULL,
    expires_at    DATETIME(6)      NOT NULL,
    last_used_at  DATETIME(6)      NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_api_tokens_token_id (token_id),
    KEY ix_api_tokens_username (username, id),
    CONSTRAINT fk_api_tokens_username FOREIGN KEY (username) REFERENCES roster (username)
        ON UPDATE RESTRICT ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
