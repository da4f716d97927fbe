//! ClipStream's desktop shell: a thin Tauri layer over `clipstream-core`. Commands live in
//! [`commands`], images reach the webview through [`protocol`], and [`state`] holds the library.

pub mod commands;
pub mod error;
pub mod protocol;
pub mod state;

use std::path::PathBuf;

use tauri::{Builder, DragDropEvent, Emitter, Manager, Runtime, WindowEvent};

use crate::protocol::Kind;
use crate::state::{AppState, Setup};

/// The app's commands, protocols and event handlers on `builder` (the real or the mock runtime).
pub fn app<R: Runtime>(builder: Builder<R>, state: AppState) -> Builder<R> {
    let builder = builder
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .on_window_event(on_window_event)
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::search,
            commands::similar,
            commands::image_info,
            commands::add_folder,
            commands::pick_folder,
            commands::remove_folder,
            commands::index,
            commands::cancel_index,
            commands::skipped,
            commands::reindex_library,
            commands::open_image,
            commands::reveal_image,
        ]);
    [Kind::Thumbnail, Kind::Preview]
        .into_iter()
        .fold(builder, |builder, kind| {
            builder.register_asynchronous_uri_scheme_protocol(
                kind.scheme(),
                move |ctx, request, responder| {
                    let app = ctx.app_handle().clone();
                    // Decoding a preview takes ~100 ms: keep it off the webview's thread.
                    tauri::async_runtime::spawn_blocking(move || {
                        let library = app.state::<AppState>().library();
                        responder.respond(protocol::respond(library, kind, &request));
                    });
                },
            )
        })
}

/// Folders dropped on the window are added to the library; the UI hears `folders-added` and
/// starts indexing. Paths come from the window system, never from the webview.
fn on_window_event<R: Runtime>(window: &tauri::Window<R>, event: &WindowEvent) {
    let WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. }) = event else {
        return;
    };
    let folders: Vec<PathBuf> = paths.iter().filter(|p| p.is_dir()).cloned().collect();
    let Ok(library) = window.state::<AppState>().library() else {
        return;
    };
    let window = window.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let mut added = Vec::new();
        let mut errors = Vec::new();
        for folder in folders {
            match library.add_folder(&folder) {
                Ok(_) => added.push(folder.display().to_string()),
                Err(e) => errors.push(error::ApiError::from(e)),
            }
        }
        // Fails only if the window closed meanwhile; the folders are added either way.
        let _ = window.emit(
            "folders-added",
            serde_json::json!({ "added": added, "errors": errors }),
        );
    });
}

/// Start the desktop app. The window appears at once; the model loads behind it and the UI hears
/// `library-ready` when searches can run.
pub fn run() {
    let state = AppState::deferred(Setup::from_environment());
    app(Builder::default(), state)
        .setup(|app| {
            let handle = app.handle().clone();
            std::thread::spawn(move || {
                handle.state::<AppState>().open_at_start();
                // Fails only if the window is already gone.
                let _ = handle.emit("library-ready", ());
            });
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("the desktop app could not start (is a display available?)");
}
