-- pixyproxy schema version 14 (SQLite). Mirrors ../mysql/014_job_partials.sql.
-- A running job's partial images (a streamed request's), for its event stream on any
-- replica: how many have arrived, and the latest one, dropped when the job ends.

ALTER TABLE jobs ADD COLUMN partials INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN partial_image BLOB NULL;
