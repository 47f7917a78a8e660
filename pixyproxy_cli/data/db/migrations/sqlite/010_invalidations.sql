-- pixyproxy schema version 10 (SQLite). Mirrors ../mysql/010_invalidations.sql.
-- What every serve worker must forget (a revoked token, a deleted image): inserts only,
-- read for the last seconds a few times a second, purged when old.

CREATE TABLE IF NOT EXISTS invalidations (
    id       INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    kind     TEXT     NOT NULL,
    subject  TEXT     NOT NULL,
    at       REAL     NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_invalidations_at ON invalidations (at);
