-- ClipStream catalog, version 1. Append-only: later changes go in 0002_*.sql, never here.
-- Paths are stored as the operating system's raw bytes (BLOB), so non-UTF-8 names survive.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE folders (
    id       INTEGER PRIMARY KEY,
    path     BLOB NOT NULL UNIQUE,
    added_at INTEGER NOT NULL            -- unix seconds
) STRICT;

CREATE TABLE images (
    id         INTEGER PRIMARY KEY,      -- also the key in the vector index
    folder_id  INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    path       BLOB NOT NULL UNIQUE,
    size       INTEGER NOT NULL,         -- bytes
    mtime_ns   INTEGER NOT NULL,
    hash       BLOB NOT NULL,            -- BLAKE3 of the file's bytes
    format     TEXT NOT NULL,            -- jpeg, png, webp, gif, bmp, tiff
    width      INTEGER NOT NULL,         -- upright (EXIF orientation applied)
    height     INTEGER NOT NULL,
    taken_at   INTEGER,                  -- EXIF DateTimeOriginal as unix seconds (camera local time), if any
    model_id   TEXT NOT NULL,
    embedding  BLOB NOT NULL,            -- L2-normalised little-endian f32 × embedding_dim
    indexed_at INTEGER NOT NULL
) STRICT;

CREATE INDEX images_hash ON images(hash);
CREATE INDEX images_folder ON images(folder_id);
CREATE INDEX images_taken_at ON images(taken_at);

-- Files that could not be indexed, with why; retried only when their size or mtime changes.
CREATE TABLE skipped (
    path      BLOB PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    at        INTEGER NOT NULL
) STRICT;
