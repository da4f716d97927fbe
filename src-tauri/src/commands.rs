//! The commands the UI invokes. Each is a few lines around one call into the core library (the
//! same calls the CLI makes); blocking work runs off the main thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use clipstream_core::{
    DUPLICATE_THRESHOLD, Filters, Group, ImageRow, Library, ListCursor, Page, Progress, Report,
    Request, Results, Skipped, Sort, Status, Trashed, setup,
};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use tauri_plugin_dialog::DialogExt;

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Mode, lock};

/// Runs `work` on the blocking pool with the open library.
async fn with_library<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Library) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let library = state.library()?;
    tauri::async_runtime::spawn_blocking(move || work(&library))
        .await
        .map_err(internal)?
}

/// The catalog row of image `id`; commands that touch a file take an id, never a path.
fn catalogued(lib: &Library, id: i64) -> ApiResult<ImageRow> {
    Ok(lib.image(id)?)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new("internal", e.to_string())
}

/// Everything the UI needs to draw its frame: mode, model, library, indexing.
#[derive(Debug, Serialize)]
pub struct AppStatus {
    pub mode: Mode,
    pub model_id: Option<String>,
    pub model_dir: Option<String>,
    /// Where the app looked for the real model.
    pub model_locations: Vec<String>,
    pub library: Option<Status>,
    /// Why the library is not open (e.g. `model_mismatch`).
    pub error: Option<ApiError>,
    /// The model is still loading (the window opens first); `library-ready` follows.
    pub loading: bool,
    pub indexing: bool,
    pub progress: Option<Progress>,
    /// The words in photos are being read (between indexing runs), and how far.
    pub reading_words: bool,
    pub words_progress: Option<Progress>,
    pub demo_folder: Option<String>,
    /// How each library folder is followed for changes, by folder id.
    pub watching: Vec<Watching>,
}

/// How one library folder is followed: inotify on its folders, and periodic scans where that is
/// not enough (`polled` says why and, for the watch limit, how to fix it).
#[derive(Debug, Serialize)]
pub struct Watching {
    pub folder_id: i64,
    pub watched_folders: usize,
    pub polled: Option<String>,
}

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> ApiResult<AppStatus> {
    let setup = &state.setup;
    let (library, model_id) = match state.library() {
        Ok(lib) => {
            let model_id = lib.model().map(|m| m.manifest.model_id.clone());
            let status = tauri::async_runtime::spawn_blocking(move || lib.status())
                .await
                .map_err(internal)??;
            (Some(status), model_id)
        }
        Err(_) => (None, None),
    };
    let watching = library.as_ref().map_or_else(Vec::new, |status| {
        lock(&state.watching)
            .iter()
            .filter_map(|w| {
                let folder = status.folders.iter().find(|f| f.path == w.path)?;
                Some(Watching {
                    folder_id: folder.id,
                    watched_folders: w.watched_folders,
                    polled: w.polled.clone(),
                })
            })
            .collect()
    });
    Ok(AppStatus {
        mode: setup.mode,
        model_id,
        model_dir: setup.model_dir.as_ref().map(|d| d.display().to_string()),
        model_locations: setup
            .model_locations
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        library,
        error: state.open_error(),
        loading: state.is_loading(),
        indexing: state.is_indexing(),
        progress: lock(&state.progress).clone(),
        reading_words: state.is_reading_words(),
        words_progress: lock(&state.words_progress).clone(),
        demo_folder: setup.demo_folder.as_ref().map(|d| d.display().to_string()),
        watching,
    })
}

/// How results are filtered and ordered; everything optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchOptions {
    pub limit: Option<usize>,
    /// Show everything, ignoring the relevance cutoff.
    pub all: bool,
    pub sort_by_date: bool,
    /// A library folder, by id.
    pub folder_id: Option<i64>,
    /// One format ("jpeg", "heic", "raw", …; `Format::name`).
    pub format: Option<String>,
    /// Days as the date inputs give them (`YYYY-MM-DD`), both included.
    pub taken_from: Option<String>,
    pub taken_to: Option<String>,
}

