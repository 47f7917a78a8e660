-- pixyproxy schema version 5 (MySQL / MariaDB). Mirrors ../sqlite/005_search.sql.
-- A full-text index of prompts, for `list --search` and `GET /image?q=`. InnoDB keeps a
-- FULLTEXT index in step with the table as part of every transaction that writes it (its
-- changes become visible at commit, with the rows'). Building it for existing rows rebuilds
-- the table once.

ALTER TABLE images ADD FULLTEXT INDEX IF NOT EXISTS ft_images_prompt (prompt);
