-- pixyproxy schema version 1 (SQLite). Mirrors ../mysql/001_initial.sql.
-- Timestamps are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff', written by pixyproxy.

CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER  NOT NULL PRIMARY KEY,
    applied_at  TEXT     NOT NULL
);

CREATE TABLE IF NOT EXISTS roster (
    id             INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    username       TEXT     NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    password_hash  TEXT     NOT NULL,
    class_key      TEXT     NOT NULL CHECK (length(class_key) BETWEEN 1 AND 64),
    created_at     TEXT     NOT NULL,
    updated_at     TEXT     NOT NULL
);

CREATE TABLE IF NOT EXISTS images (
    id          INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    guid        TEXT     NOT NULL UNIQUE CHECK (length(guid) = 36),
    filename    TEXT     NOT NULL UNIQUE,
    prompt      TEXT     NOT NULL,
    owner       TEXT     NULL REFERENCES roster (username) ON UPDATE RESTRICT ON DELETE RESTRICT,
    is_private  INTEGER  NOT NULL DEFAULT 0 CHECK (is_private IN (0, 1)),
    provider    TEXT     NOT NULL,
    model       TEXT     NOT NULL,
    media_type  TEXT     NOT NULL,
    created_at  TEXT     NOT NULL,
    updated_at  TEXT     NOT NULL,
    CHECK (is_private = 0 OR owner IS NOT NULL)
);

CREATE INDEX IF NOT EXISTS ix_images_owner ON images (owner, id);
