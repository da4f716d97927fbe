//! The library's folders: adding, removing, and how each is doing (online, or offline since
//! when and why, with the parts a run could not read), and the files that were skipped.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::ingest::thumbnail;
use crate::library::Library;
use crate::store::catalog::{self, Catalog, Changes, Folder, OfflinePart, Skipped};
use crate::store::lock;
use crate::store::vectors::BuildStatus;
use crate::store::vindex::VectorIndex;
use crate::{Error, Result};

/// A folder with its image count and whether its photos can be read now.
#[derive(Debug, Clone, Serialize)]
pub struct FolderStatus {
    pub id: i64,
    #[serde(serialize_with = "catalog::lossy_path")]
    pub path: PathBuf,
    pub images: u64,
    /// The folder itself can be read (its drive is connected); its photos are kept either way.
    pub online: bool,
    /// Why it is offline, and since when (unix seconds; `None` when found only now, before a run).
    pub offline: Option<OfflineSince>,
    /// Parts inside it that the last run could not read, with why: their photos are kept.
    pub unreadable: Vec<OfflinePart>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OfflineSince {
    pub reason: String,
    pub since: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    #[serde(serialize_with = "catalog::lossy_path")]
    pub library: PathBuf,
    pub model_id: Option<String>,
    pub embedding_dim: Option<usize>,
    pub images: u64,
    pub skipped: u64,
    pub folders: Vec<FolderStatus>,
    /// While the vector index is built in the background (searches are exact meanwhile).
    pub index_build: Option<BuildStatus>,
    /// The words in photos: the OCR models found, and how many contents have been read.
    pub words: WordsStatus,
}

/// Where reading the words in photos stands.
#[derive(Debug, Clone, Serialize)]
pub struct WordsStatus {
    /// The OCR models' folder, when installed (`None`: words are not read).
    #[serde(serialize_with = "catalog::lossy_option_path")]
    pub models: Option<PathBuf>,
    /// The detector's and recogniser's names ("ch_PP-OCRv4_det_infer + ch_PP-OCRv4_rec_infer").
    pub reader: Option<String>,
    /// Distinct contents read, and catalogued.
    pub read: u64,
    pub total: u64,
}

impl Library {
    pub fn folders(&self) -> Result<Vec<Folder>> {
        self.catalog().folders()
    }

    /// The library folder at `path` (as given, or as it resolves now).
    pub fn folder_at(&self, path: &Path) -> Result<Folder> {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.folders()?
            .into_iter()
            .find(|f| f.path == abs || f.path == path)
            .ok_or_else(|| Error::Io {
                path: path.to_path_buf(),
                reason: "is not a folder of this library".into(),
            })
    }

