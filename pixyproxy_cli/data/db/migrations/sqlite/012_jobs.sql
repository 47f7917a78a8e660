-- pixyproxy schema version 12 (SQLite). Mirrors ../mysql/012_jobs.sql.
-- Jobs: requests to make images, queued in the database; claimed by a guarded UPDATE inside
-- one write transaction, stored with their images in one transaction.

CREATE TABLE IF NOT EXISTS jobs (
    id            INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    guid          TEXT     NOT NULL UNIQUE,
    batch         TEXT     NOT NULL,
    line          INTEGER  NOT NULL,
    owner         TEXT     NULL,
    is_private    INTEGER  NOT NULL DEFAULT 0,
    request       TEXT     NOT NULL,
    state         TEXT     NOT NULL
        CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    attempts      INTEGER  NOT NULL DEFAULT 0,
    sent          INTEGER  NOT NULL DEFAULT 0,
    not_before    REAL     NOT NULL,
    lease_until   REAL     NULL,
    worker        TEXT     NULL,
    error         TEXT     NULL,
    images        TEXT     NULL,
    created_at    REAL     NOT NULL,
    updated_at    REAL     NOT NULL,
    finished_at   REAL     NULL
);

CREATE INDEX IF NOT EXISTS ix_jobs_queue ON jobs (state, not_before, id);
CREATE INDEX IF NOT EXISTS ix_jobs_batch ON jobs (batch, line);
CREATE INDEX IF NOT EXISTS ix_jobs_owner ON jobs (owner, id);
