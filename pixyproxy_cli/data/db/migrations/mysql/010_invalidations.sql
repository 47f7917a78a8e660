-- pixyproxy schema version 10 (MySQL / MariaDB). Mirrors ../sqlite/010_invalidations.sql.
-- What every replica must forget: a revoked token, a deleted image. Written in the same
-- transaction as the revoke or the delete; each serve worker reads the recent rows a few
-- times a second and drops what they name from its caches. Inserts only (no row is ever
-- updated), so writers on several nodes of a cluster never conflict; old rows are purged.

CREATE TABLE IF NOT EXISTS invalidations (
    id       BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    kind     VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    subject  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    at       DOUBLE           NOT NULL,
    PRIMARY KEY (id),
    KEY ix_invalidations_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
