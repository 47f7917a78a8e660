-- pixyproxy schema version 11 (MySQL / MariaDB). Mirrors ../sqlite/011_limit_slots.sql.
-- A limit's count spread over slots: each slot holds at most its share of the limit, and a
-- request takes room in one slot. Writers then collide only when they pick the same slot,
-- which on a multi-primary cluster is what a certification conflict costs; the limit stays
-- exact, since no slot ever holds more than its share. Counters are short-lived: the
-- upgrade starts every window afresh.

DROP TABLE IF EXISTS rate_limits;

CREATE TABLE IF NOT EXISTS rate_limits (
    bucket        VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    slot          SMALLINT UNSIGNED  NOT NULL,
    window_start  DOUBLE        NOT NULL,
    hits          INT UNSIGNED  NOT NULL,
    PRIMARY KEY (bucket, slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
