//! The catalog: a SQLite database (WAL) that is the source of truth for folders, images, their
//! embeddings, skipped files, and the model the library was built with.
//!
//! Schema steps live in `migrations/NNNN_*.sql`; they are applied in order, each in its own
//! transaction, and recorded in `schema_migrations`. Every write that changes the set of
//! embeddings bumps `meta.generation`, which the vector index file is stamped with.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::{Error, Result};

/// `(version, name, sql)`, in order. Append-only.
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "0001_init",
    include_str!("../../migrations/0001_init.sql"),
)];

pub const DATABASE: &str = "catalog.sqlite";

pub(crate) fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

pub(crate) fn bytes_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(crate) fn embedding_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn embedding_from(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Serialise a path as text (invalid UTF-8 replaced by U+FFFD): JSON has no other way.
pub(crate) fn lossy_path<S: serde::Serializer>(
    path: &Path,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

/// A database error, told apart when the disk is full: the user can do something about that.
fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        return Error::DiskFull {
            path: path.parent().unwrap_or(path).to_path_buf(),
            reason: e.to_string(),
        };
    }
    Error::Catalog {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// A folder the user added.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Folder {
    pub id: i64,
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
}

/// What the catalog knows of a file on disk, to decide whether to read it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i64,
}

/// An image's catalog row, without its embedding.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImageRow {
    pub id: i64,
    pub folder_id: i64,
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub size: u64,
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub taken_at: Option<i64>,
}

/// A new image to store.
#[derive(Debug, Clone)]
pub struct NewImage {
    pub folder_id: i64,
    pub path: PathBuf,
    pub stamp: Stamp,
    pub hash: [u8; 32],
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub taken_at: Option<i64>,
    pub embedding: Vec<f32>,
}

/// A skipped file and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub reason: String,
}

/// One connection to the catalog.
pub struct Catalog {
    conn: Connection,
    path: PathBuf,
}

