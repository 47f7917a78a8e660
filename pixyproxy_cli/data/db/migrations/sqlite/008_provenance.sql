-- pixyproxy schema version 8 (SQLite). Mirrors ../mysql/008_provenance.sql.
-- The API's content provenance checks of stored images (`pixyproxy provenance GUID`), one
-- row per check, newest last: when, the verdict (detected when any signal was found), and
-- the signals as the API gave them (a JSON array). A check goes with its image.

CREATE TABLE IF NOT EXISTS provenance_checks (
    id          INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    image_id    INTEGER  NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    checked_at  TEXT     NOT NULL,
    verdict     TEXT     NOT NULL CHECK (verdict IN ('detected', 'not_detected')),
    signals     TEXT     NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_provenance_checks_image ON provenance_checks (image_id, id);