const DEFAULT_LIMIT: usize = 1000;

impl SearchOptions {
    fn filters(&self) -> ApiResult<Filters> {
        let filters = Filters {
            folder_ids: self.folder_id.into_iter().collect(),
            formats: self
                .format
                .iter()
                .filter(|f| !f.is_empty())
                .cloned()
                .collect(),
            ..Filters::default()
        };
        Ok(filters.taken(self.taken_from.as_deref(), self.taken_to.as_deref(), None)?)
    }
}

#[tauri::command]
pub async fn search(
    state: State<'_, AppState>,
    query: String,
    options: SearchOptions,
) -> ApiResult<Results> {
    with_library(&state, move |lib| {
        // The query is text only: the webview never names a file (Request::image_paths stays off).
        let mut request = Request::new(query, options.limit.unwrap_or(DEFAULT_LIMIT));
        request.all = options.all;
        request.filters = options.filters()?;
        request.sort = if options.sort_by_date {
            Sort::DateTaken
        } else {
            Sort::Relevance
        };
        Ok(lib.search(&request)?)
    })
    .await
}

/// Photos a browse page holds when the UI does not say.
const BROWSE_PAGE: usize = 200;

/// Browse: a page of the library newest first (date taken), with the filters; `after` is the
/// previous page's `next`.
#[tauri::command]
pub async fn list(
    state: State<'_, AppState>,
    options: SearchOptions,
    after: Option<ListCursor>,
) -> ApiResult<Page> {
    with_library(&state, move |lib| {
        let limit = options.limit.unwrap_or(BROWSE_PAGE);
        Ok(lib.list(&options.filters()?, after, limit)?)
    })
    .await
}

#[tauri::command]
pub async fn similar(
    state: State<'_, AppState>,
    id: i64,
    options: SearchOptions,
) -> ApiResult<Results> {
    with_library(&state, move |lib| {
        let limit = options.limit.unwrap_or(DEFAULT_LIMIT);
        Ok(lib.similar_to_id(id, limit, options.all, &options.filters()?)?)
    })
    .await
}

/// Groups of identical and near-identical photos, largest saving first, keeper first.
#[tauri::command]
pub async fn duplicates(state: State<'_, AppState>) -> ApiResult<Vec<Group>> {
    with_library(&state, |lib| Ok(lib.duplicates(DUPLICATE_THRESHOLD)?)).await
}

/// Move the photos `ids` (the user's explicit choice) to the desktop's trash; the library forgets
/// them at once. `busy` while indexing runs.
#[tauri::command]
pub async fn trash(state: State<'_, AppState>, ids: Vec<i64>) -> ApiResult<Trashed> {
    with_library(&state, move |lib| Ok(lib.trash(&ids)?)).await
}

/// Where "Copy to folder…" put the photos.
#[derive(Debug, Clone, Serialize)]
pub struct Copied {
    /// The folder, for the message only (shown lossily when its name is not UTF-8).
    pub folder: String,
    pub copies: usize,
}

/// Copy the photos `ids` into a folder the user picks in the system's folder picker (its path
/// never crosses the webview, so any folder name works); never overwrites. `None` when the user
/// closes the picker.
#[tauri::command]
pub async fn copy_to_picked_folder<R: Runtime>(
    app: AppHandle<R>,
    ids: Vec<i64>,
) -> ApiResult<Option<Copied>> {
    let library = app.state::<AppState>().library()?;
    let Some(folder) = pick(app).await? else {
        return Ok(None);
    };
    tauri::async_runtime::spawn_blocking(move || {
        let copied = library.copy_images(&ids, &folder)?;
        Ok(Some(Copied {
            folder: folder.display().to_string(),
            copies: copied.len(),
        }))
    })
    .await
    .map_err(internal)?
}

