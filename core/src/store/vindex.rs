//! The vector index: a usearch HNSW graph (cosine) over image embeddings, keyed by image id.
//!
//! It is a cache of the catalog, saved beside it with a stamp (`vectors.usearch.json`) that names
//! the catalog generation it reflects, and the file's length and checksum. Missing, unreadable,
//! stale (another generation, another count) or damaged (another length or checksum: what a power
//! loss or a bad disk leaves) → rebuilt from SQLite. The file is checked before it is mapped: a
//! mapped read past the end of a truncated file is a SIGBUS, and usearch trusts the offsets it
//! reads. Saves write the file and the stamp under temporary names, fsync them and their folder,
//! then rename: a stamp never names a file that is not all on disk.
//!
//! usearch takes paths as UTF-8 strings; the files are handed to it as `/proc/self/fd/N` (an open
//! file, or the library folder's descriptor), so a library folder of any name works and the file
//! usearch opens is the one that was checked.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::store::catalog::Catalog;
use crate::model::encoders::default_threads;
use crate::{Error, Result};

pub const INDEX_FILE: &str = "vectors.usearch";
pub const STAMP_FILE: &str = "vectors.usearch.json";

/// How vectors are stored in the index. Scores returned are always recomputed by the index in this
/// precision; the catalog keeps full f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scalar {
    F32,
    F16,
    Bf16,
    I8,
}

impl Scalar {
    fn kind(self) -> ScalarKind {
        match self {
            Scalar::F32 => ScalarKind::F32,
            Scalar::F16 => ScalarKind::F16,
            Scalar::Bf16 => ScalarKind::BF16,
            Scalar::I8 => ScalarKind::I8,
        }
    }
}

/// The default storage precision, chosen from measured recall against exact search (ARCHITECTURE.md).
pub const DEFAULT_SCALAR: Scalar = Scalar::Bf16;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Stamp {
    generation: i64,
    count: usize,
    dimensions: usize,
    scalar: Scalar,
    /// Set on a build's checkpoint: the file holds the catalog's images up to this id (as they
    /// were then) and nothing after; a later build goes on from there. Never matches a search's
    /// wish, so a checkpoint is never searched as if complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    built_up_to: Option<i64>,
    /// The saved file as it was written; a stamp without one (an older build's) is not trusted.
    #[serde(default)]
    file: Option<FileCheck>,
}

impl Stamp {
    /// Whether this names the same index as `other` (the file's check aside).
    fn same_index(&self, other: &Stamp) -> bool {
        (
            self.generation,
            self.count,
            self.dimensions,
            self.scalar,
            self.built_up_to,
        ) == (
            other.generation,
            other.count,
            other.dimensions,
            other.scalar,
            other.built_up_to,
        )
    }
}

/// The saved file's length and XXH3-64 checksum, checked before the file is used.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
struct FileCheck {
    bytes: u64,
    xxh3: u64,
}

impl FileCheck {
    /// Read the whole of `file` (from its start) and check it.
    fn of(file: &File) -> std::io::Result<Self> {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let mut buffer = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = reader.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            bytes += n as u64;
        }
        Ok(Self {
            bytes,
            xxh3: hasher.digest(),
        })
    }
}

/// The saved index file at `path`, opened, if it is exactly the file `check` describes.
fn open_checked(path: &Path, check: &FileCheck) -> Option<File> {
    let file = File::open(path).ok()?;
    if file.metadata().ok()?.len() != check.bytes {
        return None;
    }
    (FileCheck::of(&file).ok()? == *check).then_some(file)
}

/// A path usearch can take for an open file or folder (see the module comment).
fn fd_path(handle: &File) -> String {
    format!("/proc/self/fd/{}", handle.as_raw_fd())
}

/// One match: image id and cosine similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    pub id: i64,
    pub score: f32,
}

pub struct VectorIndex {
    index: Index,
    dimensions: usize,
    scalar: Scalar,
    /// Set when `index` is a read-only view of a saved file; changes then go here.
    viewed: Option<Viewed>,
}

