-- pixyproxy schema version 12 (MySQL / MariaDB). Mirrors ../sqlite/012_jobs.sql.
-- Jobs: requests to make images, queued in the database so that any worker of any replica
-- may run them. A worker claims a job by a guarded UPDATE (state and lease in its WHERE,
-- the candidates read FOR UPDATE SKIP LOCKED), holds it for a lease, and stores the images
-- and the job's end in one transaction: a job's images are stored at most once. `sent`
-- counts the times it went to the provider without its images being stored: a job sent
-- before may have been billed, and is not sent again without saying so.

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
    PRIMARY KEY (id),
    UNIQUE KEY uq_jobs_guid (guid),
    KEY ix_jobs_queue (state, not_before, id),
    KEY ix_jobs_batch (batch, line),
    KEY ix_jobs_owner (owner, id),
    CONSTRAINT ck_jobs_state CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