#[tauri::command]
pub async fn image_info(state: State<'_, AppState>, id: i64) -> ApiResult<ImageRow> {
    with_library(&state, move |lib| catalogued(lib, id)).await
}

/// Add a folder the user typed.
#[tauri::command]
pub async fn add_folder(state: State<'_, AppState>, path: String) -> ApiResult<Status> {
    with_library(&state, move |lib| {
        lib.add_folder(&PathBuf::from(path))?;
        Ok(lib.status()?)
    })
    .await
}

/// Add a folder the user picks in the system's folder picker; its path goes from the picker to
/// the library in Rust (a folder whose name is not UTF-8 is added as it is). `None` when the user
/// closes the picker.
#[tauri::command]
pub async fn add_picked_folder<R: Runtime>(app: AppHandle<R>) -> ApiResult<Option<Status>> {
    let library = app.state::<AppState>().library()?;
    let Some(folder) = pick(app).await? else {
        return Ok(None);
    };
    tauri::async_runtime::spawn_blocking(move || add_folder_path(&library, &folder).map(Some))
        .await
        .map_err(internal)?
}

/// Add `folder` (a path from the desktop: the picker, a drop) as it is, bytes and all.
pub fn add_folder_path(library: &Library, folder: &std::path::Path) -> ApiResult<Status> {
    library.add_folder(folder)?;
    Ok(library.status()?)
}

/// The system folder picker's answer as a path; `None` when the user cancels.
async fn pick<R: Runtime>(app: AppHandle<R>) -> ApiResult<Option<PathBuf>> {
    let picked =
        tauri::async_runtime::spawn_blocking(move || app.dialog().file().blocking_pick_folder())
            .await
            .map_err(internal)?;
    Ok(picked.and_then(|p| p.into_path().ok()))
}

/// Forget a library folder, by id (a folder whose name is not UTF-8 works like any other).
/// Refused as `busy` while indexing runs, in this app or another process.
#[tauri::command]
pub async fn remove_folder(state: State<'_, AppState>, id: i64) -> ApiResult<Status> {
    with_library(&state, move |lib| {
        lib.remove_folder(id)?;
        Ok(lib.status()?)
    })
    .await
}

/// Every window hears `index-progress` with each [`Progress`] and `index-finished` at the end, so
/// a window reloaded mid-run follows it as well as the one that started it.
pub const PROGRESS_EVENT: &str = "index-progress";
pub const FINISHED_EVENT: &str = "index-finished";

/// How a run ended, for `index-finished`.
#[derive(Debug, Clone, Serialize)]
pub struct Finished {
    pub report: Option<Report>,
    pub error: Option<ApiError>,
}

/// Bring the library up to date with its folders, announcing progress; one run at a time.
#[tauri::command]
pub async fn index<R: Runtime>(app: AppHandle<R>) -> ApiResult<Report> {
    tauri::async_runtime::spawn_blocking(move || index_now(&app))
        .await
        .map_err(internal)?
}

/// One incremental run, its progress and end announced to every window; `busy` when a run is
/// already going. Blocking: the Re-scan command and the folder watcher call it.
pub fn index_now<R: Runtime>(app: &AppHandle<R>) -> ApiResult<Report> {
    let state = app.state::<AppState>();
    let lib = state.library()?;
    if !state.start_indexing() {
        return Err(ApiError::new("busy", "Indexing is already running."));
    }
    let outcome = {
        // Ends the claim however the run ends.
        let _claim = Claimed(&state);
        let latest = Arc::clone(&state.progress);
        let mut report = |p: &Progress| {
            *lock(&latest) = Some(p.clone());
            // Fails only when no window is left; indexing goes on regardless.
            let _ = app.emit(PROGRESS_EVENT, p);
        };
        // New photos are searchable by look first: a pass reading words waits for this run.
        lib.pause_words();
        lib.index(&mut report, &state.cancel)
            .map_err(ApiError::from)
    };
    if outcome.as_ref().is_ok_and(|r| !r.cancelled) {
        read_words_in_background(app, &lib);
    }
    let finished = Finished {
        report: outcome.as_ref().ok().cloned(),
        error: outcome.as_ref().err().cloned(),
    };
    let _ = app.emit(FINISHED_EVENT, finished);
    outcome
}

