// The only module that talks to Tauri. Everything returns promises; failures reject with
// {code, message} (see src-tauri/src/error.rs) so callers switch on `code`.
const tauri = window.__TAURI__;

function call(command, args) {
  return tauri.core.invoke(command, args).catch((e) => {
    throw (e && typeof e === "object" && "code" in e) ? e : { code: "internal", message: String(e) };
  });
}

export const status = () => call("app_status");
export const search = (query, options) => call("search", { query, options });
export const similar = (id, options) => call("similar", { id, options });
/** Browse: a page of photos newest first; `after` is the previous page's `next` (null: the first). */
export const list = (options, after) => call("list", { options, after });
export const imageInfo = (id) => call("image_info", { id });
export const duplicates = () => call("duplicates");
/** Move photos (by id) to the desktop's trash; resolves with {ids, failed}. */
export const trash = (ids) => call("trash", { ids });
/** Copy photos (by id) into a folder the user picks; resolves with {folder, copies}, or null. */
export const copyToPickedFolder = (ids) => call("copy_to_picked_folder", { ids });
export const addFolder = (path) => call("add_folder", { path });
/** Add a folder the user picks (the path stays in Rust); resolves with the status, or null. */
export const addPickedFolder = () => call("add_picked_folder");
export const removeFolder = (id) => call("remove_folder", { id });
export const skipped = () => call("skipped");
/** Read every skipped file again; resolves with the run's report. */
export const retrySkipped = () => call("retry_skipped");
export const cancelIndex = () => call("cancel_index");
export const reindexLibrary = () => call("reindex_library");
export const openImage = (id) => call("open_image", { id });
export const revealImage = (id) => call("reveal_image", { id });
/** Start dragging these photos out of the window as files (the mouse button still down). */
export const dragOut = (ids) => call("drag_out", { ids });

/** The model offered by "Get the CLIP model": {repo, source, megabytes} (no request is made). */
export const modelOffer = () => call("model_offer");
/** Download and import the CLIP model; resolves with {model_id, embedding_dim}. */
export const getModel = () => call("get_model");
/** Pick a downloaded checkpoint folder and import it; resolves with null if the picker was closed. */
export const importModel = () => call("import_model");
export const cancelModel = () => call("cancel_model");
export const restart = () => call("restart");
export const onModelProgress = (handler) => tauri.event.listen("model-progress", (e) => handler(e.payload));

/** Index the library; resolves with the run's report. Progress arrives as events (below). */
export const index = () => call("index");

/** Thumbnail and preview URLs name the catalog id only. */
export const thumbnailUrl = (id) => tauri.core.convertFileSrc(String(id), "thumb");
export const previewUrl = (id) => tauri.core.convertFileSrc(String(id), "preview");

export const onLibraryReady = (handler) => tauri.event.listen("library-ready", () => handler());
export const onFoldersAdded = (handler) => tauri.event.listen("folders-added", (e) => handler(e.payload));
/** Every window hears each run's progress and its end, whoever started it. */
export const onIndexProgress = (handler) => tauri.event.listen("index-progress", (e) => handler(e.payload));
export const onIndexFinished = (handler) => tauri.event.listen("index-finished", (e) => handler(e.payload));
export const onWordsProgress = (handler) => tauri.event.listen("words-progress", (e) => handler(e.payload));
export const onWordsFinished = (handler) => tauri.event.listen("words-finished", (e) => handler(e.payload));
/** A folder's drive went away or came back: {folder_id, connected}. */
export const onDriveChanged = (handler) => tauri.event.listen("drive-changed", (e) => handler(e.payload));
/** How the folders are followed for changes (inotify, periodic scans) changed: ask for the status. */
export const onWatchChanged = (handler) => tauri.event.listen("watch-changed", () => handler());
