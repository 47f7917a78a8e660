-- pixyproxy schema version 4 (MySQL / MariaDB).
-- An image's pixel size, read from its bytes when it is stored (NULL for images made
-- before this version), and its lineage: for an edit, the JSON array of the sources it was
-- made from, in order, each a GUID or null for a local file (NULL: not an edit). Parents
-- are a record of what was used, not references: a parent may be deleted later.

ALTER TABLE images
    ADD COLUMN IF NOT EXISTS width INT UNSIGNED NULL,
    ADD COLUMN IF NOT EXISTS height INT UNSIGNED NULL,
    ADD COLUMN IF NOT EXISTS parents VARCHAR(1024) CHARACTER SET ascii COLLATE ascii_bin NULL;
