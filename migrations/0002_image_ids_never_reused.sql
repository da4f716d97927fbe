-- Image ids are never given twice: an id names one content for the life of the library (the app
-- caches thumbnails by id, and what memory holds is updated by id). SQLite reuses the largest
-- rowid after it is deleted, so the catalog hands out ids from this counter instead.
INSERT INTO meta (key, value)
    SELECT 'last_image_id', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM images
    WHERE true
    ON CONFLICT(key) DO NOTHING;
