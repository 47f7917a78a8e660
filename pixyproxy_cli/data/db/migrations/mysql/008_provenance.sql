-- pixyproxy schema version 8 (MySQL / MariaDB).
-- The API's content provenance checks of stored images (`pixyproxy provenance GUID`), one
-- row per check, newest last: when, the verdict (detected when any signal was found), and
-- the signals as the API gave them (a JSON array). A check goes with its image.

CREATE TABLE IF NOT EXISTS provenance_checks (
    id          BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    image_id    BIGINT UNSIGNED  NOT NULL,
    checked_at  DATETIME(6)      NOT NULL,
    verdict     VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    signals     TEXT             NOT NULL,
    PRIMARY KEY (id),
    KEY ix_provenance_checks_image (image_id, id),
    CONSTRAINT fk_provenance_checks_image FOREIGN KEY (image_id) REFERENCES images (id)
        ON UPDATE RESTRICT ON DELETE CASCADE,
    CONSTRAINT ck_provenance_checks_verdict CHECK (verdict IN ('detected', 'not_detected'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
