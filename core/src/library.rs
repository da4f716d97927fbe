//! The façade: one photo library (a folder holding the catalog and the vector index) and, when
//! searching or indexing, the model. The CLI and the desktop app call nothing else.
//!
//! **One truth.** The catalog (SQLite) is the only truth. What searches read from memory
//! ([`State`]: rows, vector index, relevance background, generation) is a cache of it: loaded
//! from the catalog, and after each write of this process brought up to date by reading back,
//! from the catalog, exactly the rows that write changed ([`Changes`]). Nothing is copied into
//! memory beside the catalog. [`Library::cache_differences`] compares the two; the model-based
//! test (`core/tests/truth.rs`) runs it after every step of random operation sequences.
//!
//! **Locks**, in the one order they may be taken (a holder of one may take a later one, never
//! an earlier one):
//! 1. `writing`: one writer per `Library` (an indexing run or a folder removal); a removal during
//!    this process's own run is refused as [`Error::Busy`], as it is across processes;
//! 2. the library's `write.lock` ([`lock`]): one writer across processes;
//! 3. `state`: what searches read (shared for searches, exclusive to change it);
//! 4. `catalog`: the connection searches and status read through, held for single calls.
//!
//! An indexing run writes through a connection of its own, which no other thread touches.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{
    Arc, Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError,
};

use serde::Serialize;

use crate::catalog::{self, Catalog, Changes, Folder, ImageRow, OfflinePart, Skipped};
use crate::decode::{self, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PIXELS};
use crate::embed::{self, TextEncoder, VisionEncoder};
use crate::lock;
use crate::model::Model;
use crate::search::{
    self, BACKGROUND_SAMPLE, Filters, Hit, ListCursor, Page, Request, Results, Sort,
};
use crate::thumbnail;
use crate::vectors::{self, BuildPace, BuildProgress, BuildStatus, ExactVectors, Vectors};
use crate::vindex::{DEFAULT_SCALAR, Scalar, VectorIndex};
use crate::{Error, Result};

/// How a library is opened.
#[derive(Debug, Clone)]
pub struct Options {
    /// ONNX Runtime intra-op threads per model run.
    pub threads: usize,
    /// Threads decoding images while the model encodes.
    pub decode_threads: usize,
    /// Images per vision-model run (and per catalog commit).
    pub batch_size: usize,
    pub scalar: Scalar,
    pub max_pixels: u64,
    /// Files larger than this are skipped unread.
    pub max_file_bytes: u64,
    /// Index, and build the vector index in the background, at low priority (the app: searches
    /// and the window stay quick while they run).
    pub background: bool,
    /// Load the text model when the library opens (else on the first search).
    pub text_at_open: bool,
    /// Throw away every embedding and rebuild with this model (after a model change).
    pub reindex: bool,
    /// When the saved vector index is missing or stale: rebuild it before the library opens, or
    /// open at once and search exactly while it is built in the background (the app).
    pub index_build: IndexBuild,
    pub build_pace: BuildPace,
    /// Use the saved vector index in place, memory-mapped (its pages are the page cache's, not
    /// the process's heap), rather than reading it into memory.
    pub map_index: bool,
}

/// See [`Options::index_build`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexBuild {
    AtOpen,
    Background,
}

impl Default for Options {
    fn default() -> Self {
        let cores = embed::default_threads();
        Self {
            threads: cores,
            decode_threads: cores,
            batch_size: 16,
            scalar: DEFAULT_SCALAR,
            max_pixels: DEFAULT_MAX_PIXELS,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            background: false,
            text_at_open: true,
            reindex: false,
            index_build: IndexBuild::AtOpen,
            build_pace: BuildPace::default(),
            map_index: true,
        }
    }
}

