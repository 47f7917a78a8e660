-- pixyproxy schema version 11 (SQLite). Mirrors ../mysql/011_limit_slots.sql.
-- A limit's count spread over slots, each holding at most its share of the limit.
-- Counters are short-lived: the upgrade starts every window afresh.

DROP TABLE IF EXISTS rate_limits;

CREATE TABLE IF NOT EXISTS rate_limits (
    bucket        TEXT     NOT NULL CHECK (length(bucket) BETWEEN 1 AND 80),
    slot          INTEGER  NOT NULL CHECK (slot >= 0),
    window_start  REAL     NOT NULL,
    hits          INTEGER  NOT NULL CHECK (hits >= 0),
    PRIMARY KEY (bucket, slot)
);
