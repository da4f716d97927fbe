-- Drives that come and go. A folder (or a part of one) that is missing, not mounted or unreadable
-- is offline: its catalogued photos stay, searchable, until a clean walk says they are gone.

-- Where each folder's files were found: the device (st_dev) of the folder and of every mount
-- point inside it, as its last clean walk saw them. A folder now on another device where none of
-- its photos can be found is a drive that is not mounted (its empty mount point is on the parent).
CREATE TABLE volumes (
    path      BLOB PRIMARY KEY,          -- a library folder, or a mount point inside one
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    device    INTEGER NOT NULL
) STRICT;

-- The parts of library folders the last run could not walk (the folder itself, or a folder or
-- file inside it), with why and since when; replaced, per folder, by each run that walks it.
CREATE TABLE offline (
    path      BLOB PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    reason    TEXT NOT NULL,
    since     INTEGER NOT NULL           -- unix seconds
) STRICT;