/// The model's encoders; text and vision always come from the same manifest. The vision model
/// loads on first use; the text model at open (a search's first query is then as quick as the
/// rest) or, with [`Options::text_at_open`] off, on the first search (an indexing-only run never
/// holds its ~250 MB).
pub(crate) struct Encoders {
    pub model: Model,
    threads: usize,
    text: OnceLock<TextEncoder>,
    text_loading: Mutex<()>,
    pub vision: VisionEncoder,
}

impl Encoders {
    fn new(model: &Model, threads: usize, text_at_open: bool) -> Result<Self> {
        let encoders = Self {
            model: model.clone(),
            threads,
            text: OnceLock::new(),
            text_loading: Mutex::new(()),
            vision: VisionEncoder::new(model, threads)?,
        };
        if text_at_open {
            encoders.text()?;
        }
        Ok(encoders)
    }

    pub fn text(&self) -> Result<&TextEncoder> {
        if let Some(text) = self.text.get() {
            return Ok(text);
        }
        let _one_loader = self.text_loading.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(text) = self.text.get() {
            return Ok(text);
        }
        let text = TextEncoder::new(&self.model, self.threads)?;
        Ok(self.text.get_or_init(|| text))
    }
}

/// What searches read: a cache of the catalog (see the module comment).
pub(crate) struct State {
    pub vectors: Option<Vectors>,
    pub rows: HashMap<i64, ImageRow>,
    /// The relevance cutoff's sample of library embeddings ([`Catalog::background_sample`]).
    pub background: Vec<([u8; 32], Vec<f32>)>,
    /// The catalog generation this reflects: another process's changes show as a newer one.
    pub generation: i64,
}

impl State {
    /// Everything from one snapshot of the catalog (the vector index from its file when the
    /// file's stamp matches, else rebuilt now or, with [`IndexBuild::Background`], every
    /// embedding for exact search until the caller's build is done).
    fn load(dir: &Path, catalog: &Catalog, options: &Options) -> Result<Self> {
        let (scalar, map) = (options.scalar, options.map_index);
        catalog.snapshot(|catalog| {
            let vectors = match embedding_dim(catalog)? {
                None => None,
                Some(dim) => {
                    let saved = VectorIndex::load_current(dir, catalog, dim, scalar, map)?;
                    Some(match (saved, options.index_build) {
                        (Some(index), _) => Vectors::Index(index),
                        (None, IndexBuild::AtOpen) => {
                            Vectors::Index(VectorIndex::rebuilt(dir, catalog, dim, scalar)?)
                        }
                        // Nothing to build: no thread, and no save racing the library's writers.
                        (None, IndexBuild::Background) if catalog.count_images()? == 0 => {
                            Vectors::Index(VectorIndex::new(dim, scalar)?)
                        }
                        (None, IndexBuild::Background) => {
                            let exact = ExactVectors::from_catalog(catalog, dim)?;
                            Vectors::Building {
                                build: Arc::new(BuildProgress::of(exact.len())),
                                exact,
                                touched: HashSet::new(),
                            }
                        }
                    })
                }
            };
            Ok(State {
                vectors,
                rows: catalog
                    .all_images()?
                    .into_iter()
                    .map(|r| (r.id, r))
                    .collect(),
                background: catalog.background_sample(BACKGROUND_SAMPLE)?,
                generation: catalog.generation()?,
            })
        })
    }