/// `words-progress`: a [`Progress`] of the pass reading the words in photos; `words-finished`:
/// its [`WordsReport`] (or `error`), after which text hits may have changed.
pub const WORDS_PROGRESS_EVENT: &str = "words-progress";
pub const WORDS_FINISHED_EVENT: &str = "words-finished";

/// Read the words in the photos not read yet, on a thread of its own at low priority, unless a
/// pass runs already (it reads what this run added too). Indexing pauses it (`pause_words`).
pub fn read_words_in_background<R: Runtime>(app: &AppHandle<R>, lib: &Arc<Library>) {
    let state = app.state::<AppState>();
    if !state.start_reading_words() {
        return;
    }
    let (app, lib, cancel) = (app.clone(), Arc::clone(lib), state.words_cancel());
    let thread = std::thread::spawn(move || {
        let state = app.state::<AppState>();
        let latest = Arc::clone(&state.words_progress);
        let mut report = |p: &Progress| {
            *lock(&latest) = Some(p.clone());
            let _ = app.emit(WORDS_PROGRESS_EVENT, p);
        };
        let outcome = lib.read_words(&mut report, &cancel);
        state.finish_reading_words();
        let finished = match outcome {
            Ok(report) => serde_json::json!({ "report": report, "error": null }),
            Err(e) => serde_json::json!({ "report": null, "error": ApiError::from(e) }),
        };
        let _ = app.emit(WORDS_FINISHED_EVENT, finished);
    });
    state.set_words_thread(thread);
}

/// The app's single indexing run, released when dropped.
struct Claimed<'a>(&'a AppState);

impl Drop for Claimed<'_> {
    fn drop(&mut self) {
        self.0.finish_indexing();
    }
}

#[tauri::command]
pub fn cancel_index(state: State<'_, AppState>) {
    state.cancel.store(true, Ordering::SeqCst);
}

/// What "Get the CLIP model" fetches, for its button; showing it makes no request.
#[derive(Debug, Clone, Serialize)]
pub struct ModelOffer {
    pub repo: &'static str,
    pub source: String,
    /// model.safetensors of openai/clip-vit-base-patch32 plus its small files.
    pub megabytes: u32,
}

#[tauri::command]
pub fn model_offer() -> ModelOffer {
    ModelOffer {
        repo: setup::DEFAULT_REPO,
        source: format!("{}/{}", setup::endpoint(), setup::DEFAULT_REPO),
        megabytes: 606,
    }
}

/// `model-progress`: one step of getting or importing a model.
pub const MODEL_PROGRESS_EVENT: &str = "model-progress";

