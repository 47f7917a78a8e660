-- pixyproxy schema version 3 (SQLite). Mirrors ../mysql/003_usage.sql.
-- The tokens the provider reported for each image (NULL: not reported, as for the offline
-- placeholder or images made before this version). A request for n images reports one
-- total, shared among its images (the remainder on the first).

ALTER TABLE images ADD COLUMN input_tokens INTEGER NULL CHECK (input_tokens >= 0);
ALTER TABLE images ADD COLUMN output_tokens INTEGER NULL CHECK (output_tokens >= 0);