/// What the index's own (in-memory) operations fail with: no file is involved.
const IN_MEMORY: &str = "(the vector index in memory)";

/// A saved index used in place: memory-mapped, so its pages are the page cache's, shared and
/// dropped under pressure, not this process's heap (~145 MiB at 100k photos). Images added since
/// go to a small index in memory; those of the file removed or replaced since are filtered out.
struct Viewed {
    file: PathBuf,
    /// The viewed file as checked when it was opened.
    check: FileCheck,
    added: Box<VectorIndex>,
    added_ids: HashSet<i64>,
    removed: HashSet<i64>,
}

impl VectorIndex {
    pub fn new(dimensions: usize, scalar: Scalar) -> Result<Self> {
        let options = IndexOptions {
            dimensions,
            metric: MetricKind::Cos,
            quantization: scalar.kind(),
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 64,
            multi: false,
        };
        let index = Index::new(&options).map_err(index_error)?;
        let out = Self {
            index,
            dimensions,
            scalar,
            viewed: None,
        };
        out.reserve(1024)?;
        Ok(out)
    }

    /// An empty index with room for `capacity` vectors, added from up to all cores at once.
    #[cfg(feature = "internals")]
    pub fn with_capacity(dimensions: usize, scalar: Scalar, capacity: usize) -> Result<Self> {
        let index = Self::new(dimensions, scalar)?;
        index
            .index
            .reserve_capacity_and_threads(capacity + 1024, default_threads())
            .map_err(index_error)?;
        Ok(index)
    }

    /// Room for `capacity` vectors, added from up to all cores at once.
    pub fn reserve_for_parallel_adds(&self, capacity: usize) -> Result<()> {
        self.index
            .reserve_capacity_and_threads(capacity.max(self.len()) + 1024, default_threads())
            .map_err(index_error)
    }

    /// The index saved in `dir` if its stamp says it reflects the catalog as it is now: viewed in
    /// place (memory-mapped) with `map`, else read into memory.
    pub fn load_current(
        dir: &Path,
        catalog: &Catalog,
        dimensions: usize,
        scalar: Scalar,
        map: bool,
    ) -> Result<Option<Self>> {
        let want = Stamp {
            generation: catalog.generation()?,
            count: catalog.count_images()? as usize,
            dimensions,
            scalar,
            built_up_to: None,
            file: None,
        };
        Ok(Self::load(dir, &want, map))
    }

    /// A build's checkpoint saved in `dir` (see [`Self::save_checkpoint`]), with the id it
    /// reached, if one of these dimensions and precision is there.
    pub fn load_checkpoint(dir: &Path, dimensions: usize, scalar: Scalar) -> Option<(Self, i64)> {
        let stamp = read_stamp(dir)?;
        let built_up_to = stamp.built_up_to?;
        if stamp.dimensions != dimensions || stamp.scalar != scalar {
            return None;
        }
        Some((Self::load(dir, &stamp, false)?, built_up_to))
    }

    /// The catalog generation of the index file saved in `dir`, if it has a readable stamp.
    pub fn saved_generation(dir: &Path) -> Option<i64> {
        Some(read_stamp(dir)?.generation)
    }

    /// The saved index if its stamp is `want` and its file is the one the stamp describes: viewed
    /// in place, or read into memory (to add to it from many threads, as a build does).
    fn load(dir: &Path, want: &Stamp, view: bool) -> Option<Self> {
        let stamp = read_stamp(dir)?;
        if !stamp.same_index(want) {
            return None;
        }
        let check = stamp.file?;
        let path = dir.join(INDEX_FILE);
        let file = open_checked(&path, &check)?;
        let index = if view {
            Self::view(&file, path, check, want.dimensions, want.scalar).ok()?
        } else {
            let index = Self::new(want.dimensions, want.scalar).ok()?;
            index.index.load(&fd_path(&file)).ok()?;
            index
        };
        if index.index.size() != want.count || index.index.dimensions() != want.dimensions {
            return None;
        }
        if !view {
            index.reserve(want.count + 1024).ok()?;
        }
        Some(index)
    }

