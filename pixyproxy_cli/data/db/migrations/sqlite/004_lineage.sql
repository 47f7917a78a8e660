-- pixyproxy schema version 4 (SQLite). Mirrors ../mysql/004_lineage.sql.
-- An image's pixel size, read from its bytes when it is stored (NULL for images made
-- before this version), and its lineage: for an edit, the JSON array of the sources it was
-- made from, in order, each a GUID or null for a local file (NULL: not an edit). Parents
-- are a record of what was used, not references: a parent may be deleted later.

ALTER TABLE images ADD COLUMN width INTEGER NULL CHECK (width > 0);
ALTER TABLE images ADD COLUMN height INTEGER NULL CHECK (height > 0);
ALTER TABLE images ADD COLUMN parents TEXT NULL CHECK (length(parents) <= 1024);
