//! Embeds the app config and declares the app's commands, so each must be granted explicitly by
//! a capability (`capabilities/default.json`).

const COMMANDS: &[&str] = &[
    "app_status",
    "search",
    "list",
    "similar",
    "image_info",
    "duplicates",
    "trash",
    "copy_to_picked_folder",
    "add_folder",
    "add_picked_folder",
    "remove_folder",
    "index",
    "cancel_index",
    "skipped",
    "retry_skipped",
    "reindex_library",
    "open_image",
    "reveal_image",
    "drag_out",
    "model_offer",
    "get_model",
    "import_model",
    "cancel_model",
    "restart",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
