-- pixyproxy schema version 13 (SQLite). Mirrors ../mysql/013_remote_batches.sql.
-- Batches sent to the provider's Batch API: half the price, done within a day. Their jobs
-- are marked `remote`, so no live worker claims them; `jobs collect` stores each job's
-- images from the batch's output file, in the transaction that ends the job (exactly once).

ALTER TABLE jobs ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS remote_batches (
    id             INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    batch          TEXT     NOT NULL UNIQUE,   -- the jobs' batch GUID
    provider       TEXT     NOT NULL,
    remote_id      TEXT     NULL UNIQUE,       -- the provider's batch id, once it has one
    input_file     TEXT     NULL,
    status         TEXT     NOT NULL,          -- the provider's word for it, or 'sending'
    output_file    TEXT     NULL,
    error_file     TEXT     NULL,
    total          INTEGER  NOT NULL DEFAULT 0,
    completed      INTEGER  NOT NULL DEFAULT 0,
    failed         INTEGER  NOT NULL DEFAULT 0,
    error          TEXT     NULL,
    created_at     REAL     NOT NULL,
    updated_at     REAL     NOT NULL,
    collected_at   REAL     NULL
);
