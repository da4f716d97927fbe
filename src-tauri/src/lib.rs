//! ClipStream's desktop shell: a thin Tauri layer over `clipstream-core`. Commands live in
//! [`commands`], images reach the webview through [`protocol`], and [`state`] holds the library.

pub mod commands;
pub mod error;
pub mod protocol;
pub mod state;

use std::path::PathBuf;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clipstream_core::{Library, WatchEvent, WatchOptions};
use tauri::{AppHandle, Builder, DragDropEvent, Emitter, Manager, Runtime, WindowEvent};

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
            commands::list,
            commands::similar,
            commands::image_info,
            commands::duplicates,
            commands::trash,
            commands::copy_to_picked_folder,
            commands::add_folder,
            commands::add_picked_folder,
            commands::remove_folder,
            commands::index,
            commands::cancel_index,
            commands::skipped,
            commands::retry_skipped,
            commands::reindex_library,
            commands::open_image,
            commands::reveal_image,
            commands::drag_out,
            commands::model_offer,
            commands::get_model,
            commands::import_model,
            commands::cancel_model,
            commands::restart,
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
                watch_folders(&handle);
            });
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("the desktop app could not start (is a display available?)")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                app.state::<AppState>().stop_reading_words();
            }
        });
}

/// Photos added, changed, moved or deleted in the library's folders are indexed by themselves
/// while the app runs (the same run as Re-scan; one waits for the other). Watches the library open
/// now, on a thread of its own, for as long as it stays the open one: called again after the
/// library is opened anew ("Re-index with this model"), it stops the watcher of the old one.
pub fn watch_folders<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let Ok(library) = state.library() else {
        return; // no model: nothing to index
    };
    let stop = state.watch_anew();
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name("folder watcher".into())
        .spawn(move || watch_library_for(&app, &library, &stop));
    if let Err(e) = spawned {
        eprintln!("clipstream: cannot watch the library's folders: {e}");
    }
}

fn watch_library_for<R: Runtime>(app: &AppHandle<R>, library: &Library, stop: &AtomicBool) {
    let state = app.state::<AppState>();
    // The window catches up with changes made while the app was closed (ui/app.js).
    let options = WatchOptions {
        catch_up: false,
        ..WatchOptions::default()
    };
    let watched = library.watch(options, stop, &mut |event| {
        match event {
            WatchEvent::Folders(folders) => {
                *state::lock(&state.watching) = folders;
                let _ = app.emit(WATCH_EVENT, ());
            }
            WatchEvent::Drive { path, connected } => {
                let folder = library
                    .folders()?
                    .into_iter()
                    .find(|f| f.path == path)
                    .map(|f| f.id);
                let _ = app.emit(
                    DRIVE_EVENT,
                    serde_json::json!({ "folder_id": folder, "connected": connected }),
                );
            }
            WatchEvent::RunDue(_) => loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                match commands::index_now(app) {
                    // A run is going (Re-scan, or another window's): it may have passed the
                    // change already, so run once more after it.
                    Err(e) if e.code == "busy" => std::thread::sleep(Duration::from_millis(500)),
                    // Its end, error included, went to the windows with `index-finished`.
                    _ => break,
                }
            },
        }
        Ok(())
    });
    if let Err(e) = watched {
        eprintln!("clipstream: watching the library's folders stopped: {e}");
    }
}

/// Sent when a folder's drive goes away or comes back: `{folder_id, connected}`.
pub const DRIVE_EVENT: &str = "drive-changed";

/// Sent when how the folders are followed changes (the UI asks for the status again).
pub const WATCH_EVENT: &str = "watch-changed";