    /// Bring memory up to date after a write, reading every row it changed back from `catalog`.
    pub(crate) fn absorb(
        &mut self,
        catalog: &Catalog,
        changes: &Changes,
        scalar: Scalar,
    ) -> Result<()> {
        let mut background_moved = false;
        let mut affects_background = |hash: &[u8; 32], background: &[([u8; 32], Vec<f32>)]| {
            background_moved |= background.len() < BACKGROUND_SAMPLE
                || background.last().is_some_and(|(last, _)| hash <= last);
        };
        for id in &changes.deleted {
            if let Some(row) = self.rows.remove(id) {
                affects_background(&row.hash, &self.background);
            }
            if let Some(v) = &mut self.vectors {
                v.remove(*id)?;
            }
        }
        for id in &changes.updated {
            match catalog.image(*id)? {
                Some(row) => self.rows.insert(*id, row),
                None => self.rows.remove(id),
            };
        }
        for &id in &changes.inserted {
            let (Some(row), Some(embedding)) = (catalog.image(id)?, catalog.embedding(id)?) else {
                continue;
            };
            if self.vectors.is_none() {
                self.vectors = Some(Vectors::Index(VectorIndex::new(embedding.len(), scalar)?));
            }
            if let Some(v) = &mut self.vectors {
                v.add(id, &embedding)?;
            }
            affects_background(&row.hash, &self.background);
            self.rows.insert(id, row);
        }
        if background_moved {
            self.background = catalog.background_sample(BACKGROUND_SAMPLE)?;
        }
        self.generation = catalog.generation()?;
        Ok(())
    }
}

pub struct Library {
    pub(crate) dir: PathBuf,
    pub(crate) options: Options,
    catalog: Mutex<Catalog>,
    pub(crate) encoders: Option<Encoders>,
    /// Shared with a background build of the vector index, which takes its place when done.
    state: Arc<RwLock<State>>,
    writing: Mutex<()>,
}

impl Drop for Library {
    fn drop(&mut self) {
        if let Some(build) = self.state().vectors.as_ref().and_then(Vectors::build) {
            build.cancel();
        }
    }
}

/// Build the vector index (see [`vectors::build`]) and put it in the place of the exact vectors
/// it was built for, bringing the images changed meanwhile up to date; then save it.
fn build_and_take_over(
    dir: &Path,
    state: &RwLock<State>,
    dimensions: usize,
    scalar: Scalar,
    pace: BuildPace,
    build: &Arc<BuildProgress>,
) -> Result<()> {
    let catalog = Catalog::open(&dir.join(catalog::DATABASE))?;
    let Some(mut index) = vectors::build(dir, &catalog, dimensions, scalar, pace, build)? else {
        return Ok(());
    };
    let generation = {
        let mut state = state.write().unwrap_or_else(|p| p.into_inner());
        let Some(Vectors::Building {
            exact,
            build: current,
            touched,
        }) = &state.vectors
        else {
            return Ok(());
        };
        if !Arc::ptr_eq(current, build) {
            return Ok(()); // the state was loaded again meanwhile, with a build of its own
        }
        for &id in touched {
            match exact.get(id) {
                Some(vector) => index.add(id, vector)?,
                None if index.contains(id) => index.remove(id)?,
                None => {}
            }
        }
        state.vectors = Some(Vectors::Index(index));
        state.generation
    };
    // As at open: only the library's writer saves; an indexing run saves at its end anyway.
    if let Ok(_writer) = lock::try_acquire(dir) {
        let state = state.read().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = state.vectors.as_ref().and_then(Vectors::index) {
            index.save(dir, generation)?; // built in memory: nothing to swap
        }
    }
    Ok(())
}

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
}

/// The default library folder: `$XDG_DATA_HOME/clipstream/library`.
pub fn default_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("clipstream").join("library"))
}

/// Lock 1 held: this process's one writer.
pub(crate) type WriterSlot<'a> = MutexGuard<'a, ()>;

/// Who holds a library's writer slot when it is this process's own indexing run.
const OWN_RUN: &str = "the indexing run in progress";

