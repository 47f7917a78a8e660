-- pixyproxy schema version 2 (MySQL / MariaDB).
-- The REST API's limits (failed logins, images per window), shared by every worker and
-- every server on this database. bucket is the limit's kind and a SHA-256 of its key
-- (user name, client address): no caller-supplied text is stored. window_start is Unix
-- time in seconds, from the clock of the server process that opened the window.

CREATE TABLE IF NOT EXISTS rate_limits (
    bucket        VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    window_start  DOUBLE        NOT NULL,
    hits          INT UNSIGNED  NOT NULL,
    PRIMARY KEY (bucket)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
