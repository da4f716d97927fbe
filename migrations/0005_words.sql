-- The words in photos (OCR). Kept by content (the BLAKE3 hash, as thumbnails are): a photo moved,
-- renamed or copied keeps its words without being read again, and words go when no catalogued
-- image has those bytes any more.

-- Contents whose words have been read, by which OCR models, and how many lines they hold (0: no
-- text). A content that crashed the reader is recorded with lines = -1 and not read again until
-- it changes (its bytes, so its hash).
CREATE TABLE words_read (
    hash   BLOB PRIMARY KEY,
    reader TEXT NOT NULL,
    lines  INTEGER NOT NULL,
    at     INTEGER NOT NULL              -- unix seconds
) STRICT;

-- One row per line read: its text, its box in the upright image (x0 y0 x1 y1 x2 y2 x3 y3: top
-- left, top right, bottom right, bottom left; fractions of the width and height), and the
-- recogniser's confidence.
CREATE TABLE text_lines (
    id    INTEGER PRIMARY KEY,
    hash  BLOB NOT NULL REFERENCES words_read(hash) ON DELETE CASCADE,
    text  TEXT NOT NULL,
    box   TEXT NOT NULL,
    score REAL NOT NULL
) STRICT;
CREATE INDEX text_lines_hash ON text_lines(hash);

-- Substrings in any script: trigrams of each line (FTS5's trigram tokenizer, case-folded), kept
-- in step with text_lines by its triggers.
CREATE VIRTUAL TABLE text_search USING fts5(
    text, content = 'text_lines', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER text_lines_in AFTER INSERT ON text_lines BEGIN
    INSERT INTO text_search (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER text_lines_out AFTER DELETE ON text_lines BEGIN
    INSERT INTO text_search (text_search, rowid, text) VALUES ('delete', old.id, old.text);
END;
