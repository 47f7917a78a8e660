-- pixyproxy schema version 3 (MySQL / MariaDB).
-- The tokens the provider reported for each image (NULL: not reported, as for the offline
-- placeholder or images made before this version). A request for n images reports one
-- total, shared among its images (the remainder on the first).

ALTER TABLE images
    ADD COLUMN IF NOT EXISTS input_tokens INT UNSIGNED NULL,
    ADD COLUMN IF NOT EXISTS output_tokens INT UNSIGNED NULL;
