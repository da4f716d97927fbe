//! What the app found at start-up (which model, which library) and the open library it shares
//! between commands.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use clipstream_core::{FolderWatch, IndexBuild, Library, Model, Options, Progress, setup};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

/// Which model the app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The user's exported CLIP model: searches their photos.
    Real,
    /// The bundled small test model, which only knows coloured shapes, on generated demo images.
    Demo,
    /// Neither model was found: the UI explains how to get one.
    NoModel,
}

/// Where things are, decided once at start-up from the environment.
#[derive(Debug, Clone)]
pub struct Setup {
    pub mode: Mode,
    pub model_dir: Option<PathBuf>,
    pub library_dir: PathBuf,
    /// The folder of generated images the demo indexes on its first start.
    pub demo_folder: Option<PathBuf>,
    /// Where a real model was looked for (shown when there is none).
    pub model_locations: Vec<PathBuf>,
}

/// Files inside the source tree, for runs from a checkout (`make run`). A packaged build
/// (`scripts/package.sh` sets `CLIPSTREAM_PACKAGED`) never looks at the tree it was built in.
fn in_checkout(relative: &str) -> Option<PathBuf> {
    if option_env!("CLIPSTREAM_PACKAGED").is_some() {
        return None;
    }
    Some(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(relative),
    )
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl Setup {
    /// The real model if one is installed ($CLIPSTREAM_MODEL or the data folder), else the demo
    /// model ($CLIPSTREAM_DEMO_MODEL, the package's `/usr/lib/clipstream/demo/`, or the
    /// checkout's `models/tiny-clip` and `tests/fixtures/shapes`).
    pub fn from_environment() -> Self {
        let data = dirs::data_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("clipstream");
        let model_locations = setup::model_locations();
        if let Ok(dir) = setup::locate_model(None) {
            return Self {
                mode: Mode::Real,
                model_dir: Some(dir),
                library_dir: env_path("CLIPSTREAM_LIBRARY")
                    .or_else(setup::default_library_dir)
                    .unwrap_or_else(|| data.join("library")),
                demo_folder: None,
                model_locations,
            };
        }
        let demo_model = env_path("CLIPSTREAM_DEMO_MODEL")
            .or_else(setup::demo_model)
            .or_else(|| in_checkout("models/tiny-clip"))
            .filter(|dir| dir.join(setup::MANIFEST).is_file());
        let demo_folder = env_path("CLIPSTREAM_DEMO_FOLDER")
            .or_else(setup::demo_photos)
            .or_else(|| in_checkout("tests/fixtures/shapes"))
            .filter(|dir| dir.is_dir());
        let demo_library =
            env_path("CLIPSTREAM_DEMO_LIBRARY").unwrap_or_else(|| data.join("demo-library"));
        Self {
            mode: if demo_model.is_some() {
                Mode::Demo
            } else {
                Mode::NoModel
            },
            model_dir: demo_model,
            library_dir: demo_library,
            demo_folder,
            model_locations,
        }
    }
}

/// The state every command shares.
pub struct AppState {
    pub setup: Setup,
    library: RwLock<Option<Arc<Library>>>,
    /// Why the library could not be opened (e.g. a model mismatch), for the UI to explain.
    open_error: Mutex<Option<ApiError>>,
    pub cancel: Arc<AtomicBool>,
    /// Stops a model download ("Cancel" beside "Get the CLIP model").
    pub model_cancel: Arc<AtomicBool>,
    indexing: AtomicBool,
    /// A pass reading the words in photos runs (between indexing runs, paused by them).
    reading_words: AtomicBool,
    /// Its latest progress, for a reloaded window.
    pub words_progress: Arc<Mutex<Option<Progress>>>,
    /// Stops that pass between two photos, and its thread, joined when the app exits (a thread
    /// left inside ONNX Runtime while the process tears it down crashes the exit).
    words_cancel: Arc<AtomicBool>,
    words_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The latest indexing progress, so a reloaded window can pick it up.
    pub progress: Arc<Mutex<Option<Progress>>>,
    /// True until [`AppState::open_at_start`] has run.
    loading: AtomicBool,
    /// How each library folder is followed (inotify, periodic scans and why).
    pub watching: Mutex<Vec<FolderWatch>>,
    /// Stops the folder watcher of the library open now (a new library gets a new watcher).
    watcher_stop: Mutex<Arc<AtomicBool>>,
}

impl AppState {
    /// The state with the library opened now (tests; the app opens it after the window shows).
    pub fn new(setup: Setup) -> Self {
        let state = Self::deferred(setup);
        state.open_at_start();
        state
    }

    /// The state before the library is open: commands answer `loading` until
    /// [`AppState::open_at_start`] has run, so the window can appear at once.
    pub fn deferred(setup: Setup) -> Self {
        Self {
            setup,
            library: RwLock::new(None),
            open_error: Mutex::new(None),
            cancel: Arc::new(AtomicBool::new(false)),
            model_cancel: Arc::new(AtomicBool::new(false)),
            indexing: AtomicBool::new(false),
            reading_words: AtomicBool::new(false),
            words_progress: Arc::new(Mutex::new(None)),
            words_cancel: Arc::new(AtomicBool::new(false)),
            words_thread: Mutex::new(None),
            progress: Arc::new(Mutex::new(None)),
            loading: AtomicBool::new(true),
            watching: Mutex::new(Vec::new()),
            watcher_stop: Mutex::new(Arc::new(AtomicBool::new(false))),
        }
    }

    /// Open the library with the model found at start-up (the demo adds its folder the first time).
    pub fn open_at_start(&self) {
        if self.setup.mode != Mode::NoModel {
            match self.open(false) {
                Ok(lib) => self.first_demo_start(&lib),
                Err(e) => *lock(&self.open_error) = Some(e),
            }
        }
        self.loading.store(false, Ordering::SeqCst);
    }

    pub fn is_loading(&self) -> bool {
        self.loading.load(Ordering::SeqCst)
    }

    /// (Re)open the library with the model; `reindex` throws away embeddings of another model.
    /// Blocking (model hashing, catalog and vector index reads): call it off the async runtime.
    pub fn open(&self, reindex: bool) -> ApiResult<Arc<Library>> {
        let model_dir = self
            .setup
            .model_dir
            .as_ref()
            .ok_or_else(|| self.no_model())?;
        let model = Model::open(model_dir)?;
        // Indexing runs at low priority: searching and the window stay quick meanwhile.
        let options = Options {
            reindex,
            background: true,
            // The window answers at once; a missing or stale vector index is built meanwhile.
            index_build: IndexBuild::Background,
            ..Options::default()
        };
        let library = Arc::new(Library::open(
            &self.setup.library_dir,
            Some(&model),
            options,
        )?);
        *self.library.write().unwrap_or_else(|p| p.into_inner()) = Some(library.clone());
        *lock(&self.open_error) = None;
        Ok(library)
    }

    /// The demo starts with its folder of generated images already added.
    fn first_demo_start(&self, library: &Library) {
        if self.setup.mode != Mode::Demo {
            return;
        }
        if let Some(folder) = &self.setup.demo_folder
            && library.folders().is_ok_and(|f| f.is_empty())
            && let Err(e) = library.add_folder(folder)
        {
            *lock(&self.open_error) = Some(e.into());
        }
    }

    /// The open library, or the reason there is none.
    pub fn library(&self) -> ApiResult<Arc<Library>> {
        if let Some(lib) = self
            .library
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Ok(lib.clone());
        }
        Err(lock(&self.open_error)
            .clone()
            .unwrap_or_else(|| self.no_model()))
    }

    pub fn open_error(&self) -> Option<ApiError> {
        lock(&self.open_error).clone()
    }

    fn no_model(&self) -> ApiError {
        let tried: Vec<String> = self
            .setup
            .model_locations
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        ApiError::new(
            "no_model",
            format!("No CLIP model found (looked in: {}).", tried.join(", ")),
        )
    }

    /// Claim the single indexing run; false if one is already going. Only the run that starts
    /// clears the cancel flag: a refused second request must not undo the user's Cancel.
    pub fn start_indexing(&self) -> bool {
        let claimed = self
            .indexing
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if claimed {
            self.cancel.store(false, Ordering::SeqCst);
        }
        claimed
    }

    /// Stop the current folder watcher and return the stop flag of the next one.
    pub fn watch_anew(&self) -> Arc<AtomicBool> {
        let fresh = Arc::new(AtomicBool::new(false));
        let old = std::mem::replace(&mut *lock(&self.watcher_stop), Arc::clone(&fresh));
        old.store(true, Ordering::SeqCst);
        fresh
    }

    pub fn finish_indexing(&self) {
        self.indexing.store(false, Ordering::SeqCst);
    }

    /// Claim the one pass reading words; false when one runs already.
    pub fn start_reading_words(&self) -> bool {
        self.reading_words
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// The pass's stop flag, cleared for a new pass.
    pub fn words_cancel(&self) -> Arc<AtomicBool> {
        self.words_cancel.store(false, Ordering::SeqCst);
        Arc::clone(&self.words_cancel)
    }

    pub fn set_words_thread(&self, thread: std::thread::JoinHandle<()>) {
        *lock(&self.words_thread) = Some(thread);
    }

    /// Stop the pass reading words and wait for its thread (at exit: at most one photo's read).
    pub fn stop_reading_words(&self) {
        self.words_cancel.store(true, Ordering::SeqCst);
        let thread = lock(&self.words_thread).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    pub fn finish_reading_words(&self) {
        self.reading_words.store(false, Ordering::SeqCst);
        *lock(&self.words_progress) = None;
    }

    pub fn is_reading_words(&self) -> bool {
        self.reading_words.load(Ordering::SeqCst)
    }

    pub fn is_indexing(&self) -> bool {
        self.indexing.load(Ordering::SeqCst)
    }
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
