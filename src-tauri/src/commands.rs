//! The commands the UI invokes. Each is a few lines around one call into the core library (the
//! same calls the CLI makes); blocking work runs off the main thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use clipstream_core::catalog::{ImageRow, Skipped};
use clipstream_core::{Filters, Library, Progress, Report, Request, Results, Sort, Status};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
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
    lib.image(id)
        .ok_or_else(|| clipstream_core::Error::UnknownImage { id }.into())
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
    pub demo_folder: Option<String>,
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
        demo_folder: setup.demo_folder.as_ref().map(|d| d.display().to_string()),
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
    pub folder: Option<PathBuf>,
    /// Seconds since 1970 (inclusive bounds).
    pub taken_from: Option<i64>,
    pub taken_until: Option<i64>,
}

const DEFAULT_LIMIT: usize = 1000;

impl SearchOptions {
    fn filters(&self) -> Filters {
        Filters {
            folders: self.folder.iter().cloned().collect(),
            taken_from: self.taken_from,
            taken_until: self.taken_until,
            formats: Vec::new(),
        }
    }
}

#[tauri::command]
pub async fn search(
    state: State<'_, AppState>,
    query: String,
    options: SearchOptions,
) -> ApiResult<Results> {
    with_library(&state, move |lib| {
        let mut request = Request::new(query, options.limit.unwrap_or(DEFAULT_LIMIT));
        request.all = options.all;
        request.filters = options.filters();
        request.sort = if options.sort_by_date {
            Sort::DateTaken
        } else {
            Sort::Relevance
        };
        Ok(lib.search(&request)?)
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
        Ok(lib.similar_to_id(id, limit, options.all, &options.filters())?)
    })
    .await
}

#[tauri::command]
pub async fn image_info(state: State<'_, AppState>, id: i64) -> ApiResult<ImageRow> {
    with_library(&state, move |lib| catalogued(lib, id)).await
}

#[tauri::command]
pub async fn add_folder(state: State<'_, AppState>, path: String) -> ApiResult<Status> {
    with_library(&state, move |lib| {
        lib.add_folder(&PathBuf::from(path))?;
        Ok(lib.status()?)
    })
    .await
}

/// The system folder picker; `None` when the user cancels.
#[tauri::command]
pub async fn pick_folder<R: Runtime>(app: AppHandle<R>) -> ApiResult<Option<String>> {
    let picked =
        tauri::async_runtime::spawn_blocking(move || app.dialog().file().blocking_pick_folder())
            .await
            .map_err(internal)?;
    Ok(picked
        .and_then(|p| p.into_path().ok())
        .map(|p| p.display().to_string()))
}

#[tauri::command]
pub async fn remove_folder(state: State<'_, AppState>, path: String) -> ApiResult<Status> {
    with_library(&state, move |lib| {
        lib.remove_folder(&PathBuf::from(path))?;
        Ok(lib.status()?)
    })
    .await
}

/// Bring the library up to date with its folders, streaming progress; one run at a time.
#[tauri::command]
pub async fn index(
    state: State<'_, AppState>,
    on_progress: Channel<Progress>,
) -> ApiResult<Report> {
    let lib = state.library()?;
    if !state.start_indexing() {
        return Err(ApiError::new("busy", "Indexing is already running."));
    }
    let cancel = Arc::clone(&state.cancel);
    let latest = Arc::clone(&state.progress);
    let run = tauri::async_runtime::spawn_blocking(move || {
        let mut report = |p: &Progress| {
            *lock(&latest) = Some(p.clone());
            // Fails only when the window is gone; indexing goes on regardless.
            let _ = on_progress.send(p.clone());
        };
        lib.index(&mut report, &cancel)
    })
    .await;
    state.finish_indexing();
    Ok(run.map_err(internal)??)
}

#[tauri::command]
pub fn cancel_index(state: State<'_, AppState>) {
    state.cancel.store(true, Ordering::SeqCst);
}

#[tauri::command]
pub async fn skipped(state: State<'_, AppState>) -> ApiResult<Vec<Skipped>> {
    with_library(&state, |lib| Ok(lib.skipped()?)).await
}

/// Throw away the embeddings of another model and index again with this one.
#[tauri::command]
pub async fn reindex_library(state: State<'_, AppState>) -> ApiResult<Status> {
    if state.is_indexing() {
        return Err(ApiError::new("busy", "Wait for indexing to finish."));
    }
    let lib = state.open(true)?;
    tauri::async_runtime::spawn_blocking(move || Ok(lib.status()?))
        .await
        .map_err(internal)?
}

/// Open a catalogued image in the system's default viewer.
#[tauri::command]
pub async fn open_image(state: State<'_, AppState>, id: i64) -> ApiResult<()> {
    with_library(&state, move |lib| {
        crate::desktop::open(&catalogued(lib, id)?.path)
    })
    .await
}

/// Show a catalogued image in the file manager.
#[tauri::command]
pub async fn reveal_image(state: State<'_, AppState>, id: i64) -> ApiResult<()> {
    with_library(&state, move |lib| {
        crate::desktop::reveal(&catalogued(lib, id)?.path)
    })
    .await
}
