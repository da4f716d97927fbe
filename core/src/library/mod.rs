//! The façade: one photo library (a folder holding the catalog and the vector index) and, when
//! searching or indexing, the model. The CLI and the desktop app call nothing else.
//!
//! Its methods are written where their work is: this file opens a library and holds its locks
//! and its memory ([`Mirror`], kept equal to the catalog); [`folders`] adds, removes and reports
//! folders; [`files`] is the one way to a photo's file; [`actions`] copies and trashes; the
//! indexing run is `ingest::run`, a search end to end `query::pipeline`, duplicates
//! `query::duplicates`. No room below imports this one's modules but through `Library`.
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

pub mod actions;
pub mod files;
pub mod folders;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

use crate::ingest::decode::{DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PIXELS};
use crate::ingest::words::Reader;
use crate::model::Model;
use crate::model::encoders::{self, Encoders};
use crate::store::catalog::{self, Catalog, Changes};
use crate::store::lock;
use crate::store::mirror::{self, IndexBuild, Loading, Mirror};
use crate::store::vectors::{BuildPace, BuildStatus, Vectors};
use crate::store::vindex::{DEFAULT_SCALAR, Scalar, VectorIndex};
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
    /// Read the words in photos when the OCR models are installed: a glance for text as each
    /// photo is indexed, and [`Library::read_words`] for the photos where it finds some.
    pub read_words: bool,
}

impl Options {
    fn loading(&self) -> Loading {
        Loading {
            scalar: self.scalar,
            map: self.map_index,
            build: self.index_build,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        let cores = encoders::default_threads();
        Self {
            threads: cores,
            decode_threads: cores,
            batch_size: 16,
            scalar: DEFAULT_SCALAR,
            max_pixels: DEFAULT_MAX_PIXELS,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            background: false,
            read_words: true,
            text_at_open: true,
            reindex: false,
            index_build: IndexBuild::AtOpen,
            build_pace: BuildPace::default(),
            map_index: true,
        }
    }
}



pub struct Library {
    pub(crate) dir: PathBuf,
    pub(crate) options: Options,
    catalog: Mutex<Catalog>,
    pub(crate) encoders: Option<Encoders>,
    /// Shared with a background build of the vector index, which takes its place when done.
    state: Arc<RwLock<Mirror>>,
    writing: Mutex<()>,
    /// Set by [`Library::pause_words`]: the reading stage stops after its photo.
    pub(crate) words_paused: std::sync::atomic::AtomicBool,
    /// What an indexing run hands to the reading pass after it (see [`Library::words_reader`]).
    words_hand_over: Mutex<WordsHandOver>,
}

/// What an indexing run leaves for the reading pass after it: the OCR models it loaded for its
/// glances, and the new contents in which a glance found text (the pass reads them without
/// glancing again). The pass takes both when it starts.
#[derive(Default)]
pub(crate) struct WordsHandOver {
    pub reader: Option<Arc<Reader>>,
    pub found_text: HashSet<[u8; 32]>,
}

impl Drop for Library {
    fn drop(&mut self) {
        if let Some(build) = self.state().vectors.as_ref().and_then(Vectors::build) {
            build.cancel();
        }
    }
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
            let loaded = Mirror::load(dir, &catalog, &options.loading());
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
            words_paused: Default::default(),
            words_hand_over: Mutex::new(WordsHandOver::default()),
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
                    lower_priority();
                }
                let built =
                    mirror::build_and_take_over(&dir, &state, dimensions, scalar, pace, &build);
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
        let fresh = Mirror::load(&self.dir, &self.catalog(), &self.options.loading())?;
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
    pub(crate) fn state(&self) -> RwLockReadGuard<'_, Mirror> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Lock 3, exclusive.
    pub(crate) fn state_mut(&self) -> RwLockWriteGuard<'_, Mirror> {
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

    /// Save the vector index as of `generation` (see [`mirror::save`]).
    pub(crate) fn save_vector_index(&self, generation: i64) -> Result<()> {
        mirror::save(&self.state, &self.dir, generation)
    }

    /// The OCR models in `dir` for an indexing run's glances, loaded once and left for the
    /// reading pass after it (a load parses three models: ~0.4 s).
    pub(crate) fn words_reader(&self, dir: &Path) -> Result<Arc<Reader>> {
        let mut held = self.hand_over();
        if let Some(reader) = held.reader.as_ref().filter(|r| r.dir() == dir) {
            return Ok(Arc::clone(reader));
        }
        let reader = Arc::new(Reader::open(dir, self.options.threads)?);
        held.reader = Some(Arc::clone(&reader));
        Ok(reader)
    }

    /// Contents an indexing run's glance found text in, for the reading pass.
    pub(crate) fn found_text(&self, hashes: impl IntoIterator<Item = [u8; 32]>) {
        self.hand_over().found_text.extend(hashes);
    }

    /// What the runs left for the reading pass, taken: nothing is held after this (the models'
    /// sessions free when their last user drops them).
    pub(crate) fn take_words_hand_over(&self) -> WordsHandOver {
        std::mem::take(&mut *self.hand_over())
    }

    fn hand_over(&self) -> MutexGuard<'_, WordsHandOver> {
        self.words_hand_over.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn encoders(&self) -> Result<&Encoders> {
        self.encoders.as_ref().ok_or(Error::NoModel)
    }

    pub fn model(&self) -> Option<&Model> {
        self.encoders.as_ref().map(|e| &e.model)
    }

    /// Where what this library holds in memory differs from the catalog (empty: nowhere). The
    /// mirror is derived from the catalog and must always equal it; tests check this after every
    /// step, and `clipstream doctor` can too.
    pub fn cache_differences(&self) -> Result<Vec<String>> {
        let state = self.state();
        state.differences(&self.catalog())
    }
}


/// Refuse a model other than the library's, unless the library is empty or a re-index is asked.
fn guard_model(dir: &Path, catalog: &Catalog, model: &Model, reindex: bool) -> Result<()> {
    let m = &model.manifest;
    let stored_id = catalog.meta("model_id")?;
    let stored_dim = catalog.embedding_dim()?;
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

/// How much lower than normal background work runs (an indexing run, the vector index's build in
/// the app): a nice value of about 10, so the scheduler gives a normal thread ~10 times its share.
const BACKGROUND_PRIORITY: u8 = 25;

/// Lower this thread's scheduling priority (threads it starts inherit it); a failure only means
/// it runs at normal priority.
pub(crate) fn lower_priority() {
    if let Ok(value) = thread_priority::ThreadPriorityValue::try_from(BACKGROUND_PRIORITY) {
        let _ = thread_priority::set_current_thread_priority(
            thread_priority::ThreadPriority::Crossplatform(value),
        );
    }
}