impl Library {
    /// Open (creating) the library in `dir`. With a model, searching and indexing work, and the
    /// model must be the one the library was built with (see [`Options::reindex`]).
    pub fn open(dir: &Path, model: Option<&Model>, options: Options) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let catalog = Catalog::open(&dir.join(catalog::DATABASE))?;
        if let Some(model) = model {
            guard_model(dir, &catalog, model, options.reindex)?;
        }
        // The text model loads (~0.7 s for ViT-B/32) while this thread reads the catalog and the
        // vector index: start-up is the longer of the two, not their sum.
        let (encoders, loaded) = std::thread::scope(|scope| {
            let encoders = model.map(|m| {
                let (threads, text_at_open) = (options.threads, options.text_at_open);
                scope.spawn(move || Encoders::new(m, threads, text_at_open))
            });
            let loaded = State::load(dir, &catalog, &options);
            let encoders = encoders
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::Internal("the model loader panicked".into()))
                    })
                })
                .transpose();
            (encoders, loaded)
        });
        let (encoders, state) = (encoders?, loaded?);
        let library = Self {
            dir: dir.to_path_buf(),
            options,
            catalog: Mutex::new(catalog),
            encoders,
            state: Arc::new(RwLock::new(state)),
            writing: Mutex::new(()),
        };
        library.start_build();
        Ok(library)
    }

    /// Build the vector index on a thread of its own if the state waits for one.
    fn start_build(&self) {
        let (dimensions, build) = {
            let state = self.state();
            match &state.vectors {
                Some(Vectors::Building { exact, build, .. }) => {
                    (exact.dimensions(), Arc::clone(build))
                }
                _ => return,
            }
        };
        let (dir, state) = (self.dir.clone(), Arc::clone(&self.state));
        let (scalar, pace) = (self.options.scalar, self.options.build_pace.clone());
        let unstarted = Arc::clone(&build);
        let low_priority = self.options.background;
        let spawned = std::thread::Builder::new()
            .name("vector index build".into())
            .spawn(move || {
                if low_priority {
                    // The first searches and the window come first; the index can wait.
                    crate::index::lower_priority();
                }
                let built = build_and_take_over(&dir, &state, dimensions, scalar, pace, &build);
                if let Err(e) = built {
                    build.fail(e.to_string());
                }
            });
        if let Err(e) = spawned {
            unstarted.fail(format!("could not start: {e}"));
        }
    }

    /// How far the background build of the vector index has come, while one runs.
    pub fn index_build(&self) -> Option<BuildStatus> {
        let state = self.state();
        state.vectors.as_ref()?.build().map(|b| b.status())
    }

    /// For readers (searches, browsing, duplicates): read the catalog and vector index again if
    /// another process changed them, once that process has saved its vector index. Mid-run the
    /// file lags the catalog, and loading it then would drop the mapped index for a rebuild;
    /// this process's own run is mid-way between a commit and its absorb the same way.
    pub(crate) fn refresh(&self) -> Result<()> {
        self.reload_if_changed(true)
    }

    /// For writers, who hold the writer slot (so no run of this process is mid-way): read the
    /// catalog again if another process changed it at all, before writing on top of it.
    pub(crate) fn refresh_for_writer(&self, _slot: &WriterSlot<'_>) -> Result<()> {
        self.reload_if_changed(false)
    }

    fn reload_if_changed(&self, saved_only: bool) -> Result<()> {
        let current = self.catalog().generation()?;
        if current == self.state().generation
            || (saved_only && VectorIndex::saved_generation(&self.dir) != Some(current))
        {
            return Ok(());
        }
        // Loaded without the state lock (searches go on meanwhile), then swapped in.
        let fresh = State::load(&self.dir, &self.catalog(), &self.options)?;
        let mut state = self.state_mut();
        if fresh.generation >= state.generation {
            if let Some(build) = state.vectors.as_ref().and_then(Vectors::build) {
                build.cancel();
            }
            *state = fresh;
            drop(state);
            self.start_build();
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Lock 4: the reader connection.
    pub(crate) fn catalog(&self) -> MutexGuard<'_, Catalog> {
        self.catalog.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lock 3, shared.
    pub(crate) fn state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Lock 3, exclusive.
    pub(crate) fn state_mut(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Lock 1, waiting for this process's other writer (an indexing run waits for a removal).
    pub(crate) fn writer_slot(&self) -> WriterSlot<'_> {
        self.writing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lock 1 now, or [`Error::Busy`] when this process's own run holds it.
    pub(crate) fn writer_slot_now(&self) -> Result<WriterSlot<'_>> {
        match self.writing.try_lock() {
            Ok(guard) => Ok(guard),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => Err(Error::Busy {
                holder: OWN_RUN.into(),
            }),
        }
    }

    /// After a write through `catalog` (an indexing run's own connection, not lock 4): memory
    /// takes the changed rows from the catalog.
    pub(crate) fn absorb(&self, catalog: &Catalog, changes: &Changes) -> Result<()> {
        self.state_mut()
            .absorb(catalog, changes, self.options.scalar)
    }

    /// Save the vector index as of `generation` (only a writer does this).
    /// Callers hold the writer slot, so nothing is absorbed between the save and the swap.
    pub(crate) fn save_vector_index(&self, generation: i64) -> Result<()> {
        // While the index is being built, the build saves it when done. Searches go on during
        // the write; the view of a rewritten file takes the old one's place after it.
        let rewritten = match self.state().vectors.as_ref().and_then(Vectors::index) {
            Some(v) => v.save(&self.dir, generation)?,
            None => return Ok(()),
        };
        if let Some(fresh) = rewritten
            && let Some(v) = self
                .state_mut()
                .vectors
                .as_mut()
                .and_then(Vectors::index_mut)
        {
            *v = fresh;
        }
        Ok(())
    }

    pub(crate) fn encoders(&self) -> Result<&Encoders> {
        self.encoders.as_ref().ok_or(Error::NoModel)
    }

    pub fn model(&self) -> Option<&Model> {
        self.encoders.as_ref().map(|e| &e.model)
    }

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
                embedding_dim: embedding_dim(catalog)?,
                images: catalog.count_images()?,
                skipped: catalog.count_skipped()?,
                folders,
                index_build,
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
        let now = match crate::scan::probe(&folder.path) {
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

    /// The parts of library folders that are offline (see [`crate::offline`]).
    pub fn offline_parts(&self) -> Result<Vec<OfflinePart>> {
        self.catalog().offline_parts()
    }

    /// The catalogued image at `path` (as the catalog stores it: absolute, canonical).
    pub fn image_at(&self, path: &Path) -> Result<Option<ImageRow>> {
        self.catalog().image_by_path(path)
    }

    pub fn image(&self, id: i64) -> Option<ImageRow> {
        self.state().rows.get(&id).cloned()
    }

    /// The JPEG thumbnail of catalogued image `id`, made from the original file if it is missing
    /// (a library indexed before thumbnails existed, or a thumbnail that could not be written).
    pub fn thumbnail(&self, id: i64) -> Result<Vec<u8>> {
        let row = self.image(id).ok_or(Error::UnknownImage { id })?;
        if let Ok(bytes) = std::fs::read(thumbnail::path(&self.dir, &row.hash)) {
            return Ok(bytes);
        }
        let image = self.read_upright(id, thumbnail::BOX)?;
        thumbnail::store(&self.dir, &row.hash, &image)
    }

    /// Catalogued image `id`, upright and scaled to fit in `max_side`×`max_side`, as JPEG. An
    /// offline photo is shown by its thumbnail (the original is not there to read).
    pub fn preview(&self, id: i64, max_side: u32) -> Result<Vec<u8>> {
        let row = self.image(id).ok_or(Error::UnknownImage { id })?;
        let image = match self.read_upright(id, max_side) {
            Err(Error::Offline { path, reason }) => {
                return std::fs::read(thumbnail::path(&self.dir, &row.hash))
                    .map_err(|_| Error::Offline { path, reason });
            }
            read => read?,
        };
        thumbnail::jpeg(&image, 90).map_err(|e| Error::Io {
            path: row.path,
            reason: e.to_string(),
        })
    }

    fn read_upright(&self, id: i64, max_side: u32) -> Result<image::RgbImage> {
        let path = self.original(id)?;
        let bytes = self.read_file(&path)?;
        decode::decode_to_fit(&bytes, max_side, self.options.max_pixels).map_err(|e| Error::Io {
            path: path.clone(),
            reason: e.0,
        })
    }

    /// A file's bytes, refused unread over the size limit.
    fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
        decode::read_capped(path, self.options.max_file_bytes).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// The file of catalogued image `id`, as it resolves now: every access to a photo by id goes
    /// through here (previews, thumbnails, copies, opening, showing in a folder, dragging out).
    /// Refused when the file now resolves outside the library's folders (replaced by a link since
    /// it was indexed: the app shows catalogued photos and nothing else), and
    /// [`Error::Offline`] when it lies in a part of a folder that is not there now.
    pub fn original(&self, id: i64) -> Result<PathBuf> {
        let row = self.image(id).ok_or(Error::UnknownImage { id })?;
        let refuse = |reason: String| Error::Io {
            path: row.path.clone(),
            reason,
        };
        let real = match std::fs::canonicalize(&row.path) {
            Ok(real) => real,
            Err(e) => {
                let parts = self.offline_parts()?;
                if let Some(part) = parts.into_iter().find(|p| row.path.starts_with(&p.path)) {
                    return Err(Error::Offline {
                        path: row.path.clone(),
                        reason: part.reason,
                    });
                }
                let folder = self.folders()?.into_iter().find(|f| f.id == row.folder_id);
                if let Some(Err(reason)) = folder.map(|f| crate::scan::probe(&f.path)) {
                    return Err(Error::Offline {
                        path: row.path.clone(),
                        reason,
                    });
                }
                return Err(refuse(format!("{e}; re-scan to update the library")));
            }
        };
        if self.folders()?.iter().any(|f| real.starts_with(&f.path)) {
            Ok(real)
        } else {
            Err(refuse(format!(
                "now leads to {}, outside the library's folders; not shown",
                real.display()
            )))
        }
    }

    /// The normalised embedding of one query term: text, or an image file where the request
    /// allows terms to name files.
    fn term_embedding(&self, term: &str, image_paths: bool) -> Result<Vec<f32>> {
        let path = Path::new(term);
        if image_paths && crate::scan::kind_of(path).is_some() && path.is_file() {
            return self.image_embedding(path);
        }
        self.encoders()?.text()?.encode(term)
    }

    /// The embedding of an image file: from the catalog if indexed, else decoded and encoded now.
    pub fn image_embedding(&self, path: &Path) -> Result<Vec<f32>> {
        Ok(self.image_query(path)?.0)
    }

    /// An image file's embedding and, when it is in the catalog, its id.
    fn image_query(&self, path: &Path) -> Result<(Vec<f32>, Option<i64>)> {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let catalog = self.catalog();
        if let Some(row) = catalog.image_by_path(&abs)?
            && let Some(v) = catalog.embedding(row.id)?
        {
            return Ok((v, Some(row.id)));
        }
        drop(catalog);
        let enc = self.encoders()?;
        let bytes = self.read_file(path)?;
        let decoded = decode::decode(&bytes, enc.vision.short_side(), self.options.max_pixels)
            .map_err(|e| Error::Io {
                path: path.to_path_buf(),
                reason: e.0,
            })?;
        let pixels = embed::preprocess(&decoded.image, enc.vision.preprocess());
        let vector = enc
            .vision
            .encode_batch(&[pixels])?
            .pop()
            .ok_or_else(|| Error::Internal("the vision model returned no embedding".into()))?;
        Ok((vector, None))
    }

    /// Text (or combined) search.
    pub fn search(&self, request: &Request) -> Result<Results> {
        let terms = search::parse_query(&request.query).map_err(Error::Query)?;
        let mut weighted = Vec::with_capacity(terms.len());
        for t in &terms {
            weighted.push((t.weight, self.term_embedding(&t.text, request.image_paths)?));
        }
        let query = search::combine(&weighted);
        self.nearest(
            &query,
            request.limit,
            request.all,
            &request.filters,
            request.sort,
            None,
        )
    }

    /// A page of the library's images (those `filters` keep), newest first (date taken; undated
    /// ones last, most recently indexed first), starting after `after`. Keyset pagination over
    /// the catalog's rows in memory: a page costs one pass over the rows, never the whole answer.
    pub fn list(&self, filters: &Filters, after: Option<ListCursor>, limit: usize) -> Result<Page> {
        self.refresh()?;
        let state = self.state();
        let cursor = |r: &ImageRow| ListCursor {
            taken_at: r.taken_at,
            id: r.id,
        };
        let mut rows: Vec<&ImageRow> = state
            .rows
            .values()
            .filter(|r| after.is_none_or(|a| cursor(r).key() < a.key()) && filters.keeps(r))
            .collect();
        let newest_first = |a: &&ImageRow, b: &&ImageRow| cursor(b).key().cmp(&cursor(a).key());
        let more = rows.len() > limit;
        if more && limit > 0 {
            rows.select_nth_unstable_by(limit - 1, newest_first);
        }
        rows.truncate(limit);
        rows.sort_unstable_by(newest_first);
        let next = more.then(|| rows.last().map(|r| cursor(r))).flatten();
        let mut images: Vec<Hit> = rows.into_iter().map(|r| Hit::of(r, 0.0)).collect();
        drop(state);
        search::mark_offline(&mut images, &self.offline_parts()?);
        Ok(Page {
            images: search::fold_raw_twins(images),
            next,
        })
    }

    /// Images that look like the image at `path` (which need not be in the library).
    pub fn similar(
        &self,
        path: &Path,
        limit: usize,
        all: bool,
        filters: &Filters,
    ) -> Result<Results> {
        let (query, own) = self.image_query(path)?;
        self.nearest(&query, limit, all, filters, Sort::Relevance, own)
    }

    /// Images that look like the catalogued image `id`.
    pub fn similar_to_id(
        &self,
        id: i64,
        limit: usize,
        all: bool,
        filters: &Filters,
    ) -> Result<Results> {
        let query = self
            .catalog()
            .embedding(id)?
            .ok_or(Error::UnknownImage { id })?;
        self.nearest(&query, limit, all, filters, Sort::Relevance, Some(id))
    }

    fn nearest(
        &self,
        query: &[f32],
        limit: usize,
        all: bool,
        filters: &Filters,
        sort: Sort,
        exclude: Option<i64>,
    ) -> Result<Results> {
        self.refresh()?;
        let state = self.state();
        let Some(vectors) = &state.vectors else {
            return Ok(Results {
                hits: Vec::new(),
                cutoff: None,
                hidden: 0,
                more: false,
            });
        };
        let cutoff = if all {
            None
        } else {
            let scores: Vec<f32> = state
                .background
                .iter()
                .map(|(_, v)| vectors::dot(query, v))
                .collect();
            search::relevance_cutoff(&scores)
        };
        let keep =
            |id: i64| Some(id) != exclude && state.rows.get(&id).is_some_and(|r| filters.keeps(r));
        let needs_filter = exclude.is_some() || !filters.is_empty();
        let neighbors = vectors.search(
            query,
            limit,
            needs_filter.then_some(&keep as &dyn Fn(i64) -> bool),
        )?;
        let more = limit > 0 && neighbors.len() >= limit;
        let mut hidden = 0;
        let mut hits = Vec::with_capacity(neighbors.len());
        for n in neighbors {
            if cutoff.is_some_and(|c| n.score < c) {
                hidden += 1;
                continue;
            }
            if let Some(r) = state.rows.get(&n.id) {
                hits.push(Hit::of(r, n.score));
            }
        }
        drop(state);
        search::mark_offline(&mut hits, &self.offline_parts()?);
        let mut hits = search::fold_raw_twins(hits);
        search::sort_hits(&mut hits, sort);
        Ok(Results {
            hits,
            cutoff,
            hidden,
            more,
        })
    }

    /// Where what this library holds in memory differs from the catalog (empty: nowhere). The
    /// cache is derived from the catalog and must always equal it; tests check this after every
    /// step, and `clipstream doctor` can too.
    pub fn cache_differences(&self) -> Result<Vec<String>> {
        let state = self.state();
        self.catalog().snapshot(|catalog| {
            let mut out = Vec::new();
            let generation = catalog.generation()?;
            if state.generation != generation {
                out.push(format!(
                    "generation: memory {}, catalog {generation}",
                    state.generation
                ));
            }
            let rows: HashMap<i64, ImageRow> = catalog
                .all_images()?
                .into_iter()
                .map(|r| (r.id, r))
                .collect();
            for (id, row) in &rows {
                match state.rows.get(id) {
                    None => out.push(format!(
                        "image {id} ({}) missing from memory",
                        row.path.display()
                    )),
                    Some(mem) if mem != row => {
                        out.push(format!("image {id}: memory {mem:?}, catalog {row:?}"))
                    }
                    Some(_) => {}
                }
            }
            for id in state.rows.keys().filter(|id| !rows.contains_key(id)) {
                out.push(format!("image {id} in memory only (a phantom)"));
            }
            match &state.vectors {
                None if !rows.is_empty() => out.push("no vector index in memory".into()),
                None => {}
                Some(vectors) => {
                    if vectors.len() != rows.len() {
                        out.push(format!(
                            "vectors in memory: {}, catalog {}",
                            vectors.len(),
                            rows.len()
                        ));
                    }
                    let mut failed = None;
                    catalog.for_each_embedding(|id, want| match vectors {
                        Vectors::Index(v) => {
                            let want = match v.stored_form(&want) {
                                Ok(want) => want,
                                Err(e) => return failed = Some(e),
                            };
                            match v.get(id) {
                                None => {
                                    out.push(format!("image {id} missing from the vector index"))
                                }
                                Some(got) if got != want => out.push(format!(
                                    "image {id}: another vector in the vector index"
                                )),
                                Some(_) => {}
                            }
                        }
                        Vectors::Building { exact, .. } => match exact.get(id) {
                            None => out.push(format!("image {id} missing from the exact vectors")),
                            Some(got) if got != want.as_slice() => {
                                out.push(format!("image {id}: another vector in the exact vectors"))
                            }
                            Some(_) => {}
                        },
                    })?;
                    if let Some(e) = failed {
                        return Err(e);
                    }
                }
            }
            let background = catalog.background_sample(BACKGROUND_SAMPLE)?;
            if background != state.background {
                out.push(format!(
                    "relevance background: memory {} samples, catalog {} (or other ones)",
                    state.background.len(),
                    background.len()
                ));
            }
            Ok(out)
        })
    }
}

fn embedding_dim(catalog: &Catalog) -> Result<Option<usize>> {
    Ok(catalog
        .meta("embedding_dim")?
        .and_then(|d| d.parse::<usize>().ok()))
}

/// Refuse a model other than the library's, unless the library is empty or a re-index is asked.
fn guard_model(dir: &Path, catalog: &Catalog, model: &Model, reindex: bool) -> Result<()> {
    let m = &model.manifest;
    let stored_id = catalog.meta("model_id")?;
    let stored_dim = embedding_dim(catalog)?;
    let same =
        stored_id.as_deref() == Some(m.model_id.as_str()) && stored_dim == Some(m.embedding_dim);
    if !same && !reindex && catalog.count_images()? > 0 {
        return Err(Error::ModelMismatch {
            library: stored_id.unwrap_or_default(),
            library_dim: stored_dim.unwrap_or(0),
            given: m.model_id.clone(),
            given_dim: m.embedding_dim,
        });
    }
    if !same || reindex {
        // Not under another process's run: it would go on adding the old model's embeddings.
        let _writer = lock::try_acquire(dir)?;
        catalog.reset_embeddings(&m.model_id, m.embedding_dim)?;
    }
    Ok(())
}