#[derive(Debug, Clone, Serialize)]
pub struct ModelProgress {
    pub step: String,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelReady {
    pub model_id: String,
    pub embedding_dim: usize,
}

impl From<setup::Imported> for ModelReady {
    fn from(imported: setup::Imported) -> Self {
        Self {
            model_id: imported.model_id,
            embedding_dim: imported.embedding_dim,
        }
    }
}

fn model_options() -> setup::ImportOptions {
    setup::ImportOptions {
        threads: setup::default_threads(),
        ..Default::default()
    }
}

fn user_model_dir() -> ApiResult<PathBuf> {
    setup::user_model_dir().ok_or_else(|| internal("no data folder to keep the model in"))
}

/// Downloads the default CLIP from the hub and imports it into the user's model folder; the only
/// network request the app makes, and only from this button. Progress comes as `model-progress`.
#[tauri::command]
pub async fn get_model<R: Runtime>(app: AppHandle<R>) -> ApiResult<ModelReady> {
    let state = app.state::<AppState>();
    state.model_cancel.store(false, Ordering::SeqCst);
    let cancel = Arc::clone(&state.model_cancel);
    let out = user_model_dir()?;
    tauri::async_runtime::spawn_blocking(move || {
        let request = setup::HubRequest::default();
        let emit = |step: String, done: u64, total: u64| {
            let _ = app.emit(MODEL_PROGRESS_EVENT, ModelProgress { step, done, total });
        };
        let imported = setup::get(
            &request,
            &out,
            &model_options(),
            &mut |step| match step {
                setup::Step::Planned(plan) => emit("Downloading".into(), 0, plan.total_bytes),
                setup::Step::Download(p) => emit("Downloading".into(), p.all_done, p.all_total),
                setup::Step::Import(what) => emit(what.to_string(), 0, 0),
            },
            &cancel,
        )?;
        Ok(ModelReady::from(imported))
    })
    .await
    .map_err(internal)?
}

/// Imports a checkpoint folder the user picks (the system picker runs here; no path crosses
/// the webview). `None` when the picker is cancelled.
#[tauri::command]
pub async fn import_model<R: Runtime>(app: AppHandle<R>) -> ApiResult<Option<ModelReady>> {
    let out = user_model_dir()?;
    let cancel = {
        let state = app.state::<AppState>();
        state.model_cancel.store(false, Ordering::SeqCst);
        Arc::clone(&state.model_cancel)
    };
    tauri::async_runtime::spawn_blocking(move || {
        let Some(source) = app
            .dialog()
            .file()
            .blocking_pick_folder()
            .and_then(|p| p.into_path().ok())
        else {
            return Ok(None);
        };
        let progress = &mut |what: &str| {
            let _ = app.emit(
                MODEL_PROGRESS_EVENT,
                ModelProgress {
                    step: what.to_string(),
                    done: 0,
                    total: 0,
                },
            );
        };
        let imported = setup::import(&source, &out, &model_options(), progress, &cancel)?;
        Ok(Some(ModelReady::from(imported)))
    })
    .await
    .map_err(internal)?
}

#[tauri::command]
pub fn cancel_model(state: State<'_, AppState>) {
    state.model_cancel.store(true, Ordering::SeqCst);
}

/// Starts the app again, which then finds the new model in the user's model folder.
#[tauri::command]
pub fn restart<R: Runtime>(app: AppHandle<R>) {
    app.restart();
}

#[tauri::command]
pub async fn skipped(state: State<'_, AppState>) -> ApiResult<Vec<Skipped>> {
    with_library(&state, |lib| Ok(lib.skipped()?)).await
}

/// Read every skipped file again (one that crashed the decoder, one whose permissions were
/// fixed): forgets the reasons, then runs as Re-scan does. `busy` while a run is going.
#[tauri::command]
pub async fn retry_skipped<R: Runtime>(app: AppHandle<R>) -> ApiResult<Report> {
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        if state.is_indexing() {
            return Err(ApiError::new("busy", "Wait for indexing to finish."));
        }
        state.library()?.retry_skipped()?;
        index_now(&app)
    })
    .await
    .map_err(internal)?
}

/// Throw away the embeddings of another model and index again with this one. Opening hashes the
/// model and reads the library: blocking work, so it runs on the blocking pool.
#[tauri::command]
pub async fn reindex_library<R: Runtime>(app: AppHandle<R>) -> ApiResult<Status> {
    if app.state::<AppState>().is_indexing() {
        return Err(ApiError::new("busy", "Wait for indexing to finish."));
    }
    tauri::async_runtime::spawn_blocking(move || {
        let lib = app.state::<AppState>().open(true)?;
        // The folders are watched for the library now open (the old watcher lets go of the old).
        crate::watch_folders(&app);
        Ok(lib.status()?)
    })
    .await
    .map_err(internal)?
}

