-- pixyproxy schema version 7 (SQLite). Mirrors ../mysql/007_token_kinds.sql.
-- The kinds of an image's tokens, as the API details them: of the input, the prompt's text
-- and an edit's source images; of the output, image and text. Each image holds its share
-- of its request's, as for the totals. NULL: not reported (the offline placeholder, a
-- streamed image's output, images made before this version); the totals still count them.

ALTER TABLE images ADD COLUMN input_text_tokens INTEGER NULL CHECK (input_text_tokens >= 0);
ALTER TABLE images ADD COLUMN input_image_tokens INTEGER NULL CHECK (input_image_tokens >= 0);
ALTER TABLE images ADD COLUMN output_text_tokens INTEGER NULL CHECK (output_text_tokens >= 0);
ALTER TABLE images ADD COLUMN output_image_tokens INTEGER NULL CHECK (output_image_tokens >= 0);
