-- pixyproxy schema version 9 (SQLite). Mirrors ../mysql/009_username_case.sql.
-- User names are unique regardless of case: name_key holds the folded name (lower case;
-- names are ASCII) under a unique index. Where earlier versions let names that differ only
-- in case both in (bob and BOB), the oldest keeps the key and the others keep NULL, which
-- the index allows: nobody is locked out, no new clash can be made, and `pixyproxy doctor`
-- names the clashing users so that an admin can remove the extra ones.

ALTER TABLE roster ADD COLUMN name_key TEXT NULL;

UPDATE roster SET name_key = lower(username)
WHERE id = (SELECT MIN(other.id) FROM roster AS other
            WHERE lower(other.username) = lower(roster.username));

CREATE UNIQUE INDEX IF NOT EXISTS uq_roster_name_key ON roster (name_key);