/// Open a catalogued image in the system's default viewer.
#[tauri::command]
pub async fn open_image(state: State<'_, AppState>, id: i64) -> ApiResult<()> {
    with_library(&state, move |lib| {
        tauri_plugin_opener::open_path(lib.original(id)?, None::<&str>).map_err(desktop)
    })
    .await
}

/// Show a catalogued image in the file manager (selected where the file manager supports it).
#[tauri::command]
pub async fn reveal_image(state: State<'_, AppState>, id: i64) -> ApiResult<()> {
    with_library(&state, move |lib| {
        tauri_plugin_opener::reveal_item_in_dir(lib.original(id)?).map_err(desktop)
    })
    .await
}

/// Drag the photos `ids` out of the window as files (called from a tile's `dragstart`, the mouse
/// button still down). With the webview's own drag, two photos dropped into PCManFM reached it as
/// one unusable path (which of WebKitGTK's offered targets it read was not established); GTK's
/// drag offers `text/uri-list` only.
#[tauri::command]
pub async fn drag_out<R: Runtime>(
    window: tauri::WebviewWindow<R>,
    state: State<'_, AppState>,
    ids: Vec<i64>,
) -> ApiResult<()> {
    let paths = with_library(&state, move |lib| {
        ids.iter()
            .map(|&id| Ok(lib.original(id)?))
            .collect::<ApiResult<Vec<PathBuf>>>()
    })
    .await?;
    start_file_drag(&window, paths)
}

#[cfg(target_os = "linux")]
fn start_file_drag<R: Runtime>(
    window: &tauri::WebviewWindow<R>,
    paths: Vec<PathBuf>,
) -> ApiResult<()> {
    use gtk::prelude::{DragContextExtManual, ObjectExt, WidgetExt, WidgetExtManual};
    use std::cell::RefCell;
    use std::rc::Rc;
    let uris: Vec<String> = paths
        .iter()
        .filter_map(|p| gtk::glib::filename_to_uri(p, None).ok().map(String::from))
        .collect();
    let tauri_window = window.clone();
    window
        .run_on_main_thread(move || {
            // GTK objects stay on the main thread: the window is looked up here.
            let Ok(gtk_window) = tauri_window.gtk_window() else {
                return;
            };
            let copy = gtk::gdk::DragAction::COPY;
            gtk_window.drag_source_set(gtk::gdk::ModifierType::BUTTON1_MASK, &[], copy);
            gtk_window.drag_source_add_uri_targets();
            // One drag only: when it ends, both handlers go and the window stops being a source.
            let handlers = Rc::new(RefCell::new(Vec::new()));
            handlers.borrow_mut().push(gtk_window.connect_drag_data_get(
                move |_, _, data, _, _| {
                    let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
                    data.set_uris(&uris);
                },
            ));
            let ended = handlers.clone();
            handlers
                .borrow_mut()
                .push(gtk_window.connect_drag_end(move |w, _| {
                    for id in ended.borrow_mut().drain(..) {
                        w.disconnect(id);
                    }
                    w.drag_source_unset();
                }));
            if let Some(targets) = gtk_window.drag_source_get_target_list()
                && let Some(context) = gtk_window.drag_begin_with_coordinates(
                    &targets,
                    copy,
                    gtk::gdk::ffi::GDK_BUTTON1_MASK as i32,
                    None,
                    -1,
                    -1,
                )
            {
                context.drag_set_icon_name("image-x-generic", 0, 0);
            }
        })
        .map_err(internal)
}

#[cfg(not(target_os = "linux"))]
fn start_file_drag<R: Runtime>(
    _window: &tauri::WebviewWindow<R>,
    _paths: Vec<PathBuf>,
) -> ApiResult<()> {
    Err(ApiError::new(
        "unsupported",
        "dragging files out is built for Linux only",
    ))
}

fn desktop(e: tauri_plugin_opener::Error) -> ApiError {
    ApiError::new("desktop", e.to_string())
}
