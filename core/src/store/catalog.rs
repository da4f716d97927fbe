//! The catalog: a SQLite database (WAL) that is the source of truth for folders, images, their
//! embeddings, skipped files, and the model the library was built with.
//!
//! Schema steps live in `migrations/NNNN_*.sql`; they are applied in order, each in its own
//! transaction, and recorded in `schema_migrations`. Every write that changes the set of
//! embeddings bumps `meta.generation`, which the vector index file is stamped with.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::store::facts::{Filters, PhotoFacts};
use crate::{Error, Result};

/// `(version, name, sql)`, in order. Append-only.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_init",
        include_str!("../../../migrations/0001_init.sql"),
    ),
    (
        2,
        "0002_image_ids_never_reused",
        include_str!("../../../migrations/0002_image_ids_never_reused.sql"),
    ),
    (
        3,
        "0003_rows_without_embeddings",
        include_str!("../../../migrations/0003_rows_without_embeddings.sql"),
    ),
    (
        4,
        "0004_offline_folders",
        include_str!("../../../migrations/0004_offline_folders.sql"),
    ),
    (5, "0005_words", include_str!("../../../migrations/0005_words.sql")),
    (
        6,
        "0006_browse_index",
        include_str!("../../../migrations/0006_browse_index.sql"),
    ),
    (
        7,
        "0007_image_count",
        include_str!("../../../migrations/0007_image_count.sql"),
    ),
];

pub const DATABASE: &str = "catalog.sqlite";

/// The columns of an [`ImageRow`], in the order [`image_row`] reads them (a macro, so statements
/// are whole literals built by `concat!`, never by formatting).
macro_rules! row {
    () => {
        "id, folder_id, path, size, format, width, height, taken_at, hash"
    };
}
const ROW_COLUMNS: usize = 9;

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

/// An embedding blob back to floats; `None` when its length is not a whole number of floats.
pub(crate) fn embedding_from(bytes: &[u8]) -> Option<Vec<f32>> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// A damaged column becomes a conversion error naming it, not zeros (rusqlite wraps it).
fn damaged(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Blob,
        format!("damaged {what}").into(),
    )
}

