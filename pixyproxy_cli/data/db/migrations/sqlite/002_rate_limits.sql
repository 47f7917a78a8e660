-- pixyproxy schema version 2 (SQLite). Mirrors ../mysql/002_rate_limits.sql.
-- The REST API's limits (failed logins, images per window), shared by every worker and
-- every server on this database. bucket is the limit's kind and a SHA-256 of its key
-- (user name, client address): no caller-supplied text is stored.

CREATE TABLE IF NOT EXISTS rate_limits (
    bucket        TEXT     NOT NULL PRIMARY KEY CHECK (length(bucket) BETWEEN 1 AND 80),
    window_start  REAL     NOT NULL,
    hits          INTEGER  NOT NULL CHECK (hits >= 0)
);