    /// Remember a folder to index. The path is made absolute; it must be a readable directory.
    pub fn add_folder(&self, path: &Path) -> Result<Folder> {
        let abs = std::fs::canonicalize(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if !abs.is_dir() {
            return Err(Error::Io {
                path: abs,
                reason: "not a folder".into(),
            });
        }
        let id = self.catalog().add_folder(&abs)?;
        Ok(Folder { id, path: abs })
    }

    /// Forget folder `id` and its images (the photos on disk are not touched). Returns the
    /// count. Refused as busy while an indexing run (this process's or another's) is writing.
    pub fn remove_folder(&self, id: i64) -> Result<usize> {
        let slot = self.writer_slot_now()?;
        let _writer = lock::try_acquire(&self.dir)?;
        if !self.folders()?.iter().any(|f| f.id == id) {
            return Err(Error::UnknownFolder { id });
        }
        VectorIndex::remove_partial_saves(&self.dir);
        self.refresh_for_writer(&slot)?;
        let changes = self.catalog().remove_folder(id)?;
        self.after_removal(&changes)?;
        Ok(changes.deleted.len())
    }

    /// After images left the catalog outside an indexing run (a folder removed, photos trashed):
    /// memory takes the change, the vector index file follows, orphaned thumbnails go.
    pub(crate) fn after_removal(&self, changes: &Changes) -> Result<()> {
        // Locks 3 then 4, in order.
        self.state_mut()
            .absorb(&self.catalog(), changes, self.options.scalar)?;
        let generation = self.state().generation;
        self.save_vector_index(generation)?;
        thumbnail::prune(&self.dir, &self.catalog().hashes()?);
        Ok(())
    }

    /// Counts from one snapshot of the catalog.
    pub fn status(&self) -> Result<Status> {
        let index_build = self.index_build();
        self.catalog().snapshot(|catalog| {
            let per_folder = catalog.folder_counts()?;
            let parts = catalog.offline_parts()?;
            let mut folders = Vec::new();
            for f in catalog.folders()? {
                let (own, inside): (Vec<OfflinePart>, Vec<OfflinePart>) = parts
                    .iter()
                    .filter(|p| p.folder_id == f.id)
                    .cloned()
                    .partition(|p| p.path == f.path);
                // What the last run found, or what a look now finds (a drive just unplugged).
                let offline = match own.into_iter().next() {
                    Some(part) => Some(OfflineSince {
                        reason: part.reason,
                        since: Some(part.since),
                    }),
                    None => self.gone_since_last_run(catalog, &f)?,
                };
                folders.push(FolderStatus {
                    id: f.id,
                    images: per_folder.get(&f.id).copied().unwrap_or(0),
                    online: offline.is_none(),
                    offline,
                    unreadable: inside,
                    path: f.path,
                });
            }
            Ok(Status {
                library: self.dir.clone(),
                model_id: catalog.meta("model_id")?,
                embedding_dim: catalog.embedding_dim()?,
                images: catalog.count_images()?,
                skipped: catalog.count_skipped()?,
                folders,
                index_build,
                words: words_status(catalog)?,
            })
        })
    }

    /// Whether a folder the last run found online is offline now: missing, unreadable, or on
    /// another device than its last clean walk recorded with none of its photos to be seen.
    fn gone_since_last_run(
        &self,
        catalog: &Catalog,
        folder: &Folder,
    ) -> Result<Option<OfflineSince>> {
        let now = match crate::ingest::scan::probe(&folder.path) {
            Err(reason) => {
                return Ok(Some(OfflineSince {
                    reason,
                    since: None,
                }));
            }
            Ok(device) => device,
        };
        let recorded = catalog
            .volumes_of(folder.id)?
            .into_iter()
            .find(|(p, _)| *p == folder.path);
        let moved = recorded.is_some_and(|(_, device)| device != now);
        let empty = std::fs::read_dir(&folder.path).is_ok_and(|mut d| d.next().is_none());
        Ok((moved && empty).then(|| OfflineSince {
            reason: "not mounted (the drive that was here is not connected)".into(),
            since: None,
        }))
    }

    pub fn skipped(&self) -> Result<Vec<Skipped>> {
        self.catalog().skipped()
    }

    /// Forget every skipped file, so that the next run reads each again (a file that crashed the
    /// decoder, one whose permissions were fixed). Returns how many there were.
    pub fn retry_skipped(&self) -> Result<u64> {
        let _slot = self.writer_slot_now()?;
        let _writer = lock::try_acquire(&self.dir)?;
        self.catalog().retry_skipped()
    }

    /// The parts of library folders that are offline (see [`crate::ingest::offline`]).
    pub fn offline_parts(&self) -> Result<Vec<OfflinePart>> {
        self.catalog().offline_parts()
    }
}

fn words_status(catalog: &crate::store::catalog::Catalog) -> Result<WordsStatus> {
    let (read, total) = catalog.words_progress()?;
    let models = crate::ingest::words::locate();
    Ok(WordsStatus {
        reader: models.as_deref().map(crate::ingest::words::reader_name),
        models,
        read,
        total,
    })
}
