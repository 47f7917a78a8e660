-- pixyproxy schema version 13 (MySQL / MariaDB). Mirrors ../sqlite/013_remote_batches.sql.
-- Batches sent to the provider's Batch API: half the price, done within a day. Their jobs
-- are marked `remote`, so no live worker claims them; `jobs collect` stores each job's
-- images from the batch's output file, in the transaction that ends the job (exactly once).

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS remote TINYINT(1) NOT NULL DEFAULT 0;

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