fn hash_column(r: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<[u8; 32]> {
    r.get::<_, Vec<u8>>(column)?
        .try_into()
        .map_err(|_| damaged(column, "content hash (not 32 bytes)"))
}

fn embedding_column(r: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<Vec<f32>> {
    embedding_from(&r.get::<_, Vec<u8>>(column)?)
        .ok_or_else(|| damaged(column, "embedding (not a whole number of floats)"))
}

/// Serialise a path as text (invalid UTF-8 replaced by U+FFFD): JSON has no other way.
pub(crate) fn lossy_path<S: serde::Serializer>(
    path: &Path,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

pub(crate) fn lossy_option_path<S: serde::Serializer>(
    path: &Option<PathBuf>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match path {
        Some(p) => s.serialize_some(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i64,
}

/// A catalogued file as the walk compares it with the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub id: i64,
    pub folder_id: i64,
    pub stamp: Stamp,
    pub hash: [u8; 32],
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
    /// BLAKE3 of the file's bytes (names the thumbnail; never shown).
    #[serde(skip)]
    pub hash: [u8; 32],
}

/// One content of the relevance cutoff's background ([`Catalog::background_sample`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub hash: [u8; 32],
    /// The content's lowest image id.
    pub id: i64,
    pub embedding: Vec<f32>,
}

impl ImageRow {
    /// What filters read of this image.
    pub fn facts(&self) -> PhotoFacts {
        PhotoFacts {
            id: self.id,
            folder_id: self.folder_id,
            taken_at: self.taken_at,
            format: self.format.clone(),
        }
    }
}

/// Where one part of a browsing page starts ([`Catalog::page`]).
#[derive(Debug, Clone, Copy)]
enum Bound {
    AllDated,
    /// Dated images before this date and id.
    Dated(i64, i64),
    AllUndated,
    /// Undated images before this id.
    Undated(i64),
}

/// The statement of one part of a browsing page (see [`Catalog::page`]) and its values.
fn page_statement(
    filters: &Filters,
    from: Bound,
    limit: usize,
) -> (String, Vec<rusqlite::types::Value>) {
    let mut sql = String::from(concat!(
        "SELECT ",
        row!(),
        " FROM images INDEXED BY images_browse WHERE "
    ));
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    let mut bind = |sql: &mut String, clause: &str, value: rusqlite::types::Value| {
        values.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
    };
    match from {
        Bound::AllDated => sql.push_str("taken_at IS NOT NULL"),
        Bound::Dated(t, id) => {
            bind(&mut sql, "(taken_at, id) < (?, ", t.into());
            bind(&mut sql, "?)", id.into());
        }
        Bound::AllUndated => sql.push_str("taken_at IS NULL"),
        Bound::Undated(id) => bind(&mut sql, "taken_at IS NULL AND id < ?", id.into()),
    }
    if !filters.folder_ids.is_empty() {
        sql.push_str(" AND folder_id IN (");
        for (i, f) in filters.folder_ids.iter().enumerate() {
            bind(&mut sql, if i == 0 { "?" } else { ", ?" }, (*f).into());
        }
        sql.push(')');
    }
    if let Some(from) = filters.taken_from {
        bind(&mut sql, " AND taken_at >= ?", from.into());
    }
    if let Some(until) = filters.taken_until {
        bind(&mut sql, " AND taken_at < ?", until.into());
    }
    if !filters.formats.is_empty() {
        sql.push_str(" AND format COLLATE NOCASE IN (");
        for (i, f) in filters.formats.iter().enumerate() {
            bind(&mut sql, if i == 0 { "?" } else { ", ?" }, f.clone().into());
        }
        sql.push(')');
    }
    bind(
        &mut sql,
        " ORDER BY taken_at DESC, id DESC LIMIT ?",
        i64::try_from(limit).unwrap_or(i64::MAX).into(),
    );
    (sql, values)
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

/// A part of a library folder that the last run could not walk (the folder itself when `path`
/// is the folder's): its catalogued photos are kept and stay searchable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfflinePart {
    pub folder_id: i64,
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub reason: String,
    /// Unix seconds: offline since this run first found it so.
    pub since: i64,
}

/// What a run learned of one folder's state: replaces what the catalog held for it.
#[derive(Debug, Clone, Default)]
pub struct FolderState {
    pub folder_id: i64,
    /// The parts that could not be walked, with why (empty: the whole folder was walked).
    pub offline: Vec<(PathBuf, String)>,
    /// The device of the folder and of each mount point inside it.
    pub volumes: Vec<(PathBuf, u64)>,
}

/// A line of text read in a photo: its box in the upright image (top left, top right, bottom
/// right, bottom left) as fractions of the image's width and height (so it fits the photo at any
/// size it is shown), its text and the recogniser's confidence.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TextLine {
    pub text: String,
    #[serde(rename = "box")]
    pub quad: [(f32, f32); 4],
    pub score: f32,
}

/// A content whose words have not been read, and one catalogued file holding it.
#[derive(Debug, Clone)]
pub struct Unread {
    pub hash: [u8; 32],
    pub id: i64,
    pub path: PathBuf,
}

fn box_text(quad: &[(f32, f32); 4]) -> String {
    quad.iter()
        .flat_map(|&(x, y)| [x, y])
        .map(|v| format!("{v:.4}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn box_from(text: &str) -> [(f32, f32); 4] {
    let v: Vec<f32> = text
        .split(' ')
        .filter_map(|n| n.parse().ok())
        .chain(std::iter::repeat(0.0))
        .take(8)
        .collect();
    [(v[0], v[1]), (v[2], v[3]), (v[4], v[5]), (v[6], v[7])]
}

fn text_line(r: &rusqlite::Row<'_>) -> rusqlite::Result<TextLine> {
    Ok(TextLine {
        text: r.get(0)?,
        quad: box_from(&r.get::<_, String>(1)?),
        score: r.get(2)?,
    })
}

/// Which image rows one write changed, by id: what memory must read again from the catalog.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// New rows (new ids: an id is never given twice).
    pub inserted: Vec<i64>,
    /// Rows whose path, folder or stamp changed; their content and embedding did not.
    pub updated: Vec<i64>,
    pub deleted: Vec<i64>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.inserted.is_empty() && self.updated.is_empty() && self.deleted.is_empty()
    }
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

    /// A transaction that takes the write lock at its start (waiting up to the busy timeout for
    /// another writer), so it never fails half-way when another connection wrote since it read.
    fn write_transaction(&self) -> Result<Transaction<'_>> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))
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
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(fail)?;
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
    #[cfg(any(test, feature = "internals"))]
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

    /// The dimension of the library's embeddings, once a model has been recorded.
    pub fn embedding_dim(&self) -> Result<Option<usize>> {
        Ok(self
            .meta("embedding_dim")?
            .and_then(|d| d.parse::<usize>().ok()))
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

    /// Forget a folder with its images and skipped files. Returns the images that went.
    pub fn remove_folder(&self, id: i64) -> Result<Changes> {
        let tx = self.write_transaction()?;
        let deleted = ids_where(&tx, "SELECT id FROM images WHERE folder_id = ?1", id)
            .map_err(|e| self.err(e))?;
        tx.execute("DELETE FROM images WHERE folder_id = ?1", [id])
            .map_err(|e| self.err(e))?;
        tx.execute("DELETE FROM folders WHERE id = ?1", [id])
            .map_err(|e| self.err(e))?;
        forget_orphan_words(&tx).map_err(|e| self.err(e))?;
        bump_generation(&tx).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(Changes {
            deleted,
            ..Changes::default()
        })
    }

    /// Path → what the catalog knows of it, for every image (a file may move to another library
    /// folder without moving on disk, when a folder inside another is added).
    pub fn known_files(&self) -> Result<HashMap<PathBuf, Known>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, id, folder_id, size, mtime_ns, hash FROM images")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let known = Known {
                    id: r.get(1)?,
                    folder_id: r.get(2)?,
                    stamp: Stamp {
                        size: r.get::<_, i64>(3)? as u64,
                        mtime_ns: r.get(4)?,
                    },
                    hash: hash_column(r, 5)?,
                };
                Ok((bytes_path(&r.get::<_, Vec<u8>>(0)?), known))
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

    /// The content hash of every image (to recognise moved and copied files, and the thumbnails
    /// still in use).
    pub fn hashes(&self) -> Result<HashSet<[u8; 32]>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT hash FROM images")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| hash_column(r, 0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// One catalogued image with these bytes, and its embedding (to catalogue a copy).
    pub fn image_with_hash(&self, hash: &[u8; 32]) -> Result<Option<(ImageRow, Vec<f32>)>> {
        self.conn
            .query_row(
                concat!(
                    "SELECT ",
                    row!(),
                    ", embedding FROM images WHERE hash = ?1 LIMIT 1"
                ),
                [&hash[..]],
                |r| Ok((image_row(r)?, embedding_column(r, ROW_COLUMNS)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn embedding(&self, id: i64) -> Result<Option<Vec<f32>>> {
        self.conn
            .query_row("SELECT embedding FROM images WHERE id = ?1", [id], |r| {
                embedding_column(r, 0)
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
            f(id, embedding_column(r, 1).map_err(|e| self.err(e))?);
        }
        Ok(())
    }

    /// Up to `limit` embeddings of the images with ids above `after`, by id: the vector index is
    /// built from these pages, each its own short read.
    pub fn embeddings_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, Vec<f32>)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, embedding FROM images WHERE id > ?1 ORDER BY id LIMIT ?2")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query(rusqlite::params![after, limit as i64])
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(limit.min(65_536));
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let id: i64 = r.get(0).map_err(|e| self.err(e))?;
            out.push((id, embedding_column(r, 1).map_err(|e| self.err(e))?));
        }
        Ok(out)
    }

    /// The embeddings of the `n` distinct contents with the smallest hashes: a uniform sample
    /// (BLAKE3 is), the same for the same catalog whatever order its images arrived in. Each
    /// content is represented by its lowest id.
    pub fn background_sample(&self, n: usize) -> Result<Vec<Sample>> {
        let mut stmt = self
            .conn
            .prepare("SELECT hash, id, embedding FROM images ORDER BY hash, id")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut out: Vec<Sample> = Vec::with_capacity(n.min(4096));
        while out.len() < n
            && let Some(r) = rows.next().map_err(|e| self.err(e))?
        {
            let hash = hash_column(r, 0).map_err(|e| self.err(e))?;
            if out.last().is_some_and(|s| s.hash == hash) {
                continue;
            }
            out.push(Sample {
                hash,
                id: r.get(1).map_err(|e| self.err(e))?,
                embedding: embedding_column(r, 2).map_err(|e| self.err(e))?,
            });
        }
        Ok(out)
    }

    pub fn image(&self, id: i64) -> Result<Option<ImageRow>> {
        self.conn
            .prepare_cached(concat!("SELECT ", row!(), " FROM images WHERE id = ?1"))
            .and_then(|mut stmt| stmt.query_row([id], image_row).optional())
            .map_err(|e| self.err(e))
    }

    pub fn image_by_path(&self, path: &Path) -> Result<Option<ImageRow>> {
        self.conn
            .query_row(
                concat!("SELECT ", row!(), " FROM images WHERE path = ?1"),
                [path_bytes(path)],
                image_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// What filters need of every image ([`crate::store::facts`]), one at a time (1M of them
    /// collected first held ~50 MB more), read from the index that holds those columns
    /// (`images_browse`), not from the rows with their embeddings.
    pub(crate) fn for_each_fact(&self, mut each: impl FnMut(PhotoFacts)) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, folder_id, taken_at, format FROM images INDEXED BY images_browse")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(PhotoFacts {
                    id: r.get(0)?,
                    folder_id: r.get(1)?,
                    taken_at: r.get(2)?,
                    format: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        for fact in rows {
            each(fact.map_err(|e| self.err(e))?);
        }
        Ok(())
    }

    /// A page of at most `limit` images that `filters` keep, in browsing order (dated newest
    /// first, then undated; ties and undated ones most recently indexed first), after the image
    /// `after` (its date taken and id).
    /// Dated and undated images are read apart, each a range of `images_browse` (which holds the
    /// filtered columns and the id), so a page reads the index from its cursor to its last entry
    /// and then only the rows it returns.
    pub fn page(
        &self,
        filters: &Filters,
        after: Option<(Option<i64>, i64)>,
        limit: usize,
    ) -> Result<Vec<ImageRow>> {
        let mut rows = Vec::new();
        if after.is_none_or(|(taken_at, _)| taken_at.is_some()) {
            let from = match after {
                Some((Some(t), id)) => Bound::Dated(t, id),
                _ => Bound::AllDated,
            };
            rows = self.page_part(filters, from, limit)?;
        }
        if rows.len() < limit {
            let from = match after {
                Some((None, id)) => Bound::Undated(id),
                _ => Bound::AllUndated,
            };
            rows.extend(self.page_part(filters, from, limit - rows.len())?);
        }
        Ok(rows)
    }

    fn page_part(&self, filters: &Filters, from: Bound, limit: usize) -> Result<Vec<ImageRow>> {
        let (sql, values) = page_statement(filters, from, limit);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), image_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Every image row (duplicates, tests); searches keep only [`PhotoFacts`] in memory.
    pub fn all_images(&self) -> Result<Vec<ImageRow>> {
        let mut stmt = self
            .conn
            .prepare(concat!("SELECT ", row!(), " FROM images"))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], image_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// How many images the catalog holds (kept in `meta` by triggers: no scan).
    pub fn count_images(&self) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'image_count'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// The images counted one by one, to check [`Self::count_images`] against.
    pub fn count_image_rows(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM images", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Folder id → how many images it holds.
    pub fn folder_counts(&self) -> Result<HashMap<i64, u64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT folder_id, COUNT(*) FROM images GROUP BY folder_id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
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

    pub fn count_skipped(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM skipped", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Forget every skipped file, so the next run reads each again. Returns how many there were.
    pub fn retry_skipped(&self) -> Result<u64> {
        self.conn
            .execute("DELETE FROM skipped", [])
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Every part of a library folder that is offline, by path.
    pub fn offline_parts(&self) -> Result<Vec<OfflinePart>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT folder_id, path, reason, since FROM offline ORDER BY path")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(OfflinePart {
                    folder_id: r.get(0)?,
                    path: bytes_path(&r.get::<_, Vec<u8>>(1)?),
                    reason: r.get(2)?,
                    since: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// The device of a folder and of the mount points inside it, as its last clean walk saw them.
    pub fn volumes_of(&self, folder_id: i64) -> Result<Vec<(PathBuf, u64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, device FROM volumes WHERE folder_id = ?1 ORDER BY path")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([folder_id], |r| {
                Ok((
                    bytes_path(&r.get::<_, Vec<u8>>(0)?),
                    r.get::<_, i64>(1)? as u64,
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Up to `limit` images after id `after` whose contents have not had their words read, in
    /// id order (what was indexed first is read first; a page costs what it returns, however
    /// large the catalog).
    pub fn words_unread(&self, after: i64, limit: usize) -> Result<Vec<Unread>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, hash, path FROM images
                 WHERE id > ?1
                   AND NOT EXISTS (SELECT 1 FROM words_read WHERE words_read.hash = images.hash)
                 ORDER BY id LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok(Unread {
                    id: r.get(0)?,
                    hash: hash_column(r, 1)?,
                    path: bytes_path(&r.get::<_, Vec<u8>>(2)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// The content hash of image `id`.
    pub fn hash_of(&self, id: i64) -> Result<Option<[u8; 32]>> {
        self.conn
            .query_row("SELECT hash FROM images WHERE id = ?1", [id], |r| hash_column(r, 0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The content hash and id of the image catalogued at `path`.
    pub fn hash_of_path(&self, path: &Path) -> Result<Option<([u8; 32], i64)>> {
        self.conn
            .query_row(
                "SELECT hash, id FROM images WHERE path = ?1",
                [path_bytes(path)],
                |r| Ok((hash_column(r, 0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Forget the words of contents no catalogued image holds (after a re-index that did not
    /// bring them back).
    pub fn forget_orphan_words(&self) -> Result<()> {
        let tx = self.write_transaction()?;
        forget_orphan_words(&tx).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// How many distinct contents have had their words read, and how many are catalogued. Words
    /// are kept only while an image holds their content, so every `words_read` row counts; the
    /// contents are counted in `meta` by triggers.
    pub fn words_progress(&self) -> Result<(u64, u64)> {
        self.conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM words_read),
                        (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'content_count')",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| self.err(e))
    }

    /// [`Self::words_progress`] counted one by one, to check it against.
    pub fn words_progress_counted(&self) -> Result<(u64, u64)> {
        self.conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM words_read WHERE hash IN (SELECT hash FROM images)),
                        (SELECT COUNT(DISTINCT hash) FROM images)",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| self.err(e))
    }

    /// Record what `reader` read in each content (replacing what was there): its lines, or
    /// `None` for a content the reader crashed on (not read again until its bytes change).
    pub fn store_words(&mut self, reader: &str, read: &[([u8; 32], Option<Vec<TextLine>>)]) -> Result<()> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| db_error(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        for (hash, lines) in read {
            // Its image may have left the catalog while it was read: nothing to keep then.
            let held: bool = tx
                .query_row("SELECT EXISTS (SELECT 1 FROM images WHERE hash = ?1)", [&hash[..]], |r| r.get(0))
                .map_err(fail)?;
            if !held {
                continue;
            }
            tx.execute("DELETE FROM words_read WHERE hash = ?1", [&hash[..]])
                .map_err(fail)?;
            let count = lines.as_ref().map_or(-1, |l| l.len() as i64);
            tx.execute(
                "INSERT INTO words_read (hash, reader, lines, at) VALUES (?1, ?2, ?3, ?4)",
                params![&hash[..], reader, count, now()],
            )
            .map_err(fail)?;
            for line in lines.iter().flatten() {
                tx.execute(
                    "INSERT INTO text_lines (hash, text, box, score) VALUES (?1, ?2, ?3, ?4)",
                    params![&hash[..], line.text, box_text(&line.quad), line.score],
                )
                .map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)
    }

    /// The lines read in a content, in reading order; `None` when it has not been read.
    pub fn lines_of(&self, hash: &[u8; 32]) -> Result<Option<Vec<TextLine>>> {
        let read: Option<i64> = self
            .conn
            .query_row("SELECT lines FROM words_read WHERE hash = ?1", [&hash[..]], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        if read.is_none() {
            return Ok(None);
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT text, box, score FROM text_lines WHERE hash = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([&hash[..]], text_line)
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map(Some)
            .map_err(|e| self.err(e))
    }

    /// The catalogued images whose words match the full-text query `fts` (FTS5 syntax over
    /// trigrams: a quoted string is a substring to find, case-folded), with the lines that match
    /// and their BM25 (lower is better), best first, at most `limit` lines.
    pub fn text_matches(&self, fts: &str, limit: usize) -> Result<Vec<(i64, TextLine, f64)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT images.id, text_lines.text, text_lines.box, text_lines.score, m.rank
                 FROM (SELECT rowid, rank FROM text_search WHERE text_search MATCH ?1
                       ORDER BY rank LIMIT ?2) AS m
                 JOIN text_lines ON text_lines.id = m.rowid
                 JOIN images ON images.hash = text_lines.hash
                 ORDER BY m.rank",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![fts, limit as i64], |r| {
                Ok((
                    r.get(0)?,
                    TextLine {
                        text: r.get(1)?,
                        quad: box_from(&r.get::<_, String>(2)?),
                        score: r.get(3)?,
                    },
                    r.get(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// The lines holding `text` (case-folded) by a scan, for words too short for the trigram
    /// index (two Chinese characters): as [`Catalog::text_matches`], unranked (0).
    pub fn text_scan(&self, text: &str, limit: usize) -> Result<Vec<(i64, TextLine, f64)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT images.id, text_lines.text, text_lines.box, text_lines.score
                 FROM text_lines JOIN images ON images.hash = text_lines.hash
                 WHERE instr(lower(text_lines.text), ?1) > 0
                 LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![text.to_lowercase(), limit as i64], |r| {
                Ok((
                    r.get(0)?,
                    TextLine {
                        text: r.get(1)?,
                        quad: box_from(&r.get::<_, String>(2)?),
                        score: r.get(3)?,
                    },
                    0.0,
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Run `read` on one snapshot of the catalog: another process's commit in the middle of it is
    /// not seen (a read transaction in WAL mode).
    pub fn snapshot<T>(&self, read: impl FnOnce(&Catalog) -> Result<T>) -> Result<T> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let out = read(self)?;
        tx.finish().map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// Forget every embedding and record `model_id`/`dim` as the library's model (re-indexing).
    pub fn reset_embeddings(&self, model_id: &str, dim: usize) -> Result<()> {
        let tx = self.write_transaction()?;
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
    /// Returns the rows it changed; `inserted` is in the order of `batch.insert`.
    pub fn apply(&mut self, batch: &Batch) -> Result<Changes> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| db_error(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let changes = write_batch(&tx, batch).map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(changes)
    }
}

/// What one indexing batch changes.
#[derive(Debug, Default)]
pub struct Batch {
    pub insert: Vec<NewImage>,
    /// (image id, folder, path, stamp): the same bytes moved, renamed, touched, or now under
    /// another library folder.
    pub moves: Vec<(i64, i64, PathBuf, Stamp)>,
    pub delete_images: Vec<i64>,
    pub skip: Vec<(i64, PathBuf, Stamp, String)>,
    pub unskip: Vec<PathBuf>,
    /// Folders whose state a walk established (offline parts, devices).
    pub folder_states: Vec<FolderState>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.insert.is_empty()
            && self.moves.is_empty()
            && self.delete_images.is_empty()
            && self.skip.is_empty()
            && self.unskip.is_empty()
            && self.folder_states.is_empty()
    }
}

fn ids_where(tx: &Transaction<'_>, sql: &str, param: i64) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = tx.prepare(sql)?;
    let ids = stmt.query_map([param], |r| r.get(0))?;
    ids.collect()
}

fn write_batch(tx: &Transaction<'_>, batch: &Batch) -> rusqlite::Result<Changes> {
    let mut changes = Changes::default();
    let mut left: Vec<Vec<u8>> = Vec::new();
    for &id in &batch.delete_images {
        let hash: Option<Vec<u8>> = tx
            .query_row("SELECT hash FROM images WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        if tx.execute("DELETE FROM images WHERE id = ?1", [id])? > 0 {
            changes.deleted.push(id);
            left.extend(hash);
        }
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
        changes.updated.push(*id);
    }
    let model_id: String = tx.query_row(
        "SELECT COALESCE((SELECT value FROM meta WHERE key = 'model_id'), '')",
        [],
        |r| r.get(0),
    )?;
    if !batch.insert.is_empty() {
        // Ids from the counter, never from SQLite's max(rowid) + 1 (which reuses a deleted id).
        let mut next: i64 = tx.query_row(
            "SELECT MAX(CAST(value AS INTEGER), (SELECT COALESCE(MAX(id), 0) FROM images))
             FROM meta WHERE key = 'last_image_id'",
            [],
            |r| r.get(0),
        )?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO images (id, folder_id, path, size, mtime_ns, hash, format, width, height,
                                 taken_at, model_id, embedding, indexed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for img in &batch.insert {
            next += 1;
            insert.execute(params![
                next,
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
            changes.inserted.push(next);
        }
        tx.execute(
            "UPDATE meta SET value = CAST(?1 AS TEXT) WHERE key = 'last_image_id'",
            [next],
        )?;
    }
    for (folder, path, stamp, reason) in &batch.skip {
        tx.execute(
            "INSERT INTO skipped (path, folder_id, size, mtime_ns, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(path) DO UPDATE SET folder_id = ?2, size = ?3, mtime_ns = ?4, reason = ?5, at = ?6",
            params![path_bytes(path), folder, stamp.size as i64, stamp.mtime_ns, reason, now()],
        )?;
    }
    for state in &batch.folder_states {
        write_folder_state(tx, state)?;
    }
    // The words of a content go with the last image holding it (after the inserts: a copy
    // catalogued in the same batch keeps them).
    for hash in &left {
        tx.execute(
            "DELETE FROM words_read WHERE hash = ?1
             AND NOT EXISTS (SELECT 1 FROM images WHERE images.hash = ?1)",
            [hash],
        )?;
    }
    // Any change to an image row, a move or a touch included: other processes read paths too.
    if !changes.is_empty() {
        bump_generation(tx)?;
    }
    Ok(changes)
}

/// Replace what the catalog holds of one folder's state; a part offline before and still offline
/// keeps its `since`.
fn write_folder_state(tx: &Transaction<'_>, state: &FolderState) -> rusqlite::Result<()> {
    let folder = state.folder_id;
    let still: HashSet<&[u8]> = state.offline.iter().map(|(p, _)| path_bytes(p)).collect();
    for path in offline_paths_of(tx, folder)? {
        if !still.contains(path.as_slice()) {
            tx.execute("DELETE FROM offline WHERE path = ?1", [&path])?;
        }
    }
    for (path, reason) in &state.offline {
        tx.execute(
            "INSERT INTO offline (path, folder_id, reason, since) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(path) DO UPDATE SET folder_id = ?2, reason = ?3",
            params![path_bytes(path), folder, reason, now()],
        )?;
    }
    tx.execute("DELETE FROM volumes WHERE folder_id = ?1", [folder])?;
    for (path, device) in &state.volumes {
        tx.execute(
            "INSERT INTO volumes (path, folder_id, device) VALUES (?1, ?2, ?3)
             ON CONFLICT(path) DO UPDATE SET folder_id = ?2, device = ?3",
            params![path_bytes(path), folder, *device as i64],
        )?;
    }
    Ok(())
}

fn offline_paths_of(tx: &Transaction<'_>, folder: i64) -> rusqlite::Result<Vec<Vec<u8>>> {
    let mut stmt = tx.prepare("SELECT path FROM offline WHERE folder_id = ?1")?;
    let paths = stmt.query_map([folder], |r| r.get(0))?;
    paths.collect()
}

/// The words of contents no catalogued image has any more (their lines go with them). Not after a
/// re-index, which drops every image to add the same contents back.
fn forget_orphan_words(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM words_read WHERE NOT EXISTS (SELECT 1 FROM images WHERE images.hash = words_read.hash)",
        [],
    )?;
    Ok(())
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
        hash: hash_column(r, 8)?,
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
            vec![
                (1, "0001_init".to_string()),
                (2, "0002_image_ids_never_reused".to_string()),
                (3, "0003_rows_without_embeddings".to_string()),
                (4, "0004_offline_folders".to_string()),
                (5, "0005_words".to_string()),
                (6, "0006_browse_index".to_string()),
                (7, "0007_image_count".to_string())
            ]
        );
        drop(catalog);
        let again = Catalog::open(&dir.path().join(DATABASE)).expect("reopens");
        assert_eq!(again.migrations().expect("reads").len(), 7);
    }

    #[test]
    fn reading_every_row_skips_the_embeddings() {
        // Every row (the duplicates pass reads them all) comes from an index that holds them,
        // not from the table, whose rows carry their embeddings.
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog = Catalog::open(&dir.path().join(DATABASE)).expect("opens");
        let plan: String = catalog
            .conn
            .query_row(
                concat!("EXPLAIN QUERY PLAN SELECT ", row!(), " FROM images"),
                [],
                |r| r.get(3),
            )
            .expect("plans");
        assert_eq!(plan, "SCAN images USING COVERING INDEX images_rows");
    }

    #[test]
    fn a_browsing_page_reads_one_range_of_its_index_and_sorts_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog = Catalog::open(&dir.path().join(DATABASE)).expect("opens");
        let filters = Filters {
            folder_ids: vec![1, 2],
            taken_from: Some(5),
            taken_until: Some(50),
            formats: vec!["png".into(), "JPEG".into()],
        };
        for from in [Bound::AllDated, Bound::Dated(7, 3), Bound::AllUndated, Bound::Undated(3)] {
            for filters in [&Filters::default(), &filters] {
                let (sql, values) = page_statement(filters, from, 10);
                let explain = ["EXPLAIN QUERY PLAN ", &sql].concat();
                let mut stmt = catalog.conn.prepare(&explain).expect("plans");
                let plan: Vec<String> = stmt
                    .query_map(rusqlite::params_from_iter(values), |r| r.get(3))
                    .expect("plans")
                    .collect::<rusqlite::Result<_>>()
                    .expect("plans");
                assert_eq!(plan.len(), 1, "{from:?}: {plan:?}");
                assert!(
                    plan[0].starts_with("SEARCH images USING INDEX images_browse (taken_at"),
                    "{from:?}: {plan:?}"
                );
            }
        }
        // What filters read is the index alone.
        let plan: String = catalog
            .conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id, folder_id, taken_at, format FROM images \
                 INDEXED BY images_browse",
                [],
                |r| r.get(3),
            )
            .expect("plans");
        assert_eq!(plan, "SCAN images USING COVERING INDEX images_browse");
    }

    #[test]
    fn embeddings_round_trip_as_bytes() {
        let v = vec![0.25f32, -1.5, 3.0e-7];
        assert_eq!(embedding_from(&embedding_bytes(&v)), Some(v));
        assert_eq!(embedding_from(&[1, 2, 3]), None, "not a whole float");
        assert_eq!(embedding_from(&[]), None);
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
        let changes = catalog
            .apply(&Batch {
                insert: vec![image.clone()],
                ..Batch::default()
            })
            .expect("applies");
        assert_eq!(changes.inserted.len(), 1);
        assert_eq!(catalog.generation().expect("reads"), 1);
        // A move changes no embedding but does change what other processes show: it counts.
        let id = changes.inserted[0];
        let moved = Stamp {
            size: 10,
            mtime_ns: 2,
        };
        catalog
            .apply(&Batch {
                moves: vec![(id, folder, "/photos/b.jpg".into(), moved)],
                ..Batch::default()
            })
            .expect("applies");
        assert_eq!(catalog.generation().expect("reads"), 2);
        let removed = catalog.remove_folder(folder).expect("removes");
        assert_eq!(removed.deleted, vec![id]);
        assert_eq!(catalog.generation().expect("reads"), 3);
        assert_eq!(catalog.count_images().expect("counts"), 0);
    }

    /// A one-pixel PNG of content `byte` at `path`.
    fn png(folder_id: i64, path: &str, byte: u8) -> NewImage {
        NewImage {
            folder_id,
            path: path.into(),
            stamp: Stamp {
                size: 1,
                mtime_ns: 1,
            },
            hash: [byte; 32],
            format: "png".into(),
            width: 1,
            height: 1,
            taken_at: None,
            embedding: vec![1.0],
        }
    }

    #[test]
    fn the_kept_image_count_follows_every_insert_and_removal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut catalog = Catalog::open(&dir.path().join(DATABASE)).expect("opens");
        // (images kept, images counted, contents kept, contents counted)
        let counts = |catalog: &Catalog| {
            (
                catalog.count_images().expect("counts"),
                catalog.count_image_rows().expect("counts"),
                catalog.words_progress().expect("counts").1,
                catalog.words_progress_counted().expect("counts").1,
            )
        };
        assert_eq!(counts(&catalog), (0, 0, 0, 0));
        let folders = [
            catalog.add_folder(Path::new("/a")).expect("adds"),
            catalog.add_folder(Path::new("/b")).expect("adds"),
        ];
        let changes = catalog
            .apply(&Batch {
                // Two copies of content 1: one content.
                insert: vec![
                    png(folders[0], "/a/1.png", 1),
                    png(folders[0], "/a/2.png", 2),
                    png(folders[1], "/b/3.png", 3),
                    png(folders[1], "/b/1-copy.png", 1),
                ],
                ..Batch::default()
            })
            .expect("applies");
        assert_eq!(counts(&catalog), (4, 4, 3, 3));
        // One copy goes: its content stays.
        catalog
            .apply(&Batch {
                delete_images: vec![changes.inserted[0]],
                ..Batch::default()
            })
            .expect("applies");
        assert_eq!(counts(&catalog), (3, 3, 3, 3));
        // A folder's images go by cascade.
        catalog.remove_folder(folders[0]).expect("removes");
        assert_eq!(counts(&catalog), (2, 2, 2, 2));
        catalog.reset_embeddings("another model", 2).expect("resets");
        assert_eq!(counts(&catalog), (0, 0, 0, 0));
    }

    #[test]
    fn an_image_id_is_never_given_twice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut catalog = Catalog::open(&dir.path().join(DATABASE)).expect("opens");
        let folder = catalog.add_folder(Path::new("/photos")).expect("adds");
        let image = |name: &str, byte: u8| png(folder, &format!("/photos/{name}"), byte);
        let first = catalog
            .apply(&Batch {
                insert: vec![image("a.png", 1), image("b.png", 2)],
                ..Batch::default()
            })
            .expect("applies")
            .inserted;
        // Deleting the newest row and inserting in the same batch: SQLite alone would hand out
        // the deleted id again.
        let second = catalog
            .apply(&Batch {
                delete_images: vec![first[1]],
                insert: vec![image("c.png", 3)],
                ..Batch::default()
            })
            .expect("applies");
        assert_eq!(second.deleted, vec![first[1]]);
        assert!(second.inserted[0] > first[1], "{first:?} then {second:?}");
        drop(catalog);
        let mut reopened = Catalog::open(&dir.path().join(DATABASE)).expect("reopens");
        let third = reopened
            .apply(&Batch {
                delete_images: second.inserted.clone(),
                insert: vec![image("d.png", 4)],
                ..Batch::default()
            })
            .expect("applies");
        assert!(third.inserted[0] > second.inserted[0]);
    }

    #[test]
    fn a_damaged_hash_or_embedding_is_an_error_not_zeros() {
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog = Catalog::open(&dir.path().join(DATABASE)).expect("opens");
        let folder = catalog.add_folder(Path::new("/photos")).expect("adds");
        catalog
            .conn
            .execute(
                "INSERT INTO images (id, folder_id, path, size, mtime_ns, hash, format, width, height,
                                     model_id, embedding, indexed_at)
                 VALUES (1, ?1, X'2F612E706E67', 1, 1, X'0102', 'png', 1, 1, 'm', X'000080', 0)",
                [folder],
            )
            .expect("inserts a damaged row");
        let err = catalog.hashes().expect_err("a 2-byte hash");
        assert!(err.to_string().contains("damaged content hash"), "{err}");
        let err = catalog.embedding(1).expect_err("a 3-byte embedding");
        assert!(err.to_string().contains("damaged embedding"), "{err}");
        assert!(catalog.all_images().is_err());
    }
}
