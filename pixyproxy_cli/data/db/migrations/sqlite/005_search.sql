-- pixyproxy schema version 5 (SQLite). Mirrors ../mysql/005_search.sql.
-- A full-text index of prompts (FTS5, an external-content table over images), for
-- `list --search` and `GET /image?q=`. Triggers keep it in step with images inside the same
-- transaction as every write. Tokens are runs of letters, digits and underscores, folded to
-- lower case without diacritics, as InnoDB's FULLTEXT parser splits them. The rebuild
-- indexes the rows already stored.

CREATE VIRTUAL TABLE IF NOT EXISTS images_fts USING fts5(
    prompt,
    content='images',
    content_rowid='id',
    tokenize="unicode61 remove_diacritics 2 tokenchars '_'"
);

INSERT INTO images_fts (images_fts) VALUES ('rebuild');

CREATE TRIGGER IF NOT EXISTS images_fts_insert AFTER INSERT ON images BEGIN
    INSERT INTO images_fts (rowid, prompt) VALUES (new.id, new.prompt);
END;

CREATE TRIGGER IF NOT EXISTS images_fts_delete AFTER DELETE ON images BEGIN
    INSERT INTO images_fts (images_fts, rowid, prompt) VALUES ('delete', old.id, old.prompt);
END;

CREATE TRIGGER IF NOT EXISTS images_fts_update AFTER UPDATE OF prompt ON images BEGIN
    INSERT INTO images_fts (images_fts, rowid, prompt) VALUES ('delete', old.id, old.prompt);
    INSERT INTO images_fts (rowid, prompt) VALUES (new.id, new.prompt);
END;
