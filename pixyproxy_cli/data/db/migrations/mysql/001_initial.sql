-- pixyproxy schema version 1 (MySQL / MariaDB).
-- Timestamps are UTC, written by pixyproxy (not by the server's clock or time zone).

CREATE TABLE IF NOT EXISTS schema_version (
    version     INT          NOT NULL,
    applied_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS roster (
    id             BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    username       VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    password_hash  VARCHAR(255)     NOT NULL,
    class_key      VARCHAR(64)      NOT NULL,
    created_at     DATETIME(6)      NOT NULL,
    updated_at     DATETIME(6)      NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_roster_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS images (
    id          BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
    guid        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    filename    VARCHAR(255)     NOT NULL,
    prompt      MEDIUMTEXT       NOT NULL,
    owner       VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
    is_private  TINYINT(1)       NOT NULL DEFAULT 0,
    provider    VARCHAR(32)      NOT NULL,
    model       VARCHAR(64)      NOT NULL,
    media_type  VARCHAR(64)      NOT NULL,
    created_at  DATETIME(6)      NOT NULL,
    updated_at  DATETIME(6)      NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_images_guid (guid),
    UNIQUE KEY uq_images_filename (filename),
    KEY ix_images_owner (owner, id),
    CONSTRAINT fk_images_owner FOREIGN KEY (owner) REFERENCES roster (username)
        ON UPDATE RESTRICT ON DELETE RESTRICT,
    CONSTRAINT ck_images_private_has_owner CHECK (is_private = 0 OR owner IS NOT NULL)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