impl Catalog {
    /// Open (creating if needed) the catalog at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let fail = |e: rusqlite::Error| db_error(path, e);
        let conn = Connection::open(path).map_err(fail)?;
        // Another process (the app, the CLI) may hold the write lock for one batch: wait for it.
        conn.busy_timeout(Duration::from_secs(30)).map_err(fail)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        // Keep the -wal and -shm files when the last connection closes: opening a library whose
        // disk has filled up since must not need new space (the -shm file is 32 KB), so that
        // searching still works and indexing can say the disk is full.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(fail)?;
        let mut catalog = Catalog {
            conn,
            path: path.to_path_buf(),
        };
        catalog.migrate()?;
        Ok(catalog)
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, e)
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| db_error(&path, e);
        self.conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
            )
            .map_err(fail)?;
        let applied: i64 = self
            .conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(fail)?;
        let newest = MIGRATIONS.last().map_or(0, |m| m.0);
        if applied > newest {
            return Err(Error::Catalog {
                path,
                reason: format!(
                    "schema version {applied} is newer than this build knows ({newest}); update ClipStream"
                ),
            });
        }
        for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > applied) {
            let tx = self.conn.transaction().map_err(fail)?;
            tx.execute_batch(sql).map_err(fail)?;
            tx.execute(
                "INSERT INTO schema_migrations VALUES (?1, ?2, ?3)",
                params![version, name, now()],
            )
            .map_err(fail)?;
            tx.commit().map_err(fail)?;
        }
        Ok(())
    }

    /// The schema steps applied, oldest first.
    pub fn migrations(&self) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO meta VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                [key, value],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Changes whenever the set of embeddings changes; the vector index is stamped with it.
    pub fn generation(&self) -> Result<i64> {
        Ok(self
            .meta("generation")?
            .and_then(|g| g.parse().ok())
            .unwrap_or(0))
    }

    pub fn folders(&self) -> Result<Vec<Folder>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, path FROM folders ORDER BY path")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Folder {
                    id: r.get(0)?,
                    path: bytes_path(&r.get::<_, Vec<u8>>(1)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Remember `path` (absolute) as a folder to index; returns its id.
    pub fn add_folder(&self, path: &Path) -> Result<i64> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO folders (path, added_at) VALUES (?1, ?2)",
                params![path_bytes(path), now()],
            )
            .map_err(|e| self.err(e))?;
        self.conn
            .query_row(
                "SELECT id FROM folders WHERE path = ?1",
                [path_bytes(path)],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Forget a folder with its images and skipped files. Returns how many images went.
    pub fn remove_folder(&self, id: i64) -> Result<usize> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let n = tx
            .execute("DELETE FROM images WHERE folder_id = ?1", [id])
            .map_err(|e| self.err(e))?;
        tx.execute("DELETE FROM folders WHERE id = ?1", [id])
            .map_err(|e| self.err(e))?;
        bump_generation(&tx).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(n)
    }

    /// Path → (id, stamp) of every image under a folder.
    pub fn images_of(&self, folder_id: i64) -> Result<HashMap<PathBuf, (i64, Stamp)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, id, size, mtime_ns FROM images WHERE folder_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([folder_id], |r| {
                let stamp = Stamp {
                    size: r.get::<_, i64>(2)? as u64,
                    mtime_ns: r.get(3)?,
                };
                Ok((bytes_path(&r.get::<_, Vec<u8>>(0)?), (r.get(1)?, stamp)))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Path → stamp of every skipped file under a folder.
    pub fn skipped_of(&self, folder_id: i64) -> Result<HashMap<PathBuf, Stamp>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, size, mtime_ns FROM skipped WHERE folder_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([folder_id], |r| {
                let stamp = Stamp {
                    size: r.get::<_, i64>(1)? as u64,
                    mtime_ns: r.get(2)?,
                };
                Ok((bytes_path(&r.get::<_, Vec<u8>>(0)?), stamp))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Content hash → image id, for every image (to recognise moved and copied files).
    pub fn hashes(&self) -> Result<HashMap<[u8; 32], i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT hash, id FROM images")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let h: Vec<u8> = r.get(0)?;
                Ok((h.try_into().unwrap_or([0; 32]), r.get(1)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    pub fn hash_of(&self, id: i64) -> Result<Option<[u8; 32]>> {
        self.conn
            .query_row("SELECT hash FROM images WHERE id = ?1", [id], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()
            .map(|h| h.and_then(|h| h.try_into().ok()))
            .map_err(|e| self.err(e))
    }

    pub fn embedding(&self, id: i64) -> Result<Option<Vec<f32>>> {
        self.conn
            .query_row("SELECT embedding FROM images WHERE id = ?1", [id], |r| {
                Ok(embedding_from(&r.get::<_, Vec<u8>>(0)?))
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every (id, embedding), for rebuilding the vector index.
    pub fn for_each_embedding(&self, mut f: impl FnMut(i64, Vec<f32>)) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, embedding FROM images")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let id: i64 = r.get(0).map_err(|e| self.err(e))?;
            let blob: Vec<u8> = r.get(1).map_err(|e| self.err(e))?;
            f(id, embedding_from(&blob));
        }
        Ok(())
    }

    pub fn image(&self, id: i64) -> Result<Option<ImageRow>> {
        self.conn
            .query_row(
                "SELECT id, folder_id, path, size, format, width, height, taken_at FROM images WHERE id = ?1",
                [id],
                image_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn image_by_path(&self, path: &Path) -> Result<Option<ImageRow>> {
        self.conn
            .query_row(
                "SELECT id, folder_id, path, size, format, width, height, taken_at FROM images WHERE path = ?1",
                [path_bytes(path)],
                image_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every image row (for filters); the library keeps these in memory.
    pub fn all_images(&self) -> Result<Vec<ImageRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, folder_id, path, size, format, width, height, taken_at FROM images",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], image_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    pub fn count_images(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM images", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    pub fn skipped(&self) -> Result<Vec<Skipped>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, reason FROM skipped ORDER BY path")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Skipped {
                    path: bytes_path(&r.get::<_, Vec<u8>>(0)?),
                    reason: r.get(1)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Forget every embedding and record `model_id`/`dim` as the library's model (re-indexing).
    pub fn reset_embeddings(&self, model_id: &str, dim: usize) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute_batch("DELETE FROM images; DELETE FROM skipped;")
            .map_err(|e| self.err(e))?;
        for (k, v) in [
            ("model_id", model_id.to_string()),
            ("embedding_dim", dim.to_string()),
        ] {
            tx.execute(
                "INSERT INTO meta VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                [k, &v],
            )
            .map_err(|e| self.err(e))?;
        }
        bump_generation(&tx).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Apply one batch of indexing results atomically: a crash loses at most this batch.
    /// Returns the ids given to `batch.insert`, in order.
    pub fn apply(&mut self, batch: &Batch) -> Result<Vec<i64>> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| db_error(&path, e);
        let tx = self.conn.transaction().map_err(fail)?;
        let added = write_batch(&tx, batch).map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(added)
    }
}

/// What one indexing batch changes.
#[derive(Debug, Default)]
pub struct Batch {
    pub insert: Vec<NewImage>,
    /// (image id, new folder, new path, new stamp): a file moved or renamed, content unchanged.
    pub moves: Vec<(i64, i64, PathBuf, Stamp)>,
    /// (image id, new stamp): touched but the same bytes.
    pub touch: Vec<(i64, Stamp)>,
    pub delete_images: Vec<i64>,
    pub skip: Vec<(i64, PathBuf, Stamp, String)>,
    pub unskip: Vec<PathBuf>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.insert.is_empty()
            && self.moves.is_empty()
            && self.touch.is_empty()
            && self.delete_images.is_empty()
            && self.skip.is_empty()
            && self.unskip.is_empty()
    }
}

fn write_batch(tx: &Transaction<'_>, batch: &Batch) -> rusqlite::Result<Vec<i64>> {
    for id in &batch.delete_images {
        tx.execute("DELETE FROM images WHERE id = ?1", [id])?;
    }
    for p in &batch.unskip {
        tx.execute("DELETE FROM skipped WHERE path = ?1", [path_bytes(p)])?;
    }
    for (id, folder, path, stamp) in &batch.moves {
        tx.execute(
            "UPDATE images SET folder_id = ?2, path = ?3, size = ?4, mtime_ns = ?5 WHERE id = ?1",
            params![
                id,
                folder,
                path_bytes(path),
                stamp.size as i64,
                stamp.mtime_ns
            ],
        )?;
    }
    for (id, stamp) in &batch.touch {
        tx.execute(
            "UPDATE images SET size = ?2, mtime_ns = ?3 WHERE id = ?1",
            params![id, stamp.size as i64, stamp.mtime_ns],
        )?;
    }
    let model_id: String = tx.query_row(
        "SELECT COALESCE((SELECT value FROM meta WHERE key = 'model_id'), '')",
        [],
        |r| r.get(0),
    )?;
    let mut added = Vec::with_capacity(batch.insert.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO images (folder_id, path, size, mtime_ns, hash, format, width, height, taken_at,
                                 model_id, embedding, indexed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        for img in &batch.insert {
            insert.execute(params![
                img.folder_id,
                path_bytes(&img.path),
                img.stamp.size as i64,
                img.stamp.mtime_ns,
                &img.hash[..],
                img.format,
                img.width,
                img.height,
                img.taken_at,
                model_id,
                embedding_bytes(&img.embedding),
                now()
            ])?;
            added.push(tx.last_insert_rowid());
        }
    }
    for (folder, path, stamp, reason) in &batch.skip {
        tx.execute(
            "INSERT INTO skipped (path, folder_id, size, mtime_ns, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(path) DO UPDATE SET folder_id = ?2, size = ?3, mtime_ns = ?4, reason = ?5, at = ?6",
            params![path_bytes(path), folder, stamp.size as i64, stamp.mtime_ns, reason, now()],
        )?;
    }
    if !batch.insert.is_empty() || !batch.delete_images.is_empty() {
        bump_generation(tx)?;
    }
    Ok(added)
}

fn bump_generation(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO meta VALUES ('generation', '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
        [],
    )?;
    Ok(())
}

fn image_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImageRow> {
    Ok(ImageRow {
        id: r.get(0)?,
        folder_id: r.get(1)?,
        path: bytes_path(&r.get::<_, Vec<u8>>(2)?),
        size: r.get::<_, i64>(3)? as u64,
        format: r.get(4)?,
        width: r.get(5)?,
        height: r.get(6)?,
        taken_at: r.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_database_and_records_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog = Catalog::open(&dir.path().join(DATABASE)).expect("opens");
        assert_eq!(
            catalog.migrations().expect("reads"),
            vec![(1, "0001_init".to_string())]
        );
        drop(catalog);
        let again = Catalog::open(&dir.path().join(DATABASE)).expect("reopens");
        assert_eq!(again.migrations().expect("reads").len(), 1);
    }

    #[test]
    fn embeddings_round_trip_as_bytes() {
        let v = vec![0.25f32, -1.5, 3.0e-7];
        assert_eq!(embedding_from(&embedding_bytes(&v)), v);
    }

    #[test]
    fn generation_moves_with_embeddings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut catalog = Catalog::open(&dir.path().join(DATABASE)).expect("opens");
        let folder = catalog.add_folder(Path::new("/photos")).expect("adds");
        assert_eq!(catalog.generation().expect("reads"), 0);
        let image = NewImage {
            folder_id: folder,
            path: "/photos/a.jpg".into(),
            stamp: Stamp {
                size: 10,
                mtime_ns: 1,
            },
            hash: [7; 32],
            format: "jpeg".into(),
            width: 4,
            height: 3,
            taken_at: None,
            embedding: vec![1.0, 0.0],
        };
        let added = catalog
            .apply(&Batch {
                insert: vec![image],
                ..Batch::default()
            })
            .expect("applies");
        assert_eq!(added.len(), 1);
        assert_eq!(catalog.generation().expect("reads"), 1);
        assert_eq!(catalog.remove_folder(folder).expect("removes"), 1);
        assert_eq!(catalog.generation().expect("reads"), 2);
        assert_eq!(catalog.count_images().expect("counts"), 0);
    }
}
