-- Memory no longer holds every image row. Browsing reads its pages from the catalog, newest first,
-- filtered by folder, date and format, and the first filtered search reads those three of every
-- image into memory. This index holds exactly them in browsing order (date, then id: with the id
-- named, ties need no sort), so a page reads the index from its cursor to its last entry, never
-- the rows with their embeddings, whatever its filters. It takes the date index's place.
CREATE INDEX images_browse ON images(taken_at, id, folder_id, format);
DROP INDEX images_taken_at;
