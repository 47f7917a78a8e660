-- pixyproxy: the MySQL / MariaDB schema (utf8mb4), as the current release creates it.
--
-- pixyproxy creates and migrates this schema itself on first use (the numbered files in
-- pixyproxy_cli/data/db/migrations/mysql/), recording the version in schema_version. This file
-- is the readable whole, for review and for DBAs who prefer to create it by hand:
--
--     mysql -u USER -p DB_NAME < schema.sql
--
-- A test (tests/integration/test_schema.py) checks that it matches what the code creates.
-- Timestamps are UTC, written by pixyproxy rather than by the server's clock or time zone.

-- The schema version this database is at; one row per applied migration.
CREATE TABLE IF NOT EXISTS schema_version (
    version     INT          NOT NULL,
    applied_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO schema_version (version, applied_at) VALUES (1, UTC_TIMESTAMP(6)), (2, UTC_TIMESTAMP(6)), (3, UTC_TIMESTAMP(6)), (4, UTC_TIMESTAMP(6)), (5, UTC_TIMESTAMP(6)), (6, UTC_TIMESTAMP(6)), (7, UTC_TIMESTAMP(6)), (8, UTC_TIMESTAMP(6)), (9, UTC_TIMESTAMP(6)), (10, UTC_TIMESTAMP(6)), (11, UTC_TIMESTAMP(6)), (12, UTC_TIMESTAMP(6)), (13, UTC_TIMESTAMP(6)), (14, UTC_TIMESTAMP(6));

-- Users who may log in and own private images. password_hash is argon2id, never a password.
-- User names are ASCII and compared exactly (ascii_bin), as on SQLite; name_key, the
-- lower-cased name, makes them unique regardless of case (NULL only for a clash made before
-- version 9, which `pixyproxy doctor` names).
CREATE TABLE IF NOT EXISTS roster (
    id             BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    username       VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    password_hash  VARCHAR(255)     NOT NULL,
    class_key      VARCHAR(64)      NOT NULL,
    created_at     DATETIME(6)      NOT NULL,
    updated_at     DATETIME(6)      NOT NULL,
    name_key       VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_roster_username (username),
    UNIQUE KEY uq_roster_name_key (name_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Generated images. id is internal (keyset paging); guid is the public identifier.
-- filename is a plain name inside the image directory, derived from the guid.
-- A private image belongs to its owner; an image made by a logged-in user records its owner.
CREATE TABLE IF NOT EXISTS images (
    id          BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    guid        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    filename    VARCHAR(255)     NOT NULL,
    prompt      MEDIUMTEXT       NOT NULL,   -- up to 32,000+ characters of 4-byte UTF-8
    owner       VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
    is_private  TINYINT(1)       NOT NULL DEFAULT 0,
    provider    VARCHAR(32)      NOT NULL,   -- 'openai', 'placeholder', ...
    model       VARCHAR(64)      NOT NULL,
    media_type  VARCHAR(64)      NOT NULL,
    created_at  DATETIME(6)      NOT NULL,
    updated_at  DATETIME(6)      NOT NULL,
    input_tokens   INT UNSIGNED  NULL,           -- as the provider reported them (migration 003)
    output_tokens  INT UNSIGNED  NULL,
    width       INT UNSIGNED     NULL,       -- pixels, read from the file (migration 004)
    height      INT UNSIGNED     NULL,
    parents     VARCHAR(1024) CHARACTER SET ascii COLLATE ascii_bin NULL,  -- an edit's sources:
                                             -- a JSON array of GUIDs (null: a local file)
    input_text_tokens    INT UNSIGNED NULL,  -- the kinds the API details (migration 007)
    input_image_tokens   INT UNSIGNED NULL,
    output_text_tokens   INT UNSIGNED NULL,
    output_image_tokens  INT UNSIGNED NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_images_guid (guid),                -- GET /image/{guid}
    UNIQUE KEY uq_images_filename (filename),
    KEY ix_images_owner (owner, id),                 -- list --mine, keyset on id
    FULLTEXT KEY ft_images_prompt (prompt),          -- list --search (migration 005)
    CONSTRAINT fk_images_owner FOREIGN KEY (owner) REFERENCES roster (username)
        ON UPDATE RESTRICT ON DELETE RESTRICT,
    CONSTRAINT ck_images_private_has_owner CHECK (is_private = 0 OR owner IS NOT NULL)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The REST API's limits (failed logins, images per window), shared by every worker and
-- every server on this database (migration 002).
CREATE TABLE IF NOT EXISTS rate_limits (
    bucket        VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,  -- kind:sha256(key)
    slot          SMALLINT UNSIGNED  NOT NULL,                                 -- migration 011
    window_start  DOUBLE        NOT NULL,                                      -- Unix seconds
    hits          INT UNSIGNED  NOT NULL,
    PRIMARY KEY (bucket, slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- API tokens (migration 006): POST /token makes one, Authorization: Bearer uses it. Only a
-- SHA-256 of the token is stored; token_id is its public name. A token goes with its user.
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

-- The API's content provenance checks of stored images (migration 008): one row per check,
-- newest last; the signals as the API gave them (a JSON array). A check goes with its image.
CREATE TABLE IF NOT EXISTS provenance_checks (
    id          BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    image_id    BIGINT UNSIGNED  NOT NULL,
    checked_at  DATETIME(6)      NOT NULL,
    verdict     VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    signals     TEXT             NOT NULL,
    PRIMARY KEY (id),
    KEY ix_provenance_checks_image (image_id, id),
    CONSTRAINT fk_provenance_checks_image FOREIGN KEY (image_id) REFERENCES images (id)
        ON UPDATE RESTRICT ON DELETE CASCADE,
    CONSTRAINT ck_provenance_checks_verdict CHECK (verdict IN ('detected', 'not_detected'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- What every replica must forget (migration 010): a revoked token, a deleted image, written
-- in the revoke's or the delete's transaction and read by every serve worker a few times a
-- second. Inserts only, so writers on several nodes never conflict; old rows are purged.
CREATE TABLE IF NOT EXISTS invalidations (
    id       BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    kind     VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    subject  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    at       DOUBLE           NOT NULL,
    PRIMARY KEY (id),
    KEY ix_invalidations_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Jobs (migration 012): requests to make images, queued in the database for any worker of
-- any replica; claimed by a guarded UPDATE under a lease, ended with their images in one
-- transaction. `sent` counts sends to the provider whose images were not stored.
CREATE TABLE IF NOT EXISTS jobs (
    id            BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    guid          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    batch         CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    line          INT UNSIGNED     NOT NULL,     -- its place in the batch, from 1
    owner         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
    is_private    TINYINT(1)       NOT NULL DEFAULT 0,
    request       MEDIUMTEXT       NOT NULL,     -- JSON: prompt, n, options
    state         VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    attempts      INT UNSIGNED     NOT NULL DEFAULT 0,
    sent          INT UNSIGNED     NOT NULL DEFAULT 0,
    not_before    DOUBLE           NOT NULL,     -- epoch seconds: not claimed earlier
    lease_until   DOUBLE           NULL,
    worker        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
    error         TEXT             NULL,
    images        VARCHAR(4096) CHARACTER SET ascii COLLATE ascii_bin NULL,  -- JSON GUIDs
    created_at    DOUBLE           NOT NULL,
    updated_at    DOUBLE           NOT NULL,
    finished_at   DOUBLE           NULL,
    remote        TINYINT(1)       NOT NULL DEFAULT 0,  -- sent through the Batch API (013)
    partials      INT UNSIGNED     NOT NULL DEFAULT 0,  -- partial images received (014)
    partial_image MEDIUMBLOB       NULL,                -- the latest, while it runs (014)
    PRIMARY KEY (id),
    UNIQUE KEY uq_jobs_guid (guid),
    KEY ix_jobs_queue (state, not_before, id),
    KEY ix_jobs_batch (batch, line),
    KEY ix_jobs_owner (owner, id),
    CONSTRAINT ck_jobs_state CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Batches sent to the provider's Batch API (migration 013): their jobs are `remote`, run by
-- the provider, and collected from its output file, each job's images exactly once.
CREATE TABLE IF NOT EXISTS remote_batches (
    id             BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    batch          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    provider       VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    remote_id      VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL,
    input_file     VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL,
    status         VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    output_file    VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL,
    error_file     VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL,
    total          INT UNSIGNED     NOT NULL DEFAULT 0,
    completed      INT UNSIGNED     NOT NULL DEFAULT 0,
    failed         INT UNSIGNED     NOT NULL DEFAULT 0,
    error          TEXT             NULL,
    created_at     DOUBLE           NOT NULL,
    updated_at     DOUBLE           NOT NULL,
    collected_at   DOUBLE           NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_remote_batches_batch (batch),
    UNIQUE KEY uq_remote_batches_remote (remote_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
