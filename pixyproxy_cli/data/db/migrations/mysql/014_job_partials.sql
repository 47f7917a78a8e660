-- pixyproxy schema version 14 (MySQL / MariaDB). Mirrors ../sqlite/014_job_partials.sql.
-- A running job's partial images (a streamed request's), for its event stream on any
-- replica: how many have arrived, and the latest one, dropped when the job ends.

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS partials INT UNSIGNED NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS partial_image MEDIUMBLOB NULL;