    /// Add `items` (new ids) from every core; room must be reserved ([`Self::with_capacity`]).
    pub fn add_parallel(&self, items: &[(i64, Vec<f32>)]) -> Result<()> {
        if self.viewed.is_some() {
            return Err(index_error("a viewed index takes no parallel adds"));
        }
        let per_thread = items.len().div_ceil(default_threads()).max(1);
        std::thread::scope(|scope| {
            let workers: Vec<_> = items
                .chunks(per_thread)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter().try_for_each(|(id, v)| {
                            self.index.add(*id as u64, v).map_err(index_error)
                        })
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(index_error("a worker panicked")))
            })
        })
    }

    /// Write the index and its stamp (the stamp last, so a crash leaves a stale stamp, not a lie).
    /// A viewed index with changes is written with them applied, and the view of the new file is
    /// returned to use in its place.
    pub fn save(&self, dir: &Path, generation: i64) -> Result<Option<VectorIndex>> {
        let Some(viewed) = &self.viewed else {
            return self.save_stamped(dir, generation, None).map(|_| None);
        };
        let path = dir.join(INDEX_FILE);
        if viewed.file == path && viewed.added_ids.is_empty() && viewed.removed.is_empty() {
            // The file already holds exactly this: only the stamp is new.
            return self
                .write_stamp(dir, generation, None, viewed.check)
                .map(|()| None);
        }
        // The file with the changes since applied, in memory, saved; then viewed in its place.
        // The file at this path is the one viewed: a writer reloads the state before it writes
        // whenever another process changed the catalog (`Library::refresh`).
        let mut full = Self::new(self.dimensions, self.scalar)?;
        let fail = |reason: String| Error::VectorIndex {
            path: viewed.file.clone(),
            reason,
        };
        let file = open_checked(&viewed.file, &viewed.check)
            .ok_or_else(|| fail("changed on disk since it was opened".into()))?;
        full.index
            .load(&fd_path(&file))
            .map_err(|e| fail(e.to_string()))?;
        full.reserve(full.len() + viewed.added_ids.len() + 1024)?;
        for &id in &viewed.removed {
            full.remove(id)?;
        }
        for &id in &viewed.added_ids {
            let vector = viewed
                .added
                .get(id)
                .ok_or_else(|| index_error("an added vector cannot be read back"))?;
            full.add(id, &vector)?;
        }
        let check = full.save_stamped(dir, generation, None)?;
        let file = File::open(&path).map_err(|e| fail(e.to_string()))?;
        Self::view(&file, path, check, self.dimensions, self.scalar).map(Some)
    }

    /// The index saved in `file` (at `path`, checked as `check`), used in place (see [`Viewed`]),
    /// with no changes yet.
    fn view(
        file: &File,
        path: PathBuf,
        check: FileCheck,
        dimensions: usize,
        scalar: Scalar,
    ) -> Result<Self> {
        let mut index = Self::new(dimensions, scalar)?;
        index
            .index
            .view(&fd_path(file))
            .map_err(|e| Error::VectorIndex {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        index.viewed = Some(Viewed {
            added: Box::new(Self::new(dimensions, scalar)?),
            added_ids: HashSet::new(),
            removed: HashSet::new(),
            file: path,
            check,
        });
        Ok(index)
    }

    /// Save a build in progress that holds the catalog's images up to id `built_up_to`: a build
    /// that stops (a crash, the app closed) goes on from here next time.
    pub fn save_checkpoint(&self, dir: &Path, built_up_to: i64) -> Result<()> {
        self.save_stamped(dir, -1, Some(built_up_to)).map(|_| ())
    }

    /// Write the file, then its stamp (see the module comment); returns the file's check.
    fn save_stamped(
        &self,
        dir: &Path,
        generation: i64,
        built_up_to: Option<i64>,
    ) -> Result<FileCheck> {
        let path = dir.join(INDEX_FILE);
        let fail = |reason: String| Error::VectorIndex {
            path: path.clone(),
            reason,
        };
        let _ = std::fs::remove_file(dir.join(STAMP_FILE));
        let folder = File::open(dir).map_err(|e| fail(e.to_string()))?;
        // A name of this process's own: the app and the CLI may save the same library at once.
        let name = format!("{INDEX_FILE}.{}.partial", std::process::id());
        self.index
            .save(&format!("{}/{name}", fd_path(&folder)))
            .map_err(|e| fail(e.to_string()))?;
        let tmp = dir.join(&name);
        let written = File::open(&tmp).map_err(|e| fail(e.to_string()))?;
        let check = FileCheck::of(&written).map_err(|e| fail(e.to_string()))?;
        written.sync_all().map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&tmp, &path).map_err(|e| fail(e.to_string()))?;
        folder.sync_all().map_err(|e| fail(e.to_string()))?;
        self.write_stamp(dir, generation, built_up_to, check)?;
        Ok(check)
    }

    fn write_stamp(
        &self,
        dir: &Path,
        generation: i64,
        built_up_to: Option<i64>,
        check: FileCheck,
    ) -> Result<()> {
        let fail = |reason: String| Error::VectorIndex {
            path: dir.join(STAMP_FILE),
            reason,
        };
        let stamp = Stamp {
            generation,
            count: self.len(),
            dimensions: self.dimensions,
            scalar: self.scalar,
            built_up_to,
            file: Some(check),
        };
        let json = serde_json::to_vec(&stamp).map_err(|e| fail(e.to_string()))?;
        let tmp = dir.join(format!("{STAMP_FILE}.{}.partial", std::process::id()));
        let mut written = File::create(&tmp).map_err(|e| fail(e.to_string()))?;
        std::io::Write::write_all(&mut written, &json)
            .and_then(|()| written.sync_all())
            .map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&tmp, dir.join(STAMP_FILE)).map_err(|e| fail(e.to_string()))?;
        File::open(dir)
            .and_then(|folder| folder.sync_all())
            .map_err(|e| fail(e.to_string()))
    }

    /// Delete the `.partial` files of saves that never finished (a process killed mid-save).
    /// Only the lock holder calls this: no other save can be in flight.
    pub fn remove_partial_saves(dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(INDEX_FILE) && name.ends_with(".partial") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    fn reserve(&self, capacity: usize) -> Result<()> {
        self.index.reserve(capacity).map_err(index_error)
    }

    pub fn add(&mut self, id: i64, vector: &[f32]) -> Result<()> {
        if let Some(viewed) = &mut self.viewed {
            if self.index.contains(id as u64) {
                viewed.removed.insert(id);
            }
            viewed.added_ids.insert(id);
            return viewed.added.add(id, vector);
        }
        if self.index.size() + 1 > self.index.capacity() {
            self.reserve((self.index.capacity() * 2).max(1024))?;
        }
        if self.index.contains(id as u64) {
            self.index.remove(id as u64).map_err(index_error)?;
        }
        self.index.add(id as u64, vector).map_err(index_error)
    }

    pub fn contains(&self, id: i64) -> bool {
        match &self.viewed {
            Some(viewed) => {
                viewed.added_ids.contains(&id)
                    || (self.index.contains(id as u64) && !viewed.removed.contains(&id))
            }
            None => self.index.contains(id as u64),
        }
    }

    #[cfg(feature = "internals")]
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    pub fn remove(&mut self, id: i64) -> Result<()> {
        if let Some(viewed) = &mut self.viewed {
            if viewed.added_ids.remove(&id) {
                viewed.added.remove(id)?;
            }
            if self.index.contains(id as u64) {
                viewed.removed.insert(id);
            }
            return Ok(());
        }
        self.index
            .remove(id as u64)
            .map(|_| ())
            .map_err(index_error)
    }

    /// `vector` as this index stores it (rounded to its precision): what [`Self::get`] returns for
    /// an id added with it.
    pub fn stored_form(&self, vector: &[f32]) -> Result<Vec<f32>> {
        Self::new(self.dimensions, self.scalar)?.round_trip(vector)
    }

    /// `vector` stored under id 0 of this (scratch) index and read back: its stored form.
    pub fn round_trip(&mut self, vector: &[f32]) -> Result<Vec<f32>> {
        self.add(0, vector)?;
        self.get(0)
            .ok_or_else(|| index_error("a vector just added cannot be read back"))
    }

    /// The vector stored for `id`, in the index's precision, if it holds one.
    pub fn get(&self, id: i64) -> Option<Vec<f32>> {
        if let Some(viewed) = &self.viewed {
            if viewed.added_ids.contains(&id) {
                return viewed.added.get(id);
            }
            if viewed.removed.contains(&id) {
                return None;
            }
        }
        let mut out = vec![0f32; self.dimensions];
        match self.index.get(id as u64, &mut out) {
            Ok(found) if found > 0 => Some(out),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        match &self.viewed {
            Some(viewed) => self.index.size() - viewed.removed.len() + viewed.added_ids.len(),
            None => self.index.size(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k` nearest images to `query` (L2-normalised) passing `keep`, best first.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: Option<&dyn Fn(i64) -> bool>,
    ) -> Result<Vec<Neighbor>> {
        if self.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let Some(viewed) = &self.viewed else {
            return self.search_own(query, k, keep);
        };
        // The file's images not removed since, and those added since, best first.
        let mut found = if viewed.removed.is_empty() {
            self.search_own(query, k, keep)?
        } else {
            let kept = |id: i64| !viewed.removed.contains(&id) && keep.is_none_or(|keep| keep(id));
            self.search_own(query, k, Some(&kept))?
        };
        found.extend(viewed.added.search(query, k, keep)?);
        found.sort_unstable_by(|a, b| b.score.total_cmp(&a.score));
        found.truncate(k);
        Ok(found)
    }

    /// Search `index` alone (not the changes made to a viewed one).
    fn search_own(
        &self,
        query: &[f32],
        k: usize,
        keep: Option<&dyn Fn(i64) -> bool>,
    ) -> Result<Vec<Neighbor>> {
        if self.index.size() == 0 {
            return Ok(Vec::new());
        }
        let matches = match keep {
            Some(keep) => self
                .index
                .filtered_search(query, k, |key| keep(key as i64))
                .map_err(index_error)?,
            None => self.index.search(query, k).map_err(index_error)?,
        };
        Ok(matches
            .keys
            .iter()
            .zip(&matches.distances)
            .map(|(&k, &d)| Neighbor {
                id: k as i64,
                score: 1.0 - d,
            })
            .collect())
    }

    /// How many candidates a search explores (HNSW `ef`): higher is slower and more exact.
    #[cfg(feature = "internals")]
    pub fn set_expansion_search(&self, ef: usize) {
        self.index.change_expansion_search(ef);
        if let Some(viewed) = &self.viewed {
            viewed.added.set_expansion_search(ef);
        }
    }

    /// Bytes of memory the index holds.
    #[cfg(feature = "internals")]
    pub fn memory_usage(&self) -> usize {
        self.index.memory_usage() + self.viewed.as_ref().map_or(0, |v| v.added.memory_usage())
    }
}

fn read_stamp(dir: &Path) -> Option<Stamp> {
    serde_json::from_slice(&std::fs::read(dir.join(STAMP_FILE)).ok()?).ok()
}

/// An in-memory index operation failed (no file involved).
fn index_error(e: impl std::fmt::Display) -> Error {
    Error::VectorIndex {
        path: PathBuf::from(IN_MEMORY),
        reason: e.to_string(),
    }
}
