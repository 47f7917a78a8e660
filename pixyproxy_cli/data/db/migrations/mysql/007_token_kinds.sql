-- pixyproxy schema version 7 (MySQL / MariaDB).
-- The kinds of an image's tokens, as the API details them: of the input, the prompt's text
-- and an edit's source images; of the output, image and text. Each image holds its share
-- of its request's, as for the totals. NULL: not reported (the offline placeholder, a
-- streamed image's output, images made before this version); the totals still count them.

ALTER TABLE images
    ADD COLUMN IF NOT EXISTS input_text_tokens INT UNSIGNED NULL,
    ADD COLUMN IF NOT EXISTS input_image_tokens INT UNSIGNED NULL,
    ADD COLUMN IF NOT EXISTS output_text_tokens INT UNSIGNED NULL,
    ADD COLUMN IF NOT EXISTS output_image_tokens INT UNSIGNED NULL;
