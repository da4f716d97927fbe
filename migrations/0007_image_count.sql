-- Opening a library checks its saved vector index against the number of images, and the status
-- the app shows counts the distinct contents whose words are to be read: at 1M photos those counts
-- scanned whole indexes (~120 ms and ~600 ms), holding the connection searches read through. Both
-- are kept here instead, by triggers, in the same transaction as the rows they count (a folder's
-- cascaded removal fires them too).
INSERT INTO meta (key, value)
    SELECT 'image_count', CAST(COUNT(*) AS TEXT) FROM images
    WHERE true
    ON CONFLICT(key) DO UPDATE SET value = excluded.value;
INSERT INTO meta (key, value)
    SELECT 'content_count', CAST(COUNT(DISTINCT hash) AS TEXT) FROM images
    WHERE true
    ON CONFLICT(key) DO UPDATE SET value = excluded.value;
CREATE TRIGGER images_count_insert AFTER INSERT ON images BEGIN
    UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'image_count';
    UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'content_count'
        AND NOT EXISTS (SELECT 1 FROM images WHERE hash = NEW.hash AND id != NEW.id);
END;
CREATE TRIGGER images_count_delete AFTER DELETE ON images BEGIN
    UPDATE meta SET value = CAST(CAST(value AS INTEGER) - 1 AS TEXT) WHERE key = 'image_count';
    UPDATE meta SET value = CAST(CAST(value AS INTEGER) - 1 AS TEXT) WHERE key = 'content_count'
        AND NOT EXISTS (SELECT 1 FROM images WHERE hash = OLD.hash);
END;
-- A content's hash never changes in place (a changed file is a new row), so no UPDATE trigger.
