-- pixyproxy schema version 9 (MySQL / MariaDB).
-- User names are unique regardless of case: name_key holds the folded name (lower case;
-- names are ASCII) under a unique key. Where earlier versions let names that differ only
-- in case both in (bob and BOB), the oldest keeps the key and the others keep NULL, which
-- a unique key allows: nobody is locked out, no new clash can be made, and
-- `pixyproxy doctor` names the clashing users so that an admin can remove the extra ones.
-- Each statement can run again (DDL commits on its own here).

ALTER TABLE roster
    ADD COLUMN IF NOT EXISTS name_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL;

UPDATE roster AS r
    JOIN (SELECT MIN(id) AS id FROM roster GROUP BY LOWER(username)) AS oldest ON oldest.id = r.id
    SET r.name_key = LOWER(r.username)
    WHERE r.name_key IS NULL;

ALTER TABLE roster ADD UNIQUE KEY IF NOT EXISTS uq_roster_name_key (name_key);
